/* Unit tests for the rules around M-05's password checks (src/mos4/auth.c),
 * on the injected clock (never a sleep):
 * - the failure score of an address decays with time, and a success does not
 *   lower it (4 wrong + 1 right, repeated, must not give unlimited guesses);
 * - a successful Authorization value is remembered (HMAC-SHA256 under a
 *   per-process key) for a short time, so a reconnecting peer does not pay the
 *   hash again; bounded table, wiped on reload, never a wrong password;
 * - checks hash on the libuv thread pool with a bounded number in flight;
 *   freeing or reloading while a check is in flight is safe. */
// CG_WRAP: crypt_r
#include "authfix.h"

#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* ---- counting crypt_r calls (one per hash actually computed) ---- */
static unsigned crypt_calls, crypt_calls_on_main;
static pthread_t main_thread;
char *__real_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
    __atomic_add_fetch(&crypt_calls, 1, __ATOMIC_SEQ_CST); /* also from pool threads */
    if (pthread_equal(pthread_self(), main_thread))
        __atomic_add_fetch(&crypt_calls_on_main, 1, __ATOMIC_SEQ_CST);
    return __real_crypt_r(phrase, setting, data);
}

/* ---- fixtures ---- */
static char dir[64];
static char users_path[128];
static struct cg_ctx *ctx;
static struct tu_log *logp;
static uint64_t fake_now;

static uint64_t fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

static void add_user(FILE *f, const char *prefix, const char *user, const char *pw)
{
    char h[256];
    tu_hash(prefix, 0, pw, h, sizeof(h));
    fprintf(f, "%s:%s\n", user, h);
}

static void write_users(bool with_bob)
{
    FILE *f = fopen(users_path, "w");
    assert_non_null(f);
    add_user(f, "$y$", "alice", "alice-pw");
    if (with_bob)
        add_user(f, "$2b$", "bob", "bob-pw");
    add_user(f, "$6$", "carol", "carol-pw");
    fclose(f);
    assert_int_equal(chmod(users_path, 0600), 0);
}

static int setup_all(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cg-test-authrules-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(users_path, sizeof(users_path), "%s/users", dir);
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    unlink(users_path);
    return rmdir(dir);
}

static int setup(void **state)
{
    (void)state;
    write_users(true);
    af_ctx_new(&ctx, &logp);
    fake_now = 1000000;
    crypt_calls = crypt_calls_on_main = 0;
    main_thread = pthread_self();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    af_ctx_free(ctx, logp);
    return 0;
}

static struct cg_auth *load(const struct cg_auth_limits *lim)
{
    struct cg_auth *a = NULL;
    assert_int_equal(cg__auth_load(ctx, users_path, lim, &a), CG_OK);
    cg__auth_set_clock(a, fake_clock, NULL);
    return a;
}

static enum cg_err check(struct cg_auth *a, const char *user_pass, const char *addr)
{
    char user[CG_AUTH_USER_MAX + 1];
    return cg__auth_check(a, tu_basic(user_pass), addr, user, sizeof(user));
}

/* ---- the failure score ---- */

static void test_success_does_not_reset_failures(void **state)
{
    (void)state; /* 5 failures, 60 s, 300 s: the defaults */
    struct cg_auth *a = load(NULL);
    unsigned wrong_checked = 0;
    bool locked = false;
    for (int cycle = 0; cycle < 10 && !locked; cycle++) {
        for (int i = 0; i < 4 && !locked; i++) {
            enum cg_err rc = check(a, "alice:guess", "192.0.2.10");
            locked = rc == CG_ERATELIMIT;
            wrong_checked += rc == CG_EAUTH;
        }
        if (!locked) /* the attacker knows one valid password (a NAT'd colleague's) */
            locked = check(a, "bob:bob-pw", "192.0.2.10") == CG_ERATELIMIT;
    }
    if (!locked)
        fail_msg("4 wrong + 1 right, 10 times: never locked (%u wrong passwords hashed)",
                 wrong_checked);
    assert_int_equal(wrong_checked, 5); /* the clock stood still: nothing drained */
    cg__auth_free(a);
}

static void test_alternating_right_and_wrong_is_bounded(void **state)
{
    (void)state; /* 1 wrong + 1 right must not go on for ever either */
    struct cg_auth *a = load(NULL);
    unsigned wrong = 0;
    for (int i = 0; i < 50; i++) {
        enum cg_err rc = check(a, "alice:guess", "192.0.2.11");
        if (rc == CG_ERATELIMIT)
            break;
        wrong++;
        check(a, "bob:bob-pw", "192.0.2.11");
    }
    assert_int_equal(wrong, 5);
    cg__auth_free(a);
}

