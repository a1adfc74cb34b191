/* The BCP-003-01 profile: versions, suites and options both sides share. */
#include "tls/tls_int.h"

#include <openssl/err.h>
#include <string.h>

/* BCP B-03: TLS 1.3 suites in server priority order. OpenSSL 3.0's default
 * puts AES-256 first, so the list is always set explicitly. */
const char cg__tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/* BCP B-04: exactly these twelve TLS 1.2 suites, in this order (the last one
 * really is CBC with SHA-256). Nothing else is offered. */
const char cg__tls12_suites[] = "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-AES128-SHA256:"
                                "ECDHE-ECDSA-AES256-SHA384:"
                                "ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-RSA-AES256-GCM-SHA384:"
                                "DHE-RSA-AES128-GCM-SHA256:"
                                "DHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-RSA-AES128-SHA256:"
                                "ECDHE-RSA-AES256-SHA384:"
                                "DHE-RSA-AES128-SHA256:"
                                "DHE-RSA-AES256-SHA256";

enum cg_err cg__tls_profile_apply(struct cg_ctx *ctx, SSL_CTX *c, bool server)
{
    /* BCP B-01/B-02: TLS 1.2 and 1.3 only. Both the floor and the explicit
     * NO_ options are set, and no option of ours can lower them. */
    uint64_t opts = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                    SSL_OP_NO_COMPRESSION /* B-06 */ | SSL_OP_NO_RENEGOTIATION;
    if (server)
        opts |= SSL_OP_CIPHER_SERVER_PREFERENCE; /* B-05 */
    SSL_CTX_set_options(c, opts);
    if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(c, 0) != 1) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot restrict TLS versions");
        return CG_ETLS;
    }
    if (SSL_CTX_set_ciphersuites(c, cg__tls13_suites) != 1) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot set the TLS 1.3 suites (B-03)");
        return CG_ETLS;
    }
    if (SSL_CTX_set_cipher_list(c, cg__tls12_suites) != 1) {
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot set the TLS 1.2 suites (B-04)");
        return CG_ETLS;
    }
    if (server && SSL_CTX_set_dh_auto(c, 1) != 1) { /* DHE-RSA suites of B-04 */
        cg__tls_log_errors(ctx, CG_LOG_ERROR, "cannot enable DH parameters");
        return CG_ETLS;
    }
    return CG_OK;
}

void cg__tls_log_errors(struct cg_ctx *ctx, enum cg_log_level level, const char *what)
{
    char line[900];
    size_t off = 0;
    unsigned long e;
    line[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        if (off + 8 >= sizeof(line))
            continue; /* keep draining */
        if (off > 0) {
            memcpy(line + off, "; ", 2);
            off += 2;
        }
        ERR_error_string_n(e, line + off, sizeof(line) - off);
        off += strlen(line + off);
    }
    cg__log(ctx, level, CG_TLS_COMPONENT, "%s: %s", what,
            off > 0 ? line : "no detail from OpenSSL");
}
