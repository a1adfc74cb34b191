/* Unit tests for reading a refusal's Retry-After (src/http/response.c):
 * a lane told "503, come back in N s" waits N s instead of climbing the
 * refusal backoff (src/mos4/backoff.c). */
#include "testutil.h"
#include "http/http.h"

static void test_delta_seconds(void **state)
{
    (void)state;
    assert_int_equal(cg__http_retry_after("1"), 1);
    assert_int_equal(cg__http_retry_after("0"), 0);
    assert_int_equal(cg__http_retry_after(" 120 "), 120);
    assert_int_equal(cg__http_retry_after("999999999999999999999999"), 86400);
    assert_int_equal(cg__http_retry_after("86401"), 86400);
}

static void test_not_seconds(void **state)
{
    (void)state;
    assert_int_equal(cg__http_retry_after("Fri, 31 Dec 1999 23:59:59 GMT"), -1);
    assert_int_equal(cg__http_retry_after(""), -1);
    assert_int_equal(cg__http_retry_after("-5"), -1);
    assert_int_equal(cg__http_retry_after("5s"), -1);
    assert_int_equal(cg__http_retry_after("1 2"), -1);
    assert_int_equal(cg__http_retry_after(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_seconds),
        cmocka_unit_test(test_not_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
