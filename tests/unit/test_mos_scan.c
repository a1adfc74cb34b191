/* Unit tests for src/mos/scan.c: the bounded pre-scan that refuses what MOS
 * never needs before libxml2 sees a message (issue 12 item 5, issue 13 item 5). */
#include "mosfix.h"
#include "mos/mos.h"

/* UTF-16BE of a UTF-8 string (ASCII is enough here). Caller frees. */
static uint8_t *u16(const char *s, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *out = malloc(2 * len + 1);
    assert_non_null(out);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = 0;
        out[2 * i + 1] = (uint8_t)s[i];
    }
    *n = 2 * len;
    return out;
}

/* Scans `msg` in both encodings, whole and split at every byte (UTF-16BE
 * also at odd bytes) and one byte at a time: the verdict and the offset must
 * not depend on the split. Returns the UTF-8 verdict; *why, *at from it. */
static enum cg_err scan_all(const char *msg, const struct cg_mos_scan_limits *lim,
                            char *why, size_t whysz, uint64_t *at)
{
    size_t n8 = strlen(msg), n16 = 0;
    uint8_t *m16 = u16(msg, &n16);
    uint64_t off8 = 0, off16 = 0;
    const char *w = NULL;
    enum cg_err rc8 = cg_mos_scan(CG_MOS_UTF8, msg, n8, lim, &off8, &w);
    if (rc8 == CG_EXML)
        snprintf(why, whysz, "%s", w);
    enum cg_err rc16 = cg_mos_scan(CG_MOS_UCS2BE, m16, n16, lim, &off16, NULL);
    assert_int_equal(rc8, rc16);
    if (rc8 == CG_EXML)
        assert_int_equal(off16, 2 * off8);
    for (int u = 0; u < 2; u++) {
        const uint8_t *p = u ? m16 : (const uint8_t *)msg;
        size_t n = u ? n16 : n8;
        enum cg_err want = u ? rc16 : rc8;
        uint64_t want_at = u ? off16 : off8;
        for (size_t split = 0; split <= n; split += (n > 400 ? 37 : 1)) {
            struct cg_mos_scan s;
            cg_mos_scan_init(&s, u ? CG_MOS_UCS2BE : CG_MOS_UTF8, lim);
            enum cg_err rc = cg_mos_scan_feed(&s, p, split);
            if (rc == CG_OK)
                rc = cg_mos_scan_feed(&s, p + split, n - split);
            if (rc != want)
                fail_msg("split %zu (%s): %d, whole %d", split, u ? "ucs2be" : "utf8", rc, want);
            if (rc == CG_EXML)
                assert_int_equal(s.refused_at, want_at);
        }
        struct cg_mos_scan s;
        cg_mos_scan_init(&s, u ? CG_MOS_UCS2BE : CG_MOS_UTF8, lim);
        enum cg_err rc = CG_OK;
        for (size_t i = 0; i < n && rc == CG_OK; i++)
            rc = cg_mos_scan_feed(&s, p + i, 1);
        assert_int_equal(rc, want);
        assert_int_equal(s.offset, rc == CG_OK ? n : s.offset);
    }
    free(m16);
    if (at != NULL)
        *at = off8;
    return rc8;
}

#define HEAD "<mos><mosID>D</mosID><ncsID>N</ncsID><messageID>1</messageID>"

/* DOCTYPE, entity and other declarations are refused, with the offset of
 * their '<'; comments, CDATA and PIs are not. */
static void test_refuses_declarations(void **state)
{
    (void)state;
    char why[128];
    uint64_t at = 0;
    const char *doctype = "<?xml version=\"1.0\"?>\n<!DOCTYPE mos [<!ENTITY a \"aaaa\">]>"
                          "<mos><heartbeat>&a;</heartbeat></mos>";
    assert_int_equal(scan_all(doctype, NULL, why, sizeof(why), &at), CG_EXML);
    assert_int_equal(at, 22);
    assert_non_null(strstr(why, "DOCTYPE"));
    assert_int_equal(scan_all(HEAD "<!ENTITY x \"y\"><heartbeat/></mos>", NULL, why,
                              sizeof(why), &at),
                     CG_EXML);
    assert_non_null(strstr(why, "entity"));
    assert_int_equal(at, strlen(HEAD));
    assert_int_equal(scan_all(HEAD "<!ELEMENT x ANY><heartbeat/></mos>", NULL, why,
                              sizeof(why), NULL),
                     CG_EXML);
    assert_non_null(strstr(why, "declaration"));
    assert_int_equal(scan_all(HEAD "<![IGNORE[x]]><heartbeat/></mos>", NULL, why, sizeof(why),
                              NULL),
                     CG_EXML);
    assert_int_equal(scan_all(HEAD "<!-x--><heartbeat/></mos>", NULL, why, sizeof(why), NULL),
                     CG_EXML);
    /* what MOS does carry */
    const char *fine[] = {
        "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?><!-- c --><mos><heartbeat/></mos>",
        HEAD "<a><![CDATA[<!DOCTYPE x><!ENTITY y> <a b=1 c=2>]]></a></mos>",
        HEAD "<a><!-- <!DOCTYPE x> a=\"1\" b=\"2\" --></a></mos>",
        HEAD "<mosPayload><?vendor-pi <!DOCTYPE x> ?><n a='&lt;!DOCTYPE' b=\"<!x\"/></mosPayload></mos>",
        HEAD "<a>text with a > and = and \" and '</a></mos>",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(fine); i++)
        if (scan_all(fine[i], NULL, why, sizeof(why), NULL) != CG_OK)
            fail_msg("case %zu refused: %s", i, why);
}

