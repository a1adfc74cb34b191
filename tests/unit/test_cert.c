/* Unit tests for src/cert: serials, the CA database (openssl ca index
 * format), the B-11 name rules, issuing and revocation, OCSP request and
 * response handling (sans-I/O), the GET encoding, the certificate and trust
 * stores, pins, expiry warnings, the responder on a loop, and failure
 * injection. One CA is made in a temp dir for the whole program. */
// CG_WRAP: X509_sign OCSP_basic_sign mkstemp
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

/* ---- failure injection ---- */
static int fail_x509_sign, fail_ocsp_sign, fail_mkstemp;
int __real_X509_sign(X509 *x, EVP_PKEY *k, const EVP_MD *md);
int __wrap_X509_sign(X509 *x, EVP_PKEY *k, const EVP_MD *md);
int __wrap_X509_sign(X509 *x, EVP_PKEY *k, const EVP_MD *md)
{
    return fail_x509_sign ? 0 : __real_X509_sign(x, k, md);
}
int __real_OCSP_basic_sign(OCSP_BASICRESP *b, X509 *s, EVP_PKEY *k, const EVP_MD *md,
                           STACK_OF(X509) *c, unsigned long f);
int __wrap_OCSP_basic_sign(OCSP_BASICRESP *b, X509 *s, EVP_PKEY *k, const EVP_MD *md,
                           STACK_OF(X509) *c, unsigned long f);
int __wrap_OCSP_basic_sign(OCSP_BASICRESP *b, X509 *s, EVP_PKEY *k, const EVP_MD *md,
                           STACK_OF(X509) *c, unsigned long f)
{
    return fail_ocsp_sign ? 0 : __real_OCSP_basic_sign(b, s, k, md, c, f);
}
int __real_mkstemp(char *t);
int __wrap_mkstemp(char *t);
int __wrap_mkstemp(char *t) { return fail_mkstemp ? -1 : __real_mkstemp(t); }

/* ---- fixture ---- */

static int group_setup(void **state)
{
    if (tu_group_ctx(state) != 0)
        return -1;
    struct cg_ca_init_opts o = {.name = "Unit", .ocsp_url = "http://127.0.0.1:1/"};
    if (cg_ca_init(tu_ctx, tu_in("ca"), &o) != CG_OK)
        return -1;
    return 0;
}

static int setup(void **state)
{
    fail_x509_sign = fail_ocsp_sign = fail_mkstemp = 0;
    return tu_ctx_log_reset(state);
}

static struct cg_ca *open_ca(void)
{
    struct cg_ca *ca = NULL;
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("ca"), NULL, &ca), CG_OK);
    return ca;
}

static void issue(struct cg_ca *ca, const char *host, enum cg_key_type t, const char *out,
                  char serial[64])
{
    const char *hosts[] = {host};
    struct cg_issue_opts o = {.hosts = hosts, .nhosts = 1, .type = t};
    assert_int_equal(cg_ca_issue(ca, &o, tu_in(out), serial, 64), CG_OK);
}

/* ---- serials ---- */
static void test_serials(void **state)
{
    (void)state;
    char seen[20][CG_CERT_MAX_SERIAL_HEX];
    for (int i = 0; i < 20; i++) {
        ASN1_INTEGER *a = NULL;
        assert_int_equal(cg__cert_random_serial(&a, seen[i]), CG_OK);
        assert_int_equal(strlen(seen[i]), 32); /* 128 bits, top bits fixed: never short */
        assert_true(seen[i][0] >= '4' && seen[i][0] <= '7'); /* positive, 0x40 set */
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
        ASN1_INTEGER_free(a);
    }
    char out[CG_CERT_MAX_SERIAL_HEX];
    assert_int_equal(cg__cert_norm_serial("0x1f", out), CG_OK);
    assert_string_equal(out, "1F");
    assert_int_equal(cg__cert_norm_serial("01:2a:ff", out), CG_OK);
    assert_string_equal(out, "012AFF");
    assert_int_equal(cg__cert_norm_serial("0", out), CG_OK);
    assert_string_equal(out, "00");
    assert_int_equal(cg__cert_norm_serial("xyz", out), CG_EINVAL);
    assert_int_equal(cg__cert_norm_serial("", out), CG_EINVAL);
    assert_int_equal(cg__cert_norm_serial("0x", out), CG_EINVAL);
    assert_int_equal(cg__cert_norm_serial(NULL, out), CG_EINVAL);
    char big[100];
    memset(big, 'A', 60);
    big[60] = '\0';
    assert_int_equal(cg__cert_norm_serial(big, out), CG_ERANGE);
}

