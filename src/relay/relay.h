/* Private to src/relay: the relay's decisions (sans-I/O, unit-tested in
 * tests/unit/test_relay*.c) and the link configuration's fields. */
#ifndef CG_RELAY_RELAY_H
#define CG_RELAY_RELAY_H

#include <castgate/relay.h>

#include <stdbool.h>
#include <stddef.h>

#define RELAY_NAME_MAX 127
#define RELAY_ID_MAX 512
#define RELAY_PATH_MAX 255

struct cg_relay_link_config {
    char name[RELAY_NAME_MAX + 1];
    enum cg_mos_role gear_role;
    bool ids_set;
    char ncs_id[RELAY_ID_MAX + 1], mos_id[RELAY_ID_MAX + 1];
    char path[RELAY_PATH_MAX + 1];
    enum cg_relay_heartbeat heartbeat;
    enum cg_relay_removed removed_in_4;
    /* redundancy (issue 18): the buddy's ID per side ("": none) */
    char buddy_id[2][RELAY_ID_MAX + 1];
    char buddy_path[RELAY_PATH_MAX + 1]; /* "": path + "/buddy" */
    enum cg_relay_redundancy redundancy;
    uint64_t failover_after_ms, failback_after_ms;
    enum cg_relay_leg_state leg_state; /* issue 18: docs/redundancy.md "Mirroring a leg's state" */
    uint64_t leg_down_after_ms, leg_up_after_ms;
};

/* What the relay does with one request. */
enum relay_action {
    RELAY_FORWARD = 0,          /* to the other side, unchanged */
    RELAY_ANSWER_HEARTBEAT,     /* answer it ourselves (M-10 policy) */
    RELAY_REJECT_REMOVED,       /* NACK: removed in MOS 4.0 (M-12 policy reject) */
    RELAY_TRANSLATE,            /* translate, NACK if it cannot be (M-12) */
    RELAY_TRANSLATE_OR_PASS,    /* translate, forward unchanged if no translation exists */
};

/* The decision for a request named name (len bytes) arriving from side,
 * under the link's policies; out_lane_up: the lane it would leave on is up.
 * Pure. */
enum relay_action cg__relay_decide(const char *name, size_t len, enum cg_relay_side from,
                                   enum cg_relay_heartbeat hb, enum cg_relay_removed removed,
                                   bool out_lane_up);
/* After a translation attempt (trc from cg_mos_translate_removed) under
 * action RELAY_TRANSLATE or RELAY_TRANSLATE_OR_PASS: true to forward the
 * original unchanged (translate-or-pass and no translation exists, CG_ENOTSUP),
 * false to NACK. Only meaningful when trc != CG_OK. Pure. */
bool cg__relay_pass_untranslated(enum relay_action action, enum cg_err trc);
/* The endpoint of link name on side, or NULL (for tests). */
struct cg_mos_endpoint *cg__relay_endpoint(const struct cg_relay *r, const char *name,
                                           enum cg_relay_side side);
/* The endpoint of leg (0 primary, 1 buddy) of link name on side, or NULL (for tests). */
struct cg_mos_endpoint *cg__relay_leg_endpoint(const struct cg_relay *r, const char *name, int leg,
                                               enum cg_relay_side side);
/* Whether the n-th request without a messageID is reported (1, 10, 100, ...). Pure. */
bool cg__relay_report_count(unsigned long n);

/* What an answer is, for the counters and failover (issue 18). */
enum relay_answer {
    RELAY_ANS_OTHER = 0,        /* any answer: passed on as it is */
    RELAY_ANS_BUDDY_DECLINES,   /* "Buddy server cannot respond because main server is available" */
};
/* Whether the message element (the span elem of xml, len bytes in enc) of
 * an answer named name is a buddy's decline: a roAck whose roStatus, or a
 * mosAck whose statusDescription, is that sentence (surrounding white space
 * and ASCII case ignored). The answer is relayed unchanged either way. Pure. */
enum relay_answer cg__relay_classify_answer(const char *name, const char *xml, size_t len,
                                            enum cg_mos_encoding enc, struct cg_mos_span elem);

/* Which leg of the other side a request goes to: from_leg is the leg it
 * came on, nlegs the link's legs (1 or 2), buddy_side the side whose peer
 * has a buddy (under failover; ignored otherwise). The leg (0 primary, 1
 * buddy), or -1: the failover module decides (a request towards the side
 * with the buddy under failover). Pure. */
int cg__relay_route(enum cg_relay_redundancy mode, int nlegs, enum cg_relay_side buddy_side,
                    enum cg_relay_side from, int from_leg);

/* leg_state = mirror: whether a request named name (len bytes) towards a
 * held side waits for the release (a heartbeat, M-10: it carries no state,
 * and a NACK would tell the sender's link check that the far side answers)
 * rather than being refused at once (everything else: a request that waits
 * may be given up by its sender and sent elsewhere). Pure. */
bool cg__relay_waits_for_held(const char *name, size_t len);
/* leg_state = mirror: whether a request named name (len bytes) that the
 * side about to be held sent, and that still waits on the leg, is answered
 * before that side's connections are closed (a heartbeat, M-10: over a wire
 * the gear could not have sent it after the far server died; gear that
 * keeps an unanswered heartbeat across its own failover may wait for its
 * answer for ever, docs/redundancy.md) rather than given up unanswered
 * (everything else: its sender's timeout decides, as over a wire). Pure. */
bool cg__relay_answered_at_hold(const char *name, size_t len);
/* Whether a link mirrors its legs' state: its leg_state, its redundancy
 * and how many legs it has (the default mirrors a carried buddy leg). Pure. */
bool cg__relay_mirrors(enum cg_relay_leg_state st, enum cg_relay_redundancy mode, int nlegs);

/* stats.c: one NACK to a request from side, for reason, on channel
 * (enum cg_mos_channel: 1, 2, 4; others are not counted). Pure. */
void cg__relay_count_nack(struct cg_relay_stats *st, enum cg_relay_side from,
                          enum cg_relay_nack reason, enum cg_mos_channel channel);
/* stats.c: *a += *b. Pure. */
void cg__relay_auth_add(struct cg_auth_stats *a, const struct cg_auth_stats *b);

#endif
