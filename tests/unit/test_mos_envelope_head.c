/* cg__mos_envelope_head (src/mos/envelope.c): the envelope's head (M-20:
 * mosID, ncsID, messageID, the message element's name) read without looking
 * past the message element's name, so a refused message's NACK costs the
 * same for 1 KB and for 6 MB (issue 12, denial of service). */
#include "testutil.h"
#include "mos/mos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UTF-8 text to UCS-2BE (ASCII only here). */
static uint8_t *ucs2(const char *s, size_t *len)
{
    size_t n = strlen(s);
    uint8_t *o = malloc(2 * n + 1);
    assert_non_null(o);
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = 0;
        o[2 * i + 1] = (uint8_t)s[i];
    }
    *len = 2 * n;
    return o;
}

static const char head[] = "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>41</messageID>";

static void test_whole_message(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s<roReq><roID>A</roID></roReq></mos>", head);
    struct cg_mos_envelope env;
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UTF8, m, strlen(m), &env), CG_OK);
    assert_string_equal(env.mos_id, "DEV");
    assert_string_equal(env.ncs_id, "NCS");
    assert_string_equal(env.message_id, "41");
    assert_int_equal(env.message_id_kind, CG_MOS_MSGID_OK);
    assert_int_equal(env.message_id_value, 41);
    assert_string_equal(env.name, "roReq");
}

/* A prefix cut inside a 200,000-attribute start tag, UCS-2BE: the head is all
 * there; what follows the name is never needed. */
static void test_prefix_of_attack(void **state)
{
    (void)state;
    size_t cap = strlen(head) + 64 + 200000 * 20;
    char *m = malloc(cap);
    assert_non_null(m);
    size_t n = (size_t)snprintf(m, cap, "%s<roReq", head);
    for (int i = 0; i < 200000; i++)
        n += (size_t)snprintf(m + n, cap - n, " a%d=\"%d\"", i, i);
    size_t wlen = 0;
    uint8_t *w = ucs2(m, &wlen);
    struct cg_mos_envelope env;
    size_t cut = 2 * (strlen(head) + 300); /* inside the attributes */
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UCS2BE, w, cut, &env), CG_OK);
    assert_string_equal(env.message_id, "41");
    assert_string_equal(env.name, "roReq");
    /* and the whole unclosed thing: the same answer (the whole parse says
     * the message is broken and gives no messageID) */
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UCS2BE, w, wlen, &env), CG_OK);
    assert_string_equal(env.message_id, "41");
    assert_int_not_equal(cg_mos_envelope_parse(CG_MOS_UCS2BE, w, wlen, &env, NULL), CG_OK);
    free(w);
    free(m);
}

/* Cut before the name, or inside a field: what was reached, no more. */
static void test_short_prefixes(void **state)
{
    (void)state;
    char m[512];
    snprintf(m, sizeof(m), "%s<roReq a=\"1\"/></mos>", head);
    struct cg_mos_envelope env;
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UTF8, m, strlen(head), &env), CG_OK);
    assert_string_equal(env.message_id, "41");
    assert_string_equal(env.name, "");
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UTF8, m, strlen(head) + 2, &env), CG_OK);
    assert_string_equal(env.name, ""); /* "<r": the name may go on */
    size_t in_field = strlen("<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>4");
    assert_int_not_equal(cg__mos_envelope_head(CG_MOS_UTF8, m, in_field, &env), CG_OK);
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UTF8, "<x/>", 4, &env), CG_EENVELOPE);
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UTF8, "", 0, &env), CG_EENVELOPE);
    /* a field twice is still refused */
    const char *twice = "<mos><messageID>1</messageID><messageID>2</messageID><a/></mos>";
    assert_int_equal(cg__mos_envelope_head(CG_MOS_UTF8, twice, strlen(twice), &env), CG_EENVELOPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_message),
        cmocka_unit_test(test_prefix_of_attack),
        cmocka_unit_test(test_short_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
