/* The client context: trust store (B-14), host names (B-32), staples (B-12),
 * self-signed policy and pinning (M-06), and never going on after a failed
 * check unless the operator said so (B-31). */
#include "tls/tls_int.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg__tls_conn_idx = -1;
static uv_once_t conn_once = UV_ONCE_INIT;
static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                      void *argp)
{
    CG_UNUSED(parent), CG_UNUSED(ad), CG_UNUSED(idx), CG_UNUSED(argl), CG_UNUSED(argp);
    free(ptr);
}
static void conn_idx_init(void)
{
    cg__tls_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
}

struct cg_tls_conn *cg__tls_conn_of(SSL *s)
{
    return s != NULL && cg__tls_conn_idx >= 0 ? SSL_get_ex_data(s, cg__tls_conn_idx) : NULL;
}

enum cg_err cg__tls_x509_err(int x509_err)
{
    switch (x509_err) {
    case X509_V_OK:
        return CG_OK;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return CG_EEXPIRED;
    case X509_V_ERR_CERT_REVOKED:
        return CG_EREVOKED;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return CG_EHOSTNAME;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return CG_ESELFSIGNED;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: /* a root we do not have */
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: /* a look-alike root: our root's name, not its key */
        return CG_EUNTRUSTED;
    case X509_V_ERR_APPLICATION_VERIFICATION: /* verify_cb: not the pinned certificate */
        return CG_EPIN;
    default:
        return CG_EVERIFY;
    }
}

bool cg__tls_pin_matches(const struct cg_tls_client *cli, X509 *leaf)
{
    unsigned char md[32];
    unsigned int n = 0;
    if (!cli->has_pin || leaf == NULL || X509_digest(leaf, EVP_sha256(), md, &n) != 1 || n != 32)
        return false;
    return cg__ct_equal(md, cli->pin, sizeof(md));
}

/* The names a certificate carries (DNS and IP SANs, else its CN), for a
 * wrong-host refusal: "it names other.example". */
void cg__tls_cert_names(X509 *x, char *out, size_t sz)
{
    size_t o = 0;
    out[0] = '\0';
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && o + 4 < sz; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char one[64] = "";
        if (g->type == GEN_DNS)
            cg__log_escape(one, sizeof(one), (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                           (size_t)ASN1_STRING_length(g->d.dNSName));
        else if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4) {
            const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
            snprintf(one, sizeof(one), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        } else if (g->type == GEN_IPADD) {
            snprintf(one, sizeof(one), "an IPv6 address");
        }
        if (one[0] != '\0') {
            int n = snprintf(out + o, sz - o, "%s%s", o > 0 ? ", " : "", one);
            o = n > 0 && (size_t)n < sz - o ? o + (size_t)n : sz - 1;
        }
    }
    GENERAL_NAMES_free(gens);
    if (out[0] == '\0')
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)sz);
    if (out[0] == '\0')
        snprintf(out, sz, "no host");
}

/* Errors a pin may excuse: who issued the leaf. Never the name or the dates. */
static bool trust_error(int e)
{
    return e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || e == X509_V_ERR_CERT_UNTRUSTED;
}

static int verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *s = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct cg_tls_conn *st = cg__tls_conn_of(s);
    if (st == NULL)
        return ok;
    struct cg_tls_client *cli = st->cli;
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    if (ok) {
        if (X509_STORE_CTX_get_error_depth(x) != 0 || !cli->has_pin || cg__tls_pin_matches(cli, leaf))
            return 1;
        X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION); /* pin mismatch */
    }
    int err = X509_STORE_CTX_get_error(x);
    if (trust_error(err) && cg__tls_pin_matches(cli, leaf)) {
        st->by_pin = true;
        return 1;
    }
    if (err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT && cli->allow_self_signed) {
        st->self_signed = true;
        return 1;
    }
    if (cg__tls_x509_err(err) == CG_EHOSTNAME && st->names[0] == '\0')
        cg__tls_cert_names(leaf, st->names, sizeof(st->names)); /* for the refusal's line */
    /* with a pin, an issuer we do not trust means: not the pinned certificate */
    if (cli->has_pin && trust_error(err) && X509_STORE_CTX_get_error_depth(x) == 0)
        err = X509_V_ERR_APPLICATION_VERIFICATION;
    if (st->verify_err == X509_V_OK)
        st->verify_err = err;
    return cli->insecure ? 1 : 0;
}

/* Checks the stapled response once the chain is known. 0 aborts the handshake. */
static int status_cb(SSL *s, void *arg)
{
    CG_UNUSED(arg);
    struct cg_tls_conn *st = cg__tls_conn_of(s);
    if (st == NULL)
        return 1;
    struct cg_tls_client *cli = st->cli;
    const unsigned char *p = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(s, &p);
    STACK_OF(X509) *vchain = SSL_get0_verified_chain(s);
    X509 *leaf = SSL_get0_peer_certificate(s);
    X509 *issuer = sk_X509_num(vchain) > 1 ? sk_X509_value(vchain, 1) : NULL;
    if (len <= 0 || p == NULL || issuer == NULL || leaf == NULL) {
        if (!cli->require_staple)
            return 1;
        st->fail = CG_EOCSP; /* checked (and logged) in cg__tls_client_check */
        return cli->insecure ? 1 : 0;
    }
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    int status = -1;
    long next = 0;
    enum cg_err rc = resp == NULL ? CG_EOCSP
                                  : cg__tls_ocsp_check(cli->ctx, resp, leaf, issuer,
                                                       SSL_get_peer_cert_chain(s),
                                                       SSL_CTX_get_cert_store(cli->ssl_ctx),
                                                       &status, &next);
    OCSP_RESPONSE_free(resp);
    st->ocsp = status;
    if (rc == CG_OK && status == V_OCSP_CERTSTATUS_REVOKED)
        rc = CG_EREVOKED;
    else if (rc == CG_OK && status != V_OCSP_CERTSTATUS_GOOD)
        rc = CG_EOCSP;
    if (rc != CG_OK && st->fail == CG_OK)
        st->fail = rc;
    return rc == CG_OK || cli->insecure ? 1 : 0;
}

