/* cg_relay_link_lane_stats (castgate/relay.h; issue 15 item 4): the flow
 * core's counters of one lane of a link, read through the relay, which a
 * program (castgate run's /metrics) sees instead of the endpoints. The relay
 * is not started (no sockets): a forwarded request waits in its OUT lane's
 * queue (M-22), which the counters show on that side and no other. */
#include "testutil.h"

#include "relay/relay.h"

#include <string.h>

static enum cg_err configure(void *user, enum cg_relay_side side, enum cg_mos_role role,
                             const char *id, struct cg_mos_endpoint_config *cfg)
{
    (void)user, (void)side, (void)role, (void)id, (void)cfg;
    return CG_OK;
}

static const char ro_req[] = "<mos><mosID>MOS1</mosID><ncsID>NCS1</ncsID><messageID>1</messageID>"
                             "<roReq><roID>R</roID></roReq></mos>";

static void test_lane_stats_per_link_side_channel_dir(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_relay *r = NULL;
    struct cg_relay_handlers h = {.configure_endpoint = configure};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_relay_new(ctx, NULL, &h, NULL, &r), CG_OK);
    struct cg_relay_link_config *lc = NULL;
    assert_int_equal(cg_relay_link_config_new("a", &lc), CG_OK);
    assert_int_equal(cg_relay_link_config_set_gear(lc, CG_MOS_ROLE_NCS, "NCS1", "MOS1"), CG_OK);
    struct cg_mos_peer_config *gear = NULL, *far = NULL;
    assert_int_equal(cg_mos_peer_config_new("NCS1", &gear), CG_OK);
    assert_int_equal(cg_mos_peer_config_new("MOS1", &far), CG_OK);
    assert_int_equal(cg_relay_add_link(r, lc, gear, far), CG_OK);

    struct cg_mos_lane_stats ls;
    memset(&ls, 0xff, sizeof(ls));
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT, &ls),
                     CG_OK);
    assert_int_equal(ls.queued + ls.requests_sent + ls.retries + ls.timeouts + ls.rtt.count, 0);

    /* two requests towards the far side, one towards the gear, on ro */
    assert_int_equal(cg_mos_forward(cg__relay_endpoint(r, "a", CG_RELAY_MOS4), "MOS1", CG_MOS_CH_RO,
                                    ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    assert_int_equal(cg_mos_forward(cg__relay_endpoint(r, "a", CG_RELAY_MOS4), "MOS1", CG_MOS_CH_RO,
                                    ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    assert_int_equal(cg_mos_forward(cg__relay_endpoint(r, "a", CG_RELAY_LEGACY), "NCS1",
                                    CG_MOS_CH_RO, ro_req, sizeof(ro_req) - 1, NULL, NULL), CG_OK);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT, &ls),
                     CG_OK);
    assert_int_equal(ls.queued, 2);
    assert_int_equal(ls.requests_sent, 0); /* no lane up: nothing written (M-22) */
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_LEGACY, CG_MOS_CH_RO, CG_MOS_OUT,
                                              &ls), CG_OK);
    assert_int_equal(ls.queued, 1);
    /* the IN lane, another channel: nothing */
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_IN, &ls),
                     CG_OK);
    assert_int_equal(ls.queued + ls.delivered + ls.held + ls.held_max + ls.nacks_sent, 0);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_MOM, CG_MOS_OUT,
                                              &ls), CG_OK);
    assert_int_equal(ls.queued, 0);

    /* refusals */
    assert_int_equal(cg_relay_link_lane_stats(r, "zz", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT, &ls),
                     CG_ENOTFOUND);
    assert_int_equal(cg_relay_link_lane_stats(NULL, "a", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT,
                                              &ls), CG_EINVAL);
    assert_int_equal(cg_relay_link_lane_stats(r, NULL, CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT, &ls),
                     CG_EINVAL);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT, NULL),
                     CG_EINVAL);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", (enum cg_relay_side)2, CG_MOS_CH_RO,
                                              CG_MOS_OUT, &ls), CG_EINVAL);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_PLUGIN, CG_MOS_OUT,
                                              &ls), CG_EINVAL);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_RO,
                                              (enum cg_mos_dir)2, &ls), CG_EINVAL);
    /* a removed link: not found */
    assert_int_equal(cg_relay_remove_link(r, "a"), CG_OK);
    assert_int_equal(cg_relay_link_lane_stats(r, "a", CG_RELAY_MOS4, CG_MOS_CH_RO, CG_MOS_OUT, &ls),
                     CG_ENOTFOUND);

    cg_mos_peer_config_free(gear);
    cg_mos_peer_config_free(far);
    cg_relay_link_config_free(lc);
    cg_relay_free(r);
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lane_stats_per_link_side_channel_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
