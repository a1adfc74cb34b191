/* The flow core's counters through the endpoint (cg_mos_endpoint_lane_stats,
 * include/castgate/mos4.h): an endpoint without a network, its lanes' writes
 * caught by wrapping cg__mos4_lane_write, the answer timer on a real loop. */
// CG_WRAP: cg__mos4_lane_write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A device endpoint "dev" with NCS peer "ncs" on ro; both ro lanes up; no
 * application: a request gets the library's default answer (an ACK). */
static void sfix_init(struct fr_ep *f)
{
    fr_ro_init(f, CG_LOG_DEBUG);
    f->ep.h.on_request = NULL;
    f->ep.user = NULL;
}

static void arrive(struct fr_ep *f, enum cg_mos_dir dir, const char *xml)
{
    fr_arrive(f, dir, xml, strlen(xml));
}

static struct cg_mos_lane_stats stats(struct fr_ep *f, enum cg_mos_dir dir)
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
    struct fr_ep f;
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
    fr_free(&f);
}

/* IN: a request delivered (the default answer: an ACK) and its repeat answered from memory. */
static void test_in_lane_counts_deliveries_and_repeats(void **state)
{
    (void)state;
    struct fr_ep f;
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
    fr_free(&f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct fr_ep f;
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
    fr_free(&f);
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
