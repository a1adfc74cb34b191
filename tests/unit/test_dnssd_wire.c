/* DNS messages on the wire (src/dnssd/msg.c), byte by byte: the query and
 * UPDATE headers and sections (RFC 1035 §4.1, RFC 2136 §2), the DNS-SD
 * records (RFC 6763 §4, §6, §7.1), and replies read from hand-made bytes:
 * compressed names (RFC 1035 §4.1.4), each record type browse reads, and
 * malformed packets (pointer loops, bad lengths, wrong counts), which must be
 * refused without reading past the buffer. */
#include "dnssd/dnssd.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* ---- a little byte builder ---- */

struct pk {
    uint8_t b[1024];
    size_t n;
};

static void pk_u8(struct pk *p, unsigned v)
{
    assert_true(p->n < sizeof(p->b));
    p->b[p->n++] = (uint8_t)v;
}
static void pk_u16(struct pk *p, unsigned v)
{
    pk_u8(p, v >> 8);
    pk_u8(p, v & 0xff);
}
static void pk_u32(struct pk *p, uint32_t v)
{
    pk_u16(p, v >> 16);
    pk_u16(p, v & 0xffff);
}
static void pk_raw(struct pk *p, const void *d, size_t n)
{
    assert_true(p->n + n <= sizeof(p->b));
    memcpy(p->b + p->n, d, n);
    p->n += n;
}
/* "a.b.c" as labels, then the root (no compression). */
static void pk_name(struct pk *p, const char *dotted)
{
    while (*dotted != '\0') {
        size_t l = strcspn(dotted, ".");
        pk_u8(p, (unsigned)l);
        pk_raw(p, dotted, l);
        dotted += l;
        if (*dotted == '.')
            dotted++;
    }
    pk_u8(p, 0);
}
static void pk_header(struct pk *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
                      unsigned ns, unsigned ar)
{
    p->n = 0;
    pk_u16(p, id);
    pk_u16(p, flags);
    pk_u16(p, qd);
    pk_u16(p, an);
    pk_u16(p, ns);
    pk_u16(p, ar);
}
/* An RR header; returns where RDLENGTH is, to patch with pk_rdlen. */
static size_t pk_rr(struct pk *p, unsigned type, unsigned cls, uint32_t ttl)
{
    pk_u16(p, type);
    pk_u16(p, cls);
    pk_u32(p, ttl);
    size_t at = p->n;
    pk_u16(p, 0);
    return at;
}
static void pk_rdlen(struct pk *p, size_t at)
{
    size_t n = p->n - at - 2;
    p->b[at] = (uint8_t)(n >> 8);
    p->b[at + 1] = (uint8_t)n;
}

#define QR 0x8000u
#define FLAGS_RESPONSE (QR | 0x0100u | 0x0080u) /* QR, RD, RA; opcode QUERY, NOERROR */

static ldns_rdf *dname(const char *s)
{
    ldns_rdf *d = ldns_dname_new_frm_str(s);
    assert_non_null(d);
    return d;
}

static char *rdf_str(const ldns_rdf *r)
{
    char *s = ldns_rdf2str(r);
    assert_non_null(s);
    return s;
}

/* A query for name and type with id: what a reply is read against. */
static struct cg__msg query(const char *name, ldns_rr_type type, uint16_t id)
{
    ldns_rdf *q = dname(name);
    struct cg__msg m;
    assert_int_equal(cg__dnssd_build_query(q, type, id, &m), CG_OK);
    ldns_rdf_deep_free(q);
    return m;
}

/* ---- building ---- */

/* RFC 1035 §4.1.1-4.1.2: header, then QNAME QTYPE QCLASS; RD set, no EDNS. */
static void test_query_bytes(void **state)
{
    (void)state;
    struct cg__msg m = query("_mos._tcp.example.test.", LDNS_RR_TYPE_PTR, 0x1234);
    ldns_rdf *q = dname("_mos._tcp.example.test.");
    static const uint8_t want[] = {
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* header */
        4,    '_',  'm',  'o',  's',  4,    '_',  't',  'c',  'p',  7,    'e',  'x',
        'a',  'm',  'p',  'l',  'e',  4,    't',  'e',  's',  't',  0,          /* QNAME */
        0x00, 0x0c, 0x00, 0x01,                                                 /* PTR IN */
    };
    assert_int_equal(m.len, sizeof(want));
    assert_memory_equal(m.wire, want, sizeof(want));
    assert_int_equal(m.id, 0x1234);
    assert_null(m.mac);
    cg__dnssd_msg_clear(&m);
    /* SRV (33), SOA (6), A (1), AAAA (28) and TXT (16) differ in QTYPE only. */
    static const struct {
        ldns_rr_type t;
        uint8_t code;
    } types[] = {{LDNS_RR_TYPE_SRV, 33}, {LDNS_RR_TYPE_SOA, 6}, {LDNS_RR_TYPE_A, 1},
                 {LDNS_RR_TYPE_AAAA, 28}, {LDNS_RR_TYPE_TXT, 16}};
    for (size_t i = 0; i < CG_ARRAY_LEN(types); i++) {
        assert_int_equal(cg__dnssd_build_query(q, types[i].t, 0xffff, &m), CG_OK);
        assert_int_equal(m.len, sizeof(want));
        assert_memory_equal(m.wire + 2, want + 2, sizeof(want) - 6);
        assert_int_equal(m.wire[0], 0xff);
        assert_int_equal(m.wire[sizeof(want) - 3], types[i].code);
        cg__dnssd_msg_clear(&m);
    }
    assert_int_equal(m.len, 0); /* clear leaves it empty */
    assert_null(m.wire);
    ldns_rdf_deep_free(q);
}

