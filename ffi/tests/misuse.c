/*
 * Feeds the C API what a careless or hostile host could pass: NULL pointers, NULL buffers
 * with lengths, garbage bytes, calls in the wrong role, stale and unknown tokens, and time
 * going backwards. Each call must return its documented status and leave its
 * out-parameters unwritten. Exits 1 if any check fails.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sansraft.h"

static int checks;
static int failures;

static void check_status(sansraft_status actual, sansraft_status expected, const char *call,
                         int line) {
    checks++;
    if (actual != expected) {
        failures++;
        fprintf(stderr, "misuse.c:%d: %s returned %s, expected %s\n", line, call,
                sansraft_status_str(actual), sansraft_status_str(expected));
    }
}

static void check_true(bool condition, const char *what, int line) {
    checks++;
    if (!condition) {
        failures++;
        fprintf(stderr, "misuse.c:%d: check failed: %s\n", line, what);
    }
}

#define EXPECT_STATUS(call, expected) check_status((call), (expected), #call, __LINE__)
#define EXPECT(condition) check_true((condition), #condition, __LINE__)

/* A sentinel an out-parameter must keep when a call fails. */
#define UNTOUCHED 0x5a5a5a5a5a5a5a5aULL

static sansraft_config config_for(uint64_t id) {
    sansraft_config config;
    EXPECT_STATUS(sansraft_config_default(id, &config), SANSRAFT_OK);
    return config;
}

static sansraft_node *new_node(uint64_t id, const uint64_t *members, size_t members_len) {
    sansraft_config config = config_for(id);
    sansraft_node *node = NULL;
    EXPECT_STATUS(sansraft_node_new(&config, members, members_len, &node), SANSRAFT_OK);
    if (node == NULL) {
        fprintf(stderr, "misuse.c: cannot continue without a node\n");
        exit(1);
    }
    return node;
}

/* Returns the length of the node's last error text. */
static size_t last_error_len(const sansraft_node *node) {
    char text[512];
    size_t len = 0;
    EXPECT_STATUS(sansraft_node_last_error(node, text, sizeof text, &len), SANSRAFT_OK);
    EXPECT(strlen(text) == len);
    return len;
}

/* Polls every output, acknowledging persist outputs; copies the first send output (if
 * any) into `message` and returns its length. Returns the newest persist token in
 * `*token` when `token` is not NULL. */
static size_t drain(sansraft_node *node, uint8_t *message, size_t capacity, uint64_t *token) {
    size_t message_len = 0;
    sansraft_output out;
    while (sansraft_node_poll(node, &out) == SANSRAFT_OK) {
        if (out.kind == SANSRAFT_OUTPUT_SEND && message_len == 0 &&
            out.send.message_len <= capacity) {
            memcpy(message, out.send.message, out.send.message_len);
            message_len = out.send.message_len;
        } else if (out.kind == SANSRAFT_OUTPUT_PERSIST) {
            if (token != NULL) {
                *token = out.persist.token;
            } else {
                EXPECT_STATUS(sansraft_node_persisted(node, out.persist.token), SANSRAFT_OK);
            }
        }
    }
    return message_len;
}

