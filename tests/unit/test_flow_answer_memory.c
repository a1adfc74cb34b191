/* The M-22 memory's byte budget (issue 19, cfg.answer_memory) on the flow
 * core alone: answers of up to CG_FLOW_SMALL_ANSWER bytes are always kept,
 * the newest is always kept whole, older big ones are let go of oldest first
 * while the total is above the budget; one let go of keeps its messageID, so
 * its repeat is refused with a NACK, never delivered again (M-22). */
#include "testutil.h"
#include "flowfix.h"

#include <stdlib.h>

static struct cg_flow *mk(size_t budget, bool journal)
{
    struct cg_flow_config c = {.ch = 0, .my_id = "dev", .peer_id = "ncs", .ack_timeout_ms = 1000,
                               .max_queue = 8, .max_held = 4, .journal = journal,
                               .answer_memory = budget};
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    return f;
}

static void up(struct cg_flow *f, struct fx_acts *x)
{
    cg__flow_lane_up(f, 0, CG_FLOW_OUT);
    cg__flow_lane_up(f, 0, CG_FLOW_IN);
    fx_drain(f, x);
}

/* mosReqObj messageID id (content c, ref 100 + c) arrives. */
static void request(struct cg_flow *f, unsigned id, unsigned c, struct fx_acts *x)
{
    char msgid[16];
    snprintf(msgid, sizeof(msgid), "%u", id);
    struct cg_mos_envelope e;
    fx_env(&e, "mosReqObj", msgid, "dev", "ncs");
    struct cg_flow_msg m = {.env = &e, .ref = 100 + c};
    fx_digest(m.digest, c);
    cg__flow_received(f, 1, CG_FLOW_IN, &m);
    fx_drain(f, x);
}

/* Request id delivered and answered with answer ref 1000 + id, bytes long. */
static void answered(struct cg_flow *f, unsigned id, size_t bytes, struct fx_acts *x)
{
    request(f, id, id, x);
    const struct cg_flow_act *d = fx_find(x, CG_FLOW_A_DELIVER);
    assert_int_equal(cg__flow_app_answer_sized(f, 2, d->token, 1000 + id, bytes), CG_OK);
    fx_drain(f, x);
}

static bool released(const struct fx_acts *x, uint64_t ref)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->a[i].kind == CG_FLOW_A_RELEASE && x->a[i].ref == ref)
            return true;
    return false;
}

static struct cg_flow_stats stats(const struct cg_flow *f)
{
    struct cg_flow_stats s;
    cg__flow_stats(f, &s);
    return s;
}

/* A repeat of id: answered from memory with answer ref `answer`, or (0)
 * refused with a NACK saying the answer is no longer held; never delivered. */
static void repeat(struct cg_flow *f, unsigned id, uint64_t answer, struct fx_acts *x)
{
    request(f, id, id, x);
    assert_int_equal(fx_count(x, CG_FLOW_A_DELIVER), 0);
    if (answer != 0) {
        assert_int_equal(fx_find(x, CG_FLOW_A_SEND_ANSWER)->answer, answer);
        assert_int_equal(fx_count(x, CG_FLOW_A_SEND_NACK), 0);
        return;
    }
    assert_int_equal(fx_count(x, CG_FLOW_A_SEND_ANSWER), 0);
    const struct cg_flow_act *n = fx_find(x, CG_FLOW_A_SEND_NACK);
    assert_non_null(strstr(n->text, "no longer held"));
    char msgid[16];
    snprintf(msgid, sizeof(msgid), "%u", id);
    assert_string_equal(n->msgid, msgid);
}

/* Eviction order: the oldest big one goes first; small ones and the newest
 * stay, the newest whole even above the budget. */
static void test_oldest_big_goes_first_small_and_newest_stay(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(10000, false);
    up(f, &x);
    answered(f, 1, 100, &x); /* a mosAck: always kept */
    answered(f, 2, 6000, &x);
    assert_false(released(&x, 1002));
    assert_int_equal(stats(f).answers_held_bytes, 6100);
    answered(f, 3, 6000, &x); /* 12100 > 10000: 2 goes (3 is the newest) */
    assert_true(released(&x, 1002));
    assert_false(released(&x, 1003));
    assert_int_equal(stats(f).answers_held_bytes, 6100);
    answered(f, 4, 3000, &x); /* small: kept; 9100 within the budget: 3 stays */
    assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 0);
    assert_int_equal(stats(f).answers_held_bytes, 9100);
    answered(f, 5, 50000, &x); /* above the budget alone: kept whole; 3 goes */
    assert_true(released(&x, 1003));
    assert_false(released(&x, 1005));
    struct cg_flow_stats s = stats(f);
    assert_int_equal(s.answers_held_bytes, 100 + 3000 + 50000);
    assert_int_equal(s.answers_evicted, 2);
    assert_int_equal(s.repeats_not_held, 0);
    repeat(f, 1, 1001, &x);
    repeat(f, 4, 1004, &x);
    repeat(f, 5, 1005, &x);
    repeat(f, 2, 0, &x); /* let go of: a NACK, never a second delivery (M-22) */
    repeat(f, 3, 0, &x);
    s = stats(f);
    assert_int_equal(s.repeats_not_held, 2);
    assert_int_equal(s.repeats_answered, 3);
    assert_int_equal(s.delivered, 5);
    answered(f, 6, 200, &x); /* the newest is small: 5 (50000) is not the newest any more */
    assert_true(released(&x, 1005));
    assert_int_equal(stats(f).answers_held_bytes, 100 + 3000 + 200);
    repeat(f, 5, 0, &x);
    free(f);
}

