/* MOS 2.x peers (M-21) on the endpoint's lanes: per channel a port; the
 * connection we dial to the peer's port is our OUT lane, one the peer opens
 * to our port is our IN lane. The connections are src/legacy/'s; here they
 * become a lane's transport (struct mos4_transport_ops) and what they tell
 * (struct cg_legacy_ops) reaches the lane. keepAlive is never sent to these
 * peers (M-09). */
#include "mos4/mos4.h"

#include <string.h>

/* ---- the lane's transport ---- */

static enum cg_err t_write(void *t, enum cg_mos_encoding to, const char *xml, size_t len)
{
    return cg__legacy_write(t, cg__mos4_enc_of(xml, len), to, xml, len);
}

static void t_pause(void *t, bool paused) { cg__legacy_pause(t, paused); }

static void t_close(void *t, uint16_t code, const char *why)
{
    CG_UNUSED(code); /* no WebSocket close on a MOS 2.x connection */
    CG_UNUSED(why);
    cg__legacy_close(t);
}

static const char *t_peer_addr(const void *t) { return cg__legacy_peer_name(t); }

static const struct mos4_transport_ops legacy_transport = {
    .name = "MOS 2.x TCP",
    .reset_when_silent = false, /* M-09: keepAlive is never sent to these peers */
    .write = t_write,
    .pause = t_pause,
    .close = t_close,
    .peer_addr = t_peer_addr,
};

/* ---- what a connection tells its lane ---- */

/* The connection is ready: it becomes the lane's. A newer one replaces an
 * older one: on the OUT lane ours, on the IN lane one from the same address
 * (on_accept refuses any other while the lane is up). */
static void on_up(void *user, struct cg_legacy_conn *c)
{
    struct mos4_lane *l = user;
    if (l->peer->held) { /* connected as the peer was held: not let in */
        if (l->t == c)
            l->t = NULL;
        cg__legacy_close(c);
        return;
    }
    if (l->t != NULL && l->t != c) {
        struct cg_legacy_conn *old = l->t;
        l->t = NULL;
        cg__legacy_close(old);
        if (l->up)
            cg__mos4_lane_gone(l);
    }
    cg__mos4_lane_attach(l, &legacy_transport, c);
    cg__mos4_lane_up(l);
}

/* The connection ended (EOF, error): the lane hears of it once. */
static void on_lost(void *user, struct cg_legacy_conn *c, const char *why)
{
    struct mos4_lane *l = user;
    if (l->t != c)
        return;
    /* While the peer stays away, only the first failed attempt is worth a line. */
    enum cg_log_level lv = l->up || l->attempt <= 1 ? CG_LOG_INFO : CG_LOG_DEBUG;
    cg__log(l->peer->ep->ctx, lv, "mos", "%s %s (MOS 2.x %s): %s", l->peer->id,
            cg__mos4_ch_name(l->ch), cg__legacy_peer_name(c), why);
    cg__mos4_lane_gone(l);
}

static void on_message(void *user, const uint8_t *data, size_t len, bool binary)
{
    struct mos4_lane *l = user;
    l->last_rx_ms = cg__now_ms();
    cg__mos4_lane_carried(l);
    cg__mos4_on_message(l, binary, data, len);
}

/* The framer's attribute bound: the head goes to the pre-scan, which
 * refuses it for the same reason as it would the whole message (a NACK that
 * keeps the messageID), on either lane direction. */
static void on_refused_head(void *user, const uint8_t *data, size_t len, bool binary)
{
    cg__mos4_refuse_head(user, binary, data, len);
}

/* A stop-and-wait sender waits for an answer to what it sent: give one, or
 * it repeats the oversized message for ever. */
static void on_too_big(void *user)
{
    struct mos4_lane *l = user;
    if (l->dir == CG_MOS_IN)
        cg__mos4_nack_invalid(l, NULL, "message too large");
}

/* Whether a connection from sa may have the IN lane l (legacy_allow; a live
 * connection is never replaced by another address). */
static void *on_accept(void *listen_user, const struct sockaddr *sa, const char **why)
{
    struct mos4_lane *l = listen_user;
    const struct mos4_peer *p = l->peer;
    if (p->ep->freeing)
        return NULL;
    if (p->held) {
        *why = "held: the far side of this leg is down (leg_state = mirror)";
        return NULL;
    }
    if (!cg__mos4_allow_match(&p->allow, sa)) {
        *why = "address not in legacy_allow";
        return NULL;
    }
    const struct cg_legacy_conn *live = l->up ? l->t : NULL;
    if (live != NULL && !cg__mos4_same_host(sa, cg__legacy_peer_sockaddr(live))) {
        *why = "the port is in use by a live connection from another address";
        return NULL;
    }
    return l;
}

static const struct cg_legacy_ops lane_ops = {
    .up = on_up,
    .lost = on_lost,
    .message = on_message,
    .refused_head = on_refused_head,
    .too_big = on_too_big,
    .accept = on_accept,
};

static struct cg_legacy_params params(const struct mos4_peer *p, int ch)
{
    const struct cg_mos_endpoint_config *cfg = &p->ep->cfg;
    /* A tag past the pre-scan's attribute bound is refused while it streams
     * in, its rest dropped unread (issue 12, quadratic XML). */
    unsigned max_attrs = 0;
    if (cfg->validate)
        max_attrs = cfg->xml.max_attributes != 0 ? cfg->xml.max_attributes
                                                 : CG_MOS_DEFAULT_MAX_ATTRIBUTES;
    return (struct cg_legacy_params){.ctx = p->ep->ctx, .ops = &lane_ops, .enc = p->legacy_enc,
                                     .max_message = cfg->max_message, .max_attrs = max_attrs,
                                     .peer_id = p->id, .ch_name = cg__mos4_ch_name(ch)};
}

/* ---- dialing and listening ---- */

enum cg_err cg__mos4_legacy_dial(struct mos4_lane *l)
{
    struct mos4_peer *p = l->peer;
    struct cg_legacy_params lp = params(p, l->ch);
    struct cg_legacy_conn *c = NULL;
    CG_GUARD(cg__legacy_dial(&lp, p->legacy_host, p->dial_port[l->ch], l, &c));
    cg__mos4_lane_attach(l, &legacy_transport, c); /* connecting: not up yet */
    return CG_OK;
}

enum cg_err cg__mos4_legacy_listen(struct mos4_peer *p)
{
    for (int ch = 0; ch < CG_MOS4_NCH; ch++) {
        if (p->listen_port[ch] == 0 || !(p->channels & cg__mos4_ch_bit(ch)))
            continue;
        struct cg_legacy_params lp = params(p, ch);
        CG_GUARD(cg__legacy_listen(&lp, p->listen_addr, p->listen_port[ch], p->allow.n == 0,
                                   &p->lanes[ch][CG_MOS_IN], &p->listeners[ch]));
    }
    return CG_OK;
}

void cg__mos4_legacy_unlisten(struct mos4_peer *p)
{
    for (int ch = 0; ch < CG_MOS4_NCH; ch++) {
        if (p->listeners[ch] != NULL)
            cg__legacy_unlisten(p->listeners[ch]);
        p->listeners[ch] = NULL;
    }
}
