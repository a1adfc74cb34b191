/* Unit tests for the public credential check (src/mos4/credentials.c, used by
 * `castgate serve --credentials`): peer addresses as cg_http_request_peer
 * gives them (port stripped, so failures count per address; IPv6 with and
 * without brackets), the lockout, reload, file errors, arguments, and no
 * password in the log. */
#include "testutil.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

static char dir[64];
static char file[128];
static struct cg_ctx *ctx;
static struct tu_log *logp;

static void write_users(const char *users_pw[][2], size_t n, mode_t mode)
{
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        char h[256];
        tu_hash("$6$", 1000, users_pw[i][1], h, sizeof(h));
        fprintf(f, "%s:%s\n", users_pw[i][0], h);
    }
    fclose(f);
    assert_int_equal(chmod(file, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cg-test-cred-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/users", dir);
    const char *u[][2] = {{"alice", "alice-pw"}};
    write_users(u, 1, 0600);
    logp = calloc(1, sizeof(*logp));
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, logp, CG_LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cg_ctx_free(ctx);
    free(logp);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_check_and_peer_forms(void **state)
{
    (void)state;
    struct cg_credentials *c = NULL;
    char user[129];
    assert_int_equal(cg_credentials_load(ctx, file, &c), CG_OK);
    assert_int_equal(cg_credentials_check(c, tu_basic("alice:alice-pw"), "127.0.0.1:4000", user,
                                          sizeof(user)),
                     CG_OK);
    assert_string_equal(user, "alice");
    const char *peers[] = {"192.0.2.1", "[2001:db8::1]:443", "2001:db8::2", "[::1]"};
    for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
        assert_int_equal(cg_credentials_check(c, tu_basic("alice:alice-pw"), peers[i], user,
                                              sizeof(user)),
                         CG_OK);
    assert_int_equal(cg_credentials_check(c, tu_basic("alice:alice-PW"), "127.0.0.1:4000", user,
                                          sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(cg_credentials_check(c, tu_basic("bob:alice-pw"), "127.0.0.1:4000", user,
                                          sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(cg_credentials_check(c, NULL, "127.0.0.1:4000", user, sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(cg_credentials_check(c, "Bearer x", "127.0.0.1:4000", user, sizeof(user)),
                     CG_EAUTH);
    assert_false(tu_log_has(logp, "alice-PW"));
    assert_false(tu_log_has(logp, "alice-pw"));
    /* Bad arguments. */
    assert_int_equal(cg_credentials_check(c, NULL, "[::1", user, sizeof(user)), CG_EINVAL);
    assert_int_equal(cg_credentials_check(c, NULL, "", user, sizeof(user)), CG_EINVAL);
    assert_int_equal(cg_credentials_check(c, NULL, NULL, user, sizeof(user)), CG_EINVAL);
    assert_int_equal(cg_credentials_check(c, tu_basic("alice:alice-pw"), "127.0.0.1:1", user, 128),
                     CG_EINVAL);
    assert_int_equal(cg_credentials_check(NULL, NULL, "127.0.0.1:1", user, sizeof(user)),
                     CG_EINVAL);
    cg_credentials_free(c);
    cg_credentials_free(NULL);
}

/* Five failures from host (":port" added, another port each time) lock out
 * the address: locked (another port, or no port) is refused, other passes. */
static void lock_out(struct cg_credentials *c, const char *host, const char *locked,
                     const char *other)
{
    char user[129], peer[64];
    for (int i = 0; i < 5; i++) {
        snprintf(peer, sizeof(peer), "%s:%d", host, 40000 + i);
        assert_int_equal(cg_credentials_check(c, tu_basic("alice:nope"), peer, user, sizeof(user)),
                         CG_EAUTH);
    }
    assert_int_equal(cg_credentials_check(c, tu_basic("alice:alice-pw"), locked, user, sizeof(user)),
                     CG_ERATELIMIT);
    assert_int_equal(cg_credentials_check(c, tu_basic("alice:alice-pw"), other, user, sizeof(user)),
                     CG_OK);
}

/* Failures count per address whatever the source port; other addresses, and
 * the same number as IPv6, are not affected. */
static void test_lockout_by_address(void **state)
{
    (void)state;
    struct cg_credentials *c = NULL;
    assert_int_equal(cg_credentials_load(ctx, file, &c), CG_OK);
    lock_out(c, "198.51.100.7", "198.51.100.7:50000", "198.51.100.8:50000");
    lock_out(c, "[2001:db8::7]", "2001:db8::7", "[2001:db8::8]:1");
    cg_credentials_free(c);
}

static void test_reload_and_file_errors(void **state)
{
    (void)state;
    struct cg_credentials *c = NULL;
    char user[129];
    assert_int_equal(cg_credentials_load(ctx, file, &c), CG_OK);
    const char *two[][2] = {{"alice", "alice-pw"}, {"bob", "bob-pw"}};
    write_users(two, 2, 0600);
    assert_int_equal(cg_credentials_check(c, tu_basic("bob:bob-pw"), "192.0.2.9:1", user,
                                          sizeof(user)),
                     CG_EAUTH);
    assert_int_equal(cg_credentials_reload(c), CG_OK);
    assert_int_equal(cg_credentials_check(c, tu_basic("bob:bob-pw"), "192.0.2.9:1", user,
                                          sizeof(user)),
                     CG_OK);
    /* A file that became readable by others is refused; bob stays. */
    assert_int_equal(chmod(file, 0644), 0);
    assert_int_equal(cg_credentials_reload(c), CG_EPERM);
    assert_int_equal(cg_credentials_check(c, tu_basic("bob:bob-pw"), "192.0.2.9:1", user,
                                          sizeof(user)),
                     CG_OK);
    cg_credentials_free(c);
    struct cg_credentials *d = NULL;
    assert_int_equal(cg_credentials_load(ctx, file, &d), CG_EPERM);
    assert_null(d);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/none", dir);
    assert_int_equal(cg_credentials_load(ctx, missing, &d), CG_EFILE);
    assert_int_equal(cg_credentials_load(ctx, NULL, &d), CG_EINVAL);
    assert_int_equal(cg_credentials_load(ctx, file, NULL), CG_EINVAL);
    assert_int_equal(cg_credentials_reload(NULL), CG_EINVAL);
}

/* ---- the thread-pool check ---- */

struct verdict {
    int calls;
    enum cg_err rc;
    char user[129];
};

static void on_verdict(void *user, enum cg_err rc, const char *name)
{
    struct verdict *v = user;
    v->calls++;
    v->rc = rc;
    snprintf(v->user, sizeof(v->user), "%s", name != NULL ? name : "");
}

static void wait_verdict(const struct verdict *v)
{
    while (v->calls == 0)
        uv_run(cg_ctx_loop(ctx), UV_RUN_ONCE);
}

static void test_check_async(void **state)
{
    (void)state;
    struct cg_credentials *c = NULL;
    char user[129];
    struct verdict v = {0}, w = {0};
    assert_int_equal(cg_credentials_load(ctx, file, &c), CG_OK);
    assert_int_equal(cg_credentials_check_async(c, tu_basic("alice:nope"), "[2001:db8::9]:443",
                                                user, sizeof(user), on_verdict, &v),
                     CG_EAGAIN);
    assert_int_equal(cg_credentials_check_async(c, tu_basic("alice:alice-pw"), "192.0.2.9:1",
                                                user, sizeof(user), on_verdict, &w),
                     CG_EAGAIN);
    assert_int_equal(v.calls + w.calls, 0);
    wait_verdict(&v);
    wait_verdict(&w);
    assert_int_equal(v.rc, CG_EAUTH);
    assert_true(tu_log_has(logp, "2001:db8::9: user 'alice': wrong password"));
    assert_int_equal(w.rc, CG_OK);
    assert_string_equal(w.user, "alice");
    /* Remembered now: answered at once. */
    assert_int_equal(cg_credentials_check_async(c, tu_basic("alice:alice-pw"), "192.0.2.9:2",
                                                user, sizeof(user), on_verdict, &w),
                     CG_OK);
    assert_string_equal(user, "alice");
    assert_int_equal(cg_credentials_check_async(c, NULL, "192.0.2.9:2", user, sizeof(user),
                                                on_verdict, &w),
                     CG_EAUTH);
    assert_int_equal(cg_credentials_check_async(c, NULL, "192.0.2.9:2", user, sizeof(user), NULL,
                                                NULL),
                     CG_EINVAL);
    assert_int_equal(cg_credentials_check_async(c, NULL, "192.0.2.9:2", user, 10, on_verdict, &w),
                     CG_EINVAL);
    /* Freed with a check in flight: the verdict is CG_ECLOSED, at once. */
    struct verdict x = {0};
    assert_int_equal(cg_credentials_check_async(c, tu_basic("alice:other"), "192.0.2.10:1", user,
                                                sizeof(user), on_verdict, &x),
                     CG_EAGAIN);
    cg_credentials_free(c);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.rc, CG_ECLOSED);
    uv_run(cg_ctx_loop(ctx), UV_RUN_DEFAULT); /* the pool's job ends and frees itself */
    assert_int_equal(x.calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_and_peer_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_by_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_and_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_async, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
