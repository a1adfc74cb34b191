/* The budget of password hashes (src/mos4/auth.c, issue 12 item 4): guessers
 * from many addresses, each under its lockout, cost at most auth_hash_burst
 * hashes at once and auth_hash_rate a second after that, whoever they are;
 * over it a check is CG_EFULL (the upgrade's 503 + Retry-After), counted and
 * logged once a minute. A remembered success and a check that joins a
 * running hash of the same value never take from the budget. The clock is
 * the test's (cg__auth_set_clock); the loop runs only to collect verdicts. */
#include "authfix.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t fake_now;
static uint64_t fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

struct rig {
    char dir[40], path[96];
    struct cg_ctx *ctx;
    struct tu_log *log;
    struct cg_auth *a;
};

static void rig_up(struct rig *r, unsigned rate, unsigned burst)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/cg-test-budget-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/users", r->dir);
    tu_users_file(r->path, "$6$", "alice", "right");
    af_ctx_new(&r->ctx, &r->log);
    struct cg_auth_limits lim = {.max_inflight = 1000, .max_failures = 1000,
                                 .hash_rate = rate, .hash_burst = burst};
    assert_int_equal(cg__auth_load(r->ctx, r->path, &lim, &r->a), CG_OK);
    fake_now = 5000000;
    cg__auth_set_clock(r->a, fake_clock, NULL);
}

static void rig_down(struct rig *r)
{
    cg__auth_free(r->a);
    af_ctx_free(r->ctx, r->log);
    unlink(r->path);
    rmdir(r->dir);
}

/* A guess with its own password from its own address (192.0.2.n). */
static enum cg_err guess(struct rig *r, unsigned n, struct af_answer *ans)
{
    char hdr[64], addr[32], user[CG_AUTH_USER_MAX + 1];
    snprintf(hdr, sizeof(hdr), "alice:wrong %u", n);
    snprintf(addr, sizeof(addr), "192.0.2.%u", n % 250 + 1);
    return cg__auth_check_async(r->a, tu_basic(hdr), addr, user, sizeof(user), af_on_done, ans);
}

static unsigned count(const struct tu_log *log, const char *needle)
{
    unsigned n = 0;
    for (const char *p = log->text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_burst_then_rate(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 2, 3);
    static struct af_answer ans[64];
    unsigned n = 0;
    for (; n < 3; n++)
        assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN); /* the burst */
    for (; n < 40; n++) {
        assert_int_equal(guess(&r, n, &ans[n]), CG_EFULL); /* spent: no hash */
        fake_now += 10;                                     /* 370 ms in all */
    }
    struct cg_auth_stats st = cg__auth_stats(r.a);
    assert_int_equal(st.hashes, 3);
    assert_int_equal(st.budget_refused, 37);
    assert_int_equal(st.busy_refused, 0);
    assert_int_equal(st.failures, 0); /* a refusal for the budget is not the peer's failure */
    assert_int_equal(count(r.log, "password check budget spent"), 1);
    assert_false(tu_log_has(r.log, "wrong 1")); /* nothing from the header */
    fake_now += 130; /* 500 ms after the burst: one token at 2 a second */
    assert_int_equal(guess(&r, n++, &ans[40]), CG_EAGAIN);
    assert_int_equal(guess(&r, n++, &ans[41]), CG_EFULL);
    fake_now += 60000; /* a minute on: the bucket is full again (3), one more line */
    for (int i = 0; i < 3; i++)
        assert_int_equal(guess(&r, n++, &ans[42 + i]), CG_EAGAIN);
    assert_int_equal(guess(&r, n++, &ans[45]), CG_EFULL);
    assert_int_equal(count(r.log, "password check budget spent"), 2);
    assert_true(tu_log_has(r.log, "(37 more since the last line)"));
    static const size_t hashed[] = {0, 1, 2, 40, 42, 43, 44};
    for (size_t i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
        af_wait_answers(r.ctx, &ans[hashed[i]], 1);
        assert_int_equal(ans[hashed[i]].rc, CG_EAUTH);
    }
    assert_int_equal(cg__auth_stats(r.a).hashes, 7);
    assert_int_equal(cg__auth_stats(r.a).failures, 7);
    rig_down(&r);
}

static void test_remembered_login_never_waits(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 1, 1);
    char user[CG_AUTH_USER_MAX + 1];
    struct af_answer first = {0}, guessed = {0};
    assert_int_equal(cg__auth_check_async(r.a, tu_basic("alice:right"), "198.51.100.7", user,
                                          sizeof(user), af_on_done, &first),
                     CG_EAGAIN); /* the budget's one token */
    af_wait_answers(r.ctx, &first, 1);
    assert_int_equal(first.rc, CG_OK);
    assert_int_equal(guess(&r, 1, &guessed), CG_EFULL); /* spent: guessers wait */
    for (int i = 0; i < 100; i++) { /* the device's lanes reconnect: no hash, no 503 */
        memset(user, 0, sizeof(user));
        assert_int_equal(cg__auth_check_async(r.a, tu_basic("alice:right"), "198.51.100.7", user,
                                              sizeof(user), af_on_done, &first),
                         CG_OK);
        assert_string_equal(user, "alice");
    }
    assert_int_equal(first.calls, 1); /* answered at once, never through done */
    struct cg_auth_stats st = cg__auth_stats(r.a);
    assert_int_equal(st.hashes, 1);
    assert_int_equal(st.budget_refused, 1);
    rig_down(&r);
}

static void test_joining_a_running_hash_is_free(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 1, 1);
    char user[CG_AUTH_USER_MAX + 1];
    static struct af_answer ans[20];
    /* a device's lanes with a new password all at once: one hash, one token */
    for (int i = 0; i < 20; i++)
        assert_int_equal(cg__auth_check_async(r.a, tu_basic("alice:right"), "198.51.100.8", user,
                                              sizeof(user), af_on_done, &ans[i]),
                         CG_EAGAIN);
    af_wait_answers(r.ctx, ans, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ans[i].rc, CG_OK);
    struct cg_auth_stats st = cg__auth_stats(r.a);
    assert_int_equal(st.hashes, 1);
    assert_int_equal(st.budget_refused, 0);
    rig_down(&r);
}

static void test_no_budget(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, CG_AUTH_NO_BUDGET, 1);
    static struct af_answer ans[50];
    for (unsigned n = 0; n < 50; n++)
        assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN); /* only max_inflight bounds them */
    af_wait_answers(r.ctx, ans, 50);
    assert_int_equal(cg__auth_stats(r.a).hashes, 50);
    assert_int_equal(cg__auth_stats(r.a).budget_refused, 0);
    rig_down(&r);
}

static void test_defaults(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 0, 0); /* 0: the defaults, CG_AUTH_DEFAULT_HASH_RATE/BURST */
    static struct af_answer ans[CG_AUTH_DEFAULT_HASH_BURST + 1];
    unsigned n = 0;
    for (; n < CG_AUTH_DEFAULT_HASH_BURST; n++)
        assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN);
    assert_int_equal(guess(&r, n, &ans[n]), CG_EFULL);
    fake_now += 1000 / CG_AUTH_DEFAULT_HASH_RATE;
    assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN);
    af_wait_answers(r.ctx, ans, CG_AUTH_DEFAULT_HASH_BURST + 1);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_remembered_login_never_waits),
        cmocka_unit_test(test_joining_a_running_hash_is_free),
        cmocka_unit_test(test_no_budget),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
