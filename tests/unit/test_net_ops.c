/* net/ driven through its operations table by a fake user that records
 * every call: the table is all net/ knows of its users (no HTTP, no
 * WebSocket here). A TLS server and a TLS client on 127.0.0.1, both fake. */
#include "testutil.h"

#include "net/net.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    struct cg_conn conn;
    char calls[256]; /* "tls_done data closing freed " … */
    char got[64];    /* plaintext received */
    size_t got_len;
    bool client;
    bool *freed_flag;
};

static char g_dir[64];
static struct cg_ctx *g_ctx;
static uv_loop_t *g_loop;
static struct cg_server_limits g_lim;
static uint8_t g_rbuf_srv[16384], g_rbuf_cli[16384];
static struct rec *g_srv, *g_cli;
static bool g_srv_freed, g_cli_freed;

static void note(struct cg_conn *c, const char *what)
{
    struct rec *r = c->user;
    strncat(r->calls, what, sizeof(r->calls) - strlen(r->calls) - 1);
    strncat(r->calls, " ", sizeof(r->calls) - strlen(r->calls) - 1);
}

static void f_tls_done(struct cg_conn *c)
{
    struct rec *r = c->user;
    note(c, "tls_done");
    c->state = CG_CONN_WS; /* any reading state: net/ does not care which */
    if (r->client)
        assert_int_equal(cg__conn_write(c, "hello", 5), CG_OK);
}

static void f_tls_failed(struct cg_conn *c)
{
    note(c, "tls_failed");
    cg__conn_close(c, "tls failed");
}

static void f_data(struct cg_conn *c, const uint8_t *p, size_t n)
{
    struct rec *r = c->user;
    note(c, "data");
    assert_true(r->got_len + n <= sizeof(r->got));
    memcpy(r->got + r->got_len, p, n);
    r->got_len += n;
    if (!r->client && r->got_len == 5)
        assert_int_equal(cg__conn_write(c, "world", 5), CG_OK); /* the answer */
    else if (r->client && r->got_len == 5)
        cg__conn_drain_and_close(c); /* close_notify, FIN, linger */
}

static void f_writable(struct cg_conn *c) { (void)c; } /* not recorded: after every write */

static void f_timeout(struct cg_conn *c)
{
    note(c, "timeout");
    cg__conn_close(c, "timed out");
}

static void f_closing(struct cg_conn *c)
{
    assert_int_equal(c->state, CG_CONN_CLOSED);
    note(c, "closing");
}

static void f_freed(struct cg_conn *c)
{
    struct rec *r = c->user;
    note(c, "freed");
    assert_null(c->ssl); /* net/ released its part first */
    *r->freed_flag = true;
}

static const struct cg_conn_ops fake_ops = {
    .name = "fake", .tls_done = f_tls_done, .tls_failed = f_tls_failed, .data = f_data,
    .writable = f_writable, .timeout = f_timeout, .closing = f_closing, .freed = f_freed,
};

static const char *pki(const char *name)
{
    static char p[2][160];
    static int i;
    i ^= 1;
    snprintf(p[i], sizeof(p[i]), "%s/%s", g_dir, name);
    return p[i];
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof(g_dir), "/tmp/cg-test-netops-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s' --dir '%s' >/dev/null", tu_src_path("scripts/dev-pki.sh"),
             g_dir);
    if (system(cmd) != 0 || cg_ctx_new(&g_ctx) != CG_OK)
        return -1;
    g_loop = cg_ctx_loop(g_ctx);
    for (size_t i = 0; i < sizeof(g_lim.v) / sizeof(g_lim.v[0]); i++)
        g_lim.v[i] = 1u << 20;
    g_lim.v[CG_LIMIT_MAX_WRITE_QUEUE] = 1u << 20;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cg_ctx_free(g_ctx);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct rec *new_rec(bool client, uint8_t *rbuf, bool *freed)
{
    struct rec *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->client = client;
    r->freed_flag = freed;
    *freed = false;
    cg__conn_init(&r->conn, g_ctx, &g_lim, rbuf, 16384, &fake_ops, r);
    return r;
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *s = SSL_CTX_new(TLS_server_method());
    assert_non_null(s);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(s, pki("server-ecdsa.chain.pem")), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(s, pki("server-ecdsa.key"), SSL_FILETYPE_PEM), 1);
    return s;
}

