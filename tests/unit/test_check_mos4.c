/* Unit tests for the check mos4 verdicts (src/check/mos4_rules.c), sans-I/O:
 * frames (M-04), upgrade refusals (M-05, M-02), heartbeat (M-10), messageID
 * echo (M-11), keepAlive (M-09), profile answers (M-23), retries (M-22). */
#include "testutil.h"
#include "check/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV "<mos><mosID>m</mosID><ncsID>n</ncsID>"

/* Judges xml (UTF-8) sent as a binary UCS-2BE frame (ucs2) or a text frame. */
static enum cg_check_verdict judge(const char *xml, bool ucs2, struct cg_m4_seen *s, char *why)
{
    uint8_t *w = NULL;
    size_t wl = strlen(xml);
    if (ucs2)
        assert_int_equal(cg_mos_convert(CG_MOS_UTF8, xml, strlen(xml), &w, &wl, NULL), CG_OK);
    struct cg_m4_frame f = {ucs2, ucs2 ? w : (const uint8_t *)xml, wl};
    enum cg_check_verdict v = cg__m4_frame_verdict(&f, s, why, 256);
    cg_mos_free(w);
    return v;
}

static void test_frames(void **state)
{
    (void)state;
    struct cg_m4_seen s;
    char why[256];
    /* M-04: binary UCS-2BE, one message */
    assert_int_equal(judge(ENV "<messageID>7</messageID><roAck/></mos>", true, &s, why), CG_CHECK_PASS);
    assert_true(s.parsed);
    assert_string_equal(s.env.name, "roAck");
    assert_string_equal(s.env.message_id, "7");
    cg__m4_seen_free(&s);
    /* a text frame fails, but is still read (lenient receipt) for the other rules */
    assert_int_equal(judge(ENV "<messageID>7</messageID><roAck/></mos>", false, &s, why), CG_CHECK_FAIL);
    assert_true(s.parsed);
    assert_string_equal(s.env.name, "roAck");
    assert_non_null(strstr(why, "text frame"));
    cg__m4_seen_free(&s);
    /* two messages in one frame */
    assert_int_equal(judge(ENV "<keepAlive/></mos>" ENV "<roAck/></mos>", true, &s, why), CG_CHECK_FAIL);
    assert_false(s.parsed);
    assert_non_null(strstr(why, "not one MOS message"));
    cg__m4_seen_free(&s);
    /* UTF-8 bytes in a binary frame: not UCS-2BE MOS */
    const char *u8 = ENV "<roAck/></mos>";
    struct cg_m4_frame f = {true, (const uint8_t *)u8, strlen(u8)};
    assert_int_equal(cg__m4_frame_verdict(&f, &s, why, sizeof(why)), CG_CHECK_FAIL);
    cg__m4_seen_free(&s);
    /* an odd byte count cannot be UTF-16BE */
    static const uint8_t odd[] = {0, '<', 0, 'm', 0};
    struct cg_m4_frame fo = {true, odd, sizeof(odd)};
    assert_int_equal(cg__m4_frame_verdict(&fo, &s, why, sizeof(why)), CG_CHECK_FAIL);
    assert_null(s.utf8);
    cg__m4_seen_free(&s);
    /* half a message */
    assert_int_equal(judge(ENV "<roAck>", true, &s, why), CG_CHECK_FAIL);
    cg__m4_seen_free(&s);
    /* a BOM warns */
    uint8_t *w = NULL;
    size_t wl;
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, ENV "<roAck/></mos>", strlen(ENV "<roAck/></mos>"),
                                    &w, &wl, NULL), CG_OK);
    uint8_t *b = malloc(wl + 2);
    b[0] = 0xFE, b[1] = 0xFF;
    memcpy(b + 2, w, wl);
    struct cg_m4_frame fb = {true, b, wl + 2};
    assert_int_equal(cg__m4_frame_verdict(&fb, &s, why, sizeof(why)), CG_CHECK_WARN);
    cg__m4_seen_free(&s);
    free(b);
    cg_mos_free(w);
}

