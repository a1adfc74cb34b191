/* The front's I/O: client connections are the engine's TLS connections
 * (net/, taken from the server's listeners through its accept hook), backend
 * connections plain libuv TCP. What to do with the bytes is decided by the
 * sans-I/O parts (routes.c, json.c, heads.c, upstream.c, wsrw.c). */
#include "front/front.h"
#include "net/net.h"
#include "wss/wss.h"
#include "ws/ws.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct bconn;

struct fconn {
    struct cg_conn conn;
    struct cg_front *f;
    struct cg_http_parser hp;
    bool request_started;
    bool busy;               /* a request is with the backend */
    bool tunnel;             /* WebSocket passed through */
    bool upgrade;            /* the request in flight is an upgrade */
    bool retried;
    bool head_sent;
    bool hold_json;
    bool close_after;
    bool done;               /* the response ended (handled after the parser returns) */
    bool continued;          /* Expect: 100-continue handled for this request */
    enum cg_front_framing framing;
    struct cg_buf pending;   /* client bytes that wait for the exchange to end */
    struct cg_buf reqbuf;    /* the request as sent, for one retry */
    struct cg_buf json;
    struct bconn *b;
    struct cg_front_wsrw wsrw;
    struct fconn *prev, *next;
};

struct bconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct cg_front *f;
    struct fconn *fc;        /* NULL while pooled */
    struct bconn *next;      /* pool */
    bool connected, closing, reused, paused, got_bytes, spoiled;
    size_t queued;
    uint64_t idle_since_ms; /* when it went into the pool */
    struct cg_front_resp resp;
    struct cg_front_resp_sink sink;
};

struct bwrite {
    uv_write_t req;
    struct bconn *b;
    size_t len;
    char data[];
};

struct cg_front {
    struct cg_ctx *ctx;
    struct cg_server *srv;
    struct cg_front_config cfg;
    struct cg_front_rw rw;
    char backend_auth[80], ws_auth[80];
    struct sockaddr_storage baddr, wsaddr;
    struct cg_server_limits lim;
    struct fconn *conns;
    size_t nconns;
    struct bconn *pool;
    size_t npool;
    size_t live;
    bool freeing;
    struct cg_front_stats st;
    struct cg_buf cork;      /* bytes for cork_fc held while one backend read is handled */
    struct fconn *cork_fc;
    /* Built for one call and written before it returns: the memory is kept
     * from one response to the next (see scratch_done). */
    struct cg_buf head_out, json_out, ws_out;
    uint8_t readbuf[65536];
    uint8_t breadbuf[65536];
};

static void front_release(struct cg_front *f);
static void b_close(struct bconn *b);
static bool idempotent(const struct fconn *fc);
static void on_http_data(struct fconn *fc, const uint8_t *p, size_t n);
static void send_request(struct fconn *fc);

static uint64_t flim(const struct cg_front *f, enum cg_front_limit w) { return f->cfg.lim[w]; }

/* The server's set-up results (cg_server_handshake_stats) count the
 * front's connections too: one result each request or TLS failure. */
static void count(struct fconn *fc, enum cg_wss_result r)
{
    struct cg_server *srv = fc->f->srv;
    if (srv != NULL && (unsigned)r < CG_WSS_RESULTS)
        srv->hs.result[r]++;
}

/* ---- answers of the front itself (B-22, B-23, B-24) ---- */

/* B-24: who, what, why; never headers or bodies, so never credentials. */
static void log_refusal(struct fconn *fc, int status, const char *reason)
{
    const struct cg_http_request *r = &fc->hp.req;
    char method[sizeof(r->method) * 4], path[200];
    cg__log_escape(method, sizeof(method), r->method, strlen(r->method));
    cg__log_escape(path, sizeof(path), r->path != NULL ? r->path : "",
                   r->path != NULL ? strlen(r->path) : 0);
    cg__log(fc->conn.ctx, CG_LOG_WARN, "front", "%s: rejected %d: %s %s: %s", fc->conn.peer,
            status, method[0] ? method : "-", path[0] ? path : "-", reason);
}

static void answer(struct fconn *fc, struct cg_http_response *res)
{
    cg__wss_respond(&fc->conn, &fc->hp.req, &fc->f->srv->policy, res);
}

/* A refusal or a gateway error: the connection closes after it (the rest of
 * the stream is not trusted). allow: the Allow header of a 405. */
static void uncork(struct fconn *fc);

static void refuse(struct fconn *fc, int status, const char *reason, unsigned allow)
{
    uncork(fc); /* what is held for the client goes before */
    struct cg_http_response res;
    cg__http_response_init(&res);
    cg__http_refusal(&res, status, reason, allow);
    if (status >= 500)
        fc->f->st.bad_gateway++;
    else
        fc->f->st.refused++;
    count(fc, cg_wss_result_of_http(status));
    log_refusal(fc, status, reason);
    answer(fc, &res);
    cg__http_response_free(&res);
    cg__conn_drain_and_close(&fc->conn);
}

/* The connection waits for its next request (idle limit). */
static void next_request(struct fconn *fc)
{
    cg__http_parser_reset(&fc->hp);
    fc->request_started = false;
    fc->continued = false;
    cg__conn_arm_timer(&fc->conn, cg__conn_lim(&fc->conn, CG_LIMIT_IDLE_MS));
}

/* A CORS preflight from a configured origin (B-25), answered here. A
 * keep-alive connection then takes its next request (browsers reuse it);
 * one whose body is still to come (Expect: 100-continue) is closed. */
