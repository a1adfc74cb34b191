/* Gateway counters and the Prometheus text format; see metrics.h. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mlink {
    char name[128];
    bool up[2];
    unsigned long relayed[2], idless, nacks[METRICS_NACK_N];
};

struct metrics {
    struct mlink *links;
    size_t n, cap;
    unsigned long nacks_unlinked, reloads[2];
    unsigned in_flight;
};

static const char *const nack_names[METRICS_NACK_N] = {"no_link", "removed_in_4", "translate",
                                                       "forward", "no_answer"};

struct metrics *metrics_new(void) { return calloc(1, sizeof(struct metrics)); }

void metrics_free(struct metrics *m)
{
    if (m != NULL)
        free(m->links);
    free(m);
}

static struct mlink *find(struct metrics *m, const char *link, bool add)
{
    if (link == NULL)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->links[i].name, link) == 0)
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
    snprintf(k->name, sizeof(k->name), "%s", link);
    return k;
}

void metrics_link_state(struct metrics *m, const char *link, bool legacy_up, bool mos4_up)
{
    struct mlink *k = find(m, link, true);
    if (k != NULL)
        k->up[0] = legacy_up, k->up[1] = mos4_up;
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

void metrics_idless(struct metrics *m, const char *link)
{
    struct mlink *k = find(m, link, true);
    if (k != NULL)
        k->idless++;
}

void metrics_nack(struct metrics *m, const char *link, enum metrics_nack why)
{
    struct mlink *k = find(m, link, link != NULL);
    if ((unsigned)why >= METRICS_NACK_N)
        return;
    if (k != NULL)
        k->nacks[why]++;
    else
        m->nacks_unlinked++;
}

void metrics_in_flight(struct metrics *m, unsigned n) { m->in_flight = n; }
void metrics_reload(struct metrics *m, bool ok) { m->reloads[ok]++; }

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
    head(&o, "castgate_nacks_total", "counter", "NACKs the gateway itself answered, by reason");
    for (size_t i = 0; i < m->n; i++)
        for (int r = 0; r < METRICS_NACK_N; r++)
            series(&o, "castgate_nacks_total", m->links[i].name, "reason", nack_names[r],
                   m->links[i].nacks[r]);
    head(&o, "castgate_nacks_unlinked_total", "counter", "NACKs for peers no link names");
    put(&o, "castgate_nacks_unlinked_total %lu\n", m->nacks_unlinked);
    head(&o, "castgate_requests_in_flight", "gauge", "requests forwarded and not yet answered");
    put(&o, "castgate_requests_in_flight %u\n", m->in_flight);
    head(&o, "castgate_reloads_total", "counter", "SIGHUP reloads, by result");
    put(&o, "castgate_reloads_total{result=\"refused\"} %lu\n", m->reloads[0]);
    put(&o, "castgate_reloads_total{result=\"done\"} %lu\n", m->reloads[1]);
    return o.len;
}
