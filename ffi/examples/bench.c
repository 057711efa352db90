/*
 * Cluster throughput through the C API: the workload of benches/cluster.rs, driven by a C
 * host, so the two can be compared.
 *
 * An in-memory cluster of 3 nodes runs in one thread in id-ordered rounds. Node 1 campaigns
 * and is elected. Then it proposes --entries payloads of --payload bytes, --batch of them
 * before each round, until every node has applied them all. Only that phase is timed. A
 * node's turn receives every message in its inbox, then polls until the node is quiet:
 * messages are copied into the receiver's inbox, persist outputs are copied into an
 * in-memory log and acknowledged at once, and applied entries are checked for order. Every
 * message crosses as encoded bytes, so the matching Rust variant is the one with --wire.
 *
 * Prints one line of key=value results. Exits 1 on a failed check, 2 on a bad option.
 *
 *   bench [--entries N] [--payload BYTES] [--batch N] [--nodes N]
 */
/* clock_gettime and CLOCK_MONOTONIC are POSIX, outside strict C99. */
#define _POSIX_C_SOURCE 199309L

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sansraft.h"

#define MAX_NODES 7

static void fail(const char *what) {
    fprintf(stderr, "bench: check failed: %s\n", what);
    exit(1);
}

static void expect_ok(sansraft_status status, const char *call) {
    if (status != SANSRAFT_OK) {
        fprintf(stderr, "bench: %s returned %s\n", call, sansraft_status_str(status));
        exit(1);
    }
}

/* A growable byte buffer. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t capacity;
} bytes;

static void bytes_append(bytes *b, const uint8_t *data, size_t len) {
    if (b->len + len > b->capacity) {
        size_t capacity = b->capacity == 0 ? 4096 : b->capacity;
        while (capacity < b->len + len) {
            capacity *= 2;
        }
        uint8_t *grown = realloc(b->data, capacity);
        if (grown == NULL) {
            fail("out of memory");
        }
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

/* A growable array of offsets into a byte buffer. */
typedef struct {
    size_t *items;
    size_t len;
    size_t capacity;
} offsets;

static void offsets_push(offsets *o, size_t value) {
    if (o->len == o->capacity) {
        o->capacity = o->capacity == 0 ? 1024 : o->capacity * 2;
        size_t *grown = realloc(o->items, o->capacity * sizeof *grown);
        if (grown == NULL) {
            fail("out of memory");
        }
        o->items = grown;
    }
    o->items[o->len++] = value;
}

typedef struct {
    sansraft_node *node;
    /* Messages sent to this node since its last turn: bytes, and where each one starts. */
    bytes inbox;
    offsets inbox_starts;
    /* The persisted log: every entry record back to back, and where each one starts
     * (index i + 1 starts at log_starts.items[i]). */
    bytes hard_state;
    bytes log;
    offsets log_starts;
    uint64_t applied_index;
    uint64_t reported_applied;
    uint64_t applied_payloads;
    uint64_t committed_proposals;
} host;

typedef struct {
    host hosts[MAX_NODES];
    size_t count;
    uint64_t messages;
    uint64_t persists;
} cluster;

static void deliver(cluster *c, const sansraft_send_output *send) {
    if (send->to < 1 || send->to > c->count) {
        fail("messages name known servers");
    }
    host *receiver = &c->hosts[send->to - 1];
    offsets_push(&receiver->inbox_starts, receiver->inbox.len);
    bytes_append(&receiver->inbox, send->message, send->message_len);
    c->messages++;
}

static void persist(cluster *c, host *h, const sansraft_persist_output *p) {
    if (p->has_hard_state) {
        h->hard_state.len = 0;
        bytes_append(&h->hard_state, p->hard_state, p->hard_state_len);
    }
    if (p->has_snapshot || p->compact_through != 0) {
        fail("the benchmark takes no snapshot");
    }
    if (p->truncate_from != 0 && p->truncate_from <= h->log_starts.len) {
        h->log.len = h->log_starts.items[p->truncate_from - 1];
        h->log_starts.len = p->truncate_from - 1;
    }
    for (size_t i = 0; i < p->entries_len; i++) {
        const sansraft_entry_record *record = &p->entries[i];
        if (record->id.index != h->log_starts.len + 1) {
            fail("persisted entries are contiguous");
        }
        offsets_push(&h->log_starts, h->log.len);
        bytes_append(&h->log, record->record, record->record_len);
    }
    c->persists++;
    expect_ok(sansraft_node_persisted(h->node, p->token), "sansraft_node_persisted");
}

