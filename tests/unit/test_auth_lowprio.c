/* Password hashes and the low-priority pool (issue 12, denial of service):
 * an asynchronous check hashes on a thread below the loop's priority
 * (nice 10, SCHED_OTHER), never on the loop thread and never on libuv's pool
 * at the loop's priority, so a flood of guesses cannot take the CPU from the
 * loop that serves every lane. Also the pool's thread count (CPUs - 1, at
 * least 1), its order, and what a job hears when the context goes first. */
// CG_WRAP: crypt_r
#define _GNU_SOURCE
#include "testutil.h"
#include "mos4/auth.h"

#include <crypt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

/* Where the hash ran: recorded by the wrapped crypt_r. */
static int hash_policy = -1, hash_nice = -100;
static pthread_t hash_thread;
static bool hashed;
char *__real_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
    hash_policy = sched_getscheduler(0);
    errno = 0;
    hash_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    hash_thread = pthread_self();
    hashed = true;
    return __real_crypt_r(phrase, setting, data);
}

static void test_threads_for(void **state)
{
    (void)state;
    assert_int_equal(cg__bg_threads_for(-1), 1); /* unknown */
    assert_int_equal(cg__bg_threads_for(0), 1);
    assert_int_equal(cg__bg_threads_for(1), 1);
    assert_int_equal(cg__bg_threads_for(2), 1); /* the loop keeps one */
    assert_int_equal(cg__bg_threads_for(4), 3);
    assert_int_equal(cg__bg_threads_for(8), 7);
    assert_int_equal(cg__bg_threads_for(512), 16); /* capped */
}

struct verdict {
    bool done;
    enum cg_err rc;
};

static void on_done(void *user, enum cg_err rc, const char *who)
{
    (void)who;
    struct verdict *v = user;
    v->done = true;
    v->rc = rc;
}

static const char *credentials(char *dir, size_t dirsz)
{
    static char path[128];
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    assert_non_null(cd);
    assert_non_null(crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)));
    const char *h = __real_crypt_r("right", salt, cd);
    assert_non_null(h);
    snprintf(dir, dirsz, "/tmp/cg-test-lowprio-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "alice:%s\n", h);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    free(cd);
    return path;
}

/* The hash of an asynchronous check runs on a thread at nice 10 (not
 * SCHED_IDLE, which starves on a busy machine: test_auth_busy_machine.sh),
 * not on the loop thread. Fails on libuv's pool (nice 0). */
static void test_hash_runs_at_low_priority(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_auth *a = NULL;
    char dir[64];
    const char *path = credentials(dir, sizeof(dir));
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg__auth_load(ctx, path, NULL, &a), CG_OK);
    char user[CG_AUTH_USER_MAX + 1];
    struct verdict v = {0};
    hashed = false;
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:wrong"), "192.0.2.1", user,
                                          sizeof(user), on_done, &v),
                     CG_EAGAIN);
    for (int i = 0; i < 1000 && !v.done; i++)
        uv_run(cg_ctx_loop(ctx), UV_RUN_ONCE);
    assert_true(v.done);
    assert_int_equal(v.rc, CG_EAUTH);
    assert_true(hashed);
    assert_false(pthread_equal(hash_thread, pthread_self()));
    if (hash_policy != SCHED_OTHER || hash_nice != 10)
        fail_msg("the hash ran at policy %d nice %d; want SCHED_OTHER (%d) and nice 10",
                 hash_policy, hash_nice, SCHED_OTHER);
    cg__auth_free(a);
    cg_ctx_free(ctx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the pool on its own ---- */

struct job {
    struct cg_bgjob bg;
    int n;
    int *order;
    int *norder;
    enum cg_err rc;
    bool done;
};

static void job_work(struct cg_bgjob *b)
{
    struct job *j = (struct job *)b;
    j->n *= 2;
}

static void job_done(struct cg_bgjob *b, enum cg_err rc)
{
    struct job *j = (struct job *)b;
    j->rc = rc;
    j->done = true;
    if (j->order != NULL)
        j->order[(*j->norder)++] = j->n;
}

/* Jobs come back on the loop thread, each once; uv_run waits for them as it
 * does for a uv_work_t. */
static void test_pool_runs_jobs(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    struct job jobs[8];
    int order[8], norder = 0;
    for (int i = 0; i < 8; i++) {
        jobs[i] = (struct job){.n = i + 1, .order = order, .norder = &norder};
        assert_int_equal(cg__bg_queue(ctx, &jobs[i].bg, job_work, job_done), CG_OK);
    }
    uv_run(cg_ctx_loop(ctx), UV_RUN_DEFAULT); /* returns once all are done */
    assert_int_equal(norder, 8);
    for (int i = 0; i < 8; i++) {
        assert_true(jobs[i].done);
        assert_int_equal(jobs[i].rc, CG_OK);
        assert_int_equal(jobs[i].n, 2 * (i + 1));
    }
    cg_ctx_free(ctx);
}

/* The context goes with jobs queued: each hears exactly once (done or
 * CG_ECLOSED), inside cg_ctx_free; a queue from then on is refused. */
static void requeue_done(struct cg_bgjob *b, enum cg_err rc)
{
    struct job *j = (struct job *)b;
    j->rc = rc;
    j->done = true;
    j->n = -1;
}

static void test_pool_free_with_jobs(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    struct job jobs[32];
    for (int i = 0; i < 32; i++) {
        jobs[i] = (struct job){.n = i};
        assert_int_equal(cg__bg_queue(ctx, &jobs[i].bg, job_work, requeue_done), CG_OK);
    }
    cg_ctx_free(ctx);
    for (int i = 0; i < 32; i++) {
        assert_true(jobs[i].done);
        assert_true(jobs[i].rc == CG_OK || jobs[i].rc == CG_ECLOSED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_for),
        cmocka_unit_test(test_hash_runs_at_low_priority),
        cmocka_unit_test(test_pool_runs_jobs),
        cmocka_unit_test(test_pool_free_with_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
