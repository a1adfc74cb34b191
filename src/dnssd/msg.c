/* DNS-SD records and messages, sans I/O: validation, RFC 2136 UPDATE and
 * query building (ldns), reply reading, rcode mapping, zone text. */
#include "dnssd/dnssd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation ---- */

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

enum cg_err cg__dnssd_check_name(const char *name)
{
    CG_CHECK(name != NULL, CG_EINVAL);
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--; /* B-32: a trailing dot names the same host */
    CG_CHECK(len > 0 && len <= 253, CG_EINVAL);
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            CG_CHECK(label > 0, CG_EINVAL); /* empty label */
            label = 0;
            continue;
        }
        CG_CHECK(name_char_ok(c), CG_EINVAL);
        CG_CHECK(++label <= 63, CG_EINVAL); /* RFC 1035 §2.3.4 */
    }
    return label > 0 ? CG_OK : CG_EINVAL;
}

enum cg_err cg__dnssd_check_instance(const char *label)
{
    CG_CHECK(label != NULL, CG_EINVAL);
    size_t len = strlen(label);
    /* RFC 6763 §4.1.1: Net-Unicode text (RFC 5198: UTF-8), at most 63
     * octets, no control characters: C0, DEL, nor C1 (U+0080..U+009F, which
     * UTF-8 writes C2 80..C2 9F). */
    CG_CHECK(len >= 1 && len <= 63, CG_EINVAL);
    CG_CHECK(cg__utf8_valid((const uint8_t *)label, len), CG_EINVAL);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)label[i];
        CG_CHECK(c >= 0x20 && c != 0x7f, CG_EINVAL);
        CG_CHECK(!(c == 0xc2 && (unsigned char)label[i + 1] <= 0x9f), CG_EINVAL);
    }
    return CG_OK;
}

static enum cg_err txt_entry_ok(const char *e, size_t len)
{
    CG_CHECK(len <= 255, CG_ERANGE); /* one character-string */
    const char *eq = memchr(e, '=', len);
    size_t klen = eq != NULL ? (size_t)(eq - e) : len;
    /* RFC 6763 §6.4: a key is at least one printable US-ASCII char, no '='. */
    CG_CHECK(klen > 0, CG_EINVAL);
    for (size_t i = 0; i < klen; i++)
        CG_CHECK(e[i] >= 0x20 && e[i] <= 0x7e, CG_EINVAL);
    return CG_OK;
}

enum cg_err cg__dnssd_txt_encode(const char *const *txt, size_t n, struct cg_buf *out)
{
    enum cg_err rc = CG_OK;
    cg__buf_reset(out);
    if (n == 0) /* RFC 6763 §6.1: an empty TXT record is one empty string */
        return cg__buf_append(out, "", 1);
    for (size_t i = 0; i < n; i++) {
        CG_CHECK(txt[i] != NULL, CG_EINVAL);
        size_t len = strlen(txt[i]);
        CG_GUARD(txt_entry_ok(txt[i], len));
        CG_CHECK(out->len + 1 + len <= CG_DNSSD_TXT_MAX, CG_ERANGE);
        uint8_t l = (uint8_t)len;
        CG_TRY(cg__buf_append(out, &l, 1));
        CG_TRY(cg__buf_append(out, txt[i], len));
    }
out:
    return rc;
}

