/*
 * A sansraft cluster inside one C program, driven through the C API.
 *
 * Each server is a host: a sansraft node, an inbox of encoded messages, an in-memory
 * "disk" of the encoded records its persist outputs asked for, and a state machine that
 * records every applied entry. The program runs the hosts in rounds: every live host ticks,
 * receives its inbox, and drains its outputs until none are left.
 *
 * The scenario, in order:
 * - three members elect a leader and replicate 1,000 entries;
 * - node 4 starts empty, is added as a pending learner, and the leader promotes it once it
 *   has caught up;
 * - a follower crashes and misses 300 entries, the leader takes a snapshot, and the
 *   follower restarts from its records and catches up through a snapshot install;
 * - the leader crashes, the others elect a new leader, the old one restarts from its
 *   snapshot and compacted log, and the new leader commits 100 more entries.
 * At the end every state machine must contain the same entries.
 *
 * Exits 0 and prints a summary when every check passes; prints the failed check and exits 1
 * otherwise.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sansraft.h"

#define NODE_COUNT 4
#define FIRST_BATCH 1000
#define MISSED_BATCH 300
#define LAST_BATCH 100
#define ROUND_LIMIT 5000
#define TICK_STEP_MS 10
/* Kept small so that a follower 300 entries behind the snapshot needs an install. */
#define SNAPSHOT_TRAILING_ENTRIES 20

static void fail(const char *what) {
    fprintf(stderr, "cluster: check failed: %s\n", what);
    exit(1);
}

static void expect(bool condition, const char *what) {
    if (!condition) {
        fail(what);
    }
}

static void expect_ok(sansraft_status status, const char *call) {
    if (status != SANSRAFT_OK) {
        fprintf(stderr, "cluster: %s returned %s\n", call, sansraft_status_str(status));
        exit(1);
    }
}

static void *checked_malloc(size_t size) {
    void *memory = malloc(size == 0 ? 1 : size);
    if (memory == NULL) {
        fail("out of memory");
    }
    return memory;
}

/* Grows an array of `*capacity` items of `item_size` bytes to hold at least `needed`. */
static void *grow(void *items, size_t *capacity, size_t needed, size_t item_size) {
    if (needed <= *capacity) {
        return items;
    }
    size_t new_capacity = *capacity == 0 ? 16 : *capacity * 2;
    while (new_capacity < needed) {
        new_capacity *= 2;
    }
    void *grown = realloc(items, new_capacity * item_size);
    if (grown == NULL) {
        fail("out of memory");
    }
    *capacity = new_capacity;
    return grown;
}

/* An owned copy of some bytes. */
typedef struct {
    uint8_t *data;
    size_t len;
} buffer;

static buffer buffer_copy(const uint8_t *data, size_t len) {
    buffer copy = {checked_malloc(len), len};
    if (len > 0) {
        memcpy(copy.data, data, len);
    }
    return copy;
}

static void buffer_free(buffer *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static uint64_t fnv1a(const uint8_t *data, size_t len) {
    uint64_t hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        hash = (hash ^ data[i]) * 0x100000001b3u;
    }
    return hash;
}

/* ---- State machine: one record per applied index ---- */

typedef struct {
    uint64_t term;
    sansraft_entry_kind kind;
    uint64_t digest; /* of the data, for data entries */
} applied_entry;

typedef struct {
    applied_entry *entries; /* entries[i] is index i + 1 */
    size_t len;
    size_t capacity;
    uint64_t data_entries; /* data entries applied so far */
} machine;

static void machine_free(machine *m) {
    free(m->entries);
    memset(m, 0, sizeof *m);
}

/* Returns a copy of the first `upto` entries of `m`, which a snapshot at `upto` holds. */
static machine machine_prefix(const machine *m, size_t upto) {
    machine copy = {NULL, 0, 0, 0};
    copy.entries = grow(NULL, &copy.capacity, upto, sizeof *copy.entries);
    for (size_t i = 0; i < upto; i++) {
        copy.entries[i] = m->entries[i];
        copy.data_entries += m->entries[i].kind == SANSRAFT_ENTRY_DATA;
    }
    copy.len = upto;
    return copy;
}

