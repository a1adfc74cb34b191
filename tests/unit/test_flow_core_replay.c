/* The flow core (src/flow/) alone, injected clock: a journal replay that
 * brings back more requests without an answer than the core's own held ring
 * (CG_FLOW_HELD_MAX, 64) has room for, and a request that never reached the
 * application. M-22: "unacked and queued messages should survive a restart",
 * "order of application is critical", one request at the application at a
 * time; nothing may be dropped silently. */
#include "testutil.h"
#include "flowfix.h"

#include <stdlib.h>

static struct cg_flow_config cfg_default(void)
{
    return (struct cg_flow_config){.ch = 0, .my_id = "dev", .peer_id = "ncs",
                                   .ack_timeout_ms = 1000, .retries = 2, .keepalive_ms = 30000,
                                   .max_queue = 8, .max_held = 4, .journal = false};
}

static struct cg_flow *mk(const struct cg_flow_config *c)
{
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, c, 0), CG_OK);
    return f;
}

/* How many LOG actions at level lv say needle. */
static size_t logs_saying(const struct fx_acts *x, enum cg_log_level lv, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < x->n; i++)
        n += x->a[i].kind == CG_FLOW_A_LOG && x->a[i].level == lv &&
             strstr(x->a[i].text, needle) != NULL;
    return n;
}

/* As the adapter does (src/mos4/journal.c): room doubled when the ring is
 * full; the test owns each buffer it gives. */
static void give_room(struct cg_flow *f, struct cg_flow_held **mine)
{
    if (!cg__flow_held_wants_room(f))
        return;
    size_t cap = 2 * f->hcap;
    struct cg_flow_held *room = calloc(cap, sizeof(*room));
    assert_non_null(room);
    struct cg_flow_held *old = cg__flow_held_room(f, room, cap);
    assert_non_null(old);
    if (old != f->held_own) {
        assert_ptr_equal(old, *mine);
        free(old);
    }
    *mine = room;
}

/* 150 requests in the journal, every tenth answered before the restart
 * (M-22: not delivered again): the 135 others are each delivered again, in
 * journal order, one at a time, marked as possible repeats; nothing is
 * released before its turn and nothing is refused. */
static void test_m22_replay_past_the_held_ring_all_in_order(void **state)
{
    (void)state;
    enum { N = 150 };
    struct fx_acts x;
    struct cg_flow_config c = cfg_default();
    c.journal = true;
    struct cg_flow *f = mk(&c);
    struct cg_flow_held *mine = NULL;
    char id[16];
    uint8_t d[CG_FLOW_DIGEST];
    size_t released = 0;
    for (unsigned i = 1; i <= N; i++) {
        snprintf(id, sizeof(id), "%u", i);
        fx_digest(d, i);
        give_room(f, &mine);
        cg__flow_replay_request(f, 1000 + i, id, d, "roCreate");
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 0);
        assert_int_equal(logs_saying(&x, CG_LOG_ERROR, ""), 0);
        if (i % 10 == 0) { /* answered before the restart */
            cg__flow_replay_answer(f, id, d, 5000 + i);
            fx_drain(f, &x);
            assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 1);
            assert_int_equal(fx_find(&x, CG_FLOW_A_RELEASE)->ref, 1000 + i);
            released++;
        }
    }
    assert_int_equal(f->hlen, N - N / 10);
    assert_true(f->hcap >= N - N / 10);
    cg__flow_replay_done(f, 0);
    fx_drain(f, &x);
    assert_false(f->overflow);
    unsigned delivered = 0, expect = 1;
    uint64_t now = 1;
    while (fx_count(&x, CG_FLOW_A_DELIVER) == 1) {
        const struct cg_flow_act *a = fx_find(&x, CG_FLOW_A_DELIVER);
        if (expect % 10 == 0)
            expect++;
        snprintf(id, sizeof(id), "%u", expect);
        assert_string_equal(a->msgid, id); /* journal order (M-22) */
        assert_int_equal(a->ref, 1000 + expect);
        assert_true(a->repeat);
        delivered++;
        expect++;
        assert_int_equal(cg__flow_app_answer(f, now++, a->token, 9000 + delivered), CG_OK);
        fx_drain(f, &x);
        assert_false(f->overflow);
        assert_true(fx_count(&x, CG_FLOW_A_DELIVER) <= 1); /* one at a time (M-22) */
    }
    assert_int_equal(delivered, N - N / 10);
    assert_int_equal(f->hlen, 0);
    assert_int_equal(released, N / 10);
    assert_ptr_equal(cg__flow_held_room(f, f->held_own, CG_FLOW_HELD_MAX), mine);
    free(mine);
    free(f);
}