/* ---- the database ---- */
static void test_db_parse_and_format(void **state)
{
    (void)state;
    const char *text = "V\t271226113639Z\t\t70C6AF3B\tunknown\t/CN=a\n"
                       "R\t271226113640Z\t261124114140Z,keyCompromise\t61788C27\tunknown\t/CN=b\n"
                       "E\t201226113640Z\t\t0A\tunknown\t/CN=c d/O=x\n";
    struct cg_db db;
    size_t bad = 0;
    assert_int_equal(cg__db_parse(text, strlen(text), &db, &bad), CG_OK);
    assert_int_equal(db.n, 3);
    assert_int_equal(db.rows[1].status, 'R');
    assert_string_equal(db.rows[1].revoked, "261124114140Z,keyCompromise");
    assert_string_equal(db.rows[2].subject, "/CN=c d/O=x");
    assert_non_null(cg__db_find(&db, "0A"));
    assert_null(cg__db_find(&db, "0B"));
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__db_format(&db, &b), CG_OK);
    assert_int_equal(b.len, strlen(text));
    assert_memory_equal(b.data, text, b.len); /* round trip, byte for byte */
    cg__buf_free(&b);
    cg__db_free(&db);

    static const struct {
        const char *text;
        size_t line;
    } bad_cases[] = {
        {"X\t271226113639Z\t\t0A\tunknown\t/CN=a\n", 1},          /* status */
        {"V\t271226113639Z\t\t0a\tunknown\t/CN=a\n", 1},          /* lowercase serial */
        {"V\t271226113639Z\t\t0A\tunknown\n", 1},                 /* five fields */
        {"V\t2712\t\t0A\tunknown\t/CN=a\n", 1},                   /* short date */
        {"V\t271226113639Z\t\t0A\tunknown\t/CN=a\nR\t271226113639Z\t\t0B\tunknown\t/CN=b\n", 2},
        {"V\t271226113639Z\t\t0A\tunknown\t/CN=\x01\n", 1},        /* control character */
        {"\n", 1},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(bad_cases); i++) {
        bad = 0;
        assert_int_equal(cg__db_parse(bad_cases[i].text, strlen(bad_cases[i].text), &db, &bad),
                         CG_EFILE);
        assert_int_equal(bad, bad_cases[i].line);
    }
    assert_int_equal(cg__db_parse("", 0, &db, &bad), CG_OK);
    assert_int_equal(db.n, 0);
    cg__db_free(&db);
    assert_string_equal(cg__db_reason_name(1), "keyCompromise");
    assert_null(cg__db_reason_name(7));
    assert_null(cg__db_reason_name(99));
    assert_int_equal(cg__db_reason_code("superseded"), 4);
    assert_int_equal(cg__db_reason_code("nope"), -1);
}

/* ---- B-11 ---- */
static void test_host_rules(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool wild, ip;
        enum cg_err want;
        const char *why;
    } cases[] = {
        {"localhost", false, false, CG_OK, NULL},
        {"mos.example.com", false, false, CG_OK, NULL},
        {"a-b.c1.example", false, false, CG_OK, NULL},
        {"*.example.com", false, false, CG_EINVAL, "wildcard certificates should not be used"},
        {"*.example.com", true, false, CG_OK, NULL},
        {"a.*.example.com", true, false, CG_EINVAL, "whole leftmost label"},
        {"f*o.example.com", true, false, CG_EINVAL, "whole leftmost label"},
        {"192.0.2.1", false, false, CG_EINVAL, "IP addresses should not be used"},
        {"192.0.2.1", false, true, CG_OK, NULL},
        {"2001:db8::1", false, false, CG_EINVAL, "IP addresses"},
        {"", false, false, CG_EINVAL, "empty"},
        {"-a.example", false, false, CG_EINVAL, "not a valid DNS name"},
        {"a..example", false, false, CG_EINVAL, "not a valid DNS name"},
        {"under_score.example", false, false, CG_EINVAL, "not a valid DNS name"},
        {"comma,DNS:evil", false, false, CG_EINVAL, "not a valid DNS name"},
        {"example.com.", false, false, CG_EINVAL, "trailing dot"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        const char *why = "unset";
        enum cg_err rc = cg_cert_check_host(cases[i].name, cases[i].wild, cases[i].ip, &why);
        if (rc != cases[i].want)
            fail_msg("%s: got %d", cases[i].name, rc);
        if (cases[i].why == NULL)
            assert_null(why);
        else
            assert_non_null(strstr(why, cases[i].why));
    }
    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = '\0';
    assert_int_equal(cg_cert_check_host(longname, false, false, NULL), CG_EINVAL);
    assert_int_equal(cg_cert_check_host(NULL, false, false, NULL), CG_EINVAL);
}

