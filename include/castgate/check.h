/* castgate — audit an HTTPS/wss endpoint against BCP-003-01 (`castgate check tls`).
 *
 * cg_check_tls() connects to the endpoint many times (plain TCP sockets with
 * hand-built ClientHellos where OpenSSL would refuse to offer a protocol or a
 * suite, OpenSSL clients for certificates, staples and HTTP) and returns a
 * report: one finding per rule, each with its BCP-003-01 ID (B-xx), a verdict
 * and the evidence seen. It blocks the calling thread (every connection has a
 * timeout) and never prints; the caller formats the report.
 *
 * Not for use on a context's event-loop thread from inside a callback.
 */
#ifndef CASTGATE_CHECK_H
#define CASTGATE_CHECK_H

#include <castgate/ctx.h>
#include <castgate/error.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cg_check_verdict {
    CG_CHECK_PASS = 0,
    CG_CHECK_WARN = 1, /* a SHOULD not met where the rule allows a deliberate choice, or not testable */
    CG_CHECK_FAIL = 2,
};

/* One finding. All strings are owned by the report and live until
 * cg_check_report_free(). evidence is peer-derived text made printable
 * (non-printable bytes escaped as \xHH). */
struct cg_check_finding {
    const char *id;       /* "B-02" */
    const char *what;     /* short rule text: "TLS 1.1 not offered" */
    enum cg_check_verdict verdict;
    const char *evidence; /* what was seen: "ServerHello version 0x0302" */
};

struct cg_check_report;

struct cg_check_tls_opts {
    /* "https://host:port[/path]" (port defaults to 443, path to "/"); wss:// is
     * taken as https://. host may be a name, an IPv4 address or [IPv6]. */
    const char *url;
    const char *ca_file;     /* PEM root(s) the chain must reach (B-10); NULL: system roots */
    unsigned timeout_ms;     /* per connection step; 0: 3000 */
    bool allow_wildcard;     /* B-11: a wildcard SAN is a warning rather than a failure */
    bool allow_ip;           /* B-11: an IP address in CN/SAN is a warning rather than a failure */
    bool skip_http;          /* leave out the HTTP findings (B-20..B-25) */
    /* DNS-SD (B-40, B-42): a service instance name ("gw._mos._tcp.example.com");
     * its SRV record is looked up by unicast DNS and its target must be a name
     * in every certificate served. NULL: not checked. */
    const char *dnssd_instance;
    const char *dns_server;  /* "IP[:PORT]" or "[IPv6]:PORT"; NULL: /etc/resolv.conf */
};

/* Runs the audit. On CG_OK *out holds the report (free with
 * cg_check_report_free), even when findings fail. CG_EINVAL for a malformed
 * URL, options or DNS server, CG_ENET when the endpoint cannot be reached at all (TCP),
 * CG_EFILE when ca_file cannot be read, CG_ENOMEM. */
CG_API enum cg_err cg_check_tls(struct cg_ctx *ctx, const struct cg_check_tls_opts *opts,
                                struct cg_check_report **out);

CG_API size_t cg_check_report_count(const struct cg_check_report *r);
/* The i-th finding (0-based, in the order they were made), NULL past the end. */
CG_API const struct cg_check_finding *cg_check_report_get(const struct cg_check_report *r,
                                                          size_t i);
/* Milliseconds the whole run took. */
CG_API unsigned long cg_check_report_ms(const struct cg_check_report *r);
/* "pass" / "warn" / "fail". */
CG_API const char *cg_check_verdict_name(enum cg_check_verdict v);
CG_API void cg_check_report_free(struct cg_check_report *r); /* NULL ok */

/* ---- `castgate check mos4`: a MOS 4.0 endpoint against ../shared/spec/mos.md ---- */

enum cg_check_mos4_role {
    CG_CHECK_AS_NCS = 0,    /* the checker plays the NCS: the peer is a MOS device */
    CG_CHECK_AS_DEVICE = 1, /* the checker plays the MOS device: the peer is an NCS endpoint */
};

struct cg_check_mos4_opts {
    /* "wss://host:port/path" of the peer's endpoint (no query: the checker adds
     * mosID, ncsID, channel and passive itself, M-02). */
    const char *url;
    enum cg_check_mos4_role as;
    const char *mos_id;      /* the device's mosID (required) */
    const char *ncs_id;      /* the NCS's ncsID (required) */
    const char *user;        /* M-05 Basic user; NULL: none */
    const char *password;    /* never taken from argv by the tool; copied, not kept */
    const char *ca_file;     /* PEM root(s); NULL: system roots */
    unsigned profiles;       /* bit n: profile n (0..4); 0: profiles 0,1,2 */
    unsigned channels;       /* enum cg_mos_channel bits (mom 1, ro 2, aux 4); 0: mom|ro */
    bool passive;            /* also dial passive=true per channel (M-08) */
    bool write;              /* allow exchanges that change a running order (roCreate/roDelete) */
    unsigned timeout_ms;     /* per answer awaited; 0: 5000 */
    unsigned quiet_ms;       /* how long silence proves "not answered" (M-09); 0: 1500 */
    /* M-08 the other way, for a peer configured passive-inside (it dials out
     * and has no endpoint of its own): the checker plays the outside side.
     * It listens on listen ("127.0.0.1:PORT" or "[::1]:PORT") with
     * cert_chain/cert_key, on the URL's path (url is then the one the peer
     * dials), waits up to accept_ms (0: 10000) for the peer to dial
     * passive=true on each channel, originates heartbeat (and reqMachInfo on
     * mom) down each such connection and judges the answers (M-08, M-10,
     * M-04, M-11, M-23); nothing else is run. NULL: the usual run. */
    const char *listen;
    const char *cert_chain, *cert_key;
    unsigned accept_ms;
};

/* Runs the conformance check: one finding per rule and channel, each with
 * its M-xx ID. It runs its own event loop on ctx (NULL: a private context),
 * so it must not be called from a callback. On CG_OK *out holds the report,
 * even when findings fail. CG_EINVAL for a malformed URL or missing IDs,
 * CG_EFILE for an unreadable ca_file, CG_ENOMEM. An unreachable peer is a
 * report whose upgrade findings fail, not an error. */
CG_API enum cg_err cg_check_mos4(struct cg_ctx *ctx, const struct cg_check_mos4_opts *opts,
                                 struct cg_check_report **out);

#ifdef __cplusplus
}
#endif
#endif
