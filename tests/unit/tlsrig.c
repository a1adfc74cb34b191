/* The dev PKI and a TLS client for the server tests: see tlsrig.h. */
#include "tlsrig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- the dev PKI ---- */

static char g_dir[256];

int tr_pki_make(const char *what)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof(g_dir), "/tmp/cg-test-%s-XXXXXX", what);
    return tu_dev_pki_dir(g_dir);
}

int tr_pki_remove(void) { return tu_rm_rf(g_dir); }

const char *tr_pki(const char *name)
{
    static char buf[8][512];
    static int slot;
    char *out = buf[slot++ & 7];
    snprintf(out, sizeof(buf[0]), "%s/%s", g_dir, name);
    return out;
}

/* ---- a context and a TLS client ---- */

struct cg_ctx *tr_ctx;
uv_loop_t *tr_loop;
SSL_CTX *tr_cli;
struct tu_log tr_log;

int tr_setup(const char *what)
{
    if (tr_pki_make(what) != 0)
        return -1;
    tr_cli = SSL_CTX_new(TLS_client_method());
    if (tr_cli == NULL || SSL_CTX_load_verify_locations(tr_cli, tr_pki("root-ca.pem"), NULL) != 1)
        return -1;
    SSL_CTX_set_verify(tr_cli, SSL_VERIFY_PEER, NULL);
    if (cg_ctx_new(&tr_ctx) != CG_OK)
        return -1;
    tr_loop = cg_ctx_loop(tr_ctx);
    return 0;
}

int tr_teardown(void)
{
    SSL_CTX_free(tr_cli);
    cg_ctx_free(tr_ctx); /* joins the threads; ASan then checks nothing leaked */
    return tr_pki_remove();
}

void tr_log_reset(void)
{
    memset(&tr_log, 0, sizeof(tr_log));
    if (getenv("CG_TEST_VERBOSE") != NULL)
        cg_ctx_set_log(tr_ctx, cg_log_stderr, NULL, CG_LOG_DEBUG);
    else
        cg_ctx_set_log(tr_ctx, tu_log_fn, &tr_log, CG_LOG_DEBUG);
}

struct cg_server_config *tr_server_config(bool rsa)
{
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    assert_int_equal(cg_server_config_add_listen(cfg, "127.0.0.1", 0), CG_OK);
    if (rsa)
        assert_int_equal(cg_server_config_add_cert(cfg, tr_pki("server-rsa.chain.pem"),
                                                   tr_pki("server-rsa.key")),
                         CG_OK);
    assert_int_equal(cg_server_config_add_cert(cfg, tr_pki("server-ecdsa.chain.pem"),
                                               tr_pki("server-ecdsa.key")),
                     CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(cfg, false, NULL), CG_OK);
    return cfg;
}

void tr_drain(void)
{
    for (int i = 0; i < 4; i++)
        uv_run(tr_loop, UV_RUN_NOWAIT);
}

static void tick(uv_timer_t *t) { (void)t; }

bool tr_settle(bool (*pred)(void), uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(tr_loop, &t);
    uv_timer_start(&t, tick, 10, 10);
    uint64_t end = uv_now(tr_loop) + ms;
    while (!pred() && uv_now(tr_loop) < end)
        uv_run(tr_loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(tr_loop, UV_RUN_NOWAIT);
    return pred();
}

/* ---- a client on a thread of its own ---- */

static void *client_main(void *arg)
{
    struct tr_client *c = arg;
    c->fn(c->arg);
    uv_async_send(&c->done);
    return NULL;
}

static void on_client_done(uv_async_t *a)
{
    struct tr_client *c = a->data;
    c->finished = true;
    cg_ctx_stop(tr_ctx);
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    cg_ctx_stop(tr_ctx);
}

void tr_client_start(struct tr_client *c, void (*fn)(void *arg), void *arg)
{
    c->fn = fn;
    c->arg = arg;
    c->finished = false;
    assert_int_equal(uv_async_init(tr_loop, &c->done, on_client_done), 0);
    c->done.data = c;
    assert_int_equal(pthread_create(&c->th, NULL, client_main, c), 0);
}

void tr_client_finish(struct tr_client *c, uint64_t ms)
{
    uv_timer_init(tr_loop, &c->dog);
    uv_timer_start(&c->dog, on_watchdog, ms, 0);
    if (!c->finished)
        assert_int_equal(cg_ctx_run(tr_ctx), CG_OK);
    pthread_join(c->th, NULL);
    uv_close((uv_handle_t *)&c->dog, NULL);
    uv_close((uv_handle_t *)&c->done, NULL);
}

/* ---- a blocking TLS connection ---- */

bool tr_conn_open(struct tr_conn *c, uint16_t port, int timeout_s)
{
    c->ssl = NULL;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        goto fail;
    c->ssl = SSL_new(tr_cli);
    if (c->ssl == NULL)
        goto fail;
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set1_host(c->ssl, "localhost");
    if (SSL_connect(c->ssl) != 1)
        goto fail;
    return true;
fail:
    ERR_clear_error();
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    return false;
}

void tr_conn_close(struct tr_conn *c, bool polite)
{
    if (c->ssl != NULL && polite)
        SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    ERR_clear_error();
}

bool tr_conn_send(struct tr_conn *c, const void *p, size_t n)
{
    return SSL_write(c->ssl, p, (int)n) == (int)n;
}

size_t tr_conn_read(struct tr_conn *c, char *buf, size_t cap, const char *needle)
{
    size_t len = 0;
    buf[0] = '\0';
    while (len + 1 < cap) {
        int r = SSL_read(c->ssl, buf + len, (int)(cap - 1 - len));
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (needle != NULL && strstr(buf, needle) != NULL)
            break;
    }
    ERR_clear_error();
    return len;
}
