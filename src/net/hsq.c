/* The front door's line (issue 12 item 4, sans-I/O): which server
 * connections may have a TLS handshake step running on the front-door
 * threads now, which wait their turn, and how many unfinished handshakes
 * one address may have.
 *
 * A step is one SSL_do_handshake over the bytes a peer sent (the ClientHello
 * and our answer to it: key exchange and signature; then the client's
 * Finished). At most max_running run at once, so a flood can queue no more
 * work on the threads than that; the rest wait here in arrival order, each
 * connection at most once. An address with per_addr unfinished handshakes
 * gets no more (the server closes further connections at accept), so one
 * address holds at most per_addr places ahead of anyone else's set-up. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

enum cg_err cg__hsq_new(unsigned max_running, unsigned per_addr, uint32_t seed,
                        struct cg_hsq **out)
{
    CG_CHECK(out != NULL && max_running > 0 && per_addr > 0, CG_EINVAL);
    struct cg_hsq *q = calloc(1, sizeof(*q));
    CG_CHECK(q != NULL, CG_ENOMEM);
    q->max_running = max_running;
    q->per_addr = per_addr;
    q->seed = seed;
    *out = q;
    return CG_OK;
}

void cg__hsq_free(struct cg_hsq *q)
{
    if (q == NULL)
        return;
    q->orphaned = true;
    if (q->running == 0)
        free(q);
}

/* FNV-1a over the address, started from the seed: which bucket. */
static unsigned bucket_of(const struct cg_hsq *q, const uint8_t addr[16])
{
    uint32_t h = 2166136261u ^ q->seed;
    for (size_t i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    return (h ^ (h >> 16)) % CG_HSQ_BUCKETS;
}

unsigned cg__hsq_count(const struct cg_hsq *q, const uint8_t addr[16])
{
    unsigned n = 0;
    for (const struct cg_hsq_entry *e = q->bucket[bucket_of(q, addr)]; e != NULL; e = e->anext)
        n += memcmp(e->addr, addr, 16) == 0;
    return n;
}

bool cg__hsq_admit(struct cg_hsq *q, struct cg_hsq_entry *e, const uint8_t addr[16])
{
    if (e->admitted || cg__hsq_count(q, addr) >= q->per_addr)
        return false;
    unsigned b = bucket_of(q, addr);
    memcpy(e->addr, addr, 16);
    e->aprev = NULL;
    e->anext = q->bucket[b];
    if (e->anext != NULL)
        e->anext->aprev = e;
    q->bucket[b] = e;
    e->admitted = true;
    q->admitted++;
    return true;
}

static void unwait(struct cg_hsq *q, struct cg_hsq_entry *e)
{
    if (!e->waiting)
        return;
    if (e->wprev != NULL)
        e->wprev->wnext = e->wnext;
    else
        q->whead = e->wnext;
    if (e->wnext != NULL)
        e->wnext->wprev = e->wprev;
    else
        q->wtail = e->wprev;
    e->wprev = e->wnext = NULL;
    e->waiting = false;
    q->nwaiting--;
}

void cg__hsq_leave(struct cg_hsq *q, struct cg_hsq_entry *e)
{
    unwait(q, e);
    if (!e->admitted)
        return;
    if (e->aprev != NULL)
        e->aprev->anext = e->anext;
    else
        q->bucket[bucket_of(q, e->addr)] = e->anext;
    if (e->anext != NULL)
        e->anext->aprev = e->aprev;
    e->aprev = e->anext = NULL;
    e->admitted = false;
    q->admitted--;
}

/* e's turn: one past the last its address has waiting, else the current round. */
static uint64_t round_for(const struct cg_hsq *q, const struct cg_hsq_entry *e)
{
    uint64_t r = q->round;
    const struct cg_hsq_entry *x = e->admitted ? q->bucket[bucket_of(q, e->addr)] : NULL;
    for (; x != NULL; x = x->anext)
        if (x->waiting && x->round >= r && memcmp(x->addr, e->addr, 16) == 0)
            r = x->round + 1;
    return r;
}

/* Into the line after every entry of its round or an earlier one. */
static void enqueue(struct cg_hsq *q, struct cg_hsq_entry *e)
{
    e->round = round_for(q, e);
    struct cg_hsq_entry *after = q->wtail;
    while (after != NULL && after->round > e->round)
        after = after->wprev;
    e->wprev = after;
    e->wnext = after != NULL ? after->wnext : q->whead;
    if (e->wnext != NULL)
        e->wnext->wprev = e;
    else
        q->wtail = e;
    if (after != NULL)
        after->wnext = e;
    else
        q->whead = e;
    e->waiting = true;
    q->nwaiting++;
}

bool cg__hsq_want(struct cg_hsq *q, struct cg_hsq_entry *e)
{
    if (e->running || e->waiting || q->orphaned)
        return false;
    if (q->running < q->max_running && q->whead == NULL) {
        q->running++;
        e->running = true;
        return true;
    }
    enqueue(q, e);
    return false;
}

struct cg_hsq_entry *cg__hsq_step_done(struct cg_hsq *q, struct cg_hsq_entry *e)
{
    if (!e->running)
        return NULL;
    e->running = false;
    q->running--;
    if (q->orphaned) {
        if (q->running == 0)
            free(q);
        return NULL;
    }
    struct cg_hsq_entry *next = q->whead;
    if (next == NULL)
        return NULL;
    q->round = next->round;
    unwait(q, next);
    next->running = true;
    q->running++;
    return next;
}
