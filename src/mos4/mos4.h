/* castgate mos4 — the MOS 4.0 endpoint (internal). */
#ifndef CG_MOS4_H
#define CG_MOS4_H

#include "core/core.h"
#include "flow/flow.h"
#include "legacy/legacy.h"
#include "mos4/auth.h"

#include <castgate/mos4.h>
#include <uv.h>

#define CG_MOS4_NCH 3     /* mom, ro, aux */
#define CG_MOS4_MAX_HELD CG_FLOW_HELD_MAX /* requests waiting behind one with the application */
#define CG_MOS4_MAX_ALLOW 32 /* entries of a legacy_allow list */

/* allow.c: the addresses that may connect to a MOS 2.x peer's ports */
struct mos4_allow_net {
    uint8_t addr[16]; /* network byte order; 4 bytes used for IPv4 */
    uint8_t bits;     /* prefix length */
    bool v6;
};
struct mos4_allow {
    struct mos4_allow_net net[CG_MOS4_MAX_ALLOW];
    size_t n; /* 0: anyone */
};
struct sockaddr;
/* "10.1.2.3, 10.1.2.0/24, ::1, fd00::/8": addresses and CIDR prefixes,
 * comma-separated; "" is the empty list. CG_EINVAL for anything else
 * (including host bits set past the prefix). */
enum cg_err cg__mos4_allow_parse(const char *list, struct mos4_allow *out);
/* Whether sa may connect: an empty list allows anyone; an IPv4-mapped IPv6
 * address matches as its IPv4 address. */
bool cg__mos4_allow_match(const struct mos4_allow *a, const struct sockaddr *sa);
/* Same host address (ports ignored; IPv4-mapped equals IPv4). */
bool cg__mos4_same_host(const struct sockaddr *a, const struct sockaddr *b);
#define CG_MOS4_DIGEST CG_FLOW_DIGEST /* bytes of a request's digest kept (SHA-256, truncated) */

struct cg_mos_endpoint_config {
    enum cg_mos_role role;
    char id[4 * CG_MOS_ID_MAX + 1];
    char *state_dir;
    char *credentials;
    bool auth_none; /* the application allows a listener without credentials */
    uint32_t keepalive_ms, ack_timeout_ms, retries, reconnect_max_ms;
    uint32_t refused_max_ms; /* cap of the backoff while a peer refuses (backoff.c) */
    size_t max_message, max_queue;
    bool validate;
    struct cg_mos_scan_limits xml; /* the pre-scan's limits (validation on) */
    size_t async_validate;         /* larger messages are validated on the thread pool */
    bool redeliver;
    enum cg_mos_reused reused_id;
    bool deliver_heartbeats;
    bool wire_messages; /* messages reach the application in their wire encoding */
    bool journal;
    enum cg_mos_fsync fsync;
    uint32_t fsync_interval_ms;
    enum cg_mos_time_form heartbeat_form; /* the <time> of heartbeats we write (M-24) */
    uint32_t silent_reset_ms; /* a wss lane with nothing received this long is reset; 0: never */
    size_t answer_memory;     /* byte budget of an IN lane's remembered answers (M-22, issue 19) */
    uint32_t auth_hash_rate;  /* hashes a second for credentials not remembered; 0: no budget */
    uint32_t auth_hash_burst; /* at once */
};

struct cg_mos_peer_config {
    bool legacy;
    enum cg_mos_encoding legacy_enc;
    char legacy_host[256];
    uint16_t dial_port[3];
    char listen_addr[64];
    uint16_t listen_port[3];
    struct mos4_allow allow; /* who may connect to the listen ports */
    char id[4 * CG_MOS_ID_MAX + 1];
    char *url;
    enum cg_mos_mode mode;
    unsigned channels;
    const struct cg_ws_client_config *client;
    bool text_frames;
};

/* An outgoing request (the flow core's ref for it: its address). Its
 * messageID, tries and place in the queue are the core's. */
