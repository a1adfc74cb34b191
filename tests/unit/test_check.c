/* Unit tests for src/check (castgate check tls): the ClientHello builder, the
 * ServerHello/alert parser, the suite tables and order rule (B-03/B-04), the
 * HTTP response parser and HSTS rule (B-21), certificate-name and staple rules
 * (B-11, B-12), the URL and the report. */
#include "testutil.h"
#include "check/check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t rnd[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint16_t two[] = {0xc02f, 0x1301};

static unsigned be16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }

/* Finds extension `type` in a built ClientHello; NULL when absent. */
static const uint8_t *find_ext(const struct cg_buf *b, unsigned type, unsigned *len)
{
    const uint8_t *p = b->data + 5 + 4 + 2 + 32;
    p += 1 + p[0];                 /* session id */
    p += 2 + be16(p);              /* suites */
    p += 1 + p[0];                 /* compression */
    if (p >= b->data + b->len)
        return NULL;
    const uint8_t *end = p + 2 + be16(p);
    assert_ptr_equal(end, b->data + b->len);
    for (p += 2; p < end; p += 4 + be16(p + 2))
        if (be16(p) == type) {
            *len = be16(p + 2);
            return p + 4;
        }
    return NULL;
}

static void build(struct cg_buf *b, struct cg_hello_opts o)
{
    o.random = rnd;
    cg__buf_init(b, 0);
    assert_int_equal(cg__check_hello_build(b, &o), CG_OK);
    /* the record and handshake lengths add up */
    assert_int_equal(b->data[0], 22);
    assert_int_equal(be16(b->data + 3), b->len - 5);
    assert_int_equal(b->data[5], 1);
    assert_int_equal((b->data[6] << 16) | be16(b->data + 7), b->len - 9);
}

static void test_hello_tls12(void **state)
{
    (void)state;
    struct cg_buf b;
    build(&b, (struct cg_hello_opts){.version = CG_TLS12, .suites = two, .nsuites = 1,
                                     .sni = "example.com", .status_request = true,
                                     .session_ticket = true, .offer_compression = true});
    assert_int_equal(be16(b.data + 1), CG_TLS10);
    assert_int_equal(be16(b.data + 9), CG_TLS12);
    assert_memory_equal(b.data + 11, rnd, 32);
    const uint8_t *s = b.data + 11 + 32 + 1;
    assert_int_equal(be16(s), 4); /* the suite and the renegotiation SCSV */
    assert_int_equal(be16(s + 2), 0xc02f);
    assert_int_equal(be16(s + 4), 0x00ff);
    assert_int_equal(s[6], 2); /* DEFLATE and null */
    assert_int_equal(s[7], 1);
    unsigned n;
    const uint8_t *e = find_ext(&b, 0, &n);
    assert_non_null(e);
    assert_int_equal(n, 5 + 11);
    assert_memory_equal(e + 5, "example.com", 11);
    assert_non_null(find_ext(&b, 13, &n)); /* signature_algorithms */
    assert_non_null(find_ext(&b, 5, &n));
    assert_non_null(find_ext(&b, 35, &n));
    assert_null(find_ext(&b, 43, &n)); /* no supported_versions below 1.3 */
    assert_null(find_ext(&b, 51, &n));
    cg__buf_free(&b);
}

static void test_hello_tls13(void **state)
{
    (void)state;
    struct cg_buf b;
    build(&b, (struct cg_hello_opts){.version = CG_TLS13, .suites = two + 1, .nsuites = 1});
    assert_int_equal(be16(b.data + 9), CG_TLS12); /* legacy_version */
    const uint8_t *s = b.data + 11 + 32 + 1;
    assert_int_equal(be16(s), 2); /* no SCSV in a 1.3-only hello */
    assert_int_equal(s[3] | s[2] << 8, 0x1301);
    unsigned n;
    const uint8_t *e = find_ext(&b, 43, &n);
    assert_non_null(e);
    assert_int_equal(n, 3);
    assert_int_equal(be16(e + 1), CG_TLS13);
    e = find_ext(&b, 51, &n);
    assert_non_null(e);
    assert_int_equal(be16(e + 2), 0x001d);
    assert_memory_equal(e + 6, rnd, 32);
    assert_null(find_ext(&b, 0, &n)); /* no SNI given */
    cg__buf_free(&b);
}

