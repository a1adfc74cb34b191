/* A lane's connection: dialed (with reconnects) or accepted, reset when
 * silent too long, and what the application and the flow core (flow.c)
 * hear of it. */
#include "mos4/mos4.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANE_OF(h, field) ((struct mos4_lane *)((char *)(h) - offsetof(struct mos4_lane, field)))

static void dial(struct mos4_lane *l);

static const char *lane_name(const struct mos4_lane *l, char *buf, size_t sz)
{
    snprintf(buf, sz, "%.200s %s %s", l->peer->id, cg__mos4_ch_name(l->ch),
             l->dir == CG_MOS_OUT ? "out" : "in");
    return buf;
}

static void on_retry(uv_timer_t *t) { dial(LANE_OF(t, retry_timer)); }

/* The delay comes from backoff.c (what the last connection said of the
 * peer), drawn from 75-100% of its value so a fleet does not reconnect in
 * step. */
static void schedule_dial(struct mos4_lane *l, enum mos4_outcome o)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (!l->we_dial || ep->freeing || !ep->started || l->peer->removed || l->peer->held)
        return;
    uint16_t r = 0;
    RAND_bytes((unsigned char *)&r, sizeof(r));
    uint64_t delay = cg__mos4_backoff_next(&l->backoff, o, ep->cfg.reconnect_max_ms,
                                           ep->cfg.refused_max_ms, 75 + r % 26);
    l->attempt++;
    uv_timer_start(&l->retry_timer, on_retry, delay, 0);
}

/* A failed or lost connection: its reason is logged when it changes, not
 * per attempt (a refusing peer is dialed again for hours). */
static void log_failure(struct mos4_lane *l, enum cg_log_level lv, const char *why)
{
    char name[300];
    bool repeat = l->failed != MOS4_HEALTHY && strcmp(l->last_why, why) == 0;
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (!repeat && l->we_dial && l->failed != MOS4_DOWN && l->failed != MOS4_HEALTHY &&
        l->failed != MOS4_BUSY && l->failed != MOS4_GONE)
        cg__log(ep->ctx, lv, "mos", "%s: %s; backing off (up to %u s) while the peer refuses; "
                "said again only when the reason changes", lane_name(l, name, sizeof(name)), why,
                (unsigned)(ep->cfg.refused_max_ms / 1000));
    else
        cg__log(ep->ctx, repeat ? CG_LOG_DEBUG : lv, "mos", "%s: %s", lane_name(l, name, sizeof(name)),
                why);
    snprintf(l->last_why, sizeof(l->last_why), "%s", why);
}

static void dial(struct mos4_lane *l)
{
    if (l->peer->legacy) {
        if (cg__mos4_legacy_dial(l) != CG_OK)
            schedule_dial(l, MOS4_DOWN);
        return;
    }
    char *url = NULL, name[300];
    struct cg_ws *ws = NULL;
    enum cg_err rc = cg__mos4_url_with_query(l, &url);
    if (rc == CG_OK)
        rc = cg_ws_connect(l->peer->client, url, &cg__mos4_ws_handlers, l, &ws);
    free(url);
    if (rc != CG_OK) {
        cg__log(l->peer->ep->ctx, CG_LOG_ERROR, "mos", "%s: cannot dial: %s",
                lane_name(l, name, sizeof(name)), cg_strerror(rc));
        schedule_dial(l, MOS4_DOWN);
        return;
    }
    cg__mos4_lane_attach(l, &cg__mos4_wss_transport, ws); /* connecting */
}

void cg__mos4_lane_attach(struct mos4_lane *l, const struct mos4_transport_ops *ops, void *t)
{
    l->tops = ops;
    l->t = t;
}

bool cg__mos4_lane_pause(struct mos4_lane *l, bool paused)
{
    if (l->t == NULL || l->tops->pause == NULL)
        return false;
    l->tops->pause(l->t, paused);
    return true;
}

const char *cg__mos4_lane_peer_addr(const struct mos4_lane *l)
{
    return l->t != NULL ? l->tops->peer_addr(l->t) : NULL;
}

void cg__mos4_touch_tx(struct mos4_lane *l)
{
    l->last_tx_ms = cg__now_ms();
    cg__flow_traffic(cg__mos4_flow(l), l->last_tx_ms, l->dir == CG_MOS_OUT ? CG_FLOW_OUT : CG_FLOW_IN,
                     true);
}

/* Nothing received for silent_reset_ms (cg_mos_endpoint_config_set_silent_reset):
 * the connection is reset, and dialled again where we dial. */
