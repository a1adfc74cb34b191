/* The relay: links between legacy MOS 2.x gear and MOS 4.0 peers
 * (include/castgate/relay.h). A request from either side is forwarded with
 * cg_mos_forward and answered with the other side's own answer (M-22);
 * heartbeats (M-10) and messages removed in 4.0 (M-12) follow the link's
 * policies (policy.c decides). A link whose peer has a buddy (issue 18,
 * docs/redundancy.md) has two legs, each a pair of peers: carried end to end
 * each on its own, or under failover the requests towards the side with the
 * buddy go through the sans-I/O failover core (src/redund/failover.c).
 * Under leg_state = mirror each leg's state reaches the other side through
 * the sans-I/O mirror core (mirror.c): a side held, released, the leg's
 * requests given up. */
#include "core/core.h"
#include "mos4/mos4.h"
#include "redund/redund.h"
#include "relay/mirror.h"
#include "relay/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct rep { /* one of our endpoints, shared by the links with its identity */
    struct cg_relay *r;
    enum cg_relay_side side;
    enum cg_mos_role role;
    char id[RELAY_ID_MAX + 1];
    struct cg_mos_endpoint *ep;
    int nlinks;
    bool started;
    /* link_of's answer for one peer, valid while r->gen is cgen (issue 13:
     * the scan of every link per message was ~5 % of a gateway's CPU at 200
     * links) */
    unsigned long cgen;
    const char *cpeer; /* the link's own string (stable while cgen holds) */
    struct rlink *ck;
    int cleg;
    struct rep *next;
};

struct rleg { /* one server of a pair, end to end: a peer on each side */
    struct rep *ep[2];   /* by side */
    const char *peer[2]; /* by side: the gear's ID (legacy), the far side's ID (mos4) */
    bool own[2];         /* this leg added the peer (failover: the side without a buddy is leg 0's) */
};

struct rfo { /* failover of one link (CG_RELAY_FAILOVER) */
    struct cg_fo fo;
    enum cg_relay_side side; /* the side with the buddy: requests towards it are routed here */
    struct fo_timer *timer;
};

struct fo_timer { /* closed asynchronously: outlives the link */
    uv_timer_t t;
    struct cg_relay *r;
    unsigned long serial;
};

struct forward;

struct rlink {
    struct cg_relay_link_config conf;
    unsigned long serial; /* forwards find their link by it: links may go while they run */
    struct rleg leg[2];
    int nlegs;
    struct rfo *fo;       /* NULL unless failover with a buddy leg */
    /* leg_state = mirror (issue 18): a core per leg, one timer at the sooner deadline, the
     * carried forwards in flight (to give them up at a cut) */
    struct cg_mirror *mir[2];
    struct fo_timer *mtimer;
    bool mrunning;            /* inside mirror_run: a nested call leaves the actions to it */
    struct forward *fwd;      /* carried forwards not completed yet */
    bool stopping;
    struct cg_relay_stats st;
    struct rlink *next;
};

struct cg_relay {
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct cg_relay_handlers h;
    void *user;
    struct rep *eps;
    struct rlink *links;
    unsigned long next_serial;
    unsigned long gen; /* bumped by every change to the links or their legs (caches: link_of,
                          struct forward); starts at 1, so a zero cgen never matches */
    unsigned inflight;
    bool started, draining, freeing;
    cg_relay_drained_cb drained;
    void *drained_user;
};

struct forward {
    struct cg_relay *r;
    unsigned long serial;
    struct rlink *k;   /* its link while r->gen is gen (else found again by serial) */
    unsigned long gen;
    struct cg_mos_request *req;
    enum cg_relay_side from; /* for the NACK counters */
    enum cg_mos_channel ch;
    /* carried forwards: listed on their link (rlink.fwd) for a mirror's cut */
    int leg;
    bool listed, giving_up;
    bool answer_at_hold;  /* cg__relay_answered_at_hold: a heartbeat, answered if its side is held */
    bool answering;       /* mirror_answer_held: withdrawn to be answered, not given up */
    struct forward *prev, *next;
    /* failover only: the request is sent after its callback, maybe twice */
    int pending;             /* sends not completed yet */
    struct fsend *send[2];   /* by leg: its send there not completed yet (for a CANCEL) */
    bool done;               /* answered (or gone) */
    struct cg_mos_message msg; /* a copy: msg.env = &env, msg.xml = xml */
    struct cg_mos_envelope env;
    char *xml;
};

struct fsend { /* one cg_mos_forward_message of a failover forward */
    struct forward *f;
    int leg;
};

static void emit(struct cg_relay *r, const struct cg_relay_event *ev)
{
    if (r->h.on_event != NULL && !r->freeing)
        r->h.on_event(r->user, ev);
}

static uint64_t now_ms(const struct cg_relay *r) { return uv_now(cg_ctx_loop(r->ctx)); }

static int ch_index(enum cg_mos_channel ch)
{
    return ch == CG_MOS_CH_MOM ? 0 : ch == CG_MOS_CH_RO ? 1 : ch == CG_MOS_CH_AUX ? 2 : -1;
}

static struct rlink *link_named(const struct cg_relay *r, const char *name)
{
    for (struct rlink *k = r->links; k != NULL; k = k->next)
        if (strcmp(k->conf.name, name) == 0)
            return k;
    return NULL;
}

/* The link and leg whose peer on e's side is peer (leg 0 first: under
 * failover leg 1 shares leg 0's peer on the side without a buddy). The
 * answer found is kept in e until the links change (r->gen). */
static struct rlink *link_of(const struct cg_relay *r, struct rep *e, const char *peer, int *leg)
{
    if (e->cgen == r->gen && e->ck != NULL && strcmp(e->cpeer, peer) == 0) {
        *leg = e->cleg;
        return e->ck;
    }
    for (struct rlink *k = r->links; k != NULL; k = k->next)
        for (int l = 0; l < k->nlegs; l++)
            if (k->leg[l].ep[e->side] == e && strcmp(k->leg[l].peer[e->side], peer) == 0) {
                *leg = l;
                e->cgen = r->gen, e->cpeer = k->leg[l].peer[e->side], e->ck = k, e->cleg = l;
                return k;
            }
    return NULL;
}

static struct rlink *link_serial(const struct cg_relay *r, unsigned long serial)
{
    for (struct rlink *k = r->links; k != NULL; k = k->next)
        if (k->serial == serial)
            return k;
    return NULL;
}

/* A forward's link: the one it was made on while no link changed since
 * (it still exists then), else found by serial (it may be gone). */
static struct rlink *link_of_forward(const struct forward *f)
{
    return f->gen == f->r->gen ? f->k : link_serial(f->r, f->serial);
}

/* After any change to r->links or a link's legs: the caches above let go. */
static void links_changed(struct cg_relay *r) { r->gen++; }

/* ---- failover (CG_RELAY_FAILOVER): cg_fo decides, we carry it out ---- */

static void fo_run(struct cg_relay *r, struct rlink *k, uint64_t ref, enum cg_err status,
                   const struct cg_mos_message *reply);

static void on_fo_timer(uv_timer_t *t)
{
    struct fo_timer *ft = t->data;
    struct rlink *k = link_serial(ft->r, ft->serial);
    if (k == NULL || k->fo == NULL)
        return;
    cg__fo_timer(&k->fo->fo, now_ms(ft->r));
    fo_run(ft->r, k, 0, CG_OK, NULL);
}

static void fo_timer_closed(uv_handle_t *h) { free(h->data); }

/* The timer at the module's next deadline (cg__fo_deadline). */
/* t runs cb at the absolute time d (UINT64_MAX: never; the failover and
 * mirror cores' NEVER), or not at all while the link stops. */
static void arm_at(struct cg_relay *r, const struct rlink *k, uv_timer_t *t, uv_timer_cb cb,
                   uint64_t d)
{
    uint64_t now = now_ms(r);
    if (d == UINT64_MAX || k->stopping)
        uv_timer_stop(t);
    else
        uv_timer_start(t, cb, d > now ? d - now : 0, 0);
}

static void fo_arm(struct cg_relay *r, struct rlink *k)
{
    arm_at(r, k, &k->fo->timer->t, on_fo_timer, cg__fo_deadline(&k->fo->fo));
}

/* ---- leg_state = mirror (issue 18): the mirror core decides, we carry it out ---- */

