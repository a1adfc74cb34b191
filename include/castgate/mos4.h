/* castgate — a MOS 4.0 endpoint over secure WebSockets (M-01..M-13).
 *
 * An endpoint is one side of MOS: an NCS or a MOS device, with an ID. It has
 * peers (the other side's IDs) and, per peer and channel (mom, ro, aux: M-03),
 * two lanes:
 *   OUT: we originate requests and the peer answers on it;
 *   IN:  the peer originates requests and we answer on it.
 * Which side opens a lane's WebSocket depends on the peer's mode:
 *   CG_MOS_STANDARD        (M-07) we dial our OUT lanes to the peer's URL; the
 *                          peer dials our IN lanes to our endpoint path;
 *   CG_MOS_PASSIVE_INSIDE  (M-08) we are behind a firewall: we dial both; the
 *                          IN lane with passive=true, kept up as quickly as
 *                          possible;
 *   CG_MOS_PASSIVE_OUTSIDE (M-08) the peer is behind a firewall: we dial
 *                          nothing; its passive connections become our OUT
 *                          lanes, its ordinary ones our IN lanes.
 * Every lane carries one MOS message per WebSocket message, UCS-2BE in binary
 * frames (UTF-8 text frames accepted, M-04). On an OUT lane at most one request
 * is in flight (M-22): further sends queue, each completes with the peer's
 * answer, and an unanswered request is sent again with the same messageID. On
 * an IN lane a repeated messageID with the same content is answered again
 * from memory, never delivered twice (other content: see
 * cg_mos_endpoint_config_set_reused_id). A request whose envelope mosID or
 * ncsID does not name the lane's peer and this endpoint (ASCII case ignored;
 * a fully qualified ID, profile 6, matches its first labels; the two may be
 * swapped, as Sofie mos-connection writes them as an NCS) is refused with a
 * NACK (M-20). messageIDs persist across restarts in the state directory
 * (M-11). keepAlive is sent only on an idle lane, never answered and never
 * delivered (M-09); a heartbeat request is answered by the endpoint (M-10).
 *
 * Threading: the context's loop thread, as for the server and client.
 */
#ifndef CASTGATE_MOS4_H
#define CASTGATE_MOS4_H

#include <castgate/client.h>
#include <castgate/mos.h>
#include <castgate/server.h>
#include <castgate/stats.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cg_mos_role { CG_MOS_ROLE_NCS = 0, CG_MOS_ROLE_MOS = 1 };
enum cg_mos_mode { CG_MOS_STANDARD = 0, CG_MOS_PASSIVE_INSIDE = 1, CG_MOS_PASSIVE_OUTSIDE = 2 };
enum cg_mos_dir { CG_MOS_OUT = 0, CG_MOS_IN = 1 };
/* When what the state directory holds reaches the disk (cg_mos_endpoint_config_set_fsync).
 * Every policy survives the process being killed (each write is complete in
 * the kernel before the peer hears of it); the policy decides what a power
 * loss or kernel crash can cost: ALWAYS nothing, INTERVAL the last interval,
 * NEVER what the kernel had not written yet. */
enum cg_mos_fsync { CG_MOS_FSYNC_ALWAYS = 0, CG_MOS_FSYNC_INTERVAL = 1, CG_MOS_FSYNC_NEVER = 2 };

struct cg_mos_endpoint;
struct cg_mos_endpoint_config;
struct cg_mos_peer_config;
struct cg_mos_request;

/* A message as the application sees it (valid during the callback only):
 * the message as parsed once by the endpoint, its bytes, their encoding, the
 * envelope and the element's span (issue 13). */
struct cg_mos_message {
    const char *peer_id;
    enum cg_mos_channel channel;
    const struct cg_mos_envelope *env; /* mosID, ncsID, messageID, name; element: span in xml */
    const char *xml;                   /* the whole message, in enc (UCS-2BE holds NUL bytes) */
    size_t len;
    /* CG_MOS_UTF8, unless the endpoint delivers wire messages
     * (cg_mos_endpoint_config_set_wire_messages): then the encoding the
     * message arrived in, its bytes unconverted. */
    enum cg_mos_encoding enc;
    /* A request that may have reached the application before: delivered
     * before a restart and not answered, or replayed from the journal. Act
     * on it only if its messageID is new to you (M-22); answer it either way. */
    bool repeat;
    /* The endpoint checked it in full (validation on: cg_mos_scan with its
     * limits and libxml2): pass it on to cg_mos_translate_removed_ex so it
     * is not parsed again (a message is validated at most once per process). */
    bool validated;
};

struct cg_mos_handlers {
    /* A lane came up or went down. */
    void (*on_lane)(void *user, const char *peer_id, enum cg_mos_channel channel,
                    enum cg_mos_dir dir, bool up);
    /* A request from a peer (never a keepAlive; heartbeats are answered by
     * the endpoint). Answer it with cg_mos_reply or cg_mos_reply_ack, at once
     * or later; until then further requests on that lane wait (M-22). NULL:
     * the endpoint answers every request with a positive mosAck/roAck. */
    void (*on_request)(void *user, struct cg_mos_request *req, const struct cg_mos_message *msg);
};

/* Completion of cg_mos_send, called exactly once: CG_OK (answered; reply is
 * the answer), CG_ENACK (answered with a NACK; reply is it), CG_ETIMEDOUT
 * (retries exhausted; reply NULL), CG_ECLOSED (endpoint freed; reply NULL),
 * CG_ECANCELED (cg_mos_forward_cancel; reply NULL, called before that
 * returns).
 * An answer that is not a MOS message at all (ENPS: "<mos>Invalid command:
 * …</mos>", no IDs, no element) is a NACK too: reply is then a NACK of the
 * channel's kind (mosAck on mom and aux, roAck on ro) made by castgate, with
 * our envelope and the request's messageID, whose status text is "peer
 * answered: " and the peer's text. The request is not sent again. */
typedef void (*cg_mos_send_cb)(void *user, enum cg_err status,
                               const struct cg_mos_message *reply);

/* ---- configuration ---- */

