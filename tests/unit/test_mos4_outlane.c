/* Unit tests for the OUT lane of src/mos4/flow.c (M-22): answers to requests
 * that carried no messageID are matched by kind, an unreadable answer is a
 * NACK, and a lane never waits behind one request forever (the retry
 * budget). The lane has no socket: sends fail and are logged, which is
 * enough to see what the flow decides; the answer timer runs on a real loop. */
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct done {
    int calls;
    enum cg_err status;
    char reply[1024];
};

static void on_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    struct done *d = user;
    d->calls++;
    d->status = status;
    d->reply[0] = '\0';
    if (reply != NULL)
        snprintf(d->reply, sizeof(d->reply), "%.*s", (int)reply->len, reply->xml);
}

struct ofix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
    struct mos4_lane *lane;
};

/* A device endpoint with one NCS peer "ncs" (mom, ro); its OUT lane on ch is up. */
static void ofix_init(struct ofix *f, int ch, uint32_t ack_ms, uint32_t retries, bool keep_default)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(cg_ctx_new(&f->ctx), CG_OK);
    cg_ctx_set_log(f->ctx, tu_log_fn, &f->log, CG_LOG_DEBUG);
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    if (!keep_default)
        assert_int_equal(cg_mos_endpoint_config_set_timing(cfg, 30000, ack_ms, retries, 1000), CG_OK);
    f->ep.cfg = *cfg;
    free(cfg); /* its strings are NULL: nothing else to free */
    f->ep.ctx = f->ctx;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "ncs");
    f->peer.channels = CG_MOS_CH_MOM | CG_MOS_CH_RO;
    f->peers[0] = &f->peer;
    f->ep.peers = f->peers;
    f->ep.npeers = 1;
    f->lane = &f->peer.lanes[ch][CG_MOS_OUT];
    f->lane->peer = &f->peer;
    f->lane->ch = ch;
    f->lane->dir = CG_MOS_OUT;
    f->lane->jfd = -1;
    f->lane->up = true;
    uv_timer_init(cg_ctx_loop(f->ctx), &f->lane->ack_timer);
    uv_timer_init(cg_ctx_loop(f->ctx), &f->lane->idle_timer); /* the core's keepAlive timer */
}

static void ofix_free(struct ofix *f)
{
    cg__mos4_flow_free(f->lane);
    uv_close((uv_handle_t *)&f->lane->ack_timer, NULL);
    uv_close((uv_handle_t *)&f->lane->idle_timer, NULL);
    uv_run(cg_ctx_loop(f->ctx), UV_RUN_DEFAULT);
    cg_ctx_free(f->ctx);
}

static void answer(struct ofix *f, const char *xml)
{
    cg__mos4_on_message(f->lane, false, (const uint8_t *)xml, strlen(xml));
}

/* Runs the loop until d has been called (or the time limit: a failure). */
static void run_until_done(struct ofix *f, const struct done *d)
{
    for (int i = 0; i < 300 && d->calls == 0; i++)
        uv_run(cg_ctx_loop(f->ctx), UV_RUN_ONCE);
}

/* Which answer kinds close a request that had no messageID. */
static void test_answer_fits_by_kind(void **state)
{
    (void)state;
    assert_true(cg__mos4_answer_fits(0, "heartbeat", "heartbeat"));     /* M-10 */
    assert_true(cg__mos4_answer_fits(1, "heartbeat", "heartbeat"));
    assert_true(cg__mos4_answer_fits(0, "heartbeat", "mosAck"));        /* a NACK for it */
    assert_false(cg__mos4_answer_fits(0, "heartbeat", "listMachInfo"));
    assert_true(cg__mos4_answer_fits(0, "reqMachInfo", "listMachInfo"));
    assert_true(cg__mos4_answer_fits(1, "roCreate", "roAck"));
    assert_false(cg__mos4_answer_fits(1, "roCreate", "mosAck"));        /* not this channel's ack */
    assert_false(cg__mos4_answer_fits(1, "roCreate", "heartbeat"));
    assert_true(cg__mos4_answer_fits(1, "roReq", "roList"));
    assert_true(cg__mos4_answer_fits(1, "roReq", "roAck"));
    assert_true(cg__mos4_answer_fits(0, "mosReqObj", "mosObj"));
    assert_true(cg__mos4_answer_fits(0, "mosReqObj", "mosAck"));
    assert_true(cg__mos4_answer_fits(2, "mosReqObjList", "mosObjList"));
    assert_true(cg__mos4_answer_fits(2, "mosReqObjList", "mosAck"));
    assert_true(cg__mos4_answer_fits(0, "ncsItem", "mosAck"));          /* plug-in on a socket */
    assert_true(cg__mos4_answer_fits(0, "ncsItem", "ncsAck"));
    assert_false(cg__mos4_answer_fits(0, "ncsItem", "roAck"));
    assert_true(cg__mos4_answer_fits(0, "someVendorThing", "mosAck"));  /* unknown: the ack */
    assert_false(cg__mos4_answer_fits(0, "someVendorThing", "roCreate"));
}