/* The same messageID with other content after it was let go of is another
 * request (issue 20 item 3): delivered, as before the budget. */
static void test_evicted_id_with_other_content_is_new(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(0, false);
    up(f, &x);
    answered(f, 1, 9000, &x);
    answered(f, 2, 9000, &x); /* budget 0: 1 goes */
    assert_true(released(&x, 1001));
    request(f, 1, 77, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_NACK), 0);
    free(f);
}

/* Many let go of in one event: the action queue never overflows (the work
 * goes on as the actions are drained), each answer RELEASEd once. */
static void test_many_evictions_in_one_event(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(400000, false);
    up(f, &x);
    for (unsigned i = 1; i < CG_FLOW_SEEN; i++)
        answered(f, i, 5000, &x);
    assert_int_equal(stats(f).answers_evicted, 0);
    answered(f, CG_FLOW_SEEN, 1000000, &x);
    assert_false(f->overflow);
    assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), CG_FLOW_SEEN - 1);
    for (unsigned i = 1; i < CG_FLOW_SEEN; i++)
        assert_true(released(&x, 1000 + i));
    struct cg_flow_stats s = stats(f);
    assert_int_equal(s.answers_evicted, CG_FLOW_SEEN - 1);
    assert_int_equal(s.answers_held_bytes, 1000000);
    repeat(f, 7, 0, &x);
    free(f);
}

/* Without sizes (cg__flow_app_answer) nothing counts: nothing is let go of. */
static void test_answers_without_size_are_never_let_go_of(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(0, false);
    up(f, &x);
    for (unsigned i = 1; i <= 3; i++) {
        request(f, i, i, &x);
        const struct cg_flow_act *d = fx_find(&x, CG_FLOW_A_DELIVER);
        assert_int_equal(cg__flow_app_answer(f, 2, d->token, 1000 + i), CG_OK);
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 0);
    }
    repeat(f, 1, 1001, &x);
    assert_int_equal(stats(f).answers_held_bytes, 0);
    free(f);
}

/* Journal replay: answers with their sizes are let go of as they were live;
 * one recorded as answered without its answer (cg__flow_replay_evicted)
 * closes its request and its repeat is refused, never delivered. */
static void test_replay_of_evicted_and_sized_answers(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(10000, true);
    uint8_t d1[CG_FLOW_DIGEST], d2[CG_FLOW_DIGEST], d3[CG_FLOW_DIGEST], d4[CG_FLOW_DIGEST];
    fx_digest(d1, 1);
    fx_digest(d2, 2);
    fx_digest(d3, 3);
    fx_digest(d4, 4);
    cg__flow_replay_request(f, 101, "1", d1, "mosReqObj");
    cg__flow_replay_evicted(f, "1", d1); /* its request done: not delivered again */
    cg__flow_replay_answer_sized(f, "2", d2, 1002, 8000);
    cg__flow_replay_answer_sized(f, "3", d3, 1003, 8000); /* 16000 > 10000: 2 goes */
    cg__flow_replay_answer_sized(f, "4", d4, 1004, 300);
    fx_drain(f, &x);
    assert_true(released(&x, 101));
    assert_true(released(&x, 1002));
    assert_false(released(&x, 1003));
    cg__flow_replay_done(f, 3);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
    up(f, &x);
    repeat(f, 1, 0, &x);
    repeat(f, 2, 0, &x);
    repeat(f, 3, 1003, &x);
    repeat(f, 4, 1004, &x);
    struct cg_flow_stats s = stats(f);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.repeats_not_held, 2);
    assert_int_equal(s.answers_held_bytes, 8300);
    free(f);
}

/* A journaled repeat (held, replayed) of one let go of: refused, and its
 * record closed as answered without its answer (JOURNAL_ANSWER, answer 0). */
static void test_held_repeat_of_evicted_is_closed_in_the_journal(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(10000, true);
    uint8_t d1[CG_FLOW_DIGEST];
    fx_digest(d1, 1);
    cg__flow_replay_evicted(f, "1", d1);
    cg__flow_replay_request(f, 201, "1", d1, "mosReqObj"); /* its repeat, recorded, unanswered */
    cg__flow_replay_done(f, 3);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
    assert_true(released(&x, 201));
    const struct cg_flow_act *j = fx_find(&x, CG_FLOW_A_JOURNAL_ANSWER);
    assert_string_equal(j->msgid, "1");
    assert_int_equal(j->answer, 0);
    up(f, &x);
    repeat(f, 1, 0, &x); /* and the peer's own repeat later: refused too */
    struct cg_flow_stats s = stats(f);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.repeats_not_held, 2);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oldest_big_goes_first_small_and_newest_stay),
        cmocka_unit_test(test_evicted_id_with_other_content_is_new),
        cmocka_unit_test(test_many_evictions_in_one_event),
        cmocka_unit_test(test_answers_without_size_are_never_let_go_of),
        cmocka_unit_test(test_replay_of_evicted_and_sized_answers),
        cmocka_unit_test(test_held_repeat_of_evicted_is_closed_in_the_journal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
