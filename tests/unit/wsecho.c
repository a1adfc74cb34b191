/* A wss echo in one context, OpenSSL's allocations watched: see wsecho.h. */
#include "wsecho.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- OpenSSL's allocations ---- */

static void (*g_note)(size_t n);

static void *note_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    g_note(n);
    return malloc(n);
}

static void *note_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    g_note(n);
    return realloc(p, n);
}

static void plain_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static const char *g_what;

static int group_setup(void **state)
{
    (void)state;
    return tr_pki_make(g_what);
}

static int group_teardown(void **state)
{
    (void)state;
    return tr_pki_remove();
}

int we_main(const char *what, void (*note)(size_t n), const struct CMUnitTest *tests, size_t n)
{
    g_note = note;
    if (!CRYPTO_set_mem_functions(note_malloc, note_realloc, plain_free))
        return 1;
    g_what = what;
    return _cmocka_run_group_tests(what, tests, n, group_setup, group_teardown);
}

/* ---- the echo ---- */

static void srv_message(void *user, struct cg_ws *ws, bool binary, const uint8_t *d, size_t n)
{
    (void)user;
    cg_ws_send(ws, binary, d, n);
}

static void start_server(struct we_echo *e)
{
    struct cg_server_config *sc = tr_server_config(false);
    assert_int_equal(cg_server_new(e->ctx, sc, &e->srv), CG_OK);
    cg_server_config_free(sc);
    static const struct cg_ws_handlers sh = {.on_message = srv_message};
    assert_int_equal(cg_server_add_ws_route(e->srv, "/echo", &sh, NULL), CG_OK);
    assert_int_equal(cg_server_start(e->srv), CG_OK);
}

void we_start(struct we_echo *e, const struct cg_ws_handlers *ch, void *user)
{
    assert_int_equal(cg_ctx_new(&e->ctx), CG_OK);
    start_server(e);
    struct cg_ws_client_config *cc = NULL;
    assert_int_equal(cg_ws_client_config_new(&cc), CG_OK);
    assert_int_equal(cg_ws_client_config_set_trust(cc, tr_pki("root-ca.pem"), NULL), CG_OK);
    assert_int_equal(cg_ws_client_new(e->ctx, cc, &e->cli), CG_OK);
    cg_ws_client_config_free(cc);
    char url[96];
    snprintf(url, sizeof(url), "wss://localhost:%u/echo", (unsigned)cg_server_port(e->srv, 0));
    struct cg_ws *ws = NULL;
    assert_int_equal(cg_ws_connect(e->cli, url, ch, user, &ws), CG_OK);
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(t->data); }

void we_run(struct we_echo *e)
{
    uv_timer_init(cg_ctx_loop(e->ctx), &e->dog);
    e->dog.data = e->ctx;
    uv_timer_start(&e->dog, watchdog, 60000, 0);
    cg_ctx_run(e->ctx);
    uv_close((uv_handle_t *)&e->dog, NULL); /* released in we_free */
}

void we_free(struct we_echo *e)
{
    cg_ws_client_free(e->cli);
    cg_server_free(e->srv);
    cg_ctx_free(e->ctx);
}
