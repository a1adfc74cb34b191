/* The well-formedness check's names (src/mos/wf.c ncname: ASCII NameChars
 * 16 bytes a step with SSE2, then unit by unit, issue 13: tag names are most
 * of a tag-heavy message). An element name of many lengths (around the
 * 8- and 16-unit steps) with each printable ASCII character and a few
 * others put at every offset, in a start and an end tag, in both encodings:
 * the verdict is libxml2's (the oracle, after the pre-scan, as in
 * test_mos_wf_runs.c). */
#include "wfcheck.h"

static size_t checked;

static void check(const char *xml, size_t n8)
{
    for (int u = 0; u < 2; u++) {
        struct wf_msg m;
        wf_msg_in(&m, u, xml, n8);
        struct cg__mos_wf_result r;
        enum cg_err rc = cg__mos_wf_check(m.enc, m.p, m.n, NULL, &r);
        enum cg_err want = wf_libxml2(m.enc, m.p, m.n);
        if (rc != want && !(rc == CG_EXML && r.lenient))
            fail_msg("%s %.*s: castgate %s (%s), libxml2 %s", m.name, (int)n8, xml,
                     cg_errname(rc), r.why, cg_errname(want));
        checked++;
        wf_msg_free(&m);
    }
}

static const char head[] = "<mos><mosID>m</mosID><ncsID>n</ncsID><messageID>1</messageID>";
static const char *const others[] = {"\xc3\xa9", "\xc2\xb7", "\xcc\x80", "\xe2\x82\xac",
                                     "\xf0\x9f\x8e\xac"};

static void one(size_t len, size_t at, const char *odd)
{
    char name[128], xml[512];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (i == at) {
            memcpy(name + k, odd, strlen(odd));
            k += strlen(odd);
        } else {
            static const char pool[] = "abcXYZ09_-.";
            name[k++] = i == 0 ? 'r' : pool[i % (sizeof(pool) - 1)];
        }
    }
    int n = snprintf(xml, sizeof(xml), "%s<%.*s a=\"1\"></%.*s></mos>", head, (int)k, name,
                     (int)k, name);
    check(xml, (size_t)n);
    n = snprintf(xml, sizeof(xml), "%s<%.*s/></mos>", head, (int)k, name);
    check(xml, (size_t)n);
}

static void test_odd_character_at_every_offset(void **state)
{
    (void)state;
    static const size_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40};
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
        for (size_t at = 0; at < lens[l]; at++) {
            for (int c = 0x21; c < 0x7f; c++) {
                char odd[2] = {(char)c, 0};
                if (c != '"' && c != '<' && c != '>' && c != '/' && c != '=' && c != '&' &&
                    c != '\'')
                    one(lens[l], at, odd);
            }
            for (size_t o = 0; o < sizeof(others) / sizeof(others[0]); o++)
                one(lens[l], at, others[o]);
        }
    assert_true(checked > 40000);
}

/* A name of every length up to 70 and one past 50,000 bytes. */
static void test_lengths(void **state)
{
    (void)state;
    for (size_t len = 1; len <= 70; len++)
        one(len, SIZE_MAX, "");
    size_t big = 50001 + 40;
    char *xml = malloc(big * 2 + 256);
    assert_non_null(xml);
    size_t n = (size_t)sprintf(xml, "%s<", head);
    for (size_t i = 0; i < 50001; i++)
        xml[n++] = "abcdefgh"[i % 8];
    n += (size_t)sprintf(xml + n, "/></mos>");
    check(xml, n);
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_character_at_every_offset),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
