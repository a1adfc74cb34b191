/* Gateway counters and the Prometheus text format; see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NACK_RING 256 /* NACK times kept per link, for "in the last hour" */

/* Why the active leg changed: the relay's words (CG_RELAY_EV_ACTIVE) as
 * label values. */
enum switch_why { SW_UNREACHABLE, SW_PRIMARY_BACK, SW_FORCED, SW_OTHER, SW_N };
static const char *const switch_names[SW_N] = {"unreachable", "primary_back", "forced", "other"};

struct mlegs {
    bool buddy[2];  /* by side: that side has a buddy */
    bool failover;  /* castgate picks the active leg (on the side with the buddy) */
    enum cg_relay_leg active[2];
    time_t active_since[2];
    unsigned long long switches[2][SW_N];
    bool switched[2]; /* a switch seen: the last_* fields hold */
    enum switch_why last_why[2];
    enum cg_relay_leg last_was[2];
    unsigned long long last_for_ms[2];
};

struct mlink {
    char name[128];
    uint32_t hash; /* name_hash(name): compared before the name (issue 13) */
    bool up[2];
    time_t since[2]; /* when the side last went up or down (or was first seen) */
    unsigned long relayed[2], idless;
    struct {
        char name[48], id[72];
        time_t at;
    } last[2];
    char why[300];
    time_t nack_at[NACK_RING];
    unsigned nack_n;
    /* the library's counters (metrics_link_stats) */
    bool have_rst, have_peer[2];
    struct cg_relay_stats rst;
    struct cg_mos_peer_stats peer[2]; /* by side: legacy, mos4 */
    /* the flow core's lanes (metrics_lane_stats), by side and channel index:
     * the OUT fields from the OUT lane, the IN fields from the IN lane */
    bool have_lane[2][CG_RELAY_CHANNELS];
    struct cg_mos_lane_stats lane[2][CG_RELAY_CHANNELS];
    struct mlegs legs; /* redundancy (metrics_link_legs, metrics_active) */
};

#define MAX_LISTENERS 4
#define MAX_LEAVES 8

struct metrics {
    struct mlink *links;
    size_t n, cap;
    unsigned long nacks_unlinked, reloads[2];
    unsigned in_flight;
    time_t (*now)(void);
    struct {
        char chain[256];
        long days;
    } certs[4];
    unsigned ncerts;
    void (*refresh)(void *user);
    void *refresh_user;
    struct {
        char name[32];
        struct cg_wss_stats hs;
        struct cg_auth_stats auth;
        bool has_auth;
    } listeners[MAX_LISTENERS];
    unsigned nlisteners;
    struct {
        char listener[32];
        struct cg_leaf_stats leaf;
    } leaves[MAX_LEAVES];
    unsigned nleaves;
    struct cg_histogram syncfs;
    struct metrics_memory mem;
    struct metrics_pair pair;
};

static time_t now_of(const struct metrics *m) { return m->now != NULL ? m->now() : time(NULL); }
void metrics_set_clock(struct metrics *m, time_t (*now)(void)) { m->now = now; }


struct metrics *metrics_new(void) { return calloc(1, sizeof(struct metrics)); }

void metrics_free(struct metrics *m)
{
    if (m != NULL)
        free(m->links);
    free(m);
}

