/* castgate relay: a MOS 2.x <-> MOS 4.0 gateway as a library object.
 *
 * A relay holds links. Each link pairs legacy MOS 2.x gear (an NCS or a
 * device, over TCP, M-20..M-24) with a MOS 4.0 peer (the far side, over wss,
 * M-01..M-13). Towards the gear the relay plays the far side (its ID);
 * towards the far side it plays the gear (its ID): mosIDs, ncsIDs and
 * messageIDs pass end to end unchanged, and each request is answered with
 * the other side's own answer (M-22: one request in flight per lane; repeats
 * are collapsed and replayed by the endpoints). Endpoints are shared by
 * links with the same identity on the same side. A message is parsed once
 * per gateway and passed on as parsed, in the encoding it arrived in: from
 * UCS-2BE gear it leaves as a binary UCS-2BE WebSocket message, unconverted,
 * and back; only where the two sides differ (a UTF-8 legacy peer, a peer
 * taking text frames) is it converted (docs/ARCHITECTURE.md, "How a message
 * travels through a gateway pair").
 *
 * Per link, two policies, fixed when the link is configured:
 *  - heartbeat (M-10): pass it end to end, answer it ourselves when the far
 *    lane is down, or always answer it ourselves;
 *  - messages removed in MOS 4.0 coming from the legacy gear (M-12): pass,
 *    reject with a NACK, translate (docs/translation.md) or translate when a
 *    translation exists and pass otherwise.
 *
 * Threading: every function must be called on the thread that runs the
 * context's loop (cg_ctx_run), or before it runs. Callbacks run on that
 * thread. Functions marked "callback-safe" may be called from inside the
 * relay's own callbacks; the others must not be.
 *
 * The program castgate run (tools/cmd_run.c, docs/gateway.md) is one user of
 * this API: it reads the configuration file, handles signals and reloads,
 * and prints the events. */
#ifndef CASTGATE_RELAY_H
#define CASTGATE_RELAY_H

#include <castgate/ctx.h>
#include <castgate/error.h>
#include <castgate/mos4.h>
#include <castgate/server.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_relay;
struct cg_relay_link_config;

/* The two sides of a link. */
enum cg_relay_side {
    CG_RELAY_LEGACY = 0, /* the legacy MOS 2.x gear, over TCP */
    CG_RELAY_MOS4 = 1,   /* the MOS 4.0 far side, over wss */
};

/* What to do with a heartbeat request (M-10). */
enum cg_relay_heartbeat {
    CG_RELAY_HB_PASS = 0,       /* end to end (the default) */
    CG_RELAY_HB_PASS_OR_ANSWER, /* end to end; answered by us while the far lane is down */
    CG_RELAY_HB_ANSWER,         /* always answered by us */
};

/* What to do with a message removed in MOS 4.0 from the legacy gear (M-12). */
enum cg_relay_removed {
    CG_RELAY_REMOVED_PASS = 0,          /* forward unchanged (the default) */
    CG_RELAY_REMOVED_REJECT,            /* NACK it: "removed in MOS 4.0" */
    CG_RELAY_REMOVED_TRANSLATE,         /* translate; NACK when it cannot be translated */
    CG_RELAY_REMOVED_TRANSLATE_OR_PASS, /* translate; forward unchanged when no translation exists */
};

/* Policy names as in docs/gateway.md ("pass", "pass-or-answer", "answer";
 * "pass", "reject", "translate", "translate-or-pass") to enums. For a
 * program's configuration loader. Returns CG_OK, or CG_EINVAL for NULL
 * arguments or an unknown name (*out unchanged). Pure; callback-safe. */
CG_API enum cg_err cg_relay_heartbeat_parse(const char *name, enum cg_relay_heartbeat *out);
CG_API enum cg_err cg_relay_removed_parse(const char *name, enum cg_relay_removed *out);

/* Which server of a redundant pair a leg of a link carries (issue 18,
 * docs/redundancy.md): an NCS's main and its buddy (backup), or a device and
 * its hot standby. */
enum cg_relay_leg {
    CG_RELAY_PRIMARY = 0,
    CG_RELAY_BUDDY = 1,
};