static const char *const txt3[] = {"api_proto=wss", "path=/mos/Communication", "mosID=gw1"};

static struct cg_dnssd_opts opts(void)
{
    struct cg_dnssd_opts o = {.domain = "example.test", .instance = "Studio A",
                              .type = "_mos._tcp", .host = "gw1.example.test", .port = 443,
                              .priority = 10, .weight = 20, .txt = txt3, .ntxt = 3, .ttl = 60};
    return o;
}

/* RFC 2136 §2: opcode UPDATE (5), ZOCOUNT 1, PRCOUNT, UPCOUNT, ADCOUNT; the
 * zone section is "example.test. SOA IN". */
static void check_update_header(const struct cg__msg *m, uint16_t id, unsigned pr, unsigned up,
                                unsigned ad)
{
    const uint8_t hdr[] = {(uint8_t)(id >> 8), (uint8_t)id, 0x28, 0x00, 0x00, 0x01,
                           0x00, (uint8_t)pr,  0x00, (uint8_t)up, 0x00, (uint8_t)ad};
    assert_true(m->len > 12 + 18);
    assert_memory_equal(m->wire, hdr, sizeof(hdr));
    const uint8_t zone[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
                            0x00, 0x06, 0x00, 0x01};
    assert_memory_equal(m->wire + 12, zone, sizeof(zone));
}

static void test_update_counts(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = opts();
    const char *const subs[] = {"_primary", "_studio"};
    o.subtypes = subs;
    o.nsubtypes = 2;
    struct cg__svc s;
    struct cg__msg m;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    /* ADD_NEW: 1 prerequisite; enumeration PTR, type PTR, 2 subtype PTRs, SRV, TXT */
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_ADD_NEW, 0xbeef, NULL, &m), CG_OK);
    check_update_header(&m, 0xbeef, 1, 6, 0);
    cg__dnssd_msg_clear(&m);
    /* REPLACE: our SRV as prerequisite; delete SRV and TXT RRsets, add all 6 */
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_REPLACE, 2, NULL, &m), CG_OK);
    check_update_header(&m, 2, 1, 8, 0);
    cg__dnssd_msg_clear(&m);
    /* WITHDRAW: our SRV; delete our type PTR, our 2 subtype PTRs, all at the name */
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_WITHDRAW, 3, NULL, &m), CG_OK);
    check_update_header(&m, 3, 1, 4, 0);
    cg__dnssd_msg_clear(&m);
    /* Signed: one additional record, the TSIG (RFC 8945 §4), last. */
    struct cg__tsig_key k = {.name = "k.", .secret = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="};
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_ADD_NEW, 4, &k, &m), CG_OK);
    check_update_header(&m, 4, 1, 6, 1);
    assert_non_null(m.mac);
    assert_int_equal(ldns_rdf_size(m.mac), 2 + 32); /* MAC size, HMAC-SHA256 */
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    ldns_rr *t = ldns_pkt_tsig(p);
    assert_non_null(t);
    char *alg = rdf_str(ldns_rr_rdf(t, 0));
    assert_string_equal(alg, "hmac-sha256.");
    free(alg);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(t, 2)), 300); /* fudge */
    char *owner = rdf_str(ldns_rr_owner(t));
    assert_string_equal(owner, "k.");
    free(owner);
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    cg__dnssd_svc_clear(&s);
}

/* Find the first RR of type/class in a list. */
static ldns_rr *rr_of(ldns_rr_list *l, ldns_rr_type t, ldns_rr_class c, size_t nth)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) == t && ldns_rr_get_class(rr) == c && nth-- == 0)
            return rr;
    }
    return NULL;
}

static void assert_name(const ldns_rdf *r, const char *want)
{
    char *s = rdf_str(r);
    if (strcmp(s, want) != 0)
        fail_msg("name %s, want %s", s, want);
    free(s);
}

