/* The adapter between the MOS 4.0 endpoint and the flow core (src/mos4/flow.c,
 * docs/flow.md "The adapter"), without a network: what the lanes write is
 * caught by wrapping cg__mos4_lane_write. Covers what the rewiring settled:
 * an OUT queue longer than the core's own (max_queue above
 * CG_FLOW_QUEUE_MAX), messageIDs longer than 63 characters, a repeat of a
 * request delivered before a restart with redeliver off, a journal
 * compaction that falls between an answer and the next delivery, and the
 * teardown of what the core still holds. */
// CG_WRAP: cg__mos4_lane_write
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_SENT 1024
static char *sent[MAX_SENT];
static size_t nsent;

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    (void)l;
    assert_true(nsent < MAX_SENT);
    sent[nsent] = malloc(len + 1);
    assert_non_null(sent[nsent]);
    memcpy(sent[nsent], xml, len);
    sent[nsent++][len] = '\0';
    return CG_OK;
}

static void sent_clear(void)
{
    for (size_t i = 0; i < nsent; i++)
        free(sent[i]);
    nsent = 0;
}

static size_t sent_count(const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < nsent; i++)
        n += strstr(sent[i], needle) != NULL;
    return n;
}

struct app {
    unsigned delivered, repeats;
    char last[128];
    bool hold;
    struct cg_mos_request *held[64];
    size_t nheld;
};

struct afix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
    struct app app;
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct app *a = user;
    a->delivered++;
    a->repeats += m->repeat;
    snprintf(a->last, sizeof(a->last), "%.*s", (int)(m->env->element.len > 100 ? 100 :
             m->env->element.len), m->xml + m->env->element.off);
    if (a->hold) {
        assert_true(a->nheld < 64);
        a->held[a->nheld++] = req;
        return;
    }
    assert_int_equal(cg_mos_reply_ack(req, true, "applied"), CG_OK);
}

/* A device "dev" with NCS peer "ncs" on ro (both lanes up), a state
 * directory dir (or none); the endpoint's settings as given. */
static void afix_init(struct afix *f, const char *dir, bool journal, bool redeliver,
                      size_t max_queue)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(cg_ctx_new(&f->ctx), CG_OK);
    cg_ctx_set_log(f->ctx, tu_log_fn, &f->log, CG_LOG_DEBUG);
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    f->ep.cfg = *cfg;
    free(cfg); /* its strings are NULL */
    f->ep.cfg.state_dir = (char *)dir;
    f->ep.cfg.journal = journal;
    f->ep.cfg.redeliver = redeliver;
    f->ep.cfg.max_queue = max_queue;
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
    f->ep.cfg.async_validate = SIZE_MAX; /* validated on the loop: no thread pool here */
    f->ep.state_fd = -1;
    f->ep.ctx = f->ctx;
    f->ep.h.on_request = on_request;
    f->ep.user = &f->app;
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
    if (dir != NULL)
        cg__mos4_journal_open(&f->peer.lanes[1][CG_MOS_IN]);
}

static struct mos4_lane *in_lane(struct afix *f) { return &f->peer.lanes[1][CG_MOS_IN]; }

/* The endpoint goes away; what the application still holds goes with it. */
static void afix_free(struct afix *f)
{
    cg__mos4_journal_close(in_lane(f));
    for (size_t i = 0; i < f->app.nheld; i++) {
        if (in_lane(f)->current == f->app.held[i])
            continue; /* freed with the lane */
        free(f->app.held[i]->wire);
        free(f->app.held[i]);
    }
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &f->peer.lanes[1][d];
        cg__mos4_flow_free(l);
        uv_close((uv_handle_t *)&l->ack_timer, NULL);
        uv_close((uv_handle_t *)&l->idle_timer, NULL);
    }
    uv_run(cg_ctx_loop(f->ctx), UV_RUN_DEFAULT);
    cg_ctx_free(f->ctx);
    sent_clear();
}

static void arrive(struct afix *f, enum cg_mos_dir dir, const char *xml, size_t len)
{
    cg__mos4_on_message(&f->peer.lanes[1][dir], false, (const uint8_t *)xml, len);
}

static void request(struct afix *f, const char *msgid, const char *ro)
{
    char xml[600];
    int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%s"
                     "</messageID><roCreate><roID>%s</roID></roCreate></mos>", msgid, ro);
    arrive(f, CG_MOS_IN, xml, (size_t)n);
}

static void mkdir_tmp(char *dir, size_t sz)
{
    snprintf(dir, sz, "/tmp/cg-test-flowadapter-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
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
    struct afix f;
    afix_init(&f, NULL, false, true, 1000);
    enum { N = 200 };
    struct done d[N];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < N; i++)
        assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>",
                                     29, on_done, &d[i]), CG_OK);
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), N);
    assert_int_equal(nsent, 1); /* one in flight */
    for (int i = 0; i < N; i++) {
        char ack[200];
        int n = snprintf(ack, sizeof(ack), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%d"
                         "</messageID><roAck><roID/><roStatus>OK</roStatus></roAck></mos>", i + 1);
        arrive(&f, CG_MOS_OUT, ack, (size_t)n);
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].last, CG_OK);
        if (i + 1 < N)
            assert_int_equal(d[i + 1].calls, 0);
    }
    assert_int_equal(cg_mos_pending(&f.ep, "ncs", CG_MOS_CH_RO), 0);
    assert_int_equal(nsent, N);
    afix_free(&f);
}