/* ---- issue, revoke, CRL ---- */
static void test_issue_revoke_crl(void **state)
{
    (void)state;
    struct cg_ca *ca = open_ca();
    char s1[64], s2[64], s3[64];
    issue(ca, "one.example", CG_KEY_ECDSA, "one", s1);
    issue(ca, "two.example", CG_KEY_RSA, "two", s2);
    issue(ca, "three.example", CG_KEY_ECDSA, "three", s3);
    X509 *x = cg__cert_read_one(tu_in("one/server-ecdsa.pem"));
    assert_non_null(x);
    assert_int_equal(X509_check_host(x, "one.example", 0, 0, NULL), 1);
    char *ocsp = NULL;
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(x);
    ocsp = sk_OPENSSL_STRING_value(urls, 0);
    assert_string_equal(ocsp, "http://127.0.0.1:1/");
    X509_email_free(urls);
    X509_free(x);
    struct stat st;
    assert_int_equal(stat(tu_in("one/server-ecdsa.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(cg_ca_revoke(ca, s1, 1), CG_OK);
    assert_int_equal(cg_ca_revoke(ca, s1, 1), CG_OK); /* again: a warning, no change */
    assert_true(tu_log_has(&tu_ctx_log, "revoked already"));
    assert_int_equal(cg_ca_revoke(ca, "0x1", 0), CG_ENOTFOUND);
    assert_int_equal(cg_ca_revoke(ca, s2, 7), CG_EINVAL); /* reason 7 is unused */
    assert_int_equal(cg_ca_revoke_file(ca, tu_in("nope.pem"), 0), CG_ECERT);
    assert_int_equal(cg_ca_revoke_file(ca, tu_in("three/server-ecdsa.pem"), 4), CG_OK);

    struct cg_db db;
    assert_int_equal(cg__db_load(tu_in("ca/index.txt"), &db, NULL), CG_OK);
    struct cg_db_row *r = cg__db_find(&db, s1);
    assert_non_null(r);
    assert_int_equal(r->status, 'R');
    assert_non_null(strstr(r->revoked, ",keyCompromise"));
    assert_int_equal(cg__db_find(&db, s2)->status, 'V');
    r = cg__db_find(&db, s3); /* revoked by its file */
    assert_non_null(r);
    assert_int_equal(r->status, 'R');
    assert_non_null(strstr(r->revoked, ",superseded"));
    cg__db_free(&db);

    assert_int_equal(cg_ca_write_crl(ca, tu_in("crl.pem"), 3), CG_OK);
    BIO *bio = BIO_new_file(tu_in("crl.pem"), "r");
    X509_CRL *crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(crl);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca->inter)), 1);
    bool found = false;
    for (int i = 0; i < sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)); i++) {
        const ASN1_INTEGER *sn =
            X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), i));
        BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
        char *h = BN_bn2hex(bn);
        found |= strcmp(h, s1) == 0;
        OPENSSL_free(h);
        BN_free(bn);
    }
    assert_true(found);
    X509_CRL_free(crl);
    cg_ca_free(ca);
}

/* A CA folder that lost its root, whose intermediate.pem is not the key's,
 * or whose index has a bad line is refused and says which file and line. */
static void test_broken_ca_folder(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", tu_in("ca"), tu_in("ca-broken"));
    assert_int_equal(system(cmd), 0);
    struct cg_ca *ca = NULL;
    /* intermediate.pem replaced by the root: not the intermediate key's */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", tu_in("ca-broken/intermediate.pem"),
             tu_in("keep.pem"));
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", tu_in("ca-broken/root.pem"),
             tu_in("ca-broken/intermediate.pem"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("ca-broken"), NULL, &ca), CG_EKEYMISMATCH);
    assert_null(ca);
    assert_true(tu_log_has(&tu_ctx_log, "intermediate.key does not match intermediate.pem"));
    assert_int_equal(rename(tu_in("keep.pem"), tu_in("ca-broken/intermediate.pem")), 0);
    /* a bad line in the index: revoking reads it, and names the line */
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("ca-broken"), NULL, &ca), CG_OK);
    size_t len = 0, lines = 0;
    uint8_t *index = tu_read(tu_in("ca-broken/index.txt"), &len);
    for (size_t i = 0; i < len; i++)
        lines += index[i] == '\n';
    free(index);
    assert_true(lines >= 1);
    FILE *f = fopen(tu_in("ca-broken/index.txt"), "a");
    assert_non_null(f);
    fputs("not an index line\n", f);
    fclose(f);
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_not_equal(cg_ca_revoke(ca, "01", 1), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "index.txt: "));
    char at[32];
    snprintf(at, sizeof(at), "(line %zu)", lines + 1);
    if (!tu_log_has(&tu_ctx_log, at))
        fail_msg("no %s in: %s", at, tu_ctx_log.text);
    cg_ca_free(ca);
    ca = NULL;
    /* no root.pem */
    assert_int_equal(unlink(tu_in("ca-broken/root.pem")), 0);
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("ca-broken"), NULL, &ca), CG_EFILE);
    assert_null(ca);
    assert_true(tu_log_has(&tu_ctx_log, "root.pem: missing or not a certificate"));
}