static SSL_CTX *client_ctx(bool trust_root)
{
    SSL_CTX *s = SSL_CTX_new(TLS_client_method());
    assert_non_null(s);
    if (trust_root)
        assert_int_equal(SSL_CTX_load_verify_locations(s, pki("root-ca.pem"), NULL), 1);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL); /* untrusted: the handshake fails */
    return s;
}

static SSL_CTX *g_sctx;

static void on_conn(uv_stream_t *l, int status)
{
    assert_int_equal(status, 0);
    g_srv = new_rec(false, g_rbuf_srv, &g_srv_freed);
    g_srv->conn.state = CG_CONN_TLS;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&g_srv->conn.tcp), 0);
    assert_int_equal(cg__conn_init_tls(&g_srv->conn, g_sctx, true), CG_OK);
    cg__conn_arm_timer(&g_srv->conn, 10000);
    cg__conn_start(&g_srv->conn);
    uv_close((uv_handle_t *)l, NULL); /* one connection */
}

static void on_connect(uv_connect_t *req, int status)
{
    assert_int_equal(status, 0);
    struct rec *r = req->data;
    cg__conn_peer_name(&r->conn);
    cg__conn_start(&r->conn); /* the ClientHello */
}

static void run_pair(bool trust_root)
{
    static uv_tcp_t listener;
    static uv_connect_t creq;
    g_sctx = server_ctx();
    SSL_CTX *cctx = client_ctx(trust_root);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_init(g_loop, &listener), 0);
    assert_int_equal(uv_tcp_bind(&listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&listener, 4, on_conn), 0);
    int len = sizeof(a);
    assert_int_equal(uv_tcp_getsockname(&listener, (struct sockaddr *)&a, &len), 0);

    g_cli = new_rec(true, g_rbuf_cli, &g_cli_freed);
    g_cli->conn.state = CG_CONN_CONNECTING;
    assert_int_equal(cg__conn_init_tls(&g_cli->conn, cctx, false), CG_OK);
    cg__conn_arm_timer(&g_cli->conn, 10000);
    creq.data = g_cli;
    assert_int_equal(uv_tcp_connect(&creq, &g_cli->conn.tcp, (const struct sockaddr *)&a, on_connect), 0);
    while (!(g_cli_freed && g_srv_freed))
        uv_run(g_loop, UV_RUN_ONCE);
    uv_run(g_loop, UV_RUN_NOWAIT);
    SSL_CTX_free(g_sctx);
    SSL_CTX_free(cctx);
}

/* A whole exchange: each side hears tls_done, data, then closing and freed,
 * in that order, and the bytes arrive intact. */
static void test_exchange_through_the_table(void **state)
{
    (void)state;
    run_pair(true);
    assert_string_equal(g_cli->calls, "tls_done data closing freed ");
    assert_string_equal(g_srv->calls, "tls_done data closing freed ");
    assert_memory_equal(g_srv->got, "hello", 5);
    assert_memory_equal(g_cli->got, "world", 5);
    free(g_cli);
    free(g_srv);
}

/* B-31: a handshake that fails is reported as tls_failed, never as data. */
static void test_failed_handshake(void **state)
{
    (void)state;
    run_pair(false);
    assert_string_equal(g_cli->calls, "tls_failed closing freed ");
    assert_null(strstr(g_srv->calls, "data"));
    assert_int_equal(g_srv->got_len, 0);
    free(g_cli);
    free(g_srv);
}

/* The timer in a state the user owns goes to the user's timeout. */
static void test_timeout_goes_to_the_user(void **state)
{
    (void)state;
    bool freed = false;
    struct rec *r = new_rec(true, g_rbuf_cli, &freed);
    r->conn.state = CG_CONN_CONNECTING;
    cg__conn_arm_timer(&r->conn, 1);
    while (!freed)
        uv_run(g_loop, UV_RUN_ONCE);
    assert_string_equal(r->calls, "timeout closing freed ");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_through_the_table),
        cmocka_unit_test(test_failed_handshake),
        cmocka_unit_test(test_timeout_goes_to_the_user),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