static void check_status_names(void) {
    static const struct {
        sansraft_status status;
        const char *name;
    } statuses[] = {
        {SANSRAFT_OK, "SANSRAFT_OK"},
        {SANSRAFT_EMPTY, "SANSRAFT_EMPTY"},
        {SANSRAFT_NULL_POINTER, "SANSRAFT_NULL_POINTER"},
        {SANSRAFT_INVALID_LENGTH, "SANSRAFT_INVALID_LENGTH"},
        {SANSRAFT_INVALID_ARGUMENT, "SANSRAFT_INVALID_ARGUMENT"},
        {SANSRAFT_BUFFER_TOO_SMALL, "SANSRAFT_BUFFER_TOO_SMALL"},
        {SANSRAFT_DECODE_ERROR, "SANSRAFT_DECODE_ERROR"},
        {SANSRAFT_PANIC, "SANSRAFT_PANIC"},
        {SANSRAFT_POISONED, "SANSRAFT_POISONED"},
        {SANSRAFT_INVALID_CONFIG, "SANSRAFT_INVALID_CONFIG"},
        {SANSRAFT_INVALID_MEMBERSHIP, "SANSRAFT_INVALID_MEMBERSHIP"},
        {SANSRAFT_NOT_LEADER, "SANSRAFT_NOT_LEADER"},
        {SANSRAFT_NOT_MEMBER, "SANSRAFT_NOT_MEMBER"},
        {SANSRAFT_WRONG_RECIPIENT, "SANSRAFT_WRONG_RECIPIENT"},
        {SANSRAFT_FROM_SELF, "SANSRAFT_FROM_SELF"},
        {SANSRAFT_TIME_WENT_BACKWARDS, "SANSRAFT_TIME_WENT_BACKWARDS"},
        {SANSRAFT_STALE_TOKEN, "SANSRAFT_STALE_TOKEN"},
        {SANSRAFT_UNKNOWN_TOKEN, "SANSRAFT_UNKNOWN_TOKEN"},
        {SANSRAFT_APPLIED_OUT_OF_RANGE, "SANSRAFT_APPLIED_OUT_OF_RANGE"},
        {SANSRAFT_INVALID_RESTORE, "SANSRAFT_INVALID_RESTORE"},
        {SANSRAFT_INVALID_CHANGE, "SANSRAFT_INVALID_CHANGE"},
        {SANSRAFT_INVALID_SNAPSHOT, "SANSRAFT_INVALID_SNAPSHOT"},
        {SANSRAFT_SNAPSHOT_NOT_REQUESTED, "SANSRAFT_SNAPSHOT_NOT_REQUESTED"},
        {SANSRAFT_CHANGE_IN_PROGRESS, "SANSRAFT_CHANGE_IN_PROGRESS"},
        {SANSRAFT_LEADER_NOT_READY, "SANSRAFT_LEADER_NOT_READY"},
        {SANSRAFT_ZERO_SENDER, "SANSRAFT_ZERO_SENDER"},
        {SANSRAFT_VALUE_OUT_OF_RANGE, "SANSRAFT_VALUE_OUT_OF_RANGE"},
        {SANSRAFT_UNKNOWN_ERROR, "SANSRAFT_UNKNOWN_ERROR"},
    };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        const char *name = sansraft_status_str(statuses[i].status);
        EXPECT(name != NULL && strcmp(name, statuses[i].name) == 0);
    }
    const uint32_t unknown[] = {9, 99, 118, 198, 200, 0xffffffffu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = sansraft_status_str(unknown[i]);
        EXPECT(name != NULL && strcmp(name, "SANSRAFT_UNKNOWN_STATUS") == 0);
    }

    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SANSRAFT_VERSION_MAJOR,
             SANSRAFT_VERSION_MINOR, SANSRAFT_VERSION_PATCH);
    EXPECT(strcmp(sansraft_version(), expected) == 0);
}

