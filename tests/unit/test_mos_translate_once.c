/* A removed MOS message (M-12) that the gateway translates has already been
 * validated by the endpoint that received it, with that endpoint's limits
 * (issue 13 item 5: a message is validated at most once per process).
 * cg_mos_translate_removed_ex(..., validated = true, ...) does not run the
 * full check a second time: before, the gateway's translation validated it
 * again on the loop with the default limits, so a message the endpoint
 * accepted under raised limits (deeper nesting here) was refused as "not
 * well-formed" after it had been accepted. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH (CG_MOS_DEFAULT_MAX_DEPTH + 10)

static char *deep_insert(size_t *len)
{
    char *x = malloc(8192);
    size_t n = (size_t)snprintf(x, 8192, "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>9"
                                "</messageID><roStoryInsert><roID>R</roID><storyID>S1</storyID>"
                                "<story><storyID>S2</storyID><storySlug>two</storySlug>"
                                "<mosExternalMetadata><mosPayload>");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(x + n, 8192 - n, "<d>");
    for (int i = 0; i < DEPTH; i++)
        n += (size_t)snprintf(x + n, 8192 - n, "</d>");
    n += (size_t)snprintf(x + n, 8192 - n, "</mosPayload></mosExternalMetadata></story>"
                          "</roStoryInsert></mos>");
    *len = n;
    return x;
}

static void test_validated_is_not_checked_again(void **state)
{
    (void)state;
    size_t len = 0, n = 0;
    char *xml = deep_insert(&len), *out = NULL;
    const char *why = NULL;
    /* the endpoint accepted it under raised limits */
    struct cg_mos_scan_limits lim = {.max_depth = DEPTH + 10};
    uint64_t at = 0;
    assert_int_equal(cg_mos_scan(CG_MOS_UTF8, xml, len, &lim, &at, &why), CG_OK);
    /* the unchecked entry point still checks, with the default limits */
    assert_int_equal(cg_mos_translate_removed(xml, len, &out, &n, &why), CG_EINVAL);
    assert_null(out);
    /* already validated: translated, the payload byte for byte */
    assert_int_equal(cg_mos_translate_removed_ex(xml, len, true, &out, &n, &why), CG_OK);
    assert_non_null(out);
    assert_non_null(strstr(out, "<roElementAction operation=\"INSERT\">"));
    assert_non_null(strstr(out, "<d><d><d>"));
    assert_null(why);
    cg_mos_free(out);
    /* validated = false is cg_mos_translate_removed */
    out = NULL;
    assert_int_equal(cg_mos_translate_removed_ex(xml, len, false, &out, &n, &why), CG_EINVAL);
    assert_null(out);
    free(xml);
}

static void test_validated_still_reads_safely(void **state)
{
    (void)state;
    /* a caller that says validated when it was not gets a refusal, not a crash
     * (cut short, not a removed message, empty); ASan checks the reads */
    const char *bad[] = {
        "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><roStoryInsert><roID>R</roID>",
        "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><roReq><roID>R</roID></roReq></mos>",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        size_t n = 0;
        const char *why = NULL;
        assert_int_not_equal(cg_mos_translate_removed_ex(bad[i], strlen(bad[i]), true, &out, &n, &why),
                             CG_OK);
        assert_null(out);
        assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validated_is_not_checked_again),
        cmocka_unit_test(test_validated_still_reads_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