/* FNV-1a of the first 127 bytes of a link's name (what name[] keeps): a
 * lookup compares it before the name, so with 200 links a relayed message's
 * two lookups cost 400 integer compares, not 400 strcmp calls (issue 13). */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < 127 && s[i] != '\0'; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void set_text(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static struct mlink *find(struct metrics *m, const char *link, bool add)
{
    if (link == NULL)
        return NULL;
    uint32_t h = name_hash(link);
    for (size_t i = 0; i < m->n; i++)
        if (m->links[i].hash == h && strcmp(m->links[i].name, link) == 0)
            return &m->links[i];
    if (!add)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct mlink *p = realloc(m->links, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        m->links = p, m->cap = cap;
    }
    struct mlink *k = &m->links[m->n++];
    *k = (struct mlink){0};
    set_text(k->name, sizeof(k->name), link);
    k->hash = h;
    k->since[0] = k->since[1] = now_of(m);
    return k;
}

void metrics_link_state(struct metrics *m, const char *link, bool legacy_up, bool mos4_up)
{
    struct mlink *k = find(m, link, true);
    if (k == NULL)
        return;
    bool up[2] = {legacy_up, mos4_up};
    for (int i = 0; i < 2; i++)
        if (k->up[i] != up[i])
            k->up[i] = up[i], k->since[i] = now_of(m);
    if (legacy_up && mos4_up)
        k->why[0] = '\0';
}

void metrics_link_why(struct metrics *m, const char *link, const char *why)
{
    struct mlink *k = find(m, link, true);
    if (k != NULL)
        snprintf(k->why, sizeof(k->why), "%s", why != NULL ? why : "");
}

void metrics_last_message(struct metrics *m, const char *link, enum metrics_from from,
                          const char *name, const char *message_id)
{
    struct mlink *k = find(m, link, true);
    if (k == NULL)
        return;
    int s = from == METRICS_FROM_MOS4;
    set_text(k->last[s].name, sizeof(k->last[s].name), name != NULL ? name : "");
    set_text(k->last[s].id, sizeof(k->last[s].id), message_id != NULL ? message_id : "");
    k->last[s].at = now_of(m);
}

void metrics_link_removed(struct metrics *m, const char *link)
{
    struct mlink *k = find(m, link, false);
    if (k != NULL)
        *k = m->links[--m->n];
}

void metrics_relayed(struct metrics *m, const char *link, enum metrics_from from)
{
    struct mlink *k = find(m, link, true);
    if (k != NULL)
        k->relayed[from == METRICS_FROM_MOS4]++;
}

void metrics_idless(struct metrics *m, const char *link, unsigned long count)
{
    struct mlink *k = find(m, link, true);
    if (k != NULL && count > k->idless)
        k->idless = count;
}

void metrics_summary(const struct metrics *m, int *n, int *both, int *legacy, int *mos4)
{
    *n = (int)m->n, *both = *legacy = *mos4 = 0;
    for (size_t i = 0; i < m->n; i++) {
        *both += m->links[i].up[0] && m->links[i].up[1];
        *legacy += m->links[i].up[0];
        *mos4 += m->links[i].up[1];
    }
}

void metrics_nack(struct metrics *m, const char *link, enum metrics_nack why)
{
    struct mlink *k = find(m, link, link != NULL);
    if ((unsigned)why >= METRICS_NACK_N)
        return;
    if (k != NULL) /* the counters come from the relay (metrics_link_stats) */
        k->nack_at[k->nack_n++ % NACK_RING] = now_of(m);
    else
        m->nacks_unlinked++;
}

/* ---- redundancy (issue 18 item 4) ---- */

static bool has_buddy(const struct mlink *k) { return k->legs.buddy[0] || k->legs.buddy[1]; }

void metrics_link_legs(struct metrics *m, const char *link, const bool buddy[2], bool failover)
{
    struct mlink *k = find(m, link, true);
    if (k == NULL)
        return;
    k->legs = (struct mlegs){.buddy = {buddy[0], buddy[1]}, .failover = failover};
    k->legs.active_since[0] = k->legs.active_since[1] = now_of(m);
}

static enum switch_why switch_why_of(const char *why)
{
    static const char *const words[SW_OTHER] = {"unreachable", "primary-back", "forced"};
    for (int i = 0; why != NULL && i < SW_OTHER; i++)
        if (strcmp(why, words[i]) == 0)
            return (enum switch_why)i;
    return SW_OTHER;
}

void metrics_active(struct metrics *m, const char *link, enum cg_relay_side side,
                    enum cg_relay_leg leg, enum cg_relay_leg was, const char *why,
                    unsigned long long for_ms)
{
    struct mlink *k = find(m, link, true);
    if (k == NULL || (unsigned)side > 1 || (unsigned)leg > 1 || (unsigned)was > 1)
        return;
    struct mlegs *g = &k->legs;
    enum switch_why w = switch_why_of(why);
    g->active[side] = leg;
    g->active_since[side] = now_of(m);
    g->switches[side][w]++;
    g->switched[side] = true;
    g->last_why[side] = w, g->last_was[side] = was, g->last_for_ms[side] = for_ms;
}

void metrics_in_flight(struct metrics *m, unsigned n) { m->in_flight = n; }
void metrics_certs_clear(struct metrics *m) { m->ncerts = 0; }

void metrics_cert(struct metrics *m, const char *chain, long days_left)
{
    if (m->ncerts >= sizeof(m->certs) / sizeof(m->certs[0]))
        return;
    snprintf(m->certs[m->ncerts].chain, sizeof(m->certs[0].chain), "%s", chain);
    m->certs[m->ncerts++].days = days_left;
}
void metrics_reload(struct metrics *m, bool ok) { m->reloads[ok]++; }

/* ---- the library's counters ---- */

void metrics_set_refresh(struct metrics *m, void (*fn)(void *user), void *user)
{
    m->refresh = fn, m->refresh_user = user;
}

void metrics_refresh(struct metrics *m)
{
    if (m->refresh != NULL)
        m->refresh(m->refresh_user);
}

static uint64_t nacks_of(const struct cg_relay_stats *st)
{
    uint64_t n = 0;
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < CG_RELAY_NACK_REASONS; r++)
            for (int c = 0; c < CG_RELAY_CHANNELS; c++)
                n += st->nacks[s][r][c];
    return n;
}

void metrics_link_stats(struct metrics *m, const char *link, const struct cg_relay_stats *st,
                        const struct cg_mos_peer_stats *legacy, const struct cg_mos_peer_stats *mos4)
{
    struct mlink *k = find(m, link, true);
    if (k == NULL)
        return;
    if (st != NULL) {
        uint64_t before = k->have_rst ? nacks_of(&k->rst) : 0, now = nacks_of(st);
        for (uint64_t i = before; i < now && i - before < NACK_RING; i++) /* for the page */
            k->nack_at[k->nack_n++ % NACK_RING] = now_of(m);
        k->rst = *st, k->have_rst = true;
    }
    const struct cg_mos_peer_stats *p[2] = {legacy, mos4};
    for (int s = 0; s < 2; s++)
        if (p[s] != NULL)
            k->peer[s] = *p[s], k->have_peer[s] = true;
}

void metrics_lane_stats(struct metrics *m, const char *link, enum cg_relay_side side,
                        enum cg_mos_channel channel, const struct cg_mos_lane_stats *out,
                        const struct cg_mos_lane_stats *in)
{
    int c = channel == CG_MOS_CH_MOM ? 0 : channel == CG_MOS_CH_RO ? 1 : channel == CG_MOS_CH_AUX ? 2 : -1;
    struct mlink *k = find(m, link, true);
    if (k == NULL || c < 0 || (unsigned)side > 1 || out == NULL || in == NULL)
        return;
    struct cg_mos_lane_stats *l = &k->lane[side][c];
    *l = *out; /* the OUT fields */
    l->delivered = in->delivered;
    l->nacks_sent = in->nacks_sent;
    l->repeats_answered = in->repeats_answered;
    l->held = in->held;
    l->held_max = in->held_max;
    l->answers_held_bytes = in->answers_held_bytes;
    l->answers_evicted = in->answers_evicted;
    l->repeats_not_held = in->repeats_not_held;
    k->have_lane[side][c] = true;
}

void metrics_listener(struct metrics *m, const char *listener, const struct cg_wss_stats *hs,
                      const struct cg_auth_stats *auth)
{
    unsigned i = 0;
    while (i < m->nlisteners && strcmp(m->listeners[i].name, listener) != 0)
        i++;
    if (i == MAX_LISTENERS)
        return;
    if (i == m->nlisteners) {
        m->nlisteners++;
        snprintf(m->listeners[i].name, sizeof(m->listeners[i].name), "%s", listener);
    }
    m->listeners[i].hs = *hs;
    m->listeners[i].has_auth = auth != NULL;
    if (auth != NULL)
        m->listeners[i].auth = *auth;
}

