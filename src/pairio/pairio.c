/* The replication channel of a gateway pair (castgate/pair.h, issue 18,
 * docs/redundancy.md "Replication over the BCP-003-01 wss engine"): the
 * I/O around the sans-I/O pair core (src/redund/pair.c). Messages in from
 * the WebSocket, the time from the loop's timer; the core's actions out in
 * the order it gives them: messages (src/redund/pairwire.c, one per binary
 * frame) to the other node, everything else to the caller as events.
 * Nothing here decides: a message that cannot be sent is dropped (the core's
 * heartbeats and resync make up for it), a connection that misbehaves is
 * closed. */
#include "core/core.h"
#include "redund/redund.h"

#include <castgate/pair.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define DEFAULT_PATH "/castgate/pair"
/* with its head, a message fits the engine's default CG_LIMIT_MAX_WS_MESSAGE */
#define DEFAULT_MAX_RECORD (((size_t)16 << 20) - CG_PAIR_WIRE_HEAD)
#define REDIAL_MIN_MS 100

struct pl_conn {             /* one connection; freed at its on_close */
    struct cg_pairlink *pl;  /* NULL once the link let go of it */
    struct cg_ws *ws;
    bool open;
};

struct pl_timers {           /* closed asynchronously: outlive the link */
    uv_timer_t tick, redial;
    struct cg_pairlink *pl;  /* NULL once the link is freed */
    int open;
};

struct cg_pairlink {
    struct cg_ctx *ctx;
    struct cg_pairlink_config cfg;
    char *url, *path;
    cg_pairlink_fn fn;
    void *user;
    struct cg_pair core;
    struct pl_conn *conn;    /* the connection (open or opening), or NULL */
    struct pl_timers *timers;
    struct pl_wait *waits;   /* node 1: upgrades waiting for their password hash */
    bool started, halted, route_added;
    bool resync_pending, in_resync;
    uint64_t resync_from;
    const uint8_t *tx;       /* the record being recorded or replayed */
    size_t txlen;
    uint64_t txref;
    const uint8_t *rx;       /* the record being received */
    size_t rxlen;
    uint8_t *buf;            /* a message being encoded */
    size_t bufcap;
    enum cg_err last_close;  /* logged once until it changes */
    uint64_t sent, received;
    uint64_t resync_failures;
};

static uint64_t now_ms(const struct cg_pairlink *pl) { return uv_now(cg_ctx_loop(pl->ctx)); }

static void drain(struct cg_pairlink *pl);
static void on_tick(uv_timer_t *t);
static void on_redial(uv_timer_t *t);

/* ---- events to the caller ---- */

static enum cg_err emit(struct cg_pairlink *pl, struct cg_pairlink_event *ev)
{
    if (ev->why == NULL)
        ev->why = "";
    return pl->fn(pl->user, ev);
}

static void emit_connected(struct cg_pairlink *pl, bool up)
{
    struct cg_pairlink_event ev = {.kind = CG_PAIRLINK_EV_CONNECTED, .up = up,
                                   .epoch = pl->core.epoch, .number = pl->core.last_seq};
    emit(pl, &ev);
}

/* ---- the connection ---- */

static void arm_redial(struct cg_pairlink *pl)
{
    if (pl->cfg.node != 0 || !pl->started || pl->halted)
        return;
    uint64_t ms = pl->cfg.heartbeat_ms > REDIAL_MIN_MS ? pl->cfg.heartbeat_ms : REDIAL_MIN_MS;
    uv_timer_start(&pl->timers->redial, on_redial, ms, 0);
}

/* The connection c is gone (closed by the other end, the network, or us). */
static void lost(struct cg_pairlink *pl, struct pl_conn *c, enum cg_err why)
{
    if (pl->conn != c)
        return;
    pl->conn = NULL;
    c->pl = NULL;
    if (why != pl->last_close) {
        cg__log(pl->ctx, CG_LOG_WARN, "pair",
                "the connection to node %d %s: %s", 1 - pl->cfg.node,
                c->open ? "closed" : "could not be opened", cg_strerror(why));
        pl->last_close = why;
    }
    if (c->open)
        emit_connected(pl, false);
    arm_redial(pl);
}

