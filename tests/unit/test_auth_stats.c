/* cg_credentials_stats (castgate/auth.h; issue 15 item 4): failures,
 * lockouts and refusals while locked out are counted (M-05's rules: 5
 * failures from one address lock it out). */
#include "testutil.h"

#include <castgate/auth.h>
#include <castgate/ctx.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void test_failures_and_lockouts_are_counted(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-auth-stats-XXXXXX", file[64], user[160];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/htpasswd", dir);
    assert_int_equal(cg_passwd_set(file, "alice", "alice-pw"), CG_OK);
    struct cg_ctx *ctx = NULL;
    struct cg_credentials *cred = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_credentials_load(ctx, file, &cred), CG_OK);
    struct cg_auth_stats st = {1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(cg_credentials_stats(cred, &st), CG_OK);
    assert_int_equal(st.failures + st.lockouts + st.locked_refused, 0);

    assert_int_equal(cg_credentials_check(cred, tu_basic("alice:alice-pw"), "192.0.2.1:1", user,
                                          sizeof(user)), CG_OK);
    assert_int_equal(cg_credentials_check(cred, NULL, "192.0.2.1:1", user, sizeof(user)), CG_EAUTH);
    assert_int_equal(cg_credentials_stats(cred, &st), CG_OK);
    assert_int_equal(st.failures, 0); /* a success and a first try without credentials: none */

    for (int i = 0; i < 5; i++)
        assert_int_equal(cg_credentials_check(cred, tu_basic("alice:wrong"), "192.0.2.2:1", user,
                                              sizeof(user)), CG_EAUTH);
    assert_int_equal(cg_credentials_check(cred, tu_basic("alice:alice-pw"), "192.0.2.2:1", user,
                                          sizeof(user)), CG_ERATELIMIT);
    assert_int_equal(cg_credentials_check(cred, tu_basic("bm90LWJhc2U2NA"), "192.0.2.3:1", user,
                                          sizeof(user)), CG_EAUTH); /* malformed: a failure too */
    assert_int_equal(cg_credentials_stats(cred, &st), CG_OK);
    assert_int_equal(st.failures, 6);
    assert_int_equal(st.lockouts, 1);
    assert_int_equal(st.locked_refused, 1);
    assert_int_equal(cg_credentials_stats(NULL, &st), CG_EINVAL);

    cg_credentials_free(cred);
    cg_ctx_free(ctx);
    remove(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failures_and_lockouts_are_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
