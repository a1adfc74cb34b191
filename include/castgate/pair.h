/* castgate — the replication channel of a gateway pair (issue 18,
 * docs/redundancy.md "The gateway pair").
 *
 * Two castgate processes, node 0 and node 1, one active and one standby.
 * A struct cg_pairlink is one node's end of the channel between them: one
 * WebSocket connection over the BCP-003-01 wss engine (node 0 dials node
 * 1's route with Basic credentials, M-05; node 1 serves the route on a
 * server of the caller's), one binary frame per message, heartbeats both
 * ways, journal records from the active to the standby and the standby's
 * acknowledgements back. Who is active, when the standby takes over, which
 * epoch fences an old active and which answers may go out are decided by
 * the library's sans-I/O pair core; this object only carries what it
 * decides: messages out and in, its timer, and events to the caller.
 *
 * What the caller does with the events (struct cg_pairlink_event): a
 * standby appends each STORE record to its journal
 * (cg_mos_endpoint_journal_append) before the handler returns, and the
 * record is acknowledged after; RESET sets the journal aside
 * (cg_mos_endpoint_journal_set_aside); PERSIST_EPOCH writes the epoch
 * durably; the active feeds every journal record it appends, in order,
 * to cg_pairlink_record, and answers RESYNC with cg_pairlink_replay.
 * Records are opaque bytes here (at most max_record each).
 *
 * Not here: starting or stopping the gateway's endpoints on BECOME_ACTIVE
 * or STAND_DOWN, holding answers until RELEASE (the answer gate), the
 * virtual address (keepalived): the caller's.
 *
 * Threading as in server.h: everything on the context's loop thread; the
 * handler runs there and may call cg_pairlink_record and, during RESYNC
 * only, cg_pairlink_replay; it must not free the link.
 */
#ifndef CASTGATE_PAIR_H
#define CASTGATE_PAIR_H

#include <castgate/auth.h>
#include <castgate/client.h>
#include <castgate/server.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_pairlink;

/* Zero-initialise, then fill. Strings are copied; objects are borrowed and
 * must outlive the link. */
struct cg_pairlink_config {
    int node;                   /* 0: dials url with client; 1: serves path on server */
    uint64_t heartbeat_ms;      /* a heartbeat each way this often (1..600000) */
    uint64_t takeover_after_ms; /* the active silent this long: the standby takes over
                                   (more than 2 x heartbeat_ms) */
    bool strict;                /* true: without a standby no gated record is released */
    /* What the node kept on disk: the greatest epoch it has seen (written
     * at each PERSIST_EPOCH), its journal's regime and last record number
     * (cg_mos_endpoint_journal_position). */
    uint64_t epoch, regime, last_number;
    size_t max_record;          /* the largest record in bytes (0: 16 MiB less 32, so that a
                                   message fits the engine's default 16 MiB limit) */
    /* node 0 */
    struct cg_ws_client *client; /* node 1's trust (pin or CA) and our Basic credentials */
    const char *url;             /* wss://HOST:PORT/PATH of node 1 */
    /* node 1 */
    struct cg_server *server;          /* the route is added here (remove: cg_pairlink_free) */
    const char *path;                  /* NULL: "/castgate/pair" */
    struct cg_credentials *credentials; /* node 0's login is checked against it (M-05) */
};

enum cg_pairlink_event_kind {
    CG_PAIRLINK_EV_CONNECTED = 0,  /* the connection to the other node opened (.up true) or
                                      closed (.up false) */
    CG_PAIRLINK_EV_STORE = 1,      /* standby: append .rec (.len bytes) as record .number,
                                      before returning; an error stops the link (HALTED) */
    CG_PAIRLINK_EV_RESET = 2,      /* standby: set the journal aside; a new one follows
                                      regime .epoch; an error stops the link */
    CG_PAIRLINK_EV_RESYNC = 3,     /* active: cg_pairlink_replay every record numbered
                                      .number or more, in order, before returning; a
                                      journal that cannot be read (not a compaction):
                                      cg_pairlink_resync_failed instead */
    CG_PAIRLINK_EV_PERSIST_EPOCH = 4, /* write .epoch durably before returning; an error
                                         stops the link */
    CG_PAIRLINK_EV_BECOME_ACTIVE = 5, /* serve from now on, as epoch .epoch (.why) */
    CG_PAIRLINK_EV_STAND_DOWN = 6, /* stop serving at once: a newer active exists (.epoch) */
    CG_PAIRLINK_EV_RELEASE = 7,    /* active: the gated record .ref is on the standby (or no
                                      standby is there and strict is off): its answer may go */
    CG_PAIRLINK_EV_ABANDON = 8,    /* the gated .ref must never go (we stood down) */
    CG_PAIRLINK_EV_NOTE = 9,       /* .why: standby-lost, standby-back, stale, gap,
                                      resync-failed, caught-up */
    CG_PAIRLINK_EV_HALTED = 10,    /* the link stopped for good (.rc: what the handler
                                      returned); restart the process */
};

