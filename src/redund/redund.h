/* castgate redund — redundancy decisions, sans-I/O (not installed; issue 18,
 * docs/redundancy.md).
 *
 * Two state machines in the manner of src/flow/: no sockets, no files, no
 * timers, no clock, no allocation. Events go in with the time now_ms (any
 * monotonic millisecond clock, injected); actions come out in order through
 * cg__fo_action() / cg__pair_action() and the caller carries them out in
 * that order after every event. cg__fo_deadline() / cg__pair_deadline() say
 * when the caller must call the timer function next (UINT64_MAX: never).
 * Messages never enter the modules: the caller names each by an opaque
 * non-zero ref.
 *
 * 1. Failover (struct cg_fo): one per link side that has a primary and a
 *    buddy (an NCS and its backup, or a device and its hot standby). It
 *    routes the requests our gear originates towards that side: one in
 *    flight per channel (M-22), the rest queued here in arrival order, all
 *    to the active peer. The primary is active; when it has been
 *    unreachable for failover_after_ms while the buddy is up, the buddy
 *    becomes active (a "failure switch"); when the primary has then been up
 *    for failback_after_ms it becomes active again (a "graceful switch").
 *    What happens to requests at a switch:
 *     - failure switch: the request in flight on the old side is withdrawn
 *       from it (CANCEL: its lane must not send it again when it comes
 *       back) and sent to the new side under its own messageID (SEND with
 *       .resend: M-22 says a retry keeps the messageID; the old side may
 *       have applied it, so a receiver that shares the old side's memory
 *       recognises it). The queued ones follow in order, one at a time.
 *    - graceful switch: nothing new is sent to the old side; the requests in
 *       flight there are answered there, then the switch happens and the
 *       queue goes on to the new side. Nothing is re-sent.
 *    An answer from a side the request was withdrawn from is DROPped (the
 *    sender has, or will get, the new side's answer: one answer per request).
 *    A buddy's "Buddy server cannot respond because main server is
 *    available" is an answer like any other: DELIVERed as it is, with a NOTE
 *    for events and metrics, and no switch.
 *
 * 2. Pair (struct cg_pair): one per castgate process of an active/standby
 *    pair. The active replicates its journal records to the standby and
 *    holds each gated record's ref (an answer to a sender) until the
 *    standby acknowledged it; the standby takes over when the active has
 *    been silent for takeover_after_ms; epochs fence a returning old active.
 */
#ifndef CG_REDUND_H
#define CG_REDUND_H

#include "core/core.h"

/* ======================= failover ======================= */

#define CG_FO_CHANNELS 3   /* mom, ro, aux (M-03) */
#define CG_FO_QUEUE 1024   /* requests held per channel, the one in flight included */
#define CG_FO_ACTS 32      /* actions one event can produce, at most */
#define CG_FO_NEVER UINT64_MAX

enum cg_fo_peer { CG_FO_PRIMARY = 0, CG_FO_BUDDY = 1 };

enum cg_fo_reason {
    CG_FO_R_NONE = 0,
    CG_FO_R_UNREACHABLE,    /* SWITCH: the active side was unreachable for failover_after_ms */
    CG_FO_R_PRIMARY_BACK,   /* SWITCH: the primary was up for failback_after_ms */
    CG_FO_R_FORCED,         /* SWITCH: cg__fo_force (an operator) */
    CG_FO_R_BUDDY_DECLINED, /* NOTE: the buddy answered "cannot respond because main server is available" */
    CG_FO_R_LATE,           /* DROP: an answer from a side the request was withdrawn from */
    CG_FO_R_UNKNOWN,        /* DROP: an answer to no request of ours */
};

/* What kind of answer came back (the caller classifies; the module only
 * needs to know which to note). */
enum cg_fo_answer {
    CG_FO_ANS_OK = 0,          /* any answer, ACK or NACK: passed on as it is */
    CG_FO_ANS_BUDDY_DECLINES,  /* roAck/mosAck "Buddy server cannot respond because main server is available" */
    CG_FO_ANS_FAILED,          /* the lane gave up (retries exhausted, M-22): the sender gets a NACK */
};

struct cg_fo_config {
    uint64_t failover_after_ms; /* active side unreachable this long (other side up): switch */
    uint64_t failback_after_ms; /* primary up this long while the buddy is active: switch back;
                                   CG_FO_NEVER: only by cg__fo_force */
    size_t max_queue;           /* per channel, 1..CG_FO_QUEUE (0: CG_FO_QUEUE) */
};