/* our_id: our mosID (device) or ncsID (NCS), 1..128 characters. */
CG_API enum cg_err cg_mos_endpoint_config_new(enum cg_mos_role role, const char *our_id,
                                              struct cg_mos_endpoint_config **out);
CG_API void cg_mos_endpoint_config_free(struct cg_mos_endpoint_config *cfg);
/* Where messageID counters persist (M-11); created 0700 if missing. NULL
 * (default): counters start at 1 on each start, logged as a warning. */
CG_API enum cg_err cg_mos_endpoint_config_set_state_dir(struct cg_mos_endpoint_config *cfg,
                                                        const char *dir);
/* htpasswd-compatible file for peers' Basic credentials (M-05). Secure by
 * default: an endpoint without one cannot be attached to a server
 * (cg_mos_endpoint_attach returns CG_ECONFIG) unless
 * cg_mos_endpoint_config_set_auth_none(cfg, true) says so. An endpoint that
 * only dials, or only has MOS 2.x ports, needs neither. */
CG_API enum cg_err cg_mos_endpoint_config_set_credentials(struct cg_mos_endpoint_config *cfg,
                                                          const char *file);
/* on: the application means it; peers connecting to our listener are not
 * asked to log in (M-05: anyone who reaches the port may open lanes as any
 * configured peer; logged as a warning at attach). Off (default): attaching
 * without credentials fails. Returns CG_OK, CG_EINVAL. */
CG_API enum cg_err cg_mos_endpoint_config_set_auth_none(struct cg_mos_endpoint_config *cfg,
                                                        bool on);
/* The retry budget of an OUT lane by default: a request is sent, then sent
 * again (same messageID, M-22) after each of up to this many answer timeouts;
 * after one more timeout it completes with CG_ETIMEDOUT and the lane carries
 * the next request. With the default 60 s timeout: 4 sends, 4 minutes. */
#define CG_MOS_DEFAULT_RETRIES 3

/* keepalive_ms: idle time before a keepAlive, 30000 or more (M-09); from
 * 1000 for tests that scale real timings down (a warning is logged);
 * ack_timeout_ms: wait for an answer before sending again; retries: how many
 * times to send again (same messageID, M-22) before CG_ETIMEDOUT; 0: sent
 * once, CG_ETIMEDOUT at its first timeout (there is no "forever": a lane
 * never waits behind one request without end). Only timeouts while the lane
 * is up count: a request sent again because its lane came back is not one
 * more retry. reconnect_max_ms: cap of the reconnect backoff while the peer
 * is not there (from 100 ms, doubling, with jitter; a refusing peer is
 * backed off further: cg_mos_endpoint_config_set_refused_backoff).
 * Defaults: 30000, 60000, CG_MOS_DEFAULT_RETRIES, 1000; upper bounds 86400000,
 * 3600000, 1000000, 600000 (CG_ERANGE above; cg_mos_endpoint_option_info). */
CG_API enum cg_err cg_mos_endpoint_config_set_timing(struct cg_mos_endpoint_config *cfg,
                                                     uint32_t keepalive_ms,
                                                     uint32_t ack_timeout_ms, uint32_t retries,
                                                     uint32_t reconnect_max_ms);
/* Cap of the reconnect backoff while a peer refuses (default 60000, range
 * 1000..3600000). A peer that answers the upgrade with an HTTP status other
 * than 101 (401, 403, 400, …), whose certificate is refused, that breaks off
 * TLS, or that accepts and closes before the lane carried a message, is
 * dialed again after 1 s, 2 s, 4 s, … up to this cap (75-100% jitter), and
 * the reason is logged when it changes, not per attempt. A peer that is not
 * there (connection refused, unreachable, timeout) is still dialed again
 * fast, on the reconnect_max_ms ladder. Both start over only when a lane
 * carried a message or stayed up 10 s. */
CG_API enum cg_err cg_mos_endpoint_config_set_refused_backoff(struct cg_mos_endpoint_config *cfg,
                                                              uint32_t max_ms);
/* Largest MOS message accepted or sent (default CG_MOS_DEFAULT_MAX_MESSAGE,
 * 256..2^30); also each WebSocket message's limit. Queue bound per OUT lane (default 1000). */
CG_API enum cg_err cg_mos_endpoint_config_set_limits(struct cg_mos_endpoint_config *cfg,
                                                     size_t max_message, size_t max_queue);
/* Check every received message with the full XML parser (default on); off:
 * framing and envelope checks only. */
CG_API enum cg_err cg_mos_endpoint_config_set_validate(struct cg_mos_endpoint_config *cfg,
                                                       bool on);

/* 1 MiB: a message up to it is checked on the loop (under a millisecond,
 * docs/validation.md); handing one to the low-priority threads costs a copy,
 * two thread hand-offs and a wait for an idle CPU, which at 64 KiB (the
 * default before) doubled a gateway's CPU per 64 KB message. */
#define CG_MOS_DEFAULT_ASYNC_VALIDATE 1048576 /* bytes */

/* Bounds on what the full check accepts, and where it runs (validation on):
 * before libxml2 sees a message, cg_mos_scan refuses a DOCTYPE or other
 * declaration, more than max_attributes attributes on one element and
 * elements nested deeper than max_depth (a refused request on an IN lane gets
 * a NACK giving the reason). Messages larger than async_bytes are checked on
 * libuv's thread pool so other lanes never wait; on their own lane the
 * messages behind one wait for it, so order is kept. 0 for any value: its
 * default (CG_MOS_DEFAULT_MAX_ATTRIBUTES, CG_MOS_DEFAULT_MAX_DEPTH,
 * CG_MOS_DEFAULT_ASYNC_VALIDATE). Returns CG_OK, CG_EINVAL, CG_ERANGE
 * (a limit above 1,000,000, async_bytes above 2^30). */
CG_API enum cg_err cg_mos_endpoint_config_set_xml_limits(struct cg_mos_endpoint_config *cfg,
                                                         uint32_t max_attributes,
                                                         uint32_t max_depth, size_t async_bytes);

