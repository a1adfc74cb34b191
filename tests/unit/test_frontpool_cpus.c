/* The front-door pool (src/core/ctx.c, cg__ctx_frontpool) counts the CPUs
 * this process may use once, when it starts its threads, not once per TLS
 * handshake step: during bench hostile's password phase the loop thread's
 * profile (perf record -g -t LOOP) showed sched_getaffinity(2) under every
 * cg__bg_queue_front, a system call per step for a number that does not
 * change (issue 12 item 4: what each attacker connection costs the loop).
 * 50 jobs through the front door: one sched_getaffinity. Fails before: 50. */
// CG_WRAP: sched_getaffinity
#define _GNU_SOURCE
#include "testutil.h"
#include "core/core.h"

#include <castgate/ctx.h>
#include <sched.h>
#include <uv.h>

#define JOBS 50

static int g_affinity_calls;

int __real_sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set);
int __wrap_sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set);
int __wrap_sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set)
{
    g_affinity_calls++; /* the loop thread's calls: the test's thread */
    return __real_sched_getaffinity(pid, size, set);
}

static int g_done;
static void work(struct cg_bgjob *b) { (void)b; }
static void done(struct cg_bgjob *b, enum cg_err rc)
{
    (void)b;
    assert_int_equal(rc, CG_OK);
    g_done++;
}

static void test_cpus_counted_once(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    static struct cg_bgjob jobs[JOBS];
    for (int i = 0; i < JOBS; i++) {
        assert_int_equal(cg__bg_queue_front(ctx, &jobs[i], work, done), CG_OK);
        while (g_done <= i) /* one at a time: each finds the pool already there */
            uv_run(cg_ctx_loop(ctx), UV_RUN_ONCE);
    }
    assert_int_equal(g_done, JOBS);
    if (g_affinity_calls != 1)
        fail_msg("sched_getaffinity called %d times for %d handshake steps; want 1",
                 g_affinity_calls, JOBS);
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpus_counted_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