static bool preflight(struct fconn *fc, unsigned methods)
{
    const struct cg_http_request *r = &fc->hp.req;
    struct cg_http_response res;
    cg__http_response_init(&res);
    bool is = cg__http_preflight(r, &fc->f->srv->policy, methods, &res);
    bool keep = is && r->keep_alive && fc->hp.complete;
    if (is) {
        res.close = !keep;
        answer(fc, &res);
    }
    cg__http_response_free(&res);
    if (is && !keep)
        cg__conn_drain_and_close(&fc->conn);
    else if (is && fc->conn.state == CG_CONN_HTTP)
        next_request(fc);
    return is;
}

/* ---- backend connections ---- */

static void b_closed(uv_handle_t *h)
{
    struct bconn *b = h->data;
    struct cg_front *f = b->f;
    cg__front_resp_free(&b->resp);
    free(b);
    front_release(f);
}

static void pool_remove(struct bconn *b)
{
    struct cg_front *f = b->f;
    for (struct bconn **pp = &f->pool; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            f->npool--;
            return;
        }
    }
}

static void b_close(struct bconn *b)
{
    if (b->closing)
        return;
    b->closing = true;
    if (b->fc == NULL)
        pool_remove(b);
    else if (b->fc->b == b)
        b->fc->b = NULL;
    b->fc = NULL;
    uv_close((uv_handle_t *)&b->tcp, b_closed);
}

static void b_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    CG_UNUSED(hint);
    struct bconn *b = h->data;
    *buf = uv_buf_init((char *)b->f->breadbuf, sizeof(b->f->breadbuf));
}

static void b_written(uv_write_t *req, int status)
{
    struct bwrite *w = (struct bwrite *)req;
    struct bconn *b = w->b;
    b->queued -= w->len;
    free(w);
    if (b->closing)
        return;
    if (status < 0) {
        cg__log(b->f->ctx, CG_LOG_INFO, "front", "backend write failed: %s", uv_strerror(status));
        return; /* the read side sees the end */
    }
    struct fconn *fc = b->fc;
    if (fc != NULL && b->queued <= flim(b->f, CG_FRONT_WRITE_QUEUE) / 2)
        cg__conn_hold_reading(&fc->conn, false);
}

/* Straight to the socket when it takes the bytes (uv_try_write keeps order:
 * only while nothing is queued); what it does not take is copied and queued. */
static enum cg_err b_write(struct bconn *b, const void *data, size_t n)
{
    const char *p = data;
    if (n > 0 && b->queued == 0) {
        uv_buf_t now = uv_buf_init((char *)p, (unsigned)n);
        int done = uv_try_write((uv_stream_t *)&b->tcp, &now, 1);
        if (done < 0 && done != UV_EAGAIN)
            return CG_ENET;
        if (done > 0) {
            p += done;
            n -= (size_t)done;
        }
    }
    if (n == 0)
        return CG_OK;
    struct bwrite *w = malloc(sizeof(*w) + n);
    CG_CHECK(w != NULL, CG_ENOMEM);
    memcpy(w->data, p, n);
    w->b = b;
    w->len = n;
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&b->tcp, &buf, 1, b_written) != 0) {
        free(w);
        return CG_ENET;
    }
    b->queued += n;
    /* Backpressure: the client is not read while the backend lags. */
    if (b->fc != NULL && b->queued > flim(b->f, CG_FRONT_WRITE_QUEUE))
        cg__conn_hold_reading(&b->fc->conn, true);
    return CG_OK;
}

/* ---- the response ---- */

