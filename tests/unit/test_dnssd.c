/* Unit tests for src/dnssd: names and TXT, UPDATE and query building, reply
 * reading, rcode mapping, key files, host against certificate, zone text,
 * the registration state machine against a scripted in-process server, and
 * failure injection. */
// CG_WRAP: ldns_pkt2wire PEM_read_bio_X509 fopen
#include "testutil.h"
#include "dnssd/dnssd.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* ---- failure injection ---- */
static int fail_pkt2wire, fail_pem;
ldns_status __real_ldns_pkt2wire(uint8_t **dest, const ldns_pkt *p, size_t *size);
ldns_status __wrap_ldns_pkt2wire(uint8_t **dest, const ldns_pkt *p, size_t *size);
ldns_status __wrap_ldns_pkt2wire(uint8_t **dest, const ldns_pkt *p, size_t *size)
{
    if (fail_pkt2wire) {
        *dest = NULL;
        return LDNS_STATUS_MEM_ERR;
    }
    return __real_ldns_pkt2wire(dest, p, size);
}
X509 *__real_PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u);
X509 *__wrap_PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u);
X509 *__wrap_PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u)
{
    return fail_pem ? NULL : __real_PEM_read_bio_X509(bp, x, cb, u);
}

/* Hides /etc/resolv.conf when armed: "no DNS server configured anywhere". */
static int hide_resolv_conf;
FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode)
{
    if (hide_resolv_conf && strcmp(path, "/etc/resolv.conf") == 0)
        return NULL;
    return __real_fopen(path, mode);
}

static const char *const good_txt[] = {"api_proto=wss", "path=/mos/Communication",
                                       "mosID=gw1.example.test", "channels=mom,ro,aux",
                                       "passive=no"};

static struct cg_dnssd_opts base_opts(void)
{
    struct cg_dnssd_opts o = {.domain = "example.test",
                              .instance = "Studio A",
                              .type = "_mos._tcp",
                              .host = "gw1.example.test",
                              .port = 443,
                              .priority = 1,
                              .weight = 2,
                              .txt = good_txt,
                              .ntxt = CG_ARRAY_LEN(good_txt),
                              .ttl = 60};
    return o;
}

static const char *const key_text = "key \"castgate-key\" {\n\talgorithm hmac-sha256;\n"
                                    "\tsecret \"UkGf/jd8gzKrtVIpT0uU636BQvOJ/HedlGiG0fwA0cw=\";\n};\n";

/* ---- names, TXT, servers ---- */

static void test_names(void **state)
{
    (void)state;
    char l63[64], l64[65], long_name[300];
    memset(l63, 'a', 63);
    l63[63] = 0;
    memset(l64, 'a', 64);
    l64[64] = 0;
    assert_int_equal(cg__dnssd_check_name("gw1.example.test"), CG_OK);
    assert_int_equal(cg__dnssd_check_name("gw1.example.test."), CG_OK);
    assert_int_equal(cg__dnssd_check_name("_mos._tcp"), CG_OK);
    assert_int_equal(cg__dnssd_check_name(l63), CG_OK);
    assert_int_equal(cg__dnssd_check_name(l64), CG_EINVAL); /* label > 63 */
    assert_int_equal(cg__dnssd_check_name("a..b"), CG_EINVAL);
    assert_int_equal(cg__dnssd_check_name("."), CG_EINVAL);
    assert_int_equal(cg__dnssd_check_name("a b.test"), CG_EINVAL);
    assert_int_equal(cg__dnssd_check_name(NULL), CG_EINVAL);
    long_name[0] = 0;
    for (int i = 0; i < 5; i++)
        strcat(strcat(long_name, l63 + 10), "."); /* 5 * 54 = 270 > 253 */
    assert_int_equal(cg__dnssd_check_name(long_name), CG_EINVAL);
    assert_int_equal(cg__dnssd_check_instance("Studio A (main)"), CG_OK);
    assert_int_equal(cg__dnssd_check_instance(l63), CG_OK);
    assert_int_equal(cg__dnssd_check_instance(l64), CG_EINVAL);
    assert_int_equal(cg__dnssd_check_instance(""), CG_EINVAL);
    assert_int_equal(cg__dnssd_check_instance("bad\nname"), CG_EINVAL);
}

static void test_txt_encoding(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, CG_DNSSD_TXT_MAX);
    const char *const two[] = {"a=1", "flag"};
    assert_int_equal(cg__dnssd_txt_encode(two, 2, &b), CG_OK);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "\x03" "a=1" "\x04" "flag", 9);
    assert_int_equal(cg__dnssd_txt_encode(NULL, 0, &b), CG_OK); /* RFC 6763 §6.1 */
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], 0);
    char s255[256], s256[257];
    memset(s255, 'v', 255);
    memcpy(s255, "k=", 2);
    s255[255] = 0;
    memset(s256, 'v', 256);
    memcpy(s256, "k=", 2);
    s256[256] = 0;
    const char *const ok1[] = {s255};
    const char *const big[] = {s256};
    assert_int_equal(cg__dnssd_txt_encode(ok1, 1, &b), CG_OK);
    assert_int_equal(b.len, 256);
    assert_int_equal(cg__dnssd_txt_encode(big, 1, &b), CG_ERANGE); /* > 255 refused */
    const char *const nokey[] = {"=value"};
    assert_int_equal(cg__dnssd_txt_encode(nokey, 1, &b), CG_EINVAL);
    const char *const ctl[] = {"k\x01y=v"};
    assert_int_equal(cg__dnssd_txt_encode(ctl, 1, &b), CG_EINVAL);
    const char *const many[] = {s255, s255, s255, s255, s255, s255};
    assert_int_equal(cg__dnssd_txt_encode(many, 6, &b), CG_ERANGE); /* > 1300 in all */
    cg__buf_free(&b);
}

