/* The flow core's cancel (cg__flow_cancel, issue 18 phase 2 item 2,
 * docs/flow.md "Cancel"), on the core alone with an injected clock: a
 * queued request leaves the queue, the others keep their order; one in
 * flight is never sent again (no retry, not when the lane comes back; M-22
 * retries stop there), its sender hears CG_ECANCELED at once, and its late
 * answer is dropped and counted, never taken for the next request's; while
 * the lane is up the next request waits for that answer or the answer
 * timeout (M-22: one message outstanding per lane). */
#include "testutil.h"
#include "flowfix.h"

#include <stdlib.h>

static struct cg_flow_config cfg(void)
{
    return (struct cg_flow_config){.ch = 1, .my_id = "dev", .peer_id = "ncs",
                                   .ack_timeout_ms = 1000, .retries = 3, .keepalive_ms = 0,
                                   .max_queue = 8, .max_held = 4};
}

/* Both lanes up at t=0 when up; actions drained. */
static struct cg_flow *mk(bool up, struct fx_acts *x)
{
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct cg_flow_config c = cfg();
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    if (up) {
        cg__flow_lane_up(f, 0, CG_FLOW_OUT);
        cg__flow_lane_up(f, 0, CG_FLOW_IN);
    }
    fx_drain(f, x);
    return f;
}

static void send_ok(struct cg_flow *f, uint64_t now, uint64_t ref, struct fx_acts *x)
{
    assert_int_equal(cg__flow_send(f, now, ref, "roElementStat", false, NULL), CG_OK);
    fx_drain(f, x);
}

/* A forward: its own messageID travels on. */
static void forward_ok(struct cg_flow *f, uint64_t now, uint64_t ref, const char *msgid,
                       struct fx_acts *x)
{
    assert_int_equal(cg__flow_send(f, now, ref, "roElementStat", true, msgid), CG_OK);
    fx_drain(f, x);
}

static void answer(struct cg_flow *f, uint64_t now, const char *msgid, uint64_t ref,
                   struct fx_acts *x)
{
    struct cg_mos_envelope e;
    fx_env(&e, "roAck", msgid, "dev", "ncs");
    struct cg_flow_msg m = {.env = &e, .ref = ref};
    cg__flow_received(f, now, CG_FLOW_OUT, &m);
    fx_drain(f, x);
}

static void cancel_ok(struct cg_flow *f, uint64_t now, uint64_t ref, struct fx_acts *x)
{
    assert_int_equal(cg__flow_cancel(f, now, ref), CG_OK);
    fx_drain(f, x);
}

/* The one COMPLETE of x: ref with CG_ECANCELED. */
static void completes_cancelled(const struct fx_acts *x, uint64_t ref)
{
    assert_int_equal(fx_count(x, CG_FLOW_A_COMPLETE), 1);
    const struct cg_flow_act *d = fx_find(x, CG_FLOW_A_COMPLETE);
    assert_int_equal(d->ref, ref);
    assert_int_equal(d->status, CG_ECANCELED);
    assert_int_equal(d->answer, 0);
}

/* No action of x names ref. */
static void never_names(const struct fx_acts *x, uint64_t ref)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].ref == ref)
            fail_msg("%s names cancelled ref %llu", cg__flow_act_name(x->a[i].kind),
                     (unsigned long long)ref);
}

static struct cg_flow_stats stats(const struct cg_flow *f)
{
    struct cg_flow_stats s;
    cg__flow_stats(f, &s);
    return s;
}

/* Not sent yet: it leaves the queue; the others go in their order. */
static void test_cancel_queued_leaves_the_queue(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, &x);
    send_ok(f, 0, 1, &x);
    send_ok(f, 0, 2, &x);
    send_ok(f, 0, 3, &x);
    assert_int_equal(cg__flow_queued(f), 3);
    cancel_ok(f, 5, 2, &x);
    completes_cancelled(&x, 2);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 0); /* 1 is still in flight */
    assert_int_equal(cg__flow_queued(f), 2);
    assert_int_equal(cg__flow_cancel(f, 5, 2), CG_ENOTFOUND); /* once */
    answer(f, 10, "1", 900, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 1);
    const struct cg_flow_act *s = fx_find(&x, CG_FLOW_A_SEND_REQUEST);
    assert_int_equal(s->ref, 3); /* 2 is skipped */
    assert_string_equal(s->msgid, "2"); /* the next messageID: 2 never had one */
    answer(f, 20, "2", 901, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 3);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->status, CG_OK);
    assert_int_equal(stats(f).cancelled, 1);
    assert_int_equal(stats(f).late_answers, 0);
    assert_int_equal(cg__flow_queued(f), 0);
    assert_false(f->overflow);
    free(f);
}

