/* WebSocket frames over a castgate connection: received frames are parsed by
 * rx.c, sent ones framed by wslay. All frames produced by one
 * wslay_event_send() are encrypted together, so a message costs one TLS
 * record rather than one per frame part. */
#include "net/net.h"
#include "ws/ws.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#define CLOSE_WAIT_MS 5000
#define MASK_POOL 256 /* bytes of masking keys drawn from RAND_bytes at once: 64 frames */

struct cg_ws {
    struct cg_conn *conn;
    wslay_event_context_ptr wslay;
    struct cg_ws_handlers h;
    void *route_user;
    void *user;
    struct cg_ws_rx rx; /* the receiving side */
    struct cg_buf out; /* frames gathered during one wslay_event_send() */
    uint8_t mask_pool[MASK_POOL]; /* a client's next masking keys (RFC 6455 5.3) */
    size_t mask_used;             /* bytes of mask_pool given out (MASK_POOL: empty) */
    size_t max_msg;
    bool in_recv;
    bool rx_failed; /* a control frame answer could not be queued */
    bool close_received;
    uint16_t close_code_recv;
    bool reported;
    bool open;
    bool client;
    enum cg_err error; /* why a connection failed or closed abnormally */
    int http_status;   /* a client's refused upgrade: the server's status */
    long retry_after;  /* and its Retry-After in seconds, -1 if none */
};

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    CG_UNUSED(flags);
    struct cg_ws *ws = user;
    uint64_t max = cg__conn_lim(ws->conn, CG_LIMIT_MAX_WRITE_QUEUE);
    if (ws->conn->queued + ws->out.len > max || cg__buf_append(&ws->out, data, len) != CG_OK) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK); /* resumed from on_write */
        return -1;
    }
    return (ssize_t)len;
}

/* Masking keys (RFC 6455 5.3: fresh per frame, from a strong source of
 * entropy) come from a pool filled by RAND_bytes 256 bytes at a time, not one
 * RAND_bytes call (and its getpid(2) fork check) per frame. */
static int mask_bytes(struct cg_ws *ws, uint8_t *buf, size_t len)
{
    while (len > 0) {
        if (ws->mask_used >= MASK_POOL) {
            if (RAND_bytes(ws->mask_pool, MASK_POOL) != 1)
                return -1;
            ws->mask_used = 0;
        }
        size_t n = MASK_POOL - ws->mask_used < len ? MASK_POOL - ws->mask_used : len;
        memcpy(buf, ws->mask_pool + ws->mask_used, n); /* each byte given out once */
        ws->mask_used += n;
        buf += n;
        len -= n;
    }
    return 0;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    CG_UNUSED(ctx);
    return mask_bytes(user, buf, len);
}

static const struct wslay_event_callbacks callbacks = {
    .send_callback = send_cb,
    .genmask_callback = genmask_cb,
};

/* ---- what the receiving side found (rx.c) ---- */

static void queue_result(struct cg_ws *ws, int r)
{
    if (r != 0 && r != WSLAY_ERR_NO_MORE_MSG) /* no more: we already sent our close */
        ws->rx_failed = true;
}

static void rx_message(void *user, bool binary, const uint8_t *data, size_t len)
{
    struct cg_ws *ws = user;
    if (!binary && !cg__utf8_valid(data, len)) {
        cg__log(ws->conn->ctx, CG_LOG_WARN, "ws", "%s: text message is not UTF-8: closing 1007",
                ws->conn->peer);
        ws->rx.done = true;
        queue_result(ws, wslay_event_queue_close(ws->wslay, 1007, NULL, 0));
        return;
    }
    if (ws->h.on_message != NULL && ws->conn->state == CG_CONN_WS)
        ws->h.on_message(ws->route_user, ws, binary, data, len);
}

static void rx_ping(void *user, const uint8_t *data, size_t len)
{
    struct cg_ws *ws = user;
    struct wslay_event_msg m = {.opcode = WSLAY_PONG, .msg = data, .msg_length = len};
    queue_result(ws, wslay_event_queue_msg(ws->wslay, &m));
}

static void rx_close(void *user, uint16_t code, const uint8_t *reason, size_t len)
{
    struct cg_ws *ws = user;
    ws->close_received = true;
    ws->close_code_recv = code != 0 ? code : 1005; /* RFC 6455 §7.1.5: no status */
    queue_result(ws, wslay_event_queue_close(ws->wslay, code, reason, len)); /* the answer */
}

