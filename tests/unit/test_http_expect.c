/* Expect: 100-continue (RFC 9110 §10.1.1) in the engine, sans-I/O: what the
 * request parser (src/http/parse.c) makes of Expect, and what the server
 * (src/wss/server.c, cg__server_head_verdict) decides from a request's head
 * before its content is read: 100 Continue, or the refusal at once (405
 * B-22, 404, 413 B-23, 417). The same over sockets with curl:
 * tests/interop/test_http_expect_absolute.sh. */
#include "testutil.h"
#include "http/http.h"
#include "wss/wss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY 4096

static void parse(struct cg_http_parser *hp, const char *text)
{
    cg__http_parser_init(hp, 16384, MAX_BODY);
    cg__http_parser_feed(hp, (const uint8_t *)text, strlen(text));
}

/* The head of a request whose content has not come yet. */
static void head_only(struct cg_http_parser *hp, const char *method, const char *path,
                      const char *version, const char *expect, const char *more)
{
    char text[1024];
    snprintf(text, sizeof(text), "%s %s %s\r\nHost: localhost\r\n%s%s%s%s\r\n", method, path,
             version, expect != NULL ? "Expect: " : "", expect != NULL ? expect : "",
             expect != NULL ? "\r\n" : "", more);
    parse(hp, text);
}

/* ---- the parser ---- */