#define HB_NOID "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><heartbeat><time>2026-12-06T10:00:00" \
                "</time></heartbeat></mos>"
#define HB_ANS7 "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>7</messageID><heartbeat>" \
                "<time>2026-12-06T10:00:01</time></heartbeat></mos>"

/* Sofie mos-connection answers an ID-less request with its own counter:
 * the answer of the right kind closes it and the next request goes out. */
static void test_idless_request_answered_by_kind(void **state)
{
    (void)state;
    struct ofix f;
    ofix_init(&f, 0, 60000, 3, false);
    struct done d1 = {0}, d2 = {0};
    assert_int_equal(cg_mos_forward(&f.ep, "ncs", CG_MOS_CH_MOM, HB_NOID, strlen(HB_NOID), on_done,
                                    &d1), CG_OK);
    static const char req2[] = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>12</messageID>"
                               "<reqMachInfo/></mos>";
    assert_int_equal(cg_mos_forward(&f.ep, "ncs", CG_MOS_CH_MOM, req2, strlen(req2), on_done, &d2),
                     CG_OK);
    assert_string_equal(cg__mos4_inflight(f.lane)->name, "heartbeat");
    /* an answer of another kind is not its answer */
    answer(&f, "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>7</messageID><listMachInfo>"
               "<manufacturer>x</manufacturer></listMachInfo></mos>");
    assert_int_equal(d1.calls, 0);
    answer(&f, HB_ANS7);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d1.status, CG_OK);
    assert_non_null(strstr(d1.reply, "<messageID>7</messageID>"));
    assert_non_null(cg__mos4_inflight(f.lane)); /* the lane carries the next request */
    assert_string_equal(cg__mos4_inflight(f.lane)->name, "reqMachInfo");
    assert_int_equal(d2.calls, 0);
    /* a numbered request is still matched by its messageID (M-22) */
    answer(&f, "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>7</messageID><listMachInfo>"
               "<manufacturer>x</manufacturer></listMachInfo></mos>");
    assert_int_equal(d2.calls, 0);
    answer(&f, "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>12</messageID><listMachInfo>"
               "<manufacturer>x</manufacturer></listMachInfo></mos>");
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, CG_OK);
    ofix_free(&f);
}

/* A late second answer to the numbered request before an ID-less one is not
 * taken for the ID-less one's answer, although it is of the right kind. */
static void test_idless_not_closed_by_a_late_repeat(void **state)
{
    (void)state;
    struct ofix f;
    ofix_init(&f, 0, 60000, 3, false);
    struct done d1 = {0}, d2 = {0};
    static const char req[] = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>50</messageID>"
                              "<mosReqAll><pause>0</pause></mosReqAll></mos>";
    static const char ack50[] = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>50</messageID>"
                                "<mosAck><objID/><objRev>0</objRev><status>ACK</status>"
                                "<statusDescription/></mosAck></mos>";
    assert_int_equal(cg_mos_forward(&f.ep, "ncs", CG_MOS_CH_MOM, req, strlen(req), on_done, &d1),
                     CG_OK);
    assert_int_equal(cg_mos_forward(&f.ep, "ncs", CG_MOS_CH_MOM, HB_NOID, strlen(HB_NOID), on_done,
                                    &d2), CG_OK);
    answer(&f, ack50);
    assert_int_equal(d1.calls, 1);
    answer(&f, ack50); /* the same answer again (50 was sent twice) */
    assert_int_equal(d2.calls, 0);
    assert_true(tu_log_has(&f.log, "answers messageID 50 again"));
    answer(&f, HB_ANS7);
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, CG_OK);
    ofix_free(&f);
}

