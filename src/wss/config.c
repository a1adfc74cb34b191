/* The server configuration: copied inputs, validated on the spot, secure
 * defaults. */
#include "wss/config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t limit_default[CG_SERVER_NLIMITS] = {
    [CG_LIMIT_MAX_CONNECTIONS] = 10000,  [CG_LIMIT_MAX_HEADER_BYTES] = 16384,
    [CG_LIMIT_MAX_BODY_BYTES] = 1 << 20, [CG_LIMIT_MAX_WS_MESSAGE] = 16u << 20,
    [CG_LIMIT_HANDSHAKE_MS] = 10000,     [CG_LIMIT_HEADER_MS] = 10000,
    [CG_LIMIT_IDLE_MS] = 60000,          [CG_LIMIT_WS_PING_MS] = 30000,
    [CG_LIMIT_WS_PONG_MS] = 30000,       [CG_LIMIT_MAX_WRITE_QUEUE] = 8u << 20,
    [CG_LIMIT_HANDSHAKES_IN_FLIGHT] = 8, [CG_LIMIT_HANDSHAKES_PER_ADDRESS] = 1024,
};
static const uint64_t limit_max[CG_SERVER_NLIMITS] = {
    [CG_LIMIT_MAX_CONNECTIONS] = 1000000, [CG_LIMIT_MAX_HEADER_BYTES] = 1 << 20,
    [CG_LIMIT_MAX_BODY_BYTES] = 1u << 30, [CG_LIMIT_MAX_WS_MESSAGE] = 1u << 30,
    [CG_LIMIT_HANDSHAKE_MS] = 600000,     [CG_LIMIT_HEADER_MS] = 600000,
    [CG_LIMIT_IDLE_MS] = 86400000,        [CG_LIMIT_WS_PING_MS] = 86400000,
    [CG_LIMIT_WS_PONG_MS] = 86400000,     [CG_LIMIT_MAX_WRITE_QUEUE] = 1u << 30,
    [CG_LIMIT_HANDSHAKES_IN_FLIGHT] = 1024, [CG_LIMIT_HANDSHAKES_PER_ADDRESS] = 1000000,
};

void cg__limits_default(struct cg_server_limits *lim)
{
    memcpy(lim->v, limit_default, sizeof(limit_default));
}

enum cg_err cg__limit_set(struct cg_server_limits *lim, enum cg_server_limit which,
                          uint64_t value)
{
    CG_CHECK((unsigned)which < CG_SERVER_NLIMITS, CG_EINVAL);
    CG_CHECK(value > 0 && value <= limit_max[which], CG_ERANGE);
    if (which == CG_LIMIT_WS_PING_MS || which == CG_LIMIT_WS_PONG_MS)
        CG_CHECK(value >= 100, CG_ERANGE);
    lim->v[which] = value;
    return CG_OK;
}

enum cg_err cg_server_config_new(struct cg_server_config **out)
{
    CG_CHECK(out != NULL, CG_EINVAL);
    struct cg_server_config *cfg = calloc(1, sizeof(*cfg));
    CG_CHECK(cfg != NULL, CG_ENOMEM);
    cfg->hsts_max_age = 31536000; /* B-21: the recommended year */
    cfg->ocsp = true;             /* B-12 */
    cg__limits_default(&cfg->lim);
    *out = cfg;
    return CG_OK;
}

void cg_server_config_free(struct cg_server_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ncerts; i++) {
        free((char *)cfg->certs[i].chain_file);
        free((char *)cfg->certs[i].key_file);
    }
    for (size_t i = 0; i < cfg->ncors; i++)
        free(cfg->cors[i]);
    free(cfg->certs);
    free(cfg->cors);
    free(cfg->listen);
    free(cfg->ocsp_responder);
    free(cfg);
}

