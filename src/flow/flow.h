/* castgate flow — the sans-I/O MOS flow core (not installed).
 *
 * The rules that make MOS safe (M-22 stop-and-wait, M-09 keepAlive, M-10
 * heartbeats, M-11 messageIDs, M-12 removed messages) as a state machine in
 * the manner of BearSSL's engine: no sockets, no files, no timers, no clock
 * and no allocation. One struct cg_flow serves one peer-channel (mom, ro or
 * aux of one peer): its OUT lane (our requests, their answers) and its IN
 * lane (their requests, our answers).
 *
 * Events go in through the cg__flow_* functions, each with the time now_ms
 * (any monotonic millisecond clock: injected). Actions come out in order
 * through cg__flow_action(); the caller drains them after every event and
 * carries them out in that order (the order is part of the contract: a
 * RESERVE_IDS comes before the first request using those IDs, a
 * JOURNAL_ANSWER before the SEND_ANSWER of the same answer).
 *
 * Message bytes never enter the core: the caller names each message by an
 * opaque non-zero `ref` (its own handle) and the core names it back in
 * actions. The core asks the caller to KEEP a ref it will need later (a
 * held request) and RELEASEs it when done; answers given by the
 * application are kept by the caller until RELEASEd (they are replayed to
 * repeats, M-22).
 *
 * Journal: after a JOURNAL_REQUEST action the caller appends the record and
 * reports the outcome with cg__flow_journal_result() before any other
 * event (the core waits for it; a failure refuses the request with a NACK,
 * issue 12 item 8). */
#ifndef CG_FLOW_H
#define CG_FLOW_H

#include "core/core.h"
#include <castgate/mos.h>
#include <castgate/stats.h>

#define CG_FLOW_DIGEST 16    /* bytes of a request's content digest (the caller's hash) */
#define CG_FLOW_QUEUE_MAX 64 /* OUT requests queued, the one in flight included */
#define CG_FLOW_HELD_MAX 64  /* IN requests waiting behind the one at the application (the
                                core's own ring; a journal replay may bring back more: the
                                caller gives room with cg__flow_held_room()) */
#define CG_FLOW_SEEN 64      /* IN messageIDs remembered with their answers (M-22) */
#define CG_FLOW_SMALL_ANSWER 4096 /* answers this long or shorter (mosAck, roAck) are always
                                     kept, whatever cfg.answer_memory says */
#define CG_FLOW_ACTS 48      /* actions one event can produce, at most */
#define CG_FLOW_ID_BLOCK 64  /* messageIDs reserved at a time by default (M-11) */
#define CG_FLOW_MSGID 64     /* room for a messageID text in the core (longer: not remembered) */
#define CG_FLOW_TEXT 240     /* room for a NACK or log text */
#define CG_FLOW_CANCELLED 8  /* messageIDs of requests cancelled in flight, remembered: their
                                late answers are dropped (cg__flow_cancel) */

enum cg_flow_dir { CG_FLOW_OUT = 0, CG_FLOW_IN = 1 };

enum cg_flow_timer { CG_FLOW_T_ACK = 0, CG_FLOW_T_IDLE_OUT, CG_FLOW_T_IDLE_IN, CG_FLOW_T_COUNT };

/* Explicit lane states. */
enum cg_flow_out_state {
    CG_FLOW_OUT_IDLE, /* nothing in flight */
    CG_FLOW_OUT_WAIT, /* a request sent, its answer awaited (ack timer armed while up) */
};
enum cg_flow_in_state {
    CG_FLOW_IN_IDLE, /* nothing at the application */
    CG_FLOW_IN_APP,  /* one request at the application (M-22) */
};

enum cg_flow_reused { CG_FLOW_REUSED_DELIVER, CG_FLOW_REUSED_NACK };