/* RFC 6763 §4.1, §7.1, §9: the names of the records an ADD_NEW carries. */
static void test_service_records(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = opts();
    const char *const subs[] = {"_primary"};
    o.subtypes = subs;
    o.nsubtypes = 1;
    o.instance = "Studio A.1 (main)"; /* dots and spaces inside one label (§4.3) */
    struct cg__svc s;
    struct cg__msg m;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    /* The instance is one label of raw bytes in front of the type. */
    const uint8_t *d = ldns_rdf_data(s.inst_name);
    assert_int_equal(d[0], 17);
    assert_memory_equal(d + 1, "Studio A.1 (main)", 17);
    assert_int_equal(d[18], 4);
    assert_memory_equal(d + 19, "_mos", 4);
    assert_int_equal(ldns_dname_label_count(s.inst_name), 5);
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_ADD_NEW, 1, NULL, &m), CG_OK);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    ldns_rr_list *up = ldns_pkt_authority(p);
    ldns_rr *e = rr_of(up, LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 0);
    assert_name(ldns_rr_owner(e), "_services._dns-sd._udp.example.test.");
    assert_name(ldns_rr_rdf(e, 0), "_mos._tcp.example.test.");
    ldns_rr *t = rr_of(up, LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 1);
    assert_name(ldns_rr_owner(t), "_mos._tcp.example.test.");
    assert_name(ldns_rr_rdf(t, 0), "Studio\\032A\\.1\\032\\(main\\)._mos._tcp.example.test.");
    ldns_rr *sub = rr_of(up, LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, 2);
    assert_name(ldns_rr_owner(sub), "_primary._sub._mos._tcp.example.test.");
    assert_int_equal(ldns_dname_compare(ldns_rr_rdf(sub, 0), s.inst_name), 0);
    ldns_rr *srv = rr_of(up, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, 0);
    assert_int_equal(ldns_dname_compare(ldns_rr_owner(srv), s.inst_name), 0);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 0)), 10);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 1)), 20);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 2)), 443);
    assert_name(ldns_rr_rdf(srv, 3), "gw1.example.test.");
    for (size_t i = 0; i < ldns_rr_list_rr_count(up); i++)
        assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(up, i)), 60);
    /* RFC 6763 §6: TXT rdata is the strings, length-prefixed, in order. */
    ldns_rr *txt = rr_of(up, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0);
    assert_int_equal(ldns_rr_rd_count(txt), 3);
    for (size_t i = 0; i < 3; i++) {
        const ldns_rdf *r = ldns_rr_rdf(txt, i);
        assert_int_equal(ldns_rdf_size(r), 1 + strlen(txt3[i]));
        assert_int_equal(ldns_rdf_data(r)[0], strlen(txt3[i]));
        assert_memory_equal(ldns_rdf_data(r) + 1, txt3[i], strlen(txt3[i]));
    }
    /* RFC 2136 §2.4.5 "name is not in use": NONE ANY, TTL 0, no rdata */
    ldns_rr *pre = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    assert_int_equal(ldns_rr_get_type(pre), LDNS_RR_TYPE_ANY);
    assert_int_equal(ldns_rr_get_class(pre), LDNS_RR_CLASS_NONE);
    assert_int_equal(ldns_rr_ttl(pre), 0);
    assert_int_equal(ldns_rr_rd_count(pre), 0);
    assert_int_equal(ldns_dname_compare(ldns_rr_owner(pre), s.inst_name), 0);
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    cg__dnssd_svc_clear(&s);
}