struct mos4_pending {
    char *elem; /* the message element, UTF-8 (cg_mos_send) */
    size_t len;
    uint8_t *wire; /* or the whole message, wrapped once in the lane's encoding (a forward) */
    size_t wlen, wcap; /* wcap: wire's allocation (for cg__spare_give) */
    char name[64]; /* its element name, for logs */
    cg_mos_send_cb cb;
    void *user;
};

/* A journal record's place (journal.c, format 4): its number (0: none, a
 * record from before format 4) and its regime (the epoch of the active of a
 * gateway pair that wrote it; 0 outside a pair). */
struct mos4_jmark {
    uint64_t number, regime;
};

/* A message the flow core names by ref (its address): a request received
 * (fresh: the bytes are the receive buffer's until the core KEEPs it, then a
 * copy), a request replayed from the journal, or an answer (wire bytes). */
struct mos4_msg {
    const char *xml; /* the bytes: the receive buffer's, or own */
    size_t len;
    enum cg_mos_encoding enc; /* of the bytes */
    char *own;       /* a copy, when kept past the event */
    const struct cg_mos_envelope *env; /* while the event that brought it runs; else NULL */
    bool kept;       /* the core needs it (KEEP, or replayed, or an answer) until RELEASE */
    unsigned busy;   /* code using it now: a RELEASE then frees it when that code is done */
    struct mos4_jmark jmark; /* the journal record that holds it (a compaction keeps its place) */
};

/* backoff.c: when a lane dials again */
#define MOS4_HEALTHY_MS 10000u /* a lane up this long (or that carried a message) was good */
enum mos4_outcome {
    MOS4_DOWN,    /* nobody answered: refused, unreachable, timed out */
    MOS4_REFUSED, /* the peer answered no: HTTP status, certificate, TLS broken off */
    MOS4_DROPPED, /* it accepted, then closed before the lane carried anything */
    MOS4_HEALTHY, /* a lane that carried a message or stayed up went down */
    MOS4_BUSY,    /* 503 with Retry-After: busy, come back then (off both ladders) */
    MOS4_GONE,    /* it opened, then the peer went away (1001): fast, like MOS4_DOWN */
};
struct mos4_backoff {
    unsigned fast;     /* steps on the fast ladder */
    unsigned refused;  /* consecutive refusals and drops */
    uint32_t busy_ms;  /* the wait a busy peer asked for (cg__mos4_backoff_busy) */
};
#define MOS4_BUSY_MIN_S 1u
#define MOS4_BUSY_MAX_S 30u
/* The delay before the next attempt after outcome o, in ms: the fast ladder
 * (100 ms doubling to fast_cap_ms) for MOS4_DOWN and MOS4_HEALTHY (which
 * starts over), the slow one (1 s doubling to refused_cap_ms) for
 * MOS4_REFUSED and MOS4_DROPPED; times jitter_pct/100 (75..100). */
uint64_t cg__mos4_backoff_next(struct mos4_backoff *b, enum mos4_outcome o, uint32_t fast_cap_ms,
                               uint32_t refused_cap_ms, unsigned jitter_pct);
void cg__mos4_backoff_reset(struct mos4_backoff *b);
/* A refused upgrade that says "busy, come back" (503 with a Retry-After of
 * retry_after_s >= 0; -1 when it had none): records the wait, bounded to
 * MOS4_BUSY_MIN_S..MOS4_BUSY_MAX_S, for the next MOS4_BUSY and returns
 * true; false for anything else (then it is a refusal). */
bool cg__mos4_backoff_busy(struct mos4_backoff *b, int http_status, long retry_after_s);
/* What a closed connection says of the peer: was_up (the lane opened),
 * healthy (it carried a message or stayed up MOS4_HEALTHY_MS), else why it
 * failed (cg_ws_error, the HTTP status of a refused upgrade or 0). */
