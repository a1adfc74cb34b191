/* The adapter between the MOS 4.0 endpoint and the flow core (src/mos4/flow.c,
 * docs/flow.md "The adapter"), without a network: what the lanes write is
 * caught by wrapping cg__mos4_lane_write. Covers what the rewiring settled:
 * an OUT queue longer than the core's own (max_queue above
 * CG_FLOW_QUEUE_MAX), messageIDs longer than 63 characters, a repeat of a
 * request delivered before a restart with redeliver off, a journal
 * compaction that falls between an answer and the next delivery, and the
 * teardown of what the core still holds. */
// CG_WRAP: cg__mos4_lane_write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A device "dev" with NCS peer "ncs" on ro (both lanes up), a state
 * directory dir (or none); the endpoint's settings as given. */
static void afix_init(struct fr_ep *f, const char *dir, bool journal, bool redeliver,
                      size_t max_queue)
{
    fr_ro_init(f, CG_LOG_DEBUG);
    f->ep.cfg.redeliver = redeliver;
    f->ep.cfg.max_queue = max_queue;
    fr_state(f, dir, journal);
}

struct done {
    unsigned calls, in_order;
    enum cg_err last;
};

static void on_done(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    (void)reply;
    struct done *d = user;
    d->calls++;
    d->last = status;
}

/* max_queue above the core's own 64: 200 sends all queue (the queue grows),
 * go out one at a time (M-22) and complete in order. */
static void test_queue_longer_than_the_cores_own(void **state)
{
    (void)state;
    struct fr_ep f;
    afix_init(&f, NULL, false, true, 1000);
    enum { N = 200 };
    struct done d[N];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < N; i++)
        assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>",
                                     29, on_done, &d[i]), CG_OK);
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), N);
    assert_int_equal(fr_nsent, 1); /* one in flight */
    for (int i = 0; i < N; i++) {
        char ack[200];
        int n = snprintf(ack, sizeof(ack), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%d"
                         "</messageID><roAck><roID/><roStatus>OK</roStatus></roAck></mos>", i + 1);
        fr_arrive(&f, CG_MOS_OUT, ack, (size_t)n);
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].last, CG_OK);
        if (i + 1 < N)
            assert_int_equal(d[i + 1].calls, 0);
    }
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 0);
    assert_int_equal(fr_nsent, N);
    fr_free(&f);
}

/* The endpoint goes away with 150 sends queued: each hears CG_ECLOSED once. */
static void test_queued_sends_closed_at_teardown(void **state)
{
    (void)state;
    struct fr_ep f;
    afix_init(&f, NULL, false, true, 1000);
    enum { N = 150 };
    struct done d[N];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < N; i++)
        assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>",
                                     29, on_done, &d[i]), CG_OK);
    fr_free(&f);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].last, CG_ECLOSED);
    }
}

/* messageIDs are numbers (M-11): one longer than 63 characters is refused
 * with a NACK that says the limit; 63 characters pass. */
static void test_msgid_longer_than_63_refused_with_the_limit(void **state)
{
    (void)state;
    struct fr_ep f;
    afix_init(&f, NULL, false, true, 1000);
    char id[80];
    memset(id, '7', 64);
    id[64] = '\0';
    fr_request(&f, "dev", id, "A");
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_sent_count("castgate: messageID longer than 63 characters"), 1);
    assert_int_equal(fr_sent_count("<roStatus>"), 1);
    id[63] = '\0';
    fr_request(&f, "dev", id, "A");
    assert_int_equal(f.app.delivered, 1);
    fr_free(&f);
}

/* redeliver off: a repeat of a request delivered before a restart and never
 * answered gets an ACK, each time, and never reaches the application. */
static void test_restored_repeat_acked_each_time(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "flowadapter");
    struct fr_ep f;
    afix_init(&f, dir, false, false, 1000);
    f.app.keep = FR_HOLD;
    fr_request(&f, "dev", "9", "A"); /* delivered, recorded, never answered: then a restart */
    assert_int_equal(f.app.delivered, 1);
    fr_free(&f);
    struct fr_ep g;
    afix_init(&g, dir, false, false, 1000);
    fr_request(&g, "dev", "9", "A");
    fr_request(&g, "dev", "9", "A");
    assert_int_equal(g.app.delivered, 0);
    assert_int_equal(fr_sent_count("<messageID>9</messageID>"), 2);
    assert_int_equal(fr_sent_count("<roStatus>OK</roStatus>"), 2);
    fr_free(&g);
    fr_rmdir(dir);
}