static void test_issue_refusals_and_failures(void **state)
{
    (void)state;
    struct cg_ca *ca = open_ca();
    const char *wild[] = {"*.example.com"};
    struct cg_issue_opts o = {.hosts = wild, .nhosts = 1};
    assert_int_equal(cg_ca_issue(ca, &o, tu_in("w"), NULL, 0), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "refusing host '*.example.com': wildcard"));
    o.nhosts = 0;
    assert_int_equal(cg_ca_issue(ca, &o, tu_in("w"), NULL, 0), CG_EINVAL);
    const char *ok[] = {"ok.example"};
    o = (struct cg_issue_opts){.hosts = ok, .nhosts = 1};
    fail_x509_sign = 1;
    assert_int_equal(cg_ca_issue(ca, &o, tu_in("f"), NULL, 0), CG_ETLS);
    fail_x509_sign = 0;
    fail_mkstemp = 1;
    assert_int_equal(cg_ca_issue(ca, &o, tu_in("f"), NULL, 0), CG_EIO);
    assert_int_equal(cg_ca_write_crl(ca, NULL, 0), CG_EIO);
    fail_mkstemp = 0;
    cg_ca_free(ca);
    /* ca init failure paths: no half-made CA is left behind marked complete. */
    fail_x509_sign = 1;
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("ca-fail"), NULL), CG_ETLS);
    fail_x509_sign = 0;
    struct stat st;
    assert_int_not_equal(stat(tu_in("ca-fail/ca.conf"), &st), 0);
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("ca"), NULL), CG_EEXIST);
    struct cg_ca *none = NULL;
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("ca-fail"), NULL, &none), CG_EFILE);
    assert_null(none);
    cg_ca_free(NULL);
}

/* ---- OCSP ---- */
static uint8_t *make_request(X509 *leaf, X509 *issuer, bool nonce, size_t *len)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
    assert_non_null(OCSP_request_add0_id(req, id));
    if (nonce)
        assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
    unsigned char *der = NULL;
    int n = i2d_OCSP_REQUEST(req, &der);
    assert_true(n > 0);
    OCSP_REQUEST_free(req);
    *len = (size_t)n;
    return der;
}

static bool g_verify = true; /* off for a certificate of another issuer */
static X509 *g_delegate;      /* a delegated signer, or NULL: the intermediate signs */
static EVP_PKEY *g_delegate_key;
static int answer_status(struct cg_ca *ca, const struct cg_db *db, const uint8_t *der,
                         size_t len, int *resp_status)
{
    struct cg_ocsp_signer s = {.issuer = ca->inter, .signer = ca->inter, .key = ca->inter_key,
                               .validity_s = 600};
    if (g_delegate != NULL) {
        s.signer = g_delegate;
        s.key = g_delegate_key;
    }
    uint8_t *out = NULL;
    size_t olen = 0;
    assert_int_equal(cg__ocsp_answer(&s, db, der, len, time(NULL), &out, &olen), CG_OK);
    const unsigned char *q = out;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)olen);
    OPENSSL_free(out);
    assert_non_null(resp);
    *resp_status = OCSP_response_status(resp);
    int status = -1;
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    if (bs != NULL) {
        STACK_OF(X509) *certs = sk_X509_new_null();
        sk_X509_push(certs, ca->inter); /* untrusted: a delegated signer chains through it */
        X509_STORE *st = X509_STORE_new();
        X509_STORE_add_cert(st, ca->root);
        if (g_verify) /* signed by the CA, which is authorised for its own certificates */
            assert_int_equal(OCSP_basic_verify(bs, certs, st, 0), 1);
        OCSP_SINGLERESP *one = OCSP_resp_get0(bs, 0);
        ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
        int reason = 0;
        status = OCSP_single_get0_status(one, &reason, NULL, &tu, &nu);
        assert_non_null(nu); /* nextUpdate always present */
        assert_int_equal(OCSP_check_validity(tu, nu, 300, -1), 1);
        X509_STORE_free(st);
        sk_X509_free(certs);
        OCSP_BASICRESP_free(bs);
    }
    OCSP_RESPONSE_free(resp);
    return status;
}

