/* The flow core's counters through the endpoint (cg_mos_endpoint_lane_stats,
 * include/castgate/mos4.h): an endpoint without a network, its lanes' writes
 * caught by wrapping cg__mos4_lane_write, the answer timer on a real loop. */
// CG_WRAP: cg__mos4_lane_write
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static unsigned writes;

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    (void)l;
    (void)xml;
    (void)len;
    writes++;
    return CG_OK;
}

struct sfix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
};

/* A device endpoint "dev" with NCS peer "ncs" on ro; both ro lanes up. */
static void sfix_init(struct sfix *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(cg_ctx_new(&f->ctx), CG_OK);
    cg_ctx_set_log(f->ctx, tu_log_fn, &f->log, CG_LOG_DEBUG);
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    f->ep.cfg = *cfg;
    free(cfg); /* its strings are NULL */
    f->ep.ctx = f->ctx;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "ncs");
    f->peer.channels = CG_MOS_CH_RO;
    f->peers[0] = &f->peer;
    f->ep.peers = f->peers;
    f->ep.npeers = 1;
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &f->peer.lanes[1][d];
        l->peer = &f->peer;
        l->ch = 1;
        l->dir = (enum cg_mos_dir)d;
        l->jfd = -1;
        l->up = true;
        uv_timer_init(cg_ctx_loop(f->ctx), &l->ack_timer);
        uv_timer_init(cg_ctx_loop(f->ctx), &l->idle_timer);
    }
}

static void sfix_free(struct sfix *f)
{
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &f->peer.lanes[1][d];
        cg__mos4_flow_free(l);
        uv_close((uv_handle_t *)&l->ack_timer, NULL);
        uv_close((uv_handle_t *)&l->idle_timer, NULL);
    }
    uv_run(cg_ctx_loop(f->ctx), UV_RUN_DEFAULT);
    cg_ctx_free(f->ctx);
}

static void arrive(struct sfix *f, enum cg_mos_dir dir, const char *xml)
{
    cg__mos4_on_message(&f->peer.lanes[1][dir], false, (const uint8_t *)xml, strlen(xml));
}

static struct cg_mos_lane_stats stats(struct sfix *f, enum cg_mos_dir dir)
{
    struct cg_mos_lane_stats s;
    assert_int_equal(cg_mos_endpoint_lane_stats(&f->ep, "ncs", CG_MOS_CH_RO, dir, &s), CG_OK);
    return s;
}

static void on_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    (void)reply;
    *(enum cg_err *)user = status;
}

#define ROACK1 "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>1</messageID><roAck><roID/>" \
               "<roStatus>OK</roStatus></roAck></mos>"
#define ROCREATE5 "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>5</messageID><roCreate>" \
                  "<roID>A</roID></roCreate></mos>"

/* A lane that carried nothing reads 0; one send and its answer are counted. */
static void test_out_lane_counts_a_send_and_its_answer(void **state)
{
    (void)state;
    struct sfix f;
    sfix_init(&f);
    struct cg_mos_lane_stats s = stats(&f, CG_MOS_OUT);
    assert_int_equal(s.requests_sent, 0);
    enum cg_err done = CG_EINTERNAL;
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>", 29,
                                 on_done, &done), CG_OK);
    s = stats(&f, CG_MOS_OUT);
    assert_int_equal(s.requests_sent, 1);
    assert_int_equal(s.queued, 1);
    assert_int_equal(s.answers, 0);
    arrive(&f, CG_MOS_OUT, ROACK1);
    assert_int_equal(done, CG_OK);
    s = stats(&f, CG_MOS_OUT);
    assert_int_equal(s.queued, 0);
    assert_int_equal(s.answers, 1);
    assert_int_equal(s.nacks_received, 0);
    uint64_t total = 0;
    for (size_t i = 0; i < CG_HISTOGRAM_BUCKETS; i++)
        total += s.rtt.bucket[i];
    assert_int_equal(total, 1);
    assert_int_equal(s.rtt.count, 1);
    assert_int_equal(stats(&f, CG_MOS_IN).delivered, 0); /* IN fields stay 0 on OUT and back */
    sfix_free(&f);
}

/* IN: a request delivered (the default answer: an ACK) and its repeat answered from memory. */
static void test_in_lane_counts_deliveries_and_repeats(void **state)
{
    (void)state;
    struct sfix f;
    sfix_init(&f);
    arrive(&f, CG_MOS_IN, ROCREATE5);
    arrive(&f, CG_MOS_IN, ROCREATE5);
    struct cg_mos_lane_stats s = stats(&f, CG_MOS_IN);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.repeats_answered, 1);
    assert_int_equal(s.nacks_sent, 0);
    assert_int_equal(s.held, 0);
    assert_int_equal(s.requests_sent, 0);
    /* a third ID refused with a NACK (issue 12 item 12) */
    arrive(&f, CG_MOS_IN, "<mos><mosID>other</mosID><ncsID>ncs</ncsID><messageID>6</messageID>"
                          "<roCreate><roID>B</roID></roCreate></mos>");
    assert_int_equal(stats(&f, CG_MOS_IN).nacks_sent, 1);
    sfix_free(&f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct sfix f;
    sfix_init(&f);
    struct cg_mos_lane_stats s;
    assert_int_equal(cg_mos_endpoint_lane_stats(&f.ep, "nobody", CG_MOS_CH_RO, CG_MOS_OUT, &s),
                     CG_ENOTFOUND);
    assert_int_equal(cg_mos_endpoint_lane_stats(&f.ep, "ncs", CG_MOS_CH_RO, (enum cg_mos_dir)2,
                                                &s), CG_EINVAL);
    assert_int_equal(cg_mos_endpoint_lane_stats(&f.ep, "ncs", (enum cg_mos_channel)0, CG_MOS_OUT,
                                                &s), CG_EINVAL);
    assert_int_equal(cg_mos_endpoint_lane_stats(NULL, "ncs", CG_MOS_CH_RO, CG_MOS_OUT, &s),
                     CG_EINVAL);
    sfix_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_lane_counts_a_send_and_its_answer),
        cmocka_unit_test(test_in_lane_counts_deliveries_and_repeats),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
