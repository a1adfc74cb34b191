/* A lane driven through a fake transport (issue 13 item 2): lane.c and the
 * flow adapter (flow.c) write, pause, reset and close through struct
 * mos4_transport_ops only, so a transport that is neither a cg_ws nor a
 * MOS 2.x TCP connection carries the lane's traffic. What the fake is asked
 * to do is recorded. */
#include "lanefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct fake {
    char written[8][512];
    enum cg_mos_encoding enc[8];
    size_t nwritten;
    enum cg_err write_rc;
    unsigned pauses, resumes, closes;
    uint16_t close_code;
    char close_why[80];
};

static enum cg_err fake_write(void *t, enum cg_mos_encoding to, const char *xml, size_t len)
{
    struct fake *f = t;
    if (f->write_rc != CG_OK)
        return f->write_rc;
    assert_true(f->nwritten < 8);
    assert_true(len < sizeof(f->written[0]));
    memcpy(f->written[f->nwritten], xml, len);
    f->written[f->nwritten][len] = '\0';
    f->enc[f->nwritten++] = to;
    return CG_OK;
}

static void fake_pause(void *t, bool paused)
{
    struct fake *f = t;
    if (paused)
        f->pauses++;
    else
        f->resumes++;
}

static void fake_close(void *t, uint16_t code, const char *why)
{
    struct fake *f = t;
    f->closes++;
    f->close_code = code;
    snprintf(f->close_why, sizeof(f->close_why), "%s", why);
}

static const char *fake_peer_addr(const void *t)
{
    (void)t;
    return "fake:1";
}

static const struct mos4_transport_ops fake_ops = {
    .name = "fake",
    .reset_when_silent = true,
    .write = fake_write,
    .pause = fake_pause,
    .close = fake_close,
    .peer_addr = fake_peer_addr,
};

static const struct mos4_transport_ops fake_ops_quiet = { /* never reset, cannot pause */
    .name = "fake-quiet",
    .reset_when_silent = false,
    .write = fake_write,
    .close = fake_close,
    .peer_addr = fake_peer_addr,
};

struct fix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
    struct fake out, in;
    unsigned delivered;
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    (void)m;
    struct fix *f = user;
    f->delivered++;
    assert_int_equal(cg_mos_reply_ack(req, true, "applied"), CG_OK);
}

/* A device "dev" with NCS peer "ncs" on ro over wss with text frames
 * (UTF-8, M-04); both lanes up on fakes. */
static void fix_init(struct fix *f, const struct mos4_transport_ops *ops)
{
    memset(f, 0, sizeof(*f));
    lf_init(&f->ctx, &f->log, CG_LOG_DEBUG, &f->ep, &f->peer, f->peers);
    f->ep.cfg.async_validate = SIZE_MAX; /* validated on the loop: no thread pool here */
    f->ep.cfg.silent_reset_ms = 1000;
    f->ep.state_fd = -1;
    f->ep.h.on_request = on_request;
    f->ep.user = f;
    f->peer.text_frames = true;
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &f->peer.lanes[1][d];
        cg__mos4_lane_attach(l, ops, d == CG_MOS_OUT ? &f->out : &f->in);
        cg__mos4_lane_up(l);
    }
}

static struct mos4_lane *lane(struct fix *f, enum cg_mos_dir d) { return &f->peer.lanes[1][d]; }

static void fix_free(struct fix *f) { lf_free(f->ctx, &f->peer); }

static void on_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    (void)reply;
    *(enum cg_err *)user = status;
}

/* A request out and its answer in, a request in and its answer out: the
 * bytes pass through the fake's write, in the lane's encoding. */
