/* A large message's libxml2 check (src/mos4/flow.c vjob) runs on the
 * context's low-priority threads (nice 10), off the loop thread,
 * so a peer sending large messages cannot take the CPU from the loop that
 * serves every other lane (issue 12, denial of service). A MOS 2.x port
 * (M-21) feeds a 1.2 MB valid message; the endpoint answers it. */
// CG_WRAP: cg__mos_check_fresh
// CG_LINK: vjobrig.c
#include "vjobrig.h"

#include <sched.h>
#include <signal.h>

#define ITEMS 150000

static void test_large_message_validated_at_low_priority(void **unused)
{
    (void)unused;
    struct vj_rig r = {0};
    vj_feed(&r, 1024, ITEMS);
    assert_int_equal(r.requests, 1);
    assert_true(vj_big.seen);
    assert_false(vj_big.on_loop);
    if (vj_big.policy != SCHED_OTHER || vj_big.nice != 10)
        fail_msg("the large message was validated at policy %d nice %d; want SCHED_OTHER (%d) "
                 "and nice 10", vj_big.policy, vj_big.nice, SCHED_OTHER);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_message_validated_at_low_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