static void test_upgrades(void **state)
{
    (void)state;
    char why[256];
    /* M-05 */
    assert_int_equal(cg__m4_auth_verdict(401, false, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_auth_verdict(0, true, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "upgraded"));
    assert_int_equal(cg__m4_auth_verdict(403, false, why, sizeof(why)), CG_CHECK_WARN);
    assert_int_equal(cg__m4_auth_verdict(500, false, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_auth_verdict(0, false, why, sizeof(why)), CG_CHECK_WARN);
    /* M-02 */
    assert_int_equal(cg__m4_query_verdict(400, false, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_query_verdict(404, false, why, sizeof(why)), CG_CHECK_WARN);
    assert_int_equal(cg__m4_query_verdict(0, true, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_query_verdict(200, false, why, sizeof(why)), CG_CHECK_FAIL);
}

static void test_heartbeat_echo_keepalive(void **state)
{
    (void)state;
    struct cg_m4_seen hb, ack, noid, none = {0};
    char why[256];
    judge(ENV "<messageID>12</messageID><heartbeat><time>x</time></heartbeat></mos>", true, &hb, why);
    judge(ENV "<messageID>13</messageID><roAck/></mos>", true, &ack, why);
    judge(ENV "<roAck/></mos>", true, &noid, why);
    /* M-10 */
    assert_int_equal(cg__m4_heartbeat_verdict(&hb, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_heartbeat_verdict(&ack, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_heartbeat_verdict(&none, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_heartbeat_verdict(NULL, why, sizeof(why)), CG_CHECK_FAIL);
    /* M-11: verbatim */
    assert_int_equal(cg__m4_echo_verdict("12", &hb, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_echo_verdict("12", &ack, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "13"));
    assert_int_equal(cg__m4_echo_verdict("12", &noid, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "without"));
    assert_int_equal(cg__m4_echo_verdict("12", &none, why, sizeof(why)), CG_CHECK_FAIL);
    /* M-09 */
    assert_int_equal(cg__m4_keepalive_verdict(NULL, false, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_keepalive_verdict("mosAck", false, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "mosAck"));
    assert_int_equal(cg__m4_keepalive_verdict(NULL, true, why, sizeof(why)), CG_CHECK_FAIL);
    cg__m4_seen_free(&hb), cg__m4_seen_free(&ack), cg__m4_seen_free(&noid);
}

static void test_answers(void **state)
{
    (void)state;
    char why[256];
    struct cg_m4_seen lmi, roack, mosack, mosobj, none = {0};
    judge(ENV "<messageID>1</messageID><listMachInfo/></mos>", true, &lmi, why);
    judge(ENV "<messageID>1</messageID><roAck/></mos>", true, &roack, why);
    judge(ENV "<messageID>1</messageID><mosAck/></mos>", true, &mosack, why);
    judge(ENV "<messageID>1</messageID><mosObj/></mos>", true, &mosobj, why);
    /* M-23: the catalogue's answer, or the channel's ACK/NACK */
    assert_int_equal(cg__m4_answer_verdict("reqMachInfo", &lmi, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_answer_verdict("reqMachInfo", &mosack, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_answer_verdict("roReq", &roack, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_answer_verdict("roReq", &mosack, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_answer_verdict("roReq", &lmi, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "not its answer"));
    assert_int_equal(cg__m4_answer_verdict("mosReqObj", &mosobj, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_answer_verdict("mosReqObj", &roack, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_answer_verdict("mosObj", &mosack, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_answer_verdict("roDelete", &none, why, sizeof(why)), CG_CHECK_FAIL);
    cg__m4_seen_free(&lmi), cg__m4_seen_free(&roack), cg__m4_seen_free(&mosack);
    cg__m4_seen_free(&mosobj);
}

static void test_retry(void **state)
{
    (void)state;
    char why[256];
    struct cg_m4_seen a, b, c, d, none = {0};
    judge(ENV "<messageID>5</messageID><roAck><roID>R</roID><roStatus>OK</roStatus></roAck></mos>", true, &a, why);
    judge(ENV "<messageID>5</messageID><roAck><roID>R</roID><roStatus>OK</roStatus></roAck></mos>", false, &b, why);
    judge(ENV "<messageID>5</messageID><roAck><roID>R</roID><roStatus>NACK exists</roStatus></roAck></mos>", true, &c, why);
    judge(ENV "<messageID>6</messageID><roAck><roID>R</roID><roStatus>OK</roStatus></roAck></mos>", true, &d, why);
    assert_int_equal(cg__m4_retry_verdict(&a, &a, why, sizeof(why)), CG_CHECK_PASS);
    /* the same text, whatever the frame's encoding (M-04 judges that) */
    assert_int_equal(cg__m4_retry_verdict(&a, &b, why, sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__m4_retry_verdict(&a, &c, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "not the same answer"));
    assert_int_equal(cg__m4_retry_verdict(&a, &d, why, sizeof(why)), CG_CHECK_FAIL);
    assert_int_equal(cg__m4_retry_verdict(&a, &none, why, sizeof(why)), CG_CHECK_FAIL);
    assert_non_null(strstr(why, "retry"));
    assert_int_equal(cg__m4_retry_verdict(NULL, &a, why, sizeof(why)), CG_CHECK_FAIL);
    /* the --write follow-up counts the test story in roList */
    assert_int_equal(cg__m4_count("<storyID>S</storyID><storyID>S</storyID>", "<storyID>S</storyID>"), 2);
    assert_int_equal(cg__m4_count("<storyID>S1</storyID>", "<storyID>S</storyID>"), 0);
    assert_int_equal(cg__m4_count(NULL, "x"), 0);
    cg__m4_seen_free(&a), cg__m4_seen_free(&b), cg__m4_seen_free(&c), cg__m4_seen_free(&d);
}

static void test_opts(void **state)
{
    (void)state;
    struct cg_check_report *r = (void *)1;
    struct cg_check_mos4_opts o = {.url = "wss://localhost:1/x", .mos_id = "m", .ncs_id = ""};
    assert_int_equal(cg_check_mos4(NULL, &o, &r), CG_EINVAL);
    o.ncs_id = "n";
    o.url = "https://localhost:1/x";
    assert_int_equal(cg_check_mos4(NULL, &o, &r), CG_EINVAL);
    o.url = "wss://localhost:1/x?channel=ro"; /* the checker writes the query itself */
    assert_int_equal(cg_check_mos4(NULL, &o, &r), CG_EINVAL);
    assert_int_equal(cg_check_mos4(NULL, NULL, &r), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_upgrades),
        cmocka_unit_test(test_heartbeat_echo_keepalive),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