static void test_ocsp_answers(void **state)
{
    (void)state;
    struct cg_ca *ca = open_ca();
    char s1[64], s2[64];
    issue(ca, "good.example", CG_KEY_ECDSA, "good", s1);
    issue(ca, "bad.example", CG_KEY_ECDSA, "bad", s2);
    assert_int_equal(cg_ca_revoke(ca, s2, 0), CG_OK);
    struct cg_db db;
    assert_int_equal(cg__db_load(tu_in("ca/index.txt"), &db, NULL), CG_OK);
    X509 *good = cg__cert_read_one(tu_in("good/server-ecdsa.pem"));
    X509 *bad = cg__cert_read_one(tu_in("bad/server-ecdsa.pem"));
    size_t len;
    int rs;
    uint8_t *req = make_request(good, ca->inter, true, &len);
    assert_int_equal(answer_status(ca, &db, req, len, &rs), V_OCSP_CERTSTATUS_GOOD);
    assert_int_equal(rs, OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OPENSSL_free(req);
    req = make_request(bad, ca->inter, false, &len);
    assert_int_equal(answer_status(ca, &db, req, len, &rs), V_OCSP_CERTSTATUS_REVOKED);
    OPENSSL_free(req);
    /* A certificate of another issuer (the root as "issuer" of the leaf): unknown. */
    req = make_request(good, ca->root, false, &len);
    g_verify = false;
    assert_int_equal(answer_status(ca, &db, req, len, &rs), V_OCSP_CERTSTATUS_UNKNOWN);
    g_verify = true;
    OPENSSL_free(req);
    /* Not in the database: unknown. */
    struct cg_db empty = {0};
    req = make_request(good, ca->inter, false, &len);
    assert_int_equal(answer_status(ca, &empty, req, len, &rs), V_OCSP_CERTSTATUS_UNKNOWN);
    /* Trailing garbage and junk: malformedRequest, still an answer. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, req, len);
    longer[len] = 0;
    assert_int_equal(answer_status(ca, &db, longer, len + 1, &rs), -1);
    assert_int_equal(rs, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    assert_int_equal(answer_status(ca, &db, (const uint8_t *)"junk", 4, &rs), -1);
    assert_int_equal(rs, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    assert_int_equal(answer_status(ca, &db, NULL, 0, &rs), -1);
    free(longer);
    /* Signing fails: internalError. */
    fail_ocsp_sign = 1;
    assert_int_equal(answer_status(ca, &db, req, len, &rs), -1);
    assert_int_equal(rs, OCSP_RESPONSE_STATUS_INTERNALERROR);
    fail_ocsp_sign = 0;

    /* GET form: base64, url-encoded. */
    char b64[1024], enc[2048];
    EVP_EncodeBlock((unsigned char *)b64, req, (int)len);
    size_t e = 0;
    enc[e++] = '/';
    for (char *c = b64; *c; c++)
        e += (size_t)(strchr("+/=", *c) ? snprintf(enc + e, 4, "%%%02X", *c)
                                       : snprintf(enc + e, 2, "%c", *c));
    uint8_t *dec = NULL;
    size_t dlen = 0;
    assert_int_equal(cg__ocsp_decode_get(enc, &dec, &dlen), CG_OK);
    assert_int_equal(dlen, len);
    assert_memory_equal(dec, req, len);
    free(dec);
    assert_int_equal(cg__ocsp_decode_get("/", &dec, &dlen), CG_EPROTO);
    assert_int_equal(cg__ocsp_decode_get("/abc", &dec, &dlen), CG_EPROTO);
    assert_int_equal(cg__ocsp_decode_get("/ab%zz", &dec, &dlen), CG_EPROTO);
    assert_int_equal(cg__ocsp_decode_get("/ab%4", &dec, &dlen), CG_EPROTO);
    assert_int_equal(cg__ocsp_decode_get("/!!!!", &dec, &dlen), CG_EPROTO);
    OPENSSL_free(req);
    X509_free(good);
    X509_free(bad);
    cg__db_free(&db);
    cg_ca_free(ca);
}

static void test_ocsp_delegated_signer(void **state)
{
    (void)state;
    struct cg_ca *ca = open_ca();
    char s1[64];
    issue(ca, "deleg.example", CG_KEY_ECDSA, "deleg", s1);
    assert_int_equal(cg_ca_issue_ocsp_signer(ca, tu_in("signer"), 0), CG_OK);
    g_delegate = cg__cert_read_one(tu_in("signer/ocsp-signer.pem"));
    assert_non_null(g_delegate);
    assert_true(X509_get_extended_key_usage(g_delegate) & XKU_OCSP_SIGN);
    assert_int_equal(
        cg__cert_read_key(tu_ctx, tu_in("signer/ocsp-signer.key"), NULL, &g_delegate_key), CG_OK);
    struct cg_db db;
    assert_int_equal(cg__db_load(tu_in("ca/index.txt"), &db, NULL), CG_OK);
    X509 *x = cg__cert_read_one(tu_in("deleg/server-ecdsa.pem"));
    size_t len;
    int rs;
    uint8_t *req = make_request(x, ca->inter, true, &len);
    /* Verified as a delegated responder: issued by the CA, OCSPSigning. */
    assert_int_equal(answer_status(ca, &db, req, len, &rs), V_OCSP_CERTSTATUS_GOOD);
    OPENSSL_free(req);
    X509_free(x);
    X509_free(g_delegate);
    EVP_PKEY_free(g_delegate_key);
    g_delegate = NULL;
    g_delegate_key = NULL;
    /* The responder refuses a signer that is not one (a server leaf) and a missing key. */
    struct cg_ocsp_responder *r = NULL;
    struct cg_ocsp_responder_opts o = {.ca_dir = tu_in("ca"), .addr = "127.0.0.1",
                                       .signer_cert = tu_in("deleg/server-ecdsa.pem"),
                                       .signer_key = tu_in("deleg/server-ecdsa.key")};
    assert_int_equal(cg_ocsp_responder_new(tu_ctx, &o, &r), CG_ECERT);
    assert_true(tu_log_has(&tu_ctx_log, "not an OCSP signer of this CA"));
    o.signer_cert = tu_in("signer/ocsp-signer.pem");
    o.signer_key = NULL;
    assert_int_equal(cg_ocsp_responder_new(tu_ctx, &o, &r), CG_EINVAL);
    o.signer_key = tu_in("deleg/server-ecdsa.key");
    assert_int_equal(cg_ocsp_responder_new(tu_ctx, &o, &r), CG_EKEYMISMATCH);
    o.signer_key = tu_in("signer/ocsp-signer.key");
    assert_int_equal(cg_ocsp_responder_new(tu_ctx, &o, &r), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "signing as the delegated signer"));
    cg_ocsp_responder_free(r);
    uv_run(cg_ctx_loop(tu_ctx), UV_RUN_DEFAULT);
    cg__db_free(&db);
    cg_ca_free(ca);
}

