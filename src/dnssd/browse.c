/* Browse and resolve by unicast DNS queries (B-43: a hint, never the truth).
 * One query at a time: PTR for the type, then SRV and TXT per instance, then
 * A and AAAA per SRV target. A failed per-instance query leaves that piece
 * out; only a failed PTR query fails the browse. */
#include "dnssd/dnssd.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stage { ST_SRV, ST_TXT, ST_A, ST_AAAA, ST_DONE };

struct binst {
    char *name;
    ldns_rdf *dname;
    bool have_srv;
    uint16_t port, priority, weight;
    char *host;
    ldns_rdf *host_dname;
    char **txt;
    size_t ntxt;
    char **addrs;
    size_t naddrs;
};

struct cg_dnssd_browse {
    struct cg_ctx *ctx;
    struct cg__dx *dx;
    cg_dnssd_browse_fn fn;
    void *user;
    unsigned timeout_ms;
    ldns_rdf *type_name;
    bool single; /* resolving one named instance */
    bool ptr_done;
    struct binst *v;
    size_t n;
    size_t cur;
    enum stage stage;
    struct cg__msg msg;
    const ldns_rdf *qname;
    ldns_rr_type qtype;
};

static void binst_clear(struct binst *b)
{
    free(b->name);
    ldns_rdf_deep_free(b->dname);
    free(b->host);
    ldns_rdf_deep_free(b->host_dname);
    for (size_t i = 0; i < b->ntxt; i++)
        free(b->txt[i]);
    free(b->txt);
    for (size_t i = 0; i < b->naddrs; i++)
        free(b->addrs[i]);
    free(b->addrs);
}

static void on_answer(void *user, enum cg_err err, const uint8_t *wire, size_t len);

static enum cg_err query(struct cg_dnssd_browse *b, const ldns_rdf *name, ldns_rr_type type)
{
    uint16_t id = 0;
    if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
        id = (uint16_t)cg__now_ms();
    cg__dnssd_msg_clear(&b->msg);
    b->qname = name;
    b->qtype = type;
    CG_GUARD(cg__dnssd_build_query(name, type, id, &b->msg));
    return cg__dx_send(b->dx, &b->msg, b->timeout_ms, 3, on_answer, b);
}

static void complete(struct cg_dnssd_browse *b, enum cg_err err)
{
    struct cg_dnssd_instance *out = calloc(b->n + 1, sizeof(*out));
    size_t n = 0;
    if (out == NULL && err == CG_OK)
        err = CG_ENOMEM;
    for (size_t i = 0; err == CG_OK && i < b->n; i++) {
        const struct binst *s = &b->v[i];
        if (!s->have_srv)
            continue;
        out[n++] = (struct cg_dnssd_instance){
            .name = s->name, .host = s->host, .port = s->port, .priority = s->priority,
            .weight = s->weight, .txt = (const char *const *)s->txt, .ntxt = s->ntxt,
            .addrs = (const char *const *)s->addrs, .naddrs = s->naddrs};
    }
    if (err == CG_OK && b->single && n == 0)
        err = CG_ENOTFOUND;
    cg_dnssd_browse_fn fn = b->fn;
    b->fn = NULL;
    if (fn != NULL)
        fn(b->user, err, err == CG_OK ? out : NULL, err == CG_OK ? n : 0); /* may free b */
    free(out);
}