static void test_txt_lint(void **state)
{
    (void)state;
    assert_null(cg__dnssd_txt_lint("_mos._tcp", good_txt, CG_ARRAY_LEN(good_txt)));
    assert_non_null(strstr(cg__dnssd_txt_lint("_mos._tcp", good_txt, 1), "path="));
    const char *const noid[] = {"api_proto=wss", "path=/mos/Communication", "channels=ro",
                                "passive=yes"};
    assert_non_null(strstr(cg__dnssd_txt_lint("_mos._tcp", noid, 4), "mosID"));
    const char *const nmos[] = {"api_proto=https", "api_ver=v1.3", "pri=100", "api_auth=false"};
    assert_null(cg__dnssd_txt_lint("_nmos-register._tcp", nmos, 4));
    assert_non_null(cg__dnssd_txt_lint("_nmos-query._tcp", nmos, 1));
    assert_null(cg__dnssd_txt_lint("_http._tcp", NULL, 0)); /* no convention: no opinion */
}

static void test_parse_server(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    assert_int_equal(cg__dnssd_parse_server("127.0.0.1", &ss), CG_OK);
    assert_int_equal(v4->sin_family, AF_INET);
    assert_int_equal(ntohs(v4->sin_port), 53);
    assert_int_equal(cg__dnssd_parse_server("127.0.0.1:5353", &ss), CG_OK);
    assert_int_equal(ntohs(v4->sin_port), 5353);
    assert_int_equal(cg__dnssd_parse_server("::1", &ss), CG_OK);
    assert_int_equal(v6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(v6->sin6_port), 53);
    assert_int_equal(cg__dnssd_parse_server("[::1]:1053", &ss), CG_OK);
    assert_int_equal(ntohs(v6->sin6_port), 1053);
    assert_int_equal(cg__dnssd_parse_server("host.example:53", &ss), CG_EINVAL);
    assert_int_equal(cg__dnssd_parse_server("127.0.0.1:0", &ss), CG_EINVAL);
    assert_int_equal(cg__dnssd_parse_server("127.0.0.1:70000", &ss), CG_EINVAL);
    assert_int_equal(cg__dnssd_parse_server("[::1", &ss), CG_EINVAL);
}

/* ---- messages ---- */

static ldns_rr *find_rr(ldns_rr_list *l, ldns_rr_type t, ldns_rr_class c)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(rr) == t && ldns_rr_get_class(rr) == c)
            return rr;
    }
    return NULL;
}

static void test_update_add_new(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = base_opts();
    struct cg__svc s;
    struct cg__msg m;
    ldns_pkt *p = NULL;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_ADD_NEW, 0x1234, NULL, &m), CG_OK);
    assert_int_equal(m.id, 0x1234);
    assert_null(m.mac);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
    assert_int_equal(ldns_pkt_id(p), 0x1234);
    /* zone section: example.test. SOA */
    ldns_rr *zo = ldns_rr_list_rr(ldns_pkt_question(p), 0);
    char *zone = ldns_rdf2str(ldns_rr_owner(zo));
    assert_string_equal(zone, "example.test.");
    free(zone);
    /* prerequisite: name not in use (NONE ANY) */
    assert_int_equal(ldns_update_prcount(p), 1);
    assert_non_null(find_rr(ldns_pkt_answer(p), LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE));
    ldns_rr_list *up = ldns_pkt_authority(p);
    ldns_rr *srv = find_rr(up, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN);
    assert_non_null(srv);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 0)), 1);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 1)), 2);
    assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 2)), 443);
    char *t = ldns_rdf2str(ldns_rr_rdf(srv, 3));
    assert_string_equal(t, "gw1.example.test.");
    free(t);
    t = ldns_rdf2str(ldns_rr_owner(srv));
    assert_string_equal(t, "Studio\\032A._mos._tcp.example.test.");
    free(t);
    assert_int_equal(ldns_rr_ttl(srv), 60);
    ldns_rr *txt = find_rr(up, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN);
    assert_non_null(txt);
    assert_int_equal(ldns_rr_rd_count(txt), 5);
    t = ldns_rdf2str(ldns_rr_rdf(txt, 0));
    assert_string_equal(t, "\"api_proto=wss\"");
    free(t);
    /* type PTR and enumeration PTR */
    int ptrs = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(up); i++)
        ptrs += ldns_rr_get_type(ldns_rr_list_rr(up, i)) == LDNS_RR_TYPE_PTR;
    assert_int_equal(ptrs, 2);
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);

    /* REPLACE: value-dependent SRV prerequisite; WITHDRAW: deletes */
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_REPLACE, 7, NULL, &m), CG_OK);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    assert_non_null(find_rr(ldns_pkt_answer(p), LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN));
    assert_non_null(find_rr(ldns_pkt_authority(p), LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_ANY));
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_WITHDRAW, 8, NULL, &m), CG_OK);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    assert_non_null(find_rr(ldns_pkt_authority(p), LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_NONE));
    assert_non_null(find_rr(ldns_pkt_authority(p), LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY));
    assert_null(find_rr(ldns_pkt_authority(p), LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN));
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    cg__dnssd_svc_clear(&s);
}

