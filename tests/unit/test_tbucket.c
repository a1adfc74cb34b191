/* The token bucket (src/core/tbucket.c), sans-I/O, on a clock the test moves:
 * the budget of password hashes unauthenticated peers may cost (issue 12
 * item 4). */
#include "testutil.h"
#include "core/core.h"

#include <stdint.h>

static void test_starts_full_then_refuses(void **state)
{
    (void)state;
    struct cg_tbucket b;
    cg__tbucket_init(&b, 2, 3, 1000);
    assert_int_equal(cg__tbucket_tokens(&b, 1000), 3);
    for (int i = 0; i < 3; i++)
        assert_true(cg__tbucket_take(&b, 1000));
    assert_false(cg__tbucket_take(&b, 1000)); /* the burst is spent */
    assert_false(cg__tbucket_take(&b, 1000)); /* a refusal takes nothing */
    assert_int_equal(cg__tbucket_wait_ms(&b, 1000), 500); /* 2 a second */
}

static void test_refills_at_its_rate(void **state)
{
    (void)state;
    struct cg_tbucket b;
    cg__tbucket_init(&b, 4, 1, 0);
    assert_true(cg__tbucket_take(&b, 0));
    assert_false(cg__tbucket_take(&b, 249)); /* 0.996 of a token */
    assert_int_equal(cg__tbucket_wait_ms(&b, 249), 1);
    assert_true(cg__tbucket_take(&b, 250));
    /* 10 s idle fill it to the burst (1), not to 40 */
    assert_int_equal(cg__tbucket_tokens(&b, 10250), 1);
    assert_true(cg__tbucket_take(&b, 10250));
    assert_false(cg__tbucket_take(&b, 10250));
}

static void test_average_over_a_long_run(void **state)
{
    (void)state;
    /* asked every millisecond for 60 s: burst + rate x 60 granted, no more */
    struct cg_tbucket b;
    cg__tbucket_init(&b, 5, 16, 0);
    unsigned granted = 0;
    for (uint64_t t = 0; t <= 60000; t++)
        granted += cg__tbucket_take(&b, t);
    assert_int_equal(granted, 16 + 5 * 60);
}

static void test_time_going_back_refills_nothing(void **state)
{
    (void)state;
    struct cg_tbucket b;
    cg__tbucket_init(&b, 1000, 1, 5000);
    assert_true(cg__tbucket_take(&b, 5000));
    assert_false(cg__tbucket_take(&b, 4000));
    assert_true(cg__tbucket_take(&b, 5001)); /* 1000 a second: one a millisecond */
}

static void test_rate_zero_never_refills(void **state)
{
    (void)state;
    struct cg_tbucket b;
    cg__tbucket_init(&b, 0, 0, 0); /* burst 0 counts as 1 */
    assert_true(cg__tbucket_take(&b, 0));
    assert_false(cg__tbucket_take(&b, UINT64_MAX / 2));
    assert_int_equal(cg__tbucket_wait_ms(&b, UINT64_MAX / 2), UINT64_MAX);
}

static void test_huge_gap_and_rate_do_not_overflow(void **state)
{
    (void)state;
    struct cg_tbucket b;
    cg__tbucket_init(&b, UINT32_MAX, UINT32_MAX, 0);
    for (int i = 0; i < 10; i++)
        assert_true(cg__tbucket_take(&b, 0));
    assert_int_equal(cg__tbucket_tokens(&b, 0), UINT32_MAX - 10);
    assert_int_equal(cg__tbucket_tokens(&b, UINT64_MAX), UINT32_MAX);
    /* half empty, then a gap that would overflow gap x rate */
    cg__tbucket_init(&b, UINT32_MAX, UINT32_MAX, 0);
    b.level = b.cap / 2;
    assert_int_equal(cg__tbucket_tokens(&b, UINT64_MAX / 4), UINT32_MAX);
    cg__tbucket_init(&b, 3, 2, 0);
    b.level = 0;
    assert_int_equal(cg__tbucket_tokens(&b, UINT64_MAX - 1), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_full_then_refuses),
        cmocka_unit_test(test_refills_at_its_rate),
        cmocka_unit_test(test_average_over_a_long_run),
        cmocka_unit_test(test_time_going_back_refills_nothing),
        cmocka_unit_test(test_rate_zero_never_refills),
        cmocka_unit_test(test_huge_gap_and_rate_do_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
