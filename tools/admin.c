/* The admin listener: /metrics; see admin.h. */
#include "admin.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct admin {
    struct cg_server *srv;
    struct cg_credentials *cred;
    struct metrics *m; /* refreshed before each render (metrics_refresh) */
};

/* Basic credentials (M-05 rules: constant time, lockout); false: res is the refusal. */
static bool authorized(struct admin *a, const struct cg_http_request *req, struct cg_http_response *res)
{
    char who[129];
    enum cg_err rc = cg_credentials_check(a->cred, cg_http_request_header(req, "Authorization"),
                                          cg_http_request_peer(req), who, sizeof(who));
    if (rc != CG_OK) {
        static const char msg[] = "credentials needed\n";
        cg_http_response_set(res, rc == CG_ERATELIMIT ? 429 : 401, "text/plain", msg, sizeof(msg) - 1);
        if (rc != CG_ERATELIMIT)
            cg_http_response_add_header(res, "WWW-Authenticate", "Basic realm=\"castgate admin\"");
        cg_http_response_set_log_reason(res, rc == CG_ERATELIMIT ? "locked out" : "no or wrong credentials");
        return false;
    }
    return true;
}

typedef size_t (*render_fn)(const struct metrics *m, const char *version, char *buf, size_t sz);

static void serve(struct admin *a, const struct cg_http_request *req, struct cg_http_response *res,
                  render_fn render, const char *type)
{
    if (!authorized(a, req, res))
        return;
    size_t sz = 16384, n;
    char *buf = NULL;
    metrics_refresh(a->m); /* the library's counters, as of now */
    for (;;) { /* grow until the text fits */
        char *p = realloc(buf, sz);
        if (p == NULL) {
            free(buf);
            cg_http_response_set(res, 500, NULL, NULL, 0);
            return;
        }
        buf = p;
        n = render(a->m, cg_version(), buf, sz);
        if (n < sz)
            break;
        sz = n + 1;
    }
    cg_http_response_set(res, 200, type, buf, n);
    cg_http_response_add_header(res, "Cache-Control", "no-store");
    free(buf);
}

static void on_metrics(void *user, const struct cg_http_request *req, struct cg_http_response *res)
{
    serve(user, req, res, metrics_render, "text/plain; version=0.0.4; charset=utf-8");
}

/* The status page: no script, no external asset; a strict CSP says so. */
static void on_page(void *user, const struct cg_http_request *req, struct cg_http_response *res)
{
    serve(user, req, res, metrics_render_html, "text/html; charset=utf-8");
    cg_http_response_add_header(res, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
}

enum cg_err admin_start(struct cg_ctx *ctx, const struct gwconf *c, struct metrics *m,
                        struct admin **out)
{
    *out = NULL;
    if (c->admin_listen[0] == '\0')
        return CG_OK;
    if (c->admin_credentials[0] == '\0' || c->g.ncerts == 0) {
        fprintf(stderr, "castgate run: admin_listen needs admin_credentials and a [gateway] cert\n");
        return CG_ECONFIG;
    }
    char host[64];
    uint16_t port;
    if (tool_parse_addr(c->admin_listen, host, sizeof(host), &port, 1) != 0) {
        fprintf(stderr, "castgate run: bad admin_listen '%s' (ADDR:PORT)\n", c->admin_listen);
        return CG_ECONFIG;
    }
    struct admin *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return CG_ENOMEM;
    a->m = m;
    struct cg_server_config *sc = NULL;
    enum cg_err rc = cg_credentials_load(ctx, c->admin_credentials, &a->cred);
    if (rc == CG_OK)
        rc = cg_server_config_new(&sc);
    if (rc == CG_OK)
        rc = cg_server_config_add_listen(sc, host, port);
    for (int i = 0; rc == CG_OK && i < c->g.ncerts; i++)
        rc = cg_server_config_add_cert(sc, c->g.cert[i], c->g.key[i]);
    if (rc == CG_OK)
        rc = cg_server_config_set_ocsp(sc, c->g.ocsp, NULL);
    if (rc == CG_OK)
        rc = cg_server_config_set_hsts(sc, (uint32_t)c->g.hsts, false);
    if (rc == CG_OK)
        rc = cg_server_new(ctx, sc, &a->srv);
    cg_server_config_free(sc);
    if (rc == CG_OK)
        rc = cg_server_add_http_route(a->srv, "/metrics", CG_HTTP_GET | CG_HTTP_HEAD, on_metrics, a);
    if (rc == CG_OK)
        rc = cg_server_add_http_route(a->srv, "/", CG_HTTP_GET | CG_HTTP_HEAD, on_page, a);
    if (rc == CG_OK)
        rc = cg_server_start(a->srv);
    if (rc != CG_OK) {
        fprintf(stderr, "castgate run: admin listener %s: %s\n", c->admin_listen, cg_strerror(rc));
        admin_free(a);
        return rc;
    }
    *out = a;
    return CG_OK;
}

void admin_stats(const struct admin *a, struct metrics *m)
{
    struct cg_wss_stats hs;
    struct cg_auth_stats au;
    struct cg_leaf_stats leaf;
    if (a == NULL || cg_server_handshake_stats(a->srv, &hs) != CG_OK)
        return;
    metrics_listener(m, "admin", &hs, cg_credentials_stats(a->cred, &au) == CG_OK ? &au : NULL);
    for (size_t i = 0; cg_server_leaf_stats(a->srv, i, &leaf) == CG_OK; i++)
        metrics_leaf(m, "admin", &leaf);
}

unsigned admin_port(const struct admin *a) { return a != NULL ? cg_server_port(a->srv, 0) : 0; }

void admin_reload(struct admin *a, const struct gwconf *c)
{
    if (a == NULL)
        return;
    cg_credentials_reload(a->cred);
    const char *chains[MOSCONF_MAX_CERTS], *keys[MOSCONF_MAX_CERTS];
    for (int i = 0; i < c->g.ncerts; i++)
        chains[i] = c->g.cert[i], keys[i] = c->g.key[i];
    if (c->g.ncerts > 0 && cg_server_reload_certs(a->srv, chains, keys, (size_t)c->g.ncerts) != CG_OK)
        fprintf(stderr, "castgate run: reload: the admin listener's certificates KEPT\n");
}

void admin_free(struct admin *a)
{
    if (a == NULL)
        return;
    cg_server_free(a->srv);
    cg_credentials_free(a->cred);
    free(a);
}