static void test_failures_decay_with_time(void **state)
{
    (void)state;
    struct cg_auth_limits lim = {.max_failures = 5, .window_s = 60, .lockout_s = 300};
    struct cg_auth *a = load(&lim);
    for (int i = 0; i < 4; i++)
        assert_int_equal(check(a, "alice:guess", "198.51.100.20"), CG_EAUTH);
    /* One failure drains every window / max = 12 s: 3 left, room for one more. */
    fake_now += 12000;
    assert_int_equal(check(a, "alice:guess", "198.51.100.20"), CG_EAUTH);
    assert_int_equal(check(a, "alice:alice-pw", "198.51.100.20"), CG_OK);
    /* 4 now: the next failure reaches 5 and locks. */
    assert_int_equal(check(a, "alice:guess", "198.51.100.20"), CG_EAUTH);
    assert_int_equal(check(a, "alice:alice-pw", "198.51.100.20"), CG_ERATELIMIT);
    assert_true(tu_log_has(logp, "198.51.100.20: 5 failures within 60 s: locked out for 300 s"));
    fake_now += 300000;
    assert_int_equal(check(a, "alice:alice-pw", "198.51.100.20"), CG_OK);
    /* A whole window drains everything. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(check(a, "alice:guess", "198.51.100.20"), CG_EAUTH);
    fake_now += 60000;
    for (int i = 0; i < 4; i++)
        assert_int_equal(check(a, "alice:guess", "198.51.100.20"), CG_EAUTH);
    assert_int_equal(check(a, "alice:alice-pw", "198.51.100.20"), CG_OK);
    cg__auth_free(a);
}

static void test_quick_failures_lock(void **state)
{
    (void)state; /* five failures half a second apart: a little drained, still locked */
    struct cg_auth *a = load(NULL);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(check(a, "alice:guess", "198.51.100.30"), CG_EAUTH);
        fake_now += 500;
    }
    assert_int_equal(check(a, "alice:alice-pw", "198.51.100.30"), CG_ERATELIMIT);
    cg__auth_free(a);
}

/* ---- remembered successes ---- */

