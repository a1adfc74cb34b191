/* The context: one event loop and one log sink. */
#define _GNU_SOURCE
#include "core/core.h"

#include <sched.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

struct cg_ctx {
    uv_loop_t own_loop;
    uv_loop_t *loop;
    bool owns_loop;
    bool running;
    cg_log_fn log_fn;
    void *log_user;
    enum cg_log_level log_level;
    /* Scratch space for the loop thread (cg__ctx_scratch): per context, not
     * per process, so two contexts on two threads never share bytes. */
    uint8_t scratch[CG_SCRATCH_COUNT][CG_SCRATCH_SIZE];
    struct cg_bgpool *bg; /* low-priority threads (bgpool.c), on first use */
    struct cg_bgpool *front; /* front-door threads: TLS handshakes (net/frontdoor.c) */
    bool bg_closed;       /* cg_ctx_free began: no new pool */
    struct cg__heaptrim *trim; /* cg_ctx_heap_trim's checks (heaptrim.c), when started */
};

static enum cg_err ctx_alloc(struct cg_ctx **out)
{
    CG_CHECK(out != NULL, CG_EINVAL);
    *out = calloc(1, sizeof(**out));
    CG_CHECK(*out != NULL, CG_ENOMEM);
    (*out)->log_level = CG_LOG_INFO;
    return CG_OK;
}

enum cg_err cg_ctx_new(struct cg_ctx **out)
{
    CG_GUARD(ctx_alloc(out));
    struct cg_ctx *ctx = *out;
    if (uv_loop_init(&ctx->own_loop) != 0) {
        free(ctx);
        *out = NULL;
        return CG_EIO;
    }
    ctx->loop = &ctx->own_loop;
    ctx->owns_loop = true;
    return CG_OK;
}

enum cg_err cg_ctx_new_on_loop(void *uv_loop, struct cg_ctx **out)
{
    CG_CHECK(uv_loop != NULL, CG_EINVAL);
    CG_GUARD(ctx_alloc(out));
    (*out)->loop = uv_loop;
    return CG_OK;
}

static void close_stray(uv_handle_t *h, void *arg)
{
    CG_UNUSED(arg);
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void cg_ctx_free(struct cg_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ctx->bg_closed = true;
    cg__bgpool_free(ctx->bg); /* its done callbacks may still queue: refused */
    ctx->bg = NULL;
    cg__bgpool_free(ctx->front); /* a step's done may free a connection, a TLS server */
    ctx->front = NULL;
    cg__heaptrim_free(ctx->trim); /* its timer closes, its check ends, in the uv_run below */
    ctx->trim = NULL;
    if (ctx->owns_loop) {
        /* Objects free their handles with uv_close; let those callbacks run. */
        uv_run(ctx->loop, UV_RUN_NOWAIT);
        if (uv_loop_close(ctx->loop) == UV_EBUSY) {
            uv_walk(ctx->loop, close_stray, NULL);
            uv_run(ctx->loop, UV_RUN_DEFAULT);
            uv_loop_close(ctx->loop);
        }
    }
    free(ctx);
}

void cg_ctx_set_log(struct cg_ctx *ctx, cg_log_fn fn, void *user, enum cg_log_level max_level)
{
    if (ctx == NULL)
        return;
    ctx->log_fn = fn;
    ctx->log_user = user;
    ctx->log_level = max_level;
}

enum cg_err cg_ctx_run(struct cg_ctx *ctx)
{
    CG_CHECK(ctx != NULL, CG_EINVAL);
    CG_CHECK(!ctx->running, CG_ESTATE);
    ctx->running = true;
    uv_run(ctx->loop, UV_RUN_DEFAULT);
    ctx->running = false;
    return CG_OK;
}

void cg_ctx_stop(struct cg_ctx *ctx)
{
    if (ctx != NULL)
        uv_stop(ctx->loop);
}

struct cg__heaptrim **cg__ctx_heaptrim_slot(struct cg_ctx *ctx)
{
    return ctx != NULL && !ctx->bg_closed ? &ctx->trim : NULL;
}

void *cg_ctx_loop(struct cg_ctx *ctx) { return ctx != NULL ? ctx->loop : NULL; }

const char *cg_version(void) { return "0.1.0"; }

bool cg__log_enabled(const struct cg_ctx *ctx, enum cg_log_level level)
{
    return ctx != NULL && ctx->log_fn != NULL && level <= ctx->log_level;
}

void cg__vlog(struct cg_ctx *ctx, enum cg_log_level level, const char *component,
              const char *fmt, va_list ap)
{
    if (!cg__log_enabled(ctx, level))
        return;
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    ctx->log_fn(ctx->log_user, level, component, line);
}

void cg__log(struct cg_ctx *ctx, enum cg_log_level level, const char *component, const char *fmt,
             ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg__vlog(ctx, level, component, fmt, ap);
    va_end(ap);
}

void cg_log_stderr(void *user, enum cg_log_level level, const char *component,
                   const char *message)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    CG_UNUSED(user);
    const char *lv = (unsigned)level < CG_ARRAY_LEN(names) ? names[level] : "?";
    fprintf(stderr, "castgate %s %s: %s\n", lv, component, message);
}

uint8_t *cg__ctx_scratch(struct cg_ctx *ctx, enum cg_scratch which, size_t *len)
{
    *len = sizeof(ctx->scratch[which]);
    return ctx->scratch[which];
}

/* The CPUs this process may run on (affinity, so a cpuset or taskset counts). */
static long usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

/* Password hashes, large validations: nice 10, below the loop thread. */
struct cg_bgpool *cg__ctx_bgpool(struct cg_ctx *ctx)
{
    if (ctx->bg == NULL && !ctx->bg_closed &&
        cg__bgpool_new(ctx, ctx->loop, cg__bg_threads_for(usable_cpus()), &ctx->bg) != CG_OK)
        ctx->bg = NULL;
    return ctx->bg;
}

/* TLS handshakes: below the loop thread at nice 10, like the pool above, but
 * threads of their own so a burst of handshakes never queues a password
 * check or a validation behind it, nor the reverse. */
struct cg_bgpool *cg__ctx_frontpool(struct cg_ctx *ctx)
{
    if (ctx->front != NULL || ctx->bg_closed)
        return ctx->front; /* asked per handshake step: no system call here */
    struct cg_bgpool_opts o = {cg__bg_threads_for(usable_cpus()), "cg-frontdoor", 10, false};
    if (cg__bgpool_new_opts(ctx, ctx->loop, &o, &ctx->front) != CG_OK)
        ctx->front = NULL;
    return ctx->front;
}