struct cg_flow_config {
    int ch;                    /* 0 mom, 1 ro, 2 aux: which acknowledgement answers (roAck on ro) */
    const char *my_id;         /* the lane's identity: our ID ... */
    const char *peer_id;       /* ... and the peer's (issue 12 item 12); NULL: not checked */
    uint32_t ack_timeout_ms;   /* M-22: an answer awaited this long before sending again */
    uint32_t retries;          /* sends again after the first, then CG_ETIMEDOUT (issue 12 item 1) */
    uint32_t keepalive_ms;     /* M-09: idle time before a keepAlive; 0: never (2.x peers) */
    uint32_t heartbeat_gap_ms; /* M-10: at most one heartbeat answer per gap (default 1000) */
    size_t max_queue;          /* >= 1; above CG_FLOW_QUEUE_MAX the caller gives the core room
                                  with cg__flow_queue_room() as the queue grows */
    uint32_t id_block;         /* messageIDs reserved at a time (M-11); 0: CG_FLOW_ID_BLOCK */
    size_t max_held;           /* <= CG_FLOW_HELD_MAX */
    bool record;               /* a journal exists: each request recorded before the application
                                  sees it, each answer before the peer does (without journal:
                                  those with a messageID, the key a restart finds them by) */
    bool journal;              /* (implies record) every request recorded when accepted, and
                                  held requests go on while the peer is away */
    bool redeliver;            /* a repeat of one delivered before a restart: delivered again */
    bool deliver_heartbeats;   /* heartbeats go to the application instead of the core's answer */
    bool one_socket;           /* MOS 2.x: one socket per port carries both lanes */
    enum cg_flow_reused reused;
    size_t answer_memory;      /* byte budget of the answers the M-22 memory keeps (issue 19):
                                  answers above CG_FLOW_SMALL_ANSWER, older than the newest, are
                                  let go of, oldest first, while the total is above it (only
                                  answers given with their size count: the _sized functions) */
};

/* A message received, already framed and its envelope parsed. */
struct cg_flow_msg {
    const struct cg_mos_envelope *env;
    uint8_t digest[CG_FLOW_DIGEST]; /* of the message element's content (issue 20 item 3) */
    uint64_t ref;                   /* the caller's handle on its bytes (non-zero) */
    bool nack;                      /* an answer that refuses (mosAck NACK, roAck not OK) */
};

enum cg_flow_act_kind {
    CG_FLOW_A_SEND_REQUEST,   /* OUT: write request .ref under messageID .msgid (a retry: same) */
    CG_FLOW_A_SEND_ANSWER,    /* IN: write the answer .ref (messageID .msgid) */
    CG_FLOW_A_SEND_NACK,      /* IN: write a NACK with .text, messageID .msgid ("" for none) */
    CG_FLOW_A_SEND_ACK,       /* IN: write an ACK, messageID .msgid (one delivered before a restart) */
    CG_FLOW_A_SEND_HEARTBEAT, /* IN: answer a heartbeat, messageID .msgid (M-10) */
    CG_FLOW_A_SEND_KEEPALIVE, /* on lane .dir (M-09) */
    CG_FLOW_A_DELIVER,        /* IN: request .ref to the application as .token; .repeat */
    CG_FLOW_A_COMPLETE,       /* OUT: send .ref done: .status, the answer .answer (0: none), .text
                                 (CG_ECANCELED: cg__flow_cancel) */
    CG_FLOW_A_JOURNAL_REQUEST, /* IN: record request .ref (.msgid, .digest), then report */
    CG_FLOW_A_JOURNAL_ANSWER,  /* IN: record answer .answer to .msgid (.digest); .answer 0:
                                  answered, its answer no longer held (a repeat of one let go of
                                  by the answer memory, refused: cg__flow_replay_evicted); with
                                  .forget: the request was refused without reaching the
                                  application, its record closed and its ID forgotten */
    CG_FLOW_A_KEEP,            /* keep .ref: the core needs it later */
    CG_FLOW_A_RELEASE,         /* .ref is no longer needed by the core */
    CG_FLOW_A_RESERVE_IDS,     /* M-11: persist that IDs up to .id_mark may have been used */
    CG_FLOW_A_ARM,             /* arm .timer at .at_ms (absolute, on the injected clock) */
    CG_FLOW_A_DISARM,          /* disarm .timer */
    CG_FLOW_A_LOG,             /* .level, .text (peer text already escaped) */
};