static void test_svc_limits(void **state)
{
    (void)state;
    struct cg__svc s;
    struct cg_dnssd_opts o = base_opts();
    char l64[65];
    memset(l64, 'x', 64);
    l64[64] = 0;
    o.instance = l64;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL);
    o = base_opts();
    o.type = "mos._tcp";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL);
    o = base_opts();
    o.type = "_mos._sctp";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL);
    o = base_opts();
    o.port = 0;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_EINVAL);
    o = base_opts();
    char s256[257];
    memset(s256, 'a', 256);
    s256[256] = 0;
    const char *const big[] = {s256};
    o.txt = big;
    o.ntxt = 1;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_ERANGE);
}

static void test_key_parse(void **state)
{
    (void)state;
    struct cg__tsig_key k;
    const char *why = NULL;
    assert_int_equal(cg__dnssd_key_parse(key_text, strlen(key_text), &k, &why), CG_OK);
    assert_string_equal(k.name, "castgate-key.");
    assert_string_equal(k.secret, "UkGf/jd8gzKrtVIpT0uU636BQvOJ/HedlGiG0fwA0cw=");
    cg__dnssd_key_clear(&k);
    const char *commented = "# made by tsig-keygen\n/* block */ key k1. { // trailing\n"
                            " secret \"YWJjZA==\"; algorithm HMAC-SHA256; };";
    assert_int_equal(cg__dnssd_key_parse(commented, strlen(commented), &k, &why), CG_OK);
    assert_string_equal(k.name, "k1.");
    cg__dnssd_key_clear(&k);
    static const struct {
        const char *text;
        enum cg_err err;
    } bad[] = {
        {"", CG_EFILE},
        {"key \"k\" { algorithm hmac-sha256; };", CG_EFILE},              /* no secret */
        {"key \"k\" { secret \"YWJjZA==\"; };", CG_EFILE},                 /* no algorithm */
        {"key \"k\" { algorithm hmac-md5; secret \"YWJjZA==\"; };", CG_ECONFIG},
        {"key \"k\" { algorithm hmac-sha256; secret \"not base64!\"; };", CG_EFILE},
        {"key \"k\" { algorithm hmac-sha256 secret \"YWJjZA==\"; };", CG_EFILE},
        {"key \"k\" { algorithm hmac-sha256; secret \"YWJjZA==\"; }", CG_EFILE},
        {"key \"k\" { algorithm hmac-sha256; secret \"YWJj", CG_EFILE},
        {"zone \"k\" { };", CG_EFILE},
        {"key \"bad name\" { algorithm hmac-sha256; secret \"YWJjZA==\"; };", CG_EFILE},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        why = NULL;
        assert_int_equal(cg__dnssd_key_parse(bad[i].text, strlen(bad[i].text), &k, &why),
                         bad[i].err);
        assert_non_null(why);
        assert_null(k.name);
        assert_null(k.secret);
    }
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_key_load_permissions(void **state)
{
    (void)state;
    struct tu_log log = {0};
    struct cg_ctx *ctx = NULL;
    struct cg__tsig_key k;
    char path[] = "/tmp/cg-dnssd-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    write_file(path, key_text, 0600);
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_OK);
    cg__dnssd_key_clear(&k);
    write_file(path, key_text, 0644); /* world-readable */
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_EPERM);
    assert_true(tu_log_has(&log, "chmod 600"));
    write_file(path, "key x {", 0600);
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_EFILE);
    assert_true(tu_log_has(&log, "TSIG key file"));
    unlink(path);
    assert_int_equal(cg__dnssd_key_load(ctx, path, &k), CG_EFILE);
    cg_ctx_free(ctx);
}

/* A reply to req with rcode, optionally signed with secret (against the
 * request MAC) and with a TSIG error field. */
static void make_reply(const struct cg__msg *req, int rcode, const char *secret, int tsig_error,
                       uint8_t **wire, size_t *len)
{
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, req->wire, req->len), LDNS_STATUS_OK);
    ldns_rr_free(ldns_pkt_tsig(p)); /* the request's own signature */
    ldns_pkt_set_tsig(p, NULL);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    if (secret != NULL) {
        assert_int_equal(ldns_pkt_tsig_sign(p, "castgate-key.", secret, 300, "hmac-sha256.",
                                            req->mac),
                         LDNS_STATUS_OK);
        if (tsig_error != 0) {
            ldns_rr *t = ldns_pkt_tsig(p);
            ldns_rdf *old = ldns_rr_set_rdf(t, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
                                                                     (uint16_t)tsig_error), 5);
            ldns_rdf_deep_free(old);
        }
    }
    assert_int_equal(ldns_pkt2wire(wire, p, len), LDNS_STATUS_OK);
    ldns_pkt_free(p);
}

