/* Registration: keeps one service instance in a DNS server by DNS UPDATE.
 *
 * A round starts with ADD_NEW (prerequisite: the instance name is unused)
 * or, once we have been registered, with REPLACE (prerequisite: our exact SRV
 * is there). YXDOMAIN on ADD_NEW means the name is in use: try REPLACE, which
 * succeeds only if the records are ours (left from a previous run). NXRRSET on
 * REPLACE means our records are gone (a server restarted with a fresh zone):
 * try ADD_NEW. Failing both ways round means another service holds the name:
 * CG_EEXIST, and we never overwrite it. Success arms the refresh timer,
 * failure the retry timer with a capped exponential backoff. */
#include "dnssd/dnssd.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum phase { PH_IDLE, PH_SENDING, PH_REGISTERED, PH_WITHDRAWING, PH_WITHDRAWN };

struct cg_dnssd {
    struct cg_ctx *ctx;
    struct cg__svc svc;
    struct cg__tsig_key key;
    bool use_key;
    struct cg__dx *dx;
    struct cg__dx *rdx; /* resolver, while the zone's primary is looked up */
    uint16_t primary_port;
    struct cg__mdns *mdns;
    uv_timer_t timer;
    bool timer_open;
    cg_dnssd_state_fn state_fn;
    void *user;
    cg_dnssd_done_fn done_fn;
    void *done_user;
    enum phase phase;
    enum cg_dnssd_state reported;
    bool reported_any;
    enum cg__upd_kind kind;
    bool tried_add, tried_replace, ever_registered, keep_on_free;
    unsigned backoff_s, max_backoff_s, refresh_s, timeout_ms;
    enum cg_err later_err; /* outcome of a withdraw reported from the loop */
    struct cg__msg msg;
    struct cg__msg qmsg; /* SOA / A query to the resolver */
    ldns_rdf *mname;     /* the zone's primary */
    char name[160]; /* instance name for logs (escaped) */
};

static void notify(struct cg_dnssd *d, enum cg_dnssd_state st, enum cg_err err)
{
    bool changed = !d->reported_any || d->reported != st || err != CG_OK;
    d->reported = st;
    d->reported_any = true;
    if (changed && d->state_fn != NULL)
        d->state_fn(d->user, st, err);
}

static uint16_t new_id(void)
{
    uint16_t id = 0;
    if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
        id = (uint16_t)(cg__now_ms() * 2654435761u >> 16);
    return id;
}

static void on_reply(void *user, enum cg_err err, const uint8_t *wire, size_t len);
static void start_round(struct cg_dnssd *d);
static void find_primary(struct cg_dnssd *d);

static void on_timer(uv_timer_t *t)
{
    struct cg_dnssd *d = t->data;
    if (d->phase != PH_IDLE && d->phase != PH_REGISTERED)
        return;
    if (d->dx == NULL)
        find_primary(d);
    else
        start_round(d);
}

static const char *peer(const struct cg_dnssd *d)
{
    return cg__dx_peer(d->dx != NULL ? d->dx : d->rdx);
}

static void arm(struct cg_dnssd *d, unsigned seconds)
{
    uv_timer_start(&d->timer, on_timer, (uint64_t)seconds * 1000u, 0);
}

static void fail(struct cg_dnssd *d, enum cg_err err, const char *why)
{
    d->phase = PH_IDLE;
    cg__log(d->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
            "registering %s at %s failed: %s; retrying in %us", d->name, peer(d), why,
            d->backoff_s);
    arm(d, d->backoff_s);
    d->backoff_s = d->backoff_s * 2 > d->max_backoff_s ? d->max_backoff_s : d->backoff_s * 2;
    notify(d, CG_DNSSD_RETRYING, err);
}

static enum cg_err send_update(struct cg_dnssd *d, enum cg__upd_kind kind)
{
    d->kind = kind;
    cg__dnssd_msg_clear(&d->msg);
    CG_GUARD(cg__dnssd_build_update(&d->svc, kind, new_id(), d->use_key ? &d->key : NULL,
                                    &d->msg));
    return cg__dx_send(d->dx, &d->msg, d->timeout_ms, 3, on_reply, d);
}

