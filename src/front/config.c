/* The front's configuration: copied, checked on the spot. */
#include "front/front.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cg_err cg__front_strlist_add(char ***list, size_t *n, const char *s)
{
    char *copy = cg__strdup(s);
    CG_CHECK(copy != NULL, CG_ENOMEM);
    char **l = realloc(*list, (*n + 1) * sizeof(*l));
    if (l == NULL) {
        free(copy);
        return CG_ENOMEM;
    }
    l[(*n)++] = copy;
    *list = l;
    return CG_OK;
}

static void strlist_free(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

enum cg_err cg_front_config_new(struct cg_front_config **out)
{
    CG_CHECK(out != NULL, CG_EINVAL);
    struct cg_front_config *c = calloc(1, sizeof(*c));
    CG_CHECK(c != NULL, CG_ENOMEM);
    c->rewrite = true;
    c->lim[CG_FRONT_MAX_JSON] = 4u << 20;
    c->lim[CG_FRONT_BACKEND_MS] = 30000;
    c->lim[CG_FRONT_POOL] = 8;
    c->lim[CG_FRONT_WRITE_QUEUE] = 1u << 20;
    *out = c;
    return CG_OK;
}

void cg__front_config_release(struct cg_front_config *c)
{
    free(c->pub_host);
    strlist_free(c->inside, c->ninside);
    strlist_free(c->ws_prefix, c->nws_prefix);
    memset(c, 0, sizeof(*c));
}

void cg_front_config_free(struct cg_front_config *cfg)
{
    if (cfg == NULL)
        return;
    cg__front_config_release(cfg);
    free(cfg);
}

enum cg_err cg_front_config_set_backend(struct cg_front_config *cfg, const char *addr,
                                        uint16_t port, uint16_t ws_port)
{
    CG_CHECK(cfg != NULL && addr != NULL && port != 0, CG_EINVAL);
    unsigned char tmp[16];
    CG_CHECK(inet_pton(AF_INET, addr, tmp) == 1 || inet_pton(AF_INET6, addr, tmp) == 1,
             CG_EINVAL);
    CG_CHECK(strlen(addr) < sizeof(cfg->backend), CG_EINVAL);
    snprintf(cfg->backend, sizeof(cfg->backend), "%s", addr);
    cfg->port = port;
    cfg->ws_port = ws_port != 0 ? ws_port : port;
    return CG_OK;
}

enum cg_err cg_front_config_set_public(struct cg_front_config *cfg, const char *host,
                                       uint16_t port)
{
    CG_CHECK(cfg != NULL && host != NULL && host[0] != '\0' && strlen(host) < 254, CG_EINVAL);
    char norm[300];
    CG_CHECK(cg__front_authority_norm(host, strlen(host), true, norm, sizeof(norm)) &&
                 strchr(host, ':') == NULL,
             CG_EINVAL); /* a name (B-11: not an IP address; no port here) */
    char *h = cg__strdup(host);
    CG_CHECK(h != NULL, CG_ENOMEM);
    free(cfg->pub_host);
    cfg->pub_host = h;
    cfg->pub_port = port;
    return CG_OK;
}

enum cg_err cg_front_config_add_inside(struct cg_front_config *cfg, const char *authority)
{
    CG_CHECK(cfg != NULL && authority != NULL, CG_EINVAL);
    char norm[300];
    CG_CHECK(cg__front_authority_norm(authority, strlen(authority), false, norm, sizeof(norm)),
             CG_EINVAL);
    return cg__front_strlist_add(&cfg->inside, &cfg->ninside, norm);
}

enum cg_err cg_front_config_add_ws_prefix(struct cg_front_config *cfg, const char *prefix)
{
    CG_CHECK(cfg != NULL && prefix != NULL && prefix[0] == '/', CG_EINVAL);
    return cg__front_strlist_add(&cfg->ws_prefix, &cfg->nws_prefix, prefix);
}

enum cg_err cg_front_config_set_rewrite(struct cg_front_config *cfg, bool on)
{
    CG_CHECK(cfg != NULL, CG_EINVAL);
    cfg->rewrite = on;
    return CG_OK;
}

enum cg_err cg_front_config_set_limit(struct cg_front_config *cfg, enum cg_front_limit which,
                                      uint64_t value)
{
    CG_CHECK(cfg != NULL && (unsigned)which < CG_FRONT_NLIMITS, CG_EINVAL);
    static const uint64_t max[CG_FRONT_NLIMITS] = {64u << 20, 3600000, 1024, 1u << 30};
    CG_CHECK(value > 0 && value <= max[which], CG_ERANGE);
    cfg->lim[which] = value;
    return CG_OK;
}

enum cg_err cg__front_config_copy(struct cg_front_config *dst, const struct cg_front_config *src)
{
    *dst = *src;
    dst->pub_host = NULL;
    dst->inside = dst->ws_prefix = NULL;
    dst->ninside = dst->nws_prefix = 0;
    if (src->pub_host != NULL && (dst->pub_host = cg__strdup(src->pub_host)) == NULL)
        return CG_ENOMEM;
    for (size_t i = 0; i < src->ninside; i++)
        CG_GUARD(cg__front_strlist_add(&dst->inside, &dst->ninside, src->inside[i]));
    for (size_t i = 0; i < src->nws_prefix; i++)
        CG_GUARD(cg__front_strlist_add(&dst->ws_prefix, &dst->nws_prefix, src->ws_prefix[i]));
    return CG_OK;
}