struct cg_flow_act {
    enum cg_flow_act_kind kind;
    enum cg_flow_dir dir;
    uint64_t ref, answer, token;
    char msgid[CG_FLOW_MSGID];
    uint8_t digest[CG_FLOW_DIGEST];
    enum cg_err status;
    bool repeat;
    bool forget; /* JOURNAL_ANSWER with answer 0: a refused request, its ID forgotten */
    enum cg_flow_timer timer;
    uint64_t at_ms;
    uint32_t id_mark;
    enum cg_log_level level;
    char text[CG_FLOW_TEXT];
};

struct cg_flow_out_req {
    uint64_t ref;
    char name[64];
    bool keep_id;  /* forwarded: its own messageID text travels on (may be "") */
    char msgid[CG_FLOW_MSGID];
    uint32_t tries, timeouts;
    bool cancelled; /* cancelled in flight while the lane was up (ref 0: completed, its bytes
                       gone): never sent again; the exchange stays open (M-22) until its
                       answer (dropped) or the answer timeout, or the lane goes down */
};

struct cg_flow_held {
    uint64_t ref;
    bool has_id, replayed;
    char msgid[CG_FLOW_MSGID];
    char name[64];
    uint8_t digest[CG_FLOW_DIGEST];
};

struct cg_flow_seen {
    char msgid[CG_FLOW_MSGID]; /* "" : free */
    uint32_t key;              /* a hash of msgid, compared before it (find_seen) */
    uint8_t digest[CG_FLOW_DIGEST];
    bool has_digest, restored, answered;
    uint64_t answer; /* the answer's ref, when answered */
    size_t bytes;    /* the answer's length (0: not told, counted as small) */
    uint64_t seq;    /* when it was answered (f->answer_seq then; 0: not told) */
    bool evicted;    /* answered, its answer let go of (cfg.answer_memory): a repeat is
                        refused with a NACK, never delivered again (M-22) */
    bool unrecorded; /* answered, its record not written (cg__flow_answer_recorded): not sent;
                        a repeat asks for the record again */
};

/* Counters (read-only for the caller; never reset by the core). RTT: from
 * the last send of a request to its answer (an answer that arrived: OK,
 * NACK or unreadable; not a timeout), on the injected clock (whole ms), in
 * the library's histogram (struct cg_histogram, castgate/stats.h). */
struct cg_flow_stats {
    /* OUT lane */
    uint64_t requests_sent;  /* requests sent for the first time */
    uint64_t retries;        /* sent again: after an answer timeout or the lane coming back */
    uint64_t timeouts;       /* sends given up on (CG_ETIMEDOUT, retry budget spent) */
    uint64_t nacks_received; /* sends completed with CG_ENACK */
    uint64_t answers;        /* sends completed with an answer (OK or NACK) */
    uint64_t last_rtt_ms;    /* round-trip time of the last answer */
    struct cg_histogram rtt; /* every answer's round-trip time */
    uint64_t cancelled;      /* sends cancelled by the application (CG_ECANCELED) */
    uint64_t late_answers;   /* answers to cancelled requests, dropped */
    /* IN lane */
    uint64_t delivered;        /* requests given to the application */
    uint64_t nacks_sent;       /* NACKs we wrote (refusals) */
    uint64_t repeats_answered; /* repeats answered from memory (M-22) */
    uint32_t held, held_max;   /* requests waiting behind the one at the application: now, most */
    uint64_t answers_held_bytes; /* bytes of the answers the M-22 memory holds now (computed) */
    uint64_t answers_evicted;    /* answers let go of for cfg.answer_memory (their IDs stay) */
    uint64_t repeats_not_held;   /* repeats of those refused with a NACK (answer not held) */
    uint64_t answers_unrecorded; /* answers not sent: their journal record failed */
};