static void relay_done(void *user, enum cg_err status, const struct cg_mos_message *reply);
static void mirror_run(struct cg_relay *r, struct rlink *k);

static const char *side_name(enum cg_relay_side s) { return s == CG_RELAY_MOS4 ? "mos4" : "legacy"; }

static void on_mirror_timer(uv_timer_t *t)
{
    struct fo_timer *ft = t->data;
    struct rlink *k = link_serial(ft->r, ft->serial);
    if (k == NULL || k->stopping)
        return;
    uint64_t now = now_ms(ft->r);
    for (int l = 0; l < k->nlegs; l++)
        cg__mirror_timer(k->mir[l], now);
    mirror_run(ft->r, k);
}

/* The timer at the legs' sooner deadline. */
static void mirror_arm(struct cg_relay *r, struct rlink *k)
{
    if (k->mtimer == NULL)
        return;
    uint64_t d = CG_MIRROR_NEVER;
    for (int l = 0; l < k->nlegs; l++) {
        uint64_t dl = cg__mirror_deadline(k->mir[l]);
        d = dl < d ? dl : d;
    }
    arm_at(r, k, &k->mtimer->t, on_mirror_timer, d);
}

static void emit_leg(struct cg_relay *r, struct rlink *k, int leg, const struct cg_mirror_act *a,
                     const char *what, unsigned long count)
{
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_LEG, .link = k->conf.name, .side = a->side,
                                .peer_id = k->leg[leg].peer[a->side], .leg = (enum cg_relay_leg)leg,
                                .why = what, .for_ms = a->for_ms, .cause = a->cause,
                                .count = count};
    emit(r, &ev);
}

/* CANCEL: every request of the leg not answered yet is given up, on both
 * sides (docs/redundancy.md "Mirroring a leg's state"): first on the IN
 * lanes they came in on (their records closed, their messageIDs forgotten:
 * no replay, no standby delivers them), then each forward is withdrawn from
 * the OUT lane it waits on (cg_mos_forward_cancel: never sent there again,
 * a late answer dropped); relay_done hears CG_ECANCELED and its answer goes
 * nowhere. Every lane of the leg is down here (the cause by its loss, the
 * other side held). */
static void mirror_give_up(struct cg_relay *r, struct rlink *k, int leg, const struct cg_mirror_act *a)
{
    struct rleg *L = &k->leg[leg];
    size_t total = 0;
    for (int s = 0; s < 2; s++) {
        size_t n = 0;
        if (L->ep[s] != NULL && cg_mos_endpoint_abandon_in(L->ep[s]->ep, L->peer[s], &n) == CG_OK)
            total += n;
    }
    unsigned withdrawn = 0;
    for (;;) { /* from the head each time: a cancel completes (and frees) its forward */
        struct forward *f = k->fwd;
        while (f != NULL && (f->leg != leg || f->giving_up))
            f = f->next;
        if (f == NULL)
            break;
        f->giving_up = true;
        enum cg_relay_side to = f->from == CG_RELAY_LEGACY ? CG_RELAY_MOS4 : CG_RELAY_LEGACY;
        enum cg_err rc = cg_mos_forward_cancel(L->ep[to]->ep, L->peer[to], f->ch, relay_done, f);
        if (rc == CG_OK)
            withdrawn++;
        else /* cannot be: a listed forward is queued or in flight */
            cg__log(r->ctx, CG_LOG_ERROR, "relay", "link %s: a request of the %s leg cannot be "
                    "withdrawn from its %s lane (%s): it may still be delivered", k->conf.name,
                    cg_relay_leg_name((enum cg_relay_leg)leg), side_name(to), cg_strerror(rc));
    }
    k->st.given_up += total;
    cg__log(r->ctx, total > 0 || withdrawn > 0 ? CG_LOG_WARN : CG_LOG_INFO, "relay",
            "link %s: %s leg: its %s side down for %llu ms: %zu request(s) given up, %u withdrawn "
            "from the lanes they waited on (their senders' connections are gone: never "
            "delivered later)", k->conf.name, cg_relay_leg_name((enum cg_relay_leg)leg),
            side_name(a->cause), (unsigned long long)a->for_ms, total, withdrawn);
    emit_leg(r, k, leg, a, "given-up", (unsigned long)total);
}

/* HOLD, before the close: the heartbeats the held side sent that still wait
 * on the leg (they came after the far side was lost, before the hold) are
 * withdrawn from the lane they wait on and answered on the held side's own
 * lanes, still up (cg__relay_answered_at_hold, docs/redundancy.md
 * "Mirroring a leg's state"). Returns how many. */
static unsigned mirror_answer_held(struct rlink *k, int leg, enum cg_relay_side held)
{
    struct rleg *L = &k->leg[leg];
    unsigned n = 0;
    for (;;) { /* from the head each time: a cancel completes (and frees) its forward */
        struct forward *f = k->fwd;
        while (f != NULL && (f->leg != leg || f->giving_up || f->from != held || !f->answer_at_hold))
            f = f->next;
        if (f == NULL)
            return n;
        f->giving_up = f->answering = true;
        enum cg_relay_side to = held == CG_RELAY_LEGACY ? CG_RELAY_MOS4 : CG_RELAY_LEGACY;
        if (cg_mos_forward_cancel(L->ep[to]->ep, L->peer[to], f->ch, relay_done, f) == CG_OK)
            n++;
    }
}

static void mirror_hold(struct cg_relay *r, struct rlink *k, int leg, const struct cg_mirror_act *a,
                        bool hold)
{
    struct rleg *L = &k->leg[leg];
    if (hold) {
        unsigned n = mirror_answer_held(k, leg, a->side);
        if (n > 0)
            cg__log(r->ctx, CG_LOG_INFO, "relay", "link %s: %s leg: %u heartbeat(s) of its %s side "
                    "answered before its connections close (sent after the far side was lost)",
                    k->conf.name, cg_relay_leg_name((enum cg_relay_leg)leg), n, side_name(a->side));
    }
    k->st.leg_held[leg][a->side] = hold;
    if (hold)
        k->st.holds++;
    cg__log(r->ctx, CG_LOG_WARN, "relay", "link %s: %s leg: its %s side %s (its %s side %s for "
            "%llu ms)", k->conf.name, cg_relay_leg_name((enum cg_relay_leg)leg), side_name(a->side),
            hold ? "held: connections closed and refused" : "released", side_name(a->cause),
            hold ? "down" : "back", (unsigned long long)a->for_ms);
    enum cg_err rc = cg_mos_endpoint_hold_peer(L->ep[a->side]->ep, L->peer[a->side], hold);
    if (rc != CG_OK)
        cg__log(r->ctx, CG_LOG_ERROR, "relay", "link %s: %s leg: its %s side not %s: %s",
                k->conf.name, cg_relay_leg_name((enum cg_relay_leg)leg), side_name(a->side),
                hold ? "held" : "fully released", cg_strerror(rc));
    emit_leg(r, k, leg, a, hold ? "held" : "released", 0);
}

/* Carries out the legs' actions in order; a call from inside one of them
 * (a held side's lanes going down reach on_lane) leaves them to the outer one. */
static void mirror_run(struct cg_relay *r, struct rlink *k)
{
    if (k->mrunning || k->mtimer == NULL || k->stopping)
        return;
    k->mrunning = true;
    for (bool more = true; more;) {
        more = false;
        for (int l = 0; l < k->nlegs; l++) {
            struct cg_mirror_act a;
            while (cg__mirror_action(k->mir[l], &a)) {
                more = true;
                if (a.kind == CG_MIRROR_A_CANCEL)
                    mirror_give_up(r, k, l, &a);
                else
                    mirror_hold(r, k, l, &a, a.kind == CG_MIRROR_A_HOLD);
            }
        }
    }
    k->mrunning = false;
    mirror_arm(r, k);
}

/* ---- lanes and links up/down ---- */

static bool any_up(const struct rep *e, const char *peer)
{
    static const enum cg_mos_channel chs[] = {CG_MOS_CH_MOM, CG_MOS_CH_RO, CG_MOS_CH_AUX};
    for (size_t i = 0; i < CG_ARRAY_LEN(chs); i++)
        for (int d = 0; d < 2; d++)
            if (cg_mos_lane_is_up(e->ep, peer, chs[i], (enum cg_mos_dir)d))
                return true;
    return false;
}

