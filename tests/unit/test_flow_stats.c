/* Unit tests for the flow core's counters (struct cg_flow_stats), its OUT
 * queue grown by the caller (cg__flow_queue_room) and traffic it did not see
 * (cg__flow_traffic, M-09), on the core alone with an injected clock. */
#include "testutil.h"
#include "flowfix.h"

#include <stdlib.h>

static struct cg_flow *mk_up(size_t max_queue, uint32_t retries, struct fx_acts *x)
{
    struct cg_flow_config c = {.ch = 0, .my_id = "dev", .peer_id = "ncs", .ack_timeout_ms = 1000,
                               .retries = retries, .keepalive_ms = 30000,
                               .max_queue = max_queue, .max_held = 4};
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    cg__flow_lane_up(f, 0, CG_FLOW_OUT);
    cg__flow_lane_up(f, 0, CG_FLOW_IN);
    fx_drain(f, x);
    return f;
}

static void received(struct cg_flow *f, uint64_t now, enum cg_flow_dir dir, const char *name,
                     const char *msgid, bool nack, unsigned c, uint64_t ref, struct fx_acts *x)
{
    struct cg_mos_envelope e;
    fx_env(&e, name, msgid, "dev", "ncs");
    struct cg_flow_msg m = {.env = &e, .ref = ref, .nack = nack};
    fx_digest(m.digest, c);
    cg__flow_received(f, now, dir, &m);
    fx_drain(f, x);
}

static struct cg_flow_stats stats(const struct cg_flow *f)
{
    struct cg_flow_stats s;
    cg__flow_stats(f, &s);
    return s;
}

/* OUT: first sends, retries (M-22), a timeout, a NACK and answers with their RTT. */
static void test_out_counters_and_rtt(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk_up(8, 1, &x);
    assert_int_equal(cg__flow_send(f, 100, 1, "roCreate", false, NULL), CG_OK);
    fx_drain(f, &x);
    received(f, 103, CG_FLOW_OUT, "roAck", "1", false, 0, 900, &x); /* 3 ms */
    struct cg_flow_stats s = stats(f);
    assert_int_equal(s.requests_sent, 1);
    assert_int_equal(s.answers, 1);
    assert_int_equal(s.last_rtt_ms, 3);
    assert_int_equal(s.rtt.bucket[5], 1); /* 2.5 ms < 3 ms <= 5 ms */
    assert_int_equal(s.rtt.sum_ns, 3000000);
    /* sent, timed out, sent again (a retry), answered 40 ms after the retry with a NACK */
    assert_int_equal(cg__flow_send(f, 200, 2, "roCreate", false, NULL), CG_OK);
    fx_drain(f, &x);
    cg__flow_timer(f, 1200, CG_FLOW_T_ACK);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_REQUEST), 1);
    received(f, 1240, CG_FLOW_OUT, "roAck", "2", true, 0, 901, &x);
    s = stats(f);
    assert_int_equal(s.requests_sent, 2);
    assert_int_equal(s.retries, 1);
    assert_int_equal(s.nacks_received, 1);
    assert_int_equal(s.answers, 2);
    assert_int_equal(s.last_rtt_ms, 40);
    assert_int_equal(s.rtt.bucket[8], 1); /* 25 < 40 <= 50 ms */
    /* a third one never answered: the budget (1 retry) spent, a timeout, no RTT */
    assert_int_equal(cg__flow_send(f, 2000, 3, "roCreate", false, NULL), CG_OK);
    fx_drain(f, &x);
    cg__flow_timer(f, 3000, CG_FLOW_T_ACK);
    fx_drain(f, &x);
    cg__flow_timer(f, 4000, CG_FLOW_T_ACK);
    fx_drain(f, &x);
    assert_non_null(fx_find(&x, CG_FLOW_A_COMPLETE));
    s = stats(f);
    assert_int_equal(s.requests_sent, 3);
    assert_int_equal(s.retries, 2);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.answers, 2);
    assert_int_equal(s.last_rtt_ms, 40);
    uint64_t total = 0;
    for (size_t i = 0; i < CG_HISTOGRAM_BUCKETS; i++)
        total += s.rtt.bucket[i];
    assert_int_equal(total, 2); /* the timeout is not a round trip */
    assert_int_equal(s.rtt.count, 2);
    assert_int_equal(s.rtt.sum_ns, 43000000);
    free(f);
}

/* RTTs land in the library's buckets (castgate/stats.h): 999 ms in the 1 s
 * one, an answer in the same millisecond in the first, one past 2.5 s in +Inf. */
static void test_rtt_buckets(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = {.ch = 0, .my_id = "dev", .peer_id = "ncs",
                               .ack_timeout_ms = 10000, .max_queue = 8, .max_held = 4};
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    cg__flow_lane_up(f, 0, CG_FLOW_OUT);
    fx_drain(f, &x);
    static const uint64_t sent_at[] = {0, 2000, 3000}, answered_at[] = {999, 2000, 6000};
    for (unsigned i = 0; i < 3; i++) { /* 999 ms, 0 ms, 3 s */
        assert_int_equal(cg__flow_send(f, sent_at[i], 1 + i, "roCreate", false, NULL), CG_OK);
        fx_drain(f, &x);
        char id[8];
        snprintf(id, sizeof(id), "%u", i + 1);
        received(f, answered_at[i], CG_FLOW_OUT, "roAck", id, false, 0, 900, &x);
    }
    struct cg_flow_stats s = stats(f);
    assert_true(cg_histogram_bound(12) == 1.0);
    assert_int_equal(s.rtt.bucket[12], 1);
    assert_int_equal(s.rtt.bucket[0], 1);
    assert_int_equal(s.rtt.bucket[CG_HISTOGRAM_BUCKETS - 1], 1);
    assert_int_equal(s.rtt.count, 3);
    free(f);
}