/* castgate's MOS convention (docs/discovery.md) and the NMOS keys. */
const char *cg__dnssd_txt_lint(const char *type, const char *const *txt, size_t n)
{
    static const struct {
        const char *type, *key, *why;
    } need[] = {
        {"_mos._tcp", "api_proto", "a MOS 4.0 endpoint should advertise api_proto=wss"},
        {"_mos._tcp", "path", "a MOS 4.0 endpoint should advertise path=/mos/Communication"},
        {"_mos._tcp", "channels", "a MOS 4.0 endpoint should advertise channels=mom,ro,aux"},
        {"_mos._tcp", "passive", "a MOS 4.0 endpoint should advertise passive=yes|no"},
        {"_nmos-", "api_proto", "an NMOS endpoint should advertise api_proto=https"},
        {"_nmos-", "api_ver", "an NMOS endpoint should advertise api_ver"},
        {"_nmos-", "api_auth", "an NMOS endpoint should advertise api_auth"},
    };
    bool id = false;
    for (size_t j = 0; j < n; j++)
        id = id || strncmp(txt[j], "mosID=", 6) == 0 || strncmp(txt[j], "ncsID=", 6) == 0;
    for (size_t i = 0; i < CG_ARRAY_LEN(need); i++) {
        if (strncmp(type, need[i].type, strlen(need[i].type)) != 0)
            continue;
        size_t kl = strlen(need[i].key);
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = strncmp(txt[j], need[i].key, kl) == 0 && txt[j][kl] == '=';
        if (!found)
            return need[i].why;
    }
    if (strcmp(type, "_mos._tcp") == 0 && !id)
        return "a MOS 4.0 endpoint should advertise mosID=… or ncsID=…";
    return NULL;
}

enum cg_err cg__dnssd_parse_server(const char *s, struct sockaddr_storage *out)
{
    CG_CHECK(s != NULL && out != NULL, CG_EINVAL);
    char host[64];
    unsigned long port = 53;
    const char *colon = strrchr(s, ':');
    const char *end = s + strlen(s);
    const char *hs = s, *he = end;
    if (s[0] == '[') { /* [v6]:port or [v6] */
        const char *rb = strchr(s, ']');
        CG_CHECK(rb != NULL, CG_EINVAL);
        hs = s + 1;
        he = rb;
        colon = rb[1] == ':' ? rb + 1 : NULL;
        CG_CHECK(rb[1] == '\0' || colon != NULL, CG_EINVAL);
    } else if (colon != NULL && strchr(s, ':') != colon) {
        colon = NULL; /* bare IPv6 */
    } else if (colon != NULL) {
        he = colon;
    }
    if (colon != NULL) {
        char *pe = NULL;
        CG_CHECK(colon[1] >= '0' && colon[1] <= '9', CG_EINVAL);
        port = strtoul(colon + 1, &pe, 10);
        CG_CHECK(*pe == '\0' && port >= 1 && port <= 65535, CG_EINVAL);
    }
    CG_CHECK(he > hs && (size_t)(he - hs) < sizeof(host), CG_EINVAL);
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return CG_OK;
    }
    CG_CHECK(inet_pton(AF_INET6, host, &v6->sin6_addr) == 1, CG_EINVAL);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    return CG_OK;
}

/* ---- names as ldns rdfs ---- */

/* text (validated) -> absolute dname */
static ldns_rdf *dname_abs(const char *text)
{
    size_t len = strlen(text);
    char buf[300];
    if (len + 2 > sizeof(buf))
        return NULL;
    memcpy(buf, text, len);
    if (len == 0 || buf[len - 1] != '.')
        buf[len++] = '.';
    buf[len] = '\0';
    return ldns_dname_new_frm_str(buf);
}

/* one raw label (any bytes) in front of an absolute dname */
static ldns_rdf *dname_prepend(const char *label, size_t llen, const ldns_rdf *rest)
{
    uint8_t buf[LDNS_MAX_DOMAINLEN + 1];
    size_t rlen = ldns_rdf_size(rest);
    if (llen == 0 || llen > 63 || 1 + llen + rlen > LDNS_MAX_DOMAINLEN)
        return NULL;
    buf[0] = (uint8_t)llen;
    memcpy(buf + 1, label, llen);
    memcpy(buf + 1 + llen, ldns_rdf_data(rest), rlen);
    return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, 1 + llen + rlen, buf);
}

static ldns_rdf *dname_join(const char *prefix, const char *domain)
{
    char buf[600];
    int n = snprintf(buf, sizeof(buf), "%s.%s", prefix, domain);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    return dname_abs(buf);
}

static enum cg_err check_type(const char *type)
{
    /* "_service._tcp" or "_service._udp" (RFC 6763 §7) */
    CG_GUARD(cg__dnssd_check_name(type));
    const char *dot = strchr(type, '.');
    CG_CHECK(type[0] == '_' && dot != NULL && dot[1] == '_', CG_EINVAL);
    CG_CHECK(strcmp(dot + 1, "_tcp") == 0 || strcmp(dot + 1, "_udp") == 0, CG_EINVAL);
    return CG_OK;
}