enum mos4_outcome cg__mos4_outcome(bool was_up, bool healthy, enum cg_err err, int http_status);
/* What the peer's close of a lane that was up says: MOS4_HEALTHY if the lane
 * carried a message or was up MOS4_HEALTHY_MS, MOS4_GONE for 1001 "going
 * away" (a listener stopping or restarting, M-08), else MOS4_DROPPED. */
enum mos4_outcome cg__mos4_closed_outcome(bool carried, uint64_t up_for_ms, uint16_t close_code);

struct mos4_peer;

/* A lane's connection, whatever carries it (issue 13 item 2): the wss lane
 * (a struct cg_ws, transport_wss.c) and a MOS 2.x peer's TCP connection
 * (src/legacy/ through legacy_lane.c) implement the same small table, and
 * lane.c and flow.c write, pause and close through it only (modelled on
 * curl's struct Curl_cftype and redis' ConnectionType). t is the
 * transport's own object. Events come back the other way through
 * cg__mos4_lane_up / _gone / _carried and cg__mos4_on_message. */
struct mos4_transport_ops {
    const char *name; /* for logs: "wss", "MOS 2.x TCP" */
    /* Reset when nothing is received for silent_reset_ms: only a transport
     * that keepAlive (M-09) keeps busy; MOS 2.x peers are sent none. */
    bool reset_when_silent;
    /* xml (UTF-8 or UCS-2BE, cg__mos4_enc_of) out in encoding to (the
     * peer's, cg__mos4_lane_enc), converted only when they differ. */
    enum cg_err (*write)(void *t, enum cg_mos_encoding to, const char *xml, size_t len);
    /* Stop (paused) or start again reading; NULL where the transport
     * cannot (cg_ws has no read pause). */
    void (*pause)(void *t, bool paused);
    /* Detach t from its lane (no event reaches the lane any more) and close
     * it; code and why are the WebSocket close code and reason. */
    void (*close)(void *t, uint16_t code, const char *why);
    const char *(*peer_addr)(const void *t); /* "ip:port" or "host:port", for logs */
};

struct mos4_lane {
    struct mos4_peer *peer;
    int ch;          /* 0 mom, 1 ro, 2 aux */
    enum cg_mos_dir dir;
    void *t; /* the connection (connecting or up), or NULL */
    const struct mos4_transport_ops *tops; /* t's operations */
    bool up;
    bool we_dial;
    bool passive_dial; /* we dial with passive=true */
    struct mos4_backoff backoff;
    unsigned attempt;        /* dials since the lane was last up */
    uint64_t up_since_ms;
    bool carried;            /* a message arrived since the lane came up */
    enum mos4_outcome failed; /* why the connection being closed failed */
    char last_why[160];      /* the last failure logged: repeats are not */
    uv_timer_t retry_timer; /* reconnect */
    uv_timer_t idle_timer;  /* the flow core's T_IDLE_OUT/IN (keepAlive, M-09) */
    uint64_t last_tx_ms, last_rx_ms;
    uv_timer_t ack_timer;   /* OUT: the core's T_ACK; IN: the journal's replay on start */
    /* IN: the request at the application (its handle), for compaction and free */
    struct cg_mos_request *current;
    /* IN: requests the application still has that were given up
     * (cg_mos_endpoint_abandon_in): freed with the lane if never answered */
    struct cg_mos_request *abandoned;
    /* the journal of accepted requests and their answers (journal.c) */
    int jfd;                       /* -1: none */
    uint64_t jsize, jsize_compact; /* bytes now, and just after the last compaction */
    bool jcheck;                   /* an answer recorded: is a compaction due? (settle) */
    /* a large message being validated on the thread pool, and what arrived
     * behind it on this lane (flow.c) */
    struct mos4_vjob *vjob;
    bool vdigest_set;                     /* take: the digest of the message it is given, */
    uint8_t vdigest[CG_MOS4_DIGEST];      /* made while the pool checked it (vjob_after) */
    struct mos4_vwait *vwait_head, *vwait_tail;
    size_t nvwait, vwait_bytes;
    uint64_t jlargest;             /* the largest record since the last compaction */
    unsigned compactions;          /* rewrites so far (for tests) */
    struct mos4_jmark jlast;       /* the record just appended (flow.c stamps its message) */
    bool jreplica; /* records appended from the active (cg_mos_endpoint_journal_append) or set
                      aside: memory is not the file's image, so nothing compacts it */
    struct cg_journal_stats jstats; /* records appended, fdatasync times (cg_mos_peer_stats) */
};