static bool silent_too_long(struct mos4_lane *l, uint64_t now)
{
    uint32_t limit = l->peer->ep->cfg.silent_reset_ms;
    if (limit == 0 || !l->up || l->t == NULL || !l->tops->reset_when_silent ||
        now - l->last_rx_ms < limit)
        return false;
    char name[300];
    cg__log(l->peer->ep->ctx, CG_LOG_WARN, "mos", "%s: nothing received for %llu s: connection "
            "reset", lane_name(l, name, sizeof(name)), (unsigned long long)(now - l->last_rx_ms) / 1000);
    void *t = l->t;
    const struct mos4_transport_ops *ops = l->tops;
    l->failed = MOS4_HEALTHY; /* our reset, not the peer's refusal: dial again fast */
    l->t = NULL; /* detached: the lane hears nothing more of it */
    cg__mos4_lane_gone(l);
    ops->close(t, 1001, "nothing received for too long");
    return true;
}

/* The idle timer (armed by the flow core for M-09's keepAlive): a lane
 * silent too long is reset; otherwise the core decides. */
void cg__mos4_on_idle(uv_timer_t *t)
{
    struct mos4_lane *l = LANE_OF(t, idle_timer);
    if (!silent_too_long(l, cg__now_ms()))
        cg__mos4_flow_timer(l, l->dir == CG_MOS_OUT ? CG_FLOW_T_IDLE_OUT : CG_FLOW_T_IDLE_IN);
}

enum cg_err cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    CG_CHECK(l->up && l->t != NULL, CG_ECLOSED);
    /* in the peer's encoding (M-04 on wss, M-21 on MOS 2.x TCP); converted only if needed */
    enum cg_err rc = l->tops->write(l->t, cg__mos4_lane_enc(l), xml, len);
    if (rc == CG_OK)
        cg__mos4_touch_tx(l);
    return rc;
}

static void notify(struct mos4_lane *l, bool up)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    char name[300];
    cg__log(ep->ctx, CG_LOG_INFO, "mos", "%s: lane %s", lane_name(l, name, sizeof(name)),
            up ? "up" : "down");
    if (ep->h.on_lane != NULL)
        ep->h.on_lane(ep->user, l->peer->id, cg__mos4_ch_bit(l->ch), l->dir, up);
}

static void lane_lost(struct mos4_lane *l)
{
    bool was_up = l->up;
    l->t = NULL;
    l->up = false;
    cg__mos4_flow_down(l); /* its timers stop with it */
    if (was_up)
        notify(l, false);
}

void cg__mos4_lane_up(struct mos4_lane *l)
{
    l->up = true;
    l->attempt = 0; /* the backoff stays until the lane proves good (lane_gone) */
    l->carried = false;
    l->up_since_ms = l->last_rx_ms = l->last_tx_ms = cg__now_ms();
    notify(l, true);
    if (l->up) /* the core: keepAlive timing (M-09), the request in flight again (M-22) */
        cg__mos4_flow_up(l);
}

void cg__mos4_lane_carried(struct mos4_lane *l)
{
    l->carried = true;
    l->last_why[0] = '\0'; /* a good lane: the next failure is news */
}

void cg__mos4_lane_gone(struct mos4_lane *l)
{
    enum mos4_outcome o = l->failed;
    /* issue 20: only a lane that carried something or stayed up was good */
    if (l->up && o != MOS4_HEALTHY && o != MOS4_GONE)
        o = cg__mos4_outcome(true, l->carried || cg__now_ms() - l->up_since_ms >= MOS4_HEALTHY_MS,
                             CG_OK, 0);
    if (o == MOS4_HEALTHY)
        l->last_why[0] = '\0';
    l->failed = MOS4_DOWN;
    lane_lost(l);
    schedule_dial(l, o);
}

static void on_ws_open(void *user, struct cg_ws *ws)
{
    CG_UNUSED(user);
    struct mos4_lane *l = cg_ws_user(ws);
    if (l == NULL)
        return;
    if (l->peer->held) { /* accepted before the hold (a deferred login): not let in */
        if (l->t == ws)
            l->t = NULL;
        cg__mos4_wss_transport.close(ws, 1013, "held: the far side of this leg is down");
        return;
    }
    if (l->t != NULL && l->t != ws) { /* the peer connected again: the new one wins */
        void *old = l->t;
        const struct mos4_transport_ops *ops = l->tops;
        l->t = NULL;
        lane_lost(l);
        ops->close(old, 1000, "replaced by a newer connection");
    }
    cg__mos4_lane_attach(l, &cg__mos4_wss_transport, ws);
    cg__mos4_lane_up(l);
}

static void on_ws_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    CG_UNUSED(user);
    struct mos4_lane *l = cg_ws_user(ws);
    if (l == NULL || l->t != ws)
        return;
    l->last_rx_ms = cg__now_ms();
    cg__mos4_lane_carried(l);
    cg__mos4_on_message(l, binary, d, n);
}

