/* castgate — the secure HTTPS/WSS endpoint engine (BCP-003-01).
 *
 * A struct cg_server listens on one or more TCP addresses and speaks TLS only
 * (B-20): TLS 1.2 and 1.3 with the BCP-003-01 suites in server order (B-01..
 * B-06), several certificates at once (RSA and ECDSA, B-13) with OCSP stapling
 * (B-12). Over TLS it serves HTTP/1.1 routes and WebSocket routes (wss only,
 * B-26) under shared rules: 405 + Allow for any method a route does not allow
 * (B-22), 4xx for invalid requests (413/431 for oversize, B-23), HSTS on every
 * response (B-21), CORS only for configured origins (B-25), and a log line for
 * every rejected request with peer, method, path and reason but never
 * credentials (B-24).
 *
 * Threading: everything runs on the context's loop thread; callbacks are
 * called there and may call any function of this header, including closing
 * the connection they are called for.
 */
#ifndef CASTGATE_SERVER_H
#define CASTGATE_SERVER_H

#include <castgate/ctx.h>
#include <castgate/limits.h>
#include <castgate/stats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_server_config;
struct cg_server;
struct cg_http_request;
struct cg_http_response;
struct cg_ws;

/* ---- configuration (copied by cg_server_new; may be freed after) ---- */

/* Creates a configuration with secure defaults: no listener, no certificate,
 * HSTS max-age 31536000, no CORS origin, OCSP stapling on, session tickets
 * off, and the limits listed for enum cg_server_limit (castgate/limits.h). */
CG_API enum cg_err cg_server_config_new(struct cg_server_config **out);
CG_API void cg_server_config_free(struct cg_server_config *cfg);

/* Adds a listening address: a numeric IPv4 or IPv6 address ("127.0.0.1",
 * "::1") and a port (0: any free port, see cg_server_port). CG_EINVAL for a
 * name or malformed address. */
CG_API enum cg_err cg_server_config_add_listen(struct cg_server_config *cfg, const char *addr,
                                               uint16_t port);

/* Adds a certificate: chain_file holds the leaf first then intermediates (PEM),
 * key_file its private key (PEM), which must not be readable by group or
 * others. One RSA and one ECDSA certificate may be added; the handshake picks
 * the one the client supports (B-13). Files are read by cg_server_new. */
CG_API enum cg_err cg_server_config_add_cert(struct cg_server_config *cfg, const char *chain_file,
                                             const char *key_file);

/* Strict-Transport-Security (B-21): max_age in seconds, 0 disables the header.
 * Values below 15552000 are accepted but logged as a warning at start. */
CG_API enum cg_err cg_server_config_set_hsts(struct cg_server_config *cfg, uint32_t max_age,
                                             bool include_subdomains);

/* Adds an origin ("https://ui.example.com") allowed by CORS (B-25). "*" is
 * refused unless allow_any is true. No origin configured: no CORS headers. */
CG_API enum cg_err cg_server_config_add_cors_origin(struct cg_server_config *cfg,
                                                    const char *origin, bool allow_any);

/* OCSP stapling (B-12), on by default; responder NULL: each certificate's own
 * AIA responder URL. */
CG_API enum cg_err cg_server_config_set_ocsp(struct cg_server_config *cfg, bool enabled,
                                             const char *responder);

/* TLS session tickets (B-06), off by default; when on, ticket keys rotate. */
CG_API enum cg_err cg_server_config_set_session_tickets(struct cg_server_config *cfg, bool on);

/* Sets a limit; CG_ERANGE for 0 or a value the engine cannot honour. */
CG_API enum cg_err cg_server_config_set_limit(struct cg_server_config *cfg,
                                              enum cg_server_limit which, uint64_t value);

