/* Unit tests for cg__mos_check_fresh (src/mos/validate.c; issue 13): the
 * check of a fresh message in one pass where it passes. Its answer must be
 * the one the two passes it replaces gave (mos4/flow.c before: cg_mos_scan
 * under the endpoint's limits, its refusal with reason and offset, then
 * cg__mos_validate_xml) on every input: crafted cases (each pre-scan refusal,
 * XML errors before and after one, envelope errors, limits met exactly and
 * exceeded), every fixture of ../shared/fixtures/mos, each in UTF-8 and
 * UTF-16BE, under default, small and raised limits, with and without the
 * pre-scan. */
#include "mosfix.h"
#include "mos/mos.h"

/* The two passes, as mos4/flow.c ran them before. */
static enum cg_err two_passes(enum cg_mos_encoding enc, const void *p, size_t n,
                              const struct cg_mos_scan_limits *lim, bool prescan,
                              struct cg__mos_verdict *v)
{
    memset(v, 0, sizeof(*v));
    const char *why = NULL;
    if (prescan && cg_mos_scan(enc, p, n, lim, &v->at, &why) != CG_OK) {
        v->refused = true;
        snprintf(v->why, sizeof(v->why), "%s", why);
        return CG_EXML;
    }
    return cg__mos_validate_xml(enc, p, n, NULL);
}

static const struct cg_mos_scan_limits limit_sets[] = {
    {0, 0},             /* the defaults */
    {2, 3},             /* small: met by ordinary messages */
    {1000, 200},        /* raised */
};

static size_t compared;

static void same(enum cg_mos_encoding enc, const void *p, size_t n, const char *what)
{
    for (size_t k = 0; k < sizeof(limit_sets) / sizeof(limit_sets[0]); k++) {
        for (int pre = 0; pre < 2; pre++) {
            struct cg__mos_verdict a, b;
            enum cg_err ra = cg__mos_check_fresh(enc, p, n, &limit_sets[k], pre, &a);
            enum cg_err rb = two_passes(enc, p, n, &limit_sets[k], pre, &b);
            if (ra != rb || a.refused != b.refused || a.at != b.at || strcmp(a.why, b.why) != 0)
                fail_msg("%s (%s, limits %u/%u, prescan %d): one pass %s refused %d at %llu "
                         "\"%s\"; two passes %s refused %d at %llu \"%s\"",
                         what, enc == CG_MOS_UTF8 ? "utf-8" : "utf-16be",
                         limit_sets[k].max_attributes, limit_sets[k].max_depth, pre,
                         cg_errname(ra), a.refused, (unsigned long long)a.at, a.why,
                         cg_errname(rb), b.refused, (unsigned long long)b.at, b.why);
            compared++;
        }
    }
}

static void both_encodings(const char *xml, size_t n, const char *what)
{
    same(CG_MOS_UTF8, xml, n, what);
    uint8_t *u16 = NULL;
    size_t n16 = 0;
    if (cg_mos_convert(CG_MOS_UTF8, xml, n, &u16, &n16, NULL) == CG_OK) {
        same(CG_MOS_UCS2BE, u16, n16, what);
        cg_mos_free(u16);
    }
}

#define HEAD "<mos><mosID>m</mosID><ncsID>n</ncsID><messageID>7</messageID>"

static const char *const cases[] = {
    HEAD "<roAck><roID>1</roID></roAck></mos>",
    HEAD "<roAck a=\"1\" b=\"2\"><roID>1</roID></roAck></mos>",            /* 2 attributes */
    HEAD "<roAck a=\"1\" b=\"2\" c=\"3\"><roID>1</roID></roAck></mos>",    /* 3 */
    HEAD "<roAck><a><b>x</b></a></roAck></mos>",                           /* depth 4 */
    "<!DOCTYPE mos>" HEAD "<roAck/></mos>",
    "<?xml version=\"1.0\"?><!DOCTYPE mos [<!ENTITY e \"x\">]>" HEAD "<roAck/></mos>",
    HEAD "<roAck><!ENTITY e \"x\"></roAck></mos>",
    HEAD "<roAck><!ELEMENT x ANY></roAck></mos>",
    HEAD "<roAck><![CDATA[<!DOCTYPE x>]]><!-- <!ENTITY --></roAck></mos>",
    HEAD "<roAck></roack></mos>",                                          /* XML error */
    HEAD "<roAck>&bad;</roAck><!DOCTYPE x></mos>",                         /* error, then decl */
    "<mos <!DOCTYPE x>" HEAD "</mos>",                                     /* error inside decl */
    HEAD "<roAck a=\"1\" a=\"2\"/></mos>",                                 /* duplicate attr */
    HEAD "<roAck a=\"1\" b=\"2\" c=\"3\" c=\"4\"/></mos>",                 /* dup past a limit */
    HEAD "<roAck><a><b><c><d/></c></b></a></roAck></mos>",
    HEAD "<roAck><a><b><c><d/></c></b></a></roAck>",                       /* unclosed */
    HEAD "</mos>",                                                         /* no message */
    HEAD "<roAck/><roAck/></mos>",                                         /* two */
    "<other>" HEAD "<roAck/></mos></other>",                               /* root not mos */
    "<notmos/>",
    "",
    "<",
    HEAD "<roAck x=\"<\"/></mos>",
    HEAD "<roAck>\x01</roAck></mos>",
    HEAD "<roAck><?pi x?></roAck></mos><!DOCTYPE y>",
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[32];
        snprintf(what, sizeof(what), "case %zu", i);
        both_encodings(cases[i], strlen(cases[i]), what);
    }
}

/* Many attributes and deep nesting, well past the limits. */
static void test_big_refusals(void **state)
{
    (void)state;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    n += (size_t)snprintf(b + n, cap - n, HEAD "<roAck");
    for (int i = 0; i < 2000; i++)
        n += (size_t)snprintf(b + n, cap - n, " a%d=\"%d\"", i, i);
    n += (size_t)snprintf(b + n, cap - n, "/></mos>");
    both_encodings(b, n, "2000 attributes");
    n = (size_t)snprintf(b, cap, HEAD "<roAck>");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(b + n, cap - n, "<d>");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(b + n, cap - n, "</d>");
    n += (size_t)snprintf(b + n, cap - n, "</roAck></mos>");
    both_encodings(b, n, "300 deep");
    free(b);
}

static void test_fixtures(void **state)
{
    (void)state;
    size_t count = 0;
    struct mosfix *rows = mosfix_load(&count);
    assert_true(count > 10);
    size_t before = compared;
    for (size_t i = 0; i < count; i++) {
        char rel[300];
        snprintf(rel, sizeof(rel), "fixtures/mos/%s/%s", rows[i].dir, rows[i].file);
        size_t len = 0;
        uint8_t *data = tu_read(tu_shared_path(rel), &len);
        bool u16 = strstr(rows[i].file, "ucs2be") != NULL || (len >= 2 && data[0] == 0);
        if (u16)
            same(CG_MOS_UCS2BE, data, len, rows[i].file);
        else
            both_encodings((const char *)data, len, rows[i].file);
        free(data);
    }
    assert_true(compared - before >= count * 6);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_big_refusals),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