static void apply(host *h, const sansraft_apply_output *a) {
    if (a->id.index != h->applied_index + 1) {
        fail("entries are applied in index order");
    }
    h->applied_index = a->id.index;
    if (a->entry_kind != SANSRAFT_ENTRY_DATA) {
        return;
    }
    uint64_t sequence;
    if (a->data_len < sizeof sequence) {
        fail("payloads hold a sequence number");
    }
    memcpy(&sequence, a->data, sizeof sequence);
    if (sequence != h->applied_payloads) {
        fail("payloads are applied in proposal order");
    }
    h->applied_payloads++;
}

/* Receives the inbox, then polls until the node is quiet. Returns whether anything
 * happened. */
static bool take_turn(cluster *c, host *h) {
    bool active = h->inbox_starts.len > 0;
    for (size_t i = 0; i < h->inbox_starts.len; i++) {
        size_t start = h->inbox_starts.items[i];
        size_t end = i + 1 < h->inbox_starts.len ? h->inbox_starts.items[i + 1] : h->inbox.len;
        expect_ok(sansraft_node_receive(h->node, h->inbox.data + start, end - start),
                  "sansraft_node_receive");
    }
    h->inbox.len = 0;
    h->inbox_starts.len = 0;

    for (;;) {
        sansraft_output out;
        while (sansraft_node_poll(h->node, &out) == SANSRAFT_OK) {
            active = true;
            switch (out.kind) {
            case SANSRAFT_OUTPUT_SEND:
                deliver(c, &out.send);
                break;
            case SANSRAFT_OUTPUT_PERSIST:
                persist(c, h, &out.persist);
                break;
            case SANSRAFT_OUTPUT_APPLY:
                apply(h, &out.apply);
                break;
            case SANSRAFT_OUTPUT_PROPOSAL:
                if (out.proposal.outcome != SANSRAFT_PROPOSAL_COMMITTED) {
                    fail("every proposal commits");
                }
                h->committed_proposals++;
                break;
            default:
                break;
            }
        }
        /* Report what was applied once per drain; the report may schedule more output. */
        if (h->applied_index == h->reported_applied) {
            return active;
        }
        expect_ok(sansraft_node_applied(h->node, h->applied_index), "sansraft_node_applied");
        h->reported_applied = h->applied_index;
    }
}

static bool round_once(cluster *c) {
    bool active = false;
    for (size_t i = 0; i < c->count; i++) {
        active |= take_turn(c, &c->hosts[i]);
    }
    return active;
}

static bool all_applied(const cluster *c, uint64_t payloads) {
    for (size_t i = 0; i < c->count; i++) {
        if (c->hosts[i].applied_payloads < payloads) {
            return false;
        }
    }
    return true;
}

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static uint64_t parse_option(const char *flag, const char *value) {
    char *end = NULL;
    if (value == NULL) {
        fprintf(stderr, "bench: %s is missing its value\n", flag);
        exit(2);
    }
    unsigned long long parsed = strtoull(value, &end, 10);
    if (end == value || *end != '\0' || parsed == 0) {
        fprintf(stderr, "bench: %s expects a positive integer, got %s\n", flag, value);
        exit(2);
    }
    return (uint64_t)parsed;
}

