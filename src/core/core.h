/* castgate core — internal helpers shared by every module (not installed). */
#ifndef CG_CORE_H
#define CG_CORE_H

#include "core/cur.h" /* the byte cursor all wire parsing goes through */

#include <castgate/castgate.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error flow, s2n-style: functions read top to bottom along the happy path.
 *   enum cg_err rc = CG_OK;
 *   CG_TRY(step());                    -- on failure: rc = failure; goto out
 *   CG_ENSURE(len <= max, CG_ETOOBIG); -- on false: rc = code; goto out
 * out:
 *   cleanup; return rc;
 * Both need a local `rc` and an `out:` label. */
#define CG_TRY(expr)                                                                               \
    do {                                                                                           \
        enum cg_err cg__e = (expr);                                                                \
        if (cg__e != CG_OK) {                                                                      \
            rc = cg__e;                                                                            \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define CG_ENSURE(cond, err)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            rc = (err);                                                                            \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
/* For functions without cleanup: return at once. */
#define CG_GUARD(expr)                                                                             \
    do {                                                                                           \
        enum cg_err cg__e = (expr);                                                                \
        if (cg__e != CG_OK)                                                                        \
            return cg__e;                                                                          \
    } while (0)
#define CG_CHECK(cond, err)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return (err);                                                                          \
    } while (0)

/* Defines a public setter that stores one flag of a configuration object:
 * `enum cg_err fn(type *cfg, bool on)`, CG_EINVAL for a NULL cfg, else CG_OK.
 * Its declaration and documentation stay in the public header. */
#define CG_BOOL_SETTER(fn, type, field)                                                            \
    enum cg_err fn(type *cfg, bool on)                                                             \
    {                                                                                              \
        CG_CHECK(cfg != NULL, CG_EINVAL);                                                          \
        cfg->field = on;                                                                           \
        return CG_OK;                                                                              \
    }

#define CG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CG_UNUSED(x) ((void)(x))

/* ---- logging (ctx.c) ---- */
#if defined(__GNUC__)
#define CG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CG_PRINTF(f, a)
#endif
void cg__log(struct cg_ctx *ctx, enum cg_log_level level, const char *component, const char *fmt,
             ...) CG_PRINTF(4, 5);
void cg__vlog(struct cg_ctx *ctx, enum cg_log_level level, const char *component,
              const char *fmt, va_list ap) CG_PRINTF(4, 0);
bool cg__log_enabled(const struct cg_ctx *ctx, enum cg_log_level level);

/* ---- per-context scratch space (ctx.c) ---- */
/* A buffer of the context, for the loop thread only, filled and used up
 * within one callback (never kept across callbacks); one per use, so one use
 * cannot overwrite another's bytes. Not static: cg_ctx allows several
 * contexts on several threads (issue 12 item 20). */
#define CG_SCRATCH_SIZE 65536
enum cg_scratch {
    CG_SCRATCH_TLS_OUT, /* net/conn.c: ciphertext from OpenSSL on its way to the socket */
    CG_SCRATCH_COUNT
};
uint8_t *cg__ctx_scratch(struct cg_ctx *ctx, enum cg_scratch which, size_t *len);

/* ---- memory and strings (util.c) ---- */
char *cg__strdup(const char *s);               /* NULL on NULL or OOM */
char *cg__strndup(const char *s, size_t n);    /* NULL on OOM */
/* src (NULL: "") into dst[size] (size > 0), cut to size - 1 bytes, always
 * ended: snprintf(dst, size, "%s", src) without printf's cost on the
 * relay's per-message path (issue 13). */
void cg__str_copy(char *dst, size_t size, const char *src);
/* Replaces *slot with a copy of v (NULL: none), freeing the old string. */
enum cg_err cg__str_replace(char **slot, const char *v);
void cg__wipe_free(void *p, size_t n);         /* cleanse then free; NULL ok */
int cg__hexval(int c);                         /* 0..15 for a hex digit, else -1 */
int cg__digitval(int c, unsigned base);        /* c as a digit of base 10 or 16, else -1 */
bool cg__ct_equal(const void *a, const void *b, size_t n); /* constant time */
uint64_t cg__now_ms(void);                     /* monotonic milliseconds */
/* Copies src into dst (size dstsz) and escapes anything that is not printable
 * ASCII as \xHH, so peer-supplied text can go into a log line safely. */
void cg__log_escape(char *dst, size_t dstsz, const char *src, size_t srclen);
/* True when data is valid UTF-8 (RFC 3629: no overlongs, surrogates or
 * values past U+10FFFF): WebSocket text frames, MOS IDs, DNS-SD instances. */
bool cg__utf8_valid(const uint8_t *data, size_t len);

/* Reads a whole file (at most max bytes) into a fresh NUL-terminated buffer. */
enum cg_err cg__read_file(const char *path, size_t max, uint8_t **out, size_t *out_len);
/* CG_OK when path is a regular file not readable or writable by group/others
 * (private keys, credential files); CG_EPERM otherwise, CG_EFILE if missing. */
enum cg_err cg__check_private_file(const char *path);
/* Creates path and missing parents with mode (existing ones are kept). */
enum cg_err cg__mkdir_p(const char *path, unsigned mode);

/* ---- writing files whole (file.c) ---- */
/* Writes all len bytes (short writes and EINTR looped). CG_EIO with errno set
 * (ENOSPC when write(2) made no progress). */
enum cg_err cg__write_all(int fd, const void *data, size_t len);
/* The same for cnt pieces in one writev(2) a try (iov is advanced past what
 * was written, so it is the caller's scratch). Pieces of 0 bytes only before
 * one that is not. */
struct iovec;
enum cg_err cg__writev_all(int fd, struct iovec *iov, int cnt);
#define CG_FILE_SYNC 1u /* cg__file_replace: fsync the file, then its folder */
/* Replaces path with len bytes of data atomically: written to a temporary file
 * beside it (".<name>.XXXXXX", 0600 while written, then mode), renamed over
 * path; a reader or a crash sees the old file or the new one. With
 * CG_FILE_SYNC the file is fsynced before the rename and the folder after it,
 * so the new file survives a power loss once this returns. Returns CG_OK;
 * CG_ENOMEM; CG_EIO with errno saying why (path unchanged, the temporary
 * removed). */
enum cg_err cg__file_replace(const char *path, const void *data, size_t len, unsigned mode,
                             unsigned flags);

/* ---- growable byte buffer with a hard cap (buf.c) ---- */
struct cg_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* 0: SIZE_MAX */
};
void cg__buf_init(struct cg_buf *b, size_t max);
void cg__buf_free(struct cg_buf *b);
void cg__buf_reset(struct cg_buf *b); /* len = 0, memory kept */
enum cg_err cg__buf_reserve(struct cg_buf *b, size_t extra); /* CG_ETOOBIG past max */
enum cg_err cg__buf_append(struct cg_buf *b, const void *p, size_t n);
enum cg_err cg__buf_printf(struct cg_buf *b, const char *fmt, ...) CG_PRINTF(2, 3);
void cg__buf_consume(struct cg_buf *b, size_t n); /* drop n bytes from the front */
/* Memory given back down to what b holds (at least 1 byte), for a buffer
 * kept long after it was built: a new block of that size and a copy; never
 * fails (kept as it is when there is no memory). */
