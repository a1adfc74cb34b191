/* The budget of password hashes (src/mos4/auth.c, issue 12 item 4): guessers
 * from many addresses, each under its lockout, cost at most auth_hash_burst
 * hashes at once and auth_hash_rate a second after that, whoever they are.
 * Past it a check waits in line (arrival order, at most rate x 5 s of them)
 * for a token; past that it is CG_EFULL (the upgrade's 503 + Retry-After).
 * Counted, logged once a minute. A remembered success and a check that joins
 * a running or held hash of the same value never take from the budget. The
 * budget's clock is the test's (cg__auth_set_clock); the loop runs to
 * collect verdicts and to let the line's timer move it. */
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
    uv_timer_t alive; /* the line's timer does not keep a loop alive (a server's
                         connections do): this stands in for them */
};

static void tick(uv_timer_t *t) { (void)t; }

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
    uv_timer_init(cg_ctx_loop(r->ctx), &r->alive);
    uv_timer_start(&r->alive, tick, 5, 5);
}

static void rig_down(struct rig *r)
{
    uv_close((uv_handle_t *)&r->alive, NULL);
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

/* Runs the loop until ans has its answer (the timer moves the line). */
static void wait_one(struct rig *r, struct af_answer *ans) { af_wait_answers(r->ctx, ans, 1); }

static void test_burst_then_line_then_503(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 2, 3); /* the line: 2 a second x 5 s = 10 */
    static struct af_answer ans[64];
    unsigned n = 0;
    for (; n < 3; n++)
        assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN); /* the burst: hashing */
    for (; n < 13; n++)
        assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN); /* held in line */
    for (; n < 40; n++)
        assert_int_equal(guess(&r, n, &ans[n]), CG_EFULL); /* line full: 503, no hash */
    struct cg_auth_stats st = cg__auth_stats(r.a);
    assert_int_equal(st.hashes, 3);
    assert_int_equal(st.budget_held, 10);
    assert_int_equal(st.budget_refused, 27);
    assert_int_equal(st.busy_refused, 0);
    assert_int_equal(st.failures, 0); /* the budget is not the peer's failure */
    assert_int_equal(count(r.log, "password check budget spent"), 1);
    assert_false(tu_log_has(r.log, "wrong 1")); /* nothing from the header */
    af_wait_answers(r.ctx, ans, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(ans[i].rc, CG_EAUTH);
    for (unsigned i = 3; i < 13; i++)
        assert_int_equal(ans[i].calls, 0); /* no token yet on the test's clock */
    assert_int_equal(cg__auth_stats(r.a).hashes, 3);

    fake_now += 500; /* one token: the first held, in arrival order */
    wait_one(&r, &ans[3]);
    assert_int_equal(ans[3].rc, CG_EAUTH);
    assert_int_equal(ans[4].calls, 0);
    assert_int_equal(cg__auth_stats(r.a).hashes, 4);

    fake_now += 500; /* a token is there, but a newcomer waits behind the line */
    assert_int_equal(guess(&r, n++, &ans[40]), CG_EAGAIN);
    assert_int_equal(cg__auth_stats(r.a).budget_held, 11);
    wait_one(&r, &ans[4]);
    assert_int_equal(ans[40].calls, 0);

    fake_now += 60000; /* a minute on: 3 tokens (the burst) for the next 3 */
    af_wait_answers(r.ctx, &ans[5], 3);
    assert_int_equal(ans[8].calls, 0);
    assert_int_equal(cg__auth_stats(r.a).hashes, 8);
    assert_int_equal(guess(&r, n++, &ans[41]), CG_EAGAIN); /* room in line again */
    assert_int_equal(count(r.log, "password check budget spent"), 2);
    assert_true(tu_log_has(r.log, "(37 more since the last line)"));
    rig_down(&r); /* 6 still held: each hears CG_ECLOSED, none leaks */
    for (unsigned i = 8; i < 13; i++)
        assert_int_equal(ans[i].rc, CG_ECLOSED);
    assert_int_equal(ans[40].rc, CG_ECLOSED);
}

