/* cg__auth_locked (src/mos4/auth.c): the question the accept path asks before
 * any TLS work (issue 12, denial of service): is this address locked out now?
 * Sans-I/O on an injected clock: true from the failure that locks it to the
 * end of the lockout, false for others and after; asking never counts as a
 * failure and never hashes. And how often the accept path logs its refusals
 * (src/wss/server.c cg__gate_log_due). */
// CG_WRAP: crypt_r
#include "testutil.h"
#include "mos4/auth.h"
#include "wss/wss.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned crypt_calls;
char *__real_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting, struct crypt_data *data)
{
    crypt_calls++;
    return __real_crypt_r(phrase, setting, data);
}

static uint64_t fake_now;
static uint64_t fake_clock(void *user)
{
    (void)user;
    return fake_now;
}

static void test_locked_follows_lockout(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-locked-XXXXXX", path[128], user[129];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/users", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    assert_non_null(cd);
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt))); /* quick */
    const char *h = __real_crypt_r("right", salt, cd);
    assert_non_null(h);
    fprintf(f, "alice:%s\n", h);
    free(cd);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    struct cg_auth *a = NULL;
    struct cg_auth_limits lim = {.max_failures = 3, .window_s = 10, .lockout_s = 30};
    assert_int_equal(cg__auth_load(NULL, path, &lim, &a), CG_OK);
    fake_now = 5000000;
    cg__auth_set_clock(a, fake_clock, NULL);
    const char *wrong = tu_basic("alice:nope");
    assert_false(cg__auth_locked(a, "198.51.100.7"));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cg__auth_check(a, wrong, "198.51.100.7", user, sizeof(user)), CG_EAUTH);
        assert_false(cg__auth_locked(a, "198.51.100.7")); /* under the budget */
    }
    assert_int_equal(cg__auth_check(a, wrong, "198.51.100.7", user, sizeof(user)), CG_EAUTH);
    unsigned calls = crypt_calls;
    struct cg_auth_stats st0 = cg__auth_stats(a);
    for (int i = 0; i < 100; i++) /* asking costs no hash and no failure */
        assert_true(cg__auth_locked(a, "198.51.100.7"));
    assert_int_equal(crypt_calls, calls);
    struct cg_auth_stats st1 = cg__auth_stats(a);
    assert_int_equal(st1.failures, st0.failures);
    assert_int_equal(st1.locked_refused, st0.locked_refused + 100); /* as refusals at upgrade were */
    assert_false(cg__auth_locked(a, "198.51.100.8"));
    assert_false(cg__auth_locked(a, "2001:db8::7"));
    fake_now += 29999;
    assert_true(cg__auth_locked(a, "198.51.100.7"));
    fake_now += 1;
    assert_false(cg__auth_locked(a, "198.51.100.7"));
    /* the lockout is over: a fresh budget, not locked by the asking */
    assert_false(cg__auth_locked(a, "198.51.100.7"));
    assert_int_equal(cg__auth_check(a, wrong, "198.51.100.7", user, sizeof(user)), CG_EAUTH);
    assert_false(cg__auth_locked(a, "198.51.100.7"));
    assert_false(cg__auth_locked(NULL, "198.51.100.7"));
    assert_false(cg__auth_locked(a, NULL));
    cg__auth_free(a);
    unlink(path);
    rmdir(dir);
}

/* The accept path's refusals: the first logged, then one line a minute at
 * most, whatever the address (a guesser rotating addresses gets no more). */
static void test_gate_log_once_a_minute(void **state)
{
    (void)state;
    uint64_t last = 0;
    assert_true(cg__gate_log_due(&last, 1000, 60000));
    assert_false(cg__gate_log_due(&last, 1001, 60000));
    assert_false(cg__gate_log_due(&last, 60999, 60000));
    assert_true(cg__gate_log_due(&last, 61000, 60000));
    assert_false(cg__gate_log_due(&last, 61000, 60000));
    last = 0;
    assert_true(cg__gate_log_due(&last, 0, 60000)); /* a clock at 0 is still "logged" */
    assert_false(cg__gate_log_due(&last, 5, 60000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locked_follows_lockout),
        cmocka_unit_test(test_gate_log_once_a_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