struct mos4_peer {
    struct cg_mos_endpoint *ep;
    char id[4 * CG_MOS_ID_MAX + 1];
    char *url;
    enum cg_mos_mode mode;
    unsigned channels;
    bool text_frames;
    struct cg_ws_client *client;
    /* a MOS 2.x peer over plain TCP (M-21) */
    bool legacy;
    enum cg_mos_encoding legacy_enc;
    char legacy_host[256];
    uint16_t dial_port[CG_MOS4_NCH];
    char listen_addr[64];
    uint16_t listen_port[CG_MOS4_NCH];
    struct mos4_allow allow; /* who may connect to the listen ports */
    struct cg_legacy_listener *listeners[CG_MOS4_NCH];
    struct mos4_lane lanes[CG_MOS4_NCH][2];
    /* the flow core of each channel (both lanes), set up at first use (flow.c) */
    struct cg_flow flow[CG_MOS4_NCH];
    bool flow_on[CG_MOS4_NCH];
    unsigned flow_depth[CG_MOS4_NCH]; /* nested drains of the core's actions */
    unsigned open_timers; /* this peer's lane timers not yet closed */
    bool removed;         /* cg_mos_endpoint_remove_peer: freed with its last timer */
    bool held;            /* cg_mos_endpoint_hold_peer: lanes closed and refused */
    struct mos4_peer *next_removed;
};

struct cg_mos_request {
    struct mos4_lane *lane;
    uint64_t token; /* the flow core's delivery token */
    char msgid[4 * CG_MOS_ID_MAX + 1];
    bool has_msgid;
    char name[64];
    uint8_t *wire; /* the request (UTF-8), kept for journal compaction */
    size_t wlen;
    uint8_t digest[CG_MOS4_DIGEST];
    struct mos4_jmark jmark; /* its journal record (a compaction keeps its place) */
    bool given_up; /* cg_mos_endpoint_abandon_in: on its lane's abandoned list */
    struct cg_mos_request *next_abandoned;
};

struct mos4_syncfs; /* journal.c: a filesystem holding state directories */

struct cg_mos_endpoint {
    struct cg_ctx *ctx;
    struct cg_mos_endpoint_config cfg;
    struct cg_mos_handlers h;
    void *user;
    struct cg_auth *auth;
    struct cg_server *server; /* attached to, or NULL */
    char *path;
    struct mos4_peer **peers;
    size_t npeers;
    bool started;
    bool freeing;
    unsigned open_timers; /* uv timers not yet closed: the endpoint is freed after them */
    struct mos4_peer *removed; /* removed peers waiting for their timers to close */
    uv_timer_t sync_timer;     /* CG_MOS_FSYNC_INTERVAL */
    bool sync_timer_on, dirty;
    uint64_t last_write_ms;    /* the latest write: a syncfs begun later covers it */
    struct mos4_syncfs *syncfs; /* the state directory's filesystem (journal.c) */
    int state_fd; /* the state directory, for syncfs; -1 if none */
    /* journal numbering and replication (journal.c, cg_mos_endpoint_set_journal_ops) */
    struct cg_mos_journal_ops jops;
    void *juser;
    uint64_t jnumber;   /* the last record number given or read (own count) */
    uint64_t *jcounter; /* a count shared with other endpoints (NULL: jnumber) */
    uint64_t jregime;   /* the regime records appended here carry (and a standby follows) */
    uint64_t jlast_regime; /* the greatest regime of a record given or read */
    bool in_tell;          /* inside jops.appended (journal.c) */
    /* the answer gate of a pair's active (gate.c, cg_mos_endpoint_set_answer_gate) */
    bool gate_on;
    uint64_t gate_released;  /* answers made at this count or below may go */
    struct mos4_held *held_head, *held_tail; /* answers held, in order */
    size_t nheld;
    uint64_t gate_dropped;   /* answers dropped: their lane held its bound already */
};

