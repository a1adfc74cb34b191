/* Freeing an endpoint while a large message is being validated on libuv's
 * thread pool (src/mos4/flow.c vjob, issue 12 follow-up): the job must not
 * touch the freed lane or endpoint when it comes back, nor deliver the
 * message to the application after cg_mos_endpoint_free. Under ASan a use
 * after free fails the test. A MOS 2.x port (M-21) feeds the message. */
// CG_WRAP: cg__mos_check_fresh
// CG_LINK: vjobrig.c
#include "vjobrig.h"
#include "mos4/mos4.h"

#include <pthread.h>
#include <signal.h>
#include <uv.h>

#define ITEMS 150000 /* <i>x</i> elements: libxml2 takes a while over them */

struct state {
    struct vj_rig rig;
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

/* On the loop: as soon as the message is on the pool, free the endpoint. */
static void poll_job(uv_idle_t *h)
{
    struct state *s = h->data;
    struct mos4_lane *l = &s->rig.ep->peers[0]->lanes[1][CG_MOS_IN]; /* ro, IN */
    if (l->vjob == NULL)
        return;
    s->saw_job = true;
    s->freed = true;
    cg_mos_endpoint_free(s->rig.ep);
    s->rig.ep = NULL;
    uv_idle_stop(h);
    cg_ctx_stop(s->rig.ctx);
}

static void test_free_while_validating(void **unused)
{
    (void)unused;
    struct state s = {0};
    struct cg_mos_handlers h = {.on_request = on_request};
    vj_start(&s.rig, 1024, &h, &s, ITEMS);
    uv_idle_t idle;
    uv_idle_init(cg_ctx_loop(s.rig.ctx), &idle);
    idle.data = &s;
    uv_idle_start(&idle, poll_job);
    vj_run(&s.rig, 60000);
    uv_close((uv_handle_t *)&idle, NULL);
    vj_free(&s.rig); /* the endpoint is NULL when freed above; the context's end runs the
                      * job's completion, then closes the sender's socket */
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
