/* Failover's lane cancel in the relay (issue 18 phase 2 item 2,
 * docs/redundancy.md "Failover of the active side", the CANCEL rule and
 * finding 3 of "Through two gateways"): a request in flight to the primary
 * when it becomes unreachable moves to the buddy under its messageID, and
 * is withdrawn from the primary's lane, so it never reaches both devices:
 * when the primary is back its lane does not send it again, and the
 * primary's late answer (if it had it after all) is dropped there; the
 * gear gets one answer, the buddy's. Without a network: the relay is never
 * started, its lanes get a fake transport that records what is written and
 * go up and down as lane.c would take them; failover_after_ms is 1, so the
 * switch comes on the loop's next turn. */
// CG_LINK: faketransport.c
#include "faketransport.h"
#include "testutil.h"
#include "mos4/mos4.h"
#include "relay/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* the lanes' transport and the helpers ft_lane, ft_up, ft_message, ft_peer: faketransport.c */

#define RO_REQ "<mos><mosID>DEVA</mosID><ncsID>NCS</ncsID><messageID>7</messageID>" \
               "<roReq><roID>RO-7</roID></roReq></mos>"
#define ACK_B "<mos><mosID>DEVB</mosID><ncsID>NCS</ncsID><messageID>7</messageID>" \
              "<roAck><roID>RO-7</roID><roStatus>from-the-buddy</roStatus></roAck></mos>"
#define ACK_A "<mos><mosID>DEVA</mosID><ncsID>NCS</ncsID><messageID>7</messageID>" \
              "<roAck><roID>RO-7</roID><roStatus>from-the-primary</roStatus></roAck></mos>"

/* The legacy NCS knows one device, DEVA; the MOS 4.0 side has DEVA and its
 * hot standby DEVB (redundancy = failover, as tests/interop/
 * test_gateway_failover.sh). */
static void test_moved_request_never_reaches_the_primary_again(void **state)
{
    (void)state;
    struct cg_ctx *ctx;
    struct tu_log log = {0};
    struct cg_relay *r;
    struct cg_relay_link_config *lc;
    ft_relay("fo", "NCS", "DEVA", &log, &ctx, &r, &lc);
    assert_int_equal(cg_relay_link_config_set_buddy(lc, CG_RELAY_MOS4, "DEVB"), CG_OK);
    assert_int_equal(cg_relay_link_config_set_redundancy(lc, CG_RELAY_FAILOVER, 1, CG_RELAY_NEVER),
                     CG_OK);
    struct cg_mos_peer_config *ncs = ft_peer("NCS"), *deva = ft_peer("DEVA"), *devb = ft_peer("DEVB");
    assert_int_equal(cg_relay_add_link(r, lc, ncs, deva), CG_OK);
    assert_int_equal(cg_relay_link_add_buddy(r, "fo", NULL, devb), CG_OK);
    struct cg_mos_endpoint *gear_ep = cg__relay_endpoint(r, "fo", CG_RELAY_LEGACY);
    struct cg_mos_endpoint *far_ep = cg__relay_endpoint(r, "fo", CG_RELAY_MOS4);
    struct mos4_lane *gear_in = ft_lane(gear_ep, "NCS", CG_MOS_IN);
    struct mos4_lane *a_out = ft_lane(far_ep, "DEVA", CG_MOS_OUT);
    struct mos4_lane *b_out = ft_lane(far_ep, "DEVB", CG_MOS_OUT);
    struct ft_fake gear = {0}, a = {0}, b = {0};
    ft_up(gear_in, &gear);
    ft_up(a_out, &a); /* the primary first: it is active and up */
    ft_up(b_out, &b);

    ft_message(gear_in, RO_REQ);
    assert_int_equal(ft_written(&a, "RO-7"), 1); /* to the active leg */
    assert_int_equal(ft_written(&b, "RO-7"), 0);

    cg__mos4_lane_gone(a_out); /* DEVA dies with the request in flight */
    struct cg_relay_stats st;
    for (int i = 0; i < 2000; i++) { /* failover_after_ms = 1: the timer fires on the loop */
        assert_int_equal(cg_relay_link_stats(r, "fo", &st), CG_OK);
        if (st.switches > 0)
            break;
        uv_sleep(1); /* not UV_RUN_ONCE: it would then wait for the next timer (keepAlive, 30 s) */
        uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
    }
    assert_int_equal(st.switches, 1);
    assert_int_equal(st.active, CG_RELAY_BUDDY);
    assert_int_equal(st.withdrawn, 1);
    assert_int_equal(ft_written(&b, "RO-7"), 1); /* moved, under its own messageID (M-22) */
    assert_int_equal(ft_written(&b, "<messageID>7</messageID>"), 1);

    ft_clear(&a);
    ft_up(a_out, &a); /* DEVA is back */
    if (ft_written(&a, "RO-7") != 0)
        fail_msg("the request moved to the buddy was written to the primary again when it came "
                 "back (%zu time(s)): it would reach both devices", ft_written(&a, "RO-7"));

    ft_message(b_out, ACK_B); /* the buddy's answer goes to the gear */
    assert_int_equal(ft_written(&gear, "from-the-buddy"), 1);
    assert_int_equal(ft_written(&gear, "<messageID>7</messageID>"), 1);
    ft_message(a_out, ACK_A); /* the primary answers after all (it had it before it died) */
    assert_int_equal(ft_written(&gear, "from-the-primary"), 0); /* one answer per request */
    struct cg_mos_lane_stats ls;
    assert_int_equal(cg_mos_endpoint_lane_stats(far_ep, "DEVA", CG_MOS_CH_RO, CG_MOS_OUT, &ls),
                     CG_OK);
    assert_int_equal(ls.cancelled, 1);
    assert_int_equal(ls.late_answers, 1); /* dropped by the primary's lane */
    assert_int_equal(ls.retries, 0);
    assert_int_equal(ls.queued, 0);
    assert_int_equal(cg_relay_link_stats(r, "fo", &st), CG_OK);
    assert_int_equal(st.answered, 1);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(cg_relay_inflight(r), 0);

    cg_relay_free(r);
    cg_ctx_free(ctx);
    cg_mos_peer_config_free(ncs);
    cg_mos_peer_config_free(deva);
    cg_mos_peer_config_free(devb);
    cg_relay_link_config_free(lc);
    ft_clear(&gear);
    ft_clear(&a);
    ft_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moved_request_never_reaches_the_primary_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
