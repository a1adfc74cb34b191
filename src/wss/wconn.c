/* What the server's and the dialer's connections share: set-up, the
 * WebSocket state (frames in, the ping timer, flow control) and release;
 * and how an HTTP response is written (the server's and the NMOS front's). */
#include "wss/wss.h"
#include "ws/ws.h"

#include <openssl/err.h>

void cg__wconn_init(struct cg_wconn *w, struct cg_ctx *ctx, const struct cg_server_limits *lim,
                    uint8_t *readbuf, size_t readbuf_len, const struct cg_conn_ops *ops)
{
    cg__conn_init(&w->conn, ctx, lim, readbuf, readbuf_len, ops, w);
    cg__http_parser_init(&w->hp, lim->v[CG_LIMIT_MAX_HEADER_BYTES],
                         lim->v[CG_LIMIT_MAX_BODY_BYTES]);
    cg__buf_init(&w->early, lim->v[CG_LIMIT_MAX_HEADER_BYTES]);
}

void cg__wconn_release(struct cg_wconn *w)
{
    if (w->ws != NULL)
        cg__ws_free(w->ws);
    w->ws = NULL;
    cg__http_parser_free(&w->hp);
    cg__buf_free(&w->early);
}

void cg__wss_respond(struct cg_conn *conn, const struct cg_http_request *req,
                     const struct cg_http_policy *pol, struct cg_http_response *res)
{
    struct cg_buf out;
    cg__buf_init(&out, 0);
    enum cg_err rc = cg__http_response_write(res, req != NULL && req->path != NULL ? req : NULL,
                                             pol, &out);
    if (rc == CG_OK)
        rc = cg__conn_write(conn, out.data, out.len);
    cg__buf_free(&out);
    if (rc != CG_OK)
        cg__conn_close(conn, "response failed");
}

void cg__wconn_ws_data(struct cg_wconn *w, const uint8_t *data, size_t len)
{
    if (cg__ws_on_data(w->ws, data, len) != CG_OK)
        cg__conn_drain_and_close(&w->conn);
}

void cg__wconn_writable(struct cg_conn *c)
{
    struct cg_wconn *w = (struct cg_wconn *)c; /* conn is its first member */
    if (c->state == CG_CONN_WS && cg__ws_on_writable(w->ws) != CG_OK)
        cg__conn_drain_and_close(c);
}

void cg__wconn_count(struct cg_wconn *w, enum cg_wss_result r)
{
    if (w->stats != NULL && (unsigned)r < CG_WSS_RESULTS)
        w->stats->result[r]++;
}

void cg__wconn_count_tls(struct cg_wconn *w)
{
    unsigned long e = ERR_peek_error();
    cg__wconn_count(w, cg_wss_result_of_tls(ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0));
}

void cg__wconn_setup_timeout(struct cg_wconn *w)
{
    struct cg_conn *c = &w->conn;
    cg__wconn_count(w, CG_WSS_TIMEOUT);
    cg__log(c->ctx, CG_LOG_WARN, "tls", "%s: %s timed out", c->peer,
            c->state == CG_CONN_TLS ? "TLS handshake" : "connection set-up");
    if (w->ws != NULL)
        cg__ws_set_failure(w->ws, CG_ETIMEDOUT, 0);
    cg__conn_close(c, "handshake timeout");
}

/* The peer was quiet: ping it, then give up when the pong does not come. */
void cg__wconn_ws_timeout(struct cg_wconn *w)
{
    struct cg_conn *c = &w->conn;
    uint64_t ping = cg__conn_lim(c, CG_LIMIT_WS_PING_MS);
    uint64_t pong = cg__conn_lim(c, CG_LIMIT_WS_PONG_MS);
    uint64_t quiet = cg__now_ms() - c->last_rx_ms;
    if (cg__ws_close_sent(w->ws)) {
        cg__conn_close(c, "close not answered");
    } else if (quiet >= ping + pong) {
        cg__log(c->ctx, CG_LOG_WARN, "ws", "%s: no answer to ping: closing", c->peer);
        cg__conn_close(c, "ping timeout");
    } else if (quiet >= ping) {
        cg__ws_ping(w->ws);
        cg__conn_arm_timer(c, ping + pong - quiet);
    } else {
        cg__conn_arm_timer(c, ping - quiet);
    }
}
