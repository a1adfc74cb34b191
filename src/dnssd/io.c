/* One DNS exchange at a time with one server over UDP, on the context's
 * loop: send, wait for the reply with our id, resend on timeout. The socket
 * is connected, so only the server's datagrams arrive and an ICMP "port
 * unreachable" shows up at once as a failed receive (server down). A reply
 * with TC set (too big for a datagram) is fetched again over TCP (RFC 7766
 * §5: 2-byte length prefix), once, within the same timeout. */
#include "dnssd/dnssd.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct tcpx; /* one TCP retry after a truncated reply */

struct cg__dx {
    struct cg_ctx *ctx;
    struct sockaddr_storage server;
    struct tcpx *tcp;
    uv_udp_t udp;
    uv_timer_t timer;
    int open_handles;
    bool busy;
    uint8_t *wire;
    size_t len;
    uint16_t id;
    unsigned timeout_ms, tries_left;
    cg__dx_fn fn;
    void *user;
    char peer[64];
    uint8_t rbuf[65536];
};

static void on_close(uv_handle_t *h)
{
    struct cg__dx *dx = h->data;
    if (--dx->open_handles == 0) {
        free(dx->wire);
        free(dx);
    }
}

/* ---- TCP retry ---- */

struct tcpx {
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    struct cg__dx *dx; /* NULL once detached: late callbacks do nothing */
    uint8_t *out;
    struct cg_buf rx;
};

static void tcp_closed(uv_handle_t *h)
{
    struct tcpx *t = h->data;
    free(t->out);
    cg__buf_free(&t->rx);
    free(t);
}

static void tcp_drop(struct cg__dx *dx)
{
    struct tcpx *t = dx->tcp;
    if (t == NULL)
        return;
    dx->tcp = NULL;
    t->dx = NULL;
    uv_close((uv_handle_t *)&t->tcp, tcp_closed);
}

static void finish(struct cg__dx *dx, enum cg_err err, const uint8_t *wire, size_t len);

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct tcpx *t = h->data;
    CG_UNUSED(hint);
    if (cg__buf_reserve(&t->rx, 4096) != CG_OK) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)t->rx.data + t->rx.len, (unsigned)(t->rx.cap - t->rx.len));
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct tcpx *t = s->data;
    struct cg__dx *dx = t->dx;
    CG_UNUSED(buf);
    if (dx == NULL)
        return;
    if (n < 0) {
        tcp_drop(dx);
        finish(dx, n == UV_ENOBUFS ? CG_ENOMEM : CG_ENET, NULL, 0);
        return;
    }
    t->rx.len += (size_t)n;
    if (t->rx.len < 2)
        return;
    size_t need = (size_t)t->rx.data[0] << 8 | t->rx.data[1];
    if (t->rx.len < 2 + need)
        return;
    /* Deliver from the tcpx buffer: detach first, free after the callback. */
    t->dx = NULL;
    dx->tcp = NULL;
    uv_close((uv_handle_t *)&t->tcp, tcp_closed); /* memory lives until the close callback */
    finish(dx, CG_OK, t->rx.data + 2, need);
}

static void tcp_written(uv_write_t *w, int status)
{
    struct tcpx *t = w->data;
    if (status < 0 && t->dx != NULL) {
        struct cg__dx *dx = t->dx;
        tcp_drop(dx);
        finish(dx, CG_ENET, NULL, 0);
    }
}

static void tcp_connected(uv_connect_t *c, int status)
{
    struct tcpx *t = c->data;
    struct cg__dx *dx = t->dx;
    if (dx == NULL)
        return;
    uv_buf_t b = uv_buf_init((char *)t->out, (unsigned)(dx->len + 2));
    if (status < 0 || uv_write(&t->wr, (uv_stream_t *)&t->tcp, &b, 1, tcp_written) != 0 ||
        uv_read_start((uv_stream_t *)&t->tcp, tcp_alloc, tcp_read) != 0) {
        tcp_drop(dx);
        finish(dx, CG_ENET, NULL, 0);
    }
}