/* IN: deliveries, held now and at most, repeats answered from memory, NACKs sent. */
static void test_in_counters(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk_up(8, 0, &x);
    received(f, 1, CG_FLOW_IN, "roCreate", "10", false, 10, 110, &x);
    uint64_t tok = fx_find(&x, CG_FLOW_A_DELIVER)->token;
    received(f, 2, CG_FLOW_IN, "roCreate", "11", false, 11, 111, &x);
    received(f, 3, CG_FLOW_IN, "roCreate", "12", false, 12, 112, &x);
    struct cg_flow_stats s = stats(f);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.held, 2);
    assert_int_equal(s.held_max, 2);
    assert_int_equal(cg__flow_app_answer(f, 4, tok, 500), CG_OK); /* 11 goes on */
    fx_drain(f, &x);
    s = stats(f);
    assert_int_equal(s.delivered, 2);
    assert_int_equal(s.held, 1);
    assert_int_equal(s.held_max, 2);
    received(f, 5, CG_FLOW_IN, "roCreate", "10", false, 10, 113, &x); /* its answer was lost */
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_ANSWER), 1);
    assert_int_equal(stats(f).repeats_answered, 1);
    received(f, 6, CG_FLOW_IN, "roCreate", "10", false, 99, 114, &x); /* other content */
    received(f, 7, CG_FLOW_IN, "roCreate", "20", false, 20, 115, &x);
    received(f, 8, CG_FLOW_IN, "roCreate", "21", false, 21, 116, &x);
    received(f, 9, CG_FLOW_IN, "roCreate", "22", false, 22, 117, &x); /* the 5th waiting: NACK */
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_NACK), 1);
    s = stats(f);
    assert_int_equal(s.nacks_sent, 1);
    assert_int_equal(s.held, 4);
    assert_int_equal(s.held_max, 4);
    free(f);
}

/* max_queue above CG_FLOW_QUEUE_MAX: the caller gives room, the order holds. */
static void test_queue_grown_by_the_caller(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk_up(3 * CG_FLOW_QUEUE_MAX, 0, &x);
    size_t n = 0;
    for (; n < CG_FLOW_QUEUE_MAX; n++)
        assert_int_equal(cg__flow_send(f, 1, 1000 + n, "roCreate", false, NULL), CG_OK);
    fx_drain(f, &x);
    received(f, 2, CG_FLOW_OUT, "roAck", "1", false, 0, 900, &x); /* the ring's head moves */
    assert_int_equal(cg__flow_send(f, 3, 1000 + n++, "roCreate", false, NULL), CG_OK);
    assert_true(cg__flow_queue_wants_room(f));
    assert_int_equal(cg__flow_send(f, 3, 5000, "roCreate", false, NULL), CG_EFULL);
    struct cg_flow_out_req *big = calloc(2 * CG_FLOW_QUEUE_MAX, sizeof(*big));
    assert_non_null(big);
    assert_null(cg__flow_queue_room(f, big, 1)); /* smaller than the queue */
    assert_ptr_equal(cg__flow_queue_room(f, big, 2 * CG_FLOW_QUEUE_MAX), f->queue_own);
    assert_false(cg__flow_queue_wants_room(f));
    for (; n < 2 * CG_FLOW_QUEUE_MAX + 1; n++)
        assert_int_equal(cg__flow_send(f, 4, 1000 + n, "roCreate", false, NULL), CG_OK);
    assert_int_equal(cg__flow_send(f, 4, 5000, "roCreate", false, NULL), CG_EFULL);
    /* answered one by one, each completes the next in send order */
    for (size_t i = 1; i < n; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%zu", i + 1);
        received(f, 5, CG_FLOW_OUT, "roAck", id, false, 0, 900, &x);
        assert_int_equal(fx_find(&x, CG_FLOW_A_COMPLETE)->ref, 1000 + i);
    }
    assert_int_equal(f->qlen, 0);
    free(big);
    free(f);
}

/* M-09: traffic the core did not see keeps the lane from being idle. */
static void test_traffic_outside_the_core_counts_for_idleness(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk_up(8, 0, &x);
    cg__flow_traffic(f, 20000, CG_FLOW_IN, true); /* a refusal written by the caller */
    cg__flow_timer(f, 30000, CG_FLOW_T_IDLE_IN);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_KEEPALIVE), 0);
    cg__flow_traffic(f, 45000, CG_FLOW_IN, false); /* a message refused before the core */
    cg__flow_timer(f, 50000, CG_FLOW_T_IDLE_IN);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_KEEPALIVE), 0);
    cg__flow_timer(f, 75000, CG_FLOW_T_IDLE_IN);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_KEEPALIVE), 1);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_counters_and_rtt),
        cmocka_unit_test(test_rtt_buckets),
        cmocka_unit_test(test_in_counters),
        cmocka_unit_test(test_queue_grown_by_the_caller),
        cmocka_unit_test(test_traffic_outside_the_core_counts_for_idleness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