/* Sends the next per-instance query, or completes. */
static void advance(struct cg_dnssd_browse *b)
{
    for (; b->cur < b->n; b->cur++, b->stage = ST_SRV) {
        struct binst *s = &b->v[b->cur];
        for (; b->stage != ST_DONE; b->stage++) {
            if (b->stage >= ST_A && !s->have_srv)
                break;
            const ldns_rdf *name = b->stage >= ST_A ? s->host_dname : s->dname;
            static const ldns_rr_type types[] = {LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_TXT,
                                                 LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
            enum cg_err rc = query(b, name, types[b->stage]);
            if (rc == CG_OK)
                return;
            complete(b, rc);
            return;
        }
    }
    complete(b, CG_OK);
}

static enum cg_err add_inst(struct cg_dnssd_browse *b, const char *name, const ldns_rdf *dname)
{
    for (size_t i = 0; i < b->n; i++)
        if (ldns_dname_compare(b->v[i].dname, dname) == 0)
            return CG_OK; /* duplicate PTR */
    struct binst *nv = realloc(b->v, (b->n + 1) * sizeof(*nv));
    CG_CHECK(nv != NULL, CG_ENOMEM);
    b->v = nv;
    struct binst *s = &b->v[b->n];
    memset(s, 0, sizeof(*s));
    s->name = cg__strdup(name);
    s->dname = ldns_rdf_clone(dname);
    b->n++;
    CG_CHECK(s->name != NULL && s->dname != NULL, CG_ENOMEM);
    return CG_OK;
}

static enum cg_err take_strings(char ***v, size_t *n, const struct cg__recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
        CG_CHECK(nv != NULL, CG_ENOMEM);
        *v = nv;
        (*v)[*n] = cg__strdup(r->v[i].text);
        CG_CHECK((*v)[*n] != NULL, CG_ENOMEM);
        (*n)++;
    }
    return CG_OK;
}

static enum cg_err take(struct cg_dnssd_browse *b, const struct cg__recs *r)
{
    if (!b->ptr_done) {
        for (size_t i = 0; i < r->n; i++)
            CG_GUARD(add_inst(b, r->v[i].text, r->v[i].dname));
        return CG_OK;
    }
    struct binst *s = &b->v[b->cur];
    switch (b->stage) {
    case ST_SRV: {
        if (r->n == 0)
            return CG_OK;
        /* Several SRVs: take the best priority (lowest), RFC 2782. */
        size_t best = 0;
        for (size_t i = 1; i < r->n; i++)
            if (r->v[i].priority < r->v[best].priority)
                best = i;
        s->host = cg__strdup(r->v[best].text);
        s->host_dname = ldns_rdf_clone(r->v[best].dname);
        CG_CHECK(s->host != NULL && s->host_dname != NULL, CG_ENOMEM);
        s->port = r->v[best].port;
        s->priority = r->v[best].priority;
        s->weight = r->v[best].weight;
        s->have_srv = true;
        return CG_OK;
    }
    case ST_TXT:
        return take_strings(&s->txt, &s->ntxt, r);
    case ST_A:
    case ST_AAAA:
        return take_strings(&s->addrs, &s->naddrs, r);
    case ST_DONE:
        break;
    }
    return CG_OK;
}

static void on_answer(void *user, enum cg_err err, const uint8_t *wire, size_t len)
{
    struct cg_dnssd_browse *b = user;
    struct cg__recs r = {0};
    if (err == CG_OK)
        err = cg__dnssd_read_answer(wire, len, &b->msg, b->qname, b->qtype, &r);
    if (err == CG_OK && r.rcode != LDNS_RCODE_NOERROR && r.rcode != LDNS_RCODE_NXDOMAIN)
        err = CG_EDNS;
    if (err == CG_OK)
        err = take(b, &r);
    cg__dnssd_recs_clear(&r);
    if (!b->ptr_done) {
        b->ptr_done = true;
        if (err != CG_OK) {
            cg__log(b->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "browsing at %s failed: %s",
                    cg__dx_peer(b->dx), cg_strerror(err));
            complete(b, err);
            return;
        }
    } else if (err == CG_ENOMEM) {
        complete(b, err);
        return;
    } else {
        if (err != CG_OK)
            cg__log(b->ctx, CG_LOG_WARN, CG_DNSSD_COMPONENT, "query at %s failed: %s",
                    cg__dx_peer(b->dx), cg_strerror(err));
        b->stage++;
    }
    advance(b);
}