/* The default retry budget is finite: an unanswered request completes with
 * CG_ETIMEDOUT after it, and the lane carries the next one. */
static void test_default_budget_is_finite(void **state)
{
    (void)state;
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    assert_int_equal(cfg->retries, CG_MOS_DEFAULT_RETRIES);
    assert_true(cfg->retries > 0 && cfg->retries < 100);
    cg_mos_endpoint_config_free(cfg);
    struct ofix f;
    ofix_init(&f, 1, 100, CG_MOS_DEFAULT_RETRIES, false);
    struct done d1 = {0}, d2 = {0};
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>", 29,
                                 on_done, &d1), CG_OK);
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>B</roID></roReq>", 29,
                                 on_done, &d2), CG_OK);
    char id1[CG_FLOW_MSGID];
    snprintf(id1, sizeof(id1), "%s", cg__mos4_inflight(f.lane)->msgid);
    run_until_done(&f, &d1);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d1.status, CG_ETIMEDOUT);
    assert_true(tu_log_has(&f.log, "giving up"));
    assert_non_null(cg__mos4_inflight(f.lane));
    assert_string_not_equal(cg__mos4_inflight(f.lane)->msgid, id1);
    assert_int_equal(cg__mos4_inflight(f.lane)->tries, 1);
    ofix_free(&f);
}

/* retries = 0: sent once, never again; CG_ETIMEDOUT at the first timeout. */
static void test_zero_retries_sends_once(void **state)
{
    (void)state;
    struct ofix f;
    ofix_init(&f, 1, 100, 0, false);
    struct done d = {0};
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>", 29,
                                 on_done, &d), CG_OK);
    run_until_done(&f, &d);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, CG_ETIMEDOUT);
    assert_false(tu_log_has(&f.log, "sending it again"));
    ofix_free(&f);
}

#define ENPS_INVALID "<mos>Invalid command: heartbeat requestID=\"2\" &amp; more</mos>"

/* An answer castgate cannot read (ENPS: "<mos>Invalid command: …</mos>", no
 * IDs, no element) is a NACK carrying its text, never sent again. */
static void test_unreadable_answer_is_a_nack(void **state)
{
    (void)state;
    struct ofix f;
    ofix_init(&f, 0, 100, 5, false);
    struct done d1 = {0}, d2 = {0};
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_MOM,
                                 "<heartbeat><time>2026-12-06T10:00:00</time></heartbeat>", 55,
                                 on_done, &d1), CG_OK);
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_MOM, "<reqMachInfo/>", 14, on_done, &d2),
                     CG_OK);
    answer(&f, ENPS_INVALID);
    assert_int_equal(d1.calls, 1);
    assert_int_equal(d1.status, CG_ENACK);
    assert_non_null(strstr(d1.reply, "<status>NACK</status>"));
    assert_non_null(strstr(d1.reply, "Invalid command: heartbeat requestID=&quot;2&quot; &amp; more"));
    assert_non_null(cg__mos4_inflight(f.lane));
    assert_string_equal(cg__mos4_inflight(f.lane)->name, "reqMachInfo");
    assert_int_equal(cg__mos4_inflight(f.lane)->tries, 1);
    /* on ro the NACK is a roAck */
    answer(&f, "<mos>garbage</mos>");
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, CG_ENACK);
    assert_null(cg__mos4_inflight(f.lane));
    /* with nothing in flight: logged and dropped */
    answer(&f, ENPS_INVALID);
    assert_true(tu_log_has(&f.log, "no request outstanding"));
    ofix_free(&f);
}

/* A relay forwards the next request from inside the completion of the last
 * (the gateway: the answer goes back, the next held request comes on). That
 * request is sent once, not twice (issue 12 item 16: every request of a
 * pipelined burst went out twice, and each second answer was logged as
 * "not the one outstanding"). */
struct chain {
    struct ofix *f;
    struct done d[3];
    int next;
};

static struct chain *the_chain;

static void on_chain_next(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    on_done(user, status, reply);
    struct chain *c = the_chain;
    if (c->next < 3) {
        char xml[160];
        int i = c->next++;
        snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%d"
                 "</messageID><roReq><roID>R</roID></roReq></mos>", 100 + i);
        assert_int_equal(cg_mos_forward(&c->f->ep, "ncs", CG_MOS_CH_RO, xml, strlen(xml),
                                        on_chain_next, &c->d[i]), CG_OK);
    }
}

