/* castgate — the library context: logging and the event loop.
 *
 * A struct cg_ctx owns one libuv event loop (or borrows the caller's) and the
 * log callback. Every network object (servers, endpoints, clients) belongs to
 * one context and runs on its loop, on the thread that calls cg_ctx_run().
 * The library never prints: everything it has to say goes to the callback.
 */
#ifndef CASTGATE_CTX_H
#define CASTGATE_CTX_H

#include <castgate/error.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_ctx;

enum cg_log_level { CG_LOG_ERROR = 0, CG_LOG_WARN = 1, CG_LOG_INFO = 2, CG_LOG_DEBUG = 3 };

/* Called for each log line at or below the configured level. component is a
 * short static string ("tls", "http", "ws", "mos", …); message is one line,
 * without a trailing newline, and never holds secrets. Both are valid only
 * during the call. Called on the loop thread, except for lines from OCSP
 * fetches which are logged from the loop thread after the fetch completes. */
typedef void (*cg_log_fn)(void *user, enum cg_log_level level, const char *component,
                          const char *message);

/* Creates a context with its own event loop. *out receives the context.
 * Returns CG_OK, CG_EINVAL (out NULL), CG_ENOMEM or CG_EIO (loop init). */
CG_API enum cg_err cg_ctx_new(struct cg_ctx **out);

/* Creates a context on the caller's libuv loop (a uv_loop_t *). The loop must
 * outlive the context; cg_ctx_free() does not close it. */
CG_API enum cg_err cg_ctx_new_on_loop(void *uv_loop, struct cg_ctx **out);

/* Frees the context. All objects created on it must be freed first, and the
 * loop must not be running. NULL is a no-op. */
CG_API void cg_ctx_free(struct cg_ctx *ctx);

/* Sets the log callback (NULL: discard) and the most verbose level passed to
 * it. Default: no callback. May be called at any time on the loop thread. */
CG_API void cg_ctx_set_log(struct cg_ctx *ctx, cg_log_fn fn, void *user,
                           enum cg_log_level max_level);

/* Runs the event loop until cg_ctx_stop() is called or nothing is left to do.
 * Returns CG_OK or CG_ESTATE if already running. */
CG_API enum cg_err cg_ctx_run(struct cg_ctx *ctx);

/* Asks cg_ctx_run() to return after the current iteration. Safe to call from
 * any callback on the loop thread. */
CG_API void cg_ctx_stop(struct cg_ctx *ctx);

/* The context's uv_loop_t *, for callers that add their own handles. */
CG_API void *cg_ctx_loop(struct cg_ctx *ctx);

/* Giving the C heap's free pages back (glibc only). A long-running process
 * that frees many blocks of many sizes (messages of up to megabytes, the
 * TLS library's small ones) keeps the pages of those blocks resident inside
 * malloc's arenas: glibc returns only the top of an arena by itself, so a
 * free page under a live block stays in the RSS until malloc_trim(0). Once
 * started, the context checks the heap every interval: on a thread of
 * libuv's pool (never on the loop thread), it reads the arenas' free
 * bytes and, past min_free, calls malloc_trim(0), which gives every whole
 * free page back to the system (the addresses stay the arena's). A trim
 * that gave back at least min_release bytes of RSS brings the next check
 * min_interval_ms later; one that gave back less doubles the wait, up to
 * max_interval_ms. Figures and why: docs/soak.md (issue 19). */
struct cg_heap_trim_opts {
    unsigned min_interval_ms; /* at least 1 */
    unsigned max_interval_ms; /* at least min_interval_ms */
    size_t min_free;          /* free bytes in the arenas below which no trim is tried */
    size_t min_release;       /* a trim giving back less (RSS) waits longer next time */
};
struct cg_heap_trim_stats {
    unsigned long long checks;   /* checks run (a trim or not) */
    unsigned long long trims;    /* malloc_trim(0) calls */
    unsigned long long released; /* RSS given back by them, bytes (/proc/self/statm before and after) */
    unsigned long long last_us;  /* how long the last trim took */
    unsigned long long max_us;   /* the longest one */
    unsigned long long interval_ms; /* the wait until the next check */
};

/* Starts the checks with the options o (copied), or changes the options of
 * running checks (from the next check on); o NULL stops them. Loop thread,
 * loop not inside cg_ctx_free. The timer does not keep cg_ctx_run running.
 * Returns CG_OK, CG_EINVAL (ctx NULL, min_interval_ms 0 or above
 * max_interval_ms), CG_ENOMEM, or CG_ENOTSUP where malloc_trim does not exist
 * (not glibc). cg_ctx_free stops them. */
CG_API enum cg_err cg_ctx_heap_trim(struct cg_ctx *ctx, const struct cg_heap_trim_opts *o);

/* The checks' counters so far into *out (kept after they are stopped).
 * Returns CG_OK, CG_EINVAL, or CG_ESTATE when they were never started. */
CG_API enum cg_err cg_ctx_heap_trim_stats(const struct cg_ctx *ctx, struct cg_heap_trim_stats *out);

/* The library's version string ("0.1.0"). */
CG_API const char *cg_version(void);

/* A default log callback that writes "LEVEL component: message" lines to
 * stderr (user is ignored). Offered for programs; the library never installs
 * it by itself. */
CG_API void cg_log_stderr(void *user, enum cg_log_level level, const char *component,
                          const char *message);

#ifdef __cplusplus
}
#endif
#endif
