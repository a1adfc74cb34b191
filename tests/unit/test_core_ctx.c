/* The pure parts of core/ (issue 16 item 5): digits of base 10 and 16
 * (cg__digitval, which the XML readers and the message-ID parser share), the
 * context's log filter, its line bound and the stderr sink's format, a
 * context on a caller's loop, a run that cannot nest, scratch buffers per
 * context, and a pool's options (refused bounds; its threads' name and nice
 * value). */
#define _GNU_SOURCE
#include "testutil.h"

#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

static void test_digitval_every_byte(void **state)
{
    (void)state;
    for (int c = -1; c < 0x200; c++) {
        int dec = c >= '0' && c <= '9' ? c - '0' : -1;
        int hex = dec >= 0                ? dec
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
        if (cg__digitval(c, 10) != dec || cg__digitval(c, 16) != hex)
            fail_msg("0x%x: base 10 %d (want %d), base 16 %d (want %d)", (unsigned)c,
                     cg__digitval(c, 10), dec, cg__digitval(c, 16), hex);
    }
    assert_int_equal(cg__digitval('a', 10), -1); /* a hex digit is no decimal one */
    assert_int_equal(cg__digitval('F', 16), 15);
    assert_int_equal(cg__digitval('9', 10), 9);
    assert_int_equal(cg__digitval(0x100, 16), -1); /* mos/: CG__MOS_OTHER, never a digit */
    assert_int_equal(cg__digitval('7', 8), 7);     /* base 8 */
    assert_int_equal(cg__digitval('8', 8), -1);
}

static void test_log_filter_and_line_bound(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_false(cg__log_enabled(NULL, CG_LOG_ERROR));
    assert_false(cg__log_enabled(ctx, CG_LOG_ERROR)); /* no sink yet */
    cg__log(NULL, CG_LOG_ERROR, "t", "nowhere");      /* no context: nothing, no crash */
    struct tu_log log = {0};
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_INFO);
    assert_true(cg__log_enabled(ctx, CG_LOG_ERROR));
    assert_true(cg__log_enabled(ctx, CG_LOG_INFO));
    assert_false(cg__log_enabled(ctx, CG_LOG_DEBUG));
    cg__log(ctx, CG_LOG_DEBUG, "t", "hidden");
    cg__log(ctx, CG_LOG_INFO, "comp", "n=%d s=%s", 42, "x");
    assert_int_equal(log.lines, 1);
    assert_string_equal(log.text, "2 comp: n=42 s=x\n");
    /* a line is cut at 1023 bytes, never overflows */
    char big[3000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memset(&log, 0, sizeof(log));
    cg__log(ctx, CG_LOG_ERROR, "c", "%s", big);
    assert_int_equal(log.lines, 1);
    assert_int_equal(log.len, strlen("0 c: ") + 1023 + 1);
    /* the sink goes: nothing more arrives */
    cg_ctx_set_log(ctx, NULL, NULL, CG_LOG_DEBUG);
    assert_false(cg__log_enabled(ctx, CG_LOG_ERROR));
    cg_ctx_set_log(NULL, tu_log_fn, &log, CG_LOG_DEBUG); /* ignored */
    cg_ctx_free(ctx);
}

static void test_stderr_sink_format(void **state)
{
    (void)state;
    struct tu_stderr cap;
    char out[256];
    tu_stderr_begin(&cap);
    cg_log_stderr(NULL, CG_LOG_WARN, "net", "slow peer");
    cg_log_stderr(NULL, CG_LOG_DEBUG, "mos4", "lane up");
    cg_log_stderr(NULL, (enum cg_log_level)7, "x", "odd level");
    tu_stderr_end(&cap, out, sizeof(out));
    assert_string_equal(out, "castgate warn net: slow peer\n"
                             "castgate debug mos4: lane up\n"
                             "castgate ? x: odd level\n");
}

/* A context on the caller's loop uses that loop and leaves it open. */
static void test_ctx_on_callers_loop(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(cg_ctx_new_on_loop(NULL, &ctx), CG_EINVAL);
    assert_null(ctx);
    assert_int_equal(cg_ctx_new_on_loop(&loop, NULL), CG_EINVAL);
    assert_int_equal(cg_ctx_new_on_loop(&loop, &ctx), CG_OK);
    assert_ptr_equal(cg_ctx_loop(ctx), &loop);
    assert_null(cg_ctx_loop(NULL));
    cg_ctx_free(ctx);
    assert_int_equal(uv_loop_close(&loop), 0); /* still ours, and nothing left on it */
}

struct nest {
    struct cg_ctx *ctx;
    enum cg_err inner;
    int fired;
};

static void nest_cb(uv_timer_t *t)
{
    struct nest *n = t->data;
    n->fired++;
    n->inner = cg_ctx_run(n->ctx); /* from inside the running loop */
    uv_close((uv_handle_t *)t, NULL);
}

