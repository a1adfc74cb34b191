/* Unit tests for src/front, the sans-I/O parts of the NMOS secure front:
 * the route table (B-22), the JSON check (B-23) and URL rewrite, the heads
 * across the front (hop-by-hop, X-Forwarded-*, CORS B-25, HSTS B-21), the
 * backend's responses over http-parser (Content-Length, chunked, until
 * close, HEAD, 1xx, 101, split at every byte) and the WebSocket frame
 * rewriter. */
#include "frontjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *inside_list[] = {"127.0.0.1:8080", "localhost:8080", "10.0.0.5:80"};
static const struct cg_front_rw RW = {.pub_host = "node.example.com", .pub_port = 8443,
                                      .inside = inside_list, .ninside = 3};

/* ---- routes ---- */

static unsigned methods_of(const char *path)
{
    const struct cg_front_route *r = cg__front_route_match(path, strlen(path));
    return r != NULL ? r->methods : 0;
}

static void test_routes_methods_per_raml(void **state)
{
    (void)state;
    unsigned gh = CG_HTTP_GET | CG_HTTP_HEAD;
    assert_int_equal(methods_of("/x-nmos/node/v1.3/self"), gh);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/self/"), gh); /* trailing slash */
    assert_int_equal(methods_of("/x-nmos/node/v1.3/receivers/abc-1/target"), CG_HTTP_PUT);
    assert_int_equal(methods_of("/x-nmos/query/v1.3/subscriptions"), gh | CG_HTTP_POST);
    assert_int_equal(methods_of("/x-nmos/query/v1.3/subscriptions/x"), gh | CG_HTTP_DELETE);
    assert_int_equal(methods_of("/x-nmos/registration/v1.3/resource"), CG_HTTP_POST);
    assert_int_equal(methods_of("/x-nmos/registration/v1.3/resource/senders/x"),
                     gh | CG_HTTP_DELETE);
    assert_int_equal(methods_of("/x-nmos/registration/v1.3/health/nodes/x"), gh | CG_HTTP_POST);
    assert_int_equal(methods_of("/x-nmos/connection/v1.1/single/senders/x/staged"),
                     gh | CG_HTTP_PATCH);
    assert_int_equal(methods_of("/x-nmos/connection/v1.1/bulk/receivers"), CG_HTTP_POST);
    assert_int_equal(methods_of("/x-nmos/connection/v1.0/single/receivers/x/active/"), gh);
    assert_int_equal(methods_of("/"), gh);
}

static void test_routes_refuse_what_the_raml_lacks(void **state)
{
    (void)state;
    assert_int_equal(methods_of("/x-nmos/node/v2.0/self"), 0);         /* no such version */
    assert_int_equal(methods_of("/x-nmos/connection/v1.2/single"), 0); /* IS-05 v1.0/v1.1 only */
    assert_int_equal(methods_of("/x-nmos/registration/v1.3/resource/bogus/x"), 0);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/self/extra"), 0);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources/a%2fb"), 0); /* not an id */
    assert_int_equal(methods_of("/x-nmos/node/v1.3//self"), 0);
    assert_int_equal(methods_of("//"), 0);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources/"), CG_HTTP_GET | CG_HTTP_HEAD);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources//"), 0);
    assert_int_equal(methods_of(""), 0);
    assert_int_equal(methods_of("x-nmos"), 0);
}

/* RFC 3986 §5.2.4: a backend that removes dot-segments would act on another
 * path than the one the front checked (PATCH .../senders/../staged is
 * .../single/staged there), so an {id} is never "." or "..". */
static void test_routes_no_dot_segments(void **state)
{
    (void)state;
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources/.."), 0);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources/."), 0);
    assert_int_equal(methods_of("/x-nmos/connection/v1.1/single/senders/../staged"), 0);
    assert_int_equal(methods_of("/x-nmos/registration/v1.3/resource/nodes/../"), 0);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources/a..b"), CG_HTTP_GET | CG_HTTP_HEAD);
    assert_int_equal(methods_of("/x-nmos/node/v1.3/sources/.hidden"), CG_HTTP_GET | CG_HTTP_HEAD);
}

