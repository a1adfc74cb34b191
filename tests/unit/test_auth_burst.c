/* A burst of upgrades with the same credentials (M-05) while the first hash
 * of them runs: a device reconnecting all its lanes at once after a network
 * blip, or the scale benchmark's 64 connections at a time. Every check of
 * the same header value waits for the one hash (join_same) and hears its
 * verdict; none is refused 503 (CG_EFULL). The bound on hashes in flight
 * (max_inflight, default 2) is about CPU: a waiter costs no hash, so it is
 * no reason to refuse one.
 *
 * The full benchmark 2026-12-07T0713 (bench/scale.sh) lost 6 and 5 of
 * 10,000 connections this way: at most 8 waiters per job, 2 jobs, and the
 * 17th identical upgrade that came before the first verdict got 503.
 * A wrong value shared by a burst still counts a failure for every waiter. */
// CG_WRAP: crypt_r
#include "authfix.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* The reconnect of a device with many lanes: more than any small fixed
 * number of waiters. */
#define BURST 200

static unsigned crypt_calls;
char *__real_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
    __atomic_add_fetch(&crypt_calls, 1, __ATOMIC_SEQ_CST); /* from pool threads */
    return __real_crypt_r(phrase, setting, data);
}

static char dir[64], users_path[128];
static struct cg_ctx *ctx;
static struct tu_log *logp;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cg-test-authburst-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(users_path, sizeof(users_path), "%s/users", dir);
    tu_users_file(users_path, "$6$", "alice", "alice-pw");
    af_ctx_new(&ctx, &logp);
    crypt_calls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    af_ctx_free(ctx, logp);
    unlink(users_path);
    rmdir(dir);
    return 0;
}

/* BURST checks of one header before the loop runs (so before any verdict):
 * the returns in rc, the verdicts in ans; from naddr addresses in turn (a
 * device's lanes share one; a site's devices behind one account do not). */
static void burst(struct cg_auth *a, const char *user_pass, int naddr, enum cg_err *rc,
                  struct af_answer *ans)
{
    for (int i = 0; i < BURST; i++) {
        char addr[32], user[CG_AUTH_USER_MAX + 1];
        snprintf(addr, sizeof(addr), "198.51.100.%d", i % naddr + 1);
        rc[i] = cg__auth_check_async(a, tu_basic(user_pass), addr, user, sizeof(user), af_on_done,
                                     &ans[i]);
    }
}

static void test_same_credentials_burst_all_wait(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    assert_int_equal(cg__auth_load(ctx, users_path, NULL, &a), CG_OK); /* max_inflight 2 */
    static enum cg_err rc[BURST];
    static struct af_answer ans[BURST];
    memset(ans, 0, sizeof(ans));
    burst(a, "alice:alice-pw", 1, rc, ans);
    unsigned refused = 0, first_refused = 0;
    for (int i = 0; i < BURST; i++)
        if (rc[i] != CG_EAGAIN && refused++ == 0)
            first_refused = (unsigned)i + 1;
    if (refused > 0)
        fail_msg("%u of %d upgrades with the same credentials refused while the first hash "
                 "ran (the first was check %u: %s); want every one to wait for that hash",
                 refused, BURST, first_refused, cg_strerror(rc[first_refused - 1]));
    assert_false(tu_log_has(logp, "password checks in flight"));
    assert_int_equal(cg__auth_inflight(a), 1); /* one hash for all of them */
    af_wait_answers(ctx, ans, BURST);
    for (int i = 0; i < BURST; i++) {
        assert_int_equal(ans[i].calls, 1);
        assert_int_equal(ans[i].rc, CG_OK);
        assert_string_equal(ans[i].user, "alice");
    }
    assert_int_equal(crypt_calls, 1);
    assert_int_equal(cg__auth_inflight(a), 0);
    cg__auth_free(a);
}

static void test_wrong_burst_counts_every_waiter(void **state)
{
    (void)state; /* one hash, BURST failures: every address locked out */
    struct cg_auth *a = NULL;
    struct cg_auth_limits lim = {.max_failures = 5};
    assert_int_equal(cg__auth_load(ctx, users_path, &lim, &a), CG_OK);
    static enum cg_err rc[BURST];
    static struct af_answer ans[BURST];
    memset(ans, 0, sizeof(ans));
    burst(a, "alice:guess", 40, rc, ans); /* 5 failures each */
    for (int i = 0; i < BURST; i++)
        assert_int_equal(rc[i], CG_EAGAIN);
    af_wait_answers(ctx, ans, BURST);
    for (int i = 0; i < BURST; i++)
        assert_int_equal(ans[i].rc, CG_EAUTH);
    assert_int_equal(crypt_calls, 1);
    struct cg_auth_stats st = cg__auth_stats(a);
    assert_int_equal(st.lockouts, 40);
    char user[CG_AUTH_USER_MAX + 1];
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:alice-pw"), "198.51.100.1", user,
                                          sizeof(user), af_on_done, &ans[0]),
                     CG_ERATELIMIT);
    cg__auth_free(a);
}

/* cg__auth_free while a burst waits: each waiter hears CG_ECLOSED once. */
static void test_free_with_burst_waiting(void **state)
{
    (void)state;
    struct cg_auth *a = NULL;
    assert_int_equal(cg__auth_load(ctx, users_path, NULL, &a), CG_OK);
    static enum cg_err rc[BURST];
    static struct af_answer ans[BURST];
    memset(ans, 0, sizeof(ans));
    burst(a, "alice:alice-pw", 1, rc, ans);
    cg__auth_free(a);
    for (int i = 0; i < BURST; i++) {
        if (rc[i] != CG_EAGAIN)
            continue;
        assert_int_equal(ans[i].calls, 1);
        assert_int_equal(ans[i].rc, CG_ECLOSED);
    }
    for (int i = 0; i < 100; i++) /* the job ends on the loop; nothing more is heard */
        uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
    for (int i = 0; i < BURST; i++)
        assert_true(ans[i].calls <= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_credentials_burst_all_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_burst_counts_every_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_burst_waiting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