static void test_reply_reading(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = base_opts();
    struct cg__svc s;
    struct cg__tsig_key k, other;
    struct cg__msg m;
    uint8_t *w = NULL;
    size_t wl = 0;
    int rcode, terr;
    const char *other_text = "key \"castgate-key\" { algorithm hmac-sha256; "
                             "secret \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"; };";
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    assert_int_equal(cg__dnssd_key_parse(key_text, strlen(key_text), &k, NULL), CG_OK);
    assert_int_equal(cg__dnssd_key_parse(other_text, strlen(other_text), &other, NULL), CG_OK);
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_ADD_NEW, 99, &k, &m), CG_OK);
    assert_non_null(m.mac);

    /* properly signed NOERROR */
    make_reply(&m, LDNS_RCODE_NOERROR, k.secret, 0, &w, &wl);
    assert_int_equal(cg__dnssd_read_reply(w, wl, &m, &k, &rcode, &terr), CG_OK);
    assert_int_equal(rcode, 0);
    assert_int_equal(terr, 0);
    /* the same bytes, but we expect another id */
    m.id = 100;
    assert_int_equal(cg__dnssd_read_reply(w, wl, &m, &k, &rcode, &terr), CG_EPROTO);
    m.id = 99;
    /* truncated */
    assert_int_equal(cg__dnssd_read_reply(w, wl - 5, &m, &k, &rcode, &terr), CG_EPROTO);
    assert_int_equal(cg__dnssd_read_reply(w, 4, &m, &k, &rcode, &terr), CG_EPROTO);
    free(w);
    /* signed with another secret: not believed */
    make_reply(&m, LDNS_RCODE_NOERROR, other.secret, 0, &w, &wl);
    assert_int_equal(cg__dnssd_read_reply(w, wl, &m, &k, &rcode, &terr), CG_EAUTH);
    free(w);
    /* unsigned reply to a signed request: not believed */
    make_reply(&m, LDNS_RCODE_NOERROR, NULL, 0, &w, &wl);
    assert_int_equal(cg__dnssd_read_reply(w, wl, &m, &k, &rcode, &terr), CG_EAUTH);
    /* ... but fine when we did not sign */
    assert_int_equal(cg__dnssd_read_reply(w, wl, &m, NULL, &rcode, &terr), CG_OK);
    free(w);
    /* a signature with an algorithm ldns cannot compute: refused, nothing leaked
     * (ldns 1.8.3 detaches the TSIG RR on that path; read_reply reattaches it) */
    {
        ldns_pkt *p = NULL;
        make_reply(&m, LDNS_RCODE_NOERROR, k.secret, 0, &w, &wl);
        assert_int_equal(ldns_wire2pkt(&p, w, wl), LDNS_STATUS_OK);
        free(w);
        ldns_rdf *old = ldns_rr_set_rdf(ldns_pkt_tsig(p), ldns_dname_new_frm_str("hmac-foo."), 0);
        ldns_rdf_deep_free(old);
        assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
        ldns_pkt_free(p);
        assert_int_equal(cg__dnssd_read_reply(w, wl, &m, &k, &rcode, &terr), CG_EAUTH);
        free(w);
    }
    /* NOTAUTH with TSIG error BADSIG */
    make_reply(&m, LDNS_RCODE_NOTAUTH, other.secret, 16, &w, &wl);
    assert_int_equal(cg__dnssd_read_reply(w, wl, &m, &k, &rcode, &terr), CG_OK);
    assert_int_equal(rcode, LDNS_RCODE_NOTAUTH);
    assert_int_equal(terr, 16);
    free(w);
    cg__dnssd_msg_clear(&m);
    cg__dnssd_key_clear(&k);
    cg__dnssd_key_clear(&other);
    cg__dnssd_svc_clear(&s);
}

static void test_rcode_mapping(void **state)
{
    (void)state;
    const char *t = NULL;
    assert_int_equal(cg__dnssd_rcode_err(0, 0, &t), CG_OK);
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_REFUSED, 0, &t), CG_EDNS);
    assert_non_null(strstr(t, "REFUSED"));
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_NOTAUTH, 0, &t), CG_EDNS);
    assert_non_null(strstr(t, "NOTAUTH"));
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_NOTAUTH, 16, &t), CG_EAUTH);
    assert_non_null(strstr(t, "BADSIG"));
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_NOTAUTH, 17, &t), CG_EAUTH);
    assert_non_null(strstr(t, "BADKEY"));
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_NOTAUTH, 18, &t), CG_EAUTH);
    assert_non_null(strstr(t, "BADTIME"));
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_YXDOMAIN, 0, &t), CG_EEXIST);
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_NXRRSET, 0, &t), CG_EEXIST);
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_SERVFAIL, 0, &t), CG_EDNS);
    assert_int_equal(cg__dnssd_rcode_err(LDNS_RCODE_NOTZONE, 0, &t), CG_EDNS);
    assert_int_equal(cg__dnssd_rcode_err(15, 0, &t), CG_EDNS);
    assert_int_equal(cg__dnssd_rcode_err(0, 99, &t), CG_EAUTH);
}

