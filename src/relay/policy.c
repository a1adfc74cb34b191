/* The relay's decisions, sans-I/O: what happens to one request given its
 * name, where it comes from and the link's policies (M-10, M-12). */
#include "relay/relay.h"

#include <castgate/mos.h>
#include <limits.h>
#include <string.h>

enum relay_action cg__relay_decide(const char *name, size_t len, enum cg_relay_side from,
                                   enum cg_relay_heartbeat hb, enum cg_relay_removed removed,
                                   bool out_lane_up)
{
    if (name == NULL)
        return RELAY_FORWARD;
    if (len == 9 && memcmp(name, "heartbeat", 9) == 0) { /* M-10: end to end unless configured */
        if (hb == CG_RELAY_HB_ANSWER || (hb == CG_RELAY_HB_PASS_OR_ANSWER && !out_lane_up))
            return RELAY_ANSWER_HEARTBEAT;
        return RELAY_FORWARD;
    }
    if (from != CG_RELAY_LEGACY)
        return RELAY_FORWARD;
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(name, len);
    if (info == NULL || !info->removed_in_4) /* M-12: only what 4.0 removed */
        return RELAY_FORWARD;
    switch (removed) {
    case CG_RELAY_REMOVED_REJECT: return RELAY_REJECT_REMOVED;
    case CG_RELAY_REMOVED_TRANSLATE: return RELAY_TRANSLATE;
    case CG_RELAY_REMOVED_TRANSLATE_OR_PASS: return RELAY_TRANSLATE_OR_PASS;
    case CG_RELAY_REMOVED_PASS: break;
    }
    return RELAY_FORWARD;
}

bool cg__relay_pass_untranslated(enum relay_action action, enum cg_err trc)
{
    return action == RELAY_TRANSLATE_OR_PASS && trc == CG_ENOTSUP;
}

bool cg__relay_report_count(unsigned long n)
{
    unsigned long p = 1;
    while (p < n && p <= ULONG_MAX / 10)
        p *= 10;
    return n != 0 && n == p;
}

/* The index of name in names[n], or -1 (the policy enums are in table order). */
static int name_index(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

enum cg_err cg_relay_heartbeat_parse(const char *name, enum cg_relay_heartbeat *out)
{
    static const char *const names[] = {"pass", "pass-or-answer", "answer"};
    int i = name_index(names, sizeof(names) / sizeof(names[0]), name);
    if (i < 0 || out == NULL)
        return CG_EINVAL;
    *out = (enum cg_relay_heartbeat)i;
    return CG_OK;
}

enum cg_err cg_relay_removed_parse(const char *name, enum cg_relay_removed *out)
{
    static const char *const names[] = {"pass", "reject", "translate", "translate-or-pass"};
    int i = name_index(names, sizeof(names) / sizeof(names[0]), name);
    if (i < 0 || out == NULL)
        return CG_EINVAL;
    *out = (enum cg_relay_removed)i;
    return CG_OK;
}
