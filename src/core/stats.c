/* The pure helpers of castgate/stats.h: the shared histogram and the
 * classification of a wss set-up's end into a result. */
#include "core/core.h"

#include <math.h>
#include <openssl/ssl.h>

/* In nanoseconds; the last bucket (+Inf) has no bound. */
static const uint64_t bounds_ns[CG_HISTOGRAM_BUCKETS - 1] = {
    100000,    250000,    500000,    1000000,   2500000,    5000000,    10000000,
    25000000,  50000000,  100000000, 250000000, 500000000, 1000000000, 2500000000,
};

double cg_histogram_bound(unsigned i)
{
    if (i >= CG_HISTOGRAM_BUCKETS)
        return NAN;
    return i == CG_HISTOGRAM_BUCKETS - 1 ? INFINITY : (double)bounds_ns[i] / 1e9;
}

void cg_histogram_observe(struct cg_histogram *h, uint64_t ns)
{
    if (h == NULL)
        return;
    unsigned i = 0;
    while (i < CG_HISTOGRAM_BUCKETS - 1 && ns > bounds_ns[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum_ns += ns;
}

void cg_histogram_merge(struct cg_histogram *a, const struct cg_histogram *b)
{
    if (a == NULL || b == NULL)
        return;
    for (unsigned i = 0; i < CG_HISTOGRAM_BUCKETS; i++)
        a->bucket[i] += b->bucket[i];
    a->count += b->count;
    a->sum_ns += b->sum_ns;
}

static const char *const result_names[CG_WSS_RESULTS] = {
    [CG_WSS_OK] = "ok",
    [CG_WSS_TLS_VERSION] = "tls_version",
    [CG_WSS_TLS_CIPHER] = "tls_cipher",
    [CG_WSS_TLS_CERT] = "tls_cert",
    [CG_WSS_TLS_ALERT] = "tls_alert",
    [CG_WSS_NOT_TLS] = "not_tls",
    [CG_WSS_HTTP_400] = "http_400",
    [CG_WSS_HTTP_401] = "http_401",
    [CG_WSS_HTTP_403] = "http_403",
    [CG_WSS_HTTP_404] = "http_404",
    [CG_WSS_HTTP_405] = "http_405",
    [CG_WSS_HTTP_408] = "http_408",
    [CG_WSS_HTTP_426] = "http_426",
    [CG_WSS_HTTP_429] = "http_429",
    [CG_WSS_HTTP_503] = "http_503",
    [CG_WSS_HTTP_OTHER] = "http_other",
    [CG_WSS_TIMEOUT] = "timeout",
    [CG_WSS_CONNECT] = "connect",
    [CG_WSS_PROTOCOL] = "protocol",
};

const char *cg_wss_result_name(enum cg_wss_result r)
{
    return (unsigned)r < CG_WSS_RESULTS ? result_names[r] : "unknown";
}

enum cg_wss_result cg_wss_result_of_http(int status)
{
    static const struct {
        int status;
        enum cg_wss_result r;
    } map[] = {{400, CG_WSS_HTTP_400}, {401, CG_WSS_HTTP_401}, {403, CG_WSS_HTTP_403},
               {404, CG_WSS_HTTP_404}, {405, CG_WSS_HTTP_405}, {408, CG_WSS_HTTP_408},
               {426, CG_WSS_HTTP_426}, {429, CG_WSS_HTTP_429}, {503, CG_WSS_HTTP_503}};
    if (status < 400)
        return CG_WSS_OK;
    for (size_t i = 0; i < CG_ARRAY_LEN(map); i++)
        if (map[i].status == status)
            return map[i].r;
    return CG_WSS_HTTP_OTHER;
}

enum cg_wss_result cg_wss_result_of_tls(int reason)
{
    switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return CG_WSS_TLS_VERSION;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE: /* the peer's alert 40: nothing in common */
    case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
        return CG_WSS_TLS_CIPHER;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return CG_WSS_TLS_CERT;
    default:
        return CG_WSS_TLS_ALERT;
    }
}
