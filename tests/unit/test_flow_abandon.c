/* The flow core's abandon of an IN lane's requests (cg__flow_abandon_in,
 * issue 18 leg_state = mirror, docs/redundancy.md "Mirroring a leg's
 * state"): the sender was told its connection is gone (the lane closed), so
 * every request of it not answered yet is given up, never delivered or
 * answered later: the one at the application (its token goes stale) and the
 * held ones; each record closed and messageID forgotten before anything
 * else can read the journal (a replay or a standby taking over delivers
 * none of them), and a repeat the sender makes later on its own is a new
 * request. Refused while the lane is up. A held list longer than one
 * event's actions goes on as they are drained. */
#include "testutil.h"
#include "flowfix.h"

#include <stdlib.h>

static struct cg_flow *mk(bool journal, size_t max_held)
{
    struct cg_flow_config c = {.ch = 1, .my_id = "dev", .peer_id = "ncs", .ack_timeout_ms = 1000,
                               .retries = 2, .max_queue = 8, .max_held = max_held,
                               .record = true, .journal = journal};
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    cg__flow_lane_up(f, 0, CG_FLOW_IN);
    struct fx_acts x;
    fx_drain(f, &x);
    return f;
}

/* A request with messageID id (digest seeded by id) arrives; its journal
 * record is written when asked. The token when it is delivered, else 0. */
static uint64_t arrive(struct cg_flow *f, uint64_t now, int id, uint64_t ref, struct fx_acts *x)
{
    struct cg_mos_envelope e;
    char ids[16];
    snprintf(ids, sizeof(ids), "%d", id);
    fx_env(&e, "roElementStat", ids, "dev", "ncs");
    struct cg_flow_msg m = {.env = &e, .ref = ref};
    fx_digest(m.digest, (uint8_t)id);
    cg__flow_received(f, now, CG_FLOW_IN, &m);
    fx_drain(f, x);
    if (fx_count(x, CG_FLOW_A_JOURNAL_REQUEST) == 1) {
        cg__flow_journal_result(f, now, true, NULL);
        fx_drain(f, x);
    }
    return fx_count(x, CG_FLOW_A_DELIVER) == 1 ? fx_find(x, CG_FLOW_A_DELIVER)->token : 0;
}

static void test_refused_while_the_lane_is_up(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, 4);
    uint64_t t = arrive(f, 1, 5, 11, &x);
    assert_int_not_equal(t, 0);
    size_t n = 99;
    assert_int_equal(cg__flow_abandon_in(f, 2, "test", &n), CG_ESTATE);
    fx_drain(f, &x);
    assert_int_equal(x.n, 0);
    assert_int_equal(n, 99);
    assert_int_equal(cg__flow_abandon_in(NULL, 2, "test", &n), CG_EINVAL);
    free(f);
}

/* Journal on: the one at the application and two held, given up in order:
 * three records closed (the current first), the held refs released, no
 * NACK, nothing delivered; the application's late answer is refused; the
 * sender's own repeat after the lane is back is a new request. */
static void test_current_and_held_given_up_in_order(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, 4);
    uint64_t t = arrive(f, 1, 5, 11, &x);
    assert_int_not_equal(t, 0);
    assert_int_equal(arrive(f, 2, 6, 12, &x), 0); /* held behind it (M-22) */
    assert_int_equal(arrive(f, 3, 7, 13, &x), 0);
    cg__flow_lane_down(f, 4, CG_FLOW_IN);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 0); /* journaled: kept while away */
    size_t n = 0;
    assert_int_equal(cg__flow_abandon_in(f, 5, "the far server is gone", &n), CG_OK);
    assert_int_equal(n, 3);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_ANSWER), 3);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_NACK), 0);
    assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_ANSWER), 0);
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
    const char *order[] = {"5", "6", "7"};
    size_t k = 0;
    uint64_t released[2] = {0, 0};
    size_t nr = 0;
    for (size_t i = 0; i < x.n; i++) {
        if (x.a[i].kind == CG_FLOW_A_JOURNAL_ANSWER) {
            assert_true(x.a[i].forget);
            assert_int_equal(x.a[i].answer, 0);
            assert_string_equal(x.a[i].msgid, order[k++]);
        } else if (x.a[i].kind == CG_FLOW_A_RELEASE) {
            assert_true(nr < 2);
            released[nr++] = x.a[i].ref;
        }
    }
    assert_int_equal(nr, 2);
    assert_int_equal(released[0], 12);
    assert_int_equal(released[1], 13);
    assert_int_equal(f->hlen, 0);
    /* the application answers late: refused, nothing recorded or sent */
    assert_int_equal(cg__flow_app_answer(f, 6, t, 99), CG_ESTATE);
    fx_drain(f, &x);
    assert_int_equal(x.n, 0);
    /* the lane back: the sender repeats 5 on its own: a new request, delivered */
    cg__flow_lane_up(f, 7, CG_FLOW_IN);
    fx_drain(f, &x);
    uint64_t t2 = arrive(f, 8, 5, 21, &x);
    assert_int_not_equal(t2, 0);
    assert_int_not_equal(t2, t);
    assert_false(fx_find(&x, CG_FLOW_A_DELIVER)->repeat);
    assert_int_equal(cg__flow_app_answer(f, 9, t2, 98), CG_OK);
    free(f);
}