/* What a link whose peer has a buddy does with the two (docs/redundancy.md). */
enum cg_relay_redundancy {
    /* Both carried end to end, each as its own pair of peers (a leg): the
     * other side sees two peers, as it would without the gateway, and does
     * its own hot standby. The default. */
    CG_RELAY_CARRY = 0,
    /* The other side sees one peer; the requests it originates go to the
     * active leg: the primary, the buddy after the primary was unreachable
     * for failover_after_ms, the primary again once it was back for
     * failback_after_ms (hysteresis). */
    CG_RELAY_FAILOVER = 1,
};
#define CG_RELAY_NEVER UINT64_MAX /* failback_after_ms: never by itself */

/* What a leg's state does to the other side of the link (issue 18,
 * docs/redundancy.md "Mirroring a leg's state"). */
enum cg_relay_leg_state {
    /* KEEP for now (meant to become MIRROR on a link that carries a buddy
     * leg once tests/interop/test_gateway_hotstandby.sh passes with it:
     * docs/redundancy.md "Mirroring a leg's state"). */
    CG_RELAY_LEG_DEFAULT = 0,
    /* Each side's connections stay up whatever the other side's state
     * (requests for a side that is away wait for it: M-22). */
    CG_RELAY_LEG_KEEP,
    /* A leg behaves as a wire for its gear: when one side of it has been
     * down for leg_down_after_ms, the other side's connections of that leg
     * are closed and refused until the first has been back for
     * leg_up_after_ms, and the leg's requests not answered yet are given up
     * on both sides (their senders were told "connection gone"), never
     * delivered later. Not with CG_RELAY_FAILOVER. */
    CG_RELAY_LEG_MIRROR,
};

/* "carry" or "failover" to the enum. CG_OK or CG_EINVAL (NULL, unknown
 * name). Pure; callback-safe. */
CG_API enum cg_err cg_relay_redundancy_parse(const char *name, enum cg_relay_redundancy *out);
/* "default", "keep" or "mirror" to the enum. CG_OK or CG_EINVAL. Pure;
 * callback-safe. */
CG_API enum cg_err cg_relay_leg_state_parse(const char *name, enum cg_relay_leg_state *out);
/* "primary" or "buddy" ("?" outside the enum). Pure; callback-safe. */
CG_API const char *cg_relay_leg_name(enum cg_relay_leg leg);

/* ---- link configuration ---- */

/* A new link configuration named name (1..127 bytes, no control
 * characters; unique within a relay). Policies start at PASS; the gear's
 * role and both IDs must be set before cg_relay_add_link. Returns CG_OK,
 * CG_EINVAL (NULL argument or bad name) or CG_ENOMEM. The caller owns *out
 * and frees it with cg_relay_link_config_free (NULL is fine).
 * Callback-safe. */
CG_API enum cg_err cg_relay_link_config_new(const char *name, struct cg_relay_link_config **out);
CG_API void cg_relay_link_config_free(struct cg_relay_link_config *lc);

