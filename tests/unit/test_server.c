/* Unit tests for the public server API (include/castgate/server.h) on a real
 * loop: configuration checks, cg_server_new failures, routes, then real
 * HTTPS and WebSocket exchanges with a blocking OpenSSL client running in a
 * second thread, and failure injection on the server's side.
 *
 * The test thread runs the loop; the client thread talks to the server and,
 * when done, wakes the loop with a uv_async_t that stops it. The client never
 * calls cmocka (its results are checked by the test thread afterwards).
 *
 * The PKI comes from scripts/dev-pki.sh, run once into a temp dir. */
// CG_WRAP: SSL_new BIO_new SSL_write wslay_event_context_server_init
// CG_LINK: tlsrig.c
#include "tlsrig.h"
#include "core/core.h" /* CG_ARRAY_LEN, CG_UNUSED */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>
#include <wslay/wslay.h>

/* ---- failure injection: only calls made on the loop (test) thread fail ---- */

static pthread_t g_loop_thread;
static int fail_ssl_new;       /* fail the next n SSL_new */
static int fail_bio_new_at;    /* fail the n-th BIO_new from now */
static int fail_ssl_write;     /* fail the next n SSL_write */
static int fail_wslay_init;    /* fail the next n server contexts */

static bool on_loop_thread(void) { return pthread_equal(pthread_self(), g_loop_thread) != 0; }

SSL *__real_SSL_new(SSL_CTX *c);
SSL *__wrap_SSL_new(SSL_CTX *c);
SSL *__wrap_SSL_new(SSL_CTX *c)
{
    if (on_loop_thread() && fail_ssl_new > 0) {
        fail_ssl_new--;
        return NULL;
    }
    return __real_SSL_new(c);
}

BIO *__real_BIO_new(const BIO_METHOD *m);
BIO *__wrap_BIO_new(const BIO_METHOD *m);
BIO *__wrap_BIO_new(const BIO_METHOD *m)
{
    if (on_loop_thread() && fail_bio_new_at > 0 && --fail_bio_new_at == 0)
        return NULL;
    return __real_BIO_new(m);
}

int __real_SSL_write(SSL *s, const void *buf, int num);
int __wrap_SSL_write(SSL *s, const void *buf, int num);
int __wrap_SSL_write(SSL *s, const void *buf, int num)
{
    if (on_loop_thread() && fail_ssl_write > 0) {
        fail_ssl_write--;
        return -1;
    }
    return __real_SSL_write(s, buf, num);
}

int __real_wslay_event_context_server_init(wslay_event_context_ptr *ctx,
                                           const struct wslay_event_callbacks *cb, void *user);
int __wrap_wslay_event_context_server_init(wslay_event_context_ptr *ctx,
                                           const struct wslay_event_callbacks *cb, void *user);
int __wrap_wslay_event_context_server_init(wslay_event_context_ptr *ctx,
                                           const struct wslay_event_callbacks *cb, void *user)
{
    if (on_loop_thread() && fail_wslay_init > 0) {
        fail_wslay_init--;
        return WSLAY_ERR_NOMEM;
    }
    return __real_wslay_event_context_server_init(ctx, cb, user);
}

/* ---- fixture (tlsrig.h: tr_ctx, tr_loop, tr_cli, tr_log, tr_pki) ---- */

static int group_setup(void **state)
{
    (void)state;
    g_loop_thread = pthread_self();
    return tr_setup("server");
}

static int group_teardown(void **state)
{
    (void)state;
    return tr_teardown();
}

static int test_setup(void **state)
{
    (void)state;
    tr_log_reset();
    fail_ssl_new = fail_bio_new_at = fail_ssl_write = fail_wslay_init = 0;
    ERR_clear_error();
    return 0;
}

/* cg_server_new from cfg (freed here); returns the result, *out the server. */
static enum cg_err try_new(struct cg_server_config *cfg, struct cg_server **out)
{
    *out = NULL;
    enum cg_err rc = cg_server_new(tr_ctx, cfg, out);
    cg_server_config_free(cfg);
    return rc;
}