enum cg_err cg_server_config_add_listen(struct cg_server_config *cfg, const char *addr,
                                        uint16_t port)
{
    CG_CHECK(cfg != NULL && addr != NULL, CG_EINVAL);
    uint8_t tmp[16];
    bool v6 = strchr(addr, ':') != NULL;
    CG_CHECK(strlen(addr) < INET6_ADDRSTRLEN, CG_EINVAL);
    CG_CHECK(inet_pton(v6 ? AF_INET6 : AF_INET, addr, tmp) == 1, CG_EINVAL);
    void *p = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*cfg->listen));
    CG_CHECK(p != NULL, CG_ENOMEM);
    cfg->listen = p;
    snprintf(cfg->listen[cfg->nlisten].addr, INET6_ADDRSTRLEN, "%s", addr);
    cfg->listen[cfg->nlisten].port = port;
    cfg->nlisten++;
    return CG_OK;
}

enum cg_err cg_server_config_add_cert(struct cg_server_config *cfg, const char *chain_file,
                                      const char *key_file)
{
    CG_CHECK(cfg != NULL && chain_file != NULL && key_file != NULL, CG_EINVAL);
    CG_CHECK(cfg->ncerts < 4, CG_EFULL);
    void *p = realloc(cfg->certs, (cfg->ncerts + 1) * sizeof(*cfg->certs));
    CG_CHECK(p != NULL, CG_ENOMEM);
    cfg->certs = p;
    char *c = cg__strdup(chain_file), *k = cg__strdup(key_file);
    if (c == NULL || k == NULL) {
        free(c);
        free(k);
        return CG_ENOMEM;
    }
    cfg->certs[cfg->ncerts].chain_file = c;
    cfg->certs[cfg->ncerts].key_file = k;
    cfg->ncerts++;
    return CG_OK;
}

enum cg_err cg_server_config_set_hsts(struct cg_server_config *cfg, uint32_t max_age,
                                      bool include_subdomains)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    cfg->hsts_max_age = max_age;
    cfg->hsts_subdomains = include_subdomains;
    return CG_OK;
}

static bool origin_ok(const char *o)
{
    if (strncmp(o, "https://", 8) != 0 && strncmp(o, "http://", 7) != 0)
        return false;
    for (const char *p = o; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == ',')
            return false;
    return o[strlen(o) - 1] != '/';
}

enum cg_err cg_server_config_add_cors_origin(struct cg_server_config *cfg, const char *origin,
                                             bool allow_any)
{
    CG_CHECK(cfg != NULL && origin != NULL, CG_EINVAL);
    bool any = strcmp(origin, "*") == 0;
    CG_CHECK(!any || allow_any, CG_EINVAL); /* B-25: no "*" unless asked for */
    CG_CHECK(any || origin_ok(origin), CG_EINVAL);
    void *p = realloc(cfg->cors, (cfg->ncors + 1) * sizeof(*cfg->cors));
    CG_CHECK(p != NULL, CG_ENOMEM);
    cfg->cors = p;
    cfg->cors[cfg->ncors] = cg__strdup(origin);
    CG_CHECK(cfg->cors[cfg->ncors] != NULL, CG_ENOMEM);
    cfg->ncors++;
    return CG_OK;
}

enum cg_err cg_server_config_set_ocsp(struct cg_server_config *cfg, bool enabled,
                                      const char *responder)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    char *r = NULL;
    if (responder != NULL) {
        CG_CHECK(strncmp(responder, "http://", 7) == 0, CG_EINVAL);
        r = cg__strdup(responder);
        CG_CHECK(r != NULL, CG_ENOMEM);
    }
    free(cfg->ocsp_responder);
    cfg->ocsp_responder = r;
    cfg->ocsp = enabled;
    return CG_OK;
}

CG_BOOL_SETTER(cg_server_config_set_session_tickets, struct cg_server_config, tickets)

enum cg_err cg_server_config_set_handshake_threads(struct cg_server_config *cfg, bool on)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    cfg->loop_handshakes = !on;
    return CG_OK;
}

enum cg_err cg_server_config_set_limit(struct cg_server_config *cfg, enum cg_server_limit which,
                                       uint64_t value)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    return cg__limit_set(&cfg->lim, which, value);
}
