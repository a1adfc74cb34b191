/* The client configuration: trust, pinning, credentials, limits. */
#include "wss/client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cg_err cg_ws_client_config_new(struct cg_ws_client_config **out)
{
    CG_CHECK(out != NULL, CG_EINVAL);
    struct cg_ws_client_config *cfg = calloc(1, sizeof(*cfg));
    CG_CHECK(cfg != NULL, CG_ENOMEM);
    cg__limits_default(&cfg->lim);
    *out = cfg;
    return CG_OK;
}

void cg_ws_client_config_free(struct cg_ws_client_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->ca_file);
    free(cfg->ca_dir);
    free(cfg->cert_name);
    if (cfg->auth != NULL)
        cg__wipe_free(cfg->auth, strlen(cfg->auth));
    free(cfg);
}

enum cg_err cg_ws_client_config_set_trust(struct cg_ws_client_config *cfg, const char *ca_file,
                                          const char *ca_dir)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    CG_GUARD(cg__str_replace(&cfg->ca_file, ca_file));
    return cg__str_replace(&cfg->ca_dir, ca_dir);
}

enum cg_err cg_ws_client_config_set_pin(struct cg_ws_client_config *cfg, const char *hex)
{
    CG_CHECK(cfg != NULL && hex != NULL, CG_EINVAL);
    uint8_t pin[32];
    size_t n = 0;
    for (const char *p = hex; *p != '\0'; p++) {
        if (*p == ':')
            continue;
        int hi = cg__hexval(p[0]), lo = p[1] != '\0' ? cg__hexval(p[1]) : -1;
        CG_CHECK(hi >= 0 && lo >= 0 && n < sizeof(pin), CG_EINVAL);
        pin[n++] = (uint8_t)(hi << 4 | lo);
        p++;
    }
    CG_CHECK(n == sizeof(pin), CG_EINVAL);
    memcpy(cfg->pin, pin, sizeof(pin));
    cfg->has_pin = true;
    return CG_OK;
}

/* A DNS name of letters, digits, '-' and '.' (a trailing dot allowed), or an
 * IP address: what a certificate's SAN can carry and we check. */
static bool cert_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 253)
        return false;
    unsigned char ip[16];
    if (inet_pton(AF_INET, n, ip) == 1 || inet_pton(AF_INET6, n, ip) == 1)
        return true;
    for (const char *p = n; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return false;
    return n[0] != '.' && n[0] != '-';
}

enum cg_err cg_ws_client_config_set_cert_name(struct cg_ws_client_config *cfg, const char *name)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    CG_CHECK(name == NULL || cert_name_ok(name), CG_EINVAL);
    return cg__str_replace(&cfg->cert_name, name);
}

CG_BOOL_SETTER(cg_ws_client_config_set_self_signed, struct cg_ws_client_config, allow_self_signed)

CG_BOOL_SETTER(cg_ws_client_config_set_require_staple, struct cg_ws_client_config, require_staple)

CG_BOOL_SETTER(cg_ws_client_config_set_insecure, struct cg_ws_client_config, insecure)

static bool printable(const char *s, bool colon_ok)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || (!colon_ok && *s == ':'))
            return false;
    return true;
}

/* RFC 7617: "Basic " base64(user ":" password). */
enum cg_err cg_ws_client_config_set_basic_auth(struct cg_ws_client_config *cfg, const char *user,
                                               const char *password)
{
    CG_CHECK(cfg != NULL && user != NULL && password != NULL, CG_EINVAL);
    CG_CHECK(printable(user, false) && printable(password, true), CG_EINVAL);
    size_t ul = strlen(user), pl = strlen(password);
    CG_CHECK(ul + pl < 1024, CG_ERANGE);
    char plain[1026];
    memcpy(plain, user, ul);
    plain[ul] = ':';
    memcpy(plain + ul + 1, password, pl);
    size_t enc = 4 * ((ul + pl + 1 + 2) / 3);
    char *v = malloc(6 + enc + 1);
    if (v == NULL) {
        OPENSSL_cleanse(plain, sizeof(plain));
        return CG_ENOMEM;
    }
    memcpy(v, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)v + 6, (const unsigned char *)plain, (int)(ul + pl + 1));
    OPENSSL_cleanse(plain, sizeof(plain));
    if (cfg->auth != NULL)
        cg__wipe_free(cfg->auth, strlen(cfg->auth));
    cfg->auth = v;
    return CG_OK;
}

enum cg_err cg_ws_client_config_set_limit(struct cg_ws_client_config *cfg,
                                          enum cg_server_limit which, uint64_t value)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    return cg__limit_set(&cfg->lim, which, value);
}