static void test_routes_flags(void **state)
{
    (void)state;
    const struct cg_front_route *r =
        cg__front_route_match("/x-nmos/query/v1.3/subscriptions/abc", 36);
    assert_non_null(r);
    assert_true(r->flags & CG_FRONT_R_WS);
    r = cg__front_route_match("/x-nmos/query/v1.3/subscriptions", 32);
    assert_true(r->flags & CG_FRONT_R_SUB);
    assert_true(r->flags & CG_FRONT_R_JSON);
    size_t n;
    const struct cg_front_route *all = cg__front_routes(&n);
    for (size_t i = 0; i < n; i++) { /* every row cites its spec and allows something */
        assert_non_null(all[i].spec);
        assert_true(all[i].methods != 0);
        assert_true(strstr(all[i].spec, "IS-0") != NULL || strstr(all[i].spec, "APIs.md"));
    }
}

/* ---- JSON ---- */

static int check(const char *s) { return cg__front_json_check((const uint8_t *)s, strlen(s)); }

static void test_json_check(void **state)
{
    (void)state;
    assert_int_equal(check("{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"]}"), CG_OK);
    assert_int_equal(check(" [] "), CG_OK);
    assert_int_equal(check("\"caf\xc3\xa9\""), CG_OK);
    assert_int_equal(check("{\"a\": 1,}"), CG_EHTTP);
    assert_int_equal(check("{\"a\" 1}"), CG_EHTTP);
    assert_int_equal(check("[01]"), CG_EHTTP);
    assert_int_equal(check("[1.]"), CG_EHTTP);
    assert_int_equal(check("\"\\x\""), CG_EHTTP);
    assert_int_equal(check("\"a\nb\""), CG_EHTTP);   /* raw control character */
    assert_int_equal(check("\"\xc0\xaf\""), CG_EHTTP); /* overlong UTF-8 */
    assert_int_equal(check("\"\xed\xa0\x80\""), CG_EHTTP); /* UTF-8 surrogate */
    assert_int_equal(check("{} {}"), CG_EHTTP);
    assert_int_equal(check(""), CG_EHTTP);
    assert_int_equal(check("tru"), CG_EHTTP);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(cg__front_json_check((uint8_t *)deep, 200), CG_EHTTP); /* depth > 64 */
    assert_int_equal(cg__front_json_check((uint8_t *)deep + 40, 120), CG_OK); /* 60 deep */
}

static char *rewrite(const char *in, enum cg_front_json_mode mode, bool *changed)
{
    return fj_rewrite(&RW, mode, in, changed);
}

static void test_rewrite_node_self(void **state)
{
    (void)state;
    bool ch;
    char *s = rewrite("{\"href\": \"http://127.0.0.1:8080/\", \"api\": {\"endpoints\": "
                      "[{\"host\": \"127.0.0.1\", \"port\": 8080, \"protocol\": \"http\", "
                      "\"authorization\": false}]}, \"label\": \"http://127.0.0.1:8080/\"}",
                      CG_FRONT_JSON_RESPONSE, &ch);
    assert_true(ch);
    assert_string_equal(s, "{\"href\": \"https://node.example.com:8443/\", \"api\": {\"endpoints\": "
                           "[{\"host\": \"node.example.com\", \"port\": 8443, \"protocol\": "
                           "\"https\", \"authorization\": false}]}, \"label\": "
                           "\"https://node.example.com:8443/\"}");
    free(s);
}

static void test_rewrite_only_the_backend(void **state)
{
    (void)state;
    bool ch;
    const char *in = "[{\"href\": \"http://other.example:8080/\"}, {\"host\": \"10.9.9.9\", "
                     "\"port\": 80, \"protocol\": \"http\"}, \"https://127.0.0.1:8080/\", "
                     "\"ftp://127.0.0.1:8080/\", {\"http://127.0.0.1:8080/\": 1}]";
    char *s = rewrite(in, CG_FRONT_JSON_RESPONSE, &ch);
    assert_false(ch);
    assert_string_equal(s, in); /* byte for byte, keys included */
    free(s);
}

