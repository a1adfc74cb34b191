/* cg__http_preflight (src/http/response.c, B-25): the CORS preflight answer
 * the wss server and the NMOS front share (it was written out in both).
 * Which requests are preflights from an allowed origin, and the headers
 * they get: the route's methods, the requested headers only when they are
 * a plain token list, Max-Age. */
#include "testutil.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *origins[] = {"https://ui.example.com"};
static const struct cg_http_policy pol = {.cors_origins = origins, .ncors = 1};

/* The request head text, parsed; then the preflight for methods. *headers:
 * what it added (NUL-terminated, static). */
static bool preflight(const char *head, unsigned methods, const char **headers)
{
    static char got[1024];
    struct cg_http_parser hp;
    cg__http_parser_init(&hp, 16384, 1024);
    assert_int_equal(cg__http_parser_feed(&hp, (const uint8_t *)head, strlen(head)), strlen(head));
    assert_true(hp.complete);
    struct cg_http_response res;
    cg__http_response_init(&res);
    bool is = cg__http_preflight(&hp.req, &pol, methods, &res);
    snprintf(got, sizeof(got), "%.*s", (int)res.headers.len, (const char *)res.headers.data);
    cg__http_response_free(&res);
    cg__http_parser_free(&hp);
    *headers = got;
    return is;
}

static void test_preflight_answered(void **state)
{
    (void)state;
    const char *h;
    assert_true(preflight("OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://ui.example.com\r\n"
                          "Access-Control-Request-Method: PATCH\r\n\r\n",
                          CG_HTTP_GET | CG_HTTP_HEAD | CG_HTTP_PATCH, &h));
    assert_string_equal(h, "Access-Control-Allow-Methods: GET, HEAD, PATCH\r\n"
                           "Access-Control-Max-Age: 600\r\n");
    assert_true(preflight("OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://ui.example.com\r\n"
                          "Access-Control-Request-Method: GET\r\n"
                          "Access-Control-Request-Headers: content-type, X-Api_Key\r\n\r\n",
                          CG_HTTP_GET, &h));
    assert_string_equal(h, "Access-Control-Allow-Methods: GET\r\n"
                           "Access-Control-Allow-Headers: content-type, X-Api_Key\r\n"
                           "Access-Control-Max-Age: 600\r\n");
    /* requested headers that are not a plain token list are not echoed */
    assert_true(preflight("OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://ui.example.com\r\n"
                          "Access-Control-Request-Method: GET\r\n"
                          "Access-Control-Request-Headers: x-a; y=1\r\n\r\n",
                          CG_HTTP_GET, &h));
    assert_null(strstr(h, "Allow-Headers"));
}

static void test_not_a_preflight(void **state)
{
    (void)state;
    static const char *const heads[] = {
        /* not OPTIONS */
        "GET /x HTTP/1.1\r\nHost: a\r\nOrigin: https://ui.example.com\r\n"
        "Access-Control-Request-Method: GET\r\n\r\n",
        /* no Access-Control-Request-Method */
        "OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://ui.example.com\r\n\r\n",
        /* another origin, and none */
        "OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.example\r\n"
        "Access-Control-Request-Method: GET\r\n\r\n",
        "OPTIONS /x HTTP/1.1\r\nHost: a\r\nAccess-Control-Request-Method: GET\r\n\r\n",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(heads); i++) {
        const char *h;
        if (preflight(heads[i], CG_HTTP_GET, &h))
            fail_msg("case %zu taken as a preflight", i);
        assert_string_equal(h, ""); /* res untouched */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preflight_answered),
        cmocka_unit_test(test_not_a_preflight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
