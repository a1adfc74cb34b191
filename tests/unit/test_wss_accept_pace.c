/* A connection flood on the wss listener must not hold up the open lanes
 * (issue 12: the hostile benchmark's password and TLS flood phases): libuv
 * accepts until the backlog (511 here) is empty in one go, and each
 * connection costs the loop an SSL object and its set-up before any other
 * ready handle of that turn is served. The listener now takes at most
 * CG_ACCEPT_PER_TURN connections per turn of the loop (core/accept.h).
 *
 * A cg_server on the test thread's loop; the clients are plain blocking
 * sockets that never send a byte: on loopback connect(2) completes from the
 * kernel's backlog while the loop is not running, so the whole flood is
 * waiting when the loop next polls. Counted per poll phase (a prepare handle
 * before it, a check handle after it): the server's connections. No
 * timings. The PKI comes from scripts/dev-pki.sh. */
#include "testutil.h"
#include "core/accept.h"
#include "core/core.h" /* CG_UNUSED */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define FLOOD 40

static char g_dir[256];
static struct cg_ctx *g_ctx;
static struct tu_log g_log;
static struct cg_server *g_srv;
static size_t g_at_prepare, g_max_in_poll;

static const char *pki(const char *name)
{
    static char buf[4][512];
    static int slot;
    char *out = buf[slot++ & 3];
    snprintf(out, sizeof(buf[0]), "%s/%s", g_dir, name);
    return out;
}

static void on_before_poll(uv_prepare_t *h)
{
    CG_UNUSED(h);
    g_at_prepare = cg_server_connections(g_srv);
}

static void on_after_poll(uv_check_t *h)
{
    CG_UNUSED(h);
    size_t n = cg_server_connections(g_srv);
    if (n > g_at_prepare && n - g_at_prepare > g_max_in_poll)
        g_max_in_poll = n - g_at_prepare;
}

static void turns_until_connections(size_t want)
{
    for (int i = 0; i < 10000 && cg_server_connections(g_srv) != want; i++)
        uv_run(cg_ctx_loop(g_ctx), UV_RUN_NOWAIT);
}

static void test_flood_taken_a_few_per_turn(void **state)
{
    CG_UNUSED(state);
    struct cg_server_config *cfg = NULL;
    assert_int_equal(cg_server_config_new(&cfg), CG_OK);
    assert_int_equal(cg_server_config_add_listen(cfg, "127.0.0.1", 0), CG_OK);
    assert_int_equal(cg_server_config_add_cert(cfg, pki("server-ecdsa.chain.pem"),
                                               pki("server-ecdsa.key")),
                     CG_OK);
    assert_int_equal(cg_server_config_set_ocsp(cfg, false, NULL), CG_OK);
    assert_int_equal(cg_server_new(g_ctx, cfg, &g_srv), CG_OK);
    cg_server_config_free(cfg);
    assert_int_equal(cg_server_start(g_srv), CG_OK);
    uv_loop_t *loop = cg_ctx_loop(g_ctx);
    uv_prepare_t before;
    uv_check_t after;
    uv_prepare_init(loop, &before);
    uv_prepare_start(&before, on_before_poll);
    uv_check_init(loop, &after);
    uv_check_start(&after, on_after_poll);

    int fds[FLOOD];
    for (int i = 0; i < FLOOD; i++)
        fds[i] = tu_dial(cg_server_port(g_srv, 0));
    turns_until_connections(FLOOD);
    printf("%zu of %d connections taken, at most %zu in one poll phase\n",
           cg_server_connections(g_srv), FLOOD, g_max_in_poll);
    assert_int_equal(cg_server_connections(g_srv), FLOOD);
    assert_true(g_max_in_poll <= CG_ACCEPT_PER_TURN);

    for (int i = 0; i < FLOOD; i++)
        close(fds[i]);
    uv_close((uv_handle_t *)&before, NULL);
    uv_close((uv_handle_t *)&after, NULL);
    cg_server_free(g_srv);
    for (int i = 0; i < 20; i++) /* the close callbacks; cg_ctx_free closes any stray */
        uv_run(loop, UV_RUN_NOWAIT);
}

static int group_setup(void **state)
{
    CG_UNUSED(state);
    snprintf(g_dir, sizeof(g_dir), "/tmp/cg-test-wss-pace-XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s' --dir '%s' >/dev/null", tu_src_path("scripts/dev-pki.sh"),
             g_dir);
    if (system(cmd) != 0)
        return -1;
    if (cg_ctx_new(&g_ctx) != CG_OK)
        return -1;
    cg_ctx_set_log(g_ctx, tu_log_fn, &g_log, CG_LOG_DEBUG);
    return 0;
}

static int group_teardown(void **state)
{
    CG_UNUSED(state);
    cg_ctx_free(g_ctx);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_taken_a_few_per_turn),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