/* After a restart, a peer may repeat the request that was with the
 * application when we stopped, and whose answer was not stored. On (default):
 * it is delivered again with cg_mos_message.repeat set, so nothing is lost
 * (a relay forwards it under the same messageID; the far side recognises it,
 * M-22). Off: it is acknowledged positively and not delivered again (at most
 * once: lost if the application had not acted on it). */
CG_API enum cg_err cg_mos_endpoint_config_set_redeliver(struct cg_mos_endpoint_config *cfg,
                                                         bool on);

/* A request whose messageID is remembered (answered, being answered, or
 * delivered before a restart) but whose content differs is not a repeat: NCS
 * messageID counters are per host, and a main/buddy pair or a reset NCS
 * reissues IDs. The content compared is the message element (the envelope
 * aside), by its SHA-256 (kept in memory and in the journal).
 * CG_MOS_REUSED_DELIVER (default): it is delivered as a new request (after
 * the one with the application, if that has the ID); from then on the ID
 * means the new request. CG_MOS_REUSED_NACK: it is refused with a NACK
 * "messageID N reused with different content". Either way it is never
 * answered with the old request's answer. Answers recorded by a journal
 * from before this check (format 1) have no digest: a repeat of one is
 * answered from memory whatever its content. */
enum cg_mos_reused { CG_MOS_REUSED_DELIVER = 0, CG_MOS_REUSED_NACK = 1 };
CG_API enum cg_err cg_mos_endpoint_config_set_reused_id(struct cg_mos_endpoint_config *cfg,
                                                        enum cg_mos_reused policy);

/* Heartbeats (M-10) from peers: off (default), the endpoint answers them
 * itself (rate-limited); on, they are delivered to on_request like any other
 * request (a relay forwards them), answered with cg_mos_reply or
 * cg_mos_reply_heartbeat. */
CG_API enum cg_err cg_mos_endpoint_config_set_deliver_heartbeats(struct cg_mos_endpoint_config *cfg,
                                                                 bool on);
/* Off (default): messages reach on_request and cg_mos_send_cb in UTF-8
 * (cg_mos_message.enc CG_MOS_UTF8), converted once on arrival when they came
 * as UCS-2BE. On: in the encoding they arrived in, unconverted (issue 13
 * item 4: a relay between two UCS-2BE peers never converts), with enc saying
 * which; the envelope fields are UTF-8 either way. For a relay, with
 * cg_mos_forward_message and cg_mos_reply_message, which take either
 * encoding. Returns CG_OK, CG_EINVAL. */
CG_API enum cg_err cg_mos_endpoint_config_set_wire_messages(struct cg_mos_endpoint_config *cfg,
                                                            bool on);
/* The <time> form of the heartbeats the endpoint writes (its answers to
 * heartbeats, cg_mos_reply_heartbeat): CG_MOS_TIME_FULL (default) or
 * CG_MOS_TIME_SHORT for a peer that refuses the fraction and zone letter
 * (M-24). CG_EINVAL for another value. */
CG_API enum cg_err cg_mos_endpoint_config_set_heartbeat_time(struct cg_mos_endpoint_config *cfg,
                                                             enum cg_mos_time_form form);
/* Resets a MOS 4.0 lane (closes its connection; a lane we dial is dialled
 * again, the peer dials the others again) when nothing at all arrived on it
 * for ms milliseconds, not even a keepAlive: a connection a firewall or the
 * peer silently dropped (field). 0 (default): never. Only for peers that send
 * on their own (a keepAlive when idle, or heartbeats): a peer that sends a
 * keepAlive only after idling both ways (as castgate does, M-09) may stay
 * silent while ours keep the lane busy. CG_ERANGE below 1000 or above
 * 86400000 (one day). */
CG_API enum cg_err cg_mos_endpoint_config_set_silent_reset(struct cg_mos_endpoint_config *cfg,
                                                           uint32_t ms);
/* The byte budget of each IN lane's memory of answers (M-22: the answers to
 * the last 64 messageIDs, replayed to a repeat without the application;
 * issue 19: a count alone let a lane hold 64 x max_message). Answers of up
 * to 4 KiB (mosAck, roAck) are always kept; the newest answer is always kept
 * whole, whatever its size (a stop-and-wait peer can only repeat the last
 * one); older bigger ones are kept while the lane's total is within bytes,
 * the oldest let go of first. One let go of keeps its messageID: a repeat of
 * it is refused with a NACK saying its answer is no longer held (logged,
 * counted in repeats_not_held), never delivered again; answers that big
 * answer queries (mosReqObj, roReq, mosReqAll...), which the sender may ask
 * again. A journal keeps it as answered without its answer. Default
 * CG_MOS_DEFAULT_ANSWER_MEMORY (1 MiB); 0 keeps only the small ones and the
 * newest. CG_ERANGE above 2^30, CG_EINVAL for a NULL cfg. */
#define CG_MOS_DEFAULT_ANSWER_MEMORY ((size_t)1 << 20)
CG_API enum cg_err cg_mos_endpoint_config_set_answer_memory(struct cg_mos_endpoint_config *cfg,
                                                            size_t bytes);
/* The journal option (needs a state directory). With a state directory each
 * IN lane always records the requests it delivers and their answers, so after
 * a restart the last 64 answers are replayed to repeats (M-22). On: every
 * request is recorded as soon as it is accepted (also those waiting behind
 * one with the application), and after a restart those without an answer are
 * delivered again at once, in their order (same messageID, marked repeat),
 * without waiting for the peer to repeat them. Off (default): they are
 * delivered again only when the peer repeats them, and a request without a
 * messageID (legacy gear, M-11) is not recorded, nor its answer (a repeat is
 * known by its messageID: nothing would read them). Either way a request the
 * journal records is refused with a NACK naming the reason when it cannot
 * (disk full, I/O error), never delivered or acknowledged without it; records
 * carry a CRC32C, and a damaged one is skipped alone at the next start
 * (logged; the damaged file is kept beside as <name>.journal.damaged). */
