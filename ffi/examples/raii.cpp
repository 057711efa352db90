// A single-member sansraft node driven from C++17, with the handle owned by a unique_ptr.
//
// The node is its cluster's only member, so it elects itself at once; the program proposes
// a few entries, persists and applies everything the node requests, and checks that each
// proposal was applied and reported committed.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sansraft.h"

namespace {

struct NodeDeleter {
    void operator()(sansraft_node *node) const noexcept { sansraft_node_free(node); }
};

using NodePtr = std::unique_ptr<sansraft_node, NodeDeleter>;

void check(sansraft_status status, const char *call) {
    if (status != SANSRAFT_OK) {
        throw std::runtime_error(std::string(call) + " returned " + sansraft_status_str(status));
    }
}

NodePtr make_single_member_node(std::uint64_t id) {
    sansraft_config config;
    check(sansraft_config_default(id, &config), "sansraft_config_default");
    sansraft_node *raw = nullptr;
    check(sansraft_node_new(&config, &id, 1, &raw), "sansraft_node_new");
    return NodePtr(raw);
}

// The host's side of one node: a log of persisted records and the applied payloads.
struct Host {
    NodePtr node;
    std::vector<std::vector<std::uint8_t>> log;
    std::vector<std::string> applied;
    std::uint64_t applied_index = 0;
    int committed = 0;

    // Polls until the node is quiet, carrying out every output.
    void drain() {
        sansraft_output out;
        sansraft_status status;
        while ((status = sansraft_node_poll(node.get(), &out)) == SANSRAFT_OK) {
            switch (out.kind) {
            case SANSRAFT_OUTPUT_PERSIST:
                for (std::size_t i = 0; i < out.persist.entries_len; i++) {
                    const sansraft_entry_record &entry = out.persist.entries[i];
                    log.emplace_back(entry.record, entry.record + entry.record_len);
                }
                check(sansraft_node_persisted(node.get(), out.persist.token),
                      "sansraft_node_persisted");
                break;
            case SANSRAFT_OUTPUT_APPLY:
                if (out.apply.entry_kind == SANSRAFT_ENTRY_DATA) {
                    const char *data = reinterpret_cast<const char *>(out.apply.data);
                    applied.emplace_back(data, out.apply.data_len);
                }
                applied_index = out.apply.id.index;
                break;
            case SANSRAFT_OUTPUT_PROPOSAL:
                committed += out.proposal.outcome == SANSRAFT_PROPOSAL_COMMITTED;
                break;
            default:
                break;
            }
        }
        if (status != SANSRAFT_EMPTY) {
            check(status, "sansraft_node_poll");
        }
        check(sansraft_node_applied(node.get(), applied_index), "sansraft_node_applied");
    }
};

}  // namespace

int main() {
    try {
        Host host{make_single_member_node(1), {}, {}, 0, 0};
        check(sansraft_node_tick(host.node.get(), 0), "sansraft_node_tick");
        host.drain();

        const std::vector<std::string> proposals = {"alpha", "beta", "gamma"};
        for (const std::string &proposal : proposals) {
            sansraft_log_id id;
            const auto *data = reinterpret_cast<const std::uint8_t *>(proposal.data());
            check(sansraft_node_propose(host.node.get(), data, proposal.size(), &id),
                  "sansraft_node_propose");
            host.drain();
        }

        if (host.applied != proposals || host.committed != 3) {
            std::fprintf(stderr, "raii: applied %zu of 3 proposals, %d reported committed\n",
                         host.applied.size(), host.committed);
            return 1;
        }
        std::printf("raii: one-member node committed and applied %zu entries, %zu records "
                    "persisted\n",
                    host.applied.size(), host.log.size());
        return 0;
    } catch (const std::exception &error) {
        std::fprintf(stderr, "raii: %s\n", error.what());
        return 1;
    }
}