struct cg_pairlink_event {
    enum cg_pairlink_event_kind kind;
    uint64_t number;    /* STORE, RESYNC: a record number; others: our last record */
    uint64_t epoch;     /* the epoch this is about */
    uint64_t ref;       /* RELEASE, ABANDON: the caller's ref */
    const uint8_t *rec; /* STORE: the record, valid during the call */
    size_t len;
    const char *why;    /* BECOME_ACTIVE, STAND_DOWN, NOTE: a reason's name; else "" */
    bool up;            /* CONNECTED */
    enum cg_err rc;     /* HALTED */
};

/* Returns CG_OK, or an error for a STORE, RESET or PERSIST_EPOCH it could
 * not carry out (the link then halts: nothing after it is acknowledged). */
typedef enum cg_err (*cg_pairlink_fn)(void *user, const struct cg_pairlink_event *ev);

/* Builds the link, a standby until it decides otherwise. Node 1 adds its
 * route to server now (CG_EEXIST if the path has one). CG_EINVAL for a bad
 * configuration (node, timing, a missing object or url), CG_ENOMEM. */
CG_API enum cg_err cg_pairlink_new(struct cg_ctx *ctx, const struct cg_pairlink_config *cfg,
                                   cg_pairlink_fn fn, void *user, struct cg_pairlink **out);
/* Starts the timer and (node 0) dials; node 0 dials again whenever the
 * connection closes (after heartbeat_ms, at least 100 ms). CG_ESTATE if
 * started already or halted. */
CG_API enum cg_err cg_pairlink_start(struct cg_pairlink *pl);
/* Closes the connection, removes node 1's route, stops; no event after it
 * returns. Before freeing the server or the client. NULL is a no-op. Not
 * from the link's own handler. */
CG_API void cg_pairlink_free(struct cg_pairlink *pl);

/* Active: one journal record, numbered next (*number), sent to the standby
 * if one is there. gated: ref (non-zero) waits for a RELEASE (or ABANDON).
 * Releases come in the order refs were gated, and a RELEASE covers every
 * ref gated before it: with 4096 gated and unacknowledged, the newest gives
 * way to ref and gets no RELEASE of its own. CG_ESTATE when not active or
 * halted, CG_EFULL only while all 4096 are being released, CG_ETOOBIG over
 * max_record, CG_EINVAL. */
CG_API enum cg_err cg_pairlink_record(struct cg_pairlink *pl, uint64_t ref, const uint8_t *rec,
                                      size_t len, bool gated, uint64_t *number);
/* During a RESYNC event only: record number sent again. CG_ESTATE outside
 * one, CG_ETOOBIG, CG_EINVAL. */
CG_API enum cg_err cg_pairlink_replay(struct cg_pairlink *pl, uint64_t number,
                                      const uint8_t *rec, size_t len);

/* During a RESYNC event only: the journal could not be read from the
 * RESYNC's number on (an I/O error, a file cut short, no memory: not records
 * compacted away). Nothing more of this resync is sent and the standby is
 * never told to skip what was not read: it stays behind (answers released
 * degraded, or held when strict) and asks again; NOTE resync-failed, a
 * warning logged, counted in the state's resync_failures. CG_ESTATE outside
 * a RESYNC, CG_EINVAL. */
CG_API enum cg_err cg_pairlink_resync_failed(struct cg_pairlink *pl, enum cg_err why);

/* Where the link stands now. */
struct cg_pairlink_state {
    bool active;           /* serving */
    bool connected;        /* the connection to the other node is open */
    bool halted;
    bool standby_present;  /* active: a standby acknowledges (answers wait for it); false:
                              alone (degraded, or holding them when strict) */
    uint64_t epoch;        /* the greatest seen */
    uint64_t regime;       /* of our journal */
    uint64_t last_number;  /* active: the last given; standby: the last stored */
    uint64_t sent, received; /* messages over the connection, since start */
    bool standby_behind;     /* active: a resync failed and the standby has not caught up */
    uint64_t resync_failures; /* cg_pairlink_resync_failed calls, since start */
};
/* Copies it into *out: CG_OK, or CG_EINVAL (NULL). Loop thread; may be
 * called from the handler. */
CG_API enum cg_err cg_pairlink_get_state(const struct cg_pairlink *pl,
                                         struct cg_pairlink_state *out);

#ifdef __cplusplus
}
#endif
#endif