/* ---- the responder on a loop, fetched by OpenSSL's HTTP client ---- */
struct fetch {
    uint16_t port;
    uint8_t *req;
    size_t len;
    OCSP_RESPONSE *resp;
};
static void fetch_work(void *arg)
{
    struct fetch *f = arg;
    char port[8];
    snprintf(port, sizeof(port), "%u", f->port);
    BIO *req = BIO_new_mem_buf(f->req, (int)f->len);
    BIO *rsp = OSSL_HTTP_transfer(NULL, "127.0.0.1", port, "/", 0, NULL, NULL, NULL, NULL, NULL,
                                  NULL, 0, NULL, "application/ocsp-request", req,
                                  "application/ocsp-response", 1, 65536, 5, 0);
    if (rsp != NULL) {
        char *d = NULL;
        long n = BIO_get_mem_data(rsp, &d);
        const unsigned char *q = (const unsigned char *)d;
        f->resp = d2i_OCSP_RESPONSE(NULL, &q, n);
    }
    BIO_free(rsp);
    BIO_free(req);
    OPENSSL_thread_stop(); /* a pool thread outlives OPENSSL_cleanup: free its state now */
}
static void after_fetch(uv_work_t *w, int status)
{
    (void)status;
    cg_ctx_stop(((void **)w->data)[0]);
}
static void work_cb(uv_work_t *w) { fetch_work(((void **)w->data)[1]); }

