/* Unit tests for the front's one-pass JSON rewrite (src/front/json.c): the
 * members of an object that depend on one another are patched when the
 * object closes, whatever their key order; nested objects, duplicate keys,
 * IPv6 hosts, escaped URLs next to patched members, a rewrite appended after
 * what out holds already, and the depth bound shared with the check (B-23).
 * Written against the token-list rewriter this replaced (they passed there
 * too): the behaviour is the same, only the cost changed. */
#include "frontjson.h"

#include <stdlib.h>
#include <string.h>

static char *inside_list[] = {"127.0.0.1:8080", "localhost:8080", "[::1]:8080"};
static const struct cg_front_rw RW = {.pub_host = "node.example.com", .pub_port = 8443,
                                      .inside = inside_list, .ninside = 3};

static char *rw_mode(const char *in, enum cg_front_json_mode mode, bool *changed)
{
    return fj_rewrite(&RW, mode, in, changed);
}

static void expect(const char *in, const char *want, bool want_changed)
{
    bool ch = !want_changed;
    char *s = rw_mode(in, CG_FRONT_JSON_RESPONSE, &ch);
    assert_string_equal(s, want);
    assert_int_equal(ch, want_changed);
    free(s);
}

static void test_endpoint_any_key_order(void **state)
{
    (void)state;
    const char *want = "\"host\": \"node.example.com\"";
    /* port, host, protocol (the protocol that decides comes last) */
    bool ch;
    char *s = rw_mode("{\"port\": 8080, \"host\": \"127.0.0.1\", \"x\": [1, {}], "
                      "\"protocol\": \"ws\"}",
                      CG_FRONT_JSON_RESPONSE, &ch);
    assert_string_equal(s, "{\"port\": 8443, \"host\": \"node.example.com\", \"x\": [1, {}], "
                           "\"protocol\": \"wss\"}");
    assert_true(ch);
    assert_non_null(strstr(s, want));
    free(s);
    /* protocol first, host last */
    expect("{\"protocol\":\"http\",\"port\":8080,\"host\":\"localhost\"}",
           "{\"protocol\":\"https\",\"port\":8443,\"host\":\"node.example.com\"}", true);
    /* IPv6 host (bracketed for the comparison only) */
    expect("{\"host\":\"::1\",\"port\":8080,\"protocol\":\"http\"}",
           "{\"host\":\"node.example.com\",\"port\":8443,\"protocol\":\"https\"}", true);
    /* another port: not the backend, left */
    expect("{\"host\":\"127.0.0.1\",\"port\":8081,\"protocol\":\"http\"}",
           "{\"host\":\"127.0.0.1\",\"port\":8081,\"protocol\":\"http\"}", false);
    /* port as a string, protocol https already: left */
    expect("{\"host\":\"127.0.0.1\",\"port\":\"8080\",\"protocol\":\"http\"}",
           "{\"host\":\"127.0.0.1\",\"port\":\"8080\",\"protocol\":\"http\"}", false);
    expect("{\"host\":\"127.0.0.1\",\"port\":8080,\"protocol\":\"https\"}",
           "{\"host\":\"127.0.0.1\",\"port\":8080,\"protocol\":\"https\"}", false);
}

static void test_endpoint_nested_and_urls_between(void **state)
{
    (void)state;
    /* an endpoint-shaped object holding another, with URLs rewritten between
     * the members patched at each close */
    expect("{\"protocol\": \"http\", \"inner\": {\"host\": \"localhost\", \"href\": "
           "\"http:\\/\\/127.0.0.1:8080\\/a\", \"port\": 8080, \"protocol\": \"ws\"}, "
           "\"href\": \"ws://localhost:8080/b\", \"host\": \"127.0.0.1\", \"port\": 8080}",
           "{\"protocol\": \"https\", \"inner\": {\"host\": \"node.example.com\", \"href\": "
           "\"https://node.example.com:8443/a\", \"port\": 8443, \"protocol\": \"wss\"}, "
           "\"href\": \"wss://node.example.com:8443/b\", \"host\": \"node.example.com\", "
           "\"port\": 8443}",
           true);
    /* duplicate keys: the last of each decides (and is the one patched) */
    expect("{\"host\":\"10.1.1.1\",\"port\":8080,\"protocol\":\"http\",\"host\":\"127.0.0.1\"}",
           "{\"host\":\"10.1.1.1\",\"port\":8443,\"protocol\":\"https\","
           "\"host\":\"node.example.com\"}",
           true);
    expect("{\"host\":\"127.0.0.1\",\"port\":8080,\"protocol\":\"http\",\"host\":\"10.1.1.1\"}",
           "{\"host\":\"127.0.0.1\",\"port\":8080,\"protocol\":\"http\",\"host\":\"10.1.1.1\"}",
           false);
}

