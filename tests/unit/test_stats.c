/* castgate/stats.h: the shared latency histogram and the classification of
 * a wss set-up's end (issue 15 item 4). Pure functions. */
#include "testutil.h"

#include <castgate/stats.h>
#include <math.h>
#include <openssl/ssl.h>
#include <string.h>

static void test_histogram_buckets_are_le_bounds(void **state)
{
    (void)state;
    struct cg_histogram h = {0};
    cg_histogram_observe(&h, 100000);      /* exactly 0.0001 s: the first bucket (le) */
    cg_histogram_observe(&h, 100001);      /* just above: the second */
    cg_histogram_observe(&h, 3000000);     /* 3 ms: le 0.005 */
    cg_histogram_observe(&h, 10000000000); /* 10 s: +Inf */
    assert_int_equal(h.bucket[0], 1);
    assert_int_equal(h.bucket[1], 1);
    assert_int_equal(h.bucket[5], 1);
    assert_int_equal(h.bucket[CG_HISTOGRAM_BUCKETS - 1], 1);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.sum_ns, 100000 + 100001 + 3000000 + 10000000000ULL);
    assert_true(fabs(cg_histogram_bound(5) - 0.005) < 1e-12);
    assert_true(isinf(cg_histogram_bound(CG_HISTOGRAM_BUCKETS - 1)));
    assert_true(isnan(cg_histogram_bound(CG_HISTOGRAM_BUCKETS)));
    for (unsigned i = 1; i + 1 < CG_HISTOGRAM_BUCKETS; i++)
        assert_true(cg_histogram_bound(i) > cg_histogram_bound(i - 1));
    struct cg_histogram sum = {0};
    cg_histogram_merge(&sum, &h);
    cg_histogram_merge(&sum, &h);
    assert_int_equal(sum.count, 8);
    assert_int_equal(sum.bucket[5], 2);
    cg_histogram_observe(NULL, 1); /* no crash */
}

static void test_http_status_to_reason(void **state)
{
    (void)state;
    assert_int_equal(cg_wss_result_of_http(101), CG_WSS_OK);
    assert_int_equal(cg_wss_result_of_http(200), CG_WSS_OK);
    assert_int_equal(cg_wss_result_of_http(400), CG_WSS_HTTP_400);
    assert_int_equal(cg_wss_result_of_http(401), CG_WSS_HTTP_401); /* M-05 */
    assert_int_equal(cg_wss_result_of_http(403), CG_WSS_HTTP_403);
    assert_int_equal(cg_wss_result_of_http(405), CG_WSS_HTTP_405); /* B-22 */
    assert_int_equal(cg_wss_result_of_http(426), CG_WSS_HTTP_426); /* B-26 */
    assert_int_equal(cg_wss_result_of_http(429), CG_WSS_HTTP_429);
    assert_int_equal(cg_wss_result_of_http(413), CG_WSS_HTTP_OTHER);
    assert_int_equal(cg_wss_result_of_http(599), CG_WSS_HTTP_OTHER);
}

static void test_tls_reason(void **state)
{
    (void)state;
    assert_int_equal(cg_wss_result_of_tls(SSL_R_UNSUPPORTED_PROTOCOL), CG_WSS_TLS_VERSION); /* B-01 */
    assert_int_equal(cg_wss_result_of_tls(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION), CG_WSS_TLS_VERSION);
    assert_int_equal(cg_wss_result_of_tls(SSL_R_NO_SHARED_CIPHER), CG_WSS_TLS_CIPHER); /* B-03/04 */
    assert_int_equal(cg_wss_result_of_tls(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE), CG_WSS_TLS_CIPHER);
    assert_int_equal(cg_wss_result_of_tls(SSL_R_CERTIFICATE_VERIFY_FAILED), CG_WSS_TLS_CERT);
    assert_int_equal(cg_wss_result_of_tls(SSL_R_TLSV1_ALERT_UNKNOWN_CA), CG_WSS_TLS_CERT);
    assert_int_equal(cg_wss_result_of_tls(SSL_R_UNEXPECTED_MESSAGE), CG_WSS_TLS_ALERT);
    assert_int_equal(cg_wss_result_of_tls(0), CG_WSS_TLS_ALERT);
}

static void test_names_are_label_values(void **state)
{
    (void)state;
    assert_string_equal(cg_wss_result_name(CG_WSS_OK), "ok");
    assert_string_equal(cg_wss_result_name(CG_WSS_HTTP_401), "http_401");
    assert_string_equal(cg_wss_result_name(CG_WSS_TLS_VERSION), "tls_version");
    assert_string_equal(cg_wss_result_name(CG_WSS_RESULTS), "unknown");
    for (int r = 0; r < CG_WSS_RESULTS; r++) { /* [a-z0-9_]+, all different */
        const char *n = cg_wss_result_name((enum cg_wss_result)r);
        assert_true(n[0] != '\0' && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(n));
        for (int s = 0; s < r; s++)
            assert_string_not_equal(n, cg_wss_result_name((enum cg_wss_result)s));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_buckets_are_le_bounds),
        cmocka_unit_test(test_http_status_to_reason),
        cmocka_unit_test(test_tls_reason),
        cmocka_unit_test(test_names_are_label_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