static void test_responder_live(void **state)
{
    (void)state;
    struct cg_ocsp_responder *r = NULL;
    struct cg_ocsp_responder_opts o = {.ca_dir = tu_in("ca"), .addr = "127.0.0.1"};
    assert_int_equal(cg_ocsp_responder_new(tu_ctx, &o, &r), CG_OK);
    assert_true(cg_ocsp_responder_port(r) > 0);
    struct cg_ca *ca = open_ca();
    char s1[64];
    issue(ca, "live.example", CG_KEY_ECDSA, "live", s1);
    X509 *x = cg__cert_read_one(tu_in("live/server-ecdsa.pem"));
    struct fetch f = {.port = cg_ocsp_responder_port(r)};
    f.req = make_request(x, ca->inter, true, &f.len);
    uv_work_t w;
    void *pair[2] = {tu_ctx, &f}; /* the fetch runs on the pool; the loop serves it */
    w.data = pair;
    uv_queue_work(cg_ctx_loop(tu_ctx), &w, work_cb, after_fetch);
    cg_ctx_run(tu_ctx);
    assert_non_null(f.resp);
    assert_int_equal(OCSP_response_status(f.resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_RESPONSE_free(f.resp);
    assert_true(tu_log_has(&tu_ctx_log, "OCSP database loaded"));
    OPENSSL_free(f.req);
    X509_free(x);
    cg_ca_free(ca);
    cg_ocsp_responder_free(r);
    uv_run(cg_ctx_loop(tu_ctx), UV_RUN_DEFAULT);
    /* A missing CA directory or a busy port fail cleanly. */
    o.ca_dir = tu_in("no-such-ca");
    assert_int_equal(cg_ocsp_responder_new(tu_ctx, &o, &r), CG_EFILE);
    assert_null(r);
}

/* ---- stores ---- */
static void test_store_install_and_expiry(void **state)
{
    (void)state;
    struct cg_ca *ca = open_ca();
    char s[64];
    issue(ca, "store.example", CG_KEY_ECDSA, "st", s);
    struct cg_cert_install_opts o = {.store_dir = tu_in("store"),
                                     .cert_file = tu_in("st/server-ecdsa.chain.pem"),
                                     .key_file = tu_in("st/server-ecdsa.key"),
                                     .ca_file = tu_in("ca/root.pem"), .host = "store.example"};
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_OK);
    struct cg_cert_info info[2];
    size_t n = 0;
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store"), info, 2, &n), CG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(info[0].serial, s);
    assert_non_null(strstr(info[0].sans, "DNS:store.example"));
    assert_true(info[0].days_left > 390);
    /* The chain file holds leaf + intermediate, not the root. */
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("store/ecdsa.chain.pem"), &chain), CG_OK);
    assert_int_equal(sk_X509_num(chain), 2);
    sk_X509_pop_free(chain, X509_free);
    long days = 0;
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("store/ecdsa.chain.pem"), &days), CG_OK);
    assert_int_equal(tu_ctx_log.lines, 0);
    /* 5 days left: the 7-day warning. */
    const char *hosts[] = {"soon.example"};
    struct cg_issue_opts io = {.hosts = hosts, .nhosts = 1, .days = 5};
    assert_int_equal(cg_ca_issue(ca, &io, tu_in("soon"), NULL, 0), CG_OK);
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("soon/server-ecdsa.pem"), &days), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "expires within 7 days"));
    io.days = 20;
    assert_int_equal(cg_ca_issue(ca, &io, tu_in("soon"), NULL, 0), CG_OK);
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("soon/server-ecdsa.pem"), &days), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "expires within 30 days"));
    io.days = 1;
    assert_int_equal(cg_ca_issue(ca, &io, tu_in("soon"), NULL, 0), CG_OK);
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("soon/server-ecdsa.pem"), &days), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "expires within 1 day "));
    io.days = 2;
    io.not_before_offset_days = -5;
    assert_int_equal(cg_ca_issue(ca, &io, tu_in("soon"), NULL, 0), CG_OK);
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("soon/server-ecdsa.pem"), &days),
                     CG_EEXPIRED);
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("nothing.pem"), NULL), CG_ECERT);
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("empty-store"), info, 2, &n), CG_ENOTFOUND);
    /* A failed write leaves the installed certificate in place. */
    fail_mkstemp = 1;
    assert_int_equal(cg_cert_store_install(tu_ctx, &o), CG_EIO);
    fail_mkstemp = 0;
    assert_int_equal(cg_cert_store_list(tu_ctx, tu_in("store"), info, 2, &n), CG_OK);
    assert_string_equal(info[0].serial, s);
    /* A chain file: an intermediate that lapses first is named and counted. */
    struct cg_ca_init_opts short_ca = {.name = "Short", .inter_days = 3};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("shortca"), &short_ca), CG_OK);
    struct cg_ca *sca = NULL;
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("shortca"), NULL, &sca), CG_OK);
    io = (struct cg_issue_opts){.hosts = hosts, .nhosts = 1};
    assert_int_equal(cg_ca_issue(sca, &io, tu_in("shortleaf"), NULL, 0), CG_OK);
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_cert_check_expiry(tu_ctx, tu_in("shortleaf/server-ecdsa.chain.pem"), &days),
                     CG_OK);
    assert_true(days <= 3);
    assert_true(tu_log_has(&tu_ctx_log, "intermediate /CN=Short Issuing CA expires within 7 days"));
    cg_ca_free(sca);
    cg_ca_free(ca);
}