struct cg_flow {
    struct cg_flow_config cfg;
    struct cg_flow_stats stats;
    bool up[2];
    uint64_t last_rx[2], last_tx[2];
    /* OUT lane */
    enum cg_flow_out_state out_state;
    struct cg_flow_out_req *queue; /* ring of qcap; queue[qhead] is in flight in WAIT */
    size_t qhead, qlen, qcap;
    struct cg_flow_out_req queue_own[CG_FLOW_QUEUE_MAX]; /* the ring until the caller gives more */
    uint64_t sent_at;        /* the in-flight request's last send (RTT) */
    char last_answered[CG_FLOW_MSGID];
    char cancelled[CG_FLOW_CANCELLED][CG_FLOW_MSGID]; /* ring: messageIDs cancelled in flight */
    size_t cancelled_next;
    uint32_t id_next, id_mark; /* M-11: next ID; IDs below id_mark are reserved */
    /* IN lane */
    enum cg_flow_in_state in_state;
    struct cg_flow_held cur;     /* at the application (APP) */
    bool jwait;                  /* a JOURNAL_REQUEST for jp awaits its result */
    bool jdeliver, jkept, jrepeat; /* ... asked at delivery (record without journal) */
    struct cg_flow_held jp;
    uint64_t cur_token, tokens;
    struct cg_flow_held *held; /* ring of hcap (read it with cg__flow_held_at) */
    size_t hhead, hlen, hcap;
    struct cg_flow_held held_own[CG_FLOW_HELD_MAX]; /* the ring until a replay needs more */
    struct cg_flow_seen seen[CG_FLOW_SEEN];
    size_t seen_next;
    uint64_t answer_seq; /* the newest answer's seq (struct cg_flow_seen) */
    uint64_t last_hb_reply;
    bool hb_replied;
    /* actions */
    struct cg_flow_act acts[CG_FLOW_ACTS];
    size_t ahead, alen;
    bool more;              /* work stopped for room in acts[]: resumed as they are drained */
    bool convert_pending;   /* replay_done's conversion of replayed requests not finished */
    bool abandon_pending;   /* cg__flow_abandon_in's held requests not all given up yet */
    uint64_t now;           /* the time of the last event (for resuming) */
    bool overflow;          /* more than CG_FLOW_ACTS actions in one event: a bug */
    struct cg_flow_act spill; /* where an overflowing action lands */
};

/* Sets f up (cfg copied; the ID strings must outlive f). id_mark: the
 * persisted reservation mark (0 for none): IDs start there (M-11). */
enum cg_err cg__flow_init(struct cg_flow *f, const struct cg_flow_config *cfg, uint32_t id_mark);

/* Room for a longer OUT queue (cfg.max_queue above CG_FLOW_QUEUE_MAX): the
 * queue moves into buf (cap entries, at least the queue's length; owned by
 * the caller, kept until f is done or moved again). Returns the storage it
 * used before (f's own array or the caller's previous buf, for the caller to
 * free if it is its own), NULL when cap is too small. */
struct cg_flow_out_req *cg__flow_queue_room(struct cg_flow *f, struct cg_flow_out_req *buf,
                                            size_t cap);

/* Whether a send now would find the queue full of the room it has
 * (qlen == qcap) while cfg.max_queue allows more: the caller should give
 * room first. */
bool cg__flow_queue_wants_room(const struct cg_flow *f);

/* Room for a journal replay that brings back more requests than the held
 * ring has room for (CG_FLOW_HELD_MAX): max_held waiting plus the one that
 * was at the application, or more from an older journal. Each must be
 * delivered again, in order (M-22); cfg.max_held still bounds what a peer
 * may add. Same contract as cg__flow_queue_room: the ring moves into buf
 * (cap entries, at least the number held; owned by the caller until f is
 * done or moved again); returns the storage used before, NULL when cap is
 * too small. */
struct cg_flow_held *cg__flow_held_room(struct cg_flow *f, struct cg_flow_held *buf, size_t cap);

/* Whether the next cg__flow_replay_request would find the held ring full:
 * the caller should give room first (without it the request is RELEASEd
 * with an error LOG naming it: refused, never silently). */
bool cg__flow_held_wants_room(const struct cg_flow *f);

/* The i-th held request, oldest first (i < f->hlen). */
const struct cg_flow_held *cg__flow_held_at(const struct cg_flow *f, size_t i);

/* Traffic the core did not see (a refusal written before the message reached
 * the core, a message refused before it): counts for M-09's idleness. */
