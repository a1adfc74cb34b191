/* Server life: TLS context, listeners, start, free. */
#include "wss/config.h"
#include "ws/ws.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_cert_paths(struct cg_tls_cert_paths *p, size_t n)
{
    for (size_t i = 0; p != NULL && i < n; i++) {
        free((char *)p[i].chain_file);
        free((char *)p[i].key_file);
    }
    free(p);
}

static enum cg_err copy_cert_paths(const char *const *chains, const char *const *keys, size_t n,
                                   struct cg_tls_cert_paths **out)
{
    struct cg_tls_cert_paths *p = calloc(n ? n : 1, sizeof(*p));
    CG_CHECK(p != NULL, CG_ENOMEM);
    for (size_t i = 0; i < n; i++) {
        p[i].chain_file = cg__strdup(chains[i]);
        p[i].key_file = cg__strdup(keys[i]);
        if (p[i].chain_file == NULL || p[i].key_file == NULL) {
            free_cert_paths(p, n);
            return CG_ENOMEM;
        }
    }
    *out = p;
    return CG_OK;
}

static void free_server(struct cg_server *s)
{
    for (size_t i = 0; i < s->nroutes; i++)
        free(s->routes[i].path);
    for (size_t i = 0; i < s->policy.ncors; i++)
        free(s->policy.cors_origins[i]);
    free(s->policy.cors_origins);
    free(s->routes);
    free(s->listeners);
    cg__hsq_free(s->hsq); /* kept until a step still on a thread is done */
    cg__tls_server_free(s->tls); /* likewise */
    free_cert_paths(s->cert_paths, s->ncert_paths);
    free((char *)s->tls_opts.ocsp_responder_override);
    free(s);
}

static void listener_handle_closed(struct cg_listener *l)
{
    if (--l->handles > 0)
        return;
    struct cg_server *s = l->srv;
    l->open = false;
    for (size_t i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].open)
            return;
    free_server(s);
}

static void on_listener_closed(uv_handle_t *h) { listener_handle_closed(h->data); }

static void on_pace_closed(uv_handle_t *h)
{
    struct cg_accept_pace *pace = h->data;
    listener_handle_closed(pace->user);
}

/* The listener's pace (core/accept.h) hands over one connection at a time. */
static bool take_conn(void *user, uv_stream_t *listener)
{
    struct cg_listener *l = user;
    return cg__server_accept(l->srv, listener);
}

static enum cg_err copy_policy(struct cg_server *s, const struct cg_server_config *cfg)
{
    s->policy.hsts_max_age = cfg->hsts_max_age;
    s->policy.hsts_subdomains = cfg->hsts_subdomains;
    if (cfg->ncors == 0)
        return CG_OK;
    s->policy.cors_origins = calloc(cfg->ncors, sizeof(char *));
    CG_CHECK(s->policy.cors_origins != NULL, CG_ENOMEM);
    for (size_t i = 0; i < cfg->ncors; i++) {
        s->policy.cors_origins[i] = cg__strdup(cfg->cors[i]);
        CG_CHECK(s->policy.cors_origins[i] != NULL, CG_ENOMEM);
        s->policy.ncors++;
    }
    return CG_OK;
}

static enum cg_err bind_one(struct cg_server *s, struct cg_listener *l, const char *addr,
                            uint16_t port)
{
    struct sockaddr_storage ss;
    bool v6 = strchr(addr, ':') != NULL;
    int r = v6 ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss)
               : uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss);
    CG_CHECK(r == 0, CG_EINVAL);
    uv_tcp_init(cg_ctx_loop(s->ctx), &l->tcp);
    l->tcp.data = l;
    cg__accept_pace_init(&l->pace, cg_ctx_loop(s->ctx), (uv_stream_t *)&l->tcp, take_conn, l);
    l->handles = 2;
    l->srv = s;
    l->open = true;
    r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, v6 ? UV_TCP_IPV6ONLY : 0);
    struct sockaddr_storage got;
    int len = sizeof(got);
    if (r == 0)
        r = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&got, &len);
    if (r != 0) {
        cg__log(s->ctx, CG_LOG_ERROR, "net", "cannot bind %s port %u: %s", addr, (unsigned)port,
                uv_strerror(r));
        return CG_ENET;
    }
    l->port = ntohs(v6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                       : ((struct sockaddr_in *)&got)->sin_port);
    return CG_OK;
}