/* RFC 2136 §2.5.2-2.5.4: the delete forms of REPLACE and WITHDRAW. */
static void test_update_deletes(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = opts();
    struct cg__svc s;
    struct cg__msg m;
    ldns_pkt *p = NULL;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_REPLACE, 1, NULL, &m), CG_OK);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    /* §2.4.2 value-dependent: our SRV exactly, class IN, TTL 0 */
    ldns_rr *pre = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    assert_int_equal(ldns_rr_get_type(pre), LDNS_RR_TYPE_SRV);
    assert_int_equal(ldns_rr_get_class(pre), LDNS_RR_CLASS_IN);
    assert_int_equal(ldns_rr_ttl(pre), 0);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(pre, 2)), 443);
    /* §2.5.2 delete an RRset: class ANY, TTL 0, no rdata; first SRV then TXT */
    ldns_rr_list *up = ldns_pkt_authority(p);
    ldns_rr *d0 = ldns_rr_list_rr(up, 0), *d1 = ldns_rr_list_rr(up, 1);
    assert_int_equal(ldns_rr_get_type(d0), LDNS_RR_TYPE_SRV);
    assert_int_equal(ldns_rr_get_type(d1), LDNS_RR_TYPE_TXT);
    for (int i = 0; i < 2; i++) {
        ldns_rr *d = ldns_rr_list_rr(up, (size_t)i);
        assert_int_equal(ldns_rr_get_class(d), LDNS_RR_CLASS_ANY);
        assert_int_equal(ldns_rr_ttl(d), 0);
        assert_int_equal(ldns_rr_rd_count(d), 0);
    }
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_WITHDRAW, 1, NULL, &m), CG_OK);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    up = ldns_pkt_authority(p);
    /* §2.5.4 delete an RR: class NONE, TTL 0, with its rdata (only ours) */
    ldns_rr *ptr = ldns_rr_list_rr(up, 0);
    assert_int_equal(ldns_rr_get_type(ptr), LDNS_RR_TYPE_PTR);
    assert_int_equal(ldns_rr_get_class(ptr), LDNS_RR_CLASS_NONE);
    assert_int_equal(ldns_rr_ttl(ptr), 0);
    assert_int_equal(ldns_dname_compare(ldns_rr_rdf(ptr, 0), s.inst_name), 0);
    /* §2.5.3 delete all RRsets at a name: ANY ANY */
    ldns_rr *all = ldns_rr_list_rr(up, 1);
    assert_int_equal(ldns_rr_get_type(all), LDNS_RR_TYPE_ANY);
    assert_int_equal(ldns_rr_get_class(all), LDNS_RR_CLASS_ANY);
    assert_int_equal(ldns_dname_compare(ldns_rr_owner(all), s.inst_name), 0);
    /* the enumeration PTR is never deleted: other instances may need it */
    for (size_t i = 0; i < ldns_rr_list_rr_count(up); i++) {
        ldns_rdf *en = dname("_services._dns-sd._udp.example.test.");
        assert_int_not_equal(ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(up, i)), en), 0);
        ldns_rdf_deep_free(en);
    }
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    cg__dnssd_svc_clear(&s);
}

/* The names that make up a service fit a DNS name (255 octets on the wire,
 * RFC 1035 §3.1) or svc_init refuses them. */
static void test_service_name_limits(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = opts();
    struct cg__svc s;
    char l63[64], domain[260];
    memset(l63, 'd', 63);
    l63[63] = '\0';
    /* The longest name is the enumeration one, "_services._dns-sd._udp.D."
     * (RFC 6763 §9): 1 + 23 + len(D) + 1 <= 255, so D has 230 characters
     * at most: 63.63.63.38. */
    snprintf(domain, sizeof(domain), "%s.%s.%s.%.38s", l63, l63, l63, l63);
    assert_int_equal(strlen(domain), 230);
    o.domain = domain;
    o.instance = "x";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    assert_int_equal(ldns_rdf_size(s.enum_name), 255);
    assert_int_equal(ldns_rdf_size(s.inst_name), 2 + 10 + 232); /* x, _mos._tcp, D. */
    cg__dnssd_svc_clear(&s);
    snprintf(domain, sizeof(domain), "%s.%s.%s.%.39s", l63, l63, l63, l63);
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL); /* 231: no room */
    snprintf(domain, sizeof(domain), "%s.%s.%s.%.38s", l63, l63, l63, l63);
    o.instance = "a longer instance name that cannot fit";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL);
    assert_null(s.zone); /* cleared on failure */
    o = opts();
    const char *const dotted[] = {"_a._b"};
    o.subtypes = dotted;
    o.nsubtypes = 1;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL); /* a subtype is one label */
    o.subtypes = NULL;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL);
    o = opts();
    o.txt = NULL;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL); /* ntxt 3 without txt */
    o.ntxt = 0;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    assert_int_equal(s.txt.len, 1); /* RFC 6763 §6.1: one empty string */
    assert_int_equal(s.ttl, 60);
    cg__dnssd_svc_clear(&s);
    o.ttl = 0;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    assert_int_equal(s.ttl, 120); /* RFC 6762 §10: 120 s for host-related records */
    cg__dnssd_svc_clear(&s);
    static const char *const bad_types[] = {"_mos", "_mos._tcp._udp", "_mos.tcp", "mos._tcp",
                                            "_mos._TCP", "_mos._tcp.", ""};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_types); i++) {
        o = opts();
        o.type = bad_types[i];
        if (cg__dnssd_svc_init(&s, &o) != CG_EINVAL)
            fail_msg("type '%s' accepted", bad_types[i]);
    }
    o = opts();
    o.type = "_nmos-register._tcp";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    cg__dnssd_svc_clear(&s);
    o.type = "_sip._udp";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    cg__dnssd_svc_clear(&s);
    assert_int_equal(cg__dnssd_svc_init(&s, NULL), CG_EINVAL);
}

/* ---- reading replies made by hand ---- */

/* A reply to a PTR query for _mos._tcp.example.test. (question at offset 12,
 * so C0 0C points to that name). */