/* Closes the connection from our side (it misbehaved, or we stop). */
static void drop(struct cg_pairlink *pl, uint16_t code, const char *reason)
{
    struct pl_conn *c = pl->conn;
    if (c == NULL)
        return;
    struct cg_ws *ws = c->ws;
    lost(pl, c, CG_ECLOSED);
    cg_ws_close(ws, code, reason); /* c is freed at its on_close, maybe within this call */
}

static void on_open(void *route_user, struct cg_ws *ws);
static void on_message(void *route_user, struct cg_ws *ws, bool binary, const uint8_t *data,
                       size_t len);
static void on_close(void *route_user, struct cg_ws *ws, uint16_t code);

static const struct cg_ws_handlers conn_handlers = {
    .on_open = on_open, .on_message = on_message, .on_close = on_close};

static void dial(struct cg_pairlink *pl)
{
    if (pl->conn != NULL || pl->halted || !pl->started)
        return;
    struct pl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        arm_redial(pl);
        return;
    }
    c->pl = pl;
    pl->conn = c;
    enum cg_err rc = cg_ws_connect(pl->cfg.client, pl->url, &conn_handlers, c, &c->ws);
    if (rc != CG_OK) { /* no on_close follows */
        lost(pl, c, rc);
        free(c);
    }
}

static void on_redial(uv_timer_t *t)
{
    struct pl_timers *tm = t->data;
    if (tm->pl != NULL)
        dial(tm->pl);
}

/* Node 1: the other node connects; a new connection replaces an old one
 * (which may be half dead: its TCP may linger after a crash). */
static void adopt(struct cg_pairlink *pl, struct cg_ws *ws)
{
    struct pl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        cg_ws_close(ws, 1011, "out of memory");
        return;
    }
    drop(pl, 1000, "replaced by a new connection");
    c->pl = pl;
    c->ws = ws;
    cg_ws_set_user(ws, c);
    pl->conn = c;
}

static void on_open(void *route_user, struct cg_ws *ws)
{
    struct pl_conn *c = cg_ws_user(ws);
    if (c == NULL) { /* node 1: route_user is the link (the route exists: it is alive) */
        adopt(route_user, ws);
        c = cg_ws_user(ws);
    }
    if (c == NULL || c->pl == NULL)
        return;
    c->open = true;
    c->pl->last_close = CG_OK;
    cg__log(c->pl->ctx, CG_LOG_INFO, "pair", "connected to node %d (%s)", 1 - c->pl->cfg.node,
            cg_ws_peer(ws));
    emit_connected(c->pl, true);
}

static void on_close(void *route_user, struct cg_ws *ws, uint16_t code)
{
    CG_UNUSED(route_user);
    CG_UNUSED(code);
    struct pl_conn *c = cg_ws_user(ws);
    if (c == NULL)
        return;
    if (c->pl != NULL)
        lost(c->pl, c, cg_ws_error(ws) != CG_OK ? cg_ws_error(ws) : CG_ECLOSED);
    free(c);
}

static void on_message(void *route_user, struct cg_ws *ws, bool binary, const uint8_t *data,
                       size_t len)
{
    CG_UNUSED(route_user);
    struct pl_conn *c = cg_ws_user(ws);
    struct cg_pairlink *pl = c != NULL ? c->pl : NULL;
    if (pl == NULL || pl->conn != c || pl->halted)
        return;
    struct cg_pair_msg m;
    const uint8_t *payload = NULL;
    size_t plen = 0;
    if (!binary ||
        cg__pair_msg_decode(data, len, pl->cfg.max_record, &m, &payload, &plen) != CG_OK) {
        cg__log(pl->ctx, CG_LOG_WARN, "pair", "%s: a message that is not a pair message: closing",
                cg_ws_peer(ws));
        drop(pl, binary ? 1002 : 1003, "not a pair message");
        return;
    }
    if (m.node == pl->cfg.node) {
        cg__log(pl->ctx, CG_LOG_ERROR, "pair", "%s says it is node %d too: each machine needs "
                "its own node in [pair]; closing", cg_ws_peer(ws), m.node);
        drop(pl, 1008, "same node");
        return;
    }
    pl->received++;
    pl->rx = payload;
    pl->rxlen = plen;
    cg__pair_rx(&pl->core, now_ms(pl), &m);
    drain(pl);
    pl->rx = NULL;
    pl->rxlen = 0;
}

/* Node 1's route: node 0's Basic credentials (M-05), checked as an
 * endpoint checks them (constant time, lockout), the hash off the loop:
 * the upgrade is answered when it is done. */