static void test_answer_reading(void **state)
{
    (void)state;
    ldns_rdf *q = ldns_dname_new_frm_str("_mos._tcp.example.test.");
    struct cg__msg m;
    struct cg__recs r;
    ldns_pkt *p = NULL;
    uint8_t *w = NULL;
    size_t wl = 0;
    assert_int_equal(cg__dnssd_build_query(q, LDNS_RR_TYPE_PTR, 5, &m), CG_OK);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    ldns_pkt_set_qr(p, true);
    const char *rrs[] = {"_mos._tcp.example.test. 60 IN PTR Studio\\032A._mos._tcp.example.test.",
                         "_mos._tcp.example.test. 60 IN PTR b._mos._tcp.example.test.",
                         "other.example.test. 60 IN PTR c._mos._tcp.example.test.",
                         "_mos._tcp.example.test. 60 IN TXT \"x\""};
    for (size_t i = 0; i < CG_ARRAY_LEN(rrs); i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
    assert_int_equal(cg__dnssd_read_answer(w, wl, &m, q, LDNS_RR_TYPE_PTR, &r), CG_OK);
    assert_int_equal(r.n, 2); /* other owner and other type ignored */
    assert_string_equal(r.v[0].text, "Studio A");
    assert_string_equal(r.v[1].text, "b");
    cg__dnssd_recs_clear(&r);
    free(w);
    ldns_pkt_set_tc(p, true);
    assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
    assert_int_equal(cg__dnssd_read_answer(w, wl, &m, q, LDNS_RR_TYPE_PTR, &r), CG_ETOOBIG);
    free(w);
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    ldns_rdf_deep_free(q);
}

static void test_soa_reading(void **state)
{
    (void)state;
    ldns_rdf *q = ldns_dname_new_frm_str("studio.example.test.");
    struct cg__msg m;
    ldns_pkt *p = NULL;
    ldns_rdf *zone = NULL, *mname = NULL;
    uint8_t *w = NULL;
    size_t wl = 0;
    ldns_rr *rr = NULL;
    assert_int_equal(cg__dnssd_build_query(q, LDNS_RR_TYPE_SOA, 9, &m), CG_OK);
    assert_int_equal(ldns_wire2pkt(&p, m.wire, m.len), LDNS_STATUS_OK);
    ldns_pkt_set_qr(p, true);
    /* no SOA at all */
    assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
    assert_int_equal(cg__dnssd_read_soa(w, wl, &m, &zone, &mname), CG_ENOTFOUND);
    free(w);
    /* the name is inside the zone: SOA in the authority section */
    ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
    assert_int_equal(ldns_rr_new_frm_str(&rr, "example.test. 60 IN SOA ns.example.test. "
                                              "admin.example.test. 1 3600 600 86400 60",
                                         0, NULL, NULL),
                     LDNS_STATUS_OK);
    ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
    assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
    assert_int_equal(cg__dnssd_read_soa(w, wl, &m, &zone, &mname), CG_OK);
    char *z = ldns_rdf2str(zone), *n = ldns_rdf2str(mname);
    assert_string_equal(z, "example.test.");
    assert_string_equal(n, "ns.example.test.");
    free(z);
    free(n);
    ldns_rdf_deep_free(zone);
    ldns_rdf_deep_free(mname);
    assert_int_equal(cg__dnssd_read_soa(w, wl - 3, &m, &zone, &mname), CG_EPROTO);
    free(w);
    ldns_pkt_free(p);
    cg__dnssd_msg_clear(&m);
    ldns_rdf_deep_free(q);
}

/* ---- host against certificate ---- */

static void make_cert(const char *path, const char *cn, const char *san)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    if (san != NULL) {
        X509V3_CTX v3;
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void test_host_in_cert(void **state)
{
    (void)state;
    char path[] = "/tmp/cg-dnssd-cert-XXXXXX";
    int fd = mkstemp(path);
    struct tu_log log = {0};
    struct cg_ctx *ctx = NULL;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    make_cert(path, "gw1.example.test", "DNS:gw1.example.test,DNS:mos.example.test");
    assert_int_equal(cg_dnssd_check_host(ctx, "gw1.example.test", path), CG_OK);
    assert_int_equal(cg_dnssd_check_host(ctx, "mos.example.test.", path), CG_OK); /* B-32 */
    assert_int_equal(cg_dnssd_check_host(ctx, "MOS.example.test", path), CG_OK);
    assert_int_equal(cg_dnssd_check_host(ctx, "gw2.example.test", path), CG_ECERT);
    assert_true(tu_log_has(&log, "B-42"));
    /* CN only when there is no SAN */
    make_cert(path, "cn-only.example.test", NULL);
    assert_int_equal(cg_dnssd_check_host(ctx, "cn-only.example.test", path), CG_OK);
    /* SAN present: the CN is not used */
    make_cert(path, "cn.example.test", "DNS:san.example.test");
    assert_int_equal(cg_dnssd_check_host(ctx, "cn.example.test", path), CG_ECERT);
    /* no partial wildcards */
    make_cert(path, "x", "DNS:gw*.example.test");
    assert_int_equal(cg_dnssd_check_host(ctx, "gw1.example.test", path), CG_ECERT);
    write_file(path, "not a certificate\n", 0600);
    assert_int_equal(cg_dnssd_check_host(ctx, "gw1.example.test", path), CG_EFILE);
    unlink(path);
    assert_int_equal(cg_dnssd_check_host(ctx, "gw1.example.test", path), CG_EFILE);
    assert_int_equal(cg_dnssd_check_host(ctx, NULL, path), CG_EINVAL);
    cg_ctx_free(ctx);
}

static void test_zone_text(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = base_opts();
    const char *const subs[] = {"_device"};
    char *z = NULL;
    o.subtypes = subs;
    o.nsubtypes = 1;
    assert_int_equal(cg_dnssd_zone_text(&o, &z), CG_OK);
    assert_non_null(strstr(z, "_services._dns-sd._udp.example.test.\t60\tIN\tPTR\t_mos._tcp.example.test."));
    assert_non_null(strstr(z, "_device._sub._mos._tcp.example.test.\t60\tIN\tPTR"));
    assert_non_null(strstr(z, "SRV\t1 2 443 gw1.example.test."));
    assert_non_null(strstr(z, "TXT\t\"api_proto=wss\" \"path=/mos/Communication\""));
    cg_dnssd_text_free(z);
    o.port = 0;
    assert_int_equal(cg_dnssd_zone_text(&o, &z), CG_EINVAL);
    assert_null(z);
}

/* ---- the B-41 decision and cg_dnssd_new validation ---- */

static void test_multicast_decision(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = base_opts();
    const char *const ifs[] = {"lo"};
    assert_false(cg_dnssd_uses_multicast(&o)); /* nothing configured */
    o.mdns_interfaces = ifs;
    o.nmdns_interfaces = 1;
    assert_true(cg_dnssd_uses_multicast(&o)); /* no DNS server, interface named */
    o.server = "127.0.0.1";
    assert_false(cg_dnssd_uses_multicast(&o)); /* a DNS server wins (B-41) */
    assert_false(cg_dnssd_uses_multicast(NULL));

    struct cg_ctx *ctx = NULL;
    struct cg_dnssd *d = NULL;
    struct tu_log log = {0};
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    o = base_opts();
    hide_resolv_conf = 1;
    assert_int_equal(cg_dnssd_new(ctx, &o, NULL, NULL, &d), CG_ECONFIG);
    hide_resolv_conf = 0;
    assert_true(tu_log_has(&log, "no DNS server configured"));
    /* a resolver counts as a configured DNS server: no multicast */
    o.resolver = "127.0.0.1:9";
    o.mdns_interfaces = ifs;
    o.nmdns_interfaces = 1;
    assert_false(cg_dnssd_uses_multicast(&o));
    o = base_opts();
    o.server = "not-an-ip";
    assert_int_equal(cg_dnssd_new(ctx, &o, NULL, NULL, &d), CG_EINVAL);
    o.server = "127.0.0.1:9";
    o.instance = "";
    assert_int_equal(cg_dnssd_new(ctx, &o, NULL, NULL, &d), CG_EINVAL);
    assert_null(d);
    o = base_opts();
    o.server = "127.0.0.1:9";
    o.mdns_interfaces = ifs;
    o.nmdns_interfaces = 1;
    assert_int_equal(cg_dnssd_new(ctx, &o, NULL, NULL, &d), CG_OK);
    assert_true(tu_log_has(&log, "multicast DNS is not used"));
    cg_dnssd_free(d);
    cg_ctx_free(ctx);
}

/* ---- the state machine against a scripted server ---- */

struct fake {
    uv_udp_t udp;
    int rcodes[4];
    int nrc, seen;
    int kinds[4]; /* prerequisite type seen: ANY (add new) or SRV (replace/withdraw) */
    int withdraws[4]; /* the update deletes every RRset at the instance name */
};

struct watch {
    struct cg_ctx *ctx;
    enum cg_dnssd_state last;
    enum cg_err last_err;
    int changes;
    int done;
    enum cg_err done_err;
};

static void fake_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[65536];
    (void)h;
    (void)hint;
    *b = uv_buf_init(buf, sizeof(buf));
}

static void fake_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
    free(req);
}

