/* What one message costs a wss connection in OpenSSL allocations (issue 13:
 * the 1 KB relay against stunnel). A wss echo in one context, a client
 * sending 1 KB binary messages stop-and-wait; OpenSSL's allocations of
 * 1 KB or more are counted (CRYPTO_set_mem_functions) over 200 echoes
 * after a warm-up.
 * Before: SSL_MODE_RELEASE_BUFFERS freed and re-allocated (zeroed) each
 * connection's 16 KB record buffers around every SSL_read and SSL_write. Now the buffers stay while the connection is busy
 * and are released once it has been quiet for a while (net/conn.c), which
 * the last echo, after 2.5 s of quiet, shows. */
#include "testutil.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define WARMUP 20
#define COUNTED 200
#define SIZE 1024

static char g_dir[256];
/* OpenSSL's malloc and realloc calls of 1 KB or more: record buffers, not
 * the 40-byte WPACKET pieces OpenSSL 3.0 allocates for every record it
 * writes (stunnel pays those as well) */
static unsigned long g_allocs;

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    g_allocs += n >= 1024;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    g_allocs += n >= 1024;
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static const char *pki(const char *name)
{
    static char buf[4][512];
    static int slot;
    char *out = buf[slot++ & 3];
    snprintf(out, sizeof(buf[0]), "%s/%s", g_dir, name);
    return out;
}

struct echo {
    struct cg_ctx *ctx;
    long got, bad;
    unsigned long at_start, at_end, after_idle;
    uv_timer_t quiet; /* then one more message: the buffers come back */
    struct cg_ws *ws;
    uint8_t msg[SIZE];
    bool closed;
};

static void srv_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    (void)user;
    cg_ws_send(ws, binary, d, n);
}

static void send_next(struct echo *e, struct cg_ws *ws)
{
    for (size_t i = 0; i < SIZE; i++)
        e->msg[i] = (uint8_t)(e->got * 7 + i * 13);
    cg_ws_send(ws, true, e->msg, SIZE);
}

static void cli_open(void *user, struct cg_ws *ws) { send_next(user, ws); }

static void after_quiet(uv_timer_t *t)
{
    struct echo *e = t->data;
    send_next(e, e->ws);
}

static void cli_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    struct echo *e = user;
    if (!binary || n != SIZE || memcmp(d, e->msg, n) != 0)
        e->bad++;
    e->got++;
    if (e->got == WARMUP)
        e->at_start = g_allocs;
    if (e->got < WARMUP + COUNTED) {
        send_next(e, ws);
        return;
    }
    if (e->got == WARMUP + COUNTED) {
        e->at_end = g_allocs;
        e->ws = ws;
        uv_timer_start(&e->quiet, after_quiet, 2500, 0); /* past the idle release */
        return;
    }
    e->after_idle = g_allocs - e->at_end;
    cg_ws_close(ws, 1000, "done");
}

static void cli_close(void *user, struct cg_ws *ws, uint16_t code)
{
    struct echo *e = user;
    (void)ws;
    (void)code;
    e->closed = true;
    cg_ctx_stop(e->ctx);
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(t->data); }

static void test_no_tls_allocation_per_message(void **state)
{
    (void)state;
    struct echo e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(cg_ctx_new(&e.ctx), CG_OK);
    struct cg_server_config *sc = NULL;
    struct cg_server *srv = NULL;
    assert_int_equal(cg_server_config_new(&sc), CG_OK);
    assert_int_equal(cg_server_config_add_listen(sc, "127.0.0.1", 0), CG_OK);
    assert_int_equal(cg_server_config_add_cert(sc, pki("server-ecdsa.chain.pem"), pki("server-ecdsa.key")), CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(sc, false, NULL), CG_OK);
    assert_int_equal(cg_server_new(e.ctx, sc, &srv), CG_OK);
    cg_server_config_free(sc);
    static const struct cg_ws_handlers sh = {.on_message = srv_message};
    assert_int_equal(cg_server_add_ws_route(srv, "/echo", &sh, NULL), CG_OK);
    assert_int_equal(cg_server_start(srv), CG_OK);
    struct cg_ws_client_config *cc = NULL;
    struct cg_ws_client *cli = NULL;
    assert_int_equal(cg_ws_client_config_new(&cc), CG_OK);
    assert_int_equal(cg_ws_client_config_set_trust(cc, pki("root-ca.pem"), NULL), CG_OK);
    assert_int_equal(cg_ws_client_new(e.ctx, cc, &cli), CG_OK);
    cg_ws_client_config_free(cc);
    char url[96];
    snprintf(url, sizeof(url), "wss://localhost:%u/echo", (unsigned)cg_server_port(srv, 0));
    static const struct cg_ws_handlers ch = {.on_open = cli_open, .on_message = cli_message,
                                             .on_close = cli_close};
    struct cg_ws *ws = NULL;
    assert_int_equal(cg_ws_connect(cli, url, &ch, &e, &ws), CG_OK);
    uv_timer_init(cg_ctx_loop(e.ctx), &e.quiet);
    e.quiet.data = &e;
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(e.ctx), &dog);
    dog.data = e.ctx;
    uv_timer_start(&dog, watchdog, 60000, 0);
    cg_ctx_run(e.ctx);
    uv_close((uv_handle_t *)&dog, NULL);
    uv_close((uv_handle_t *)&e.quiet, NULL);
    cg_ws_client_free(cli);
    cg_server_free(srv);
    cg_ctx_free(e.ctx);
    unsigned long per = e.at_end - e.at_start;
    fprintf(stderr, "%ld echoes, %ld damaged; OpenSSL allocations of 1 KB or more over %d echoes: %lu; "
            "for one echo after 2.5 s quiet: %lu\n", e.got, e.bad, COUNTED, per, e.after_idle);
    assert_int_equal(e.got, WARMUP + COUNTED + 1);
    assert_int_equal(e.bad, 0);
    /* No record buffer per message: a few may come from a key update or a ticket. */
    assert_true(per < COUNTED / 10);
    /* A quiet connection gave its buffers back: the next echo takes them again. */
    assert_true(e.after_idle >= 2);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof(g_dir), "/tmp/cg-test-wspc-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s' --dir '%s' >/dev/null", tu_src_path("scripts/dev-pki.sh"), g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    /* before OpenSSL allocates anything */
    if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_tls_allocation_per_message),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
