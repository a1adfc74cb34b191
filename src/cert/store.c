/* The server certificate store (B-13): one RSA and one ECDSA certificate per
 * directory, each checked before it is installed, installed atomically, keys
 * 0600. castgate serve --cert-store loads it; SIGHUP reloads it. */
#include "cert/cert.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const store_types[] = {"ecdsa", "rsa"};

struct install {
    struct cg_ctx *ctx;
    const struct cg_cert_install_opts *o;
    EVP_PKEY *key;
    STACK_OF(X509) *certs; /* from cert_file: leaf first */
    STACK_OF(X509) *extra; /* intermediates from both files */
    STACK_OF(X509) *verified;
};

static enum cg_err check_dates(struct install *in, X509 *leaf)
{
    const char *f = in->o->cert_file;
    if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
        cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "%s is not yet valid (notBefore is in the future): check the clock or the "
                "certificate", f);
        return CG_EEXPIRED;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
        cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s has expired (notAfter is past)", f);
        return CG_EEXPIRED;
    }
    return CG_OK;
}

static enum cg_err check_host(struct install *in, X509 *leaf)
{
    if (in->o->host == NULL)
        return CG_OK;
    /* B-42: the advertised name must be in the certificate (SAN). */
    if (X509_check_host(leaf, in->o->host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
        return CG_OK;
    cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
            "%s does not name host '%s' in its subjectAltName (B-11, B-42)", in->o->cert_file,
            in->o->host);
    return CG_ECERT;
}

static enum cg_err gather(struct install *in)
{
    CG_GUARD(cg__cert_read_certs(in->ctx, in->o->cert_file, &in->certs));
    in->extra = sk_X509_new_null();
    CG_CHECK(in->extra != NULL, CG_ENOMEM);
    for (int i = 1; i < sk_X509_num(in->certs); i++) {
        X509 *x = sk_X509_value(in->certs, i);
        CG_CHECK(X509_up_ref(x) == 1 && sk_X509_push(in->extra, x) > 0, CG_ENOMEM);
    }
    if (in->o->chain_file == NULL)
        return CG_OK;
    STACK_OF(X509) *chain = NULL;
    CG_GUARD(cg__cert_read_certs(in->ctx, in->o->chain_file, &chain));
    enum cg_err rc = CG_OK;
    while (rc == CG_OK && sk_X509_num(chain) > 0) {
        X509 *x = sk_X509_shift(chain);
        if (X509_cmp(x, sk_X509_value(in->certs, 0)) == 0) { /* a chain file with the leaf */
            X509_free(x);
        } else if (sk_X509_push(in->extra, x) <= 0) {
            X509_free(x);
            rc = CG_ENOMEM;
        }
    }
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

/* The chain must verify to a root the operator trusts: the installed chain
 * file is then the verified path minus the root (complete, no stray certs). */
static enum cg_err verify_chain(struct install *in, X509 *leaf)
{
    enum cg_err rc = CG_OK;
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    CG_ENSURE(st != NULL && vc != NULL, CG_ENOMEM);
    int ok = in->o->ca_file != NULL ? X509_STORE_load_file(st, in->o->ca_file)
                                    : X509_STORE_set_default_paths(st);
    if (ok != 1) {
        cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "cannot load trusted roots from %s",
                in->o->ca_file != NULL ? in->o->ca_file : "the system store");
        CG_ENSURE(false, CG_EFILE);
    }
    CG_ENSURE(X509_STORE_CTX_init(vc, st, leaf, in->extra) == 1, CG_ENOMEM);
    X509_STORE_CTX_set_purpose(vc, X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(vc) != 1) {
        int e = X509_STORE_CTX_get_error(vc);
        bool incomplete = e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                          e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
        cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: chain does not verify%s: %s",
                in->o->cert_file,
                incomplete ? " (incomplete chain: give the intermediates as CHAIN, or the "
                             "root with --ca)" : "",
                X509_verify_cert_error_string(e));
        CG_ENSURE(false, CG_EVERIFY);
    }
    in->verified = X509_STORE_CTX_get1_chain(vc);
    CG_ENSURE(in->verified != NULL, CG_ENOMEM);
    X509 *top = sk_X509_value(in->verified, sk_X509_num(in->verified) - 1);
    if (sk_X509_num(in->verified) > 1 && X509_check_issued(top, top) == X509_V_OK)
        X509_free(sk_X509_pop(in->verified)); /* the root stays with the clients */
out:
    ERR_clear_error();
    X509_STORE_CTX_free(vc);
    X509_STORE_free(st);
    return rc;
}

static enum cg_err check_pair(struct install *in, X509 *leaf, int *type)
{
    *type = EVP_PKEY_get_base_id(in->key);
    if (*type != EVP_PKEY_RSA && *type != EVP_PKEY_EC) {
        cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "%s: only RSA and ECDSA keys are supported", in->o->key_file);
        return CG_EKEY;
    }
    if (X509_check_private_key(leaf, in->key) != 1) {
        ERR_clear_error();
        cg__log(in->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "key %s does not match certificate %s (mismatched key)", in->o->key_file,
                in->o->cert_file);
        return CG_EKEYMISMATCH;
    }
    return CG_OK;
}

