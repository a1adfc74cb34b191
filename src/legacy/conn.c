/* MOS 2.x peers over plain TCP (M-21): per channel a port; the connection we
 * dial to the peer's port is our OUT lane, one the peer opens to our port is
 * our IN lane (mos4/legacy_lane.c). Bytes are cut into messages by the
 * codec's framer in the peer's encoding (UCS-2BE by default, UTF-8 by
 * configuration). What happens goes to the user through struct
 * cg_legacy_ops (legacy.h); this part names none of its users. */
#include "legacy/legacy.h"
#include "core/accept.h"
#include "mos/mos.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LEGACY_MAX_QUEUED (64u << 20) /* bytes waiting for a slow peer before we give up on it */
#define REFUSAL_LOG_MS 60000u /* a refused address is logged once a minute at most */
#define REFUSAL_SLOTS 16      /* (address, reason) pairs remembered for that */
/* TCP keepalive on accepted connections: a vanished peer's connection ends
 * after about KEEPIDLE + KEEPCNT * KEEPINTVL seconds, so another allowed
 * address can take the port over (a live connection is never replaced by
 * another address). */
#define KEEPIDLE_S 30
#define KEEPINTVL_S 10
#define KEEPCNT 3
/* Bytes read from one connection before it yields a loop turn: under a
 * line-rate sender libuv would read 32 x 64 KiB from one stream per turn,
 * and every message in them is cut, scanned and answered before any other
 * lane is served. Past this, reading stops and resumes on the next turn
 * (the kernel keeps the rest, in order). */
#define LEGACY_TURN_BYTES (256u << 10)
/* While the framer drops a refused message (more attributes than allowed,
 * or past max_message), one read per this many milliseconds: the rest of a
 * 6 MB attack arrives at most at ~64 MB/s (TCP pushes back on the sender)
 * instead of at line rate through the loop; the peer's next message follows
 * as soon as the refused one has ended. */
#define LEGACY_DROP_PAUSE_MS 1u

struct cg_legacy_conn {
    uv_tcp_t tcp;
    uv_timer_t resume;      /* a zero timer: reading again on the next turn */
    int open_handles;       /* tcp and resume until both are closed */
    size_t turn_bytes;      /* read since reading last (re)started */
    bool paused;
    bool held;              /* paused through the transport's pause: the turn budget leaves it */
    bool up;                /* reading (connected or accepted) */
    bool broken;            /* a message went out in part only: closed on the next turn */
    void *user;             /* NULL once detached: closing */
    struct cg_legacy_params p;
    struct cg_mos_framer *framer;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    bool gai_pending, closed;
    size_t queued;
    char peer_name[64];
    struct sockaddr_storage addr; /* the peer's, for accepted connections */
    bool has_addr;
};

struct cg_legacy_listener {
    uv_tcp_t tcp;
    /* a few accepts per turn of the loop, so a flood waiting in the backlog
     * does not hold up the lanes' bytes (core/accept.h, issue 12 item 6) */
    struct cg_accept_pace pace;
    int open_handles; /* tcp and pace.turn until both are closed */
    struct cg_legacy_params p;
    void *user;
    /* refusals: logged once per address and reason, and per minute; a few
     * (address, reason) pairs are remembered, so a flood taking turns from
     * several addresses is not one line per change of address */
    struct {
        char ip[64];
        const char *why;        /* NULL: free */
        uint64_t log_ms;
        unsigned quiet;         /* refusals since its last line */
    } refused[REFUSAL_SLOTS];
};

struct legacy_write {
    uv_write_t req;
    struct cg_legacy_conn *c;
    uv_buf_t buf;
    uint8_t data[];
};

static void conn_freed(uv_handle_t *h)
{
    struct cg_legacy_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    cg_mos_framer_free(c->framer);
    if (!c->gai_pending)
        free(c);
    else
        c->closed = true; /* the resolver's callback frees it */
}

static void conn_close(struct cg_legacy_conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai);
    uv_close((uv_handle_t *)&c->tcp, conn_freed);
    uv_close((uv_handle_t *)&c->resume, conn_freed);
}

/* The stream ended: a junk run or a message still open is said, as the
 * framer's other events are (cg_mos_framer_finish). */
