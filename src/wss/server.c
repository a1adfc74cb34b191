/* The server: listeners, routes, and the rules every request goes through
 * (B-20..B-26). */
#include "wss/config.h"
#include "ws/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rejected requests (B-22, B-23, B-24) ---- */

static const struct cg_route *find_route(const struct cg_server *s, const char *path)
{
    for (size_t i = 0; path != NULL && i < s->nroutes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            return &s->routes[i];
    return NULL;
}

static unsigned route_methods(const struct cg_route *rt)
{
    return rt == NULL ? 0 : rt->is_ws ? CG_HTTP_GET : rt->methods;
}

/* B-24: who, what, why — never headers, so never credentials. The first
 * refusal of an address for a status and reason has its line; the same again
 * within a minute is counted onto that address's next line (wss/reflog.h:
 * a guessing flood is not a log flood). Every refusal is counted here. */
static void log_rejected(struct cg_wconn *c, int status, const char *reason)
{
    cg__wconn_count(c, cg_wss_result_of_http(status));
    const struct cg_http_request *r = &c->hp.req;
    char method[sizeof(r->method) * 4], path[200], what[CG_REFLOG_WHAT_MAX], more[96] = "", other[96] = "";
    cg__log_escape(method, sizeof(method), r->method, strlen(r->method));
    cg__log_escape(path, sizeof(path), r->path != NULL ? r->path : "", r->path != NULL ? strlen(r->path) : 0);
    if (snprintf(what, sizeof(what), "%s %s: %s", method[0] ? method : "-", path[0] ? path : "-", reason) < 0)
        what[0] = '\0'; /* longer ones are cut: compared as cut */
    struct cg_reflog_verdict v = cg__reflog_admit(&c->srv->refusals, c->conn.peer, status, what,
                                                  cg__now_ms());
    if (!v.log)
        return;
    if (v.more > 0)
        snprintf(more, sizeof(more), " (%u more like it from this address since its last line)", v.more);
    if (v.other > 0)
        snprintf(other, sizeof(other), " (and %u earlier refusals of other addresses not logged)", v.other);
    cg__log(c->conn.ctx, CG_LOG_WARN, "http", "%s: rejected %d: %s %s: %s%s%s", c->conn.peer, status,
            method[0] ? method : "-", path[0] ? path : "-", reason, more, other);
}

static void send_response(struct cg_wconn *c, struct cg_http_response *res)
{
    cg__wss_respond(&c->conn, &c->hp.req, &c->srv->policy, res);
}

static void reject(struct cg_wconn *c, int status, const char *reason)
{
    struct cg_http_response res;
    cg__http_response_init(&res);
    cg__http_refusal(&res, status, reason,
                     status == 405 ? route_methods(find_route(c->srv, c->hp.req.path)) : 0);
    if (status == 503)
        cg_http_response_add_header(&res, "Retry-After", "1");
    log_rejected(c, status, reason);
    send_response(c, &res);
    cg__http_response_free(&res);
    cg__conn_drain_and_close(&c->conn);
}

/* ---- HTTP routes ---- */

/* A CORS preflight from an allowed origin (B-25), judged from the head alone. */
static bool is_preflight(const struct cg_server *s, const struct cg_http_request *r)
{
    return r->method_bit == CG_HTTP_OPTIONS &&
           cg__http_request_header(r, "Access-Control-Request-Method") != NULL &&
           cg__http_cors_match(&s->policy, cg__http_request_header(r, "Origin")) != NULL;
}

/* A CORS preflight from an allowed origin (B-25); false if this is not one. */
static bool preflight(struct cg_wconn *c, const struct cg_route *rt)
{
    struct cg_http_response res;
    cg__http_response_init(&res);
    bool is = cg__http_preflight(&c->hp.req, &c->srv->policy, route_methods(rt), &res);
    if (is)
        send_response(c, &res);
    cg__http_response_free(&res);
    return is;
}

static void serve_http(struct cg_wconn *c, const struct cg_route *rt)
{
    struct cg_http_request *r = &c->hp.req;
    if (!(rt->methods & r->method_bit)) {
        if (!preflight(c, rt))
            reject(c, 405, "method not allowed");
        return;
    }
    struct cg_http_response res;
    cg__http_response_init(&res);
    rt->handler(rt->user, r, &res);
    if (res.status >= 400)
        log_rejected(c, res.status, res.log_reason[0] ? res.log_reason : "refused by the handler");
    else
        cg__wconn_count(c, CG_WSS_OK);
    res.close = res.close || !r->keep_alive;
    send_response(c, &res);
    if (res.close)
        cg__conn_drain_and_close(&c->conn);
    cg__http_response_free(&res);
}

/* ---- WebSocket routes ---- */

static enum cg_err accept_ws(struct cg_wconn *c, const struct cg_route *rt,
                             struct cg_http_response *res, void *conn_user)
{
    char accept[64];
    CG_GUARD(cg__ws_accept_key(cg__http_request_header(&c->hp.req, "Sec-WebSocket-Key"), accept,
                               sizeof(accept)));
    /* Everything that can fail comes before the 101, so a failure is still a 500. */
    CG_GUARD(cg__ws_new(&c->conn, &rt->ws, rt->user, conn_user,
                        cg__lim(c->srv, CG_LIMIT_MAX_WS_MESSAGE), false, &c->ws));
    res->status = 101;
    CG_GUARD(cg_http_response_add_header(res, "Upgrade", "websocket"));
    CG_GUARD(cg_http_response_add_header(res, "Connection", "Upgrade"));
    CG_GUARD(cg_http_response_add_header(res, "Sec-WebSocket-Accept", accept));
    send_response(c, res);
    CG_CHECK(c->conn.state == CG_CONN_HTTP, CG_ECLOSED);
    c->conn.state = CG_CONN_WS;
    cg__conn_arm_timer(&c->conn, cg__lim(c->srv, CG_LIMIT_WS_PING_MS));
    cg__log(c->conn.ctx, CG_LOG_INFO, "ws", "%s: WebSocket open on %s", c->conn.peer, rt->path);
    cg__wconn_count(c, CG_WSS_OK);
    cg__ws_opened(c->ws);
    return CG_OK;
}

/* The answer to an upgrade, now or after a deferral: 101 and the WebSocket,
 * or the refusal in res with the connection closed after it. */
static void answer_upgrade(struct cg_wconn *c, const struct cg_route *rt,
                           struct cg_http_response *res, int status, void *conn_user)
{
    if (status == 101) {
        enum cg_err rc = accept_ws(c, rt, res, conn_user);
        if (rc == CG_ECLOSED)
            cg__conn_close(&c->conn, "upgrade failed");
        else if (rc != CG_OK)
            reject(c, 500, "cannot set up the WebSocket");
        return;
    }
    res->status = status >= 400 && status <= 599 ? status : 403;
    res->close = true;
    log_rejected(c, res->status, res->log_reason[0] ? res->log_reason : "upgrade refused");
    send_response(c, res);
    cg__conn_drain_and_close(&c->conn);
}

/* on_upgrade called cg_upgrade_defer: the connection waits, within the
 * header time limit, with what the peer sends meanwhile kept aside. */
static bool deferred(struct cg_wconn *c, int status, struct cg_http_response *res)
{
    struct cg_upgrade *up = c->upgrade;
    if (up == NULL)
        return false;
    if (status != CG_UPGRADE_DEFER || c->conn.state != CG_CONN_HTTP) {
        up->conn = NULL; /* answered after all: the token is only freed by its finish */
        c->upgrade = NULL;
        return false;
    }
    cg__buf_append(&up->res.headers, res->headers.data, res->headers.len);
    if (res->log_reason[0] != '\0')
        memcpy(up->res.log_reason, res->log_reason, sizeof(res->log_reason));
    cg__conn_arm_timer(&c->conn, cg__lim(c->srv, CG_LIMIT_HEADER_MS));
    return true;
}

static void serve_ws(struct cg_wconn *c, const struct cg_route *rt)
{
    struct cg_http_request *r = &c->hp.req;
    const char *reason = NULL;
    int status = 0;
    if (r->method_bit != CG_HTTP_GET) {
        reject(c, 405, "method not allowed");
        return;
    }
    if ((status = cg__ws_check_upgrade(r, &reason)) != 0) {
        reject(c, status, reason); /* B-26: nothing but WebSocket here */
        return;
    }
    struct cg_http_response res;
    cg__http_response_init(&res);
    void *conn_user = NULL;
    r->owner = c; /* cg_upgrade_defer may be called now */
    c->upgrade_route = rt;
    status = rt->ws.on_upgrade != NULL ? rt->ws.on_upgrade(rt->user, r, &res, &conn_user) : 101;
    r->owner = NULL;
    c->upgrade_route = NULL;
    if (!deferred(c, status, &res)) {
        if (status == CG_UPGRADE_DEFER) /* without cg_upgrade_defer: a bug in the handler */
            reject(c, 500, "upgrade deferred without cg_upgrade_defer");
        else if (c->conn.state == CG_CONN_HTTP)
            answer_upgrade(c, rt, &res, status, conn_user);
    }
    cg__http_response_free(&res);
}

/* ---- upgrades answered later ---- */

struct cg_upgrade *cg_upgrade_defer(const struct cg_http_request *req)
{
    struct cg_wconn *c = req != NULL ? req->owner : NULL;
    if (c == NULL || c->upgrade != NULL || c->upgrade_route == NULL)
        return NULL;
    const struct cg_route *rt = c->upgrade_route;
    struct cg_upgrade *up = calloc(1, sizeof(*up));
    char *path = cg__strdup(rt->path);
    if (up == NULL || path == NULL) {
        free(up);
        free(path);
        return NULL;
    }
    up->conn = c;
    up->ws = rt->ws;
    up->route_user = rt->user;
    up->path = path;
    cg__http_response_init(&up->res);
    c->upgrade = up;
    return up;
}

const struct cg_http_request *cg_upgrade_request(const struct cg_upgrade *up)
{
    return up != NULL && up->conn != NULL && up->conn->conn.state == CG_CONN_HTTP ? &up->conn->hp.req
                                                                               : NULL;
}

struct cg_http_response *cg_upgrade_response(struct cg_upgrade *up)
{
    return up != NULL ? &up->res : NULL;
}

void cg_upgrade_finish(struct cg_upgrade *up, int status, void *conn_user)
{
    if (up == NULL)
        return;
    struct cg_wconn *c = up->conn;
    if (c != NULL) {
        c->upgrade = NULL;
        if (c->conn.state == CG_CONN_HTTP) { /* else: closing already (timed out) */
            struct cg_route rt = {.path = up->path, .ws = up->ws, .is_ws = true,
                                  .user = up->route_user};
            answer_upgrade(c, &rt, &up->res, status, conn_user);
        }
        if (c->conn.state == CG_CONN_WS && c->early.len > 0)
            cg__wconn_ws_data(c, c->early.data, c->early.len);
        cg__buf_free(&c->early);
    }
    cg__http_response_free(&up->res);
    free(up->path);
    free(up);
}

/* Bytes that come while an upgrade waits: the client should wait for the
 * answer (RFC 6455 §4.1), so only a little is kept. */
static void keep_early(struct cg_wconn *c, const uint8_t *p, size_t n)
{
    if (n > 0 && cg__buf_append(&c->early, p, n) != CG_OK)
        cg__conn_close(&c->conn, "too many bytes before the upgrade was answered");
}

int cg__server_head_verdict(const struct cg_server *srv, const struct cg_http_request *req,
                            const char **reason)
{
    const struct cg_route *rt = find_route(srv, req->path);
    *reason = "method not allowed";
    if (req->method_bit == 0) /* B-22 */
        return 405;
    if (rt == NULL) {
        *reason = "no such path";
        return 404;
    }
    if (!(route_methods(rt) & req->method_bit) && (rt->is_ws || !is_preflight(srv, req)))
        return 405; /* B-22 */
    *reason = NULL;
    return rt->is_ws ? cg__ws_check_upgrade(req, reason) : 0; /* B-26 */
}

/* RFC 9110 §15.5.20: a request for another host than the TLS handshake
 * named gets 421 before anything else is judged. True: refused. */
static bool refuse_misdirected(struct cg_wconn *c)
{
    char why[240];
    if (!cg__wss_misdirected(&c->conn, &c->hp.req, why, sizeof(why)))
        return false;
    reject(c, 421, why);
    return true;
}

static void dispatch(struct cg_wconn *c)
{
    const struct cg_route *rt = find_route(c->srv, c->hp.req.path);
    if (refuse_misdirected(c))
        return;
    if (c->hp.req.method_bit == 0) /* TRACE, CONNECT, PROPFIND… (B-22) */
        reject(c, 405, "method not allowed");
    else if (rt == NULL)
        reject(c, 404, "no such path");
    else if (rt->is_ws)
        serve_ws(c, rt);
    else
        serve_http(c, rt);
}

/* RFC 9110 §10.1.1: the client waits with the content for 100 Continue.
 * It gets it when the request will be read (its head passed the parser's
 * checks: size 413, Host, expectation 417; and a route takes it), or the
 * final refusal at once instead (421, 405 B-22, 404, 426), the content unread
 * and the connection closed after it. Once per request. No route handler
 * is asked before the content: one that refuses (e.g. 401) does so after. */
static void answer_expect(struct cg_wconn *c)
{
    const char *reason = NULL;
    c->hp.req.expect_continue = false;
    if (refuse_misdirected(c))
        return;
    int status = cg__server_head_verdict(c->srv, &c->hp.req, &reason);
    if (status != 0) {
        reject(c, status, reason);
        return;
    }
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (cg__conn_write(&c->conn, cont, sizeof(cont) - 1) != CG_OK)
        cg__conn_close(&c->conn, "write failed");
}

static void on_http_data(struct cg_wconn *c, const uint8_t *p, size_t n)
{
    if (c->upgrade != NULL) {
        keep_early(c, p, n);
        return;
    }
    while (n > 0 && c->conn.state == CG_CONN_HTTP) {
        if (!c->request_started) {
            c->request_started = true; /* slowloris: the whole request within the limit */
            cg__conn_arm_timer(&c->conn, cg__lim(c->srv, CG_LIMIT_HEADER_MS));
        }
        size_t used = cg__http_parser_feed(&c->hp, p, n);
        p += used;
        n -= used;
        if (c->hp.error_status != 0) {
            reject(c, c->hp.error_status, c->hp.error_reason);
            return;
        }
        if (!c->hp.complete) {
            if (c->hp.req.expect_continue)
                answer_expect(c);
            return;
        }
        dispatch(c);
        if (c->upgrade != NULL) {
            keep_early(c, p, n);
            return;
        }
        if (c->conn.state == CG_CONN_WS) {
            if (n > 0)
                cg__wconn_ws_data(c, p, n);
            return;
        }
        if (c->conn.state != CG_CONN_HTTP)
            return;
        cg__http_parser_reset(&c->hp);
        c->request_started = false;
        cg__conn_arm_timer(&c->conn, cg__lim(c->srv, CG_LIMIT_IDLE_MS));
    }
}

/* ---- the server's connections: net/'s operations ---- */

static void s_tls_done(struct cg_conn *conn)
{
    conn->state = CG_CONN_HTTP;
    cg__conn_arm_timer(conn, cg__conn_lim(conn, CG_LIMIT_HEADER_MS));
}

static void s_tls_failed(struct cg_conn *conn)
{
    char what[128];
    snprintf(what, sizeof(what), "%s: TLS handshake refused", conn->peer);
    cg__wconn_count_tls(conn->user);
    cg__tls_log_errors(conn->ctx, CG_LOG_WARN, what); /* B-24 */
    cg__conn_drain_and_close(conn);
}

static void s_not_tls(struct cg_conn *conn) { cg__wconn_count(conn->user, CG_WSS_NOT_TLS); }

static void s_data(struct cg_conn *conn, const uint8_t *p, size_t n)
{
    struct cg_wconn *c = conn->user;
    if (conn->state == CG_CONN_HTTP)
        on_http_data(c, p, n);
    else if (conn->state == CG_CONN_WS)
        cg__wconn_ws_data(c, p, n);
}

static void s_timeout(struct cg_conn *conn)
{
    struct cg_wconn *c = conn->user;
    if (conn->state == CG_CONN_TLS)
        cg__wconn_setup_timeout(c);
    else if (conn->state == CG_CONN_WS)
        cg__wconn_ws_timeout(c);
    else if (c->upgrade != NULL)
        reject(c, 503, "the upgrade was not decided in time");
    else if (c->request_started)
        reject(c, 408, "request not received in time");
    else
        cg__conn_close(conn, "idle");
}

static void unlink_conn(struct cg_wconn *c)
{
    struct cg_server *s = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->nconns--;
}

static void s_closing(struct cg_conn *conn)
{
    struct cg_wconn *c = conn->user;
    unlink_conn(c);
    if (c->upgrade != NULL) { /* an upgrade waiting for its answer loses it */
        c->upgrade->conn = NULL;
        c->upgrade = NULL;
    }
    if (c->ws != NULL)
        cg__ws_on_transport_closed(c->ws); /* the app hears of it once */
}

static void s_freed(struct cg_conn *conn)
{
    struct cg_wconn *c = conn->user;
    cg__wconn_release(c);
    free(c);
}

static const struct cg_conn_ops server_ops = {
    .name = "https server",
    .tls_done = s_tls_done,
    .tls_failed = s_tls_failed,
    .not_tls = s_not_tls,
    .data = s_data,
    .writable = cg__wconn_writable,
    .timeout = s_timeout,
    .closing = s_closing,
    .freed = s_freed,
};

/* ---- accept gates: a known guesser costs an accept and a close ---- */

#define GATE_LOG_MS 60000u

enum cg_err cg__server_add_gate(struct cg_server *srv, cg__accept_gate_fn fn, void *user)
{
    CG_CHECK(srv != NULL && fn != NULL, CG_EINVAL);
    CG_CHECK(srv->ngates < CG_SERVER_GATES, CG_EFULL);
    srv->gates[srv->ngates].fn = fn;
    srv->gates[srv->ngates].user = user;
    srv->ngates++;
    return CG_OK;
}

void cg__server_remove_gate(struct cg_server *srv, cg__accept_gate_fn fn, void *user)
{
    for (size_t i = 0; srv != NULL && i < srv->ngates; i++) {
        if (srv->gates[i].fn != fn || srv->gates[i].user != user)
            continue;
        memmove(&srv->gates[i], &srv->gates[i + 1], (srv->ngates - i - 1) * sizeof(srv->gates[0]));
        srv->ngates--;
        return;
    }
}

uint64_t cg__server_gated(const struct cg_server *srv) { return srv != NULL ? srv->gated : 0; }

bool cg__gate_log_due(uint64_t *last_ms, uint64_t now_ms, uint64_t interval_ms)
{
    if (*last_ms != 0 && now_ms - *last_ms < interval_ms)
        return false;
    *last_ms = now_ms != 0 ? now_ms : 1;
    return true;
}

/* "ip:port" or "[v6]:port" -> the address. */
static void peer_ip(const char *peer, char *ip, size_t ipsz)
{
    const char *start = peer[0] == '[' ? peer + 1 : peer;
    const char *end = peer[0] == '[' ? strchr(start, ']') : strrchr(start, ':');
    size_t n = end != NULL ? (size_t)(end - start) : strlen(start);
    snprintf(ip, ipsz, "%.*s", (int)n, start);
}

/* True if a gate refused the connection (then counted, maybe logged). */
static bool gated(struct cg_server *srv, const char *peer)
{
    char ip[64];
    bool refused = false;
    peer_ip(peer, ip, sizeof(ip));
    for (size_t i = 0; i < srv->ngates && !refused; i++)
        refused = srv->gates[i].fn(srv->gates[i].user, ip);
    if (!refused)
        return false;
    srv->gated++;
    if (!cg__gate_log_due(&srv->gated_log_ms, cg__now_ms(), GATE_LOG_MS)) {
        srv->gated_quiet++;
        return true;
    }
    char more[64] = "";
    if (srv->gated_quiet > 0)
        snprintf(more, sizeof(more), " (and %u more since the last line)", srv->gated_quiet);
    cg__log(srv->ctx, CG_LOG_WARN, "net", "%s: locked out: closed at accept, before TLS%s; "
            "further refusals are logged once a minute", ip, more);
    srv->gated_quiet = 0;
    return true;
}

/* The front door's per-address cap (issue 12 item 4): one address may have
 * so many unfinished handshakes; further connections from it are closed at
 * accept, before any TLS work. Counted as busy (503), logged once a minute. */
static void handshake_cap(struct cg_server *srv, struct cg_wconn *c)
{
    srv->hs_refused++;
    cg__wconn_count(c, CG_WSS_HTTP_503);
    if (!cg__gate_log_due(&srv->hs_refused_log_ms, cg__now_ms(), GATE_LOG_MS)) {
        srv->hs_refused_quiet++;
    } else {
        char ip[64], more[64] = "";
        peer_ip(c->conn.peer, ip, sizeof(ip));
        if (srv->hs_refused_quiet > 0)
            snprintf(more, sizeof(more), " (and %u more since the last line)",
                     srv->hs_refused_quiet);
        cg__log(srv->ctx, CG_LOG_WARN, "net", "%s: refused: %llu TLS handshakes from this address "
                "unfinished, closed at accept%s; logged once a minute", ip,
                (unsigned long long)cg__lim(srv, CG_LIMIT_HANDSHAKES_PER_ADDRESS), more);
        srv->hs_refused_quiet = 0;
    }
    cg__conn_close(&c->conn, "handshakes per address");
}

/* TLS for an accepted connection: on the front-door threads when the server
 * has its line, else on the loop. False when c was closed. */
static bool start_tls(struct cg_server *srv, struct cg_wconn *c)
{
    enum cg_err rc = cg__conn_init_tls(&c->conn, cg__tls_server_ssl_ctx(srv->tls), true);
    if (rc == CG_OK && srv->hsq != NULL)
        rc = cg__conn_offload_handshake(&c->conn, srv->hsq, srv->tls);
    if (rc == CG_EFULL) {
        handshake_cap(srv, c);
        return false;
    }
    if (rc != CG_OK) {
        cg__conn_close(&c->conn, "out of memory");
        return false;
    }
    return true;
}

bool cg__server_accept(struct cg_server *srv, uv_stream_t *listener)
{
    if (srv->accept_hook != NULL) {
        srv->accept_hook(srv->accept_user, listener);
        return true;
    }
    struct cg_wconn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        cg__log(srv->ctx, CG_LOG_ERROR, "net", "out of memory: connection left in the backlog");
        return false;
    }
    c->srv = srv;
    c->stats = &srv->hs;
    c->conn.state = CG_CONN_TLS;
    cg__wconn_init(c, srv->ctx, &srv->lim, srv->readbuf, sizeof(srv->readbuf), &server_ops);
    c->next = srv->conns; /* linked first so cg__conn_close can unlink */
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->conn.tcp) != 0) {
        cg__conn_close(&c->conn, "accept failed");
        return true;
    }
    cg__conn_peer_name(&c->conn);
    memcpy(c->hp.req.peer, c->conn.peer, sizeof(c->conn.peer));
    if (srv->ngates > 0 && gated(srv, c->conn.peer)) {
        cg__wconn_count(c, CG_WSS_HTTP_429); /* locked out, as a 429 at the upgrade was */
        cg__conn_close(&c->conn, "locked out");
        return true;
    }
    if (srv->nconns > cg__lim(srv, CG_LIMIT_MAX_CONNECTIONS)) {
        cg__log(srv->ctx, CG_LOG_WARN, "net", "%s: refused: connection limit (%llu) reached",
                c->conn.peer, (unsigned long long)cg__lim(srv, CG_LIMIT_MAX_CONNECTIONS));
        cg__conn_close(&c->conn, "connection limit");
        return true;
    }
    if (!start_tls(srv, c))
        return true;
    cg__conn_arm_timer(&c->conn, cg__lim(srv, CG_LIMIT_HANDSHAKE_MS));
    cg__conn_start(&c->conn);
    return true;
}