/* The front door (issue 12, denial of service): on (the default), the TLS
 * handshakes of accepted connections run on the context's front-door
 * threads (as many as the CPUs less one, at least one; at nice 10, below
 * the loop thread) instead of the loop thread, which carries every open
 * connection: a flood of handshakes or of
 * password guesses costs the loop only the reads and writes of its bytes.
 * At most CG_LIMIT_HANDSHAKES_IN_FLIGHT handshake steps run there at once
 * (the others wait in line, one step per address and round, so a flood
 * from a few addresses delays another address's handshake by about one step
 * per flooding address) and each address may have
 * CG_LIMIT_HANDSHAKES_PER_ADDRESS unfinished handshakes (more are closed at
 * accept, counted as CG_WSS_HTTP_503 and logged at most once a minute).
 * Off: handshakes run on the loop thread, without those two bounds.
 * The TLS profile, certificates, OCSP staples and tickets are the same
 * either way. Callbacks of this header still run on the loop thread only.
 * Returns CG_OK, or CG_EINVAL for a NULL cfg. */
CG_API enum cg_err cg_server_config_set_handshake_threads(struct cg_server_config *cfg, bool on);

/* ---- the server ---- */

/* Builds a server from cfg on ctx: loads and checks certificates and keys
 * (CG_EFILE, CG_EPERM, CG_ECERT, CG_EKEY, CG_EKEYMISMATCH, each logged with
 * the file's name), binds every listener (CG_ENET). Nothing is accepted until
 * cg_server_start. */
CG_API enum cg_err cg_server_new(struct cg_ctx *ctx, const struct cg_server_config *cfg,
                                 struct cg_server **out);

/* Closes every listener and connection (WebSocket peers get close 1001) and
 * frees the server. The context's loop must run afterwards for libuv to
 * release the handles (cg_ctx_free does that). NULL is a no-op. */
CG_API void cg_server_free(struct cg_server *srv);

/* Re-reads certificates and keys (a SIGHUP reload) without dropping a
 * connection. chain_files[i] and key_files[i] (n of them, at most one RSA and
 * one ECDSA) replace the server's certificates; n == 0 re-reads the files the
 * server was built with (or last reloaded from). A new TLS context is built
 * from them (fresh OCSP staples are fetched for it) and used for new
 * handshakes only if every file loads and checks out; established
 * connections keep the context they were made with until they close. On
 * failure nothing changes and the reason is logged naming the file:
 * CG_EFILE, CG_EPERM, CG_ECERT, CG_EKEY, CG_EKEYMISMATCH, CG_ECONFIG.
 * Arrays and strings are copied. Loop thread only; may be called from a
 * callback. */
CG_API enum cg_err cg_server_reload_certs(struct cg_server *srv, const char *const *chain_files,
                                          const char *const *key_files, size_t n);

/* Starts accepting. CG_ESTATE if already started. */
CG_API enum cg_err cg_server_start(struct cg_server *srv);

/* The bound port of listener idx (in cg_server_config_add_listen order), or 0. */
CG_API uint16_t cg_server_port(const struct cg_server *srv, size_t idx);

/* Open connections right now. */
CG_API size_t cg_server_connections(const struct cg_server *srv);

/* How set-ups on the server's listeners ended so far (castgate/stats.h),
 * counted once per failed TLS handshake (version, cipher, certificate,
 * other alert; B-01..B-04), plain text on the TLS port (B-20), a TLS or
 * request timeout, and once per HTTP request answered: CG_WSS_OK for a 101
 * upgrade or an HTTP answer below 400, else its 4xx/5xx reason (every
 * refusal B-24 logs). Returns CG_OK or CG_EINVAL (NULL). Loop thread. */
CG_API enum cg_err cg_server_handshake_stats(const struct cg_server *srv, struct cg_wss_stats *out);

/* The certificate leaves the server serves now (one per key type, B-13;
 * after cg_server_reload_certs, the new ones): *out for leaf idx (0, 1),
 * with its OCSP staple's times when one is stapled (B-12). Returns CG_OK,
 * CG_ENOTFOUND (no leaf idx: the end of the list) or CG_EINVAL (NULL).
 * Loop thread. */
CG_API enum cg_err cg_server_leaf_stats(const struct cg_server *srv, size_t idx,
                                        struct cg_leaf_stats *out);

/* HTTP methods, as a bit set for routes. Any other method (TRACE, CONNECT,
 * PROPFIND, or one no RFC defines) always gets 405 (B-22). */