static enum cg_err build(struct cg_server *s, const struct cg_server_config *cfg)
{
    CG_CHECK(cfg->ncerts > 0, CG_ECONFIG);
    CG_CHECK(cfg->nlisten > 0, CG_ECONFIG);
    s->lim = cfg->lim;
    CG_GUARD(copy_policy(s, cfg));
    uint32_t seed = 0;
    if (!cfg->loop_handshakes) {
        CG_CHECK(RAND_bytes((unsigned char *)&seed, sizeof(seed)) == 1, CG_ETLS);
        CG_GUARD(cg__hsq_new((unsigned)cfg->lim.v[CG_LIMIT_HANDSHAKES_IN_FLIGHT],
                             (unsigned)cfg->lim.v[CG_LIMIT_HANDSHAKES_PER_ADDRESS], seed, &s->hsq));
    }
    if (cfg->hsts_max_age > 0 && cfg->hsts_max_age < 15552000)
        cg__log(s->ctx, CG_LOG_WARN, "http", "HSTS max-age %u is below 15552000 (B-21)",
                (unsigned)cfg->hsts_max_age);
    if (cfg->hsts_max_age == 0)
        cg__log(s->ctx, CG_LOG_WARN, "http", "HSTS disabled by configuration (B-21)");
    struct cg_tls_server_opts o = {.certs = cfg->certs, .ncerts = cfg->ncerts,
                                   .session_tickets = cfg->tickets, .ocsp_stapling = cfg->ocsp,
                                   .ocsp_responder_override = cfg->ocsp_responder};
    CG_GUARD(cg__tls_server_new(s->ctx, &o, &s->tls));
    s->tls_opts = o;
    s->tls_opts.certs = NULL;
    s->tls_opts.ncerts = 0;
    s->tls_opts.ocsp_responder_override = NULL;
    if (cfg->ocsp_responder != NULL) {
        s->tls_opts.ocsp_responder_override = cg__strdup(cfg->ocsp_responder);
        CG_CHECK(s->tls_opts.ocsp_responder_override != NULL, CG_ENOMEM);
    }
    const char *chains[4], *keys[4];
    for (size_t i = 0; i < cfg->ncerts && i < 4; i++) {
        chains[i] = cfg->certs[i].chain_file;
        keys[i] = cfg->certs[i].key_file;
    }
    CG_GUARD(copy_cert_paths(chains, keys, cfg->ncerts < 4 ? cfg->ncerts : 4, &s->cert_paths));
    s->ncert_paths = cfg->ncerts < 4 ? cfg->ncerts : 4;
    s->listeners = calloc(cfg->nlisten, sizeof(*s->listeners));
    CG_CHECK(s->listeners != NULL, CG_ENOMEM);
    for (size_t i = 0; i < cfg->nlisten; i++) {
        s->nlisteners++;
        CG_GUARD(bind_one(s, &s->listeners[i], cfg->listen[i].addr, cfg->listen[i].port));
    }
    return CG_OK;
}

enum cg_err cg_server_new(struct cg_ctx *ctx, const struct cg_server_config *cfg,
                          struct cg_server **out)
{
    CG_CHECK(ctx != NULL && cfg != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    struct cg_server *s = calloc(1, sizeof(*s));
    CG_CHECK(s != NULL, CG_ENOMEM);
    s->ctx = ctx;
    enum cg_err rc = build(s, cfg);
    if (rc != CG_OK) {
        cg_server_free(s);
        return rc;
    }
    *out = s;
    return CG_OK;
}

static void on_connection(uv_stream_t *l, int status)
{
    struct cg_listener *lst = l->data;
    if (status < 0) {
        cg__log(lst->srv->ctx, CG_LOG_WARN, "net", "accept: %s", uv_strerror(status));
        return;
    }
    cg__accept_pace_ready(&lst->pace);
}

enum cg_err cg_server_start(struct cg_server *srv)
{
    CG_CHECK(srv != NULL, CG_EINVAL);
    CG_CHECK(!srv->started, CG_ESTATE);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        int r = uv_listen((uv_stream_t *)&srv->listeners[i].tcp, 511, on_connection);
        if (r != 0) {
            cg__log(srv->ctx, CG_LOG_ERROR, "net", "listen: %s", uv_strerror(r));
            return CG_ENET;
        }
    }
    srv->started = true;
    return CG_OK;
}