enum cg_fo_act_kind {
    CG_FO_A_SEND,    /* send .ref on channel .ch to .peer; .resend: moved by a failure switch */
    CG_FO_A_CANCEL,  /* withdraw .ref from .peer's lane: never send it there again */
    CG_FO_A_DELIVER, /* pass .peer's answer to .ref back to its sender as it is (.answer) */
    CG_FO_A_DROP,    /* an answer from .peer to .ref not passed on (.why) */
    CG_FO_A_SWITCH,  /* requests now go to .to (was .from), .why; .for_ms: how long the
                        condition held (unreachable or back) */
    CG_FO_A_NOTE,    /* for events and metrics: .why (.peer, .ref) */
};

struct cg_fo_act {
    enum cg_fo_act_kind kind;
    int ch;
    uint64_t ref;
    enum cg_fo_peer peer, from, to;
    bool resend;
    enum cg_fo_answer answer;
    enum cg_fo_reason why;
    uint64_t at_ms, for_ms;
};

struct cg_fo_chan {
    uint64_t q[CG_FO_QUEUE]; /* ring of refs not yet sent */
    size_t head, len;
    bool busy;               /* one request in flight (M-22) */
    uint64_t ref;            /* ... this one */
    enum cg_fo_peer to;      /* ... at this peer */
};

struct cg_fo {
    struct cg_fo_config cfg;
    bool up[2];
    uint64_t since[2];       /* when up[] last changed (start: init time) */
    enum cg_fo_peer active;
    bool draining;           /* a graceful switch to !active waits for the channels to idle */
    enum cg_fo_reason drain_why;
    struct cg_fo_chan ch[CG_FO_CHANNELS];
    struct cg_fo_act acts[CG_FO_ACTS];
    size_t ahead, alen;
    bool overflow;           /* more than CG_FO_ACTS actions in one event: a bug */
    struct cg_fo_act spill;  /* where an overflowing action lands */
    uint64_t switches;
};

/* Sets fo up at now_ms: the primary active, both sides down since now.
 * CG_EINVAL for a bad configuration. */
enum cg_err cg__fo_init(struct cg_fo *fo, const struct cg_fo_config *cfg, uint64_t now_ms);
/* The next action; false when none is left. */
bool cg__fo_action(struct cg_fo *fo, struct cg_fo_act *a);
/* A side became reachable (some lane up) or unreachable (none). */
void cg__fo_side(struct cg_fo *fo, uint64_t now_ms, enum cg_fo_peer peer, bool up);
/* Our gear originated request ref on channel ch: queued, sent when it is
 * its turn. CG_EFULL when the channel holds max_queue; CG_EINVAL. */
enum cg_err cg__fo_request(struct cg_fo *fo, uint64_t now_ms, int ch, uint64_t ref);
/* peer answered ref on ch (or its lane gave up on it: CG_FO_ANS_FAILED). */
void cg__fo_answer(struct cg_fo *fo, uint64_t now_ms, int ch, uint64_t ref, enum cg_fo_peer peer,
                   enum cg_fo_answer kind);
/* The time passed cg__fo_deadline(). */
void cg__fo_timer(struct cg_fo *fo, uint64_t now_ms);
/* An operator asks for peer to be active: a graceful switch when it is up.
 * CG_OK (also when it is active already), CG_ESTATE when peer is down. */
enum cg_err cg__fo_force(struct cg_fo *fo, uint64_t now_ms, enum cg_fo_peer peer);
/* When cg__fo_timer must be called next; CG_FO_NEVER when no decision waits on time. */
uint64_t cg__fo_deadline(const struct cg_fo *fo);
const char *cg__fo_reason_name(enum cg_fo_reason why);
const char *cg__fo_peer_name(enum cg_fo_peer p);

/* ======================= pair ======================= */

#define CG_PAIR_GATED 4096 /* answers held for the standby's acknowledgement */
#define CG_PAIR_ACTS 64    /* actions one event produces besides RELEASEs/ABANDONs (those are
                              drained from the gated ring, any number) */

enum cg_pair_role { CG_PAIR_STANDBY = 0, CG_PAIR_ACTIVE = 1 };

/* What travels on the replication channel (the caller serialises it; a
 * RECORD carries the journal record named by .ref). */