struct pl_wait {
    struct cg_pairlink *pl;  /* NULL once the link is freed: the answer is 503 */
    struct cg_upgrade *up;   /* NULL: answered already (it could not wait) */
    struct pl_wait *next;
};

static int auth_status(enum cg_err rc, struct cg_http_response *res)
{
    switch (rc) {
    case CG_OK:
        return 0;
    case CG_EAUTH:
        cg_http_response_add_header(res, "WWW-Authenticate", "Basic realm=\"castgate pair\"");
        cg_http_response_set_log_reason(res, "no or wrong credentials");
        return 401;
    case CG_ERATELIMIT:
        cg_http_response_set_log_reason(res, "locked out");
        return 429;
    default:
        cg_http_response_add_header(res, "Retry-After", "1");
        cg_http_response_set_log_reason(res, "credentials not checked: try again");
        return 503;
    }
}

static void unwait(struct cg_pairlink *pl, struct pl_wait *w)
{
    for (struct pl_wait **pp = &pl->waits; *pp != NULL; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            return;
        }
}

static void auth_done(void *user, enum cg_err rc, const char *name)
{
    CG_UNUSED(name);
    struct pl_wait *w = user;
    struct cg_pairlink *pl = w->pl;
    struct cg_upgrade *up = w->up;
    if (pl != NULL)
        unwait(pl, w);
    free(w);
    if (up == NULL)
        return;
    int status = pl == NULL || pl->halted ? 503 : auth_status(rc, cg_upgrade_response(up));
    if (status == 0 && cg_upgrade_request(up) == NULL)
        status = 503; /* the connection is gone */
    cg_upgrade_finish(up, status == 0 ? 101 : status, NULL); /* on_open adopts it */
}

static int on_upgrade(void *user, const struct cg_http_request *req, struct cg_http_response *res,
                      void **conn_user)
{
    struct cg_pairlink *pl = user;
    char who[129];
    *conn_user = NULL;
    struct pl_wait *w = pl->halted ? NULL : calloc(1, sizeof(*w));
    if (w == NULL)
        return auth_status(CG_ENOMEM, res);
    w->pl = pl;
    enum cg_err rc = cg_credentials_check_async(pl->cfg.credentials,
                                                cg_http_request_header(req, "Authorization"),
                                                cg_http_request_peer(req), who, sizeof(who),
                                                auth_done, w);
    if (rc != CG_EAGAIN) {
        free(w);
        int status = auth_status(rc, res);
        return status == 0 ? 101 : status;
    }
    w->up = cg_upgrade_defer(req); /* auth_done frees w in any case */
    w->next = pl->waits;
    pl->waits = w;
    return w->up != NULL ? CG_UPGRADE_DEFER : auth_status(CG_ENOMEM, res);
}

/* ---- the core's actions ---- */

static enum cg_err grow(struct cg_pairlink *pl, size_t need)
{
    if (need <= pl->bufcap)
        return CG_OK;
    uint8_t *b = realloc(pl->buf, need);
    CG_CHECK(b != NULL, CG_ENOMEM);
    pl->buf = b;
    pl->bufcap = need;
    return CG_OK;
}

static void send_msg(struct cg_pairlink *pl, const struct cg_pair_msg *m)
{
    if (pl->conn == NULL || !pl->conn->open)
        return; /* lost: heartbeats and resync make up for it */
    const uint8_t *payload = NULL;
    size_t plen = 0, used = 0;
    if (m->kind == CG_PAIR_M_RECORD) {
        if (pl->tx == NULL || m->ref != pl->txref) { /* the core names the record it was given */
            cg__log(pl->ctx, CG_LOG_ERROR, "pair", "a record to send is not at hand (a bug)");
            drop(pl, 1011, "internal error");
            return;
        }
        payload = pl->tx;
        plen = pl->txlen;
    }
    enum cg_err rc = grow(pl, CG_PAIR_WIRE_HEAD + plen);
    if (rc == CG_OK)
        rc = cg__pair_msg_encode(m, payload, plen, pl->buf, pl->bufcap, &used);
    if (rc == CG_OK)
        rc = cg_ws_send(pl->conn->ws, true, pl->buf, used);
    if (rc != CG_OK) { /* a gap would follow: start afresh, the core resyncs */
        cg__log(pl->ctx, CG_LOG_WARN, "pair", "cannot send to node %d: %s; reconnecting",
                1 - pl->cfg.node, cg_strerror(rc));
        drop(pl, 1011, "cannot send");
        return;
    }
    pl->sent++;
}

