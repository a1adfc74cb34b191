/* Unit tests for src/http: the sans-I/O request parser (limits, split input,
 * pipelining, unknown methods) and the response builder (HSTS, CORS, the
 * Content-Length rules, header validation). */
#include "testutil.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 16384
#define MAX_BODY 1024

/* ---- helpers ---- */

static const uint8_t *u8(const char *s) { return (const uint8_t *)s; }

/* Feeds all of text in one call; returns what was consumed. */
static size_t parse(struct cg_http_parser *hp, const char *text)
{
    cg__http_parser_init(hp, MAX_HEADER, MAX_BODY);
    return cg__http_parser_feed(hp, u8(text), strlen(text));
}

/* Feeds data in pieces of at most step bytes, as long as the parser takes
 * them; returns the total consumed. */
static size_t feed_in_steps(struct cg_http_parser *hp, const uint8_t *data, size_t len,
                            size_t step)
{
    size_t off = 0;
    while (off < len && !hp->complete && hp->error_status == 0) {
        size_t n = len - off < step ? len - off : step;
        size_t used = cg__http_parser_feed(hp, data + off, n);
        off += used;
        if (used < n)
            break;
    }
    return off;
}

/* Feeds text as two calls split at cut. */
static size_t feed_split(struct cg_http_parser *hp, const char *text, size_t cut)
{
    size_t len = strlen(text);
    cg__http_parser_init(hp, MAX_HEADER, MAX_BODY);
    size_t used = cg__http_parser_feed(hp, u8(text), cut);
    if (used == cut && !hp->complete && hp->error_status == 0)
        used += cg__http_parser_feed(hp, u8(text) + cut, len - cut);
    return used;
}