static enum cg_err svc_check(const struct cg_dnssd_opts *o)
{
    CG_CHECK(o != NULL, CG_EINVAL);
    CG_GUARD(cg__dnssd_check_name(o->domain));
    CG_GUARD(check_type(o->type));
    CG_GUARD(cg__dnssd_check_instance(o->instance));
    CG_GUARD(cg__dnssd_check_name(o->host));
    CG_CHECK(o->port != 0, CG_EINVAL);
    CG_CHECK(o->nsubtypes == 0 || o->subtypes != NULL, CG_EINVAL);
    for (size_t i = 0; i < o->nsubtypes; i++) {
        CG_GUARD(cg__dnssd_check_name(o->subtypes[i]));
        CG_CHECK(strchr(o->subtypes[i], '.') == NULL, CG_EINVAL);
    }
    CG_CHECK(o->ntxt == 0 || o->txt != NULL, CG_EINVAL);
    return CG_OK;
}

enum cg_err cg__dnssd_svc_init(struct cg__svc *s, const struct cg_dnssd_opts *o)
{
    enum cg_err rc = CG_OK;
    memset(s, 0, sizeof(*s));
    cg__buf_init(&s->txt, CG_DNSSD_TXT_MAX);
    CG_TRY(svc_check(o));
    CG_TRY(cg__dnssd_txt_encode(o->txt, o->ntxt, &s->txt));
    s->zone = dname_abs(o->domain);
    s->type_name = dname_join(o->type, o->domain);
    s->enum_name = dname_join("_services._dns-sd._udp", o->domain);
    s->host = dname_abs(o->host);
    CG_ENSURE(s->zone && s->type_name && s->enum_name && s->host, CG_EINVAL);
    s->inst_name = dname_prepend(o->instance, strlen(o->instance), s->type_name);
    CG_ENSURE(s->inst_name != NULL, CG_EINVAL); /* too long in all */
    if (o->nsubtypes > 0) {
        s->sub_names = calloc(o->nsubtypes, sizeof(*s->sub_names));
        CG_ENSURE(s->sub_names != NULL, CG_ENOMEM);
        s->nsub = o->nsubtypes;
        for (size_t i = 0; i < o->nsubtypes; i++) {
            char pre[300];
            int n = snprintf(pre, sizeof(pre), "%s._sub.%s", o->subtypes[i], o->type);
            CG_ENSURE(n > 0 && (size_t)n < sizeof(pre), CG_EINVAL);
            s->sub_names[i] = dname_join(pre, o->domain);
            CG_ENSURE(s->sub_names[i] != NULL, CG_EINVAL);
        }
    }
    s->port = o->port;
    s->priority = o->priority;
    s->weight = o->weight;
    s->ttl = o->ttl != 0 ? o->ttl : 120;
out:
    if (rc != CG_OK)
        cg__dnssd_svc_clear(s);
    return rc;
}

void cg__dnssd_svc_clear(struct cg__svc *s)
{
    ldns_rdf_deep_free(s->zone);
    ldns_rdf_deep_free(s->type_name);
    ldns_rdf_deep_free(s->inst_name);
    ldns_rdf_deep_free(s->enum_name);
    ldns_rdf_deep_free(s->host);
    for (size_t i = 0; i < s->nsub; i++)
        ldns_rdf_deep_free(s->sub_names[i]);
    free(s->sub_names);
    cg__buf_free(&s->txt);
    memset(s, 0, sizeof(*s));
}

/* ---- resource records ---- */

/* An RR with a copy of owner; takes the rdfs (freed on failure). */
static ldns_rr *rr_make(const ldns_rdf *owner, ldns_rr_type type, ldns_rr_class cls, uint32_t ttl,
                        ldns_rdf **rdfs, size_t n)
{
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *own = ldns_rdf_clone(owner);
    bool ok = rr != NULL && own != NULL;
    for (size_t i = 0; i < n; i++)
        ok = ok && rdfs[i] != NULL;
    if (ok) {
        ldns_rr_set_owner(rr, own);
        own = NULL;
        ldns_rr_set_type(rr, type);
        ldns_rr_set_class(rr, cls);
        ldns_rr_set_ttl(rr, ttl);
    }
    for (size_t i = 0; i < n; i++) {
        if (ok && ldns_rr_push_rdf(rr, rdfs[i]))
            continue;
        ok = false;
        ldns_rdf_deep_free(rdfs[i]);
    }
    ldns_rdf_deep_free(own);
    if (!ok) {
        ldns_rr_free(rr);
        return NULL;
    }
    return rr;
}