static void attempt(struct cg_dnssd *d, enum cg__upd_kind kind)
{
    if (kind == CG__UPD_ADD_NEW)
        d->tried_add = true;
    if (kind == CG__UPD_REPLACE)
        d->tried_replace = true;
    enum cg_err rc = send_update(d, kind);
    if (rc != CG_OK) {
        fail(d, rc, cg_strerror(rc));
        return;
    }
    d->phase = PH_SENDING;
}

/* ---- finding the zone's primary (RFC 2136 §4: the SOA MNAME) ---- */

static void query_resolver(struct cg_dnssd *d, const ldns_rdf *name, ldns_rr_type type,
                           cg__dx_fn fn)
{
    cg__dnssd_msg_clear(&d->qmsg);
    enum cg_err rc = cg__dnssd_build_query(name, type, new_id(), &d->qmsg);
    if (rc == CG_OK)
        rc = cg__dx_send(d->rdx, &d->qmsg, d->timeout_ms, 3, fn, d);
    if (rc != CG_OK) {
        fail(d, rc, cg_strerror(rc));
        return;
    }
    d->phase = PH_SENDING;
}

static const char *io_why(enum cg_err err)
{
    return err == CG_ETIMEDOUT ? "no answer from the server (timeout)"
           : err == CG_ENET    ? "the server is unreachable"
                               : cg_strerror(err);
}

static void on_primary_a(void *user, enum cg_err err, const uint8_t *wire, size_t len)
{
    struct cg_dnssd *d = user;
    struct cg__recs r = {0};
    struct sockaddr_storage ss;
    char addr[80];
    if (err == CG_OK)
        err = cg__dnssd_read_answer(wire, len, &d->qmsg, d->mname, LDNS_RR_TYPE_A, &r);
    if (err != CG_OK) {
        fail(d, err, err == CG_EPROTO ? "malformed reply from the resolver" : io_why(err));
        return;
    }
    if (r.n == 0) {
        cg__dnssd_recs_clear(&r);
        fail(d, CG_ENOTFOUND, "the zone's primary (SOA MNAME) has no A record");
        return;
    }
    snprintf(addr, sizeof(addr), "%s:%u", r.v[0].text, d->primary_port);
    cg__dnssd_recs_clear(&r);
    err = cg__dnssd_parse_server(addr, &ss);
    if (err == CG_OK)
        err = cg__dx_new(d->ctx, (const struct sockaddr *)&ss, &d->dx);
    if (err != CG_OK) {
        fail(d, err, "cannot use the primary's address");
        return;
    }
    char *z = ldns_rdf2str(d->svc.zone), *m = ldns_rdf2str(d->mname);
    cg__log(d->ctx, CG_LOG_INFO, CG_DNSSD_COMPONENT, "zone %s: primary %s at %s",
            z != NULL ? z : "?", m != NULL ? m : "?", cg__dx_peer(d->dx));
    free(z);
    free(m);
    cg__dx_free(d->rdx); /* inside its own callback: safe, it touches nothing after */
    d->rdx = NULL;
    d->phase = PH_IDLE;
    start_round(d);
}

static void on_soa(void *user, enum cg_err err, const uint8_t *wire, size_t len)
{
    struct cg_dnssd *d = user;
    ldns_rdf *zone = NULL, *mname = NULL;
    if (err == CG_OK)
        err = cg__dnssd_read_soa(wire, len, &d->qmsg, &zone, &mname);
    if (err != CG_OK) {
        fail(d, err, err == CG_ENOTFOUND ? "the resolver knows no SOA for the domain"
                     : err == CG_EPROTO  ? "malformed reply from the resolver"
                                         : io_why(err));
        return;
    }
    /* The zone to update is the one the SOA names (the domain may be inside it). */
    ldns_rdf_deep_free(d->svc.zone);
    d->svc.zone = zone;
    ldns_rdf_deep_free(d->mname);
    d->mname = mname;
    query_resolver(d, d->mname, LDNS_RR_TYPE_A, on_primary_a);
}