void metrics_leaves_clear(struct metrics *m) { m->nleaves = 0; }
void metrics_syncfs(struct metrics *m, const struct cg_histogram *h) { m->syncfs = *h; }
void metrics_memory(struct metrics *m, const struct metrics_memory *mem) { m->mem = *mem; }
void metrics_pair(struct metrics *m, const struct metrics_pair *p) { m->pair = *p; }

void metrics_leaf(struct metrics *m, const char *listener, const struct cg_leaf_stats *leaf)
{
    if (m->nleaves == MAX_LEAVES)
        return;
    snprintf(m->leaves[m->nleaves].listener, sizeof(m->leaves[0].listener), "%s", listener);
    m->leaves[m->nleaves++].leaf = *leaf;
}

struct out {
    char *buf;
    size_t sz, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->len < o->sz ? o->buf + o->len : NULL, o->len < o->sz ? o->sz - o->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* A label value: backslash, double quote and newline escaped (text format 0.0.4). */
static void put_label(struct out *o, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            put(o, "\\%c", *s);
        else if (*s == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *s);
    }
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void series(struct out *o, const char *name, const char *link, const char *lk,
                   const char *lv, unsigned long v)
{
    put(o, "%s{link=\"", name);
    put_label(o, link);
    put(o, "\"");
    if (lk != NULL)
        put(o, ",%s=\"%s\"", lk, lv);
    put(o, "} %lu\n", v);
}

/* name{k1="v1",k2="v2"...} with escaped values; NULL ends the pairs. */
static void labels(struct out *o, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    put(o, "%s{", name);
    const char *k, *sep = "";
    while ((k = va_arg(ap, const char *)) != NULL) {
        put(o, "%s%s=\"", sep, k);
        put_label(o, va_arg(ap, const char *));
        put(o, "\"");
        sep = ",";
    }
    va_end(ap);
    put(o, "} ");
}

static const char *const channel_names[CG_RELAY_CHANNELS] = {"mom", "ro", "aux"};
static const char *const side_names[2] = {"legacy", "mos4"};

static void render_nacks(struct out *o, const struct metrics *m)
{
    head(o, "castgate_nacks_total", "counter",
         "NACKs answered to requests from a side (from), by reason and channel: the relay's own "
         "and the other side's relayed (reason peer)");
    for (size_t i = 0; i < m->n; i++) {
        const struct mlink *k = &m->links[i];
        for (int s = 0; s < 2 && k->have_rst; s++)
            for (int r = 0; r < CG_RELAY_NACK_REASONS; r++)
                for (int c = 0; c < CG_RELAY_CHANNELS; c++) {
                    labels(o, "castgate_nacks_total", "link", k->name, "channel", channel_names[c],
                           "from", side_names[s], "reason", cg_relay_nack_name((enum cg_relay_nack)r),
                           NULL);
                    put(o, "%llu\n", (unsigned long long)k->rst.nacks[s][r][c]);
                }
    }
}

static uint64_t wss_total(const struct cg_wss_stats *st)
{
    uint64_t n = 0;
    for (int r = 0; r < CG_WSS_RESULTS; r++)
        n += st->result[r];
    return n;
}

static void wss_series(struct out *o, const char *total, const char *key, const char *who,
                       const struct cg_wss_stats *st)
{
    labels(o, total, key, who, NULL);
    put(o, "%llu\n", (unsigned long long)wss_total(st));
}

static void wss_failures(struct out *o, const char *failures, const char *key, const char *who,
                         const struct cg_wss_stats *st)
{
    for (int r = 1; r < CG_WSS_RESULTS; r++) { /* 0 is ok */
        labels(o, failures, key, who, "reason", cg_wss_result_name((enum cg_wss_result)r), NULL);
        put(o, "%llu\n", (unsigned long long)st->result[r]);
    }
}

#define AUTH_FAMILIES 7

/* The a-th counter of the castgate_auth_* families, in their order. */
static uint64_t auth_counter(const struct cg_auth_stats *st, int a)
{
    const uint64_t v[AUTH_FAMILIES] = {st->failures,     st->lockouts,       st->locked_refused,
                                       st->hashes,       st->busy_refused,   st->budget_held,
                                       st->budget_refused};
    return v[a];
}

static void render_listeners(struct out *o, const struct metrics *m)
{
    head(o, "castgate_wss_handshakes_total", "counter",
         "set-ups on a listener: failed TLS handshakes, timeouts and HTTP requests answered "
         "(101 upgrades included)");
    for (unsigned i = 0; i < m->nlisteners; i++)
        wss_series(o, "castgate_wss_handshakes_total", "listener", m->listeners[i].name,
                   &m->listeners[i].hs);
    head(o, "castgate_wss_handshake_failures_total", "counter",
         "set-ups on a listener that failed, by reason (TLS, HTTP status, timeout)");
    for (unsigned i = 0; i < m->nlisteners; i++)
        wss_failures(o, "castgate_wss_handshake_failures_total", "listener", m->listeners[i].name,
                     &m->listeners[i].hs);
    static const char *const names[AUTH_FAMILIES] = {
        "castgate_auth_failures_total", "castgate_auth_lockouts_total",
        "castgate_auth_locked_refusals_total", "castgate_auth_hashes_total",
        "castgate_auth_busy_refusals_total", "castgate_auth_budget_held_total",
        "castgate_auth_budget_refusals_total"};
    static const char *const helps[AUTH_FAMILIES] = {
        "wrong or malformed Basic credentials (M-05)",
        "addresses locked out after repeated failures (M-05)",
        "attempts refused while the address was locked out (M-05)",
        "password hashes started (credentials not remembered, no hash of them running)",
        "attempts refused 503: as many password hashes in flight as allowed",
        "checks that waited in line for the password hash budget (auth_hash_rate)",
        "attempts refused 503: the password hash budget spent and its line full"};
    for (int a = 0; a < AUTH_FAMILIES; a++) {
        head(o, names[a], "counter", helps[a]);
        for (unsigned i = 0; i < m->nlisteners; i++) {
            if (!m->listeners[i].has_auth)
                continue;
            labels(o, names[a], "listener", m->listeners[i].name, NULL);
            put(o, "%llu\n", (unsigned long long)auth_counter(&m->listeners[i].auth, a));
        }
    }
}

static void render_dials(struct out *o, const struct metrics *m)
{
    head(o, "castgate_wss_dials_total", "counter", "our wss dials to a link's MOS 4.0 side");
    for (size_t i = 0; i < m->n; i++)
        if (m->links[i].have_peer[1])
            wss_series(o, "castgate_wss_dials_total", "link", m->links[i].name,
                       &m->links[i].peer[1].dial);
    head(o, "castgate_wss_dial_failures_total", "counter",
         "our wss dials that failed, by reason (connect, TLS, HTTP status, timeout, protocol)");
    for (size_t i = 0; i < m->n; i++)
        if (m->links[i].have_peer[1])
            wss_failures(o, "castgate_wss_dial_failures_total", "link", m->links[i].name,
                         &m->links[i].peer[1].dial);
}

/* ---- redundancy (issue 18 item 4): only links with a buddy ---- */

static const char *const leg_names[2] = {"primary", "buddy"};

/* Whether castgate picks the active leg towards side s of k (failover,
 * the side with the buddy). */
static bool picks(const struct mlink *k, int s) { return k->legs.failover && k->legs.buddy[s]; }

/* Whether side s of k has a peer per leg: under carry every side of a link
 * with a buddy, under failover the side with the buddy. */
static bool two_legs(const struct mlink *k, int s)
{
    return has_buddy(k) && (!k->legs.failover || k->legs.buddy[s]);
}

static void render_active(struct out *o, const struct metrics *m)
{
    head(o, "castgate_link_active_leg", "gauge",
         "1 for the leg (primary or buddy) the requests towards that side go to now "
         "(redundancy = failover, the side with the buddy)");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            for (int l = 0; l < 2 && picks(&m->links[i], s); l++) {
                labels(o, "castgate_link_active_leg", "link", m->links[i].name, "side",
                       side_names[s], "leg", leg_names[l], NULL);
                put(o, "%d\n", m->links[i].legs.active[s] == (enum cg_relay_leg)l);
            }
    head(o, "castgate_link_leg_switches_total", "counter",
         "changes of the active leg towards that side, by reason: unreachable (the active leg "
         "was unreachable for failover_after_ms while the other was up), primary_back (the "
         "primary was back for failback_after_ms), forced (the operator), other");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            for (int w = 0; w < SW_N && picks(&m->links[i], s); w++) {
                labels(o, "castgate_link_leg_switches_total", "link", m->links[i].name, "side",
                       side_names[s], "reason", switch_names[w], NULL);
                put(o, "%llu\n", m->links[i].legs.switches[s][w]);
            }
}

static void render_legs(struct out *o, const struct metrics *m)
{
    render_active(o, m);
    head(o, "castgate_link_leg_up", "gauge",
         "1 when that leg's peer on that side is up (any lane), per leg of a link with a buddy");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            for (int l = 0; l < 2 && m->links[i].have_rst && two_legs(&m->links[i], s); l++) {
                labels(o, "castgate_link_leg_up", "link", m->links[i].name, "side", side_names[s],
                       "leg", leg_names[l], NULL);
                put(o, "%d\n", m->links[i].rst.leg_up[l][s] ? 1 : 0);
            }
    head(o, "castgate_link_buddy_declines_total", "counter",
         "answers \"Buddy server cannot respond because main server is available\" relayed as "
         "they are (roAck roStatus, mosAck statusDescription)");
    for (size_t i = 0; i < m->n; i++)
        if (m->links[i].have_rst && has_buddy(&m->links[i])) {
            labels(o, "castgate_link_buddy_declines_total", "link", m->links[i].name, NULL);
            put(o, "%llu\n", (unsigned long long)m->links[i].rst.buddy_declined);
        }
}

static void render_leaves(struct out *o, const struct metrics *m, time_t now)
{
    head(o, "castgate_certificate_not_after_timestamp_seconds", "gauge",
         "notAfter of each certificate leaf a listener serves, seconds since the epoch");
    for (unsigned i = 0; i < m->nleaves; i++) {
        const struct cg_leaf_stats *l = &m->leaves[i].leaf;
        labels(o, "castgate_certificate_not_after_timestamp_seconds", "listener",
               m->leaves[i].listener, "key_type", l->key_type, "cn", l->subject_cn, NULL);
        put(o, "%lld\n", (long long)l->not_after);
    }
    head(o, "castgate_ocsp_staple_age_seconds", "gauge",
         "age of the OCSP response stapled for a leaf, since its producedAt (B-12)");
    for (unsigned i = 0; i < m->nleaves; i++) {
        const struct cg_leaf_stats *l = &m->leaves[i].leaf;
        if (!l->stapled)
            continue;
        labels(o, "castgate_ocsp_staple_age_seconds", "listener", m->leaves[i].listener,
               "key_type", l->key_type, "cn", l->subject_cn, NULL);
        put(o, "%lld\n", (long long)(now - l->staple_produced_at));
    }
    head(o, "castgate_ocsp_staple_this_update_age_seconds", "gauge",
         "age of the OCSP response stapled for a leaf, since its thisUpdate (B-12)");
    for (unsigned i = 0; i < m->nleaves; i++) {
        const struct cg_leaf_stats *l = &m->leaves[i].leaf;
        if (!l->stapled)
            continue;
        labels(o, "castgate_ocsp_staple_this_update_age_seconds", "listener",
               m->leaves[i].listener, "key_type", l->key_type, "cn", l->subject_cn, NULL);
        put(o, "%lld\n", (long long)(now - l->staple_this_update));
    }
}

/* One histogram's series; link NULL: no link and side labels. */
static void histogram(struct out *o, const char *name, const char *link, const char *side,
                      const struct cg_histogram *h)
{
    char series_name[96], le[32];
    snprintf(series_name, sizeof(series_name), "%s_bucket", name);
    uint64_t cum = 0;
    for (unsigned b = 0; b < CG_HISTOGRAM_BUCKETS; b++) {
        cum += h->bucket[b];
        if (b == CG_HISTOGRAM_BUCKETS - 1)
            snprintf(le, sizeof(le), "+Inf");
        else
            snprintf(le, sizeof(le), "%g", cg_histogram_bound(b));
        if (link != NULL)
            labels(o, series_name, "link", link, "side", side, "le", le, NULL);
        else
            labels(o, series_name, "le", le, NULL);
        put(o, "%llu\n", (unsigned long long)cum);
    }
    static const char *const tails[2] = {"_sum", "_count"};
    for (int t = 0; t < 2; t++) {
        snprintf(series_name, sizeof(series_name), "%s%s", name, tails[t]);
        if (link != NULL)
            labels(o, series_name, "link", link, "side", side, NULL);
        else
            put(o, "%s ", series_name);
        if (t == 0)
            put(o, "%.9f\n", (double)h->sum_ns / 1e9);
        else
            put(o, "%llu\n", (unsigned long long)h->count);
    }
}

static void render_journal(struct out *o, const struct metrics *m)
{
    head(o, "castgate_journal_bytes_total", "counter",
         "bytes of records appended to a link's journals (M-22), by side");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            if (m->links[i].have_peer[s]) {
                labels(o, "castgate_journal_bytes_total", "link", m->links[i].name, "side",
                       side_names[s], NULL);
                put(o, "%llu\n", (unsigned long long)m->links[i].peer[s].journal.bytes);
            }
    head(o, "castgate_journal_records_total", "counter",
         "records appended to a link's journals (M-22), by side");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            if (m->links[i].have_peer[s]) {
                labels(o, "castgate_journal_records_total", "link", m->links[i].name, "side",
                       side_names[s], NULL);
                put(o, "%llu\n", (unsigned long long)m->links[i].peer[s].journal.records);
            }
    head(o, "castgate_journal_fsync_seconds", "histogram",
         "fdatasync after a journal record (fsync = always), by link and side");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            if (m->links[i].have_peer[s])
                histogram(o, "castgate_journal_fsync_seconds", m->links[i].name, side_names[s],
                          &m->links[i].peer[s].journal.fsync);
    head(o, "castgate_state_syncfs_seconds", "histogram",
         "syncfs of the state directories (fsync = interval: one per interval at most, for "
         "every link at once)");
    histogram(o, "castgate_state_syncfs_seconds", NULL, NULL, &m->syncfs);
}

/* ---- the flow core's lanes (cg_relay_link_lane_stats) ---- */

enum lane_field {
    LF_REQUESTS, LF_RETRIES, LF_TIMEOUTS, LF_NACKS, LF_REPEATS, LF_QUEUED, LF_HELD, LF_HELD_MAX,
    LF_ANSWERS_HELD, LF_NOT_HELD, LF_N
};
static const struct {
    const char *name, *type, *help;
    bool out, in; /* the directions it is exported for */
} lane_fields[LF_N] = {
    [LF_REQUESTS] = {"castgate_lane_requests_total", "counter",
                     "requests on a lane: out, ours sent for the first time; in, the peer's "
                     "delivered to the relay", true, true},
    [LF_RETRIES] = {"castgate_lane_retries_total", "counter",
                    "our requests sent again under the same messageID (M-22): after an answer "
                    "timeout or with the lane back", true, false},
    [LF_TIMEOUTS] = {"castgate_lane_timeouts_total", "counter",
                     "our requests given up after the retry budget (M-22)", true, false},
    [LF_NACKS] = {"castgate_lane_nacks_total", "counter",
                  "NACKs on a lane: out, the peer's NACKs to our requests; in, the endpoint's "
                  "own NACKs to the peer's requests (held list full, wrong IDs, journal failure, "
                  "reused messageID...)", true, true},
    [LF_REPEATS] = {"castgate_lane_repeats_answered_total", "counter",
                    "the peer's repeats of answered requests, answered from memory (M-22)",
                    false, true},
    [LF_QUEUED] = {"castgate_lane_queued", "gauge",
                   "our requests queued on a lane now, the one in flight included", true, false},
    [LF_HELD] = {"castgate_lane_held", "gauge",
                 "the peer's requests waiting now behind the one being answered (M-22)", false,
                 true},
    [LF_HELD_MAX] = {"castgate_lane_held_max", "gauge",
                     "the most of the peer's requests that ever waited at once on a lane", false,
                     true},
    [LF_ANSWERS_HELD] = {"castgate_lane_answers_held_bytes", "gauge",
                         "bytes of our answers held now for the peer's repeats (M-22), bounded by "
                         "answer_memory", false, true},
    [LF_NOT_HELD] = {"castgate_lane_repeats_not_held_total", "counter",
                     "the peer's repeats of requests whose answers answer_memory let go of, "
                     "refused with a NACK (never delivered again, M-22)", false, true},
};

static uint64_t lane_value(const struct cg_mos_lane_stats *l, enum lane_field f, int dir)
{
    switch (f) {
    case LF_REQUESTS: return dir == CG_MOS_OUT ? l->requests_sent : l->delivered;
    case LF_RETRIES: return l->retries;
    case LF_TIMEOUTS: return l->timeouts;
    case LF_NACKS: return dir == CG_MOS_OUT ? l->nacks_received : l->nacks_sent;
    case LF_REPEATS: return l->repeats_answered;
    case LF_QUEUED: return l->queued;
    case LF_HELD: return l->held;
    case LF_HELD_MAX: return l->held_max;
    case LF_ANSWERS_HELD: return l->answers_held_bytes;
    case LF_NOT_HELD: return l->repeats_not_held;
    case LF_N: break;
    }
    return 0;
}

static const char *const dir_names[2] = {"out", "in"};

/* name{link,side,channel,direction[,le]} */
static void lane_labels(struct out *o, const char *name, const char *link, int s, int c, int d,
                        const char *le)
{
    if (le != NULL)
        labels(o, name, "link", link, "side", side_names[s], "channel", channel_names[c],
               "direction", dir_names[d], "le", le, NULL);
    else
        labels(o, name, "link", link, "side", side_names[s], "channel", channel_names[c],
               "direction", dir_names[d], NULL);
}

static void lane_histogram(struct out *o, const char *name, const char *link, int s, int c,
                           const struct cg_histogram *h)
{
    char series_name[96], le[32];
    snprintf(series_name, sizeof(series_name), "%s_bucket", name);
    uint64_t cum = 0;
    for (unsigned b = 0; b < CG_HISTOGRAM_BUCKETS; b++) {
        cum += h->bucket[b];
        if (b == CG_HISTOGRAM_BUCKETS - 1)
            snprintf(le, sizeof(le), "+Inf");
        else
            snprintf(le, sizeof(le), "%g", cg_histogram_bound(b));
        lane_labels(o, series_name, link, s, c, CG_MOS_OUT, le);
        put(o, "%llu\n", (unsigned long long)cum);
    }
    snprintf(series_name, sizeof(series_name), "%s_sum", name);
    lane_labels(o, series_name, link, s, c, CG_MOS_OUT, NULL);
    put(o, "%.9f\n", (double)h->sum_ns / 1e9);
    snprintf(series_name, sizeof(series_name), "%s_count", name);
    lane_labels(o, series_name, link, s, c, CG_MOS_OUT, NULL);
    put(o, "%llu\n", (unsigned long long)h->count);
}

static void render_lanes(struct out *o, const struct metrics *m)
{
    for (int f = 0; f < LF_N; f++) {
        head(o, lane_fields[f].name, lane_fields[f].type, lane_fields[f].help);
        for (size_t i = 0; i < m->n; i++)
            for (int s = 0; s < 2; s++)
                for (int c = 0; c < CG_RELAY_CHANNELS; c++)
                    for (int d = 0; d < 2 && m->links[i].have_lane[s][c]; d++) {
                        if (!(d == CG_MOS_OUT ? lane_fields[f].out : lane_fields[f].in))
                            continue;
                        lane_labels(o, lane_fields[f].name, m->links[i].name, s, c, d, NULL);
                        put(o, "%llu\n", (unsigned long long)lane_value(&m->links[i].lane[s][c],
                                                                         (enum lane_field)f, d));
                    }
    }
    head(o, "castgate_lane_round_trip_seconds", "histogram",
         "from the last send of our request to its answer (OK or NACK; a timeout is not one), "
         "per lane, in whole milliseconds");
    for (size_t i = 0; i < m->n; i++)
        for (int s = 0; s < 2; s++)
            for (int c = 0; c < CG_RELAY_CHANNELS; c++)
                if (m->links[i].have_lane[s][c])
                    lane_histogram(o, "castgate_lane_round_trip_seconds", m->links[i].name, s, c,
                                   &m->links[i].lane[s][c].rtt);
}

/* process_resident_memory_bytes is the name Prometheus' own client libraries
 * give the figure, so dashboards made for them read it as it is. */
/* The gateway pair (issue 18): one series each, labelled with this node. */
static void render_pair(struct out *o, const struct metrics *m)
{
    const struct metrics_pair *p = &m->pair;
    if (!p->present)
        return;
    const struct {
        const char *name, *type, *help;
        unsigned long long v;
    } rows[] = {
        {"castgate_pair_active", "gauge", "1 while this node of the gateway pair serves (active)",
         p->active},
        {"castgate_pair_connected", "gauge", "1 while the replication connection to the other node "
         "is open", p->connected},
        {"castgate_pair_standby_present", "gauge", "active: 1 while a standby acknowledges the "
         "records (0: degraded, or holding answers with strict)", p->standby_present},
        {"castgate_pair_epoch", "gauge", "the greatest epoch this node has seen", p->epoch},
        {"castgate_pair_last_record", "gauge", "active: the last record numbered; standby: the "
         "last stored", p->last_record},
        {"castgate_pair_records_stored_total", "counter", "records stored as the standby",
         p->stored},
        {"castgate_pair_records_resent_total", "counter", "records sent again to a standby that "
         "was behind (resync)", p->resent},
        {"castgate_pair_standby_behind", "gauge", "active: 1 while a resync whose journal read "
         "failed has left the standby behind (degraded, or holding answers with strict)",
         p->standby_behind},
        {"castgate_pair_resync_failures_total", "counter", "resyncs whose journal read failed "
         "(not a compaction): nothing skipped, the standby asks again", p->resync_failures},
        {"castgate_pair_answers_held", "gauge", "answers waiting for the standby's "
         "acknowledgement of their records", p->answers_held},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        head(o, rows[i].name, rows[i].type, rows[i].help);
        put(o, "%s{node=\"%d\"} %llu\n", rows[i].name, p->node, rows[i].v);
    }
}

static void render_memory(struct out *o, const struct metrics *m)
{
    if (m->mem.have_rss) {
        head(o, "process_resident_memory_bytes", "gauge", "resident memory size in bytes");
        put(o, "process_resident_memory_bytes %llu\n", m->mem.rss);
    }
    if (!m->mem.have_heap)
        return;
    head(o, "castgate_heap_bytes", "gauge",
         "the C heap (glibc malloc) by state: in_use (handed out from the arenas), free (kept "
         "inside the arenas: fragmentation and the unreturned top), mmapped (large blocks mapped "
         "one by one, returned to the system when freed)");
    put(o, "castgate_heap_bytes{state=\"in_use\"} %llu\n", m->mem.in_use);
    put(o, "castgate_heap_bytes{state=\"free\"} %llu\n", m->mem.free);
    put(o, "castgate_heap_bytes{state=\"mmapped\"} %llu\n", m->mem.mmapped);
    if (!m->mem.have_trim)
        return;
    const struct cg_heap_trim_stats *t = &m->mem.trim;
    head(o, "castgate_heap_trims_total", "counter",
         "malloc_trim(0) calls: free pages inside the arenas given back to the system");
    put(o, "castgate_heap_trims_total %llu\n", t->trims);
    head(o, "castgate_heap_trim_released_bytes_total", "counter",
         "resident memory the trims gave back (RSS before minus after each)");
    put(o, "castgate_heap_trim_released_bytes_total %llu\n", t->released);
    head(o, "castgate_heap_trim_seconds", "gauge",
         "how long a trim took (off the loop, on libuv's pool): the last and the longest");
    put(o, "castgate_heap_trim_seconds{which=\"last\"} %llu.%06llu\n", t->last_us / 1000000,
        t->last_us % 1000000);
    put(o, "castgate_heap_trim_seconds{which=\"max\"} %llu.%06llu\n", t->max_us / 1000000,
        t->max_us % 1000000);
}

size_t metrics_render(const struct metrics *m, const char *version, char *buf, size_t sz)
{
    struct out o = {buf, sz, 0};
    if (sz > 0)
        buf[0] = '\0';
    head(&o, "castgate_build_info", "gauge", "castgate version, value 1");
    put(&o, "castgate_build_info{version=\"");
    put_label(&o, version);
    put(&o, "\"} 1\n");
    head(&o, "castgate_link_up", "gauge", "1 when that side of the link is up (any lane)");
    for (size_t i = 0; i < m->n; i++) {
        series(&o, "castgate_link_up", m->links[i].name, "side", "legacy", m->links[i].up[0]);
        series(&o, "castgate_link_up", m->links[i].name, "side", "mos4", m->links[i].up[1]);
    }
    head(&o, "castgate_messages_relayed_total", "counter",
         "requests forwarded to the other side, by the side they came from");
    for (size_t i = 0; i < m->n; i++) {
        series(&o, "castgate_messages_relayed_total", m->links[i].name, "from", "legacy",
               m->links[i].relayed[0]);
        series(&o, "castgate_messages_relayed_total", m->links[i].name, "from", "mos4",
               m->links[i].relayed[1]);
    }
    head(&o, "castgate_requests_without_messageid_total", "counter",
         "requests from legacy gear without a messageID passed on (M-11)");
    for (size_t i = 0; i < m->n; i++)
        series(&o, "castgate_requests_without_messageid_total", m->links[i].name, NULL, NULL,
               m->links[i].idless);
    render_nacks(&o, m);
    head(&o, "castgate_nacks_unlinked_total", "counter", "NACKs for peers no link names");
    put(&o, "castgate_nacks_unlinked_total %lu\n", m->nacks_unlinked);
    head(&o, "castgate_requests_in_flight", "gauge", "requests forwarded and not yet answered");
    put(&o, "castgate_requests_in_flight %u\n", m->in_flight);
    head(&o, "castgate_certificate_remaining_seconds", "gauge",
         "time until the first certificate of the listener's chain expires, in whole days "
         "(counted at start and reload); negative: expired");
    for (unsigned i = 0; i < m->ncerts; i++) {
        put(&o, "castgate_certificate_remaining_seconds{chain=\"");
        put_label(&o, m->certs[i].chain);
        put(&o, "\"} %lld\n", (long long)m->certs[i].days * 86400);
    }
    head(&o, "castgate_reloads_total", "counter", "SIGHUP reloads, by result");
    put(&o, "castgate_reloads_total{result=\"refused\"} %lu\n", m->reloads[0]);
    put(&o, "castgate_reloads_total{result=\"done\"} %lu\n", m->reloads[1]);
    render_listeners(&o, m);
    render_dials(&o, m);
    render_legs(&o, m);
    render_leaves(&o, m, now_of(m));
    render_journal(&o, m);
    render_lanes(&o, m);
    render_memory(&o, m);
    render_pair(&o, m);
    return o.len;
}

/* ---- the status page ---- */

static void put_html(struct out *o, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<': put(o, "&lt;"); break;
        case '>': put(o, "&gt;"); break;
        case '&': put(o, "&amp;"); break;
        case '"': put(o, "&quot;"); break;
        case '\'': put(o, "&#39;"); break;
        default: put(o, "%c", *s);
        }
    }
}