static void fake_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                      unsigned flags)
{
    struct fake *f = u->data;
    ldns_pkt *p = NULL;
    (void)flags;
    if (n <= 0 || from == NULL || f->seen >= f->nrc)
        return;
    assert_int_equal(ldns_wire2pkt(&p, (const uint8_t *)b->base, (size_t)n), LDNS_STATUS_OK);
    ldns_rr *pre = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    f->kinds[f->seen] = pre != NULL ? (int)ldns_rr_get_type(pre) : 0;
    f->withdraws[f->seen] =
        find_rr(ldns_pkt_authority(p), LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY) != NULL;
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)f->rcodes[f->seen++]);
    uint8_t *w = NULL;
    size_t wl = 0;
    assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
    ldns_pkt_free(p);
    uv_udp_send_t *req = malloc(sizeof(*req));
    req->data = w;
    uv_buf_t out = uv_buf_init((char *)w, (unsigned)wl);
    assert_int_equal(uv_udp_send(req, u, &out, 1, from, fake_sent), 0);
}

static int fake_start(struct cg_ctx *ctx, struct fake *f)
{
    struct sockaddr_in a;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_init(cg_ctx_loop(ctx), &f->udp), 0);
    f->udp.data = f;
    assert_int_equal(uv_udp_bind(&f->udp, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&bound, &len), 0);
    assert_int_equal(uv_udp_recv_start(&f->udp, fake_alloc, fake_recv), 0);
    return ntohs(((struct sockaddr_in *)&bound)->sin_port);
}

static void on_state(void *user, enum cg_dnssd_state st, enum cg_err err)
{
    struct watch *w = user;
    w->last = st;
    w->last_err = err;
    w->changes++;
    if (st == CG_DNSSD_REGISTERED || st == CG_DNSSD_RETRYING)
        cg_ctx_stop(w->ctx);
}

