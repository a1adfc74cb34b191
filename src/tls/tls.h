/* castgate tls — the BCP-003-01 TLS profile (internal interface).
 *
 * Server side: one SSL_CTX per listener, built from the profile (TLS 1.2 and
 * 1.3 only, B-03/B-04 suites in order, server preference, DH auto, no
 * compression, tickets per option), holding several certificate chains (RSA
 * and ECDSA, B-13) and stapling OCSP responses fetched from each leaf's AIA
 * responder (B-12), refreshed on a timer on the context's loop, fetched off the
 * loop thread (uv_queue_work).
 *
 * Client side: an SSL_CTX that verifies peers against a trust store (B-14),
 * matches host names with a trailing dot tolerated (B-32), asks for a staple
 * and refuses a revoked one, and never continues after a failed handshake
 * (B-31) unless the insecure switch is on (logged loudly).
 *
 * net/ owns the SSL objects and the sockets; this module only builds and
 * maintains contexts and answers per-connection questions.
 */
#ifndef CG_TLS_H
#define CG_TLS_H

#include "core/core.h"

#include <openssl/ssl.h>

struct cg_tls_server;
struct cg_tls_client;

struct cg_tls_cert_paths {
    const char *chain_file; /* PEM: leaf first, then intermediates */
    const char *key_file;   /* PEM private key; must be mode 0600 or stricter */
};

struct cg_tls_server_opts {
    const struct cg_tls_cert_paths *certs; /* at least one; RSA and/or ECDSA */
    size_t ncerts;
    bool session_tickets;      /* default false (B-06); true: keys rotated */
    bool ocsp_stapling;        /* default true (B-12) */
    unsigned ocsp_min_refresh_s; /* floor between fetches; 0: 60 */
    const char *ocsp_responder_override; /* NULL: use each leaf's AIA URL */
    unsigned ticket_rotate_s;  /* ticket key period when session_tickets; 0: 3600 */
    unsigned ocsp_timeout_s;   /* one OCSP HTTP exchange, connect included; 0: 10 */
};

/* Builds the server context. Fails with a logged reason naming the file:
 * CG_EFILE, CG_EPERM (key readable by group/others), CG_ECERT, CG_EKEY,
 * CG_EKEYMISMATCH, CG_ECONFIG (two certs of one key type), CG_ETLS. */
enum cg_err cg__tls_server_new(struct cg_ctx *ctx, const struct cg_tls_server_opts *opts,
                               struct cg_tls_server **out);
/* Stops timers and outstanding fetches (their results are dropped). NULL ok.
 * Connections made from its SSL_CTX may live on (a reload: build a new server,
 * point new connections at it, free the old one): the OCSP and ticket
 * callbacks are detached first, so they just get no staple and no tickets.
 * The timers' memory is released by the loop (uv_close), so run it or
 * cg_ctx_free() afterwards. Loop thread only. */
void cg__tls_server_free(struct cg_tls_server *srv);
/* A handshake of an SSL made from srv's SSL_CTX runs on another thread
 * (net/frontdoor.c): srv must outlive it, since OpenSSL calls srv's
 * callbacks (the OCSP staple, B-12; ticket keys, B-06) during it. While held,
 * cg__tls_server_free only retires srv (its fetches and refresh timers stop)
 * and the last release frees it. The staples and ticket keys the callbacks
 * read are guarded by locks, so a thread may run them while the loop
 * replaces them. Loop thread only. */
void cg__tls_server_hold(struct cg_tls_server *srv);
void cg__tls_server_release(struct cg_tls_server *srv);
/* The SSL_CTX to create connections from (owned by srv; SSL_new() holds a
 * reference, so connections may outlive a reload). */
SSL_CTX *cg__tls_server_ssl_ctx(struct cg_tls_server *srv);
/* Installs a DER OCSPResponse as the staple of the leaf it answers for, after
 * the same checks a fetched one gets (signature, times, status). For tests and
 * for operators who fetch responses themselves. CG_ENOTFOUND: it answers for
 * none of the leaves; CG_EOCSP / CG_EEXPIRED: unusable. Loop thread only. */