/* endpoint.c: the upgrade request's query (M-02), percent-decoded */
struct mos4_query {
    char mos_id[4 * CG_MOS_ID_MAX + 1], ncs_id[4 * CG_MOS_ID_MAX + 1], channel[8];
    bool has_mos, has_ncs, has_channel, passive;
};
/* M-02: false when the query cannot name a lane; why (whysz bytes) then says
 * exactly what is wrong (the answer's 400 reason). */
bool cg__mos4_parse_query(const char *q, struct mos4_query *out, char *why, size_t whysz);

/* channel helpers */
int cg__mos4_ch_index(enum cg_mos_channel ch); /* -1 if not mom/ro/aux */
enum cg_mos_channel cg__mos4_ch_bit(int idx);
const char *cg__mos4_ch_name(int idx);
struct mos4_peer *cg__mos4_peer(const struct cg_mos_endpoint *ep, const char *id);
/* stats.c: one journal record of len bytes appended to l; sync_ns: what
 * cg__mos4_state_written took (its fdatasync when fsync = always). */
void cg__mos4_journal_count(struct mos4_lane *l, size_t len, uint64_t sync_ns);
/* stats.c: one syncfs took ns (any thread). */
void cg__mos4_syncfs_count(uint64_t ns);
const char *cg__mos4_mos_id(const struct mos4_lane *l); /* envelope IDs for this lane */
const char *cg__mos4_ncs_id(const struct mos4_lane *l);

/* lane.c: connections */
void cg__mos4_lane_init(struct mos4_lane *l, struct mos4_peer *p, int ch, enum cg_mos_dir dir);
void cg__mos4_lane_start(struct mos4_lane *l);
void cg__mos4_lane_close(struct mos4_lane *l); /* for free: stops timers, closes the transport */
/* The peer held (cg_mos_endpoint_hold_peer): the connection closed (the lane
 * down), no dialling until released; released: dialled now where we dial. */
void cg__mos4_lane_hold(struct mos4_lane *l);
void cg__mos4_lane_release(struct mos4_lane *l);
extern const struct cg_ws_handlers cg__mos4_ws_handlers;
enum cg_err cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
void cg__mos4_touch_tx(struct mos4_lane *l);

void cg__mos4_lane_up(struct mos4_lane *l);   /* a transport connected */
void cg__mos4_lane_gone(struct mos4_lane *l); /* a transport went away */
void cg__mos4_lane_carried(struct mos4_lane *l); /* a message arrived: the lane is good */
void cg__mos4_on_idle(uv_timer_t *t); /* idle_timer: silent too long (reset), else the core's */
/* t becomes the lane's connection (connecting: not up yet). */
void cg__mos4_lane_attach(struct mos4_lane *l, const struct mos4_transport_ops *ops, void *t);
/* Through the lane's transport: pause or resume reading (false where it
 * cannot), its peer's address (NULL without a connection). */
bool cg__mos4_lane_pause(struct mos4_lane *l, bool paused);
const char *cg__mos4_lane_peer_addr(const struct mos4_lane *l);

/* transport_wss.c: the wss lane's transport (a struct cg_ws) */
extern const struct mos4_transport_ops cg__mos4_wss_transport;