static void check_creation(void) {
    const uint64_t members[] = {1, 2, 3};
    sansraft_config config = config_for(1);
    sansraft_node *const sentinel = (sansraft_node *)&config;
    sansraft_node *node = sentinel;

    EXPECT_STATUS(sansraft_config_default(1, NULL), SANSRAFT_NULL_POINTER);
    sansraft_config untouched = config;
    EXPECT_STATUS(sansraft_config_default(0, &untouched), SANSRAFT_INVALID_ARGUMENT);
    EXPECT(memcmp(&untouched, &config, sizeof config) == 0);

    EXPECT_STATUS(sansraft_node_new(NULL, members, 3, &node), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_new(&config, members, 3, NULL), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_new(&config, NULL, 3, &node), SANSRAFT_INVALID_LENGTH);
    EXPECT_STATUS(sansraft_node_new(&config, members, SIZE_MAX, &node), SANSRAFT_INVALID_LENGTH);
    const uint64_t duplicate[] = {1, 2, 2};
    EXPECT_STATUS(sansraft_node_new(&config, duplicate, 3, &node), SANSRAFT_INVALID_MEMBERSHIP);
    const uint64_t zero[] = {0, 1};
    EXPECT_STATUS(sansraft_node_new(&config, zero, 2, &node), SANSRAFT_INVALID_MEMBERSHIP);
    const sansraft_learner learner_twice[] = {{2, true}};
    EXPECT_STATUS(sansraft_node_new_with_learners(&config, members, 3, learner_twice, 1, &node),
                  SANSRAFT_INVALID_MEMBERSHIP);
    EXPECT_STATUS(sansraft_node_new_with_learners(&config, members, 3, NULL, 1, &node),
                  SANSRAFT_INVALID_LENGTH);

    sansraft_config bad = config;
    bad.heartbeat_interval_ms = bad.election_timeout_min_ms;
    EXPECT_STATUS(sansraft_node_new(&bad, members, 3, &node), SANSRAFT_INVALID_CONFIG);
    bad = config;
    bad.id = 0;
    EXPECT_STATUS(sansraft_node_new(&bad, members, 3, &node), SANSRAFT_INVALID_CONFIG);
    bad = config;
    bad.election_timeout_max_ms = bad.election_timeout_min_ms;
    EXPECT_STATUS(sansraft_node_new(&bad, members, 3, &node), SANSRAFT_INVALID_CONFIG);
    EXPECT(node == sentinel);

    /* A node without members is one that waits to join; NULL with length 0 is allowed. */
    EXPECT_STATUS(sansraft_node_new(&config, NULL, 0, &node), SANSRAFT_OK);
    EXPECT(node != sentinel && node != NULL);
    sansraft_node_free(node);
    sansraft_node_free(NULL);
}

static void check_null_node(void) {
    sansraft_output out;
    sansraft_log_id id;
    uint64_t deadline;
    size_t len;
    sansraft_node_status status;
    const uint8_t byte = 1;
    EXPECT_STATUS(sansraft_node_tick(NULL, 0), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_receive(NULL, &byte, 1), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_propose(NULL, &byte, 1, &id), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_persisted(NULL, 1), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_applied(NULL, 0), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_campaign(NULL), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_add_learner(NULL, 4, true, &id), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_set_pending(NULL, 4, true, &id), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_promote(NULL, 4, &id), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_demote(NULL, 4, &id), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_remove(NULL, 4, &id), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_snapshot_taken(NULL, 1), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_snapshot_taken_meta(NULL, &byte, 1), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_snapshot_sent(NULL, 2, true), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_poll(NULL, &out), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_next_deadline(NULL, &deadline), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_get_status(NULL, NULL, 0, &len, &status),
                  SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_membership(NULL, NULL, 0, NULL, 0, &len, &len),
                  SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_last_error(NULL, NULL, 0, &len), SANSRAFT_NULL_POINTER);
}

