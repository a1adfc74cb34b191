/* Client, per connection: host name and SNI (B-32), the staple request, and
 * the final verdict on the peer (B-31). */
#include "tls/tls_int.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* B-32: DNS-SD hands out "host.example.com."; certificates never carry the
 * root label, so match and send SNI without it. */
static enum cg_err host_without_dot(const char *host, char *out, size_t outsz)
{
    size_t n = host != NULL ? strlen(host) : 0;
    if (n > 0 && host[n - 1] == '.')
        n--;
    CG_CHECK(n > 0 && n < outsz, CG_EINVAL);
    memcpy(out, host, n);
    out[n] = '\0';
    return CG_OK;
}

static bool is_ip_literal(const char *h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static enum cg_err set_peer_name(SSL *ssl, const char *h)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    if (is_ip_literal(h)) /* no SNI for addresses (RFC 6066 §3) */
        return X509_VERIFY_PARAM_set1_ip_asc(vp, h) == 1 ? CG_OK : CG_EINVAL;
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(vp, h, 0) != 1 || SSL_set_tlsext_host_name(ssl, h) != 1)
        return CG_ETLS;
    return CG_OK;
}

enum cg_err cg__tls_client_prepare(struct cg_tls_client *cli, SSL *ssl, const char *host)
{
    CG_CHECK(cli != NULL && ssl != NULL && SSL_get_SSL_CTX(ssl) == cli->ssl_ctx, CG_EINVAL);
    CG_CHECK(cg__tls_conn_of(ssl) == NULL, CG_ESTATE);
    struct cg_tls_conn *st = calloc(1, sizeof(*st));
    CG_CHECK(st != NULL, CG_ENOMEM);
    st->cli = cli;
    st->ocsp = -1;
    enum cg_err rc = host_without_dot(host, st->host, sizeof(st->host));
    if (rc == CG_OK && SSL_set_ex_data(ssl, cg__tls_conn_idx, st) != 1)
        rc = CG_ENOMEM;
    if (rc != CG_OK) {
        free(st);
        return rc;
    }
    CG_GUARD(set_peer_name(ssl, st->host));
    /* B-12/B-14: ask for a staple; status_cb judges it. */
    CG_CHECK(SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp) == 1, CG_ETLS);
    return CG_OK;
}

/* Why this peer is not acceptable, or CG_OK. */
static enum cg_err judge(struct cg_tls_client *cli, struct cg_tls_conn *st, SSL *ssl, int *x509_err)
{
    X509 *peer = SSL_get0_peer_certificate(ssl);
    long vr = SSL_get_verify_result(ssl);
    *x509_err = st->verify_err != X509_V_OK ? st->verify_err : (int)vr;
    if (peer == NULL)
        return CG_EVERIFY;
    if (st->fail != CG_OK)
        return st->fail;
    if (st->verify_err != X509_V_OK)
        return cg__tls_x509_err(st->verify_err);
    if (vr != X509_V_OK && !st->by_pin && !st->self_signed)
        return cg__tls_x509_err((int)vr);
    if (cli->has_pin && !cg__tls_pin_matches(cli, peer))
        return CG_EPIN;
    if (cli->require_staple && st->ocsp != V_OCSP_CERTSTATUS_GOOD)
        return st->ocsp == V_OCSP_CERTSTATUS_REVOKED ? CG_EREVOKED : CG_EOCSP;
    *x509_err = X509_V_OK;
    return CG_OK;
}

/* What a refusal says beside its code: X509's own words, or for a wrong
 * host the names the certificate carries. */
static const char *why_text(enum cg_err rc, int x509_err, SSL *ssl, char *buf, size_t sz)
{
    const struct cg_tls_conn *st = cg__tls_conn_of(ssl);
    X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
    if (rc == CG_EHOSTNAME && (peer != NULL || (st != NULL && st->names[0] != '\0'))) {
        char names[200];
        if (st != NULL && st->names[0] != '\0') /* noted when the handshake refused it */
            snprintf(names, sizeof(names), "%s", st->names);
        else
            cg__tls_cert_names(peer, names, sizeof(names));
        snprintf(buf, sz, "it names %s", names);
        return buf;
    }
    if (rc == CG_EPIN)
        return "its SHA-256 is not the configured pin";
    if (x509_err != X509_V_OK)
        return X509_verify_cert_error_string(x509_err);
    if (rc == CG_EOCSP)
        return "no usable OCSP staple";
    return cg_strerror(rc);
}

/* A peer dialed again and again is refused the same way each time: the
 * line once, then at DEBUG until something changes. */
static void log_refusal(struct cg_tls_client *cli, const char *line)
{
    bool repeat = strcmp(cli->last_refusal, line) == 0;
    cg__log(cli->ctx, repeat ? CG_LOG_DEBUG : CG_LOG_ERROR, CG_TLS_COMPONENT, "%s", line);
    snprintf(cli->last_refusal, sizeof(cli->last_refusal), "%s", line);
}

enum cg_err cg__tls_client_check(struct cg_tls_client *cli, SSL *ssl, const char *host)
{
    struct cg_tls_conn *st = cg__tls_conn_of(ssl);
    CG_CHECK(cli != NULL && st != NULL && st->cli == cli, CG_ESTATE);
    char h[300], line[sizeof(cli->last_refusal)], buf[260];
    cg__log_escape(h, sizeof(h), host != NULL ? host : st->host,
                   strlen(host != NULL ? host : st->host));
    int x509_err = X509_V_OK;
    enum cg_err rc;
    if (!SSL_is_init_finished(ssl)) {
        x509_err = st->verify_err;
        rc = st->fail != CG_OK ? st->fail : cg__tls_x509_err(x509_err);
        rc = rc != CG_OK ? rc : CG_EHANDSHAKE;
        snprintf(line, sizeof(line), "TLS to %s failed: %s (%s)", h, cg_strerror(rc),
                 why_text(rc, x509_err, ssl, buf, sizeof(buf)));
        log_refusal(cli, line);
        return rc;
    }
    rc = judge(cli, st, ssl, &x509_err);
    if (cli->insecure) {
        cg__log(cli->ctx, CG_LOG_WARN, CG_TLS_COMPONENT,
                "INSECURE: continuing with %s without authenticating it (%s); "
                "insecure_no_verify is on (B-31)",
                h, rc == CG_OK ? "it would have passed" : why_text(rc, x509_err, ssl, buf, sizeof(buf)));
        return CG_OK;
    }
    if (rc != CG_OK) {
        snprintf(line, sizeof(line), "refusing %s: %s (%s)", h, cg_strerror(rc),
                 why_text(rc, x509_err, ssl, buf, sizeof(buf)));
        log_refusal(cli, line);
        return rc;
    }
    cli->last_refusal[0] = '\0';
    if (st->by_pin || st->self_signed)
        cg__log(cli->ctx, CG_LOG_INFO, CG_TLS_COMPONENT, "%s: accepted %s certificate", h,
                st->by_pin ? "a pinned" : "a self-signed (allow_self_signed)");
    return CG_OK;
}
