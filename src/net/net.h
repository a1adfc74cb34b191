/* castgate net — TCP over libuv, TLS over memory BIOs, one state machine per
 * socket (internal).
 *
 * libuv delivers ciphertext; it goes into the SSL's read BIO, plaintext comes
 * out of SSL_read and is handed to the current protocol (HTTP, then
 * WebSocket). Everything SSL writes lands in the write BIO and is flushed to
 * the socket with uv_write. The libuv callbacks are thin adapters that call
 * into the state machine (conn.c); the protocol logic is in server.c (routing
 * and rules) and ws/ (frames).
 *
 * Lifetime: cg__conn_close() only starts closing (uv_close on the handles);
 * the memory is released in the last close callback, which libuv runs on a
 * later loop iteration. So a connection may be closed from inside any of its
 * own callbacks: callers check conn->state after calling out.
 */
#ifndef CG_NET_H
#define CG_NET_H

#include "core/core.h"
#include "http/http.h"
#include "tls/tls.h"

#include <castgate/server.h>
#include <uv.h>

enum cg_conn_state {
    CG_CONN_CONNECTING = 0, /* client: resolving and connecting */
    CG_CONN_TLS,       /* TLS handshake in progress */
    CG_CONN_HTTP,      /* server: reading or answering HTTP requests */
    CG_CONN_UPGRADING, /* client: upgrade request sent, reading the answer */
    CG_CONN_WS,        /* WebSocket frames */
    CG_CONN_DRAINING,  /* writing the last bytes, then FIN, reading until EOF */
    CG_CONN_CLOSED,    /* handles closing; memory freed in the last close callback */
    CG_CONN_NSTATES
};

struct cg_server;
struct cg_conn;

/* An upgrade whose answer comes later (cg_upgrade_defer). Owned by the
 * application until cg_upgrade_finish; the connection only points at it and
 * cuts the link (conn = NULL) when it closes first. */
struct cg_upgrade {
    struct cg_conn *conn;     /* NULL once the connection closed */
    struct cg_ws_handlers ws; /* the route's, copied: routes may be removed meanwhile */
    void *route_user;
    char *path;
    struct cg_http_response res;
};

struct cg_server_limits {
    uint64_t v[10]; /* indexed by enum cg_server_limit */
};
struct cg_dial; /* client side of a connection (dial.c) */

struct cg_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    bool shutdown_started;
    struct cg_server *srv;  /* NULL on a client connection */
    struct cg_dial *dial;   /* NULL on a server connection */
    const struct cg_server_limits *lim;
    uint8_t *readbuf;       /* where reads land: consumed before the next read */
    size_t readbuf_len;
    struct cg_ctx *ctx;
    SSL *ssl;
    BIO *net_in;  /* ciphertext from the socket, read by SSL */
    BIO *net_out; /* ciphertext written by SSL, to the socket */
    enum cg_conn_state state;
    char peer[64];
    struct cg_http_parser hp;
    bool served_one;      /* a request was answered: the next wait is "idle" */
    bool request_started; /* bytes of the next request have arrived */
    bool read_paused;
    bool first_byte_seen;
    struct cg_ws *ws;
    const void *upgrade_route;  /* the route while its on_upgrade runs */
    struct cg_upgrade *upgrade; /* an upgrade waiting for its answer */
    struct cg_buf early;        /* bytes that came while it waited */
    size_t queued;      /* bytes handed to uv_write and not yet written */
    int open_handles;   /* tcp + timer not yet closed */
    uint64_t last_rx_ms;
    struct cg_conn *prev, *next;
};

/* The server (server.c); conn.c needs its limits and lists. */
struct cg_route {
    char *path;
    unsigned methods;      /* HTTP routes */
    cg_http_handler handler;
    struct cg_ws_handlers ws; /* WebSocket routes (ws.on_message != NULL or is_ws) */
    bool is_ws;
    void *user;
};

struct cg_listener {
    uv_tcp_t tcp;
    struct cg_server *srv;
    uint16_t port;
    bool open;
};

struct cg_server {
    struct cg_ctx *ctx;
    struct cg_tls_server *tls; /* new connections use it; replaced by a reload */
    /* What cg_server_reload_certs rebuilds from (listen.c): owned copies. */
    struct cg_tls_cert_paths *cert_paths;
    size_t ncert_paths;
    struct cg_tls_server_opts tls_opts; /* .certs unused; .ocsp_responder_override owned */
    struct cg_http_policy policy;
    struct cg_server_limits lim;
    struct cg_listener *listeners;
    size_t nlisteners;
    struct cg_route *routes;
    size_t nroutes;
    struct cg_conn *conns; /* doubly linked list of open connections */
    size_t nconns;
    bool started;
    bool freeing;
    uint8_t readbuf[65536]; /* one read buffer per server: reads are consumed at once */
};

static inline uint64_t cg__lim(const struct cg_server *s, enum cg_server_limit w)
{
    return s->lim.v[w];
}
static inline uint64_t cg__conn_lim(const struct cg_conn *c, enum cg_server_limit w)
{
    return c->lim->v[w];
}

/* conn.c */
void cg__conn_accept(struct cg_server *srv, uv_stream_t *listener);
/* Encrypts and queues plaintext for the peer. */
enum cg_err cg__conn_write(struct cg_conn *c, const void *data, size_t len);
/* Finishes writing what is queued (plus a TLS close_notify), then closes. */
void cg__conn_drain_and_close(struct cg_conn *c);
/* Closes now, dropping anything unwritten. */
void cg__conn_close(struct cg_conn *c, const char *why);
/* Arms the connection's single timer for the current state. */
void cg__conn_arm_timer(struct cg_conn *c, uint64_t ms);
bool cg__conn_write_blocked(const struct cg_conn *c);
/* Sets up handles and buffers of a fresh (zeroed) connection; 2 handles open. */
void cg__conn_init(struct cg_conn *c, struct cg_ctx *ctx, const struct cg_server_limits *lim,
                   uint8_t *readbuf, size_t readbuf_len);
/* Creates the SSL (server or client role) with memory BIOs. */
enum cg_err cg__conn_init_tls(struct cg_conn *c, SSL_CTX *sslctx, bool server);
/* Starts reading; for a client, also sends the ClientHello. */
void cg__conn_start(struct cg_conn *c);
void cg__conn_peer_name(struct cg_conn *c);

/* dial.c: the client's hooks in the state machine. */
void cg__dial_on_tls_done(struct cg_conn *c);
void cg__dial_on_tls_failed(struct cg_conn *c);
void cg__dial_on_data(struct cg_conn *c, const uint8_t *data, size_t len);
void cg__dial_on_closed(struct cg_conn *c); /* from the last close callback */

/* server.c: plaintext for the HTTP state, and what the timer means there. */
void cg__server_on_http_data(struct cg_conn *c, const uint8_t *data, size_t len);
void cg__server_reject(struct cg_conn *c, int status, const char *reason);
/* The connection closes: an upgrade waiting for its answer loses it. */
void cg__server_conn_closing(struct cg_conn *c);

#endif