static bool is_json(const char *ct)
{
    if (ct == NULL)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

static void client_write(struct fconn *fc, const void *p, size_t n)
{
    if (fc->conn.state == CG_CONN_CLOSED || fc->conn.state == CG_CONN_DRAINING)
        return;
    if (cg__conn_write(&fc->conn, p, n) != CG_OK) {
        cg__conn_close(&fc->conn, "write failed");
        return;
    }
    struct bconn *b = fc->b;
    if (b != NULL && !b->paused && cg__conn_write_blocked(&fc->conn)) {
        b->paused = true; /* backpressure: the backend waits for a slow client */
        uv_read_stop((uv_stream_t *)&b->tcp);
    }
}

/* What one backend read gives the client goes out in one TLS write: the
 * response head with the first body bytes, a chunk with its size line and
 * CRLF, so one record and one syscall instead of two to five. Bytes are held
 * only while that read is handled (cork before, uncork after, and before
 * anything else is written or the exchange ends) and at most one record's
 * plaintext (CORK_BYTES): a larger write goes through after what is held.
 * One buffer for the front: one read is handled at a time. */
#define CORK_BYTES 16384

static void cork(struct fconn *fc)
{
    fc->f->cork_fc = fc;
    cg__buf_reset(&fc->f->cork);
}

static void flush_cork(struct fconn *fc)
{
    struct cg_buf *k = &fc->f->cork;
    if (fc->f->cork_fc == fc && k->len > 0)
        client_write(fc, k->data, k->len);
    cg__buf_reset(k);
}

static void uncork(struct fconn *fc)
{
    if (fc->f->cork_fc != fc)
        return;
    flush_cork(fc);
    fc->f->cork_fc = NULL;
}

static void to_client(struct fconn *fc, const void *p, size_t n)
{
    if (fc->conn.state == CG_CONN_CLOSED || fc->conn.state == CG_CONN_DRAINING)
        return;
    struct cg_buf *k = &fc->f->cork;
    if (fc->f->cork_fc == fc) {
        if (n <= CORK_BYTES - k->len && cg__buf_append(k, p, n) == CG_OK)
            return;
        flush_cork(fc); /* what is held goes first */
        if (n <= CORK_BYTES && cg__buf_append(k, p, n) == CG_OK)
            return;
    }
    client_write(fc, p, n);
}

/* A scratch buffer after use: emptied, its memory kept unless an odd large
 * body grew it past what a usual response needs. */
#define SCRATCH_KEEP_BYTES 65536

static void scratch_done(struct cg_buf *b)
{
    if (b->cap > SCRATCH_KEEP_BYTES)
        cg__buf_free(b);
    cg__buf_reset(b);
}

/* The response head, and with it a whole body when there is one (a rewritten
 * JSON body): both go to the cork, so one TLS record and one write for the
 * pair when they fit one record, and the body is copied once. */
static void send_head_body(struct fconn *fc, enum cg_front_framing framing, uint64_t length,
                           const struct cg_buf *body)
{
    struct cg_buf *out = &fc->f->head_out;
    struct cg_front_resphead h = {.r = &fc->b->resp, .req = &fc->hp.req,
                                  .pol = &fc->f->srv->policy,
                                  .rw = fc->f->cfg.rewrite ? &fc->f->rw : NULL,
                                  .framing = framing, .length = length,
                                  .close = fc->close_after};
    fc->framing = framing;
    fc->head_sent = true;
    count(fc, cg_wss_result_of_http(fc->b->resp.status)); /* the backend's answer */
    enum cg_err rc = cg__front_response_head(&h, out);
    if (rc == CG_OK) {
        to_client(fc, out->data, out->len);
        if (body != NULL)
            to_client(fc, body->data, body->len);
    } else {
        cg__conn_close(&fc->conn, "response head failed");
    }
    scratch_done(out);
}

static void send_head(struct fconn *fc, enum cg_front_framing framing, uint64_t length)
{
    send_head_body(fc, framing, length, NULL);
}

static void open_tunnel(struct fconn *fc)
{
    struct cg_front *f = fc->f;
    send_head(fc, CG_FRONT_NOBODY, 0);
    if (fc->conn.state != CG_CONN_HTTP)
        return;
    fc->conn.state = CG_CONN_WS; /* net/ goes on delivering and writing */
    fc->tunnel = true;
    f->st.tunnels++;
    cg__front_wsrw_init(&fc->wsrw, f->cfg.rewrite ? &f->rw : NULL,
                        (size_t)flim(f, CG_FRONT_MAX_JSON));
    cg__log(f->ctx, CG_LOG_INFO, "front", "%s: WebSocket passed through on %s", fc->conn.peer,
            fc->hp.req.path);
    if (fc->pending.len > 0 && b_write(fc->b, fc->pending.data, fc->pending.len) != CG_OK)
        cg__conn_close(&fc->conn, "backend write failed");
    cg__buf_reset(&fc->pending);
    cg__conn_hold_reading(&fc->conn, false);
}

/* A body of unknown length: chunked, or for an HTTP/1.0 client (which
 * knows no chunked encoding) the connection's end. */
static enum cg_front_framing open_ended(struct fconn *fc)
{
    if (fc->hp.req.http_major == 1 && fc->hp.req.http_minor >= 1)
        return CG_FRONT_CHUNKED;
    fc->close_after = true;
    return CG_FRONT_UNTIL_CLOSE;
}

static void r_head(void *user)
{
    struct fconn *fc = user;
    const struct cg_front_resp *r = &fc->b->resp;
    if (r->upgrade) {
        if (fc->upgrade)
            open_tunnel(fc);
        else
            refuse(fc, 502, "101 from the backend without an upgrade", 0);
        return;
    }
    if (fc->upgrade)
        fc->close_after = true; /* a refused upgrade ends the connection */
    bool head = fc->hp.req.method_bit == CG_HTTP_HEAD;
    bool rewritable = fc->f->cfg.rewrite && is_json(cg__front_resp_get(r, "Content-Type")) &&
                      (!r->has_length || r->length <= flim(fc->f, CG_FRONT_MAX_JSON));
    if (head || r->status == 204 || r->status == 304) {
        /* HEAD's length is GET's: unknown here when GET's body would be
         * rewritten, so none is sent then (RFC 9110 §8.6 allows that). */
        bool length = head && r->has_length && !rewritable;
        send_head(fc, length ? CG_FRONT_LENGTH : CG_FRONT_NOBODY, r->length);
        return;
    }
    fc->hold_json = rewritable;
    if (fc->hold_json)
        cg__buf_reset(&fc->json);
    else
        send_head(fc, r->has_length ? CG_FRONT_LENGTH : open_ended(fc), r->length);
}

static void stream(struct fconn *fc, const uint8_t *p, size_t n)
{
    if (fc->framing == CG_FRONT_CHUNKED) {
        char line[24];
        int k = snprintf(line, sizeof(line), "%zx\r\n", n);
        to_client(fc, line, (size_t)k);
        to_client(fc, p, n);
        to_client(fc, "\r\n", 2);
    } else if (fc->framing == CG_FRONT_LENGTH || fc->framing == CG_FRONT_UNTIL_CLOSE) {
        to_client(fc, p, n);
    }
}

static void r_body(void *user, const uint8_t *p, size_t n)
{
    struct fconn *fc = user;
    if (n == 0)
        return;
    if (!fc->hold_json) {
        stream(fc, p, n);
        return;
    }
    if (fc->json.len + n <= flim(fc->f, CG_FRONT_MAX_JSON) &&
        cg__buf_append(&fc->json, p, n) == CG_OK)
        return;
    /* Over the bound: never hold a large body; it passes unchanged. */
    cg__log(fc->f->ctx, CG_LOG_WARN, "front", "%s: JSON response over %llu bytes passed without "
            "rewriting", fc->conn.peer, (unsigned long long)flim(fc->f, CG_FRONT_MAX_JSON));
    fc->hold_json = false;
    send_head(fc, open_ended(fc), 0);
    stream(fc, fc->json.data, fc->json.len);
    cg__buf_free(&fc->json);
    stream(fc, p, n);
}

static void finish_json(struct fconn *fc)
{
    struct cg_buf *out = &fc->f->json_out;
    bool changed = false;
    enum cg_err rc = cg__front_json_rewrite(&fc->f->rw, CG_FRONT_JSON_RESPONSE, fc->json.data,
                                            fc->json.len, out, &changed);
    const struct cg_buf *use = rc == CG_OK && changed ? out : &fc->json;
    if (rc == CG_OK && changed)
        fc->f->st.rewritten++;
    send_head_body(fc, CG_FRONT_LENGTH, use->len, use);
    scratch_done(out);
    scratch_done(&fc->json);
}

static void r_done(void *user)
{
    struct fconn *fc = user;
    if (fc->hold_json)
        finish_json(fc);
    else if (fc->framing == CG_FRONT_CHUNKED && fc->head_sent)
        to_client(fc, "0\r\n\r\n", 5);
    fc->done = true;
}

/* ---- the exchange ends ---- */

static void b_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void pool_put(struct bconn *b)
{
    struct cg_front *f = b->f;
    b->fc = NULL;
    if (f->freeing || f->npool >= flim(f, CG_FRONT_POOL) || b->spoiled ||
        !b->resp.keep_alive) {
        b_close(b);
        return;
    }
    b->next = f->pool;
    f->pool = b;
    f->npool++;
    b->idle_since_ms = cg__now_ms();
    if (b->paused) {
        b->paused = false;
        uv_read_start((uv_stream_t *)&b->tcp, b_alloc, b_read);
    }
}

static void exchange_end(struct fconn *fc)
{
    uncork(fc); /* the response's last bytes go before a close or the next exchange */
    struct bconn *b = fc->b;
    fc->b = NULL;
    fc->busy = fc->done = fc->head_sent = fc->hold_json = fc->retried = fc->upgrade = false;
    fc->continued = false;
    cg__buf_reset(&fc->reqbuf);
    if (b != NULL)
        pool_put(b);
    if (fc->close_after || !fc->hp.req.keep_alive) {
        cg__conn_drain_and_close(&fc->conn);
        return;
    }
    if (fc->conn.state != CG_CONN_HTTP)
        return;
    next_request(fc);
    cg__conn_hold_reading(&fc->conn, false);
    if (fc->pending.len > 0) {
        struct cg_buf rest = fc->pending;
        cg__buf_init(&fc->pending, rest.max); /* the same bound for what comes next */
        on_http_data(fc, rest.data, rest.len);
        cg__buf_free(&rest);
    }
}

/* The backend ended before the response did. */
static void backend_lost(struct fconn *fc, struct bconn *b, const char *why)
{
    b_close(b);
    if (!b->got_bytes && b->reused && idempotent(fc) && !fc->retried && !fc->upgrade) {
        fc->retried = true; /* a pooled connection the backend had closed */
        send_request(fc);
        return;
    }
    if (!fc->head_sent) {
        char reason[160];
        snprintf(reason, sizeof(reason), "backend: %s", why);
        refuse(fc, 502, reason, 0);
        return;
    }
    cg__conn_close(&fc->conn, "the backend broke off the response");
}

static void tunnel_from_backend(struct fconn *fc, const uint8_t *p, size_t n)
{
    if (fc->wsrw.rw == NULL) {
        to_client(fc, p, n);
        return;
    }
    struct cg_buf *out = &fc->f->ws_out;
    uint64_t before = fc->wsrw.rewritten;
    if (cg__front_wsrw_feed(&fc->wsrw, p, n, out) != CG_OK)
        cg__conn_close(&fc->conn, "WebSocket relay failed");
    else if (out->len > 0)
        to_client(fc, out->data, out->len);
    fc->f->st.rewritten += fc->wsrw.rewritten - before;
    scratch_done(out);
}


static void b_eof(struct bconn *b, const char *why)
{
    struct fconn *fc = b->fc;
    if (fc == NULL) { /* pooled: the backend closed an idle connection */
        b_close(b);
        return;
    }
    if (fc->tunnel) {
        b_close(b);
        cg__conn_drain_and_close(&fc->conn);
        return;
    }
    cg__front_resp_feed(&b->resp, NULL, 0); /* a body read until close ends here */
    if (fc->done) {
        b->spoiled = true;
        exchange_end(fc);
        return;
    }
    backend_lost(fc, b, b->resp.error != NULL ? b->resp.error : why);
}

static void b_http(struct bconn *b, struct fconn *fc, const uint8_t *p, size_t n)
{
    size_t used = cg__front_resp_feed(&b->resp, p, n);
    if (fc->conn.state == CG_CONN_CLOSED || fc->conn.state == CG_CONN_DRAINING) {
        b_close(b);
        return;
    }
    if (fc->tunnel) {
        if (used < n)
            tunnel_from_backend(fc, p + used, n - used);
        return;
    }
    if (b->resp.error != NULL) {
        b->spoiled = true;
        backend_lost(fc, b, b->resp.error);
        return;
    }
    if (fc->done) {
        if (used < n)
            b->spoiled = true; /* bytes after the response: not reused */
        exchange_end(fc);
        return;
    }
    cg__conn_arm_timer(&fc->conn, flim(fc->f, CG_FRONT_BACKEND_MS));
}

static void b_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct bconn *b = s->data;
    if (b->closing)
        return;
    if (n < 0) {
        b_eof(b, n == UV_EOF ? "closed the connection" : uv_strerror((int)n));
        return;
    }
    if (n == 0)
        return;
    struct fconn *fc = b->fc;
    if (fc == NULL) { /* an idle pooled connection is not spoken to */
        b_close(b);
        return;
    }
    b->got_bytes = true;
    cork(fc);
    if (fc->tunnel)
        tunnel_from_backend(fc, (const uint8_t *)buf->base, (size_t)n);
    else
        b_http(b, fc, (const uint8_t *)buf->base, (size_t)n);
    uncork(fc);
}

