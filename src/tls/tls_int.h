/* castgate tls — private to src/tls (not for other modules). */
#ifndef CG_TLS_INT_H
#define CG_TLS_INT_H

#include "tls/tls.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <time.h>
#include <uv.h>

#define CG_TLS_COMPONENT "tls"
#define CG_TLS_MAX_LEAVES 2 /* one RSA, one ECDSA (B-13) */

/* ---- profile.c: the BCP-003-01 settings both sides share ---- */
extern const char cg__tls13_suites[]; /* B-03, in server priority order */
extern const char cg__tls12_suites[]; /* B-04, in server priority order */
enum cg_err cg__tls_profile_apply(struct cg_ctx *ctx, SSL_CTX *ssl_ctx, bool server);

/* ---- certs.c: one certificate chain and its key ---- */
struct cg_tls_loaded {
    X509 *leaf;
    STACK_OF(X509) *chain; /* intermediates, may be empty */
    EVP_PKEY *key;
    int key_type; /* EVP_PKEY_RSA or EVP_PKEY_EC */
};
enum cg_err cg__tls_load_pair(struct cg_ctx *ctx, const struct cg_tls_cert_paths *p,
                              struct cg_tls_loaded *out);
void cg__tls_loaded_clear(struct cg_tls_loaded *l);
void cg__tls_log_cert(struct cg_ctx *ctx, const char *what, X509 *x);
/* Seconds from now until t (negative when t is past); false if t is invalid. */
bool cg__tls_secs_until(const ASN1_TIME *t, long *secs);

/* ---- tickets.c: session ticket keys rotated on a timer (B-06) ---- */
struct cg_tls_tickets;
enum cg_err cg__tls_tickets_new(struct cg_ctx *ctx, SSL_CTX *ssl_ctx, unsigned period_s,
                                struct cg_tls_tickets **out);
void cg__tls_tickets_free(struct cg_tls_tickets *tk);
void cg__tls_tickets_rotate(struct cg_tls_tickets *tk); /* what the timer does; tests */

/* ---- server: one leaf per key type, with its stapled OCSP response ---- */
struct cg_tls_fetch;
struct cg_tls_leaf {
    struct cg_tls_server *srv;
    X509 *cert;
    X509 *issuer;         /* from the chain; NULL: no stapling for this leaf */
    char *ocsp_url;       /* NULL: no responder */
    char name[64];        /* "RSA leaf" / "ECDSA leaf", for logs */
    uint8_t *staple;      /* DER OCSPResponse, or NULL */
    size_t staple_len;
    time_t staple_expires; /* wall clock: the response's nextUpdate */
    int staple_status;     /* V_OCSP_CERTSTATUS_* */
    uv_timer_t *timer;     /* refresh / retry; closed on free */
    struct cg_tls_fetch *fetch; /* outstanding fetch, or NULL */
    unsigned failures;
};

struct cg_tls_server {
    struct cg_ctx *ctx;
    SSL_CTX *ssl_ctx;
    struct cg_tls_leaf leaves[CG_TLS_MAX_LEAVES];
    size_t nleaves;
    /* Handshakes may run on front-door threads (net/frontdoor.c): the status
     * callback reads the staples there while the loop replaces them. */
    pthread_mutex_t staple_mu;
    bool staple_mu_ready;
    unsigned holds; /* cg__tls_server_hold: handshakes that may still run callbacks */
    bool retired;   /* cg__tls_server_free came while held: the last release frees */
    struct cg_tls_tickets *tickets;
    bool ocsp;
    unsigned ocsp_min_refresh_s;
    unsigned ocsp_timeout_s;
};

/* ---- staple.c: the server's status callback and staple storage ---- */
void cg__tls_staple_install_cb(struct cg_tls_server *srv);
/* Verifies a DER OCSPResponse for leaf and, if usable, makes it the staple. */
enum cg_err cg__tls_staple_accept(struct cg_tls_leaf *leaf, const uint8_t *der, size_t len,
                                  long *valid_for_s);

/* ---- ocsp.c: response checks shared by server and client ---- */
/* Checks a basic response: signature by issuer or a delegated responder
 * (trusted: issuer; extra: untrusted certs), this/nextUpdate sane, status of
 * cert found. *status gets V_OCSP_CERTSTATUS_*, *next the nextUpdate (may be
 * NULL in the response). */
enum cg_err cg__tls_ocsp_check(struct cg_ctx *ctx, OCSP_RESPONSE *resp, X509 *cert,
                               X509 *issuer, STACK_OF(X509) *extra, X509_STORE *store,
                               int *status, long *next_in_s);
char *cg__tls_ocsp_url(X509 *cert); /* first OCSP URL in AIA, or NULL */

/* ---- client.c / client_conn.c ---- */
struct cg_tls_client {
    struct cg_ctx *ctx;
    SSL_CTX *ssl_ctx;
    uint8_t pin[32];
    bool has_pin, allow_self_signed, require_staple, insecure;
    char last_refusal[640]; /* the last refusal logged: repeats go to DEBUG */
};

/* What the callbacks saw during one handshake (SSL ex_data, freed with the SSL). */
struct cg_tls_conn {
    struct cg_tls_client *cli;
    int verify_err;   /* first X509_V_ERR_* refused, 0: none */
    enum cg_err fail; /* reason set by a callback, CG_OK: none */
    bool by_pin, self_signed;
    int ocsp; /* V_OCSP_CERTSTATUS_*, -1: no staple checked */
    char host[256];
    char names[200]; /* a wrong-host leaf's names, for the refusal's line */
};
extern int cg__tls_conn_idx; /* SSL ex_data index of struct cg_tls_conn */
struct cg_tls_conn *cg__tls_conn_of(SSL *s);
enum cg_err cg__tls_x509_err(int x509_err); /* X509_V_ERR_* -> CG_E* */
bool cg__tls_pin_matches(const struct cg_tls_client *cli, X509 *leaf);
/* "a.example, b.example": the DNS and IPv4 SANs of x (else its CN), escaped. */
void cg__tls_cert_names(X509 *x, char *out, size_t sz);

/* ---- fetch.c: fetching off the loop thread and the refresh timer ---- */
enum cg_err cg__tls_fetch_start(struct cg_tls_leaf *leaf);
void cg__tls_fetch_schedule(struct cg_tls_leaf *leaf, uint64_t delay_ms);
void cg__tls_fetch_stop(struct cg_tls_leaf *leaf);

#endif