static void test_trust_store_and_pins(void **state)
{
    (void)state;
    /* Two roots with the same subject share a hash: slots .0 and .1. */
    struct cg_ca_init_opts o = {.name = "Twin"};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("twin1"), &o), CG_OK);
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("twin2"), &o), CG_OK);
    assert_int_equal(cg_trust_add(tu_ctx, tu_in("trust"), tu_in("twin1/root.pem")), CG_OK);
    assert_int_equal(cg_trust_add(tu_ctx, tu_in("trust"), tu_in("twin2/root.pem")), CG_OK);
    assert_int_equal(cg_trust_add(tu_ctx, tu_in("trust"), tu_in("twin1/root.pem")), CG_EEXIST);
    assert_int_equal(cg_trust_add(tu_ctx, tu_in("trust"), tu_in("ca/intermediate.pem")), CG_OK);
    assert_true(tu_log_has(&tu_ctx_log, "not self-signed"));
    assert_int_equal(cg_trust_add(tu_ctx, tu_in("trust"), tu_in("good/server-ecdsa.pem")), CG_ECERT);
    struct cg_cert_info info[8];
    size_t n = 0;
    assert_int_equal(cg_trust_list(tu_ctx, tu_in("trust"), info, 8, &n), CG_OK);
    assert_int_equal(n, 3);
    /* Removing slot .0 moves .1 into it, so OpenSSL still finds twin2. */
    assert_int_equal(cg_trust_remove(tu_ctx, tu_in("trust"), tu_in("twin1/root.pem")), CG_OK);
    X509 *twin2 = cg__cert_read_one(tu_in("twin2/root.pem"));
    char path[600];
    snprintf(path, sizeof(path), "%s/%08lx.0", tu_in("trust"), X509_subject_name_hash(twin2));
    X509 *slot0 = cg__cert_read_one(path);
    assert_non_null(slot0);
    assert_int_equal(X509_cmp(slot0, twin2), 0);
    X509_free(slot0);
    char fp[100];
    assert_int_equal(cg_cert_fingerprint(tu_in("twin2/root.pem"), fp, sizeof(fp)), CG_OK);
    assert_int_equal(cg_trust_remove(tu_ctx, tu_in("trust"), fp), CG_OK); /* by fingerprint */
    assert_int_equal(cg_trust_remove(tu_ctx, tu_in("trust"), fp), CG_ENOTFOUND);
    assert_int_equal(cg_trust_remove(tu_ctx, tu_in("trust"), "neither"), CG_EINVAL);
    X509_free(twin2);

    uint8_t pin[32], want[32];
    assert_int_equal(cg__cert_parse_sha256(fp, want), CG_OK);
    assert_int_equal(cg_trust_pin_get(tu_in("trust"), "peer", pin), CG_ENOTFOUND);
    assert_int_equal(cg_trust_pin(tu_ctx, tu_in("trust"), "peer", fp), CG_OK);
    assert_int_equal(cg_trust_pin(tu_ctx, tu_in("trust"), "peer:10541", fp), CG_OK);
    assert_int_equal(cg_trust_pin_get(tu_in("trust"), "peer", pin), CG_OK);
    assert_memory_equal(pin, want, 32);
    /* A new pin replaces the old one of that peer. */
    const char *other = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_int_equal(cg_trust_pin(tu_ctx, tu_in("trust"), "peer", other), CG_OK);
    assert_int_equal(cg_trust_pin_get(tu_in("trust"), "peer", pin), CG_OK);
    assert_int_equal(pin[1], 0x11);
    assert_int_equal(cg_trust_pin_get(tu_in("trust"), "peer:10541", pin), CG_OK);
    assert_memory_equal(pin, want, 32);
    assert_int_equal(cg_trust_pin_get(tu_in("trust"), "pee", pin), CG_ENOTFOUND);
    assert_int_equal(cg_trust_pin(tu_ctx, tu_in("trust"), "bad peer", other), CG_EINVAL);
    assert_int_equal(cg_trust_pin(tu_ctx, tu_in("trust"), "peer", "12"), CG_EINVAL);
    assert_int_equal(cg_trust_pin_get(tu_in("trust"), "", pin), CG_EINVAL);
    assert_int_equal(cg__cert_parse_sha256("zz", pin), CG_EINVAL);
}

static void test_keys_and_files(void **state)
{
    (void)state;
    struct cg_ca_init_opts o = {.passphrase = "s3cret", .key = CG_KEY_ECDSA};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("enc"), &o), CG_OK);
    struct cg_ca *ca = NULL;
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("enc"), "wrong", &ca), CG_EKEY);
    assert_true(tu_log_has(&tu_ctx_log, "wrong passphrase"));
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("enc"), NULL, &ca), CG_EKEY);
    assert_true(tu_log_has(&tu_ctx_log, "no passphrase given"));
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("enc"), "s3cret", &ca), CG_OK);
    cg_ca_free(ca);
    chmod(tu_in("enc/intermediate.key"), 0640);
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("enc"), "s3cret", &ca), CG_EPERM);
    assert_true(tu_log_has(&tu_ctx_log, "readable or writable by group/others"));
    /* Atomic writes: mode as asked, no temp file left on failure. */
    assert_int_equal(cg__cert_write_atomic(tu_in("f.txt"), "abc", 3, 0600), CG_OK);
    struct stat st;
    assert_int_equal(stat(tu_in("f.txt"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cg__cert_write_atomic(tu_in("no/such/dir/f.txt"), "abc", 3, 0600), CG_EIO);
    char small[8];
    assert_int_equal(cg__cert_path(small, sizeof(small), "directory", "name"), CG_ERANGE);
    assert_int_equal(cg_cert_fingerprint(tu_in("f.txt"), small, sizeof(small)), CG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_serials, setup),
        cmocka_unit_test_setup(test_db_parse_and_format, setup),
        cmocka_unit_test_setup(test_host_rules, setup),
        cmocka_unit_test_setup(test_issue_revoke_crl, setup),
        cmocka_unit_test_setup(test_broken_ca_folder, setup),
        cmocka_unit_test_setup(test_issue_refusals_and_failures, setup),
        cmocka_unit_test_setup(test_ocsp_answers, setup),
        cmocka_unit_test_setup(test_ocsp_delegated_signer, setup),
        cmocka_unit_test_setup(test_responder_live, setup),
        cmocka_unit_test_setup(test_store_install_and_expiry, setup),
        cmocka_unit_test_setup(test_trust_store_and_pins, setup),
        cmocka_unit_test_setup(test_keys_and_files, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, tu_group_ctx_rm);
}