/* ---- the request ---- */

static void b_connected(uv_connect_t *req, int status)
{
    struct bconn *b = req->data;
    if (b->closing)
        return;
    struct fconn *fc = b->fc;
    if (status < 0) {
        char why[128];
        snprintf(why, sizeof(why), "cannot connect: %s", uv_strerror(status));
        if (fc != NULL)
            backend_lost(fc, b, why);
        else
            b_close(b);
        return;
    }
    b->connected = true;
    uv_tcp_nodelay(&b->tcp, 1);
    uv_read_start((uv_stream_t *)&b->tcp, b_alloc, b_read);
    if (fc != NULL && b_write(b, fc->reqbuf.data, fc->reqbuf.len) != CG_OK)
        backend_lost(fc, b, "write failed");
}

static struct bconn *b_new(struct cg_front *f, const struct sockaddr *addr)
{
    struct bconn *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->f = f;
    uv_tcp_init(cg_ctx_loop(f->ctx), &b->tcp);
    b->tcp.data = b;
    b->creq.data = b;
    f->live++;
    if (uv_tcp_connect(&b->creq, &b->tcp, addr, b_connected) != 0) {
        b->closing = true;
        uv_close((uv_handle_t *)&b->tcp, b_closed);
        return NULL;
    }
    return b;
}