static void ptr_reply_start(struct pk *p, uint16_t id, unsigned an)
{
    pk_header(p, id, FLAGS_RESPONSE, 1, an, 0, 0);
    pk_name(p, "_mos._tcp.example.test");
    pk_u16(p, 12);
    pk_u16(p, 1);
}

static enum cg_err read_ptr(const struct pk *p, const struct cg__msg *m, struct cg__recs *r)
{
    ldns_rdf *q = dname("_mos._tcp.example.test.");
    enum cg_err rc = cg__dnssd_read_answer(p->b, p->n, m, q, LDNS_RR_TYPE_PTR, r);
    ldns_rdf_deep_free(q);
    return rc;
}

/* Answers for another name than the question's, or of another type, are
 * left out; a type that is asked for but not one browse reads (CNAME) gives
 * no record and no error. */
static void other_names_skipped(const struct cg__msg *m)
{
    ldns_rdf *q = dname("_mos._tcp.example.test.");
    struct pk p;
    ptr_reply_start(&p, m->id, 4);
    pk_name(&p, "_http._tcp.example.test"); /* PTR for another service type */
    size_t at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 5);
    pk_raw(&p, "other", 5);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c); /* ours */
    at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 4);
    pk_raw(&p, "mine", 4);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c); /* our name, a TXT */
    at = pk_rr(&p, 16, 1, 60);
    pk_u8(&p, 3);
    pk_raw(&p, "x=y", 3);
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c); /* our name, a CNAME */
    at = pk_rr(&p, 5, 1, 60);
    pk_name(&p, "alias.example.test");
    pk_rdlen(&p, at);
    struct cg__recs r;
    assert_int_equal(read_ptr(&p, m, &r), CG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].text, "mine");
    assert_name(r.v[0].dname, "mine._mos._tcp.example.test.");
    cg__dnssd_recs_clear(&r);
    assert_int_equal(cg__dnssd_read_answer(p.b, p.n, m, q, LDNS_RR_TYPE_CNAME, &r), CG_OK);
    assert_int_equal(r.n, 0);
    assert_null(r.v);
    cg__dnssd_recs_clear(&r);
    ldns_rdf_deep_free(q);
}

static void test_compressed_ptr_answers(void **state)
{
    (void)state;
    struct cg__msg m = query("_mos._tcp.example.test.", LDNS_RR_TYPE_PTR, 0x4242);
    struct pk p;
    ptr_reply_start(&p, 0x4242, 3);
    /* 1: owner and target tail compressed to the question name */
    pk_u16(&p, 0xc00c);
    size_t at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 8);
    pk_raw(&p, "Studio A", 8);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    /* 2: a pointer to a pointer (to the first answer's target) */
    size_t second_target = p.n + 2 + 10;
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 1);
    pk_raw(&p, "b", 1);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    /* 3: owner in uppercase (names compare without case, RFC 1035 §2.3.3),
     * target a pointer to answer 2's target: "b._mos._tcp.example.test." */
    pk_name(&p, "_MOS._TCP.Example.TEST");
    at = pk_rr(&p, 12, 1, 60);
    pk_u16(&p, 0xc000 | (unsigned)second_target);
    pk_rdlen(&p, at);
    struct cg__recs r;
    assert_int_equal(read_ptr(&p, &m, &r), CG_OK);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.v[0].text, "Studio A");
    assert_name(r.v[0].dname, "Studio\\032A._mos._tcp.example.test.");
    assert_string_equal(r.v[1].text, "b");
    assert_string_equal(r.v[2].text, "b");
    assert_name(r.v[2].dname, "b._mos._tcp.example.test.");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(r.v[i].type, LDNS_RR_TYPE_PTR);
    cg__dnssd_recs_clear(&r);
    assert_int_equal(r.n, 0);
    assert_null(r.v);
    other_names_skipped(&m);
    cg__dnssd_msg_clear(&m);
}