static void free_server(struct cg_server *srv)
{
    cg_server_free(srv);
    tr_drain();
}

/* ---- configuration ---- */

static void test_config_listen_addresses(void **state)
{
    (void)state;
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(NULL), CG_EINVAL);
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    static const char *const bad[] = {"localhost", "1.2.3", "256.1.1.1", "::g", "1.2.3.4:80",
                                      "", " 127.0.0.1", "[::1]",
                                      "0000:0000:0000:0000:0000:0000:0000:0000:0000"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        if (cg_server_config_add_listen(cfg, bad[i], 443) != CG_EINVAL)
            fail_msg("listen address \"%s\" was accepted", bad[i]);
    }
    assert_int_equal(cg_server_config_add_listen(cfg, NULL, 443), CG_EINVAL);
    assert_int_equal(cg_server_config_add_listen(NULL, "127.0.0.1", 443), CG_EINVAL);
    assert_int_equal(cg_server_config_add_listen(cfg, "127.0.0.1", 0), CG_OK);
    assert_int_equal(cg_server_config_add_listen(cfg, "::1", 8443), CG_OK);
    assert_int_equal(cg_server_config_add_listen(cfg, "0.0.0.0", 8443), CG_OK);
    cg_server_config_free(cfg);
    cg_server_config_free(NULL);
}

static void test_config_cors_origins(void **state)
{
    (void)state; /* BCP B-25 */
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    assert_int_equal(cg_server_config_add_cors_origin(cfg, "*", false), CG_EINVAL);
    assert_int_equal(cg_server_config_add_cors_origin(cfg, "*", true), CG_OK);
    static const char *const bad[] = {"https://ui.example.com/", "https://a.example,https://b.example",
                                      "ui.example.com", "ftp://ui.example.com",
                                      "https://ui example.com", "https://ui.example.com\r\nX: y",
                                      "", "null"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        if (cg_server_config_add_cors_origin(cfg, bad[i], true) != CG_EINVAL)
            fail_msg("CORS origin \"%s\" was accepted", bad[i]);
    }
    assert_int_equal(cg_server_config_add_cors_origin(cfg, "https://ui.example.com", false), CG_OK);
    assert_int_equal(cg_server_config_add_cors_origin(cfg, "http://127.0.0.1:8080", false), CG_OK);
    assert_int_equal(cg_server_config_add_cors_origin(cfg, NULL, true), CG_EINVAL);
    cg_server_config_free(cfg);
}

static void test_config_limits(void **state)
{
    (void)state;
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    for (int w = CG_LIMIT_MAX_CONNECTIONS; w <= CG_LIMIT_MAX_WRITE_QUEUE; w++) {
        assert_int_equal(cg_server_config_set_limit(cfg, (enum cg_server_limit)w, 0), CG_ERANGE);
        assert_int_equal(cg_server_config_set_limit(cfg, (enum cg_server_limit)w, UINT64_MAX),
                         CG_ERANGE);
    }
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_MAX_HEADER_BYTES, (1u << 20) + 1),
                     CG_ERANGE);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_MAX_HEADER_BYTES, 1u << 20), CG_OK);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_MAX_CONNECTIONS, 1000001), CG_ERANGE);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_WS_PING_MS, 99), CG_ERANGE);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_WS_PONG_MS, 99), CG_ERANGE);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_WS_PING_MS, 100), CG_OK);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_MAX_BODY_BYTES, 1), CG_OK);
    assert_int_equal(cg_server_config_set_limit(cfg, (enum cg_server_limit)12, 5), CG_EINVAL);
    assert_int_equal(cg_server_config_set_limit(NULL, CG_LIMIT_IDLE_MS, 5), CG_EINVAL);
    cg_server_config_free(cfg);
}