static bool idempotent(const struct fconn *fc)
{
    return (fc->hp.req.method_bit & (CG_HTTP_GET | CG_HTTP_HEAD | CG_HTTP_PUT | CG_HTTP_DELETE |
                                     CG_HTTP_OPTIONS)) != 0;
}

/* A request that may not be sent twice (POST, PATCH) cannot be retried when
 * the backend turns out to have closed a pooled connection, so it only takes
 * one that was idle a short while (backends close idle connections after
 * seconds; an IS-04 node POSTs its heartbeat every 5 s). */
static bool pool_fresh_enough(const struct fconn *fc, const struct bconn *b)
{
    return idempotent(fc) || cg__now_ms() - b->idle_since_ms < 1000;
}

static void send_request(struct fconn *fc)
{
    struct cg_front *f = fc->f;
    struct bconn *b = NULL;
    if (!fc->upgrade && !fc->retried && f->pool != NULL && pool_fresh_enough(fc, f->pool)) {
        b = f->pool;
        f->pool = b->next;
        f->npool--;
        b->reused = true;
        f->st.pool_reused++;
    } else {
        b = b_new(f, (const struct sockaddr *)(fc->upgrade ? &f->wsaddr : &f->baddr));
        if (b == NULL) {
            refuse(fc, 502, "cannot reach the backend", 0);
            return;
        }
    }
    b->fc = fc;
    b->got_bytes = b->spoiled = false;
    b->next = NULL;
    fc->b = b;
    b->sink = (struct cg_front_resp_sink){.user = fc, .head = r_head, .body = r_body,
                                          .done = r_done};
    cg__front_resp_reset(&b->resp, &b->sink, cg__conn_lim(&fc->conn, CG_LIMIT_MAX_HEADER_BYTES),
                         fc->hp.req.method_bit == CG_HTTP_HEAD);
    cg__conn_arm_timer(&fc->conn, flim(f, CG_FRONT_BACKEND_MS));
    if (b->connected && b_write(b, fc->reqbuf.data, fc->reqbuf.len) != CG_OK)
        backend_lost(fc, b, "write failed");
}

/* ---- checking the request (B-22, B-23) ---- */

static bool ws_prefix_ok(const struct cg_front *f, const char *path)
{
    for (size_t i = 0; i < f->cfg.nws_prefix; i++)
        if (strncmp(path, f->cfg.ws_prefix[i], strlen(f->cfg.ws_prefix[i])) == 0)
            return true;
    return false;
}

/* The body a route takes: JSON, well-formed, of a JSON media type (B-23). */
static bool body_ok(struct fconn *fc, const struct cg_front_route *rt)
{
    const struct cg_http_request *r = &fc->hp.req;
    unsigned with_body = CG_HTTP_POST | CG_HTTP_PUT | CG_HTTP_PATCH;
    if (!(rt->flags & CG_FRONT_R_JSON) || !(r->method_bit & with_body))
        return true;
    const char *ct = cg__http_request_header(r, "Content-Type");
    if (ct != NULL && !is_json(ct)) {
        refuse(fc, 415, "the body must be application/json", 0);
        return false;
    }
    if (r->body.len == 0) {
        refuse(fc, 400, "a JSON body is required", 0);
        return false;
    }
    enum cg_err rc = cg__front_json_check(r->body.data, r->body.len);
    if (rc != CG_OK) {
        refuse(fc, rc == CG_ENOMEM ? 503 : 400,
               rc == CG_ENOMEM ? "out of memory" : "the body is not well-formed JSON", 0);
        return false;
    }
    return true;
}