static void test_hello_ssl3_and_limits(void **state)
{
    (void)state;
    struct cg_buf b;
    build(&b, (struct cg_hello_opts){.version = CG_SSL3, .suites = two, .nsuites = 1});
    assert_int_equal(be16(b.data + 1), CG_SSL3);
    assert_int_equal(be16(b.data + 9), CG_SSL3);
    /* no extensions: the hello ends with the compression methods */
    assert_int_equal(b.len, 5 + 4 + 2 + 32 + 1 + 2 + 4 + 2);
    cg__buf_free(&b);

    cg__buf_init(&b, 0);
    struct cg_hello_opts o = {.version = CG_TLS12, .suites = two, .nsuites = 0, .random = rnd};
    assert_int_equal(cg__check_hello_build(&b, &o), CG_EINVAL);
    o.nsuites = 1;
    o.version = 0x0200;
    assert_int_equal(cg__check_hello_build(&b, &o), CG_EINVAL);
    o.version = CG_TLS12;
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    o.sni = longname;
    assert_int_equal(cg__check_hello_build(&b, &o), CG_EINVAL);
    o.sni = NULL;
    uint16_t many[512];
    for (size_t i = 0; i < 512; i++)
        many[i] = (uint16_t)(0x0100 + i);
    o.suites = many;
    o.nsuites = 512;
    struct cg_buf small;
    cg__buf_init(&small, 64);
    assert_int_equal(cg__check_hello_build(&small, &o), CG_ETOOBIG); /* the buffer's cap */
    cg__buf_free(&small);
    assert_int_equal(b.len, 0);
    cg__buf_free(&b);
}

/* ---- ServerHello ---- */

/* A ServerHello record: version, suite, compression, extensions (raw). */
static size_t server_hello(uint8_t *out, unsigned ver, unsigned suite, const uint8_t *random,
                           const uint8_t *ext, size_t extlen, bool with_ext)
{
    uint8_t body[512];
    size_t n = 0;
    body[n++] = (uint8_t)(ver >> 8), body[n++] = (uint8_t)ver;
    memcpy(body + n, random ? random : rnd, 32), n += 32;
    body[n++] = 0;
    body[n++] = (uint8_t)(suite >> 8), body[n++] = (uint8_t)suite;
    body[n++] = 0;
    if (with_ext) {
        body[n++] = (uint8_t)(extlen >> 8), body[n++] = (uint8_t)extlen;
        memcpy(body + n, ext, extlen), n += extlen;
    }
    uint8_t *p = out;
    *p++ = 22, *p++ = 3, *p++ = 3;
    *p++ = (uint8_t)((n + 4) >> 8), *p++ = (uint8_t)(n + 4);
    *p++ = 2, *p++ = 0, *p++ = (uint8_t)(n >> 8), *p++ = (uint8_t)n;
    memcpy(p, body, n);
    return n + 9;
}

static const uint8_t ext12[] = {0xff, 0x01, 0x00, 0x01, 0x00, /* renegotiation_info */
                                0x00, 0x23, 0x00, 0x00,       /* session_ticket */
                                0x00, 0x05, 0x00, 0x00};      /* status_request */

static void test_sh_tls12(void **state)
{
    (void)state;
    uint8_t rec[600];
    size_t n = server_hello(rec, CG_TLS12, 0xc02f, NULL, ext12, sizeof(ext12), true);
    struct cg_server_hello sh;
    size_t used = 0;
    assert_int_equal(cg__check_server_hello_parse(rec, n, &sh, &used), CG_OK);
    assert_int_equal(used, n);
    assert_false(sh.is_alert);
    assert_false(sh.is_hrr);
    assert_int_equal(sh.version, CG_TLS12);
    assert_int_equal(sh.suite, 0xc02f);
    assert_int_equal(sh.compression, 0);
    assert_true(sh.has_reneg_info && sh.has_ticket_ext && sh.has_status_request);
    /* every shorter prefix asks for more */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(cg__check_server_hello_parse(rec, k, &sh, &used), CG_EAGAIN);
    /* SSLv3-style: no extension block at all */
    n = server_hello(rec, CG_SSL3, 0x002f, NULL, NULL, 0, false);
    assert_int_equal(cg__check_server_hello_parse(rec, n, &sh, &used), CG_OK);
    assert_int_equal(sh.version, CG_SSL3);
    assert_false(sh.has_reneg_info);
}