/* The endpoint goes away with 150 sends queued: each hears CG_ECLOSED once. */
static void test_queued_sends_closed_at_teardown(void **state)
{
    (void)state;
    struct afix f;
    afix_init(&f, NULL, false, true, 1000);
    enum { N = 150 };
    struct done d[N];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < N; i++)
        assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>",
                                     29, on_done, &d[i]), CG_OK);
    afix_free(&f);
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
    struct afix f;
    afix_init(&f, NULL, false, true, 1000);
    char id[80];
    memset(id, '7', 64);
    id[64] = '\0';
    request(&f, id, "A");
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(sent_count("castgate: messageID longer than 63 characters"), 1);
    assert_int_equal(sent_count("<roStatus>"), 1);
    id[63] = '\0';
    request(&f, id, "A");
    assert_int_equal(f.app.delivered, 1);
    afix_free(&f);
}

/* redeliver off: a repeat of a request delivered before a restart and never
 * answered gets an ACK, each time, and never reaches the application. */
static void test_restored_repeat_acked_each_time(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir, false, false, 1000);
    f.app.hold = true;
    request(&f, "9", "A"); /* delivered, recorded, never answered: then a restart */
    assert_int_equal(f.app.delivered, 1);
    afix_free(&f);
    struct afix g;
    afix_init(&g, dir, false, false, 1000);
    request(&g, "9", "A");
    request(&g, "9", "A");
    assert_int_equal(g.app.delivered, 0);
    assert_int_equal(sent_count("<messageID>9</messageID>"), 2);
    assert_int_equal(sent_count("<roStatus>OK</roStatus>"), 2);
    afix_free(&g);
    rm_tmp(dir);
}

/* A compaction that falls due on an answer's record, while the next held
 * request is on its way to the application: that request is in the
 * rewritten journal (it runs after every action of the event), so a crash
 * then loses nothing: after a restart R2..R6 are delivered again, in order. */
static void test_compaction_between_answer_and_next_delivery(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir, true, true, 1000);
    f.app.hold = true;
    enum { BIG = 300u << 10 };
    char *xml = malloc(BIG + 256);
    assert_non_null(xml);
    for (int i = 1; i <= 6; i++) {
        int n = snprintf(xml, 256, "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%d"
                         "</messageID><roCreate><roID>R%d</roID><roSlug>", i, i);
        memset(xml + n, 'x', BIG);
        n += (int)BIG;
        n += snprintf(xml + n, 256, "</roSlug></roCreate></mos>");
        arrive(&f, CG_MOS_IN, xml, (size_t)n);
    }
    free(xml);
    assert_int_equal(f.app.delivered, 1);
    unsigned before = in_lane(&f)->compactions;
    struct cg_mos_request *r1 = f.app.held[0];
    f.app.nheld = 0;
    assert_int_equal(cg_mos_reply_ack(r1, true, "one"), CG_OK); /* R2 goes to the application */
    assert_int_equal(f.app.delivered, 2);
    assert_int_equal(in_lane(&f)->compactions, before + 1);
    afix_free(&f); /* a crash: nothing more answered */
    struct afix g;
    afix_init(&g, dir, true, true, 1000);
    g.app.hold = true;
    cg__mos4_replay(in_lane(&g));
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
    afix_free(&g);
    rm_tmp(dir);
}

/* The peer goes away from inside a send's completion (a relay removing a
 * link): the next send, already on its way in the core's actions, is not
 * written, and it and the one behind it hear CG_ECLOSED once. */
static struct afix *gone_fix;
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
    struct afix f;
    afix_init(&f, NULL, false, true, 1000);
    gone_fix = &f;
    struct done d[3];
    memset(d, 0, sizeof(d));
    assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>A</roID></roReq>", 29,
                                 on_done_remove_peer, &d[0]), CG_OK);
    for (int i = 1; i < 3; i++)
        assert_int_equal(cg_mos_send(&f.ep, "ncs", CG_MOS_CH_RO, "<roReq><roID>B</roID></roReq>",
                                     29, on_done, &d[i]), CG_OK);
    assert_int_equal(nsent, 1);
    static const char ack[] = "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>1</messageID>"
                              "<roAck><roID/><roStatus>OK</roStatus></roAck></mos>";
    arrive(&f, CG_MOS_OUT, ack, strlen(ack));
    assert_int_equal(d[0].calls, 1);
    assert_int_equal(d[0].last, CG_OK);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].last, CG_ECLOSED);
    }
    assert_int_equal(nsent, 1); /* nothing more written */
    afix_free(&f);
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