static enum cg_err build_request(struct fconn *fc, const struct cg_front_route *rt)
{
    struct cg_front *f = fc->f;
    const struct cg_http_request *r = &fc->hp.req;
    char ip[64];
    cg__front_peer_ip(fc->conn.peer, ip, sizeof(ip));
    const uint8_t *body = r->body.data;
    size_t blen = r->body.len;
    struct cg_buf sub;
    cg__buf_init(&sub, 0);
    bool changed = false;
    if (rt != NULL && (rt->flags & CG_FRONT_R_SUB) && r->method_bit == CG_HTTP_POST &&
        f->cfg.rewrite &&
        cg__front_json_rewrite(&f->rw, CG_FRONT_JSON_SUB_REQUEST, body, blen, &sub, &changed) ==
            CG_OK &&
        changed) {
        body = sub.data;
        blen = sub.len;
    }
    struct cg_front_reqhead h = {.req = r, .backend = fc->upgrade ? f->ws_auth : f->backend_auth,
                                 .client_ip = ip, .pub_port = f->rw.pub_port,
                                 .upgrade = fc->upgrade, .body_len = blen};
    cg__buf_reset(&fc->reqbuf);
    enum cg_err rc = cg__front_request_head(&h, &fc->reqbuf);
    if (rc == CG_OK && !fc->upgrade)
        rc = cg__buf_append(&fc->reqbuf, body, blen);
    cg__buf_free(&sub);
    return rc;
}

/* Path and method (B-22): false when the front answered already (404, 405,
 * a preflight). *rtp: the route (NULL for an extra WebSocket prefix). */
static bool admit(struct fconn *fc, const struct cg_front_route **rtp, bool *ws_extra)
{
    const struct cg_http_request *r = &fc->hp.req;
    const struct cg_front_route *rt = cg__front_route_match(r->path, strlen(r->path));
    *ws_extra = r->upgrade && ws_prefix_ok(fc->f, r->path);
    unsigned methods = rt != NULL ? rt->methods : *ws_extra ? CG_HTTP_GET : 0;
    *rtp = rt;
    char why[240];
    if (cg__wss_misdirected(&fc->conn, r, why, sizeof(why))) { /* RFC 9110 §15.5.20 */
        refuse(fc, 421, why, 0);
        return false;
    }
    if (rt == NULL && !*ws_extra) {
        refuse(fc, r->method_bit == 0 ? 405 : 404,
               r->method_bit == 0 ? "method not allowed" : "no such path", 0);
        return false;
    }
    if (!(methods & r->method_bit)) {
        if (!preflight(fc, methods))
            refuse(fc, 405, "method not allowed", methods); /* B-22 */
        return false;
    }
    return true;
}

/* RFC 9110 §10.1.1: a client waiting with its body for 100 Continue gets it
 * from the front once the head has passed the path, method and media type
 * checks (size 413 and any other expectation 417 come from the parser); a
 * refusal comes at once instead. The front answers itself rather than pass
 * the expectation on: it reads and checks the whole body (B-23) before the
 * backend sees the request, and never sends the backend an Expect line
 * (heads.c), so a backend's own refusal (an IS-10 401) comes after the
 * body. false: refused. */
static bool expect_continue(struct fconn *fc)
{
    const struct cg_http_request *r = &fc->hp.req;
    if (fc->continued || fc->hp.complete || r->path == NULL || !r->expect_continue)
        return true;
    fc->continued = true;
    const struct cg_front_route *rt;
    bool ws_extra;
    if (!admit(fc, &rt, &ws_extra))
        return false;
    const char *ct = cg__http_request_header(r, "Content-Type");
    if (rt != NULL && (rt->flags & CG_FRONT_R_JSON) && ct != NULL && !is_json(ct)) {
        refuse(fc, 415, "the body must be application/json", 0);
        return false;
    }
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (cg__conn_write(&fc->conn, cont, sizeof(cont) - 1) != CG_OK) {
        cg__conn_close(&fc->conn, "write failed");
        return false;
    }
    return true;
}

static void dispatch(struct fconn *fc)
{
    struct cg_front *f = fc->f;
    const struct cg_http_request *r = &fc->hp.req;
    const struct cg_front_route *rt;
    bool ws_extra;
    if (!admit(fc, &rt, &ws_extra))
        return;
    const char *reason = NULL;
    if (r->upgrade && cg__http_header_has_token(cg__http_request_header(r, "Upgrade"),
                                                "websocket")) {
        int st = cg__ws_check_upgrade(r, &reason);
        if (st == 0 && !ws_extra && !(rt->flags & CG_FRONT_R_WS))
            st = 400, reason = "no WebSocket on this path";
        if (st != 0) {
            refuse(fc, st, reason, 0);
            return;
        }
        fc->upgrade = true;
    } else if (!body_ok(fc, rt)) {
        return;
    }
    if (build_request(fc, rt) != CG_OK) {
        refuse(fc, 503, "out of memory", 0);
        return;
    }
    fc->busy = true;
    f->st.requests++;
    send_request(fc);
}

/* ---- the client connection: net/'s operations ---- */

static void on_http_data(struct fconn *fc, const uint8_t *p, size_t n)
{
    while (n > 0 && fc->conn.state == CG_CONN_HTTP && !fc->busy) {
        bool first = !fc->request_started;
        fc->request_started = true;
        size_t used = cg__http_parser_feed(&fc->hp, p, n);
        p += used;
        n -= used;
        if (fc->hp.error_status != 0) {
            refuse(fc, fc->hp.error_status, fc->hp.error_reason, 0);
            return;
        }
        if (!fc->hp.complete) {
            /* slowloris: the whole request within the limit from its first
             * bytes (now); a request whole in one read needs no timer of
             * its own: the backend's is armed next */
            if (first)
                cg__conn_arm_timer(&fc->conn, cg__conn_lim(&fc->conn, CG_LIMIT_HEADER_MS));
            expect_continue(fc);
            return;
        }
        dispatch(fc);
    }
    if (n == 0 || fc->conn.state == CG_CONN_CLOSED || fc->conn.state == CG_CONN_DRAINING)
        return;
    /* The exchange is on: what follows waits (bounded), reading is held. */
    if (cg__buf_append(&fc->pending, p, n) != CG_OK) {
        cg__conn_close(&fc->conn, "too many bytes while a request was in flight");
        return;
    }
    if (fc->tunnel) {
        if (fc->b != NULL && b_write(fc->b, fc->pending.data, fc->pending.len) != CG_OK)
            cg__conn_close(&fc->conn, "backend write failed");
        cg__buf_reset(&fc->pending);
        return;
    }
    cg__conn_hold_reading(&fc->conn, true);
}

