/* Giving the C heap's free pages back (src/core/heaptrim.c, issue 19 item 4).
 * The 2-hour soak's gateway A grew its RSS by +69.5 kB/min after the warm-up
 * while what it had live did not grow: heaptrack attached to A in a 20-minute
 * run saw the live heap flat (116-118 MB, 2-minute means), mallinfo2 saw
 * "in use" rise exactly as "mapped" fell (blocks of 256 KiB and more served
 * from free chunks inside the arena instead of their own mappings) and the
 * arena's free bytes rise 7 -> 27 MB: pages freed inside the main arena that
 * glibc keeps resident, as it only gives back the top. malloc_trim(0) gives
 * back every whole free page; the policy here decides when it is worth it.
 * Fails before: the policy functions were stubs (no trim ever due, interval
 * never changed) and cg_ctx_heap_trim returned CG_ENOTSUP. */
#include "testutil.h"
#include "core/core.h"

#include <castgate/ctx.h>
#include <stdlib.h>
#include <uv.h>

static const struct cg__trim_policy P = {
    .min_interval_ms = 1000, .max_interval_ms = 8000, .min_free = 4u << 20, .min_release = 1u << 20};

static void test_init_waits_min_interval(void **state)
{
    (void)state;
    struct cg__trim_state s;
    cg__trim_init(&P, &s);
    assert_int_equal(s.interval_ms, 1000);
}

static void test_due_only_with_enough_free(void **state)
{
    (void)state;
    assert_false(cg__trim_due(&P, 0));
    assert_false(cg__trim_due(&P, (4u << 20) - 1));
    assert_true(cg__trim_due(&P, 4u << 20));
    assert_true(cg__trim_due(&P, 27u << 20)); /* the soak's A: 7..27 MB free */
}

static void test_little_released_backs_off_to_max(void **state)
{
    (void)state;
    struct cg__trim_state s;
    cg__trim_init(&P, &s);
    uint64_t want[] = {2000, 4000, 8000, 8000, 8000};
    for (size_t i = 0; i < CG_ARRAY_LEN(want); i++) {
        cg__trim_after(&P, &s, true, (1u << 20) - 1);
        assert_int_equal(s.interval_ms, want[i]);
    }
}

static void test_paying_trim_resets_interval(void **state)
{
    (void)state;
    struct cg__trim_state s;
    cg__trim_init(&P, &s);
    cg__trim_after(&P, &s, true, 0);
    cg__trim_after(&P, &s, true, 0);
    assert_int_equal(s.interval_ms, 4000);
    cg__trim_after(&P, &s, true, 1u << 20);
    assert_int_equal(s.interval_ms, 1000);
}

static void test_skipped_check_keeps_interval(void **state)
{
    (void)state;
    struct cg__trim_state s;
    cg__trim_init(&P, &s);
    cg__trim_after(&P, &s, true, 0);
    assert_int_equal(s.interval_ms, 2000);
    cg__trim_after(&P, &s, false, 0);
    assert_int_equal(s.interval_ms, 2000);
}

static void test_interval_never_overflows(void **state)
{
    (void)state;
    const struct cg__trim_policy big = {.min_interval_ms = UINT64_MAX / 2 + 1,
                                        .max_interval_ms = UINT64_MAX,
                                        .min_free = 0,
                                        .min_release = 1};
    struct cg__trim_state s;
    cg__trim_init(&big, &s);
    cg__trim_after(&big, &s, true, 0);
    assert_true(s.interval_ms == UINT64_MAX);
}

static void test_opts_checked(void **state)
{
    (void)state;
    struct cg_ctx *ctx;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    struct cg_heap_trim_opts o = {.min_interval_ms = 0, .max_interval_ms = 10};
    assert_int_equal(cg_ctx_heap_trim(ctx, &o), CG_EINVAL);
    o = (struct cg_heap_trim_opts){.min_interval_ms = 20, .max_interval_ms = 10};
    assert_int_equal(cg_ctx_heap_trim(ctx, &o), CG_EINVAL);
    struct cg_heap_trim_stats st;
    assert_int_equal(cg_ctx_heap_trim_stats(ctx, &st), CG_ESTATE); /* never started */
    assert_int_equal(cg_ctx_heap_trim(NULL, &o), CG_EINVAL);
    cg_ctx_free(ctx);
}

/* On a real loop: the timer fires, the trim runs on libuv's pool
 * and its done callback counts it; stopping closes the timer. */
static void on_poll(uv_timer_t *t)
{
    struct cg_ctx *ctx = t->data;
    struct cg_heap_trim_stats st;
    if (cg_ctx_heap_trim_stats(ctx, &st) == CG_OK && st.trims >= 2) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        assert_int_equal(cg_ctx_heap_trim(ctx, NULL), CG_OK); /* stops: the loop may end */
    }
}

static void test_trims_on_the_loop(void **state)
{
    (void)state;
    struct cg_ctx *ctx;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    /* free pages inside the arena: 8 MB in 64 KiB blocks (below the mmap
     * threshold), every other one freed, small keepers between them */
    enum { N = 128 };
    void *big[N], *keep[N];
    for (int i = 0; i < N; i++) {
        big[i] = malloc(64 * 1024);
        keep[i] = malloc(64);
        assert_non_null(big[i]);
        assert_non_null(keep[i]);
        ((char *)big[i])[0] = 1;
    }
    for (int i = 0; i < N; i += 2)
        free(big[i]);
    const struct cg_heap_trim_opts o = {
        .min_interval_ms = 5, .max_interval_ms = 20, .min_free = 0, .min_release = 0};
    assert_int_equal(cg_ctx_heap_trim(ctx, &o), CG_OK);
    uv_timer_t poll;
    uv_timer_init(cg_ctx_loop(ctx), &poll);
    poll.data = ctx;
    uv_timer_start(&poll, on_poll, 5, 5);
    assert_int_equal(cg_ctx_run(ctx), CG_OK);
    struct cg_heap_trim_stats st;
    assert_int_equal(cg_ctx_heap_trim_stats(ctx, &st), CG_OK);
    assert_true(st.trims >= 2);
    assert_true(st.checks >= st.trims);
    assert_true(st.max_us >= st.last_us);
    assert_int_equal(st.interval_ms, 5); /* min_release 0: every trim pays */
    for (int i = 0; i < N; i++) {
        if (i % 2)
            free(big[i]);
        free(keep[i]);
    }
    cg_ctx_free(ctx);
}

/* Freed while a check is queued or running: nothing leaks (ASan). */
static void test_free_while_running(void **state)
{
    (void)state;
    struct cg_ctx *ctx;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    const struct cg_heap_trim_opts o = {.min_interval_ms = 1, .max_interval_ms = 1};
    assert_int_equal(cg_ctx_heap_trim(ctx, &o), CG_OK);
    assert_int_equal(cg_ctx_heap_trim(ctx, &o), CG_OK); /* again: new options, one timer */
    uv_sleep(3);
    uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT); /* the timer fires: a check is queued */
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_waits_min_interval),
        cmocka_unit_test(test_due_only_with_enough_free),
        cmocka_unit_test(test_little_released_backs_off_to_max),
        cmocka_unit_test(test_paying_trim_resets_interval),
        cmocka_unit_test(test_skipped_check_keeps_interval),
        cmocka_unit_test(test_interval_never_overflows),
        cmocka_unit_test(test_opts_checked),
        cmocka_unit_test(test_trims_on_the_loop),
        cmocka_unit_test(test_free_while_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
