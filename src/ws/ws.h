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

/* ---- receiving frames (rx.c, sans-I/O) ---- */

enum { CG_WS_OP_CONT = 0, CG_WS_OP_TEXT = 1, CG_WS_OP_BINARY = 2, CG_WS_OP_CLOSE = 8,
       CG_WS_OP_PING = 9, CG_WS_OP_PONG = 10 };

/* What the parser found. Each is called on the feeding thread, with data
 * valid only during the call; the owner may set rx->done to drop the rest. */
struct cg_ws_rx_handler {
    /* A complete data message (fragments joined, unmasked). Text is not
     * checked for UTF-8 here. */
    void (*message)(void *user, bool binary, const uint8_t *data, size_t len);
    void (*ping)(void *user, const uint8_t *data, size_t len);
    /* A valid close frame: code 0 when it carried none. Parsing stops. */
    void (*close)(void *user, uint16_t code, const uint8_t *reason, size_t len);
    /* The peer broke the protocol: close with code (1002, 1007, 1009, 1011);
     * why is a static string for the log. Parsing stops. */
    void (*fail)(void *user, uint16_t code, const char *why);
};

struct cg_ws_rx {
    bool server;       /* frames must be masked (from a client) or must not be */
    bool done;         /* a close frame or a failure: input is ignored */
    bool in_frame;     /* header read, payload pending */
    bool fin, masked;
    uint8_t op;        /* opcode of the current frame */
    uint8_t msg_op;    /* text or binary while a data message is open, else 0 */
    uint8_t hdr[14];   /* header bytes gathered so far */
    uint8_t hdr_len;
    uint8_t mask[4];
    uint8_t ctl[125];  /* payload of the current control frame */
    size_t ctl_len;
    uint64_t remaining; /* payload bytes of the current frame still to come */
    uint64_t off;       /* payload bytes of the current frame seen (for the mask) */
    uint64_t max_msg;
    struct cg_buf msg;  /* the data message being assembled */
};

void cg__ws_rx_init(struct cg_ws_rx *rx, bool server, uint64_t max_msg);
void cg__ws_rx_free(struct cg_ws_rx *rx);
/* dst = src XOR mask (RFC 6455 5.3), the mask's byte (off % 4) first: both
 * masking a client's frame and unmasking one; 8 bytes a step. dst and src
 * may be the same buffer, never overlap otherwise. */
void cg__ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4],
                      uint64_t off);
/* Parses len bytes (any split: a frame may arrive a byte at a time). */
void cg__ws_rx_feed(struct cg_ws_rx *rx, const uint8_t *data, size_t len,
                    const struct cg_ws_rx_handler *h, void *user);

/* Creates the WebSocket state for conn: after a 101 on the server side, at
 * connect time on the client side (client: frames are masked). */
enum cg_err cg__ws_new(struct cg_conn *conn, const struct cg_ws_handlers *h, void *route_user,
                       void *conn_user, size_t max_msg, bool client, struct cg_ws **out);
/* The handshake is complete: messages may flow; calls on_open. */
void cg__ws_opened(struct cg_ws *ws);
/* Records why a connection failed (the first reason wins) and, for a
 * refused upgrade, the HTTP status. */
void cg__ws_set_failure(struct cg_ws *ws, enum cg_err err, int http_status);
void cg__ws_set_retry_after(struct cg_ws *ws, long seconds);
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
