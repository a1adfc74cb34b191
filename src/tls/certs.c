/* Loading a certificate chain and its private key (BCP B-13). */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#define CG_TLS_MAX_PEM (1u << 20)

void cg__tls_loaded_clear(struct cg_tls_loaded *l)
{
    X509_free(l->leaf);
    sk_X509_pop_free(l->chain, X509_free);
    EVP_PKEY_free(l->key);
    memset(l, 0, sizeof(*l));
}

static enum cg_err read_chain(struct cg_ctx *ctx, const char *path, struct cg_tls_loaded *out)
{
    enum cg_err rc = CG_OK;
    BIO *bio = BIO_new_file(path, "r");
    X509 *x = NULL;
    if (bio == NULL) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, path);
        return CG_EFILE;
    }
    out->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    CG_ENSURE(out->leaf != NULL, CG_ECERT);
    out->chain = sk_X509_new_null();
    CG_ENSURE(out->chain != NULL, CG_ENOMEM);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        CG_ENSURE(sk_X509_push(out->chain, x) > 0, CG_ENOMEM);
        x = NULL;
    }
    ERR_clear_error(); /* the loop ends on "no start line" */
out:
    if (rc == CG_ECERT)
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "no PEM certificate in chain file");
    X509_free(x);
    BIO_free(bio);
    return rc;
}

static enum cg_err read_key(struct cg_ctx *ctx, const char *path, EVP_PKEY **out)
{
    /* BCP B-13: private keys are stored securely, so a key the group or
     * others may read or write is refused before it is opened. */
    enum cg_err rc = cg__check_private_file(path);
    if (rc == CG_EPERM) {
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT,
                "private key %s is readable or writable by group/others: chmod 600 it", path);
        return rc;
    }
    if (rc != CG_OK) {
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT, "private key %s: %s", path,
                cg_strerror(rc));
        return rc;
    }
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, path);
        return CG_EFILE;
    }
    *out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (*out == NULL) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot read the private key");
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT, "private key %s is unusable", path);
        return CG_EKEY;
    }
    return CG_OK;
}

enum cg_err cg__tls_load_pair(struct cg_ctx *ctx, const struct cg_tls_cert_paths *p,
                              struct cg_tls_loaded *out)
{
    enum cg_err rc = CG_OK;
    memset(out, 0, sizeof(*out));
    CG_ENSURE(p != NULL && p->chain_file != NULL && p->key_file != NULL, CG_EINVAL);
    rc = read_chain(ctx, p->chain_file, out);
    if (rc != CG_OK) {
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT, "certificate chain %s: %s",
                p->chain_file, cg_strerror(rc));
        goto out;
    }
    CG_TRY(read_key(ctx, p->key_file, &out->key));
    out->key_type = EVP_PKEY_get_base_id(out->key);
    if (out->key_type != EVP_PKEY_RSA && out->key_type != EVP_PKEY_EC) {
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT, "%s: only RSA and ECDSA keys are supported",
                p->key_file);
        CG_ENSURE(false, CG_EKEY);
    }
    if (X509_check_private_key(out->leaf, out->key) != 1) {
        ERR_clear_error();
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT, "key %s does not match certificate %s",
                p->key_file, p->chain_file);
        CG_ENSURE(false, CG_EKEYMISMATCH);
    }
out:
    if (rc != CG_OK)
        cg__tls_loaded_clear(out);
    return rc;
}

bool cg__tls_secs_until(const ASN1_TIME *t, long *secs)
{
    int days = 0, s = 0;
    if (t == NULL || ASN1_TIME_diff(&days, &s, NULL, t) != 1)
        return false;
    *secs = (long)days * 86400L + s;
    return true;
}

static const char *key_desc(EVP_PKEY *k, char *buf, size_t n)
{
    char group[32] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        snprintf(buf, n, "RSA-%d", EVP_PKEY_get_bits(k));
    } else if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) == 1) {
        snprintf(buf, n, "ECDSA %s", group);
    } else {
        snprintf(buf, n, "%s", EVP_PKEY_get0_type_name(k));
    }
    return buf;
}

void cg__tls_log_cert(struct cg_ctx *ctx, const char *what, X509 *x)
{
    char subj[256], kd[48], after[64] = "?";
    long left = 0;
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem != NULL && ASN1_TIME_print(mem, X509_get0_notAfter(x)) == 1) {
        int n = BIO_read(mem, after, (int)sizeof(after) - 1);
        after[n > 0 ? n : 0] = '\0';
    }
    BIO_free(mem);
    bool expired = cg__tls_secs_until(X509_get0_notAfter(x), &left) && left < 0;
    cg__log(ctx, expired ? CG_LOG_WARN : CG_LOG_INFO, CG_TLS_COMPONENT,
            "%s: subject %s, key %s, notAfter %s%s", what, subj,
            key_desc(X509_get0_pubkey(x), kd, sizeof(kd)), after, expired ? " (EXPIRED)" : "");
}