/* Whether some leg that has its own peer on side is up there. */
static bool side_up(const struct rlink *k, enum cg_relay_side side)
{
    for (int l = 0; l < k->nlegs; l++)
        if (k->leg[l].own[side] && k->st.leg_up[l][side])
            return true;
    return false;
}

static void on_lane(void *user, const char *peer, enum cg_mos_channel ch, enum cg_mos_dir dir, bool up)
{
    struct rep *e = user;
    struct cg_relay *r = e->r;
    int leg = 0;
    struct rlink *k = link_of(r, e, peer, &leg);
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_LANE, .link = k != NULL ? k->conf.name : NULL,
                                .side = e->side, .peer_id = peer, .channel = ch, .dir = dir, .up = up,
                                .leg = (enum cg_relay_leg)leg};
    emit(r, &ev);
    if (k == NULL)
        return;
    bool now = any_up(e, peer);
    if (now == k->st.leg_up[leg][e->side]) /* the leg's summary: is its peer reachable */
        return;
    k->st.leg_up[leg][e->side] = now;
    k->st.legacy_up = side_up(k, CG_RELAY_LEGACY);
    k->st.mos4_up = side_up(k, CG_RELAY_MOS4);
    ev = (struct cg_relay_event){.kind = CG_RELAY_EV_LINK, .link = k->conf.name, .side = e->side,
                                 .peer_id = peer, .channel = ch, .dir = dir, .up = now,
                                 .legacy_up = k->st.legacy_up, .mos4_up = k->st.mos4_up,
                                 .leg = (enum cg_relay_leg)leg};
    emit(r, &ev);
    if (k->fo != NULL && e->side == k->fo->side && !k->stopping) { /* reachability decides */
        cg__fo_side(&k->fo->fo, now_ms(r), (enum cg_fo_peer)leg, now);
        fo_run(r, k, 0, CG_OK, NULL);
    }
    if (k->mir[leg] != NULL && !k->stopping) { /* leg_state = mirror */
        cg__mirror_side(k->mir[leg], now_ms(r), e->side, now);
        mirror_run(r, k);
    }
}

/* ---- relaying ---- */

static void nack(struct cg_relay_stats *st, struct cg_mos_request *req, const char *a, const char *b)
{
    char why[256];
    snprintf(why, sizeof(why), "castgate: %s%s", a, b);
    if (st != NULL)
        st->rejected++;
    cg_mos_reply_ack(req, false, why);
}

static void drained_maybe(struct cg_relay *r)
{
    if (!r->draining || r->inflight > 0 || r->drained == NULL || r->freeing)
        return;
    cg_relay_drained_cb cb = r->drained;
    r->drained = NULL; /* once */
    cb(r->drained_user);
}

/* An answer about to be relayed: a buddy's decline is counted, never
 * changed (docs/redundancy.md: it is the far side speaking). */
static enum relay_answer note_answer(struct rlink *k, const struct cg_mos_message *reply)
{
    enum relay_answer a = cg__relay_classify_answer(reply->env->name, reply->xml, reply->len,
                                                    reply->enc, reply->env->element);
    if (k != NULL && a == RELAY_ANS_BUDDY_DECLINES)
        k->st.buddy_declined++;
    return a;
}

/* The other side's answer (or its absence) to the request of f. */
static void answer_request(struct rlink *k, struct forward *f, enum cg_err status,
                           const struct cg_mos_message *reply)
{
    if (reply != NULL) { /* the far side's own answer, its status text included */
        if (k != NULL)
            k->st.answered++;
        if (k != NULL && status == CG_ENACK)
            cg__relay_count_nack(&k->st, f->from, CG_RELAY_NACK_PEER, f->ch);
        if (cg_mos_reply_message(f->req, reply) != CG_OK) /* its element, as it came */
            cg_mos_reply_ack(f->req, false, "castgate: cannot pass the far side's answer on");
    } else if (status != CG_ECLOSED) { /* on removal or shutdown the request is gone already */
        if (k != NULL)
            k->st.failed++;
        if (k != NULL)
            cg__relay_count_nack(&k->st, f->from, CG_RELAY_NACK_NO_ANSWER, f->ch);
        cg_mos_reply_ack(f->req, false, "castgate: no answer from the far side (retries "
                         "exhausted); it may still apply it: repeat it under the same messageID");
    }
}

static void fwd_unlist(struct rlink *k, struct forward *f)
{
    if (k == NULL || !f->listed)
        return;
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        k->fwd = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->listed = false;
}

static void relay_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct forward *f = user;
    struct cg_relay *r = f->r;
    struct rlink *k = link_of_forward(f);
    fwd_unlist(k, f);
    r->inflight--;
    if (k != NULL)
        k->st.in_flight--;
    if (reply != NULL)
        note_answer(k, reply);
    if (status == CG_ECANCELED && f->answering) /* mirror_answer_held: its lane still up */
        cg_mos_reply_heartbeat(f->req);
    else if (status == CG_ECANCELED) /* a mirror's cut (mirror_give_up): the request was given
                                        up on its own lane already; this answer goes nowhere */
        cg_mos_reply_ack(f->req, false, "castgate: given up: the connection of this leg was lost; "
                         "not applied by castgate");
    else
        answer_request(k, f, status, reply);
    free(f);
    drained_maybe(r);
}

/* MOS 2.6 gear may send requests without a messageID (M-11); a MOS 4.0 far
 * side may refuse them. Counted per link; an event at 1, 10, 100, ... */
static void count_idless(struct cg_relay *r, struct rlink *k, const struct cg_mos_message *m)
{
    unsigned long n = (unsigned long)++k->st.no_message_id;
    if (!cg__relay_report_count(n))
        return;
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_NO_MESSAGEID, .link = k->conf.name,
                                .side = CG_RELAY_LEGACY, .peer_id = m->peer_id,
                                .channel = m->channel, .message = m, .count = n};
    emit(r, &ev);
}

/* ---- failover forwards ---- */

static void f_release(struct forward *f)
{
    if (!f->done || f->pending > 0)
        return;
    free(f->xml);
    free(f);
}

/* f will not be answered by us any more (answered, or its request gone). */
static void f_finish(struct cg_relay *r, struct rlink *k, struct forward *f)
{
    if (f->done)
        return;
    f->done = true;
    r->inflight--;
    k->st.in_flight--;
}

static void fo_done(void *user, enum cg_err status, const struct cg_mos_message *reply);

/* SEND: f goes to leg on the side with the buddy. */
static void fo_send(struct cg_relay *r, struct rlink *k, struct forward *f, const struct cg_fo_act *a)
{
    if (k->stopping || f->done) { /* the link goes: its requests are dropped unanswered */
        f_finish(r, k, f);
        f_release(f);
        return;
    }
    struct rleg *L = &k->leg[a->peer];
    struct fsend *s = malloc(sizeof(*s));
    enum cg_err rc = CG_ENOMEM;
    if (s != NULL) {
        *s = (struct fsend){.f = f, .leg = (int)a->peer};
        f->pending++;
        rc = cg_mos_forward_message(L->ep[k->fo->side]->ep, L->peer[k->fo->side], &f->msg, fo_done, s);
        if (rc != CG_OK) {
            f->pending--;
            free(s);
        } else {
            f->send[a->peer] = s;
        }
    }
    if (rc == CG_OK) {
        if (!a->resend)
            k->st.forwarded++;
        return;
    }
    char name[80];
    cg__log_escape(name, sizeof(name), f->env.name, strlen(f->env.name));
    cg__log(r->ctx, CG_LOG_WARN, "relay", "link %s: <%s> cannot be forwarded to the %s: %s",
            k->conf.name, name, cg__fo_peer_name(a->peer), cg_strerror(rc));
    cg__relay_count_nack(&k->st, f->from, CG_RELAY_NACK_FORWARD, f->ch);
    nack(&k->st, f->req, "cannot forward: ", cg_strerror(rc));
    f_finish(r, k, f);
    /* the module frees the channel for the next one; its DELIVER finds f done */
    cg__fo_answer(&k->fo->fo, now_ms(r), a->ch, a->ref, a->peer, CG_FO_ANS_FAILED);
}

/* CANCEL: the request in flight on the leg that became unreachable moves to
 * the other one (the SEND that follows); it is withdrawn from the old leg's
 * lane so that it never reaches both servers (docs/redundancy.md, "Failover
 * of the active side"): that lane never sends it again when the server is
 * back, and drops the server's late answer. fo_done hears
 * CG_ECANCELED before cg_mos_forward_cancel returns. */