static void find_primary(struct cg_dnssd *d)
{
    notify(d, CG_DNSSD_REGISTERING, CG_OK);
    query_resolver(d, d->svc.zone, LDNS_RR_TYPE_SOA, on_soa);
}


static void start_round(struct cg_dnssd *d)
{
    d->tried_add = d->tried_replace = false;
    if (!d->ever_registered)
        notify(d, CG_DNSSD_REGISTERING, CG_OK);
    attempt(d, d->ever_registered ? CG__UPD_REPLACE : CG__UPD_ADD_NEW);
}

static void registered(struct cg_dnssd *d)
{
    bool first = !d->ever_registered || d->reported != CG_DNSSD_REGISTERED;
    d->phase = PH_REGISTERED;
    d->ever_registered = true;
    d->backoff_s = 1;
    cg__log(d->ctx, first ? CG_LOG_INFO : CG_LOG_DEBUG, CG_DNSSD_COMPONENT,
            "registered %s at %s (ttl %us, refresh every %us)", d->name, cg__dx_peer(d->dx),
            d->svc.ttl, d->refresh_s);
    arm(d, d->refresh_s);
    notify(d, CG_DNSSD_REGISTERED, CG_OK);
}

static void withdrawn(struct cg_dnssd *d, enum cg_err err, const char *why)
{
    d->phase = PH_WITHDRAWN;
    if (err == CG_OK)
        cg__log(d->ctx, CG_LOG_INFO, CG_DNSSD_COMPONENT, "withdrew %s from %s", d->name,
                cg__dx_peer(d->dx));
    else
        cg__log(d->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "withdrawing %s from %s failed: %s",
                d->name, cg__dx_peer(d->dx), why);
    cg_dnssd_done_fn done = d->done_fn;
    d->done_fn = NULL;
    notify(d, CG_DNSSD_WITHDRAWN, err);
    if (done != NULL)
        done(d->done_user, err); /* may free d */
}

static void on_update_rcode(struct cg_dnssd *d, int rcode, int tsig_error)
{
    const char *text = NULL;
    enum cg_err err = cg__dnssd_rcode_err(rcode, tsig_error, &text);
    if (d->phase == PH_WITHDRAWING) {
        /* NXRRSET: nothing of ours is there, which is what we wanted. */
        if (tsig_error == 0 && rcode == LDNS_RCODE_NXRRSET)
            err = CG_OK;
        withdrawn(d, err, text);
        return;
    }
    if (err == CG_OK) {
        registered(d);
    } else if (tsig_error == 0 && rcode == LDNS_RCODE_YXDOMAIN && !d->tried_replace) {
        attempt(d, CG__UPD_REPLACE); /* in use: ours from a previous run? */
    } else if (tsig_error == 0 && rcode == LDNS_RCODE_NXRRSET && !d->tried_add) {
        attempt(d, CG__UPD_ADD_NEW); /* our records are gone: add them again */
    } else if (tsig_error == 0 &&
               (rcode == LDNS_RCODE_NXRRSET || rcode == LDNS_RCODE_YXDOMAIN)) {
        fail(d, CG_EEXIST, "the instance name is held by another service (its SRV differs "
                           "from ours); not overwriting it");
    } else {
        fail(d, err, text);
    }
}

static void on_reply(void *user, enum cg_err err, const uint8_t *wire, size_t len)
{
    struct cg_dnssd *d = user;
    int rcode = -1, tsig_error = 0;
    const char *why = err == CG_ETIMEDOUT ? "no answer from the server (timeout)"
                      : err == CG_ENET    ? "the server is unreachable"
                                          : cg_strerror(err);
    if (err == CG_OK) {
        err = cg__dnssd_read_reply(wire, len, &d->msg, d->use_key ? &d->key : NULL, &rcode,
                                   &tsig_error);
        why = err == CG_EAUTH ? "the reply is not signed with our TSIG key; not believed"
                              : "malformed reply";
    }
    if (err == CG_OK)
        on_update_rcode(d, rcode, tsig_error);
    else if (d->phase == PH_WITHDRAWING)
        withdrawn(d, err, why);
    else
        fail(d, err, why);
}