/* Without room (the caller out of memory) the 65th request is refused
 * aloud: an error naming its messageID, its ref released; the 64 before it
 * are delivered again in order. */
static void test_m22_replay_without_room_refused_aloud(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg_default();
    c.journal = true;
    struct cg_flow *f = mk(&c);
    char id[16];
    uint8_t d[CG_FLOW_DIGEST];
    for (unsigned i = 1; i <= CG_FLOW_HELD_MAX + 1; i++) {
        snprintf(id, sizeof(id), "%u", i);
        fx_digest(d, i);
        cg__flow_replay_request(f, 100 + i, id, d, "roCreate");
        fx_drain(f, &x);
    }
    assert_int_equal(logs_saying(&x, CG_LOG_ERROR, "messageID 65 "), 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 1);
    assert_int_equal(fx_find(&x, CG_FLOW_A_RELEASE)->ref, 100 + CG_FLOW_HELD_MAX + 1);
    cg__flow_replay_done(f, 0);
    fx_drain(f, &x);
    for (unsigned i = 1; i <= CG_FLOW_HELD_MAX; i++) {
        const struct cg_flow_act *a = fx_find(&x, CG_FLOW_A_DELIVER);
        assert_non_null(a);
        assert_int_equal(a->ref, 100 + i);
        assert_int_equal(cg__flow_app_answer(f, i, a->token, 500 + i), CG_OK);
        fx_drain(f, &x);
    }
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
    free(f);
}

/* A request that never reached the application (its handle could not be
 * made) is refused with a NACK and the lane moves on: the one held behind it
 * is delivered, and the sender's repeat of the refused one is new (its
 * messageID was forgotten), held and then delivered. */
static void test_m22_undelivered_request_nacked_and_lane_moves_on(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg_default();
    struct cg_flow *f = mk(&c);
    cg__flow_lane_up(f, 0, CG_FLOW_OUT);
    cg__flow_lane_up(f, 0, CG_FLOW_IN);
    fx_drain(f, &x);
    struct cg_mos_envelope e1, e2;
    fx_env(&e1, "roCreate", "1", "dev", "ncs");
    fx_env(&e2, "roCreate", "2", "dev", "ncs");
    struct cg_flow_msg m1 = {.env = &e1, .ref = 11}, m2 = {.env = &e2, .ref = 12};
    fx_digest(m1.digest, 1);
    fx_digest(m2.digest, 2);
    cg__flow_received(f, 1, CG_FLOW_IN, &m1);
    fx_drain(f, &x);
    uint64_t t1 = fx_find(&x, CG_FLOW_A_DELIVER)->token;
    cg__flow_received(f, 2, CG_FLOW_IN, &m2);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_KEEP)->ref, 12); /* held behind 1 */
    assert_int_equal(cg__flow_app_refuse(f, 3, t1 + 1, "out of memory"), CG_ESTATE);
    assert_int_equal(cg__flow_app_refuse(f, 3, t1, "out of memory"), CG_OK);
    fx_drain(f, &x);
    const struct cg_flow_act *n = fx_find(&x, CG_FLOW_A_SEND_NACK);
    assert_string_equal(n->msgid, "1");
    assert_non_null(strstr(n->text, "out of memory"));
    assert_int_equal(logs_saying(&x, CG_LOG_ERROR, "messageID 1 not delivered"), 1);
    const struct cg_flow_act *d2 = fx_find(&x, CG_FLOW_A_DELIVER); /* the lane moved on */
    assert_int_equal(d2->ref, 12);
    uint64_t t2 = d2->token;
    m1.ref = 21; /* the sender's repeat */
    cg__flow_received(f, 4, CG_FLOW_IN, &m1);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_KEEP)->ref, 21);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_ANSWER) + fx_count(&x, CG_FLOW_A_SEND_ACK) +
                         fx_count(&x, CG_FLOW_A_SEND_NACK), 0);
    assert_int_equal(cg__flow_app_answer(f, 5, t2, 902), CG_OK);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_DELIVER)->ref, 21);
    assert_int_equal(f->stats.delivered, 3);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m22_replay_past_the_held_ring_all_in_order),
        cmocka_unit_test(test_m22_replay_without_room_refused_aloud),
        cmocka_unit_test(test_m22_undelivered_request_nacked_and_lane_moves_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