static void test_remembered_login_never_waits(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 1, 1); /* the line: 5 */
    char user[CG_AUTH_USER_MAX + 1];
    struct af_answer first = {0};
    static struct af_answer guessed[6];
    assert_int_equal(cg__auth_check_async(r.a, tu_basic("alice:right"), "198.51.100.7", user,
                                          sizeof(user), af_on_done, &first),
                     CG_EAGAIN); /* the budget's one token */
    wait_one(&r, &first);
    assert_int_equal(first.rc, CG_OK);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(guess(&r, i, &guessed[i]), CG_EAGAIN); /* guessers wait in line */
    assert_int_equal(guess(&r, 5, &guessed[5]), CG_EFULL);
    for (int i = 0; i < 100; i++) { /* the device's lanes reconnect: no hash, no wait */
        memset(user, 0, sizeof(user));
        assert_int_equal(cg__auth_check_async(r.a, tu_basic("alice:right"), "198.51.100.7", user,
                                              sizeof(user), af_on_done, &first),
                         CG_OK);
        assert_string_equal(user, "alice");
    }
    assert_int_equal(first.calls, 1); /* answered at once, never through done */
    struct cg_auth_stats st = cg__auth_stats(r.a);
    assert_int_equal(st.hashes, 1);
    assert_int_equal(st.budget_held, 5);
    assert_int_equal(st.budget_refused, 1);
    rig_down(&r);
}

static void test_joining_a_running_or_held_hash_is_free(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, 1, 1);
    char user[CG_AUTH_USER_MAX + 1];
    struct af_answer g = {0};
    static struct af_answer ans[20];
    assert_int_equal(guess(&r, 1, &g), CG_EAGAIN); /* takes the one token */
    /* a device's lanes with a new password all at once: one held check,
     * the others join it: one hash, one token, one place in line */
    for (int i = 0; i < 20; i++)
        assert_int_equal(cg__auth_check_async(r.a, tu_basic("alice:right"), "198.51.100.8", user,
                                              sizeof(user), af_on_done, &ans[i]),
                         CG_EAGAIN);
    struct cg_auth_stats st = cg__auth_stats(r.a);
    assert_int_equal(st.budget_held, 1);
    assert_int_equal(st.hashes, 1);
    fake_now += 1000;
    af_wait_answers(r.ctx, ans, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(ans[i].rc, CG_OK);
    wait_one(&r, &g);
    assert_int_equal(cg__auth_stats(r.a).hashes, 2);
    assert_int_equal(cg__auth_stats(r.a).budget_refused, 0);
    rig_down(&r);
}

/* "Checks in flight" and "budget spent" are logged apart, once a minute each:
 * a busy line first must not hide the budget's (seen in a gateway's log
 * during a password attack: only the busy line, the budget silent). */
static void test_busy_line_does_not_hide_budget_line(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-budget2-XXXXXX", path[96], user[CG_AUTH_USER_MAX + 1];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    tu_users_file(path, "$6$", "alice", "right");
    struct cg_ctx *ctx = NULL;
    struct tu_log *log = NULL;
    af_ctx_new(&ctx, &log);
    struct cg_auth *a = NULL;
    struct cg_auth_limits lim = {.max_inflight = 1, .max_failures = 1000, .hash_rate = 1,
                                 .hash_burst = 1};
    assert_int_equal(cg__auth_load(ctx, path, &lim, &a), CG_OK);
    fake_now = 7000000;
    cg__auth_set_clock(a, fake_clock, NULL);
    static struct af_answer ans[3];
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:w1"), "192.0.2.1", user,
                                          sizeof(user), af_on_done, &ans[0]),
                     CG_EAGAIN); /* the token; the one place in flight */
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:w2"), "192.0.2.2", user,
                                          sizeof(user), af_on_done, &ans[1]),
                     CG_EFULL); /* busy */
    af_wait_answers(ctx, ans, 1);
    assert_int_equal(cg__auth_check_async(a, tu_basic("alice:w3"), "192.0.2.3", user,
                                          sizeof(user), af_on_done, &ans[2]),
                     CG_EAGAIN); /* held for the budget */
    assert_int_equal(count(log, "password checks in flight"), 1);
    assert_int_equal(count(log, "password check budget spent"), 1);
    cg__auth_free(a); /* ans[2] hears CG_ECLOSED */
    assert_int_equal(ans[2].rc, CG_ECLOSED);
    af_ctx_free(ctx, log);
    unlink(path);
    rmdir(dir);
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
    assert_int_equal(guess(&r, n, &ans[n]), CG_EAGAIN); /* held */
    assert_int_equal(cg__auth_stats(r.a).budget_held, 1);
    fake_now += 1000 / CG_AUTH_DEFAULT_HASH_RATE;
    af_wait_answers(r.ctx, ans, CG_AUTH_DEFAULT_HASH_BURST + 1);
    assert_int_equal(cg__auth_stats(r.a).hashes, CG_AUTH_DEFAULT_HASH_BURST + 1);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_line_then_503),
        cmocka_unit_test(test_remembered_login_never_waits),
        cmocka_unit_test(test_joining_a_running_or_held_hash_is_free),
        cmocka_unit_test(test_busy_line_does_not_hide_budget_line),
        cmocka_unit_test(test_no_budget),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
