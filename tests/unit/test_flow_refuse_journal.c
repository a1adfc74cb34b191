/* A request refused without memory even for its NACK answer
 * (cg__flow_app_refuse, from src/mos4/flow.c refuse_undelivered): the
 * sender hears "not applied" and the messageID is forgotten, so its journal
 * record must be closed too. Left open, a restart delivered the refused
 * request after all (journal option), or (without it) took it as delivered
 * and acknowledged the sender's repeat without delivering it (M-22: every
 * request answered once, as it was answered). Allocations fail on purpose
 * through the linker's --wrap, as in test_flow_deliver_nomem.c; what the
 * lane writes is caught by wrapping cg__mos4_lane_write. */
// CG_WRAP: cg__mos4_lane_write calloc malloc realloc
// CG_LINK: allocrig.c
#include "lanefix.h"
#include "allocrig.h"
#include "flowfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Allocations fail on purpose through allocrig.c (ac_fail_calloc). */

/* ---- what the lane writes ---- */

#define MAX_SENT 64
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

static size_t sent_count(const char *a, const char *b)
{
    size_t n = 0;
    for (size_t i = 0; i < nsent; i++)
        n += strstr(sent[i], a) != NULL && (b == NULL || strstr(sent[i], b) != NULL);
    return n;
}

/* ---- a device "dev" with NCS peer "ncs" on ro, a state directory ---- */

struct app {
    unsigned delivered;
    bool repeat;
    char last[128];
    struct cg_mos_request *cur;
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
    assert_null(a->cur);
    a->delivered++;
    a->repeat = m->repeat;
    snprintf(a->last, sizeof(a->last), "%.*s", (int)(m->env->element.len > 100 ? 100 :
             m->env->element.len), m->xml + m->env->element.off);
    a->cur = req;
}

static struct mos4_lane *in_lane(struct afix *f) { return &f->peer.lanes[1][CG_MOS_IN]; }

/* Both lanes up, the journal read (a restart when dir holds one). */
static void afix_init(struct afix *f, const char *dir, bool journal, bool redeliver)
{
    memset(f, 0, sizeof(*f));
    lf_init(&f->ctx, &f->log, CG_LOG_WARN, &f->ep, &f->peer, f->peers);
    f->ep.cfg.state_dir = (char *)dir;
    f->ep.cfg.journal = journal;
    f->ep.cfg.redeliver = redeliver;
    f->ep.cfg.max_queue = 1000;
    f->ep.cfg.validate = false; /* no allocations of the checker between ours */
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
    f->ep.state_fd = -1;
    f->ep.h.on_request = on_request;
    f->ep.user = &f->app;
    for (int d = 0; d < 2; d++)
        f->peer.lanes[1][d].up = true;
    cg__mos4_journal_open(in_lane(f)); /* without the journal option: replayed here */
    if (journal)
        cg__mos4_replay(in_lane(f));
}

/* The process dies (what is at the application goes with it). */
static void afix_free(struct afix *f)
{
    ac_fail_reset();
    f->app.cur = NULL;
    cg__mos4_journal_close(in_lane(f));
    lf_free(f->ctx, &f->peer);
    sent_clear();
}

static void request(struct afix *f, unsigned i)
{
    char xml[600];
    int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%u"
                     "</messageID><roCreate><roID>R%u</roID></roCreate></mos>", i, i);
    cg__mos4_on_message(in_lane(f), false, (const uint8_t *)xml, (size_t)n);
}

static void answer(struct afix *f)
{
    struct cg_mos_request *r = f->app.cur;
    assert_non_null(r);
    f->app.cur = NULL;
    assert_int_equal(cg_mos_reply_ack(r, true, "applied"), CG_OK);
}

static void expect_at_app(const struct afix *f, unsigned i)
{
    char want[32];
    snprintf(want, sizeof(want), "<roID>R%u</roID>", i);
    if (f->app.cur == NULL || strstr(f->app.last, want) == NULL)
        fail_msg("expected R%u at the application; %s there (last: %s)", i,
                 f->app.cur == NULL ? "nothing" : "another", f->app.last);
}