static void check_bad_bytes(sansraft_node *node) {
    const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0xff};
    /* A vote request from node 2 to node 2: version 1, kind 1, from, to, term, last log. */
    const uint8_t from_self[] = {1, 1, 2, 2, 5, 0, 0};
    const uint8_t to_other[] = {1, 1, 3, 1, 5, 0, 0};
    const uint8_t trailing[] = {1, 1, 3, 2, 5, 0, 0, 0};
    const uint8_t new_version[] = {9, 1, 3, 2, 5, 0, 0};
    const uint8_t from_zero[] = {1, 1, 0, 2, 5, 0, 0};
    /* A vote request in term 2^64 - 1: ten varint bytes. */
    const uint8_t huge_term[] = {1, 1, 3, 2, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0};

    EXPECT_STATUS(sansraft_node_receive(node, garbage, sizeof garbage), SANSRAFT_DECODE_ERROR);
    EXPECT(last_error_len(node) > 0);
    EXPECT_STATUS(sansraft_node_receive(node, NULL, 0), SANSRAFT_DECODE_ERROR);
    EXPECT_STATUS(sansraft_node_receive(node, NULL, 5), SANSRAFT_INVALID_LENGTH);
    EXPECT_STATUS(sansraft_node_receive(node, garbage, SIZE_MAX), SANSRAFT_INVALID_LENGTH);
    EXPECT_STATUS(sansraft_node_receive(node, trailing, sizeof trailing), SANSRAFT_DECODE_ERROR);
    EXPECT_STATUS(sansraft_node_receive(node, new_version, sizeof new_version),
                  SANSRAFT_DECODE_ERROR);
    EXPECT_STATUS(sansraft_node_receive(node, from_self, sizeof from_self), SANSRAFT_FROM_SELF);
    EXPECT_STATUS(sansraft_node_receive(node, to_other, sizeof to_other),
                  SANSRAFT_WRONG_RECIPIENT);
    EXPECT_STATUS(sansraft_node_receive(node, from_zero, sizeof from_zero),
                  SANSRAFT_ZERO_SENDER);
    EXPECT_STATUS(sansraft_node_receive(node, huge_term, sizeof huge_term),
                  SANSRAFT_VALUE_OUT_OF_RANGE);

    sansraft_message_info info;
    info.from = UNTOUCHED;
    EXPECT_STATUS(sansraft_message_inspect(garbage, sizeof garbage, &info),
                  SANSRAFT_DECODE_ERROR);
    EXPECT(info.from == UNTOUCHED);
    EXPECT_STATUS(sansraft_message_inspect(from_self, sizeof from_self, NULL),
                  SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_message_inspect(NULL, 3, &info), SANSRAFT_INVALID_LENGTH);
    EXPECT_STATUS(sansraft_message_inspect(to_other, sizeof to_other, &info), SANSRAFT_OK);
    EXPECT(info.from == 3 && info.to == 1 && info.term == 5);
    EXPECT(info.kind == SANSRAFT_MESSAGE_REQUEST_VOTE);

    EXPECT_STATUS(sansraft_node_snapshot_taken_meta(node, garbage, sizeof garbage),
                  SANSRAFT_DECODE_ERROR);
    EXPECT_STATUS(sansraft_node_snapshot_taken_meta(node, NULL, 2), SANSRAFT_INVALID_LENGTH);
}

static void check_last_error(sansraft_node *node) {
    const uint8_t garbage[] = {0xff};
    EXPECT_STATUS(sansraft_node_receive(node, garbage, sizeof garbage), SANSRAFT_DECODE_ERROR);
    size_t len = UNTOUCHED;
    char small[4] = {'x', 'x', 'x', 'x'};
    EXPECT_STATUS(sansraft_node_last_error(node, small, sizeof small, &len),
                  SANSRAFT_BUFFER_TOO_SMALL);
    EXPECT(len > sizeof small && small[0] == 'x');
    EXPECT_STATUS(sansraft_node_last_error(node, NULL, 8, &len), SANSRAFT_INVALID_LENGTH);
    EXPECT_STATUS(sansraft_node_last_error(node, small, sizeof small, NULL),
                  SANSRAFT_NULL_POINTER);
    char text[512];
    EXPECT_STATUS(sansraft_node_last_error(node, text, sizeof text, &len), SANSRAFT_OK);
    EXPECT(strstr(text, "decode") != NULL);

    /* A call that succeeds clears the text. */
    EXPECT_STATUS(sansraft_node_tick(node, 0), SANSRAFT_OK);
    EXPECT(last_error_len(node) == 0);
}

