/* When a lane dials again (sans-I/O: the delay from what happened, no
 * clock, no randomness of its own).
 *
 * Two ladders. A peer that is simply not there (connection refused, no
 * route, timeout) is retried fast: 100 ms doubling to reconnect_max_ms
 * (1 s by default), because it is usually a restart and the lane should be
 * back at once (M-08: "as quickly as possible"). A peer that is there and
 * says no (an HTTP answer other than 101, a certificate we refuse, a TLS
 * handshake it breaks off) or accepts and closes before the lane carried
 * anything is retried slowly: 1 s doubling to refused_max_ms (60 s by
 * default), so wrong credentials do not lock the account behind them and
 * a peer that closes at once is not hammered; but a close with 1001 "going
 * away" (a listener stopping or restarting) is a peer gone, on the fast
 * ladder (MOS4_GONE). Only a lane that carried a
 * message or stayed up MOS4_HEALTHY_MS starts both ladders again.
 *
 * A 503 with Retry-After is neither: a castgate listener answers it when
 * its password hashing pool is full (src/mos4/endpoint.c). The peer is there
 * and busy, so the lane comes back after what it asked (1..30 s, never
 * earlier, up to 25% later so a fleet does not return in step) and neither
 * ladder moves. */
#include "mos4/mos4.h"

#define FAST_BASE_MS 100u
#define REFUSED_BASE_MS 1000u

static uint64_t ladder(uint64_t base, unsigned step, uint64_t cap)
{
    uint64_t d = base << (step < 20 ? step : 20);
    return d < cap ? d : cap;
}

uint64_t cg__mos4_backoff_next(struct mos4_backoff *b, enum mos4_outcome o, uint32_t fast_cap_ms,
                               uint32_t refused_cap_ms, unsigned jitter_pct)
{
    uint64_t d;
    switch (o) {
    case MOS4_HEALTHY: /* a good lane went down: start over, fast */
        b->fast = b->refused = 0;
        d = ladder(FAST_BASE_MS, b->fast++, fast_cap_ms);
        break;
    case MOS4_REFUSED:
    case MOS4_DROPPED: /* the peer is there and does not want us: slow, whatever it said */
        d = ladder(REFUSED_BASE_MS, b->refused++, refused_cap_ms);
        break;
    case MOS4_BUSY: /* it asked us to come back later: no earlier, and no ladder step */
        d = b->busy_ms != 0 ? b->busy_ms : MOS4_BUSY_MIN_S * 1000u;
        if (jitter_pct < 75 || jitter_pct > 100)
            jitter_pct = 100;
        return d * (200 - jitter_pct) / 100; /* 100..125% */
    case MOS4_GONE: /* opened, then the peer went away: a restart, fast */
    case MOS4_DOWN:
    default: /* nobody there: fast; the refusal count stays for when it answers again */
        d = ladder(FAST_BASE_MS, b->fast++, fast_cap_ms);
        break;
    }
    if (jitter_pct < 75 || jitter_pct > 100)
        jitter_pct = 100;
    return d * jitter_pct / 100;
}

void cg__mos4_backoff_reset(struct mos4_backoff *b)
{
    b->fast = b->refused = 0;
}

bool cg__mos4_backoff_busy(struct mos4_backoff *b, int http_status, long retry_after_s)
{
    if (http_status != 503 || retry_after_s < 0)
        return false;
    long s = retry_after_s < (long)MOS4_BUSY_MIN_S ? (long)MOS4_BUSY_MIN_S : retry_after_s;
    b->busy_ms = (uint32_t)(s > (long)MOS4_BUSY_MAX_S ? MOS4_BUSY_MAX_S : (unsigned long)s) * 1000u;
    return true;
}

enum mos4_outcome cg__mos4_outcome(bool was_up, bool healthy, enum cg_err err, int http_status)
{
    if (was_up)
        return healthy ? MOS4_HEALTHY : MOS4_DROPPED;
    if (http_status != 0)
        return MOS4_REFUSED; /* it answered HTTP, and not with 101 */
    switch (err) {
    case CG_EAUTH:
    case CG_EHTTP:
    case CG_EWS:
    case CG_ETLS:
    case CG_EHANDSHAKE: /* it accepted TCP and broke off TLS */
    case CG_EVERIFY:
    case CG_EHOSTNAME:
    case CG_EUNTRUSTED:
    case CG_ESELFSIGNED:
    case CG_EPIN:
    case CG_EREVOKED:
    case CG_EOCSP:
    case CG_EEXPIRED:
    case CG_ECERT:
    case CG_EPROTO:
        return MOS4_REFUSED;
    default: /* CG_ENET, CG_ETIMEDOUT, …: not there */
        return MOS4_DOWN;
    }
}

enum mos4_outcome cg__mos4_closed_outcome(bool carried, uint64_t up_for_ms, uint16_t close_code)
{
    if (carried || up_for_ms >= MOS4_HEALTHY_MS)
        return MOS4_HEALTHY;
    /* 1001: the endpoint is going away (RFC 6455 7.4.1), which is what a
     * listener that stops or restarts sends. Not a refusal: back "as quickly
     * as possible" (M-08). A peer that upgrades and then closes with any
     * other code (ENPS: 1003 on text frames) or none is a drop. */
    return close_code == 1001 ? MOS4_GONE : MOS4_DROPPED;
}
