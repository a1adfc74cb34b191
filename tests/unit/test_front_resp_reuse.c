/* Issue 17 (the front's cost per request): a kept-alive backend connection
 * parses its next response with cg__front_resp_reset, which keeps the
 * head's buffers, so a usual response allocates nothing (the allocator is
 * counted through --wrap); what the previous response left is gone (its
 * headers, status, framing), and a buffer grown past 4 KiB by an odd large
 * head is not kept with the pool. */
// CG_WRAP: malloc calloc realloc
// CG_LINK: allocrig.c
#include "testutil.h"
#include "allocrig.h"
#include "front/front.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an nginx backend sends for the Node API self document. */
static const char RESP_A[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                             "Date: Mon, 07 Dec 2026 03:34:00 GMT\r\n"
                             "Content-Type: application/json\r\nContent-Length: 4\r\n"
                             "Last-Modified: Mon, 07 Dec 2026 03:30:00 GMT\r\n"
                             "Connection: keep-alive\r\nETag: \"6574c1a8-4\"\r\n"
                             "Accept-Ranges: bytes\r\n\r\n{\"a\"";
static const char RESP_B[] = "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\n"
                             "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "2\r\nno\r\n0\r\n\r\n";

static void feed_all(struct cg_front_resp *r, const char *t)
{
    size_t used = cg__front_resp_feed(r, (const uint8_t *)t, strlen(t));
    assert_int_equal(used, strlen(t));
    assert_null(r->error);
    assert_true(r->complete);
}

static void test_next_response_allocates_nothing(void **state)
{
    (void)state;
    struct cg_front_resp r;
    memset(&r, 0, sizeof(r)); /* as a fresh backend connection has it (calloc) */
    cg__front_resp_reset(&r, NULL, 16384, false);
    feed_all(&r, RESP_A);
    for (int round = 0; round < 3; round++) {
        ac_begin();
        cg__front_resp_reset(&r, NULL, 16384, false);
        feed_all(&r, round % 2 == 0 ? RESP_B : RESP_A);
        assert_int_equal(ac_end(), 0);
    }
    /* The last one was RESP_B: nothing of RESP_A is left. */
    cg__front_resp_reset(&r, NULL, 16384, false);
    feed_all(&r, RESP_B);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.nheaders, 3);
    assert_true(r.chunked);
    assert_false(r.has_length);
    assert_null(cg__front_resp_get(&r, "ETag"));
    assert_string_equal(cg__front_resp_get(&r, "content-type"), "text/plain");
    cg__front_resp_free(&r);
}

static void test_reset_keeps_the_bound_and_lets_big_buffers_go(void **state)
{
    (void)state;
    struct cg_front_resp r;
    memset(&r, 0, sizeof(r));
    cg__front_resp_reset(&r, NULL, 16384, false);
    char fill[6001], big[9000];
    memset(fill, 'a', 6000);
    fill[6000] = '\0';
    int k = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX-Big: %s\r\nContent-Length: 0\r\n\r\n",
                     fill);
    assert_true(k > 0 && (size_t)k < sizeof(big));
    feed_all(&r, big);
    assert_true(r.values.cap > 4096);
    cg__front_resp_reset(&r, NULL, 16384, false);
    assert_null(r.values.data); /* let go, not kept with a pooled connection */
    assert_int_equal(r.values.cap, 0);
    feed_all(&r, RESP_A);
    /* A smaller bound on the next response holds even with kept memory. */
    cg__front_resp_reset(&r, NULL, 64, false);
    cg__front_resp_feed(&r, (const uint8_t *)RESP_A, strlen(RESP_A));
    assert_non_null(r.error);
    cg__front_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_response_allocates_nothing),
        cmocka_unit_test(test_reset_keeps_the_bound_and_lets_big_buffers_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