enum cg_http_method {
    CG_HTTP_GET = 1u << 0,
    CG_HTTP_HEAD = 1u << 1,
    CG_HTTP_POST = 1u << 2,
    CG_HTTP_PUT = 1u << 3,
    CG_HTTP_DELETE = 1u << 4,
    CG_HTTP_PATCH = 1u << 5,
    CG_HTTP_OPTIONS = 1u << 6
};

/* Handles one request; fill res (default: 204 No Content). Called only for an
 * allowed method on an exact path match, after size checks, with the whole
 * body read. A client that sent Expect: 100-continue was sent 100 Continue
 * before its body on the strength of the route and method alone (RFC 9110
 * §10.1.1); any other expectation got 417 without a call. A request whose
 * target was in absolute-form ("https://host:port/path", RFC 9112 §3.2.2)
 * reaches the handler like any other: path and query from the target, and
 * its authority as the Host header. */
typedef void (*cg_http_handler)(void *user, const struct cg_http_request *req,
                                struct cg_http_response *res);

/* Adds an HTTP route for an exact path ("/x-nmos/node/v1.3/self"). methods is
 * a non-empty set of enum cg_http_method. CG_EEXIST if the path has a route. */
CG_API enum cg_err cg_server_add_http_route(struct cg_server *srv, const char *path,
                                            unsigned methods, cg_http_handler handler,
                                            void *user);

struct cg_ws_handlers {
    /* Decides on an upgrade request (GET with valid WebSocket headers). Return
     * 101 to accept, or the HTTP status to refuse with (400, 401, 403, 404…);
     * res may carry a body and headers (e.g. WWW-Authenticate). May set
     * *conn_user, later available as cg_ws_user(). Or CG_UPGRADE_DEFER after
     * cg_upgrade_defer(req): the answer comes later (see below). NULL:
     * accept all. */
    int (*on_upgrade)(void *user, const struct cg_http_request *req,
                      struct cg_http_response *res, void **conn_user);
    /* The connection is open; ws is valid until on_close returns. */
    void (*on_open)(void *user, struct cg_ws *ws);
    /* One complete message (fragments reassembled). data is valid only during
     * the call. binary: opcode 2; otherwise text, already checked as UTF-8. */
    void (*on_message)(void *user, struct cg_ws *ws, bool binary, const uint8_t *data,
                       size_t len);
    /* The connection ended: code is the close code received or sent (1006 when
     * the transport failed without a close frame). */
    void (*on_close)(void *user, struct cg_ws *ws, uint16_t code);
};

/* ---- answering an upgrade later ----
 *
 * An on_upgrade that cannot decide at once (a password hash on a thread
 * pool, say) calls cg_upgrade_defer(req) and returns CG_UPGRADE_DEFER. The
 * connection then waits for cg_upgrade_finish: bytes the peer sends
 * meanwhile are kept (at most the header limit; past it the connection is
 * closed) and handed to the WebSocket after a 101. The header time limit
 * still holds: past it the peer gets 503 with Retry-After and the connection
 * closes. The connection may close for any reason before the answer: then
 * cg_upgrade_request() returns NULL and cg_upgrade_finish only frees. */
#define CG_UPGRADE_DEFER 1

struct cg_upgrade;

/* Only inside on_upgrade, with the req it was given: returns the handle of
 * the deferred answer (the caller owns it until cg_upgrade_finish, which
 * must come exactly once, from the loop thread), or NULL (not inside
 * on_upgrade, called twice, or out of memory: answer now instead). If
 * on_upgrade then returns anything but CG_UPGRADE_DEFER, that status is the
 * answer and cg_upgrade_finish only frees the handle. */
CG_API struct cg_upgrade *cg_upgrade_defer(const struct cg_http_request *req);
/* The waiting request (its headers, query and peer), or NULL once the
 * connection is gone or closing. Valid until cg_upgrade_finish. */
CG_API const struct cg_http_request *cg_upgrade_request(const struct cg_upgrade *up);
/* The response the answer will carry (headers, body, log reason: as in
 * on_upgrade); headers on_upgrade added are in it. Valid until
 * cg_upgrade_finish; never NULL for a non-NULL up. */
