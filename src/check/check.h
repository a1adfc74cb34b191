/* castgate check — internal: the sans-I/O parts (ClientHello building,
 * ServerHello/alert parsing, HTTP response parsing, the verdict rules) and the
 * probes that feed them. */
#ifndef CG_CHECK_INT_H
#define CG_CHECK_INT_H

#include "core/core.h"

#include <castgate/check.h>
#include <time.h>

/* ---- TLS record-layer versions ---- */
#define CG_SSL3 0x0300
#define CG_TLS10 0x0301
#define CG_TLS11 0x0302
#define CG_TLS12 0x0303
#define CG_TLS13 0x0304

/* ---- ClientHello (hello.c) ---- */
struct cg_hello_opts {
    uint16_t version;          /* CG_SSL3..CG_TLS13; TLS 1.3 goes in supported_versions */
    const uint16_t *suites;    /* cipher suites in client preference order */
    size_t nsuites;
    const uint16_t *sigalgs;   /* NULL: a broad default list (RSA, RSA-PSS, ECDSA, EdDSA) */
    size_t nsigalgs;
    const char *sni;           /* NULL or an IP literal: no server_name */
    bool offer_compression;    /* compression methods {DEFLATE, null} instead of {null} */
    bool status_request;       /* OCSP status_request extension */
    bool session_ticket;       /* empty session_ticket extension */
    const uint8_t *random;     /* 32 bytes; also the x25519 key share for TLS 1.3 */
};
/* Writes one TLS record holding a ClientHello into b (appended). SSLv3 hellos
 * carry no extensions; the renegotiation SCSV (0x00FF) is added to ≤ TLS 1.2
 * hellos so a server that supports RFC 5746 answers renegotiation_info. */
enum cg_err cg__check_hello_build(struct cg_buf *b, const struct cg_hello_opts *o);

/* What a server answered to a ClientHello (the first handshake message or alert). */
struct cg_server_hello {
    bool is_alert;
    uint8_t alert_level, alert_desc;
    bool is_hrr;               /* TLS 1.3 HelloRetryRequest (still names the suite) */
    uint16_t record_version;
    uint16_t version;          /* negotiated: supported_versions if present, else legacy */
    uint16_t suite;
    uint8_t compression;
    bool has_reneg_info;       /* renegotiation_info (RFC 5746) */
    bool has_ticket_ext;       /* session_ticket (RFC 5077): tickets will be issued */
    bool has_status_request;   /* status_request echoed: a staple will follow (≤ 1.2) */
};
/* Parses the start of the server's byte stream. CG_OK and *used (bytes of the
 * records that held the answer); CG_EAGAIN: feed more bytes; CG_EPROTO: not a
 * TLS ServerHello or alert (e.g. an HTTP answer). Handshake messages split
 * across records are reassembled up to 64 KiB. Sans-I/O, no allocation. */
enum cg_err cg__check_server_hello_parse(const uint8_t *p, size_t len,
                                         struct cg_server_hello *sh, size_t *used);

/* ---- cipher-suite knowledge (suites.c) ---- */
struct cg_suite_info {
    uint16_t id;
    const char *name;  /* IANA name */
    bool weak;         /* NULL, anonymous, EXPORT, RC4, DES/3DES: never acceptable */
    bool tls13;
};
const struct cg_suite_info *cg__check_suite(uint16_t id); /* NULL: unknown */
/* Writes the IANA name or "0xHHHH" into dst. */
void cg__check_suite_name(uint16_t id, char *dst, size_t dstsz);
extern const uint16_t cg__check_bcp13[3];  /* B-03, in order */
extern const uint16_t cg__check_bcp12[12]; /* B-04, in order */
/* Every known suite outside B-03/B-04 (for "anything else offered?"), TLS 1.3
 * ones or the older ones, into out (at most cap); returns the count. */
#define CG_CHECK_MAX_SUITES 128
size_t cg__check_other_suites(bool tls13, uint16_t *out, size_t cap);
/* True when the server's observed order (the suites it picked one after
 * another as each was removed) ranks the BCP suites it supports the way
 * `bcp` does. Suites not in bcp are ignored. */
bool cg__check_order_ok(const uint16_t *bcp, size_t nbcp, const uint16_t *seen, size_t nseen);

/* ---- HTTP responses and header rules (http.c) ---- */
struct cg_http_resp {
    int status;            /* 0: not an HTTP response */
    char hsts[128];        /* Strict-Transport-Security value, "" if none */
    char allow[128];       /* Allow value */
    char acao[256];        /* Access-Control-Allow-Origin value */
    bool has_hsts, has_allow, has_acao;
};
/* Parses the status line and headers of an HTTP/1.x response. CG_EAGAIN when
 * the header block is not complete yet; CG_EHTTP when the bytes are not an
 * HTTP response. Values longer than the fields are cut. */
enum cg_err cg__check_http_parse(const uint8_t *p, size_t len, struct cg_http_resp *r);
/* The max-age of an HSTS value, -1 when absent or malformed (RFC 6797 6.1.1). */
long long cg__check_hsts_max_age(const char *v);

/* ---- certificate and staple rules (rules.c) ---- */
/* B-11: a SAN/CN entry is a wildcard ("*." prefix or any '*'). */
bool cg__check_is_wildcard(const char *name);
/* B-11: an IPv4 or IPv6 literal. */
bool cg__check_is_ip(const char *name);
enum cg_staple_state { CG_STAPLE_NONE, CG_STAPLE_GOOD, CG_STAPLE_REVOKED, CG_STAPLE_UNKNOWN,
                       CG_STAPLE_BAD };