/* Formats the payload of the proposal with sequence number `sequence`. */
static size_t format_payload(uint64_t sequence, char *out, size_t out_len) {
    int written = snprintf(out, out_len, "entry-%06" PRIu64, sequence);
    expect(written > 0, "the payload is formatted");
    expect((size_t)written < out_len, "the payload fits its buffer");
    return (size_t)written;
}

static void machine_apply(machine *m, const sansraft_apply_output *apply) {
    expect(apply->id.index == m->len + 1, "entries are applied in index order, each once");
    applied_entry entry = {apply->id.term, apply->entry_kind, 0};
    if (apply->entry_kind == SANSRAFT_ENTRY_DATA) {
        char expected[32];
        size_t expected_len = format_payload(m->data_entries, expected, sizeof expected);
        expect(apply->data_len == expected_len, "data entries arrive in proposal order");
        expect(memcmp(apply->data, expected, expected_len) == 0, "data matches the proposal");
        entry.digest = fnv1a(apply->data, apply->data_len);
        m->data_entries++;
    }
    m->entries = grow(m->entries, &m->capacity, m->len + 1, sizeof *m->entries);
    m->entries[m->len++] = entry;
}

/* ---- Disk: the encoded records persist outputs asked the host to keep ---- */

typedef struct {
    uint64_t index;
    buffer record;
} stored_entry;

typedef struct {
    buffer hard_state;
    buffer snapshot_meta;
    uint64_t snapshot_index;
    machine snapshot_data;
    stored_entry *entries; /* contiguous, in index order */
    size_t len;
    size_t capacity;
    /* Snapshot data stored before the node records its description: taken here before
     * sansraft_node_snapshot_taken, or received with an install-snapshot message. */
    uint64_t staged_index;
    machine staged_data;
} disk;

static void disk_remove(disk *d, uint64_t from, uint64_t through) {
    size_t kept = 0;
    for (size_t i = 0; i < d->len; i++) {
        if (d->entries[i].index >= from && d->entries[i].index <= through) {
            buffer_free(&d->entries[i].record);
        } else {
            d->entries[kept++] = d->entries[i];
        }
    }
    d->len = kept;
}

/* Applies one persist output in the documented order. */
static void disk_write(disk *d, const sansraft_persist_output *p) {
    if (p->has_hard_state) {
        buffer_free(&d->hard_state);
        d->hard_state = buffer_copy(p->hard_state, p->hard_state_len);
    }
    if (p->has_snapshot) {
        expect(d->staged_index == p->snapshot_last.index, "snapshot data was stored first");
        buffer_free(&d->snapshot_meta);
        d->snapshot_meta = buffer_copy(p->snapshot, p->snapshot_len);
        d->snapshot_index = p->snapshot_last.index;
        machine_free(&d->snapshot_data);
        d->snapshot_data = d->staged_data;
        memset(&d->staged_data, 0, sizeof d->staged_data);
        d->staged_index = 0;
    }
    if (p->compact_through != 0) {
        disk_remove(d, 0, p->compact_through);
    }
    if (p->truncate_from != 0) {
        disk_remove(d, p->truncate_from, UINT64_MAX);
    }
    for (size_t i = 0; i < p->entries_len; i++) {
        const sansraft_entry_record *record = &p->entries[i];
        bool contiguous = d->len == 0 || record->id.index == d->entries[d->len - 1].index + 1;
        expect(contiguous, "persisted entries are contiguous");
        d->entries = grow(d->entries, &d->capacity, d->len + 1, sizeof *d->entries);
        d->entries[d->len].index = record->id.index;
        d->entries[d->len].record = buffer_copy(record->record, record->record_len);
        d->len++;
    }
}

static void disk_free(disk *d) {
    buffer_free(&d->hard_state);
    buffer_free(&d->snapshot_meta);
    machine_free(&d->snapshot_data);
    machine_free(&d->staged_data);
    disk_remove(d, 0, UINT64_MAX);
    free(d->entries);
    memset(d, 0, sizeof *d);
}

/* ---- Hosts and the network ---- */

typedef struct {
    buffer message;
    bool has_snapshot;
    machine snapshot_data; /* travels beside an install-snapshot message */
} packet;