CG_API struct cg_http_response *cg_upgrade_response(struct cg_upgrade *up);
/* Answers and frees up: status 101 accepts (conn_user as on_upgrade's
 * *conn_user; on_open follows), anything else refuses (400..599, else 403)
 * and closes. If the connection is gone, only frees. Loop thread; may be
 * called from any callback but the connection's own on_upgrade. */
CG_API void cg_upgrade_finish(struct cg_upgrade *up, int status, void *conn_user);

/* Adds a WebSocket route on an exact path (GET only: anything else 405).
 * handlers is copied. */
CG_API enum cg_err cg_server_add_ws_route(struct cg_server *srv, const char *path,
                                          const struct cg_ws_handlers *handlers, void *user);

/* Removes the route on path: later requests to it get 404. Connections it
 * already upgraded stay open with their handlers. CG_ENOTFOUND if none. */
CG_API enum cg_err cg_server_remove_route(struct cg_server *srv, const char *path);

/* ---- requests and responses (valid only during the callback) ---- */

CG_API const char *cg_http_request_method(const struct cg_http_request *req);
CG_API const char *cg_http_request_path(const struct cg_http_request *req);  /* no query */
CG_API const char *cg_http_request_query(const struct cg_http_request *req); /* "" if none */
CG_API const char *cg_http_request_peer(const struct cg_http_request *req);  /* "ip:port" */
/* Header value by case-insensitive name, or NULL. Repeated headers: the first. */
CG_API const char *cg_http_request_header(const struct cg_http_request *req, const char *name);
CG_API const uint8_t *cg_http_request_body(const struct cg_http_request *req, size_t *len);

/* Sets status and body (copied); content_type may be NULL when len is 0. */
CG_API enum cg_err cg_http_response_set(struct cg_http_response *res, int status,
                                        const char *content_type, const void *body,
                                        size_t len);
/* Adds a header; CG_EINVAL for a bad name or a value with CR, LF or NUL. */
CG_API enum cg_err cg_http_response_add_header(struct cg_http_response *res, const char *name,
                                               const char *value);
/* A reason for the log line of a refused request (B-24); copied. Never put
 * credentials in it. */
CG_API void cg_http_response_set_log_reason(struct cg_http_response *res, const char *reason);

/* ---- WebSocket connections ---- */

/* Queues one message (copied). CG_ECLOSED after close, CG_ETOOBIG past the
 * configured maximum message size. */
CG_API enum cg_err cg_ws_send(struct cg_ws *ws, bool binary, const void *data, size_t len);
/* Starts the closing handshake with code and a short reason (may be NULL). */
CG_API void cg_ws_close(struct cg_ws *ws, uint16_t code, const char *reason);
CG_API void *cg_ws_user(const struct cg_ws *ws);
CG_API void cg_ws_set_user(struct cg_ws *ws, void *user);
CG_API const char *cg_ws_peer(const struct cg_ws *ws); /* "ip:port" */
/* Bytes queued towards the peer and not yet written to the socket. */
CG_API size_t cg_ws_queued(const struct cg_ws *ws);
/* Why the connection closed, valid in on_close: CG_OK after a close
 * handshake; otherwise CG_ECLOSED (transport lost), CG_ETIMEDOUT, CG_ENET,
 * CG_EAUTH (upgrade refused with 401/403), CG_EHTTP (other refusal), CG_EWS,
 * or a TLS reason (CG_EHANDSHAKE, CG_EVERIFY, CG_EREVOKED, CG_EEXPIRED…). */
CG_API enum cg_err cg_ws_error(const struct cg_ws *ws);
/* The HTTP status of a refused client upgrade (401, 404…), else 0. */
CG_API int cg_ws_http_status(const struct cg_ws *ws);
/* The Retry-After of that refusal in seconds (delta-seconds form, capped at
 * 86400), or -1 when there was none, it was an HTTP date or unreadable, or
 * the upgrade was not refused. A castgate listener answers 503 with
 * Retry-After when it is busy (its password hashing pool is full). */
CG_API long cg_ws_retry_after(const struct cg_ws *ws);

#ifdef __cplusplus
}
#endif
#endif