void cg__flow_traffic(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir, bool sent);

/* A messageID taken outside the queue (M-11: from the same sequence, its
 * block reserved first: a RESERVE_IDS action may follow). */
uint32_t cg__flow_take_id(struct cg_flow *f);

/* The counters now (held: the requests waiting now). */
void cg__flow_stats(const struct cg_flow *f, struct cg_flow_stats *out);

/* The next action, false when none is left. Long work (dropping or replaying
 * a full held list, answering many held repeats) stops when the action queue
 * is nearly full and goes on here as it is drained: draining until false
 * always sees all of an event's actions. */
bool cg__flow_action(struct cg_flow *f, struct cg_flow_act *a);

/* A lane is up or down. */
void cg__flow_lane_up(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir);
void cg__flow_lane_down(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir);

/* A message received on lane dir: on OUT an answer, on IN a request. */
void cg__flow_received(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir,
                       const struct cg_flow_msg *m);

/* Something that is not one MOS message arrived on lane dir (text: what it
 * said, escaped): on OUT it is a NACK of the request in flight (issue 20
 * item 1), on IN it is refused with a NACK. */
void cg__flow_unreadable(struct cg_flow *f, uint64_t now_ms, enum cg_flow_dir dir,
                         const char *text);

/* A timer armed by an ARM action fired. */
void cg__flow_timer(struct cg_flow *f, uint64_t now_ms, enum cg_flow_timer t);

/* The application sends a request (name: its element; removed-in-4.0
 * messages refused, M-12) or forwards one with its own messageID text
 * (keep_id; msgid may be "": an ID-less request, answered by kind, M-11).
 * CG_EFULL when the queue is full, CG_EPROTO for M-12. */
enum cg_err cg__flow_send(struct cg_flow *f, uint64_t now_ms, uint64_t ref, const char *name,
                          bool keep_id, const char *msgid);

/* The application withdraws send ref (issue 18, docs/flow.md "Cancel"):
 * COMPLETE ref with CG_ECANCELED comes at once (ref is the caller's again),
 * and the request is never sent again, by a retry or when the lane comes
 * back. Queued (not sent yet): it leaves the queue, the others keep their
 * order. In flight: its messageID is remembered (the last CG_FLOW_CANCELLED)
 * so that its answer, if one comes, is dropped with a LOG and counted
 * (stats.late_answers), never taken for the next request's. While the OUT
 * lane is up the exchange stays open (M-22: one message outstanding) until
 * that answer, the answer timeout or the lane going down; nothing else is
 * sent meanwhile. With the lane down the next request goes when it is back.
 * CG_ENOTFOUND when ref is not queued (answered, given up or cancelled
 * already), CG_EINVAL. */
enum cg_err cg__flow_cancel(struct cg_flow *f, uint64_t now_ms, uint64_t ref);

/* Requests queued, the one in flight included; not a cancelled one whose
 * exchange is still open (it is no longer the application's). */
size_t cg__flow_queued(const struct cg_flow *f);

/* The application answered request `token` with `answer` (a ref). */
enum cg_err cg__flow_app_answer(struct cg_flow *f, uint64_t now_ms, uint64_t token,
                                uint64_t answer);

/* The same, with the answer's length in bytes: it counts against
 * cfg.answer_memory (the M-22 memory's byte budget, issue 19). An answer of
 * up to CG_FLOW_SMALL_ANSWER bytes is always kept; the newest is always kept
 * whole, whatever its size (a stop-and-wait peer, M-22, can only repeat the
 * last one); older bigger ones are kept while the total is within the
 * budget, the oldest let go of first (RELEASE; a DEBUG LOG). One let go of
 * keeps its messageID and digest: a repeat is refused with a NACK saying the
 * answer is no longer held (a WARN LOG, stats.repeats_not_held), never
 * delivered again. */
enum cg_err cg__flow_app_answer_sized(struct cg_flow *f, uint64_t now_ms, uint64_t token,
                                      uint64_t answer, size_t bytes);