static void test_secure_any_order(void **state)
{
    (void)state;
    /* ws_href after secure: secure is patched at the close */
    expect("{\"secure\": false, \"id\": \"a\", \"ws_href\": \"ws://127.0.0.1:8080/s\"}",
           "{\"secure\": true, \"id\": \"a\", \"ws_href\": \"wss://node.example.com:8443/s\"}",
           true);
    expect("{\"ws_href\": \"ws://127.0.0.1:8080/s\", \"secure\": false}",
           "{\"ws_href\": \"wss://node.example.com:8443/s\", \"secure\": true}", true);
    /* a list of subscriptions */
    expect("[{\"secure\":false,\"ws_href\":\"x\"},{\"secure\":false}]",
           "[{\"secure\":true,\"ws_href\":\"x\"},{\"secure\":false}]", true);
    /* the request: only the top object's secure: true becomes false */
    bool ch = false;
    char *s = rw_mode("{\"params\": {\"secure\": true}, \"secure\": true}",
                      CG_FRONT_JSON_SUB_REQUEST, &ch);
    assert_string_equal(s, "{\"params\": {\"secure\": true}, \"secure\": false}");
    assert_true(ch);
    free(s);
    s = rw_mode("[{\"secure\": true}]", CG_FRONT_JSON_SUB_REQUEST, &ch);
    assert_string_equal(s, "[{\"secure\": true}]");
    assert_false(ch);
    free(s);
    /* the request's URLs are the client's business: not rewritten */
    s = rw_mode("{\"x\": \"http://127.0.0.1:8080/\"}", CG_FRONT_JSON_SUB_REQUEST, &ch);
    assert_string_equal(s, "{\"x\": \"http://127.0.0.1:8080/\"}");
    assert_false(ch);
    free(s);
}

static void test_appends_to_out(void **state)
{
    (void)state;
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__buf_append(&out, "HEAD|", 5), CG_OK);
    const char *in = "{\"port\":8080,\"host\":\"127.0.0.1\",\"protocol\":\"http\"}";
    bool ch = false;
    assert_int_equal(cg__front_json_rewrite(&RW, CG_FRONT_JSON_RESPONSE, (const uint8_t *)in,
                                            strlen(in), &out, &ch),
                     CG_OK);
    assert_true(ch);
    const char *want = "HEAD|{\"port\":8443,\"host\":\"node.example.com\",\"protocol\":\"https\"}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    cg__buf_free(&out);
}

static void test_bounds_and_errors(void **state)
{
    (void)state;
    /* out's bound: CG_ETOOBIG, not a JSON error */
    bool ch;
    fj_rc_is(&RW, "[\"http://127.0.0.1:8080/a-long-path\"]", 8, CG_ETOOBIG, &ch);
    /* depth: 64 nested containers inside the root pass, 65 do not, for the
     * check and the rewrite alike */
    char deep[300];
    for (int extra = 0; extra <= 1; extra++) {
        size_t d = 65 + (size_t)extra, n = 0;
        for (size_t k = 0; k < d; k++)
            deep[n++] = '[';
        for (size_t k = 0; k < d; k++)
            deep[n++] = ']';
        deep[n] = 0;
        enum cg_err want = extra ? CG_EHTTP : CG_OK;
        assert_int_equal(cg__front_json_check((uint8_t *)deep, n), want);
        fj_rc_is(&RW, deep, 0, want, &ch);
    }
    /* not JSON after a member that would be patched */
    fj_rc_is(&RW, "{\"host\":\"127.0.0.1\",\"port\":8080,\"protocol\":\"http\",}", 0,
               CG_EHTTP, &ch);
    assert_false(ch);
}

/* Strings are scanned 8 bytes at a time: an escape, a multi-byte UTF-8
 * sequence, a raw control character or a stray byte >= 0x80 at every
 * offset from a string's start (and a URL after such a string) is found
 * exactly where it is (B-23: malformed is 400, well-formed passes). */
