/* Unit tests for the reconnect backoff (src/mos4/backoff.c, issue 20 item 2):
 * a refusing peer is retried slowly, growing to the cap; a peer that is
 * down is retried fast; only a good lane starts over. */
#include "testutil.h"
#include "mos4/mos4.h"

#define FAST_CAP 1000u
#define SLOW_CAP 60000u

static uint64_t next(struct mos4_backoff *b, enum mos4_outcome o)
{
    return cg__mos4_backoff_next(b, o, FAST_CAP, SLOW_CAP, 100);
}

static void test_down_is_fast(void **state)
{
    (void)state;
    struct mos4_backoff b = {0};
    const uint64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (size_t i = 0; i < CG_ARRAY_LEN(want); i++)
        assert_int_equal(next(&b, MOS4_DOWN), want[i]);
}

static void test_refusals_grow_to_the_cap(void **state)
{
    (void)state;
    struct mos4_backoff b = {0};
    /* 403, 403, 401, 401, accept-and-close, …: one ladder whatever the peer says */
    const enum mos4_outcome o[] = {MOS4_REFUSED, MOS4_REFUSED, MOS4_REFUSED, MOS4_REFUSED,
                                   MOS4_DROPPED, MOS4_DROPPED, MOS4_DROPPED, MOS4_REFUSED};
    const uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    uint64_t t = 0;
    unsigned in_a_minute = 1; /* the first attempt, at t = 0 */
    for (size_t i = 0; i < CG_ARRAY_LEN(want); i++) {
        uint64_t d = next(&b, o[i]);
        assert_int_equal(d, want[i]);
        t += d;
        in_a_minute += t <= 60000;
    }
    assert_true(in_a_minute <= 8); /* issue 20: at most ~8 attempts in 60 s */
    /* with the smallest jitter (75%) still at most 8 in a minute */
    struct mos4_backoff j = {0};
    t = 0;
    in_a_minute = 1;
    for (int i = 0; i < 20; i++) {
        t += cg__mos4_backoff_next(&j, MOS4_REFUSED, FAST_CAP, SLOW_CAP, 75);
        in_a_minute += t <= 60000;
    }
    assert_true(in_a_minute <= 8);
}

static void test_down_between_refusals_keeps_the_count(void **state)
{
    (void)state;
    struct mos4_backoff b = {0};
    assert_int_equal(next(&b, MOS4_REFUSED), 1000);
    assert_int_equal(next(&b, MOS4_REFUSED), 2000);
    assert_int_equal(next(&b, MOS4_DOWN), 100); /* restarting: fast */
    assert_int_equal(next(&b, MOS4_REFUSED), 4000); /* back and still refusing: slow */
}

static void test_only_a_good_lane_starts_over(void **state)
{
    (void)state;
    struct mos4_backoff b = {0};
    for (int i = 0; i < 5; i++)
        next(&b, MOS4_REFUSED);
    assert_int_equal(next(&b, MOS4_DROPPED), 32000); /* up briefly, carried nothing */
    assert_int_equal(next(&b, MOS4_HEALTHY), 100);   /* carried a message or stayed up */
    assert_int_equal(next(&b, MOS4_REFUSED), 1000);
    cg__mos4_backoff_reset(&b);
    assert_int_equal(next(&b, MOS4_REFUSED), 1000);
    assert_int_equal(next(&b, MOS4_DOWN), 100);
}

static void test_configured_cap_and_jitter(void **state)
{
    (void)state;
    struct mos4_backoff b = {0};
    const uint64_t want[] = {1000, 2000, 4000, 4000};
    for (size_t i = 0; i < CG_ARRAY_LEN(want); i++)
        assert_int_equal(cg__mos4_backoff_next(&b, MOS4_REFUSED, FAST_CAP, 4000, 100), want[i]);
    struct mos4_backoff c = {0};
    assert_int_equal(cg__mos4_backoff_next(&c, MOS4_REFUSED, FAST_CAP, SLOW_CAP, 80), 800);
    assert_int_equal(cg__mos4_backoff_next(&c, MOS4_DOWN, FAST_CAP, SLOW_CAP, 50), 100); /* 75..100 only */
    for (int i = 0; i < 100; i++) /* no overflow however long it lasts */
        assert_true(cg__mos4_backoff_next(&c, MOS4_REFUSED, FAST_CAP, SLOW_CAP, 100) <= SLOW_CAP);
}