static enum cg_err tcp_start(struct cg__dx *dx)
{
    struct tcpx *t = calloc(1, sizeof(*t));
    CG_CHECK(t != NULL, CG_ENOMEM);
    cg__buf_init(&t->rx, 65535 + 2);
    t->out = malloc(dx->len + 2);
    if (t->out == NULL || uv_tcp_init(cg_ctx_loop(dx->ctx), &t->tcp) != 0) {
        free(t->out);
        free(t);
        return CG_ENOMEM;
    }
    t->out[0] = (uint8_t)(dx->len >> 8);
    t->out[1] = (uint8_t)dx->len;
    memcpy(t->out + 2, dx->wire, dx->len);
    t->tcp.data = t->conn.data = t->wr.data = t;
    t->dx = dx;
    dx->tcp = t;
    if (uv_tcp_connect(&t->conn, &t->tcp, (const struct sockaddr *)&dx->server,
                       tcp_connected) != 0) {
        tcp_drop(dx);
        return CG_ENET;
    }
    return CG_OK;
}

/* ---- UDP ---- */

static void finish(struct cg__dx *dx, enum cg_err err, const uint8_t *wire, size_t len)
{
    tcp_drop(dx);
    uv_timer_stop(&dx->timer);
    dx->busy = false;
    cg__dx_fn fn = dx->fn;
    dx->fn = NULL;
    if (fn != NULL)
        fn(dx->user, err, wire, len); /* may free dx: nothing after this */
}

static void on_timer(uv_timer_t *t);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct cg__dx *dx = h->data;
    CG_UNUSED(hint);
    *buf = uv_buf_init((char *)dx->rbuf, sizeof(dx->rbuf));
}

static void on_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    struct cg__dx *dx = u->data;
    CG_UNUSED(from);
    CG_UNUSED(flags);
    if (!dx->busy || n == 0)
        return;
    if (n < 0) {
        cg__log(dx->ctx, CG_LOG_DEBUG, CG_DNSSD_COMPONENT, "%s: %s", dx->peer, uv_strerror((int)n));
        finish(dx, CG_ENET, NULL, 0);
        return;
    }
    const uint8_t *p = (const uint8_t *)buf->base;
    if (n < 12 || (uint16_t)(p[0] << 8 | p[1]) != dx->id || dx->tcp != NULL)
        return; /* not ours (a late reply to an earlier attempt, or junk) */
    if (p[2] & 0x02) { /* TC: the answer did not fit; ask again over TCP */
        cg__log(dx->ctx, CG_LOG_DEBUG, CG_DNSSD_COMPONENT, "%s: truncated reply, retrying over TCP",
                dx->peer);
        enum cg_err rc = tcp_start(dx);
        if (rc != CG_OK) {
            finish(dx, rc, NULL, 0);
            return;
        }
        dx->tries_left = 0; /* the timer now bounds the TCP exchange */
        uv_timer_start(&dx->timer, on_timer, dx->timeout_ms, 0);
        return;
    }
    finish(dx, CG_OK, p, (size_t)n);
}

static void on_sent(uv_udp_send_t *req, int status)
{
    CG_UNUSED(status); /* failures surface as a timeout or a failed receive */
    free(req);
}

static enum cg_err transmit(struct cg__dx *dx, const uint8_t *wire, size_t len)
{
    /* Small datagrams on a connected socket rarely block: try at once. */
    uv_buf_t b = uv_buf_init((char *)wire, (unsigned)len);
    int r = uv_udp_try_send(&dx->udp, &b, 1, NULL);
    if (r == (int)len)
        return CG_OK;
    if (r != UV_EAGAIN && r != UV_ENOSYS)
        return CG_ENET;
    uv_udp_send_t *req = malloc(sizeof(*req) + len);
    CG_CHECK(req != NULL, CG_ENOMEM);
    memcpy(req + 1, wire, len);
    b = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_udp_send(req, &dx->udp, &b, 1, NULL, on_sent) != 0) {
        free(req);
        return CG_ENET;
    }
    return CG_OK;
}

