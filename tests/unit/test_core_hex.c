/* core's one hex-digit decoder (issue 16: it was written four times, in
 * cert/files.c, cert/ocsp.c, the client's pin setter and mos4's query
 * decoder). */
#include "testutil.h"

#include "core/core.h"

static void test_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int want = c >= '0' && c <= '9' ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        assert_int_equal(cg__hexval(c), want);
    }
}

static void test_edges(void **state)
{
    (void)state;
    assert_int_equal(cg__hexval('0'), 0);
    assert_int_equal(cg__hexval('9'), 9);
    assert_int_equal(cg__hexval('a'), 10);
    assert_int_equal(cg__hexval('F'), 15);
    assert_int_equal(cg__hexval('g'), -1);
    assert_int_equal(cg__hexval('G'), -1);
    assert_int_equal(cg__hexval('/'), -1); /* one below '0' */
    assert_int_equal(cg__hexval(':'), -1); /* one above '9' */
    assert_int_equal(cg__hexval('\0'), -1);
    assert_int_equal(cg__hexval(0xff), -1);
    assert_int_equal(cg__hexval(-1), -1); /* EOF, or a char that is signed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