static ldns_rr *rr_ptr(const ldns_rdf *owner, const ldns_rdf *target, ldns_rr_class cls,
                       uint32_t ttl)
{
    ldns_rdf *r[] = {ldns_rdf_clone(target)};
    return rr_make(owner, LDNS_RR_TYPE_PTR, cls, ttl, r, 1);
}

static ldns_rr *rr_srv(const struct cg__svc *s, ldns_rr_class cls, uint32_t ttl)
{
    ldns_rdf *r[] = {ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, s->priority),
                     ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, s->weight),
                     ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, s->port),
                     ldns_rdf_clone(s->host)};
    return rr_make(s->inst_name, LDNS_RR_TYPE_SRV, cls, ttl, r, 4);
}

static ldns_rr *rr_txt(const struct cg__svc *s, ldns_rr_class cls, uint32_t ttl)
{
    ldns_rdf *r[CG_DNSSD_TXT_MAX / 1 + 1];
    size_t n = 0;
    for (size_t off = 0; off < s->txt.len; off += 1u + s->txt.data[off])
        r[n++] = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, 1u + s->txt.data[off], s->txt.data + off);
    return rr_make(s->inst_name, LDNS_RR_TYPE_TXT, cls, ttl, r, n);
}

/* RFC 2136 §2.4.1/2.4.3/2.5.2/2.5.3: RRs with class ANY/NONE and no rdata. */
static ldns_rr *rr_empty(const ldns_rdf *owner, ldns_rr_type type, ldns_rr_class cls)
{
    return rr_make(owner, type, cls, 0, NULL, 0);
}

static bool push(ldns_rr_list *l, ldns_rr *rr)
{
    if (rr == NULL)
        return false;
    if (!ldns_rr_list_push_rr(l, rr)) {
        ldns_rr_free(rr);
        return false;
    }
    return true;
}

/* The records that make up the service (class IN, the service TTL). */
static bool add_service_rrs(ldns_rr_list *up, const struct cg__svc *s, ldns_rr_class cls,
                            uint32_t ttl)
{
    bool ok = push(up, rr_ptr(s->enum_name, s->type_name, cls, ttl));
    ok = ok && push(up, rr_ptr(s->type_name, s->inst_name, cls, ttl));
    for (size_t i = 0; ok && i < s->nsub; i++)
        ok = push(up, rr_ptr(s->sub_names[i], s->inst_name, cls, ttl));
    ok = ok && push(up, rr_srv(s, cls, ttl));
    ok = ok && push(up, rr_txt(s, cls, ttl));
    return ok;
}

static bool fill_update(ldns_rr_list *pr, ldns_rr_list *up, const struct cg__svc *s,
                        enum cg__upd_kind kind)
{
    switch (kind) {
    case CG__UPD_ADD_NEW:
        /* RFC 2136 §2.4.5 "Name is not in use" */
        return push(pr, rr_empty(s->inst_name, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE)) &&
               add_service_rrs(up, s, LDNS_RR_CLASS_IN, s->ttl);
    case CG__UPD_REPLACE:
        /* §2.4.2 "RRset exists (value dependent)": the SRV is exactly ours.
         * Then §2.5.2 delete the SRV and TXT RRsets and add ours again (the
         * TXT may have changed on reload; re-adding refreshes the TTL). */
        return push(pr, rr_srv(s, LDNS_RR_CLASS_IN, 0)) &&
               push(up, rr_empty(s->inst_name, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_ANY)) &&
               push(up, rr_empty(s->inst_name, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY)) &&
               add_service_rrs(up, s, LDNS_RR_CLASS_IN, s->ttl);
    case CG__UPD_WITHDRAW:
        /* §2.5.4 delete our PTRs only (others share the RRset), §2.5.3 every
         * RRset at the instance name. The enumeration PTR stays: other
         * instances of the type may still be there. */
        if (!push(pr, rr_srv(s, LDNS_RR_CLASS_IN, 0)) ||
            !push(up, rr_ptr(s->type_name, s->inst_name, LDNS_RR_CLASS_NONE, 0)))
            return false;
        for (size_t i = 0; i < s->nsub; i++)
            if (!push(up, rr_ptr(s->sub_names[i], s->inst_name, LDNS_RR_CLASS_NONE, 0)))
                return false;
        return push(up, rr_empty(s->inst_name, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY));
    }
    return false;
}