/* legacy_lane.c: MOS 2.x over TCP (M-21, src/legacy/) as a lane's transport */
enum cg_err cg__mos4_legacy_dial(struct mos4_lane *l);
enum cg_err cg__mos4_legacy_listen(struct mos4_peer *p);
void cg__mos4_legacy_unlisten(struct mos4_peer *p);

/* flow.c: the adapter between the lanes and the flow core (src/flow/) */
/* The core of l's peer-channel, set up from the endpoint's configuration at
 * first use. */
struct cg_flow *cg__mos4_flow(struct mos4_lane *l);
/* Carries out every action the core has for l's peer-channel, in order. */
void cg__mos4_flow_apply(struct mos4_lane *l);
/* The OUT request in flight on l's channel, or NULL. */
const struct cg_flow_out_req *cg__mos4_inflight(struct mos4_lane *l);
void cg__mos4_on_message(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len);
/* The head of a message the framer refused while it streamed in
 * (legacy_lane.c from src/legacy/, cg__mos_framer_set_max_attrs): the
 * pre-scan gives the reason, the NACK comes from the envelope's head
 * (messageID kept); never delivered. */
void cg__mos4_refuse_head(struct mos4_lane *l, bool binary, const uint8_t *data, size_t len);
void cg__mos4_replay(struct mos4_lane *l);        /* deliver journaled requests */
/* A NACK (roAck on ro, mosAck on mom/aux) for an IN-lane message we refuse. */
void cg__mos4_nack_invalid(struct mos4_lane *l, const char *msgid, const char *why);
void cg__mos4_flow_up(struct mos4_lane *l);       /* the core hears of a lane up / down */
void cg__mos4_flow_down(struct mos4_lane *l);
void cg__mos4_flow_timer(struct mos4_lane *l, enum cg_flow_timer t); /* a core timer fired */
void cg__mos4_flow_free(struct mos4_lane *l);     /* completes pending sends with CG_ECLOSED */
/* A message in the core's memory (a held request, a remembered answer). */
static inline const struct mos4_msg *cg__mos4_msg(uint64_t ref)
{
    return (const struct mos4_msg *)(uintptr_t)ref;
}

/* journal.c: accepted requests and answers on disk (cg_mos_endpoint_config_set_journal) */
struct mos4_jrec {
    char kind;          /* 'R' request (as received), 'A' answer (the bytes sent) */
    const char *msgid;  /* NULL: the message had none */
    const uint8_t *data;
    size_t len;
    enum cg_mos_encoding enc; /* of data, as read (format 3; UTF-8 in older formats);
                               * written: always cg__mos4_enc_of(data) */
    bool has_digest;    /* false only in format-1 records */
    uint8_t digest[CG_MOS4_DIGEST]; /* the request's (for 'A': the request it answers) */
    uint64_t number, regime; /* format 4 (0 0 as read from older formats) */
    bool v4;            /* as read: in format 4 */
    const uint8_t *raw; /* as read: the whole record (header to its final "\n") */
    size_t raw_len;
};
typedef void (*mos4_journal_cb)(void *user, const struct mos4_jrec *r);
struct mos4_journal_info {
    bool old_format; /* format 1 (no magic line, no checksums): migrated */
    bool format2;    /* format 2 (no encodings: UTF-8): migrated to 4 */
    bool format3;    /* format 3 (no numbers): migrated to 4 */
    bool numbered;   /* an N record was read: the two below are set */
    uint64_t number, regime; /* the greatest of the N records (the count when compacted) */
    unsigned skips;  /* damaged runs skipped between whole records */
    size_t skipped;  /* their bytes */
    void (*on_skip)(void *user, size_t off, size_t len); /* optional, per run */
};
extern const char cg__mos4_journal_magic[]; /* the file's first line */
uint32_t cg__mos4_crc32c(uint32_t crc, const void *data, size_t len); /* crc: 0 to start */
/* SHA-256 of data, truncated to CG_MOS4_DIGEST bytes. */
void cg__mos4_digest(const void *data, size_t len, uint8_t out[CG_MOS4_DIGEST]);
enum cg_err cg__mos4_journal_encode(struct cg_buf *b, const struct mos4_jrec *r);
/* Calls cb per whole record of a journal file (magic line included, or a
 * format-1 file); damaged records in the middle are skipped (info, may be
 * NULL). Returns the end of the last whole record: what follows is a tail
 * cut short by a crash, or damage past the last record. */
