/* Session tickets (BCP B-06).
 *
 * The choice: tickets are OFF by default. A TLS 1.2 ticket is encrypted with a
 * server-wide key, so whoever obtains that key can decrypt every session whose
 * ticket was recorded (RFC 5077 §8 — forward secrecy then lasts only as long as
 * the key), and broadcast-control connections are few and long-lived, so full
 * handshakes cost little. Off means SSL_OP_NO_TICKET and zero TLS 1.3 tickets:
 * TLS 1.3 then never resumes, and TLS 1.2 can only resume by session ID from
 * OpenSSL's in-memory server cache (OpenSSL's default lifetime), where nothing
 * outlives the process and no key encrypts many sessions.
 *
 * When an operator turns them on (cg_tls_server_opts.session_tickets), the
 * keys are ours, not OpenSSL's static ones: random, held in memory only,
 * replaced every period on a timer on the context's loop. The previous key is
 * kept for one more period so tickets it issued still decrypt (and get
 * renewed); older tickets fall back to a full handshake. */
#include "tls/tls_int.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    bool valid;
};

struct cg_tls_tickets {
    struct cg_ctx *ctx;
    SSL_CTX *ssl_ctx;
    /* ticket_cb may run on a front-door thread (net/frontdoor.c) while the
     * loop rotates: the keys are read and replaced under mu. */
    pthread_mutex_t mu;
    bool mu_ready;
    struct ticket_key cur, prev;
    uv_timer_t *timer;
};

static int tickets_idx = -1;
static uv_once_t tickets_once = UV_ONCE_INIT;
static void tickets_idx_init(void)
{
    tickets_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static bool key_new(struct ticket_key *k)
{
    k->valid = RAND_bytes(k->name, sizeof(k->name)) == 1 &&
               RAND_priv_bytes(k->aes, sizeof(k->aes)) == 1 &&
               RAND_priv_bytes(k->hmac, sizeof(k->hmac)) == 1;
    return k->valid;
}

/* Rotates: current becomes previous, a fresh key becomes current. */
static void tickets_rotate(struct cg_tls_tickets *tk)
{
    struct ticket_key fresh;
    if (!key_new(&fresh)) {
        cg__tls_log_errors(tk->ctx, CG_LOG_ERROR, "ticket key rotation failed, keeping key");
        return;
    }
    pthread_mutex_lock(&tk->mu);
    tk->prev = tk->cur;
    tk->cur = fresh;
    pthread_mutex_unlock(&tk->mu);
    OPENSSL_cleanse(&fresh, sizeof(fresh));
    cg__log(tk->ctx, CG_LOG_DEBUG, CG_TLS_COMPONENT, "session ticket key rotated");
}

static void on_rotate(uv_timer_t *t) { tickets_rotate(t->data); }

static int set_keys(const struct ticket_key *k, unsigned char *iv, EVP_CIPHER_CTX *c,
                    EVP_MAC_CTX *h, int enc)
{
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(h, p) != 1)
        return -1;
    if (enc)
        return EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 1 : -1;
    return EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 1 : -1;
}

/* With the keys copied out under the lock (the caller wipes the copy). */
static int ticket_keys(struct ticket_key *cur, struct ticket_key *prev, unsigned char name[16],
                       unsigned char *iv, EVP_CIPHER_CTX *c, EVP_MAC_CTX *h, int enc)
{
    if (!cur->valid)
        return enc ? -1 : 0;
    if (enc) {
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
            return -1;
        memcpy(name, cur->name, sizeof(cur->name));
        return set_keys(cur, iv, c, h, 1);
    }
    if (CRYPTO_memcmp(name, cur->name, 16) == 0)
        return set_keys(cur, iv, c, h, 0);
    if (prev->valid && CRYPTO_memcmp(name, prev->name, 16) == 0)
        return set_keys(prev, iv, c, h, 0) == 1 ? 2 : -1; /* 2: renew the ticket */
    return 0; /* unknown or expired key: full handshake */
}

static int ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *c,
                     EVP_MAC_CTX *h, int enc)
{
    struct cg_tls_tickets *tk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), tickets_idx);
    if (tk == NULL)
        return enc ? -1 : 0;
    struct ticket_key keys[2];
    pthread_mutex_lock(&tk->mu);
    keys[0] = tk->cur;
    keys[1] = tk->prev;
    pthread_mutex_unlock(&tk->mu);
    int r = ticket_keys(&keys[0], &keys[1], name, iv, c, h, enc);
    OPENSSL_cleanse(keys, sizeof(keys));
    return r;
}

enum cg_err cg__tls_tickets_new(struct cg_ctx *ctx, SSL_CTX *ssl_ctx, unsigned period_s,
                                struct cg_tls_tickets **out)
{
    uv_once(&tickets_once, tickets_idx_init);
    CG_CHECK(tickets_idx >= 0, CG_ENOMEM);
    struct cg_tls_tickets *tk = calloc(1, sizeof(*tk));
    CG_CHECK(tk != NULL, CG_ENOMEM);
    if (pthread_mutex_init(&tk->mu, NULL) != 0) {
        free(tk);
        return CG_ENOMEM;
    }
    tk->mu_ready = true;
    tk->ctx = ctx;
    tk->ssl_ctx = ssl_ctx;
    tk->timer = malloc(sizeof(*tk->timer));
    if (tk->timer == NULL || !key_new(&tk->cur) ||
        SSL_CTX_set_ex_data(ssl_ctx, tickets_idx, tk) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ssl_ctx, ticket_cb) != 1) {
        free(tk->timer);
        tk->timer = NULL;
        cg__tls_tickets_free(tk);
        return CG_ENOMEM;
    }
    uint64_t ms = (uint64_t)(period_s ? period_s : 3600) * 1000u;
    uv_timer_init(cg_ctx_loop(ctx), tk->timer);
    tk->timer->data = tk;
    uv_timer_start(tk->timer, on_rotate, ms, ms);
    uv_unref((uv_handle_t *)tk->timer); /* rotation alone does not keep the loop alive */
    *out = tk;
    return CG_OK;
}

void cg__tls_tickets_rotate(struct cg_tls_tickets *tk) { tickets_rotate(tk); }

static void free_handle(uv_handle_t *h) { free(h); }

void cg__tls_tickets_free(struct cg_tls_tickets *tk)
{
    if (tk == NULL)
        return;
    /* Connections may outlive us (they hold the SSL_CTX): they stop issuing
     * and accepting tickets rather than reach freed keys. */
    SSL_CTX_set_ex_data(tk->ssl_ctx, tickets_idx, NULL);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(tk->ssl_ctx, NULL);
    SSL_CTX_set_options(tk->ssl_ctx, SSL_OP_NO_TICKET);
    if (tk->timer != NULL)
        uv_close((uv_handle_t *)tk->timer, free_handle);
    if (tk->mu_ready)
        pthread_mutex_destroy(&tk->mu);
    OPENSSL_cleanse(tk, sizeof(*tk));
    free(tk);
}