void cg__dnssd_msg_clear(struct cg__msg *m)
{
    free(m->wire);
    ldns_rdf_deep_free(m->mac);
    memset(m, 0, sizeof(*m));
}

static enum cg_err finish(ldns_pkt *pkt, uint16_t id, const struct cg__tsig_key *key,
                          struct cg__msg *out)
{
    memset(out, 0, sizeof(*out));
    ldns_pkt_set_id(pkt, id);
    if (key != NULL) {
        /* RFC 8945 §5.1: fudge 300 s */
        CG_CHECK(ldns_pkt_tsig_sign(pkt, key->name, key->secret, 300, "hmac-sha256.", NULL) ==
                     LDNS_STATUS_OK,
                 CG_EINTERNAL);
        ldns_rr *t = ldns_pkt_tsig(pkt);
        out->mac = t != NULL ? ldns_rdf_clone(ldns_rr_rdf(t, 3)) : NULL;
        CG_CHECK(out->mac != NULL, CG_ENOMEM);
    }
    if (ldns_pkt2wire(&out->wire, pkt, &out->len) != LDNS_STATUS_OK || out->wire == NULL) {
        cg__dnssd_msg_clear(out);
        return CG_ENOMEM;
    }
    out->id = id;
    return CG_OK;
}

enum cg_err cg__dnssd_build_update(const struct cg__svc *s, enum cg__upd_kind kind, uint16_t id,
                                   const struct cg__tsig_key *key, struct cg__msg *out)
{
    enum cg_err rc = CG_OK;
    ldns_pkt *pkt = NULL;
    ldns_rr_list *pr = ldns_rr_list_new();
    ldns_rr_list *up = ldns_rr_list_new();
    ldns_rdf *zone = ldns_rdf_clone(s->zone);
    CG_ENSURE(pr != NULL && up != NULL && zone != NULL, CG_ENOMEM);
    CG_ENSURE(fill_update(pr, up, s, kind), CG_ENOMEM);
    pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, pr, up, NULL);
    zone = NULL; /* owned by pkt, or freed by it on failure */
    CG_ENSURE(pkt != NULL, CG_ENOMEM);
    ldns_pkt_set_rd(pkt, false);
    CG_TRY(finish(pkt, id, key, out));
out:
    ldns_rdf_deep_free(zone);
    ldns_rr_list_deep_free(pr);
    ldns_rr_list_deep_free(up);
    ldns_pkt_free(pkt);
    return rc;
}

enum cg_err cg__dnssd_build_query(const ldns_rdf *name, ldns_rr_type type, uint16_t id,
                                  struct cg__msg *out)
{
    ldns_rdf *q = ldns_rdf_clone(name);
    CG_CHECK(q != NULL, CG_ENOMEM);
    ldns_pkt *pkt = ldns_pkt_query_new(q, type, LDNS_RR_CLASS_IN, LDNS_RD);
    CG_CHECK(pkt != NULL, CG_ENOMEM);
    enum cg_err rc = finish(pkt, id, NULL, out);
    ldns_pkt_free(pkt);
    return rc;
}

/* ---- replies (untrusted) ---- */

