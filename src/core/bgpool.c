/* Low-priority worker threads (see core.h): CPU-heavy work a peer can cause
 * runs here at nice 10, below the loop thread: it preempts them when it wakes
 * and gets about ten times their share of a CPU they both want. Not
 * SCHED_IDLE (as until 2026-12-07): a peer waits on a password hash or a
 * validation within a time limit, and SCHED_IDLE threads never ran while
 * other processes kept every CPU busy, so each upgrade was answered 503
 * after the 10 s header limit (test_auth_busy_machine.sh). libuv's own pool cannot be used for this: its threads also
 * do file system and DNS work for the loop, and a thread that lowered its
 * priority cannot raise it again without privileges.
 * A finished job is announced by a write to an eventfd the loop polls, never
 * by uv_async_send: libuv 1.44 marks an async handle busy, writes its wakeup
 * and then marks it done, and the loop thread it woke spins (pause, then
 * sched_yield, again) until the sender has; a sender at SCHED_IDLE is
 * preempted by any runnable thread, the woken loop first, so the loop burned
 * its CPU waiting on it (14% of a gateway pair's CPU at the 2 MB relay
 * figure, issue 13). One write(2) has no such window. */
#define _GNU_SOURCE
#include "core/core.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#define BG_MAX_THREADS 16u

struct cg_bgpool {
    struct cg_ctx *ctx;
    uv_poll_t poll; /* readable: a job is done (efd) */
    int efd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cg_bgjob *todo_head, *todo_tail; /* FIFO */
    struct cg_bgjob *done_head, *done_tail;
    pthread_t threads[BG_MAX_THREADS];
    unsigned nthreads;
    bool stop;
    unsigned pending; /* loop thread: queued, not yet done (the handle is referenced meanwhile) */
    atomic_bool prio_failed; /* a thread could not lower its priority */
    bool prio_logged;
    char name[16]; /* the threads' name (pthread_setname_np: 15 bytes) */
    int nice;      /* the threads' nice value */
    bool idle;     /* and SCHED_IDLE */
};

unsigned cg__bg_threads_for(long cpus)
{
    if (cpus <= 2)
        return 1;
    return cpus - 1 > (long)BG_MAX_THREADS ? BG_MAX_THREADS : (unsigned)(cpus - 1);
}

static void push(struct cg_bgjob **head, struct cg_bgjob **tail, struct cg_bgjob *j)
{
    j->next = NULL;
    if (*tail != NULL)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static struct cg_bgjob *pop(struct cg_bgjob **head, struct cg_bgjob **tail)
{
    struct cg_bgjob *j = *head;
    if (j != NULL) {
        *head = j->next;
        if (*head == NULL)
            *tail = NULL;
        j->next = NULL;
    }
    return j;
}

/* SCHED_IDLE: a runnable normal thread (the loop) preempts this one at once;
 * the nice value as well, for where SCHED_IDLE is refused (or alone, for a
 * pool whose work must not starve when other processes fill the CPUs).
 * Lowering never needs a privilege. */
static void lower_priority(struct cg_bgpool *p)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    struct sched_param sp = {.sched_priority = 0};
    bool ok = setpriority(PRIO_PROCESS, (id_t)tid, p->nice) == 0;
    if (p->idle)
        ok &= pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0;
    if (!ok)
        atomic_store(&p->prio_failed, true);
    pthread_setname_np(pthread_self(), p->name);
}

static void *worker(void *arg)
{
    struct cg_bgpool *p = arg;
    lower_priority(p);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->todo_head == NULL)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        struct cg_bgjob *j = pop(&p->todo_head, &p->todo_tail);
        pthread_mutex_unlock(&p->mu);
        j->work(j);
        j->rc = CG_OK;
        pthread_mutex_lock(&p->mu);
        push(&p->done_head, &p->done_tail, j);
        pthread_mutex_unlock(&p->mu); /* the loop may take the list at once */
        uint64_t one = 1; /* efd is closed only after every thread joined */
        while (write(p->efd, &one, sizeof(one)) < 0 && errno == EINTR)
            ; /* EAGAIN: the counter is full, the loop wakes anyway */
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Loop thread: one job less outstanding; none: the loop may end. */
static void settled(struct cg_bgpool *p)
{
    if (p->pending > 0 && --p->pending == 0 && !p->stop)
        uv_unref((uv_handle_t *)&p->poll);
}

