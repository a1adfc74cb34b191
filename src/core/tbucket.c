/* A token bucket (sans-I/O; core.h): how often something a peer can make us
 * do may happen, averaged, with a burst allowed on top. The caller passes
 * the time (monotonic milliseconds) to every call, so the tests move it by
 * hand. Tokens are counted in thousandths so a rate of a few per second
 * refills in whole steps at millisecond resolution; a time that goes back
 * (never from the monotonic clock) refills nothing. Used for the budget of
 * password hashes an unauthenticated peer may cost (mos4/auth.c, issue 12
 * item 4). */
#include "core/core.h"

#define MILLI 1000u

void cg__tbucket_init(struct cg_tbucket *b, uint32_t rate_per_s, uint32_t burst, uint64_t now_ms)
{
    b->rate = rate_per_s;
    b->cap = (uint64_t)(burst > 0 ? burst : 1) * MILLI;
    b->level = b->cap; /* starts full: a restart's first logins are not held back */
    b->last_ms = now_ms;
}

static void refill(struct cg_tbucket *b, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    uint64_t gap = now_ms - b->last_ms;
    b->last_ms = now_ms;
    if (b->level >= b->cap)
        return;
    /* rate tokens a second = rate thousandths a millisecond; gap is capped
     * at what fills the bucket, so the product stays below cap + rate */
    uint64_t need = b->cap - b->level;
    uint64_t full_ms = b->rate > 0 ? need / b->rate + 1 : 0;
    uint64_t add = (gap < full_ms ? gap : full_ms) * b->rate;
    b->level = add >= need ? b->cap : b->level + add;
}

bool cg__tbucket_take(struct cg_tbucket *b, uint64_t now_ms)
{
    refill(b, now_ms);
    if (b->level < MILLI)
        return false;
    b->level -= MILLI;
    return true;
}

uint64_t cg__tbucket_wait_ms(struct cg_tbucket *b, uint64_t now_ms)
{
    refill(b, now_ms);
    if (b->level >= MILLI)
        return 0;
    if (b->rate == 0)
        return UINT64_MAX;
    uint64_t need = MILLI - b->level;
    return (need + b->rate - 1) / b->rate;
}

unsigned cg__tbucket_tokens(struct cg_tbucket *b, uint64_t now_ms)
{
    refill(b, now_ms);
    return (unsigned)(b->level / MILLI);
}