typedef struct {
    uint64_t id;
    sansraft_node *node; /* NULL while crashed or not started */
    uint64_t bootstrap[3];
    size_t bootstrap_len;
    disk disk;
    machine machine;
    uint64_t reported_applied;
    packet *inbox;
    size_t inbox_len;
    size_t inbox_capacity;
    uint64_t committed_proposals;
} host;

typedef struct {
    host hosts[NODE_COUNT];
    uint64_t now_ms;
    uint64_t snapshot_sends;
} cluster;

static host *host_of(cluster *c, uint64_t id) {
    expect(id >= 1, "messages name known servers");
    expect(id <= NODE_COUNT, "messages name known servers");
    return &c->hosts[id - 1];
}

static void packet_free(packet *p) {
    buffer_free(&p->message);
    machine_free(&p->snapshot_data);
}

static void inbox_clear(host *h) {
    for (size_t i = 0; i < h->inbox_len; i++) {
        packet_free(&h->inbox[i]);
    }
    h->inbox_len = 0;
}

/* Queues a packet for `to`; a crashed server loses it, as a network would. Returns whether
 * it was queued. */
static bool deliver_later(cluster *c, uint64_t to, packet p) {
    host *h = host_of(c, to);
    if (h->node == NULL) {
        packet_free(&p);
        return false;
    }
    h->inbox = grow(h->inbox, &h->inbox_capacity, h->inbox_len + 1, sizeof *h->inbox);
    h->inbox[h->inbox_len++] = p;
    return true;
}

static sansraft_config config_for(uint64_t id) {
    sansraft_config config;
    expect_ok(sansraft_config_default(id, &config), "sansraft_config_default");
    config.snapshot_trailing_entries = SNAPSHOT_TRAILING_ENTRIES;
    return config;
}

static void host_start(host *h) {
    sansraft_config config = config_for(h->id);
    expect_ok(sansraft_node_new(&config, h->bootstrap, h->bootstrap_len, &h->node),
              "sansraft_node_new");
}

/* Loses everything that is not on the disk: the node, the inbox and the state machine. */
static void host_crash(host *h) {
    sansraft_node_free(h->node);
    h->node = NULL;
    inbox_clear(h);
    machine_free(&h->machine);
    h->reported_applied = 0;
}

/* Rebuilds the node and the state machine from the disk alone. */
static void host_restart(host *h) {
    disk *d = &h->disk;
    sansraft_bytes *records = checked_malloc(d->len * sizeof *records);
    for (size_t i = 0; i < d->len; i++) {
        records[i].data = d->entries[i].record.data;
        records[i].len = d->entries[i].record.len;
    }
    h->machine = machine_prefix(&d->snapshot_data, d->snapshot_data.len);
    sansraft_restore_state state;
    memset(&state, 0, sizeof state);
    state.hard_state = d->hard_state.data;
    state.hard_state_len = d->hard_state.len;
    state.snapshot = d->snapshot_meta.data;
    state.snapshot_len = d->snapshot_meta.len;
    state.entries = records;
    state.entries_len = d->len;
    state.members = h->bootstrap;
    state.members_len = h->bootstrap_len;
    state.applied = d->snapshot_index;
    h->reported_applied = d->snapshot_index;

    sansraft_config config = config_for(h->id);
    expect_ok(sansraft_node_restore(&config, &state, &h->node), "sansraft_node_restore");
    free(records);
}

static void handle_send_snapshot(cluster *c, host *h, const sansraft_send_output *send) {
    expect(send->snapshot.index == h->disk.snapshot_index, "the latest snapshot is sent");
    packet p = {buffer_copy(send->message, send->message_len), true,
                machine_prefix(&h->disk.snapshot_data, h->disk.snapshot_data.len)};
    bool sent = deliver_later(c, send->to, p);
    c->snapshot_sends += sent;
    /* The receiver's host stores the data as soon as it is queued in this simulation. */
    expect_ok(sansraft_node_snapshot_sent(h->node, send->to, sent), "sansraft_node_snapshot_sent");
}