static enum cg_err parse_addr(struct cg_dnssd *d, const char *what, const char *text,
                              struct sockaddr_storage *ss)
{
    if (cg__dnssd_parse_server(text, ss) == CG_OK)
        return CG_OK;
    cg__log(d->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "%s '%s' is not IP[:PORT] or [IPv6]:PORT",
            what, text);
    return CG_EINVAL;
}

static enum cg_err init_unicast(struct cg_dnssd *d, const struct cg_dnssd_opts *o)
{
    struct sockaddr_storage ss;
    if (o->server != NULL)
        CG_GUARD(parse_addr(d, "DNS server", o->server, &ss));
    else if (o->resolver != NULL)
        CG_GUARD(parse_addr(d, "resolver", o->resolver, &ss));
    else if (cg__dnssd_system_server(&ss) != CG_OK) {
        cg__log(d->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
                "no DNS server configured (none given, none in /etc/resolv.conf) and no "
                "interface named for multicast DNS");
        return CG_ECONFIG;
    }
    if (o->tsig_key_file != NULL) {
        CG_GUARD(cg__dnssd_key_load(d->ctx, o->tsig_key_file, &d->key));
        d->use_key = true;
    }
    if (o->nmdns_interfaces > 0)
        cg__log(d->ctx, CG_LOG_INFO, CG_DNSSD_COMPONENT,
                "a DNS server is configured: multicast DNS is not used (BCP-003-01 B-41)");
    if (o->server != NULL)
        return cg__dx_new(d->ctx, (const struct sockaddr *)&ss, &d->dx);
    /* The primary is asked on the resolver's port (53 in practice). */
    d->primary_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return cg__dx_new(d->ctx, (const struct sockaddr *)&ss, &d->rdx);
}

static void on_mdns(void *user, enum cg_dnssd_state st, enum cg_err err)
{
    struct cg_dnssd *d = user;
    if (st == CG_DNSSD_REGISTERED)
        d->phase = PH_REGISTERED;
    notify(d, st, err);
}

static enum cg_err init(struct cg_dnssd *d, const struct cg_dnssd_opts *o)
{
    CG_GUARD(cg__dnssd_svc_init(&d->svc, o));
    char esc[80];
    cg__log_escape(esc, sizeof(esc), o->instance, strlen(o->instance));
    snprintf(d->name, sizeof(d->name), "'%s' (%s.%s)", esc, o->type, o->domain);
    if (o->cert_file != NULL)
        CG_GUARD(cg_dnssd_check_host(d->ctx, o->host, o->cert_file));
    const char *lint = cg__dnssd_txt_lint(o->type, o->txt, o->ntxt);
    if (lint != NULL)
        cg__log(d->ctx, CG_LOG_WARN, CG_DNSSD_COMPONENT, "%s: %s (see docs/discovery.md)", d->name,
                lint);
    if (cg_dnssd_uses_multicast(o))
        return cg__mdns_new(d->ctx, o, on_mdns, d, &d->mdns);
    return init_unicast(d, o);
}

static void on_closed(uv_handle_t *h) { free(h->data); }

static void release(struct cg_dnssd *d)
{
    cg__dx_free(d->dx);
    cg__dx_free(d->rdx);
    ldns_rdf_deep_free(d->mname);
    cg__dnssd_msg_clear(&d->qmsg);
    cg__mdns_free(d->mdns);
    cg__dnssd_svc_clear(&d->svc);
    cg__dnssd_key_clear(&d->key);
    cg__dnssd_msg_clear(&d->msg);
    if (d->timer_open)
        uv_close((uv_handle_t *)&d->timer, on_closed);
    else
        free(d);
}

