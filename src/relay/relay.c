/* The relay: links between legacy MOS 2.x gear and MOS 4.0 peers
 * (include/castgate/relay.h). A request from either side is forwarded with
 * cg_mos_forward and answered with the other side's own answer (M-22);
 * heartbeats (M-10) and messages removed in 4.0 (M-12) follow the link's
 * policies (policy.c decides). */
#include "core/core.h"
#include "mos4/mos4.h"
#include "relay/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rep { /* one of our endpoints, shared by the links with its identity */
    struct cg_relay *r;
    enum cg_relay_side side;
    enum cg_mos_role role;
    char id[RELAY_ID_MAX + 1];
    struct cg_mos_endpoint *ep;
    int nlinks;
    bool started;
    struct rep *next;
};

struct rlink {
    struct cg_relay_link_config conf;
    unsigned long serial; /* forwards find their link by it: links may go while they run */
    struct rep *ep[2];    /* by side */
    const char *peer[2];  /* by side: the gear's ID (legacy), the far side's ID (mos4) */
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
    unsigned inflight;
    bool started, draining, freeing;
    cg_relay_drained_cb drained;
    void *drained_user;
};

struct forward {
    struct cg_relay *r;
    unsigned long serial;
    struct cg_mos_request *req;
    enum cg_relay_side from; /* for the NACK counters */
    enum cg_mos_channel ch;
};

static void emit(struct cg_relay *r, const struct cg_relay_event *ev)
{
    if (r->h.on_event != NULL && !r->freeing)
        r->h.on_event(r->user, ev);
}

static struct rlink *link_named(const struct cg_relay *r, const char *name)
{
    for (struct rlink *k = r->links; k != NULL; k = k->next)
        if (strcmp(k->conf.name, name) == 0)
            return k;
    return NULL;
}

static struct rlink *link_of(const struct cg_relay *r, const struct rep *e, const char *peer)
{
    for (struct rlink *k = r->links; k != NULL; k = k->next)
        if (k->ep[e->side] == e && strcmp(k->peer[e->side], peer) == 0)
            return k;
    return NULL;
}

