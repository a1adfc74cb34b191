/* Giving the C heap's free pages back (cg_ctx_heap_trim, include/castgate/ctx.h).
 * Why (issue 19, docs/soak.md): in the 2-hour soak, gateway A's RSS grew by
 * +69.5 kB/min after its warm-up while nothing it held grew. heaptrack,
 * attached to A for 20 minutes, saw the live heap flat (116-118 MB in every
 * 2-minute mean from minute 2 on); glibc's mallinfo2 saw "in use" rise by
 * what "mapped" lost (blocks of 256 KiB and more are served from a free chunk
 * inside the arena when one is large enough, and only mapped on their own
 * when none is) and the arena's free bytes rise 7 -> 27 MB. glibc gives back
 * only the top of an arena by itself; a free page below a live block stays
 * resident until malloc_trim(0), which madvises every whole free page away.
 * The check runs off the loop (libuv's pool, see on_timer): mallinfo2 and
 * malloc_trim walk the arenas' free lists under their locks (the loop thread
 * only waits for that lock if it allocates meanwhile). */
#define _GNU_SOURCE
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* ---- the policy (sans-I/O) ---- */

void cg__trim_init(const struct cg__trim_policy *p, struct cg__trim_state *s)
{
    s->interval_ms = p->min_interval_ms;
}

bool cg__trim_due(const struct cg__trim_policy *p, size_t free_bytes)
{
    return free_bytes >= p->min_free;
}

/* A trim that gave back enough: check again soon, there is churn to follow.
 * One that gave back little: the heap holds few free pages, wait twice as
 * long (up to the maximum). A check that found too little free: same wait. */
void cg__trim_after(const struct cg__trim_policy *p, struct cg__trim_state *s, bool trimmed,
                    size_t released)
{
    if (!trimmed)
        return;
    if (released >= p->min_release)
        s->interval_ms = p->min_interval_ms;
    else
        s->interval_ms = s->interval_ms > p->max_interval_ms / 2 ? p->max_interval_ms
                                                                  : s->interval_ms * 2;
    if (s->interval_ms < p->min_interval_ms)
        s->interval_ms = p->min_interval_ms;
}

/* ---- the checks on the context ---- */

struct cg__heaptrim {
    uv_timer_t timer;
    uv_work_t work;
    struct cg_ctx *ctx;
    struct cg__trim_policy pol;
    struct cg__trim_state st;
    struct cg_heap_trim_stats stats;
    struct cg__trim_policy wpol; /* the worker's copy */
    size_t released;             /* worker -> loop */
    uint64_t us;
    bool trimmed;
    bool busy;    /* work queued or running */
    bool running; /* checks wanted (not stopped) */
    bool freeing; /* cg_ctx_free: the last of timer close and work frees it */
    bool closed;  /* the timer's close callback ran */
};

#if defined(__GLIBC__)
static size_t rss_bytes(void)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)(resident * (unsigned long long)page) : 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t arena_free(void)
{
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
    return mallinfo2().fordblks;
#else
    return SIZE_MAX; /* no mallinfo2: every check trims */
#endif
}

/* On a libuv pool thread: the worker's fields only. */
static void trim_work(uv_work_t *w)
{
    struct cg__heaptrim *t = w->data;
    t->trimmed = cg__trim_due(&t->wpol, arena_free());
    t->released = 0;
    t->us = 0;
    if (!t->trimmed)
        return;
    size_t before = rss_bytes();
    uint64_t t0 = now_us();
    malloc_trim(0);
    t->us = now_us() - t0;
    size_t after = rss_bytes();
    t->released = before > after ? before - after : 0;
}
#endif

static void on_timer(uv_timer_t *h);

static void rearm(struct cg__heaptrim *t)
{
    t->stats.interval_ms = t->st.interval_ms;
    if (t->running)
        uv_timer_start(&t->timer, on_timer, t->st.interval_ms, 0);
}

static void maybe_free(struct cg__heaptrim *t)
{
    if (t->freeing && t->closed && !t->busy)
        free(t);
}