enum cg_err cg_dnssd_new(struct cg_ctx *ctx, const struct cg_dnssd_opts *opts,
                         cg_dnssd_state_fn state_fn, void *user, struct cg_dnssd **out)
{
    CG_CHECK(ctx != NULL && opts != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    struct cg_dnssd *d = calloc(1, sizeof(*d));
    CG_CHECK(d != NULL, CG_ENOMEM);
    d->ctx = ctx;
    d->state_fn = state_fn;
    d->user = user;
    d->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : CG_DNSSD_TIMEOUT_MS;
    d->max_backoff_s = opts->max_backoff_s != 0 ? opts->max_backoff_s : 60;
    d->backoff_s = 1;
    d->keep_on_free = opts->keep_on_free != 0;
    uint32_t ttl = opts->ttl != 0 ? opts->ttl : 120;
    d->refresh_s = opts->refresh_s != 0 ? opts->refresh_s : (ttl / 2 > 0 ? ttl / 2 : 1);
    enum cg_err rc = init(d, opts);
    if (rc != CG_OK) {
        if (rc == CG_EINVAL)
            cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
                    "invalid DNS-SD registration: check domain, type (_name._tcp), instance "
                    "(1..63 bytes), host, port, subtypes and TXT entries (each <= 255 bytes)");
        release(d);
        return rc;
    }
    uv_timer_init(cg_ctx_loop(ctx), &d->timer);
    d->timer.data = d;
    d->timer_open = true;
    if (d->mdns == NULL)
        arm(d, 0); /* first message from the loop, never from this call */
    *out = d;
    return CG_OK;
}

enum cg_err cg_dnssd_refresh(struct cg_dnssd *d)
{
    CG_CHECK(d != NULL, CG_EINVAL);
    CG_CHECK(d->phase != PH_WITHDRAWING && d->phase != PH_WITHDRAWN, CG_ESTATE);
    if (d->mdns == NULL && d->phase != PH_SENDING)
        arm(d, 0);
    return CG_OK;
}

static void on_quick_withdrawn(uv_timer_t *t)
{
    struct cg_dnssd *d = t->data;
    withdrawn(d, d->later_err, d->later_err == CG_OK ? NULL : cg_strerror(d->later_err));
}

/* Reports the end of a withdraw on the next loop turn, never from inside
 * cg_dnssd_withdraw(). */
static void withdrawn_later(struct cg_dnssd *d, enum cg_err err)
{
    d->later_err = err;
    uv_timer_start(&d->timer, on_quick_withdrawn, 0, 0);
}

enum cg_err cg_dnssd_withdraw(struct cg_dnssd *d, cg_dnssd_done_fn done, void *user)
{
    CG_CHECK(d != NULL, CG_EINVAL);
    CG_CHECK(d->phase != PH_WITHDRAWING && d->phase != PH_WITHDRAWN, CG_ESTATE);
    uv_timer_stop(&d->timer);
    d->done_fn = done;
    d->done_user = user;
    if (d->mdns != NULL || d->dx == NULL) {
        /* Avahi removes the records when the group goes; without a primary
         * found yet, nothing was ever registered. */
        cg__mdns_free(d->mdns);
        d->mdns = NULL;
        cg__dx_cancel(d->rdx);
        d->phase = PH_WITHDRAWING;
        withdrawn_later(d, CG_OK);
        return CG_OK;
    }
    cg__dx_cancel(d->dx);
    d->phase = PH_WITHDRAWING;
    enum cg_err rc = send_update(d, CG__UPD_WITHDRAW);
    if (rc != CG_OK) /* could not even send: report from the loop, like any outcome */
        withdrawn_later(d, rc);
    return CG_OK;
}

void cg_dnssd_free(struct cg_dnssd *d)
{
    if (d == NULL)
        return;
    if (d->dx != NULL && d->ever_registered && !d->keep_on_free && d->phase != PH_WITHDRAWING &&
        d->phase != PH_WITHDRAWN) {
        struct cg__msg m;
        if (cg__dnssd_build_update(&d->svc, CG__UPD_WITHDRAW, new_id(),
                                   d->use_key ? &d->key : NULL, &m) == CG_OK) {
            cg__dx_send_once(d->dx, &m); /* best effort: nobody waits for the reply */
            cg__dnssd_msg_clear(&m);
        }
    }
    if (d->timer_open)
        uv_timer_stop(&d->timer);
    release(d);
}