static enum cg_err reply_pkt(const uint8_t *wire, size_t len, const struct cg__msg *req,
                             ldns_pkt_opcode op, ldns_pkt **out)
{
    *out = NULL;
    CG_CHECK(len >= 12 && len <= 65535, CG_EPROTO);
    CG_CHECK(ldns_wire2pkt(out, wire, len) == LDNS_STATUS_OK && *out != NULL, CG_EPROTO);
    if (ldns_pkt_id(*out) != req->id || !ldns_pkt_qr(*out) || ldns_pkt_get_opcode(*out) != op) {
        ldns_pkt_free(*out);
        *out = NULL;
        return CG_EPROTO;
    }
    return CG_OK;
}

enum cg_err cg__dnssd_read_reply(const uint8_t *wire, size_t len, const struct cg__msg *req,
                                 const struct cg__tsig_key *key, int *rcode, int *tsig_error)
{
    ldns_pkt *pkt = NULL;
    *rcode = -1;
    *tsig_error = 0;
    CG_GUARD(reply_pkt(wire, len, req, LDNS_PACKET_UPDATE, &pkt));
    enum cg_err rc = CG_OK;
    *rcode = (int)ldns_pkt_get_rcode(pkt);
    ldns_rr *tsig = ldns_pkt_tsig(pkt);
    if (tsig != NULL && ldns_rr_rd_count(tsig) >= 6 && ldns_rr_rdf(tsig, 5) != NULL &&
        ldns_rdf_size(ldns_rr_rdf(tsig, 5)) == 2)
        *tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
    if (key != NULL && *tsig_error == 0) {
        /* RFC 8945 §5.3: a signed request's reply must verify against the
         * request MAC; an unsigned or forged one is not believed. */
        CG_ENSURE(tsig != NULL && ldns_rr_rd_count(tsig) == 7, CG_EAUTH);
        bool good = ldns_pkt_tsig_verify(pkt, wire, len, key->name, key->secret, req->mac);
        /* ldns 1.8.3 leaves the TSIG RR detached from the packet when it
         * cannot compute a MAC (e.g. an unknown algorithm): reattach it so
         * ldns_pkt_free() still frees it. */
        if (ldns_pkt_tsig(pkt) == NULL)
            ldns_pkt_set_tsig(pkt, tsig);
        CG_ENSURE(good, CG_EAUTH);
    }
out:
    ldns_pkt_free(pkt);
    return rc;
}

enum cg_err cg__dnssd_rcode_err(int rcode, int tsig_error, const char **text)
{
    static const struct {
        int code;
        enum cg_err err;
        const char *text;
    } tsig_map[] = {
        {16, CG_EAUTH, "BADSIG: the server does not accept the TSIG signature (wrong secret?)"},
        {17, CG_EAUTH, "BADKEY: the server does not know the TSIG key name or algorithm"},
        {18, CG_EAUTH, "BADTIME: the clocks differ by more than the TSIG fudge"},
    },
      rcode_map[] = {
          {LDNS_RCODE_NOERROR, CG_OK, "NOERROR"},
          {LDNS_RCODE_FORMERR, CG_EDNS, "FORMERR: the server could not read the update"},
          {LDNS_RCODE_SERVFAIL, CG_EDNS, "SERVFAIL: the server failed to apply the update"},
          {LDNS_RCODE_NXDOMAIN, CG_EDNS, "NXDOMAIN: a prerequisite name does not exist"},
          {LDNS_RCODE_NOTIMPL, CG_EDNS, "NOTIMP: the server does not support DNS UPDATE"},
          {LDNS_RCODE_REFUSED, CG_EDNS,
           "REFUSED: the server's policy does not allow this update (allow-update/update-policy)"},
          {LDNS_RCODE_YXDOMAIN, CG_EEXIST, "YXDOMAIN: the instance name is already in use"},
          {LDNS_RCODE_YXRRSET, CG_EEXIST, "YXRRSET: a record set exists that should not"},
          {LDNS_RCODE_NXRRSET, CG_EEXIST,
           "NXRRSET: the instance's SRV record is not ours (another service holds the name)"},
          {LDNS_RCODE_NOTAUTH, CG_EDNS,
           "NOTAUTH: the server is not authoritative for the zone (or refused the TSIG key)"},
          {LDNS_RCODE_NOTZONE, CG_EDNS, "NOTZONE: a record name is outside the zone"},
      };
    for (size_t i = 0; tsig_error != 0 && i < CG_ARRAY_LEN(tsig_map); i++)
        if (tsig_map[i].code == tsig_error) {
            *text = tsig_map[i].text;
            return tsig_map[i].err;
        }
    if (tsig_error != 0) {
        *text = "the server reported an unknown TSIG error";
        return CG_EAUTH;
    }
    for (size_t i = 0; i < CG_ARRAY_LEN(rcode_map); i++)
        if (rcode_map[i].code == rcode) {
            *text = rcode_map[i].text;
            return rcode_map[i].err;
        }
    *text = "the server answered with an unknown rcode";
    return CG_EDNS;
}

