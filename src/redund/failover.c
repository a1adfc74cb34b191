/* Failover between a primary and a buddy, sans-I/O (redund.h, issue 18
 * item 2, docs/redundancy.md). Decides which side requests go to, when to
 * switch (with hysteresis) and what happens to the requests in flight and
 * queued at a switch. */
#include "redund/redund.h"

#include <string.h>

static struct cg_fo_act *push(struct cg_fo *fo, enum cg_fo_act_kind kind, uint64_t now)
{
    if (fo->alen == CG_FO_ACTS) { /* cannot happen: an event makes at most 1 + 2*3 + 3 + 2 */
        fo->overflow = true;
        memset(&fo->spill, 0, sizeof(fo->spill));
        return &fo->spill;
    }
    struct cg_fo_act *a = &fo->acts[(fo->ahead + fo->alen++) % CG_FO_ACTS];
    *a = (struct cg_fo_act){.kind = kind, .at_ms = now};
    return a;
}

bool cg__fo_action(struct cg_fo *fo, struct cg_fo_act *a)
{
    if (fo->alen == 0)
        return false;
    *a = fo->acts[fo->ahead];
    fo->ahead = (fo->ahead + 1) % CG_FO_ACTS;
    fo->alen--;
    return true;
}

static enum cg_fo_peer other(enum cg_fo_peer p) { return p == CG_FO_PRIMARY ? CG_FO_BUDDY : CG_FO_PRIMARY; }

static bool all_idle(const struct cg_fo *fo)
{
    for (int c = 0; c < CG_FO_CHANNELS; c++)
        if (fo->ch[c].busy)
            return false;
    return true;
}

/* The next queued request of channel c goes out when nothing is in flight
 * there (M-22), the active side is up and no graceful switch is waiting. */
static void pump(struct cg_fo *fo, uint64_t now, int c)
{
    struct cg_fo_chan *ch = &fo->ch[c];
    if (ch->busy || ch->len == 0 || !fo->up[fo->active] || fo->draining)
        return;
    ch->ref = ch->q[ch->head];
    ch->head = (ch->head + 1) % CG_FO_QUEUE;
    ch->len--;
    ch->busy = true;
    ch->to = fo->active;
    struct cg_fo_act *a = push(fo, CG_FO_A_SEND, now);
    a->ch = c, a->ref = ch->ref, a->peer = ch->to;
}

static void pump_all(struct cg_fo *fo, uint64_t now)
{
    for (int c = 0; c < CG_FO_CHANNELS; c++)
        pump(fo, now, c);
}

/* Requests go to `to` from now on. A request still in flight on the old side
 * (only after a failure switch: a graceful one waits for them) is withdrawn
 * there and sent to the new side under its own messageID (M-22), ahead of
 * the queue, which keeps its order. */
