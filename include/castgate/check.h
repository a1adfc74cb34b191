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

#ifdef __cplusplus
}
#endif
#endif
