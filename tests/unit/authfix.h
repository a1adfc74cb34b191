/* Shared by the password tests (src/mos4/auth.c; test_auth.c,
 * test_auth_rules.c, test_auth_burst.c): a context logging into a log of
 * its own, and the answers of asynchronous checks with the loop run until
 * they came. */
#ifndef CG_TEST_AUTHFIX_H
#define CG_TEST_AUTHFIX_H

#include "testutil.h"
#include "mos4/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

/* A new context in *ctx logging from CG_LOG_DEBUG up into *log, a new log
 * (af_ctx_free frees both). */
static inline void af_ctx_new(struct cg_ctx **ctx, struct tu_log **log)
{
    *log = calloc(1, sizeof(**log));
    assert_non_null(*log);
    assert_int_equal(cg_ctx_new(ctx), CG_OK);
    cg_ctx_set_log(*ctx, tu_log_fn, *log, CG_LOG_DEBUG);
}

static inline void af_ctx_free(struct cg_ctx *ctx, struct tu_log *log)
{
    cg_ctx_free(ctx);
    free(log);
}

/* The answer of an asynchronous check (cg__auth_check_async with
 * af_on_done and an af_answer): how many times it came, its result and
 * the user it names. */
struct af_answer {
    unsigned calls;
    enum cg_err rc;
    char user[CG_AUTH_USER_MAX + 1];
};

static inline void af_on_done(void *user, enum cg_err rc, const char *name)
{
    struct af_answer *ans = user;
    ans->calls++;
    ans->rc = rc;
    snprintf(ans->user, sizeof(ans->user), "%s", name != NULL ? name : "");
}

/* Runs ctx's loop until every answer in ans[0..n) came (no sleeping). */
static inline void af_wait_answers(struct cg_ctx *ctx, struct af_answer *ans, size_t n)
{
    for (;;) {
        size_t got = 0;
        for (size_t i = 0; i < n; i++)
            got += ans[i].calls > 0;
        if (got == n)
            return;
        uv_run(cg_ctx_loop(ctx), UV_RUN_ONCE);
    }
}

#endif