CG_API enum cg_err cg_mos_endpoint_config_set_journal(struct cg_mos_endpoint_config *cfg, bool on);
/* The fsync policy of the state directory (default CG_MOS_FSYNC_INTERVAL,
 * 100 ms); interval_ms (10..60000) for CG_MOS_FSYNC_INTERVAL. messageID marks
 * are always synced. */
CG_API enum cg_err cg_mos_endpoint_config_set_fsync(struct cg_mos_endpoint_config *cfg,
                                                    enum cg_mos_fsync policy, uint32_t interval_ms);

/* Options by number: one setter for the endpoint options that are a single
 * number, flag or enum value. The library's table (src/mos4/endpoint.c)
 * holds each option's bounds and default, and cg_mos_endpoint_config_set_option
 * is where a value is checked; the named setters above check through the same
 * table. A program that reads options from a file keeps one row per option
 * (name, help, which option) and asks the library for the rest
 * (cg_mos_endpoint_option_info), so bounds and defaults exist once. Values are
 * in the unit the name says; a flag is 0 or 1; an enum is its value.
 * Append-only, like enum cg_err. */
enum cg_mos_option {
    CG_MOS_OPT_KEEPALIVE_MS = 0,          /* 1000..86400000, default 30000 (M-09) */
    CG_MOS_OPT_ACK_TIMEOUT_MS = 1,        /* 100..3600000, default 60000 (M-22) */
    CG_MOS_OPT_RETRIES = 2,               /* 0..1000000, default CG_MOS_DEFAULT_RETRIES */
    CG_MOS_OPT_RECONNECT_MAX_MS = 3,      /* 100..600000, default 1000 */
    CG_MOS_OPT_REFUSED_BACKOFF_MAX_MS = 4, /* 1000..3600000, default 60000 */
    CG_MOS_OPT_MAX_MESSAGE = 5,           /* 256..2^30 bytes, default CG_MOS_DEFAULT_MAX_MESSAGE */
    CG_MOS_OPT_VALIDATE = 6,              /* flag, default 1 */
    CG_MOS_OPT_HEARTBEAT_TIME = 7,        /* enum cg_mos_time_form, default FULL (M-24) */
    CG_MOS_OPT_SILENT_RESET_MS = 8,       /* 0 (never, default) or 1000..86400000 */
    CG_MOS_OPT_MAX_ATTRIBUTES = 9,        /* 1..1000000, default CG_MOS_DEFAULT_MAX_ATTRIBUTES */
    CG_MOS_OPT_MAX_DEPTH = 10,            /* 1..1000000, default CG_MOS_DEFAULT_MAX_DEPTH */
    CG_MOS_OPT_ASYNC_VALIDATE_BYTES = 11, /* 1..2^30, default CG_MOS_DEFAULT_ASYNC_VALIDATE */
    CG_MOS_OPT_REUSED_ID = 12,            /* enum cg_mos_reused, default DELIVER */
    CG_MOS_OPT_ANSWER_MEMORY = 13,        /* 0..2^30 bytes, default CG_MOS_DEFAULT_ANSWER_MEMORY */
    /* The budget of password hashes for credentials not remembered (a token
     * bucket, whoever asks; issue 12 item 4): past it an upgrade waits in
     * line for its turn (rate x 5 s of them), past that 503 with Retry-After
     * before any hash. A remembered success never waits. */
    CG_MOS_OPT_AUTH_HASH_RATE = 14,       /* 0 (no budget) or 1..100000 a second, default 4 */
    CG_MOS_OPT_AUTH_HASH_BURST = 15,      /* 1..100000, default 16 */
    CG_MOS_OPT_COUNT                      /* not an option: how many there are (grows) */
};
/* What each option means is said at its named setter (set_timing,
 * set_refused_backoff, set_limits, set_validate, set_heartbeat_time,
 * set_silent_reset, set_xml_limits, set_reused_id, set_answer_memory). Returns CG_OK, CG_EINVAL
 * (cfg NULL, an unknown option, an enum value out of its enum), CG_ERANGE (a
 * number out of its bounds); on error nothing changes. */
CG_API enum cg_err cg_mos_endpoint_config_set_option(struct cg_mos_endpoint_config *cfg,
                                                     enum cg_mos_option opt, int64_t value);
/* The bounds and default of opt. A value is valid when min <= value <= max,
 * or when it is 0 and *zero_off is set (0 turns the option off). Any out
 * pointer may be NULL. CG_EINVAL for an unknown option (CG_EINTERNAL: one the
 * library's table lacks, a bug). */
CG_API enum cg_err cg_mos_endpoint_option_info(enum cg_mos_option opt, int64_t *min, int64_t *max,
                                               int64_t *def, bool *zero_off);

/* peer_id: the peer's ncsID (we are a device) or mosID (we are an NCS). */
CG_API enum cg_err cg_mos_peer_config_new(const char *peer_id, struct cg_mos_peer_config **out);
CG_API void cg_mos_peer_config_free(struct cg_mos_peer_config *pc);
/* The peer's endpoint (wss://host:port/path); needed for
 * CG_MOS_PASSIVE_INSIDE. A standard peer without one can connect to us, but
 * our requests to it wait until a URL is given. */
CG_API enum cg_err cg_mos_peer_config_set_url(struct cg_mos_peer_config *pc, const char *url);
CG_API enum cg_err cg_mos_peer_config_set_mode(struct cg_mos_peer_config *pc,
                                               enum cg_mos_mode mode);
/* enum cg_mos_channel bits among MOM, RO, AUX (default MOM|RO). */
CG_API enum cg_err cg_mos_peer_config_set_channels(struct cg_mos_peer_config *pc,
                                                   unsigned channels);
/* TLS trust and credentials for the connections we dial to this peer; read
 * by cg_mos_endpoint_add_peer (not kept). Default: a fresh client config. */
CG_API enum cg_err cg_mos_peer_config_set_client(struct cg_mos_peer_config *pc,
                                                 const struct cg_ws_client_config *cc);
