/* Absolute-form request targets (RFC 9112 §3.2.2: "A server MUST accept the
 * use of absolute-form in requests"), sans-I/O: the request parser
 * (src/http/parse.c) takes "GET https://host:port/path?query HTTP/1.1", the
 * authority replaces Host, and the BCP rules hold for such a request as for
 * any other: HSTS (B-21), 405 + Allow (B-22), 404. Refused with 400 and a
 * reason: another scheme than the server's (https on the TLS surfaces, B-20;
 * http on the plain OCSP responder), userinfo, an empty host, a bad port.
 * Over sockets with curl: tests/interop/test_http_expect_absolute.sh. */
#include "testutil.h"
#include "http/http.h"
#include "wss/wss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void parse(struct cg_http_parser *hp, const char *text)
{
    cg__http_parser_init(hp, 16384, 1024);
    cg__http_parser_feed(hp, (const uint8_t *)text, strlen(text));
}

/* GET target with a Host line (host NULL: none). */
static void get(struct cg_http_parser *hp, const char *target, const char *version,
                const char *host)
{
    char text[1024];
    snprintf(text, sizeof(text), "GET %s %s\r\n%s%s%sAccept: */*\r\n\r\n", target, version,
             host != NULL ? "Host: " : "", host != NULL ? host : "", host != NULL ? "\r\n" : "");
    parse(hp, text);
}

static void expect_ok(const char *target, const char *path, const char *query, const char *host)
{
    struct cg_http_parser hp;
    get(&hp, target, "HTTP/1.1", "node.example.com:8443");
    if (hp.error_status != 0 || !hp.complete)
        fail_msg("%s: status %d (%s)", target, hp.error_status,
                 hp.error_reason != NULL ? hp.error_reason : "-");
    if (strcmp(hp.req.path, path) != 0 || strcmp(hp.req.query, query) != 0)
        fail_msg("%s: path '%s' query '%s', want '%s' '%s'", target, hp.req.path, hp.req.query,
                 path, query);
    const char *h = cg__http_request_header(&hp.req, "Host");
    if (h == NULL || strcmp(h, host) != 0)
        fail_msg("%s: Host '%s', want '%s'", target, h != NULL ? h : "(none)", host);
    cg__http_parser_free(&hp);
}

static void expect_400(const char *target, const char *reason)
{
    struct cg_http_parser hp;
    get(&hp, target, "HTTP/1.1", "node.example.com");
    if (hp.error_status != 400)
        fail_msg("%s: status %d, want 400", target, hp.error_status);
    if (reason != NULL && (hp.error_reason == NULL || strcmp(hp.error_reason, reason) != 0))
        fail_msg("%s: reason '%s', want '%s'", target,
                 hp.error_reason != NULL ? hp.error_reason : "(none)", reason);
    cg__http_parser_free(&hp);
}

/* ---- accepted ---- */

static void test_absolute_form_accepted(void **state)
{
    (void)state;
    expect_ok("https://node.example.com:8443/x-nmos/node/v1.3/self?paging.limit=10",
              "/x-nmos/node/v1.3/self", "paging.limit=10", "node.example.com:8443");
    expect_ok("https://node.example.com:8443/status", "/status", "", "node.example.com:8443");
    expect_ok("HTTPS://Node.Example.com/a", "/a", "", "Node.Example.com"); /* scheme: any case */
    expect_ok("https://node.example.com", "/", "", "node.example.com"); /* §3.2.1: "/" */
    expect_ok("https://node.example.com?x=1", "/", "x=1", "node.example.com");
    expect_ok("https://node.example.com:/a", "/a", "", "node.example.com:"); /* empty port */
    expect_ok("https://127.0.0.1:8443/a/b?c=d?e", "/a/b", "c=d?e", "127.0.0.1:8443");
    expect_ok("https://[::1]:8443/a", "/a", "", "[::1]:8443");
    expect_ok("https://node.example.com//double", "//double", "", "node.example.com");
}

/* §3.2.2: "the origin server MUST ignore the received Host header field (if
 * any) and instead use the host information of the request-target". */
static void test_authority_replaces_host(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    get(&hp, "https://node.example.com:8443/a", "HTTP/1.1", "other.example");
    assert_int_equal(hp.error_status, 0);
    assert_string_equal(cg__http_request_header(&hp.req, "Host"), "node.example.com:8443");
    assert_string_equal(cg_http_request_header(&hp.req, "host"), "node.example.com:8443");
    size_t hosts = 0;
    for (size_t i = 0; i < hp.req.nheaders; i++)
        hosts += strcasecmp(hp.req.headers[i].name, "Host") == 0;
    assert_int_equal(hosts, 1);
    assert_string_equal(cg__http_request_header(&hp.req, "Accept"), "*/*"); /* others kept */
    cg__http_parser_free(&hp);
    /* HTTP/1.0 needs no Host line: the authority becomes the request's Host. */
    get(&hp, "https://node.example.com/a", "HTTP/1.0", NULL);
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.complete);
    assert_string_equal(cg__http_request_header(&hp.req, "Host"), "node.example.com");
    cg__http_parser_free(&hp);
    /* §3.2: HTTP/1.1 without Host is 400 whatever the target's form; two
     * Host lines too. */
    get(&hp, "https://node.example.com/a", "HTTP/1.1", NULL);
    assert_int_equal(hp.error_status, 400);
    cg__http_parser_free(&hp);
    parse(&hp, "GET https://node.example.com/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assert_int_equal(hp.error_status, 400);
    cg__http_parser_free(&hp);
}

