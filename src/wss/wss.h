/* castgate wss — the HTTPS server and the wss dialer: the users of net/
 * (internal). Each connection is a struct cg_wconn wrapping the net/
 * connection; net/ reports to it through an operations table (server.c's
 * and dial.c's), and it hands WebSocket frames to ws/. */
#ifndef CG_WSS_H
#define CG_WSS_H

#include "core/accept.h"
#include "wss/reflog.h"
#include "http/http.h"
#include "net/net.h"

struct cg_server;
struct cg_dial; /* client side of a connection (dial.c) */
struct cg_wconn;

/* An upgrade whose answer comes later (cg_upgrade_defer). Owned by the
 * application until cg_upgrade_finish; the connection only points at it and
 * cuts the link (conn = NULL) when it closes first. */
struct cg_upgrade {
    struct cg_wconn *conn;    /* NULL once the connection closed */
    struct cg_ws_handlers ws; /* the route's, copied: routes may be removed meanwhile */
    void *route_user;
    char *path;
    struct cg_http_response res;
};

/* One connection of the server or the dialer: net/'s connection (user =
 * this) and what HTTP and WebSocket keep about it. */
struct cg_wconn {
    struct cg_conn conn;
    struct cg_server *srv;  /* NULL on a client connection */
    struct cg_http_parser hp;
    bool request_started; /* bytes of the next request have arrived */
    struct cg_ws *ws;
    const void *upgrade_route;  /* the route while its on_upgrade runs */
    struct cg_upgrade *upgrade; /* an upgrade waiting for its answer */
    struct cg_buf early;        /* bytes that came while it waited */
    struct cg_wconn *prev, *next;
    struct cg_wss_stats *stats; /* the server's or the client's set-up results, or NULL */
};

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
    /* a few accepts per turn of the loop, so a flood waiting in the backlog
     * (511) does not hold up the open lanes (core/accept.h, issue 12) */
    struct cg_accept_pace pace;
    int handles; /* tcp and pace.turn until both are closed */
    struct cg_server *srv;
    uint16_t port;
    bool open;
};

/* An accept gate (cg__server_add_gate): asked with a new connection's IP
 * address before any TLS work; true refuses it. */
typedef bool (*cg__accept_gate_fn)(void *user, const char *ip);
#define CG_SERVER_GATES 8

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
    struct cg_wconn *conns; /* doubly linked list of open connections */
    struct cg_wss_stats hs; /* set-up results (cg_server_handshake_stats) */
    /* The front door (net/frontdoor.c): handshakes on the front-door
     * threads in this line; NULL: on the loop thread. */
    struct cg_hsq *hsq;
    uint64_t hs_refused;       /* closed at accept: the address's handshake cap */
    unsigned hs_refused_quiet; /* since the last log line */
    uint64_t hs_refused_log_ms;
    struct cg_reflog refusals; /* which refusals get a log line (reflog.h) */
    size_t nconns;
    bool started;
    bool freeing;
    /* Another user of net/ (src/front) may take the accepted connections. */
    void (*accept_hook)(void *user, uv_stream_t *listener);
    void *accept_user;
    uint8_t readbuf[65536]; /* one read buffer per server: reads are consumed at once */
    struct {
        cg__accept_gate_fn fn;
        void *user;
    } gates[CG_SERVER_GATES];
    size_t ngates;
    uint64_t gated;         /* connections refused by a gate, in all */
    unsigned gated_quiet;   /* refused since the last log line */
    uint64_t gated_log_ms;  /* when that line was written (0: never) */
};

static inline uint64_t cg__lim(const struct cg_server *s, enum cg_server_limit w)
{
    return s->lim.v[w];
}

/* wconn.c: what both sides share. */
void cg__wconn_init(struct cg_wconn *w, struct cg_ctx *ctx, const struct cg_server_limits *lim,
                    uint8_t *readbuf, size_t readbuf_len, const struct cg_conn_ops *ops);
/* The WebSocket state: frames in, the ping timer, writable, close. */
void cg__wconn_ws_data(struct cg_wconn *w, const uint8_t *data, size_t len);
void cg__wconn_ws_timeout(struct cg_wconn *w);
void cg__wconn_writable(struct cg_conn *c);
/* Connection set-up took too long (connect, TLS, upgrade). */
void cg__wconn_setup_timeout(struct cg_wconn *w);
/* Counts one set-up result on w's stats (castgate/stats.h). */
void cg__wconn_count(struct cg_wconn *w, enum cg_wss_result r);
/* The same for a failed TLS handshake, from OpenSSL's error queue (peeked,
 * not consumed: call it before logging the errors). */
void cg__wconn_count_tls(struct cg_wconn *w);
/* Releases what cg__wconn_init set up (not w itself). */
void cg__wconn_release(struct cg_wconn *w);
/* Writes res on conn: serialised for req (its parser's request: NULL, or one
 * without a path, for a request that never parsed) under pol's rules; if
 * that fails conn is closed. The HTTPS server's and the NMOS front's. */
void cg__wss_respond(struct cg_conn *conn, const struct cg_http_request *req,
                     const struct cg_http_policy *pol, struct cg_http_response *res);
/* RFC 9110 §15.5.20: true when req's Host names another host than the
 * server name conn's client sent in its TLS handshake (cg__http_misdirected);
 * why (whysz bytes) then says so with both names escaped (B-24), for a 421.
 * The HTTPS server's and the NMOS front's (misdirected.c). */
bool cg__wss_misdirected(const struct cg_conn *conn, const struct cg_http_request *req, char *why,
                         size_t whysz);

/* server.c */
/* Takes one connection from listener (uv_accept; the listener's pace calls
 * it). False: no memory for it, left in the backlog for the next turn. */
bool cg__server_accept(struct cg_server *srv, uv_stream_t *listener);
/* What a request's head alone decides, before any of its content is read
 * (the answer to Expect: 100-continue, RFC 9110 §10.1.1). Returns 0 when a
 * route takes the request (or answers it as a CORS preflight, B-25), else
 * the refusal's status with *reason (static): 405 for a method no route or
 * not this route allows (B-22), 404 for no route, 400/426 for a request on
 * a WebSocket route that is no valid upgrade (B-26). Sans-I/O. */
int cg__server_head_verdict(const struct cg_server *srv, const struct cg_http_request *req,
                            const char **reason);
/* Adds or removes an accept gate (issue 12, denial of service): a gate that
 * refuses an address has its connection closed at accept, before a TLS byte
 * is read or sent (an accept and a close instead of a handshake, a parse and
 * an answer). Refusals are counted and logged once a minute, not one line
 * per connection. CG_EFULL past CG_SERVER_GATES. */
enum cg_err cg__server_add_gate(struct cg_server *srv, cg__accept_gate_fn fn, void *user);
void cg__server_remove_gate(struct cg_server *srv, cg__accept_gate_fn fn, void *user);
/* Connections refused by a gate so far. */
uint64_t cg__server_gated(const struct cg_server *srv);
/* Whether a gate refusal at now_ms gets a log line: the first one, then at
 * most one per interval_ms (the line tells how many were refused quietly in
 * between). Sans-I/O. */
bool cg__gate_log_due(uint64_t *last_ms, uint64_t now_ms, uint64_t interval_ms);

#endif