static void rx_fail(void *user, uint16_t code, const char *why)
{
    struct cg_ws *ws = user;
    cg__log(ws->conn->ctx, CG_LOG_WARN, "ws", "%s: %s: closing %u", ws->conn->peer, why,
            (unsigned)code);
    queue_result(ws, wslay_event_queue_close(ws->wslay, code, NULL, 0));
}

static const struct cg_ws_rx_handler rx_handler = {
    .message = rx_message, .ping = rx_ping, .close = rx_close, .fail = rx_fail};

enum cg_err cg__ws_new(struct cg_conn *conn, const struct cg_ws_handlers *h, void *route_user,
                       void *conn_user, size_t max_msg, bool client, struct cg_ws **out)
{
    struct cg_ws *ws = calloc(1, sizeof(*ws));
    CG_CHECK(ws != NULL, CG_ENOMEM);
    int r = client ? wslay_event_context_client_init(&ws->wslay, &callbacks, ws)
                   : wslay_event_context_server_init(&ws->wslay, &callbacks, ws);
    if (r != 0) {
        free(ws);
        return CG_ENOMEM;
    }
    cg__ws_rx_init(&ws->rx, !client, max_msg); /* past max_msg: 1009 */
    ws->client = client;
    ws->conn = conn;
    ws->h = *h;
    ws->route_user = route_user;
    ws->user = conn_user;
    ws->max_msg = max_msg;
    cg__buf_init(&ws->out, 0);
    ws->mask_used = MASK_POOL;
    *out = ws;
    return CG_OK;
}

void cg__ws_free(struct cg_ws *ws)
{
    if (ws == NULL)
        return;
    wslay_event_context_free(ws->wslay);
    cg__ws_rx_free(&ws->rx);
    cg__buf_free(&ws->out);
    free(ws);
}

bool cg__ws_close_sent(const struct cg_ws *ws) { return wslay_event_get_close_sent(ws->wslay); }

bool cg__ws_finished(const struct cg_ws *ws)
{
    return ws->rx.done && !wslay_event_want_write(ws->wslay);
}

/* Runs wslay's sender and hands what it framed to TLS in one write. */
static enum cg_err ws_flush(struct cg_ws *ws)
{
    if (ws->in_recv || ws->conn->state != CG_CONN_WS)
        return CG_OK;
    int r = wslay_event_send(ws->wslay);
    enum cg_err rc = CG_OK;
    if (ws->out.len > 0) {
        rc = cg__conn_write(ws->conn, ws->out.data, ws->out.len);
        if (ws->out.cap > 16384)
            cg__buf_free(&ws->out); /* an idle connection keeps no big buffer */
        else
            cg__buf_reset(&ws->out);
    }
    CG_CHECK(r == 0, CG_EWS);
    CG_GUARD(rc);
    return cg__ws_finished(ws) ? CG_ECLOSED : CG_OK;
}

enum cg_err cg__ws_on_data(struct cg_ws *ws, const uint8_t *data, size_t len)
{
    ws->in_recv = true;
    cg__ws_rx_feed(&ws->rx, data, len, &rx_handler, ws);
    ws->in_recv = false;
    if (ws->rx_failed) {
        cg__log(ws->conn->ctx, CG_LOG_WARN, "ws", "%s: out of memory answering a control frame",
                ws->conn->peer);
        return CG_EWS;
    }
    return ws_flush(ws);
}

enum cg_err cg__ws_on_writable(struct cg_ws *ws) { return ws_flush(ws); }

void cg__ws_ping(struct cg_ws *ws)
{
    struct wslay_event_msg m = {.opcode = WSLAY_PING, .msg = (const uint8_t *)"cg", .msg_length = 2};
    if (wslay_event_queue_msg(ws->wslay, &m) == 0 && ws_flush(ws) == CG_ECLOSED)
        cg__conn_drain_and_close(ws->conn);
}

void cg__ws_opened(struct cg_ws *ws)
{
    ws->open = true;
    if (ws->h.on_open != NULL)
        ws->h.on_open(ws->route_user, ws);
}