/* A start tag with n attributes (n '=' signs, values with '=' and '>'). */
static char *with_attrs(unsigned n, bool empty)
{
    size_t cap = 64 + (size_t)n * 24;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k = (size_t)snprintf(s, cap, HEAD "<roReq");
    for (unsigned i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, i % 2 ? " a%u = 'x=>'" : " a%u=\"=\"", i);
    snprintf(s + k, cap - k, empty ? "/></mos>" : "></roReq></mos>");
    return s;
}

/* Attributes per element: N passes, N+1 is refused; default 64. */
static void test_attribute_limit(void **state)
{
    (void)state;
    char why[128];
    uint64_t at = 0;
    char *s = with_attrs(64, false);
    assert_int_equal(scan_all(s, NULL, why, sizeof(why), NULL), CG_OK);
    free(s);
    s = with_attrs(65, true);
    assert_int_equal(scan_all(s, NULL, why, sizeof(why), &at), CG_EXML);
    assert_string_equal(why, "more than 64 attributes on one element");
    assert_int_equal(at, strlen(HEAD));
    free(s);
    struct cg_mos_scan_limits lim = {.max_attributes = 3};
    s = with_attrs(3, true);
    assert_int_equal(scan_all(s, &lim, why, sizeof(why), NULL), CG_OK);
    free(s);
    s = with_attrs(4, false);
    assert_int_equal(scan_all(s, &lim, why, sizeof(why), NULL), CG_EXML);
    assert_string_equal(why, "more than 3 attributes on one element");
    free(s);
    /* the count is per element: 3 on each of many elements is fine */
    assert_int_equal(scan_all(HEAD "<a x='1' y='2' z='3'><b x='1' y='2' z='3'/></a></mos>", &lim,
                              why, sizeof(why), NULL),
                     CG_OK);
}

static char *nested(unsigned depth)
{
    size_t cap = 16 + (size_t)depth * 12;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k = 0;
    for (unsigned i = 0; i < depth; i++)
        k += (size_t)snprintf(s + k, cap - k, i == 0 ? "<mos>" : "<a>");
    for (unsigned i = 1; i < depth; i++)
        k += (size_t)snprintf(s + k, cap - k, "</a>");
    snprintf(s + k, cap - k, "</mos>");
    return s;
}

/* Depth: the root is 1; N levels pass, N+1 are refused; default 64. Empty
 * elements and closed siblings do not add up. */
static void test_depth_limit(void **state)
{
    (void)state;
    char why[128];
    uint64_t at = 0;
    char *s = nested(64);
    assert_int_equal(scan_all(s, NULL, why, sizeof(why), NULL), CG_OK);
    free(s);
    s = nested(65);
    assert_int_equal(scan_all(s, NULL, why, sizeof(why), &at), CG_EXML);
    assert_string_equal(why, "elements nested more than 64 deep");
    assert_int_equal(at, 5 + 63 * 3);
    free(s);
    struct cg_mos_scan_limits lim = {.max_depth = 3};
    assert_int_equal(scan_all("<mos><a><b/><b/><b></b><b x='/'/></a><a><b/></a></mos>", &lim, why,
                              sizeof(why), NULL),
                     CG_OK);
    assert_int_equal(scan_all("<mos><a><b><c/></b></a></mos>", &lim, why, sizeof(why), NULL),
                     CG_EXML);
    assert_string_equal(why, "elements nested more than 3 deep");
}

/* The attack from issue 12 item 5: 200,000 attributes on one element. Refused
 * at the 65th, in both encodings, fed in 64 KiB reads. */
static void test_quadratic_attack_refused(void **state)
{
    (void)state;
    char *s = with_attrs(200000, true);
    size_t n16 = 0;
    uint8_t *m16 = u16(s, &n16);
    assert_true(n16 > 4000000);
    struct cg_mos_scan sc;
    cg_mos_scan_init(&sc, CG_MOS_UCS2BE, NULL);
    enum cg_err rc = CG_OK;
    size_t fed = 0;
    for (size_t i = 0; i < n16 && rc == CG_OK; i += 65535, fed++)
        rc = cg_mos_scan_feed(&sc, m16 + i, n16 - i < 65535 ? n16 - i : 65535);
    assert_int_equal(rc, CG_EXML);
    assert_int_equal(fed, 1);
    assert_int_equal(cg_mos_scan_feed(&sc, "x", 1), CG_EXML); /* sticky */
    free(m16);
    free(s);
}

/* Every fixture (spec examples and edge cases, both encodings) passes. */
static void test_fixtures_pass(void **state)
{
    (void)state;
    size_t count = 0;
    struct mosfix *rows = mosfix_load(&count);
    for (size_t r = 0; r < count; r++) {
        for (int u = 0; u < 2; u++) {
            size_t n = 0;
            uint8_t *in = mosfix_read(&rows[r], u, &n);
            const char *why = NULL;
            if (cg_mos_scan(u ? CG_MOS_UCS2BE : CG_MOS_UTF8, in, n, NULL, NULL, &why) != CG_OK)
                fail_msg("%s/%s refused: %s", rows[r].dir, rows[r].file, why);
            free(in);
        }
    }
    free(rows);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(cg_mos_scan((enum cg_mos_encoding)7, "", 0, NULL, NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_mos_scan_feed(NULL, "", 0), CG_EINVAL);
    struct cg_mos_scan s;
    cg_mos_scan_init(&s, CG_MOS_UTF8, NULL);
    assert_int_equal(cg_mos_scan_feed(&s, NULL, 1), CG_EINVAL);
    assert_int_equal(cg_mos_scan_feed(&s, NULL, 0), CG_OK);
    cg_mos_scan_init(NULL, CG_MOS_UTF8, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_declarations),
        cmocka_unit_test(test_attribute_limit),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_quadratic_attack_refused),
        cmocka_unit_test(test_fixtures_pass),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
