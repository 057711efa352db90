/*
 * Compiles include/sansraft.h on its own, as C99 and as C++17, with every warning an error.
 * run-c-tests.sh compiles this file; it is never run.
 */
#include "sansraft.h"

#if !defined(SANSRAFT_VERSION_MAJOR) || !defined(SANSRAFT_VERSION_MINOR) || \
    !defined(SANSRAFT_VERSION_PATCH)
#error "the header defines the SANSRAFT_VERSION_* macros"
#endif

/* Takes the address of every function, so a declaration the compiler rejects fails here. */
typedef void (*any_function)(void);

int sansraft_header_check(void);

int sansraft_header_check(void) {
    const any_function functions[] = {
        (any_function)&sansraft_version,
        (any_function)&sansraft_status_str,
        (any_function)&sansraft_config_default,
        (any_function)&sansraft_node_new,
        (any_function)&sansraft_node_new_with_learners,
        (any_function)&sansraft_node_restore,
        (any_function)&sansraft_node_free,
        (any_function)&sansraft_node_tick,
        (any_function)&sansraft_node_receive,
        (any_function)&sansraft_node_propose,
        (any_function)&sansraft_node_persisted,
        (any_function)&sansraft_node_applied,
        (any_function)&sansraft_node_campaign,
        (any_function)&sansraft_node_add_learner,
        (any_function)&sansraft_node_set_pending,
        (any_function)&sansraft_node_promote,
        (any_function)&sansraft_node_demote,
        (any_function)&sansraft_node_remove,
        (any_function)&sansraft_node_snapshot_taken,
        (any_function)&sansraft_node_snapshot_taken_meta,
        (any_function)&sansraft_node_snapshot_sent,
        (any_function)&sansraft_node_poll,
        (any_function)&sansraft_node_next_deadline,
        (any_function)&sansraft_node_get_status,
        (any_function)&sansraft_node_membership,
        (any_function)&sansraft_node_last_error,
        (any_function)&sansraft_message_inspect,
    };
    sansraft_output output;
    sansraft_status status = SANSRAFT_OK;
    output.kind = SANSRAFT_OUTPUT_SEND;
    return (int)(sizeof functions / sizeof functions[0]) + (int)status + (int)output.kind;
}