static void fo_cancel(struct cg_relay *r, struct rlink *k, struct forward *f, const struct cg_fo_act *a)
{
    k->st.withdrawn++;
    struct rleg *L = &k->leg[a->peer];
    struct fsend *s = f->send[a->peer];
    enum cg_err rc = s == NULL ? CG_ENOTFOUND
                               : cg_mos_forward_cancel(L->ep[k->fo->side]->ep, L->peer[k->fo->side],
                                                       f->ch, fo_done, s);
    char name[80];
    cg__log_escape(name, sizeof(name), f->env.name, strlen(f->env.name));
    if (rc == CG_OK)
        cg__log(r->ctx, CG_LOG_WARN, "relay", "link %s: <%s> in flight to the %s moves to the other "
                "leg under its messageID (M-22); withdrawn from the %s's lane: never sent there "
                "again, its late answer dropped", k->conf.name, name, cg__fo_peer_name(a->peer),
                cg__fo_peer_name(a->peer));
    else /* cannot be: the module names only sends in flight */
        cg__log(r->ctx, CG_LOG_ERROR, "relay", "link %s: <%s> moves to the other leg but cannot be "
                "withdrawn from the %s's lane (%s): it may reach both", k->conf.name, name,
                cg__fo_peer_name(a->peer), cg_strerror(rc));
}

static void fo_switch(struct cg_relay *r, struct rlink *k, const struct cg_fo_act *a)
{
    k->st.active = (enum cg_relay_leg)a->to;
    k->st.switches++;
    const char *why = cg__fo_reason_name(a->why);
    cg__log(r->ctx, CG_LOG_WARN, "relay", "link %s: requests to the %s side now go to the %s (was "
            "the %s): %s for %llu ms", k->conf.name, k->fo->side == CG_RELAY_MOS4 ? "MOS 4.0" : "legacy",
            cg__fo_peer_name(a->to), cg__fo_peer_name(a->from), why, (unsigned long long)a->for_ms);
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_ACTIVE, .link = k->conf.name, .side = k->fo->side,
                                .peer_id = k->leg[a->to].peer[k->fo->side],
                                .leg = (enum cg_relay_leg)a->to, .was = (enum cg_relay_leg)a->from,
                                .why = why, .for_ms = a->for_ms};
    emit(r, &ev);
}

/* Carries out the module's actions in order. ref, status, reply: the
 * answer being processed (ref 0: none), for its DELIVER. */
static void fo_run(struct cg_relay *r, struct rlink *k, uint64_t ref, enum cg_err status,
                   const struct cg_mos_message *reply)
{
    struct cg_fo_act a;
    while (cg__fo_action(&k->fo->fo, &a)) {
        struct forward *f = (struct forward *)(uintptr_t)a.ref;
        switch (a.kind) {
        case CG_FO_A_SEND:
            fo_send(r, k, f, &a);
            break;
        case CG_FO_A_CANCEL:
            fo_cancel(r, k, f, &a);
            break;
        case CG_FO_A_DELIVER:
            if (!f->done && a.ref == ref)
                answer_request(k, f, status, reply);
            else if (!f->done) /* not sent (a failed send is NACKed and done already) */
                nack(&k->st, f->req, "cannot forward", "");
            f_finish(r, k, f);
            f_release(f);
            break;
        case CG_FO_A_DROP:
            if (a.answer == CG_FO_ANS_FAILED) { /* the old leg's lane gave up on it: nothing to drop */
                f_release(f);
                break;
            }
            k->st.late_dropped++; /* LATE, or UNKNOWN once the channel moved on */
            cg__log(r->ctx, CG_LOG_INFO, "relay", "link %s: an answer from the %s dropped (%s): the "
                    "request was answered by the other leg", k->conf.name, cg__fo_peer_name(a.peer),
                    cg__fo_reason_name(a.why));
            f_release(f);
            break;
        case CG_FO_A_SWITCH:
            fo_switch(r, k, &a);
            break;
        case CG_FO_A_NOTE:
            break;
        }
    }
    fo_arm(r, k);
    drained_maybe(r);
}

static void fo_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct fsend *s = user;
    struct forward *f = s->f;
    int leg = s->leg;
    if (f->send[leg] == s)
        f->send[leg] = NULL;
    free(s);
    struct cg_relay *r = f->r;
    f->pending--;
    if (status == CG_ECANCELED) { /* our CANCEL (fo_cancel): the module knows, f goes on */
        f_release(f);
        return;
    }
    struct rlink *k = link_of_forward(f);
    if (k == NULL || k->fo == NULL) { /* cannot happen: links outlive their sends */
        if (!f->done)
            r->inflight--;
        f->done = true;
        f_release(f);
        drained_maybe(r);
        return;
    }
    enum cg_fo_answer kind = CG_FO_ANS_FAILED;
    if (reply != NULL)
        kind = note_answer(k, reply) == RELAY_ANS_BUDDY_DECLINES ? CG_FO_ANS_BUDDY_DECLINES
                                                                 : CG_FO_ANS_OK;
    uint64_t ref = (uint64_t)(uintptr_t)f;
    cg__fo_answer(&k->fo->fo, now_ms(r), ch_index(f->ch), ref, (enum cg_fo_peer)leg, kind);
    fo_run(r, k, ref, status, reply); /* f may be freed there */
}

/* A request towards the side with the buddy, under failover: copied (it is
 * sent after this callback, maybe twice) and handed to the module. */
static enum cg_err forward_fo(struct cg_relay *r, struct rlink *k, struct cg_mos_request *req,
                              const struct cg_mos_message *m, const struct cg_mos_message *send)
{
    int ci = ch_index(m->channel);
    CG_CHECK(ci >= 0, CG_EINVAL);
    struct forward *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return CG_ENOMEM;
    f->xml = malloc(send->len > 0 ? send->len : 1);
    if (f->xml == NULL) {
        free(f);
        return CG_ENOMEM;
    }
    memcpy(f->xml, send->xml, send->len);
    f->env = *send->env;
    f->msg = *send;
    f->msg.env = &f->env;
    f->msg.xml = f->xml;
    f->msg.peer_id = NULL; /* borrowed from the endpoint: not kept */
    f->r = r, f->serial = k->serial, f->k = k, f->gen = r->gen, f->req = req, f->ch = m->channel;
    f->from = k->fo->side == CG_RELAY_MOS4 ? CG_RELAY_LEGACY : CG_RELAY_MOS4;
    enum cg_err rc = cg__fo_request(&k->fo->fo, now_ms(r), ci, (uint64_t)(uintptr_t)f);
    if (rc != CG_OK) {
        free(f->xml);
        free(f);
        return rc;
    }
    r->inflight++;
    k->st.in_flight++;
    if (k->fo->side == CG_RELAY_MOS4 && m->env->message_id_kind == CG_MOS_MSGID_ABSENT)
        count_idless(r, k, m);
    fo_run(r, k, 0, CG_OK, NULL);
    return CG_OK;
}

/* m goes to the other side as parsed (issue 13 item 3): its element bytes,
 * in its own encoding, into the far lane's envelope; nothing is read again.
 * leg: the other side's leg (cg__relay_route), -1: through failover. */
static enum cg_err forward(struct cg_relay *r, struct rlink *k, int leg, enum cg_relay_side to,
                           struct cg_mos_request *req, const struct cg_mos_message *m,
                           const struct cg_mos_message *send)
{
    if (leg < 0)
        return forward_fo(r, k, req, m, send);
    struct forward *f = malloc(sizeof(*f));
    if (f == NULL)
        return CG_ENOMEM;
    *f = (struct forward){.r = r, .serial = k->serial, .k = k, .gen = r->gen, .req = req,
                          .ch = m->channel,
                          .from = to == CG_RELAY_MOS4 ? CG_RELAY_LEGACY : CG_RELAY_MOS4,
                          .leg = leg, .listed = true, .next = k->fwd,
                          .answer_at_hold = cg__relay_answered_at_hold(m->env->name,
                                                                       strlen(m->env->name))};
    if (k->fwd != NULL)
        k->fwd->prev = f;
    k->fwd = f;
    r->inflight++;
    k->st.in_flight++;
    struct rleg *L = &k->leg[leg];
    enum cg_err rc = cg_mos_forward_message(L->ep[to]->ep, L->peer[to], send, relay_done, f);
    if (rc != CG_OK) {
        fwd_unlist(k, f);
        r->inflight--;
        k->st.in_flight--;
        free(f);
        return rc;
    }
    k->st.forwarded++;
    if (to == CG_RELAY_MOS4 && m->env->message_id_kind == CG_MOS_MSGID_ABSENT)
        count_idless(r, k, m);
    return CG_OK;
}