/* Carries out one output. Returns after any call that invalidates `out`. */
static void handle_output(cluster *c, host *h, const sansraft_output *out) {
    switch (out->kind) {
    case SANSRAFT_OUTPUT_SEND: {
        packet p = {buffer_copy(out->send.message, out->send.message_len), false,
                    {NULL, 0, 0, 0}};
        deliver_later(c, out->send.to, p);
        break;
    }
    case SANSRAFT_OUTPUT_SEND_SNAPSHOT:
        handle_send_snapshot(c, h, &out->send);
        break;
    case SANSRAFT_OUTPUT_PERSIST: {
        uint64_t token = out->persist.token;
        disk_write(&h->disk, &out->persist);
        expect_ok(sansraft_node_persisted(h->node, token), "sansraft_node_persisted");
        break;
    }
    case SANSRAFT_OUTPUT_RESTORE_SNAPSHOT:
        expect(h->disk.snapshot_index == out->restore_snapshot.last.index ||
                   h->disk.staged_index == out->restore_snapshot.last.index,
               "the restored snapshot was stored");
        machine_free(&h->machine);
        h->machine = h->disk.staged_index == out->restore_snapshot.last.index
                         ? machine_prefix(&h->disk.staged_data, h->disk.staged_data.len)
                         : machine_prefix(&h->disk.snapshot_data, h->disk.snapshot_data.len);
        break;
    case SANSRAFT_OUTPUT_APPLY:
        machine_apply(&h->machine, &out->apply);
        break;
    case SANSRAFT_OUTPUT_PROPOSAL:
        expect(out->proposal.outcome == SANSRAFT_PROPOSAL_COMMITTED, "every proposal commits");
        h->committed_proposals++;
        break;
    default:
        /* Role, leader and membership notifications need no action here. */
        break;
    }
}

/* Polls until the node is quiet, reporting the applied index after each drain. */
static bool drain(cluster *c, host *h) {
    bool emitted = false;
    for (;;) {
        sansraft_output out;
        sansraft_status status;
        while ((status = sansraft_node_poll(h->node, &out)) == SANSRAFT_OK) {
            emitted = true;
            handle_output(c, h, &out);
        }
        expect(status == SANSRAFT_EMPTY, "poll ends with SANSRAFT_EMPTY");
        if (h->machine.len == h->reported_applied) {
            return emitted;
        }
        expect_ok(sansraft_node_applied(h->node, h->machine.len), "sansraft_node_applied");
        h->reported_applied = h->machine.len;
    }
}

static void receive(host *h, packet *p) {
    sansraft_message_info info;
    expect_ok(sansraft_message_inspect(p->message.data, p->message.len, &info),
              "sansraft_message_inspect");
    expect(info.to == h->id, "messages reach their receiver");
    if (info.kind == SANSRAFT_MESSAGE_INSTALL_SNAPSHOT) {
        /* Store the data before the node sees the message, as the contract requires. */
        expect(p->has_snapshot, "snapshot data travels with its message");
        expect(p->snapshot_data.len == info.snapshot.index, "the data matches the message");
        machine_free(&h->disk.staged_data);
        h->disk.staged_data = p->snapshot_data;
        h->disk.staged_index = info.snapshot.index;
        memset(&p->snapshot_data, 0, sizeof p->snapshot_data);
    }
    expect_ok(sansraft_node_receive(h->node, p->message.data, p->message.len),
              "sansraft_node_receive");
}

/* Runs one round after moving the clock `step_ms` forward. Returns whether any host
 * received a message or emitted an output. */
static bool round_once(cluster *c, uint64_t step_ms) {
    bool active = false;
    c->now_ms += step_ms;
    for (size_t i = 0; i < NODE_COUNT; i++) {
        host *h = &c->hosts[i];
        if (h->node == NULL) {
            continue;
        }
        expect_ok(sansraft_node_tick(h->node, c->now_ms), "sansraft_node_tick");
        /* Receiving only queues outputs, so nothing is added to this inbox meanwhile. */
        active |= h->inbox_len > 0;
        for (size_t m = 0; m < h->inbox_len; m++) {
            receive(h, &h->inbox[m]);
        }
        inbox_clear(h);
        active |= drain(c, h);
    }
    return active;
}

static void run_until_quiet(cluster *c) {
    for (int round = 0; round < ROUND_LIMIT; round++) {
        if (!round_once(c, 0)) {
            return;
        }
    }
    fail("the cluster went quiet within the round limit");
}