static void test_sh_tls13_and_hrr(void **state)
{
    (void)state;
    static const uint8_t sv[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
    static const uint8_t hrr[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    uint8_t rec[600];
    struct cg_server_hello sh;
    size_t used;
    size_t n = server_hello(rec, CG_TLS12, 0x1302, NULL, sv, sizeof(sv), true);
    assert_int_equal(cg__check_server_hello_parse(rec, n, &sh, &used), CG_OK);
    assert_int_equal(sh.version, CG_TLS13);
    assert_int_equal(sh.suite, 0x1302);
    assert_false(sh.is_hrr);
    n = server_hello(rec, CG_TLS12, 0x1301, hrr, sv, sizeof(sv), true);
    assert_int_equal(cg__check_server_hello_parse(rec, n, &sh, &used), CG_OK);
    assert_true(sh.is_hrr);
    assert_int_equal(sh.version, CG_TLS13);
}

static void test_sh_split_and_big_records(void **state)
{
    (void)state;
    uint8_t rec[600], two_recs[700];
    struct cg_server_hello sh;
    size_t used;
    size_t n = server_hello(rec, CG_TLS12, 0xc030, NULL, ext12, sizeof(ext12), true);
    /* the same handshake message cut into two records after 10 bytes */
    size_t body = n - 5, first = 10;
    memcpy(two_recs, rec, 5);
    two_recs[3] = 0, two_recs[4] = (uint8_t)first;
    memcpy(two_recs + 5, rec + 5, first);
    uint8_t *p = two_recs + 5 + first;
    p[0] = 22, p[1] = 3, p[2] = 3, p[3] = 0, p[4] = (uint8_t)(body - first);
    memcpy(p + 5, rec + 5 + first, body - first);
    size_t total = n + 5;
    assert_int_equal(cg__check_server_hello_parse(two_recs, total, &sh, &used), CG_OK);
    assert_int_equal(sh.suite, 0xc030);
    assert_int_equal(used, total);
    for (size_t k = 0; k < total; k++)
        assert_int_equal(cg__check_server_hello_parse(two_recs, k, &sh, &used), CG_EAGAIN);
    /* one 9000-byte record: the ServerHello followed by a big Certificate */
    size_t big = 9000;
    uint8_t *b = calloc(1, big + 5);
    assert_non_null(b);
    memcpy(b, rec, n);
    b[3] = (uint8_t)(big >> 8), b[4] = (uint8_t)big;
    assert_int_equal(cg__check_server_hello_parse(b, big + 5, &sh, &used), CG_OK);
    assert_int_equal(sh.suite, 0xc030);
    free(b);
}

static void test_sh_alert_and_junk(void **state)
{
    (void)state;
    struct cg_server_hello sh;
    size_t used;
    static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 70};
    assert_int_equal(cg__check_server_hello_parse(alert, sizeof(alert), &sh, &used), CG_OK);
    assert_true(sh.is_alert);
    assert_int_equal(sh.alert_level, 2);
    assert_int_equal(sh.alert_desc, 70); /* protocol_version */
    static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    assert_int_equal(cg__check_server_hello_parse((const uint8_t *)http, strlen(http), &sh, &used),
                     CG_EPROTO);
    static const uint8_t cert_first[] = {22, 3, 3, 0, 4, 11, 0, 0, 0};
    assert_int_equal(cg__check_server_hello_parse(cert_first, sizeof(cert_first), &sh, &used),
                     CG_EPROTO);
    static const uint8_t zero_len[] = {22, 3, 3, 0, 0};
    assert_int_equal(cg__check_server_hello_parse(zero_len, sizeof(zero_len), &sh, &used),
                     CG_EPROTO);
    /* an extension claiming more bytes than it has */
    static const uint8_t badext[] = {0xff, 0x01, 0x00, 0x09, 0x00};
    uint8_t rec[600];
    size_t n = server_hello(rec, CG_TLS12, 0xc02f, NULL, badext, sizeof(badext), true);
    assert_int_equal(cg__check_server_hello_parse(rec, n, &sh, &used), CG_EPROTO);
    /* a session id of 33 bytes, every length otherwise consistent (RFC 8446 4.1.3: <0..32>) */
    uint8_t sid[80] = {22, 3, 3, 0, 4 + 2 + 32 + 1 + 33 + 3, 2, 0, 0, 2 + 32 + 1 + 33 + 3, 3, 3};
    sid[9 + 2 + 32] = 33;
    assert_int_equal(cg__check_server_hello_parse(sid, 5 + 4 + 2 + 32 + 1 + 33 + 3, &sh, &used),
                     CG_EPROTO);
    sid[9 + 2 + 32] = 32; /* the same bytes with 32 and one more byte of body parse */
    sid[4]--, sid[8]--;
    assert_int_equal(cg__check_server_hello_parse(sid, 5 + 4 + 2 + 32 + 1 + 32 + 3, &sh, &used),
                     CG_OK);
}

/* ---- suites and order (B-03, B-04) ---- */

static void test_suites(void **state)
{
    (void)state;
    char name[64];
    cg__check_suite_name(0xc02f, name, sizeof(name));
    assert_string_equal(name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    cg__check_suite_name(0x006b, name, sizeof(name));
    assert_string_equal(name, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"); /* really CBC (B-04) */
    cg__check_suite_name(0xabcd, name, sizeof(name));
    assert_string_equal(name, "0xABCD");
    assert_true(cg__check_suite(0x000a)->weak);
    assert_false(cg__check_suite(0xcca8)->weak);
    for (size_t i = 0; i < 12; i++)
        assert_non_null(cg__check_suite(cg__check_bcp12[i]));
    uint16_t o[CG_CHECK_MAX_SUITES];
    size_t n13 = cg__check_other_suites(true, o, CG_CHECK_MAX_SUITES);
    assert_int_equal(n13, 2); /* the two CCM suites */
    size_t n12 = cg__check_other_suites(false, o, CG_CHECK_MAX_SUITES);
    assert_true(n12 > 50);
    for (size_t i = 0; i < n12; i++) {
        assert_false(cg__check_suite(o[i])->tls13);
        for (size_t k = 0; k < 12; k++)
            assert_int_not_equal(o[i], cg__check_bcp12[k]);
    }
    assert_int_equal(cg__check_other_suites(false, o, 3), 3);
}

static void test_order(void **state)
{
    (void)state;
    const uint16_t *b = cg__check_bcp12;
    uint16_t same[] = {0xc02b, 0xc02f, 0x009e, 0x006b};
    assert_true(cg__check_order_ok(b, 12, same, 4));
    uint16_t with_other[] = {0xcca8, 0xc02f, 0x0033, 0xc030}; /* unknown suites ignored */
    assert_true(cg__check_order_ok(b, 12, with_other, 4));
    uint16_t swapped[] = {0xc030, 0xc02f};
    assert_false(cg__check_order_ok(b, 12, swapped, 2));
    uint16_t late[] = {0xc02b, 0xc02f, 0xc02c};
    assert_false(cg__check_order_ok(b, 12, late, 3));
    assert_true(cg__check_order_ok(b, 12, NULL, 0));
    uint16_t t13[] = {0x1302, 0x1301};
    assert_false(cg__check_order_ok(cg__check_bcp13, 3, t13, 2));
}

/* ---- HTTP and HSTS (B-21, B-22, B-25) ---- */

static enum cg_err http(const char *s, struct cg_http_resp *r)
{
    return cg__check_http_parse((const uint8_t *)s, strlen(s), r);
}

static void test_http_parse(void **state)
{
    (void)state;
    struct cg_http_resp r;
    const char *ok = "HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD \r\n"
                     "STRICT-Transport-Security:max-age=31536000\r\n"
                     "Access-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\nbody";
    assert_int_equal(http(ok, &r), CG_OK);
    assert_int_equal(r.status, 405);
    assert_true(r.has_allow && r.has_hsts && r.has_acao);
    assert_string_equal(r.allow, "GET, HEAD");
    assert_string_equal(r.hsts, "max-age=31536000");
    assert_string_equal(r.acao, "*");
    for (size_t k = 0; k < strlen(ok) - 4; k++)
        assert_int_equal(cg__check_http_parse((const uint8_t *)ok, k, &r), CG_EAGAIN);
    assert_int_equal(http("HTTP/1.0 200\r\n\r\n", &r), CG_OK);
    assert_int_equal(r.status, 200);
    assert_false(r.has_hsts);
    assert_int_equal(http("\x15\x03\x03\x00\x02\x02\x46", &r), CG_EHTTP);
    assert_int_equal(http("HTTP/2 200\r\n\r\n", &r), CG_EHTTP);
    assert_int_equal(http("HTTP/1.1 20x OK\r\n\r\n", &r), CG_EHTTP);
    assert_int_equal(http("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", &r), CG_EHTTP);
    /* a control byte in a value is escaped, not copied */
    assert_int_equal(http("HTTP/1.1 200 OK\r\nAllow: GET\x01\r\n\r\n", &r), CG_OK);
    assert_string_equal(r.allow, "GET\\x01");
}

static void test_hsts(void **state)
{
    (void)state;
    assert_int_equal(cg__check_hsts_max_age("max-age=31536000; includeSubDomains"), 31536000);
    assert_int_equal(cg__check_hsts_max_age("includeSubDomains; max-age=\"100\""), 100);
    assert_int_equal(cg__check_hsts_max_age("MAX-AGE = 5"), 5);
    assert_int_equal(cg__check_hsts_max_age("max-age="), -1);
    assert_int_equal(cg__check_hsts_max_age("max-age=abc"), -1);
    assert_int_equal(cg__check_hsts_max_age("max-age=\"5"), -1);
    assert_int_equal(cg__check_hsts_max_age("includeSubDomains"), -1);
    assert_int_equal(cg__check_hsts_max_age(""), -1);
    /* B-21: AMWA fails below 15552000; 31536000 recommended */
    assert_int_equal(cg__check_hsts_verdict(-1), CG_CHECK_FAIL);
    assert_int_equal(cg__check_hsts_verdict(0), CG_CHECK_FAIL);
    assert_int_equal(cg__check_hsts_verdict(15551999), CG_CHECK_FAIL);
    assert_int_equal(cg__check_hsts_verdict(15552000), CG_CHECK_WARN);
    assert_int_equal(cg__check_hsts_verdict(31536000), CG_CHECK_PASS);
}

/* ---- certificate names and staples (B-11, B-12) ---- */

static void test_names(void **state)
{
    (void)state;
    assert_true(cg__check_is_wildcard("*.example.com"));
    assert_true(cg__check_is_wildcard("a*.example.com"));
    assert_false(cg__check_is_wildcard("example.com"));
    assert_false(cg__check_is_wildcard(NULL));
    assert_true(cg__check_is_ip("127.0.0.1"));
    assert_true(cg__check_is_ip("::1"));
    assert_false(cg__check_is_ip("localhost"));
    assert_false(cg__check_is_ip("1.2.3"));
}

static void test_staple(void **state)
{
    (void)state;
    char why[128];
    time_t now = 1700000000;
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_NONE, 0, 0, now, why, sizeof(why)),
                     CG_CHECK_FAIL);
    assert_string_equal(why, "no staple");
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_REVOKED, now, now + 60, now, why, sizeof(why)),
                     CG_CHECK_FAIL);
    assert_string_equal(why, "revoked");
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_UNKNOWN, now, 0, now, why, sizeof(why)),
                     CG_CHECK_FAIL);
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_BAD, now, 0, now, why, sizeof(why)),
                     CG_CHECK_FAIL);
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_GOOD, now - 10, now + 3600, now, why,
                                              sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_GOOD, now - 7200, now - 3600, now, why,
                                              sizeof(why)), CG_CHECK_WARN); /* past nextUpdate */
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_GOOD, now - 8 * 86400, 0, now, why,
                                              sizeof(why)), CG_CHECK_WARN); /* old, no next */
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_GOOD, now - 86400, 0, now, why,
                                              sizeof(why)), CG_CHECK_PASS);
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_GOOD, now + 3600, 0, now, why,
                                              sizeof(why)), CG_CHECK_WARN); /* from the future */
    assert_int_equal(cg__check_staple_verdict(CG_STAPLE_GOOD, now + 60, now + 3600, now, why,
                                              sizeof(why)), CG_CHECK_PASS); /* within the skew */
}