/* M-04: send UTF-8 text frames to this peer instead of UCS-2BE binary. */
CG_API enum cg_err cg_mos_peer_config_set_text_frames(struct cg_mos_peer_config *pc, bool on);

/* Makes this a MOS 2.x peer over plain TCP (M-21) instead of MOS 4.0: host
 * and its lower (mom), upper (ro) and query (aux) ports, where we connect to
 * originate (0: we never originate on that channel); enc is the peer's
 * encoding (UCS-2BE, or UTF-8 for NCSs switched to it). No keepAlive is ever
 * sent to it (M-09); the mode, URL and client settings do not apply. */
CG_API enum cg_err cg_mos_peer_config_set_legacy_dial(struct cg_mos_peer_config *pc,
                                                      const char *host, uint16_t lower,
                                                      uint16_t upper, uint16_t query,
                                                      enum cg_mos_encoding enc);
/* Our ports for a MOS 2.x peer's connections (where it originates): a
 * numeric address and lower/upper/query ports (0: not listened on). */
CG_API enum cg_err cg_mos_peer_config_set_legacy_listen(struct cg_mos_peer_config *pc,
                                                        const char *addr, uint16_t lower,
                                                        uint16_t upper, uint16_t query);

/* Who may connect to our ports for a MOS 2.x peer (M-21 has no
 * authentication): comma-separated IPv4/IPv6 addresses and CIDR prefixes,
 * "10.1.2.3, 10.1.2.0/24, ::1, fd00::/8" (an IPv4 peer on a dual-stack
 * port, ::ffff:a.b.c.d, matches as a.b.c.d). Anyone else is closed at
 * accept, before a byte is read, and logged with its address (once per
 * address and minute, with a count of the refusals not logged). NULL or ""
 * (default): any address. Whatever the list, while a port's connection is
 * up a newcomer from another address is refused (the live one stays); a
 * newcomer from the same address replaces it (the gear reconnecting after a
 * crash, its old socket half-open). Accepted connections use TCP keepalive
 * so a vanished peer's connection ends and another allowed address can take
 * over. CG_EINVAL for a malformed list (host names are not resolved; host
 * bits past a prefix, as in 10.1.2.3/24, are refused as a likely typo). */
CG_API enum cg_err cg_mos_peer_config_set_legacy_allow(struct cg_mos_peer_config *pc,
                                                       const char *list);

/* ---- the endpoint ---- */

CG_API enum cg_err cg_mos_endpoint_new(struct cg_ctx *ctx, const struct cg_mos_endpoint_config *cfg,
                                       const struct cg_mos_handlers *h, void *user,
                                       struct cg_mos_endpoint **out);
/* Adds a peer (before or after start). CG_EEXIST for a known ID, CG_ECONFIG
 * for CG_MOS_PASSIVE_INSIDE without a URL. */
CG_API enum cg_err cg_mos_endpoint_add_peer(struct cg_mos_endpoint *ep,
                                            const struct cg_mos_peer_config *pc);
/* Removes a peer at run time: its lanes close (pending sends complete with
 * CG_ECLOSED, an unanswered request of it is dropped), the others go on.
 * CG_ENOTFOUND for an unknown ID. */
CG_API enum cg_err cg_mos_endpoint_remove_peer(struct cg_mos_endpoint *ep, const char *peer_id);
/* Holds the peer peer_id down, or releases it (issue 18, leg_state =
 * mirror: a relay whose other side lost its server makes this side see the
 * loss, as a wire to that server would; docs/redundancy.md "Mirroring a
 * leg's state"). hold true: every lane of it is closed (on_lane says down),
 * nothing is dialled to it, and it is refused until released: a MOS 2.x
 * peer's ports stop listening (its connects are refused, as a dead
 * server's machine refuses them), a MOS 4.0 peer's upgrades are answered
 * 503 with Retry-After: 1. hold false: its ports listen and its lanes are
 * dialled again at once (the backoff starts over). Requests queued towards
 * it stay queued (cg_mos_forward_cancel withdraws them); what it sent us is
 * cg_mos_endpoint_abandon_in's. CG_OK (also when it was so already),
 * CG_ENOTFOUND, CG_EINVAL; on release, a port that cannot listen again is
 * logged and its error returned (the others are started). */
CG_API enum cg_err cg_mos_endpoint_hold_peer(struct cg_mos_endpoint *ep, const char *peer_id,
                                             bool hold);
/* Whether peer_id is held (cg_mos_endpoint_hold_peer). */
CG_API bool cg_mos_peer_is_held(const struct cg_mos_endpoint *ep, const char *peer_id);
/* The peer peer_id was told its connection is gone (issue 18, leg_state =
 * mirror: its lanes closed by cg_mos_endpoint_hold_peer or by its own
 * loss): on each IN lane of it that is down, every request it sent that is
 * not answered yet is given up, never answered nor delivered later: the held
 * ones and the one the application has. Each one's journal record is
 * closed and its messageID forgotten (an F record, replicated to a pair's
 * standby like any other): neither a restart nor a standby taking over
 * delivers it, and a repeat the peer makes later on its own is a new
 * request. The request the application has stays the application's to
 * dispose of: its answer (cg_mos_reply*) is then dropped, written and
 * recorded nowhere. IN lanes that are up are left alone. *count (may be
 * NULL): how many requests were given up. CG_OK, CG_ENOTFOUND, CG_EINVAL. */
CG_API enum cg_err cg_mos_endpoint_abandon_in(struct cg_mos_endpoint *ep, const char *peer_id,
                                              size_t *count);
/* Whether the lane to peer_id on channel in direction dir is connected. */
CG_API bool cg_mos_lane_is_up(const struct cg_mos_endpoint *ep, const char *peer_id,
                              enum cg_mos_channel channel, enum cg_mos_dir dir);
/* The endpoint's Basic-credential counts (M-05; cg_credentials_stats):
 * zeros for an endpoint without a credentials file. Returns CG_OK or
 * CG_EINVAL (NULL). Callback-safe. */
CG_API enum cg_err cg_mos_endpoint_auth_stats(const struct cg_mos_endpoint *ep,
                                              struct cg_auth_stats *out);