/* Journal off (records by messageID only): the held ones were dropped when
 * the lane went down; the one at the application is closed and forgotten. */
static void test_without_journal_the_current_is_closed(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(false, 4);
    uint64_t t = arrive(f, 1, 5, 11, &x);
    assert_int_not_equal(t, 0);
    cg__flow_lane_down(f, 2, CG_FLOW_IN);
    fx_drain(f, &x);
    size_t n = 0;
    assert_int_equal(cg__flow_abandon_in(f, 3, "test", &n), CG_OK);
    assert_int_equal(n, 1);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_ANSWER), 1);
    assert_true(fx_find(&x, CG_FLOW_A_JOURNAL_ANSWER)->forget);
    assert_int_equal(cg__flow_app_answer(f, 4, t, 99), CG_ESTATE);
    /* nothing there: nothing to give up */
    assert_int_equal(cg__flow_abandon_in(f, 5, "test", &n), CG_OK);
    assert_int_equal(n, 0);
    fx_drain(f, &x);
    assert_int_equal(x.n, 0);
    free(f);
}

/* A full held list (more than one event's actions): every one closed and
 * released as the actions are drained, none delivered, in order. */
static void test_long_held_list_goes_on_as_drained(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow *f = mk(true, CG_FLOW_HELD_MAX);
    assert_int_not_equal(arrive(f, 1, 1, 1000, &x), 0);
    for (int i = 2; i <= CG_FLOW_HELD_MAX + 1; i++)
        assert_int_equal(arrive(f, 1, i, 1000 + (uint64_t)i, &x), 0);
    assert_int_equal(f->hlen, CG_FLOW_HELD_MAX);
    cg__flow_lane_down(f, 2, CG_FLOW_IN);
    fx_drain(f, &x);
    size_t n = 0;
    assert_int_equal(cg__flow_abandon_in(f, 3, "test", &n), CG_OK);
    assert_int_equal(n, CG_FLOW_HELD_MAX + 1);
    fx_drain(f, &x); /* FX_MAX is above what this needs */
    assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_ANSWER), CG_FLOW_HELD_MAX + 1);
    assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), CG_FLOW_HELD_MAX);
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
    int want = 1;
    for (size_t i = 0; i < x.n; i++)
        if (x.a[i].kind == CG_FLOW_A_JOURNAL_ANSWER) {
            char w[16];
            snprintf(w, sizeof(w), "%d", want++);
            assert_string_equal(x.a[i].msgid, w);
        }
    assert_int_equal(f->hlen, 0);
    assert_false(f->abandon_pending);
    free(f);
}

/* What a restart (or a standby taking over) reads back: the three requests
 * and their closes, in journal order: none is delivered again. */
static void test_replay_of_closed_records_delivers_none(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = {.ch = 1, .my_id = "dev", .peer_id = "ncs", .ack_timeout_ms = 1000,
                               .retries = 2, .max_queue = 8, .max_held = 4, .record = true,
                               .journal = true};
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    uint8_t d[CG_FLOW_DIGEST];
    const char *ids[] = {"5", "6", "7"};
    for (int i = 0; i < 3; i++) {
        fx_digest(d, (uint8_t)(5 + i));
        cg__flow_replay_request(f, 31 + (uint64_t)i, ids[i], d, "roElementStat");
    }
    for (int i = 0; i < 3; i++)
        cg__flow_replay_answer(f, ids[i], NULL, 0);
    cg__flow_replay_done(f, 1);
    cg__flow_lane_up(f, 2, CG_FLOW_IN);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
    assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), 3);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_while_the_lane_is_up),
        cmocka_unit_test(test_current_and_held_given_up_in_order),
        cmocka_unit_test(test_without_journal_the_current_is_closed),
        cmocka_unit_test(test_long_held_list_goes_on_as_drained),
        cmocka_unit_test(test_replay_of_closed_records_delivers_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