static void on_done(void *user, enum cg_err err)
{
    struct watch *w = user;
    w->done = 1;
    w->done_err = err;
    cg_ctx_stop(w->ctx);
}

static void run_script(const int *rcodes, int n, enum cg_dnssd_state want, enum cg_err want_err,
                       const int *want_kinds, const char *want_log)
{
    struct cg_ctx *ctx = NULL;
    struct fake f = {.nrc = n};
    struct watch w = {0};
    struct tu_log log = {0};
    struct cg_dnssd *d = NULL;
    char server[32];
    memcpy(f.rcodes, rcodes, sizeof(int) * (size_t)n);
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    w.ctx = ctx;
    snprintf(server, sizeof(server), "127.0.0.1:%d", fake_start(ctx, &f));
    struct cg_dnssd_opts o = base_opts();
    o.server = server;
    o.timeout_ms = 200;
    assert_int_equal(cg_dnssd_new(ctx, &o, on_state, &w, &d), CG_OK);
    assert_int_equal(w.changes, 0); /* nothing happens inside cg_dnssd_new */
    cg_ctx_run(ctx);
    assert_int_equal(w.last, want);
    assert_int_equal(w.last_err, want_err);
    for (int i = 0; i < n && want_kinds != NULL; i++)
        assert_int_equal(f.kinds[i], want_kinds[i]);
    if (want_log != NULL && !tu_log_has(&log, want_log))
        fail_msg("log lacks '%s':\n%s", want_log, log.text);
    if (want == CG_DNSSD_REGISTERED) {
        /* withdraw answered NOERROR by one more scripted reply */
        f.rcodes[f.seen] = 0;
        f.nrc = f.seen + 1;
        assert_int_equal(cg_dnssd_withdraw(d, on_done, &w), CG_OK);
        assert_int_equal(cg_dnssd_withdraw(d, on_done, &w), CG_ESTATE);
        cg_ctx_run(ctx);
        assert_true(w.done);
        assert_int_equal(w.done_err, CG_OK);
        assert_int_equal(f.kinds[f.seen - 1], LDNS_RR_TYPE_SRV);
    }
    cg_dnssd_free(d);
    uv_close((uv_handle_t *)&f.udp, NULL);
    cg_ctx_free(ctx);
}

static void test_state_machine(void **state)
{
    (void)state;
    /* fresh name */
    int ok[] = {0};
    int k_ok[] = {LDNS_RR_TYPE_ANY};
    run_script(ok, 1, CG_DNSSD_REGISTERED, CG_OK, k_ok, "registered 'Studio A'");
    /* name in use by our own previous run: YXDOMAIN then REPLACE succeeds */
    int stale[] = {LDNS_RCODE_YXDOMAIN, 0};
    int k_stale[] = {LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_SRV};
    run_script(stale, 2, CG_DNSSD_REGISTERED, CG_OK, k_stale, NULL);
    /* name held by someone else: YXDOMAIN, then NXRRSET: conflict, never overwritten */
    int conflict[] = {LDNS_RCODE_YXDOMAIN, LDNS_RCODE_NXRRSET};
    run_script(conflict, 2, CG_DNSSD_RETRYING, CG_EEXIST, k_stale, "held by another service");
    /* policy */
    int refused[] = {LDNS_RCODE_REFUSED};
    run_script(refused, 1, CG_DNSSD_RETRYING, CG_EDNS, NULL, "REFUSED");
    int notauth[] = {LDNS_RCODE_NOTAUTH};
    run_script(notauth, 1, CG_DNSSD_RETRYING, CG_EDNS, NULL, "NOTAUTH");
    /* silence: 3 tries of 200 ms, then a timeout */
    run_script(ok, 0, CG_DNSSD_RETRYING, CG_ETIMEDOUT, NULL, "timeout");
}

/* Failures back off 1 s, 2 s, then stay at the cap (max_backoff_s = 2). */
static void on_state_count(void *user, enum cg_dnssd_state st, enum cg_err err)
{
    struct watch *w = user;
    w->last = st;
    w->last_err = err;
    if (st == CG_DNSSD_RETRYING && ++w->changes == 3)
        cg_ctx_stop(w->ctx);
}

static void test_backoff_capped(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct fake f = {.nrc = 3, .rcodes = {LDNS_RCODE_REFUSED, LDNS_RCODE_REFUSED,
                                          LDNS_RCODE_REFUSED}};
    struct watch w = {0};
    struct tu_log log = {0};
    struct cg_dnssd *d = NULL;
    char server[32];
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_DEBUG);
    w.ctx = ctx;
    snprintf(server, sizeof(server), "127.0.0.1:%d", fake_start(ctx, &f));
    struct cg_dnssd_opts o = base_opts();
    o.server = server;
    o.max_backoff_s = 2;
    assert_int_equal(cg_dnssd_new(ctx, &o, on_state_count, &w, &d), CG_OK);
    uint64_t t0 = cg__now_ms();
    cg_ctx_run(ctx);
    uint64_t took = cg__now_ms() - t0;
    assert_int_equal(w.changes, 3);
    assert_int_equal(w.last_err, CG_EDNS);
    assert_true(tu_log_has(&log, "REFUSED: the server's policy does not allow this update"));
    assert_true(tu_log_has(&log, "retrying in 1s"));
    const char *second = strstr(log.text, "retrying in 2s");
    assert_non_null(second);
    assert_non_null(strstr(second + 1, "retrying in 2s")); /* capped, not 4s */
    assert_null(strstr(log.text, "retrying in 4s"));
    assert_true(took >= 2900 && took < 6000); /* 1 s + 2 s between the three attempts */
    cg_dnssd_free(d);
    uv_close((uv_handle_t *)&f.udp, NULL);
    cg_ctx_free(ctx);
}