/* Counters of one peer since it was added (castgate/stats.h). */
struct cg_mos_peer_stats {
    struct cg_wss_stats dial;        /* our wss dials to it (zeros: we never dial it) */
    struct cg_journal_stats journal; /* its lanes' journals (M-22; zeros without one) */
};
/* Copies peer_id's counters into *out. Returns CG_OK, CG_EINVAL (NULL) or
 * CG_ENOTFOUND. Callback-safe. */
CG_API enum cg_err cg_mos_peer_stats(const struct cg_mos_endpoint *ep, const char *peer_id,
                                     struct cg_mos_peer_stats *out);
/* The syncfs calls of fsync = interval (one per interval and filesystem at
 * most, on the thread pool, shared by every endpoint of the process whose
 * state directory is on that filesystem: not attributed to a peer), since
 * the process started, into *out. NULL: nothing. Any thread. */
CG_API void cg_mos_syncfs_stats(struct cg_histogram *out);
/* ---- The journal for a gateway pair (issue 18, docs/redundancy.md) ----
 * Every record an IN lane's journal holds (a request accepted, an answer
 * sent, in <state_dir>/msgid-<peer>-<channel>.journal) and every messageID
 * mark (M-11: the IDs this endpoint may have used, <state_dir>/msgid-<peer>-
 * <channel>) is numbered: the count is the endpoint's (or one shared by
 * several, cg_mos_endpoint_set_journal_counter), one more per record, kept
 * across compactions and restarts; a record keeps its number when a
 * compaction rewrites it. Records from before numbering (journals of
 * castgate before format 4, read and rewritten at the first start) carry 0
 * and precede every numbered one. Each record also carries its regime: the
 * epoch of the pair's active that wrote it (cg_mos_endpoint_set_journal_regime;
 * 0 outside a pair). What an active replicates is each record's bytes as
 * written (header, ID, data, CRC32C), in the order written; a standby
 * appends them as they are (cg_mos_endpoint_journal_append). Everything
 * here runs on the loop thread; the functions need a state directory
 * (CG_ESTATE without one, where they act on files). */

/* What the endpoint tells of its journal records. appended (may be NULL):
 * one record was written (whole, in the kernel; synced per the fsync
 * policy), its bytes as written (rec, len: valid during the call), for
 * peer_id on ch, numbered number, of regime regime: an IN lane's request or
 * answer, or a messageID mark (its record kind 'M'). Called in the order of
 * the numbers, before the message it records goes further (a request to the
 * application, an answer to the peer): a pair's active replicates from here.
 * Not called for a record that could not be written, for what a compaction
 * rewrites, nor for records appended by cg_mos_endpoint_journal_append. It
 * must not call back into the endpoint (queue, and act after). */
struct cg_mos_journal_ops {
    void (*appended)(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                     uint64_t regime, const uint8_t *rec, size_t len);
};
/* Sets (a copy of) ops with user; ops NULL: none. CG_EINVAL for ep NULL. */
CG_API enum cg_err cg_mos_endpoint_set_journal_ops(struct cg_mos_endpoint *ep,
                                                   const struct cg_mos_journal_ops *ops,
                                                   void *user);
/* The greatest record number the endpoint gave or read (0: none; the
 * shared count when one is set) and its regime now, into the non-NULL out
 * pointers. After every peer is added it covers everything the state
 * directory holds: a pair starts its replication from here. */
CG_API void cg_mos_endpoint_journal_position(const struct cg_mos_endpoint *ep,
                                             uint64_t *last_number, uint64_t *regime);
/* Counts record numbers in *counter (the last number given), shared with
 * other endpoints of the same loop, instead of the endpoint's own count: a
 * pair replicating several endpoints numbers all their records in one
 * sequence. *counter becomes at least the endpoint's position; counter
 * must outlive the endpoint, or be unset first (NULL: the endpoint's own
 * count again, from the shared one's value). Set it after the peers are
 * added and before the endpoint starts. CG_EINVAL for ep NULL. */
CG_API enum cg_err cg_mos_endpoint_set_journal_counter(struct cg_mos_endpoint *ep,
                                                       uint64_t *counter);
/* Records appended from now on carry regime (the active's epoch: a
 * standby that takes over sets its new epoch before it serves). CG_ERANGE
 * below the regime now (epochs never go back), CG_EINVAL for ep NULL. */
CG_API enum cg_err cg_mos_endpoint_set_journal_regime(struct cg_mos_endpoint *ep,
                                                      uint64_t regime);
/* A standby: appends rec (len bytes), one record as the active's journal
 * wrote it (what cg_mos_journal_ops.appended gave there), to the journal of
 * peer_id on ch (kind 'M': stores the messageID mark it carries), synced per
 * the fsync policy. It is checked first, and refused with nothing written:
 *  - CG_EPROTO: not exactly one whole format-4 record of kind R, A or M
 *    with a good checksum (a torn or altered copy);
 *  - CG_ERANGE: its number is not after the endpoint's last one (a repeat or
 *    a record out of order: the replication stream lost its order); a record
 *    numbered 0 only while nothing numbered is held;
 *  - CG_ESTATE: its regime is foreign: newer than the regime this journal
 *    follows (cg_mos_endpoint_set_journal_regime or _set_aside: the active
 *    of another epoch, not followed yet), or older than the last record
 *    appended (an old active's record after a newer one's); also without a
 *    state directory;
 *  - CG_ENOTFOUND (peer), CG_EINVAL (arguments, a channel without a
 *    journal), CG_EIO (the write failed: nothing is left of it, errno kept).
 * why (whysz bytes, may be NULL) says which, with the numbers. The record's
 * number becomes the endpoint's position. The endpoint's memory of answers
 * is not changed (the lanes of a standby are not open): taking over, the
 * endpoint reads its journals again. The journal is not compacted while it
 * holds such records (it grows until then). */
CG_API enum cg_err cg_mos_endpoint_journal_append(struct cg_mos_endpoint *ep, const char *peer_id,
                                                  enum cg_mos_channel ch, const uint8_t *rec,
                                                  size_t len, char *why, size_t whysz);