/* In flight with the lane down (the failover case: the old server is
 * gone): never sent again when the lane comes back; the next one goes
 * then, and a late answer to the cancelled one is dropped, not taken as
 * the next one's. */
static void test_cancel_in_flight_lane_down_never_sent_again(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, &x);
    forward_ok(f, 0, 1, "41", &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_SEND_REQUEST)->ref, 1);
    forward_ok(f, 0, 2, "42", &x);
    cg__flow_lane_down(f, 100, CG_FLOW_OUT);
    fx_drain(f, &x);
    cancel_ok(f, 200, 1, &x);
    completes_cancelled(&x, 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 0); /* the lane is down */
    assert_int_equal(cg__flow_queued(f), 1);
    /* no retry while down: the answer timer does not bring it back */
    cg__flow_timer(f, 5000, CG_FLOW_T_ACK);
    fx_drain(f, &x);
    never_names(&x, 1);
    cg__flow_lane_up(f, 6000, CG_FLOW_OUT);
    fx_drain(f, &x);
    never_names(&x, 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 1);
    const struct cg_flow_act *s = fx_find(&x, CG_FLOW_A_SEND_REQUEST);
    assert_int_equal(s->ref, 2);
    assert_string_equal(s->msgid, "42");
    /* the restarted peer answers the cancelled one after all: dropped */
    answer(f, 6010, "41", 900, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    assert_int_equal(stats(f).late_answers, 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_LOG), 1);
    assert_non_null(strstr(fx_find(&x, CG_FLOW_A_LOG)->text, "cancelled"));
    answer(f, 6020, "42", 901, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 2);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->status, CG_OK);
    assert_int_equal(stats(f).cancelled, 1);
    assert_int_equal(stats(f).answers, 1);
    assert_int_equal(stats(f).retries, 0); /* sent once */
    assert_false(f->overflow);
    free(f);
}

/* In flight with the lane up: M-22 keeps the exchange open (nothing else
 * is written) until its answer, which is dropped; never sent again on a
 * timeout meanwhile. */
static void test_cancel_in_flight_lane_up_waits_for_its_answer(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, &x);
    send_ok(f, 0, 1, &x);
    send_ok(f, 0, 2, &x);
    cancel_ok(f, 100, 1, &x);
    completes_cancelled(&x, 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 0); /* one outstanding: 1's exchange */
    assert_int_equal(cg__flow_queued(f), 1); /* 2; the open exchange is not the caller's */
    assert_int_equal(cg__flow_cancel(f, 100, 1), CG_ENOTFOUND);
    answer(f, 300, "1", 900, &x); /* its answer: dropped, the lane goes on */
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    never_names(&x, 1);
    assert_int_equal(stats(f).late_answers, 1);
    const struct cg_flow_act *s = fx_find(&x, CG_FLOW_A_SEND_REQUEST);
    assert_int_equal(s->ref, 2);
    assert_string_equal(s->msgid, "2");
    /* the same answer again (a peer repeating it): dropped again */
    answer(f, 310, "1", 902, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    assert_int_equal(stats(f).late_answers, 2);
    answer(f, 400, "2", 901, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 2);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->status, CG_OK);
    assert_false(f->overflow);
    free(f);
}

/* ... or until the answer timeout, without a retry; or until the lane goes
 * down (then the next one goes when it is back). */
