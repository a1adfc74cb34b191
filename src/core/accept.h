/* A listener's accepts, a few per turn of the loop (issue 12 item 6: a
 * connection flood must not hold up the lanes already open). Internal.
 *
 * libuv takes connections from a listener's backlog until accept(2) says
 * EAGAIN, all in one callback, before it looks at the next ready handle. A
 * flood that filled the backlog while the loop waited for a CPU (64
 * connections on a MOS 2.x port) was accepted and refused whole, and bytes
 * that arrived meanwhile on an open lane waited for all of it. A pace takes
 * at most CG_ACCEPT_PER_TURN connections per turn; the next one is left with
 * libuv, which stops watching the listener until it is taken, and is taken
 * at the start of the next turn, after this turn's other ready handles. So
 * between two polls of the loop a listener costs at most that many accepts,
 * however many wait; the kernel keeps the rest in the backlog. */
#ifndef CG_CORE_ACCEPT_H
#define CG_CORE_ACCEPT_H

#include <stdbool.h>
#include <uv.h>

#define CG_ACCEPT_PER_TURN 4u

/* Takes the listener's waiting connection: uv_accept into a handle of its
 * own, then whatever it decides (closing it is fine). False: it could not
 * (no memory) and did not call uv_accept; the connection stays with libuv
 * and is tried again on the next turn. */
typedef bool (*cg__accept_take_fn)(void *user, uv_stream_t *listener);

struct cg_accept_pace {
    uv_idle_t turn; /* active while the last turn took any: the next turn's start */
    uv_stream_t *listener;
    cg__accept_take_fn take;
    void *user;
    unsigned taken; /* since the current turn began */
    bool waiting;   /* one is left with libuv for the next turn */
};

/* Sets up p for listener (not yet listening); its handle is p->turn, whose
 * data is p. */
void cg__accept_pace_init(struct cg_accept_pace *p, uv_loop_t *loop, uv_stream_t *listener,
                          cg__accept_take_fn take, void *user);
/* The listener's connection callback, status 0: takes it now or leaves it
 * for the next turn. */
void cg__accept_pace_ready(struct cg_accept_pace *p);
/* Closes p's handle (cb as uv_close's); a connection left waiting is
 * closed by libuv with the listener. */
void cg__accept_pace_close(struct cg_accept_pace *p, uv_close_cb cb);

#endif