static void halt(struct cg_pairlink *pl, enum cg_err rc)
{
    if (pl->halted)
        return;
    pl->halted = true;
    cg__log(pl->ctx, CG_LOG_ERROR, "pair", "the replication link stops: %s (restart castgate)",
            cg_strerror(rc));
    drop(pl, 1011, "halted");
    uv_timer_stop(&pl->timers->tick);
    uv_timer_stop(&pl->timers->redial);
    struct cg_pairlink_event ev = {.kind = CG_PAIRLINK_EV_HALTED, .rc = rc,
                                   .epoch = pl->core.epoch, .number = pl->core.last_seq};
    emit(pl, &ev);
}

static const enum cg_pairlink_event_kind event_of[] = {
    [CG_PAIR_A_STORE] = CG_PAIRLINK_EV_STORE,
    [CG_PAIR_A_RESET] = CG_PAIRLINK_EV_RESET,
    [CG_PAIR_A_RELEASE] = CG_PAIRLINK_EV_RELEASE,
    [CG_PAIR_A_ABANDON] = CG_PAIRLINK_EV_ABANDON,
    [CG_PAIR_A_PERSIST_EPOCH] = CG_PAIRLINK_EV_PERSIST_EPOCH,
    [CG_PAIR_A_BECOME_ACTIVE] = CG_PAIRLINK_EV_BECOME_ACTIVE,
    [CG_PAIR_A_STAND_DOWN] = CG_PAIRLINK_EV_STAND_DOWN,
    [CG_PAIR_A_NOTE] = CG_PAIRLINK_EV_NOTE,
};

static void carry_out(struct cg_pairlink *pl, const struct cg_pair_act *a)
{
    if (a->kind == CG_PAIR_A_SEND) {
        send_msg(pl, &a->msg);
        return;
    }
    if (a->kind == CG_PAIR_A_RESYNC) { /* after this event's other actions (redund.h) */
        pl->resync_pending = true;
        pl->resync_from = a->seq;
        return;
    }
    struct cg_pairlink_event ev = {.kind = event_of[a->kind], .number = a->seq,
                                   .epoch = a->epoch, .ref = a->ref};
    if (a->kind == CG_PAIR_A_STORE)
        ev.rec = pl->rx, ev.len = pl->rxlen;
    if (a->kind == CG_PAIR_A_BECOME_ACTIVE || a->kind == CG_PAIR_A_STAND_DOWN ||
        a->kind == CG_PAIR_A_NOTE)
        ev.why = cg__pair_reason_name(a->why);
    if (a->kind == CG_PAIR_A_BECOME_ACTIVE || a->kind == CG_PAIR_A_STAND_DOWN)
        cg__log(pl->ctx, CG_LOG_WARN, "pair", "node %d %s, epoch %llu (%s)", pl->cfg.node,
                a->kind == CG_PAIR_A_STAND_DOWN ? "stands down" : "is active",
                (unsigned long long)a->epoch, ev.why);
    enum cg_err rc = emit(pl, &ev);
    bool must = a->kind == CG_PAIR_A_STORE || a->kind == CG_PAIR_A_RESET ||
                a->kind == CG_PAIR_A_PERSIST_EPOCH;
    if (must && rc != CG_OK)
        halt(pl, rc); /* nothing after it may be carried out: not its acknowledgement */
}

/* The core's actions in order; then a RESYNC the caller answers with
 * cg_pairlink_replay (each replayed record drains again, nested); then the
 * timer at the core's next deadline. */