size_t cg__mos4_journal_parse(const uint8_t *buf, size_t len, mos4_journal_cb cb, void *user,
                              struct mos4_journal_info *info);
void cg__mos4_journal_open(struct mos4_lane *l); /* replays into the flow core */
/* false (logged with the reason, errno kept): the record is not on disk. */
bool cg__mos4_journal_request(struct mos4_lane *l, const char *msgid,
                              const uint8_t digest[CG_MOS4_DIGEST], const char *xml, size_t len);
bool cg__mos4_journal_answer(struct mos4_lane *l, const char *msgid,
                             const uint8_t digest[CG_MOS4_DIGEST], const void *wire, size_t len);
/* A request refused before it reached the application: its record closed and
 * its messageID forgotten (an F record; a restart neither delivers it nor
 * remembers the ID). Same return as cg__mos4_journal_answer. */
bool cg__mos4_journal_forget(struct mos4_lane *l, const char *msgid,
                             const uint8_t digest[CG_MOS4_DIGEST]);
void cg__mos4_journal_close(struct mos4_lane *l);
void cg__mos4_journal_settle(struct mos4_lane *l); /* compacts if due (after an event) */
/* Record kinds beside R and A (format 4): 'N' (in a journal file only, right
 * after the magic line of a compacted one: the endpoint's count and regime
 * then, no ID, no data; never given to a parse callback, read into
 * mos4_journal_info) and 'M' (a messageID mark, msgid.c: no ID, the mark in
 * decimal as data; replicated, never in a journal file) and 'F' (a refused
 * request's record closed, its messageID forgotten: no data). */
/* Reads exactly one whole format-4 record of kind R, A, F or M in rec (len
 * bytes, nothing after it), checksum included; false otherwise. id: room for
 * its ID (r->msgid points there). */
bool cg__mos4_journal_record(const uint8_t *rec, size_t len, struct mos4_jrec *r,
                             char id[4 * CG_MOS_ID_MAX + 1]);
/* Numbering (format 4): the number the next record gets (the count + 1), and
 * a number given or read (the count moves up to it; regime likewise). */
uint64_t cg__mos4_journal_next(const struct cg_mos_endpoint *ep);
void cg__mos4_journal_numbered(struct cg_mos_endpoint *ep, uint64_t number, uint64_t regime);
/* The observer (cg_mos_endpoint_set_journal_ops) hears of r, written as
 * bytes (len): l's peer and channel. */
void cg__mos4_journal_tell(const struct mos4_lane *l, const struct mos4_jrec *r,
                           const void *bytes, size_t len);
void cg__mos4_state_written(struct cg_mos_endpoint *ep, int fd); /* per the fsync policy */
void cg__mos4_sync_start(struct cg_mos_endpoint *ep);
void cg__mos4_sync_stop(struct cg_mos_endpoint *ep);
/* flow.c: a message the core may keep, owning a copy of data (NULL: no memory). */
struct mos4_msg *cg__mos4_msg_copy(const void *data, size_t len);
void cg__mos4_msg_free(struct mos4_msg *m);

/* msgid.c: persistent counters (M-11) */
/* <state_dir>/msgid-<peer>-<channel><suffix>, the peer's ID made safe for a file name */
void cg__mos4_state_path(const struct mos4_lane *l, char *path, size_t sz, const char *suffix);
/* The first messageID this run may use: after the stored mark (0 without
 * one or without a state directory: the core starts at 1). */
uint32_t cg__mos4_msgid_start(const struct mos4_lane *l);
/* Persists that IDs below mark may have been used (the core's RESERVE_IDS);
 * logged when it cannot. */