static char *rdf_text(const ldns_rdf *r)
{
    char *s = ldns_rdf2str(r);
    return s; /* malloc'd by ldns */
}

static void rec_clear(struct cg__rec *r)
{
    free(r->text);
    ldns_rdf_deep_free(r->dname);
}

void cg__dnssd_recs_clear(struct cg__recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        rec_clear(&r->v[i]);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static enum cg_err recs_push(struct cg__recs *r, const struct cg__rec *rec)
{
    struct cg__rec *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
    CG_CHECK(nv != NULL, CG_ENOMEM);
    r->v = nv;
    r->v[r->n++] = *rec;
    return CG_OK;
}

/* A character-string's bytes as a C string; NUL bytes become '?'. */
static char *str_text(const ldns_rdf *r)
{
    const uint8_t *d = ldns_rdf_data(r);
    size_t sz = ldns_rdf_size(r);
    if (sz < 1 || (size_t)d[0] + 1 > sz)
        return NULL;
    char *s = cg__strndup((const char *)d + 1, d[0]);
    for (size_t i = 0; s != NULL && i < d[0]; i++)
        if (s[i] == '\0')
            s[i] = '?';
    return s;
}

static enum cg_err rec_from_rr(const ldns_rr *rr, struct cg__recs *out)
{
    struct cg__rec rec = {.type = (uint16_t)ldns_rr_get_type(rr)};
    size_t n = ldns_rr_rd_count(rr);
    switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_PTR: {
        const ldns_rdf *t = ldns_rr_rdf(rr, 0);
        CG_CHECK(n == 1 && ldns_rdf_get_type(t) == LDNS_RDF_TYPE_DNAME, CG_EPROTO);
        const uint8_t *d = ldns_rdf_data(t);
        CG_CHECK(ldns_rdf_size(t) >= 2 && d[0] > 0 && (size_t)d[0] + 1 < ldns_rdf_size(t),
                 CG_EPROTO);
        rec.text = cg__strndup((const char *)d + 1, d[0]);
        rec.dname = ldns_rdf_clone(t);
        break;
    }
    case LDNS_RR_TYPE_SRV:
        CG_CHECK(n == 4 && ldns_rdf_get_type(ldns_rr_rdf(rr, 3)) == LDNS_RDF_TYPE_DNAME,
                 CG_EPROTO);
        for (size_t i = 0; i < 3; i++)
            CG_CHECK(ldns_rdf_size(ldns_rr_rdf(rr, i)) == 2, CG_EPROTO);
        rec.priority = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
        rec.weight = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
        rec.port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
        rec.text = rdf_text(ldns_rr_rdf(rr, 3));
        rec.dname = ldns_rdf_clone(ldns_rr_rdf(rr, 3));
        break;
    case LDNS_RR_TYPE_TXT:
        for (size_t i = 0; i < n; i++) {
            struct cg__rec t = {.type = rec.type, .text = str_text(ldns_rr_rdf(rr, i))};
            CG_CHECK(t.text != NULL, CG_ENOMEM);
            if (recs_push(out, &t) != CG_OK) {
                free(t.text);
                return CG_ENOMEM;
            }
        }
        return CG_OK;
    case LDNS_RR_TYPE_A:
    case LDNS_RR_TYPE_AAAA:
        CG_CHECK(n == 1, CG_EPROTO);
        rec.text = rdf_text(ldns_rr_rdf(rr, 0));
        break;
    default:
        return CG_OK;
    }
    if (rec.text == NULL ||
        ((rec.type == LDNS_RR_TYPE_PTR || rec.type == LDNS_RR_TYPE_SRV) && rec.dname == NULL) ||
        recs_push(out, &rec) != CG_OK) {
        rec_clear(&rec);
        return CG_ENOMEM;
    }
    return CG_OK;
}

