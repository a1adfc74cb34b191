/* src/mos4/stats.c (issue 15 item 4): the process-wide syncfs histogram
 * (fsync = interval) that cg_mos_syncfs_stats reads. */
#include "testutil.h"

#include "mos4/mos4.h"

static void test_syncfs_times_are_counted(void **state)
{
    (void)state;
    struct cg_histogram before = {0}, after = {0};
    cg_mos_syncfs_stats(&before);
    cg__mos4_syncfs_count(2000000);  /* 2 ms: le 0.0025 */
    cg__mos4_syncfs_count(40000000); /* 40 ms: le 0.05 */
    cg_mos_syncfs_stats(&after);
    assert_int_equal(after.count - before.count, 2);
    assert_int_equal(after.bucket[4] - before.bucket[4], 1);
    assert_int_equal(after.bucket[8] - before.bucket[8], 1);
    assert_int_equal(after.sum_ns - before.sum_ns, 42000000);
    cg_mos_syncfs_stats(NULL); /* no crash */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syncfs_times_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
