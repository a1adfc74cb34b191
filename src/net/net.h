/* castgate net — TCP over libuv, TLS over memory BIOs, one state machine per
 * socket (internal).
 *
 * libuv delivers ciphertext; it goes into the SSL's read BIO, plaintext comes
 * out of SSL_read and is handed to the connection's user through its
 * operations table (struct cg_conn_ops). Everything SSL writes lands in the
 * write BIO and is flushed to the socket with uv_write. net/ knows nothing of
 * HTTP or WebSocket: the HTTPS server and the wss dialer (wss/) are its users,
 * and ws/ writes through it.
 *
 * Lifetime: cg__conn_close() only starts closing (uv_close on the handles);
 * the user's `freed` runs in the last close callback, which libuv runs on a
 * later loop iteration. So a connection may be closed from inside any of its
 * own callbacks: callers check conn->state after calling out.
 */
#ifndef CG_NET_H
#define CG_NET_H

#include "core/core.h"
#include "tls/tls.h"

#include <castgate/limits.h> /* enum cg_server_limit */
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

struct cg_conn;

struct cg_server_limits {
    uint64_t v[12]; /* indexed by enum cg_server_limit */
};

/* ---- the front door (issue 12 item 4): TLS handshakes off the loop ----
 * A server connection may have its handshake run on the context's front-door
 * threads (core.h, cg__bg_queue_front: low priority) instead of the loop
 * thread: the loop still reads and writes the socket, but each
 * SSL_do_handshake (key exchange, signature) runs there (frontdoor.c). The
 * line (hsq.c, sans-I/O) bounds it: at most max_running steps on the threads
 * at once, the others waiting in arrival order, and at most per_addr
 * unfinished handshakes per peer address. Loop thread only. */
#define CG_HSQ_BUCKETS 256
struct cg_hsq_entry {
    struct cg_hsq_entry *anext, *aprev; /* same address bucket, while admitted */
    struct cg_hsq_entry *wnext, *wprev; /* the waiting line, while waiting */
    uint8_t addr[16];                   /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
    uint64_t round;                     /* while waiting: its turn (fair queueing) */
    bool admitted, waiting, running;
};
struct cg_hsq {
    unsigned max_running, per_addr;
    unsigned running;   /* steps on the threads now */
    size_t admitted;    /* unfinished handshakes */
    size_t nwaiting;
    bool orphaned;      /* its owner let go: freed when the last step is done */
    uint32_t seed;
    uint64_t round;     /* the round of the last entry that left the line to run */
    struct cg_hsq_entry *whead, *wtail;
    struct cg_hsq_entry *bucket[CG_HSQ_BUCKETS];
};
/* CG_EINVAL for a 0 bound. seed: a random number (address buckets). */
enum cg_err cg__hsq_new(unsigned max_running, unsigned per_addr, uint32_t seed,
                        struct cg_hsq **out);
/* The owner lets go (every entry must have left): freed now, or by the
 * cg__hsq_step_done of the last step still running. NULL ok. */
void cg__hsq_free(struct cg_hsq *q);
/* A new handshake from addr: false (and e untouched) when addr has per_addr
 * unfinished handshakes already. */
bool cg__hsq_admit(struct cg_hsq *q, struct cg_hsq_entry *e, const uint8_t addr[16]);
/* Unfinished handshakes from addr. */
unsigned cg__hsq_count(const struct cg_hsq *q, const uint8_t addr[16]);
/* The handshake ended (done, failed, or the connection closed): e leaves
 * its address's count and the waiting line. A step of e still running goes
 * on counting until cg__hsq_step_done. */
void cg__hsq_leave(struct cg_hsq *q, struct cg_hsq_entry *e);
/* e has input for a step: true when it may run now (counted running), false
 * when it waits (or runs or waits already; or q is orphaned). The line is
 * fair between addresses: an entry's round is one past the last round its
 * address has waiting (or the current round), and the line runs in round
 * order, arrival order within a round; so each address with entries
 * waiting gets one step per round, and a newcomer waits for at most one
 * step per other address, however many a flooding address queued. */
bool cg__hsq_want(struct cg_hsq *q, struct cg_hsq_entry *e);
/* e's step ended: the waiting entry that may run now (counted running), or
 * NULL. On an orphaned q it returns NULL and frees q after its last step:
 * the caller must not use q again then. */
struct cg_hsq_entry *cg__hsq_step_done(struct cg_hsq *q, struct cg_hsq_entry *e);

struct cg_conn_hs; /* frontdoor.c: an offloaded handshake's job */

/* What net/ tells the user of a connection (modelled on curl's connection
 * filter types). Each is called from the loop with the connection still
 * valid; after a call, check c->state: the user may have closed it. */
struct cg_conn_ops {
    const char *name; /* for logs and tests */
    /* The TLS handshake completed: set the next state (one that reads:
     * HTTP, UPGRADING or WS) and arm the timer, or close. */
    void (*tls_done)(struct cg_conn *c);
    /* The TLS handshake failed: the user logs it and closes. */
    void (*tls_failed)(struct cg_conn *c);
    /* Optional (servers): the first bytes are not TLS (B-20); net/ closes. */
    void (*not_tls)(struct cg_conn *c);
    /* Plaintext from the peer, valid during the call. */
    void (*data)(struct cg_conn *c, const uint8_t *data, size_t len);
    /* A write completed and the queue is at most half the limit. */
    void (*writable)(struct cg_conn *c);
    /* The timer fired in a state the user owns (all but DRAINING). */
    void (*timeout)(struct cg_conn *c);
    /* cg__conn_close started: state is CLOSED, handles still open. */
    void (*closing)(struct cg_conn *c);
    /* The last handle closed and the SSL is freed: the user releases c. */
    void (*freed)(struct cg_conn *c);
};

