/* OCSP stapling, server side (BCP B-12): the status callback hands each
 * handshake the response for the certificate OpenSSL selected for it. */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

static bool staple_live(const struct cg_tls_leaf *leaf)
{
    return leaf->staple != NULL && time(NULL) < leaf->staple_expires;
}

static struct cg_tls_leaf *leaf_for(struct cg_tls_server *srv, X509 *x)
{
    for (size_t i = 0; x != NULL && i < srv->nleaves; i++) {
        if (srv->leaves[i].cert == x || X509_cmp(srv->leaves[i].cert, x) == 0)
            return &srv->leaves[i];
    }
    return NULL;
}

/* Called after certificate selection, so SSL_get_certificate() is the leaf
 * this handshake will present (RSA or ECDSA). */
static int status_cb(SSL *s, void *arg)
{
    struct cg_tls_server *srv = arg;
    if (srv == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    struct cg_tls_leaf *leaf = leaf_for(srv, SSL_get_certificate(s)); /* certs: fixed */
    if (leaf == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    /* This may be a front-door thread while the loop replaces the staple. */
    unsigned char *copy = NULL;
    size_t len = 0;
    pthread_mutex_lock(&srv->staple_mu);
    if (staple_live(leaf) && (copy = OPENSSL_malloc(leaf->staple_len)) != NULL) {
        memcpy(copy, leaf->staple, leaf->staple_len); /* OpenSSL frees it */
        len = leaf->staple_len;
    }
    pthread_mutex_unlock(&srv->staple_mu);
    if (copy == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(s, copy, (long)len) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

void cg__tls_staple_install_cb(struct cg_tls_server *srv)
{
    SSL_CTX_set_tlsext_status_cb(srv->ssl_ctx, status_cb);
    SSL_CTX_set_tlsext_status_arg(srv->ssl_ctx, srv);
}

static enum cg_err check_der(struct cg_tls_leaf *leaf, const uint8_t *der, size_t len,
                             int *status, long *next_s)
{
    const unsigned char *p = der;
    CG_CHECK(len > 0 && len < (1u << 20), CG_EOCSP);
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    if (resp == NULL) {
        cg__tls_log_errors(leaf->srv->ctx, CG_LOG_WARN, "OCSP response is not DER");
        return CG_EOCSP;
    }
    enum cg_err rc = cg__tls_ocsp_check(leaf->srv->ctx, resp, leaf->cert, leaf->issuer, NULL,
                                        NULL, status, next_s);
    OCSP_RESPONSE_free(resp);
    return rc;
}

enum cg_err cg__tls_staple_accept(struct cg_tls_leaf *leaf, const uint8_t *der, size_t len,
                                  long *valid_for_s)
{
    int status = -1;
    long next_s = -1;
    CG_CHECK(leaf->issuer != NULL, CG_ENOTFOUND);
    CG_GUARD(check_der(leaf, der, len, &status, &next_s));
    if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
        cg__log(leaf->srv->ctx, CG_LOG_WARN, CG_TLS_COMPONENT,
                "%s: OCSP responder does not know the certificate; not stapling", leaf->name);
        return CG_EOCSP;
    }
    uint8_t *copy = malloc(len);
    CG_CHECK(copy != NULL, CG_ENOMEM);
    memcpy(copy, der, len);
    /* No nextUpdate: "newer information is always available"; keep it for
     * two refresh periods. */
    if (next_s < 0)
        next_s = 2L * (long)leaf->srv->ocsp_min_refresh_s;
    pthread_mutex_lock(&leaf->srv->staple_mu); /* status_cb may read it on another thread */
    uint8_t *old = leaf->staple;
    leaf->staple = copy;
    leaf->staple_len = len;
    leaf->staple_status = status;
    leaf->staple_expires = time(NULL) + next_s;
    pthread_mutex_unlock(&leaf->srv->staple_mu);
    free(old);
    *valid_for_s = next_s;
    if (status == V_OCSP_CERTSTATUS_REVOKED)
        cg__log(leaf->srv->ctx, CG_LOG_ERROR, CG_TLS_COMPONENT,
                "%s: the certificate is REVOKED per OCSP; stapling that so clients see it (B-12)",
                leaf->name);
    else
        cg__log(leaf->srv->ctx, CG_LOG_INFO, CG_TLS_COMPONENT,
                "%s: OCSP status good, stapled, valid for %lds", leaf->name, next_s);
    return CG_OK;
}

enum cg_err cg__tls_server_set_staple(struct cg_tls_server *srv, const uint8_t *der, size_t len)
{
    CG_CHECK(srv != NULL && der != NULL, CG_EINVAL);
    cg__tls_staple_install_cb(srv); /* also when automatic stapling is off */
    enum cg_err last = CG_ENOTFOUND; /* the response covers another leaf: try the next */
    for (size_t i = 0; i < srv->nleaves; i++) {
        long valid = 0;
        if (srv->leaves[i].issuer == NULL)
            continue;
        last = cg__tls_staple_accept(&srv->leaves[i], der, len, &valid);
        if (last != CG_ENOTFOUND)
            return last;
    }
    return last;
}

size_t cg__tls_server_stapled(const struct cg_tls_server *srv)
{
    size_t n = 0;
    for (size_t i = 0; srv != NULL && i < srv->nleaves; i++)
        n += staple_live(&srv->leaves[i]);
    return n;
}

/* Seconds since the epoch of an ASN1_TIME (0 when it is not a valid time). */
static int64_t epoch_of(const ASN1_TIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

static void staple_times(const struct cg_tls_leaf *leaf, struct cg_leaf_stats *out)
{
    const unsigned char *p = leaf->staple;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)leaf->staple_len);
    OCSP_BASICRESP *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
    if (bs != NULL) {
        ASN1_GENERALIZEDTIME *this_update = NULL;
        OCSP_SINGLERESP *single = OCSP_resp_get0(bs, 0); /* a staple answers for this leaf only */
        if (single != NULL)
            OCSP_single_get0_status(single, NULL, NULL, &this_update, NULL);
        out->staple_produced_at = epoch_of(OCSP_resp_get0_produced_at(bs));
        out->staple_this_update = epoch_of(this_update);
        out->stapled = true;
    }
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
}

enum cg_err cg__tls_server_leaf_stats(const struct cg_tls_server *srv, size_t idx,
                                      struct cg_leaf_stats *out)
{
    CG_CHECK(srv != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(idx < srv->nleaves, CG_ENOTFOUND);
    const struct cg_tls_leaf *leaf = &srv->leaves[idx];
    *out = (struct cg_leaf_stats){0};
    EVP_PKEY *k = X509_get0_pubkey(leaf->cert);
    snprintf(out->key_type, sizeof(out->key_type), "%s",
             k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA ? "RSA" : "ECDSA");
    const X509_NAME *subj = X509_get_subject_name(leaf->cert);
    int at = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    unsigned char *cn = NULL;
    int n = at >= 0 ? ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, at)))
                    : -1;
    if (n > 0)
        cg__log_escape(out->subject_cn, sizeof(out->subject_cn), (const char *)cn, (size_t)n);
    OPENSSL_free(cn);
    out->not_after = epoch_of(X509_get0_notAfter(leaf->cert));
    if (staple_live(leaf))
        staple_times(leaf, out);
    return CG_OK;
}
