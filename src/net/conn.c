/* One TLS connection over libuv: the state machine behind every socket. What
 * the bytes mean is its user's business: it hears of them through c->ops. */
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINGER_MS 2000
/* A connection quiet this long gives its TLS record buffers (about 34 KB)
 * back; a busy one keeps them instead of re-allocating them around every
 * record (SSL_MODE_RELEASE_BUFFERS did: 7 allocations of up to 16 KB per
 * message and connection). */
#define IDLE_RELEASE_MS 1000
/* Plaintext goes to SSL in pieces of at most this (a 64 KB message stays
 * one piece: split, it cost a second record and write), each piece's records
 * flushed to the socket before the next: the memory BIO never holds more
 * than a piece. A 4 MB message written whole grew the BIO to its whole
 * ciphertext by reallocation first (OpenSSL's BUF_MEM grows by a third,
 * copying and wiping the old buffer each time). */
#define WRITE_CHUNK (256u << 10)

/* SSL_free_buffers is safe from CVE-2024-4741 from 3.0.14, 3.1.6, 3.2.2 and
 * 3.3.1 on; built against an older OpenSSL the buffers are released after
 * every record as before. */
#if (OPENSSL_VERSION_NUMBER >= 0x300000e0L && OPENSSL_VERSION_NUMBER < 0x30100000L) ||           \
    (OPENSSL_VERSION_NUMBER >= 0x30100060L && OPENSSL_VERSION_NUMBER < 0x30200000L) ||           \
    (OPENSSL_VERSION_NUMBER >= 0x30200020L && OPENSSL_VERSION_NUMBER < 0x30300000L) ||           \
    OPENSSL_VERSION_NUMBER >= 0x30300010L
#define IDLE_RELEASE 1
#else
#define IDLE_RELEASE 0
#endif

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void pump(struct cg_conn *c);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);
static void linger(struct cg_conn *c);

struct wreq {
    uv_write_t req;
    uv_buf_t buf;
    struct cg_conn *conn;
    char data[];
};

/* Holds: the three handles until closed, and a handshake step on a
 * front-door thread until it is done (frontdoor.c). */
void cg__conn_release(struct cg_conn *c)
{
    if (--c->open_handles > 0)
        return;
    cg__conn_hs_free(c);
    SSL_free(c->ssl); /* frees both BIOs */
    c->ssl = NULL;
    c->ops->freed(c); /* the user releases c */
}

static void on_handle_closed(uv_handle_t *h) { cg__conn_release(h->data); }

