/* What one message costs a wss connection in OpenSSL allocations (issue 13:
 * the 1 KB relay against stunnel). A wss echo in one context, a client
 * sending 1 KB binary messages stop-and-wait; OpenSSL's allocations of
 * 1 KB or more are counted (CRYPTO_set_mem_functions) over 200 echoes
 * after a warm-up.
 * Before: SSL_MODE_RELEASE_BUFFERS freed and re-allocated (zeroed) each
 * connection's 16 KB record buffers around every SSL_read and SSL_write. Now the buffers stay while the connection is busy
 * and are released once it has been quiet for a while (net/conn.c), which
 * the last echo, after 2.5 s of quiet, shows. */
// CG_LINK: tlsrig.c wsecho.c
#include "wsecho.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define WARMUP 20
#define COUNTED 200
#define SIZE 1024

/* OpenSSL's malloc and realloc calls of 1 KB or more: record buffers, not
 * the 40-byte WPACKET pieces OpenSSL 3.0 allocates for every record it
 * writes (stunnel pays those as well) */
static unsigned long g_allocs;

static void note(size_t n) { g_allocs += n >= 1024; }

struct echo {
    struct we_echo we;
    long got, bad;
    unsigned long at_start, at_end, after_idle;
    uv_timer_t quiet; /* then one more message: the buffers come back */
    struct cg_ws *ws;
    uint8_t msg[SIZE];
    bool closed;
};

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
    cg_ctx_stop(e->we.ctx);
}

static void test_no_tls_allocation_per_message(void **state)
{
    (void)state;
    struct echo e;
    memset(&e, 0, sizeof(e));
    static const struct cg_ws_handlers ch = {.on_open = cli_open, .on_message = cli_message,
                                             .on_close = cli_close};
    we_start(&e.we, &ch, &e);
    uv_timer_init(cg_ctx_loop(e.we.ctx), &e.quiet);
    e.quiet.data = &e;
    we_run(&e.we);
    uv_close((uv_handle_t *)&e.quiet, NULL);
    we_free(&e.we);
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

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_tls_allocation_per_message),
    };
    return we_main("wspc", note, tests, sizeof(tests) / sizeof(tests[0]));
}