static enum cg_err write_store(struct install *in, const char *type)
{
    enum cg_err rc = CG_OK;
    char path[600], name[32];
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_GUARD(cg__cert_mkdirs(in->ctx, in->o->store_dir, 0700));
    snprintf(name, sizeof(name), "%s.key", type);
    CG_TRY(cg__cert_path(path, sizeof(path), in->o->store_dir, name));
    CG_TRY(cg__cert_key_pem(&b, in->key, NULL));
    CG_TRY(cg__cert_write_atomic(path, b.data, b.len, 0600));
    OPENSSL_cleanse(b.data, b.cap);
    cg__buf_reset(&b);
    for (int i = 0; i < sk_X509_num(in->verified); i++)
        CG_TRY(cg__cert_pem_append(&b, sk_X509_value(in->verified, i)));
    snprintf(name, sizeof(name), "%s.chain.pem", type);
    CG_TRY(cg__cert_path(path, sizeof(path), in->o->store_dir, name));
    CG_TRY(cg__cert_write_atomic(path, b.data, b.len, 0644));
out:
    if (b.data != NULL)
        OPENSSL_cleanse(b.data, b.cap);
    cg__buf_free(&b);
    return rc;
}

enum cg_err cg_cert_store_install(struct cg_ctx *ctx, const struct cg_cert_install_opts *o)
{
    enum cg_err rc = CG_OK;
    struct install in = {.ctx = ctx, .o = o};
    int type = 0;
    CG_CHECK(o != NULL && o->store_dir != NULL && o->cert_file != NULL && o->key_file != NULL,
             CG_EINVAL);
    CG_TRY(cg__cert_read_key(ctx, o->key_file, o->passphrase, &in.key));
    CG_TRY(gather(&in));
    X509 *leaf = sk_X509_value(in.certs, 0);
    CG_TRY(check_pair(&in, leaf, &type));
    CG_TRY(check_dates(&in, leaf));
    CG_TRY(check_host(&in, leaf));
    CG_TRY(verify_chain(&in, leaf));
    const char *t = type == EVP_PKEY_RSA ? "rsa" : "ecdsa";
    CG_TRY(write_store(&in, t));
    cg__log(ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "installed %s as %s/%s.chain.pem", o->cert_file,
            o->store_dir, t);
out:
    EVP_PKEY_free(in.key);
    sk_X509_pop_free(in.certs, X509_free);
    sk_X509_pop_free(in.extra, X509_free);
    sk_X509_pop_free(in.verified, X509_free);
    return rc;
}

enum cg_err cg_cert_store_list(struct cg_ctx *ctx, const char *store_dir,
                               struct cg_cert_info *out, size_t max, size_t *n)
{
    CG_CHECK(store_dir != NULL && n != NULL && (out != NULL || max == 0), CG_EINVAL);
    *n = 0;
    for (size_t i = 0; i < CG_ARRAY_LEN(store_types); i++) {
        char chain[512], key[512], name[32];
        snprintf(name, sizeof(name), "%s.chain.pem", store_types[i]);
        CG_GUARD(cg__cert_path(chain, sizeof(chain), store_dir, name));
        snprintf(name, sizeof(name), "%s.key", store_types[i]);
        CG_GUARD(cg__cert_path(key, sizeof(key), store_dir, name));
        X509 *x = cg__cert_read_one(chain);
        if (x == NULL)
            continue;
        if (*n < max) {
            struct cg_cert_info *info = &out[*n];
            memset(info, 0, sizeof(*info));
            memcpy(info->chain_file, chain, sizeof(chain));
            memcpy(info->key_file, key, sizeof(key));
            cg__cert_info_fill(x, info);
            (*n)++;
        }
        X509_free(x);
    }
    if (*n == 0)
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s holds no certificate", store_dir);
    return *n > 0 ? CG_OK : CG_ENOTFOUND;
}

/* One certificate of a chain file: "what" is the file for the leaf, and
 * "file: intermediate SUBJECT" for the others. */
static enum cg_err expiry_one(struct cg_ctx *ctx, const char *what, X509 *x, long *left_s)
{
    int days = 0, secs = 0;
    CG_CHECK(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) == 1, CG_ECERT);
    long left = (long)days * 86400L + secs;
    *left_s = left;
    if (left < 0) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s has EXPIRED", what);
        return CG_EEXPIRED;
    }
    static const long marks[] = {1, 7, 30};
    for (size_t i = 0; i < CG_ARRAY_LEN(marks); i++) {
        if (left < marks[i] * 86400L) {
            cg__log(ctx, CG_LOG_WARN, CG_CERT_COMPONENT,
                    "%s expires within %ld day%s (%ld hours left): renew it", what, marks[i],
                    marks[i] == 1 ? "" : "s", left / 3600);
            break;
        }
    }
    return CG_OK;
}

enum cg_err cg_cert_check_expiry(struct cg_ctx *ctx, const char *chain_file, long *days_left)
{
    STACK_OF(X509) *certs = NULL;
    CG_CHECK(chain_file != NULL, CG_EINVAL);
    if (cg__cert_read_certs(NULL, chain_file, &certs) != CG_OK) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: no certificate", chain_file);
        return CG_ECERT;
    }
    enum cg_err rc = CG_OK;
    long min_left = 0;
    /* The leaf and every intermediate sent with it: any of them lapsing breaks the chain. */
    for (int i = 0; i < sk_X509_num(certs); i++) {
        char what[800], subj[256];
        X509 *x = sk_X509_value(certs, i);
        X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
        if (i == 0)
            snprintf(what, sizeof(what), "%s", chain_file);
        else
            snprintf(what, sizeof(what), "%s: intermediate %s", chain_file, subj);
        long left = 0;
        enum cg_err r = expiry_one(ctx, what, x, &left);
        if (rc == CG_OK)
            rc = r;
        if (i == 0 || left < min_left)
            min_left = left;
    }
    sk_X509_pop_free(certs, X509_free);
    if (days_left != NULL)
        *days_left = min_left / 86400;
    return rc;
}
