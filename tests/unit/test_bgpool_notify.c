/* How the context's low-priority threads (src/core/bgpool.c) tell the loop a
 * job is done: never through uv_async_send. libuv 1.44's uv_async_send marks
 * the handle busy, writes the loop's eventfd, then marks it done; the loop
 * thread, woken by that write, spins (997 pauses, then sched_yield, again)
 * until the sender has marked it done. A sender at SCHED_IDLE is preempted
 * by any runnable thread, the loop it just woke included, so the loop thread
 * burned its CPU waiting for it: 14% of a gateway pair's CPU at the 2 MB
 * relay figure (perf, issue 13), and longer waits the busier the machine.
 * 200 jobs go through a pool of 2 threads; every done callback runs once, on
 * the loop thread, after its work, and uv_async_send is never called.
 * Fails before: the workers called uv_async_send once per finished job. */
// CG_WRAP: uv_async_send
#include "testutil.h"
#include "core/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

#define JOBS 200

static atomic_int g_async_sends;

int __real_uv_async_send(uv_async_t *h);
int __wrap_uv_async_send(uv_async_t *h);
int __wrap_uv_async_send(uv_async_t *h)
{
    atomic_fetch_add(&g_async_sends, 1);
    return __real_uv_async_send(h);
}

struct job {
    struct cg_bgjob bg; /* first */
    int index;
    int *order; /* where done callbacks note themselves */
    int *ndone;
    pthread_t *loop;
    bool ran, on_loop;
    enum cg_err rc;
};

static void work(struct cg_bgjob *b)
{
    ((struct job *)b)->ran = true;
}

static void done(struct cg_bgjob *b, enum cg_err rc)
{
    struct job *j = (struct job *)b;
    j->rc = rc;
    j->on_loop = pthread_equal(pthread_self(), *j->loop);
    j->order[(*j->ndone)++] = j->index;
}

static void test_done_without_uv_async_send(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cg_bgpool *p = NULL;
    assert_int_equal(cg__bgpool_new(NULL, &loop, 2, &p), CG_OK);
    static struct job jobs[JOBS];
    static int order[JOBS];
    int ndone = 0;
    pthread_t self = pthread_self();
    for (int i = 0; i < JOBS; i++) {
        jobs[i] = (struct job){.bg = {.work = work, .done = done}, .index = i, .order = order,
                               .ndone = &ndone, .loop = &self};
        assert_int_equal(cg__bgpool_queue(p, &jobs[i].bg), CG_OK);
    }
    for (int turns = 0; ndone < JOBS && turns < 1000000; turns++)
        uv_run(&loop, UV_RUN_ONCE); /* the pool's handle keeps it waiting while jobs are out */
    assert_int_equal(ndone, JOBS);
    cg__bgpool_free(p);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0); /* its handle closed: nothing left */
    assert_int_equal(uv_loop_close(&loop), 0);
    for (int i = 0; i < JOBS; i++) {
        assert_true(jobs[i].ran);
        assert_true(jobs[i].on_loop);
        assert_int_equal(jobs[i].rc, CG_OK);
    }
    int sends = atomic_load(&g_async_sends);
    if (sends != 0)
        fail_msg("the pool's threads called uv_async_send %d times for %d jobs", sends, JOBS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_done_without_uv_async_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