void cg__ws_set_failure(struct cg_ws *ws, enum cg_err err, int http_status)
{
    if (ws->error == CG_OK)
        ws->error = err;
    if (http_status != 0)
        ws->http_status = http_status;
}

static bool tls_failure(enum cg_err e)
{
    return e == CG_ETLS || e == CG_EHANDSHAKE || e == CG_EVERIFY || e == CG_EREVOKED ||
           e == CG_EEXPIRED || e == CG_EOCSP || e == CG_EHOSTNAME || e == CG_EUNTRUSTED ||
           e == CG_ESELFSIGNED || e == CG_EPIN;
}

void cg__ws_on_transport_closed(struct cg_ws *ws)
{
    if (ws->reported)
        return;
    ws->reported = true;
    uint16_t code = 1006; /* RFC 6455 §7.1.5: closed without a close frame */
    if (!ws->open) {
        if (tls_failure(ws->error))
            code = 1015; /* RFC 6455 §7.4.1: the TLS handshake failed */
        else if (ws->error == CG_OK)
            ws->error = CG_ECLOSED;
    } else if (ws->close_received) {
        code = ws->close_code_recv;
    } else {
        if (wslay_event_get_close_sent(ws->wslay))
            code = wslay_event_get_status_code_sent(ws->wslay);
        if (ws->error == CG_OK)
            ws->error = CG_ECLOSED; /* the transport went away under us */
    }
    /* A server connection that never opened was never announced: no on_close. */
    if (ws->h.on_close != NULL && (ws->open || ws->client))
        ws->h.on_close(ws->route_user, ws, code);
}

/* ---- public ---- */

/* A client's frame larger than this is masked and handed to TLS a piece of
 * this size at a time (stream_masked). */
#define STREAM_PIECE (256u << 10)

/* A client's large frame (header h of hl bytes, its masking key last), masked
 * a piece at a time into ws->out and written piece by piece: no buffer the
 * size of the message (a 4 MB one cost a 4 MB buffer, fresh from the system
 * and faulted in page by page, for every message). ws->out is empty. */
static enum cg_err stream_masked(struct cg_ws *ws, const uint8_t *h, size_t hl, const void *data,
                                 size_t len)
{
    size_t max = ws->out.max;
    if (ws->out.cap < hl + STREAM_PIECE) { /* the piece in a kept block (core/spare.c): its
                                            * pages are not mapped afresh for each message */
        size_t cap = 0;
        uint8_t *p = cg__spare_take(hl + STREAM_PIECE, &cap);
        if (p != NULL) {
            cg__buf_free(&ws->out);
            ws->out.data = p, ws->out.cap = cap;
        }
    }
    CG_GUARD(cg__buf_reserve(&ws->out, hl + STREAM_PIECE));
    cg__buf_append(&ws->out, h, hl); /* reserved: cannot fail */
    const uint8_t *src = data;
    enum cg_err rc = CG_OK;
    for (size_t off = 0; off < len && rc == CG_OK;) {
        size_t n = len - off < STREAM_PIECE ? len - off : STREAM_PIECE;
        cg__ws_mask_copy(ws->out.data + ws->out.len, src + off, n, h + hl - 4, off);
        ws->out.len += n;
        off += n;
        rc = cg__conn_write(ws->conn, ws->out.data, ws->out.len);
        cg__buf_reset(&ws->out);
    }
    cg__spare_give(ws->out.data, ws->out.cap); /* an idle connection keeps no big buffer */
    cg__buf_init(&ws->out, max);
    return rc;
}

/* The common case of a send: nothing waits in wslay's queue and the peer
 * keeps up, so the frame (one piece; a client's masked as it is copied) goes
 * straight into the bytes of this send pass, without wslay's copy of the
 * message. Anything else (a queue, backpressure) goes through wslay, which
 * then keeps the order. */
