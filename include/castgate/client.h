/* castgate — the secure WebSocket client (wss only, BCP-003-01 client rules).
 *
 * A struct cg_ws_client holds what is common to the connections made to one
 * peer: the trust store (B-14) or a certificate pin, the self-signed policy
 * (M-06), OCSP staple handling (B-12), Basic credentials (M-05) and limits.
 * cg_ws_connect() opens one connection from it. Only wss: URLs exist (B-30).
 * A connection whose TLS handshake or certificate check fails is closed
 * before any byte of application data is sent (B-31), unless the client was
 * configured insecure on purpose (logged as a warning on every connection).
 *
 * Threading and callbacks as in server.h: everything on the context's loop
 * thread; callbacks may call any function here, including cg_ws_close() and
 * cg_ws_client_free().
 */
#ifndef CASTGATE_CLIENT_H
#define CASTGATE_CLIENT_H

#include <castgate/server.h>
#include <castgate/stats.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_ws_client_config;
struct cg_ws_client;

/* Secure defaults: the system trust store, self-signed refused, staple
 * requested and a revoked one refused (a missing one tolerated), no
 * credentials, limits as for the server (handshake_ms covers resolve +
 * connect + TLS + upgrade). */
CG_API enum cg_err cg_ws_client_config_new(struct cg_ws_client_config **out);
CG_API void cg_ws_client_config_free(struct cg_ws_client_config *cfg);

/* Trusted roots (B-14): a PEM bundle and/or an OpenSSL hashed directory.
 * Both NULL: the system store. Files are read by cg_ws_client_new. */
CG_API enum cg_err cg_ws_client_config_set_trust(struct cg_ws_client_config *cfg,
                                                 const char *ca_file, const char *ca_dir);
/* Pins the peer's leaf certificate by the SHA-256 of its DER encoding, given
 * as 64 hex digits (colons allowed). A pinned peer may be self-signed (M-06);
 * its host name and dates are still checked. CG_EINVAL for a malformed pin. */
CG_API enum cg_err cg_ws_client_config_set_pin(struct cg_ws_client_config *cfg,
                                               const char *sha256_hex);
/* The name the peer's certificate must carry, checked instead of the URL's
 * host (and sent as SNI when it is a DNS name): for a peer reached by an
 * address or alias whose certificate names another host (field NCS servers
 * do). Nothing else is relaxed: the chain (or the pin) and the dates are
 * checked as always, and a certificate naming neither is refused before
 * any HTTP byte, and so before the Authorization header, is sent (B-31).
 * A DNS name (no wildcards) or an IP address; NULL: the URL's host
 * (default). CG_EINVAL for anything else. The Host header stays the URL's,
 * except for a URL naming the peer by another DNS name (an alias) while
 * cert_name is a DNS name: then Host is cert_name with the URL's port, so
 * that Host and SNI name the same host (a server may answer a mismatch with
 * 421 Misdirected Request, RFC 9110 §15.5.20; castgate's servers do). */
CG_API enum cg_err cg_ws_client_config_set_cert_name(struct cg_ws_client_config *cfg,
                                                     const char *name);
/* M-06: accept a self-signed peer certificate (off by default). */
CG_API enum cg_err cg_ws_client_config_set_self_signed(struct cg_ws_client_config *cfg,
                                                       bool allow);
/* B-12: refuse a peer that staples no good OCSP response (off by default). */
CG_API enum cg_err cg_ws_client_config_set_require_staple(struct cg_ws_client_config *cfg,
                                                          bool on);
/* B-31: go on after a failed certificate check. Only for a lab: every
 * connection logs a warning while it is on. */
CG_API enum cg_err cg_ws_client_config_set_insecure(struct cg_ws_client_config *cfg, bool on);
/* M-05: HTTP Basic credentials sent in the upgrade request's Authorization
 * header (never in the URL). user must not contain ':' or control
 * characters. Both are copied and wiped from memory when freed. */
CG_API enum cg_err cg_ws_client_config_set_basic_auth(struct cg_ws_client_config *cfg,
                                                      const char *user, const char *password);
/* CG_LIMIT_MAX_WS_MESSAGE, CG_LIMIT_HANDSHAKE_MS, CG_LIMIT_WS_PING_MS,
 * CG_LIMIT_WS_PONG_MS and CG_LIMIT_MAX_WRITE_QUEUE apply to clients. */
CG_API enum cg_err cg_ws_client_config_set_limit(struct cg_ws_client_config *cfg,
                                                 enum cg_server_limit which, uint64_t value);

/* Builds the client (loads the trust store: CG_EFILE, logged). */
CG_API enum cg_err cg_ws_client_new(struct cg_ctx *ctx, const struct cg_ws_client_config *cfg,
                                    struct cg_ws_client **out);
/* Closes every connection of the client (on_close is called for each) and
 * frees the client once they are gone. NULL is a no-op. */
CG_API void cg_ws_client_free(struct cg_ws_client *cli);

/* Starts a connection to url ("wss://host[:port]/path?query"; a ws: URL or
 * one with user information is CG_EINVAL). *out is valid at once and until
 * handlers->on_close returns; on_open says when messages may be sent
 * (cg_ws_send before that: CG_ESTATE). on_upgrade is not used. user is passed
 * to the handlers and is the connection's cg_ws_user(). A connection that
 * fails before opening gets on_close with 1015 (TLS or certificate failure)
 * or 1006; cg_ws_error() and cg_ws_http_status() say why. */
CG_API enum cg_err cg_ws_connect(struct cg_ws_client *cli, const char *url,
                                 const struct cg_ws_handlers *handlers, void *user,
                                 struct cg_ws **out);

/* How the client's connections' set-ups ended so far (castgate/stats.h):
 * CG_WSS_OK when the 101 was accepted, else the first failure: connect,
 * TLS (version, cipher, certificate, alert), the HTTP status of a refused
 * upgrade (401: wrong credentials, M-05), a bad answer, or a timeout. A
 * connection closed by the caller before it opened is not counted. Returns
 * CG_OK or CG_EINVAL (NULL). Loop thread; callback-safe. */
CG_API enum cg_err cg_ws_client_handshake_stats(const struct cg_ws_client *cli,
                                                struct cg_wss_stats *out);

#ifdef __cplusplus
}
#endif
#endif