static void drain(struct cg_pairlink *pl)
{
    struct cg_pair_act a;
    for (;;) {
        while (!pl->halted && cg__pair_action(&pl->core, &a))
            carry_out(pl, &a);
        if (pl->halted || !pl->resync_pending || pl->in_resync)
            break;
        pl->resync_pending = false;
        pl->in_resync = true;
        struct cg_pairlink_event ev = {.kind = CG_PAIRLINK_EV_RESYNC, .number = pl->resync_from,
                                       .epoch = pl->core.epoch};
        emit(pl, &ev);
        pl->in_resync = false;
    }
    if (pl->halted) {
        while (cg__pair_action(&pl->core, &a)) {
        } /* dropped: the link is stopped */
        return;
    }
    if (pl->started) {
        uint64_t d = cg__pair_deadline(&pl->core), now = now_ms(pl);
        uv_timer_start(&pl->timers->tick, on_tick, d > now ? d - now : 0, 0);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct pl_timers *tm = t->data;
    struct cg_pairlink *pl = tm->pl;
    if (pl == NULL || pl->halted)
        return;
    cg__pair_timer(&pl->core, now_ms(pl));
    drain(pl);
}

/* ---- public ---- */

static void timer_closed(uv_handle_t *h)
{
    struct pl_timers *tm = h->data;
    if (--tm->open == 0)
        free(tm);
}

static enum cg_err check_config(const struct cg_pairlink_config *cfg)
{
    CG_CHECK(cfg->node == 0 || cfg->node == 1, CG_EINVAL);
    CG_CHECK(cfg->heartbeat_ms >= 1 && cfg->heartbeat_ms <= 600000, CG_EINVAL);
    CG_CHECK(cfg->takeover_after_ms > 2 * cfg->heartbeat_ms, CG_EINVAL);
    if (cfg->node == 0)
        CG_CHECK(cfg->client != NULL && cfg->url != NULL, CG_EINVAL);
    else
        CG_CHECK(cfg->server != NULL && cfg->credentials != NULL, CG_EINVAL);
    return CG_OK;
}

static enum cg_err setup(struct cg_pairlink *pl, const struct cg_pairlink_config *cfg)
{
    struct cg_pair_config pc = {.node = cfg->node, .hb_interval_ms = cfg->heartbeat_ms,
                                .takeover_after_ms = cfg->takeover_after_ms, .strict = cfg->strict};
    CG_GUARD(cg__pair_init(&pl->core, &pc, cfg->epoch, cfg->regime, cfg->last_number,
                           now_ms(pl)));
    pl->url = cfg->url != NULL ? strdup(cfg->url) : NULL;
    pl->path = strdup(cfg->path != NULL ? cfg->path : DEFAULT_PATH);
    CG_CHECK(pl->path != NULL && (cfg->url == NULL || pl->url != NULL), CG_ENOMEM);
    pl->cfg.url = pl->url;
    pl->cfg.path = pl->path;
    if (pl->cfg.max_record == 0)
        pl->cfg.max_record = DEFAULT_MAX_RECORD;
    if (cfg->node == 1) {
        struct cg_ws_handlers h = conn_handlers;
        h.on_upgrade = on_upgrade;
        CG_GUARD(cg_server_add_ws_route(cfg->server, pl->path, &h, pl));
        pl->route_added = true;
    }
    return CG_OK;
}

enum cg_err cg_pairlink_new(struct cg_ctx *ctx, const struct cg_pairlink_config *cfg,
                            cg_pairlink_fn fn, void *user, struct cg_pairlink **out)
{
    CG_CHECK(ctx != NULL && cfg != NULL && fn != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    CG_GUARD(check_config(cfg));
    struct cg_pairlink *pl = calloc(1, sizeof(*pl));
    struct pl_timers *tm = calloc(1, sizeof(*tm));
    if (pl == NULL || tm == NULL) {
        free(pl);
        free(tm);
        return CG_ENOMEM;
    }
    pl->ctx = ctx;
    pl->cfg = *cfg;
    pl->fn = fn;
    pl->user = user;
    pl->timers = tm;
    tm->pl = pl;
    uv_loop_t *loop = cg_ctx_loop(ctx);
    uv_timer_init(loop, &tm->tick);
    uv_timer_init(loop, &tm->redial);
    tm->tick.data = tm->redial.data = tm;
    tm->open = 2;
    enum cg_err rc = setup(pl, cfg);
    if (rc != CG_OK) {
        cg_pairlink_free(pl);
        return rc;
    }
    *out = pl;
    return CG_OK;
}

enum cg_err cg_pairlink_start(struct cg_pairlink *pl)
{
    CG_CHECK(pl != NULL, CG_EINVAL);
    CG_CHECK(!pl->started && !pl->halted, CG_ESTATE);
    pl->started = true;
    drain(pl); /* arms the timer */
    if (pl->cfg.node == 0)
        dial(pl);
    return CG_OK;
}

void cg_pairlink_free(struct cg_pairlink *pl)
{
    if (pl == NULL)
        return;
    pl->started = false; /* no redial */
    if (pl->route_added)
        cg_server_remove_route(pl->cfg.server, pl->path);
    struct pl_conn *c = pl->conn;
    if (c != NULL) { /* let go of it first: its on_close may come within cg_ws_close */
        struct cg_ws *ws = c->ws;
        c->pl = NULL;
        pl->conn = NULL;
        cg_ws_close(ws, 1001, "going away");
    }
    for (struct pl_wait *w = pl->waits; w != NULL; w = w->next)
        w->pl = NULL; /* each is answered 503 when its hash is done */
    pl->timers->pl = NULL;
    uv_close((uv_handle_t *)&pl->timers->tick, timer_closed);
    uv_close((uv_handle_t *)&pl->timers->redial, timer_closed);
    free(pl->buf);
    free(pl->url);
    free(pl->path);
    free(pl);
}

enum cg_err cg_pairlink_record(struct cg_pairlink *pl, uint64_t ref, const uint8_t *rec,
                               size_t len, bool gated, uint64_t *number)
{
    CG_CHECK(pl != NULL && rec != NULL && len > 0 && (!gated || ref != 0), CG_EINVAL);
    CG_CHECK(!pl->halted, CG_ESTATE);
    CG_CHECK(len <= pl->cfg.max_record, CG_ETOOBIG);
    uint64_t core_ref = gated ? ref : UINT64_MAX; /* the core wants one; ungated, ours */
    uint64_t seq = 0;
    CG_GUARD(cg__pair_record(&pl->core, now_ms(pl), core_ref, gated, &seq));
    const uint8_t *tx = pl->tx;
    size_t txlen = pl->txlen;
    uint64_t txref = pl->txref;
    pl->tx = rec, pl->txlen = len, pl->txref = core_ref;
    drain(pl);
    pl->tx = tx, pl->txlen = txlen, pl->txref = txref; /* a record may be made while one replays */
    if (number != NULL)
        *number = seq;
    return CG_OK;
}

enum cg_err cg_pairlink_replay(struct cg_pairlink *pl, uint64_t number, const uint8_t *rec,
                               size_t len)
{
    CG_CHECK(pl != NULL && rec != NULL && len > 0 && number != 0, CG_EINVAL);
    CG_CHECK(pl->in_resync && !pl->halted, CG_ESTATE);
    CG_CHECK(len <= pl->cfg.max_record, CG_ETOOBIG);
    cg__pair_replay(&pl->core, now_ms(pl), number, number);
    const uint8_t *tx = pl->tx;
    size_t txlen = pl->txlen;
    uint64_t txref = pl->txref;
    pl->tx = rec, pl->txlen = len, pl->txref = number;
    drain(pl);
    pl->tx = tx, pl->txlen = txlen, pl->txref = txref;
    return CG_OK;
}

enum cg_err cg_pairlink_resync_failed(struct cg_pairlink *pl, enum cg_err why)
{
    CG_CHECK(pl != NULL, CG_EINVAL);
    CG_CHECK(pl->in_resync && !pl->halted, CG_ESTATE);
    pl->resync_failures++;
    cg__log(pl->ctx, CG_LOG_WARN, "pair", "resync from record %llu: the journal cannot be "
            "read (%s): the standby stays behind and asks again", (unsigned long long)
            pl->resync_from, cg_strerror(why));
    cg__pair_resync_failed(&pl->core, now_ms(pl), pl->resync_from);
    drain(pl);
    return CG_OK;
}

enum cg_err cg_pairlink_get_state(const struct cg_pairlink *pl, struct cg_pairlink_state *out)
{
    CG_CHECK(pl != NULL && out != NULL, CG_EINVAL);
    *out = (struct cg_pairlink_state){
        .active = pl->core.role == CG_PAIR_ACTIVE,
        .connected = pl->conn != NULL && pl->conn->open,
        .halted = pl->halted,
        .standby_present = pl->core.role == CG_PAIR_ACTIVE && pl->core.standby_present,
        .epoch = pl->core.epoch,
        .regime = pl->core.regime,
        .last_number = pl->core.last_seq,
        .sent = pl->sent,
        .received = pl->received,
        .standby_behind = pl->core.role == CG_PAIR_ACTIVE && pl->core.behind,
        .resync_failures = pl->resync_failures,
    };
    return CG_OK;
}
