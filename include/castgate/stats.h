/* castgate — read-only statistics: the types the library's stats accessors
 * fill in (issue 15 item 4, for a program's /metrics and status page).
 *
 * The accessors themselves live beside the object they read:
 *  - cg_server_handshake_stats, cg_server_leaf_stats   (castgate/server.h)
 *  - cg_ws_client_handshake_stats                     (castgate/client.h)
 *  - cg_credentials_stats                             (castgate/auth.h)
 *  - cg_mos_endpoint_auth_stats, cg_mos_peer_stats,
 *    cg_mos_endpoint_lane_stats                       (castgate/mos4.h)
 *  - cg_relay_auth_stats, cg_relay_link_side_stats, cg_relay_link_lane_stats,
 *    and the NACK counters of struct cg_relay_stats   (castgate/relay.h)
 *
 * Counters only ever grow (a program exports them as Prometheus counters);
 * they count from the object's creation. Everything here is plain data:
 * copy it, keep it, no freeing. The helpers below are pure and may be
 * called from any thread. */
#ifndef CASTGATE_STATS_H
#define CASTGATE_STATS_H

#include <castgate/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a latency histogram ----
 *
 * Fixed bucket bounds (cg_histogram_bound), the same for every histogram of
 * the library, so a program exports them as one Prometheus histogram
 * without converting: 0.0001 s, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
 * 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 s and +Inf. */
#define CG_HISTOGRAM_BUCKETS 15 /* the last one is +Inf */
struct cg_histogram {
    uint64_t bucket[CG_HISTOGRAM_BUCKETS]; /* observations <= the bound, not cumulative */
    uint64_t count;                        /* observations */
    uint64_t sum_ns;                       /* their sum, in nanoseconds */
};

/* The upper bound of bucket i in seconds (i < CG_HISTOGRAM_BUCKETS; the
 * last is INFINITY); NAN for an i out of range. Pure. */
CG_API double cg_histogram_bound(unsigned i);
/* Adds one observation of ns nanoseconds to h (NULL: nothing). Pure. */
CG_API void cg_histogram_observe(struct cg_histogram *h, uint64_t ns);
/* Adds every observation of b to a (sums of several links). Pure. */
CG_API void cg_histogram_merge(struct cg_histogram *a, const struct cg_histogram *b);

/* ---- wss handshakes, on a server (per listener) or a dialer ----
 *
 * Each connection that reaches the TCP stage ends its set-up with one
 * result: CG_WSS_OK (the WebSocket upgrade answered 101, or an HTTP
 * request answered below 400 on a server), or one failure reason. */
enum cg_wss_result {
    CG_WSS_OK = 0,
    CG_WSS_TLS_VERSION,  /* no TLS version in common (B-01: TLS 1.2 or 1.3 only) */
    CG_WSS_TLS_CIPHER,   /* no cipher suite, group or signature algorithm in common (B-03, B-04) */
    CG_WSS_TLS_CERT,     /* the certificate was refused (dialer: name, trust, pin, staple) */
    CG_WSS_TLS_ALERT,    /* any other TLS handshake failure or alert */
    CG_WSS_NOT_TLS,      /* plain text on the TLS port (B-20) */
    CG_WSS_HTTP_400,     /* a malformed request or upgrade (RFC 6455 §4.2.1) */
    CG_WSS_HTTP_401,     /* no or wrong credentials (M-05) */
    CG_WSS_HTTP_403,     /* forbidden (an address or user not allowed) */
    CG_WSS_HTTP_404,     /* no such route */
    CG_WSS_HTTP_405,     /* method not allowed (B-22) */
    CG_WSS_HTTP_408,     /* the request did not arrive in time */
    CG_WSS_HTTP_426,     /* not a WebSocket upgrade on a WebSocket route (B-26) */
    CG_WSS_HTTP_429,     /* locked out after repeated failures (M-05): answered 429, or
                          * closed at accept before TLS (a listener with credentials) */
    CG_WSS_HTTP_503,     /* busy: the peer is told to come back later */
    CG_WSS_HTTP_OTHER,   /* any other status >= 400 (413, 431, 500, ...) */
    CG_WSS_TIMEOUT,      /* the TLS handshake or the upgrade answer did not come in time */
    CG_WSS_CONNECT,      /* dialer: name resolution or TCP connect failed */
    CG_WSS_PROTOCOL,     /* dialer: an answer that is not HTTP, or a bad 101 */
    CG_WSS_RESULTS       /* the number of results */
};

struct cg_wss_stats {
    uint64_t result[CG_WSS_RESULTS]; /* connections, by how their set-up ended */
};

/* A stable lower-case name for r ("ok", "tls_version", "tls_cipher",
 * "tls_cert", "tls_alert", "not_tls", "http_400" ... "http_503",
 * "http_other", "timeout", "connect", "protocol"), for a label value;
 * "unknown" for a value outside the enum. Pure. */
CG_API const char *cg_wss_result_name(enum cg_wss_result r);
/* The result of an HTTP answer: CG_WSS_OK below 400, the HTTP_* reason for
 * the statuses above, CG_WSS_HTTP_OTHER for any other status >= 400. Pure. */
CG_API enum cg_wss_result cg_wss_result_of_http(int status);
/* The result of a failed TLS handshake from OpenSSL's reason code
 * (ERR_GET_REASON of the first error queued; 0: none queued). Pure. */
CG_API enum cg_wss_result cg_wss_result_of_tls(int openssl_reason);

/* ---- Basic credentials (M-05) ---- */
struct cg_auth_stats {
    uint64_t failures;       /* wrong or malformed credentials (each counts towards a lockout) */
    uint64_t lockouts;       /* addresses locked out after repeated failures */
    uint64_t locked_refused; /* attempts refused because the address was locked out */
    uint64_t hashes;         /* password hashes started (credentials not remembered; ~0.1 s each) */
    uint64_t busy_refused;   /* refused 503: as many hashes as allowed in flight already */
    uint64_t budget_held;    /* checks that waited in line for the budget of hashes for
                                credentials not remembered (issue 12 item 4) */
    uint64_t budget_refused; /* refused 503: that budget spent and its line full */
};

/* ---- a journal (M-22), per peer: the sum of its lanes ---- */
struct cg_journal_stats {
    uint64_t bytes;            /* bytes appended (records), compactions not counted */
    uint64_t records;          /* records appended */
    struct cg_histogram fsync; /* fdatasync after a record (fsync = always) */
};

/* ---- a server's certificates: one entry per leaf (RSA, ECDSA; B-13) ---- */
struct cg_leaf_stats {
    char key_type[8];     /* "RSA" or "ECDSA" */
    char subject_cn[128]; /* the leaf's subject CN as text, "" when it has none */
    int64_t not_after;    /* the leaf's notAfter, seconds since the epoch (UTC) */
    bool stapled;         /* an OCSP response is stapled now (B-12) */
    int64_t staple_produced_at; /* its producedAt, seconds since the epoch (0: no staple) */
    int64_t staple_this_update; /* its thisUpdate for this leaf (0: no staple) */
};

#ifdef __cplusplus
}
#endif

#endif