static void mkdir_tmp(char *dir, size_t sz)
{
    snprintf(dir, sz, "/tmp/cg-test-refusejournal-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* R1 answered, then R2's turn: its handle fails and so does the NACK answer
 * (the second struct mos4_msg: the first is R1's answer), so the core
 * refuses R2 with its own NACK (cg__flow_app_refuse). */
static void refuse_r2(struct afix *f)
{
    ac_fail_calloc[0] = (struct ac_fail){.size = sizeof(struct cg_mos_request), .times = 1};
    ac_fail_calloc[1] = (struct ac_fail){.size = sizeof(struct mos4_msg), .skip = 1, .times = 1};
    answer(f);
    assert_int_equal(ac_fail_calloc[0].failed, 1);
    assert_int_equal(ac_fail_calloc[1].failed, 1);
    /* the core's NACK (write_ack), not refuse_undelivered's answer */
    assert_int_equal(sent_count("<messageID>2</messageID>", "the request was not applied"), 1);
    assert_true(tu_log_has(&f->log, "messageID 2 not delivered"));
}

/* Journal option: R1, R2, R3 recorded as they arrive; R2 refused, R3 at the
 * application when the process dies. After the restart R3 is delivered
 * again (M-22: unanswered requests survive), R2 is not: the sender was told
 * it was not applied. Its repeat is then a new request. */
static void test_m22_journal_refused_not_delivered_after_restart(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir, true, true);
    request(&f, 1);
    request(&f, 2);
    request(&f, 3);
    expect_at_app(&f, 1);
    refuse_r2(&f);
    expect_at_app(&f, 3);
    afix_free(&f);

    struct afix g;
    afix_init(&g, dir, true, true);
    expect_at_app(&g, 3);
    assert_true(g.app.repeat); /* delivered before the restart */
    answer(&g);
    assert_null(g.app.cur); /* nothing else was open */
    assert_int_equal(g.app.delivered, 1);
    request(&g, 2); /* the sender's repeat: new, not a possible repeat */
    expect_at_app(&g, 2);
    assert_false(g.app.repeat);
    assert_int_equal(sent_count("<messageID>2</messageID>", NULL), 0);
    answer(&g);
    afix_free(&g);
    rm_tmp(dir);
}

/* Without the journal option a request with a messageID is recorded as it
 * is delivered; R2's record is made, then R2 is refused. After a restart
 * (redeliver off: one delivered before is acknowledged, not delivered
 * twice) the sender's repeat of R2 is delivered: it was never applied. */
static void test_m22_record_of_refused_closed_repeat_delivered_after_restart(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir, false, false);
    request(&f, 1);
    request(&f, 2);
    expect_at_app(&f, 1);
    refuse_r2(&f);
    assert_null(f.app.cur);
    afix_free(&f);

    struct afix g;
    afix_init(&g, dir, false, false);
    request(&g, 2);
    if (sent_count("<messageID>2</messageID>", NULL) > 0)
        fail_msg("the repeat of refused R2 was answered, not delivered: %s", sent[0]);
    expect_at_app(&g, 2);
    assert_false(g.app.repeat);
    answer(&g);
    request(&g, 1); /* R1 was answered: the same answer again, not delivered */
    assert_int_equal(sent_count("<messageID>1</messageID>", NULL), 1);
    assert_int_equal(g.app.delivered, 1);
    afix_free(&g);
    rm_tmp(dir);
}

/* ---- the flow core alone ---- */

static struct cg_flow *mk(bool journal)
{
    struct cg_flow_config c = {.ch = 1, .my_id = "dev", .peer_id = "ncs",
                               .ack_timeout_ms = 1000, .retries = 2, .keepalive_ms = 30000,
                               .max_queue = 8, .max_held = 4, .record = true,
                               .journal = journal};
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    cg__flow_lane_up(f, 0, CG_FLOW_OUT);
    cg__flow_lane_up(f, 0, CG_FLOW_IN);
    return f;
}

/* The index of the first action of kind k (the test fails without one). */
static size_t at(const struct fx_acts *x, enum cg_flow_act_kind k)
{
    return (size_t)(fx_find(x, k) - x->a);
}

/* cg__flow_app_refuse closes the record: a JOURNAL_ANSWER with answer 0
 * (its messageID and digest) before the NACK, as for any answer. */
static void test_core_refuse_closes_record_before_nack(void **state)
{
    (void)state;
    struct fx_acts x;
    for (int journal = 0; journal < 2; journal++) {
        struct cg_flow *f = mk(journal);
        fx_drain(f, &x);
        struct cg_mos_envelope e;
        fx_env(&e, "roCreate", "7", "dev", "ncs");
        struct cg_flow_msg m = {.env = &e, .ref = 11};
        fx_digest(m.digest, 7);
        cg__flow_received(f, 1, CG_FLOW_IN, &m);
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_REQUEST), 1);
        cg__flow_journal_result(f, 2, true, NULL);
        fx_drain(f, &x);
        uint64_t t = fx_find(&x, CG_FLOW_A_DELIVER)->token;
        assert_int_equal(cg__flow_app_refuse(f, 3, t, "out of memory"), CG_OK);
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_ANSWER), 1);
        const struct cg_flow_act *j = fx_find(&x, CG_FLOW_A_JOURNAL_ANSWER);
        assert_int_equal(j->answer, 0);
        assert_string_equal(j->msgid, "7");
        assert_memory_equal(j->digest, m.digest, CG_FLOW_DIGEST);
        assert_true(at(&x, CG_FLOW_A_JOURNAL_ANSWER) < at(&x, CG_FLOW_A_SEND_NACK));
        free(f);
    }
}

