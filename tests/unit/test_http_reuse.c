/* Issue 17 (the front's cost per request; the HTTPS server's the same): the
 * next request on a kept-alive connection is parsed after
 * cg__http_parser_reset, which keeps the parser's buffers and header array,
 * so a usual request allocates only its own strings (each header's name and
 * value, the path and the query; the allocator is counted through --wrap).
 * Nothing of the previous request is left, the limits hold, and a buffer an
 * odd large request grew past 4 KiB is let go. */
// CG_WRAP: malloc calloc realloc
// CG_LINK: allocrig.c
#include "testutil.h"
#include "allocrig.h"
#include "http/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GET[] = "GET /x-nmos/node/v1.3/self HTTP/1.1\r\nHost: localhost\r\n\r\n";
static const char POST[] = "POST /x-nmos/query/v1.3/subscriptions?a=1 HTTP/1.1\r\n"
                           "Host: node.example.com\r\nContent-Type: application/json\r\n"
                           "Origin: https://ui.example.com\r\nContent-Length: 2\r\n\r\n{}";

static void feed(struct cg_http_parser *hp, const char *t)
{
    size_t used = cg__http_parser_feed(hp, (const uint8_t *)t, strlen(t));
    assert_int_equal(hp->error_status, 0);
    assert_true(hp->complete);
    assert_int_equal(used, strlen(t));
}

static void test_next_request_allocates_only_its_strings(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 16384, 65536);
    snprintf(hp.req.peer, sizeof(hp.req.peer), "127.0.0.1:5000");
    feed(&hp, POST);
    for (int round = 0; round < 4; round++) {
        const char *t = round % 2 == 0 ? GET : POST;
        ac_begin();
        cg__http_parser_reset(&hp);
        feed(&hp, t);
        unsigned n_alloc = ac_end();
        /* names and values of its headers, path, query */
        unsigned strings = 2 * (unsigned)hp.req.nheaders + 2;
        if (n_alloc != strings)
            fail_msg("round %d: %u allocations, the request's strings are %u", round, n_alloc,
                     strings);
    }
    /* The last one was POST; now GET: nothing of POST is left. */
    cg__http_parser_reset(&hp);
    feed(&hp, GET);
    assert_string_equal(hp.req.method, "GET");
    assert_string_equal(hp.req.path, "/x-nmos/node/v1.3/self");
    assert_string_equal(hp.req.query, "");
    assert_int_equal(hp.req.nheaders, 1);
    assert_int_equal(hp.req.body.len, 0);
    assert_null(cg__http_request_header(&hp.req, "Origin"));
    assert_string_equal(cg__http_request_header(&hp.req, "host"), "localhost");
    assert_string_equal(hp.req.peer, "127.0.0.1:5000");
    cg__http_parser_free(&hp);
}

static void test_reset_keeps_limits_lets_big_buffers_go(void **state)
{
    (void)state;
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 16384, 16);
    char big[8000];
    int k = snprintf(big, sizeof(big), "GET /%6000s HTTP/1.1\r\nHost: h\r\n\r\n", "x");
    assert_true(k > 0 && (size_t)k < sizeof(big));
    for (char *p = big + 5; *p == ' '; p++)
        *p = 'a';
    feed(&hp, big);
    assert_true(hp.url.cap > 4096);
    cg__http_parser_reset(&hp);
    assert_null(hp.url.data); /* let go, not kept with the connection */
    feed(&hp, GET);
    /* the body limit still holds with kept memory */
    cg__http_parser_reset(&hp);
    const char *over = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n";
    cg__http_parser_feed(&hp, (const uint8_t *)over, strlen(over));
    assert_int_equal(hp.error_status, 413);
    /* 100 headers are fine, the 101st is refused, after a reset as before */
    cg__http_parser_reset(&hp);
    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "Host%d: v\r\n", i);
    snprintf(many + n, sizeof(many) - n, "Host: h\r\n\r\n");
    cg__http_parser_feed(&hp, (const uint8_t *)many, strlen(many));
    assert_int_equal(hp.error_status, 431);
    cg__http_parser_free(&hp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_request_allocates_only_its_strings),
        cmocka_unit_test(test_reset_keeps_limits_lets_big_buffers_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
