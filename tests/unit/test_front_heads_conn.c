/* Unit tests for the response head the front builds (src/front/heads.c):
 * what the backend's Connection header names stops at the front (RFC 9110
 * §7.6.1), whatever its spelling, with or without other tokens, and the
 * headers it does not name pass. A backend's plain "Connection: keep-alive"
 * (nginx, most nodes) names only Keep-Alive, which is hop-by-hop anyway. */
#include "testutil.h"
#include "front/front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *head_for(const char *backend_head)
{
    struct cg_front_resp r;
    cg__front_resp_init(&r, NULL, 4096, false);
    cg__front_resp_feed(&r, (const uint8_t *)backend_head, strlen(backend_head));
    assert_null(r.error);
    struct cg_http_parser hp;
    const char *req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    cg__http_parser_init(&hp, 16384, 65536);
    cg__http_parser_feed(&hp, (const uint8_t *)req, strlen(req));
    assert_true(hp.complete);
    struct cg_http_policy pol = {.hsts_max_age = 0};
    struct cg_front_resphead h = {.r = &r, .req = &hp.req, .pol = &pol, .rw = NULL,
                                  .framing = CG_FRONT_LENGTH, .length = 0};
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__front_response_head(&h, &out), CG_OK);
    char *s = cg__strndup((char *)out.data, out.len);
    cg__buf_free(&out);
    cg__http_parser_free(&hp);
    cg__front_resp_free(&r);
    return s;
}

static void test_connection_keep_alive_only(void **state)
{
    (void)state;
    static const char *const spellings[] = {"keep-alive", "Keep-Alive", "KEEP-ALIVE"};
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        char t[512];
        snprintf(t, sizeof(t),
                 "HTTP/1.1 200 OK\r\nServer: n\r\nConnection: %s\r\nKeep-Alive: timeout=5\r\n"
                 "Close: x\r\nX-Kept: yes\r\nContent-Length: 0\r\n\r\n",
                 spellings[i]);
        char *s = head_for(t);
        assert_null(strstr(s, "Keep-Alive"));
        assert_null(strstr(s, "Connection"));
        assert_non_null(strstr(s, "\r\nClose: x\r\n")); /* not named: passes */
        assert_non_null(strstr(s, "\r\nServer: n\r\n"));
        assert_non_null(strstr(s, "\r\nX-Kept: yes\r\n"));
        free(s);
    }
}

static void test_connection_names_headers(void **state)
{
    (void)state;
    char *s = head_for("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                       "X-Kept: yes\r\nContent-Length: 0\r\n\r\n");
    assert_null(strstr(s, "X-Hop"));
    assert_non_null(strstr(s, "\r\nX-Kept: yes\r\n"));
    free(s);
    s = head_for("HTTP/1.1 200 OK\r\nConnection: close\r\nClose: x\r\nX-Kept: yes\r\n"
                 "Content-Length: 0\r\n\r\n");
    assert_null(strstr(s, "Close: x")); /* named by Connection: close */
    assert_non_null(strstr(s, "\r\nX-Kept: yes\r\n"));
    free(s);
    s = head_for("HTTP/1.1 200 OK\r\nConnection: keep-alive-x\r\nKeep-Alive-X: 1\r\n"
                 "Keep-Alive: 5\r\nContent-Length: 0\r\n\r\n");
    assert_null(strstr(s, "Keep-Alive-X")); /* another token that starts the same */
    assert_null(strstr(s, "Keep-Alive: 5"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_keep_alive_only),
        cmocka_unit_test(test_connection_names_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