/* Replayed: a request, then its close (answer 0): not delivered, and its
 * messageID not remembered (a repeat is delivered as new, not acknowledged
 * nor answered). Also after a "delivered before" ID-only record. */
static void test_core_replayed_close_forgets(void **state)
{
    (void)state;
    struct fx_acts x;
    uint8_t d[CG_FLOW_DIGEST];
    fx_digest(d, 7);
    for (int journal = 0; journal < 2; journal++) {
        struct cg_flow_config c = {.ch = 1, .my_id = "dev", .peer_id = "ncs",
                                   .ack_timeout_ms = 1000, .retries = 2, .max_queue = 8,
                                   .max_held = 4, .record = true, .journal = journal};
        struct cg_flow *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
        if (journal)
            cg__flow_replay_request(f, 11, "7", d, "roCreate");
        else
            cg__flow_replay_delivered(f, "7", d);
        cg__flow_replay_answer(f, "7", NULL, 0);
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_RELEASE), journal ? 1 : 0);
        cg__flow_replay_done(f, 1);
        cg__flow_lane_up(f, 1, CG_FLOW_OUT);
        cg__flow_lane_up(f, 1, CG_FLOW_IN);
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_DELIVER), 0);
        struct cg_mos_envelope e;
        fx_env(&e, "roCreate", "7", "dev", "ncs");
        struct cg_flow_msg m = {.env = &e, .ref = 21};
        memcpy(m.digest, d, CG_FLOW_DIGEST);
        cg__flow_received(f, 2, CG_FLOW_IN, &m);
        fx_drain(f, &x);
        assert_int_equal(fx_count(&x, CG_FLOW_A_SEND_ACK) + fx_count(&x, CG_FLOW_A_SEND_ANSWER), 0);
        assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_REQUEST), 1); /* a new request */
        cg__flow_journal_result(f, 3, true, NULL);
        fx_drain(f, &x);
        const struct cg_flow_act *del = fx_find(&x, CG_FLOW_A_DELIVER);
        assert_int_equal(del->ref, 21);
        assert_false(del->repeat);
        free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m22_journal_refused_not_delivered_after_restart),
        cmocka_unit_test(test_m22_record_of_refused_closed_repeat_delivered_after_restart),
        cmocka_unit_test(test_core_refuse_closes_record_before_nack),
        cmocka_unit_test(test_core_replayed_close_forgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
