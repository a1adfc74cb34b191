/* The server context: profile, certificates (B-13), tickets (B-06), OCSP (B-12). */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

static X509 *find_issuer(X509 *leaf, STACK_OF(X509) *chain)
{
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        if (X509_check_issued(c, leaf) == X509_V_OK)
            return c;
    }
    return NULL;
}

/* One chain + key into its key-type slot. SSL_CTX_use_cert_and_key keeps a
 * chain per slot, so an ECDSA-only client gets the ECDSA leaf with its own
 * intermediates and an RSA-only client the RSA ones (B-13). */
static enum cg_err add_cert(struct cg_tls_server *srv, const struct cg_tls_cert_paths *p)
{
    enum cg_err rc = CG_OK;
    struct cg_tls_loaded l;
    CG_GUARD(cg__tls_load_pair(srv->ctx, p, &l));
    for (size_t i = 0; i < srv->nleaves; i++) {
        if (EVP_PKEY_get_base_id(X509_get0_pubkey(srv->leaves[i].cert)) == l.key_type) {
            cg__log(srv->ctx, CG_LOG_ERROR, CG_TLS_COMPONENT,
                    "%s: a second %s certificate; one per key type (RSA, ECDSA)", p->chain_file,
                    l.key_type == EVP_PKEY_RSA ? "RSA" : "ECDSA");
            CG_ENSURE(false, CG_ECONFIG);
        }
    }
    if (SSL_CTX_use_cert_and_key(srv->ssl_ctx, l.leaf, l.key, l.chain, 1) != 1) {
        cg__tls_log_errors(srv->ctx, CG_LOG_ERROR, p->chain_file);
        CG_ENSURE(false, CG_ECERT);
    }
    struct cg_tls_leaf *leaf = &srv->leaves[srv->nleaves++];
    leaf->srv = srv;
    leaf->cert = l.leaf;
    X509_up_ref(leaf->cert);
    leaf->issuer = find_issuer(l.leaf, l.chain);
    if (leaf->issuer != NULL)
        X509_up_ref(leaf->issuer);
    snprintf(leaf->name, sizeof(leaf->name), "%s leaf", l.key_type == EVP_PKEY_RSA ? "RSA" : "ECDSA");
    cg__tls_log_cert(srv->ctx, p->chain_file, l.leaf);
out:
    cg__tls_loaded_clear(&l);
    return rc;
}

static enum cg_err setup_tickets(struct cg_tls_server *srv, const struct cg_tls_server_opts *o)
{
    if (o->session_tickets)
        return cg__tls_tickets_new(srv->ctx, srv->ssl_ctx, o->ticket_rotate_s, &srv->tickets);
    /* B-06: off by default (see tickets.c for why). */
    SSL_CTX_set_options(srv->ssl_ctx, SSL_OP_NO_TICKET);
    CG_CHECK(SSL_CTX_set_num_tickets(srv->ssl_ctx, 0) == 1, CG_ETLS);
    return CG_OK;
}

static enum cg_err setup_ocsp(struct cg_tls_server *srv, const struct cg_tls_server_opts *o)
{
    srv->ocsp_min_refresh_s = o->ocsp_min_refresh_s ? o->ocsp_min_refresh_s : 60;
    srv->ocsp_timeout_s = o->ocsp_timeout_s ? o->ocsp_timeout_s : 10;
    if (!o->ocsp_stapling) {
        cg__log(srv->ctx, CG_LOG_INFO, CG_TLS_COMPONENT, "OCSP stapling is off (B-12)");
        return CG_OK;
    }
    srv->ocsp = true;
    cg__tls_staple_install_cb(srv);
    for (size_t i = 0; i < srv->nleaves; i++) {
        struct cg_tls_leaf *leaf = &srv->leaves[i];
        leaf->ocsp_url = o->ocsp_responder_override ? cg__strdup(o->ocsp_responder_override)
                                                    : cg__tls_ocsp_url(leaf->cert);
        if (leaf->ocsp_url == NULL || leaf->issuer == NULL) {
            cg__log(srv->ctx, CG_LOG_WARN, CG_TLS_COMPONENT,
                    "%s: %s, no OCSP stapling for it (B-12)", leaf->name,
                    leaf->issuer == NULL ? "no issuer in its chain file" : "no OCSP URL in AIA");
            continue;
        }
        CG_GUARD(cg__tls_fetch_start(leaf));
    }
    return CG_OK;
}

enum cg_err cg__tls_server_new(struct cg_ctx *ctx, const struct cg_tls_server_opts *opts,
                               struct cg_tls_server **out)
{
    enum cg_err rc = CG_OK;
    CG_CHECK(ctx != NULL && opts != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    if (opts->certs == NULL || opts->ncerts == 0 || opts->ncerts > CG_TLS_MAX_LEAVES) {
        cg__log(ctx, CG_LOG_ERROR, CG_TLS_COMPONENT,
                "a TLS server needs one RSA and/or one ECDSA certificate (got %zu)", opts->ncerts);
        return CG_ECONFIG;
    }
    struct cg_tls_server *srv = calloc(1, sizeof(*srv));
    CG_CHECK(srv != NULL, CG_ENOMEM);
    srv->ctx = ctx;
    if (pthread_mutex_init(&srv->staple_mu, NULL) != 0) {
        free(srv);
        return CG_ENOMEM;
    }
    srv->staple_mu_ready = true;
    srv->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (srv->ssl_ctx == NULL) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot create the server TLS context");
        CG_ENSURE(false, CG_ETLS);
    }
    CG_TRY(cg__tls_profile_apply(ctx, srv->ssl_ctx, true));
    CG_TRY(setup_tickets(srv, opts));
    for (size_t i = 0; i < opts->ncerts; i++)
        CG_TRY(add_cert(srv, &opts->certs[i]));
    CG_TRY(setup_ocsp(srv, opts));
    *out = srv;
    srv = NULL;
out:
    cg__tls_server_free(srv);
    return rc;
}

static void teardown(struct cg_tls_server *srv)
{
    for (size_t i = 0; i < srv->nleaves; i++) {
        struct cg_tls_leaf *leaf = &srv->leaves[i];
        cg__tls_fetch_stop(leaf);
        free(leaf->staple);
        free(leaf->ocsp_url);
        X509_free(leaf->cert);
        X509_free(leaf->issuer);
    }
    cg__tls_tickets_free(srv->tickets);
    if (srv->ssl_ctx != NULL) {
        /* Live connections keep the SSL_CTX: detach everything pointing at srv. */
        SSL_CTX_set_tlsext_status_cb(srv->ssl_ctx, NULL);
        SSL_CTX_set_tlsext_status_arg(srv->ssl_ctx, NULL);
        SSL_CTX_free(srv->ssl_ctx);
    }
    if (srv->staple_mu_ready)
        pthread_mutex_destroy(&srv->staple_mu);
    free(srv);
}

void cg__tls_server_free(struct cg_tls_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->holds == 0) {
        teardown(srv);
        return;
    }
    srv->retired = true; /* a handshake on a thread may still run its callbacks */
    for (size_t i = 0; i < srv->nleaves; i++)
        cg__tls_fetch_stop(&srv->leaves[i]);
}

void cg__tls_server_hold(struct cg_tls_server *srv) { srv->holds++; }

void cg__tls_server_release(struct cg_tls_server *srv)
{
    if (srv != NULL && srv->holds > 0 && --srv->holds == 0 && srv->retired)
        teardown(srv);
}

SSL_CTX *cg__tls_server_ssl_ctx(struct cg_tls_server *srv)
{
    return srv != NULL ? srv->ssl_ctx : NULL;
}
