/* An active/standby castgate pair, sans-I/O (redund.h, issue 18 item 3,
 * docs/redundancy.md): journal records replicated to the standby, answers
 * to senders gated on the standby's acknowledgement, takeover when the
 * active goes silent, and epochs that make a returning old active stand
 * down. The address the gear dials is moved by keepalived (VRRP), which
 * follows the role decided here (docs/redundancy.md, "The gateway pair"). */
#include "redund/redund.h"

#include <string.h>

static struct cg_pair_act *push(struct cg_pair *p, enum cg_pair_act_kind kind)
{
    if (p->alen == CG_PAIR_ACTS) { /* cannot happen: an event makes a handful */
        p->overflow = true;
        memset(&p->spill, 0, sizeof(p->spill));
        return &p->spill;
    }
    struct cg_pair_act *a = &p->acts[(p->ahead + p->alen++) % CG_PAIR_ACTS];
    *a = (struct cg_pair_act){.kind = kind};
    return a;
}

/* Queued actions first, then the gated refs whose turn came (any number:
 * they are read from the gated ring itself). */
bool cg__pair_action(struct cg_pair *p, struct cg_pair_act *a)
{
    if (p->alen > 0) {
        *a = p->acts[p->ahead];
        p->ahead = (p->ahead + 1) % CG_PAIR_ACTS;
        p->alen--;
        return true;
    }
    if (p->release_n == 0)
        return false;
    const struct cg_pair_gated *g = &p->gated[p->ghead];
    *a = (struct cg_pair_act){.kind = p->abandon ? CG_PAIR_A_ABANDON : CG_PAIR_A_RELEASE,
                              .ref = g->ref, .seq = g->seq, .epoch = p->epoch};
    p->ghead = (p->ghead + 1) % CG_PAIR_GATED;
    p->glen--;
    p->release_n--;
    if (p->release_n == 0)
        p->abandon = false;
    return true;
}

static void note(struct cg_pair *p, enum cg_pair_reason why, uint64_t seq)
{
    struct cg_pair_act *a = push(p, CG_PAIR_A_NOTE);
    a->why = why, a->seq = seq, a->epoch = p->epoch;
}

static void send(struct cg_pair *p, enum cg_pair_msg_kind kind, uint64_t seq, uint64_t ref)
{
    struct cg_pair_act *a = push(p, CG_PAIR_A_SEND);
    a->msg = (struct cg_pair_msg){.kind = kind, .epoch = p->epoch, .node = p->cfg.node,
                                  .role = p->role, .seq = seq, .ref = ref, .regime = p->regime};
}

static void send_hb(struct cg_pair *p, uint64_t now, bool need)
{
    /* a standby setting its journal aside asks for everything (seq 0) */
    send(p, CG_PAIR_M_HB, p->resetting ? 0 : p->last_seq, 0);
    p->acts[(p->ahead + p->alen - 1) % CG_PAIR_ACTS].msg.need = need;
    p->hb_next = now + p->cfg.hb_interval_ms;
}

static void persist(struct cg_pair *p, uint64_t epoch)
{
    if (epoch == p->epoch)
        return;
    p->epoch = epoch;
    push(p, CG_PAIR_A_PERSIST_EPOCH)->epoch = epoch;
}

/* (e1, n1) beats (e2, n2): the greater epoch, then the lower node. */
static bool beats(uint64_t e1, int n1, uint64_t e2, int n2) { return e1 > e2 || (e1 == e2 && n1 < n2); }

/* Every gated ref up to the standby's acknowledgement may go (in order). */
static void release_upto(struct cg_pair *p, uint64_t seq)
{
    while (p->release_n < p->glen && p->gated[(p->ghead + p->release_n) % CG_PAIR_GATED].seq <= seq)
        p->release_n++;
}

static void release_all(struct cg_pair *p) { p->release_n = p->glen; }

static void become_active(struct cg_pair *p, uint64_t now)
{
    /* greater than any seen, and of our node's parity: two machines never
     * take the same epoch, so an epoch names one active and its records */
    uint64_t e = (p->peer_epoch > p->epoch ? p->peer_epoch : p->epoch) + 1;
    if (e % 2 != (uint64_t)p->cfg.node)
        e++;
    persist(p, e); /* written before we serve: a restart never reuses it */
    p->role = CG_PAIR_ACTIVE;
    p->regime = e; /* our records from now on; the journal so far is our history */
    p->resetting = p->asked = false;
    struct cg_pair_act *a = push(p, CG_PAIR_A_BECOME_ACTIVE);
    a->epoch = e, a->why = CG_PAIR_R_PEER_SILENT, a->seq = p->last_seq;
    p->standby_present = false;
    p->behind = false;
    p->acked = 0;
    send_hb(p, now, false); /* at once: a live old active hears it and stands down */
}

