/* Percent-decoding (src/http/pct.c, RFC 3986 §2.1) over every byte: each of
 * the 256 octets as "%HH" in upper and lower case, every other byte passed
 * through as it is, and the cursor moved by exactly what was read. */
#include "http/http.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static void test_every_escape(void **state)
{
    (void)state;
    for (int v = 0; v < 256; v++) {
        char up[4], low[4];
        snprintf(up, sizeof(up), "%%%02X", v);
        snprintf(low, sizeof(low), "%%%02x", v);
        size_t i = 0;
        assert_int_equal(cg__http_pct_next(up, 3, &i, false), v);
        assert_int_equal(i, 3);
        i = 0;
        assert_int_equal(cg__http_pct_next(low, 3, &i, true), v);
        assert_int_equal(i, 3);
    }
}

static void test_every_plain_byte(void **state)
{
    (void)state;
    for (int v = 1; v < 256; v++) {
        if (v == '%')
            continue;
        char s[2] = {(char)v, 'x'};
        size_t i = 0;
        int want = v == '+' ? ' ' : v;
        assert_int_equal(cg__http_pct_next(s, 2, &i, true), want);
        assert_int_equal(i, 1);
        i = 0;
        assert_int_equal(cg__http_pct_next(s, 2, &i, false), v); /* '+' stays */
        assert_int_equal(i, 1);
    }
}

/* A '%' needs two more characters inside n (not past it, even if the
 * string goes on), both hex digits; *i does not move on failure. */
static void test_refusals_leave_the_cursor(void **state)
{
    (void)state;
    const char *s = "ab%41%4";
    size_t i = 2;
    assert_int_equal(cg__http_pct_next(s, 4, &i, false), CG_HTTP_PCT_SHORT); /* n cuts it */
    assert_int_equal(i, 2);
    assert_int_equal(cg__http_pct_next(s, 5, &i, false), 'A');
    assert_int_equal(i, 5);
    assert_int_equal(cg__http_pct_next(s, 7, &i, false), CG_HTTP_PCT_SHORT);
    assert_int_equal(i, 5);
    static const char *const bad[] = {"%G0", "%0G", "%-1", "% 1", "%+1", "%%41", "%\xff" "0"};
    for (size_t k = 0; k < CG_ARRAY_LEN(bad); k++) {
        i = 0;
        if (cg__http_pct_next(bad[k], strlen(bad[k]), &i, true) != CG_HTTP_PCT_BAD)
            fail_msg("'%s' decoded", bad[k]);
        assert_int_equal(i, 0);
    }
}

/* RFC 3986 §2.1's own example, and a whole string through the loop. */
static void test_strings(void **state)
{
    (void)state;
    const char *s = "%E2%82%AC%20a+b%2Bc%2fd";
    char out[32];
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n;) {
        int c = cg__http_pct_next(s, n, &i, true);
        assert_true(c >= 0);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    assert_string_equal(out, "\xe2\x82\xac a b+c/d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_escape),
        cmocka_unit_test(test_every_plain_byte),
        cmocka_unit_test(test_refusals_leave_the_cursor),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