/* Refresh on demand (reload) sends a REPLACE; free without withdraw sends a
 * best-effort withdraw; keep_on_free sends nothing. */
static void test_refresh_and_free(void **state)
{
    (void)state;
    for (int keep = 0; keep <= 1; keep++) {
        struct cg_ctx *ctx = NULL;
        struct fake f = {.nrc = 3};
        struct watch w = {0};
        struct cg_dnssd *d = NULL;
        char server[32];
        assert_int_equal(cg_ctx_new(&ctx), CG_OK);
        w.ctx = ctx;
        snprintf(server, sizeof(server), "127.0.0.1:%d", fake_start(ctx, &f));
        struct cg_dnssd_opts o = base_opts();
        o.server = server;
        o.timeout_ms = 200;
        o.keep_on_free = keep;
        assert_int_equal(cg_dnssd_new(ctx, &o, on_state, &w, &d), CG_OK);
        cg_ctx_run(ctx);
        assert_int_equal(w.last, CG_DNSSD_REGISTERED);
        assert_int_equal(f.seen, 1);
        assert_int_equal(cg_dnssd_refresh(d), CG_OK);
        while (f.seen < 2)
            uv_run(cg_ctx_loop(ctx), UV_RUN_ONCE);
        assert_int_equal(f.kinds[1], LDNS_RR_TYPE_SRV); /* REPLACE: our SRV must be there */
        assert_false(f.withdraws[1]);
        for (int i = 0; i < 10; i++) { /* let the REPLACE reply be read */
            uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
            usleep(2000);
        }
        cg_dnssd_free(d);
        for (int i = 0; i < 20 && f.seen < 3; i++) {
            uv_run(cg_ctx_loop(ctx), UV_RUN_NOWAIT);
            usleep(5000);
        }
        assert_int_equal(f.seen, keep ? 2 : 3);
        if (!keep)
            assert_true(f.withdraws[2]);
        uv_close((uv_handle_t *)&f.udp, NULL);
        cg_ctx_free(ctx);
    }
}

/* Withdraw before anything was registered (primary not found yet): done is
 * called from the loop, with CG_OK, never from inside cg_dnssd_withdraw(). */
static void test_withdraw_before_registered(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct watch w = {0};
    struct cg_dnssd *d = NULL;
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    w.ctx = ctx;
    struct cg_dnssd_opts o = base_opts();
    o.resolver = "127.0.0.1:9";
    assert_int_equal(cg_dnssd_new(ctx, &o, NULL, NULL, &d), CG_OK);
    assert_int_equal(cg_dnssd_withdraw(d, on_done, &w), CG_OK);
    assert_false(w.done);
    assert_int_equal(cg_dnssd_refresh(d), CG_ESTATE);
    cg_ctx_run(ctx);
    assert_true(w.done);
    assert_int_equal(w.done_err, CG_OK);
    cg_dnssd_free(d);
    cg_ctx_free(ctx);
}

static void test_build_failure_injection(void **state)
{
    (void)state;
    struct cg_dnssd_opts o = base_opts();
    struct cg__svc s;
    struct cg__msg m;
    char *z = NULL;
    assert_int_equal(cg__dnssd_svc_init(&s, &o), CG_OK);
    fail_pkt2wire = 1;
    assert_int_equal(cg__dnssd_build_update(&s, CG__UPD_ADD_NEW, 1, NULL, &m), CG_ENOMEM);
    assert_null(m.wire);
    fail_pkt2wire = 0;
    cg__dnssd_svc_clear(&s);
    /* zone text does not use the wire form */
    assert_int_equal(cg_dnssd_zone_text(&o, &z), CG_OK);
    cg_dnssd_text_free(z);

    /* a certificate that cannot be read is a clear CG_EFILE */
    char path[] = "/tmp/cg-dnssd-cert-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    make_cert(path, "gw1.example.test", "DNS:gw1.example.test");
    fail_pem = 1;
    assert_int_equal(cg_dnssd_check_host(NULL, "gw1.example.test", path), CG_EFILE);
    fail_pem = 0;
    assert_int_equal(cg_dnssd_check_host(NULL, "gw1.example.test", path), CG_OK);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_txt_encoding),
        cmocka_unit_test(test_txt_lint),
        cmocka_unit_test(test_parse_server),
        cmocka_unit_test(test_update_add_new),
        cmocka_unit_test(test_svc_limits),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_key_load_permissions),
        cmocka_unit_test(test_reply_reading),
        cmocka_unit_test(test_rcode_mapping),
        cmocka_unit_test(test_answer_reading),
        cmocka_unit_test(test_soa_reading),
        cmocka_unit_test(test_host_in_cert),
        cmocka_unit_test(test_zone_text),
        cmocka_unit_test(test_multicast_decision),
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_refresh_and_free),
        cmocka_unit_test(test_backoff_capped),
        cmocka_unit_test(test_withdraw_before_registered),
        cmocka_unit_test(test_build_failure_injection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