static void test_outcome_of_a_close(void **state)
{
    (void)state;
    assert_int_equal(cg__mos4_outcome(false, false, CG_EAUTH, 401), MOS4_REFUSED);
    assert_int_equal(cg__mos4_outcome(false, false, CG_EAUTH, 403), MOS4_REFUSED);
    assert_int_equal(cg__mos4_outcome(false, false, CG_EHTTP, 400), MOS4_REFUSED);
    assert_int_equal(cg__mos4_outcome(false, false, CG_EVERIFY, 0), MOS4_REFUSED);
    assert_int_equal(cg__mos4_outcome(false, false, CG_EHANDSHAKE, 0), MOS4_REFUSED);
    assert_int_equal(cg__mos4_outcome(false, false, CG_ENET, 0), MOS4_DOWN);
    assert_int_equal(cg__mos4_outcome(false, false, CG_ETIMEDOUT, 0), MOS4_DOWN);
    assert_int_equal(cg__mos4_outcome(true, false, CG_OK, 0), MOS4_DROPPED);
    assert_int_equal(cg__mos4_outcome(true, true, CG_ENET, 0), MOS4_HEALTHY);
}

/* A 503 with Retry-After (a listener whose password hashing pool is full,
 * src/mos4/endpoint.c) is "busy, come back": the lane waits what it says,
 * bounded to 1..30 s, and the refusal ladder does not climb. */
static void test_busy_waits_retry_after_off_the_ladder(void **state)
{
    (void)state;
    struct mos4_backoff b = {0};
    assert_int_equal(next(&b, MOS4_REFUSED), 1000);
    assert_int_equal(next(&b, MOS4_REFUSED), 2000);
    for (int i = 0; i < 10; i++) {
        assert_true(cg__mos4_backoff_busy(&b, 503, 1));
        assert_int_equal(next(&b, MOS4_BUSY), 1000);
    }
    assert_int_equal(next(&b, MOS4_REFUSED), 4000); /* busy did not climb the ladder */
    assert_true(cg__mos4_backoff_busy(&b, 503, 7));
    assert_int_equal(next(&b, MOS4_BUSY), 7000);
    assert_true(cg__mos4_backoff_busy(&b, 503, 0)); /* at least 1 s */
    assert_int_equal(next(&b, MOS4_BUSY), 1000);
    assert_true(cg__mos4_backoff_busy(&b, 503, 86400)); /* at most 30 s */
    assert_int_equal(next(&b, MOS4_BUSY), 30000);
    /* jitter never comes back earlier than asked: 100..125% */
    assert_true(cg__mos4_backoff_busy(&b, 503, 4));
    assert_int_equal(cg__mos4_backoff_next(&b, MOS4_BUSY, FAST_CAP, SLOW_CAP, 75), 5000);
    assert_true(cg__mos4_backoff_busy(&b, 503, 4));
    assert_int_equal(cg__mos4_backoff_next(&b, MOS4_BUSY, FAST_CAP, SLOW_CAP, 100), 4000);
    /* not busy: a 503 without Retry-After, another status with it */
    assert_false(cg__mos4_backoff_busy(&b, 503, -1));
    assert_false(cg__mos4_backoff_busy(&b, 403, 5));
    assert_false(cg__mos4_backoff_busy(&b, 0, 5));
    assert_int_equal(next(&b, MOS4_REFUSED), 8000);
}

/* M-08: a lane that opened and is closed with 1001 "going away" (a listener
 * shutting down or restarting) before it carried anything is a peer gone,
 * not one refusing us: the fast ladder, so the lane is back "as quickly as
 * possible"; the refusal count stays. Any other early close (ENPS: 1003 on
 * text frames, or no close frame at all) is a drop: the slow ladder. */
static void test_going_away_is_not_a_refusal(void **state)
{
    (void)state;
    assert_int_equal(cg__mos4_closed_outcome(false, 200, 1001), MOS4_GONE);
    assert_int_equal(cg__mos4_closed_outcome(false, 200, 1003), MOS4_DROPPED);
    assert_int_equal(cg__mos4_closed_outcome(false, 200, 1006), MOS4_DROPPED);
    assert_int_equal(cg__mos4_closed_outcome(false, 200, 1000), MOS4_DROPPED);
    assert_int_equal(cg__mos4_closed_outcome(true, 200, 1003), MOS4_HEALTHY);
    assert_int_equal(cg__mos4_closed_outcome(false, MOS4_HEALTHY_MS, 1003), MOS4_HEALTHY);
    struct mos4_backoff b = {0};
    assert_int_equal(next(&b, MOS4_DROPPED), 1000);
    assert_int_equal(next(&b, MOS4_GONE), 100); /* fast, like a peer that is down */
    assert_int_equal(next(&b, MOS4_GONE), 200);
    assert_int_equal(next(&b, MOS4_DROPPED), 2000); /* the refusal count was kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_is_fast),
        cmocka_unit_test(test_refusals_grow_to_the_cap),
        cmocka_unit_test(test_down_between_refusals_keeps_the_count),
        cmocka_unit_test(test_only_a_good_lane_starts_over),
        cmocka_unit_test(test_configured_cap_and_jitter),
        cmocka_unit_test(test_outcome_of_a_close),
        cmocka_unit_test(test_going_away_is_not_a_refusal),
        cmocka_unit_test(test_busy_waits_retry_after_off_the_ladder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