/* A standby beginning the resync of another regime: every journal of the
 * endpoint is set aside, renamed <name>.journal.aside-<UTC time>-r<old
 * regime> (never overwriting one; kept for the operator, never read again),
 * and an empty one follows regime; the position goes back to 0 (the new
 * regime's numbers are its active's; a shared count too: set every endpoint
 * that shares it aside together). messageID marks stay (M-11: IDs are
 * never used twice, whoever is active). CG_ESTATE without a state
 * directory, CG_ERANGE for a regime below the one now, CG_EIO if a journal
 * could not be set aside or started (logged; the others are done). */
CG_API enum cg_err cg_mos_endpoint_journal_set_aside(struct cg_mos_endpoint *ep,
                                                     uint64_t regime);
/* Reads the endpoint's journals and marks from record number from on (0:
 * everything, the unnumbered records first): cb gets each record numbered
 * from or more, in the order of the numbers, with its bytes as stored
 * (valid during the call): what an active sends again to a standby that is
 * behind (RESYNC). A number a compaction dropped is not there (the first
 * one after it is). CG_ESTATE without a state directory, CG_ENOMEM, CG_EIO
 * (a journal that cannot be read), CG_EINVAL. */
typedef void (*cg_mos_journal_read_cb)(void *user, const char *peer_id, enum cg_mos_channel ch,
                                       uint64_t number, uint64_t regime, const uint8_t *rec,
                                       size_t len);
CG_API enum cg_err cg_mos_endpoint_journal_read(struct cg_mos_endpoint *ep, uint64_t from,
                                                cg_mos_journal_read_cb cb, void *user);

/* The answer gate of a pair's active (issue 18, docs/redundancy.md "What
 * is replicated, and when the sender gets its answer"). On: what an IN lane
 * writes to its peer in answer to a request (the answer, an ACK or NACK; not
 * a heartbeat's answer) is held until cg_mos_endpoint_release_answers has
 * released the journal's record count as it was when the answer was made
 * (the answer's own record and every one before it: on the standby); held
 * answers go in the order made. Off (the default): at once, and those held
 * go now. Answers held when the endpoint is freed, or whose peer or lane is
 * gone when released, are dropped: the sender repeats the request (M-22)
 * and is answered from the journal's memory. CG_EINVAL for ep NULL. Loop
 * thread; not from inside cg_mos_journal_ops.appended for off. */
CG_API enum cg_err cg_mos_endpoint_set_answer_gate(struct cg_mos_endpoint *ep, bool on);
/* Records numbered up to upto are on the standby: held answers made at
 * that count or below go now (from inside cg_mos_journal_ops.appended: with
 * the next answer or release). The count (the shared one when set) never
 * goes back; upto below what was released already changes nothing.
 * CG_EINVAL for ep NULL. Loop thread. */
CG_API enum cg_err cg_mos_endpoint_release_answers(struct cg_mos_endpoint *ep, uint64_t upto);
/* How many answers the gate holds now (0 for NULL). */
CG_API size_t cg_mos_endpoint_answers_held(const struct cg_mos_endpoint *ep);

/* Re-reads the credentials file (a SIGHUP reload); on error the previous
 * users stay. CG_ESTATE without a credentials file. */
CG_API enum cg_err cg_mos_endpoint_reload_credentials(struct cg_mos_endpoint *ep);
/* Serves our endpoint path on srv (M-02): upgrades with
 * ?mosID=…&ncsID=…&channel=mom|ro|aux[&passive=true] from known peers, with
 * Basic credentials (401 otherwise, M-05); 400 with a reason for anything
 * else. srv must outlive the endpoint. CG_ECONFIG (nothing served) when the
 * endpoint has no credentials file and cg_mos_endpoint_config_set_auth_none
 * was not set: secure by default. */
CG_API enum cg_err cg_mos_endpoint_attach(struct cg_mos_endpoint *ep, struct cg_server *srv,
                                          const char *path);
/* Starts dialing the lanes this endpoint opens. */
CG_API enum cg_err cg_mos_endpoint_start(struct cg_mos_endpoint *ep);
/* Closes every lane, completes pending sends with CG_ECLOSED, frees. */
CG_API void cg_mos_endpoint_free(struct cg_mos_endpoint *ep);

/* Queues a request to peer_id on channel. xml (UTF-8) is either one message
 * element ("<roCreate>…</roCreate>") or a whole <mos> message, whose envelope
 * is replaced by ours with a fresh messageID. cb (may be NULL) is called once.
 * CG_ENOTFOUND (peer), CG_EINVAL (channel not configured, not one message),
 * CG_EPROTO (a message removed in MOS 4.0: never initiated, M-12), CG_EFULL
 * (queue bound), CG_ETOOBIG. */
CG_API enum cg_err cg_mos_send(struct cg_mos_endpoint *ep, const char *peer_id,
                               enum cg_mos_channel channel, const char *xml, size_t len,
                               cg_mos_send_cb cb, void *user);
/* Like cg_mos_send for a relay: xml must be a whole <mos> message; its own
 * messageID (or its absence, M-11) travels on unchanged and the answer is
 * matched to it (a request without one: the first answer of its kind, the
 * channel's mosAck/roAck or the catalogue's reply, whatever messageID the
 * peer stamps on it); our mosID/ncsID envelope is used. Messages removed in 4.0
 * are not refused here: the relay's policy decides. */
CG_API enum cg_err cg_mos_forward(struct cg_mos_endpoint *ep, const char *peer_id,
                                  enum cg_mos_channel channel, const char *xml, size_t len,
                                  cg_mos_send_cb cb, void *user);
/* cg_mos_forward for a message already parsed (one the endpoint delivered,
 * or the answer of another): m->env (its messageID, name and element span)
 * is used as it is, the bytes are not read again. The element is copied
 * once, into our envelope in the encoding the peer reads (converted only
 * when m->enc differs from it), and that message is what every retry sends.
 * m->channel is the channel; m is borrowed for the call. Returns as
 * cg_mos_forward, and CG_EINVAL for a span outside m->xml. */