static sansraft_node_status status_of(const host *h) {
    sansraft_node_status status;
    sansraft_peer_status peers[NODE_COUNT];
    size_t peers_len = 0;
    expect_ok(sansraft_node_get_status(h->node, peers, NODE_COUNT, &peers_len, &status),
              "sansraft_node_get_status");
    return status;
}

/* Returns the live leader every live member agrees on, or NULL. */
static host *agreed_leader(cluster *c) {
    host *leader = NULL;
    for (size_t i = 0; i < NODE_COUNT; i++) {
        if (c->hosts[i].node != NULL && status_of(&c->hosts[i]).role == SANSRAFT_ROLE_LEADER) {
            leader = &c->hosts[i];
        }
    }
    if (leader == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < NODE_COUNT; i++) {
        host *h = &c->hosts[i];
        if (h->node != NULL && h->bootstrap_len > 0 && status_of(h).leader != leader->id) {
            return NULL;
        }
    }
    return leader;
}

static host *elect(cluster *c) {
    for (int round = 0; round < ROUND_LIMIT; round++) {
        round_once(c, TICK_STEP_MS);
        host *leader = agreed_leader(c);
        if (leader != NULL) {
            return leader;
        }
    }
    fail("a leader was elected within the round limit");
    return NULL;
}

/* Proposes `count` entries on the leader, 50 per round, and runs until they are applied. */
static void replicate(cluster *c, host *leader, uint64_t *next_sequence, uint64_t count) {
    uint64_t end = *next_sequence + count;
    while (*next_sequence < end) {
        for (int i = 0; i < 50 && *next_sequence < end; i++) {
            char payload[32];
            size_t len = format_payload(*next_sequence, payload, sizeof payload);
            sansraft_log_id id;
            expect_ok(sansraft_node_propose(leader->node, (const uint8_t *)payload, len, &id),
                      "sansraft_node_propose");
            expect(id.index == status_of(leader).last_log.index, "propose returns the new id");
            (*next_sequence)++;
        }
        round_once(c, 0);
    }
    run_until_quiet(c);
}

static bool is_member(const host *h, uint64_t id) {
    uint64_t members[NODE_COUNT];
    sansraft_learner learners[NODE_COUNT];
    size_t members_len = 0;
    size_t learners_len = 0;
    expect_ok(sansraft_node_membership(h->node, members, NODE_COUNT, learners, NODE_COUNT,
                                       &members_len, &learners_len),
              "sansraft_node_membership");
    for (size_t i = 0; i < members_len; i++) {
        if (members[i] == id) {
            return true;
        }
    }
    return false;
}

/* Adds node 4 as a pending learner and ticks until the leader promotes it. Returns the time
 * the promotion took. */
static uint64_t add_and_promote(cluster *c, host *leader, host *joiner) {
    host_start(joiner);
    sansraft_log_id id;
    sansraft_status status;
    while ((status = sansraft_node_add_learner(leader->node, joiner->id, true, &id)) ==
           SANSRAFT_LEADER_NOT_READY) {
        round_once(c, 0);
    }
    expect_ok(status, "sansraft_node_add_learner");
    uint64_t start_ms = c->now_ms;
    for (int round = 0; round < ROUND_LIMIT; round++) {
        round_once(c, TICK_STEP_MS);
        if (is_member(leader, joiner->id)) {
            run_until_quiet(c);
            expect(is_member(joiner, joiner->id), "the promoted learner sees its promotion");
            return c->now_ms - start_ms;
        }
    }
    fail("the leader promoted the pending learner within the round limit");
    return 0;
}

/* Crashes a follower, replicates without it, takes a snapshot on the leader, and restarts
 * the follower, which must catch up through a snapshot install. */