/* ---- routes ---- */

static enum cg_err add_route(struct cg_server *s, const char *path, struct cg_route *rt)
{
    CG_CHECK(path != NULL && path[0] == '/', CG_EINVAL);
    CG_CHECK(find_route(s, path) == NULL, CG_EEXIST);
    void *p = realloc(s->routes, (s->nroutes + 1) * sizeof(*s->routes));
    CG_CHECK(p != NULL, CG_ENOMEM);
    s->routes = p;
    rt->path = cg__strdup(path);
    CG_CHECK(rt->path != NULL, CG_ENOMEM);
    s->routes[s->nroutes++] = *rt;
    return CG_OK;
}

enum cg_err cg_server_add_http_route(struct cg_server *srv, const char *path, unsigned methods,
                                     cg_http_handler handler, void *user)
{
    CG_CHECK(srv != NULL && handler != NULL, CG_EINVAL);
    CG_CHECK(methods != 0 && (methods & ~0x7Fu) == 0, CG_EINVAL);
    struct cg_route rt = {.methods = methods, .handler = handler, .user = user};
    return add_route(srv, path, &rt);
}

enum cg_err cg_server_add_ws_route(struct cg_server *srv, const char *path,
                                   const struct cg_ws_handlers *handlers, void *user)
{
    CG_CHECK(srv != NULL && handlers != NULL, CG_EINVAL);
    struct cg_route rt = {.methods = CG_HTTP_GET, .ws = *handlers, .is_ws = true, .user = user};
    return add_route(srv, path, &rt);
}

enum cg_err cg_server_remove_route(struct cg_server *srv, const char *path)
{
    CG_CHECK(srv != NULL && path != NULL, CG_EINVAL);
    for (size_t i = 0; i < srv->nroutes; i++) {
        if (strcmp(srv->routes[i].path, path) != 0)
            continue;
        free(srv->routes[i].path);
        memmove(&srv->routes[i], &srv->routes[i + 1], (srv->nroutes - i - 1) * sizeof(*srv->routes));
        srv->nroutes--;
        return CG_OK;
    }
    return CG_ENOTFOUND;
}