/* A translation (UTF-8, our own output: parsed once here) to the MOS 4.0 side. */
static enum cg_err forward_translated(struct cg_relay *r, struct rlink *k, int leg,
                                      struct cg_mos_request *req, const struct cg_mos_message *m,
                                      const char *xml, size_t len)
{
    struct cg_mos_envelope env;
    enum cg_err rc = cg_mos_envelope_parse(CG_MOS_UTF8, xml, len, &env, NULL);
    if (rc != CG_OK)
        return rc;
    struct cg_mos_message t = *m;
    t.env = &env;
    t.xml = xml;
    t.len = len;
    t.enc = CG_MOS_UTF8;
    return forward(r, k, leg, CG_RELAY_MOS4, req, m, &t);
}

/* Translates a message removed in 4.0 (docs/translation.md) and forwards
 * the translation, or the original under translate-or-pass, or NACKs. */
static void translate_and_forward(struct cg_relay *r, struct rlink *k, int leg, enum relay_action act,
                                  struct cg_mos_request *req, const struct cg_mos_message *m)
{
    char *translated = NULL;
    uint8_t *utf8 = NULL;
    size_t n = 0, ulen = m->len;
    const char *why = NULL;
    /* the translation reads UTF-8: a UCS-2BE message is converted for it (a
     * rare path: only messages removed in 4.0 under a translate policy) */
    enum cg_err trc = m->enc == CG_MOS_UTF8 ? CG_OK
                                            : cg_mos_convert(m->enc, m->xml, m->len, &utf8, &ulen, NULL);
    /* validated once, by the endpoint that received it (issue 13 item 5) */
    if (trc == CG_OK)
        trc = cg_mos_translate_removed_ex(utf8 != NULL ? (const char *)utf8 : m->xml, ulen,
                                          m->validated, &translated, &n, &why);
    cg_mos_free(utf8);
    if (trc != CG_OK && !cg__relay_pass_untranslated(act, trc)) {
        char name[80], id[80];
        cg__log_escape(name, sizeof(name), m->env->name, strlen(m->env->name));
        cg__log_escape(id, sizeof(id), m->env->message_id, strlen(m->env->message_id));
        cg__log(r->ctx, CG_LOG_INFO, "relay", "link %s: <%s> messageID %s not translated: %s",
                k->conf.name, name, id, why ? why : "?");
        cg__relay_count_nack(&k->st, CG_RELAY_LEGACY, CG_RELAY_NACK_TRANSLATE, m->channel);
        nack(&k->st, req, "cannot translate: ", why != NULL ? why : cg_strerror(trc));
        return;
    }
    enum cg_err rc = trc == CG_OK ? forward_translated(r, k, leg, req, m, translated, n)
                                  : forward(r, k, leg, CG_RELAY_MOS4, req, m, m);
    if (rc == CG_OK && trc == CG_OK)
        k->st.translated++;
    cg_mos_free(translated);
    if (rc != CG_OK)
        cg__relay_count_nack(&k->st, CG_RELAY_LEGACY, CG_RELAY_NACK_FORWARD, m->channel);
    if (rc != CG_OK)
        nack(&k->st, req, "cannot forward: ", cg_strerror(rc));
}

/* leg_state = mirror: the other side of this leg is held (the side the
 * request came from is back, not for leg_up_after_ms yet): nothing but a
 * heartbeat waits for a side that is away (a request waiting there is what
 * its sender may give up on and send elsewhere, docs/redundancy.md), so it
 * is refused at once; the sender tries again or elsewhere. A heartbeat
 * waits for the release (or is given up at a cut): a NACK would read as an
 * answer from the far side to a sender's link check. */
static void refuse_held(struct cg_relay *r, struct rlink *k, int leg, enum cg_relay_side from,
                        struct cg_mos_request *req, const struct cg_mos_message *m)
{
    char name[80];
    cg__log_escape(name, sizeof(name), m->env->name, strlen(m->env->name));
    cg__log(r->ctx, CG_LOG_INFO, "relay", "link %s: %s leg: <%s> refused: the far side of the "
            "leg is held (leg_state = mirror)", k->conf.name,
            cg_relay_leg_name((enum cg_relay_leg)leg), name);
    cg__relay_count_nack(&k->st, from, CG_RELAY_NACK_FORWARD, m->channel);
    nack(&k->st, req, "the far side of this leg is unreachable (leg_state = mirror): ",
         "not forwarded, not applied");
}

static void relay_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct rep *e = user;
    struct cg_relay *r = e->r;
    int from_leg = 0;
    struct rlink *k = link_of(r, e, m->peer_id, &from_leg);
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_REQUEST, .link = k != NULL ? k->conf.name : NULL,
                                .side = e->side, .peer_id = m->peer_id, .channel = m->channel,
                                .dir = CG_MOS_IN, .message = m, .leg = (enum cg_relay_leg)from_leg};
    emit(r, &ev);
    if (k == NULL) {
        nack(NULL, req, "no link for this peer", "");
        return;
    }
    if (r->draining) { /* unanswered: the sender repeats it to the restarted gateway */
        char name[80];
        cg__log_escape(name, sizeof(name), m->env->name, strlen(m->env->name));
        cg__log(r->ctx, CG_LOG_INFO, "relay", "link %s: draining: <%s> not forwarded", k->conf.name,
                name);
        k->st.not_forwarded++;
        return;
    }
    enum cg_relay_side to = e->side == CG_RELAY_MOS4 ? CG_RELAY_LEGACY : CG_RELAY_MOS4;
    if (cg__mirror_held(k->mir[from_leg], e->side)) { /* taken in after its lane was closed (a
                                                         large message checked off the loop) */
        refuse_held(r, k, from_leg, e->side, req, m);
        return;
    }
    int leg = cg__relay_route(k->conf.redundancy, k->nlegs,
                              k->fo != NULL ? k->fo->side : CG_RELAY_LEGACY, e->side, from_leg);
    const struct rleg *L = &k->leg[leg >= 0 ? leg : (int)k->fo->fo.active];
    bool out_up = k->conf.heartbeat != CG_RELAY_HB_PASS_OR_ANSWER || /* only that policy asks */
                  cg_mos_lane_is_up(L->ep[to]->ep, L->peer[to], m->channel, CG_MOS_OUT);
    enum relay_action act = cg__relay_decide(m->env->name, strlen(m->env->name), e->side,
                                             k->conf.heartbeat, k->conf.removed_in_4, out_up);
    switch (act) {
    case RELAY_ANSWER_HEARTBEAT:
        k->st.heartbeats_answered++;
        cg_mos_reply_heartbeat(req);
        return;
    case RELAY_REJECT_REMOVED:
        cg__relay_count_nack(&k->st, e->side, CG_RELAY_NACK_REMOVED, m->channel);
        nack(&k->st, req, m->env->name, " was removed in MOS 4.0 (use roElementAction)");
        return;
    case RELAY_TRANSLATE:
    case RELAY_TRANSLATE_OR_PASS:
        if (leg >= 0 && cg__mirror_held(k->mir[leg], to)) {
            refuse_held(r, k, leg, e->side, req, m);
            return;
        }
        translate_and_forward(r, k, leg, act, req, m);
        return;
    case RELAY_FORWARD:
        break;
    }
    if (leg >= 0 && cg__mirror_held(k->mir[leg], to) && /* leg_state = mirror (issue 18) */
        !cg__relay_waits_for_held(m->env->name, strlen(m->env->name))) {
        refuse_held(r, k, leg, e->side, req, m);
        return;
    }
    enum cg_err rc = forward(r, k, leg, to, req, m, m);
    if (rc != CG_OK)
        cg__relay_count_nack(&k->st, e->side, CG_RELAY_NACK_FORWARD, m->channel);
    if (rc != CG_OK)
        nack(&k->st, req, "cannot forward: ", cg_strerror(rc));
}