/* RFC 2782 / RFC 6763 §5: SRV, TXT and the addresses, from one reply. */
static void test_srv_txt_address_answers(void **state)
{
    (void)state;
    struct cg__msg m = query("a._mos._tcp.example.test.", LDNS_RR_TYPE_SRV, 7);
    ldns_rdf *q = dname("a._mos._tcp.example.test.");
    struct pk p;
    pk_header(&p, 7, FLAGS_RESPONSE, 1, 5, 0, 0);
    pk_name(&p, "a._mos._tcp.example.test"); /* example.test. starts at 12+2+5+5 = 24 */
    pk_u16(&p, 33);
    pk_u16(&p, 1);
    pk_u16(&p, 0xc00c);
    size_t at = pk_rr(&p, 33, 1, 120);
    pk_u16(&p, 1);
    pk_u16(&p, 5);
    pk_u16(&p, 443);
    pk_u8(&p, 3);
    pk_raw(&p, "gw1", 3);
    pk_u16(&p, 0xc018);
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 16, 1, 120);
    pk_u8(&p, 13);
    pk_raw(&p, "api_proto=wss", 13);
    pk_u8(&p, 0); /* an empty string */
    pk_u8(&p, 5);
    pk_raw(&p, "a\0b=c", 5); /* a NUL byte inside */
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 1, 1, 120);
    pk_raw(&p, "\xc0\x00\x02\x01", 4);
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 28, 1, 120);
    pk_raw(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    pk_rdlen(&p, at);
    pk_u16(&p, 0xc00c); /* a second SRV, port 0 ("not available", RFC 6763 §5) */
    at = pk_rr(&p, 33, 1, 120);
    pk_raw(&p, "\0\0\0\0\0\0", 6);
    pk_u16(&p, 0xc018);
    pk_rdlen(&p, at);

    struct cg__recs r;
    assert_int_equal(cg__dnssd_read_answer(p.b, p.n, &m, q, LDNS_RR_TYPE_SRV, &r), CG_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0].priority, 1);
    assert_int_equal(r.v[0].weight, 5);
    assert_int_equal(r.v[0].port, 443);
    assert_string_equal(r.v[0].text, "gw1.example.test.");
    assert_name(r.v[0].dname, "gw1.example.test.");
    assert_int_equal(r.v[1].port, 0);
    assert_string_equal(r.v[1].text, "example.test.");
    cg__dnssd_recs_clear(&r);
    assert_int_equal(cg__dnssd_read_answer(p.b, p.n, &m, q, LDNS_RR_TYPE_TXT, &r), CG_OK);
    assert_int_equal(r.n, 3); /* one record per string */
    assert_string_equal(r.v[0].text, "api_proto=wss");
    assert_string_equal(r.v[1].text, "");
    assert_string_equal(r.v[2].text, "a?b=c");
    cg__dnssd_recs_clear(&r);
    assert_int_equal(cg__dnssd_read_answer(p.b, p.n, &m, q, LDNS_RR_TYPE_A, &r), CG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].text, "192.0.2.1");
    cg__dnssd_recs_clear(&r);
    assert_int_equal(cg__dnssd_read_answer(p.b, p.n, &m, q, LDNS_RR_TYPE_AAAA, &r), CG_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].text, "2001:db8::1");
    cg__dnssd_recs_clear(&r);
    /* Types browse does not read are skipped, not refused. */
    assert_int_equal(cg__dnssd_read_answer(p.b, p.n, &m, q, LDNS_RR_TYPE_MX, &r), CG_OK);
    assert_int_equal(r.n, 0);
    cg__dnssd_recs_clear(&r);
    ldns_rdf_deep_free(q);
    cg__dnssd_msg_clear(&m);
}

/* Headers that do not answer the request. */
static void test_reply_header_checks(void **state)
{
    (void)state;
    struct cg__msg m = query("_mos._tcp.example.test.", LDNS_RR_TYPE_PTR, 0x0101);
    struct pk p;
    struct cg__recs r;
    ptr_reply_start(&p, 0x0101, 0);
    assert_int_equal(read_ptr(&p, &m, &r), CG_OK);
    assert_int_equal(r.n, 0);
    cg__dnssd_recs_clear(&r);
    ptr_reply_start(&p, 0x0102, 0); /* another id */
    assert_int_equal(read_ptr(&p, &m, &r), CG_EPROTO);
    ptr_reply_start(&p, 0x0101, 0);
    p.b[2] &= 0x7f; /* QR clear: a query, not a reply */
    assert_int_equal(read_ptr(&p, &m, &r), CG_EPROTO);
    ptr_reply_start(&p, 0x0101, 0);
    p.b[2] |= 5 << 3; /* opcode UPDATE */
    assert_int_equal(read_ptr(&p, &m, &r), CG_EPROTO);
    ptr_reply_start(&p, 0x0101, 0);
    p.b[2] |= 0x02; /* TC: the answer did not fit */
    assert_int_equal(read_ptr(&p, &m, &r), CG_ETOOBIG);
    ptr_reply_start(&p, 0x0101, 0);
    p.b[3] = (p.b[3] & 0xf0) | 3; /* NXDOMAIN comes back as the rcode */
    assert_int_equal(read_ptr(&p, &m, &r), CG_OK);
    assert_int_equal(r.rcode, 3);
    cg__dnssd_recs_clear(&r);
    /* Shorter than a header, or a header alone claiming a question. */
    ptr_reply_start(&p, 0x0101, 0);
    p.n = 11;
    assert_int_equal(read_ptr(&p, &m, &r), CG_EPROTO);
    p.n = 12;
    assert_int_equal(read_ptr(&p, &m, &r), CG_EPROTO);
    /* A header with no sections at all is a (useless) reply. */
    pk_header(&p, 0x0101, FLAGS_RESPONSE, 0, 0, 0, 0);
    assert_int_equal(read_ptr(&p, &m, &r), CG_OK);
    cg__dnssd_recs_clear(&r);
    /* An UPDATE reply read as an answer, and the reverse. */
    pk_header(&p, 0x0101, QR | (5u << 11), 0, 0, 0, 0);
    assert_int_equal(read_ptr(&p, &m, &r), CG_EPROTO);
    int rcode = 0, terr = 0;
    assert_int_equal(cg__dnssd_read_reply(p.b, p.n, &m, NULL, &rcode, &terr), CG_OK);
    assert_int_equal(rcode, 0);
    pk_header(&p, 0x0101, FLAGS_RESPONSE, 0, 0, 0, 0);
    assert_int_equal(cg__dnssd_read_reply(p.b, p.n, &m, NULL, &rcode, &terr), CG_EPROTO);
    assert_int_equal(rcode, -1);
    cg__dnssd_msg_clear(&m);
}

