/* Unit tests for the MOS 4.0 upgrade query (M-02, src/mos4/endpoint.c
 * cg__mos4_parse_query): what is accepted, and a 400 reason that says exactly
 * what is wrong (issue 12 item 14; passive per M-08, issue 20 item 5). */
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_query_accepted(void **state)
{
    (void)state;
    struct mos4_query q;
    char why[160];
    assert_true(cg__mos4_parse_query("mosID=dev.1&ncsID=ncs%20A&channel=ro&passive=true&site=x", &q,
                                     why, sizeof(why)));
    assert_true(q.has_mos && q.has_ncs && q.has_channel && q.passive);
    assert_string_equal(q.mos_id, "dev.1");
    assert_string_equal(q.ncs_id, "ncs A");
    assert_string_equal(q.channel, "ro");
    assert_true(cg__mos4_parse_query("channel=mom&ncsID=%E6%9D%B1&mosID=m", &q, why, sizeof(why)));
    assert_string_equal(q.ncs_id, "\xe6\x9d\xb1"); /* any order, UTF-8 */
    assert_false(q.passive);
    /* M-08: .NET writes booleans True/False: any case */
    assert_true(cg__mos4_parse_query("mosID=m&ncsID=n&channel=aux&passive=True", &q, why, sizeof(why)));
    assert_true(q.passive);
    assert_true(cg__mos4_parse_query("mosID=m&ncsID=n&channel=aux&passive=FALSE", &q, why, sizeof(why)));
    assert_false(q.passive);
    /* exactly 128 characters (M-24), here 128 three-byte ones */
    char big[128 * 9 + 64] = "channel=ro&ncsID=n&mosID=";
    for (int i = 0; i < 128; i++)
        strcat(big, "%E6%9D%B1");
    assert_true(cg__mos4_parse_query(big, &q, why, sizeof(why)));
    assert_int_equal(strlen(q.mos_id), 384);
}

struct bad {
    const char *query, *why;
};

static void test_query_refused_with_reason(void **state)
{
    (void)state;
    static const struct bad bads[] = {
        {"mosID=%zz&ncsID=n&channel=ro", "mosID has a percent-escape that is not % and two hex digits"},
        {"mosID=m&ncsID=%4&channel=ro", "ncsID has a percent-escape cut short (% needs two hex digits)"},
        {"mosID=m%00x&ncsID=n&channel=ro", "mosID contains a NUL character (%00)"},
        {"mosID=m&ncsID=a%0Ab&channel=ro", "ncsID contains a control character"},
        {"mosID=%FF&ncsID=n&channel=ro", "mosID is not UTF-8"},
        {"mosID=&ncsID=n&channel=ro", "mosID is empty"},
        {"mosID=a&mosID=b&ncsID=n&channel=ro", "mosID appears twice"},
        {"mosID=m&ncsID=n&channel=toolongchannelname", "channel must be mom, ro or aux (M-03)"},
        {"mosID=m&ncsID=n&channel=RO", "channel must be mom, ro or aux (M-03)"},
        {"mosID=m&ncsID=n&channel=ro&passive=yes", "passive must be true or false (M-08)"},
        {"mosID=m&ncsID=n&channel=ro&passive=truest", "passive must be true or false (M-08)"},
        {"mosID=m&channel=ro", "the query has no ncsID (M-02: mosID, ncsID and channel)"},
        {"", "the query has no mosID (M-02: mosID, ncsID and channel)"},
        {"mosID=m&ncsID=n", "the query has no channel (M-02: mosID, ncsID and channel)"},
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        struct mos4_query q;
        char why[160] = "";
        assert_false(cg__mos4_parse_query(bads[i].query, &q, why, sizeof(why)));
        if (strcmp(why, bads[i].why) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", bads[i].query, why, bads[i].why);
    }
}

/* A 5,000-character ID: said to be too long, not "needs mosID" (issue 12 item 14). */
static void test_query_long_ids(void **state)
{
    (void)state;
    struct mos4_query q;
    char why[160];
    char *s = malloc(5100);
    assert_non_null(s);
    strcpy(s, "channel=ro&ncsID=n&mosID=");
    memset(s + strlen(s), 'x', 5000);
    s[25 + 5000] = '\0';
    assert_false(cg__mos4_parse_query(s, &q, why, sizeof(why)));
    assert_string_equal(why, "mosID is longer than 128 characters (M-24)");
    /* 129 one-byte characters: too long although it fits the buffer */
    strcpy(s, "channel=ro&mosID=m&ncsID=");
    memset(s + strlen(s), 'y', 129);
    s[25 + 129] = '\0';
    assert_false(cg__mos4_parse_query(s, &q, why, sizeof(why)));
    assert_string_equal(why, "ncsID is longer than 128 characters (M-24)");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_accepted),
        cmocka_unit_test(test_query_refused_with_reason),
        cmocka_unit_test(test_query_long_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