static void test_100_continue_waits_for_the_answer(void **state)
{
    (void)state;
    static const char *const forms[] = {"100-continue", "100-Continue", "100-CONTINUE",
                                        " 100-continue ", "100-continue, 100-continue"};
    for (size_t i = 0; i < CG_ARRAY_LEN(forms); i++) {
        struct cg_http_parser hp;
        head_only(&hp, "POST", "/echo", "HTTP/1.1", forms[i], "Content-Length: 2000\r\n");
        if (hp.error_status != 0 || hp.complete || !hp.req.expect_continue)
            fail_msg("Expect: '%s': status %d complete %d expect_continue %d", forms[i],
                     hp.error_status, hp.complete, hp.req.expect_continue);
        assert_string_equal(hp.req.path, "/echo"); /* the head is there to decide on */
        cg__http_parser_free(&hp);
    }
    /* Chunked content is content too. */
    struct cg_http_parser hp;
    head_only(&hp, "POST", "/echo", "HTTP/1.1", "100-continue", "Transfer-Encoding: chunked\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.req.expect_continue);
    cg__http_parser_free(&hp);
    /* Two Expect lines holding 100-continue. */
    head_only(&hp, "PUT", "/x", "HTTP/1.1", "100-continue",
              "Expect: 100-continue\r\nContent-Length: 10\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.req.expect_continue);
    cg__http_parser_free(&hp);
}

static void test_no_wait_without_content_or_expectation(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    /* Nothing to wait for: the request is complete with its head. */
    head_only(&hp, "POST", "/echo", "HTTP/1.1", "100-continue", "Content-Length: 0\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.complete);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
    head_only(&hp, "GET", "/status", "HTTP/1.1", "100-continue", "");
    assert_true(hp.complete);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
    /* No Expect: the client sends its content without waiting. */
    head_only(&hp, "POST", "/echo", "HTTP/1.1", NULL, "Content-Length: 2000\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
    /* "A server that receives a 100-continue expectation in an HTTP/1.0
     * request MUST ignore that expectation." */
    head_only(&hp, "POST", "/echo", "HTTP/1.0", "100-continue", "Content-Length: 2000\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
    /* An empty list expects nothing. */
    head_only(&hp, "POST", "/echo", "HTTP/1.1", "", "Content-Length: 2000\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
}

/* Any expectation but 100-continue cannot be met: 417 with the head, the
 * content never read. */
static void test_unknown_expectation_is_417(void **state)
{
    (void)state;
    static const char *const unknown[] = {"something-else", "100-continue, foo",
                                          "foo, 100-continue", "100-continue=1",
                                          "100-continue;x=y", "200-ok"};
    for (size_t i = 0; i < CG_ARRAY_LEN(unknown); i++) {
        struct cg_http_parser hp;
        head_only(&hp, "POST", "/echo", "HTTP/1.1", unknown[i], "Content-Length: 2000\r\n");
        if (hp.error_status != 417)
            fail_msg("Expect: '%s': status %d, want 417", unknown[i], hp.error_status);
        assert_string_equal(hp.error_reason, "unsupported expectation");
        cg__http_parser_free(&hp);
    }
    struct cg_http_parser hp;
    head_only(&hp, "GET", "/status", "HTTP/1.1", "foo", ""); /* without content too */
    assert_int_equal(hp.error_status, 417);
    cg__http_parser_free(&hp);
    head_only(&hp, "POST", "/echo", "HTTP/1.0", "foo", "Content-Length: 20\r\n"); /* ignored */
    assert_int_equal(hp.error_status, 0);
    cg__http_parser_free(&hp);
    assert_string_equal(cg__http_status_text(417), "Expectation Failed");
    assert_string_equal(cg__http_status_text(100), "Continue");
}

/* B-23: a body over the limit is 413 with the head, before 100 Continue. */
static void test_oversize_is_413_before_continue(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    head_only(&hp, "POST", "/echo", "HTTP/1.1", "100-continue", "Content-Length: 4097\r\n");
    assert_int_equal(hp.error_status, 413);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
}

/* The flag belongs to one request: the next one on the connection starts
 * without it. */
static void test_flag_reset_for_the_next_request(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 16384, MAX_BODY);
    static const char one[] = "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                              "Content-Length: 3\r\n\r\n";
    cg__http_parser_feed(&hp, (const uint8_t *)one, strlen(one));
    assert_true(hp.req.expect_continue);
    cg__http_parser_feed(&hp, (const uint8_t *)"abc", 3);
    assert_true(hp.complete);
    cg__http_parser_reset(&hp);
    static const char two[] = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
    cg__http_parser_feed(&hp, (const uint8_t *)two, strlen(two));
    assert_int_equal(hp.error_status, 0);
    assert_false(hp.req.expect_continue);
    cg__http_parser_free(&hp);
}

/* ---- the server's verdict on the head ---- */

static void noop_handler(void *user, const struct cg_http_request *req,
                         struct cg_http_response *res)
{
    (void)user;
    (void)req;
    (void)res;
}

static struct cg_server g_srv; /* routes and policy only: nothing else is used */
static struct cg_route g_routes[3];
static char *g_origins[] = {"https://ui.example.com"};

static int setup(void **state)
{
    (void)state;
    memset(&g_srv, 0, sizeof(g_srv));
    g_routes[0] = (struct cg_route){.path = "/echo", .methods = CG_HTTP_POST,
                                    .handler = noop_handler};
    g_routes[1] = (struct cg_route){.path = "/status", .methods = CG_HTTP_GET | CG_HTTP_HEAD,
                                    .handler = noop_handler};
    g_routes[2] = (struct cg_route){.path = "/ws", .methods = CG_HTTP_GET, .is_ws = true};
    g_srv.routes = g_routes;
    g_srv.nroutes = 3;
    g_srv.policy.hsts_max_age = 31536000;
    g_srv.policy.cors_origins = g_origins;
    g_srv.policy.ncors = 1;
    return 0;
}

/* The verdict on a request with 2000 bytes of content announced. */
static int verdict(const char *method, const char *path, const char *more, const char **reason)
{
    struct cg_http_parser hp;
    head_only(&hp, method, path, "HTTP/1.1", "100-continue", more);
    char extra[64];
    snprintf(extra, sizeof(extra), "%s %s", method, path);
    if (hp.error_status != 0) {
        int st = hp.error_status;
        cg__http_parser_free(&hp);
        return -st; /* the parser refused already */
    }
    *reason = NULL;
    int st = cg__server_head_verdict(&g_srv, &hp.req, reason);
    if (st != 0 && *reason == NULL)
        fail_msg("%s: %d without a reason", extra, st);
    cg__http_parser_free(&hp);
    return st;
}

static void test_verdict_before_the_content(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *cl = "Content-Length: 2000\r\n";
    assert_int_equal(verdict("POST", "/echo", cl, &why), 0);
    assert_int_equal(verdict("PUT", "/echo", cl, &why), 405); /* B-22 */
    assert_string_equal(why, "method not allowed");
    assert_int_equal(verdict("POST", "/status", cl, &why), 405);
    assert_int_equal(verdict("PROPFIND", "/echo", cl, &why), 405); /* no route allows it */
    assert_int_equal(verdict("POST", "/nothing", cl, &why), 404);
    assert_string_equal(why, "no such path");
    assert_int_equal(verdict("POST", "/ws", cl, &why), 405); /* WebSocket routes: GET only */
    int st = verdict("GET", "/ws", cl, &why); /* a GET with content is no upgrade (B-26) */
    assert_true(st == 400 || st == 426);
    /* A CORS preflight from a configured origin is the route's to answer (B-25);
     * from another origin it is a method the route does not allow. */
    assert_int_equal(verdict("OPTIONS", "/echo",
                             "Origin: https://ui.example.com\r\n"
                             "Access-Control-Request-Method: POST\r\nContent-Length: 10\r\n",
                             &why),
                     0);
    assert_int_equal(verdict("OPTIONS", "/echo",
                             "Origin: https://evil.example\r\n"
                             "Access-Control-Request-Method: POST\r\nContent-Length: 10\r\n",
                             &why),
                     405);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_100_continue_waits_for_the_answer),
        cmocka_unit_test(test_no_wait_without_content_or_expectation),
        cmocka_unit_test(test_unknown_expectation_is_417),
        cmocka_unit_test(test_oversize_is_413_before_continue),
        cmocka_unit_test(test_flag_reset_for_the_next_request),
        cmocka_unit_test_setup(test_verdict_before_the_content, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
