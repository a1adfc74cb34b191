/* A large wss message goes through TLS in pieces (issue 13: the 2 MB relay
 * against stunnel). A wss echo in one context; a client sends a 4 MiB binary
 * message and gets it back. The largest single allocation OpenSSL makes
 * meanwhile is recorded (CRYPTO_set_mem_functions).
 * Before: cg__conn_write handed the whole message to one SSL_write into the
 * connection's memory BIO, which grew by reallocation (a third at a time,
 * copying and wiping the old buffer) to the whole message's ciphertext before
 * any of it reached the socket. Now each piece of at most 256 KiB is written
 * and flushed before the next, so the BIO stays about one piece large.
 * The client's own largest allocation while it sends is recorded too (malloc
 * and realloc wrapped): before, ws/frames.c masked the whole message into a
 * buffer of its size (8 MiB of room for 4 MiB) before writing any of it; a
 * client's large frame is now masked and written a piece at a time. */
// CG_WRAP: malloc realloc
#include "testutil.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define SIZE (4u << 20)

static char g_dir[256];
static size_t g_largest; /* OpenSSL's largest malloc or realloc while counting */
static bool g_counting;
static size_t g_send_largest; /* any malloc or realloc inside the client's cg_ws_send */
static bool g_in_send;

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
    if (g_in_send && n > g_send_largest)
        g_send_largest = n;
    return __real_malloc(n);
}
void *__wrap_realloc(void *p, size_t n)
{
    if (g_in_send && n > g_send_largest)
        g_send_largest = n;
    return __real_realloc(p, n);
}

static void note(size_t n)
{
    if (g_counting && n > g_largest)
        g_largest = n;
}

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    note(n);
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    note(n);
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
    uint8_t *msg;
};

static void srv_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    (void)user;
    cg_ws_send(ws, binary, d, n);
}

static void cli_open(void *user, struct cg_ws *ws)
{
    struct echo *e = user;
    g_counting = true; /* the handshake is done: what follows is the message */
    g_in_send = true;
    enum cg_err rc = cg_ws_send(ws, true, e->msg, SIZE);
    g_in_send = false;
    assert_int_equal(rc, CG_OK);
}

static void cli_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    struct echo *e = user;
    if (!binary || n != SIZE || memcmp(d, e->msg, n) != 0)
        e->bad++;
    e->got++;
    g_counting = false;
    cg_ws_close(ws, 1000, "done");
}

static void cli_close(void *user, struct cg_ws *ws, uint16_t code)
{
    struct echo *e = user;
    (void)ws;
    (void)code;
    cg_ctx_stop(e->ctx);
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(t->data); }

static void test_big_message_in_pieces(void **state)
{
    (void)state;
    struct echo e;
    memset(&e, 0, sizeof(e));
    e.msg = malloc(SIZE);
    assert_non_null(e.msg);
    for (size_t i = 0; i < SIZE; i++)
        e.msg[i] = (uint8_t)(i * 131 + (i >> 12));
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
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(e.ctx), &dog);
    dog.data = e.ctx;
    uv_timer_start(&dog, watchdog, 60000, 0);
    cg_ctx_run(e.ctx);
    uv_close((uv_handle_t *)&dog, NULL);
    cg_ws_client_free(cli);
    cg_server_free(srv);
    cg_ctx_free(e.ctx);
    free(e.msg);
    fprintf(stderr, "%ld echoes of %u bytes, %ld damaged; OpenSSL's largest allocation meanwhile: "
            "%zu bytes; the largest inside the client's cg_ws_send: %zu bytes\n", e.got, SIZE,
            e.bad, g_largest, g_send_largest);
    assert_int_equal(e.got, 1);
    assert_int_equal(e.bad, 0);
    /* a piece's records and a little more, never the message's */
    assert_true(g_largest < (1u << 20));
    assert_true(g_send_largest < (1u << 20)); /* a piece, never the message */
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof(g_dir), "/tmp/cg-test-wsbig-XXXXXX");
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
        cmocka_unit_test(test_big_message_in_pieces),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