enum cg_pair_msg_kind { CG_PAIR_M_HB, CG_PAIR_M_RECORD, CG_PAIR_M_ACK };
struct cg_pair_msg {
    enum cg_pair_msg_kind kind;
    uint64_t epoch;
    int node;               /* the sender's node number (0 or 1) */
    enum cg_pair_role role; /* the sender's role */
    uint64_t seq;           /* RECORD: its number; ACK: all up to it stored; HB: last stored/assigned */
    uint64_t ref;           /* RECORD: the record */
    uint64_t regime;        /* the epoch of the active whose records the sender's journal holds
                               (an active: its own epoch) */
    bool base;              /* RECORD: replayed (a resync; or the first record after a
                               resync with nothing to replay): numbers before it that
                               the standby lacks were compacted away at the active, it
                               skips to it; the first of another regime's resync starts
                               the standby's journal afresh */
    bool need;              /* HB from a standby: send me everything after .seq */
};

struct cg_pair_config {
    int node;                   /* 0 or 1: node 0 takes even epochs, node 1 odd ones */
    uint64_t hb_interval_ms;    /* a heartbeat this often */
    uint64_t takeover_after_ms; /* peer silent this long: it is gone (> 2 x hb_interval_ms) */
    bool strict;                /* true: without a standby nothing gated is released;
                                   false (default): released, with a NOTE (degraded) */
};

enum cg_pair_reason {
    CG_PAIR_R_NONE = 0,
    CG_PAIR_R_PEER_SILENT,  /* BECOME_ACTIVE: no active peer heard for takeover_after_ms */
    CG_PAIR_R_PEER_NEWER,   /* STAND_DOWN: the peer is active with a greater (epoch, -node) */
    CG_PAIR_R_STANDBY_LOST, /* NOTE: the standby went silent: degraded (or holding, strict) */
    CG_PAIR_R_STANDBY_BACK, /* NOTE: a standby is heard again */
    CG_PAIR_R_STALE,        /* NOTE: a record from an older epoch refused */
    CG_PAIR_R_GAP,          /* NOTE: a record past the next expected one refused (resync asked) */
    CG_PAIR_R_RESYNC_FAILED, /* NOTE (active): the journal could not be read for a resync
                                (.seq: from): the standby stays behind, asks again; degraded
                                (or holding, strict) until it has caught up */
    CG_PAIR_R_CAUGHT_UP,    /* NOTE (active): the standby behind since a failed resync has
                               acknowledged everything up to the failure (.seq) */
};

enum cg_pair_act_kind {
    CG_PAIR_A_SEND,          /* send .msg to the peer */
    CG_PAIR_A_STORE,         /* standby: append record .msg.ref as number .msg.seq to the
                                journal before carrying out the next action (its ACK) */
    CG_PAIR_A_RESET,         /* standby: the journal holds another regime's records: keep it
                                aside (for the operator) and start an empty one for regime
                                .epoch, which the resync now beginning fills (the STOREs
                                that follow) */
    CG_PAIR_A_RELEASE,       /* active: the gated .ref may go to its sender now */
    CG_PAIR_A_ABANDON,       /* a gated .ref must not be sent (we stood down) */
    CG_PAIR_A_RESYNC,        /* active: re-send journal records from .seq (the first one it
                                has if compaction dropped .seq) to the last, with
                                cg__pair_replay, before the next event; or, when the journal
                                cannot be read (an error, not a compaction), call
                                cg__pair_resync_failed instead of replaying the rest */
    CG_PAIR_A_PERSIST_EPOCH, /* write .epoch durably before carrying out the next action */
    CG_PAIR_A_BECOME_ACTIVE, /* serve now (.epoch, .why): the journal's regime becomes .epoch
                                (persist it); unanswered requests in it go out again (M-22) */
    CG_PAIR_A_STAND_DOWN,    /* stop serving at once, close gear connections (.epoch, .why) */
    CG_PAIR_A_NOTE,          /* .why */
};

struct cg_pair_act {
    enum cg_pair_act_kind kind;
    struct cg_pair_msg msg;
    uint64_t ref, seq, epoch;
    enum cg_pair_reason why;
};

struct cg_pair_gated { uint64_t seq, ref; };