enum cg_err cg__tls_server_set_staple(struct cg_tls_server *srv, const uint8_t *der, size_t len);
/* How many leaves have a staple that has not expired (tests, status pages). */
size_t cg__tls_server_stapled(const struct cg_tls_server *srv);
/* Leaf idx's key type, subject CN, notAfter and staple times
 * (cg_server_leaf_stats). CG_ENOTFOUND past the last leaf. */
enum cg_err cg__tls_server_leaf_stats(const struct cg_tls_server *srv, size_t idx,
                                      struct cg_leaf_stats *out);

struct cg_tls_client_opts {
    const char *ca_file;         /* PEM bundle of trusted roots, or NULL */
    const char *ca_dir;          /* OpenSSL hashed directory (c_rehash), or NULL */
    const uint8_t *pin_sha256;   /* 32-byte SHA-256 of the peer's leaf (DER), or NULL */
    bool allow_self_signed;      /* M-06: off by default */
    bool require_staple;         /* refuse a peer without a good OCSP staple */
    bool insecure_no_verify;     /* B-31: express permission to go on after a failed check */
    const struct cg_tls_cert_paths *client_cert; /* optional client certificate */
};

/* CG_EFILE: the trust store cannot be loaded (no ca_file/ca_dir: the system
 * store); client_cert as for the server (CG_EPERM, CG_EKEYMISMATCH, ...). */
enum cg_err cg__tls_client_new(struct cg_ctx *ctx, const struct cg_tls_client_opts *opts,
                               struct cg_tls_client **out);
/* Replaces the trust store with the roots now in ca_file and/or ca_dir (both
 * NULL: the system store). How roots are removed (B-14): take them out of the
 * file or directory and call this; later handshakes no longer trust them.
 * CG_EFILE (logged) leaves the old store in place. Loop thread only. */
enum cg_err cg__tls_client_set_trust(struct cg_tls_client *cli, const char *ca_file,
                                     const char *ca_dir);
/* Free it after the SSL objects prepared with it (their callbacks use it). */
void cg__tls_client_free(struct cg_tls_client *cli);
SSL_CTX *cg__tls_client_ssl_ctx(struct cg_tls_client *cli);
/* Prepares a fresh client SSL for host: SNI (without a trailing dot), host
 * name verification (B-32), OCSP status request. */
/* An IP literal is matched against IP SANs and sent without SNI. Call once
 * per SSL, before SSL_connect. CG_EINVAL (empty host, ssl not from cli's
 * SSL_CTX), CG_ESTATE (prepared already). */
enum cg_err cg__tls_client_prepare(struct cg_tls_client *cli, SSL *ssl, const char *host);
/* After a completed handshake: CG_OK, or why the peer is not acceptable
 * by reason (CG_EHOSTNAME, CG_EUNTRUSTED, CG_ESELFSIGNED, CG_EPIN, CG_EEXPIRED,
 * CG_EREVOKED, CG_EOCSP; CG_EVERIFY for any other). Logged (a refusal the
 * same as the client's previous one at DEBUG). A failure here
 * means the caller closes the connection without sending application data
 * (B-31). Also callable after a FAILED handshake: it then returns why (the
 * same codes, or CG_EHANDSHAKE when TLS itself failed) — never CG_OK.
 * With insecure_no_verify it returns CG_OK after a completed handshake and
 * logs a CG_LOG_WARN line every time. CG_ESTATE: ssl was not prepared. */
enum cg_err cg__tls_client_check(struct cg_tls_client *cli, SSL *ssl, const char *host);

/* Drains OpenSSL's error queue into one log line "what: reason; reason". */
void cg__tls_log_errors(struct cg_ctx *ctx, enum cg_log_level level, const char *what);

#endif
