/* A MOS 4.0 endpoint without a network whose ro lanes are wired by hand,
 * for the lane tests that do not use flowrig.c (test_mos4_cancel.c,
 * test_transport_ops.c, test_flow_refuse_journal.c): each keeps its own
 * struct and sets what it varies after lf_init. */
#ifndef CG_TEST_LANEFIX_H
#define CG_TEST_LANEFIX_H

#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

/* A new context in *ctx logging from level up into log; ep the device
 * "dev" with the settings of cg_mos_endpoint_config_new, on that context;
 * its one peer, peer (in peers[0]), the NCS "ncs" on ro, whose two lanes
 * on channel 1 have no journal file and their ack, idle and retry timers
 * on the context's loop. */
static inline void lf_init(struct cg_ctx **ctx, struct tu_log *log, enum cg_log_level level,
                           struct cg_mos_endpoint *ep, struct mos4_peer *peer,
                           struct mos4_peer **peers)
{
    assert_int_equal(cg_ctx_new(ctx), CG_OK);
    cg_ctx_set_log(*ctx, tu_log_fn, log, level);
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    ep->cfg = *cfg;
    free(cfg); /* its strings are NULL: nothing else to free */
    ep->ctx = *ctx;
    peer->ep = ep;
    snprintf(peer->id, sizeof(peer->id), "ncs");
    peer->channels = CG_MOS_CH_RO;
    peers[0] = peer;
    ep->peers = peers;
    ep->npeers = 1;
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &peer->lanes[1][d];
        l->peer = peer;
        l->ch = 1;
        l->dir = (enum cg_mos_dir)d;
        l->jfd = -1;
        uv_timer_init(cg_ctx_loop(*ctx), &l->ack_timer);
        uv_timer_init(cg_ctx_loop(*ctx), &l->idle_timer);
        uv_timer_init(cg_ctx_loop(*ctx), &l->retry_timer);
    }
}

/* The two lanes' flows freed and their timers closed (the loop run until
 * they are), then the context freed. */
static inline void lf_free(struct cg_ctx *ctx, struct mos4_peer *peer)
{
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &peer->lanes[1][d];
        cg__mos4_flow_free(l);
        uv_close((uv_handle_t *)&l->ack_timer, NULL);
        uv_close((uv_handle_t *)&l->idle_timer, NULL);
        uv_close((uv_handle_t *)&l->retry_timer, NULL);
    }
    uv_run(cg_ctx_loop(ctx), UV_RUN_DEFAULT);
    cg_ctx_free(ctx);
}

#endif
