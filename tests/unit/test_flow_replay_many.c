/* A journal (journal = yes) that holds more requests without an answer for
 * one IN lane than the flow core's own held ring (CG_FLOW_HELD_MAX, 64):
 * after a restart every one is delivered again, in journal order, and a
 * compaction keeps every one. The adapter, the journal and the core together
 * (src/mos4/journal.c replay, src/mos4/flow.c, src/flow/flow.c), without a
 * network: what the lane writes is caught by wrapping cg__mos4_lane_write.
 * M-22: "unacked and queued messages should survive a restart"; "order of
 * application is critical". */
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

/* The application keeps the request it was given (one at a time, M-22). */
struct app {
    unsigned delivered, repeats;
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
    assert_null(a->cur); /* never two at the application */
    a->delivered++;
    a->repeats += m->repeat;
    snprintf(a->last, sizeof(a->last), "%.*s", (int)(m->env->element.len > 100 ? 100 :
             m->env->element.len), m->xml + m->env->element.off);
    a->cur = req;
}

/* A device "dev" with NCS peer "ncs" on ro (both lanes up), the state
 * directory dir, the journal option on; its journal replayed (not yet
 * delivered: cg__mos4_replay does that, as the lane's start would). */
static void afix_init(struct afix *f, const char *dir)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(cg_ctx_new(&f->ctx), CG_OK);
    cg_ctx_set_log(f->ctx, tu_log_fn, &f->log, CG_LOG_WARN);
    struct cg_mos_endpoint_config *cfg = NULL;
    assert_int_equal(cg_mos_endpoint_config_new(CG_MOS_ROLE_MOS, "dev", &cfg), CG_OK);
    f->ep.cfg = *cfg;
    free(cfg); /* its strings are NULL */
    f->ep.cfg.state_dir = (char *)dir;
    f->ep.cfg.journal = true;
    f->ep.cfg.redeliver = true;
    f->ep.cfg.max_queue = 1000;
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
    cg__mos4_journal_open(&f->peer.lanes[1][CG_MOS_IN]);
}

static struct mos4_lane *in_lane(struct afix *f) { return &f->peer.lanes[1][CG_MOS_IN]; }

/* The process dies: nothing more is answered (the request at the
 * application goes with the lane). */
static void afix_free(struct afix *f)
{
    cg__mos4_journal_close(in_lane(f));
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

static void request(struct afix *f, unsigned i)
{
    char xml[600];
    int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%u"
                     "</messageID><roCreate><roID>R%u</roID></roCreate></mos>", i, i);
    cg__mos4_on_message(in_lane(f), false, (const uint8_t *)xml, (size_t)n);
}

/* The request at the application is R<i>; it is answered (the next one
 * then goes to the application). */
static void expect_and_answer(struct afix *f, unsigned i)
{
    char want[32];
    snprintf(want, sizeof(want), "<roID>R%u</roID>", i);
    if (f->app.cur == NULL)
        fail_msg("expected R%u at the application, none there (last: %s)", i, f->app.last);
    if (strstr(f->app.last, want) == NULL)
        fail_msg("expected R%u at the application, got %s", i, f->app.last);
    struct cg_mos_request *r = f->app.cur;
    f->app.cur = NULL;
    assert_int_equal(cg_mos_reply_ack(r, true, "applied"), CG_OK);
}

static void mkdir_tmp(char *dir, size_t sz)
{
    snprintf(dir, sz, "/tmp/cg-test-replaymany-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* What a peer can leave open in practice: one request at the application
 * and 64 held behind it (the 66th is refused with a NACK). The gateway
 * dies; after the restart all 65 are delivered again in order. It dies
 * again with R3 at the application: the journal rewritten at the first
 * restart still has R3..R65, delivered in order after the second. */
static void test_m22_65_open_requests_survive_two_restarts_in_order(void **state)
{
    (void)state;
    enum { OPEN = 1 + CG_MOS4_MAX_HELD };
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir);
    for (unsigned i = 1; i <= OPEN + 1; i++)
        request(&f, i);
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(sent_count("requests already wait"), 1); /* the 66th: NACK */
    f.app.cur = NULL; /* freed with the lane */
    afix_free(&f);

    struct afix g;
    afix_init(&g, dir);
    cg__mos4_replay(in_lane(&g));
    for (unsigned i = 1; i <= 2; i++)
        expect_and_answer(&g, i);
    assert_non_null(strstr(g.app.last, "<roID>R3</roID>"));
    assert_false(tu_log_has(&g.log, "no room"));
    g.app.cur = NULL;
    afix_free(&g);

    struct afix h;
    afix_init(&h, dir);
    cg__mos4_replay(in_lane(&h));
    for (unsigned i = 3; i <= OPEN; i++)
        expect_and_answer(&h, i);
    assert_null(h.app.cur); /* R66 was refused, never recorded */
    assert_int_equal(h.app.delivered, OPEN - 2);
    assert_int_equal(h.app.repeats, OPEN - 2); /* each may have been applied before */
    assert_int_equal(sent_count("<roStatus>OK</roStatus>"), OPEN - 2);
    afix_free(&h);
    rm_tmp(dir);
}

/* A journal (written here as castgate writes it) with 150 requests, every
 * tenth answered: the 135 others are delivered again in order. */
static void test_m22_150_open_requests_in_a_journal_all_delivered(void **state)
{
    (void)state;
    enum { N = 150 };
    char dir[64], path[256];
    mkdir_tmp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/msgid-ncs-%s.journal", dir, cg__mos4_ch_name(1));
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_append(&b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)),
                     CG_OK);
    for (unsigned i = 1; i <= N; i++) {
        char xml[300], id[16];
        snprintf(id, sizeof(id), "%u", i);
        int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>"
                         "%u</messageID><roCreate><roID>R%u</roID></roCreate></mos>", i, i);
        struct mos4_jrec r = {.kind = 'R', .msgid = id, .data = (const uint8_t *)xml,
                              .len = (size_t)n, .has_digest = true};
        cg__mos4_digest(xml, (size_t)n, r.digest);
        assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
        if (i % 10 != 0)
            continue;
        n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%u"
                     "</messageID><roAck><roID/><roStatus>OK</roStatus></roAck></mos>", i);
        r.kind = 'A';
        r.len = (size_t)n;
        assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
    }
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    assert_int_equal(fclose(fp), 0);
    cg__buf_free(&b);

    struct afix f;
    afix_init(&f, dir);
    cg__mos4_replay(in_lane(&f));
    for (unsigned i = 1; i <= N; i++)
        if (i % 10 != 0)
            expect_and_answer(&f, i);
    assert_null(f.app.cur);
    assert_int_equal(f.app.delivered, N - N / 10);
    assert_false(tu_log_has(&f.log, "no room"));
    afix_free(&f);
    rm_tmp(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m22_65_open_requests_survive_two_restarts_in_order),
        cmocka_unit_test(test_m22_150_open_requests_in_a_journal_all_delivered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