static bool direct_frame(struct cg_ws *ws, bool binary, const void *data, size_t len,
                         enum cg_err *streamed)
{
    uint8_t h[14];
    size_t hl = 2;
    h[0] = 0x80 | (binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME);
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (unsigned i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    uint64_t max = cg__conn_lim(ws->conn, CG_LIMIT_MAX_WRITE_QUEUE);
    size_t ml = ws->client ? 4 : 0;
    bool stream = ws->client && len > STREAM_PIECE && ws->out.len == 0 && !ws->in_recv &&
                  ws->conn->state == CG_CONN_WS;
    if (wslay_event_want_write(ws->wslay) || !wslay_event_get_write_enabled(ws->wslay) ||
        ws->conn->queued + ws->out.len + hl + ml + len > max ||
        (!stream && cg__buf_reserve(&ws->out, hl + ml + len) != CG_OK))
        return false;
    if (!ws->client) {
        cg__buf_append(&ws->out, h, hl); /* reserved: cannot fail */
        cg__buf_append(&ws->out, data, len);
        return true;
    }
    if (mask_bytes(ws, h + hl, 4) != 0)
        return false; /* wslay tries again and reports it */
    h[1] |= 0x80; /* MASK (RFC 6455 5.2) */
    if (stream) {
        *streamed = stream_masked(ws, h, hl + 4, data, len);
        return true;
    }
    cg__buf_append(&ws->out, h, hl + 4);
    cg__ws_mask_copy(ws->out.data + ws->out.len, data, len, h + hl, 0); /* 8 bytes a step */
    ws->out.len += len;
    return true;
}

enum cg_err cg_ws_send(struct cg_ws *ws, bool binary, const void *data, size_t len)
{
    CG_CHECK(ws != NULL && (data != NULL || len == 0), CG_EINVAL);
    CG_CHECK(ws->open || ws->reported, CG_ESTATE);
    CG_CHECK(ws->conn->state == CG_CONN_WS && !wslay_event_get_close_sent(ws->wslay), CG_ECLOSED);
    CG_CHECK(len <= ws->max_msg, CG_ETOOBIG);
    enum cg_err streamed = CG_OK; /* a large client frame written in pieces (stream_masked) */
    if (!direct_frame(ws, binary, data, len, &streamed)) {
        struct wslay_event_msg m = {.opcode = binary ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
                                    .msg = data, .msg_length = len};
        CG_CHECK(wslay_event_queue_msg(ws->wslay, &m) == 0, CG_ENOMEM);
    }
    enum cg_err rc = streamed != CG_OK ? streamed : ws_flush(ws);
    if (rc == CG_ECLOSED)
        cg__conn_drain_and_close(ws->conn);
    return rc == CG_ECLOSED ? CG_OK : rc;
}

void cg_ws_close(struct cg_ws *ws, uint16_t code, const char *reason)
{
    if (ws == NULL || ws->reported)
        return;
    if (!ws->open) { /* a client still connecting: give up */
        cg__ws_set_failure(ws, CG_ECLOSED, 0);
        cg__conn_close(ws->conn, "closed by the application");
        return;
    }
    if (ws->conn->state != CG_CONN_WS || wslay_event_get_close_sent(ws->wslay))
        return;
    size_t rlen = reason != NULL ? strlen(reason) : 0;
    if (rlen > 123) /* a control frame carries at most 125 bytes */
        rlen = 123;
    wslay_event_queue_close(ws->wslay, code, (const uint8_t *)reason, rlen);
    if (ws_flush(ws) == CG_ECLOSED)
        cg__conn_drain_and_close(ws->conn);
    else
        cg__conn_arm_timer(ws->conn, CLOSE_WAIT_MS); /* then the timer gives up */
}

void *cg_ws_user(const struct cg_ws *ws) { return ws != NULL ? ws->user : NULL; }
void cg_ws_set_user(struct cg_ws *ws, void *user)
{
    if (ws != NULL)
        ws->user = user;
}
const char *cg_ws_peer(const struct cg_ws *ws) { return ws != NULL ? ws->conn->peer : ""; }
enum cg_err cg_ws_error(const struct cg_ws *ws) { return ws != NULL ? ws->error : CG_EINVAL; }
int cg_ws_http_status(const struct cg_ws *ws) { return ws != NULL ? ws->http_status : 0; }

void cg__ws_set_retry_after(struct cg_ws *ws, long seconds) { ws->retry_after = seconds; }

long cg_ws_retry_after(const struct cg_ws *ws)
{
    return ws != NULL && ws->http_status != 0 ? ws->retry_after : -1;
}

size_t cg_ws_queued(const struct cg_ws *ws)
{
    return ws == NULL ? 0 : wslay_event_get_queued_msg_length(ws->wslay) + ws->conn->queued;
}
