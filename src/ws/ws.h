/* castgate ws — WebSocket (RFC 6455) over a castgate connection (internal).
 * The upgrade handshake is sans-I/O; framing is wslay, fed with the
 * connection's plaintext and writing through cg__conn_write. */
#ifndef CG_WS_H
#define CG_WS_H

#include "core/core.h"
#include "http/http.h"

#include <castgate/server.h>

struct cg_conn;

/* Checks an upgrade request (RFC 6455 §4.2.1). CG_OK, or the status to refuse
 * with (400, or 426 for a version other than 13) and a static reason. */
int cg__ws_check_upgrade(const struct cg_http_request *req, const char **reason);
/* base64(SHA-1(key + GUID)) into out (at least 29 bytes). */
enum cg_err cg__ws_accept_key(const char *key, char *out, size_t outsz);
/* True when data is valid UTF-8 (RFC 3629: no overlongs, surrogates or
 * values past U+10FFFF), as text frames must be. */
bool cg__utf8_valid(const uint8_t *data, size_t len);

/* Creates the WebSocket state for conn: after a 101 on the server side, at
 * connect time on the client side (client: frames are masked). */
enum cg_err cg__ws_new(struct cg_conn *conn, const struct cg_ws_handlers *h, void *route_user,
                       void *conn_user, size_t max_msg, bool client, struct cg_ws **out);
/* The handshake is complete: messages may flow; calls on_open. */
void cg__ws_opened(struct cg_ws *ws);
/* Records why a connection failed (the first reason wins) and, for a
 * refused upgrade, the HTTP status. */
void cg__ws_set_failure(struct cg_ws *ws, enum cg_err err, int http_status);
void cg__ws_free(struct cg_ws *ws);
/* Plaintext from the peer. Returns CG_OK, or CG_ECLOSED when the WebSocket
 * is finished and the connection should close. */
enum cg_err cg__ws_on_data(struct cg_ws *ws, const uint8_t *data, size_t len);
/* The transport can take more: flush queued frames. */
enum cg_err cg__ws_on_writable(struct cg_ws *ws);
/* The peer was silent for the ping interval: send a ping. */
void cg__ws_ping(struct cg_ws *ws);
/* The transport is gone: report on_close once (code 1006 unless a close
 * frame was exchanged). */
void cg__ws_on_transport_closed(struct cg_ws *ws);
/* True once we sent a close frame. */
bool cg__ws_close_sent(const struct cg_ws *ws);
/* True when both directions are closed (close frames exchanged). */
bool cg__ws_finished(const struct cg_ws *ws);

#endif