/* B-12: the verdict on a staple: good and fresh (now within thisUpdate..nextUpdate,
 * with 5 minutes of clock skew; no nextUpdate: thisUpdate at most 7 days old)
 * passes; a stale good staple warns; none, revoked, unknown or unverifiable fails. */
enum cg_check_verdict cg__check_staple_verdict(enum cg_staple_state st, time_t this_upd,
                                               time_t next_upd, time_t now, char *why,
                                               size_t whysz);
/* B-21 verdict on a max-age (-1: no header). */
enum cg_check_verdict cg__check_hsts_verdict(long long max_age);
/* B-11: what a leaf's names are like, and the verdict on them: no SAN fails,
 * a wildcard or IP fails unless allowed (then warns), a CN missing from the
 * SAN warns. */
struct cg_names {
    bool no_san, wildcard, ip, has_cn, cn_in_san;
};
enum cg_check_verdict cg__check_names_verdict(const struct cg_names *n, bool allow_wildcard,
                                              bool allow_ip);
/* B-10: seconds until notAfter and since notBefore (negative: not yet valid);
 * expired or not yet valid fails, under 30 days left warns. */
enum cg_check_verdict cg__check_validity_verdict(long long secs_left, long long secs_since_start);
/* B-03/B-04: a listed suite accepted alone passes; missing, the list's one
 * SHALL suite fails and the others warn. */
enum cg_check_verdict cg__check_suite_verdict(uint16_t id, bool accepted);
/* B-03/B-04: other suites found: none passes, any weak one fails, else warn. */
enum cg_check_verdict cg__check_others_verdict(const uint16_t *found, size_t n);
/* B-05: the server follows the client when it picked the client's first suite
 * offered in one order and again in the reverse order. */
bool cg__check_follows_client(const uint16_t *fwd, const uint16_t *rev, size_t n,
                              uint16_t fwd_pick, uint16_t rev_pick);
/* B-04: the finite-field group of a DHE suite: at least 2048 bits. */
enum cg_check_verdict cg__check_dh_verdict(int bits);
/* B-22: 405 with an Allow header. */
enum cg_check_verdict cg__check_method_verdict(int status, bool has_allow);
/* B-25: the answer lets a foreign origin in ("*", "null" or that origin). */
bool cg__check_cors_open(const struct cg_http_resp *h, const char *origin);

/* ---- the report (report.c) ---- */
struct cg_check_report;
enum cg_err cg__check_add(struct cg_check_report *r, const char *id, enum cg_check_verdict v,
                          const char *what, const char *fmt, ...) CG_PRINTF(5, 6);
struct cg_check_report *cg__check_report_new(void);
void cg__check_report_set_ms(struct cg_check_report *r, unsigned long ms);

/* ---- probes (probe.c, run_*.c): blocking, each with a timeout ---- */
struct cg_check_target {
    struct cg_ctx *ctx;
    char host[256];
    char port[8];
    char path[512];
    const char *ca_file;
    unsigned timeout_ms;
    bool allow_wildcard, allow_ip;
    bool sni_ok; /* host is a name, not an IP literal */
};
enum cg_err cg__check_parse_url(const char *url, struct cg_check_target *t);
/* A TCP connection to the target (CG_ENET, CG_ETIMEDOUT). */
enum cg_err cg__check_connect(const struct cg_check_target *t, int *fd);
/* Sends a ClientHello and parses the answer. CG_OK with *sh; CG_ECLOSED when
 * the server closed without answering; CG_EPROTO when it answered with non-TLS
 * bytes; CG_ETIMEDOUT. */
enum cg_err cg__check_hello(const struct cg_check_target *t, const struct cg_hello_opts *o,
                            struct cg_server_hello *sh);
/* Sends raw bytes on plain TCP and collects up to cap bytes of the answer (until
 * close, cap or timeout). */
enum cg_err cg__check_raw(const struct cg_check_target *t, const void *req, size_t reqlen,
                          uint8_t *ans, size_t cap, size_t *anslen);

/* An OpenSSL client connection (tlsconn.c): sigalgs NULL for the default
 * list, else an OpenSSL sigalgs list with cipher_list for TLS 1.2; OCSP
 * status requested. The caller frees with cg__check_tls_close. */
struct ssl_st;
enum cg_err cg__check_tls_open(const struct cg_check_target *t, const char *sigalgs,
                               const char *cipher_list, struct ssl_st **ssl, int *fd,
                               char *err, size_t errsz);
/* The same, TLS 1.2 at most (to see what a TLS 1.2 suite brings, e.g. its DH group). */
enum cg_err cg__check_tls12_open(const struct cg_check_target *t, const char *cipher_list,
                                 struct ssl_st **ssl, int *fd, char *err, size_t errsz);
void cg__check_tls_close(struct ssl_st *ssl, int fd);

enum cg_err cg__check_run_protocols(const struct cg_check_target *t, struct cg_check_report *r,
                                    bool offered[5]);
enum cg_err cg__check_run_suites(const struct cg_check_target *t, struct cg_check_report *r,
                                 const bool offered[5]);
enum cg_err cg__check_run_certs(const struct cg_check_target *t, struct cg_check_report *r);
enum cg_err cg__check_run_http(const struct cg_check_target *t, struct cg_check_report *r);
/* B-40/B-42: instance's SRV by unicast DNS (server "IP[:PORT]", NULL: resolv.conf). */
enum cg_err cg__check_run_dnssd(const struct cg_check_target *t, struct cg_check_report *r,
                                const char *instance, const char *server);

#endif