/* The legacy gear's role (CG_MOS_ROLE_NCS: the gear is an NCS, the far side
 * a MOS device; CG_MOS_ROLE_MOS: the other way round), the NCS's ncsID and
 * the device's mosID (M-xx IDs: 1..128 characters, as
 * cg_mos_endpoint_config_new accepts). The strings are copied. Returns
 * CG_OK or CG_EINVAL (NULL, bad role, empty or too long ID, or both IDs
 * equal). Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_gear(struct cg_relay_link_config *lc,
                                                 enum cg_mos_role gear_role, const char *ncs_id,
                                                 const char *mos_id);
/* The URL path our MOS 4.0 endpoint for this link serves on the relay's
 * server (never set: "/mos/Communication", M-02). An endpoint shared by
 * several links serves the path of the first. Copied. Returns CG_OK or
 * CG_EINVAL (NULL, empty, longer than 255 bytes, not starting with '/').
 * Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_path(struct cg_relay_link_config *lc, const char *path);
/* The link's policies. Return CG_OK or CG_EINVAL (a value outside the
 * enum). Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_heartbeat(struct cg_relay_link_config *lc,
                                                      enum cg_relay_heartbeat policy);
CG_API enum cg_err cg_relay_link_config_set_removed_in_4(struct cg_relay_link_config *lc,
                                                         enum cg_relay_removed policy);

/* The peer on side has a buddy whose ID is id (an NCS's backup server, a
 * device's hot standby; 1..128 characters, not one of the link's IDs): the
 * link gets a second leg, added with cg_relay_link_add_buddy, that carries
 * the buddy in place of that side's peer. Under CG_RELAY_CARRY both sides
 * may have one (the buddy leg then pairs the two buddies); under
 * CG_RELAY_FAILOVER only one side. Copied. Returns CG_OK or CG_EINVAL (NULL,
 * a bad side or ID). Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_buddy(struct cg_relay_link_config *lc,
                                                  enum cg_relay_side side, const char *id);
/* The URL path our MOS 4.0 endpoint serves for the buddy leg when that leg
 * has its own MOS 4.0 identity (the legacy gear has a buddy, carried): never
 * set, the link's path followed by "/buddy". Copied. Returns as
 * cg_relay_link_config_set_path. Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_buddy_path(struct cg_relay_link_config *lc,
                                                       const char *path);
/* The link's redundancy (above) and, for CG_RELAY_FAILOVER, how long the
 * active leg must have been unreachable (continuously) while the other leg
 * is up before requests move to the other (failover_after_ms, 1..86400000),
 * and how long the primary must have been back (continuously) before they
 * move back to it (failback_after_ms, 1..86400000, or CG_RELAY_NEVER).
 * Returns CG_OK or CG_EINVAL. Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_redundancy(struct cg_relay_link_config *lc,
                                                       enum cg_relay_redundancy mode,
                                                       uint64_t failover_after_ms,
                                                       uint64_t failback_after_ms);

/* The link's leg state (above): how long one side of a leg must have been
 * down (continuously) before the other side is held (down_after_ms,
 * 1..86400000; keep it well below the gear's answer timeout, so that a
 * request the gear gives up on is given up here first), and how long it
 * must have been back (continuously) before the other side is released
 * (up_after_ms, 1..86400000; hysteresis). Returns CG_OK or CG_EINVAL.
 * Callback-safe. */
CG_API enum cg_err cg_relay_link_config_set_leg_state(struct cg_relay_link_config *lc,
                                                      enum cg_relay_leg_state state,
                                                      uint64_t down_after_ms,
                                                      uint64_t up_after_ms);

/* ---- events ---- */

enum cg_relay_event_kind {
    /* One lane of one endpoint came up or went down: side, peer_id,
     * channel, dir, up. link is NULL when no link has that peer. */
    CG_RELAY_EV_LANE = 0,
    /* A side of a link became reachable (some lane up) or unreachable (none
     * up): side, peer_id (the ID of the peer on that side), up, and both
     * sides' state in legacy_up and mos4_up. */
    CG_RELAY_EV_LINK,
    /* A request arrived from side and is about to be relayed (message set;
     * link NULL when no link has that peer: it is NACKed). */
    CG_RELAY_EV_REQUEST,
    /* Requests without a messageID (M-11; MOS 2.6 gear) passed from the
     * legacy gear to the MOS 4.0 side, which may refuse them: count is the
     * link's total, reported at 1, 10, 100, ...; message is the latest. */
    CG_RELAY_EV_NO_MESSAGEID,
    /* Failover (CG_RELAY_FAILOVER): the requests towards side now go to
     * leg (was: the leg before), why: "unreachable" (the active leg was
     * unreachable for for_ms while the other was up), "primary-back" (the
     * primary was back for for_ms) or "forced". peer_id: the new leg's peer. */
    CG_RELAY_EV_ACTIVE,
    /* Leg state (CG_RELAY_LEG_MIRROR): what ("held", "released" or
     * "given-up") happened to side of leg (peer_id: its peer) because the
     * other side (cause) was down (held, given-up) or back (released) for
     * for_ms; count: for "given-up", the requests given up. */
    CG_RELAY_EV_LEG,
};

/* Everything in an event is borrowed for the duration of the callback. */
struct cg_relay_event {
    enum cg_relay_event_kind kind;
    const char *link;       /* the link's name, or NULL */
    enum cg_relay_side side;
    const char *peer_id;    /* the peer on side */
    enum cg_mos_channel channel;
    enum cg_mos_dir dir;
    bool up;                /* LANE, LINK */
    bool legacy_up, mos4_up; /* LINK */
    const struct cg_mos_message *message; /* REQUEST, NO_MESSAGEID */
    unsigned long count;    /* NO_MESSAGEID */
    enum cg_relay_leg leg;  /* LANE, LINK, REQUEST: the leg of peer_id; ACTIVE: the one now active */
    enum cg_relay_leg was;  /* ACTIVE: the leg active before */
    const char *why;        /* ACTIVE: "unreachable", "primary-back" or "forced"; LEG: what */
    uint64_t for_ms;        /* ACTIVE, LEG: how long the reason held */
    enum cg_relay_side cause; /* LEG: the side whose state decided */
};