/* ---- endpoints ---- */

static void ep_drop(struct cg_relay *r, struct rep *e)
{
    if (--e->nlinks > 0)
        return;
    struct rep **pp = &r->eps;
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (r->h.endpoint_gone != NULL) /* those holding it let go first (castgate run's pair) */
        r->h.endpoint_gone(r->user, e->ep);
    cg_mos_endpoint_free(e->ep);
    free(e);
}

static enum cg_err ep_make(struct cg_relay *r, struct rep *e, const char *path)
{
    struct cg_mos_endpoint_config *ec = NULL;
    struct cg_mos_handlers h = {.on_lane = on_lane, .on_request = relay_request};
    CG_GUARD(cg_mos_endpoint_config_new(e->role, e->id, &ec));
    enum cg_err rc = CG_OK;
    if (r->h.configure_endpoint != NULL)
        rc = r->h.configure_endpoint(r->user, e->side, e->role, e->id, ec);
    if (rc == CG_OK) /* a repeat after our restart goes on: the far side deduplicates (M-22) */
        rc = cg_mos_endpoint_config_set_redeliver(ec, true);
    if (rc == CG_OK) /* the link's heartbeat policy decides, in relay_request (M-10) */
        rc = cg_mos_endpoint_config_set_deliver_heartbeats(ec, true);
    if (rc == CG_OK) /* forwarded in the encoding they came in (issue 13 item 4) */
        rc = cg_mos_endpoint_config_set_wire_messages(ec, true);
    if (rc == CG_OK)
        rc = cg_mos_endpoint_new(r->ctx, ec, &h, e, &e->ep);
    cg_mos_endpoint_config_free(ec);
    if (rc == CG_OK && e->side == CG_RELAY_MOS4 && r->srv != NULL)
        rc = cg_mos_endpoint_attach(e->ep, r->srv, path);
    if (rc == CG_OK && r->started) {
        rc = cg_mos_endpoint_start(e->ep);
        e->started = rc == CG_OK;
    }
    return rc;
}

static enum cg_err ep_get(struct cg_relay *r, enum cg_relay_side side, enum cg_mos_role role,
                          const char *id, const char *path, struct rep **out)
{
    for (struct rep *e = r->eps; e != NULL; e = e->next)
        if (e->side == side && e->role == role && !strcmp(e->id, id)) {
            e->nlinks++;
            *out = e;
            return CG_OK;
        }
    struct rep *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return CG_ENOMEM;
    *e = (struct rep){.r = r, .side = side, .role = role, .nlinks = 1};
    memcpy(e->id, id, strlen(id) + 1); /* checked by the link config's setter */
    enum cg_err rc = ep_make(r, e, path);
    if (rc != CG_OK) {
        cg_mos_endpoint_free(e->ep);
        free(e);
        return rc;
    }
    e->next = r->eps;
    r->eps = e;
    *out = e;
    return CG_OK;
}

/* ---- links ---- */

/* Drops what the leg owns on side: its peer, then its hold on the endpoint. */
static void leg_side_stop(struct cg_relay *r, struct rleg *L, enum cg_relay_side side, bool added)
{
    struct rep *e = L->ep[side];
    if (e == NULL || !L->own[side])
        return;
    if (added)
        cg_mos_endpoint_remove_peer(e->ep, L->peer[side]);
    ep_drop(r, e);
    L->ep[side] = NULL;
    links_changed(r);
}

/* Failover requests still queued in the module (never sent): dropped
 * unanswered, as the link's in-flight ones (their requests are gone). */
static void fo_discard(struct cg_relay *r, struct rlink *k)
{
    for (int c = 0; c < CG_FO_CHANNELS; c++) {
        struct cg_fo_chan *ch = &k->fo->fo.ch[c];
        for (size_t i = 0; i < ch->len; i++) {
            struct forward *f = (struct forward *)(uintptr_t)ch->q[(ch->head + i) % CG_FO_QUEUE];
            f_finish(r, k, f);
            f_release(f);
        }
        ch->len = 0;
    }
}

/* Removes k's peers and drops its endpoints; k stays listed meanwhile, so
 * that the forwards ending now (CG_ECLOSED) still find it. */
static void link_stop(struct cg_relay *r, struct rlink *k)
{
    /* the MOS 4.0 peers first: forwards of the gear's requests end (CG_ECLOSED)
     * while those requests still exist */
    static const enum cg_relay_side order[] = {CG_RELAY_MOS4, CG_RELAY_LEGACY};
    k->stopping = true;
    for (size_t i = 0; i < CG_ARRAY_LEN(order); i++)
        for (int l = k->nlegs - 1; l >= 0; l--)
            leg_side_stop(r, &k->leg[l], order[i], true);
    if (k->fo != NULL) {
        fo_discard(r, k);
        uv_timer_stop(&k->fo->timer->t);
        uv_close((uv_handle_t *)&k->fo->timer->t, fo_timer_closed);
    }
    if (k->mtimer != NULL) {
        uv_timer_stop(&k->mtimer->t);
        uv_close((uv_handle_t *)&k->mtimer->t, fo_timer_closed);
        k->mtimer = NULL;
    }
}

static void link_free(struct rlink *k)
{
    free(k->fo);
    free(k->mir[0]);
    free(k->mir[1]);
    free(k);
}

/* A link's timer (failover, mirror): it finds its link by serial when it
 * fires, and is closed asynchronously (fo_timer_closed frees it). */
static void timer_init(struct cg_relay *r, const struct rlink *k, struct fo_timer *t)
{
    t->r = r;
    t->serial = k->serial;
    uv_timer_init(cg_ctx_loop(r->ctx), &t->t); /* cannot fail on a live loop */
    t->t.data = t;
}

/* leg_state = mirror: a core for each leg that has none yet (the timer
 * with the first), told what is up already. Only in a started relay: one
 * never started (a pair's standby, a configuration check) holds nothing and
 * gives nothing up (its journals are the active's copy). */
static enum cg_err mirror_make(struct cg_relay *r, struct rlink *k)
{
    if (!r->started || !cg__relay_mirrors(k->conf.leg_state, k->conf.redundancy, k->nlegs))
        return CG_OK;
    struct cg_mirror_config cfg = {.down_after_ms = k->conf.leg_down_after_ms,
                                   .up_after_ms = k->conf.leg_up_after_ms};
    uint64_t now = now_ms(r);
    if (k->mtimer == NULL) {
        struct fo_timer *t = calloc(1, sizeof(*t));
        if (t == NULL)
            return CG_ENOMEM;
        timer_init(r, k, t);
        k->mtimer = t;
    }
    for (int l = 0; l < k->nlegs; l++) {
        if (k->mir[l] != NULL)
            continue;
        struct cg_mirror *m = malloc(sizeof(*m));
        if (m == NULL)
            return CG_ENOMEM;
        if (cg__mirror_init(m, &cfg, now) != CG_OK) { /* times checked by the config's setter */
            free(m);
            return CG_EINVAL;
        }
        k->mir[l] = m;
        size_t replayed = 0;
        for (int s = 0; s < 2; s++) {
            const struct rleg *L = &k->leg[l];
            bool up = L->ep[s] != NULL && any_up(L->ep[s], L->peer[s]);
            k->st.leg_up[l][s] = up;
            if (up)
                cg__mirror_side(m, now, (enum cg_relay_side)s, true);
            /* requests the journal brings back from the last run: their senders' connections
             * ended with it (told "connection gone"): given up, as at a cut; a sender that
             * repeats one (M-22) has it delivered as new */
            size_t n = 0;
            if (L->ep[s] != NULL && cg_mos_endpoint_abandon_in(L->ep[s]->ep, L->peer[s], &n) == CG_OK)
                replayed += n;
        }
        k->st.given_up += replayed;
        if (replayed > 0)
            cg__log(r->ctx, CG_LOG_WARN, "relay", "link %s: %s leg: %zu request(s) from the journal "
                    "given up at the start (leg_state = mirror: their senders' connections ended "
                    "with the last run; a repeat is delivered as new)", k->conf.name,
                    cg_relay_leg_name((enum cg_relay_leg)l), replayed);
    }
    k->st.mirror = true;
    mirror_run(r, k);
    return CG_OK;
}

