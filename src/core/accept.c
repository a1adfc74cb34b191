/* A listener's accepts, a few per turn of the loop (see accept.h). */
#include "core/accept.h"

#include <string.h>

static void take_one(struct cg_accept_pace *p)
{
    p->taken++;
    if (!p->take(p->user, p->listener))
        p->waiting = true; /* still with libuv: again next turn */
}

/* The start of a turn after one that took connections: the count starts
 * again, and the one left waiting is taken first (uv_accept also has libuv
 * watch the listener again). */
static void on_turn(uv_idle_t *h)
{
    struct cg_accept_pace *p = h->data;
    p->taken = 0;
    bool waiting = p->waiting && !uv_is_closing((uv_handle_t *)p->listener);
    p->waiting = false;
    if (waiting)
        take_one(p); /* this turn took one: the idle stays on */
    else
        uv_idle_stop(h);
}

void cg__accept_pace_init(struct cg_accept_pace *p, uv_loop_t *loop, uv_stream_t *listener,
                          cg__accept_take_fn take, void *user)
{
    memset(p, 0, sizeof(*p));
    uv_idle_init(loop, &p->turn);
    p->turn.data = p;
    p->listener = listener;
    p->take = take;
    p->user = user;
}

void cg__accept_pace_ready(struct cg_accept_pace *p)
{
    if (p->taken == 0)
        uv_idle_start(&p->turn, on_turn);
    if (p->taken >= CG_ACCEPT_PER_TURN || p->waiting) {
        /* Not taken: libuv keeps it and stops watching the listener, and
         * goes on with this turn's other ready handles. */
        p->waiting = true;
        return;
    }
    take_one(p);
}

void cg__accept_pace_close(struct cg_accept_pace *p, uv_close_cb cb)
{
    uv_close((uv_handle_t *)&p->turn, cb);
}