static uint64_t catch_up_by_snapshot(cluster *c, host *leader, host *follower,
                                     uint64_t *next_sequence) {
    host_crash(follower);
    replicate(c, leader, next_sequence, MISSED_BATCH);

    uint64_t index = leader->machine.len;
    leader->disk.staged_index = index;
    leader->disk.staged_data = machine_prefix(&leader->machine, index);
    expect_ok(sansraft_node_snapshot_taken(leader->node, index), "sansraft_node_snapshot_taken");
    run_until_quiet(c);
    expect(leader->disk.snapshot_index == index, "the leader persisted its snapshot");
    expect(status_of(leader).first_log_index == index - SNAPSHOT_TRAILING_ENTRIES + 1,
           "the leader compacted its log");

    uint64_t sends_before = c->snapshot_sends;
    host_restart(follower);
    for (int round = 0; round < 100 && follower->machine.len < leader->machine.len; round++) {
        round_once(c, TICK_STEP_MS);
    }
    run_until_quiet(c);
    expect(c->snapshot_sends > sends_before, "the leader sent a snapshot");
    expect(status_of(follower).snapshot.index == index, "the follower installed the snapshot");
    expect(follower->machine.len == leader->machine.len, "the follower caught up");
    return index;
}

static void check_all_equal(cluster *c) {
    const machine *reference = &c->hosts[0].machine;
    for (size_t i = 0; i < NODE_COUNT; i++) {
        const machine *m = &c->hosts[i].machine;
        expect(c->hosts[i].node != NULL, "every server runs at the end");
        expect(m->len == reference->len, "every state machine applied the same last index");
        expect(m->data_entries == reference->data_entries, "same number of data entries");
        for (size_t e = 0; e < m->len; e++) {
            const applied_entry *a = &m->entries[e];
            const applied_entry *b = &reference->entries[e];
            expect(a->term == b->term, "every state machine has the same term at each index");
            expect(a->kind == b->kind, "every state machine has the same kind at each index");
            expect(a->digest == b->digest, "every state machine has the same data at each index");
        }
        sansraft_node_status status = status_of(&c->hosts[i]);
        expect(status.commit == m->len, "the commit index is the last applied index");
        expect(status.applied == m->len, "the node knows what the state machine applied");
    }
}

int main(void) {
    cluster c;
    memset(&c, 0, sizeof c);
    for (uint64_t id = 1; id <= NODE_COUNT; id++) {
        host *h = host_of(&c, id);
        h->id = id;
        if (id <= 3) {
            h->bootstrap[0] = 1;
            h->bootstrap[1] = 2;
            h->bootstrap[2] = 3;
            h->bootstrap_len = 3;
            host_start(h);
        }
    }

    uint64_t sequence = 0;
    host *leader = elect(&c);
    replicate(&c, leader, &sequence, FIRST_BATCH);
    uint64_t first_leader = leader->id;

    uint64_t promotion_ms = add_and_promote(&c, leader, host_of(&c, 4));

    host *follower = host_of(&c, leader->id % 3 + 1);
    uint64_t snapshot_index = catch_up_by_snapshot(&c, leader, follower, &sequence);

    /* Crash the leader; the others elect a new one, and the old leader restarts from its
     * snapshot and compacted log. */
    host *old_leader = leader;
    host_crash(old_leader);
    leader = elect(&c);
    host_restart(old_leader);
    replicate(&c, leader, &sequence, LAST_BATCH);
    for (int round = 0; round < 100; round++) {
        round_once(&c, TICK_STEP_MS);
    }
    run_until_quiet(&c);
    check_all_equal(&c);
    uint64_t committed = 0;
    for (size_t i = 0; i < NODE_COUNT; i++) {
        committed += c.hosts[i].committed_proposals;
    }
    /* Every data proposal and the learner addition reported its end on its leader. */
    expect(committed == sequence + 1, "every proposal reported that it committed");

    sansraft_node_status status = status_of(leader);
    printf("cluster: %d servers applied %zu entries (%" PRIu64 " data) and agree at every "
           "index; leader %" PRIu64 " (term %" PRIu64 ") after leader %" PRIu64
           " crashed; node 4 promoted after %" PRIu64 " ms; node %" PRIu64
           " caught up through the snapshot at index %" PRIu64 "\n",
           NODE_COUNT, c.hosts[0].machine.len, c.hosts[0].machine.data_entries, leader->id,
           status.term, first_leader, promotion_ms, follower->id, snapshot_index);
    expect(c.hosts[0].machine.data_entries == FIRST_BATCH + MISSED_BATCH + LAST_BATCH,
           "every proposal was applied once");

    for (size_t i = 0; i < NODE_COUNT; i++) {
        host_crash(&c.hosts[i]);
        free(c.hosts[i].inbox);
        disk_free(&c.hosts[i].disk);
    }
    return 0;
}