static void test_config_certs_and_other_setters(void **state)
{
    (void)state;
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(cg_server_config_add_cert(cfg, "c.pem", "k.pem"), CG_OK);
    assert_int_equal(cg_server_config_add_cert(cfg, "c.pem", "k.pem"), CG_EFULL);
    assert_int_equal(cg_server_config_add_cert(cfg, NULL, "k.pem"), CG_EINVAL);
    assert_int_equal(cg_server_config_add_cert(cfg, "c.pem", NULL), CG_EINVAL);
    assert_int_equal(cg_server_config_set_ocsp(cfg, true, "https://ocsp.example"), CG_EINVAL);
    assert_int_equal(cg_server_config_set_ocsp(cfg, true, "http://127.0.0.1:1/"), CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(cfg, true, NULL), CG_OK);
    assert_int_equal(cg_server_config_set_hsts(cfg, 0, false), CG_OK);
    assert_int_equal(cg_server_config_set_hsts(NULL, 0, false), CG_EINVAL);
    assert_int_equal(cg_server_config_set_session_tickets(cfg, true), CG_OK);
    assert_int_equal(cg_server_config_set_session_tickets(NULL, true), CG_EINVAL);
    cg_server_config_free(cfg);
}

/* ---- cg_server_new failures ---- */

static struct cg_server_config *config_with(const char *chain, const char *key, bool listen)
{
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    if (listen)
        assert_int_equal(cg_server_config_add_listen(cfg, "127.0.0.1", 0), CG_OK);
    if (chain != NULL)
        assert_int_equal(cg_server_config_add_cert(cfg, chain, key), CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(cfg, false, NULL), CG_OK);
    return cfg;
}

static void test_new_needs_cert_and_listener(void **state)
{
    (void)state;
    struct cg_server *srv = NULL;
    assert_int_equal(try_new(config_with(NULL, NULL, true), &srv), CG_ECONFIG);
    assert_null(srv);
    assert_int_equal(try_new(config_with(tr_pki("server-rsa.chain.pem"), tr_pki("server-rsa.key"), false),
                             &srv),
                     CG_ECONFIG);
    assert_null(srv);
    assert_int_equal(cg_server_new(NULL, NULL, &srv), CG_EINVAL);
    tr_drain();
}

static void test_new_missing_file_named_in_log(void **state)
{
    (void)state;
    struct cg_server *srv = NULL;
    const char *chain = tr_pki("no-such-chain.pem");
    assert_int_equal(try_new(config_with(chain, tr_pki("server-rsa.key"), true), &srv), CG_EFILE);
    assert_true(tu_log_has(&tr_log, "no-such-chain.pem"));
    const char *key = tr_pki("no-such.key");
    assert_int_equal(try_new(config_with(tr_pki("server-rsa.chain.pem"), key, true), &srv), CG_EFILE);
    assert_true(tu_log_has(&tr_log, "no-such.key"));
    tr_drain();
}

static void test_new_world_readable_key_refused(void **state)
{
    (void)state; /* BCP B-13: keys stored securely */
    char cmd[1200];
    const char *key = tr_pki("readable.key");
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0644 '%s'", tr_pki("server-rsa.key"), key, key);
    assert_int_equal(system(cmd), 0);
    struct cg_server *srv = NULL;
    assert_int_equal(try_new(config_with(tr_pki("server-rsa.chain.pem"), key, true), &srv), CG_EPERM);
    assert_true(tu_log_has(&tr_log, "readable.key"));
    tr_drain();
}

