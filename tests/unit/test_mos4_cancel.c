/* cg_mos_forward_cancel through the endpoint's adapter (src/mos4/flow.c,
 * issue 18 phase 2 item 2, docs/flow.md "Cancel"), without a network: the
 * OUT lane's transport is a fake that records what is written, and the
 * lane goes up and down as lane.c would take it. Checked: the sender's
 * callback hears CG_ECANCELED once, before the call returns, and not again
 * at teardown; a cancelled forward is never written again (not when the
 * lane comes back); its late answer is dropped, logged and counted in the
 * lane's stats, and the next request takes its own answer; requests are
 * found by their callback and user; the open exchange of one cancelled in
 * flight is not counted as pending and is skipped at teardown. */
// CG_LINK: faketransport.c
#include "faketransport.h"
#include "lanefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ---- the lanes' transport: faketransport.c ---- */

/* ---- a device endpoint with one NCS peer, its ro OUT lane ---- */

struct done {
    int calls;
    enum cg_err status;
    bool reply;
};

static void on_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct done *d = user;
    d->calls++;
    d->status = status;
    d->reply = reply != NULL;
}

struct cfix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
    struct mos4_lane *lane;
    struct ft_fake fake;
};

static void cfix_init(struct cfix *f)
{
    memset(f, 0, sizeof(*f));
    lf_init(&f->ctx, &f->log, CG_LOG_DEBUG, &f->ep, &f->peer, f->peers);
    assert_int_equal(cg_mos_endpoint_config_set_timing(&f->ep.cfg, 30000, 60000, 3, 1000), CG_OK);
    f->peer.text_frames = true;
    f->lane = &f->peer.lanes[1][CG_MOS_OUT];
}

static void lane_up(struct cfix *f)
{
    cg__mos4_lane_attach(f->lane, &ft_ops, &f->fake);
    cg__mos4_lane_up(f->lane);
}

static void lane_down(struct cfix *f) { cg__mos4_lane_gone(f->lane); } /* not started: no dial */

static void cfix_free(struct cfix *f)
{
    lf_free(f->ctx, &f->peer);
    ft_clear(&f->fake);
}

static void answer(struct cfix *f, const char *msgid)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%s</messageID>"
             "<roAck><roID>R</roID><roStatus>OK</roStatus></roAck></mos>", msgid);
    cg__mos4_on_message(f->lane, false, (const uint8_t *)xml, strlen(xml));
}

static void forward(struct cfix *f, const char *msgid, const char *ro, struct done *d)
{
    char xml[256];
    snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%s</messageID>"
             "<roElementStat element=\"RO\"><roID>%s</roID><status>PLAY</status>"
             "<time>2026-12-07T10:00:00</time></roElementStat></mos>", msgid, ro);
    assert_int_equal(cg_mos_forward(&f->ep, "ncs", CG_MOS_CH_RO, xml, strlen(xml), on_done, d),
                     CG_OK);
}

static struct cg_mos_lane_stats out_stats(struct cfix *f)
{
    struct cg_mos_lane_stats s;
    assert_int_equal(cg_mos_endpoint_lane_stats(&f->ep, "ncs", CG_MOS_CH_RO, CG_MOS_OUT, &s), CG_OK);
    return s;
}

/* The failover case: in flight when the peer went away; cancelled; never
 * written to it again when it is back; its late answer dropped. */
static void test_cancel_in_flight_never_written_again(void **state)
{
    (void)state;
    struct cfix f;
    cfix_init(&f);
    lane_up(&f);
    struct done d1 = {0}, d2 = {0};
    forward(&f, "41", "RO-A", &d1);
    forward(&f, "42", "RO-B", &d2);
    assert_int_equal(ft_written(&f.fake, "RO-A"), 1);
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 2);
    lane_down(&f);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, on_done, &d1), CG_OK);
    assert_int_equal(d1.calls, 1); /* before the call returned */
    assert_int_equal(d1.status, CG_ECANCELED);
    assert_false(d1.reply);
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 1);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, on_done, &d1), CG_ENOTFOUND);
    ft_clear(&f.fake);
    lane_up(&f);
    assert_int_equal(ft_written(&f.fake, "RO-A"), 0); /* M-22's retry stops at the cancel */
    assert_int_equal(ft_written(&f.fake, "RO-B"), 1);
    answer(&f, "41"); /* the peer answers the cancelled one after all */
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d2.calls, 0); /* not taken for RO-B's */
    assert_true(tu_log_has(&f.log, "answers a cancelled request: dropped"));
    answer(&f, "42");
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, CG_OK);
    struct cg_mos_lane_stats s = out_stats(&f);
    assert_int_equal(s.cancelled, 1);
    assert_int_equal(s.late_answers, 1);
    assert_int_equal(s.answers, 1);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.queued, 0);
    cfix_free(&f);
    assert_int_equal(d1.calls, 1); /* not completed again at teardown */
}