static void test_traffic_through_the_table(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, &fake_ops);
    enum cg_err done = CG_EAGAIN;
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>", 29,
                                 on_done, &done), CG_OK);
    assert_int_equal(f.out.nwritten, 1);
    assert_int_equal(f.out.enc[0], CG_MOS_UTF8); /* M-04: text frames */
    assert_non_null(strstr(f.out.written[0], "<roReq><roID>A</roID></roReq>"));
    const char *id = strstr(f.out.written[0], "<messageID>");
    assert_non_null(id);
    char ack[300];
    int n = snprintf(ack, sizeof(ack), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID>%.*s<roAck>"
                     "<roID>A</roID><roStatus>OK</roStatus></roAck></mos>",
                     (int)(strstr(id, "</messageID>") + 12 - id), id);
    cg__mos4_on_message(lane(&f, CG_MOS_OUT), false, (const uint8_t *)ack, (size_t)n);
    assert_int_equal(done, CG_OK);

    const char *req = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>7</messageID>"
                      "<roCreate><roID>B</roID></roCreate></mos>";
    cg__mos4_on_message(lane(&f, CG_MOS_IN), false, (const uint8_t *)req, strlen(req));
    assert_int_equal(f.delivered, 1);
    assert_int_equal(f.in.nwritten, 1);
    assert_non_null(strstr(f.in.written[0], "<roAck>"));
    assert_non_null(strstr(f.in.written[0], "<messageID>7</messageID>"));
    assert_int_equal(f.in.closes + f.out.closes, 0);
    fix_free(&f);
}

/* A write the transport refuses is the lane's error; a lane that is down
 * never reaches the transport. */
static void test_write_errors(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, &fake_ops);
    f.out.write_rc = CG_EFULL;
    assert_int_equal(cg__mos4_lane_write(lane(&f, CG_MOS_OUT), "<x/>", 4), CG_EFULL);
    f.out.write_rc = CG_OK;
    lane(&f, CG_MOS_OUT)->up = false;
    assert_int_equal(cg__mos4_lane_write(lane(&f, CG_MOS_OUT), "<x/>", 4), CG_ECLOSED);
    assert_int_equal(f.out.nwritten, 0);
    lane(&f, CG_MOS_OUT)->up = true;
    assert_int_equal(cg__mos4_lane_write(lane(&f, CG_MOS_OUT), "<x/>", 4), CG_OK);
    assert_int_equal(f.out.nwritten, 1);
    fix_free(&f);
}

/* Pause and the peer's address go to the transport; one without pause says so. */
static void test_pause_and_peer_addr(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, &fake_ops);
    assert_true(cg__mos4_lane_pause(lane(&f, CG_MOS_IN), true));
    assert_true(cg__mos4_lane_pause(lane(&f, CG_MOS_IN), false));
    assert_int_equal(f.in.pauses, 1);
    assert_int_equal(f.in.resumes, 1);
    assert_string_equal(cg__mos4_lane_peer_addr(lane(&f, CG_MOS_IN)), "fake:1");
    fix_free(&f);

    fix_init(&f, &fake_ops_quiet);
    assert_false(cg__mos4_lane_pause(lane(&f, CG_MOS_IN), true));
    fix_free(&f);
}

/* A lane silent past silent_reset_ms is closed through the table (code
 * 1001) and goes down; a transport that is never reset (MOS 2.x, M-09: no
 * keepAlive) is left alone. */
static void test_silent_reset_closes_through_the_table(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, &fake_ops);
    struct mos4_lane *l = lane(&f, CG_MOS_IN);
    l->last_rx_ms = cg__now_ms() - 5000;
    cg__mos4_on_idle(&l->idle_timer);
    assert_int_equal(f.in.closes, 1);
    assert_int_equal(f.in.close_code, 1001);
    assert_string_equal(f.in.close_why, "nothing received for too long");
    assert_false(l->up);
    assert_null(l->t);
    assert_null(cg__mos4_lane_peer_addr(l));
    assert_int_equal(cg__mos4_lane_write(l, "<x/>", 4), CG_ECLOSED);
    fix_free(&f);

    fix_init(&f, &fake_ops_quiet);
    l = lane(&f, CG_MOS_IN);
    l->last_rx_ms = cg__now_ms() - 5000;
    cg__mos4_on_idle(&l->idle_timer);
    assert_int_equal(f.in.closes, 0);
    assert_true(l->up);
    fix_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traffic_through_the_table),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_pause_and_peer_addr),
        cmocka_unit_test(test_silent_reset_closes_through_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