/* A newer active exists: stop serving now. What we hold gated never goes
 * out (its senders repeat it to the new active, M-22). Our journal may hold
 * records the new active never had (accepted while the two could not hear
 * each other): following the new active's regime RESETs it (kept aside for
 * the operator) and a resync fills a new one. */
static void stand_down(struct cg_pair *p, uint64_t now, uint64_t epoch)
{
    persist(p, epoch);
    p->role = CG_PAIR_STANDBY;
    struct cg_pair_act *a = push(p, CG_PAIR_A_STAND_DOWN);
    a->epoch = epoch, a->why = CG_PAIR_R_PEER_NEWER, a->seq = p->last_seq;
    p->abandon = true;
    release_all(p);
    p->asked = false;
    p->standby_present = false;
    p->behind = false;
    p->quiet_since = now;
}

/* A resync is asked for once, and again only if nothing came of it within
 * takeover_after (the request or the replay was lost with the link). */
static bool may_ask(const struct cg_pair *p, uint64_t now)
{
    return !p->asked || now - p->asked_at >= p->cfg.takeover_after_ms;
}

static void ask(struct cg_pair *p, uint64_t now)
{
    p->asked = true;
    p->asked_at = now;
    send_hb(p, now, true);
}

static void standby_record(struct cg_pair *p, uint64_t now, const struct cg_pair_msg *m)
{
    if (m->base && m->seq > p->last_seq + 1) {
        /* a replayed record (a resync) past the next expected one: what lies
         * between was compacted away at the active (answered and done).
         * Never backwards: records we acknowledged stay. */
        p->last_seq = m->seq - 1;
    }
    if (m->seq == p->last_seq + 1) {
        struct cg_pair_act *a = push(p, CG_PAIR_A_STORE);
        a->msg = *m, a->seq = m->seq, a->ref = m->ref;
        p->last_seq = m->seq;
        p->asked = false;
        send(p, CG_PAIR_M_ACK, p->last_seq, 0); /* after the STORE: the caller keeps the order */
    } else if (m->seq <= p->last_seq) {
        send(p, CG_PAIR_M_ACK, p->last_seq, 0); /* a repeat (resync overlap) */
    } else if (may_ask(p, now)) {
        note(p, CG_PAIR_R_GAP, m->seq);
        ask(p, now);
    }
}

static void rx_standby(struct cg_pair *p, uint64_t now, const struct cg_pair_msg *m)
{
    if (m->role != CG_PAIR_ACTIVE)
        return; /* two standbys: the timer decides */
    p->quiet_since = now;
    if (m->epoch > p->epoch)
        persist(p, m->epoch);
    if (m->epoch != p->regime && !(m->kind == CG_PAIR_M_RECORD && m->base)) {
        /* another active's records are never mixed with ours: our journal
         * stays as it is (we may still have to take over with it) until the
         * new active's resync begins */
        if (!p->resetting || may_ask(p, now)) {
            p->resetting = true;
            ask(p, now);
        }
        return;
    }
    if (m->epoch != p->regime) { /* the first record of the resync: now set it aside */
        p->regime = m->epoch;
        p->resetting = false;
        p->last_seq = m->seq - 1;
        push(p, CG_PAIR_A_RESET)->epoch = m->epoch;
    }
    if (m->kind == CG_PAIR_M_RECORD)
        standby_record(p, now, m);
    else if (m->kind == CG_PAIR_M_HB && m->seq > p->last_seq && may_ask(p, now))
        ask(p, now); /* records we never got (we were away, or they were lost): ask for them */
}

static void resync(struct cg_pair *p, uint64_t from)
{
    struct cg_pair_act *a = push(p, CG_PAIR_A_RESYNC);
    a->seq = from, a->epoch = p->epoch;
    p->replay_first = true;
    p->replay_broken = false;
}

