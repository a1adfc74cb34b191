/* MOS 2.x over plain TCP (M-21): one connection per lane, its bytes cut into
 * messages by the codec's framer in the peer's encoding. This part knows no
 * user: what happens is told through struct cg_legacy_ops (as net/ tells its
 * users through struct cg_conn_ops); mos4/legacy_lane.c makes a connection
 * a lane's transport. Internal. */
#ifndef CG_LEGACY_H
#define CG_LEGACY_H

#include "core/core.h"

#include <castgate/mos.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct cg_legacy_conn;
struct cg_legacy_listener;

/* What a connection tells its user (user: the pointer given at dial or
 * returned by accept; NULL once the connection is closed, then nothing more
 * is told). */
struct cg_legacy_ops {
    /* A dialed connection connected, or an accepted one was let in: reading
     * has started. */
    void (*up)(void *user, struct cg_legacy_conn *c);
    /* The connection ended (EOF, an error): told once; it closes after. */
    void (*lost)(void *user, struct cg_legacy_conn *c, const char *why);
    /* A whole message, in the peer's encoding (binary: UCS-2BE). */
    void (*message)(void *user, const uint8_t *data, size_t len, bool binary);
    /* The head of a message the framer refused while it streamed in (more
     * attributes in a start tag than max_attrs): its bytes so far, in the
     * peer's encoding, for a NACK that keeps the messageID; the rest of the
     * message is dropped unread. */
    void (*refused_head)(void *user, const uint8_t *data, size_t len, bool binary);
    /* A message past max_message was skipped (a stop-and-wait sender waits
     * for an answer to it). */
    void (*too_big)(void *user);
    /* A connection from sa to a listener: the user it reports to, or NULL
     * and *why (NULL: closed without a word). */
    void *(*accept)(void *listen_user, const struct sockaddr *sa, const char **why);
};

/* What connections of one peer's channel share. The strings stay the
 * caller's while its connections and listeners live. */
struct cg_legacy_params {
    struct cg_ctx *ctx;
    const struct cg_legacy_ops *ops;
    enum cg_mos_encoding enc; /* the peer's (M-21) */
    size_t max_message;
    unsigned max_attrs; /* the framer's attribute bound (cg__mos_framer_set_max_attrs); 0: none */
    const char *peer_id, *ch_name; /* for logs */
};

/* Dials host:port for user; *out is the connection, connecting. */
enum cg_err cg__legacy_dial(const struct cg_legacy_params *p, const char *host, uint16_t port,
                            void *user, struct cg_legacy_conn **out);
/* Listens on addr:port; accepted connections go to ops->accept(user, ...).
 * Logs what it does and why it cannot. */
enum cg_err cg__legacy_listen(const struct cg_legacy_params *p, const char *addr, uint16_t port,
                              bool allow_any, void *user, struct cg_legacy_listener **out);
void cg__legacy_unlisten(struct cg_legacy_listener *ln);

/* The transport operations (mos4's struct mos4_transport_ops). xml is in
 * from, sent in to (the peer's), converted only when they differ; what the
 * socket takes at once is not copied. */
enum cg_err cg__legacy_write(struct cg_legacy_conn *c, enum cg_mos_encoding from,
                             enum cg_mos_encoding to, const char *xml, size_t len);
void cg__legacy_pause(struct cg_legacy_conn *c, bool paused);
void cg__legacy_close(struct cg_legacy_conn *c); /* detached: nothing more is told */
const char *cg__legacy_peer_name(const struct cg_legacy_conn *c); /* "ip" or "host:port" */
/* The peer's address of an accepted connection, or NULL. */
const struct sockaddr *cg__legacy_peer_sockaddr(const struct cg_legacy_conn *c);

#endif