static bool fill_store(X509_STORE *st, const char *ca_file, const char *ca_dir)
{
    if (ca_file == NULL && ca_dir == NULL)
        return X509_STORE_set_default_paths(st) == 1;
    return (ca_file == NULL || X509_STORE_load_file(st, ca_file) == 1) &&
           (ca_dir == NULL || X509_STORE_load_path(st, ca_dir) == 1);
}

/* BCP B-14: roots are installed by putting them in the file or directory and
 * removed by taking them out and calling this again: the store is rebuilt
 * from scratch, so a removed root is trusted by no later handshake. */
enum cg_err cg__tls_client_set_trust(struct cg_tls_client *cli, const char *ca_file,
                                     const char *ca_dir)
{
    CG_CHECK(cli != NULL, CG_EINVAL);
    X509_STORE *st = X509_STORE_new();
    CG_CHECK(st != NULL, CG_ENOMEM);
    if (!fill_store(st, ca_file, ca_dir)) {
        X509_STORE_free(st);
        cg__tls_log_errors(cli->ctx, CG_LOG_ERROR, "cannot load trusted roots");
        cg__log(cli->ctx, CG_LOG_ERROR, CG_TLS_COMPONENT, "trusted roots: file %s, dir %s",
                ca_file ? ca_file : "-", ca_dir ? ca_dir : "-");
        return CG_EFILE;
    }
    SSL_CTX_set_cert_store(cli->ssl_ctx, st); /* frees the previous store */
    cg__log(cli->ctx, CG_LOG_INFO, CG_TLS_COMPONENT, "trusted roots loaded from %s%s%s",
            ca_file ? ca_file : "", ca_file && ca_dir ? " and " : "",
            ca_dir ? ca_dir : (ca_file ? "" : "the system trust store"));
    return CG_OK;
}

static enum cg_err load_client_cert(struct cg_tls_client *cli, const struct cg_tls_cert_paths *p)
{
    struct cg_tls_loaded l;
    CG_GUARD(cg__tls_load_pair(cli->ctx, p, &l));
    enum cg_err rc = CG_OK;
    if (SSL_CTX_use_cert_and_key(cli->ssl_ctx, l.leaf, l.key, l.chain, 1) != 1) {
        cg__tls_log_errors(cli->ctx, CG_LOG_ERROR, p->chain_file);
        rc = CG_ECERT;
    } else {
        cg__tls_log_cert(cli->ctx, p->chain_file, l.leaf);
    }
    cg__tls_loaded_clear(&l);
    return rc;
}

static void copy_opts(struct cg_tls_client *cli, const struct cg_tls_client_opts *o)
{
    cli->has_pin = o->pin_sha256 != NULL;
    if (cli->has_pin)
        memcpy(cli->pin, o->pin_sha256, sizeof(cli->pin));
    cli->allow_self_signed = o->allow_self_signed;
    cli->require_staple = o->require_staple;
    cli->insecure = o->insecure_no_verify;
    if (cli->insecure)
        cg__log(cli->ctx, CG_LOG_WARN, CG_TLS_COMPONENT,
                "INSECURE: insecure_no_verify is on; peers will NOT be authenticated (B-31)");
}

enum cg_err cg__tls_client_new(struct cg_ctx *ctx, const struct cg_tls_client_opts *opts,
                               struct cg_tls_client **out)
{
    enum cg_err rc = CG_OK;
    CG_CHECK(ctx != NULL && opts != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    uv_once(&conn_once, conn_idx_init);
    CG_CHECK(cg__tls_conn_idx >= 0, CG_ENOMEM);
    struct cg_tls_client *cli = calloc(1, sizeof(*cli));
    CG_CHECK(cli != NULL, CG_ENOMEM);
    cli->ctx = ctx;
    copy_opts(cli, opts);
    cli->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (cli->ssl_ctx == NULL) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot create the client TLS context");
        CG_ENSURE(false, CG_ETLS);
    }
    CG_TRY(cg__tls_profile_apply(ctx, cli->ssl_ctx, false));
    CG_TRY(cg__tls_client_set_trust(cli, opts->ca_file, opts->ca_dir));
    if (opts->client_cert != NULL)
        CG_TRY(load_client_cert(cli, opts->client_cert));
    SSL_CTX_set_verify(cli->ssl_ctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_tlsext_status_cb(cli->ssl_ctx, status_cb);
    *out = cli;
    cli = NULL;
out:
    cg__tls_client_free(cli);
    return rc;
}

void cg__tls_client_free(struct cg_tls_client *cli)
{
    if (cli == NULL)
        return;
    SSL_CTX_free(cli->ssl_ctx);
    OPENSSL_cleanse(cli->pin, sizeof(cli->pin));
    free(cli);
}

SSL_CTX *cg__tls_client_ssl_ctx(struct cg_tls_client *cli)
{
    return cli != NULL ? cli->ssl_ctx : NULL;
}