static void rx_active(struct cg_pair *p, uint64_t now, const struct cg_pair_msg *m)
{
    if (m->role == CG_PAIR_ACTIVE) { /* two actives: the newer wins, the other stands down */
        if (beats(m->epoch, m->node, p->epoch, p->cfg.node)) {
            stand_down(p, now, m->epoch);
            rx_standby(p, now, m);
        } else {
            if (m->kind == CG_PAIR_M_RECORD)
                note(p, CG_PAIR_R_STALE, m->seq);
            send_hb(p, now, false); /* tells it at once */
        }
        return;
    }
    if (!p->standby_present) {
        p->standby_present = true;
        note(p, CG_PAIR_R_STANDBY_BACK, m->seq);
        if (m->regime == p->epoch && m->seq < p->last_seq && !m->need)
            resync(p, m->seq + 1);
        /* another regime: it asks for everything (need) on our next message */
    }
    if (m->kind == CG_PAIR_M_HB && m->need)
        resync(p, m->seq + 1);
    if ((m->kind == CG_PAIR_M_ACK || m->kind == CG_PAIR_M_HB) && m->regime == p->epoch &&
        m->seq <= p->last_seq && m->seq > p->acked) {
        p->acked = m->seq;
        if (p->behind && p->acked >= p->behind_upto) {
            p->behind = false; /* what the failed read left out is on the standby now */
            note(p, CG_PAIR_R_CAUGHT_UP, p->acked);
        }
        release_upto(p, p->acked);
    }
}

void cg__pair_rx(struct cg_pair *p, uint64_t now_ms, const struct cg_pair_msg *m)
{
    if (m == NULL || m->node == p->cfg.node)
        return; /* our own echo, or a misconfigured pair: ignore */
    p->peer_heard = true;
    p->peer_rx = now_ms;
    p->peer_epoch = m->epoch > p->peer_epoch ? m->epoch : p->peer_epoch;
    p->peer_node = m->node;
    p->peer_role = m->role;
    if (m->kind == CG_PAIR_M_HB)
        p->peer_seq = m->seq, p->peer_regime = m->regime;
    if (p->role == CG_PAIR_ACTIVE)
        rx_active(p, now_ms, m);
    else
        rx_standby(p, now_ms, m);
}

enum cg_err cg__pair_record(struct cg_pair *p, uint64_t now_ms, uint64_t ref, bool gated,
                            uint64_t *seq)
{
    CG_UNUSED(now_ms);
    CG_CHECK(ref != 0, CG_EINVAL);
    CG_CHECK(p->role == CG_PAIR_ACTIVE, CG_ESTATE);
    /* full: the newest entry, not being released, gives way (below) */
    CG_CHECK(!gated || p->glen < CG_PAIR_GATED || p->release_n < p->glen, CG_EFULL);
    uint64_t s = ++p->last_seq;
    if (seq != NULL)
        *seq = s;
    if (p->standby_present) {
        send(p, CG_PAIR_M_RECORD, s, ref);
        /* a resync with nothing to replay begins here */
        p->acts[(p->ahead + p->alen - 1) % CG_PAIR_ACTS].msg.base = p->replay_first;
        p->replay_first = false;
    }
    if (!gated)
        return CG_OK;
    /* CG_PAIR_GATED unacknowledged (a slow standby): this one takes the
     * newest entry's place. Releases come in order and are read as "every
     * ref up to this one" (castgate run's answer gate), so its RELEASE
     * covers the one replaced; what it must not do is go without a RELEASE
     * (it was sent ungated before: answers made after it then waited for a
     * later gated record, for ever with stop-and-wait senders, M-22). */
    struct cg_pair_gated g = {.seq = s, .ref = ref};
    if (p->glen == CG_PAIR_GATED)
        p->gated[(p->ghead + p->glen - 1) % CG_PAIR_GATED] = g;
    else
        p->gated[(p->ghead + p->glen++) % CG_PAIR_GATED] = g;
    if ((!p->standby_present || p->behind) && !p->cfg.strict)
        release_all(p); /* degraded: nobody to wait for (noted when the standby went, or
                           when its resync failed) */
    return CG_OK;
}

void cg__pair_replay(struct cg_pair *p, uint64_t now_ms, uint64_t seq, uint64_t ref)
{
    CG_UNUSED(now_ms);
    if (p->role != CG_PAIR_ACTIVE || !p->standby_present || p->replay_broken)
        return;
    send(p, CG_PAIR_M_RECORD, seq, ref);
    /* every replayed record is a base: the active's journal may lack numbers
     * inside what it replays as well as before it (a compaction drops the
     * records of answered requests), and the standby skips to each */
    p->acts[(p->ahead + p->alen - 1) % CG_PAIR_ACTS].msg.base = true;
    p->replay_first = false;
}