static void test_string_bytes_at_every_offset(void **state)
{
    (void)state;
    static const struct {
        const char *ins;
        enum cg_err want;
    } cases[] = {
        {"\\\"", CG_OK},        {"\\n", CG_OK},     {"\\u00e9", CG_OK}, {"\xc3\xa9", CG_OK},
        {"\xf0\x9f\x8e\xa5", CG_OK}, {"\\/", CG_OK}, {"\x01", CG_EHTTP},   {"\x1f", CG_EHTTP},
        {"\x80", CG_EHTTP},       {"\xc3", CG_EHTTP},   {"\\x", CG_EHTTP},   {"\x7f", CG_OK},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t pre = 0; pre < 20; pre++) {
            for (size_t post = 0; post < 10; post += 3) {
                char doc[200];
                size_t n = 0;
                memcpy(doc + n, "[\"", 2), n += 2;
                memset(doc + n, 'a', pre), n += pre;
                memcpy(doc + n, cases[c].ins, strlen(cases[c].ins)), n += strlen(cases[c].ins);
                memset(doc + n, 'b', post), n += post;
                const char *tail = "\", \"http://127.0.0.1:8080/p\"]";
                memcpy(doc + n, tail, strlen(tail)), n += strlen(tail);
                assert_int_equal(cg__front_json_check((uint8_t *)doc, n), cases[c].want);
                struct cg_buf out;
                cg__buf_init(&out, 0);
                bool ch = false;
                assert_int_equal(cg__front_json_rewrite(&RW, CG_FRONT_JSON_RESPONSE,
                                                        (uint8_t *)doc, n, &out, &ch),
                                 cases[c].want);
                if (cases[c].want == CG_OK) { /* the string as it was, the URL rewritten */
                    const char *rtail = "\", \"https://node.example.com:8443/p\"]";
                    size_t keep = n - strlen(tail);
                    assert_true(ch);
                    assert_int_equal(out.len, keep + strlen(rtail));
                    assert_memory_equal(out.data, doc, keep);
                    assert_memory_equal(out.data + keep, rtail, strlen(rtail));
                }
                cg__buf_free(&out);
            }
        }
    }
    /* a string cut short inside a multi-byte sequence or an escape */
    assert_int_equal(cg__front_json_check((const uint8_t *)"\"abcdefgh\xc3", 10), CG_EHTTP);
    assert_int_equal(cg__front_json_check((const uint8_t *)"\"abcdefghij\\", 12), CG_EHTTP);
    assert_int_equal(cg__front_json_check((const uint8_t *)"\"abcdefghijklmnop", 17), CG_EHTTP);
}

/* A URL string is looked at up to 4095 bytes of text (escaped or not): a
 * longer one is left as it is. */
static void test_long_url_strings(void **state)
{
    (void)state;
    for (size_t len = 4094; len <= 4097; len++) {
        for (int escaped = 0; escaped <= 1; escaped++) {
            const char *pre = escaped ? "http:\\/\\/127.0.0.1:8080\\/" : "http://127.0.0.1:8080/";
            size_t pl = strlen(pre), tl = escaped ? 22 : pl; /* text length of the prefix */
            char *doc = malloc(len + 64);
            assert_non_null(doc);
            size_t n = 0;
            doc[n++] = '"';
            memcpy(doc + n, pre, pl), n += pl;
            memset(doc + n, 'x', len - tl), n += len - tl;
            doc[n++] = '"';
            bool ch = true;
            struct cg_buf out;
            cg__buf_init(&out, 0);
            assert_int_equal(cg__front_json_rewrite(&RW, CG_FRONT_JSON_RESPONSE, (uint8_t *)doc, n,
                                                    &out, &ch),
                             CG_OK);
            assert_int_equal(ch, len <= 4095);
            if (len <= 4095)
                assert_memory_equal(out.data, "\"https://node.example.com:8443/x", 32);
            else
                assert_memory_equal(out.data, doc, n);
            cg__buf_free(&out);
            free(doc);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_any_key_order),
        cmocka_unit_test(test_endpoint_nested_and_urls_between),
        cmocka_unit_test(test_secure_any_order),
        cmocka_unit_test(test_appends_to_out),
        cmocka_unit_test(test_bounds_and_errors),
        cmocka_unit_test(test_string_bytes_at_every_offset),
        cmocka_unit_test(test_long_url_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