void cg__conn_close(struct cg_conn *c, const char *why)
{
    if (c->state == CG_CONN_CLOSED)
        return;
    c->state = CG_CONN_CLOSED;
    cg__log(c->ctx, CG_LOG_DEBUG, "net", "%s: closed (%s)", c->peer, why);
    c->ops->closing(c);
    cg__conn_hs_closing(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
    struct cg_conn *c = t->data;
    if (c->state == CG_CONN_CLOSED || c->ssl == NULL)
        return;
    if (cg__conn_hs_busy(c)) { /* the SSL is a front-door thread's now */
        uv_timer_start(t, on_idle, IDLE_RELEASE_MS, 0);
        return;
    }
    uint64_t quiet = uv_now(t->loop) - c->last_io;
    if (quiet < IDLE_RELEASE_MS || !SSL_free_buffers(c->ssl)) /* 0: a record in progress */
        uv_timer_start(t, on_idle, quiet < IDLE_RELEASE_MS ? IDLE_RELEASE_MS - quiet : IDLE_RELEASE_MS, 0);
}

/* Traffic: the idle timer runs (started once, not per record). */
static void busy(struct cg_conn *c)
{
    if (!IDLE_RELEASE)
        return;
    c->last_io = uv_now(c->idle.loop);
    if (!uv_is_active((uv_handle_t *)&c->idle))
        uv_timer_start(&c->idle, on_idle, IDLE_RELEASE_MS, 0);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct cg_conn *c = w->conn;
    c->queued -= w->buf.len;
    free(w);
    if (c->state == CG_CONN_CLOSED)
        return;
    if (status < 0) {
        cg__conn_close(c, uv_strerror(status));
        return;
    }
    if (c->state == CG_CONN_DRAINING && c->queued == 0) {
        linger(c);
        return;
    }
    uint64_t max = cg__conn_lim(c, CG_LIMIT_MAX_WRITE_QUEUE);
    if (c->read_paused && !c->held && c->queued <= max / 2) {
        c->read_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (c->queued <= max / 2)
        c->ops->writable(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    CG_UNUSED(req);
    CG_UNUSED(status); /* the linger timer or the peer's EOF ends it */
}

/* Lingering close: everything is written, so send FIN and read (and drop)
 * until the peer's EOF or LINGER_MS. Closing at once while the peer still
 * sends would make the kernel answer with RST, and the peer would lose our
 * last bytes (a WebSocket close frame, a 413) before reading them. */
static void linger(struct cg_conn *c)
{
    if (c->shutdown_started)
        return;
    c->shutdown_started = true;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        cg__conn_close(c, "done");
        return;
    }
    if (c->read_paused) {
        c->read_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    cg__conn_arm_timer(c, LINGER_MS);
}

static enum cg_err queue_write(struct cg_conn *c, const uint8_t *p, size_t n)
{
    struct wreq *w = malloc(sizeof(*w) + n);
    CG_CHECK(w != NULL, CG_ENOMEM);
    memcpy(w->data, p, n);
    w->buf = uv_buf_init(w->data, (unsigned)n);
    w->conn = c;
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_write);
    if (r < 0) {
        free(w);
        return CG_ENET;
    }
    c->queued += n;
    return CG_OK;
}

/* Moves SSL's ciphertext to the socket: straight away when the socket takes
 * it (uv_try_write keeps order: it refuses while writes are queued), queued
 * otherwise. */
static enum cg_err flush(struct cg_conn *c)
{
    size_t cap;
    uint8_t *scratch = cg__ctx_scratch(c->ctx, CG_SCRATCH_TLS_OUT, &cap); /* what is not
                                                       written at once is copied by queue_write */
    for (;;) {
        int n = BIO_read(c->net_out, scratch, (int)cap);
        if (n <= 0)
            return CG_OK;
        uv_buf_t b = uv_buf_init((char *)scratch, (unsigned)n);
        int done = c->queued == 0 ? uv_try_write((uv_stream_t *)&c->tcp, &b, 1) : UV_EAGAIN;
        if (done < 0 && done != UV_EAGAIN)
            return CG_ENET;
        size_t sent = done > 0 ? (size_t)done : 0;
        if (sent < (size_t)n)
            CG_GUARD(queue_write(c, scratch + sent, (size_t)n - sent));
    }
}

static void pause_if_blocked(struct cg_conn *c)
{
    if (!c->read_paused && cg__conn_write_blocked(c)) {
        c->read_paused = true; /* a peer that does not read stops being read */
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

void cg__conn_hold_reading(struct cg_conn *c, bool hold)
{
    if (c->state == CG_CONN_CLOSED || c->held == hold)
        return;
    c->held = hold;
    if (hold && !c->read_paused) {
        c->read_paused = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    } else if (!hold && c->read_paused && !cg__conn_write_blocked(c)) {
        c->read_paused = false;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

bool cg__conn_write_blocked(const struct cg_conn *c)
{
    return c->queued > cg__conn_lim(c, CG_LIMIT_MAX_WRITE_QUEUE);
}

enum cg_err cg__conn_write(struct cg_conn *c, const void *data, size_t len)
{
    CG_CHECK(cg__conn_open(c), CG_ECLOSED);
    busy(c);
    const uint8_t *p = data;
    enum cg_err rc = CG_OK;
    while (len > 0 && rc == CG_OK) {
        int chunk = len > WRITE_CHUNK ? (int)WRITE_CHUNK : (int)len;
        int n = SSL_write(c->ssl, p, chunk);
        if (n <= 0) {
            cg__tls_log_errors(c->ctx, CG_LOG_WARN, "TLS write");
            return CG_ETLS;
        }
        p += n;
        len -= (size_t)n;
        rc = flush(c); /* the memory BIO holds one piece's records at most */
    }
    pause_if_blocked(c);
    return rc;
}

void cg__conn_drain_and_close(struct cg_conn *c)
{
    if (c->state == CG_CONN_CLOSED || c->state == CG_CONN_DRAINING)
        return;
    if (cg__conn_hs_busy(c)) { /* nothing to drain that a thread is not writing */
        cg__conn_close(c, "closed during the TLS handshake");
        return;
    }
    if (c->state != CG_CONN_TLS)
        SSL_shutdown(c->ssl); /* queues close_notify; we do not wait for the peer's */
    c->state = CG_CONN_DRAINING;
    if (flush(c) != CG_OK) {
        cg__conn_close(c, "write failed");
        return;
    }
    cg__conn_arm_timer(c, LINGER_MS);
    if (c->queued == 0)
        linger(c);
}

static void on_timer(uv_timer_t *t)
{
    struct cg_conn *c = t->data;
    if (c->state == CG_CONN_DRAINING)
        cg__conn_close(c, "linger timeout");
    else if (c->state != CG_CONN_CLOSED)
        c->ops->timeout(c); /* what a timer means depends on the user's state */
}

void cg__conn_arm_timer(struct cg_conn *c, uint64_t ms)
{
    if (c->state != CG_CONN_CLOSED)
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static bool handshake(struct cg_conn *c)
{
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        cg__log(c->ctx, CG_LOG_DEBUG, "tls", "%s: %s %s", c->peer, SSL_get_version(c->ssl),
                SSL_get_cipher_name(c->ssl));
        c->ops->tls_done(c); /* sets the next state, or closes */
        return cg__conn_open(c);
    }
    int e = SSL_get_error(c->ssl, r);
    flush(c); /* our flight, or an alert */
    if (e == SSL_ERROR_WANT_READ)
        return false;
    c->ops->tls_failed(c); /* B-31: no going on after a failed handshake */
    return false;
}

static void pump(struct cg_conn *c)
{
    if (c->state == CG_CONN_TLS && (c->hs != NULL || !handshake(c)))
        return; /* an offloaded handshake steps in frontdoor.c */
    uint8_t *buf = c->readbuf; /* the ciphertext was copied into net_in */
    while (cg__conn_open(c)) {
        int n = SSL_read(c->ssl, buf, (int)c->readbuf_len);
        if (n > 0) {
            c->ops->data(c, buf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            cg__conn_drain_and_close(c); /* the peer's close_notify */
        } else {
            cg__tls_log_errors(c->ctx, CG_LOG_INFO, "TLS read");
            cg__conn_close(c, "TLS error");
        }
        return;
    }
    if (c->state != CG_CONN_CLOSED && flush(c) != CG_OK)
        cg__conn_close(c, "write failed");
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    CG_UNUSED(hint);
    struct cg_conn *c = h->data;
    *buf = uv_buf_init((char *)c->readbuf, (unsigned)c->readbuf_len);
}

/* B-20: a TLS connection starts with a handshake record (22). Anything else,
 * a plain-HTTP request above all, gets no answer at all: not even an alert. */
static bool plain_text_on_tls_port(struct cg_conn *c, uint8_t first)
{
    if (first == 0x16)
        return false;
    cg__log(c->ctx, CG_LOG_WARN, "http", "%s: rejected: plain-text bytes on the TLS port (%s)",
            c->peer, first >= 'A' && first <= 'Z' ? "plain HTTP" : "not TLS");
    if (c->ops->not_tls != NULL)
        c->ops->not_tls(c);
    cg__conn_close(c, "not TLS");
    return true;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct cg_conn *c = s->data;
    if (n < 0) {
        if (n == UV_EOF && c->hs != NULL && c->state == CG_CONN_TLS && cg__conn_hs_eof(c))
            return; /* frontdoor.c: after the step, and what came before the EOF */
        cg__conn_close(c, n == UV_EOF ? "peer closed" : uv_strerror((int)n));
        return;
    }
    if (n == 0 || c->state == CG_CONN_CLOSED || c->state == CG_CONN_DRAINING)
        return; /* draining: what the peer still sends is dropped */
    c->last_rx_ms = cg__now_ms();
    busy(c);
    if (!c->first_byte_seen && c->server) {
        c->first_byte_seen = true;
        if (plain_text_on_tls_port(c, (uint8_t)b->base[0]))
            return;
    }
    if (c->hs != NULL && c->state == CG_CONN_TLS) {
        cg__conn_hs_input(c, (const uint8_t *)b->base, (size_t)n); /* frontdoor.c */
        return;
    }
    if (BIO_write(c->net_in, b->base, (int)n) != (int)n) {
        cg__conn_close(c, "out of memory");
        return;
    }
    pump(c);
}

enum cg_err cg__conn_init_tls(struct cg_conn *c, SSL_CTX *sslctx, bool server)
{
    c->ssl = SSL_new(sslctx);
    CG_CHECK(c->ssl != NULL, CG_ENOMEM);
    c->net_in = BIO_new(BIO_s_mem());
    c->net_out = BIO_new(BIO_s_mem());
    if (c->net_in == NULL || c->net_out == NULL) {
        BIO_free(c->net_in);
        BIO_free(c->net_out);
        c->net_in = c->net_out = NULL;
        return CG_ENOMEM;
    }
    SSL_set_bio(c->ssl, c->net_in, c->net_out);
    c->server = server;
    if (server)
        SSL_set_accept_state(c->ssl);
    else
        SSL_set_connect_state(c->ssl);
    if (!IDLE_RELEASE)
        SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS); /* small idle connections */
    return CG_OK;
}

void cg__conn_peer_name(struct cg_conn *c)
{
    struct sockaddr_storage ss = {0}; /* read below even when getpeername fails */
    int len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            memcpy(c->peer_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            memset(c->peer_addr, 0, 10);
            c->peer_addr[10] = c->peer_addr[11] = 0xff; /* ::ffff:a.b.c.d */
            memcpy(c->peer_addr + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        }
    }
    snprintf(c->peer, sizeof(c->peer), ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
             (unsigned)port);
}

void cg__conn_init(struct cg_conn *c, struct cg_ctx *ctx, const struct cg_server_limits *lim,
                   uint8_t *readbuf, size_t readbuf_len, const struct cg_conn_ops *ops,
                   void *user)
{
    uv_loop_t *loop = cg_ctx_loop(ctx);
    c->ctx = ctx;
    c->lim = lim;
    c->readbuf = readbuf;
    c->readbuf_len = readbuf_len;
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    uv_timer_init(loop, &c->idle);
    uv_unref((uv_handle_t *)&c->idle); /* never what keeps a loop running */
    c->tcp.data = c->timer.data = c->idle.data = c;
    c->open_handles = 3;
    c->ops = ops;
    c->user = user;
}

void cg__conn_start(struct cg_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (!c->server) {
        c->state = CG_CONN_TLS;
        pump(c); /* ClientHello */
    }
}

/* For frontdoor.c: the same as a loop handshake's flush and pump. */
enum cg_err cg__conn_flush(struct cg_conn *c) { return flush(c); }

void cg__conn_pump(struct cg_conn *c) { pump(c); }