enum cg_err cg_relay_add_link(struct cg_relay *r, const struct cg_relay_link_config *lc,
                              const struct cg_mos_peer_config *gear_peer,
                              const struct cg_mos_peer_config *far_peer)
{
    CG_CHECK(r != NULL && lc != NULL && gear_peer != NULL && far_peer != NULL && lc->ids_set,
             CG_EINVAL);
    CG_CHECK(link_named(r, lc->name) == NULL, CG_EEXIST);
    bool gear_ncs = lc->gear_role == CG_MOS_ROLE_NCS;
    const char *gear_id = gear_ncs ? lc->ncs_id : lc->mos_id;
    const char *far_id = gear_ncs ? lc->mos_id : lc->ncs_id;
    CG_CHECK(!strcmp(gear_peer->id, gear_id) && !strcmp(far_peer->id, far_id), CG_EINVAL);
    /* a failover link shows the gear one peer: its legs' state is the module's */
    CG_CHECK(lc->leg_state != CG_RELAY_LEG_MIRROR || lc->redundancy == CG_RELAY_CARRY, CG_EINVAL);
    struct rlink *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return CG_ENOMEM;
    k->conf = *lc;
    k->serial = ++r->next_serial;
    k->nlegs = 1;
    struct rleg *L = &k->leg[0];
    L->peer[CG_RELAY_LEGACY] = gear_ncs ? k->conf.ncs_id : k->conf.mos_id;
    L->peer[CG_RELAY_MOS4] = gear_ncs ? k->conf.mos_id : k->conf.ncs_id;
    L->own[CG_RELAY_LEGACY] = L->own[CG_RELAY_MOS4] = true;
    enum cg_mos_role gear_role = gear_ncs ? CG_MOS_ROLE_NCS : CG_MOS_ROLE_MOS;
    enum cg_mos_role far_role = gear_ncs ? CG_MOS_ROLE_MOS : CG_MOS_ROLE_NCS;
    /* towards the gear we play the far side; towards the far side, the gear */
    enum cg_err rc = ep_get(r, CG_RELAY_LEGACY, far_role, far_id, "", &L->ep[CG_RELAY_LEGACY]);
    if (rc == CG_OK)
        rc = ep_get(r, CG_RELAY_MOS4, gear_role, gear_id, k->conf.path, &L->ep[CG_RELAY_MOS4]);
    bool added[2] = {false, false};
    if (rc == CG_OK)
        rc = cg_mos_endpoint_add_peer(L->ep[CG_RELAY_MOS4]->ep, far_peer);
    added[CG_RELAY_MOS4] = rc == CG_OK;
    if (rc == CG_OK)
        rc = cg_mos_endpoint_add_peer(L->ep[CG_RELAY_LEGACY]->ep, gear_peer);
    added[CG_RELAY_LEGACY] = rc == CG_OK;
    if (rc != CG_OK) {
        /* a peer not added is not ours to remove: the endpoint may have it */
        for (int s = 0; s < 2; s++)
            leg_side_stop(r, L, (enum cg_relay_side)s, added[s]);
        free(k);
        return rc;
    }
    k->next = r->links;
    r->links = k;
    links_changed(r);
    if (mirror_make(r, k) != CG_OK) /* only memory: the link stays, unmirrored, and says so */
        cg__log(r->ctx, CG_LOG_ERROR, "relay", "link %s: out of memory: its leg state is not "
                "mirrored (leg_state = keep)", k->conf.name);
    return CG_OK;
}

/* The buddy leg's path for a MOS 4.0 identity of its own. */
static void buddy_path(const struct cg_relay_link_config *c, char *out, size_t size)
{
    if (c->buddy_path[0] != '\0')
        snprintf(out, size, "%s", c->buddy_path);
    else
        snprintf(out, size, "%s/buddy", c->path);
}

/* The failover module and its timer, for the side with the buddy. */
static enum cg_err fo_make(struct cg_relay *r, struct rlink *k, enum cg_relay_side side)
{
    struct rfo *fo = calloc(1, sizeof(*fo));
    struct fo_timer *t = calloc(1, sizeof(*t));
    struct cg_fo_config cfg = {.failover_after_ms = k->conf.failover_after_ms,
                               .failback_after_ms = k->conf.failback_after_ms == CG_RELAY_NEVER
                                                        ? CG_FO_NEVER
                                                        : k->conf.failback_after_ms};
    if (fo == NULL || t == NULL || cg__fo_init(&fo->fo, &cfg, now_ms(r)) != CG_OK) {
        free(fo);
        free(t);
        return fo == NULL || t == NULL ? CG_ENOMEM : CG_EINVAL;
    }
    fo->side = side;
    fo->timer = t;
    timer_init(r, k, t);
    k->fo = fo;
    return CG_OK;
}

enum cg_err cg_relay_link_add_buddy(struct cg_relay *r, const char *name,
                                    const struct cg_mos_peer_config *gear_peer,
                                    const struct cg_mos_peer_config *far_peer)
{
    CG_CHECK(r != NULL && name != NULL, CG_EINVAL);
    struct rlink *k = link_named(r, name);
    CG_CHECK(k != NULL, CG_ENOTFOUND);
    CG_CHECK(k->nlegs == 1, CG_EEXIST);
    const struct cg_relay_link_config *c = &k->conf;
    bool has[2] = {c->buddy_id[CG_RELAY_LEGACY][0] != '\0', c->buddy_id[CG_RELAY_MOS4][0] != '\0'};
    bool fo = c->redundancy == CG_RELAY_FAILOVER;
    CG_CHECK(has[0] || has[1], CG_EINVAL);
    CG_CHECK(!fo || !(has[0] && has[1]), CG_EINVAL);
    const struct cg_mos_peer_config *pc[2] = {gear_peer, far_peer};
    struct rleg *P = &k->leg[0], B = {0};
    for (int s = 0; s < 2; s++) {
        B.peer[s] = has[s] ? c->buddy_id[s] : P->peer[s];
        B.own[s] = !fo || has[s];
        CG_CHECK(B.own[s] ? pc[s] != NULL && !strcmp(pc[s]->id, B.peer[s]) : pc[s] == NULL,
                 CG_EINVAL);
        /* a buddy is another server: not one of the link's own IDs */
        CG_CHECK(!has[s] || (strcmp(B.peer[s], c->ncs_id) != 0 && strcmp(B.peer[s], c->mos_id) != 0),
                 CG_EINVAL);
    }
    CG_CHECK(strcmp(B.peer[0], B.peer[1]) != 0, CG_EINVAL);
    bool gear_ncs = c->gear_role == CG_MOS_ROLE_NCS;
    enum cg_mos_role gear_role = gear_ncs ? CG_MOS_ROLE_NCS : CG_MOS_ROLE_MOS;
    enum cg_mos_role far_role = gear_ncs ? CG_MOS_ROLE_MOS : CG_MOS_ROLE_NCS;
    char path[RELAY_PATH_MAX + 16];
    buddy_path(c, path, sizeof(path));
    /* as for the primary: towards the gear we play the (buddy) far side, and back */
    enum cg_err rc = CG_OK;
    bool added[2] = {false, false};
    if (B.own[CG_RELAY_LEGACY])
        rc = ep_get(r, CG_RELAY_LEGACY, far_role, B.peer[CG_RELAY_MOS4], "", &B.ep[CG_RELAY_LEGACY]);
    else
        B.ep[CG_RELAY_LEGACY] = P->ep[CG_RELAY_LEGACY];
    if (rc == CG_OK && B.own[CG_RELAY_MOS4])
        rc = ep_get(r, CG_RELAY_MOS4, gear_role, B.peer[CG_RELAY_LEGACY],
                    !strcmp(B.peer[CG_RELAY_LEGACY], P->peer[CG_RELAY_LEGACY]) ? c->path : path,
                    &B.ep[CG_RELAY_MOS4]);
    else if (rc == CG_OK)
        B.ep[CG_RELAY_MOS4] = P->ep[CG_RELAY_MOS4];
    if (rc == CG_OK && fo)
        rc = fo_make(r, k, has[CG_RELAY_MOS4] ? CG_RELAY_MOS4 : CG_RELAY_LEGACY);
    if (rc == CG_OK && B.own[CG_RELAY_MOS4])
        rc = cg_mos_endpoint_add_peer(B.ep[CG_RELAY_MOS4]->ep, far_peer);
    added[CG_RELAY_MOS4] = rc == CG_OK;
    if (rc == CG_OK && B.own[CG_RELAY_LEGACY])
        rc = cg_mos_endpoint_add_peer(B.ep[CG_RELAY_LEGACY]->ep, gear_peer);
    added[CG_RELAY_LEGACY] = rc == CG_OK;
    if (rc != CG_OK) {
        for (int s = 0; s < 2; s++)
            leg_side_stop(r, &B, (enum cg_relay_side)s, added[s]);
        if (k->fo != NULL) {
            uv_close((uv_handle_t *)&k->fo->timer->t, fo_timer_closed);
            free(k->fo);
            k->fo = NULL;
        }
        return rc;
    }
    k->leg[1] = B;
    k->nlegs = 2;
    links_changed(r);
    if (mirror_make(r, k) != CG_OK)
        cg__log(r->ctx, CG_LOG_ERROR, "relay", "link %s: out of memory: its leg state is not "
                "(fully) mirrored", k->conf.name);
    if (k->fo != NULL) /* what is up already (an endpoint shared with another link) */
        for (int l = 0; l < 2; l++) {
            enum cg_relay_side s = k->fo->side;
            k->st.leg_up[l][s] = any_up(k->leg[l].ep[s], k->leg[l].peer[s]);
            cg__fo_side(&k->fo->fo, now_ms(r), (enum cg_fo_peer)l, k->st.leg_up[l][s]);
            fo_run(r, k, 0, CG_OK, NULL);
        }
    return CG_OK;
}

