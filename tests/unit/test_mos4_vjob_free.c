/* Freeing an endpoint while a large message is being validated on libuv's
 * thread pool (src/mos4/flow.c vjob, issue 12 follow-up): the job must not
 * touch the freed lane or endpoint when it comes back, nor deliver the
 * message to the application after cg_mos_endpoint_free. Under ASan a use
 * after free fails the test. A MOS 2.x port (M-21) feeds the message. */
#include "testutil.h"
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

#define ITEMS 150000 /* <i>x</i> elements: libxml2 takes a while over them */

struct state {
    struct cg_ctx *ctx;
    struct cg_mos_endpoint *ep;
    uint16_t port;
    bool freed, saw_job;
    int requests_after_free;
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct state *s = user;
    (void)m;
    if (s->freed)
        s->requests_after_free++;
    cg_mos_reply_ack(req, true, NULL);
}

static void *sender(void *arg)
{
    tu_send_big_roreq(((struct state *)arg)->port, ITEMS);
    return NULL;
}

/* On the loop: as soon as the message is on the pool, free the endpoint. */
static void poll_job(uv_idle_t *h)
{
    struct state *s = h->data;
    struct mos4_lane *l = &s->ep->peers[0]->lanes[1][CG_MOS_IN]; /* ro, IN */
    if (l->vjob == NULL)
        return;
    s->saw_job = true;
    s->freed = true;
    cg_mos_endpoint_free(s->ep);
    s->ep = NULL;
    uv_idle_stop(h);
    cg_ctx_stop(s->ctx);
}

static void watchdog(uv_timer_t *t) { cg_ctx_stop(((struct state *)t->data)->ctx); }

static void test_free_while_validating(void **unused)
{
    (void)unused;
    struct state s = {0};
    assert_int_equal(cg_ctx_new(&s.ctx), CG_OK);
    struct cg_mos_endpoint_config *ec = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "DEV", &ec), CG_OK);
    assert_int_equal(cg_mos_endpoint_config_set_xml_limits(ec, 0, 0, 1024), CG_OK);
    struct cg_mos_handlers h = {.on_request = on_request};
    assert_int_equal(cg_mos_endpoint_new(s.ctx, ec, &h, &s, &s.ep), CG_OK);
    cg_mos_endpoint_config_free(ec);
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new("NCS", &pc), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_channels(pc, CG_MOS_CH_RO), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, CG_MOS_UTF8), CG_OK);
    s.port = tu_free_port();
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "127.0.0.1", 0, s.port, 0), CG_OK);
    assert_int_equal(cg_mos_endpoint_add_peer(s.ep, pc), CG_OK);
    cg_mos_peer_config_free(pc);
    assert_int_equal(cg_mos_endpoint_start(s.ep), CG_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sender, &s), 0);
    uv_idle_t idle;
    uv_idle_init(cg_ctx_loop(s.ctx), &idle);
    idle.data = &s;
    uv_idle_start(&idle, poll_job);
    uv_timer_t dog;
    uv_timer_init(cg_ctx_loop(s.ctx), &dog);
    dog.data = &s;
    uv_timer_start(&dog, watchdog, 60000, 0);
    cg_ctx_run(s.ctx);
    uv_close((uv_handle_t *)&idle, NULL);
    uv_close((uv_handle_t *)&dog, NULL);
    cg_mos_endpoint_free(s.ep); /* NULL when freed above */
    cg_ctx_free(s.ctx); /* runs the job's completion, then closes the sender's socket */
    pthread_join(t, NULL);
    assert_true(s.saw_job);
    assert_int_equal(s.requests_after_free, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_while_validating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
