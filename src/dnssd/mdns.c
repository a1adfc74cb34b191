/* Multicast fallback (B-41): publish through the Avahi daemon, only on the
 * interfaces named, only when no DNS server is configured (reg.c decides).
 * mDNS is link-local by design (224.0.0.251 / ff02::fb); castgate never asks
 * for anything wider. The Avahi client runs on the context's libuv loop
 * through a small AvahiPoll adapter (uv_poll_t for watches, uv_timer_t for
 * timeouts), so it never blocks. */
#include "dnssd/dnssd.h"

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/watch.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uv.h>

/* ---- AvahiPoll on libuv ---- */

struct AvahiWatch {
    uv_poll_t poll;
    AvahiWatchEvent want, got;
    AvahiWatchCallback cb;
    void *user;
    int fd;
};

struct AvahiTimeout {
    uv_timer_t timer;
    AvahiTimeoutCallback cb;
    void *user;
};

static void free_handle(uv_handle_t *h) { free(h->data); }

static void on_poll(uv_poll_t *p, int status, int events)
{
    AvahiWatch *w = p->data;
    w->got = (AvahiWatchEvent)((events & UV_READABLE ? AVAHI_WATCH_IN : 0) |
                               (events & UV_WRITABLE ? AVAHI_WATCH_OUT : 0) |
                               (status < 0 ? AVAHI_WATCH_ERR : 0) |
                               (events & UV_DISCONNECT ? AVAHI_WATCH_HUP : 0));
    w->cb(w, w->fd, w->got, w->user); /* may free w (uv_close: safe) */
}

static void watch_update(AvahiWatch *w, AvahiWatchEvent ev)
{
    int uv_ev = (ev & AVAHI_WATCH_IN ? UV_READABLE : 0) | (ev & AVAHI_WATCH_OUT ? UV_WRITABLE : 0);
    w->want = ev;
    if (uv_ev == 0)
        uv_poll_stop(&w->poll);
    else
        uv_poll_start(&w->poll, uv_ev | UV_DISCONNECT, on_poll);
}

static AvahiWatch *watch_new(const AvahiPoll *api, int fd, AvahiWatchEvent ev,
                             AvahiWatchCallback cb, void *user)
{
    AvahiWatch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    if (uv_poll_init(api->userdata, &w->poll, fd) != 0) {
        free(w);
        return NULL;
    }
    w->poll.data = w;
    w->fd = fd;
    w->cb = cb;
    w->user = user;
    watch_update(w, ev);
    return w;
}

static AvahiWatchEvent watch_get_events(AvahiWatch *w) { return w->got; }

static void watch_free(AvahiWatch *w) { uv_close((uv_handle_t *)&w->poll, free_handle); }

static void on_timeout(uv_timer_t *t)
{
    AvahiTimeout *to = t->data;
    to->cb(to, to->user);
}

static void timeout_update(AvahiTimeout *to, const struct timeval *tv)
{
    uv_timer_stop(&to->timer);
    if (tv == NULL)
        return;
    struct timeval now;
    gettimeofday(&now, NULL);
    int64_t ms = ((int64_t)tv->tv_sec - now.tv_sec) * 1000 + (tv->tv_usec - now.tv_usec) / 1000;
    uv_timer_start(&to->timer, on_timeout, ms > 0 ? (uint64_t)ms : 0, 0);
}

static AvahiTimeout *timeout_new(const AvahiPoll *api, const struct timeval *tv,
                                 AvahiTimeoutCallback cb, void *user)
{
    AvahiTimeout *to = calloc(1, sizeof(*to));
    if (to == NULL)
        return NULL;
    uv_timer_init(api->userdata, &to->timer);
    to->timer.data = to;
    to->cb = cb;
    to->user = user;
    timeout_update(to, tv);
    return to;
}

static void timeout_free(AvahiTimeout *to) { uv_close((uv_handle_t *)&to->timer, free_handle); }

/* ---- publishing ---- */