/* A listening socket on a free loopback port; returns the fd. */
static int occupy_port(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_new_port_in_use(void **state)
{
    (void)state;
    uint16_t port = 0;
    int fd = occupy_port(&port);
    struct cg_server_config *cfg = tr_server_config(true);
    assert_int_equal(cg_server_config_add_listen(cfg, "127.0.0.1", port), CG_OK);
    struct cg_server *srv = NULL;
    enum cg_err rc = try_new(cfg, &srv);
    close(fd);
    if (srv != NULL)
        free_server(srv);
    assert_int_equal(rc, CG_ENET);
    assert_null(srv);
    assert_true(tu_log_has(&tr_log, "cannot bind 127.0.0.1"));
    tr_drain();
}

/* ---- routes, start, ports ---- */

static void noop_handler(void *user, const struct cg_http_request *req,
                         struct cg_http_response *res)
{
    CG_UNUSED(user);
    CG_UNUSED(req);
    CG_UNUSED(res);
}

static void test_routes_start_and_port(void **state)
{
    (void)state;
    struct cg_server *srv = NULL;
    assert_int_equal(try_new(tr_server_config(true), &srv), CG_OK);
    assert_int_equal(cg_server_add_http_route(srv, "/a", CG_HTTP_GET, noop_handler, NULL), CG_OK);
    assert_int_equal(cg_server_add_http_route(srv, "/a", CG_HTTP_POST, noop_handler, NULL),
                     CG_EEXIST);
    struct cg_ws_handlers h = {0};
    assert_int_equal(cg_server_add_ws_route(srv, "/a", &h, NULL), CG_EEXIST);
    assert_int_equal(cg_server_add_ws_route(srv, "/ws", &h, NULL), CG_OK);
    assert_int_equal(cg_server_add_http_route(srv, "a", CG_HTTP_GET, noop_handler, NULL),
                     CG_EINVAL);
    assert_int_equal(cg_server_add_http_route(srv, "", CG_HTTP_GET, noop_handler, NULL), CG_EINVAL);
    assert_int_equal(cg_server_add_http_route(srv, NULL, CG_HTTP_GET, noop_handler, NULL),
                     CG_EINVAL);
    assert_int_equal(cg_server_add_ws_route(srv, "ws", &h, NULL), CG_EINVAL);
    assert_int_equal(cg_server_add_http_route(srv, "/b", 0, noop_handler, NULL), CG_EINVAL);
    assert_int_equal(cg_server_add_http_route(srv, "/b", 0x80, noop_handler, NULL), CG_EINVAL);
    assert_int_equal(cg_server_add_http_route(srv, "/b", CG_HTTP_GET, NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_server_add_ws_route(srv, "/b", NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_server_add_http_route(NULL, "/b", CG_HTTP_GET, noop_handler, NULL),
                     CG_EINVAL);
    assert_int_not_equal(cg_server_port(srv, 0), 0); /* port 0: the one the kernel chose */
    assert_int_equal(cg_server_port(srv, 1), 0);
    assert_int_equal(cg_server_port(NULL, 0), 0);
    assert_int_equal(cg_server_start(srv), CG_OK);
    assert_int_equal(cg_server_start(srv), CG_ESTATE);
    assert_int_equal(cg_server_start(NULL), CG_EINVAL);
    assert_int_equal(cg_server_connections(srv), 0);
    assert_int_equal(cg_server_connections(NULL), 0);
    free_server(srv);
    cg_server_free(NULL);
}

/* ---- the test client (runs in its own thread; never calls cmocka) ---- */

static bool tc_read_exact(struct tr_conn *t, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(t->ssl, (uint8_t *)p + got, (int)(n - got));
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* A masked client frame (RFC 6455 §5.3), payload under 126 bytes. */
static bool tc_send_frame(struct tr_conn *t, uint8_t opcode, const void *payload, size_t n)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t f[2 + 4 + 125];
    if (n > 125)
        return false;
    f[0] = (uint8_t)(0x80 | opcode);
    f[1] = (uint8_t)(0x80 | n);
    memcpy(f + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
    return tr_conn_send(t, f, 6 + n);
}

struct frame {
    uint8_t opcode;
    bool masked;
    uint8_t data[512];
    size_t len;
};

static bool tc_read_frame(struct tr_conn *t, struct frame *f)
{
    uint8_t h[2];
    if (!tc_read_exact(t, h, 2))
        return false;
    f->opcode = h[0] & 0x0F;
    f->masked = (h[1] & 0x80) != 0;
    f->len = h[1] & 0x7F;
    if (f->len == 126) {
        uint8_t l[2];
        if (!tc_read_exact(t, l, 2))
            return false;
        f->len = (size_t)l[0] << 8 | l[1];
    }
    return f->len <= sizeof(f->data) && !f->masked && tc_read_exact(t, f->data, f->len);
}

static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/* What one client thread did; read by the test thread after the join. */
struct job {
    uint16_t port;
    void (*script)(struct job *);
    struct tr_client cl;
    /* HTTP: requests, each on its own connection, read until EOF */
    const char *req[4];
    size_t nreq;
    bool tls_ok[4];
    char resp[4][4096];
    /* WebSocket */
    char head[1024];
    bool echoed;
    struct frame echo;
    bool got_close;
    uint16_t close_code;
    bool eof_after;
};

static void script_http(struct job *j)
{
    for (size_t i = 0; i < j->nreq; i++) {
        struct tr_conn t;
        j->tls_ok[i] = tr_conn_open(&t, j->port, 5);
        if (!j->tls_ok[i])
            continue;
        if (tr_conn_send(&t, j->req[i], strlen(j->req[i])))
            tr_conn_read(&t, j->resp[i], sizeof(j->resp[i]), NULL);
        tr_conn_close(&t, true);
    }
}

/* Upgrade, one binary message echoed; returns the open client or false. */
static bool ws_open_and_echo(struct job *j, struct tr_conn *t)
{
    if (!tr_conn_open(t, j->port, 5))
        return false;
    if (!tr_conn_send(t, upgrade_req, strlen(upgrade_req)) ||
        tr_conn_read(t, j->head, sizeof(j->head), "\r\n\r\n") == 0 ||
        strstr(j->head, "101 Switching Protocols") == NULL)
        return true;
    j->echoed = tc_send_frame(t, 0x2, "\x01\x02hello", 7) && tc_read_frame(t, &j->echo);
    return true;
}

static void read_close(struct job *j, struct tr_conn *t)
{
    struct frame f;
    if (tc_read_frame(t, &f) && f.opcode == 0x8 && f.len >= 2) {
        j->got_close = true;
        j->close_code = (uint16_t)(f.data[0] << 8 | f.data[1]);
    }
    char rest[64];
    j->eof_after = tr_conn_read(t, rest, sizeof(rest), NULL) == 0;
}

static void script_ws_close_1000(struct job *j)
{
    struct tr_conn t;
    if (!ws_open_and_echo(j, &t))
        return;
    if (j->echoed && tc_send_frame(&t, 0x8, "\x03\xe8", 2))
        read_close(j, &t);
    tr_conn_close(&t, true);
}

static void script_ws_drop(struct job *j)
{
    struct tr_conn t;
    if (ws_open_and_echo(j, &t))
        tr_conn_close(&t, false); /* no close frame, no close_notify: TCP FIN only */
}

static void script_ws_wait_close(struct job *j)
{
    struct tr_conn t;
    if (!ws_open_and_echo(j, &t))
        return;
    read_close(j, &t);
    tr_conn_close(&t, false);
}

static void client_main(void *arg)
{
    struct job *j = arg;
    j->script(j);
}

static void client_start(struct job *j, struct cg_server *srv, void (*script)(struct job *))
{
    j->port = cg_server_port(srv, 0);
    j->script = script;
    tr_client_start(&j->cl, client_main, j);
}

/* Runs the loop until the client thread says it is done (or 20 s). */
static void client_finish(struct job *j)
{
    tr_client_finish(&j->cl, 20000);
    tr_drain();
}

static void run_client(struct job *j, struct cg_server *srv, void (*script)(struct job *))
{
    client_start(j, srv, script);
    client_finish(j);
}

/* ---- handlers ---- */

static struct {
    int opens, closes, messages;
    uint16_t code;
    enum cg_err send_after_close, send_too_big;
    bool probe_too_big;
    char query[64], peer[64];
} seen;

static void hello_handler(void *user, const struct cg_http_request *req,
                          struct cg_http_response *res)
{
    CG_UNUSED(user);
    snprintf(seen.query, sizeof(seen.query), "%s", cg_http_request_query(req));
    snprintf(seen.peer, sizeof(seen.peer), "%s", cg_http_request_peer(req));
    const char *body = "hello from castgate\n";
    cg_http_response_set(res, 200, "text/plain", body, strlen(body));
}

static void fail_write_handler(void *user, const struct cg_http_request *req,
                               struct cg_http_response *res)
{
    hello_handler(user, req, res);
    fail_ssl_write = 1; /* the response is the next SSL_write */
}

static void ws_on_open(void *user, struct cg_ws *ws)
{
    CG_UNUSED(user);
    seen.opens++;
    if (seen.probe_too_big) {
        static uint8_t big[1025];
        seen.send_too_big = cg_ws_send(ws, true, big, sizeof(big));
    }
}

static void ws_on_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *data,
                          size_t len)
{
    CG_UNUSED(user);
    seen.messages++;
    cg_ws_send(ws, binary, data, len);
}

static void ws_on_close(void *user, struct cg_ws *ws, uint16_t code)
{
    CG_UNUSED(user);
    seen.closes++;
    seen.code = code;
    seen.send_after_close = cg_ws_send(ws, true, "late", 4);
}

static const struct cg_ws_handlers echo_handlers = {
    .on_open = ws_on_open, .on_message = ws_on_message, .on_close = ws_on_close};

/* A started server with GET /hello, GET /fail-write and the echo at /ws. */
static struct cg_server *echo_server(struct cg_server_config *cfg)
{
    memset(&seen, 0, sizeof(seen));
    struct cg_server *srv = NULL;
    assert_int_equal(try_new(cfg != NULL ? cfg : tr_server_config(true), &srv), CG_OK);
    assert_int_equal(cg_server_add_http_route(srv, "/hello", CG_HTTP_GET | CG_HTTP_HEAD,
                                              hello_handler, NULL),
                     CG_OK);
    assert_int_equal(cg_server_add_http_route(srv, "/fail-write", CG_HTTP_GET, fail_write_handler,
                                              NULL),
                     CG_OK);
    assert_int_equal(cg_server_add_ws_route(srv, "/ws", &echo_handlers, NULL), CG_OK);
    assert_int_equal(cg_server_start(srv), CG_OK);
    return srv;
}

static struct cg_server *g_srv_for_pred;
static bool no_connections(void) { return cg_server_connections(g_srv_for_pred) == 0; }
static bool one_close(void) { return seen.closes >= 1; }
static bool one_message(void) { return seen.messages >= 1; }

/* ---- real exchanges ---- */

static const char get_hello[] = "GET /hello?who=test HTTP/1.1\r\nHost: localhost\r\n"
                                "Connection: close\r\n\r\n";

static void test_https_get_served_with_hsts(void **state)
{
    (void)state; /* BCP B-20, B-21, B-22 */
    struct cg_server *srv = echo_server(NULL);
    struct job j = {.nreq = 3,
                    .req = {get_hello,
                            "POST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
                            "GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n"}};
    run_client(&j, srv, script_http);
    assert_true(j.tls_ok[0]);
    assert_true(strncmp(j.resp[0], "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(j.resp[0], "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    assert_non_null(strstr(j.resp[0], "\r\n\r\nhello from castgate\n"));
    assert_string_equal(seen.query, "who=test");
    assert_true(strncmp(seen.peer, "127.0.0.1:", 10) == 0);
    /* B-22: 405 with Allow; a 404 for an unknown path; both carry HSTS (B-21). */
    assert_true(strncmp(j.resp[1], "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0);
    assert_non_null(strstr(j.resp[1], "\r\nAllow: GET, HEAD\r\n"));
    assert_non_null(strstr(j.resp[1], "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    assert_true(strncmp(j.resp[2], "HTTP/1.1 404 Not Found\r\n", 24) == 0);
    assert_true(tu_log_has(&tr_log, "rejected 405: POST /hello")); /* B-24 */
    g_srv_for_pred = srv;
    assert_true(tr_settle(no_connections, 5000));
    free_server(srv);
}

static void test_ws_echo_and_close_1000(void **state)
{
    (void)state; /* BCP B-26 */
    struct cg_server *srv = echo_server(NULL);
    struct job j = {0};
    run_client(&j, srv, script_ws_close_1000);
    assert_non_null(strstr(j.head, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(j.head, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert_non_null(strstr(j.head, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    assert_true(j.echoed);
    assert_int_equal(j.echo.opcode, 0x2);
    assert_false(j.echo.masked);
    assert_int_equal(j.echo.len, 7);
    assert_memory_equal(j.echo.data, "\x01\x02hello", 7);
    assert_true(j.got_close);
    assert_int_equal(j.close_code, 1000);
    assert_true(j.eof_after);
    assert_true(tr_settle(one_close, 5000));
    assert_int_equal(seen.opens, 1);
    assert_int_equal(seen.messages, 1);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.code, 1000);
    assert_int_equal(seen.send_after_close, CG_ECLOSED);
    free_server(srv);
    assert_int_equal(seen.closes, 1); /* not reported again by the free */
}

static void test_ws_dropped_tcp_reports_1006(void **state)
{
    (void)state;
    struct cg_server *srv = echo_server(NULL);
    struct job j = {0};
    run_client(&j, srv, script_ws_drop);
    assert_true(j.echoed);
    assert_true(tr_settle(one_close, 5000));
    assert_int_equal(seen.opens, 1);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.code, 1006);
    assert_int_equal(seen.send_after_close, CG_ECLOSED);
    free_server(srv);
    assert_int_equal(seen.closes, 1);
}

static void test_ws_send_over_max_message_is_too_big(void **state)
{
    (void)state;
    struct cg_server_config *cfg = tr_server_config(true);
    assert_int_equal(cg_server_config_set_limit(cfg, CG_LIMIT_MAX_WS_MESSAGE, 1024), CG_OK);
    struct cg_server *srv = echo_server(cfg);
    seen.probe_too_big = true;
    struct job j = {0};
    run_client(&j, srv, script_ws_close_1000);
    assert_int_equal(seen.opens, 1);
    assert_int_equal(seen.send_too_big, CG_ETOOBIG);
    assert_true(j.echoed); /* the connection is still fine after the refusal */
    assert_int_equal(j.close_code, 1000);
    free_server(srv);
}

static void test_server_free_closes_ws_with_1001(void **state)
{
    (void)state;
    struct cg_server *srv = echo_server(NULL);
    struct job j = {0};
    client_start(&j, srv, script_ws_wait_close);
    assert_true(tr_settle(one_message, 10000)); /* open, and the echo sent */
    assert_int_equal(cg_server_connections(srv), 1);
    cg_server_free(srv); /* with the WebSocket open */
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.code, 1001);
    client_finish(&j);
    assert_true(j.echoed);
    assert_true(j.got_close);
    assert_int_equal(j.close_code, 1001);
    assert_true(j.eof_after);
}

/* ---- failure injection: the connection closes, the server keeps serving ---- */

static void assert_second_request_served(const struct job *j)
{
    assert_true(j->tls_ok[1]);
    assert_true(strncmp(j->resp[1], "HTTP/1.1 200 OK\r\n", 17) == 0);
}

static void test_ssl_new_failure_closes_connection(void **state)
{
    (void)state;
    struct cg_server *srv = echo_server(NULL);
    fail_ssl_new = 1;
    struct job j = {.nreq = 2, .req = {get_hello, get_hello}};
    run_client(&j, srv, script_http);
    assert_int_equal(fail_ssl_new, 0);
    assert_false(j.tls_ok[0]);
    assert_second_request_served(&j);
    g_srv_for_pred = srv;
    assert_true(tr_settle(no_connections, 5000));
    free_server(srv);
}

static void test_bio_new_failure_closes_connection(void **state)
{
    (void)state;
    struct cg_server *srv = echo_server(NULL);
    for (int at = 1; at <= 2; at++) { /* the read BIO, then the write BIO */
        fail_bio_new_at = at;
        struct job j = {.nreq = 2, .req = {get_hello, get_hello}};
        run_client(&j, srv, script_http);
        assert_int_equal(fail_bio_new_at, 0);
        assert_false(j.tls_ok[0]);
        assert_second_request_served(&j);
    }
    free_server(srv);
}

static void test_ssl_write_failure_during_response(void **state)
{
    (void)state;
    struct cg_server *srv = echo_server(NULL);
    struct job j = {.nreq = 2,
                    .req = {"GET /fail-write HTTP/1.1\r\nHost: localhost\r\n\r\n", get_hello}};
    run_client(&j, srv, script_http);
    assert_int_equal(fail_ssl_write, 0);
    assert_true(j.tls_ok[0]);
    assert_string_equal(j.resp[0], ""); /* closed without a response */
    assert_true(tu_log_has(&tr_log, "response failed"));
    assert_second_request_served(&j);
    g_srv_for_pred = srv;
    assert_true(tr_settle(no_connections, 5000));
    free_server(srv);
}

static void test_wslay_init_failure_on_upgrade(void **state)
{
    (void)state;
    struct cg_server *srv = echo_server(NULL);
    fail_wslay_init = 1;
    struct job j = {0};
    run_client(&j, srv, script_ws_close_1000);
    assert_int_equal(fail_wslay_init, 0);
    assert_false(j.echoed);
    assert_int_equal(seen.opens, 0);
    assert_int_equal(seen.closes, 0);
    g_srv_for_pred = srv;
    assert_true(tr_settle(no_connections, 5000));
    /* The next upgrade works. */
    struct job k = {0};
    run_client(&k, srv, script_ws_close_1000);
    assert_true(k.echoed);
    assert_int_equal(k.close_code, 1000);
    free_server(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_listen_addresses, test_setup),
        cmocka_unit_test_setup(test_config_cors_origins, test_setup),
        cmocka_unit_test_setup(test_config_limits, test_setup),
        cmocka_unit_test_setup(test_config_certs_and_other_setters, test_setup),
        cmocka_unit_test_setup(test_new_needs_cert_and_listener, test_setup),
        cmocka_unit_test_setup(test_new_missing_file_named_in_log, test_setup),
        cmocka_unit_test_setup(test_new_world_readable_key_refused, test_setup),
        cmocka_unit_test_setup(test_new_port_in_use, test_setup),
        cmocka_unit_test_setup(test_routes_start_and_port, test_setup),
        cmocka_unit_test_setup(test_https_get_served_with_hsts, test_setup),
        cmocka_unit_test_setup(test_ws_echo_and_close_1000, test_setup),
        cmocka_unit_test_setup(test_ws_dropped_tcp_reports_1006, test_setup),
        cmocka_unit_test_setup(test_ws_send_over_max_message_is_too_big, test_setup),
        cmocka_unit_test_setup(test_server_free_closes_ws_with_1001, test_setup),
        cmocka_unit_test_setup(test_ssl_new_failure_closes_connection, test_setup),
        cmocka_unit_test_setup(test_bio_new_failure_closes_connection, test_setup),
        cmocka_unit_test_setup(test_ssl_write_failure_during_response, test_setup),
        cmocka_unit_test_setup(test_wslay_init_failure_on_upgrade, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