/* A compaction that falls due on an answer's record, while the next held
 * request is on its way to the application: that request is in the
 * rewritten journal (it runs after every action of the event), so a crash
 * then loses nothing: after a restart R2..R6 are delivered again, in order. */
static void test_compaction_between_answer_and_next_delivery(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "flowadapter");
    struct fr_ep f;
    afix_init(&f, dir, true, true, 1000);
    f.app.keep = FR_HOLD;
    enum { BIG = 300u << 10 };
    char *xml = malloc(BIG + 256);
    assert_non_null(xml);
    for (int i = 1; i <= 6; i++) {
        int n = snprintf(xml, 256, "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%d"
                         "</messageID><roCreate><roID>R%d</roID><roSlug>", i, i);
        memset(xml + n, 'x', BIG);
        n += (int)BIG;
        n += snprintf(xml + n, 256, "</roSlug></roCreate></mos>");
        fr_arrive(&f, CG_MOS_IN, xml, (size_t)n);
    }
    free(xml);
    assert_int_equal(f.app.delivered, 1);
    unsigned before = f.lane->compactions;
    struct cg_mos_request *r1 = f.app.held[0];
    f.app.nheld = 0;
    assert_int_equal(cg_mos_reply_ack(r1, true, "one"), CG_OK); /* R2 goes to the application */
    assert_int_equal(f.app.delivered, 2);
    assert_int_equal(f.lane->compactions, before + 1);
    fr_free(&f); /* a crash: nothing more answered */
    struct fr_ep g;
    afix_init(&g, dir, true, true, 1000);
    g.app.keep = FR_HOLD;
    cg__mos4_replay(g.lane);
    assert_int_equal(g.app.delivered, 1);
    assert_non_null(strstr(g.app.last, "<roID>R2</roID>"));
    for (int i = 3; i <= 7; i++) {
        struct cg_mos_request *r = g.app.held[0];
        g.app.nheld = 0;
        assert_int_equal(cg_mos_reply_ack(r, true, "again"), CG_OK);
        if (i <= 6) {
            char want[32];
            snprintf(want, sizeof(want), "<roID>R%d</roID>", i);
            assert_non_null(strstr(g.app.last, want));
        }
    }
    assert_int_equal(g.app.delivered, 5);
    assert_int_equal(g.app.repeats, 5); /* each marked: it may have been applied before */
    fr_free(&g);
    fr_rmdir(dir);
}

/* The peer goes away from inside a send's completion (a relay removing a
 * link): the next send, already on its way in the core's actions, is not
 * written, and it and the one behind it hear CG_ECLOSED once. */
static struct fr_ep *gone_fix;
static void on_done_remove_peer(void *user, enum cg_err status, const struct cg_mos_message *reply)
{
    on_done(user, status, reply);
    gone_fix->peer.removed = true; /* as cg_mos_endpoint_remove_peer: then each lane closes */
    for (int d = 0; d < 2; d++)
        cg__mos4_flow_free(&gone_fix->peer.lanes[1][d]);
}

static void test_peer_removed_from_a_completion(void **state)
{
    (void)state;
    struct fr_ep f;
    afix_init(&f, NULL, false, true, 1000);
    gone_fix = &f;
    struct done d[3];
    memset(d, 0, sizeof(d));
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>", 29,
                                 on_done_remove_peer, &d[0]), CG_OK);
    for (int i = 1; i < 3; i++)
        assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>B</roID></roReq>",
                                     29, on_done, &d[i]), CG_OK);
    assert_int_equal(fr_nsent, 1);
    static const char ack[] = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>1</messageID>"
                              "<roAck><roID/><roStatus>OK</roStatus></roAck></mos>";
    fr_arrive(&f, CG_MOS_OUT, ack, strlen(ack));
    assert_int_equal(d[0].calls, 1);
    assert_int_equal(d[0].last, CG_OK);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].last, CG_ECLOSED);
    }
    assert_int_equal(fr_nsent, 1); /* nothing more written */
    fr_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_longer_than_the_cores_own),
        cmocka_unit_test(test_queued_sends_closed_at_teardown),
        cmocka_unit_test(test_msgid_longer_than_63_refused_with_the_limit),
        cmocka_unit_test(test_restored_repeat_acked_each_time),
        cmocka_unit_test(test_compaction_between_answer_and_next_delivery),
        cmocka_unit_test(test_peer_removed_from_a_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
