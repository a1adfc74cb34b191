/* The front door (issue 12 item 4): a server's TLS handshakes run off the
 * loop thread, so a lane already open keeps answering while a newcomer's
 * handshake is held mid-way.
 *
 * SSL_do_handshake is wrapped (castgate's own calls only: the test's client
 * uses SSL_connect or is told apart by SSL_is_server): once armed, the next
 * server-side call waits before doing anything until the test releases it
 * (at most HOLD_MAX_S, then it goes on and says so), which is "a handshake whose
 * key exchange and signature take as long as we like". Where the handshake
 * runs on the loop thread, the whole server waits with it; where it runs on
 * a front-door thread, only that handshake does. Every server-side call is
 * also counted by thread: the loop's or another.
 *
 * The server runs on the test thread's loop; the clients run in a thread of
 * their own and never call cmocka. The PKI comes from scripts/dev-pki.sh. */
// CG_WRAP: SSL_do_handshake
// CG_LINK: tlsrig.c
#include "tlsrig.h"
#include "core/core.h" /* CG_UNUSED */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* A client waits this long for an answer; a held step waits for the test
 * at most HOLD_MAX_S (longer, so that a loop thread held there is still
 * held when a client gives up). Bounds against hanging, not timings. */
#define CLIENT_WAIT_S 10
#define HOLD_MAX_S 30

/* ---- the held handshake ---- */

static pthread_t g_loop_thread;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static bool g_armed;     /* the next server-side step waits */
static bool g_held;      /* it is waiting now (or was) */
static bool g_released;  /* the test let it go */
static bool g_timed_out; /* nobody let it go within HOLD_MAX_S */
static atomic_int g_steps_on_loop, g_steps_off_loop;

int __real_SSL_do_handshake(SSL *s);
int __wrap_SSL_do_handshake(SSL *s);
int __wrap_SSL_do_handshake(SSL *s)
{
    if (!SSL_is_server(s))
        return __real_SSL_do_handshake(s);
    if (pthread_equal(pthread_self(), g_loop_thread))
        atomic_fetch_add(&g_steps_on_loop, 1);
    else
        atomic_fetch_add(&g_steps_off_loop, 1);
    pthread_mutex_lock(&g_mu);
    if (g_armed) {
        g_armed = false;
        g_held = true;
        pthread_cond_broadcast(&g_cv);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HOLD_MAX_S;
        while (!g_released && !g_timed_out)
            g_timed_out = pthread_cond_timedwait(&g_cv, &g_mu, &until) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&g_mu);
    return __real_SSL_do_handshake(s);
}

static void hold_arm(void)
{
    pthread_mutex_lock(&g_mu);
    g_armed = true;
    g_held = g_released = g_timed_out = false;
    pthread_mutex_unlock(&g_mu);
}

static bool hold_wait_held(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CLIENT_WAIT_S;
    pthread_mutex_lock(&g_mu);
    while (!g_held && pthread_cond_timedwait(&g_cv, &g_mu, &until) != ETIMEDOUT)
        ;
    bool held = g_held;
    pthread_mutex_unlock(&g_mu);
    return held;
}

static void hold_release(void)
{
    pthread_mutex_lock(&g_mu);
    g_armed = false;
    g_released = true;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static bool held_now(void)
{
    pthread_mutex_lock(&g_mu);
    bool h = g_held;
    pthread_mutex_unlock(&g_mu);
    return h;
}

/* ---- fixture (tlsrig.h: tr_ctx, tr_loop, tr_cli, tr_pki) ---- */

static int group_setup(void **state)
{
    CG_UNUSED(state);
    g_loop_thread = pthread_self();
    if (tr_setup("frontdoor") != 0)
        return -1;
    tr_log_reset();
    return 0;
}

static int group_teardown(void **state)
{
    CG_UNUSED(state);
    hold_release(); /* never leave a thread waiting */
    return tr_teardown();
}

/* ---- the server: WebSocket echo at /ws, GET /hello ---- */

static void hello(void *user, const struct cg_http_request *req, struct cg_http_response *res)
{
    CG_UNUSED(user);
    CG_UNUSED(req);
    cg_http_response_set(res, 200, "text/plain", "hello\n", 6);
}

static void echo(void *user, struct cg_ws *ws, bool binary, const uint8_t *data, size_t len)
{
    CG_UNUSED(user);
    cg_ws_send(ws, binary, data, len);
}

static const struct cg_ws_handlers echo_handlers = {.on_message = echo};

static struct cg_server *echo_server_with(bool threads)
{
    struct cg_server_config *cfg = tr_server_config(true);
    struct cg_server *srv = NULL;
    if (!threads)
        assert_int_equal(cg_server_config_set_handshake_threads(cfg, false), CG_OK);
    assert_int_equal(cg_server_new(tr_ctx, cfg, &srv), CG_OK);
    cg_server_config_free(cfg);
    assert_int_equal(cg_server_add_http_route(srv, "/hello", CG_HTTP_GET, hello, NULL), CG_OK);
    assert_int_equal(cg_server_add_ws_route(srv, "/ws", &echo_handlers, NULL), CG_OK);
    assert_int_equal(cg_server_start(srv), CG_OK);
    return srv;
}

static struct cg_server *echo_server(void) { return echo_server_with(true); }

/* ---- clients (their own thread; never cmocka) ---- */

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = CLIENT_WAIT_S};
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A lane: TLS (SSL_connect: not wrapped), the upgrade, WebSocket frames. */
struct lane {
    int fd;
    SSL *ssl;
};