struct cg_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    bool shutdown_started;
    const struct cg_conn_ops *ops;
    void *user;             /* the user's, for the ops */
    bool server;            /* accepted (TLS server role): B-20 check of the first byte */
    const struct cg_server_limits *lim;
    uint8_t *readbuf;       /* where reads land: consumed before the next read */
    size_t readbuf_len;
    struct cg_ctx *ctx;
    SSL *ssl;
    BIO *net_in;  /* ciphertext from the socket, read by SSL */
    BIO *net_out; /* ciphertext written by SSL, to the socket */
    enum cg_conn_state state;
    char peer[64];
    uint8_t peer_addr[16]; /* binary (IPv4 mapped into IPv6), from cg__conn_peer_name */
    struct cg_conn_hs *hs; /* the handshake runs on the front-door threads; NULL: on the loop */
    bool read_paused;
    bool held;          /* the user holds reading (cg__conn_hold_reading) */
    bool first_byte_seen;
    size_t queued;      /* bytes handed to uv_write and not yet written */
    int open_handles;   /* tcp, timer and idle not yet closed */
    uint64_t last_rx_ms;
    uv_timer_t idle;    /* releases the TLS record buffers once the connection is quiet */
    uint64_t last_io;   /* uv_now of the last read or write, for idle */
};

/* The connection is open for its user (a state after the handshake the user
 * set, and not closing): it reads and may write. */
static inline bool cg__conn_open(const struct cg_conn *c)
{
    return c->state == CG_CONN_HTTP || c->state == CG_CONN_UPGRADING || c->state == CG_CONN_WS;
}

static inline uint64_t cg__conn_lim(const struct cg_conn *c, enum cg_server_limit w)
{
    return c->lim->v[w];
}

/* conn.c */
/* Encrypts and queues plaintext for the peer. */
enum cg_err cg__conn_write(struct cg_conn *c, const void *data, size_t len);
/* Finishes writing what is queued (plus a TLS close_notify), then closes. */
void cg__conn_drain_and_close(struct cg_conn *c);
/* Closes now, dropping anything unwritten. */
void cg__conn_close(struct cg_conn *c, const char *why);
/* Arms the connection's single timer for the current state. */
void cg__conn_arm_timer(struct cg_conn *c, uint64_t ms);
bool cg__conn_write_blocked(const struct cg_conn *c);
/* The user stops (hold) or resumes reading from the peer, e.g. while what it
 * read waits for another connection to take it. Bytes of one read already
 * taken may still arrive after a hold. */
void cg__conn_hold_reading(struct cg_conn *c, bool hold);
/* Sets up handles of a fresh (zeroed) connection for its user; 3 handles
 * open, so from now on it ends with ops->freed. */
void cg__conn_init(struct cg_conn *c, struct cg_ctx *ctx, const struct cg_server_limits *lim,
                   uint8_t *readbuf, size_t readbuf_len, const struct cg_conn_ops *ops,
                   void *user);
/* Creates the SSL (server or client role) with memory BIOs. */
enum cg_err cg__conn_init_tls(struct cg_conn *c, SSL_CTX *sslctx, bool server);
/* Starts reading; for a client, also sends the ClientHello. */
void cg__conn_start(struct cg_conn *c);
void cg__conn_peer_name(struct cg_conn *c);

/* frontdoor.c. Makes the TLS handshake of a fresh server connection (after
 * cg__conn_init_tls, before cg__conn_start) run on the context's front-door
 * threads, its steps in q's line; tls (the SSL's context's owner, whose
 * callbacks the steps run) is held until the handshake ends
 * (cg__tls_server_hold). CG_EFULL: the peer's address (cg__conn_peer_name
 * first) has q->per_addr unfinished handshakes: close the connection.
 * CG_ENOMEM. */
enum cg_err cg__conn_offload_handshake(struct cg_conn *c, struct cg_hsq *q,
                                       struct cg_tls_server *tls);
/* Internal to net/: conn.c <-> frontdoor.c. */
bool cg__conn_hs_busy(const struct cg_conn *c);  /* a step runs on a thread now */
void cg__conn_hs_input(struct cg_conn *c, const uint8_t *p, size_t n);
/* The peer's EOF while a step runs or waits: true when it is kept for after
 * the step (the bytes before it, a request that came with the Finished, are
 * read first, as on the loop); false: handle it now. */
bool cg__conn_hs_eof(struct cg_conn *c);
void cg__conn_hs_closing(struct cg_conn *c);     /* from cg__conn_close */
void cg__conn_hs_free(struct cg_conn *c);        /* from the last release */
enum cg_err cg__conn_flush(struct cg_conn *c);
void cg__conn_pump(struct cg_conn *c);
/* One hold less on c (a handle closed, a step done); the last frees it. */
void cg__conn_release(struct cg_conn *c);

#endif
