/* The relay's NACK counters (castgate/relay.h, src/relay/stats.c; issue 15
 * item 4): by the side the request came from, the reason (M-12 policies,
 * forward failures, retries exhausted, the peer's own NACK) and channel. */
#include "testutil.h"

#include "relay/relay.h"

static void test_nacks_by_side_reason_and_channel(void **state)
{
    (void)state;
    struct cg_relay_stats st = {0};
    cg__relay_count_nack(&st, CG_RELAY_LEGACY, CG_RELAY_NACK_REMOVED, CG_MOS_CH_RO); /* M-12 */
    cg__relay_count_nack(&st, CG_RELAY_LEGACY, CG_RELAY_NACK_REMOVED, CG_MOS_CH_RO);
    cg__relay_count_nack(&st, CG_RELAY_MOS4, CG_RELAY_NACK_PEER, CG_MOS_CH_MOM);
    cg__relay_count_nack(&st, CG_RELAY_MOS4, CG_RELAY_NACK_NO_ANSWER, CG_MOS_CH_AUX);
    cg__relay_count_nack(&st, CG_RELAY_MOS4, CG_RELAY_NACK_FORWARD, CG_MOS_CH_PLUGIN); /* no lane */
    cg__relay_count_nack(&st, CG_RELAY_MOS4, CG_RELAY_NACK_REASONS, CG_MOS_CH_MOM);  /* out of range */
    cg__relay_count_nack(NULL, CG_RELAY_MOS4, CG_RELAY_NACK_PEER, CG_MOS_CH_MOM);
    assert_int_equal(st.nacks[CG_RELAY_LEGACY][CG_RELAY_NACK_REMOVED][1], 2);
    assert_int_equal(st.nacks[CG_RELAY_MOS4][CG_RELAY_NACK_PEER][0], 1);
    assert_int_equal(st.nacks[CG_RELAY_MOS4][CG_RELAY_NACK_NO_ANSWER][2], 1);
    uint64_t total = 0;
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < CG_RELAY_NACK_REASONS; r++)
            for (int c = 0; c < CG_RELAY_CHANNELS; c++)
                total += st.nacks[s][r][c];
    assert_int_equal(total, 4);
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(cg_relay_nack_name(CG_RELAY_NACK_REMOVED), "removed_in_4");
    assert_string_equal(cg_relay_nack_name(CG_RELAY_NACK_PEER), "peer");
    assert_string_equal(cg_relay_nack_name(CG_RELAY_NACK_NO_ANSWER), "no_answer");
    assert_string_equal(cg_relay_nack_name(CG_RELAY_NACK_REASONS), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nacks_by_side_reason_and_channel),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
