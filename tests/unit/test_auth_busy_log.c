/* A guessing flood past the bound on password checks in flight gets 503 +
 * Retry-After (CG_EFULL), and the log says so once a minute with a count,
 * not one line per refused request (issue 12, denial of service: 250 lines
 * a second under the hostile benchmark's password phase). Injected clock. */
#include "testutil.h"
#include "mos4/auth.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

static uint64_t fake_now;
static uint64_t fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

static unsigned done_calls;
static void on_done(void *user, enum cg_err rc, const char *who)
{
    (void)user;
    (void)rc;
    (void)who;
    done_calls++;
}

static unsigned count(const struct tu_log *log, const char *needle)
{
    unsigned n = 0;
    for (const char *p = log->text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_busy_logged_once_a_minute(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-busy-XXXXXX", path[128], user[129];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    tu_users_file(path, "$y$", "alice", "right");
    struct tu_log *log = calloc(1, sizeof(*log));
    struct cg_ctx *ctx = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, log, CG_LOG_DEBUG);
    struct cg_auth *a = NULL;
    struct cg_auth_limits lim = {.max_inflight = 1, .max_failures = 1000};
    assert_int_equal(cg__auth_load(ctx, path, &lim, &a), CG_OK);
    fake_now = 1000000;
    cg__auth_set_clock(a, fake_clock, NULL);
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "alice:wrong first");
    assert_int_equal(cg__auth_check_async(a, tu_basic(hdr), "192.0.2.1", user, sizeof(user),
                                          on_done, NULL),
                     CG_EAGAIN);
    /* the one slot is taken until the loop runs: every other guess is busy */
    for (int i = 0; i < 100; i++) {
        snprintf(hdr, sizeof(hdr), "alice:wrong %d", i);
        char addr[32];
        snprintf(addr, sizeof(addr), "192.0.2.%d", 10 + i);
        assert_int_equal(cg__auth_check_async(a, tu_basic(hdr), addr, user, sizeof(user),
                                              on_done, NULL),
                         CG_EFULL);
        fake_now += 100;
    }
    unsigned lines = count(log, "password checks in flight");
    if (lines != 1)
        fail_msg("%u log lines for 100 busy refusals in 10 s; want 1", lines);
    fake_now += 60000;
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:wrong late"), "192.0.2.200", user,
                                          sizeof(user), on_done, NULL),
                     CG_EFULL);
    assert_int_equal(count(log, "password checks in flight"), 2);
    assert_true(tu_log_has(log, "99 more since the last line"));
    for (int i = 0; i < 1000 && done_calls == 0; i++)
        uv_run(cg_ctx_loop(ctx), UV_RUN_ONCE);
    assert_int_equal(done_calls, 1);
    cg__auth_free(a);
    cg_ctx_free(ctx);
    free(log);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_logged_once_a_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