static void conn_finish(struct cg_legacy_conn *c)
{
    struct cg_mos_frame fr;
    bool binary = c->p.enc == CG_MOS_UCS2BE;
    enum cg_err rc = cg_mos_framer_finish(c->framer, &fr);
    if (rc == CG_EJUNK && fr.len > 0)
        cg__log(c->p.ctx, CG_LOG_WARN, "mos",
                "%s %s (MOS 2.x %s): %zu bytes of junk skipped from byte %llu (at close)%s",
                c->p.peer_id, c->p.ch_name, c->peer_name, fr.len,
                (unsigned long long)fr.offset,
                binary && fr.len % 2 != 0 ? " (odd count: re-aligned)" : "");
    else if (rc == CG_EAGAIN)
        cg__log(c->p.ctx, CG_LOG_WARN, "mos",
                "%s %s (MOS 2.x %s): closed inside a message begun at byte %llu: dropped",
                c->p.peer_id, c->p.ch_name, c->peer_name,
                (unsigned long long)fr.offset);
    else if (rc != CG_OK)
        cg__log(c->p.ctx, CG_LOG_WARN, "mos", "%s %s (MOS 2.x %s): %s at close",
                c->p.peer_id, c->p.ch_name, c->peer_name, cg_strerror(rc));
}

/* The connection ended (EOF, error, or replaced): the user hears of it once. */
static void conn_lost(struct cg_legacy_conn *c, const char *why)
{
    void *user = c->user;
    c->user = NULL;
    if (user != NULL)
        c->p.ops->lost(user, c, why);
    conn_close(c);
}

/* The user lets go of the connection: it hears nothing more of it. */
void cg__legacy_close(struct cg_legacy_conn *c)
{
    c->user = NULL;
    conn_close(c);
}

const char *cg__legacy_peer_name(const struct cg_legacy_conn *c) { return c->peer_name; }

const struct sockaddr *cg__legacy_peer_sockaddr(const struct cg_legacy_conn *c)
{
    return c->has_addr ? (const struct sockaddr *)&c->addr : NULL;
}

/* The kernel's bytes go straight into the framer's buffer, where the message
 * is cut and read in place (issue 13 item 6: no copy on the way in). */
#define LEGACY_READ_MIN 4096u
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    CG_UNUSED(hint);
    struct cg_legacy_conn *c = h->data;
    uint8_t *p = NULL;
    size_t cap = 0;
    if (cg_mos_framer_space(c->framer, LEGACY_READ_MIN, &p, &cap) != CG_OK)
        p = NULL, cap = 0; /* libuv then reports UV_ENOBUFS: the connection ends */
    *buf = uv_buf_init((char *)p, (unsigned)(cap > UINT_MAX ? UINT_MAX : cap));
}