/* Loop thread. UV_ECANCELED: cg_ctx_free took it off the queue. */
static void on_done(uv_work_t *w, int status)
{
    struct cg__heaptrim *t = w->data;
    t->busy = false;
    if (status == 0) {
        t->stats.checks++;
        if (t->trimmed) {
            t->stats.trims++;
            t->stats.released += t->released;
            t->stats.last_us = t->us;
            if (t->us > t->stats.max_us)
                t->stats.max_us = t->us;
        }
        cg__trim_after(&t->pol, &t->st, t->trimmed, t->released);
    }
    if (t->freeing)
        maybe_free(t);
    else
        rearm(t);
}

/* libuv's pool, not the context's low-priority threads: malloc_trim holds an
 * arena's lock while it walks it (about 1 ms in the soak), and a thread at
 * nice 10 preempted while holding it would stall every allocation of the
 * loop thread (a trim on the low-priority thread took up to 51 ms on the
 * shared machine). The pool's threads run at the loop's priority; a check
 * every 10 s or more delays its file work by no more than that. */
static void on_timer(uv_timer_t *h)
{
#if defined(__GLIBC__)
    struct cg__heaptrim *t = h->data;
    if (t->busy || !t->running)
        return;
    t->wpol = t->pol;
    if (uv_queue_work(t->timer.loop, &t->work, trim_work, on_done) != 0) {
        rearm(t); /* try again later */
        return;
    }
    t->busy = true;
#else
    (void)h;
#endif
}

static void on_closed(uv_handle_t *h)
{
    struct cg__heaptrim *t = h->data;
    t->closed = true;
    maybe_free(t);
}

void cg__heaptrim_free(struct cg__heaptrim *t)
{
    if (t == NULL)
        return;
    t->running = false;
    t->freeing = true;
    if (t->busy)
        uv_cancel((uv_req_t *)&t->work); /* not started: on_done with UV_ECANCELED */
    uv_close((uv_handle_t *)&t->timer, on_closed);
}

static enum cg_err heaptrim_new(struct cg_ctx *ctx, struct cg__heaptrim **slot)
{
    struct cg__heaptrim *t = calloc(1, sizeof(*t));
    CG_CHECK(t != NULL, CG_ENOMEM);
    if (uv_timer_init(cg_ctx_loop(ctx), &t->timer) != 0) {
        free(t);
        return CG_EINTERNAL;
    }
    uv_unref((uv_handle_t *)&t->timer); /* never what keeps the loop running */
    t->timer.data = t;
    t->work.data = t;
    t->ctx = ctx;
    *slot = t;
    return CG_OK;
}

enum cg_err cg_ctx_heap_trim(struct cg_ctx *ctx, const struct cg_heap_trim_opts *o)
{
    CG_CHECK(ctx != NULL, CG_EINVAL);
    CG_CHECK(o == NULL || (o->min_interval_ms > 0 && o->min_interval_ms <= o->max_interval_ms),
             CG_EINVAL);
#if !defined(__GLIBC__)
    return o == NULL ? CG_OK : CG_ENOTSUP;
#else
    struct cg__heaptrim **slot = cg__ctx_heaptrim_slot(ctx);
    CG_CHECK(slot != NULL, CG_ESTATE); /* being freed */
    struct cg__heaptrim *t = *slot;
    if (o == NULL) {
        if (t != NULL) {
            t->running = false;
            uv_timer_stop(&t->timer);
        }
        return CG_OK;
    }
    if (t == NULL)
        CG_GUARD(heaptrim_new(ctx, slot));
    t = *slot;
    t->pol = (struct cg__trim_policy){o->min_interval_ms, o->max_interval_ms, o->min_free,
                                      o->min_release};
    cg__trim_init(&t->pol, &t->st);
    t->running = true;
    if (!t->busy)
        rearm(t);
    return CG_OK;
#endif
}

enum cg_err cg_ctx_heap_trim_stats(const struct cg_ctx *ctx, struct cg_heap_trim_stats *out)
{
    CG_CHECK(ctx != NULL && out != NULL, CG_EINVAL);
    struct cg__heaptrim *const *slot = cg__ctx_heaptrim_slot((struct cg_ctx *)ctx);
    CG_CHECK(slot != NULL && *slot != NULL, CG_ESTATE);
    *out = (*slot)->stats;
    return CG_OK;
}