/* Malformed bodies: each is refused (CG_EPROTO) and nothing is kept. */
static void test_malformed_bodies(void **state)
{
    (void)state;
    struct cg__msg m = query("_mos._tcp.example.test.", LDNS_RR_TYPE_PTR, 9);
    struct pk p;
    struct cg__recs r;
    size_t at;
    const char *what;
#define EXPECT_REFUSED()                                                                           \
    do {                                                                                           \
        memset(&r, 0x5a, sizeof(r));                                                               \
        if (read_ptr(&p, &m, &r) != CG_EPROTO)                                                     \
            fail_msg("accepted: %s", what);                                                        \
        assert_int_equal(r.n, 0);                                                                  \
        assert_null(r.v);                                                                          \
    } while (0)

    what = "a pointer to itself";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc000 | (unsigned)p.n);
    at = pk_rr(&p, 12, 1, 60);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "two pointers pointing at each other";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    size_t here = p.n;
    pk_u16(&p, 0xc000 | (unsigned)(here + 2));
    pk_u16(&p, 0xc000 | (unsigned)here);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "a pointer past the end";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u16(&p, 0xc3ff);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "a label running past the end";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 40);
    pk_raw(&p, "short", 5);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "an extended label type (0x40)";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 0x41);
    pk_raw(&p, "x", 1);
    pk_u8(&p, 0);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "RDLENGTH past the end";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    p.b[at + 1] += 10;
    EXPECT_REFUSED();

    what = "more answers counted than present";
    ptr_reply_start(&p, 9, 2);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u16(&p, 0xc00c);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "a record cut in its header";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    pk_u16(&p, 12);
    pk_u16(&p, 1);
    EXPECT_REFUSED();

    what = "a PTR to the root (no instance label)";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    pk_u8(&p, 0);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();

    what = "a name longer than 255 octets";
    ptr_reply_start(&p, 9, 1);
    pk_u16(&p, 0xc00c);
    at = pk_rr(&p, 12, 1, 60);
    for (int i = 0; i < 5; i++) {
        pk_u8(&p, 60);
        for (int j = 0; j < 60; j++)
            pk_u8(&p, 'x');
    }
    pk_u8(&p, 0);
    pk_rdlen(&p, at);
    EXPECT_REFUSED();
#undef EXPECT_REFUSED
    cg__dnssd_msg_clear(&m);
}