enum cg_err cg__dnssd_system_server(struct sockaddr_storage *ss)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256], addr[128];
    enum cg_err rc = CG_ECONFIG;
    while (f != NULL && rc != CG_OK && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, " nameserver %127s", addr) == 1)
            rc = cg__dnssd_parse_server(addr, ss) == CG_OK ? CG_OK : CG_ECONFIG;
    if (f != NULL)
        fclose(f);
    return rc;
}

static enum cg_err start(struct cg_dnssd_browse *b, const struct cg_dnssd_browse_opts *o)
{
    struct sockaddr_storage ss;
    CG_GUARD(cg__dnssd_check_name(o->domain));
    CG_GUARD(cg__dnssd_check_name(o->type));
    char buf[600];
    snprintf(buf, sizeof(buf), "%s.%s.", o->type, o->domain);
    size_t bl = strlen(buf);
    if (bl >= 2 && buf[bl - 2] == '.')
        buf[bl - 1] = '\0'; /* domain had its own trailing dot */
    b->type_name = ldns_dname_new_frm_str(buf);
    CG_CHECK(b->type_name != NULL, CG_EINVAL);
    if (o->server != NULL) {
        CG_CHECK(cg__dnssd_parse_server(o->server, &ss) == CG_OK, CG_EINVAL);
    } else if (cg__dnssd_system_server(&ss) != CG_OK) {
        cg__log(b->ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
                "no DNS server given and none in /etc/resolv.conf");
        return CG_ECONFIG;
    }
    CG_GUARD(cg__dx_new(b->ctx, (const struct sockaddr *)&ss, &b->dx));
    if (o->instance != NULL) {
        CG_GUARD(cg__dnssd_check_instance(o->instance));
        uint8_t w[LDNS_MAX_DOMAINLEN + 1];
        size_t il = strlen(o->instance), tl = ldns_rdf_size(b->type_name);
        CG_CHECK(1 + il + tl <= LDNS_MAX_DOMAINLEN, CG_EINVAL);
        w[0] = (uint8_t)il;
        memcpy(w + 1, o->instance, il);
        memcpy(w + 1 + il, ldns_rdf_data(b->type_name), tl);
        ldns_rdf *d = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, 1 + il + tl, w);
        CG_CHECK(d != NULL, CG_ENOMEM);
        enum cg_err rc = add_inst(b, o->instance, d);
        ldns_rdf_deep_free(d);
        CG_GUARD(rc);
        b->single = true;
        b->ptr_done = true;
        return query(b, b->v[0].dname, LDNS_RR_TYPE_SRV);
    }
    return query(b, b->type_name, LDNS_RR_TYPE_PTR);
}

enum cg_err cg_dnssd_browse_new(struct cg_ctx *ctx, const struct cg_dnssd_browse_opts *opts,
                                cg_dnssd_browse_fn fn, void *user,
                                struct cg_dnssd_browse **out)
{
    CG_CHECK(ctx != NULL && opts != NULL && fn != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    struct cg_dnssd_browse *b = calloc(1, sizeof(*b));
    CG_CHECK(b != NULL, CG_ENOMEM);
    b->ctx = ctx;
    b->fn = fn;
    b->user = user;
    b->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : CG_DNSSD_TIMEOUT_MS;
    enum cg_err rc = start(b, opts);
    if (rc != CG_OK) {
        b->fn = NULL;
        cg_dnssd_browse_free(b);
        return rc;
    }
    *out = b;
    return CG_OK;
}

void cg_dnssd_browse_free(struct cg_dnssd_browse *b)
{
    if (b == NULL)
        return;
    cg__dx_free(b->dx);
    for (size_t i = 0; i < b->n; i++)
        binst_clear(&b->v[i]);
    free(b->v);
    ldns_rdf_deep_free(b->type_name);
    cg__dnssd_msg_clear(&b->msg);
    free(b);
}
