/* The relay's link configuration: setters check their value on the spot. */
#include "relay/relay.h"

#include <stdlib.h>
#include <string.h>

static bool printable(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

enum cg_err cg_relay_link_config_new(const char *name, struct cg_relay_link_config **out)
{
    if (out == NULL || name == NULL || !printable(name, RELAY_NAME_MAX))
        return CG_EINVAL;
    struct cg_relay_link_config *lc = calloc(1, sizeof(*lc));
    if (lc == NULL)
        return CG_ENOMEM;
    memcpy(lc->name, name, strlen(name) + 1);
    memcpy(lc->path, "/mos/Communication", sizeof("/mos/Communication")); /* M-02 */
    lc->heartbeat = CG_RELAY_HB_PASS;
    lc->removed_in_4 = CG_RELAY_REMOVED_PASS;
    lc->redundancy = CG_RELAY_CARRY;
    lc->failover_after_ms = 3000;   /* docs/redundancy.md */
    lc->failback_after_ms = 30000;
    lc->leg_state = CG_RELAY_LEG_DEFAULT;
    lc->leg_down_after_ms = 1000; /* docs/redundancy.md "Mirroring a leg's state" */
    lc->leg_up_after_ms = 2000;
    *out = lc;
    return CG_OK;
}

void cg_relay_link_config_free(struct cg_relay_link_config *lc) { free(lc); }

enum cg_err cg_relay_link_config_set_gear(struct cg_relay_link_config *lc, enum cg_mos_role gear_role,
                                          const char *ncs_id, const char *mos_id)
{
    if (lc == NULL || ncs_id == NULL || mos_id == NULL)
        return CG_EINVAL;
    if (gear_role != CG_MOS_ROLE_NCS && gear_role != CG_MOS_ROLE_MOS)
        return CG_EINVAL;
    if (!printable(ncs_id, RELAY_ID_MAX) || !printable(mos_id, RELAY_ID_MAX) || !strcmp(ncs_id, mos_id))
        return CG_EINVAL;
    lc->gear_role = gear_role;
    memcpy(lc->ncs_id, ncs_id, strlen(ncs_id) + 1);
    memcpy(lc->mos_id, mos_id, strlen(mos_id) + 1);
    lc->ids_set = true;
    return CG_OK;
}

/* A link's request path (its own or its buddy's): absolute, at most
 * RELAY_PATH_MAX bytes; dst has room for RELAY_PATH_MAX + 1. */
static enum cg_err copy_path(char *dst, const char *path)
{
    if (path == NULL)
        return CG_EINVAL;
    size_t n = strnlen(path, RELAY_PATH_MAX + 1);
    if (n == 0 || n > RELAY_PATH_MAX || path[0] != '/')
        return CG_EINVAL;
    memcpy(dst, path, n + 1);
    return CG_OK;
}

enum cg_err cg_relay_link_config_set_path(struct cg_relay_link_config *lc, const char *path)
{
    return lc == NULL ? CG_EINVAL : copy_path(lc->path, path);
}

enum cg_err cg_relay_link_config_set_heartbeat(struct cg_relay_link_config *lc,
                                               enum cg_relay_heartbeat policy)
{
    if (lc == NULL || (policy != CG_RELAY_HB_PASS && policy != CG_RELAY_HB_PASS_OR_ANSWER &&
                       policy != CG_RELAY_HB_ANSWER))
        return CG_EINVAL;
    lc->heartbeat = policy;
    return CG_OK;
}

enum cg_err cg_relay_link_config_set_removed_in_4(struct cg_relay_link_config *lc,
                                                  enum cg_relay_removed policy)
{
    if (lc == NULL ||
        (policy != CG_RELAY_REMOVED_PASS && policy != CG_RELAY_REMOVED_REJECT &&
         policy != CG_RELAY_REMOVED_TRANSLATE && policy != CG_RELAY_REMOVED_TRANSLATE_OR_PASS))
        return CG_EINVAL;
    lc->removed_in_4 = policy;
    return CG_OK;
}

enum cg_err cg_relay_link_config_set_buddy(struct cg_relay_link_config *lc, enum cg_relay_side side,
                                           const char *id)
{
    if (lc == NULL || id == NULL || (side != CG_RELAY_LEGACY && side != CG_RELAY_MOS4) ||
        !printable(id, RELAY_ID_MAX))
        return CG_EINVAL;
    memcpy(lc->buddy_id[side], id, strlen(id) + 1);
    return CG_OK;
}

enum cg_err cg_relay_link_config_set_buddy_path(struct cg_relay_link_config *lc, const char *path)
{
    return lc == NULL ? CG_EINVAL : copy_path(lc->buddy_path, path);
}

#define RELAY_AFTER_MAX 86400000u /* a day, in ms */

enum cg_err cg_relay_link_config_set_redundancy(struct cg_relay_link_config *lc,
                                                enum cg_relay_redundancy mode,
                                                uint64_t failover_after_ms,
                                                uint64_t failback_after_ms)
{
    if (lc == NULL || (mode != CG_RELAY_CARRY && mode != CG_RELAY_FAILOVER))
        return CG_EINVAL;
    if (failover_after_ms == 0 || failover_after_ms > RELAY_AFTER_MAX || failback_after_ms == 0 ||
        (failback_after_ms > RELAY_AFTER_MAX && failback_after_ms != CG_RELAY_NEVER))
        return CG_EINVAL;
    lc->redundancy = mode;
    lc->failover_after_ms = failover_after_ms;
    lc->failback_after_ms = failback_after_ms;
    return CG_OK;
}

enum cg_err cg_relay_link_config_set_leg_state(struct cg_relay_link_config *lc,
                                               enum cg_relay_leg_state state,
                                               uint64_t down_after_ms, uint64_t up_after_ms)
{
    if (lc == NULL || (state != CG_RELAY_LEG_DEFAULT && state != CG_RELAY_LEG_KEEP &&
                       state != CG_RELAY_LEG_MIRROR))
        return CG_EINVAL;
    if (down_after_ms == 0 || down_after_ms > RELAY_AFTER_MAX || up_after_ms == 0 ||
        up_after_ms > RELAY_AFTER_MAX)
        return CG_EINVAL;
    lc->leg_state = state;
    lc->leg_down_after_ms = down_after_ms;
    lc->leg_up_after_ms = up_after_ms;
    return CG_OK;
}