static void drain_frames(struct cg_legacy_conn *c)
{
    struct cg_mos_frame fr;
    enum cg_err rc;
    bool binary = c->p.enc == CG_MOS_UCS2BE;
    while (c->user != NULL && (rc = cg_mos_framer_next(c->framer, &fr)) != CG_EAGAIN) {
        if (rc == CG_OK) {
            c->p.ops->message(c->user, fr.data, fr.len, binary);
        } else if (rc == CG_EXML) {
            /* The framer's attribute bound: the head goes to the user's
             * pre-scan, which refuses it for the same reason as it would the
             * whole message (a NACK that keeps the messageID); the rest of
             * the message is dropped unread. */
            c->p.ops->refused_head(c->user, fr.data, fr.len, binary);
        } else if (rc == CG_EJUNK && fr.len > 0) { /* a junk run ended: what it skipped */
            cg__log(c->p.ctx, CG_LOG_WARN, "mos",
                    "%s %s (MOS 2.x %s): %zu bytes of junk skipped from byte %llu%s",
                    c->p.peer_id, c->p.ch_name, c->peer_name, fr.len,
                    (unsigned long long)fr.offset,
                    binary && fr.len % 2 != 0 ? " (odd count: re-aligned)" : "");
        } else {
            cg__log(c->p.ctx, CG_LOG_WARN, "mos", "%s %s (MOS 2.x %s): %s at byte %llu",
                    c->p.peer_id, c->p.ch_name, c->peer_name, cg_strerror(rc),
                    (unsigned long long)fr.offset);
            /* A stop-and-wait sender waits for an answer to what it sent: give one,
             * or it repeats the oversized message for ever. Junk gets none. */
            if (rc == CG_ETOOBIG)
                c->p.ops->too_big(c->user);
        }
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void on_resume(uv_timer_t *t)
{
    struct cg_legacy_conn *c = t->data;
    if (c->broken && c->user != NULL) {
        conn_lost(c, "out of memory while writing");
        return;
    }
    if (!c->paused || c->held || c->user == NULL || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    c->paused = false;
    c->turn_bytes = 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct cg_legacy_conn *c = s->data;
    if (n < 0) {
        if (c->user != NULL)
            conn_finish(c);
        conn_lost(c, n == UV_EOF ? "peer closed" : uv_strerror((int)n));
        return;
    }
    if (n == 0 || c->user == NULL)
        return;
    CG_UNUSED(b); /* the framer's own room (on_alloc) */
    if (cg_mos_framer_commit(c->framer, (size_t)n) != CG_OK) {
        conn_lost(c, "read past the framer's room");
        return;
    }
    drain_frames(c);
    c->turn_bytes += (size_t)n;
    bool dropping = cg__mos_framer_dropping(c->framer);
    if ((dropping || c->turn_bytes >= LEGACY_TURN_BYTES) && c->user != NULL &&
        !uv_is_closing((uv_handle_t *)&c->tcp)) { /* let the other lanes in (see LEGACY_TURN_BYTES) */
        uv_read_stop(s);
        c->paused = true;
        uv_timer_start(&c->resume, on_resume, dropping ? LEGACY_DROP_PAUSE_MS : 0, 0);
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct legacy_write *w = (struct legacy_write *)req;
    struct cg_legacy_conn *c = w->c;
    c->queued -= w->buf.len;
    free(w);
    if (status < 0 && status != UV_ECANCELED && c->user != NULL)
        conn_lost(c, uv_strerror(status));
}

/* Bytes in either encoding (from) to the peer in its own (to, M-21):
 * converted only when they differ (issue 13 item 4). What the socket takes
 * at once is not copied; only a rest the kernel could not take is (item 6). */
enum cg_err cg__legacy_write(struct cg_legacy_conn *c, enum cg_mos_encoding from,
                             enum cg_mos_encoding to, const char *xml, size_t len)
{
    CG_CHECK(c != NULL, CG_ECLOSED);
    CG_CHECK(c->queued + len * 2 <= LEGACY_MAX_QUEUED, CG_EFULL);
    uint8_t *wire = NULL;
    size_t n = len;
    if (from != to)
        CG_GUARD(cg_mos_convert(from, xml, len, &wire, &n, NULL));
    const uint8_t *data = wire != NULL ? wire : (const uint8_t *)xml;
    size_t done = 0;
    if (c->queued == 0) { /* nothing ahead of it: straight to the socket */
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
        int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        done = r > 0 ? (size_t)r : 0;
    }
    if (done == n) {
        cg_mos_free(wire);
        return CG_OK;
    }
    n -= done;
    struct legacy_write *w = malloc(sizeof(*w) + n);
    if (w == NULL) {
        cg_mos_free(wire);
        if (done > 0) { /* a part is out: the stream cannot go on; closed on the next turn */
            c->broken = true;
            uv_timer_start(&c->resume, on_resume, 0, 0);
        }
        return CG_ENOMEM;
    }
    memcpy(w->data, data + done, n);
    cg_mos_free(wire);
    w->c = c;
    w->buf = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_write) != 0) {
        free(w);
        return CG_ENET;
    }
    c->queued += n;
    return CG_OK;
}

/* The transport's pause: reading stops until resumed (the kernel keeps
 * what comes meanwhile). The turn budget's own pause (LEGACY_TURN_BYTES)
 * does not resume a connection held here. */
void cg__legacy_pause(struct cg_legacy_conn *c, bool paused)
{
    c->held = paused;
    if (uv_is_closing((uv_handle_t *)&c->tcp) || c->user == NULL || !c->up)
        return;
    if (paused && !c->paused) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->paused = true;
    } else if (!paused && c->paused) {
        c->paused = false;
        c->turn_bytes = 0;
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static struct cg_legacy_conn *conn_new(const struct cg_legacy_params *p)
{
    struct cg_legacy_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (cg_mos_framer_new(p->enc, p->max_message, &c->framer) != CG_OK) {
        free(c);
        return NULL;
    }
    /* A tag past the pre-scan's attribute bound is refused while it streams
     * in, its rest dropped unread (issue 12, quadratic XML). */
    if (p->max_attrs != 0)
        cg__mos_framer_set_max_attrs(c->framer, p->max_attrs);
    c->p = *p;
    uv_tcp_init(cg_ctx_loop(p->ctx), &c->tcp);
    c->tcp.data = c;
    uv_timer_init(cg_ctx_loop(p->ctx), &c->resume);
    c->resume.data = c;
    c->open_handles = 2;
    return c;
}

/* The connection is ready: reading starts and the user hears of it (which
 * may replace an older connection with it). */
static void conn_up(struct cg_legacy_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    if (!c->held) /* paused before it was up: reading waits for the resume */
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->paused = c->held;
    c->up = true;
    c->p.ops->up(c->user, c);
}

/* ---- dialing the peer's port (our OUT lane) ---- */

static void on_connect(uv_connect_t *req, int status)
{
    struct cg_legacy_conn *c = req->data;
    if (status == UV_ECANCELED || c->user == NULL)
        return;
    if (status < 0) {
        conn_lost(c, uv_strerror(status)); /* the lane dials again after a backoff */
        return;
    }
    conn_up(c);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct cg_legacy_conn *c = req->data;
    c->gai_pending = false;
    if (c->closed) { /* closed while resolving */
        uv_freeaddrinfo(res);
        free(c);
        return;
    }
    int r = status;
    if (r == 0 && c->user != NULL) {
        c->creq.data = c;
        r = uv_tcp_connect(&c->creq, &c->tcp, res->ai_addr, on_connect);
    }
    uv_freeaddrinfo(res);
    if (r != 0 && c->user != NULL)
        conn_lost(c, "cannot resolve or connect");
}

enum cg_err cg__legacy_dial(const struct cg_legacy_params *p, const char *host, uint16_t dport,
                            void *user, struct cg_legacy_conn **out)
{
    struct cg_legacy_conn *c = conn_new(p);
    CG_CHECK(c != NULL, CG_ENOMEM);
    snprintf(c->peer_name, sizeof(c->peer_name), "%.40s:%u", host, (unsigned)dport);
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)dport);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->gai.data = c;
    c->user = user; /* connecting: not up yet */
    if (uv_getaddrinfo(cg_ctx_loop(p->ctx), &c->gai, on_resolved, host, port, &hints) != 0) {
        c->user = NULL;
        conn_close(c);
        return CG_ENET;
    }
    c->gai_pending = true;
    *out = c;
    return CG_OK;
}

/* ---- our ports (the peer's IN lanes) ---- */

/* One line per address and reason and minute, however fast the refusals come. */
static void log_refusal(struct cg_legacy_listener *ln, const char *ip, const char *why)
{
    uint64_t now = cg__now_ms();
    size_t slot = 0;
    bool same = false;
    for (size_t i = 0; i < REFUSAL_SLOTS && !same; i++) {
        same = ln->refused[i].why == why && strcmp(ln->refused[i].ip, ip) == 0;
        if (same || ln->refused[i].log_ms < ln->refused[slot].log_ms)
            slot = i; /* the pair itself, else the one logged longest ago */
    }
    if (same && now - ln->refused[slot].log_ms < REFUSAL_LOG_MS) {
        ln->refused[slot].quiet++;
        return;
    }
    char more[48] = "";
    if (same && ln->refused[slot].quiet > 0)
        snprintf(more, sizeof(more), " (%u more refused since the last line)",
                 ln->refused[slot].quiet);
    cg__log(ln->p.ctx, CG_LOG_WARN, "mos", "%s %s (MOS 2.x): refused a connection from %s: %s%s",
            ln->p.peer_id, ln->p.ch_name, ip, why, more);
    snprintf(ln->refused[slot].ip, sizeof(ln->refused[slot].ip), "%s", ip);
    ln->refused[slot].why = why;
    ln->refused[slot].log_ms = now;
    ln->refused[slot].quiet = 0;
}

static void keepalive(struct cg_legacy_conn *c)
{
    uv_os_fd_t fd;
    uv_tcp_keepalive(&c->tcp, 1, KEEPIDLE_S);
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return;
    int intvl = KEEPINTVL_S, cnt = KEEPCNT;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* One connection from the backlog (core/accept.h paces them): refused at
 * once, before a byte is read, or handed to its user. False: no memory for
 * it, left in libuv for the next turn. */
static bool take_conn(void *listener, uv_stream_t *s)
{
    struct cg_legacy_listener *ln = listener;
    struct cg_legacy_conn *c = conn_new(&ln->p);
    if (c == NULL)
        return false;
    if (uv_accept(s, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return true;
    }
    int len = sizeof(c->addr);
    char ip[64] = "?";
    c->has_addr = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->addr, &len) == 0;
    if (c->has_addr)
        uv_ip_name((struct sockaddr *)&c->addr, ip, sizeof(ip));
    snprintf(c->peer_name, sizeof(c->peer_name), "%s", ip);
    const char *why = NULL;
    void *user = ln->p.ops->accept(ln->user, cg__legacy_peer_sockaddr(c), &why);
    if (user == NULL) { /* closed before a byte is read */
        if (why != NULL)
            log_refusal(ln, ip, why);
        conn_close(c);
        return true;
    }
    keepalive(c);
    c->user = user;
    conn_up(c);
    return true;
}

static void on_accept(uv_stream_t *s, int status)
{
    struct cg_legacy_listener *ln = s->data;
    if (status < 0)
        return;
    cg__accept_pace_ready(&ln->pace);
}

static void listener_handle_freed(struct cg_legacy_listener *ln)
{
    if (--ln->open_handles == 0)
        free(ln);
}

static void listener_freed(uv_handle_t *h) { listener_handle_freed(h->data); }

static void pace_freed(uv_handle_t *h)
{
    struct cg_accept_pace *pace = h->data;
    listener_handle_freed(pace->user);
}

enum cg_err cg__legacy_listen(const struct cg_legacy_params *p, const char *addr, uint16_t port,
                              bool allow_any, void *user, struct cg_legacy_listener **out)
{
    struct sockaddr_storage ss;
    bool v6 = strchr(addr, ':') != NULL;
    int r = v6 ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&ss)
               : uv_ip4_addr(addr, port, (struct sockaddr_in *)&ss);
    CG_CHECK(r == 0, CG_EINVAL);
    struct cg_legacy_listener *ln = calloc(1, sizeof(*ln));
    CG_CHECK(ln != NULL, CG_ENOMEM);
    ln->p = *p;
    ln->user = user;
    uv_tcp_init(cg_ctx_loop(p->ctx), &ln->tcp);
    ln->tcp.data = ln;
    cg__accept_pace_init(&ln->pace, cg_ctx_loop(p->ctx), (uv_stream_t *)&ln->tcp, take_conn, ln);
    ln->open_handles = 2;
    *out = ln; /* cg__legacy_unlisten closes it, listening or not */
    r = uv_tcp_bind(&ln->tcp, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&ln->tcp, 64, on_accept);
    if (r != 0) {
        cg__log(p->ctx, CG_LOG_ERROR, "mos", "%s: cannot listen on %s port %u for MOS 2.x "
                "%s: %s", p->peer_id, addr, (unsigned)port, p->ch_name, uv_strerror(r));
        return CG_ENET;
    }
    cg__log(p->ctx, CG_LOG_INFO, "mos", "%s: MOS 2.x %s on %s port %u%s", p->peer_id,
            p->ch_name, addr, (unsigned)port,
            allow_any ? " (any address may connect: see legacy_allow)" : "");
    return CG_OK;
}

void cg__legacy_unlisten(struct cg_legacy_listener *ln)
{
    uv_close((uv_handle_t *)&ln->tcp, listener_freed);
    cg__accept_pace_close(&ln->pace, pace_freed);
}