static void check_follower_calls(void) {
    const uint64_t members[] = {1, 2, 3};
    sansraft_node *node = new_node(2, members, 3);
    check_bad_bytes(node);
    check_last_error(node);

    const uint8_t data[] = {'x'};
    sansraft_log_id id = {UNTOUCHED, UNTOUCHED};
    EXPECT_STATUS(sansraft_node_propose(node, data, 1, &id), SANSRAFT_NOT_LEADER);
    EXPECT(id.term == UNTOUCHED && id.index == UNTOUCHED);
    EXPECT_STATUS(sansraft_node_propose(node, NULL, 1, &id), SANSRAFT_INVALID_LENGTH);
    EXPECT_STATUS(sansraft_node_add_learner(node, 4, true, &id), SANSRAFT_NOT_LEADER);
    EXPECT_STATUS(sansraft_node_promote(node, 3, &id), SANSRAFT_NOT_LEADER);
    EXPECT_STATUS(sansraft_node_snapshot_sent(node, 3, true), SANSRAFT_SNAPSHOT_NOT_REQUESTED);
    EXPECT_STATUS(sansraft_node_snapshot_taken(node, 7), SANSRAFT_INVALID_SNAPSHOT);
    EXPECT_STATUS(sansraft_node_applied(node, 5), SANSRAFT_APPLIED_OUT_OF_RANGE);
    EXPECT_STATUS(sansraft_node_applied(node, 0), SANSRAFT_OK);

    EXPECT_STATUS(sansraft_node_tick(node, 100), SANSRAFT_OK);
    EXPECT_STATUS(sansraft_node_tick(node, 50), SANSRAFT_TIME_WENT_BACKWARDS);
    EXPECT_STATUS(sansraft_node_tick(node, 100), SANSRAFT_OK);

    EXPECT_STATUS(sansraft_node_persisted(node, 999), SANSRAFT_UNKNOWN_TOKEN);
    EXPECT_STATUS(sansraft_node_persisted(node, 0), SANSRAFT_STALE_TOKEN);

    /* Campaigning changes the term and vote, which must be persisted. */
    EXPECT_STATUS(sansraft_node_campaign(node), SANSRAFT_OK);
    uint64_t token = 0;
    uint8_t message[256];
    EXPECT(drain(node, message, sizeof message, &token) == 0);
    EXPECT(token > 0);
    EXPECT_STATUS(sansraft_node_persisted(node, token + 1), SANSRAFT_UNKNOWN_TOKEN);
    EXPECT_STATUS(sansraft_node_persisted(node, token), SANSRAFT_OK);
    EXPECT_STATUS(sansraft_node_persisted(node, token), SANSRAFT_STALE_TOKEN);

    /* The vote requests were held back until the vote was durable. */
    size_t message_len = drain(node, message, sizeof message, NULL);
    EXPECT(message_len > 0);
    sansraft_message_info info;
    EXPECT_STATUS(sansraft_message_inspect(message, message_len, &info), SANSRAFT_OK);
    EXPECT(info.from == 2 && info.kind == SANSRAFT_MESSAGE_REQUEST_VOTE);
    EXPECT_STATUS(sansraft_node_receive(node, message, message_len), SANSRAFT_WRONG_RECIPIENT);

    sansraft_output out;
    EXPECT_STATUS(sansraft_node_poll(node, NULL), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_poll(node, &out), SANSRAFT_EMPTY);
    uint64_t deadline = UNTOUCHED;
    EXPECT_STATUS(sansraft_node_next_deadline(node, NULL), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_next_deadline(node, &deadline), SANSRAFT_OK);
    EXPECT(deadline != UNTOUCHED);
    sansraft_node_free(node);

    /* A server waiting to join is no voting member. */
    sansraft_node *joiner = new_node(4, NULL, 0);
    EXPECT_STATUS(sansraft_node_campaign(joiner), SANSRAFT_NOT_MEMBER);
    sansraft_node_free(joiner);
}