struct cg_relay_handlers {
    /* Called for each endpoint the relay creates (one per side and
     * identity), with a configuration already made for role and our_id.
     * Set what the relay does not decide (state directory, journal, timing,
     * limits, credentials on the MOS 4.0 side); the relay then sets
     * redelivery and heartbeat delivery itself. Return CG_OK or an error,
     * which fails the cg_relay_add_link that needed the endpoint. NULL: the
     * library's defaults. Must not call relay functions. */
    enum cg_err (*configure_endpoint)(void *user, enum cg_relay_side side, enum cg_mos_role role,
                                      const char *our_id, struct cg_mos_endpoint_config *cfg);
    /* Events (above). NULL: none. May call callback-safe functions. */
    void (*on_event)(void *user, const struct cg_relay_event *ev);
    /* Called just before the relay frees an endpoint it created (its last
     * link removed, or cg_relay_free), no longer listed by
     * cg_relay_endpoints: whoever kept the pointer, or gave the endpoint
     * pointers of its own (journal ops, counter), lets go of them here.
     * NULL: nobody is told. Must not call relay functions. */
    void (*endpoint_gone)(void *user, struct cg_mos_endpoint *ep);
};

/* Why a request was answered with a NACK (counted in struct cg_relay_stats). */
enum cg_relay_nack {
    CG_RELAY_NACK_REMOVED = 0, /* removed in MOS 4.0, policy reject (M-12) */
    CG_RELAY_NACK_TRANSLATE,   /* removed in MOS 4.0 and not translatable (M-12) */
    CG_RELAY_NACK_FORWARD,     /* could not be forwarded (queue full, lane gone, ...) */
    CG_RELAY_NACK_NO_ANSWER,   /* forwarded, no answer: retries exhausted */
    CG_RELAY_NACK_PEER,        /* the other side's own NACK, relayed */
    CG_RELAY_NACK_REASONS
};
#define CG_RELAY_CHANNELS 3 /* channel index: 0 mom, 1 ro, 2 aux (enum cg_mos_channel 1, 2, 4) */

/* A stable lower-case name for reason ("removed_in_4", "translate",
 * "forward", "no_answer", "peer"; "unknown" outside the enum), for a label.
 * Pure; callback-safe. */
CG_API const char *cg_relay_nack_name(enum cg_relay_nack reason);

/* Per-link counters since the link was added. */
struct cg_relay_stats {
    uint64_t forwarded;      /* requests passed to the other side (cg_mos_forward accepted) */
    uint64_t answered;       /* forwards that came back with the other side's answer */
    uint64_t heartbeats_answered; /* heartbeats answered by the relay itself (policy) */
    uint64_t translated;     /* removed-in-4.0 messages translated before forwarding */
    uint64_t rejected;       /* NACKed by the relay: policy, translation or forward failure */
    uint64_t failed;         /* forwards that ended without an answer (retries exhausted) */
    uint64_t not_forwarded;  /* left unanswered while draining (the sender repeats them) */
    uint64_t no_message_id;  /* requests without a messageID passed to the MOS 4.0 side (M-11) */
    uint32_t in_flight;      /* forwards awaiting the other side's answer now */
    bool legacy_up, mos4_up; /* any lane up on that side now */
    /* NACKs answered to requests from side s (enum cg_relay_side), by
     * reason and channel index: the relay's own (rejected, failed) and the
     * other side's relayed. */
    uint64_t nacks[2][CG_RELAY_NACK_REASONS][CG_RELAY_CHANNELS];
    /* Redundancy (issue 18). legacy_up and mos4_up above say whether any
     * leg of that side is up; leg_up[leg][side] says it per leg (a leg that
     * shares the other leg's peer on a side, under failover, reads false). */
    bool leg_up[2][2];
    enum cg_relay_leg active; /* failover: where requests go now (CG_RELAY_PRIMARY otherwise) */
    uint64_t switches;        /* failover: changes of the active leg */
    uint64_t withdrawn;       /* failover: requests in flight moved to the other leg at a switch
                                 (each withdrawn from the old leg's lane: cg_mos_forward_cancel) */
    uint64_t late_dropped;    /* failover: answers from a leg a request was withdrawn from, dropped
                                 by the relay (the old leg's lane drops the answers to what it
                                 withdrew itself: its lane stats' late_answers) */
    /* answers "Buddy server cannot respond because main server is available"
     * (roAck roStatus, mosAck statusDescription) relayed as they are (they
     * are also in nacks[][CG_RELAY_NACK_PEER] when the roAck/mosAck is not OK) */
    uint64_t buddy_declined;
    /* Leg state (CG_RELAY_LEG_MIRROR): which side of which leg is held now
     * ([leg][side]), how often a side was held, and how many requests were
     * given up (their senders told "connection gone"). */
    bool mirror;              /* the link mirrors its legs' state */
    bool leg_held[2][2];
    uint64_t holds;
    uint64_t given_up;
};

