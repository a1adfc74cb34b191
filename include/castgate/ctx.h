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