static void test_rewrite_forms(void **state)
{
    (void)state;
    bool ch;
    /* escaped slashes, ws, default port, LAN authority, public name with http */
    char *s = rewrite("[\"http:\\/\\/localhost:8080\\/x\", \"ws://127.0.0.1:8080/sub?a=1\", "
                      "\"HTTP://10.0.0.5/\", \"http://node.example.com:8443/y\", "
                      "\"http://127.0.0.1:80801/\", \"http://user@127.0.0.1:8080/\"]",
                      CG_FRONT_JSON_RESPONSE, &ch);
    assert_true(ch);
    assert_string_equal(s, "[\"https://node.example.com:8443/x\", "
                           "\"wss://node.example.com:8443/sub?a=1\", "
                           "\"https://node.example.com:8443/\", "
                           "\"https://node.example.com:8443/y\", "
                           "\"http://127.0.0.1:80801/\", \"http://user@127.0.0.1:8080/\"]");
    free(s);
}

static void test_rewrite_subscription_secure(void **state)
{
    (void)state;
    bool ch;
    char *s = rewrite("{\"secure\": true, \"params\": {\"secure\": true}}",
                      CG_FRONT_JSON_SUB_REQUEST, &ch);
    assert_true(ch);
    assert_string_equal(s, "{\"secure\": false, \"params\": {\"secure\": true}}");
    free(s);
    s = rewrite("{\"id\": \"a\", \"secure\": false, \"ws_href\": \"ws://127.0.0.1:8080/s/a\"}",
                CG_FRONT_JSON_RESPONSE, &ch);
    assert_string_equal(s, "{\"id\": \"a\", \"secure\": true, \"ws_href\": "
                           "\"wss://node.example.com:8443/s/a\"}");
    free(s);
    s = rewrite("{\"secure\": false}", CG_FRONT_JSON_RESPONSE, &ch); /* no ws_href: left */
    assert_string_equal(s, "{\"secure\": false}");
    assert_false(ch);
    free(s);
}

static void test_rewrite_refuses_bad_json(void **state)
{
    (void)state;
    bool ch;
    fj_rc_is(&RW, "{\"href\": \"http://127.0.0.1:8080/\"", 0, CG_EHTTP, &ch);
}

static void test_authority_norm(void **state)
{
    (void)state;
    char o[300];
    assert_true(cg__front_authority_norm("LocalHost", 9, false, o, sizeof(o)));
    assert_string_equal(o, "localhost:80");
    assert_true(cg__front_authority_norm("[::1]:8080", 10, false, o, sizeof(o)));
    assert_string_equal(o, "[::1]:8080");
    assert_true(cg__front_authority_norm("h", 1, true, o, sizeof(o)));
    assert_string_equal(o, "h:443");
    assert_false(cg__front_authority_norm("h:0", 3, false, o, sizeof(o)));
    assert_false(cg__front_authority_norm("h:65536", 7, false, o, sizeof(o)));
    assert_false(cg__front_authority_norm("h:", 2, false, o, sizeof(o)));
    assert_false(cg__front_authority_norm("[::1", 4, false, o, sizeof(o)));
    assert_false(cg__front_authority_norm("a b", 3, false, o, sizeof(o)));
}

/* ---- heads ---- */

static void parse_request(struct cg_http_parser *hp, const char *text)
{
    cg__http_parser_init(hp, 16384, 65536);
    cg__http_parser_feed(hp, (const uint8_t *)text, strlen(text));
    assert_true(hp->complete);
}

/* What out holds, as a string; out freed. The caller frees the string. */
static char *taken(struct cg_buf *out)
{
    char *s = cg__strndup((char *)out->data, out->len);
    assert_non_null(s);
    cg__buf_free(out);
    return s;
}

/* The head h makes for the backend (the caller frees it). */
static char *request_head(const struct cg_front_reqhead *h)
{
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__front_request_head(h, &out), CG_OK);
    return taken(&out);
}