/* Content after an absolute-form head is read as after any other. */
static void test_absolute_form_with_body(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse(&hp, "POST https://node.example.com/echo HTTP/1.1\r\nHost: node.example.com\r\n"
               "Content-Length: 5\r\n\r\nhello");
    assert_int_equal(hp.error_status, 0);
    assert_true(hp.complete);
    assert_string_equal(hp.req.path, "/echo");
    assert_int_equal(hp.req.body.len, 5);
    cg__http_parser_free(&hp);
}

/* ---- refused, with a reason for the log (B-24) ---- */

static void test_absolute_form_refusals(void **state)
{
    (void)state;
    /* B-20: HTTPS only. A request for an http: resource is not ours to serve. */
    expect_400("http://node.example.com/a", "request target scheme is not https");
    expect_400("HTTP://node.example.com/a", "request target scheme is not https");
    expect_400("wss://node.example.com/a", "request target scheme is not https");
    expect_400("ftp://node.example.com/a", "request target scheme is not https");
    /* RFC 9110 §4.2.4: userinfo in an http(s) URI is an error. */
    expect_400("https://user:pw@node.example.com/a", "userinfo in the request target");
    expect_400("https://user@node.example.com/a", "userinfo in the request target");
    /* RFC 9110 §4.2.2: an https URI with an empty host is invalid. */
    expect_400("https:///a", NULL);
    expect_400("https://:8443/a", NULL);
    expect_400("https://node.example.com:99999/a", NULL);
    expect_400("https://node.example.com:84x3/a", NULL);
    expect_400("https://[::1/a", NULL);
}

/* B-22: a method no route can allow is 405 whatever the target's form. */
static void test_unknown_method_still_405(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse(&hp, "BREW https://node.example.com/pot HTTP/1.1\r\nHost: node.example.com\r\n\r\n");
    assert_int_equal(hp.error_status, 405);
    cg__http_parser_free(&hp);
    parse(&hp, "TRACE https://node.example.com/status HTTP/1.1\r\nHost: node.example.com\r\n\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_int_equal(hp.req.method_bit, 0); /* the server answers 405 */
    assert_string_equal(hp.req.path, "/status");
    cg__http_parser_free(&hp);
}

/* The plain-HTTP OCSP responder's parser takes http:, not https:. */
static void test_plain_server_takes_http(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 8192, 16384);
    hp.plain = true;
    static const char req[] = "GET http://ocsp.example.com:8888/MEgw HTTP/1.1\r\n"
                              "Host: ocsp.example.com:8888\r\n\r\n";
    cg__http_parser_feed(&hp, (const uint8_t *)req, strlen(req));
    assert_int_equal(hp.error_status, 0);
    assert_string_equal(hp.req.path, "/MEgw");
    /* The setting holds for the next request on the connection. */
    cg__http_parser_reset(&hp);
    assert_true(hp.plain);
    static const char tls[] = "GET https://ocsp.example.com/MEgw HTTP/1.1\r\n"
                              "Host: ocsp.example.com\r\n\r\n";
    cg__http_parser_feed(&hp, (const uint8_t *)tls, strlen(tls));
    assert_int_equal(hp.error_status, 400);
    assert_string_equal(hp.error_reason, "request target scheme is not http");
    cg__http_parser_free(&hp);
}

/* ---- the BCP rules for such a request ---- */

static void noop_handler(void *user, const struct cg_http_request *req,
                         struct cg_http_response *res)
{
    (void)user;
    (void)req;
    (void)res;
}

static void test_bcp_rules_hold(void **state)
{
    (void)state;
    static struct cg_server srv;
    static struct cg_route routes[1];
    memset(&srv, 0, sizeof(srv));
    routes[0] = (struct cg_route){.path = "/status", .methods = CG_HTTP_GET | CG_HTTP_HEAD,
                                  .handler = noop_handler};
    srv.routes = routes;
    srv.nroutes = 1;
    srv.policy.hsts_max_age = 31536000;
    const char *why = NULL;
    struct cg_http_parser hp;
    /* The route is found by the target's path. */
    parse(&hp, "GET https://node.example.com/status HTTP/1.1\r\nHost: node.example.com\r\n\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_int_equal(cg__server_head_verdict(&srv, &hp.req, &why), 0);
    /* B-21: HSTS on the answer. */
    struct cg_http_response res;
    cg__http_response_init(&res);
    res.status = 200;
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__http_response_write(&res, &hp.req, &srv.policy, &out), CG_OK);
    char *text = cg__strndup((const char *)out.data, out.len);
    assert_non_null(text);
    assert_non_null(strstr(text, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    free(text);
    cg__buf_free(&out);
    cg__http_response_free(&res);
    cg__http_parser_free(&hp);
    /* B-22: a method the route does not allow is 405 (with the route's Allow). */
    parse(&hp, "DELETE https://node.example.com/status HTTP/1.1\r\nHost: node.example.com\r\n\r\n");
    assert_int_equal(hp.error_status, 0);
    assert_int_equal(cg__server_head_verdict(&srv, &hp.req, &why), 405);
    cg__http_parser_free(&hp);
    parse(&hp, "GET https://node.example.com/nothing HTTP/1.1\r\nHost: node.example.com\r\n\r\n");
    assert_int_equal(cg__server_head_verdict(&srv, &hp.req, &why), 404);
    cg__http_parser_free(&hp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_form_accepted),
        cmocka_unit_test(test_authority_replaces_host),
        cmocka_unit_test(test_absolute_form_with_body),
        cmocka_unit_test(test_absolute_form_refusals),
        cmocka_unit_test(test_unknown_method_still_405),
        cmocka_unit_test(test_plain_server_takes_http),
        cmocka_unit_test(test_bcp_rules_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
