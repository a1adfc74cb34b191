/* Two requests the HTTPS surfaces answered wrongly, sans-I/O:
 * - "OPTIONS * HTTP/1.1" (RFC 9112 §3.2.4 asterisk-form; RFC 9110 §9.3.7:
 *   the server as a whole) is well formed: it got 400. No castgate API
 *   allows it, so B-22 ("reject every request the API does not explicitly
 *   allow with 405") makes it 405, with an empty Allow (RFC 9110 §10.2.1:
 *   the target "*" allows no method). Another method with "*" stays 400.
 * - A Host naming another host than the TLS SNI (RFC 9110 §15.5.20: 421
 *   Misdirected Request): cg__http_misdirected decides; names compare
 *   without case, port or one trailing dot (B-32); an IP-literal Host is not
 *   compared (SNI never carries an address, RFC 6066 §3).
 * Over sockets with curl and openssl s_client: tests/interop/test_http_misdirected.sh. */
#include "testutil.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void parse(struct cg_http_parser *hp, const char *text)
{
    cg__http_parser_init(hp, 16384, 1024);
    cg__http_parser_feed(hp, (const uint8_t *)text, strlen(text));
}

static void test_options_asterisk_405_b22(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse(&hp, "OPTIONS * HTTP/1.1\r\nHost: node.example.com\r\n\r\n");
    if (hp.error_status != 405)
        fail_msg("OPTIONS *: status %d (%s), want 405", hp.error_status,
                 hp.error_reason != NULL ? hp.error_reason : "-");
    assert_non_null(strstr(hp.error_reason, "B-22"));
    assert_non_null(hp.req.path); /* logged as sent (B-24) */
    assert_string_equal(hp.req.path, "*");
    struct cg_http_response res;
    cg__http_response_init(&res);
    cg__http_refusal(&res, 405, hp.error_reason, 0);
    struct cg_buf out;
    cg__buf_init(&out, 0);
    struct cg_http_policy pol = {0};
    assert_int_equal(cg__http_response_write(&res, &hp.req, &pol, &out), CG_OK);
    assert_int_equal(cg__buf_append(&out, "", 1), CG_OK);
    const char *s = (const char *)out.data;
    assert_non_null(strstr(s, "HTTP/1.1 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(s, "\r\nAllow: \r\n")); /* "*" allows nothing (RFC 9110 §10.2.1) */
    cg__buf_free(&out);
    cg__http_response_free(&res);
    cg__http_parser_free(&hp);
    /* asterisk-form is for OPTIONS only (RFC 9112 §3.2.4) */
    const char *others[] = {"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
                            "POST * HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
                            "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n",
                            "OPTIONS ** HTTP/1.1\r\nHost: h\r\n\r\n"};
    for (size_t i = 0; i < CG_ARRAY_LEN(others); i++) {
        parse(&hp, others[i]);
        if (hp.error_status != 400)
            fail_msg("%.20s: status %d, want 400", others[i], hp.error_status);
        cg__http_parser_free(&hp);
    }
    parse(&hp, "OPTIONS /status HTTP/1.1\r\nHost: h\r\n\r\n"); /* a path: routed as before */
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.complete);
    cg__http_parser_free(&hp);
}

static void test_host_against_sni_421(void **state)
{
    (void)state;
    static const struct {
        const char *host, *sni;
        bool misdirected;
    } rows[] = {
        {"node.example.com", "node.example.com", false},
        {"node.example.com:8443", "node.example.com", false},
        {"Node.Example.COM", "node.example.com", false},
        {"node.example.com.", "node.example.com", false}, /* B-32 */
        {"node.example.com.:443", "NODE.example.com.", false},
        {"node.example.com:", "node.example.com", false},
        {"other.example.com", "node.example.com", true},
        {"other.example.com:8443", "node.example.com", true},
        {"node.example.co", "node.example.com", true},
        {"node.example.com.au", "node.example.com", true},
        {"localhost", "node.example.com", true},
        {"node.example.com", "localhost", true},
        {"node.example.com..", "node.example.com", true},
        /* not both present: nothing to compare */
        {"node.example.com", NULL, false},
        {"node.example.com", "", false},
        {NULL, "node.example.com", false},
        {"", "node.example.com", false},
        /* an address: no SNI names one (RFC 6066 §3) */
        {"127.0.0.1", "localhost", false},
        {"127.0.0.1:8443", "localhost", false},
        {"[::1]:8443", "localhost", false},
        {"[2001:db8::1]", "node.example.com", false},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(rows); i++)
        if (cg__http_misdirected(rows[i].host, rows[i].sni) != rows[i].misdirected)
            fail_msg("Host '%s', SNI '%s': misdirected %d, want %d",
                     rows[i].host != NULL ? rows[i].host : "(none)",
                     rows[i].sni != NULL ? rows[i].sni : "(none)", !rows[i].misdirected,
                     rows[i].misdirected);
    assert_string_equal(cg__http_status_text(421), "Misdirected Request");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_asterisk_405_b22),
        cmocka_unit_test(test_host_against_sni_421),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