/* ---- the other verdicts ---- */

static void test_verdicts(void **state)
{
    (void)state;
    /* B-11 names */
    struct cg_names n = {.has_cn = true, .cn_in_san = true};
    assert_int_equal(cg__check_names_verdict(&n, false, false), CG_CHECK_PASS);
    n.cn_in_san = false;
    assert_int_equal(cg__check_names_verdict(&n, false, false), CG_CHECK_WARN);
    n = (struct cg_names){.no_san = true, .has_cn = true};
    assert_int_equal(cg__check_names_verdict(&n, true, true), CG_CHECK_FAIL);
    n = (struct cg_names){.wildcard = true, .has_cn = true, .cn_in_san = true};
    assert_int_equal(cg__check_names_verdict(&n, false, false), CG_CHECK_FAIL);
    assert_int_equal(cg__check_names_verdict(&n, true, false), CG_CHECK_WARN);
    n = (struct cg_names){.ip = true};
    assert_int_equal(cg__check_names_verdict(&n, true, false), CG_CHECK_FAIL);
    assert_int_equal(cg__check_names_verdict(&n, false, true), CG_CHECK_WARN);
    /* B-10 validity: seconds count, not only days */
    assert_int_equal(cg__check_validity_verdict(-10, 86400), CG_CHECK_FAIL);
    assert_int_equal(cg__check_validity_verdict(365LL * 86400, -5), CG_CHECK_FAIL);
    assert_int_equal(cg__check_validity_verdict(29LL * 86400, 86400), CG_CHECK_WARN);
    assert_int_equal(cg__check_validity_verdict(30LL * 86400, 86400), CG_CHECK_PASS);
    /* B-03/B-04 suites: only the SHALL ones fail when missing */
    assert_int_equal(cg__check_suite_verdict(0xc02f, false), CG_CHECK_FAIL);
    assert_int_equal(cg__check_suite_verdict(0x1301, false), CG_CHECK_FAIL);
    assert_int_equal(cg__check_suite_verdict(0xc030, false), CG_CHECK_WARN);
    assert_int_equal(cg__check_suite_verdict(0x1303, false), CG_CHECK_WARN);
    assert_int_equal(cg__check_suite_verdict(0xc030, true), CG_CHECK_PASS);
    uint16_t strong[] = {0xcca8, 0xc013}, weak[] = {0xcca8, 0x000a};
    assert_int_equal(cg__check_others_verdict(strong, 0), CG_CHECK_PASS);
    assert_int_equal(cg__check_others_verdict(strong, 2), CG_CHECK_WARN);
    assert_int_equal(cg__check_others_verdict(weak, 2), CG_CHECK_FAIL);
    uint16_t unknown[] = {0xabcd};
    assert_int_equal(cg__check_others_verdict(unknown, 1), CG_CHECK_WARN);
    /* B-05 */
    uint16_t fwd[] = {0xc02f, 0xc030, 0x009e}, rev[] = {0x009e, 0xc030, 0xc02f};
    assert_true(cg__check_follows_client(fwd, rev, 3, 0xc02f, 0x009e));
    assert_false(cg__check_follows_client(fwd, rev, 3, 0xc02f, 0xc02f)); /* server order */
    assert_false(cg__check_follows_client(fwd, rev, 1, 0xc02f, 0xc02f));
    /* B-04 DH groups */
    assert_int_equal(cg__check_dh_verdict(2048), CG_CHECK_PASS);
    assert_int_equal(cg__check_dh_verdict(1024), CG_CHECK_FAIL);
    assert_int_equal(cg__check_dh_verdict(0), CG_CHECK_FAIL);
    /* B-22 */
    assert_int_equal(cg__check_method_verdict(405, true), CG_CHECK_PASS);
    assert_int_equal(cg__check_method_verdict(405, false), CG_CHECK_FAIL); /* RFC 9110 15.5.6 */
    assert_int_equal(cg__check_method_verdict(403, true), CG_CHECK_FAIL);
    assert_int_equal(cg__check_method_verdict(501, false), CG_CHECK_FAIL);
    /* B-25 */
    struct cg_http_resp h = {.has_acao = true};
    strcpy(h.acao, "*");
    assert_true(cg__check_cors_open(&h, "https://x.invalid"));
    strcpy(h.acao, "https://x.invalid");
    assert_true(cg__check_cors_open(&h, "https://x.invalid"));
    strcpy(h.acao, "null");
    assert_true(cg__check_cors_open(&h, "https://x.invalid"));
    strcpy(h.acao, "https://ui.example.com");
    assert_false(cg__check_cors_open(&h, "https://x.invalid"));
    h.has_acao = false;
    assert_false(cg__check_cors_open(&h, "https://x.invalid"));
}