static void on_ws_close(void *user, struct cg_ws *ws, uint16_t code)
{
    CG_UNUSED(user);
    struct mos4_lane *l = cg_ws_user(ws);
    if (l == NULL || l->t != ws)
        return;
    char text[160], http[24] = "";
    enum cg_err why = cg_ws_error(ws);
    int status = cg_ws_http_status(ws);
    if (status != 0)
        snprintf(http, sizeof(http), ", HTTP %d", status);
    if (!l->up && cg__mos4_backoff_busy(&l->backoff, status, cg_ws_retry_after(ws))) {
        l->failed = MOS4_BUSY; /* 503 with Retry-After: come back then, not a refusal */
        snprintf(http, sizeof(http), ", HTTP %d, busy", status);
    } else if (!l->up)
        l->failed = cg__mos4_outcome(false, false, why, status);
    else
        l->failed = cg__mos4_closed_outcome(l->carried, cg__now_ms() - l->up_since_ms, code);
    snprintf(text, sizeof(text), "connection closed (%u, %s%s)", (unsigned)code, cg_strerror(why),
             http);
    log_failure(l, why == CG_OK ? CG_LOG_INFO : CG_LOG_WARN, text);
    cg__mos4_lane_gone(l); /* M-08: a passive lane comes back "as quickly as possible" */
}

const struct cg_ws_handlers cg__mos4_ws_handlers = {
    .on_open = on_ws_open,
    .on_message = on_ws_message,
    .on_close = on_ws_close,
};

void cg__mos4_lane_init(struct mos4_lane *l, struct mos4_peer *p, int ch, enum cg_mos_dir dir)
{
    struct cg_mos_endpoint *ep = p->ep;
    uv_loop_t *loop = cg_ctx_loop(ep->ctx);
    l->peer = p;
    l->ch = ch;
    l->dir = dir;
    bool configured = (p->channels & cg__mos4_ch_bit(ch)) != 0;
    l->we_dial = configured && p->url != NULL && (p->mode == CG_MOS_PASSIVE_INSIDE ||
                                (p->mode == CG_MOS_STANDARD && dir == CG_MOS_OUT));
    if (p->legacy) /* M-21: we dial the peer's port to originate; it dials ours */
        l->we_dial = configured && dir == CG_MOS_OUT && p->dial_port[ch] != 0;
    l->passive_dial = p->mode == CG_MOS_PASSIVE_INSIDE && dir == CG_MOS_IN;
    l->jfd = -1;
    uv_timer_t *timers[] = {&l->retry_timer, &l->idle_timer, &l->ack_timer};
    for (size_t i = 0; i < CG_ARRAY_LEN(timers); i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = l;
        ep->open_timers++;
        p->open_timers++;
    }
    if (configured && dir == CG_MOS_IN && ep->cfg.state_dir != NULL)
        cg__mos4_journal_open(l);
}

static void on_replay(uv_timer_t *t) { cg__mos4_replay(LANE_OF(t, ack_timer)); }

void cg__mos4_lane_start(struct mos4_lane *l)
{
    if (l->we_dial && l->t == NULL && !l->peer->held)
        dial(l);
    /* Journaled requests go to the application on the next turn of the loop,
     * once every peer added with this one exists. (An IN lane has no answer
     * timeout: its ack_timer is free for this.) */
    if (l->dir == CG_MOS_IN && l->peer->flow_on[l->ch] && l->peer->flow[l->ch].hlen > 0)
        uv_timer_start(&l->ack_timer, on_replay, 0, 0);
}

void cg__mos4_lane_hold(struct mos4_lane *l)
{
    uv_timer_stop(&l->retry_timer);
    if (l->t == NULL)
        return;
    void *t = l->t;
    const struct mos4_transport_ops *ops = l->tops;
    l->failed = MOS4_DOWN;
    lane_lost(l); /* detached first: the close reaches no lane */
    ops->close(t, 1001, "held: the far side of this leg is down");
}

void cg__mos4_lane_release(struct mos4_lane *l)
{
    const struct cg_mos_endpoint *ep = l->peer->ep;
    if (!l->we_dial || l->t != NULL || !ep->started || ep->freeing || l->peer->removed)
        return;
    cg__mos4_backoff_reset(&l->backoff); /* not the peer's refusal: at once */
    l->attempt = 0;
    l->last_why[0] = '\0';
    uv_timer_stop(&l->retry_timer);
    dial(l);
}

void cg__mos4_lane_close(struct mos4_lane *l)
{
    if (l->t != NULL) {
        void *t = l->t;
        l->t = NULL;
        l->up = false;
        l->tops->close(t, 1001, "endpoint shutting down");
    }
    cg__mos4_flow_free(l);
    cg__mos4_journal_close(l);
    uv_close((uv_handle_t *)&l->retry_timer, cg__mos4_timer_closed);
    uv_close((uv_handle_t *)&l->idle_timer, cg__mos4_timer_closed);
    uv_close((uv_handle_t *)&l->ack_timer, cg__mos4_timer_closed);
}