static void c_data(struct cg_conn *conn, const uint8_t *p, size_t n)
{
    struct fconn *fc = conn->user;
    if (fc->tunnel) {
        if (fc->b == NULL || b_write(fc->b, p, n) != CG_OK)
            cg__conn_close(conn, "backend gone");
        return;
    }
    if (conn->state == CG_CONN_HTTP)
        on_http_data(fc, p, n);
}

static void c_tls_done(struct cg_conn *conn)
{
    conn->state = CG_CONN_HTTP;
    cg__conn_arm_timer(conn, cg__conn_lim(conn, CG_LIMIT_HEADER_MS));
}

static void c_tls_failed(struct cg_conn *conn)
{
    unsigned long e = ERR_peek_error();
    count(conn->user, cg_wss_result_of_tls(ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0));
    char what[128];
    snprintf(what, sizeof(what), "%s: TLS handshake refused", conn->peer);
    cg__tls_log_errors(conn->ctx, CG_LOG_WARN, what); /* B-24 */
    cg__conn_drain_and_close(conn);
}

static void c_not_tls(struct cg_conn *conn) { count(conn->user, CG_WSS_NOT_TLS); } /* B-20 */

static void c_writable(struct cg_conn *conn)
{
    struct fconn *fc = conn->user;
    struct bconn *b = fc->b;
    if (b != NULL && b->paused && !b->closing) {
        b->paused = false;
        uv_read_start((uv_stream_t *)&b->tcp, b_alloc, b_read);
    }
}

static void c_timeout(struct cg_conn *conn)
{
    struct fconn *fc = conn->user;
    if (conn->state == CG_CONN_TLS) {
        count(fc, CG_WSS_TIMEOUT);
        cg__log(conn->ctx, CG_LOG_INFO, "front", "%s: TLS handshake timed out", conn->peer);
        cg__conn_close(conn, "handshake timeout");
    } else if (fc->tunnel) {
        return; /* the WebSocket ends pings itself */
    } else if (fc->busy && !fc->head_sent) {
        if (fc->b != NULL)
            b_close(fc->b);
        refuse(fc, 504, "the backend did not answer in time", 0);
    } else if (fc->busy) {
        cg__conn_close(conn, "the response stalled");
    } else if (fc->request_started) {
        refuse(fc, 408, "request not received in time", 0);
    } else {
        cg__conn_close(conn, "idle");
    }
}

static void c_closing(struct cg_conn *conn)
{
    struct fconn *fc = conn->user;
    struct cg_front *f = fc->f;
    if (fc->prev != NULL)
        fc->prev->next = fc->next;
    else if (f->conns == fc)
        f->conns = fc->next;
    if (fc->next != NULL)
        fc->next->prev = fc->prev;
    fc->prev = fc->next = NULL;
    f->nconns--;
    if (fc->b != NULL)
        b_close(fc->b); /* mid-exchange or a tunnel: the backend side goes too */
}

static void c_freed(struct cg_conn *conn)
{
    struct fconn *fc = conn->user;
    struct cg_front *f = fc->f;
    cg__http_parser_free(&fc->hp);
    cg__buf_free(&fc->pending);
    cg__buf_free(&fc->reqbuf);
    cg__buf_free(&fc->json);
    cg__front_wsrw_free(&fc->wsrw);
    free(fc);
    front_release(f);
}

static const struct cg_conn_ops front_ops = {
    .name = "nmos front",
    .tls_done = c_tls_done,
    .tls_failed = c_tls_failed,
    .not_tls = c_not_tls,
    .data = c_data,
    .writable = c_writable,
    .timeout = c_timeout,
    .closing = c_closing,
    .freed = c_freed,
};

static void front_accept(void *user, uv_stream_t *listener)
{
    struct cg_front *f = user;
    struct fconn *fc = calloc(1, sizeof(*fc));
    if (fc == NULL) {
        cg__log(f->ctx, CG_LOG_ERROR, "front", "out of memory: connection left in the backlog");
        return;
    }
    fc->f = f;
    f->live++;
    fc->conn.state = CG_CONN_TLS;
    cg__conn_init(&fc->conn, f->ctx, &f->lim, f->readbuf, sizeof(f->readbuf), &front_ops, fc);
    cg__http_parser_init(&fc->hp, (size_t)f->lim.v[CG_LIMIT_MAX_HEADER_BYTES],
                         (size_t)f->lim.v[CG_LIMIT_MAX_BODY_BYTES]);
    cg__buf_init(&fc->pending, (size_t)(f->lim.v[CG_LIMIT_MAX_HEADER_BYTES] +
                                        f->lim.v[CG_LIMIT_MAX_BODY_BYTES] + 65536));
    cg__buf_init(&fc->reqbuf, 0);
    cg__buf_init(&fc->json, 0);
    fc->next = f->conns;
    if (f->conns != NULL)
        f->conns->prev = fc;
    f->conns = fc;
    f->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&fc->conn.tcp) != 0) {
        cg__conn_close(&fc->conn, "accept failed");
        return;
    }
    cg__conn_peer_name(&fc->conn);
    memcpy(fc->hp.req.peer, fc->conn.peer, sizeof(fc->conn.peer));
    if (f->nconns > f->lim.v[CG_LIMIT_MAX_CONNECTIONS]) {
        cg__log(f->ctx, CG_LOG_WARN, "front", "%s: refused: connection limit reached",
                fc->conn.peer);
        cg__conn_close(&fc->conn, "connection limit");
        return;
    }
    if (cg__conn_init_tls(&fc->conn, cg__tls_server_ssl_ctx(f->srv->tls), true) != CG_OK) {
        cg__conn_close(&fc->conn, "out of memory");
        return;
    }
    cg__conn_arm_timer(&fc->conn, f->lim.v[CG_LIMIT_HANDSHAKE_MS]);
    cg__conn_start(&fc->conn);
}