static void put_age(struct out *o, time_t then, time_t now)
{
    long d = (long)(now - then);
    if (d < 0)
        d = 0;
    if (d < 120)
        put(o, "%ld s", d);
    else if (d < 7200)
        put(o, "%ld min", d / 60);
    else if (d < 172800)
        put(o, "%ld h", d / 3600);
    else
        put(o, "%ld days", d / 86400);
}

static void put_side(struct out *o, const struct mlink *k, int s, time_t now)
{
    char when[32];
    struct tm tm;
    gmtime_r(&k->since[s], &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    put(o, "<td class=\"%s\" data-side=\"%s\">%s <small>since %s (", k->up[s] ? "up" : "down",
        s ? "mos4" : "legacy", k->up[s] ? "up" : "down", when);
    put_age(o, k->since[s], now);
    put(o, ")</small></td>");
}

static void put_last(struct out *o, const struct mlink *k, int s, time_t now)
{
    if (k->last[s].at == 0) {
        put(o, "<td>none yet</td>");
        return;
    }
    put(o, "<td>");
    put_html(o, k->last[s].name);
    put(o, " <small>messageID ");
    put_html(o, k->last[s].id[0] ? k->last[s].id : "(none)");
    put(o, ", ");
    put_age(o, k->last[s].at, now);
    put(o, " ago</small></td>");
}

static unsigned nacks_last_hour(const struct mlink *k, time_t now)
{
    unsigned n = 0, kept = k->nack_n < NACK_RING ? k->nack_n : NACK_RING;
    for (unsigned i = 0; i < kept; i++)
        n += now - k->nack_at[i] <= 3600;
    return n;
}

static void put_wrong(struct out *o, const struct mlink *k)
{
    put(o, "<td class=\"what\">");
    if (k->up[0] && k->up[1])
        put(o, "Nothing: both sides are up.");
    else {
        if (!k->up[1])
            put(o, "The far side (MOS 4.0) is unreachable. ");
        if (!k->up[0])
            put(o, "The legacy gear is not connected. ");
        if (k->why[0] != '\0') {
            put(o, "<small>");
            put_html(o, k->why);
            put(o, "</small>");
        }
    }
    put(o, "</td>");
}

/* The last switch of the active leg towards side s, in words. */
static void put_switch_why(struct out *o, const struct mlegs *g, int s)
{
    double held = (double)g->last_for_ms[s] / 1000.0;
    if (!g->switched[s]) {
        put(o, "no switch yet");
        return;
    }
    switch (g->last_why[s]) {
    case SW_UNREACHABLE:
        put(o, "switched because the %s was unreachable for %.1f s", leg_names[g->last_was[s]], held);
        break;
    case SW_PRIMARY_BACK:
        put(o, "switched back because the primary was up again for %.1f s", held);
        break;
    case SW_FORCED: put(o, "switched by the operator"); break;
    case SW_OTHER:
    case SW_N: put(o, "switched (reason not known)"); break;
    }
}

/* The link's active leg (issue 18 item 4): under failover the leg the
 * requests towards the buddy's side go to, since when and why. */
static void put_active(struct out *o, const struct mlink *k, time_t now)
{
    const struct mlegs *g = &k->legs;
    int s = g->buddy[1] ? 1 : 0;
    if (!has_buddy(k)) {
        put(o, "<td>no buddy</td>");
        return;
    }
    if (!g->failover) {
        put(o, "<td data-active=\"carry\">both carried <small>(the gear picks)</small></td>");
        return;
    }
    char when[32];
    struct tm tm;
    gmtime_r(&g->active_since[s], &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    put(o, "<td class=\"%s\" data-active=\"%s\">%s <small>since %s (", leg_names[g->active[s]],
        leg_names[g->active[s]], leg_names[g->active[s]], when);
    put_age(o, g->active_since[s], now);
    put(o, "); ");
    put_switch_why(o, g, s);
    put(o, "</small></td>");
}

/* Each leaf served now (cg_server_leaf_stats): its notAfter to the second,
 * the time left; red under 30 days. */
static void put_leaves(struct out *o, const struct metrics *m, time_t now)
{
    for (unsigned i = 0; i < m->nleaves; i++) {
        const struct cg_leaf_stats *l = &m->leaves[i].leaf;
        char when[32];
        struct tm tm;
        time_t na = (time_t)l->not_after;
        gmtime_r(&na, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        put(o, "<p class=\"%s\">certificate ", l->not_after - now < 30 * 86400 ? "down" : "cert");
        put_html(o, m->leaves[i].listener);
        put(o, " ");
        put_html(o, l->key_type);
        put(o, " ");
        put_html(o, l->subject_cn[0] ? l->subject_cn : "(no CN)");
        put(o, ": notAfter %s, ", when);
        if (l->not_after <= now)
            put(o, "EXPIRED</p>\n");
        else
            put(o, "%lld day(s) left</p>\n", (long long)((l->not_after - now) / 86400));
    }
}

size_t metrics_render_html(const struct metrics *m, const char *version, char *buf, size_t sz)
{
    struct out o = {buf, sz, 0};
    time_t now = now_of(m);
    unsigned down = 0;
    if (sz > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < m->n; i++)
        down += !(m->links[i].up[0] && m->links[i].up[1]);
    put(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"refresh\" content=\"1\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            "<link rel=\"icon\" href=\"data:,\">"
            "<title>castgate: %zu link(s), %u down</title><style>"
            "body{font:14px system-ui,sans-serif;margin:1em;color:#222}"
            "table{border-collapse:collapse;width:100%%}td,th{border:1px solid #ccc;padding:4px 6px;"
            "text-align:left;vertical-align:top}th{background:#eee}.up{background:#d8f5d8}"
            ".down{background:#f8d0d0;font-weight:bold}small{color:#555}.buddy{background:#fff0c0}"
            "</style></head><body>\n<h1>castgate gateway</h1>\n<p>castgate ", m->n, down);
    put_html(&o, version);
    put(&o, " &middot; %zu link(s), <b id=\"down\">%u down</b> &middot; %u request(s) in flight "
            "&middot; this page reloads every second</p>\n", m->n, down, m->in_flight);
    put_leaves(&o, m, now);
    for (unsigned i = 0; m->nleaves == 0 && i < m->ncerts; i++) {
        const char *base = strrchr(m->certs[i].chain, '/');
        put(&o, "<p class=\"%s\">certificate ", m->certs[i].days < 30 ? "down" : "cert");
        put_html(&o, base != NULL ? base + 1 : m->certs[i].chain);
        if (m->certs[i].days < 0)
            put(&o, ": EXPIRED</p>\n");
        else
            put(&o, ": %ld day(s) left</p>\n", m->certs[i].days);
    }
    put(&o, "<table><tr><th>link</th><th>legacy side</th>"
            "<th>MOS 4.0 side</th><th>last from legacy</th><th>last from MOS 4.0</th>"
            "<th>active leg</th><th>NACKs, last hour</th><th>what is wrong</th></tr>\n");
    for (size_t i = 0; i < m->n; i++) {
        const struct mlink *k = &m->links[i];
        put(&o, "<tr data-link=\"");
        put_html(&o, k->name);
        put(&o, "\"><td>");
        put_html(&o, k->name);
        put(&o, "</td>");
        put_side(&o, k, 0, now);
        put_side(&o, k, 1, now);
        put_last(&o, k, 0, now);
        put_last(&o, k, 1, now);
        put_active(&o, k, now);
        put(&o, "<td>%u</td>", nacks_last_hour(k, now));
        put_wrong(&o, k);
        put(&o, "</tr>\n");
    }
    put(&o, "</table>\n</body></html>\n");
    return o.len;
}