static bool lane_read(struct lane *l, uint8_t *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        int r = SSL_read(l->ssl, p + got, (int)(n - got));
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static bool lane_open(struct lane *l, uint16_t port)
{
    static const char up[] = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    l->ssl = NULL;
    if ((l->fd = tcp_connect(port)) < 0 || (l->ssl = SSL_new(tr_cli)) == NULL)
        return false;
    SSL_set_fd(l->ssl, l->fd);
    SSL_set1_host(l->ssl, "localhost");
    if (SSL_connect(l->ssl) != 1 || SSL_write(l->ssl, up, (int)strlen(up)) != (int)strlen(up))
        return false;
    char head[1024];
    size_t len = 0;
    while (len + 1 < sizeof(head) && strstr(head, "\r\n\r\n") == NULL) {
        int r = SSL_read(l->ssl, head + len, (int)(sizeof(head) - 1 - len));
        if (r <= 0)
            return false;
        len += (size_t)r;
        head[len] = '\0';
    }
    return strstr(head, " 101 ") != NULL;
}

/* One masked text frame out, its echo back (RFC 6455 §5.3). */
static bool lane_echo(struct lane *l, const char *text)
{
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t n = strlen(text);
    uint8_t f[6 + 64], back[2 + 64];
    if (n > 64)
        return false;
    f[0] = 0x81;
    f[1] = (uint8_t)(0x80 | n);
    memcpy(f + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (uint8_t)text[i] ^ mask[i & 3];
    if (SSL_write(l->ssl, f, (int)(6 + n)) != (int)(6 + n) || !lane_read(l, back, 2 + n))
        return false;
    return back[0] == 0x81 && back[1] == n && memcmp(back + 2, text, n) == 0;
}

static void lane_close(struct lane *l)
{
    if (l->ssl != NULL)
        SSL_shutdown(l->ssl);
    SSL_free(l->ssl);
    if (l->fd >= 0)
        close(l->fd);
    ERR_clear_error();
}

/* A raw client: its TLS over memory BIOs, so it sends a ClientHello and then
 * nothing until told to go on. */
struct raw {
    int fd;
    SSL *ssl;
    BIO *in, *out;
};

static bool raw_flush(struct raw *r)
{
    uint8_t buf[16384];
    int n;
    while ((n = BIO_read(r->out, buf, sizeof(buf))) > 0)
        if (send(r->fd, buf, (size_t)n, 0) != n)
            return false;
    return true;
}

static bool raw_hello(struct raw *r, uint16_t port)
{
    r->ssl = NULL;
    if ((r->fd = tcp_connect(port)) < 0 || (r->ssl = SSL_new(tr_cli)) == NULL)
        return false;
    r->in = BIO_new(BIO_s_mem());
    r->out = BIO_new(BIO_s_mem());
    SSL_set_bio(r->ssl, r->in, r->out);
    SSL_set_connect_state(r->ssl);
    SSL_set1_host(r->ssl, "localhost");
    SSL_set_tlsext_host_name(r->ssl, "localhost");
    int rc = SSL_do_handshake(r->ssl); /* the ClientHello, into out */
    return rc <= 0 && SSL_get_error(r->ssl, rc) == SSL_ERROR_WANT_READ && raw_flush(r);
}

static bool raw_feed(struct raw *r)
{
    uint8_t buf[16384];
    ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
    return n > 0 && BIO_write(r->in, buf, (int)n) == (int)n;
}

/* The rest of the handshake, then GET /hello answered. */
static bool raw_finish(struct raw *r)
{
    int rc;
    while ((rc = SSL_do_handshake(r->ssl)) != 1) {
        if (SSL_get_error(r->ssl, rc) != SSL_ERROR_WANT_READ || !raw_flush(r) || !raw_feed(r))
            return false;
    }
    static const char get[] = "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(r->ssl, get, (int)strlen(get)) != (int)strlen(get) || !raw_flush(r))
        return false;
    char resp[512];
    for (;;) {
        int n = SSL_read(r->ssl, resp, sizeof(resp) - 1);
        if (n > 0) {
            resp[n] = '\0';
            return strstr(resp, " 200 ") != NULL;
        }
        if (SSL_get_error(r->ssl, n) != SSL_ERROR_WANT_READ || !raw_feed(r))
            return false;
    }
}

static void raw_close(struct raw *r)
{
    SSL_free(r->ssl); /* frees both BIOs */
    if (r->fd >= 0)
        close(r->fd);
    ERR_clear_error();
}

/* ---- a lane answers while a handshake is held ---- */

struct job {
    uint16_t port;
    struct tr_client cl;
    bool lane_up, held, lane_during_hold, raw_done;
};

static void client_main(void *arg)
{
    struct job *j = arg;
    struct lane l = {.fd = -1};
    struct raw r = {.fd = -1};
    j->lane_up = lane_open(&l, j->port) && lane_echo(&l, "before");
    if (j->lane_up) {
        hold_arm();
        if (raw_hello(&r, j->port)) {
            j->held = hold_wait_held();
            /* The held step has the ClientHello; the lane asks meanwhile. */
            j->lane_during_hold = j->held && lane_echo(&l, "during the held handshake");
            hold_release();
            j->raw_done = raw_finish(&r);
        }
        hold_release();
    }
    raw_close(&r);
    lane_close(&l);
}

static void test_lane_answers_while_a_handshake_is_held(void **state)
{
    CG_UNUSED(state);
    atomic_store(&g_steps_on_loop, 0);
    atomic_store(&g_steps_off_loop, 0);
    struct cg_server *srv = echo_server();
    struct job j = {.port = cg_server_port(srv, 0)};
    tr_client_start(&j.cl, client_main, &j);
    tr_client_finish(&j.cl, 60000);
    cg_server_free(srv);
    tr_drain();
    assert_true(j.cl.finished);
    assert_true(j.lane_up);
    assert_true(j.held);
    if (!j.lane_during_hold)
        fail_msg("the open lane did not answer while another connection's TLS handshake was held "
                 "(%d server handshake steps ran on the loop thread, %d on other threads)",
                 atomic_load(&g_steps_on_loop), atomic_load(&g_steps_off_loop));
    assert_true(j.raw_done); /* the held handshake went on where it stopped */
    assert_int_equal(atomic_load(&g_steps_on_loop), 0);
    assert_true(atomic_load(&g_steps_off_loop) >= 4); /* two per handshake, at least */
}

/* ---- the server freed while a handshake step is held on a thread ---- */

struct raw_job {
    uint16_t port;
    bool sent;
    struct raw r;
};

static void *raw_main(void *arg)
{
    struct raw_job *rj = arg;
    rj->sent = raw_hello(&rj->r, rj->port);
    uint8_t b[256];
    while (recv(rj->r.fd, b, sizeof(b), 0) > 0) /* until the server closes */
        ;
    return NULL;
}

static void test_server_freed_while_a_handshake_is_held(void **state)
{
    CG_UNUSED(state);
    struct cg_server *srv = echo_server();
    struct raw_job rj = {.port = cg_server_port(srv, 0), .r = {.fd = -1}};
    hold_arm();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, raw_main, &rj), 0);
    bool held = tr_settle(held_now, CLIENT_WAIT_S * 1000);
    bool timed_out;
    pthread_mutex_lock(&g_mu);
    timed_out = g_timed_out;
    pthread_mutex_unlock(&g_mu);
    cg_server_free(srv); /* the step still holds its connection and the TLS context */
    tr_drain();
    hold_release();
    pthread_join(th, NULL); /* the server closed the raw connection */
    raw_close(&rj.r);
    for (int i = 0; i < 50; i++) { /* the step's end frees what it held */
        uv_run(tr_loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    assert_true(rj.sent);
    assert_true(held);
    if (timed_out)
        fail_msg("the held handshake step blocked the loop thread until it gave up waiting");
}

/* ---- cg_server_config_set_handshake_threads(false): back on the loop ---- */

struct plain_job {
    uint16_t port;
    bool done;
    atomic_bool finished;
};

static void *plain_main(void *arg)
{
    struct plain_job *pj = arg;
    struct raw r = {.fd = -1};
    pj->done = raw_hello(&r, pj->port) && raw_finish(&r);
    raw_close(&r);
    atomic_store(&pj->finished, true);
    return NULL;
}

static void test_handshake_threads_off(void **state)
{
    CG_UNUSED(state);
    assert_int_equal(cg_server_config_set_handshake_threads(NULL, false), CG_EINVAL);
    atomic_store(&g_steps_on_loop, 0);
    atomic_store(&g_steps_off_loop, 0);
    struct cg_server *srv = echo_server_with(false);
    struct plain_job pj = {.port = cg_server_port(srv, 0), .finished = false};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, plain_main, &pj), 0);
    for (int i = 0; i < 3 * CLIENT_WAIT_S * 100 && !atomic_load(&pj.finished); i++) {
        uv_run(tr_loop, UV_RUN_NOWAIT); /* the client's handshake and GET /hello */
        usleep(10000);
    }
    pthread_join(th, NULL);
    cg_server_free(srv);
    tr_drain();
    assert_true(pj.done);
    assert_true(atomic_load(&g_steps_on_loop) >= 2);
    assert_int_equal(atomic_load(&g_steps_off_loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lane_answers_while_a_handshake_is_held),
        cmocka_unit_test(test_server_freed_while_a_handshake_is_held),
        cmocka_unit_test(test_handshake_threads_off),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