/* ---- the front ---- */

static void front_release(struct cg_front *f)
{
    if (--f->live > 0 || !f->freeing)
        return;
    cg__front_config_release(&f->cfg);
    cg__buf_free(&f->cork);
    cg__buf_free(&f->head_out);
    cg__buf_free(&f->json_out);
    cg__buf_free(&f->ws_out);
    for (size_t i = 0; i < f->rw.ninside; i++)
        free(f->rw.inside[i]);
    free(f->rw.inside);
    free(f);
}

static enum cg_err resolve(const char *addr, uint16_t port, struct sockaddr_storage *ss,
                           char *auth, size_t authsz)
{
    bool v6 = strchr(addr, ':') != NULL;
    int r = v6 ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)ss)
               : uv_ip4_addr(addr, port, (struct sockaddr_in *)ss);
    CG_CHECK(r == 0, CG_ECONFIG);
    snprintf(auth, authsz, v6 ? "[%s]:%u" : "%s:%u", addr, (unsigned)port);
    return CG_OK;
}

static enum cg_err add_inside(struct cg_front *f, const char *auth)
{
    char norm[300];
    if (!cg__front_authority_norm(auth, strlen(auth), false, norm, sizeof(norm)))
        return CG_OK;
    for (size_t i = 0; i < f->rw.ninside; i++)
        if (strcmp(f->rw.inside[i], norm) == 0)
            return CG_OK;
    return cg__front_strlist_add(&f->rw.inside, &f->rw.ninside, norm);
}

static enum cg_err setup_rw(struct cg_front *f)
{
    const struct cg_front_config *c = &f->cfg;
    f->rw.pub_host = c->pub_host;
    f->rw.pub_port = c->pub_port != 0 ? c->pub_port : cg_server_port(f->srv, 0);
    CG_GUARD(add_inside(f, f->backend_auth));
    CG_GUARD(add_inside(f, f->ws_auth));
    if (strcmp(c->backend, "127.0.0.1") == 0 || strcmp(c->backend, "::1") == 0) {
        char a[80];
        snprintf(a, sizeof(a), "localhost:%u", (unsigned)c->port);
        CG_GUARD(add_inside(f, a));
        snprintf(a, sizeof(a), "localhost:%u", (unsigned)c->ws_port);
        CG_GUARD(add_inside(f, a));
    }
    for (size_t i = 0; i < c->ninside; i++)
        CG_GUARD(add_inside(f, c->inside[i]));
    return CG_OK;
}

enum cg_err cg_front_new(struct cg_ctx *ctx, const struct cg_front_config *fcfg,
                         const struct cg_server_config *scfg, struct cg_front **out)
{
    CG_CHECK(ctx != NULL && fcfg != NULL && scfg != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(fcfg->port != 0 && fcfg->pub_host != NULL, CG_ECONFIG);
    enum cg_err rc = CG_OK;
    struct cg_front *f = calloc(1, sizeof(*f));
    CG_CHECK(f != NULL, CG_ENOMEM);
    f->ctx = ctx;
    f->live = 1; /* the front's own reference, dropped by cg_front_free */
    CG_TRY(cg__front_config_copy(&f->cfg, fcfg));
    CG_TRY(resolve(fcfg->backend, fcfg->port, &f->baddr, f->backend_auth,
                   sizeof(f->backend_auth)));
    CG_TRY(resolve(fcfg->backend, fcfg->ws_port, &f->wsaddr, f->ws_auth, sizeof(f->ws_auth)));
    CG_TRY(cg_server_new(ctx, scfg, &f->srv));
    f->lim = f->srv->lim;
    f->srv->accept_hook = front_accept;
    f->srv->accept_user = f;
    CG_TRY(setup_rw(f));
    cg__buf_init(&f->cork, CORK_BYTES);
    cg__buf_init(&f->head_out, 0);
    cg__buf_init(&f->json_out, 0);
    cg__buf_init(&f->ws_out, 0);
    *out = f;
    return CG_OK;
out:
    cg_front_free(f);
    return rc;
}

enum cg_err cg_front_start(struct cg_front *f)
{
    CG_CHECK(f != NULL, CG_EINVAL);
    return cg_server_start(f->srv);
}

uint16_t cg_front_port(const struct cg_front *f, size_t idx)
{
    return f != NULL ? cg_server_port(f->srv, idx) : 0;
}

struct cg_server *cg_front_server(struct cg_front *f)
{
    return f != NULL ? f->srv : NULL;
}

void cg_front_get_stats(const struct cg_front *f, struct cg_front_stats *out)
{
    if (f != NULL && out != NULL)
        *out = f->st;
}

void cg_front_free(struct cg_front *f)
{
    if (f == NULL)
        return;
    f->freeing = true;
    while (f->conns != NULL)
        cg__conn_close(&f->conns->conn, "front closing"); /* unlinks it */
    while (f->pool != NULL)
        b_close(f->pool);
    cg_server_free(f->srv);
    f->srv = NULL;
    front_release(f);
}
