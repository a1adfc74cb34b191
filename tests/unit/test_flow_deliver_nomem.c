/* An IN request whose handle for the application cannot be allocated
 * (src/mos4/flow.c deliver): the sender gets a NACK and the lane moves on
 * to the next request; it is never left waiting for an answer that cannot
 * come (M-22: one request at the application, every request answered).
 * Allocations fail on purpose through the linker's --wrap, matched by size
 * (the request handle, the answer's struct mos4_msg, the request's copy
 * kept for the journal's compaction). No network: what the lane writes is
 * caught by wrapping cg__mos4_lane_write. */
// CG_WRAP: cg__mos4_lane_write calloc malloc
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ---- allocation failures: the next `times` of exactly `size` bytes after
 * `skip` more of that size (from castgate's code and this test's). ---- */
struct fail {
    size_t size;
    unsigned skip, times, failed;
};
static struct fail fail_calloc[2], fail_malloc;

void *__real_calloc(size_t n, size_t size);
void *__real_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t n);

static bool fails(struct fail *f, size_t size)
{
    if (f->times == 0 || size != f->size)
        return false;
    if (f->skip > 0) {
        f->skip--;
        return false;
    }
    f->times--;
    f->failed++;
    return true;
}

void *__wrap_calloc(size_t n, size_t size)
{
    bool no = n == 1 && (fails(&fail_calloc[0], size) || fails(&fail_calloc[1], size));
    return no ? NULL : __real_calloc(n, size);
}

void *__wrap_malloc(size_t n) { return fails(&fail_malloc, n) ? NULL : __real_malloc(n); }

static void fail_none(void)
{
    memset(fail_calloc, 0, sizeof(fail_calloc));
    memset(&fail_malloc, 0, sizeof(fail_malloc));
}

/* ---- what the lane writes ---- */

#define MAX_SENT 256
static char *sent[MAX_SENT];
static size_t nsent;

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    (void)l;
    assert_true(nsent < MAX_SENT);
    sent[nsent] = __real_malloc(len + 1);
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

/* How many written messages say both a and b (b may be NULL). */
static size_t sent_count(const char *a, const char *b)
{
    size_t n = 0;
    for (size_t i = 0; i < nsent; i++)
        n += strstr(sent[i], a) != NULL && (b == NULL || strstr(sent[i], b) != NULL);
    return n;
}

/* ---- a device "dev" with NCS peer "ncs" on ro ---- */

struct app {
    unsigned delivered;
    char last[128];
    struct cg_mos_request *cur; /* one at a time (M-22) */
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
    snprintf(a->last, sizeof(a->last), "%.*s", (int)(m->env->element.len > 100 ? 100 :
             m->env->element.len), m->xml + m->env->element.off);
    a->cur = req;
}

/* Both lanes up; the state directory dir (journal option on). */
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
    f->ep.cfg.validate = false; /* no allocations of the checker between ours */
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
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

/* The process dies (the request at the application goes with the lane). */
static void afix_free(struct afix *f)
{
    fail_none();
    f->app.cur = NULL;
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

/* R<i> under messageID i; its length. */
static size_t request(struct afix *f, unsigned i)
{
    char xml[600];
    int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%u"
                     "</messageID><roCreate><roID>R%u</roID></roCreate></mos>", i, i);
    cg__mos4_on_message(in_lane(f), false, (const uint8_t *)xml, (size_t)n);
    return (size_t)n;
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
    snprintf(dir, sz, "/tmp/cg-test-delivernomem-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

#define NOMEM_NACK "castgate: out of memory, the request was not delivered"

/* R2 waits behind R1; its handle cannot be made when its turn comes: the
 * sender gets a NACK under messageID 2 (journaled and remembered: a repeat
 * of 2 gets it again, M-22), the error is logged, and the lane goes on: R3
 * reaches the application. After a restart only R3 is delivered again. */
static void test_m22_handle_nomem_nacked_lane_moves_on(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir);
    request(&f, 1);
    request(&f, 2);
    expect_at_app(&f, 1);
    fail_calloc[0] = (struct fail){.size = sizeof(struct cg_mos_request), .times = 1};
    answer(&f); /* R2's turn: its handle fails */
    assert_int_equal(fail_calloc[0].failed, 1);
    assert_null(f.app.cur);
    assert_int_equal(sent_count("<messageID>2</messageID>", NOMEM_NACK), 1);
    assert_true(tu_log_has(&f.log, "messageID 2 not delivered"));
    request(&f, 3); /* the lane moved on */
    expect_at_app(&f, 3);
    request(&f, 2); /* the sender's repeat: the same answer (M-22), not delivered */
    assert_int_equal(sent_count("<messageID>2</messageID>", NOMEM_NACK), 2);
    assert_int_equal(f.app.delivered, 2);
    afix_free(&f); /* dies with R3 at the application */

    struct afix g;
    afix_init(&g, dir);
    cg__mos4_replay(in_lane(&g));
    expect_at_app(&g, 3);
    answer(&g);
    assert_null(g.app.cur); /* R2 was answered (the NACK), never delivered again */
    assert_int_equal(g.app.delivered, 1);
    afix_free(&g);
    rm_tmp(dir);
}

/* No memory even for the NACK answer (its struct mos4_msg fails too): the
 * core refuses R2 with a NACK of its own and forgets it; R3 reaches the
 * application, and the sender's repeat of R2 is delivered after it. */
static void test_m22_handle_and_answer_nomem_still_nacked(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir);
    request(&f, 1);
    request(&f, 2);
    request(&f, 3);
    expect_at_app(&f, 1);
    fail_calloc[0] = (struct fail){.size = sizeof(struct cg_mos_request), .times = 1};
    /* the first is R1's answer (cg_mos_reply_ack), the second the NACK for R2 */
    fail_calloc[1] = (struct fail){.size = sizeof(struct mos4_msg), .skip = 1, .times = 1};
    answer(&f);
    assert_int_equal(fail_calloc[0].failed, 1);
    assert_int_equal(fail_calloc[1].failed, 1);
    assert_int_equal(sent_count("<messageID>2</messageID>", "out of memory"), 1);
    assert_true(tu_log_has(&f.log, "messageID 2 not delivered"));
    expect_at_app(&f, 3); /* the lane moved on */
    request(&f, 2);       /* the repeat: new, held behind R3 */
    answer(&f);
    expect_at_app(&f, 2);
    answer(&f);
    assert_int_equal(f.app.delivered, 3);
    afix_free(&f);
    rm_tmp(dir);
}

/* The copy of R1 kept for the journal's compaction cannot be made: R1 is
 * not handed over without it (a compaction would drop it from the journal
 * while it is open); the sender gets a NACK and R2 goes on. */
static void test_m22_journal_copy_nomem_nacked_lane_moves_on(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct afix f;
    afix_init(&f, dir);
    char xml[600];
    size_t len = (size_t)snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID>"
                                  "<messageID>%u</messageID><roCreate><roID>R%u</roID>"
                                  "</roCreate></mos>", 1u, 1u);
    fail_malloc = (struct fail){.size = len, .times = 1};
    assert_int_equal(request(&f, 1), len);
    assert_int_equal(fail_malloc.failed, 1);
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(sent_count("<messageID>1</messageID>", NOMEM_NACK), 1);
    request(&f, 2);
    expect_at_app(&f, 2);
    afix_free(&f);
    rm_tmp(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m22_handle_nomem_nacked_lane_moves_on),
        cmocka_unit_test(test_m22_handle_and_answer_nomem_still_nacked),
        cmocka_unit_test(test_m22_journal_copy_nomem_nacked_lane_moves_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