/* ---- URL and report ---- */

static void test_url(void **state)
{
    (void)state;
    struct cg_check_target t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(cg__check_parse_url("https://gw.example.com:8443/mos/x", &t), CG_OK);
    assert_string_equal(t.host, "gw.example.com");
    assert_string_equal(t.port, "8443");
    assert_string_equal(t.path, "/mos/x");
    assert_true(t.sni_ok);
    assert_int_equal(cg__check_parse_url("wss://example.com", &t), CG_OK);
    assert_string_equal(t.port, "443");
    assert_string_equal(t.path, "/");
    assert_int_equal(cg__check_parse_url("https://[::1]:9443/", &t), CG_OK);
    assert_string_equal(t.host, "::1");
    assert_string_equal(t.port, "9443");
    assert_false(t.sni_ok); /* no SNI for an IP literal (RFC 6066 3) */
    assert_int_equal(cg__check_parse_url("https://127.0.0.1", &t), CG_OK);
    assert_false(t.sni_ok);
    assert_int_equal(cg__check_parse_url("http://example.com/", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url("https://", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url("https://h:80a/", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url("https://h:/", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url("https://h/a b", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url("https://h/a\r\nX: y", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url("https://[::1/", &t), CG_EINVAL);
    assert_int_equal(cg__check_parse_url(NULL, &t), CG_EINVAL);
}

static void test_report(void **state)
{
    (void)state;
    struct cg_check_report *r = cg__check_report_new();
    assert_non_null(r);
    for (int i = 0; i < 100; i++)
        assert_int_equal(cg__check_add(r, "B-02", i % 3, "what", "peer said %s", "\x1b[31mred"),
                         CG_OK);
    assert_int_equal(cg_check_report_count(r), 100);
    const struct cg_check_finding *f = cg_check_report_get(r, 1);
    assert_string_equal(f->id, "B-02");
    assert_int_equal(f->verdict, CG_CHECK_WARN);
    assert_string_equal(f->evidence, "peer said \\x1b[31mred"); /* no terminal escapes */
    assert_null(cg_check_report_get(r, 100));
    assert_string_equal(cg_check_verdict_name(CG_CHECK_FAIL), "fail");
    cg_check_report_free(r);
    cg_check_report_free(NULL);
    assert_int_equal(cg_check_report_count(NULL), 0);
    struct cg_check_report *out = (struct cg_check_report *)1;
    struct cg_check_tls_opts o = {.url = "ftp://x"};
    assert_int_equal(cg_check_tls(NULL, &o, &out), CG_EINVAL);
    assert_null(out);
    o.url = "https://127.0.0.1:1/";
    o.ca_file = "/nonexistent/root.pem";
    assert_int_equal(cg_check_tls(NULL, &o, &out), CG_EFILE);
    assert_null(out);
}

/* Nothing listens: an error and no report (exit 2 in the tool), not a report full of fails. */
static void test_unreachable(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s); /* the port is free again and nothing listens on it */
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", ntohs(a.sin_port));
    struct cg_check_tls_opts o = {.url = url, .timeout_ms = 1000};
    struct cg_check_report *out = NULL;
    assert_int_equal(cg_check_tls(NULL, &o, &out), CG_ENET);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_tls12),
        cmocka_unit_test(test_hello_tls13),
        cmocka_unit_test(test_hello_ssl3_and_limits),
        cmocka_unit_test(test_sh_tls12),
        cmocka_unit_test(test_sh_tls13_and_hrr),
        cmocka_unit_test(test_sh_split_and_big_records),
        cmocka_unit_test(test_sh_alert_and_junk),
        cmocka_unit_test(test_suites),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_http_parse),
        cmocka_unit_test(test_hsts),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_staple),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