struct cg_pair {
    struct cg_pair_config cfg;
    enum cg_pair_role role;
    uint64_t epoch;          /* the greatest epoch seen (persisted; never decreases) */
    uint64_t regime;         /* the epoch of the records in our journal (persisted with it) */
    uint64_t last_seq;       /* active: the last number given; standby: the last stored */
    /* the peer as last heard */
    bool peer_heard;
    uint64_t peer_rx;        /* when */
    uint64_t peer_epoch, peer_seq, peer_regime;
    int peer_node;
    enum cg_pair_role peer_role;
    uint64_t quiet_since;    /* standby: since when no active peer was heard */
    bool asked;              /* standby: a resync was asked for and nothing stored since */
    uint64_t asked_at;
    bool resetting;          /* standby: following an active of another regime; its resync
                                (whose first record RESETs the journal) was asked for */
    /* active */
    bool standby_present;    /* a standby heard within takeover_after */
    uint64_t acked;          /* the standby stored everything up to this */
    struct cg_pair_gated gated[CG_PAIR_GATED];
    size_t ghead, glen;
    size_t release_n;        /* gated entries to hand out as RELEASE (or ABANDON) */
    bool replay_first;       /* the next cg__pair_replay starts a resync (base) */
    bool replay_broken;      /* the resync under way failed: no more replays in it */
    bool behind;             /* a resync failed: the standby lacks records up to behind_upto
                                (it asks again); degraded, or holding when strict, until
                                its acknowledgement reaches them */
    uint64_t behind_upto;
    bool abandon;
    uint64_t hb_next;
    struct cg_pair_act acts[CG_PAIR_ACTS];
    size_t ahead, alen;
    bool overflow;
    struct cg_pair_act spill;
};

/* Sets p up at now_ms as a standby with the persisted epoch, and its
 * journal's regime and last record number. CG_EINVAL for a bad
 * configuration. */
enum cg_err cg__pair_init(struct cg_pair *p, const struct cg_pair_config *cfg, uint64_t epoch,
                          uint64_t regime, uint64_t last_seq, uint64_t now_ms);
bool cg__pair_action(struct cg_pair *p, struct cg_pair_act *a);
/* A message from the peer (in order, as the replication channel delivers). */
void cg__pair_rx(struct cg_pair *p, uint64_t now_ms, const struct cg_pair_msg *m);
/* Active: a journal record ref (a request accepted, or an answer); gated:
 * ref may reach its sender only after a RELEASE. *seq: its number. With
 * CG_PAIR_GATED held, the newest held gives way to ref: a RELEASE covers
 * every ref gated before its own (releases are in order), and one replaced
 * gets none of its own. CG_ESTATE when not active, CG_EFULL only while all
 * CG_PAIR_GATED are being handed out as RELEASEs. */
enum cg_err cg__pair_record(struct cg_pair *p, uint64_t now_ms, uint64_t ref, bool gated,
                            uint64_t *seq);
/* Active, after RESYNC: one journal record re-sent under its number. */
void cg__pair_replay(struct cg_pair *p, uint64_t now_ms, uint64_t seq, uint64_t ref);
/* Active, after RESYNC from `from`: the journal could not be read (an I/O
 * error, a file cut short, no memory), which is not a compaction: the
 * records not replayed are not skipped. The rest of this resync is dropped
 * (later replays ignored), the next record is not a base (the standby sees
 * a gap and asks again after takeover_after), a NOTE RESYNC_FAILED; the
 * standby counts as behind (answers released degraded, or held when strict)
 * until it acknowledges our last record as of now (NOTE CAUGHT_UP). */
void cg__pair_resync_failed(struct cg_pair *p, uint64_t now_ms, uint64_t from);
void cg__pair_timer(struct cg_pair *p, uint64_t now_ms);
uint64_t cg__pair_deadline(const struct cg_pair *p);
const char *cg__pair_reason_name(enum cg_pair_reason why);

/* ---- the replication channel's messages on the wire (pairwire.c) ----
 * One message per binary WebSocket frame, so the frame gives the length:
 *   "CGP1" | kind u8 | role u8 | node u8 | flags u8 | epoch u64 | regime u64 | seq u64 | payload
 * integers big-endian; flags bit 0 base (RECORD only), bit 1 need (HB only);
 * the payload is a RECORD's journal record bytes (at least one), empty for
 * HB and ACK. Sans-I/O, no allocation; fuzzed by fuzz/fuzz_pair_msg.c. */
#define CG_PAIR_WIRE_HEAD 32

/* Writes m (and a RECORD's payload, plen bytes; .ref is not sent) to out
 * (cap bytes); *used: CG_PAIR_WIRE_HEAD + plen. CG_EINVAL for a message the
 * decoder would refuse, CG_ETOOBIG when cap is short. */
enum cg_err cg__pair_msg_encode(const struct cg_pair_msg *m, const uint8_t *payload, size_t plen,
                                uint8_t *out, size_t cap, size_t *used);
/* Reads one whole frame of len bytes: *m (.ref 0) and the payload as a
 * pointer into buf. CG_EPROTO for anything but a well-formed message (bad
 * magic, kind, role, node or flags, a payload where none belongs or none
 * where one must be), CG_ETOOBIG for a payload over max_payload. */
enum cg_err cg__pair_msg_decode(const uint8_t *buf, size_t len, size_t max_payload,
                                struct cg_pair_msg *m, const uint8_t **payload, size_t *plen);

#endif