int main(int argc, char **argv) {
    uint64_t entries = 200000;
    uint64_t payload_bytes = 128;
    uint64_t batch = 1;
    uint64_t nodes = 3;
    for (int i = 1; i < argc; i += 2) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--entries") == 0) {
            entries = parse_option(argv[i], value);
        } else if (strcmp(argv[i], "--payload") == 0) {
            payload_bytes = parse_option(argv[i], value);
        } else if (strcmp(argv[i], "--batch") == 0) {
            batch = parse_option(argv[i], value);
        } else if (strcmp(argv[i], "--nodes") == 0) {
            nodes = parse_option(argv[i], value);
        } else {
            fprintf(stderr, "bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (payload_bytes < 8 || nodes > MAX_NODES) {
        fprintf(stderr, "bench: --payload must be at least 8 and --nodes at most %d\n",
                MAX_NODES);
        return 2;
    }

    cluster c;
    memset(&c, 0, sizeof c);
    c.count = (size_t)nodes;
    uint64_t members[MAX_NODES];
    for (uint64_t id = 1; id <= nodes; id++) {
        members[id - 1] = id;
    }
    for (uint64_t id = 1; id <= nodes; id++) {
        sansraft_config config;
        expect_ok(sansraft_config_default(id, &config), "sansraft_config_default");
        expect_ok(sansraft_node_new(&config, members, (size_t)nodes, &c.hosts[id - 1].node),
                  "sansraft_node_new");
    }

    /* Elect node 1 and let the cluster settle before timing. */
    host *leader = &c.hosts[0];
    expect_ok(sansraft_node_campaign(leader->node), "sansraft_node_campaign");
    for (int round = 0; round < 1000 && round_once(&c); round++) {
    }
    sansraft_node_status status;
    size_t peers_len = 0;
    sansraft_peer_status peers[MAX_NODES];
    expect_ok(sansraft_node_get_status(leader->node, peers, MAX_NODES, &peers_len, &status),
              "sansraft_node_get_status");
    if (status.role != SANSRAFT_ROLE_LEADER) {
        fail("node 1 was elected");
    }
    uint64_t term = status.term;
    c.messages = 0;
    c.persists = 0;

    uint8_t *payload = malloc((size_t)payload_bytes);
    if (payload == NULL) {
        fail("out of memory");
    }
    uint64_t rounds = 0;
    uint64_t proposed = 0;
    double start = seconds_now();
    while (proposed < entries || !all_applied(&c, entries)) {
        for (uint64_t i = 0; i < batch && proposed < entries; i++, proposed++) {
            memset(payload, (int)(proposed & 0xff), (size_t)payload_bytes);
            memcpy(payload, &proposed, sizeof proposed);
            sansraft_log_id id;
            expect_ok(sansraft_node_propose(leader->node, payload, (size_t)payload_bytes, &id),
                      "sansraft_node_propose");
        }
        bool active = round_once(&c);
        rounds++;
        if (!active && proposed == entries && !all_applied(&c, entries)) {
            fail("the cluster stalled before applying everything");
        }
    }
    double elapsed = seconds_now() - start;
    free(payload);

    expect_ok(sansraft_node_get_status(leader->node, peers, MAX_NODES, &peers_len, &status),
              "sansraft_node_get_status");
    if (status.role != SANSRAFT_ROLE_LEADER || status.term != term) {
        fail("node 1 led the whole run in one term");
    }
    if (leader->committed_proposals != entries) {
        fail("every proposal reported that it committed");
    }

    printf("core=sansraft-c nodes=%" PRIu64 " payload=%" PRIu64 " batch=%" PRIu64
           " entries=%" PRIu64 " elapsed_s=%.4f entries_per_s=%.0f ns_per_entry=%.1f"
           " rounds=%" PRIu64 " msgs_per_entry=%.2f persists=%" PRIu64 "\n",
           nodes, payload_bytes, batch, entries, elapsed, (double)entries / elapsed,
           elapsed * 1e9 / (double)entries, rounds, (double)c.messages / (double)entries,
           c.persists);

    for (size_t i = 0; i < c.count; i++) {
        host *h = &c.hosts[i];
        sansraft_node_free(h->node);
        free(h->inbox.data);
        free(h->inbox_starts.items);
        free(h->hard_state.data);
        free(h->log.data);
        free(h->log_starts.items);
    }
    return 0;
}
