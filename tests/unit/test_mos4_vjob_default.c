/* Where a message is checked with the endpoint's default options
 * (CG_MOS_DEFAULT_ASYNC_VALIDATE, 1 MiB): a 200 KB message on the loop
 * thread, a 1.2 MB one on the context's low-priority threads. A MOS 2.x port
 * (M-21) feeds one valid message; the endpoint answers it.
 * Before: the default was 64 KiB, and a 64 KB message through a gateway pair
 * paid a copy into fresh memory, two thread hand-offs and a wait for an idle
 * CPU (the threads run at SCHED_IDLE): twice the CPU per message on the
 * relay's 64 KB figures (issue 13), and under load the check waited as long
 * as every CPU stayed busy. Checking 1 MiB on the loop takes under a
 * millisecond (docs/validation.md). */
// CG_WRAP: cg__mos_validate_xml
#define _GNU_SOURCE
#include "testutil.h"
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>


static pthread_t loop_thread;
static bool big_on_loop, big_seen;

enum cg_err __real_cg__mos_validate_xml(enum cg_mos_encoding enc, const void *xml, size_t len,
                                        uint64_t *err_offset);
enum cg_err __wrap_cg__mos_validate_xml(enum cg_mos_encoding enc, const void *xml, size_t len,
                                        uint64_t *err_offset);
enum cg_err __wrap_cg__mos_validate_xml(enum cg_mos_encoding enc, const void *xml, size_t len,
                                        uint64_t *err_offset)
{
    if (len > 100000) { /* the large one */
        big_seen = true;
        big_on_loop = pthread_equal(pthread_self(), loop_thread);
    }
    return __real_cg__mos_validate_xml(enc, xml, len, err_offset);
}

struct state {
    struct cg_ctx *ctx;
    uint16_t port;
    int requests;
    int items;
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct state *s = user;
    (void)m;
    s->requests++;
    cg_mos_reply_ack(req, true, NULL);
    cg_ctx_stop(s->ctx);
}

static void *sender(void *arg)
{
    tu_send_big_roreq(((struct state *)arg)->port, ((struct state *)arg)->items);
    return NULL;
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(((struct state *)t->data)->ctx); }

/* One message of about items * 8 bytes through an endpoint with default
 * options: true if it was checked on the loop thread. */
static bool checked_on_loop(int items)
{
    struct state s = {.items = items};
    big_seen = big_on_loop = false;
    struct cg_mos_endpoint *ep = NULL;
    loop_thread = pthread_self();
    assert_int_equal(cg_ctx_new(&s.ctx), CG_OK);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    struct cg_mos_handlers h = {.on_request = on_request};
    assert_int_equal(cg_mos_endpoint_new(s.ctx, ec, &h, &s, &ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new("NCS", &pc), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_channels(pc, CG_MOS_CH_RO), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, CG_MOS_UTF8), CG_OK);
    s.port = tu_free_port();
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "127.0.0.1", 0, s.port, 0), CG_OK);
    assert_int_equal(cg_mos_endpoint_add_peer(ep, pc), CG_OK);
    cg_mos_peer_config_free(pc);
    assert_int_equal(cg_mos_endpoint_start(ep), CG_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sender, &s), 0);
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(s.ctx), &dog);
    dog.data = &s;
    uv_timer_start(&dog, watchdog, 120000, 0);
    cg_ctx_run(s.ctx);
    uv_close((uv_handle_t *)&dog, NULL);
    cg_mos_endpoint_free(ep);
    cg_ctx_free(s.ctx);
    pthread_join(t, NULL);
    assert_int_equal(s.requests, 1);
    assert_true(big_seen);
    return big_on_loop;
}

static void test_200kb_on_the_loop(void **unused)
{
    (void)unused;
    if (!checked_on_loop(25000)) /* about 200 KB */
        fail_msg("a 200 KB message was checked off the loop (default async threshold below it)");
}

static void test_over_1mib_off_the_loop(void **unused)
{
    (void)unused;
    assert_false(checked_on_loop(150000)); /* about 1.2 MB */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200kb_on_the_loop),
        cmocka_unit_test(test_over_1mib_off_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