static void test_next_from_callback_sent_once(void **state)
{
    (void)state;
    struct ofix f;
    ofix_init(&f, 1, 60000, 3, false);
    struct chain c = {.f = &f};
    the_chain = &c;
    on_chain_next(&c.d[0], CG_OK, NULL); /* forwards 100 */
    c.d[0].calls = 0;
    char ans[200];
    for (int i = 0; i < 3; i++) {
        assert_non_null(cg__mos4_inflight(f.lane));
        assert_string_equal(cg__mos4_inflight(f.lane)->msgid, i == 0 ? "100" : i == 1 ? "101" : "102");
        assert_int_equal(cg__mos4_inflight(f.lane)->tries, 1); /* sent once */
        snprintf(ans, sizeof(ans), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%d"
                 "</messageID><roAck><roID/><roStatus>OK</roStatus></roAck></mos>", 100 + i);
        answer(&f, ans);
    }
    assert_null(cg__mos4_inflight(f.lane));
    /* a second answer to 102 (a peer answering a repeat from memory): a repeat, said so */
    answer(&f, ans);
    assert_true(tu_log_has(&f.log, "answers messageID 102 again"));
    assert_false(tu_log_has(&f.log, "not the one outstanding"));
    ofix_free(&f);
}

/* The text a NACK carries for an unreadable answer: inside <mos>, entities
 * decoded, whitespace folded, cut on a character boundary. */
static void test_answer_text(void **state)
{
    (void)state;
    char out[32];
    cg__mos4_answer_text(ENPS_INVALID, strlen(ENPS_INVALID), out, sizeof(out));
    assert_string_equal(out, "Invalid command: heartbeat requ");
    char big[200];
    cg__mos4_answer_text(" <mos>\n  a&lt;b&gt;\r\n\t c\x01" "d </mos>\n", 35, big, sizeof(big));
    assert_string_equal(big, "a<b> c d");
    cg__mos4_answer_text("x\xe6\x9d\xb1\xe6\x9d\xb1", 7, out, 6); /* 5 bytes fit: x + one */
    assert_string_equal(out, "x\xe6\x9d\xb1");
    cg__mos4_answer_text("<mos></mos>", 11, out, sizeof(out));
    assert_string_equal(out, "");
}

/* M-24: the heartbeat time in both forms (issue 20 item 6). */
static void test_heartbeat_time_forms(void **state)
{
    (void)state;
    uint8_t *hb = NULL;
    size_t n = 0;
    int64_t t = INT64_C(1239470442000) + 7; /* 2009-04-11T17:20:42,007Z */
    assert_int_equal(cg_mos_build_heartbeat_form(CG_MOS_UTF8, "m", "n", NULL, t, CG_MOS_TIME_SHORT,
                                                 &hb, &n), CG_OK);
    assert_non_null(strstr((char *)hb, "<time>2009-04-11T17:20:42</time>"));
    cg_mos_free(hb);
    assert_int_equal(cg_mos_build_heartbeat(CG_MOS_UTF8, "m", "n", NULL, t, &hb, &n), CG_OK);
    assert_non_null(strstr((char *)hb, "<time>2009-04-11T17:20:42,007Z</time>"));
    cg_mos_free(hb);
    assert_int_equal(cg_mos_build_heartbeat_form(CG_MOS_UTF8, "m", "n", NULL, t,
                                                 (enum cg_mos_time_form)7, &hb, &n), CG_EINVAL);
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    assert_int_equal(cfg->heartbeat_form, CG_MOS_TIME_FULL);
    assert_int_equal(cg_mos_endpoint_config_set_heartbeat_time(cfg, CG_MOS_TIME_SHORT), CG_OK);
    assert_int_equal(cfg->heartbeat_form, CG_MOS_TIME_SHORT);
    cg_mos_endpoint_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_fits_by_kind),
        cmocka_unit_test(test_idless_request_answered_by_kind),
        cmocka_unit_test(test_idless_not_closed_by_a_late_repeat),
        cmocka_unit_test(test_default_budget_is_finite),
        cmocka_unit_test(test_zero_retries_sends_once),
        cmocka_unit_test(test_unreadable_answer_is_a_nack),
        cmocka_unit_test(test_answer_text),
        cmocka_unit_test(test_next_from_callback_sent_once),
        cmocka_unit_test(test_heartbeat_time_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