static void test_cancel_in_flight_lane_up_timeout_or_lane_down(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, &x);
    send_ok(f, 0, 1, &x);
    send_ok(f, 0, 2, &x);
    send_ok(f, 0, 3, &x);
    cancel_ok(f, 100, 1, &x);
    cg__flow_timer(f, 1000, CG_FLOW_T_ACK);
    fx_drain(f, &x);
    never_names(&x, 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    assert_int_equal(fx_find(&x, CG_FLOW_A_SEND_REQUEST)->ref, 2);
    assert_int_equal(stats(f).retries, 0);
    cancel_ok(f, 1100, 2, &x);
    completes_cancelled(&x, 2);
    cg__flow_lane_down(f, 1200, CG_FLOW_OUT);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 0);
    cg__flow_lane_up(f, 1300, CG_FLOW_OUT);
    fx_drain(f, &x);
    never_names(&x, 2);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 1);
    assert_int_equal(fx_find(&x, CG_FLOW_A_SEND_REQUEST)->ref, 3);
    answer(f, 1400, "2", 900, &x); /* 2's, late, after the reconnect: dropped */
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    answer(f, 1500, "3", 901, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 3);
    assert_int_equal(stats(f).cancelled, 2);
    assert_int_equal(stats(f).late_answers, 1);
    assert_false(f->overflow);
    free(f);
}

/* A request cancelled before the lane ever came up is never sent; a ref
 * the core does not hold is CG_ENOTFOUND, a 0 ref CG_EINVAL. */
static void test_cancel_before_the_lane_came_up_and_unknown(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(false, &x);
    send_ok(f, 0, 1, &x);
    send_ok(f, 0, 2, &x);
    assert_int_equal(cg__flow_cancel(f, 0, 7), CG_ENOTFOUND);
    assert_int_equal(cg__flow_cancel(f, 0, 0), CG_EINVAL);
    assert_int_equal(cg__flow_cancel(NULL, 0, 1), CG_EINVAL);
    cancel_ok(f, 10, 1, &x);
    completes_cancelled(&x, 1);
    cg__flow_lane_up(f, 20, CG_FLOW_OUT);
    fx_drain(f, &x);
    never_names(&x, 1);
    const struct cg_flow_act *s = fx_find(&x, CG_FLOW_A_SEND_REQUEST);
    assert_int_equal(s->ref, 2);
    assert_string_equal(s->msgid, "1"); /* 1 never took a messageID */
    answer(f, 30, "1", 900, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 2);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->status, CG_OK);
    assert_int_equal(stats(f).late_answers, 0);
    free(f);
}

/* A late answer in another spelling of its messageID ("0x29" for "41",
 * M-11) is still the cancelled one's; the request in flight with the same
 * messageID (sent again by the application under it) takes its own answer. */
static void test_cancel_late_answer_by_value_and_same_id_again(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, &x);
    forward_ok(f, 0, 1, "41", &x);
    cg__flow_lane_down(f, 10, CG_FLOW_OUT);
    fx_drain(f, &x);
    cancel_ok(f, 20, 1, &x);
    cg__flow_lane_up(f, 30, CG_FLOW_OUT);
    fx_drain(f, &x);
    answer(f, 40, "0x29", 900, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    assert_int_equal(stats(f).late_answers, 1);
    forward_ok(f, 50, 2, "41", &x); /* the same request, sent here again by its owner */
    assert_int_equal(fx_find(&x, CG_FLOW_A_SEND_REQUEST)->ref, 2);
    answer(f, 60, "41", 901, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 2);
    assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->status, CG_OK);
    assert_int_equal(stats(f).late_answers, 1);
    free(f);
}

/* An unreadable answer to a cancelled request in flight ends its exchange
 * (counted as a late answer), and is not a NACK of the next one. */
static void test_cancel_unreadable_answer_ends_the_exchange(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, &x);
    send_ok(f, 0, 1, &x);
    send_ok(f, 0, 2, &x);
    cancel_ok(f, 10, 1, &x);
    cg__flow_unreadable(f, 20, CG_FLOW_OUT, "Invalid command");
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_COMPLETE), 0);
    assert_int_equal(fx_find(&x, CG_FLOW_A_SEND_REQUEST)->ref, 2);
    assert_int_equal(stats(f).late_answers, 1);
    assert_int_equal(stats(f).nacks_received, 0);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_queued_leaves_the_queue),
        cmocka_unit_test(test_cancel_in_flight_lane_down_never_sent_again),
        cmocka_unit_test(test_cancel_in_flight_lane_up_waits_for_its_answer),
        cmocka_unit_test(test_cancel_in_flight_lane_up_timeout_or_lane_down),
        cmocka_unit_test(test_cancel_before_the_lane_came_up_and_unknown),
        cmocka_unit_test(test_cancel_late_answer_by_value_and_same_id_again),
        cmocka_unit_test(test_cancel_unreadable_answer_ends_the_exchange),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