/* ---- the relay ---- */

/* A relay on ctx. srv (may be NULL: the MOS 4.0 side then only dials out)
 * is the wss server the MOS 4.0 endpoints attach to; it is borrowed and
 * must outlive the relay; the caller starts it. handlers is copied (NULL:
 * no callbacks); user is passed to them. Returns CG_OK, CG_EINVAL (ctx or
 * out NULL) or CG_ENOMEM. Not callback-safe. */
CG_API enum cg_err cg_relay_new(struct cg_ctx *ctx, struct cg_server *srv,
                                const struct cg_relay_handlers *handlers, void *user,
                                struct cg_relay **out);
/* Removes every link (forwards in flight end with CG_ECLOSED; their
 * requests are dropped unanswered: senders repeat them, M-22), frees the
 * endpoints and the relay. No callbacks run after it returns. NULL is
 * fine. Not callback-safe. */
CG_API void cg_relay_free(struct cg_relay *r);

/* Starts the endpoints: legacy listeners and dialers, MOS 4.0 dialers.
 * Links added before are started now, links added after at once. A relay
 * never started only checks configurations (a program's --check-config).
 * Returns CG_OK, CG_ESTATE (started already) or the first endpoint's
 * start error. Not callback-safe. */
CG_API enum cg_err cg_relay_start(struct cg_relay *r);

/* Adds the link lc (copied; the caller still owns lc). gear_peer and
 * far_peer configure the peers (their IDs must be the gear's ID and the
 * far side's ID of lc: ncsID or mosID by role): gear_peer carries the
 * legacy transport (legacy_dial/listen, encoding, allow), far_peer the wss
 * side (url, trust, mode, channels). Both are borrowed for the call.
 * Returns CG_OK; CG_EINVAL (NULL, IDs not set in lc, peer IDs that do not
 * match); CG_EEXIST (a link of that name, or an endpoint that has the
 * peer already); CG_ENOMEM; or the endpoint's error (configure_endpoint,
 * attach, start, add_peer). On error nothing was added. Not
 * callback-safe. */
CG_API enum cg_err cg_relay_add_link(struct cg_relay *r, const struct cg_relay_link_config *lc,
                                     const struct cg_mos_peer_config *gear_peer,
                                     const struct cg_mos_peer_config *far_peer);
/* Adds the buddy leg of the link named name (its configuration named a
 * buddy: cg_relay_link_config_set_buddy). gear_peer configures the buddy
 * leg's legacy peer (the ID: the legacy side's buddy, or the gear's ID when
 * only the far side has one; its transport: the buddy's legacy_dial/listen,
 * encoding, allow), far_peer its MOS 4.0 peer (the far side's buddy's ID, or
 * the far side's ID when only the gear has one; url, trust, mode).
 * Under CG_RELAY_FAILOVER the side without a buddy keeps its one peer: its
 * argument must be NULL. Borrowed for the call. Returns CG_OK; CG_EINVAL
 * (NULL, no buddy configured, buddies on both sides under failover, peer IDs
 * that do not match); CG_ENOTFOUND (no such link); CG_EEXIST (it has a buddy
 * leg already, or an endpoint has the peer); CG_ENOMEM; or the endpoint's
 * error. On error the link is as before. Not callback-safe. */
CG_API enum cg_err cg_relay_link_add_buddy(struct cg_relay *r, const char *name,
                                           const struct cg_mos_peer_config *gear_peer,
                                           const struct cg_mos_peer_config *far_peer);
/* Stops and removes the link named name: its peers are removed from the
 * endpoints (forwards in flight end, their requests dropped unanswered),
 * endpoints no other link uses are freed. Other links keep running.
 * Returns CG_OK, CG_EINVAL (NULL) or CG_ENOTFOUND. Not callback-safe. */