void cg__buf_fit(struct cg_buf *b);

/* Large blocks kept for the next large message (spare.c): a block of at
 * least need bytes (*cap its size) from the kept ones, or NULL (then
 * malloc). Give back any malloc'ed block of cap bytes (or NULL): kept or
 * freed. Bounded per process (3 blocks of 64 KiB..8 MiB); any thread. Used
 * by the MOS framer, the flow's copies and the WebSocket receiver. */
void *cg__spare_take(size_t need, size_t *cap);
void cg__spare_give(void *p, size_t cap);

/* ---- giving the heap's free pages back (heaptrim.c, cg_ctx_heap_trim) ----
 * Sans-I/O: when a check trims and how long until the next one. */
struct cg__trim_policy {
    uint64_t min_interval_ms, max_interval_ms;
    size_t min_free, min_release;
};
struct cg__trim_state {
    uint64_t interval_ms; /* until the next check */
};
void cg__trim_init(const struct cg__trim_policy *p, struct cg__trim_state *s);
/* A check with free_bytes free in the arenas: trim? */
bool cg__trim_due(const struct cg__trim_policy *p, size_t free_bytes);
/* After a check: trimmed (or skipped for too little free), and the RSS it gave back. */
void cg__trim_after(const struct cg__trim_policy *p, struct cg__trim_state *s, bool trimmed,
                    size_t released);
/* ctx.c's hooks into heaptrim.c: the checks' state, stopped and freed by cg_ctx_free. */
struct cg__heaptrim;
void cg__heaptrim_free(struct cg__heaptrim *t); /* freed once its timer closed, its check ended */
/* The context's slot for them; NULL once cg_ctx_free began. */
struct cg__heaptrim **cg__ctx_heaptrim_slot(struct cg_ctx *ctx);