enum cg_err cg__dnssd_read_answer(const uint8_t *wire, size_t len, const struct cg__msg *req,
                                  const ldns_rdf *qname, ldns_rr_type qtype,
                                  struct cg__recs *out)
{
    enum cg_err rc = CG_OK;
    ldns_pkt *pkt = NULL;
    memset(out, 0, sizeof(*out));
    CG_GUARD(reply_pkt(wire, len, req, LDNS_PACKET_QUERY, &pkt));
    CG_ENSURE(!ldns_pkt_tc(pkt), CG_ETOOBIG);
    out->rcode = (int)ldns_pkt_get_rcode(pkt);
    ldns_rr_list *an = ldns_pkt_answer(pkt);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) != qtype || ldns_dname_compare(ldns_rr_owner(rr), qname) != 0)
            continue;
        CG_TRY(rec_from_rr(rr, out));
    }
out:
    if (rc != CG_OK)
        cg__dnssd_recs_clear(out);
    ldns_pkt_free(pkt);
    return rc;
}

static bool first_soa(ldns_rr_list *l, ldns_rdf **zone, ldns_rdf **mname)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 1 ||
            ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) != LDNS_RDF_TYPE_DNAME)
            continue;
        *zone = ldns_rdf_clone(ldns_rr_owner(rr));
        *mname = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
        return true;
    }
    return false;
}

enum cg_err cg__dnssd_read_soa(const uint8_t *wire, size_t len, const struct cg__msg *req,
                               ldns_rdf **zone, ldns_rdf **mname)
{
    ldns_pkt *pkt = NULL;
    *zone = *mname = NULL;
    CG_GUARD(reply_pkt(wire, len, req, LDNS_PACKET_QUERY, &pkt));
    /* The SOA is the answer at a zone apex, or in the authority section of
     * a NOERROR/NXDOMAIN reply for a name inside the zone. */
    if (!first_soa(ldns_pkt_answer(pkt), zone, mname))
        first_soa(ldns_pkt_authority(pkt), zone, mname);
    ldns_pkt_free(pkt);
    if (*zone != NULL && *mname != NULL)
        return CG_OK;
    ldns_rdf_deep_free(*zone);
    ldns_rdf_deep_free(*mname);
    *zone = *mname = NULL;
    return CG_ENOTFOUND;
}

/* ---- public: zone text and the multicast decision ---- */

enum cg_err cg_dnssd_zone_text(const struct cg_dnssd_opts *opts, char **out)
{
    enum cg_err rc = CG_OK;
    struct cg__svc s;
    struct cg_buf b;
    ldns_rr_list *l = NULL;
    cg__buf_init(&b, 0);
    CG_CHECK(out != NULL, CG_EINVAL);
    *out = NULL;
    CG_GUARD(cg__dnssd_svc_init(&s, opts));
    l = ldns_rr_list_new();
    CG_ENSURE(l != NULL && add_service_rrs(l, &s, LDNS_RR_CLASS_IN, s.ttl), CG_ENOMEM);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        char *line = ldns_rr2str(ldns_rr_list_rr(l, i));
        CG_ENSURE(line != NULL, CG_ENOMEM);
        rc = cg__buf_append(&b, line, strlen(line));
        free(line);
        CG_TRY(rc);
    }
    CG_TRY(cg__buf_append(&b, "", 1));
    *out = (char *)b.data;
    b.data = NULL;
out:
    cg__buf_free(&b);
    ldns_rr_list_deep_free(l);
    cg__dnssd_svc_clear(&s);
    return rc;
}

void cg_dnssd_text_free(char *text) { free(text); }

int cg_dnssd_uses_multicast(const struct cg_dnssd_opts *opts)
{
    /* B-41: multicast only where no DNS server is configured, and only on
     * the interfaces named. */
    return opts != NULL && opts->server == NULL && opts->resolver == NULL &&
           opts->nmdns_interfaces > 0;
}