CG_API enum cg_err cg_relay_remove_link(struct cg_relay *r, const char *name);
/* Whether a link named name exists. Callback-safe. */
CG_API bool cg_relay_has_link(const struct cg_relay *r, const char *name);

/* One endpoint of the relay (one per side and identity, shared by the
 * links with that identity): side, the role and ID we play there, and the
 * endpoint itself (borrowed: it lives until the last link using it is
 * removed or the relay is freed). */
typedef void (*cg_relay_endpoint_fn)(void *user, enum cg_relay_side side, enum cg_mos_role role,
                                     const char *our_id, struct cg_mos_endpoint *ep);
/* Calls fn for each endpoint of the relay, in no set order: a gateway pair
 * (issue 18, docs/redundancy.md) reaches the endpoints' journals through it
 * (cg_mos_endpoint_set_journal_ops, _set_journal_counter, _journal_append,
 * _journal_read). fn must not add or remove links. Returns CG_OK or
 * CG_EINVAL (r or fn NULL). Callback-safe. */
CG_API enum cg_err cg_relay_endpoints(struct cg_relay *r, cg_relay_endpoint_fn fn, void *user);

/* Re-reads the credentials file of every MOS 4.0 endpoint
 * (cg_mos_endpoint_reload_credentials). Returns CG_OK or the first error;
 * the others are still reloaded. Not callback-safe. */
CG_API enum cg_err cg_relay_reload_credentials(struct cg_relay *r);

/* Completion of a drain: nothing is in flight any more. */
typedef void (*cg_relay_drained_cb)(void *user);
/* Drains: from now on no new request is forwarded (each is left
 * unanswered; its sender repeats it to the restarted gateway, M-22) and
 * cb(user) is called once when the last forward in flight is answered —
 * before this returns when none is in flight. The caller keeps its own
 * deadline; cg_relay_inflight says what is left. A second drain replaces
 * the callback. Returns CG_OK or CG_EINVAL (r NULL). cb may be NULL.
 * Callback-safe. */
CG_API enum cg_err cg_relay_drain(struct cg_relay *r, cg_relay_drained_cb cb, void *user);
/* Forwards in flight, all links. Callback-safe. */
CG_API unsigned cg_relay_inflight(const struct cg_relay *r);

/* Copies the counters of the link named name into *out. Returns CG_OK,
 * CG_EINVAL (NULL) or CG_ENOTFOUND. Callback-safe. */
CG_API enum cg_err cg_relay_link_stats(const struct cg_relay *r, const char *name,
                                       struct cg_relay_stats *out);

/* The Basic-credential counts (M-05) of every MOS 4.0 endpoint of the
 * relay, summed (cg_mos_endpoint_auth_stats). Returns CG_OK or CG_EINVAL
 * (NULL). Callback-safe. */
CG_API enum cg_err cg_relay_auth_stats(const struct cg_relay *r, struct cg_auth_stats *out);
/* The counters of the peer on side of the link named name
 * (cg_mos_peer_stats: our wss dials to the far side, the journal of its
 * lanes). Returns CG_OK, CG_EINVAL (NULL, a bad side) or CG_ENOTFOUND.
 * Callback-safe. */
CG_API enum cg_err cg_relay_link_side_stats(const struct cg_relay *r, const char *name,
                                            enum cg_relay_side side,
                                            struct cg_mos_peer_stats *out);
/* The flow counters of one lane of the link named name (issue 15 item 4):
 * the peer on side, its channel (CG_MOS_CH_MOM, _RO or _AUX) in direction
 * dir (cg_mos_endpoint_lane_stats: OUT our requests to that peer and their
 * answers, retries, timeouts and round trips; IN its requests to us, held,
 * NACKed by the endpoint or answered from memory). A lane that carried
 * nothing yet, or a channel the link does not use, reads all 0. Returns
 * CG_OK, CG_EINVAL (NULL, a bad side, channel or dir) or CG_ENOTFOUND (no
 * such link). Callback-safe. */
CG_API enum cg_err cg_relay_link_lane_stats(const struct cg_relay *r, const char *name,
                                            enum cg_relay_side side, enum cg_mos_channel channel,
                                            enum cg_mos_dir dir, struct cg_mos_lane_stats *out);

#ifdef __cplusplus
}
#endif

#endif