static void check_leader_calls(void) {
    const uint64_t members[] = {1};
    sansraft_node *node = new_node(1, members, 1);
    EXPECT_STATUS(sansraft_node_tick(node, 0), SANSRAFT_OK);
    drain(node, NULL, 0, NULL);

    sansraft_log_id id = {UNTOUCHED, UNTOUCHED};
    EXPECT_STATUS(sansraft_node_add_learner(node, 2, true, NULL), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_add_learner(node, 2, true, &id), SANSRAFT_LEADER_NOT_READY);
    EXPECT(id.index == UNTOUCHED);
    drain(node, NULL, 0, NULL);
    EXPECT_STATUS(sansraft_node_add_learner(node, 1, false, &id), SANSRAFT_INVALID_CHANGE);
    EXPECT_STATUS(sansraft_node_promote(node, 9, &id), SANSRAFT_INVALID_CHANGE);
    EXPECT_STATUS(sansraft_node_remove(node, 1, &id), SANSRAFT_INVALID_CHANGE);
    EXPECT_STATUS(sansraft_node_demote(node, 1, &id), SANSRAFT_INVALID_CHANGE);
    EXPECT_STATUS(sansraft_node_add_learner(node, 2, false, &id), SANSRAFT_OK);
    EXPECT(id.index > 0 && id.term == 1);
    EXPECT_STATUS(sansraft_node_set_pending(node, 2, true, &id), SANSRAFT_CHANGE_IN_PROGRESS);
    drain(node, NULL, 0, NULL);

    /* The learner is now a peer: a zero-sized peer buffer is too small. */
    sansraft_node_status status;
    status.id = UNTOUCHED;
    size_t peers_len = 0;
    EXPECT_STATUS(sansraft_node_get_status(node, NULL, 0, &peers_len, &status),
                  SANSRAFT_BUFFER_TOO_SMALL);
    EXPECT(peers_len == 1 && status.id == UNTOUCHED);
    EXPECT_STATUS(sansraft_node_get_status(node, NULL, 2, &peers_len, &status),
                  SANSRAFT_INVALID_LENGTH);
    sansraft_peer_status peers[2];
    EXPECT_STATUS(sansraft_node_get_status(node, peers, 2, &peers_len, NULL),
                  SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_get_status(node, peers, 2, &peers_len, &status), SANSRAFT_OK);
    EXPECT(peers_len == 1 && peers[0].id == 2 && status.role == SANSRAFT_ROLE_LEADER);
    EXPECT(status.members_len == 1 && status.learners_len == 1 && status.leader == 1);

    uint64_t member_ids[1];
    size_t members_len = 0;
    size_t learners_len = 0;
    EXPECT_STATUS(sansraft_node_membership(node, member_ids, 1, NULL, 0, &members_len,
                                           &learners_len),
                  SANSRAFT_BUFFER_TOO_SMALL);
    EXPECT(members_len == 1 && learners_len == 1);
    sansraft_learner learners[1];
    EXPECT_STATUS(sansraft_node_membership(node, member_ids, 1, learners, 1, &members_len,
                                           &learners_len),
                  SANSRAFT_OK);
    EXPECT(member_ids[0] == 1 && learners[0].id == 2 && !learners[0].pending);

    /* A snapshot needs an index that was handed out for applying. */
    EXPECT_STATUS(sansraft_node_snapshot_taken(node, status.last_log.index + 1),
                  SANSRAFT_INVALID_SNAPSHOT);
    EXPECT_STATUS(sansraft_node_snapshot_taken(node, 0), SANSRAFT_INVALID_SNAPSHOT);
    EXPECT_STATUS(sansraft_node_snapshot_taken(node, status.commit), SANSRAFT_OK);
    EXPECT_STATUS(sansraft_node_snapshot_sent(node, 2, true), SANSRAFT_SNAPSHOT_NOT_REQUESTED);
    sansraft_node_free(node);
}

