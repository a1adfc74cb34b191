/* A leg that behaves as a wire does for its gear (mirror.h): sans-I/O. */
#include "relay/mirror.h"

#include <string.h>

static enum cg_relay_side other(enum cg_relay_side s)
{
    return s == CG_RELAY_LEGACY ? CG_RELAY_MOS4 : CG_RELAY_LEGACY;
}

static void push(struct cg_mirror *m, enum cg_mirror_act_kind k, enum cg_relay_side side,
                 enum cg_relay_side cause, uint64_t for_ms)
{
    /* at most three per event (HOLD and CANCEL, or RELEASE); the caller drains after each */
    if (m->alen >= CG_MIRROR_ACTS)
        return;
    m->acts[(m->ahead + m->alen++) % CG_MIRROR_ACTS] =
        (struct cg_mirror_act){.kind = k, .side = side, .cause = cause, .for_ms = for_ms};
}

enum cg_err cg__mirror_init(struct cg_mirror *m, const struct cg_mirror_config *cfg, uint64_t now_ms)
{
    CG_CHECK(m != NULL && cfg != NULL && cfg->down_after_ms > 0 && cfg->up_after_ms > 0, CG_EINVAL);
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->since[CG_RELAY_LEGACY] = m->since[CG_RELAY_MOS4] = now_ms;
    return CG_OK;
}

/* When side s's absence counts as down for down_after: its down time, or
 * the end of its grace after a release. */
static uint64_t down_from(const struct cg_mirror *m, enum cg_relay_side s)
{
    return m->grace[s] > m->since[s] ? m->grace[s] : m->since[s];
}

static bool down_long(const struct cg_mirror *m, uint64_t now, enum cg_relay_side s)
{
    uint64_t from = down_from(m, s);
    return !m->up[s] && now >= from && now - from >= m->cfg.down_after_ms;
}

/* What the time and the sides say now. */
static void step(struct cg_mirror *m, uint64_t now)
{
    if (!m->holding) {
        int cause = -1; /* the side down longest, past down_after; the legacy side at a tie */
        static const enum cg_relay_side order[] = {CG_RELAY_LEGACY, CG_RELAY_MOS4};
        for (size_t i = 0; i < CG_ARRAY_LEN(order); i++)
            if (down_long(m, now, order[i]) &&
                (cause < 0 || down_from(m, order[i]) < down_from(m, (enum cg_relay_side)cause)))
                cause = (int)order[i];
        if (cause < 0)
            return;
        enum cg_relay_side y = (enum cg_relay_side)cause;
        m->holding = true;
        m->held = other(y);
        m->cut = true;
        m->holds++;
        m->cancels++;
        push(m, CG_MIRROR_A_HOLD, m->held, y, now - m->since[y]);
        push(m, CG_MIRROR_A_CANCEL, y, y, now - m->since[y]);
        return;
    }
    enum cg_relay_side y = other(m->held);
    if (m->up[y] && now - m->since[y] >= m->cfg.up_after_ms) {
        enum cg_relay_side x = m->held;
        m->holding = false;
        m->releases++;
        m->up[x] = false; /* it was held down: down until its lanes come up, with a grace */
        m->since[x] = now;
        m->grace[x] = now + (m->cfg.up_after_ms > CG_MIRROR_GRACE_MS ? m->cfg.up_after_ms
                                                                      : CG_MIRROR_GRACE_MS);
        push(m, CG_MIRROR_A_RELEASE, x, y, now - m->since[y]);
    } else if (!m->up[y] && !m->cut && down_long(m, now, y)) {
        m->cut = true;
        m->cancels++;
        push(m, CG_MIRROR_A_CANCEL, y, y, now - m->since[y]);
    }
}

void cg__mirror_side(struct cg_mirror *m, uint64_t now_ms, enum cg_relay_side side, bool up)
{
    if (m == NULL || (side != CG_RELAY_LEGACY && side != CG_RELAY_MOS4))
        return;
    if (m->holding && side == m->held)
        return; /* we hold it down: not an observation */
    if (up)
        m->grace[side] = 0; /* back: a later absence counts in full */
    if (up != m->up[side]) {
        m->up[side] = up;
        m->since[side] = now_ms;
        if (m->holding && up) /* the cause is back: a later absence is a new cut */
            m->cut = false;
    }
    step(m, now_ms);
}

void cg__mirror_timer(struct cg_mirror *m, uint64_t now_ms)
{
    if (m != NULL)
        step(m, now_ms);
}

uint64_t cg__mirror_deadline(const struct cg_mirror *m)
{
    if (m == NULL)
        return CG_MIRROR_NEVER;
    if (!m->holding) {
        uint64_t d = CG_MIRROR_NEVER;
        for (int s = 0; s < 2; s++) {
            uint64_t at = down_from(m, (enum cg_relay_side)s) + m->cfg.down_after_ms;
            if (!m->up[s] && at < d)
                d = at;
        }
        return d;
    }
    enum cg_relay_side y = other(m->held);
    if (m->up[y])
        return m->since[y] + m->cfg.up_after_ms;
    return m->cut ? CG_MIRROR_NEVER : m->since[y] + m->cfg.down_after_ms;
}

bool cg__mirror_action(struct cg_mirror *m, struct cg_mirror_act *a)
{
    if (m == NULL || m->alen == 0)
        return false;
    *a = m->acts[m->ahead];
    m->ahead = (m->ahead + 1) % CG_MIRROR_ACTS;
    m->alen--;
    return true;
}

bool cg__mirror_held(const struct cg_mirror *m, enum cg_relay_side side)
{
    return m != NULL && m->holding && m->held == side;
}

const char *cg__mirror_act_name(enum cg_mirror_act_kind k)
{
    return k == CG_MIRROR_A_HOLD ? "hold" : k == CG_MIRROR_A_RELEASE ? "release"
         : k == CG_MIRROR_A_CANCEL ? "cancel" : "?";
}
