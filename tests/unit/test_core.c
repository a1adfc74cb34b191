/* Unit tests for src/core: errors, buffers, cursor, files, context, logging;
 * the pure parts (issue 16 item 5): digits of base 10 and 16 (cg__digitval,
 * which the XML readers and the message-ID parser share), the log filter,
 * its line bound and the stderr sink's format, a context on a caller's loop,
 * a run that cannot nest, scratch buffers per context, and a pool's options
 * (refused bounds; its threads' name and nice value). */
#define _GNU_SOURCE
#include "testutil.h"
#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    static const enum cg_err all[] = {
        CG_OK, CG_EINVAL, CG_ENOMEM, CG_ESTATE, CG_ERANGE, CG_ENOTFOUND, CG_EEXIST, CG_ECONFIG,
        CG_EIO, CG_EFILE, CG_EPERM, CG_ENET, CG_ETIMEDOUT, CG_ECLOSED, CG_EFULL, CG_EAGAIN,
        CG_ETLS, CG_ECERT, CG_EKEY, CG_EKEYMISMATCH, CG_EHANDSHAKE, CG_EVERIFY, CG_EREVOKED,
        CG_EOCSP, CG_EEXPIRED, CG_EPROTO, CG_EHTTP, CG_EWS, CG_ETOOBIG, CG_EENCODING, CG_EXML,
        CG_EJUNK, CG_EENVELOPE, CG_ENACK, CG_EDNS, CG_ENOTSUP, CG_EAUTH, CG_ERATELIMIT,
        CG_EINTERNAL, CG_EHOSTNAME, CG_EUNTRUSTED, CG_ESELFSIGNED, CG_EPIN};
    for (size_t i = 0; i < CG_ARRAY_LEN(all); i++) {
        assert_string_not_equal(cg_strerror(all[i]), "unknown error");
        assert_string_not_equal(cg_errname(all[i]), "CG_UNKNOWN");
    }
    assert_string_equal(cg_strerror((enum cg_err)12345), "unknown error");
    assert_string_equal(cg_errname(CG_ETOOBIG), "CG_ETOOBIG");
    /* The numbers are ABI: pin a few. */
    assert_int_equal(CG_EINVAL, 1);
    assert_int_equal(CG_EIO, 100);
    assert_int_equal(CG_ETLS, 200);
    assert_int_equal(CG_EPROTO, 300);
    assert_int_equal(CG_EAUTH, 400);
}

static void test_buf_cap_and_consume(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 10);
    assert_int_equal(cg__buf_append(&b, "hello", 5), CG_OK);
    assert_int_equal(cg__buf_append(&b, "world", 5), CG_OK);
    assert_int_equal(cg__buf_append(&b, "!", 1), CG_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    cg__buf_consume(&b, 3);
    assert_memory_equal(b.data, "loworld", 7);
    cg__buf_reset(&b);
    assert_int_equal(cg__buf_printf(&b, "%d-%s", 42, "x"), CG_OK);
    assert_memory_equal(b.data, "42-x", 4);
    assert_int_equal(cg__buf_printf(&b, "%s", "123456789"), CG_ETOOBIG);
    cg__buf_free(&b);
    /* SIZE_MAX-sized requests must not wrap. */
    cg__buf_init(&b, 0);
    assert_int_not_equal(cg__buf_reserve(&b, SIZE_MAX), CG_OK);
    cg__buf_free(&b);
}

static void test_cursor_bounds(void **state)
{
    (void)state;
    const uint8_t data[] = {0x12, 0x34, 0x56};
    struct cg_cur c;
    uint16_t v16;
    uint8_t v8;
    const uint8_t *p;
    cg__cur_init(&c, data, sizeof(data));
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_OK);
    assert_int_equal(v16, 0x1234);
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_EAGAIN);
    assert_int_equal(c.off, 2);
    assert_int_equal(cg__cur_u8(&c, &v8), CG_OK);
    assert_int_equal(v8, 0x56);
    assert_int_equal(cg__cur_bytes(&c, 1, &p), CG_EAGAIN);
    assert_int_equal(cg__cur_left(&c), 0);
}

static void test_private_file_permissions(void **state)
{
    (void)state;
    char path[] = "/tmp/cg-test-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(cg__check_private_file(path), CG_OK);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(cg__check_private_file(path), CG_EPERM);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(cg__check_private_file(path), CG_EPERM);
    unlink(path);
    assert_int_equal(cg__check_private_file(path), CG_EFILE);
    assert_int_equal(cg__check_private_file("/tmp"), CG_EFILE);
}

static void test_read_file_limits(void **state)
{
    (void)state;
    char path[] = "/tmp/cg-test-read-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(cg__read_file(path, 10, &data, &len), CG_OK);
    assert_int_equal(len, 10);
    assert_string_equal((char *)data, "0123456789");
    free(data);
    assert_int_equal(cg__read_file(path, 9, &data, &len), CG_ETOOBIG);
    unlink(path);
    assert_int_equal(cg__read_file(path, 10, &data, &len), CG_EFILE);
}

static void test_ct_equal_and_escape(void **state)
{
    (void)state;
    assert_true(cg__ct_equal("secret", "secret", 6));
    assert_false(cg__ct_equal("secret", "secreT", 6));
    char out[32];
    cg__log_escape(out, sizeof(out), "GET\r\n\x01\\", 7);
    assert_string_equal(out, "GET\\x0d\\x0a\\x01\\x5c");
    cg__log_escape(out, 6, "abcdefgh", 8);
    assert_string_equal(out, "abcde");
}

static void test_ctx_log_levels(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct tu_log log = {0};
    assert_int_equal(cg_ctx_new(NULL), CG_EINVAL);
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg__log(ctx, CG_LOG_ERROR, "test", "before a sink %d", 1);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_WARN);
    cg__log(ctx, CG_LOG_WARN, "test", "warned %s", "here");
    cg__log(ctx, CG_LOG_DEBUG, "test", "too verbose");
    assert_int_equal(log.lines, 1);
    assert_true(tu_log_has(&log, "test: warned here"));
    assert_non_null(cg_ctx_loop(ctx));
    assert_int_equal(cg_ctx_run(ctx), CG_OK); /* nothing to do: returns */
    cg_ctx_free(ctx);
    cg_ctx_free(NULL);
}

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
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_buf_cap_and_consume),
        cmocka_unit_test(test_cursor_bounds),
        cmocka_unit_test(test_private_file_permissions),
        cmocka_unit_test(test_read_file_limits),
        cmocka_unit_test(test_ct_equal_and_escape),
        cmocka_unit_test(test_ctx_log_levels),
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
