/* cg__http_refusal (src/http/response.c, B-22, B-24): the refusal response
 * the wss server and the NMOS front share (each wrote it out): status, the
 * one-line text body, Connection: close, Allow on a 405, the WebSocket
 * upgrade headers on a 426, nothing else. */
#include "testutil.h"
#include "http/http.h"

#include <stdio.h>
#include <string.h>

static void refusal(int status, const char *reason, unsigned allow, char *body, char *headers)
{
    struct cg_http_response res;
    cg__http_response_init(&res);
    cg__http_refusal(&res, status, reason, allow);
    assert_int_equal(res.status, status);
    assert_true(res.close);
    assert_string_equal(res.content_type, "text/plain; charset=utf-8");
    sprintf(body, "%.*s", (int)res.body.len, (const char *)res.body.data);
    sprintf(headers, "%.*s", (int)res.headers.len, (const char *)res.headers.data);
    cg__http_response_free(&res);
}

static void test_refusals(void **state)
{
    (void)state;
    char body[512], headers[512];
    refusal(404, "no such path", CG_HTTP_GET, body, headers);
    assert_string_equal(body, "404 Not Found: no such path\n");
    assert_string_equal(headers, "");
    refusal(405, "method not allowed", CG_HTTP_GET | CG_HTTP_HEAD, body, headers);
    assert_string_equal(body, "405 Method Not Allowed: method not allowed\n");
    assert_string_equal(headers, "Allow: GET, HEAD\r\n");
    refusal(405, "method not allowed", 0, body, headers); /* RFC 9110: may be empty */
    assert_string_equal(headers, "Allow: \r\n");
    refusal(426, "WebSocket only", 0, body, headers);
    assert_string_equal(headers, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    refusal(503, "busy", 0, body, headers); /* Retry-After is the caller's */
    assert_string_equal(body, "503 Service Unavailable: busy\n");
    assert_string_equal(headers, "");
    /* a reason longer than the body's room is cut, never read past */
    char reason[400];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    refusal(400, reason, 0, body, headers);
    assert_int_equal(strlen(body), 255);
    assert_memory_equal(body, "400 Bad Request: rrr", 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