/* Found by callback and user among several; queued ones leave the queue;
 * one in flight with the lane up keeps its exchange open (M-22) and is
 * skipped at teardown, where the others complete with CG_ECLOSED once. */
static void test_cancel_by_user_queued_and_open_exchange(void **state)
{
    (void)state;
    struct cfix f;
    cfix_init(&f);
    lane_up(&f);
    struct done d1 = {0}, d2 = {0}, d3 = {0};
    forward(&f, "41", "RO-A", &d1);
    forward(&f, "42", "RO-B", &d2);
    forward(&f, "43", "RO-C", &d3);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, on_done, &d2), CG_OK);
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, CG_ECANCELED);
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 2);
    /* another callback with the same user is another request: none such */
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, NULL, &d1), CG_ENOTFOUND);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "nobody", CG_MOS_CH_RO, on_done, &d1),
                     CG_ENOTFOUND);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_MOM, on_done, &d1), CG_ENOTFOUND);
    assert_int_equal(cg_mos_forward_cancel(NULL, "ncs", CG_MOS_CH_RO, on_done, &d1), CG_EINVAL);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", (enum cg_mos_channel)0, on_done, &d1),
                     CG_EINVAL);
    /* RO-A in flight, lane up: cancelled, and nothing more is written until its exchange ends */
    ft_clear(&f.fake);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, on_done, &d1), CG_OK);
    assert_int_equal(d1.status, CG_ECANCELED);
    assert_int_equal(f.fake.n, 0); /* RO-C waits (M-22), RO-B is gone */
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 1);
    assert_int_equal(out_stats(&f).queued, 1);
    cfix_free(&f); /* RO-C completes with CG_ECLOSED; the open exchange is skipped */
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d3.calls, 1);
    assert_int_equal(d3.status, CG_ECLOSED);
}

/* ... and when its answer comes the next request goes, under its own messageID. */
static void test_cancel_open_exchange_ends_with_its_answer(void **state)
{
    (void)state;
    struct cfix f;
    cfix_init(&f);
    lane_up(&f);
    struct done d1 = {0}, d2 = {0};
    forward(&f, "41", "RO-A", &d1);
    forward(&f, "42", "RO-B", &d2);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, on_done, &d1), CG_OK);
    assert_int_equal(ft_written(&f.fake, "RO-B"), 0);
    answer(&f, "41");
    assert_int_equal(ft_written(&f.fake, "RO-B"), 1);
    assert_int_equal(ft_written(&f.fake, "<messageID>42</messageID>"), 1);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d2.calls, 0);
    answer(&f, "42");
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, CG_OK);
    assert_int_equal(out_stats(&f).late_answers, 1);
    cfix_free(&f);
}

/* A callback may queue another request from inside its CG_ECANCELED call
 * (a relay sends the request on elsewhere): it goes in order. */
struct resend {
    struct cfix *f;
    struct done d;
    struct done next;
};

static void on_done_resend(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct resend *r = user;
    on_done(&r->d, status, reply);
    if (status == CG_ECANCELED)
        forward(r->f, "44", "RO-D", &r->next);
}

static void test_cancel_callback_sends_again(void **state)
{
    (void)state;
    struct cfix f;
    cfix_init(&f);
    struct resend r = {.f = &f};
    static const char xml[] = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>43</messageID>"
                              "<roReq><roID>RO-C</roID></roReq></mos>";
    assert_int_equal(cg_mos_forward(&f.ep, "ncs", CG_MOS_CH_RO, xml, strlen(xml), on_done_resend,
                                    &r), CG_OK);
    assert_int_equal(cg_mos_forward_cancel(&f.ep, "ncs", CG_MOS_CH_RO, on_done_resend, &r), CG_OK);
    assert_int_equal(r.d.calls, 1);
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 1);
    lane_up(&f);
    assert_int_equal(ft_written(&f.fake, "RO-C"), 0); /* cancelled before the lane came up */
    assert_int_equal(ft_written(&f.fake, "RO-D"), 1);
    cfix_free(&f);
    assert_int_equal(r.next.calls, 1);
    assert_int_equal(r.next.status, CG_ECLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_in_flight_never_written_again),
        cmocka_unit_test(test_cancel_by_user_queued_and_open_exchange),
        cmocka_unit_test(test_cancel_open_exchange_ends_with_its_answer),
        cmocka_unit_test(test_cancel_callback_sends_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