void cg_server_free(struct cg_server *srv)
{
    if (srv == NULL || srv->freeing)
        return;
    srv->freeing = true;
    while (srv->conns != NULL) {
        struct cg_wconn *c = srv->conns;
        if (c->conn.state == CG_CONN_WS)
            cg_ws_close(c->ws, 1001, "server shutting down");
        cg__conn_close(&c->conn, "server shutting down");
    }
    bool any = false;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        if (srv->listeners[i].open) {
            any = true;
            uv_close((uv_handle_t *)&srv->listeners[i].tcp, on_listener_closed);
            cg__accept_pace_close(&srv->listeners[i].pace, on_pace_closed);
        }
    }
    if (!any)
        free_server(srv);
}

uint16_t cg_server_port(const struct cg_server *srv, size_t idx)
{
    return srv != NULL && idx < srv->nlisteners ? srv->listeners[idx].port : 0;
}

size_t cg_server_connections(const struct cg_server *srv) { return srv != NULL ? srv->nconns : 0; }

enum cg_err cg_server_handshake_stats(const struct cg_server *srv, struct cg_wss_stats *out)
{
    CG_CHECK(srv != NULL && out != NULL, CG_EINVAL);
    *out = srv->hs;
    return CG_OK;
}

enum cg_err cg_server_leaf_stats(const struct cg_server *srv, size_t idx, struct cg_leaf_stats *out)
{
    CG_CHECK(srv != NULL && out != NULL, CG_EINVAL);
    CG_CHECK(srv->tls != NULL, CG_ENOTFOUND);
    return cg__tls_server_leaf_stats(srv->tls, idx, out);
}

/* A reload builds a whole new TLS context from the files and swaps it in only
 * when that worked. Established connections hold their SSL, which holds a
 * reference to the old SSL_CTX, so they go on undisturbed; freeing the old
 * cg_tls_server detaches its callbacks from that SSL_CTX first (tls.h). */
enum cg_err cg_server_reload_certs(struct cg_server *srv, const char *const *chain_files,
                                   const char *const *key_files, size_t n)
{
    CG_CHECK(srv != NULL && !srv->freeing, CG_EINVAL);
    CG_CHECK(n == 0 || (chain_files != NULL && key_files != NULL), CG_EINVAL);
    CG_CHECK(n <= 4, CG_ERANGE);
    struct cg_tls_cert_paths *paths = NULL;
    size_t np = n;
    enum cg_err rc = CG_OK;
    if (n > 0) {
        CG_GUARD(copy_cert_paths(chain_files, key_files, n, &paths));
    } else {
        const char *chains[4], *keys[4];
        for (size_t i = 0; i < srv->ncert_paths; i++) {
            chains[i] = srv->cert_paths[i].chain_file;
            keys[i] = srv->cert_paths[i].key_file;
        }
        np = srv->ncert_paths;
        CG_GUARD(copy_cert_paths(chains, keys, np, &paths));
    }
    struct cg_tls_server_opts o = srv->tls_opts;
    o.certs = paths;
    o.ncerts = np;
    struct cg_tls_server *fresh = NULL;
    rc = cg__tls_server_new(srv->ctx, &o, &fresh);
    if (rc != CG_OK) {
        cg__log(srv->ctx, CG_LOG_ERROR, "net",
                "certificate reload refused (%s): still serving the previous certificates",
                cg_strerror(rc));
        free_cert_paths(paths, np);
        return rc;
    }
    cg__tls_server_free(srv->tls);
    srv->tls = fresh;
    free_cert_paths(srv->cert_paths, srv->ncert_paths);
    srv->cert_paths = paths;
    srv->ncert_paths = np;
    cg__log(srv->ctx, CG_LOG_INFO, "net",
            "certificates reloaded: new handshakes use them, %zu open connection%s keep theirs",
            srv->nconns, srv->nconns == 1 ? "" : "s");
    return CG_OK;
}