/* The request `token` never reached the application (the caller could not
 * make its handle, and not even a NACK answer to pass through
 * cg__flow_app_answer): a NACK with `why` (SEND_NACK) and an error LOG; its
 * messageID is forgotten, so the sender's repeat is delivered as new; the
 * lane moves on to the next held request. Its journal record is closed
 * (JOURNAL_ANSWER with answer 0, before the NACK): a restart neither
 * delivers it again nor remembers its messageID. CG_ESTATE when token is not
 * the one at the application. */
enum cg_err cg__flow_app_refuse(struct cg_flow *f, uint64_t now_ms, uint64_t token,
                                const char *why);

/* The IN lane's sender was told that its connection is gone (issue 18,
 * leg_state = mirror, docs/redundancy.md "Mirroring a leg's state"): the
 * lane is down, closed by us or by the peer, and every request it sent that
 * is not answered yet is given up, never delivered or answered later: the
 * one at the application (its token goes stale: an answer to it is refused
 * with CG_ESTATE) and each held one, in order. Each one's record is closed
 * and its messageID forgotten (JOURNAL_ANSWER with answer 0 and .forget,
 * where a record exists: as cg__flow_app_refuse), so neither a journal
 * replay, nor a standby that took the journal over, delivers it, and a
 * repeat the sender makes on its own later is delivered as new. Held refs
 * are RELEASEd. No NACK is written (nobody hears it). A long held list goes
 * on as the actions are drained. *out: how many were given up. CG_ESTATE
 * (nothing done) while the IN lane is up (an answer could still reach the
 * sender) or a JOURNAL_REQUEST awaits its result; CG_EINVAL. */
enum cg_err cg__flow_abandon_in(struct cg_flow *f, uint64_t now_ms, const char *why, size_t *out);

/* The outcome of the last JOURNAL_REQUEST (why: errno text on failure). */
void cg__flow_journal_result(struct cg_flow *f, uint64_t now_ms, bool ok, const char *why);
/* The outcome of a JOURNAL_ANSWER action a (with an answer; not .forget),
 * told while it is being carried out, before the next action is taken.
 * Failed (why: errno text): the answer is not on disk, so it is not sent as
 * one that is (a restart, or a pair's standby, would deliver the request
 * again): the SEND_ANSWER of the same answer queued behind it is withdrawn
 * (a LOG action in its place). The answer stays in the memory of messageIDs
 * marked unrecorded: a repeat of the request (M-22) asks for the record
 * again (JOURNAL_ANSWER, then SEND_ANSWER) and is answered once it is
 * written; it is never delivered again. ok: the mark is cleared. */
void cg__flow_answer_recorded(struct cg_flow *f, uint64_t now_ms, const struct cg_flow_act *a,
                              bool ok, const char *why);

/* Journal replay, before the lanes come up, in journal order: a request
 * recorded (ref kept by the caller until RELEASEd; the caller gives room
 * first when cg__flow_held_wants_room), its answer (0: refused without one,
 * closed and its messageID forgotten), or the ID of one delivered before an
 * earlier restart. Then replay_done. */
void cg__flow_replay_request(struct cg_flow *f, uint64_t ref, const char *msgid,
                             const uint8_t *digest, const char *name);
void cg__flow_replay_answer(struct cg_flow *f, const char *msgid, const uint8_t *digest,
                            uint64_t answer);
void cg__flow_replay_delivered(struct cg_flow *f, const char *msgid, const uint8_t *digest);
/* Replay with the budget of cfg.answer_memory: an answer with its length
 * (as cg__flow_app_answer_sized, in journal order), and one recorded as
 * answered without its answer (let go of before: JOURNAL_ANSWER with
 * .answer 0; a repeat of it is refused with a NACK, never delivered). */
void cg__flow_replay_answer_sized(struct cg_flow *f, const char *msgid, const uint8_t *digest,
                                  uint64_t answer, size_t bytes);
void cg__flow_replay_evicted(struct cg_flow *f, const char *msgid, const uint8_t *digest);
void cg__flow_replay_done(struct cg_flow *f, uint64_t now_ms);

/* Names for traces and logs. */
const char *cg__flow_act_name(enum cg_flow_act_kind k);

#endif