/* ---- a token bucket (tbucket.c), sans-I/O ----
 * rate_per_s tokens a second refill it up to burst (0 counts as 1); it
 * starts full. now_ms is the caller's monotonic clock (tests inject it). */
struct cg_tbucket {
    uint32_t rate;    /* tokens a second (0: never refills) */
    uint64_t cap;     /* burst, in thousandths of a token */
    uint64_t level;   /* in thousandths */
    uint64_t last_ms; /* the last refill */
};
void cg__tbucket_init(struct cg_tbucket *b, uint32_t rate_per_s, uint32_t burst, uint64_t now_ms);
/* Takes one token: false (nothing taken) when there is none. */
bool cg__tbucket_take(struct cg_tbucket *b, uint64_t now_ms);
/* Milliseconds until a token is there (0: now; UINT64_MAX: never, rate 0). */
uint64_t cg__tbucket_wait_ms(struct cg_tbucket *b, uint64_t now_ms);
/* Whole tokens there now. */
unsigned cg__tbucket_tokens(struct cg_tbucket *b, uint64_t now_ms);

/* ---- low-priority worker threads (bgpool.c) ----
 * CPU-heavy work that a peer can make us do (password hashes, libxml2 over a
 * large message) runs on a few threads of the context at nice 10, so the
 * loop thread, which serves every lane, wins the CPU over them (issue 12,
 * denial of service), yet they are never starved when other processes fill
 * the CPUs: a peer waits on their verdict within a time limit (SCHED_IDLE,
 * used until 2026-12-07, starved them: test_auth_busy_machine.sh).
 * The pool starts on first use with cg__bg_threads_for(CPUs this process may
 * run on) threads and stops in cg_ctx_free. */
struct cg_bgjob;
/* On a pool thread: the job's own data only (never loop-thread state). */
typedef void (*cg__bg_work_fn)(struct cg_bgjob *job);
/* On the loop thread, exactly once: rc CG_OK after work ran, CG_ECLOSED when
 * the pool stopped (cg_ctx_free) before the job started. */
typedef void (*cg__bg_done_fn)(struct cg_bgjob *job, enum cg_err rc);
struct cg_bgjob { /* embedded in the caller's job; fields are the pool's */
    struct cg_bgjob *next;
    cg__bg_work_fn work;
    cg__bg_done_fn done;
    enum cg_err rc;
};
/* Threads for a machine with cpus CPUs: one less than the CPUs (the loop
 * keeps one), at least 1. Sans-I/O. */
unsigned cg__bg_threads_for(long cpus);
/* Queues job (loop thread only). CG_OK: done follows; CG_ENOMEM or
 * CG_EINTERNAL (no thread could start; done will not be called), CG_ECLOSED
 * (the context is being freed). */
enum cg_err cg__bg_queue(struct cg_ctx *ctx, struct cg_bgjob *job, cg__bg_work_fn work,
                         cg__bg_done_fn done);
/* The same on the context's front-door threads (a second pool, "cg-frontdoor",
 * as many threads, also at nice 10): TLS handshake steps of server
 * connections (net/frontdoor.c), kept apart from the password hashes so a
 * handshake never waits behind a queue of them. */
enum cg_err cg__bg_queue_front(struct cg_ctx *ctx, struct cg_bgjob *job, cg__bg_work_fn work,
                               cg__bg_done_fn done);
/* A pool itself (ctx.c owns two per context): cg__bgpool_new makes the
 * hashes' kind (cg-lowprio, nice 10), _opts any. */
struct cg_bgpool;
struct cg_bgpool_opts {
    unsigned threads;
    const char *name; /* the threads' name (at most 15 bytes are kept) */
    int nice;         /* 0..19 */
    bool idle;        /* SCHED_IDLE as well */
};
enum cg_err cg__bgpool_new(struct cg_ctx *ctx, void *uv_loop, unsigned threads,
                           struct cg_bgpool **out);
enum cg_err cg__bgpool_new_opts(struct cg_ctx *ctx, void *uv_loop, const struct cg_bgpool_opts *o,
                                struct cg_bgpool **out);
enum cg_err cg__bgpool_queue(struct cg_bgpool *p, struct cg_bgjob *job);
/* Stops the threads (a running job finishes first), calls done for every job
 * left (CG_ECLOSED if it never ran) and closes its handle on the loop. */
void cg__bgpool_free(struct cg_bgpool *p);
/* The context's pool, started on first use; NULL if it cannot start. */
struct cg_bgpool *cg__ctx_bgpool(struct cg_ctx *ctx);
/* The context's front-door pool, likewise. */
struct cg_bgpool *cg__ctx_frontpool(struct cg_ctx *ctx);

#endif
