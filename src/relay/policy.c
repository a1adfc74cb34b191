/* The relay's decisions, sans-I/O: what happens to one request given its
 * name, where it comes from and the link's policies (M-10, M-12). */
#include "relay/relay.h"

#include <castgate/mos.h>
#include <limits.h>
#include <stdio.h>
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

enum cg_err cg_relay_redundancy_parse(const char *name, enum cg_relay_redundancy *out)
{
    static const char *const names[] = {"carry", "failover"};
    int i = name_index(names, sizeof(names) / sizeof(names[0]), name);
    if (i < 0 || out == NULL)
        return CG_EINVAL;
    *out = (enum cg_relay_redundancy)i;
    return CG_OK;
}

enum cg_err cg_relay_leg_state_parse(const char *name, enum cg_relay_leg_state *out)
{
    static const char *const names[] = {"default", "keep", "mirror"};
    int i = name_index(names, sizeof(names) / sizeof(names[0]), name);
    if (i < 0 || out == NULL)
        return CG_EINVAL;
    *out = (enum cg_relay_leg_state)i;
    return CG_OK;
}

bool cg__relay_waits_for_held(const char *name, size_t len)
{
    return name != NULL && len == 9 && memcmp(name, "heartbeat", 9) == 0;
}

bool cg__relay_answered_at_hold(const char *name, size_t len)
{
    return cg__relay_waits_for_held(name, len); /* the same set: the heartbeat only */
}

bool cg__relay_mirrors(enum cg_relay_leg_state st, enum cg_relay_redundancy mode, int nlegs)
{
    if (mode != CG_RELAY_CARRY) /* failover hides the legs from the gear: nothing to mirror */
        return false;
    if (st != CG_RELAY_LEG_DEFAULT)
        return st == CG_RELAY_LEG_MIRROR;
    /* The default: mirror where the gear has a buddy to go to (it must see its
     * main go, as it would on a wire: test_gateway_hotstandby.sh compares the
     * device's view with a run without gateways), keep on a link with one
     * server (the gateway holds its requests through the outage). Issue 18. */
    return nlegs >= 2;
}

const char *cg_relay_leg_name(enum cg_relay_leg leg)
{
    return leg == CG_RELAY_PRIMARY ? "primary" : leg == CG_RELAY_BUDDY ? "buddy" : "?";
}

int cg__relay_route(enum cg_relay_redundancy mode, int nlegs, enum cg_relay_side buddy_side,
                    enum cg_relay_side from, int from_leg)
{
    if (nlegs < 2)
        return 0;
    if (mode != CG_RELAY_FAILOVER) /* carry: each leg end to end, on its own */
        return from_leg == 1 ? 1 : 0;
    if (from != buddy_side) /* towards the side with the buddy: the active leg */
        return -1;
    return 0; /* from either server of the pair to the one peer of the other side */
}

/* ---- answers (issue 18): the buddy's decline, as the field writes it ---- */

static const char decline_text[] = "Buddy server cannot respond because main server is available";

/* The i-th character of an element in enc, as a code unit (UCS-2BE: two
 * bytes; UTF-8: one byte, non-ASCII bytes stay >= 0x80 and match nothing). */
struct units {
    const unsigned char *p;
    size_t n; /* code units */
    bool wide;
};

static unsigned unit_at(const struct units *u, size_t i)
{
    return u->wide ? (unsigned)u->p[2 * i] << 8 | u->p[2 * i + 1] : u->p[i];
}

static bool is_space_unit(unsigned c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static unsigned lower_unit(unsigned c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Where the text s (ASCII) starts in u at or after from; u->n when absent. */
static size_t find_ascii(const struct units *u, size_t from, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = from; i + k <= u->n; i++) {
        size_t j = 0;
        while (j < k && unit_at(u, i + j) == (unsigned char)s[j])
            j++;
        if (j == k)
            return i;
    }
    return u->n;
}

/* Whether the text content of the first <field> of u is the decline. */
static bool field_declines(const struct units *u, const char *field)
{
    char open[40]; /* "<field>", spelled without snprintf (per answer, issue 13) */
    size_t fl = strlen(field);
    if (fl + 3 > sizeof(open))
        return false;
    open[0] = '<';
    memcpy(open + 1, field, fl);
    memcpy(open + 1 + fl, ">", 2);
    size_t i = find_ascii(u, 0, open);
    if (i == u->n)
        return false;
    i += strlen(open);
    size_t end = i;
    while (end < u->n && unit_at(u, end) != '<')
        end++;
    while (i < end && is_space_unit(unit_at(u, i)))
        i++;
    while (end > i && is_space_unit(unit_at(u, end - 1)))
        end--;
    size_t k = sizeof(decline_text) - 1;
    if (end - i != k)
        return false;
    for (size_t j = 0; j < k; j++)
        if (lower_unit(unit_at(u, i + j)) != lower_unit((unsigned char)decline_text[j]))
            return false;
    return true;
}

enum relay_answer cg__relay_classify_answer(const char *name, const char *xml, size_t len,
                                            enum cg_mos_encoding enc, struct cg_mos_span elem)
{
    if (name == NULL || xml == NULL || elem.off > len || elem.len > len - elem.off)
        return RELAY_ANS_OTHER;
    const char *field = strcmp(name, "roAck") == 0    ? "roStatus"
                        : strcmp(name, "mosAck") == 0 ? "statusDescription"
                                                      : NULL;
    if (field == NULL)
        return RELAY_ANS_OTHER;
    struct units u = {.p = (const unsigned char *)xml + elem.off, .wide = enc == CG_MOS_UCS2BE};
    u.n = u.wide ? elem.len / 2 : elem.len;
    return field_declines(&u, field) ? RELAY_ANS_BUDDY_DECLINES : RELAY_ANS_OTHER;
}
