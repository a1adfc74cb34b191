/* castgate run's gateway pair (issue 18, docs/redundancy.md "The gateway
 * pair"): the replication link (struct cg_pairlink) between this node and
 * the other, fed by the relay's endpoints' journals and feeding them.
 *
 * Active: every record an endpoint's journal appends (cg_mos_journal_ops)
 * is wrapped (pair_env.h) and given to cg_pairlink_record, numbered in one
 * sequence shared by all the endpoints (cg_mos_endpoint_set_journal_counter),
 * so the pair's numbers are the journals'. Answers are not held for the
 * standby yet (no answer gate: records go ungated, as in degraded mode).
 * Standby: each STORE is unwrapped and appended to its endpoint's journal
 * (cg_mos_endpoint_journal_append); RESET sets every journal aside;
 * RESYNC reads every endpoint's journal from the number asked and replays
 * the records in number order; PERSIST_EPOCH writes <state_dir>/pair.epoch.
 * The role (pair_env.h): a standby's links are built, not started; at
 * BECOME_ACTIVE the caller's serve hook builds them again (reading the
 * journals, replicated records included) and starts them, and the
 * active_file is created with our PID in it (a stale one, left by a killed
 * run, is removed at start: a node starts as a standby); STAND_DOWN and
 * HALTED call the stop hook. */
#ifndef CG_TOOLS_PAIR_RUN_H
#define CG_TOOLS_PAIR_RUN_H

#include "mos_config.h"

#include <castgate/castgate.h>

struct pairrun;

struct pairrun_hooks {
    /* Take over: build the links again (their journals read afresh), call
     * pairrun_attach with epoch, start them. An error stops the process. */
    enum cg_err (*serve)(void *user, uint64_t epoch);
    /* Stop the process with exit status code (why: for the log). */
    void (*stop)(void *user, int code, const char *why);
};

/* Node 0's client or node 1's listener ([pair] listen with the [gateway]
 * certificates) and credentials, from c (which must outlive it). Prints why
 * not. */
enum cg_err pairrun_new(struct cg_ctx *ctx, const struct gwconf *c,
                        const struct pairrun_hooks *hooks, void *user, struct pairrun **out);
/* The relay's endpoints (all of them, after every link is added; again
 * after links change, or with a new relay): the shared count, the
 * observer, and the lookup of a STORE's endpoint. regime non-zero: records
 * appended from now on carry it (taking over). */
enum cg_err pairrun_attach(struct pairrun *pr, struct cg_relay *relay, uint64_t regime);
/* The relay frees ep (its endpoint_gone handler): unhooked (observer and
 * count unset) and never used again; NULL pr or an endpoint not attached:
 * nothing. Without it pr would keep a freed endpoint from a reload's
 * link_free until the next pairrun_attach. */
void pairrun_forget(struct pairrun *pr, struct cg_mos_endpoint *ep);
/* Lets go of the endpoints pairrun_attach hooked (before their relay is
 * freed): the observer and the shared count unset (the answer gate stays
 * on: answers it holds are dropped with the endpoint, never sent
 * unreplicated); none until the next pairrun_attach. */
void pairrun_detach(struct pairrun *pr);
/* Reads the epoch file and the journals' position, builds the link and
 * starts it (node 1's listener too). Prints why not. */
enum cg_err pairrun_start(struct pairrun *pr);
/* Its figures for /metrics (metrics.h). */
struct metrics_pair;
void pairrun_metrics(const struct pairrun *pr, struct metrics_pair *out);
/* Whether this node serves now. */
bool pairrun_active(const struct pairrun *pr);
/* Removes the active_file if we made it; frees everything. NULL: no-op. */
void pairrun_free(struct pairrun *pr);

#endif