static struct rlink *link_serial(const struct cg_relay *r, unsigned long serial)
{
    for (struct rlink *k = r->links; k != NULL; k = k->next)
        if (k->serial == serial)
            return k;
    return NULL;
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

static void on_lane(void *user, const char *peer, enum cg_mos_channel ch, enum cg_mos_dir dir, bool up)
{
    struct rep *e = user;
    struct cg_relay *r = e->r;
    struct rlink *k = link_of(r, e, peer);
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_LANE, .link = k != NULL ? k->conf.name : NULL,
                                .side = e->side, .peer_id = peer, .channel = ch, .dir = dir, .up = up};
    emit(r, &ev);
    if (k == NULL)
        return;
    bool now = any_up(e, peer);
    bool *was = e->side == CG_RELAY_MOS4 ? &k->st.mos4_up : &k->st.legacy_up;
    if (now == *was) /* the link's summary: which side is reachable */
        return;
    *was = now;
    ev = (struct cg_relay_event){.kind = CG_RELAY_EV_LINK, .link = k->conf.name, .side = e->side,
                                 .peer_id = peer, .channel = ch, .dir = dir, .up = now,
                                 .legacy_up = k->st.legacy_up, .mos4_up = k->st.mos4_up};
    emit(r, &ev);
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

static void relay_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct forward *f = user;
    struct cg_relay *r = f->r;
    struct rlink *k = link_serial(r, f->serial);
    r->inflight--;
    if (k != NULL)
        k->st.in_flight--;
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

/* m goes to the other side as parsed (issue 13 item 3): its element bytes,
 * in its own encoding, into the far lane's envelope; nothing is read again. */
static enum cg_err forward(struct cg_relay *r, struct rlink *k, enum cg_relay_side to,
                           struct cg_mos_request *req, const struct cg_mos_message *m,
                           const struct cg_mos_message *send)
{
    struct forward *f = malloc(sizeof(*f));
    if (f == NULL)
        return CG_ENOMEM;
    *f = (struct forward){.r = r, .serial = k->serial, .req = req, .ch = m->channel,
                          .from = to == CG_RELAY_MOS4 ? CG_RELAY_LEGACY : CG_RELAY_MOS4};
    r->inflight++;
    k->st.in_flight++;
    enum cg_err rc = cg_mos_forward_message(k->ep[to]->ep, k->peer[to], send, relay_done, f);
    if (rc != CG_OK) {
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
static enum cg_err forward_translated(struct cg_relay *r, struct rlink *k,
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
    return forward(r, k, CG_RELAY_MOS4, req, m, &t);
}

/* Translates a message removed in 4.0 (docs/translation.md) and forwards
 * the translation, or the original under translate-or-pass, or NACKs. */
static void translate_and_forward(struct cg_relay *r, struct rlink *k, enum relay_action act,
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
    enum cg_err rc = trc == CG_OK ? forward_translated(r, k, req, m, translated, n)
                                  : forward(r, k, CG_RELAY_MOS4, req, m, m);
    if (rc == CG_OK && trc == CG_OK)
        k->st.translated++;
    cg_mos_free(translated);
    if (rc != CG_OK)
        cg__relay_count_nack(&k->st, CG_RELAY_LEGACY, CG_RELAY_NACK_FORWARD, m->channel);
    if (rc != CG_OK)
        nack(&k->st, req, "cannot forward: ", cg_strerror(rc));
}

static void relay_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct rep *e = user;
    struct cg_relay *r = e->r;
    struct rlink *k = link_of(r, e, m->peer_id);
    struct cg_relay_event ev = {.kind = CG_RELAY_EV_REQUEST, .link = k != NULL ? k->conf.name : NULL,
                                .side = e->side, .peer_id = m->peer_id, .channel = m->channel,
                                .dir = CG_MOS_IN, .message = m};
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
    bool out_up = k->conf.heartbeat != CG_RELAY_HB_PASS_OR_ANSWER || /* only that policy asks */
                  cg_mos_lane_is_up(k->ep[to]->ep, k->peer[to], m->channel, CG_MOS_OUT);
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
        translate_and_forward(r, k, act, req, m);
        return;
    case RELAY_FORWARD:
        break;
    }
    enum cg_err rc = forward(r, k, to, req, m, m);
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

/* Removes k's peers and drops its endpoints; k stays listed meanwhile, so
 * that the forwards ending now (CG_ECLOSED) still find it. */
static void link_stop(struct cg_relay *r, struct rlink *k)
{
    /* the MOS 4.0 peer first: forwards of the gear's requests end (CG_ECLOSED)
     * while those requests still exist */
    static const enum cg_relay_side order[] = {CG_RELAY_MOS4, CG_RELAY_LEGACY};
    for (size_t i = 0; i < CG_ARRAY_LEN(order); i++) {
        struct rep *e = k->ep[order[i]];
        if (e == NULL)
            continue;
        cg_mos_endpoint_remove_peer(e->ep, k->peer[order[i]]);
        ep_drop(r, e);
        k->ep[order[i]] = NULL;
    }
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
    struct rlink *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return CG_ENOMEM;
    k->conf = *lc;
    k->serial = ++r->next_serial;
    k->peer[CG_RELAY_LEGACY] = gear_ncs ? k->conf.ncs_id : k->conf.mos_id;
    k->peer[CG_RELAY_MOS4] = gear_ncs ? k->conf.mos_id : k->conf.ncs_id;
    enum cg_mos_role gear_role = gear_ncs ? CG_MOS_ROLE_NCS : CG_MOS_ROLE_MOS;
    enum cg_mos_role far_role = gear_ncs ? CG_MOS_ROLE_MOS : CG_MOS_ROLE_NCS;
    /* towards the gear we play the far side; towards the far side, the gear */
    enum cg_err rc = ep_get(r, CG_RELAY_LEGACY, far_role, far_id, "", &k->ep[CG_RELAY_LEGACY]);
    if (rc == CG_OK)
        rc = ep_get(r, CG_RELAY_MOS4, gear_role, gear_id, k->conf.path, &k->ep[CG_RELAY_MOS4]);
    bool added[2] = {false, false};
    if (rc == CG_OK)
        rc = cg_mos_endpoint_add_peer(k->ep[CG_RELAY_MOS4]->ep, far_peer);
    added[CG_RELAY_MOS4] = rc == CG_OK;
    if (rc == CG_OK)
        rc = cg_mos_endpoint_add_peer(k->ep[CG_RELAY_LEGACY]->ep, gear_peer);
    added[CG_RELAY_LEGACY] = rc == CG_OK;
    if (rc != CG_OK) {
        for (int s = 0; s < 2; s++)
            if (k->ep[s] != NULL && !added[s]) /* not ours to remove: the endpoint may have it */
                ep_drop(r, k->ep[s]), k->ep[s] = NULL;
        link_stop(r, k);
        free(k);
        return rc;
    }
    k->next = r->links;
    r->links = k;
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
        free(k);
        return CG_OK;
    }
    return CG_ENOTFOUND;
}

bool cg_relay_has_link(const struct cg_relay *r, const char *name)
{
    return r != NULL && name != NULL && link_named(r, name) != NULL;
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
    return k != NULL && k->ep[side] != NULL ? k->ep[side]->ep : NULL;
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
    CG_CHECK(k != NULL && k->ep[side] != NULL, CG_ENOTFOUND);
    return cg_mos_peer_stats(k->ep[side]->ep, k->peer[side], out);
}

enum cg_err cg_relay_link_lane_stats(const struct cg_relay *r, const char *name,
                                     enum cg_relay_side side, enum cg_mos_channel channel,
                                     enum cg_mos_dir dir, struct cg_mos_lane_stats *out)
{
    CG_CHECK(r != NULL && name != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(side == CG_RELAY_LEGACY || side == CG_RELAY_MOS4, CG_EINVAL);
    const struct rlink *k = link_named(r, name);
    CG_CHECK(k != NULL && k->ep[side] != NULL, CG_ENOTFOUND);
    return cg_mos_endpoint_lane_stats(k->ep[side]->ep, k->peer[side], channel, dir, out);
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
        free(k);
    }
    while (r->eps != NULL) { /* none left normally */
        struct rep *e = r->eps;
        r->eps = e->next;
        cg_mos_endpoint_free(e->ep);
        free(e);
    }
    free(r);
}
