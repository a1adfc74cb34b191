/* cg__mos_utf16_check's fast paths (src/mos/conv.c: 8 units a step with
 * SSE2, then 4 a step, then one; issue 13): runs of plain units with a
 * surrogate pair, a lone high or low surrogate, or an odd trailing byte put
 * at every offset and every run length up to 40 units, checked against the
 * rule read one unit at a time (M-04: UTF-16, every high surrogate followed
 * by a low one, no lone low one, an even count), verdict and offset. */
#include "testutil.h"
#include "mos/mos.h"

#include <string.h>

/* The rule, one unit at a time. */
static enum cg_err reference(const uint8_t *p, size_t n, uint64_t *bad)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        unsigned h = p[i];
        if (h < 0xD8 || h > 0xDF)
            continue;
        if (h >= 0xDC || i + 3 >= n || p[i + 2] < 0xDC || p[i + 2] > 0xDF) {
            *bad = i;
            return CG_EENCODING;
        }
        i += 2;
    }
    if (i != n) {
        *bad = n - 1;
        return CG_EENCODING;
    }
    return CG_OK;
}

static size_t checked;

static void same(const uint8_t *p, size_t n)
{
    uint64_t b1 = 0, b2 = 0;
    enum cg_err r1 = cg__mos_utf16_check(p, n, &b1), r2 = reference(p, n, &b2);
    if (r1 != r2 || (r1 != CG_OK && b1 != b2))
        fail_msg("%zu bytes: %s at %llu, want %s at %llu", n, cg_errname(r1),
                 (unsigned long long)b1, cg_errname(r2), (unsigned long long)b2);
    checked++;
}

static void test_odd_units_everywhere(void **state)
{
    (void)state;
    static const uint8_t odds[][4] = {
        {0xD8, 0x3C, 0xDF, 0xAC}, /* a pair: U+1F3AC */
        {0xDB, 0xFF, 0xDF, 0xFF}, /* the last pair */
        {0xD8, 0x00, 0x00, 0x41}, /* high, then no low */
        {0xDC, 0x00, 0x00, 0x41}, /* a lone low */
        {0xDF, 0xFF, 0x00, 0x41},
        {0xD7, 0xFF, 0xE0, 0x00}, /* around the surrogates: fine */
        {0x00, 0xD8, 0x00, 0xDC}, /* the bytes at odd offsets do not count */
    };
    uint8_t buf[2 * 40 + 8];
    for (size_t units = 0; units <= 40; units++) {
        for (size_t at = 0; at <= units; at++) {
            for (size_t k = 0; k < sizeof(odds) / sizeof(odds[0]); k++) {
                for (size_t olen = 2; olen <= 4; olen += 2) {
                    size_t n = 0;
                    for (size_t u = 0; u < units; u++) {
                        if (u == at) {
                            memcpy(buf + n, odds[k], olen);
                            n += olen;
                        }
                        buf[n++] = 0x00;
                        buf[n++] = (uint8_t)('a' + u % 26);
                    }
                    if (at == units) {
                        memcpy(buf + n, odds[k], olen);
                        n += olen;
                    }
                    same(buf, n);
                    buf[n] = 0x41; /* and one odd byte more */
                    same(buf, n + 1);
                }
            }
        }
    }
    assert_true(checked > 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_units_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
