/* Where a message is checked with the endpoint's default options
 * (CG_MOS_DEFAULT_ASYNC_VALIDATE, 1 MiB): a 200 KB message on the loop
 * thread, a 1.2 MB one on the context's low-priority threads. A MOS 2.x port
 * (M-21) feeds one valid message; the endpoint answers it.
 * Before: the default was 64 KiB, and a 64 KB message through a gateway pair
 * paid a copy into fresh memory, two thread hand-offs and a wait for an idle
 * CPU (the threads run at SCHED_IDLE): twice the CPU per message on the
 * relay's 64 KB figures (issue 13), and under load the check waited as long
 * as every CPU stayed busy. Checking 1 MiB on the loop takes under a
 * millisecond (docs/validation.md). */
// CG_WRAP: cg__mos_check_fresh
// CG_LINK: vjobrig.c
#include "vjobrig.h"

#include <signal.h>

/* One message of about items * 8 bytes through an endpoint with default
 * options: true if it was checked on the loop thread. */
static bool checked_on_loop(int items)
{
    struct vj_rig r = {0};
    vj_feed(&r, 0, items);
    assert_int_equal(r.requests, 1);
    assert_true(vj_big.seen);
    return vj_big.on_loop;
}

static void test_200kb_on_the_loop(void **unused)
{
    (void)unused;
    if (!checked_on_loop(25000)) /* about 200 KB */
        fail_msg("a 200 KB message was checked off the loop (default async threshold below it)");
}

static void test_over_1mib_off_the_loop(void **unused)
{
    (void)unused;
    assert_false(checked_on_loop(150000)); /* about 1.2 MB */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200kb_on_the_loop),
        cmocka_unit_test(test_over_1mib_off_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
