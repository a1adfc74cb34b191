/* Which refusals of a wss/HTTPS server get a log line (issue 12: a password
 * guessing flood wrote one "rejected 503" line per guess, 300 a second in the
 * hostile benchmark, beside the auth module's own once-a-minute line).
 * Internal; sans-I/O: the caller gives the time and logs.
 *
 * B-24 asks for who, what and why of invalid requests. The first refusal of
 * an address for a status, request and reason always gets its line; the same
 * refusal from the same address again within CG_REFLOG_MS is counted, not
 * logged, and the count goes on that address's next line for it (a minute or
 * more later). Slots are few (CG_REFLOG_SLOTS); one reused for another
 * address hands its unlogged count to the next line logged. A count still in
 * its slot when the refusals stop is not logged; the server's counters
 * (cg_server_handshake_stats) have every refusal. */
#ifndef CG_WSS_REFLOG_H
#define CG_WSS_REFLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CG_REFLOG_SLOTS 64
#define CG_REFLOG_MS 60000u
#define CG_REFLOG_ADDR_MAX 64  /* the address, its port stripped */
#define CG_REFLOG_WHAT_MAX 256 /* what was refused and why, as compared (longer: cut) */

struct cg_reflog_slot {
    char addr[CG_REFLOG_ADDR_MAX];
    char why[CG_REFLOG_WHAT_MAX]; /* what was refused and why, cut to fit: compared as cut */
    int status;
    uint64_t log_ms; /* its last line */
    unsigned quiet;  /* refusals since its last line */
    bool used;
};

struct cg_reflog {
    struct cg_reflog_slot slot[CG_REFLOG_SLOTS];
    unsigned evicted_quiet; /* counts of reused slots, not yet on a line */
};

/* What to log for one refusal. */
struct cg_reflog_verdict {
    bool log;       /* write the line now */
    unsigned more;  /* this address's same refusals since its last line (log only) */
    unsigned other; /* refusals counted in slots since reused, not on any line (log only) */
};

/* One refusal of peer ("ip:port", "[v6]:port" or a bare address) with status
 * and why (what was refused and why: "GET /path: reason"), at now_ms (a
 * monotonic clock). */
struct cg_reflog_verdict cg__reflog_admit(struct cg_reflog *r, const char *peer, int status,
                                          const char *why, uint64_t now_ms);

/* The address part of peer: its port and IPv6 brackets removed (out: outsz bytes). */
void cg__reflog_addr(const char *peer, char *out, size_t outsz);

#endif
