/* http's one percent-decoding step (RFC 3986 §2.1), shared by the OCSP GET
 * path (cert/ocsp.c, RFC 6960 A.1) and MOS 4.0 query values (mos4/endpoint.c,
 * where '+' is a space as forms write it). */
#include "testutil.h"

#include "http/http.h"

#include <string.h>

static size_t decode_all(const char *s, bool plus, char *out, int *err)
{
    size_t n = strlen(s), o = 0;
    *err = 0;
    for (size_t i = 0; i < n;) {
        int c = cg__http_pct_next(s, n, &i, plus);
        if (c < 0) {
            *err = c;
            break;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o;
}

static void test_escapes(void **state)
{
    (void)state;
    char out[64];
    int err;
    assert_int_equal(decode_all("a%20b%2fc%2F", false, out, &err), 6);
    assert_int_equal(err, 0);
    assert_string_equal(out, "a b/c/");
    decode_all("%41%7a%7E", false, out, &err);
    assert_string_equal(out, "Az~");
}

static void test_plus(void **state)
{
    (void)state;
    char out[64];
    int err;
    decode_all("a+b%2B", true, out, &err);
    assert_string_equal(out, "a b+"); /* an escaped plus stays a plus */
    decode_all("a+b", false, out, &err);
    assert_string_equal(out, "a+b"); /* base64 in an OCSP path keeps its '+' */
}

static void test_bad(void **state)
{
    (void)state;
    char out[64];
    int err;
    decode_all("ab%4", false, out, &err);
    assert_int_equal(err, CG_HTTP_PCT_SHORT);
    assert_string_equal(out, "ab");
    decode_all("%", false, out, &err);
    assert_int_equal(err, CG_HTTP_PCT_SHORT);
    decode_all("x%zz", false, out, &err);
    assert_int_equal(err, CG_HTTP_PCT_BAD);
    decode_all("%4g", false, out, &err);
    assert_int_equal(err, CG_HTTP_PCT_BAD);
    assert_int_equal(decode_all("%00", false, out, &err), 1); /* NUL is the caller's call */
    assert_int_equal(err, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_plus),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
