/* OCSP response checks (RFC 6960 §3.2), shared by the server (before it
 * staples) and the client (before it trusts a staple) — BCP B-12, B-14. */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define CG_OCSP_LEEWAY_S 300 /* clock skew tolerated on this/nextUpdate */

char *cg__tls_ocsp_url(X509 *cert)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    char *url = sk_OPENSSL_STRING_num(urls) > 0 ? cg__strdup(sk_OPENSSL_STRING_value(urls, 0))
                                                 : NULL;
    X509_email_free(urls);
    return url;
}

/* The signer must chain to the issuer: the issuer itself, or a responder it
 * delegated to (EKU OCSPSigning), which OCSP_basic_verify checks. With no
 * store given, the issuer alone is the trust anchor (partial chain). */
static enum cg_err verify_sig(struct cg_ctx *ctx, OCSP_BASICRESP *bs, X509 *issuer,
                              STACK_OF(X509) *extra, X509_STORE *store)
{
    X509_STORE *own = NULL;
    if (store == NULL) {
        own = X509_STORE_new();
        if (own == NULL || X509_STORE_add_cert(own, issuer) != 1 ||
            X509_STORE_set_flags(own, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
            X509_STORE_free(own);
            return CG_ENOMEM;
        }
        store = own;
    }
    int ok = OCSP_basic_verify(bs, extra, store, 0);
    X509_STORE_free(own);
    if (ok <= 0) {
        cg__tls_log_errors(ctx, CG_LOG_WARN, "OCSP response signature does not verify");
        return CG_EOCSP;
    }
    return CG_OK;
}

static enum cg_err find_status(struct cg_ctx *ctx, OCSP_BASICRESP *bs, X509 *cert,
                               X509 *issuer, int *status, long *next_in_s)
{
    int reason = 0;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
    CG_CHECK(id != NULL, CG_ENOMEM);
    int found = OCSP_resp_find_status(bs, id, status, &reason, &rev, &thisupd, &nextupd);
    OCSP_CERTID_free(id);
    if (found != 1)
        return CG_ENOTFOUND;
    if (OCSP_check_validity(thisupd, nextupd, CG_OCSP_LEEWAY_S, -1) != 1) {
        cg__tls_log_errors(ctx, CG_LOG_WARN, "OCSP response is outside thisUpdate..nextUpdate");
        return CG_EEXPIRED;
    }
    *next_in_s = -1;
    if (nextupd != NULL && !cg__tls_secs_until(nextupd, next_in_s))
        return CG_EOCSP;
    return CG_OK;
}

enum cg_err cg__tls_ocsp_check(struct cg_ctx *ctx, OCSP_RESPONSE *resp, X509 *cert,
                               X509 *issuer, STACK_OF(X509) *extra, X509_STORE *store,
                               int *status, long *next_in_s)
{
    enum cg_err rc = CG_OK;
    OCSP_BASICRESP *bs = NULL;
    int rs = OCSP_response_status(resp);
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        cg__log(ctx, CG_LOG_WARN, CG_TLS_COMPONENT, "OCSP responder answered: %s",
                OCSP_response_status_str(rs));
        return CG_EOCSP;
    }
    bs = OCSP_response_get1_basic(resp);
    CG_ENSURE(bs != NULL, CG_EOCSP);
    CG_TRY(verify_sig(ctx, bs, issuer, extra, store));
    CG_TRY(find_status(ctx, bs, cert, issuer, status, next_in_s));
out:
    OCSP_BASICRESP_free(bs);
    return rc;
}