void cg__pair_resync_failed(struct cg_pair *p, uint64_t now_ms, uint64_t from)
{
    CG_UNUSED(now_ms);
    if (p->role != CG_PAIR_ACTIVE)
        return;
    /* Not a compaction gap: no base may tell the standby to skip what the
     * read left out. Records replayed before the failure were real and
     * stay; the next one sent shows the standby a gap, and it asks again. */
    p->replay_first = false;
    p->replay_broken = true;
    p->behind = true;
    p->behind_upto = p->last_seq;
    note(p, CG_PAIR_R_RESYNC_FAILED, from);
    if (!p->cfg.strict)
        release_all(p); /* degraded, as without a standby */
}

static bool i_should_lead(const struct cg_pair *p, uint64_t now)
{
    bool peer_alive = p->peer_heard && now - p->peer_rx < p->cfg.takeover_after_ms;
    if (!peer_alive)
        return true;
    if (p->peer_role == CG_PAIR_ACTIVE)
        return false; /* heard recently (quiet_since would have moved): not silent */
    /* two standbys: the newer regime, then more of its journal, then the lower node */
    if (p->regime != p->peer_regime)
        return p->regime > p->peer_regime;
    return p->last_seq > p->peer_seq || (p->last_seq == p->peer_seq && p->cfg.node < p->peer_node);
}

void cg__pair_timer(struct cg_pair *p, uint64_t now_ms)
{
    if (p->role == CG_PAIR_STANDBY && now_ms - p->quiet_since >= p->cfg.takeover_after_ms) {
        if (i_should_lead(p, now_ms)) {
            become_active(p, now_ms);
            return;
        }
        /* the other standby leads: look again after a heartbeat */
        p->quiet_since = now_ms + p->cfg.hb_interval_ms - p->cfg.takeover_after_ms;
    }
    if (p->role == CG_PAIR_ACTIVE && p->standby_present &&
        now_ms - p->peer_rx >= p->cfg.takeover_after_ms) {
        p->standby_present = false;
        note(p, CG_PAIR_R_STANDBY_LOST, p->acked);
        if (!p->cfg.strict)
            release_all(p);
    }
    if (now_ms >= p->hb_next)
        send_hb(p, now_ms, false);
}

enum cg_err cg__pair_init(struct cg_pair *p, const struct cg_pair_config *cfg, uint64_t epoch,
                          uint64_t regime, uint64_t last_seq, uint64_t now_ms)
{
    CG_CHECK(p != NULL && cfg != NULL && (cfg->node == 0 || cfg->node == 1), CG_EINVAL);
    CG_CHECK(cfg->hb_interval_ms > 0 && cfg->takeover_after_ms > 2 * cfg->hb_interval_ms, CG_EINVAL);
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->role = CG_PAIR_STANDBY;
    p->epoch = epoch > regime ? epoch : regime;
    p->regime = regime;
    p->last_seq = last_seq;
    p->quiet_since = now_ms;
    p->hb_next = now_ms;
    return CG_OK;
}

uint64_t cg__pair_deadline(const struct cg_pair *p)
{
    uint64_t d = p->hb_next;
    uint64_t t = UINT64_MAX;
    if (p->role == CG_PAIR_STANDBY)
        t = p->quiet_since + p->cfg.takeover_after_ms;
    else if (p->standby_present)
        t = p->peer_rx + p->cfg.takeover_after_ms;
    return t < d ? t : d;
}

const char *cg__pair_reason_name(enum cg_pair_reason why)
{
    switch (why) {
    case CG_PAIR_R_NONE: return "none";
    case CG_PAIR_R_PEER_SILENT: return "peer-silent";
    case CG_PAIR_R_PEER_NEWER: return "peer-newer";
    case CG_PAIR_R_STANDBY_LOST: return "standby-lost";
    case CG_PAIR_R_STANDBY_BACK: return "standby-back";
    case CG_PAIR_R_STALE: return "stale";
    case CG_PAIR_R_GAP: return "gap";
    case CG_PAIR_R_RESYNC_FAILED: return "resync-failed";
    case CG_PAIR_R_CAUGHT_UP: return "caught-up";
    }
    return "?";
}