void cg__mos4_msgid_reserve(const struct mos4_lane *l, uint32_t mark);
/* Format 4: the mark file also holds its record's number and regime
 * ("<mark> <number> <regime>\n"; older files: the mark alone). A reserve
 * is a numbered 'M' record for the journal's observer. */
/* The mark file's number and regime into the endpoint's count (at open). */
void cg__mos4_msgid_numbered(const struct mos4_lane *l);
/* Stores a mark replicated from the active, as its record r says. */
bool cg__mos4_msgid_replicated(const struct mos4_lane *l, const struct mos4_jrec *r);
/* Keeps the mark, drops its record's number and regime (a set-aside: they
 * were the old regime's). */
void cg__mos4_msgid_unnumber(const struct mos4_lane *l);
/* The stored mark as its record (for reading from a number on): false
 * without a numbered one. */
bool cg__mos4_msgid_record(const struct mos4_lane *l, struct cg_buf *out, uint64_t *number,
                           uint64_t *regime);
#define CG_MOS4_MSGID_BLOCK 256u
/* flow.c: the next messageID of l's channel, outside the queue (its block
 * reserved first, M-11). */
uint32_t cg__mos4_next_msgid(struct mos4_lane *l); /* IDs reserved at a time (one synced rename per block) */

/* wire.c: envelopes and encodings */
enum cg_err cg__mos4_wrap(const struct mos4_lane *l, const char *elem, size_t elen,
                          const char *msgid, struct cg_buf *out);
enum cg_err cg__mos4_element(const char *xml, size_t len, const char **elem, size_t *elen,
                             char *name, size_t namesz);
/* The same around elem (elen bytes in from), written in to: one allocation,
 * the element copied once, converted only when from and to differ. */
enum cg_err cg__mos4_wrap_enc(const struct mos4_lane *l, enum cg_mos_encoding to,
                              enum cg_mos_encoding from, const void *elem, size_t elen,
                              const char *msgid, struct cg_buf *out);
/* The encoding of message bytes we hold: UCS-2BE when they begin with a 00
 * byte or a BOM (FE FF), which no UTF-8 XML document can; else UTF-8. */
enum cg_mos_encoding cg__mos4_enc_of(const void *data, size_t len);
/* The encoding a lane's peer reads: its legacy encoding (M-21), or on wss
 * UCS-2BE in binary messages unless the peer takes text frames (M-04). */
enum cg_mos_encoding cg__mos4_lane_enc(const struct mos4_lane *l);
/* mosAck/roAck saying NACK; xml in UTF-8 or UCS-2BE (cg__mos4_enc_of). */
bool cg__mos4_is_nack(const char *name, const char *xml, size_t len);
/* Whether an answer named answer closes request on channel ch (0 mom, 1 ro,
 * 2 aux) when the request carried no messageID: matched by kind. */
bool cg__mos4_answer_fits(int ch, const char *request, const char *answer);
/* The readable text of an answer that is not a MOS message (NUL-terminated,
 * at most outsz - 1 bytes, valid UTF-8 if the input is). */
void cg__mos4_answer_text(const char *xml, size_t len, char *out, size_t outsz);
enum cg_err cg__mos4_url_with_query(const struct mos4_lane *l, char **out);
void cg__mos4_timer_closed(uv_handle_t *h); /* the last one frees the endpoint */
void cg__mos4_free_endpoint(struct cg_mos_endpoint *ep);
/* gate.c: true if the gate holds (a copy of) xml, the answer l writes to its
 * peer, until its records are released; false: write it now. */
bool cg__mos4_gate_hold(struct mos4_lane *l, const char *xml, size_t len);
/* gate.c: the held answers dropped (the endpoint is freed). */
void cg__mos4_gate_free(struct cg_mos_endpoint *ep);
void cg__mos4_free_peer(struct mos4_peer *p);

#endif