/* Loop thread: the finished jobs' done callbacks, in order. */
static void run_done(struct cg_bgpool *p)
{
    if (atomic_load(&p->prio_failed) && !p->prio_logged) {
        p->prio_logged = true;
        cg__log(p->ctx, CG_LOG_WARN, "core", "low-priority threads: cannot lower their "
                "scheduling priority; hashes and validations compete with the loop");
    }
    pthread_mutex_lock(&p->mu);
    struct cg_bgjob *list = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (list != NULL) {
        struct cg_bgjob *j = list;
        list = j->next;
        settled(p);
        j->done(j, j->rc); /* may queue more or free the job */
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct cg_bgpool *p = h->data;
    CG_UNUSED(status);
    CG_UNUSED(events);
    uint64_t n;
    while (read(p->efd, &n, sizeof(n)) < 0 && errno == EINTR)
        ; /* EAGAIN: nothing new, the list is taken anyway */
    run_done(p);
}

static void on_closed(uv_handle_t *h)
{
    struct cg_bgpool *p = h->data;
    close(p->efd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

enum cg_err cg__bgpool_new_opts(struct cg_ctx *ctx, void *uv_loop, const struct cg_bgpool_opts *o,
                                struct cg_bgpool **out)
{
    CG_CHECK(uv_loop != NULL && out != NULL && o != NULL && o->threads > 0 && o->name != NULL,
             CG_EINVAL);
    CG_CHECK(o->nice >= 0 && o->nice <= 19, CG_ERANGE);
    unsigned threads = o->threads;
    struct cg_bgpool *p = calloc(1, sizeof(*p));
    CG_CHECK(p != NULL, CG_ENOMEM);
    p->ctx = ctx;
    snprintf(p->name, sizeof(p->name), "%s", o->name);
    p->nice = o->nice;
    p->idle = o->idle;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0 || uv_poll_init(uv_loop, &p->poll, p->efd) != 0) {
        if (p->efd >= 0)
            close(p->efd);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return CG_EINTERNAL;
    }
    p->poll.data = p;
    uv_poll_start(&p->poll, UV_READABLE, on_poll);
    /* Signals stay with the loop thread (libuv's pool does the same). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < threads && i < BG_MAX_THREADS; i++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
            break;
        p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->nthreads == 0) {
        uv_close((uv_handle_t *)&p->poll, on_closed);
        return CG_EINTERNAL;
    }
    uv_unref((uv_handle_t *)&p->poll); /* an idle pool does not keep the loop running */
    *out = p;
    return CG_OK;
}

enum cg_err cg__bgpool_new(struct cg_ctx *ctx, void *uv_loop, unsigned threads,
                           struct cg_bgpool **out)
{
    struct cg_bgpool_opts o = {threads, "cg-lowprio", 10, false};
    return cg__bgpool_new_opts(ctx, uv_loop, &o, out);
}

enum cg_err cg__bgpool_queue(struct cg_bgpool *p, struct cg_bgjob *job)
{
    CG_CHECK(p != NULL && job != NULL && job->work != NULL && job->done != NULL, CG_EINVAL);
    pthread_mutex_lock(&p->mu);
    bool stopping = p->stop;
    if (!stopping) {
        push(&p->todo_head, &p->todo_tail, job);
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (!stopping && p->pending++ == 0)
        uv_ref((uv_handle_t *)&p->poll); /* like a uv_work_t: the loop runs until done */
    return stopping ? CG_ECLOSED : CG_OK;
}

void cg__bgpool_free(struct cg_bgpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    /* No thread left: what finished, then what never ran. */
    run_done(p);
    struct cg_bgjob *j;
    while ((j = pop(&p->todo_head, &p->todo_tail)) != NULL) {
        settled(p);
        j->done(j, CG_ECLOSED);
    }
    uv_close((uv_handle_t *)&p->poll, on_closed);
}

static enum cg_err queue_on(struct cg_bgpool *p, struct cg_bgjob *job, cg__bg_work_fn work,
                            cg__bg_done_fn done)
{
    CG_CHECK(p != NULL, CG_EINTERNAL);
    job->work = work;
    job->done = done;
    job->rc = CG_OK;
    return cg__bgpool_queue(p, job);
}

enum cg_err cg__bg_queue(struct cg_ctx *ctx, struct cg_bgjob *job, cg__bg_work_fn work,
                         cg__bg_done_fn done)
{
    CG_CHECK(ctx != NULL && job != NULL && work != NULL && done != NULL, CG_EINVAL);
    return queue_on(cg__ctx_bgpool(ctx), job, work, done);
}

enum cg_err cg__bg_queue_front(struct cg_ctx *ctx, struct cg_bgjob *job, cg__bg_work_fn work,
                               cg__bg_done_fn done)
{
    CG_CHECK(ctx != NULL && job != NULL && work != NULL && done != NULL, CG_EINVAL);
    return queue_on(cg__ctx_frontpool(ctx), job, work, done);
}
