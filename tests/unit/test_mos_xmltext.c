/* XML text of envelope fields (src/mos/xmltext.c): the five predefined
 * entities from the table it shares with mos/wf.c (cg__mos_entities),
 * character references in base 10 and 16 (cg__digitval), and what is
 * refused (issue 16 item 5). */
#include "testutil.h"

#include "mos/mos.h"

#include <string.h>

static enum cg_err unescape(const char *in, char *out, size_t size)
{
    const char *why = NULL;
    enum cg_err rc = cg__mos_xml_unescape((const uint8_t *)in, strlen(in), out, size, &why);
    if (rc != CG_OK)
        assert_non_null(why);
    return rc;
}

static void test_the_five_entities(void **state)
{
    (void)state;
    assert_int_equal(CG_ARRAY_LEN(cg__mos_entities), 5);
    static const char *const want[][2] = {
        {"lt", "<"}, {"gt", ">"}, {"amp", "&"}, {"apos", "'"}, {"quot", "\""}};
    for (size_t k = 0; k < CG_ARRAY_LEN(want); k++) {
        const struct cg__mos_entity *e = &cg__mos_entities[k];
        assert_string_equal(e->name, want[k][0]);
        assert_int_equal(e->len, strlen(e->name));
        assert_int_equal(e->ch, want[k][1][0]);
    }
    char out[64];
    assert_int_equal(unescape("a&lt;b&gt;c&amp;d&apos;e&quot;f", out, sizeof(out)), CG_OK);
    assert_string_equal(out, "a<b>c&d'e\"f");
    assert_int_equal(unescape("&amp;lt;", out, sizeof(out)), CG_OK); /* decoded once */
    assert_string_equal(out, "&lt;");
}

static void test_character_references(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(unescape("&#65;&#x42;&#x6a;&#x6A;", out, sizeof(out)), CG_OK);
    assert_string_equal(out, "ABjj");
    assert_int_equal(unescape("&#xE9;&#8364;", out, sizeof(out)), CG_OK); /* UTF-8 out */
    assert_string_equal(out, "\xC3\xA9\xE2\x82\xAC");
    assert_int_equal(unescape("&#x1F600;", out, sizeof(out)), CG_OK);
    assert_string_equal(out, "\xF0\x9F\x98\x80");
    assert_int_equal(unescape("&#9;x", out, sizeof(out)), CG_OK); /* tab: allowed */
    assert_string_equal(out, "\tx");
}

static void test_refused(void **state)
{
    (void)state;
    char out[64];
    static const char *const bad[] = {
        "&lt",      /* no ';' at the end */
        "&lt ;",    /* not at once */
        "&ltx;",    /* another name */
        "&LT;",     /* names are case-sensitive */
        "&nbsp;",   /* no DTD: only the five */
        "&;",       /* empty */
        "&#;",      /* no digits */
        "&#x;",     /* no hex digits */
        "&#12a;",   /* a hex digit in a decimal reference */
        "&#xG1;",   /* not a hex digit */
        "&#X41;",   /* XML writes x in lower case */
        "&#0;",     /* not a character XML allows */
        "&#1;",     /* a control */
        "&#xD800;", /* a surrogate */
        "&#x110000;", /* past Unicode */
        "&#99999999999;", /* overflow */
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        if (unescape(bad[i], out, sizeof(out)) != CG_EENVELOPE)
            fail_msg("%s was taken as \"%s\"", bad[i], out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_five_entities),
        cmocka_unit_test(test_character_references),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