static void test_success_remembered(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    char user[CG_AUTH_USER_MAX + 1];
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.30"), CG_OK);
    assert_int_equal(crypt_calls, 1);
    /* The same header again, from anywhere: no hash, same user. */
    assert_int_equal(cg__auth_check(a, tu_basic("alice:alice-pw"), "192.0.2.31", user, sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "alice");
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.30"), CG_OK);
    assert_int_equal(crypt_calls, 1);
    assert_true(tu_log_has(logp, "user 'alice' authenticated (remembered)"));
    /* Another header is hashed; a wrong password is never remembered. */
    assert_int_equal(check(a, "bob:bob-pw", "192.0.2.30"), CG_OK);
    assert_int_equal(crypt_calls, 2);
    assert_int_equal(check(a, "alice:alice-PW", "192.0.2.32"), CG_EAUTH);
    assert_int_equal(check(a, "alice:alice-PW", "192.0.2.32"), CG_EAUTH);
    assert_int_equal(crypt_calls, 4);
    /* A header that differs only in spelling ("basic", two spaces) is another value. */
    char v[128];
    snprintf(v, sizeof(v), "basic  %s", tu_basic("alice:alice-pw") + 6);
    assert_int_equal(cg__auth_check(a, v, "192.0.2.30", user, sizeof(user)), CG_OK);
    assert_int_equal(crypt_calls, 5);
    cg__auth_free(a);
}

static void test_remembered_for_five_minutes(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.40"), CG_OK);
    fake_now += 5 * 60 * 1000 - 1;
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.40"), CG_OK);
    assert_int_equal(crypt_calls, 1); /* a hit does not extend the lifetime */
    fake_now += 1;
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.40"), CG_OK);
    assert_int_equal(crypt_calls, 2);
    cg__auth_free(a);
}

static void test_remembered_wiped_on_reload(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    assert_int_equal(check(a, "bob:bob-pw", "192.0.2.50"), CG_OK);
    assert_int_equal(check(a, "bob:bob-pw", "192.0.2.50"), CG_OK);
    assert_int_equal(crypt_calls, 1);
    write_users(false); /* bob is removed */
    crypt_calls = 0;
    assert_int_equal(cg__auth_reload(a), CG_OK);
    assert_int_equal(check(a, "bob:bob-pw", "192.0.2.50"), CG_EAUTH);
    assert_int_equal(crypt_calls, 1);
    cg__auth_free(a);
}

static void test_remembered_table_bounded(void **state)
{
    (void)state;
    struct cg_auth_limits lim = {.cache_entries = 2};
    struct cg_auth *a = load(&lim);
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.55"), CG_OK);
    fake_now += 1000;
    assert_int_equal(check(a, "bob:bob-pw", "192.0.2.55"), CG_OK);
    fake_now += 1000;
    assert_int_equal(check(a, "carol:carol-pw", "192.0.2.55"), CG_OK); /* alice's entry goes */
    assert_int_equal(cg__auth_cache_count(a), 2);
    assert_int_equal(crypt_calls, 3);
    assert_int_equal(check(a, "carol:carol-pw", "192.0.2.55"), CG_OK);
    assert_int_equal(check(a, "bob:bob-pw", "192.0.2.55"), CG_OK);
    assert_int_equal(crypt_calls, 3);
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.55"), CG_OK);
    assert_int_equal(crypt_calls, 4);
    assert_int_equal(cg__auth_cache_count(a), 2);
    cg__auth_free(a);
}

static void test_remembered_still_locked_out(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.60"), CG_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(check(a, "alice:guess", "192.0.2.60"), CG_EAUTH);
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.60"), CG_ERATELIMIT);
    assert_int_equal(check(a, "alice:alice-pw", "192.0.2.61"), CG_OK);
    cg__auth_free(a);
}

/* ---- on the thread pool ---- */

static enum cg_err start(struct cg_auth *a, const char *user_pass, const char *addr,
                         struct af_answer *ans)
{
    char user[CG_AUTH_USER_MAX + 1];
    return cg__auth_check_async(a, user_pass != NULL ? tu_basic(user_pass) : NULL, addr, user,
                                sizeof(user), af_on_done, ans);
}

static void test_async_hashes_off_the_loop(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    struct af_answer ans = {0};
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.70", &ans), CG_EAGAIN);
    assert_int_equal(ans.calls, 0); /* never from inside the call */
    assert_int_equal(cg__auth_inflight(a), 1);
    af_wait_answers(ctx, &ans, 1);
    assert_int_equal(ans.calls, 1);
    assert_int_equal(ans.rc, CG_OK);
    assert_string_equal(ans.user, "alice");
    assert_int_equal(cg__auth_inflight(a), 0);
    assert_int_equal(crypt_calls, 1);
    assert_int_equal(crypt_calls_on_main, 0); /* the hash ran on a pool thread */
    /* Remembered: answered at once, no hash. */
    char user[CG_AUTH_USER_MAX + 1];
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:alice-pw"), "192.0.2.71", user,
                                          sizeof(user), af_on_done, &ans),
                     CG_OK);
    assert_string_equal(user, "alice");
    assert_int_equal(ans.calls, 1);
    assert_int_equal(crypt_calls, 1);
    /* Decided without hashing: missing and malformed headers. */
    assert_int_equal(start(a, NULL, "192.0.2.72", &ans), CG_EAUTH);
    assert_int_equal(cg__auth_check_async(a, "Basic !", "192.0.2.72", user, sizeof(user),
                                          af_on_done, &ans),
                     CG_EAUTH);
    assert_int_equal(cg__auth_check_async(a, "x", "192.0.2.72", user, sizeof(user), NULL, NULL),
                     CG_EINVAL);
    assert_int_equal(ans.calls, 1);
    cg__auth_free(a);
}

static void test_async_bounded_in_flight(void **state)
{
    (void)state;
    struct cg_auth_limits lim = {.max_inflight = 2};
    struct cg_auth *a = load(&lim);
    struct af_answer ans[3] = {{0}};
    assert_int_equal(start(a, "alice:guess1", "192.0.2.80", &ans[0]), CG_EAGAIN);
    assert_int_equal(start(a, "alice:guess2", "192.0.2.81", &ans[1]), CG_EAGAIN);
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.82", &ans[2]), CG_EFULL);
    assert_true(tu_log_has(logp, "192.0.2.82: 2 password checks in flight: try later"));
    char user[CG_AUTH_USER_MAX + 1]; /* malformed: refused (and counted) even when busy */
    assert_int_equal(cg__auth_check_async(a, "Basic !", "192.0.2.83", user, sizeof(user),
                                          af_on_done, &ans[2]),
                     CG_EAUTH);
    af_wait_answers(ctx, ans, 2);
    assert_int_equal(ans[0].rc, CG_EAUTH);
    assert_int_equal(ans[1].rc, CG_EAUTH);
    assert_int_equal(ans[2].calls, 0);
    /* Room again; the refusal was not counted against 192.0.2.82. */
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.82", &ans[2]), CG_EAGAIN);
    af_wait_answers(ctx, &ans[2], 1);
    assert_int_equal(ans[2].rc, CG_OK);
    cg__auth_free(a);
}

