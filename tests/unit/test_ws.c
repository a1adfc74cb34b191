/* Unit tests for src/ws's sans-I/O parts: the upgrade checks (RFC 6455
 * §4.2.1), the accept key, and the UTF-8 rule for text frames. The framing
 * itself runs over a real connection in test_server.c. */
#include "testutil.h"
#include "ws/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOOD_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* ---- upgrade checks ---- */

/* Parses "GET /ws" with the given extra header lines and returns what
 * cg__ws_check_upgrade says. */
static int check_with(const char *headers, const char **reason)
{
    char req[1024];
    snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\nHost: h\r\n%s\r\n", headers);
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 16384, 1024);
    cg__http_parser_feed(&hp, (const uint8_t *)req, strlen(req));
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.complete);
    *reason = NULL;
    int st = cg__ws_check_upgrade(&hp.req, reason);
    cg__http_parser_free(&hp);
    return st;
}

static int check_key(const char *key)
{
    char h[256];
    snprintf(h, sizeof(h), "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", key);
    const char *reason;
    return check_with(h, &reason);
}

static void test_valid_upgrades_accepted(void **state)
{
    (void)state;
    const char *reason;
    assert_int_equal(check_with("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     0);
    /* Firefox's "keep-alive, Upgrade"; tokens are case-insensitive. */
    assert_int_equal(check_with("Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     0);
}

static void test_missing_or_wrong_upgrade_header(void **state)
{
    (void)state; /* BCP B-26: nothing but WebSocket on a WebSocket route */
    const char *reason;
    assert_int_equal(check_with("Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     426);
    assert_string_equal(reason, "not a WebSocket upgrade");
    assert_int_equal(check_with("Upgrade: h2c\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     426);
    assert_int_equal(check_with("Upgrade: websocket2\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     426);
}

static void test_connection_without_upgrade_token(void **state)
{
    (void)state;
    const char *reason;
    assert_int_equal(check_with("Upgrade: websocket\r\nConnection: keep-alive, close\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     400);
    assert_string_equal(reason, "Connection header lacks upgrade");
    assert_int_equal(check_with("Upgrade: websocket\r\nConnection: upgraded\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     400);
    assert_int_equal(check_with("Upgrade: websocket\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n",
                                &reason),
                     400);
}

static void test_other_versions_get_426(void **state)
{
    (void)state; /* RFC 6455 §4.2.2: 426 with the version we speak */
    const char *reason;
    static const char *const versions[] = {"Sec-WebSocket-Version: 8\r\n",
                                           "Sec-WebSocket-Version: 13, 8\r\n",
                                           "Sec-WebSocket-Version: 130\r\n", ""};
    for (size_t i = 0; i < CG_ARRAY_LEN(versions); i++) {
        char h[512];
        snprintf(h, sizeof(h), "Upgrade: websocket\r\nConnection: Upgrade\r\n%s"
                               "Sec-WebSocket-Key: " GOOD_KEY "\r\n", versions[i]);
        assert_int_equal(check_with(h, &reason), 426);
        assert_string_equal(reason, "unsupported Sec-WebSocket-Version");
    }
}

static void test_bad_keys_get_400(void **state)
{
    (void)state; /* RFC 6455 §4.2.1: base64 of 16 bytes */
    assert_int_equal(check_key(GOOD_KEY), 0);
    assert_int_equal(check_key("AAAAAAAAAAAAAAAAAAAAAA=="), 0);
    static const char *const bad[] = {
        "dGhlIHNhbXBsZSBub25jZQ=",    /* 23 chars */
        "dGhlIHNhbXBsZSBub25jZQ===",  /* 25 chars */
        "dGhlIHNhbXBsZSBub25jZQ==AAAA", /* 28 chars: 20 bytes */
        "dGhlIHNhbXBs!SBub25jZQ==",   /* not base64 */
        "dGhlIHNhbXBs ZSBub25jZQ=",   /* a space inside */
        "AAAAAAAAAAAAAAAAAAAAAAAA",   /* 24 chars, decodes to 18 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAA=",   /* 24 chars, decodes to 17 bytes */
        "AAAAAAAAAAAAAAAAAAAA====",   /* padding where data belongs */
        "",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        if (check_key(bad[i]) != 400)
            fail_msg("key \"%s\" was not refused with 400", bad[i]);
    }
    const char *reason;
    assert_int_equal(check_with("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\n",
                                &reason),
                     400);
    assert_string_equal(reason, "invalid Sec-WebSocket-Key");
}

static void test_http10_upgrade_gets_400(void **state)
{
    (void)state; /* RFC 6455 §4.1: the opening handshake is HTTP/1.1 or later */
    static const char req[] = "GET /ws HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                              "Sec-WebSocket-Key: " GOOD_KEY "\r\n\r\n";
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 16384, 1024);
    cg__http_parser_feed(&hp, (const uint8_t *)req, strlen(req));
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.complete);
    const char *reason = NULL;
    assert_int_equal(cg__ws_check_upgrade(&hp.req, &reason), 400);
    assert_string_equal(reason, "WebSocket needs HTTP/1.1 or later");
    cg__http_parser_free(&hp);
}

/* ---- accept key ---- */

static void test_accept_key_rfc6455_example(void **state)
{
    (void)state; /* RFC 6455 §1.3 */
    char out[64];
    assert_int_equal(cg__ws_accept_key(GOOD_KEY, out, sizeof(out)), CG_OK);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char exact[29];
    assert_int_equal(cg__ws_accept_key(GOOD_KEY, exact, sizeof(exact)), CG_OK);
    assert_string_equal(exact, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(cg__ws_accept_key(GOOD_KEY, out, 28), CG_EINVAL);
    char longkey[80];
    memset(longkey, 'A', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(cg__ws_accept_key(longkey, out, sizeof(out)), CG_EINVAL);
}

/* ---- UTF-8 (RFC 3629) ---- */

struct utf8_case {
    const char *what;
    const char *bytes;
    size_t len;
    bool valid;
};

#define U8(what, lit, valid) {what, lit, sizeof(lit) - 1, valid}

static const struct utf8_case utf8_cases[] = {
    U8("empty", "", true),
    U8("ASCII", "hello, world", true),
    U8("2-byte e-acute", "\xc3\xa9", true),
    U8("2-byte lowest U+0080", "\xc2\x80", true),
    U8("3-byte euro", "\xe2\x82\xac", true),
    U8("3-byte lowest U+0800", "\xe0\xa0\x80", true),
    U8("3-byte U+D7FF below surrogates", "\xed\x9f\xbf", true),
    U8("3-byte U+E000 above surrogates", "\xee\x80\x80", true),
    U8("3-byte U+FFFF", "\xef\xbf\xbf", true),
    U8("4-byte lowest U+10000", "\xf0\x90\x80\x80", true),
    U8("4-byte highest U+10FFFF", "\xf4\x8f\xbf\xbf", true),
    U8("emoji U+1F600", "\xf0\x9f\x98\x80", true),
    U8("mixed text", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!", true),
    U8("NUL is valid UTF-8", "a\0b", true),
    U8("overlong 2-byte C0 80", "\xc0\x80", false),
    U8("overlong 2-byte C1 BF", "\xc1\xbf", false),
    U8("overlong 3-byte E0 80 80", "\xe0\x80\x80", false),
    U8("overlong 3-byte E0 9F BF", "\xe0\x9f\xbf", false),
    U8("overlong 4-byte F0 80 80 80", "\xf0\x80\x80\x80", false),
    U8("overlong 4-byte F0 8F BF BF", "\xf0\x8f\xbf\xbf", false),
    U8("surrogate U+D800", "\xed\xa0\x80", false),
    U8("surrogate U+DFFF", "\xed\xbf\xbf", false),
    U8("above U+10FFFF F4 90 80 80", "\xf4\x90\x80\x80", false),
    U8("F5 lead byte", "\xf5\x80\x80\x80", false),
    U8("F8 5-byte form", "\xf8\x88\x80\x80\x80", false),
    U8("FF byte", "\xff", false),
    U8("lone continuation", "\x80", false),
    U8("continuation after ASCII", "a\xbf", false),
    U8("truncated 2-byte at end", "ab\xc3", false),
    U8("truncated 3-byte at end", "\xe2\x82", false),
    U8("truncated 4-byte at end", "\xf0\x9f\x98", false),
    U8("truncated 2-byte before ASCII", "\xc3" "A", false),
    U8("truncated 3-byte before ASCII", "\xe2\x82" "A", false),
    U8("truncated 4-byte before ASCII", "\xf0\x9f\x98" "A", false),
    U8("two lead bytes", "\xc3\xc3\xa9", false),
};

static void test_utf8_table(void **state)
{
    (void)state; /* text frames must be UTF-8 (RFC 6455 §8.1), else close 1007 */
    for (size_t i = 0; i < CG_ARRAY_LEN(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        if (cg__utf8_valid((const uint8_t *)c->bytes, c->len) != c->valid)
            fail_msg("%s: expected %s", c->what, c->valid ? "valid" : "invalid");
    }
}

static void test_utf8_every_code_point(void **state)
{
    (void)state; /* every scalar value encodes to valid UTF-8, every surrogate not */
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        uint8_t b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (uint8_t)cp, n = 1;
        } else if (cp < 0x800) {
            b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
        } else if (cp < 0x10000) {
            b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
        } else {
            b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (uint8_t)(0x80 | (cp & 0x3F));
            n = 4;
        }
        bool want = cp < 0xD800 || cp > 0xDFFF;
        if (cg__utf8_valid(b, n) != want)
            fail_msg("U+%04X: expected %s", (unsigned)cp, want ? "valid" : "invalid");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_upgrades_accepted),
        cmocka_unit_test(test_missing_or_wrong_upgrade_header),
        cmocka_unit_test(test_connection_without_upgrade_token),
        cmocka_unit_test(test_other_versions_get_426),
        cmocka_unit_test(test_bad_keys_get_400),
        cmocka_unit_test(test_http10_upgrade_gets_400),
        cmocka_unit_test(test_accept_key_rfc6455_example),
        cmocka_unit_test(test_utf8_table),
        cmocka_unit_test(test_utf8_every_code_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