static void check_restore(void) {
    const uint64_t members[] = {1};
    sansraft_node *node = new_node(1, members, 1);
    EXPECT_STATUS(sansraft_node_tick(node, 0), SANSRAFT_OK);
    sansraft_log_id id;
    const uint8_t data[] = {'a', 'b'};

    /* Keep the hard state and entry records of every persist output. */
    uint8_t hard_state[64];
    size_t hard_state_len = 0;
    uint8_t records[8][64];
    sansraft_bytes entries[8];
    size_t entries_len = 0;
    for (int round = 0; round < 4; round++) {
        if (round > 0) {
            EXPECT_STATUS(sansraft_node_propose(node, data, sizeof data, &id), SANSRAFT_OK);
        }
        sansraft_output out;
        while (sansraft_node_poll(node, &out) == SANSRAFT_OK) {
            if (out.kind != SANSRAFT_OUTPUT_PERSIST) {
                continue;
            }
            if (out.persist.has_hard_state && out.persist.hard_state_len <= sizeof hard_state) {
                memcpy(hard_state, out.persist.hard_state, out.persist.hard_state_len);
                hard_state_len = out.persist.hard_state_len;
            }
            for (size_t i = 0; i < out.persist.entries_len && entries_len < 8; i++) {
                const sansraft_entry_record *record = &out.persist.entries[i];
                EXPECT(record->record_len <= sizeof records[0]);
                memcpy(records[entries_len], record->record, record->record_len);
                entries[entries_len].data = records[entries_len];
                entries[entries_len].len = record->record_len;
                entries_len++;
            }
            EXPECT_STATUS(sansraft_node_persisted(node, out.persist.token), SANSRAFT_OK);
        }
    }
    sansraft_node_free(node);
    EXPECT(hard_state_len > 0 && entries_len == 3);

    sansraft_config config = config_for(1);
    sansraft_restore_state state;
    memset(&state, 0, sizeof state);
    state.hard_state = hard_state;
    state.hard_state_len = hard_state_len;
    state.entries = entries;
    state.entries_len = entries_len;
    state.members = members;
    state.members_len = 1;
    sansraft_node *const sentinel = (sansraft_node *)&config;
    sansraft_node *restored = sentinel;

    EXPECT_STATUS(sansraft_node_restore(NULL, &state, &restored), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_restore(&config, NULL, &restored), SANSRAFT_NULL_POINTER);
    EXPECT_STATUS(sansraft_node_restore(&config, &state, NULL), SANSRAFT_NULL_POINTER);

    sansraft_restore_state bad = state;
    bad.applied = entries_len + 1;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_INVALID_RESTORE);
    bad = state;
    bad.entries = entries + 1; /* the log must start at index 1 */
    bad.entries_len = entries_len - 1;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_INVALID_RESTORE);
    bad = state;
    bad.hard_state_len = 0; /* entries of term 1 above the hard state's term 0 */
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_INVALID_RESTORE);
    bad = state;
    bad.hard_state_len = hard_state_len - 1;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_DECODE_ERROR);
    bad = state;
    bad.entries = NULL;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_INVALID_LENGTH);
    sansraft_bytes broken[8];
    memcpy(broken, entries, sizeof broken);
    broken[1].data = NULL;
    bad = state;
    bad.entries = broken;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_INVALID_LENGTH);
    broken[1] = entries[1];
    broken[1].len--;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_DECODE_ERROR);
    bad = state;
    bad.snapshot = hard_state; /* not a snapshot record */
    bad.snapshot_len = hard_state_len;
    EXPECT_STATUS(sansraft_node_restore(&config, &bad, &restored), SANSRAFT_DECODE_ERROR);
    EXPECT(restored == sentinel);

    EXPECT_STATUS(sansraft_node_restore(&config, &state, &restored), SANSRAFT_OK);
    sansraft_node_status status;
    size_t peers_len = 0;
    EXPECT_STATUS(sansraft_node_get_status(restored, NULL, 0, &peers_len, &status), SANSRAFT_OK);
    EXPECT(status.last_log.index == entries_len && status.role == SANSRAFT_ROLE_CANDIDATE);
    sansraft_node_free(restored);
}

int main(void) {
    check_status_names();
    check_creation();
    check_null_node();
    check_follower_calls();
    check_leader_calls();
    check_restore();
    if (failures > 0) {
        fprintf(stderr, "misuse: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("misuse: all %d checks passed\n", checks);
    return 0;
}