static void test_async_same_header_hashed_once(void **state)
{
    (void)state; /* a peer opening mom, ro and aux at once: one hash, no 503 */
    struct cg_auth_limits lim = {.max_inflight = 1};
    struct cg_auth *a = load(&lim);
    struct af_answer ans[3] = {{0}};
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.120", &ans[0]), CG_EAGAIN);
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.120", &ans[1]), CG_EAGAIN);
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.121", &ans[2]), CG_EAGAIN);
    assert_int_equal(cg__auth_inflight(a), 1);
    af_wait_answers(ctx, ans, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ans[i].calls, 1);
        assert_int_equal(ans[i].rc, CG_OK);
        assert_string_equal(ans[i].user, "alice");
    }
    assert_int_equal(crypt_calls, 1);
    /* The same wrong guess from five connections at once: one hash, five failures. */
    struct af_answer bad[5] = {{0}};
    for (int i = 0; i < 5; i++)
        assert_int_equal(start(a, "alice:guess", "192.0.2.122", &bad[i]), CG_EAGAIN);
    af_wait_answers(ctx, bad, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(bad[i].rc, CG_EAUTH);
    assert_int_equal(crypt_calls, 2);
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.122", &ans[0]), CG_ERATELIMIT);
    cg__auth_free(a);
}

static void test_async_failures_counted(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    for (int i = 0; i < 5; i++) {
        struct af_answer ans = {0};
        assert_int_equal(start(a, "alice:guess", "192.0.2.90", &ans), CG_EAGAIN);
        af_wait_answers(ctx, &ans, 1);
        assert_int_equal(ans.rc, CG_EAUTH);
    }
    struct af_answer ans = {0};
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.90", &ans), CG_ERATELIMIT);
    assert_true(tu_log_has(logp, "192.0.2.90: user 'alice': wrong password"));
    cg__auth_free(a);
}

static void test_async_free_while_hashing(void **state)
{
    (void)state; /* the endpoint goes away with checks in flight: no use after free */
    struct cg_auth *a = load(NULL);
    struct af_answer ans[2] = {{0}};
    assert_int_equal(start(a, "alice:alice-pw", "192.0.2.100", &ans[0]), CG_EAGAIN);
    assert_int_equal(start(a, "bob:bob-pw", "192.0.2.101", &ans[1]), CG_EAGAIN);
    cg__auth_free(a);
    assert_int_equal(ans[0].calls, 1);
    assert_int_equal(ans[0].rc, CG_ECLOSED);
    assert_int_equal(ans[1].rc, CG_ECLOSED);
    /* The pool's work ends (or was cancelled) and frees itself (ASan sees a
     * leak or a use after free); nobody is called again. */
    uv_run(cg_ctx_loop(ctx), UV_RUN_DEFAULT); /* returns once no work is left */
    assert_int_equal(ans[0].calls, 1);
    assert_int_equal(ans[1].calls, 1);
}

static void test_async_reload_while_hashing(void **state)
{
    (void)state;
    struct cg_auth *a = load(NULL);
    struct af_answer ans = {0};
    assert_int_equal(start(a, "bob:bob-pw", "192.0.2.110", &ans), CG_EAGAIN);
    write_users(false);
    assert_int_equal(cg__auth_reload(a), CG_OK);
    af_wait_answers(ctx, &ans, 1);
    assert_int_equal(ans.rc, CG_ESTATE); /* checked against the old file: try again */
    assert_true(tu_log_has(logp, "reloaded during the check"));
    assert_int_equal(cg__auth_cache_count(a), 0);
    cg__auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_success_does_not_reset_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alternating_right_and_wrong_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_decay_with_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quick_failures_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_success_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remembered_for_five_minutes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remembered_wiped_on_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remembered_table_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remembered_still_locked_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_hashes_off_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_bounded_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_same_header_hashed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_failures_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_free_while_hashing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_reload_while_hashing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
