/* castgate — the NMOS secure front: an existing plain-HTTP/ws NMOS node or
 * registry behind BCP-003-01.
 *
 * A struct cg_front is a reverse proxy on the engine's HTTPS/WSS server
 * (server.h): clients speak TLS to it with the BCP-003-01 profile (B-01..B-13,
 * B-20, B-21, B-26); it speaks plain HTTP/1.1 and ws to one backend (a node or
 * registry on loopback or an isolated interface). On the way:
 *
 *  - every request is checked against a route table of the NMOS APIs (IS-04
 *    Node, Query and Registration API v1.0-v1.3, IS-05 Connection API
 *    v1.0-v1.1, IS-07 Events API v1.0): unknown paths get 404, methods a path
 *    does not allow 405 + Allow (B-22), JSON bodies are checked (400 when not
 *    well-formed, 413 past the body limit, 415 for another media type) before
 *    they reach the backend (B-23); every refusal is logged with peer, method,
 *    path, status and reason, never headers or bodies (B-24);
 *  - CORS only for the server configuration's origins (B-25): the backend's
 *    own Access-Control-* headers are replaced; HSTS on every response (B-21);
 *  - hop-by-hop headers are removed and X-Forwarded-For/-Proto/-Host and
 *    Forwarded (RFC 7239) are set (a client's own are dropped: the front is
 *    the edge);
 *  - URLs the backend returns in JSON (IS-04 api.endpoints[], href, controls,
 *    ws_href, manifest_href, IS-05 connection_uri ...) and in Location headers
 *    become https/wss with the public host and port, when they name the
 *    backend (or the public host with the wrong scheme); WebSocket text
 *    messages from the backend (Query API grains) get the same rewrite;
 *  - bodies stream: only JSON responses up to a bound are held for rewriting,
 *    each direction pauses reading the other side while its write queue is
 *    over a bound, and idle backend connections are kept in a small pool.
 *
 * Threading: everything runs on the context's loop thread.
 */
#ifndef CASTGATE_FRONT_H
#define CASTGATE_FRONT_H

#include <castgate/ctx.h>
#include <castgate/server.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_front_config;
struct cg_front;

/* A configuration with defaults: no backend, no public host, rewriting on,
 * JSON rewrite bound 4 MiB, backend timeout 30 s, pool of 8 idle backend
 * connections, write queue bound 1 MiB per direction. */
CG_API enum cg_err cg_front_config_new(struct cg_front_config **out);
CG_API void cg_front_config_free(struct cg_front_config *cfg);

/* The backend: a numeric IPv4 or IPv6 address and port (plain HTTP/ws).
 * ws_port (0: the same port) is where WebSocket upgrades go, for backends
 * that serve them on a port of their own. CG_EINVAL for a name. */
CG_API enum cg_err cg_front_config_set_backend(struct cg_front_config *cfg, const char *addr,
                                               uint16_t port, uint16_t ws_port);

/* The name clients use for the front (a name in its certificate, B-42) and
 * its port (0: the port of the first listener). Rewritten URLs carry them. */
CG_API enum cg_err cg_front_config_set_public(struct cg_front_config *cfg, const char *host,
                                              uint16_t port);

/* Another authority ("host:port", "[v6]:port", or "host" for port 80) the
 * backend uses for itself in URLs, besides its address and ws port: e.g. the
 * LAN address a node advertises. Rewritten like the backend's own. */
CG_API enum cg_err cg_front_config_add_inside(struct cg_front_config *cfg, const char *authority);

/* A path prefix (starting with '/') where WebSocket upgrades are allowed and
 * passed through besides the route table's (e.g. an IS-07 event socket). */
CG_API enum cg_err cg_front_config_add_ws_prefix(struct cg_front_config *cfg, const char *prefix);

/* Rewriting of URLs on the secure face, on by default (off: tests only). */
CG_API enum cg_err cg_front_config_set_rewrite(struct cg_front_config *cfg, bool on);

enum cg_front_limit {
    CG_FRONT_MAX_JSON = 0,     /* bytes of a JSON response held for rewriting (default 4 MiB) */
    CG_FRONT_BACKEND_MS = 1,   /* connect + response head from the backend (default 30000) */
    CG_FRONT_POOL = 2,         /* idle backend connections kept (default 8; 0 < n <= 1024) */
    CG_FRONT_WRITE_QUEUE = 3   /* bytes queued to one side before the other is paused (1 MiB) */
};
/* CG_ERANGE for 0 or a value out of range. */
CG_API enum cg_err cg_front_config_set_limit(struct cg_front_config *cfg,
                                             enum cg_front_limit which, uint64_t value);

/* Builds the front: the server from scfg (listeners, certificates, OCSP
 * stapling, HSTS, CORS origins, limits: see server.h; errors as
 * cg_server_new), the proxy from fcfg (CG_ECONFIG without a backend or a
 * public host). Both configurations are copied. */
CG_API enum cg_err cg_front_new(struct cg_ctx *ctx, const struct cg_front_config *fcfg,
                                const struct cg_server_config *scfg, struct cg_front **out);
/* Starts accepting. */
CG_API enum cg_err cg_front_start(struct cg_front *f);
/* The bound port of listener idx, or 0. */
CG_API uint16_t cg_front_port(const struct cg_front *f, size_t idx);
/* The server (for cg_server_reload_certs). Owned by the front. */
CG_API struct cg_server *cg_front_server(struct cg_front *f);
/* Closes every connection and listener and frees the front once libuv has
 * released the handles (run the loop afterwards). NULL is a no-op. */
CG_API void cg_front_free(struct cg_front *f);

struct cg_front_stats {
    uint64_t requests;    /* requests forwarded to the backend */
    uint64_t refused;     /* requests answered by the front with a 4xx (B-22, B-23) */
    uint64_t bad_gateway; /* 502/504 answers */
    uint64_t rewritten;   /* JSON bodies or messages in which a URL was rewritten */
    uint64_t pool_reused; /* requests sent on a pooled backend connection */
    uint64_t tunnels;     /* WebSocket connections passed through */
};
CG_API void cg_front_get_stats(const struct cg_front *f, struct cg_front_stats *out);

#ifdef __cplusplus
}
#endif
#endif