CG_API enum cg_err cg_mos_forward_message(struct cg_mos_endpoint *ep, const char *peer_id,
                                          const struct cg_mos_message *m, cg_mos_send_cb cb,
                                          void *user);
/* Withdraws a request queued with cg_mos_send, cg_mos_forward or
 * cg_mos_forward_message towards peer_id on channel, named by the cb and
 * user it was queued with (the oldest such one still queued or in flight).
 * Its cb is called with CG_ECANCELED before this returns, and it is never
 * written to the peer again: not by a retry, not when the lane comes back
 * (M-22 retries stop here). Not sent yet: it leaves the queue, the others
 * keep their order. In flight: the peer may have it (and apply it); its
 * answer, if one comes, is dropped (logged at info, counted in the lane's
 * late_answers), never taken as the next request's. While the lane is up
 * the next request waits for that answer or the answer timeout (M-22: one
 * message outstanding per lane); while it is down it goes when the lane is
 * back. The endpoint keeps no record of its own sends: nothing of a
 * cancelled one survives a restart (a relay answers the request it came
 * from, whose record on its IN lane then closes). A relay under failover
 * uses it for the request it moves to the other leg (docs/redundancy.md).
 * CG_OK, CG_ENOTFOUND (no such peer, or no such request: answered, given
 * up or cancelled already), CG_EINVAL (channel, NULL). */
CG_API enum cg_err cg_mos_forward_cancel(struct cg_mos_endpoint *ep, const char *peer_id,
                                         enum cg_mos_channel channel, cg_mos_send_cb cb,
                                         void *user);
/* Requests queued or in flight towards peer_id on channel. */
CG_API size_t cg_mos_pending(const struct cg_mos_endpoint *ep, const char *peer_id,
                             enum cg_mos_channel channel);

/* What one lane's message flow has done since the peer was added (the flow
 * core's counters, never reset). OUT-lane fields are filled for dir
 * CG_MOS_OUT, IN-lane fields for CG_MOS_IN; the others are 0. Round-trip
 * times run from the last send of a request to its answer (an answer that
 * arrived, OK or NACK; not a timeout), on a monotonic clock read in whole
 * milliseconds (an answer within the same millisecond counts as 0). */
struct cg_mos_lane_stats {
    /* OUT: our requests, their answers */
    uint64_t queued;         /* requests queued now, the one in flight included */
    uint64_t requests_sent;  /* requests sent for the first time */
    uint64_t retries;        /* sent again under the same messageID (M-22): after an answer
                                timeout or with the lane back */
    uint64_t timeouts;       /* given up after the retry budget (CG_ETIMEDOUT to the sender) */
    uint64_t answers;        /* requests answered (OK or NACK) */
    uint64_t nacks_received; /* ... of them NACKs (CG_ENACK to the sender) */
    uint64_t last_rtt_ms;    /* round-trip time of the last answer */
    struct cg_histogram rtt; /* every answer's round-trip time (castgate/stats.h) */
    uint64_t cancelled;      /* withdrawn by cg_mos_forward_cancel (CG_ECANCELED to the sender) */
    uint64_t late_answers;   /* answers to cancelled requests, dropped */
    /* IN: their requests, our answers */
    uint64_t delivered;        /* requests given to the application (on_request) */
    uint64_t nacks_sent;       /* requests refused with a NACK by the endpoint (stop-and-wait
                                  ignored, journal failure, wrong IDs, reused messageID...) */
    uint64_t repeats_answered; /* repeats answered from memory without the application (M-22) */
    uint32_t held;             /* requests waiting now behind the one at the application */
    uint32_t held_max;         /* the most that ever waited */
    uint64_t answers_held_bytes; /* bytes of our answers held now for repeats (M-22: the last
                                    64 messageIDs' answers, bounded by answer_memory) */
    uint64_t answers_evicted;    /* answers let go of for answer_memory (their messageIDs stay
                                    remembered: never delivered twice) */
    uint64_t repeats_not_held;   /* repeats of those, refused with a NACK ("no longer held") */
};

/* Fills *out for the lane of peer_id on channel in direction dir. Read-only
 * and cheap (a copy); call it from the loop thread, callbacks included.
 * CG_EINVAL for a NULL argument or a bad channel or dir, CG_ENOTFOUND for an
 * unknown peer. A lane that carried nothing yet reads all 0. */
CG_API enum cg_err cg_mos_endpoint_lane_stats(const struct cg_mos_endpoint *ep,
                                              const char *peer_id, enum cg_mos_channel channel,
                                              enum cg_mos_dir dir, struct cg_mos_lane_stats *out);

/* Answers a request (element or whole message, UTF-8; the envelope carries
 * the request's messageID). req is freed: do not use it afterwards. */
CG_API enum cg_err cg_mos_reply(struct cg_mos_request *req, const char *xml, size_t len);
/* Answers a request with another message's element (a relay: the far side's
 * answer as its cg_mos_send_cb received it), in our envelope with the
 * request's messageID, in the encoding the peer reads: answer->env's span is
 * used as it is, the element copied once and converted only when
 * answer->enc differs. On CG_OK req is freed (do not use it afterwards); on
 * an error (CG_EINVAL, CG_ENOMEM, CG_ETOOBIG, CG_EENCODING) it is still
 * unanswered: answer it otherwise (cg_mos_reply_ack). */
CG_API enum cg_err cg_mos_reply_message(struct cg_mos_request *req,
                                        const struct cg_mos_message *answer);
/* Answers a heartbeat request with a heartbeat carrying our time (M-10). */
CG_API enum cg_err cg_mos_reply_heartbeat(struct cg_mos_request *req);
/* Answers with the channel's acknowledgement: roAck (ro) or mosAck (mom,
 * aux), positive, or a NACK carrying description. */
CG_API enum cg_err cg_mos_reply_ack(struct cg_mos_request *req, bool ok,
                                    const char *description);

#ifdef __cplusplus
}
#endif
#endif