/* A status only: parses text and frees the parser. */
static int status_of(const char *text)
{
    struct cg_http_parser hp;
    parse(&hp, text);
    int st = hp.error_status;
    cg__http_parser_free(&hp);
    return st;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* printf into a heap string. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

static const char get_req[] = "GET /x-nmos/node/v1.3/self?paging.limit=10&q=a%20b HTTP/1.1\r\n"
                              "Host: localhost\r\n"
                              "X-Mixed-Case: Value One\r\n"
                              "Accept: */*\r\n"
                              "\r\n";

static void assert_get_req(const struct cg_http_parser *hp)
{
    assert_true(hp->complete);
    assert_int_equal(hp->error_status, 0);
    assert_string_equal(hp->req.method, "GET");
    assert_int_equal(hp->req.method_bit, CG_HTTP_GET);
    assert_string_equal(hp->req.path, "/x-nmos/node/v1.3/self");
    assert_string_equal(hp->req.query, "paging.limit=10&q=a%20b");
    assert_int_equal(hp->req.nheaders, 3);
    assert_true(hp->req.keep_alive);
    assert_false(hp->req.upgrade);
}

/* ---- parser: well-formed input ---- */

static void test_get_with_query_split(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    assert_int_equal(parse(&hp, get_req), strlen(get_req));
    assert_get_req(&hp);
    cg__http_parser_free(&hp);

    assert_int_equal(parse(&hp, "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n"), 32);
    assert_string_equal(hp.req.path, "/plain");
    assert_string_equal(hp.req.query, "");
    cg__http_parser_free(&hp);
}

static void test_header_lookup_ignores_case(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse(&hp, get_req);
    assert_string_equal(cg__http_request_header(&hp.req, "x-mixed-case"), "Value One");
    assert_string_equal(cg__http_request_header(&hp.req, "X-MIXED-CASE"), "Value One");
    assert_string_equal(cg_http_request_header(&hp.req, "HOST"), "localhost");
    assert_null(cg__http_request_header(&hp.req, "X-Mixed"));
    assert_null(cg_http_request_header(&hp.req, NULL));
    cg__http_parser_free(&hp);
}

static void test_byte_at_a_time_same_result(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    size_t len = strlen(get_req);
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    assert_int_equal(feed_in_steps(&hp, u8(get_req), len, 1), len);
    assert_get_req(&hp);
    cg__http_parser_free(&hp);
}

static void test_every_split_point_same_result(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    size_t len = strlen(get_req);
    for (size_t cut = 1; cut < len; cut++) {
        assert_int_equal(feed_split(&hp, get_req, cut), len);
        assert_get_req(&hp);
        cg__http_parser_free(&hp);
    }
}

static void test_pipelined_requests_one_at_a_time(void **state)
{
    (void)state;
    const char first[] = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    const char second[] = "GET /b?z HTTP/1.1\r\nHost: h\r\n\r\n";
    char *both = fmt("%s%s", first, second);
    struct cg_http_parser hp;
    size_t used = parse(&hp, both);
    assert_int_equal(used, strlen(first));
    assert_true(hp.complete);
    assert_string_equal(hp.req.path, "/a");
    size_t blen = 0;
    const uint8_t *body = cg_http_request_body(&hp.req, &blen);
    assert_int_equal(blen, 3);
    assert_memory_equal(body, "abc", 3);
    /* Complete: nothing more is taken until reset. */
    assert_int_equal(cg__http_parser_feed(&hp, u8(both) + used, strlen(second)), 0);
    cg__http_parser_reset(&hp);
    assert_int_equal(cg__http_parser_feed(&hp, u8(both) + used, strlen(second)), strlen(second));
    assert_true(hp.complete);
    assert_string_equal(hp.req.method, "GET");
    assert_string_equal(hp.req.path, "/b");
    assert_string_equal(hp.req.query, "z");
    cg__http_parser_free(&hp);
    free(both);
}

static void test_upgrade_leaves_the_rest(void **state)
{
    (void)state;
    const char head[] = "GET /mos HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    char *all = fmt("%s\x82\x85 frame bytes", head);
    struct cg_http_parser hp;
    assert_int_equal(parse(&hp, all), strlen(head));
    assert_true(hp.complete);
    assert_true(hp.req.upgrade);
    assert_int_equal(hp.error_status, 0);
    assert_string_equal(hp.req.path, "/mos");
    cg__http_parser_free(&hp);
    free(all);
}

static void test_http10_without_host_accepted(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse(&hp, "GET / HTTP/1.0\r\n\r\n");
    assert_true(hp.complete);
    assert_int_equal(hp.error_status, 0);
    assert_false(hp.req.keep_alive);
    cg__http_parser_free(&hp);
}

/* ---- parser: methods (B-22) ---- */

static void assert_unknown_method(const char *method)
{
    char *req = fmt("%s /some/path?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", method);
    size_t len = strlen(req);
    struct cg_http_parser hp;
    parse(&hp, req);
    assert_int_equal(hp.error_status, 405);
    assert_string_equal(hp.req.method, method);
    assert_string_equal(hp.req.path, "/some/path");
    cg__http_parser_free(&hp);
    /* The request line split anywhere before its LF: the same. */
    size_t lf = (size_t)(strchr(req, '\n') - req);
    for (size_t cut = 1; cut <= lf; cut++) {
        feed_split(&hp, req, cut);
        assert_int_equal(hp.error_status, 405);
        assert_string_equal(hp.req.path, "/some/path");
        cg__http_parser_free(&hp);
    }
    /* And one byte at a time. */
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    feed_in_steps(&hp, u8(req), len, 1);
    assert_int_equal(hp.error_status, 405);
    assert_string_equal(hp.req.method, method);
    cg__http_parser_free(&hp);
    free(req);
}

static void test_unknown_methods_get_405(void **state)
{
    (void)state; /* BCP B-22 */
    assert_unknown_method("FOO");
    assert_unknown_method("BREW");
    assert_unknown_method("X-CUSTOM.METHOD_1!");
    char *longest = repeat('Q', 31);
    assert_unknown_method(longest);
    free(longest);
}

static void test_invalid_method_tokens_get_400(void **state)
{
    (void)state; /* BCP B-23 */
    assert_int_equal(status_of("G@T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("F(O) / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("FOO\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    char *too_long = repeat('Q', 32); /* one more than a method holds */
    char *req = fmt("%s / HTTP/1.1\r\nHost: h\r\n\r\n", too_long);
    assert_int_equal(status_of(req), 400);
    free(req);
    free(too_long);
}

static void test_connect_is_a_complete_request_no_route_allows(void **state)
{
    (void)state; /* BCP B-22: CONNECT gets 405 from the server, never a tunnel */
    struct cg_http_parser hp;
    const char req[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    assert_int_equal(parse(&hp, req), strlen(req));
    assert_true(hp.complete);
    assert_int_equal(hp.error_status, 0);
    assert_string_equal(hp.req.method, "CONNECT");
    assert_int_equal(hp.req.method_bit, 0);
    assert_false(hp.req.upgrade);
    cg__http_parser_free(&hp);
    /* Methods http-parser knows but routes cannot allow. */
    parse(&hp, "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_true(hp.complete);
    assert_int_equal(hp.req.method_bit, 0);
    cg__http_parser_free(&hp);
}

/* ---- parser: malformed and oversized input (B-23) ---- */

static void test_other_http_versions_refused(void **state)
{
    (void)state; /* BCP B-23 */
    int st = status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n");
    assert_true(st == 505 || (st >= 400 && st < 500));
    st = status_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert_true(st == 505 || (st >= 400 && st < 500));
    st = status_of("GET /\r\n\r\n"); /* HTTP/0.9 */
    assert_true(st == 505 || (st >= 400 && st < 500));
    st = status_of("GET / HTTP/3.1\r\nHost: h\r\n\r\n");
    assert_true(st == 505 || (st >= 400 && st < 500));
}

static void test_missing_host_on_http11_is_400(void **state)
{
    (void)state; /* BCP B-23 */
    assert_int_equal(status_of("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400);
}

static void test_header_bytes_over_max_is_431(void **state)
{
    (void)state; /* BCP B-23 */
    char *big = repeat('v', MAX_HEADER);
    char *req = fmt("GET / HTTP/1.1\r\nHost: h\r\nX-Big: %s\r\n\r\n", big);
    assert_int_equal(status_of(req), 431);
    free(req);
    /* Spread over many headers, each small. */
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 512, MAX_BODY);
    const char *start = "GET / HTTP/1.1\r\nHost: h\r\n";
    cg__http_parser_feed(&hp, u8(start), strlen(start));
    for (int i = 0; i < 40 && hp.error_status == 0; i++)
        cg__http_parser_feed(&hp, u8("X-A: 0123456789\r\n"), 17);
    assert_int_equal(hp.error_status, 431);
    assert_false(hp.complete);
    cg__http_parser_free(&hp);
    free(big);
}

static void test_more_than_100_headers_is_431(void **state)
{
    (void)state; /* BCP B-23 */
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_printf(&b, "GET / HTTP/1.1\r\nHost: h\r\n"), CG_OK);
    for (int i = 0; i < 99; i++) /* with Host: 100 headers, accepted */
        assert_int_equal(cg__buf_printf(&b, "X-%d: v\r\n", i), CG_OK);
    assert_int_equal(cg__buf_printf(&b, "\r\n"), CG_OK);
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    cg__http_parser_feed(&hp, b.data, b.len);
    assert_true(hp.complete);
    assert_int_equal(hp.req.nheaders, 100);
    cg__http_parser_free(&hp);
    b.len -= 2;
    assert_int_equal(cg__buf_printf(&b, "X-101: v\r\n\r\n"), CG_OK);
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    cg__http_parser_feed(&hp, b.data, b.len);
    assert_int_equal(hp.error_status, 431);
    cg__http_parser_free(&hp);
    cg__buf_free(&b);
}

static void test_content_length_over_max_is_413_before_body(void **state)
{
    (void)state; /* BCP B-23 */
    struct cg_http_parser hp;
    char *req = fmt("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
    parse(&hp, req); /* headers only: no body byte has arrived */
    assert_int_equal(hp.error_status, 413);
    assert_false(hp.complete);
    assert_int_equal(hp.req.body.len, 0);
    cg__http_parser_free(&hp);
    free(req);
    /* Exactly the maximum is fine. */
    char *body = repeat('b', MAX_BODY);
    req = fmt("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", MAX_BODY, body);
    parse(&hp, req);
    assert_true(hp.complete);
    assert_int_equal(hp.req.body.len, MAX_BODY);
    cg__http_parser_free(&hp);
    free(req);
    free(body);
}

static void test_chunked_body_over_max_is_413(void **state)
{
    (void)state; /* BCP B-23 */
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    const char *head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    cg__http_parser_feed(&hp, u8(head), strlen(head));
    char *chunk = repeat('c', 256);
    char *framed = fmt("100\r\n%s\r\n", chunk);
    for (int i = 0; i < 5 && hp.error_status == 0; i++)
        cg__http_parser_feed(&hp, u8(framed), strlen(framed));
    assert_int_equal(hp.error_status, 413);
    assert_true(hp.req.body.len <= MAX_BODY);
    assert_false(hp.complete);
    cg__http_parser_free(&hp);
    free(framed);
    free(chunk);
}

static void test_url_over_8k_is_414(void **state)
{
    (void)state; /* BCP B-23 */
    char *path = repeat('a', 9000);
    char *req = fmt("GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", path);
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 65536, MAX_BODY);
    cg__http_parser_feed(&hp, u8(req), strlen(req));
    assert_int_equal(hp.error_status, 414);
    cg__http_parser_free(&hp);
    /* Arriving in small pieces: the same. */
    cg__http_parser_init(&hp, 65536, MAX_BODY);
    feed_in_steps(&hp, u8(req), strlen(req), 1000);
    assert_int_equal(hp.error_status, 414);
    cg__http_parser_free(&hp);
    free(req);
    free(path);
}

static void test_nul_and_ctl_in_target_is_400(void **state)
{
    (void)state; /* BCP B-23 */
    static const char nul_req[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    cg__http_parser_feed(&hp, u8(nul_req), sizeof(nul_req) - 1);
    assert_int_equal(hp.error_status, 400);
    assert_false(hp.complete);
    cg__http_parser_free(&hp);
    assert_int_equal(status_of("GET /a\x01z HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET /a\x7fz HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    assert_int_equal(status_of("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
    /* An unknown method with a NUL in its target: 400, not 405. */
    static const char nul_foo[] = "FOO /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
    cg__http_parser_init(&hp, MAX_HEADER, MAX_BODY);
    cg__http_parser_feed(&hp, u8(nul_foo), sizeof(nul_foo) - 1);
    assert_int_equal(hp.error_status, 400);
    cg__http_parser_free(&hp);
}

static void test_reset_keeps_peer_and_limits(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse(&hp, get_req);
    snprintf(hp.req.peer, sizeof(hp.req.peer), "192.0.2.1:4242");
    cg__http_parser_reset(&hp);
    assert_string_equal(hp.req.peer, "192.0.2.1:4242");
    assert_int_equal(hp.max_header, MAX_HEADER);
    assert_int_equal(hp.max_body, MAX_BODY);
    assert_false(hp.complete);
    assert_null(hp.req.path);
    cg__http_parser_free(&hp);
}

/* ---- response builder ---- */

static char *origins_cfg[] = {"https://ui.example.com", "https://ops.example.com"};
static char *any_origin_cfg[] = {"*"};

static const struct cg_http_policy default_policy = {.hsts_max_age = 31536000,
                                                     .cors_origins = origins_cfg, .ncors = 2};

/* Serialises a response with status/body for the request text (NULL: none);
 * returns a NUL-terminated heap string. */
static char *respond(const struct cg_http_policy *pol, const char *request, int status,
                     const char *body)
{
    struct cg_http_parser hp;
    if (request != NULL) {
        parse(&hp, request);
        assert_true(hp.complete);
    }
    struct cg_http_response res;
    cg__http_response_init(&res);
    size_t blen = body != NULL ? strlen(body) : 0;
    assert_int_equal(cg_http_response_set(&res, status, blen ? "text/plain" : NULL, body, blen),
                     CG_OK);
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__http_response_write(&res, request != NULL ? &hp.req : NULL, pol, &out),
                     CG_OK);
    char *s = cg__strndup((const char *)out.data, out.len);
    assert_non_null(s);
    cg__buf_free(&out);
    cg__http_response_free(&res);
    if (request != NULL)
        cg__http_parser_free(&hp);
    return s;
}

static bool has(const char *text, const char *needle) { return strstr(text, needle) != NULL; }

static const char *body_of(const char *text)
{
    const char *p = strstr(text, "\r\n\r\n");
    assert_non_null(p);
    return p + 4;
}

static void test_status_line_and_body(void **state)
{
    (void)state;
    char *r = respond(&default_policy, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 200, "hello");
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_true(has(r, "\r\nContent-Type: text/plain\r\n"));
    assert_true(has(r, "\r\nContent-Length: 5\r\n"));
    assert_true(has(r, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_string_equal(body_of(r), "hello");
    free(r);
    r = respond(&default_policy, NULL, 431, NULL); /* a request that never parsed */
    assert_true(strncmp(r, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46) == 0);
    free(r);
}

static void test_hsts_present_and_absent(void **state)
{
    (void)state; /* BCP B-21 */
    char *r = respond(&default_policy, NULL, 200, "x");
    assert_true(has(r, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    free(r);
    struct cg_http_policy sub = {.hsts_max_age = 15552000, .hsts_subdomains = true};
    r = respond(&sub, NULL, 404, "x");
    assert_true(has(r, "\r\nStrict-Transport-Security: max-age=15552000; includeSubDomains\r\n"));
    free(r);
    struct cg_http_policy off = {.hsts_max_age = 0, .hsts_subdomains = true};
    r = respond(&off, NULL, 200, "x");
    assert_false(has(r, "Strict-Transport-Security"));
    free(r);
}

static void test_cors_only_configured_origins(void **state)
{
    (void)state; /* BCP B-25 */
    const char *from_ui = "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://ui.example.com\r\n\r\n";
    const char *from_ops = "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://ops.example.com\r\n\r\n";
    const char *from_evil = "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://evil.example\r\n\r\n";
    const char *prefix = "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://ui.example.com.evil\r\n\r\n";
    const char *no_origin = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    char *r = respond(&default_policy, from_ui, 200, "x");
    assert_true(has(r, "\r\nAccess-Control-Allow-Origin: https://ui.example.com\r\nVary: Origin\r\n"));
    free(r);
    r = respond(&default_policy, from_ops, 200, "x");
    assert_true(has(r, "\r\nAccess-Control-Allow-Origin: https://ops.example.com\r\n"));
    free(r);
    const char *refused[] = {from_evil, prefix, no_origin};
    for (size_t i = 0; i < CG_ARRAY_LEN(refused); i++) {
        r = respond(&default_policy, refused[i], 200, "x");
        assert_false(has(r, "Access-Control-Allow-Origin"));
        assert_false(has(r, "Vary: Origin"));
        free(r);
    }
    /* No origin configured: never a CORS header. */
    struct cg_http_policy none = {.hsts_max_age = 1};
    r = respond(&none, from_ui, 200, "x");
    assert_false(has(r, "Access-Control-Allow-Origin"));
    free(r);
    assert_null(cg__http_cors_match(&default_policy, NULL));
}

static void test_cors_star_only_when_configured(void **state)
{
    (void)state; /* BCP B-25 */
    struct cg_http_policy any = {.hsts_max_age = 1, .cors_origins = any_origin_cfg, .ncors = 1};
    char *r = respond(&any, "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://anyone.example\r\n\r\n",
                      200, "x");
    assert_true(has(r, "\r\nAccess-Control-Allow-Origin: *\r\n"));
    free(r);
    r = respond(&default_policy,
                "GET / HTTP/1.1\r\nHost: h\r\nOrigin: https://anyone.example\r\n\r\n", 200, "x");
    assert_false(has(r, "Access-Control-Allow-Origin: *"));
    free(r);
    assert_null(cg__http_cors_match(&default_policy, "*"));
}

static void test_head_has_length_but_no_body(void **state)
{
    (void)state;
    char *r = respond(&default_policy, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", 200, "twelve bytes");
    assert_true(has(r, "\r\nContent-Length: 12\r\n"));
    assert_string_equal(body_of(r), "");
    free(r);
}

static void test_204_and_101_have_no_content_length(void **state)
{
    (void)state;
    char *r = respond(&default_policy, NULL, 204, NULL);
    assert_true(strncmp(r, "HTTP/1.1 204 No Content\r\n", 25) == 0);
    assert_false(has(r, "Content-Length"));
    assert_string_equal(body_of(r), "");
    free(r);
    r = respond(&default_policy, NULL, 101, NULL);
    assert_true(strncmp(r, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
    assert_false(has(r, "Content-Length"));
    assert_false(has(r, "Connection: close"));
    free(r);
}

static void test_cache_control_on_errors_only(void **state)
{
    (void)state;
    static const int errors[] = {400, 404, 405, 413, 431, 500, 505};
    for (size_t i = 0; i < CG_ARRAY_LEN(errors); i++) {
        char *r = respond(&default_policy, NULL, errors[i], "e");
        assert_true(has(r, "\r\nCache-Control: no-store\r\n"));
        free(r);
    }
    char *r = respond(&default_policy, NULL, 200, "ok");
    assert_false(has(r, "Cache-Control"));
    free(r);
}

static void test_connection_close_when_asked(void **state)
{
    (void)state;
    struct cg_http_response res;
    cg__http_response_init(&res);
    res.close = true;
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__http_response_write(&res, NULL, &default_policy, &out), CG_OK);
    char *r = cg__strndup((const char *)out.data, out.len);
    assert_true(has(r, "\r\nConnection: close\r\n"));
    assert_false(has(r, "Content-Length")); /* still a 204 */
    free(r);
    cg__buf_free(&out);
    cg__http_response_free(&res);
}

static void test_add_header_refuses_bad_fields(void **state)
{
    (void)state;
    struct cg_http_response res;
    cg__http_response_init(&res);
    assert_int_equal(cg_http_response_add_header(&res, "X-Good", "a value; with=stuff"), CG_OK);
    assert_int_equal(cg_http_response_add_header(&res, "X-Empty-Value", ""), CG_OK);
    static const char *const bad_names[] = {"", "X:Colon", "X Space", "X\rCR", "X\nLF",
                                            "X\x01" "Ctl", "X\x7f", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_names); i++)
        assert_int_equal(cg_http_response_add_header(&res, bad_names[i], "v"), CG_EINVAL);
    static const char *const bad_values[] = {"a\r\nInjected: yes", "a\rb", "a\nb"};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_values); i++)
        assert_int_equal(cg_http_response_add_header(&res, "X-V", bad_values[i]), CG_EINVAL);
    /* A NUL cannot get into a C string: the value simply ends there. */
    assert_int_equal(cg_http_response_add_header(&res, "X-Nul", "a\0Injected: yes"), CG_OK);
    assert_int_equal(cg_http_response_add_header(&res, NULL, "v"), CG_EINVAL);
    assert_int_equal(cg_http_response_add_header(&res, "X", NULL), CG_EINVAL);
    assert_int_equal(cg_http_response_add_header(NULL, "X", "v"), CG_EINVAL);
    char *h = cg__strndup((const char *)res.headers.data, res.headers.len);
    assert_string_equal(h, "X-Good: a value; with=stuff\r\nX-Empty-Value: \r\nX-Nul: a\r\n");
    free(h);
    cg__http_response_free(&res);
}

static void test_response_set_validation(void **state)
{
    (void)state;
    struct cg_http_response res;
    cg__http_response_init(&res);
    assert_int_equal(res.status, 204);
    assert_int_equal(cg_http_response_set(&res, 99, NULL, NULL, 0), CG_EINVAL);
    assert_int_equal(cg_http_response_set(&res, 600, NULL, NULL, 0), CG_EINVAL);
    assert_int_equal(cg_http_response_set(&res, 200, NULL, "x", 1), CG_EINVAL);
    assert_int_equal(cg_http_response_set(&res, 200, "text/plain\r\nX: y", "x", 1), CG_EINVAL);
    assert_int_equal(cg_http_response_set(&res, 200, "text/plain", NULL, 1), CG_EINVAL);
    assert_int_equal(cg_http_response_set(&res, 200, "text/plain", "xy", 2), CG_OK);
    assert_int_equal(cg_http_response_set(&res, 201, NULL, NULL, 0), CG_OK);
    assert_int_equal(res.body.len, 0);
    cg_http_response_set_log_reason(&res, "why");
    assert_string_equal(res.log_reason, "why");
    cg_http_response_set_log_reason(&res, NULL);
    assert_string_equal(res.log_reason, "why");
    cg__http_response_free(&res);
}

static void test_allow_string(void **state)
{
    (void)state; /* BCP B-22: the Allow header of a 405 */
    char out[64];
    cg__http_allow_string(0, out, sizeof(out));
    assert_string_equal(out, "");
    cg__http_allow_string(CG_HTTP_GET, out, sizeof(out));
    assert_string_equal(out, "GET");
    cg__http_allow_string(CG_HTTP_OPTIONS | CG_HTTP_GET | CG_HTTP_HEAD, out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, OPTIONS");
    cg__http_allow_string(0x7F, out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    cg__http_allow_string(0x80 | CG_HTTP_PUT, out, sizeof(out)); /* unknown bits ignored */
    assert_string_equal(out, "PUT");
    char small[10]; /* truncation stops at a whole name */
    cg__http_allow_string(0x7F, small, sizeof(small));
    assert_string_equal(small, "GET, HEAD");
    assert_int_equal(cg__http_method_bit("GET"), CG_HTTP_GET);
    assert_int_equal(cg__http_method_bit("get"), 0);
    assert_int_equal(cg__http_method_bit("TRACE"), 0);
}

static void test_header_has_token(void **state)
{
    (void)state;
    static const struct {
        const char *value, *token;
        bool want;
    } cases[] = {
        {"Upgrade", "upgrade", true},
        {"keep-alive, Upgrade", "upgrade", true},
        {"Upgrade, keep-alive", "upgrade", true},
        {" \t upgrade \t ", "upgrade", true},
        {",,, upgrade ,,", "upgrade", true},
        {"keep-alive", "upgrade", false},
        {"upgrade-insecure", "upgrade", false},
        {"xupgrade", "upgrade", false},
        {"upgrad", "upgrade", false},
        {"x upgrade", "upgrade", false},
        {"", "upgrade", false},
        {",", "upgrade", false},
        {"websocket/13", "websocket", false},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        if (cg__http_header_has_token(cases[i].value, cases[i].token) != cases[i].want)
            fail_msg("has_token(\"%s\", \"%s\") != %d", cases[i].value, cases[i].token,
                     cases[i].want);
    }
    assert_false(cg__http_header_has_token(NULL, "upgrade"));
}

static void test_status_texts(void **state)
{
    (void)state;
    assert_string_equal(cg__http_status_text(405), "Method Not Allowed");
    assert_string_equal(cg__http_status_text(413), "Content Too Large");
    assert_string_equal(cg__http_status_text(414), "URI Too Long");
    assert_string_equal(cg__http_status_text(426), "Upgrade Required");
    assert_string_equal(cg__http_status_text(299), "Status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_with_query_split),
        cmocka_unit_test(test_header_lookup_ignores_case),
        cmocka_unit_test(test_byte_at_a_time_same_result),
        cmocka_unit_test(test_every_split_point_same_result),
        cmocka_unit_test(test_pipelined_requests_one_at_a_time),
        cmocka_unit_test(test_upgrade_leaves_the_rest),
        cmocka_unit_test(test_http10_without_host_accepted),
        cmocka_unit_test(test_unknown_methods_get_405),
        cmocka_unit_test(test_invalid_method_tokens_get_400),
        cmocka_unit_test(test_connect_is_a_complete_request_no_route_allows),
        cmocka_unit_test(test_other_http_versions_refused),
        cmocka_unit_test(test_missing_host_on_http11_is_400),
        cmocka_unit_test(test_header_bytes_over_max_is_431),
        cmocka_unit_test(test_more_than_100_headers_is_431),
        cmocka_unit_test(test_content_length_over_max_is_413_before_body),
        cmocka_unit_test(test_chunked_body_over_max_is_413),
        cmocka_unit_test(test_url_over_8k_is_414),
        cmocka_unit_test(test_nul_and_ctl_in_target_is_400),
        cmocka_unit_test(test_reset_keeps_peer_and_limits),
        cmocka_unit_test(test_status_line_and_body),
        cmocka_unit_test(test_hsts_present_and_absent),
        cmocka_unit_test(test_cors_only_configured_origins),
        cmocka_unit_test(test_cors_star_only_when_configured),
        cmocka_unit_test(test_head_has_length_but_no_body),
        cmocka_unit_test(test_204_and_101_have_no_content_length),
        cmocka_unit_test(test_cache_control_on_errors_only),
        cmocka_unit_test(test_connection_close_when_asked),
        cmocka_unit_test(test_add_header_refuses_bad_fields),
        cmocka_unit_test(test_response_set_validation),
        cmocka_unit_test(test_allow_string),
        cmocka_unit_test(test_header_has_token),
        cmocka_unit_test(test_status_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