static void do_switch(struct cg_fo *fo, uint64_t now, enum cg_fo_peer to, enum cg_fo_reason why,
                      uint64_t for_ms)
{
    enum cg_fo_peer from = fo->active;
    struct cg_fo_act *a = push(fo, CG_FO_A_SWITCH, now);
    a->from = from, a->to = to, a->why = why, a->for_ms = for_ms;
    fo->active = to;
    fo->draining = false;
    fo->switches++;
    for (int c = 0; c < CG_FO_CHANNELS; c++) {
        struct cg_fo_chan *ch = &fo->ch[c];
        if (!ch->busy || ch->to == to)
            continue;
        a = push(fo, CG_FO_A_CANCEL, now);
        a->ch = c, a->ref = ch->ref, a->peer = ch->to;
        ch->to = to;
        a = push(fo, CG_FO_A_SEND, now);
        a->ch = c, a->ref = ch->ref, a->peer = to, a->resend = true;
    }
    pump_all(fo, now);
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* The failure rule first: the active side unreachable for failover_after
 * while the other is up. It overrides a graceful switch that waits. */
static bool failure_due(const struct cg_fo *fo, uint64_t now)
{
    enum cg_fo_peer a = fo->active;
    return !fo->up[a] && fo->up[other(a)] && now >= add_sat(fo->since[a], fo->cfg.failover_after_ms);
}

static bool failback_due(const struct cg_fo *fo, uint64_t now)
{
    return fo->active == CG_FO_BUDDY && fo->up[CG_FO_PRIMARY] && fo->up[CG_FO_BUDDY] &&
           fo->cfg.failback_after_ms != CG_FO_NEVER &&
           now >= add_sat(fo->since[CG_FO_PRIMARY], fo->cfg.failback_after_ms);
}

static void evaluate(struct cg_fo *fo, uint64_t now)
{
    enum cg_fo_peer a = fo->active, o = other(a);
    if (failure_due(fo, now)) {
        do_switch(fo, now, o, CG_FO_R_UNREACHABLE, now - fo->since[a]);
        return;
    }
    if (fo->draining && !fo->up[o]) /* the side we were going to is gone again */
        fo->draining = false;
    if (!fo->draining && failback_due(fo, now)) {
        fo->draining = true;
        fo->drain_why = CG_FO_R_PRIMARY_BACK;
    }
    if (fo->draining && all_idle(fo)) {
        do_switch(fo, now, o, fo->drain_why,
                  fo->drain_why == CG_FO_R_PRIMARY_BACK ? now - fo->since[o] : 0);
        return;
    }
    pump_all(fo, now);
}

enum cg_err cg__fo_init(struct cg_fo *fo, const struct cg_fo_config *cfg, uint64_t now_ms)
{
    CG_CHECK(fo != NULL && cfg != NULL && cfg->max_queue <= CG_FO_QUEUE, CG_EINVAL);
    memset(fo, 0, sizeof(*fo));
    fo->cfg = *cfg;
    if (fo->cfg.max_queue == 0)
        fo->cfg.max_queue = CG_FO_QUEUE;
    fo->active = CG_FO_PRIMARY;
    fo->since[0] = fo->since[1] = now_ms;
    return CG_OK;
}

void cg__fo_side(struct cg_fo *fo, uint64_t now_ms, enum cg_fo_peer peer, bool up)
{
    if (fo->up[peer] != up) {
        fo->up[peer] = up;
        fo->since[peer] = now_ms;
    }
    evaluate(fo, now_ms);
}

enum cg_err cg__fo_request(struct cg_fo *fo, uint64_t now_ms, int ch, uint64_t ref)
{
    CG_CHECK(ch >= 0 && ch < CG_FO_CHANNELS && ref != 0, CG_EINVAL);
    struct cg_fo_chan *c = &fo->ch[ch];
    CG_CHECK(c->len + (c->busy ? 1 : 0) < fo->cfg.max_queue, CG_EFULL);
    c->q[(c->head + c->len++) % CG_FO_QUEUE] = ref;
    pump(fo, now_ms, ch);
    return CG_OK;
}

void cg__fo_answer(struct cg_fo *fo, uint64_t now_ms, int ch, uint64_t ref, enum cg_fo_peer peer,
                   enum cg_fo_answer kind)
{
    if (ch < 0 || ch >= CG_FO_CHANNELS)
        return;
    struct cg_fo_chan *c = &fo->ch[ch];
    struct cg_fo_act *a;
    if (!c->busy || c->ref != ref || c->to != peer) { /* one answer per request */
        a = push(fo, CG_FO_A_DROP, now_ms);
        a->ch = ch, a->ref = ref, a->peer = peer, a->answer = kind;
        a->why = c->busy && c->ref == ref ? CG_FO_R_LATE : CG_FO_R_UNKNOWN;
        return;
    }
    c->busy = false;
    a = push(fo, CG_FO_A_DELIVER, now_ms);
    a->ch = ch, a->ref = ref, a->peer = peer, a->answer = kind;
    if (kind == CG_FO_ANS_BUDDY_DECLINES) { /* relayed as it is; noted, never a switch */
        a = push(fo, CG_FO_A_NOTE, now_ms);
        a->ch = ch, a->ref = ref, a->peer = peer, a->why = CG_FO_R_BUDDY_DECLINED;
    }
    evaluate(fo, now_ms);
}

void cg__fo_timer(struct cg_fo *fo, uint64_t now_ms) { evaluate(fo, now_ms); }

enum cg_err cg__fo_force(struct cg_fo *fo, uint64_t now_ms, enum cg_fo_peer peer)
{
    CG_CHECK(peer == CG_FO_PRIMARY || peer == CG_FO_BUDDY, CG_EINVAL);
    if (fo->active == peer) {
        fo->draining = false;
        pump_all(fo, now_ms);
        return CG_OK;
    }
    CG_CHECK(fo->up[peer], CG_ESTATE);
    fo->draining = true;
    fo->drain_why = CG_FO_R_FORCED;
    evaluate(fo, now_ms);
    return CG_OK;
}

uint64_t cg__fo_deadline(const struct cg_fo *fo)
{
    enum cg_fo_peer a = fo->active, o = other(a);
    uint64_t d = CG_FO_NEVER;
    if (!fo->up[a] && fo->up[o])
        d = add_sat(fo->since[a], fo->cfg.failover_after_ms);
    if (!fo->draining && a == CG_FO_BUDDY && fo->up[CG_FO_PRIMARY] && fo->up[CG_FO_BUDDY] &&
        fo->cfg.failback_after_ms != CG_FO_NEVER) {
        uint64_t b = add_sat(fo->since[CG_FO_PRIMARY], fo->cfg.failback_after_ms);
        d = b < d ? b : d;
    }
    return d;
}

const char *cg__fo_reason_name(enum cg_fo_reason why)
{
    switch (why) {
    case CG_FO_R_NONE: return "none";
    case CG_FO_R_UNREACHABLE: return "unreachable";
    case CG_FO_R_PRIMARY_BACK: return "primary-back";
    case CG_FO_R_FORCED: return "forced";
    case CG_FO_R_BUDDY_DECLINED: return "buddy-declined";
    case CG_FO_R_LATE: return "late";
    case CG_FO_R_UNKNOWN: return "unknown";
    }
    return "?";
}

const char *cg__fo_peer_name(enum cg_fo_peer p) { return p == CG_FO_PRIMARY ? "primary" : "buddy"; }