struct cg__mdns {
    struct cg_ctx *ctx;
    AvahiPoll poll;
    AvahiClient *client;
    AvahiEntryGroup *group;
    cg__mdns_fn fn;
    void *user;
    char *name, *type, *host;
    char **subtypes;
    size_t nsub;
    AvahiStringList *txt;
    int *ifindex;
    size_t nif;
    uint16_t port;
};

static void report(struct cg__mdns *m, enum cg_dnssd_state st, enum cg_err err, const char *what)
{
    if (err != CG_OK) {
        const char *why = m->client != NULL ? avahi_strerror(avahi_client_errno(m->client)) : NULL;
        cg__log(m->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "multicast DNS: %s: %s",
                what != NULL ? what : "failure", why != NULL ? why : "no client");
    }
    if (m->fn != NULL)
        m->fn(m->user, st, err);
}

static int add_all(struct cg__mdns *m)
{
    for (size_t i = 0; i < m->nif; i++) {
        /* the "local" domain only: mDNS names never leave the link */
        int r = avahi_entry_group_add_service_strlst(m->group, m->ifindex[i], AVAHI_PROTO_UNSPEC,
                                                     0, m->name, m->type, NULL, m->host, m->port,
                                                     m->txt);
        for (size_t j = 0; r >= 0 && j < m->nsub; j++)
            r = avahi_entry_group_add_service_subtype(m->group, m->ifindex[i], AVAHI_PROTO_UNSPEC,
                                                      0, m->name, m->type, NULL, m->subtypes[j]);
        if (r < 0)
            return r;
    }
    return avahi_entry_group_commit(m->group);
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState st, void *user)
{
    struct cg__mdns *m = user;
    m->group = g;
    if (st == AVAHI_ENTRY_GROUP_ESTABLISHED) {
        cg__log(m->ctx, CG_LOG_INFO, CG_DNSSD_COMPONENT,
                "multicast DNS: published '%s' (%s.local) on %zu interface(s), link-local only",
                m->name, m->type, m->nif);
        report(m, CG_DNSSD_REGISTERED, CG_OK, NULL);
    } else if (st == AVAHI_ENTRY_GROUP_COLLISION) {
        /* mDNS conflict resolution (RFC 6762 §9): take the next free name. */
        char *alt = avahi_alternative_service_name(m->name);
        if (alt == NULL)
            return;
        cg__log(m->ctx, CG_LOG_WARN, CG_DNSSD_COMPONENT,
                "multicast DNS: name '%s' is taken on the link; using '%s'", m->name, alt);
        free(m->name);
        m->name = cg__strdup(alt);
        avahi_free(alt);
        avahi_entry_group_reset(g);
        if (m->name == NULL || add_all(m) < 0)
            report(m, CG_DNSSD_RETRYING, CG_EDNS, "cannot re-add the service");
    } else if (st == AVAHI_ENTRY_GROUP_FAILURE) {
        report(m, CG_DNSSD_RETRYING, CG_EDNS, "the daemon failed the entry group");
    }
}

static void on_client(AvahiClient *c, AvahiClientState st, void *user)
{
    struct cg__mdns *m = user;
    m->client = c; /* called from inside avahi_client_new() too */
    if (st == AVAHI_CLIENT_S_RUNNING) {
        if (m->group == NULL)
            m->group = avahi_entry_group_new(c, on_group, m);
        if (m->group == NULL || (avahi_entry_group_is_empty(m->group) && add_all(m) < 0))
            report(m, CG_DNSSD_RETRYING, CG_EDNS, "cannot publish the service");
    } else if (st == AVAHI_CLIENT_S_COLLISION || st == AVAHI_CLIENT_S_REGISTERING) {
        if (m->group != NULL)
            avahi_entry_group_reset(m->group); /* host name changing: re-add when running */
    } else if (st == AVAHI_CLIENT_CONNECTING) {
        cg__log(m->ctx, CG_LOG_WARN, CG_DNSSD_COMPONENT,
                "multicast DNS: waiting for avahi-daemon (D-Bus system bus)");
        report(m, CG_DNSSD_RETRYING, CG_ENET, NULL);
    } else if (st == AVAHI_CLIENT_FAILURE) {
        report(m, CG_DNSSD_RETRYING, CG_ENET, "lost the Avahi daemon");
    }
}