enum cg_err cg_relay_remove_link(struct cg_relay *r, const char *name)
{
    CG_CHECK(r != NULL && name != NULL, CG_EINVAL);
    for (struct rlink **pp = &r->links; *pp != NULL; pp = &(*pp)->next) {
        struct rlink *k = *pp;
        if (strcmp(k->conf.name, name) != 0)
            continue;
        link_stop(r, k);
        for (pp = &r->links; *pp != k; pp = &(*pp)->next) /* the list may have changed meanwhile */
            ;
        *pp = k->next;
        links_changed(r);
        link_free(k);
        drained_maybe(r);
        return CG_OK;
    }
    return CG_ENOTFOUND;
}

bool cg_relay_has_link(const struct cg_relay *r, const char *name)
{
    return r != NULL && name != NULL && link_named(r, name) != NULL;
}

enum cg_err cg_relay_endpoints(struct cg_relay *r, cg_relay_endpoint_fn fn, void *user)
{
    CG_CHECK(r != NULL && fn != NULL, CG_EINVAL);
    for (struct rep *e = r->eps; e != NULL; e = e->next)
        fn(user, e->side, e->role, e->id, e->ep);
    return CG_OK;
}

enum cg_err cg_relay_link_stats(const struct cg_relay *r, const char *name, struct cg_relay_stats *out)
{
    CG_CHECK(r != NULL && name != NULL && out != NULL, CG_EINVAL);
    const struct rlink *k = link_named(r, name);
    CG_CHECK(k != NULL, CG_ENOTFOUND);
    *out = k->st;
    return CG_OK;
}

struct cg_mos_endpoint *cg__relay_endpoint(const struct cg_relay *r, const char *name,
                                           enum cg_relay_side side)
{
    const struct rlink *k = link_named(r, name);
    return k != NULL && k->leg[0].ep[side] != NULL ? k->leg[0].ep[side]->ep : NULL;
}

struct cg_mos_endpoint *cg__relay_leg_endpoint(const struct cg_relay *r, const char *name, int leg,
                                               enum cg_relay_side side)
{
    const struct rlink *k = link_named(r, name);
    if (k == NULL || leg < 0 || leg >= k->nlegs || k->leg[leg].ep[side] == NULL)
        return NULL;
    return k->leg[leg].ep[side]->ep;
}

enum cg_err cg_relay_auth_stats(const struct cg_relay *r, struct cg_auth_stats *out)
{
    CG_CHECK(r != NULL && out != NULL, CG_EINVAL);
    *out = (struct cg_auth_stats){0};
    for (const struct rep *e = r->eps; e != NULL; e = e->next) {
        struct cg_auth_stats a = {0};
        if (e->side == CG_RELAY_MOS4 && cg_mos_endpoint_auth_stats(e->ep, &a) == CG_OK)
            cg__relay_auth_add(out, &a);
    }
    return CG_OK;
}

enum cg_err cg_relay_link_side_stats(const struct cg_relay *r, const char *name,
                                     enum cg_relay_side side, struct cg_mos_peer_stats *out)
{
    CG_CHECK(r != NULL && name != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(side == CG_RELAY_LEGACY || side == CG_RELAY_MOS4, CG_EINVAL);
    const struct rlink *k = link_named(r, name);
    CG_CHECK(k != NULL && k->leg[0].ep[side] != NULL, CG_ENOTFOUND);
    return cg_mos_peer_stats(k->leg[0].ep[side]->ep, k->leg[0].peer[side], out);
}

enum cg_err cg_relay_link_lane_stats(const struct cg_relay *r, const char *name,
                                     enum cg_relay_side side, enum cg_mos_channel channel,
                                     enum cg_mos_dir dir, struct cg_mos_lane_stats *out)
{
    CG_CHECK(r != NULL && name != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(side == CG_RELAY_LEGACY || side == CG_RELAY_MOS4, CG_EINVAL);
    const struct rlink *k = link_named(r, name);
    CG_CHECK(k != NULL && k->leg[0].ep[side] != NULL, CG_ENOTFOUND);
    return cg_mos_endpoint_lane_stats(k->leg[0].ep[side]->ep, k->leg[0].peer[side], channel, dir, out);
}

/* ---- the relay ---- */

enum cg_err cg_relay_new(struct cg_ctx *ctx, struct cg_server *srv,
                         const struct cg_relay_handlers *handlers, void *user, struct cg_relay **out)
{
    CG_CHECK(ctx != NULL && out != NULL, CG_EINVAL);
    struct cg_relay *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return CG_ENOMEM;
    r->ctx = ctx;
    r->srv = srv;
    r->gen = 1;
    if (handlers != NULL)
        r->h = *handlers;
    r->user = user;
    *out = r;
    return CG_OK;
}

enum cg_err cg_relay_start(struct cg_relay *r)
{
    CG_CHECK(r != NULL, CG_EINVAL);
    CG_CHECK(!r->started, CG_ESTATE);
    r->started = true;
    for (struct rep *e = r->eps; e != NULL; e = e->next)
        if (!e->started) {
            CG_GUARD(cg_mos_endpoint_start(e->ep));
            e->started = true;
        }
    for (struct rlink *k = r->links; k != NULL; k = k->next) /* from the start on */
        if (mirror_make(r, k) != CG_OK)
            cg__log(r->ctx, CG_LOG_ERROR, "relay", "link %s: out of memory: its leg state is "
                    "not mirrored (leg_state = keep)", k->conf.name);
    return CG_OK;
}

enum cg_err cg_relay_reload_credentials(struct cg_relay *r)
{
    CG_CHECK(r != NULL, CG_EINVAL);
    enum cg_err first = CG_OK;
    for (struct rep *e = r->eps; e != NULL; e = e->next)
        if (e->side == CG_RELAY_MOS4) {
            enum cg_err rc = cg_mos_endpoint_reload_credentials(e->ep);
            if (first == CG_OK)
                first = rc;
        }
    return first;
}

enum cg_err cg_relay_drain(struct cg_relay *r, cg_relay_drained_cb cb, void *user)
{
    CG_CHECK(r != NULL, CG_EINVAL);
    r->draining = true;
    r->drained = cb;
    r->drained_user = user;
    drained_maybe(r);
    return CG_OK;
}

unsigned cg_relay_inflight(const struct cg_relay *r) { return r != NULL ? r->inflight : 0; }

void cg_relay_free(struct cg_relay *r)
{
    if (r == NULL)
        return;
    r->freeing = true;
    while (r->links != NULL) {
        struct rlink *k = r->links;
        link_stop(r, k);
        r->links = k->next;
        links_changed(r);
        link_free(k);
    }
    while (r->eps != NULL) { /* none left normally */
        struct rep *e = r->eps;
        r->eps = e->next;
        if (r->h.endpoint_gone != NULL)
            r->h.endpoint_gone(r->user, e->ep);
        cg_mos_endpoint_free(e->ep);
        free(e);
    }
    free(r);
}
