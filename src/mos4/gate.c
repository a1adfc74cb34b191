/* castgate mos4 — the answer gate of a gateway pair's active (issue 18,
 * docs/redundancy.md "What is replicated, and when the sender gets its
 * answer"; include/castgate/mos4.h, cg_mos_endpoint_set_answer_gate).
 *
 * With the gate on, what an IN lane writes to its peer in answer to a
 * request (an answer, an ACK, a NACK; not a heartbeat's answer) waits until
 * the journal's records up to the count at that moment are released: the
 * answer's own record (JOURNAL_ANSWER comes before SEND_ANSWER) and every
 * record before it are then on the standby. Held answers go in the order
 * they were made; one whose peer or lane is gone meanwhile is dropped (the
 * sender repeats the request, M-22, and the repeat is answered from the
 * journal's memory).
 *
 * Held answers are bounded per IN lane (peer and channel), GATE_LANE_MAX: a
 * sender keeps one request in flight per lane (M-22), so a lane holds one
 * answer, or a few with its repeats and NACKs. Without a bound, a sender
 * that does not wait, or one that repeats its request every few seconds,
 * grew the list for as long as nothing released it (strict = yes with no
 * standby: until one is back). One more than the bound is dropped, never
 * sent unreplicated: its sender repeats the request (M-22). */
#include "mos4.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define GATE_LANE_MAX 16

struct mos4_held {
    struct mos4_held *next;
    uint64_t need;                       /* the count when it was made */
    int ch;                              /* channel index */
    char peer[4 * CG_MOS_ID_MAX + 1];
    size_t len;
    char xml[];
};

static uint64_t count_now(const struct cg_mos_endpoint *ep)
{
    return cg__mos4_journal_next(ep) - 1;
}

static void write_held(struct cg_mos_endpoint *ep, const struct mos4_held *h)
{
    struct mos4_peer *p = cg__mos4_peer(ep, h->peer);
    if (p == NULL || p->removed || ep->freeing)
        return;
    cg__mos4_lane_write(&p->lanes[h->ch][CG_MOS_IN], h->xml, h->len); /* gone: dropped */
}

/* Every held answer whose records are released, in order; all when the gate
 * is off. */
static void flush(struct cg_mos_endpoint *ep)
{
    while (ep->held_head != NULL && (!ep->gate_on || ep->held_head->need <= ep->gate_released)) {
        struct mos4_held *h = ep->held_head;
        ep->held_head = h->next;
        if (ep->held_head == NULL)
            ep->held_tail = NULL;
        ep->nheld--;
        write_held(ep, h);
        free(h);
    }
}

/* GATE_LANE_MAX answers of l's lane held already. */
static bool lane_full(const struct cg_mos_endpoint *ep, const struct mos4_lane *l)
{
    int n = 0;
    for (const struct mos4_held *h = ep->held_head; h != NULL; h = h->next)
        if (h->ch == l->ch && strcmp(h->peer, l->peer->id) == 0 && ++n >= GATE_LANE_MAX)
            return true;
    return false;
}

bool cg__mos4_gate_hold(struct mos4_lane *l, const char *xml, size_t len)
{
    struct cg_mos_endpoint *ep = l->peer->ep;
    if (!ep->gate_on || l->dir != CG_MOS_IN)
        return false;
    if (!ep->in_tell)
        flush(ep); /* released ones first: nothing overtakes them */
    uint64_t need = count_now(ep);
    if (ep->held_head == NULL && need <= ep->gate_released)
        return false; /* its records are on the standby: at once */
    if (lane_full(ep, l)) {
        uint64_t n = ++ep->gate_dropped;
        if ((n & (n - 1)) == 0) /* the 1st, 2nd, 4th, ...: no log flood */
            cg__log(ep->ctx, CG_LOG_WARN, "mos", "%s: %d answers on %s wait for the standby "
                    "already: one more dropped, not sent (the sender repeats the request, "
                    "M-22); %" PRIu64 " dropped so far", l->peer->id, GATE_LANE_MAX,
                    cg__mos4_ch_name(l->ch), n);
        return true;
    }
    struct mos4_held *h = malloc(sizeof(*h) + len);
    if (h == NULL) {
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "%s: out of memory holding an answer for the "
                "standby: not sent (the sender repeats the request, M-22)", l->peer->id);
        return true;
    }
    *h = (struct mos4_held){.need = need, .ch = l->ch, .len = len};
    cg__str_copy(h->peer, sizeof(h->peer), l->peer->id);
    memcpy(h->xml, xml, len);
    if (ep->held_tail != NULL)
        ep->held_tail->next = h;
    else
        ep->held_head = h;
    ep->held_tail = h;
    ep->nheld++;
    return true;
}

void cg__mos4_gate_free(struct cg_mos_endpoint *ep)
{
    while (ep->held_head != NULL) {
        struct mos4_held *h = ep->held_head;
        ep->held_head = h->next;
        free(h);
    }
    ep->held_tail = NULL;
    ep->nheld = 0;
}

enum cg_err cg_mos_endpoint_set_answer_gate(struct cg_mos_endpoint *ep, bool on)
{
    CG_CHECK(ep != NULL, CG_EINVAL);
    ep->gate_on = on;
    if (!on && !ep->in_tell)
        flush(ep);
    return CG_OK;
}

enum cg_err cg_mos_endpoint_release_answers(struct cg_mos_endpoint *ep, uint64_t upto)
{
    CG_CHECK(ep != NULL, CG_EINVAL);
    if (upto > ep->gate_released)
        ep->gate_released = upto;
    if (!ep->in_tell) /* inside the observer: the next answer or release flushes */
        flush(ep);
    return CG_OK;
}

size_t cg_mos_endpoint_answers_held(const struct cg_mos_endpoint *ep)
{
    return ep != NULL ? ep->nheld : 0;
}