static enum cg_err copy_opts(struct cg__mdns *m, const struct cg_dnssd_opts *o)
{
    m->name = cg__strdup(o->instance);
    m->type = cg__strdup(o->type);
    m->host = cg__strdup(o->host);
    m->port = o->port;
    CG_CHECK(m->name && m->type && m->host, CG_ENOMEM);
    size_t hl = strlen(m->host);
    if (hl > 0 && m->host[hl - 1] == '.')
        m->host[hl - 1] = '\0'; /* Avahi wants no trailing dot */
    m->ifindex = calloc(o->nmdns_interfaces, sizeof(*m->ifindex));
    m->subtypes = calloc(o->nsubtypes + 1, sizeof(*m->subtypes));
    CG_CHECK(m->ifindex != NULL && m->subtypes != NULL, CG_ENOMEM);
    for (size_t i = 0; i < o->nmdns_interfaces; i++) {
        unsigned idx = if_nametoindex(o->mdns_interfaces[i]);
        if (idx == 0) {
            cg__log(m->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
                    "multicast DNS: no interface named '%s'", o->mdns_interfaces[i]);
            return CG_ENOTFOUND;
        }
        m->ifindex[m->nif++] = (int)idx;
    }
    for (size_t i = 0; i < o->nsubtypes; i++) {
        char buf[300];
        snprintf(buf, sizeof(buf), "%s._sub.%s", o->subtypes[i], o->type);
        m->subtypes[m->nsub] = cg__strdup(buf);
        CG_CHECK(m->subtypes[m->nsub] != NULL, CG_ENOMEM);
        m->nsub++;
    }
    if (o->ntxt > 0) {
        m->txt = avahi_string_list_new_from_array((const char **)o->txt, (int)o->ntxt);
        CG_CHECK(m->txt != NULL, CG_ENOMEM);
    }
    return CG_OK;
}

enum cg_err cg__mdns_new(struct cg_ctx *ctx, const struct cg_dnssd_opts *opts, cg__mdns_fn fn,
                         void *user, struct cg__mdns **out)
{
    *out = NULL;
    struct cg__mdns *m = calloc(1, sizeof(*m));
    CG_CHECK(m != NULL, CG_ENOMEM);
    m->ctx = ctx;
    enum cg_err rc = copy_opts(m, opts);
    if (rc != CG_OK) {
        cg__mdns_free(m);
        return rc;
    }
    if (opts->domain != NULL && strcmp(opts->domain, "local") != 0 &&
        strcmp(opts->domain, "local.") != 0)
        cg__log(ctx, CG_LOG_INFO, CG_DNSSD_COMPONENT,
                "multicast DNS publishes in 'local', not in '%s'", opts->domain);
    m->poll = (AvahiPoll){.userdata = cg_ctx_loop(ctx),
                          .watch_new = watch_new,
                          .watch_update = watch_update,
                          .watch_get_events = watch_get_events,
                          .watch_free = watch_free,
                          .timeout_new = timeout_new,
                          .timeout_update = timeout_update,
                          .timeout_free = timeout_free};
    int err = 0;
    /* NO_FAIL: if the daemon is not there yet, wait for it instead of failing. */
    m->client = avahi_client_new(&m->poll, AVAHI_CLIENT_NO_FAIL, on_client, m, &err);
    if (m->client == NULL) {
        cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "multicast DNS: cannot reach Avahi: %s",
                avahi_strerror(err));
        cg__mdns_free(m);
        return CG_ENET;
    }
    m->fn = fn; /* from now on: callbacks from inside avahi_client_new are over */
    m->user = user;
    *out = m;
    return CG_OK;
}

void cg__mdns_free(struct cg__mdns *m)
{
    if (m == NULL)
        return;
    m->fn = NULL;
    if (m->client != NULL)
        avahi_client_free(m->client); /* frees the group: the daemon withdraws (goodbye) */
    free(m->name);
    free(m->type);
    free(m->host);
    for (size_t i = 0; i < m->nsub; i++)
        free(m->subtypes[i]);
    free(m->subtypes);
    free(m->ifindex);
    avahi_string_list_free(m->txt);
    free(m);
}
