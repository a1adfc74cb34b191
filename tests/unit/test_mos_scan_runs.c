/* Unit tests for src/mos/scan.c: a comment or CDATA section that ends in a
 * long run of '-' or ']' (XML 1.0: "]]>" ends a CDATA section whatever
 * precedes it; the pre-scan also ends a comment at "-->" after any run).
 * The run counter was 8 bits wide: a run of 256*n (or 256*n+1) such
 * characters before the '>' was not seen as closing, so everything after it
 * was taken as comment or CDATA and never checked (a DOCTYPE behind it went
 * through to libxml2). */
#include "testutil.h"
#include "mos/mos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD "<mos><mosID>D</mosID><ncsID>N</ncsID><messageID>1</messageID>"

/* HEAD "<a>" open run*close '>' tail "</a></mos>"; *at: where tail starts. */
static char *with_run(const char *open, size_t run, char close, const char *tail, size_t *at)
{
    size_t cap = strlen(HEAD) + strlen(open) + run + strlen(tail) + 32;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k = (size_t)snprintf(s, cap, HEAD "<a>%s", open);
    memset(s + k, close, run);
    k += run;
    s[k++] = '>';
    *at = k;
    snprintf(s + k, cap - k, "%s</a></mos>", tail);
    return s;
}

/* UTF-16BE of ASCII s (n bytes). Caller frees. */
static uint8_t *u16(const char *s, size_t n)
{
    uint8_t *out = malloc(2 * n + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = 0;
        out[2 * i + 1] = (uint8_t)s[i];
    }
    return out;
}

/* The verdict on msg whole and one byte at a time, in UTF-8 and UTF-16BE:
 * all four agree (offsets in UTF-16BE twice those in UTF-8); the UTF-8 one
 * is returned with *at (where the refused markup starts). */
static enum cg_err verdict(const char *msg, uint64_t *at, char *why, size_t whysz)
{
    size_t n = strlen(msg);
    uint8_t *m16 = u16(msg, n);
    const char *w = NULL;
    uint64_t off8 = 0, off16 = 0;
    enum cg_err rc = cg_mos_scan(CG_MOS_UTF8, msg, n, NULL, &off8, &w);
    snprintf(why, whysz, "%s", rc == CG_EXML ? w : "");
    assert_int_equal(cg_mos_scan(CG_MOS_UCS2BE, m16, 2 * n, NULL, &off16, NULL), rc);
    if (rc == CG_EXML)
        assert_int_equal(off16, 2 * off8);
    for (int u = 0; u < 2; u++) {
        struct cg_mos_scan s;
        cg_mos_scan_init(&s, u ? CG_MOS_UCS2BE : CG_MOS_UTF8, NULL);
        const uint8_t *p = u ? m16 : (const uint8_t *)msg;
        enum cg_err r = CG_OK;
        for (size_t i = 0; i < (u ? 2 * n : n) && r == CG_OK; i++)
            r = cg_mos_scan_feed(&s, p + i, 1);
        assert_int_equal(r, rc);
        if (rc == CG_EXML)
            assert_int_equal(s.refused_at, u ? off16 : off8);
    }
    free(m16);
    *at = off8;
    return rc;
}

static const size_t runs[] = {2, 3, 255, 256, 257, 258, 511, 512, 513, 1024, 70000};

/* The section ends at its '>' after a run of any length >= 2: the DOCTYPE
 * right after it is seen and refused, at its own '<'. */
static void run_closes(const char *open, char close)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(runs); i++) {
        size_t tail = 0;
        uint64_t at = 0;
        char why[128];
        char *s = with_run(open, runs[i], close, "<!DOCTYPE x>", &tail);
        enum cg_err rc = verdict(s, &at, why, sizeof(why));
        if (rc != CG_EXML || strstr(why, "DOCTYPE") == NULL)
            fail_msg("%s then %zu '%c' and '>': the DOCTYPE after it passed (rc %d)", open,
                     runs[i], close, rc);
        assert_int_equal(at, tail);
        free(s);
        /* and what follows a closed section is markup again, not refused */
        s = with_run(open, runs[i], close, "<b x='1'/>", &tail);
        assert_int_equal(verdict(s, &at, why, sizeof(why)), CG_OK);
        free(s);
    }
}

static void test_cdata_closed_after_any_run(void **state)
{
    (void)state;
    run_closes("<![CDATA[x", ']');
    run_closes("<![CDATA[", ']'); /* the run right after the opening */
}

static void test_comment_closed_after_any_run(void **state)
{
    (void)state;
    run_closes("<!-- x ", '-');
    run_closes("<!--", '-');
}

/* A long run not followed by '>' does not close: the section goes on (what
 * is inside it is not markup) until a later "]]>" or "-->". */
static void test_long_run_without_gt_stays_open(void **state)
{
    (void)state;
    const size_t lens[] = {256, 257, 512};
    for (size_t i = 0; i < CG_ARRAY_LEN(lens); i++) {
        size_t n = lens[i];
        for (int c = 0; c < 2; c++) {
            const char close = c ? '-' : ']';
            size_t cap = strlen(HEAD) + n + 80;
            char *s = malloc(cap);
            assert_non_null(s);
            size_t k = (size_t)snprintf(s, cap, HEAD "<a>%s", c ? "<!--" : "<![CDATA[");
            memset(s + k, close, n);
            k += n;
            snprintf(s + k, cap - k, "x<!DOCTYPE y>%s</a></mos>", c ? "-->" : "]]>");
            char why[128];
            uint64_t at = 0;
            if (verdict(s, &at, why, sizeof(why)) != CG_OK)
                fail_msg("%zu '%c' then 'x': refused inside the section: %s", n, close, why);
            free(s);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdata_closed_after_any_run),
        cmocka_unit_test(test_comment_closed_after_any_run),
        cmocka_unit_test(test_long_run_without_gt_stays_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