static void test_run_does_not_nest(void **state)
{
    (void)state;
    struct nest n = {.inner = CG_OK};
    assert_int_equal(cg_ctx_run(NULL), CG_EINVAL);
    assert_int_equal(cg_ctx_new(&n.ctx), CG_OK);
    uv_timer_t t;
    uv_timer_init(cg_ctx_loop(n.ctx), &t);
    t.data = &n;
    uv_timer_start(&t, nest_cb, 0, 0);
    assert_int_equal(cg_ctx_run(n.ctx), CG_OK);
    assert_int_equal(n.fired, 1);
    assert_int_equal(n.inner, CG_ESTATE);
    assert_int_equal(cg_ctx_run(n.ctx), CG_OK); /* and runs again once it returned */
    cg_ctx_stop(NULL);
    cg_ctx_free(n.ctx);
}

/* Scratch space is the context's own: two contexts never share a byte. */
static void test_scratch_per_context(void **state)
{
    (void)state;
    struct cg_ctx *a = NULL, *b = NULL;
    assert_int_equal(cg_ctx_new(&a), CG_OK);
    assert_int_equal(cg_ctx_new(&b), CG_OK);
    size_t la = 0, lb = 0;
    uint8_t *pa = cg__ctx_scratch(a, CG_SCRATCH_TLS_OUT, &la);
    uint8_t *pb = cg__ctx_scratch(b, CG_SCRATCH_TLS_OUT, &lb);
    assert_int_equal(la, CG_SCRATCH_SIZE);
    assert_int_equal(lb, CG_SCRATCH_SIZE);
    assert_true(pa + la <= pb || pb + lb <= pa); /* no overlap */
    memset(pa, 0xAA, la);
    memset(pb, 0x55, lb);
    for (size_t i = 0; i < la; i++)
        if (pa[i] != 0xAA)
            fail_msg("byte %zu of a's scratch changed", i);
    size_t again = 0;
    assert_ptr_equal(cg__ctx_scratch(a, CG_SCRATCH_TLS_OUT, &again), pa); /* the same each use */
    cg_ctx_free(a);
    cg_ctx_free(b);
}

static void test_pool_options_refused(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cg_bgpool *p = NULL;
    struct cg_bgpool_opts ok = {1, "cg-test", 10, false}, o;
    o = ok, o.nice = 20;
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, &o, &p), CG_ERANGE);
    o = ok, o.nice = -1;
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, &o, &p), CG_ERANGE);
    o = ok, o.threads = 0;
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, &o, &p), CG_EINVAL);
    o = ok, o.name = NULL;
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, &o, &p), CG_EINVAL);
    assert_int_equal(cg__bgpool_new_opts(NULL, NULL, &ok, &p), CG_EINVAL);
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, NULL, &p), CG_EINVAL);
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, &ok, NULL), CG_EINVAL);
    assert_null(p);
    assert_int_equal(cg__bgpool_queue(NULL, NULL), CG_EINVAL);
    assert_int_equal(uv_loop_close(&loop), 0);
}

struct seen {
    struct cg_bgjob bg;
    char name[32];
    int nice;
    int done;
    enum cg_err rc;
};

static void seen_work(struct cg_bgjob *job)
{
    struct seen *s = (struct seen *)job;
    pthread_getname_np(pthread_self(), s->name, sizeof(s->name));
    errno = 0;
    s->nice = getpriority(PRIO_PROCESS, (id_t)gettid());
}

static void seen_done(struct cg_bgjob *job, enum cg_err rc)
{
    struct seen *s = (struct seen *)job;
    s->rc = rc;
    s->done++;
}

/* The threads carry the pool's name (cut to 15 bytes) and its nice value
 * (19: raising it is always allowed, whatever this process runs at). */
static void test_pool_threads_name_and_nice(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cg_bgpool *p = NULL;
    struct cg_bgpool_opts o = {1, "cg-a-very-long-pool-name", 19, false};
    assert_int_equal(cg__bgpool_new_opts(NULL, &loop, &o, &p), CG_OK);
    struct seen s = {.bg = {.work = seen_work, .done = seen_done}, .nice = -100};
    assert_int_equal(cg__bgpool_queue(p, &s.bg), CG_OK);
    for (int turns = 0; s.done == 0 && turns < 100000; turns++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.rc, CG_OK);
    assert_string_equal(s.name, "cg-a-very-long-");
    assert_int_equal(s.nice, 19);
    cg__bgpool_free(p);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digitval_every_byte),
        cmocka_unit_test(test_log_filter_and_line_bound),
        cmocka_unit_test(test_stderr_sink_format),
        cmocka_unit_test(test_ctx_on_callers_loop),
        cmocka_unit_test(test_run_does_not_nest),
        cmocka_unit_test(test_scratch_per_context),
        cmocka_unit_test(test_pool_options_refused),
        cmocka_unit_test(test_pool_threads_name_and_nice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
