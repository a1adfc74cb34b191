/* The relay's counters (castgate/relay.h): NACKs by side, reason and
 * channel; pure, unit-tested in tests/unit/test_relay_stats.c. */
#include "core/core.h"
#include "relay/relay.h"

static const char *const nack_names[CG_RELAY_NACK_REASONS] = {
    [CG_RELAY_NACK_REMOVED] = "removed_in_4", [CG_RELAY_NACK_TRANSLATE] = "translate",
    [CG_RELAY_NACK_FORWARD] = "forward",      [CG_RELAY_NACK_NO_ANSWER] = "no_answer",
    [CG_RELAY_NACK_PEER] = "peer",
};

const char *cg_relay_nack_name(enum cg_relay_nack reason)
{
    return (unsigned)reason < CG_RELAY_NACK_REASONS ? nack_names[reason] : "unknown";
}

void cg__relay_count_nack(struct cg_relay_stats *st, enum cg_relay_side from,
                          enum cg_relay_nack reason, enum cg_mos_channel channel)
{
    int ch = channel == CG_MOS_CH_MOM ? 0 : channel == CG_MOS_CH_RO ? 1 : channel == CG_MOS_CH_AUX ? 2 : -1;
    if (st == NULL || ch < 0 || (unsigned)from > 1 || (unsigned)reason >= CG_RELAY_NACK_REASONS)
        return;
    st->nacks[from][reason][ch]++;
}

void cg__relay_auth_add(struct cg_auth_stats *a, const struct cg_auth_stats *b)
{
    a->failures += b->failures;
    a->lockouts += b->lockouts;
    a->locked_refused += b->locked_refused;
    a->hashes += b->hashes;
    a->busy_refused += b->busy_refused;
    a->budget_held += b->budget_held;
    a->budget_refused += b->budget_refused;
}