static void on_timer(uv_timer_t *t)
{
    struct cg__dx *dx = t->data;
    if (!dx->busy)
        return;
    if (dx->tries_left == 0 || dx->tcp != NULL) {
        finish(dx, CG_ETIMEDOUT, NULL, 0);
        return;
    }
    dx->tries_left--;
    enum cg_err rc = transmit(dx, dx->wire, dx->len);
    if (rc != CG_OK) {
        finish(dx, rc, NULL, 0);
        return;
    }
    uv_timer_start(&dx->timer, on_timer, dx->timeout_ms, 0);
}

enum cg_err cg__dx_new(struct cg_ctx *ctx, const struct sockaddr *server, struct cg__dx **out)
{
    CG_CHECK(ctx != NULL && server != NULL && out != NULL, CG_EINVAL);
    struct cg__dx *dx = calloc(1, sizeof(*dx));
    CG_CHECK(dx != NULL, CG_ENOMEM);
    uv_loop_t *loop = cg_ctx_loop(ctx);
    dx->ctx = ctx;
    memcpy(&dx->server, server,
           server->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    if (uv_udp_init(loop, &dx->udp) != 0) {
        free(dx);
        return CG_ENET;
    }
    dx->udp.data = dx;
    dx->open_handles = 1;
    uv_timer_init(loop, &dx->timer); /* cannot fail on a live loop */
    dx->timer.data = dx;
    dx->open_handles = 2;
    *out = dx;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (server->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)server;
        uv_ip6_name(a, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)server;
        uv_ip4_name(a, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    }
    snprintf(dx->peer, sizeof(dx->peer), server->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
             port);
    if (uv_udp_connect(&dx->udp, server) != 0 ||
        uv_udp_recv_start(&dx->udp, on_alloc, on_recv) != 0) {
        cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "cannot open a UDP socket to %s",
                dx->peer);
        cg__dx_free(dx);
        *out = NULL;
        return CG_ENET;
    }
    return CG_OK;
}

enum cg_err cg__dx_send(struct cg__dx *dx, const struct cg__msg *msg, unsigned timeout_ms,
                        unsigned tries, cg__dx_fn fn, void *user)
{
    CG_CHECK(dx != NULL && msg != NULL && msg->wire != NULL && tries > 0, CG_EINVAL);
    CG_CHECK(!dx->busy, CG_ESTATE);
    uint8_t *copy = malloc(msg->len);
    CG_CHECK(copy != NULL, CG_ENOMEM);
    memcpy(copy, msg->wire, msg->len);
    free(dx->wire);
    dx->wire = copy;
    dx->len = msg->len;
    dx->id = msg->id;
    dx->timeout_ms = timeout_ms;
    dx->tries_left = tries - 1;
    dx->fn = fn;
    dx->user = user;
    CG_GUARD(transmit(dx, dx->wire, dx->len));
    dx->busy = true;
    uv_timer_start(&dx->timer, on_timer, timeout_ms, 0);
    return CG_OK;
}

void cg__dx_send_once(struct cg__dx *dx, const struct cg__msg *msg)
{
    if (dx != NULL && msg != NULL && msg->wire != NULL)
        (void)transmit(dx, msg->wire, msg->len);
}

void cg__dx_cancel(struct cg__dx *dx)
{
    if (dx == NULL)
        return;
    tcp_drop(dx);
    uv_timer_stop(&dx->timer);
    dx->busy = false;
    dx->fn = NULL;
}

void cg__dx_free(struct cg__dx *dx)
{
    if (dx == NULL)
        return;
    cg__dx_cancel(dx);
    uv_udp_recv_stop(&dx->udp);
    uv_close((uv_handle_t *)&dx->udp, on_close);
    uv_close((uv_handle_t *)&dx->timer, on_close);
}

const char *cg__dx_peer(const struct cg__dx *dx) { return dx != NULL ? dx->peer : "?"; }