static void test_request_head(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse_request(&hp, "PATCH /x?y=1 HTTP/1.1\r\nHost: node.example.com\r\nConnection: "
                       "keep-alive, X-Private\r\nX-Private: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
                       "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nAuthorization: "
                       "Basic eDp5\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                       "Content-Length: 2\r\n\r\n{}");
    struct cg_front_reqhead h = {.req = &hp.req, .backend = "127.0.0.1:8080",
                                 .client_ip = "::1", .pub_port = 8443, .body_len = 2};
    char *s = request_head(&h);
    assert_non_null(strstr(s, "PATCH /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
    assert_null(strstr(s, "X-Private"));
    assert_null(strstr(s, "Keep-Alive"));
    assert_null(strstr(s, "TE:"));
    assert_null(strstr(s, "6.6.6.6"));
    assert_null(strstr(s, "Expect"));
    assert_non_null(strstr(s, "Authorization: Basic eDp5\r\n")); /* the backend's business */
    assert_non_null(strstr(s, "X-Forwarded-For: ::1\r\nX-Forwarded-Proto: https\r\n"));
    assert_non_null(strstr(s, "X-Forwarded-Host: node.example.com\r\n"));
    assert_non_null(strstr(s, "Forwarded: for=\"[::1]\";proto=https;host=\"node.example.com\"\r\n"));
    assert_non_null(strstr(s, "Content-Length: 2\r\n\r\n"));
    free(s);
    cg__http_parser_free(&hp);
}

static void test_upgrade_head_no_deflate(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    parse_request(&hp, "GET /s HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
    struct cg_front_reqhead h = {.req = &hp.req, .backend = "b:1", .client_ip = "1.2.3.4",
                                 .pub_port = 443, .upgrade = true};
    char *s = request_head(&h);
    assert_null(strstr(s, "permessage-deflate"));
    assert_non_null(strstr(s, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    assert_non_null(strstr(s, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
    free(s);
    cg__http_parser_free(&hp);
}

static void test_peer_ip(void **state)
{
    (void)state;
    char ip[64];
    cg__front_peer_ip("[::1]:5000", ip, sizeof(ip));
    assert_string_equal(ip, "::1");
    cg__front_peer_ip("10.1.2.3:80", ip, sizeof(ip));
    assert_string_equal(ip, "10.1.2.3");
}

/* ---- responses from the backend ---- */

struct sink_rec {
    int heads, dones;
    struct cg_buf body;
};
static void s_head(void *u) { ((struct sink_rec *)u)->heads++; }
static void s_body(void *u, const uint8_t *p, size_t n)
{
    assert_int_equal(cg__buf_append(&((struct sink_rec *)u)->body, p, n), CG_OK);
}
static void s_done(void *u) { ((struct sink_rec *)u)->dones++; }

/* Feeds text split every `step` bytes; returns bytes used. */
static size_t feed_resp(struct cg_front_resp *r, const char *text, size_t step)
{
    size_t len = strlen(text), off = 0;
    while (off < len && !r->complete && r->error == NULL && !(r->upgrade && r->head_done)) {
        size_t n = len - off < step ? len - off : step;
        size_t used = cg__front_resp_feed(r, (const uint8_t *)text + off, n);
        off += used;
        if (used < n)
            break;
    }
    return off;
}

static void test_resp_chunked_any_split(void **state)
{
    (void)state;
    const char *text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n3\r\n[1,\r\n2;ext=1\r\n2]\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    for (size_t step = 1; step <= strlen(text); step++) {
        struct sink_rec rec = {0};
        cg__buf_init(&rec.body, 0);
        struct cg_front_resp_sink sink = {&rec, s_head, s_body, s_done};
        struct cg_front_resp r;
        cg__front_resp_init(&r, &sink, 4096, false);
        size_t used = feed_resp(&r, text, step);
        assert_null(r.error);
        assert_true(r.complete);
        assert_true(r.chunked);
        assert_int_equal(rec.heads, 1);
        assert_int_equal(rec.dones, 1);
        assert_int_equal(rec.body.len, 5);
        assert_memory_equal(rec.body.data, "[1,2]", 5);
        assert_int_equal(used, strlen(text) - 4); /* stops before the next response */
        assert_string_equal(cg__front_resp_get(&r, "content-type"), "application/json");
        cg__front_resp_free(&r);
        cg__buf_free(&rec.body);
    }
}

static void test_resp_length_close_head_1xx(void **state)
{
    (void)state;
    struct sink_rec rec = {0};
    cg__buf_init(&rec.body, 0);
    struct cg_front_resp_sink sink = {&rec, s_head, s_body, s_done};
    struct cg_front_resp r;
    /* 100 Continue skipped, then a Content-Length body */
    cg__front_resp_init(&r, &sink, 4096, false);
    feed_resp(&r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-Empty:\r\n"
                  "Content-Length: 3\r\n\r\nabc", 1000); /* an empty value (fuzz_front_resp) */
    assert_null(r.error);
    assert_string_equal(cg__front_resp_get(&r, "X-Empty"), "");
    assert_true(r.complete);
    assert_int_equal(r.status, 201);
    assert_int_equal(rec.heads, 1);
    assert_true(r.keep_alive && r.has_length && r.length == 3);
    cg__front_resp_free(&r);
    /* until close: complete only when the backend closes */
    cg__front_resp_init(&r, &sink, 4096, false);
    feed_resp(&r, "HTTP/1.1 200 OK\r\n\r\nbody", 1000);
    assert_false(r.complete);
    cg__front_resp_feed(&r, NULL, 0);
    assert_true(r.complete);
    assert_null(r.error);
    assert_false(r.keep_alive);
    cg__front_resp_free(&r);
    /* HEAD: a Content-Length but no body */
    cg__front_resp_init(&r, &sink, 4096, true);
    feed_resp(&r, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 1000);
    assert_true(r.complete);
    cg__front_resp_free(&r);
    /* cut short */
    cg__front_resp_init(&r, &sink, 4096, false);
    feed_resp(&r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1000);
    cg__front_resp_feed(&r, NULL, 0);
    assert_non_null(r.error);
    cg__front_resp_free(&r);
    cg__buf_free(&rec.body);
}

static void test_resp_upgrade_and_limits(void **state)
{
    (void)state;
    struct cg_front_resp r;
    cg__front_resp_init(&r, NULL, 4096, false);
    const char *t = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                    "Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n\x81\x02hi";
    size_t used = cg__front_resp_feed(&r, (const uint8_t *)t, strlen(t));
    assert_true(r.upgrade && r.head_done);
    assert_int_equal(used, strlen(t) - 4); /* the frame is the WebSocket's */
    cg__front_resp_free(&r);
    cg__front_resp_init(&r, NULL, 64, false);
    t = "HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    cg__front_resp_feed(&r, (const uint8_t *)t, strlen(t));
    assert_non_null(r.error);
    cg__front_resp_free(&r);
    cg__front_resp_init(&r, NULL, 4096, false);
    t = "SSH-2.0-OpenSSH\r\n";
    cg__front_resp_feed(&r, (const uint8_t *)t, strlen(t));
    assert_non_null(r.error);
    cg__front_resp_free(&r);
}

static void test_response_head(void **state)
{
    (void)state;
    struct cg_front_resp r;
    cg__front_resp_init(&r, NULL, 4096, false);
    const char *t = "HTTP/1.1 201 Created\r\nLocation: http://127.0.0.1:8080/a\r\nAccess-Control-"
                    "Allow-Origin: *\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Hop\r\n"
                    "X-Hop: 1\r\nStrict-Transport-Security: max-age=1\r\nContent-Length: 0\r\n"
                    "Link: <http://127.0.0.1:8080/x-nmos/query/v1.3/nodes/?paging.until=1%3A0&"
                    "paging.limit=1>; rel=\"prev\", <http://elsewhere.example/x>; rel=\"other\", "
                    "<ws://localhost:8080/s>; rel=\"next\"\r\n"
                    "X-Kept: yes\r\n\r\n";
    cg__front_resp_feed(&r, (const uint8_t *)t, strlen(t));
    struct cg_http_parser hp;
    parse_request(&hp, "POST / HTTP/1.1\r\nHost: h\r\nOrigin: https://ui.example.com\r\n"
                       "Content-Length: 0\r\n\r\n");
    char *origins[] = {"https://ui.example.com"};
    struct cg_http_policy pol = {.hsts_max_age = 31536000, .cors_origins = origins, .ncors = 1};
    struct cg_front_resphead h = {.r = &r, .req = &hp.req, .pol = &pol, .rw = &RW,
                                  .framing = CG_FRONT_LENGTH, .length = 0};
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__front_response_head(&h, &out), CG_OK);
    char *s = taken(&out);
    assert_non_null(strstr(s, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(s, "Location: https://node.example.com:8443/a\r\n"));
    /* RFC 8288 Link (IS-04 Query API paging rel="prev"/"next"): each
     * <URI> on an inside authority rewritten, the rest byte for byte. */
    assert_non_null(strstr(s, "Link: <https://node.example.com:8443/x-nmos/query/v1.3/nodes/?"
                              "paging.until=1%3A0&paging.limit=1>; rel=\"prev\", "
                              "<http://elsewhere.example/x>; rel=\"other\", "
                              "<wss://node.example.com:8443/s>; rel=\"next\"\r\n"));
    assert_null(strstr(s, "Allow-Origin: *"));
    assert_non_null(strstr(s, "Access-Control-Allow-Origin: https://ui.example.com\r\n"));
    assert_null(strstr(s, "Keep-Alive"));
    assert_null(strstr(s, "X-Hop"));
    assert_null(strstr(s, "max-age=1\r"));
    assert_non_null(strstr(s, "Strict-Transport-Security: max-age=31536000\r\n"));
    assert_non_null(strstr(s, "X-Kept: yes\r\n"));
    assert_non_null(strstr(s, "Date: "));
    assert_non_null(strstr(s, "Content-Length: 0\r\n\r\n"));
    free(s);
    cg__http_parser_free(&hp);
    cg__front_resp_free(&r);
}

/* ---- WebSocket frames ---- */

static void test_wsrw_rewrites_text_passes_rest(void **state)
{
    (void)state;
    const char *msg = "{\"href\": \"http://127.0.0.1:8080/x\"}";
    const char *want = "{\"href\": \"https://node.example.com:8443/x\"}";
    uint8_t in[256];
    size_t k = 0;
    in[k++] = 0x82; /* binary: untouched */
    in[k++] = 3;
    memcpy(in + k, "abc", 3);
    k += 3;
    in[k++] = 0x81;
    in[k++] = (uint8_t)strlen(msg);
    memcpy(in + k, msg, strlen(msg));
    k += strlen(msg);
    in[k++] = 0x89; /* ping */
    in[k++] = 0;
    for (size_t step = 1; step <= k; step++) {
        struct cg_front_wsrw w;
        cg__front_wsrw_init(&w, &RW, 1024);
        struct cg_buf out;
        cg__buf_init(&out, 0);
        for (size_t off = 0; off < k; off += step)
            assert_int_equal(cg__front_wsrw_feed(&w, in + off, off + step > k ? k - off : step,
                                                 &out), CG_OK);
        assert_int_equal(out.len, 5 + 2 + strlen(want) + 2);
        assert_memory_equal(out.data, in, 5);
        assert_int_equal(out.data[5], 0x81);
        assert_int_equal(out.data[6], strlen(want));
        assert_memory_equal(out.data + 7, want, strlen(want));
        assert_int_equal(out.data[7 + strlen(want)], 0x89);
        assert_int_equal(w.rewritten, 1);
        cg__buf_free(&out);
        cg__front_wsrw_free(&w);
    }
}

static void test_wsrw_long_lengths_and_bound(void **state)
{
    (void)state;
    /* a 300-byte text message (16-bit length) over a 100-byte bound passes unchanged */
    uint8_t in[4 + 300];
    in[0] = 0x81;
    in[1] = 126;
    in[2] = 1;
    in[3] = 44;
    memset(in + 4, 'a', 300);
    struct cg_front_wsrw w;
    cg__front_wsrw_init(&w, &RW, 100);
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__front_wsrw_feed(&w, in, sizeof(in), &out), CG_OK);
    assert_int_equal(out.len, sizeof(in));
    assert_memory_equal(out.data, in, sizeof(in));
    cg__buf_free(&out);
    cg__front_wsrw_free(&w);
    /* within the bound, rewritten and grown past 125: re-framed with a 16-bit length */
    char msg[200];
    int n = snprintf(msg, sizeof(msg), "[\"http://127.0.0.1:8080/%095d\"]", 0);
    assert_true(n < 126 && n + 8 > 125); /* fits 7 bits before, not after */
    uint8_t f[2 + 200];
    f[0] = 0x81;
    f[1] = (uint8_t)n;
    memcpy(f + 2, msg, (size_t)n);
    cg__front_wsrw_init(&w, &RW, 1000);
    cg__buf_init(&out, 0);
    assert_int_equal(cg__front_wsrw_feed(&w, f, 2 + (size_t)n, &out), CG_OK);
    assert_int_equal(out.data[1], 126);
    assert_int_equal(((size_t)out.data[2] << 8 | out.data[3]), out.len - 4);
    char *txt = cg__strndup((char *)out.data + 4, out.len - 4);
    assert_non_null(strstr(txt, "https://node.example.com:8443/"));
    free(txt);
    cg__buf_free(&out);
    cg__front_wsrw_free(&w);
}

/* A frame into buf at *k. */
static void put_frame(uint8_t *buf, size_t *k, uint8_t b0, const char *payload)
{
    size_t n = strlen(payload);
    buf[(*k)++] = b0;
    buf[(*k)++] = (uint8_t)n;
    memcpy(buf + *k, payload, n);
    *k += n;
}

static void test_wsrw_fragmented_text(void **state)
{
    (void)state;
    uint8_t in[256];
    size_t k = 0;
    put_frame(in, &k, 0x01, "{\"href\": \"http://127.0");   /* text, not final */
    put_frame(in, &k, 0x89, "p");                           /* a ping between fragments */
    put_frame(in, &k, 0x00, ".0.1:8080/x\"");                /* continuation */
    put_frame(in, &k, 0x80, "}");                           /* final continuation */
    put_frame(in, &k, 0x82, "b");                           /* then binary */
    const char *want = "{\"href\": \"https://node.example.com:8443/x\"}";
    for (size_t step = 1; step <= k; step++) {
        struct cg_front_wsrw w;
        cg__front_wsrw_init(&w, &RW, 1024);
        struct cg_buf out;
        cg__buf_init(&out, 0);
        for (size_t off = 0; off < k; off += step)
            assert_int_equal(cg__front_wsrw_feed(&w, in + off, off + step > k ? k - off : step,
                                                 &out), CG_OK);
        /* the ping first (it is not held), then one final text frame, then binary */
        assert_int_equal(out.len, 3 + 2 + strlen(want) + 3);
        assert_memory_equal(out.data, "\x89\x01p", 3);
        assert_int_equal(out.data[3], 0x81);
        assert_int_equal(out.data[4], strlen(want));
        assert_memory_equal(out.data + 5, want, strlen(want));
        assert_memory_equal(out.data + 5 + strlen(want), "\x82\x01" "b", 3);
        cg__buf_free(&out);
        cg__front_wsrw_free(&w);
    }
}

static void test_wsrw_fragmented_over_the_bound(void **state)
{
    (void)state;
    uint8_t in[256];
    size_t k = 0;
    put_frame(in, &k, 0x01, "[\"http://127.0.0.1:8080/\"");
    put_frame(in, &k, 0x00, ", \"0123456789012345678901234567890123456789\"");
    put_frame(in, &k, 0x80, "]");
    put_frame(in, &k, 0x81, "[\"http://127.0.0.1:8080/\"]"); /* the next message: rewritten */
    struct cg_front_wsrw w;
    cg__front_wsrw_init(&w, &RW, 40);
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__front_wsrw_feed(&w, in, k, &out), CG_OK);
    /* the first three frames leave as they came (the first re-framed with its own
     * length: the same bytes here), the last is rewritten */
    size_t first3 = k - 2 - strlen("[\"http://127.0.0.1:8080/\"]");
    assert_true(out.len > first3);
    assert_memory_equal(out.data, in, first3);
    char *tail = cg__strndup((char *)out.data + first3 + 2, out.len - first3 - 2);
    assert_string_equal(tail, "[\"https://node.example.com:8443/\"]");
    free(tail);
    cg__buf_free(&out);
    cg__front_wsrw_free(&w);
}

/* ---- the configuration API ---- */

static void test_config_checks_on_the_spot(void **state)
{
    (void)state;
    struct cg_front_config *c = NULL;
    assert_int_equal(cg_front_config_new(&c), CG_OK);
    assert_int_equal(cg_front_config_set_backend(c, "node.local", 80, 0), CG_EINVAL); /* a name */
    assert_int_equal(cg_front_config_set_backend(c, "127.0.0.1", 0, 0), CG_EINVAL);
    assert_int_equal(cg_front_config_set_backend(c, "::1", 8080, 0), CG_OK);
    assert_int_equal(cg_front_config_set_public(c, "10.0.0.1:443", 0), CG_EINVAL);
    assert_int_equal(cg_front_config_set_public(c, "", 0), CG_EINVAL);
    assert_int_equal(cg_front_config_set_public(c, "node1.example.com", 8443), CG_OK);
    assert_int_equal(cg_front_config_add_inside(c, "10.0.0.5:99999"), CG_EINVAL);
    assert_int_equal(cg_front_config_add_inside(c, "Node1.LAN"), CG_OK);
    assert_string_equal(c->inside[0], "node1.lan:80"); /* canonical form */
    assert_int_equal(cg_front_config_add_ws_prefix(c, "x-nmos/events/"), CG_EINVAL);
    assert_int_equal(cg_front_config_add_ws_prefix(c, "/x-nmos/events/"), CG_OK);
    assert_int_equal(cg_front_config_set_limit(c, CG_FRONT_POOL, 0), CG_ERANGE);
    assert_int_equal(cg_front_config_set_limit(c, CG_FRONT_POOL, 1025), CG_ERANGE);
    assert_int_equal(cg_front_config_set_limit(c, CG_FRONT_POOL, 2), CG_OK);
    assert_int_equal(cg_front_config_set_limit(c, (enum cg_front_limit)9, 2), CG_EINVAL);
    struct cg_front_config copy = {0};
    assert_int_equal(cg__front_config_copy(&copy, c), CG_OK);
    assert_string_equal(copy.pub_host, "node1.example.com");
    assert_ptr_not_equal(copy.pub_host, c->pub_host);
    assert_int_equal(copy.ws_port, 8080);
    cg__front_config_release(&copy);
    cg_front_config_free(c);
    cg_front_config_free(NULL);
}

static void test_front_new_needs_backend_and_public(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct cg_front_config *fc = NULL;
    struct cg_server_config *sc = NULL;
    struct cg_front *f = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    assert_int_equal(cg_front_config_new(&fc), CG_OK);
    assert_int_equal(cg_server_config_new(&sc), CG_OK);
    assert_int_equal(cg_front_new(ctx, fc, sc, &f), CG_ECONFIG);
    assert_int_equal(cg_front_config_set_backend(fc, "127.0.0.1", 8080, 0), CG_OK);
    assert_int_equal(cg_front_new(ctx, fc, sc, &f), CG_ECONFIG); /* no public name */
    assert_null(f);
    cg_front_free(NULL);
    cg_server_config_free(sc);
    cg_front_config_free(fc);
    cg_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_methods_per_raml),
        cmocka_unit_test(test_routes_refuse_what_the_raml_lacks),
        cmocka_unit_test(test_routes_no_dot_segments),
        cmocka_unit_test(test_routes_flags),
        cmocka_unit_test(test_json_check),
        cmocka_unit_test(test_rewrite_node_self),
        cmocka_unit_test(test_rewrite_only_the_backend),
        cmocka_unit_test(test_rewrite_forms),
        cmocka_unit_test(test_rewrite_subscription_secure),
        cmocka_unit_test(test_rewrite_refuses_bad_json),
        cmocka_unit_test(test_authority_norm),
        cmocka_unit_test(test_request_head),
        cmocka_unit_test(test_upgrade_head_no_deflate),
        cmocka_unit_test(test_peer_ip),
        cmocka_unit_test(test_resp_chunked_any_split),
        cmocka_unit_test(test_resp_length_close_head_1xx),
        cmocka_unit_test(test_resp_upgrade_and_limits),
        cmocka_unit_test(test_response_head),
        cmocka_unit_test(test_wsrw_rewrites_text_passes_rest),
        cmocka_unit_test(test_wsrw_long_lengths_and_bound),
        cmocka_unit_test(test_wsrw_fragmented_text),
        cmocka_unit_test(test_wsrw_fragmented_over_the_bound),
        cmocka_unit_test(test_config_checks_on_the_spot),
        cmocka_unit_test(test_front_new_needs_backend_and_public),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