/* Malformed SRV and TXT rdata (wrong lengths inside the record). */
static void test_malformed_rdata(void **state)
{
    (void)state;
    struct cg__msg m = query("a._mos._tcp.example.test.", LDNS_RR_TYPE_SRV, 11);
    ldns_rdf *q = dname("a._mos._tcp.example.test.");
    struct pk p;
    struct cg__recs r;
    static const struct {
        ldns_rr_type type;
        const char *rdata;
        size_t len;
        const char *what;
    } cases[] = {
        {LDNS_RR_TYPE_SRV, "\0\1\0\2", 4, "SRV without port and target"},
        {LDNS_RR_TYPE_SRV, "\0\1\0\2\1\xbb", 6, "SRV without target"},
        {LDNS_RR_TYPE_TXT, "\x09short", 6, "TXT string longer than the rdata"},
        {LDNS_RR_TYPE_A, "\xc0\0\2", 3, "A of 3 octets"},
        {LDNS_RR_TYPE_AAAA, "\x20\x01\x0d\xb8", 4, "AAAA of 4 octets"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        pk_header(&p, 11, FLAGS_RESPONSE, 1, 1, 0, 0);
        pk_name(&p, "a._mos._tcp.example.test");
        pk_u16(&p, 33);
        pk_u16(&p, 1);
        pk_u16(&p, 0xc00c);
        size_t at = pk_rr(&p, cases[i].type, 1, 60);
        pk_raw(&p, cases[i].rdata, cases[i].len);
        pk_rdlen(&p, at);
        enum cg_err rc = cg__dnssd_read_answer(p.b, p.n, &m, q, cases[i].type, &r);
        if (rc != CG_EPROTO)
            fail_msg("%s: %s", cases[i].what, cg_errname(rc));
        assert_int_equal(r.n, 0);
    }
    ldns_rdf_deep_free(q);
    cg__dnssd_msg_clear(&m);
}

/* An SOA record after its owner name: primary mname, hostmaster, 3600 s for
 * each of the five numbers. */
static void pk_soa(struct pk *p, const char *mname)
{
    size_t at = pk_rr(p, 6, 1, 3600);
    pk_name(p, mname);
    pk_name(p, "hostmaster.example.test");
    for (int i = 0; i < 5; i++)
        pk_u32(p, 3600);
    pk_rdlen(p, at);
}

/* Reads the SOA of reply p: the zone and primary it names, or (want_mname
 * NULL) none: CG_ENOTFOUND with both outputs NULL. */
static void expect_soa(const struct pk *p, const struct cg__msg *m, const char *want_zone,
                       const char *want_mname)
{
    ldns_rdf *zone = NULL, *mname = NULL;
    enum cg_err rc = cg__dnssd_read_soa(p->b, p->n, m, &zone, &mname);
    assert_int_equal(rc, want_mname != NULL ? CG_OK : CG_ENOTFOUND);
    if (want_mname != NULL) {
        assert_name(zone, want_zone);
        assert_name(mname, want_mname);
    } else {
        assert_true(zone == NULL && mname == NULL);
    }
    ldns_rdf_deep_free(zone);
    ldns_rdf_deep_free(mname);
}

/* SOA in the answer (zone apex) wins over the authority section. */
static void test_soa_sections(void **state)
{
    (void)state;
    struct cg__msg m = query("example.test.", LDNS_RR_TYPE_SOA, 21);
    struct pk p;
    pk_header(&p, 21, FLAGS_RESPONSE, 1, 1, 1, 0);
    pk_name(&p, "example.test");
    pk_u16(&p, 6);
    pk_u16(&p, 1);
    for (int sec = 0; sec < 2; sec++) {
        pk_u16(&p, 0xc00c);
        pk_soa(&p, sec == 0 ? "ns1.example.test" : "other.example.test");
    }
    expect_soa(&p, &m, "example.test.", "ns1.example.test.");
    ldns_rdf *zone = NULL, *mname = NULL;
    /* Another id: refused, outputs left NULL. */
    p.b[1] ^= 1;
    assert_int_equal(cg__dnssd_read_soa(p.b, p.n, &m, &zone, &mname), CG_EPROTO);
    assert_null(zone);
    assert_null(mname);
    cg__dnssd_msg_clear(&m);
}

/* A reply whose answer holds a CNAME and no SOA, and whose authority holds an
 * A record before the SOA: the zone and its primary come from the authority's
 * SOA (a name inside the zone, RFC 2136 §4); a reply with no SOA at all is
 * CG_ENOTFOUND. */
static void test_soa_after_other_records(void **state)
{
    (void)state;
    struct cg__msg m = query("gw.example.test.", LDNS_RR_TYPE_SOA, 22);
    for (int with_soa = 1; with_soa >= 0; with_soa--) {
        struct pk p;
        pk_header(&p, 22, FLAGS_RESPONSE, 1, 1, with_soa ? 2 : 1, 0);
        pk_name(&p, "gw.example.test");
        pk_u16(&p, 6);
        pk_u16(&p, 1);
        pk_u16(&p, 0xc00c); /* answer: gw CNAME host.example.test. */
        size_t at = pk_rr(&p, 5, 1, 60);
        pk_name(&p, "host.example.test");
        pk_rdlen(&p, at);
        pk_name(&p, "example.test"); /* authority: an A record first */
        at = pk_rr(&p, 1, 1, 60);
        pk_raw(&p, "\xc0\x00\x02\x07", 4);
        pk_rdlen(&p, at);
        if (with_soa) {
            pk_name(&p, "example.test");
            pk_soa(&p, "ns2.example.test");
        }
        expect_soa(&p, &m, "example.test.", with_soa ? "ns2.example.test." : NULL);
    }
    cg__dnssd_msg_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_bytes),
        cmocka_unit_test(test_update_counts),
        cmocka_unit_test(test_service_records),
        cmocka_unit_test(test_update_deletes),
        cmocka_unit_test(test_service_name_limits),
        cmocka_unit_test(test_compressed_ptr_answers),
        cmocka_unit_test(test_srv_txt_address_answers),
        cmocka_unit_test(test_reply_header_checks),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_malformed_rdata),
        cmocka_unit_test(test_soa_sections),
        cmocka_unit_test(test_soa_after_other_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
