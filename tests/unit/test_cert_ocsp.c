/* OCSP, sans-I/O (src/cert/ocsp.c): the request parser, the answers built
 * from the CA database, and the GET form, checked field by field against
 * RFC 6960 (with RFC 5280 reason codes and RFC 4648 base64). The issuer and
 * its certificates are made in memory: no file, no socket. */
// CG_WRAP: OCSP_basic_sign
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static int fail_sign;
int __real_OCSP_basic_sign(OCSP_BASICRESP *b, X509 *s, EVP_PKEY *k, const EVP_MD *md,
                           STACK_OF(X509) *c, unsigned long f);
int __wrap_OCSP_basic_sign(OCSP_BASICRESP *b, X509 *s, EVP_PKEY *k, const EVP_MD *md,
                           STACK_OF(X509) *c, unsigned long f);
int __wrap_OCSP_basic_sign(OCSP_BASICRESP *b, X509 *s, EVP_PKEY *k, const EVP_MD *md,
                           STACK_OF(X509) *c, unsigned long f)
{
    return fail_sign ? 0 : __real_OCSP_basic_sign(b, s, k, md, c, f);
}

#define NOW 1767323045 /* 2026-01-02T03:04:05Z */

static EVP_PKEY *g_key;     /* the issuer's key (also the leaves': it does not matter here) */
static X509 *g_issuer;      /* self-signed CA */
static X509 *g_other;       /* another CA with the same subject name, another key */
static EVP_PKEY *g_other_key;

/* A certificate with serial (hex), signed by issuer (NULL: self-signed CA). */
static X509 *make_cert(const char *serial_hex, const char *cn, X509 *issuer, EVP_PKEY *key,
                       EVP_PKEY *pub)
{
    X509 *x = X509_new();
    BIGNUM *bn = NULL;
    assert_true(BN_hex2bn(&bn, serial_hex) > 0);
    ASN1_INTEGER *sn = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(X509_set_serialNumber(x, sn), 1);
    ASN1_INTEGER_free(sn);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pub);
    if (issuer == NULL) {
        X509V3_CTX v3;
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static int group_setup(void **state)
{
    (void)state;
    g_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    g_other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (g_key == NULL || g_other_key == NULL)
        return -1;
    g_issuer = make_cert("01", "OCSP Test CA", NULL, g_key, g_key);
    g_other = make_cert("02", "OCSP Test CA", NULL, g_other_key, g_other_key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    X509_free(g_issuer);
    X509_free(g_other);
    EVP_PKEY_free(g_key);
    EVP_PKEY_free(g_other_key);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    fail_sign = 0;
    ERR_clear_error();
    return 0;
}

static X509 *leaf(const char *serial_hex) { return make_cert(serial_hex, "leaf", g_issuer, g_key, g_key); }

/* ---- building requests ---- */

struct req {
    OCSP_REQUEST *r;
};

static void req_add(OCSP_REQUEST *r, X509 *x, X509 *issuer, const EVP_MD *md)
{
    OCSP_CERTID *id = OCSP_cert_to_id(md, x, issuer);
    assert_non_null(id);
    assert_non_null(OCSP_request_add0_id(r, id));
}

static uint8_t *req_der(OCSP_REQUEST *r, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_OCSP_REQUEST(r, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    return der;
}

/* A request for one certificate by serial, SHA-1 CertID (what clients send). */
static uint8_t *one_request(const char *serial_hex, size_t *len)
{
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    X509 *x = leaf(serial_hex);
    req_add(r, x, g_issuer, NULL);
    X509_free(x);
    uint8_t *der = req_der(r, len);
    OCSP_REQUEST_free(r);
    return der;
}

static void db_row(struct cg_db *db, char status, const char *serial, const char *revoked)
{
    struct cg_db_row r = {.status = status};
    snprintf(r.expires, sizeof(r.expires), "271226113639Z");
    snprintf(r.revoked, sizeof(r.revoked), "%s", revoked);
    snprintf(r.serial, sizeof(r.serial), "%s", serial);
    snprintf(r.subject, sizeof(r.subject), "/CN=leaf");
    assert_int_equal(cg__db_add(db, &r), CG_OK);
}

static const struct cg_ocsp_signer *signer(unsigned validity)
{
    static struct cg_ocsp_signer s;
    s = (struct cg_ocsp_signer){.issuer = g_issuer, .signer = g_issuer, .key = g_key,
                                .validity_s = validity};
    return &s;
}

/* Answers der and returns the parsed response (caller frees). */
static OCSP_RESPONSE *answer(const struct cg_ocsp_signer *s, const struct cg_db *db,
                             const uint8_t *der, size_t len, uint8_t **raw, size_t *raw_len)
{
    uint8_t *out = NULL;
    size_t olen = 0;
    assert_int_equal(cg__ocsp_answer(s, db, der, len, NOW, &out, &olen), CG_OK);
    assert_non_null(out);
    const unsigned char *q = out;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)olen);
    assert_non_null(resp);
    assert_ptr_equal(q, out + olen); /* exactly one DER structure */
    if (raw != NULL) {
        *raw = out;
        *raw_len = olen;
    } else {
        OPENSSL_free(out);
    }
    return resp;
}

/* ---- status-only responses: exact DER ---- */

/* RFC 6960 §4.2.1: OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED,
 * responseBytes [0] EXPLICIT OPTIONAL }. Without responseBytes the whole
 * response is 30 03 0A 01 <status>. */
static void expect_status_only(const uint8_t *der, size_t len, uint8_t status)
{
    struct cg_db db = {0};
    uint8_t *out = NULL;
    size_t olen = 0;
    assert_int_equal(cg__ocsp_answer(signer(600), &db, der, len, NOW, &out, &olen), CG_OK);
    const uint8_t want[] = {0x30, 0x03, 0x0a, 0x01, status};
    assert_int_equal(olen, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    OPENSSL_free(out);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    /* malformedRequest (1) */
    expect_status_only(NULL, 0, 1);
    expect_status_only((const uint8_t *)"junk", 4, 1);
    expect_status_only((const uint8_t *)"\x30\x00", 2, 1);       /* empty SEQUENCE */
    expect_status_only((const uint8_t *)"\x30\x80\x00\x00", 4, 1); /* BER indefinite length */
    size_t len = 0;
    uint8_t *der = one_request("0A", &len);
    expect_status_only(der, len - 1, 1); /* truncated */
    uint8_t *longer = malloc(len + 2);
    memcpy(longer, der, len);
    longer[len] = 0x00;
    longer[len + 1] = 0x00;
    expect_status_only(longer, len + 2, 1); /* trailing bytes */
    free(longer);
    OPENSSL_free(der);

    /* No certificate asked for: the requestList is empty. */
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    der = req_der(r, &len);
    expect_status_only(der, len, 1);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);

    /* CG_OCSP_MAX_SINGLE certificates are answered, one more is not. */
    r = OCSP_REQUEST_new();
    X509 *x = leaf("0A");
    for (int i = 0; i < CG_OCSP_MAX_SINGLE; i++)
        req_add(r, x, g_issuer, NULL);
    der = req_der(r, &len);
    struct cg_db db = {0};
    OCSP_RESPONSE *resp = answer(signer(600), &db, der, len, NULL, NULL);
    assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    assert_int_equal(OCSP_resp_count(bs), CG_OCSP_MAX_SINGLE);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    req_add(r, x, g_issuer, NULL);
    der = req_der(r, &len);
    expect_status_only(der, len, 1);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
    X509_free(x);

    /* More than 16 KiB is refused before it is parsed. */
    uint8_t *big = calloc(1, 16385);
    expect_status_only(big, 16385, 1);
    free(big);
}

static void test_parse_request(void **state)
{
    (void)state;
    OCSP_REQUEST *r = NULL;
    size_t len = 0;
    uint8_t *der = one_request("0A", &len);
    assert_int_equal(cg__ocsp_parse_request(der, len, &r), CG_OK);
    assert_non_null(r);
    assert_int_equal(OCSP_request_onereq_count(r), 1);
    OCSP_REQUEST_free(r);
    r = (OCSP_REQUEST *)1; /* *out is cleared on failure */
    assert_int_equal(cg__ocsp_parse_request(der, len - 1, &r), CG_EPROTO);
    assert_null(r);
    assert_int_equal(cg__ocsp_parse_request(der, 0, &r), CG_EPROTO);
    assert_int_equal(cg__ocsp_parse_request(NULL, len, &r), CG_EPROTO);
    OPENSSL_free(der);
    assert_int_equal(ERR_peek_error(), 0); /* no OpenSSL error left queued */
}

/* internalError (2) when signing fails, still a well-formed answer. */
static void test_internal_error(void **state)
{
    (void)state;
    struct cg_db db = {0};
    size_t len = 0;
    uint8_t *der = one_request("0A", &len);
    fail_sign = 1;
    expect_status_only(der, len, 2);
    fail_sign = 0;
    assert_int_equal(ERR_peek_error(), 0);
    OPENSSL_free(der);
    cg__db_free(&db);
    uint8_t *out = NULL;
    size_t olen = 0;
    assert_int_equal(cg__ocsp_answer(NULL, &db, NULL, 0, NOW, &out, &olen), CG_EINVAL);
    assert_int_equal(cg__ocsp_answer(signer(1), NULL, NULL, 0, NOW, &out, &olen), CG_EINVAL);
}

/* ---- successful answers ---- */

struct single {
    int status, reason;
    long long this_update, next_update, revoked_at;
};

static long long gt_secs(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;
    if (t == NULL)
        return -1;
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return (long long)timegm(&tm);
}

static struct single single_of(OCSP_BASICRESP *bs, int i)
{
    OCSP_SINGLERESP *one = OCSP_resp_get0(bs, i);
    assert_non_null(one);
    ASN1_GENERALIZEDTIME *rev = NULL, *tu = NULL, *nu = NULL;
    struct single s = {.reason = -99};
    s.status = OCSP_single_get0_status(one, &s.reason, &rev, &tu, &nu);
    s.this_update = gt_secs(tu);
    s.next_update = gt_secs(nu);
    s.revoked_at = gt_secs(rev);
    return s;
}

/* flags 0: the signer must be authorised for every CertID (it is their
 * issuer); OCSP_NOCHECKS for an answer about another CA's certificate. */
static OCSP_BASICRESP *basic_of_flags(OCSP_RESPONSE *resp, unsigned long flags)
{
    assert_int_equal(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
    assert_non_null(bs);
    /* Signed by the issuer itself (RFC 6960 §4.2.2.2, case 1). */
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, g_issuer);
    assert_int_equal(OCSP_basic_verify(bs, NULL, st, flags), 1);
    X509_STORE_free(st);
    return bs;
}

static OCSP_BASICRESP *basic_of(OCSP_RESPONSE *resp) { return basic_of_flags(resp, 0); }

static void test_good_revoked_unknown_in_order(void **state)
{
    (void)state;
    struct cg_db db = {0};
    db_row(&db, 'V', "0A", "");
    db_row(&db, 'R', "0B", "260101000000Z,keyCompromise");
    db_row(&db, 'E', "0C", ""); /* expired: still good, as openssl ocsp answers */
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    const char *serials[] = {"0A", "0B", "0D", "0C"};
    X509 *x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = leaf(serials[i]);
        req_add(r, x[i], g_issuer, NULL);
    }
    size_t len = 0;
    uint8_t *der = req_der(r, &len);
    OCSP_RESPONSE *resp = answer(signer(600), &db, der, len, NULL, NULL);
    OCSP_BASICRESP *bs = basic_of(resp);
    assert_int_equal(OCSP_resp_count(bs), 4);
    const int want[] = {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
                        V_OCSP_CERTSTATUS_UNKNOWN, V_OCSP_CERTSTATUS_GOOD};
    for (int i = 0; i < 4; i++) {
        struct single s = single_of(bs, i);
        assert_int_equal(s.status, want[i]);
        /* RFC 6960 §4.2.2.1: thisUpdate is when the status was known to be
         * right; nextUpdate the validity_s later. */
        assert_int_equal(s.this_update, NOW);
        assert_int_equal(s.next_update, NOW + 600);
        /* §4.2.1: the response names each certificate with the CertID of
         * the request, in the same order. */
        const OCSP_CERTID *got = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i));
        OCSP_CERTID *asked = OCSP_cert_to_id(NULL, x[i], g_issuer);
        assert_int_equal(OCSP_id_cmp(asked, got), 0);
        OCSP_CERTID_free(asked);
        X509_free(x[i]);
    }
    struct single s = single_of(bs, 1);
    assert_int_equal(s.revoked_at, 1767225600); /* 2026-01-01T00:00:00Z */
    assert_int_equal(s.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
    cg__db_free(&db);
}

/* The reason as stored after the revocation date; RFC 5280 §5.3.1: the code
 * unspecified (0) is sent as no reason at all. */
static void test_revocation_reasons(void **state)
{
    (void)state;
    static const struct {
        const char *revoked;
        int reason;
    } cases[] = {
        {"260101000000Z", OCSP_REVOKED_STATUS_NOSTATUS},
        {"260101000000Z,unspecified", OCSP_REVOKED_STATUS_NOSTATUS},
        {"260101000000Z,keyCompromise", 1},
        {"260101000000Z,CACompromise", 2},
        {"260101000000Z,affiliationChanged", 3},
        {"260101000000Z,superseded", 4},
        {"260101000000Z,cessationOfOperation", 5},
        {"260101000000Z,certificateHold", 6},
        {"260101000000Z,noSuchReason", OCSP_REVOKED_STATUS_NOSTATUS},
        {"20260101000000Z,superseded", 4}, /* GeneralizedTime form */
    };
    size_t len = 0;
    uint8_t *der = one_request("1F", &len);
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        struct cg_db db = {0};
        db_row(&db, 'R', "1F", cases[i].revoked);
        OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
        OCSP_BASICRESP *bs = basic_of(resp);
        struct single s = single_of(bs, 0);
        if (s.status != V_OCSP_CERTSTATUS_REVOKED || s.reason != cases[i].reason)
            fail_msg("%s: status %d reason %d", cases[i].revoked, s.status, s.reason);
        assert_int_equal(s.revoked_at, 1767225600);
        OCSP_BASICRESP_free(bs);
        OCSP_RESPONSE_free(resp);
        cg__db_free(&db);
    }
    /* A revoked row whose date cannot be read: not "good" (unknown). */
    struct cg_db db = {0};
    db_row(&db, 'R', "1F", "yesterday");
    OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
    OCSP_BASICRESP *bs = basic_of(resp);
    assert_int_equal(single_of(bs, 0).status, V_OCSP_CERTSTATUS_UNKNOWN);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    cg__db_free(&db);
    OPENSSL_free(der);
}

/* Serials as the database spells them: BN_bn2hex, "00" for zero. */
static void test_serial_forms(void **state)
{
    (void)state;
    static const struct {
        const char *cert_serial, *db_serial;
        int status;
    } cases[] = {
        {"0", "00", V_OCSP_CERTSTATUS_GOOD},
        {"7F", "7F", V_OCSP_CERTSTATUS_GOOD},
        {"80", "80", V_OCSP_CERTSTATUS_GOOD}, /* DER 02 02 00 80 */
        {"100", "0100", V_OCSP_CERTSTATUS_GOOD},
        {"70C6AF3B", "70C6AF3B", V_OCSP_CERTSTATUS_GOOD},
        {"0A", "0a", V_OCSP_CERTSTATUS_UNKNOWN}, /* the index is uppercase */
        {"0A", "A", V_OCSP_CERTSTATUS_UNKNOWN},
        /* 20 octets, the RFC 5280 §4.1.2.2 maximum */
        {"7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
         V_OCSP_CERTSTATUS_GOOD},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        struct cg_db db = {0};
        db_row(&db, 'V', cases[i].db_serial, "");
        size_t len = 0;
        uint8_t *der = one_request(cases[i].cert_serial, &len);
        OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
        OCSP_BASICRESP *bs = basic_of(resp);
        int got = single_of(bs, 0).status;
        if (got != cases[i].status)
            fail_msg("serial %s vs row %s: status %d", cases[i].cert_serial, cases[i].db_serial,
                     got);
        OCSP_BASICRESP_free(bs);
        OCSP_RESPONSE_free(resp);
        OPENSSL_free(der);
        cg__db_free(&db);
    }
    /* A serial longer than any the database can hold (21 octets): unknown. */
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    ASN1_INTEGER *sn = NULL;
    BIGNUM *bn = NULL;
    BN_hex2bn(&bn, "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    sn = BN_to_ASN1_INTEGER(bn, NULL);
    OCSP_CERTID *id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(g_issuer),
                                       X509_get0_pubkey_bitstr(g_issuer), sn);
    assert_non_null(OCSP_request_add0_id(r, id));
    size_t len = 0;
    uint8_t *der = req_der(r, &len);
    struct cg_db db = {0};
    db_row(&db, 'V', "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "");
    OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
    OCSP_BASICRESP *bs = basic_of(resp);
    assert_int_equal(single_of(bs, 0).status, V_OCSP_CERTSTATUS_UNKNOWN);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    cg__db_free(&db);
}

/* RFC 6960 §4.1.1: the client picks the hash of the CertID; the answer is
 * found with either, and only for our issuer (name AND key hash). */
static void test_certid_hashes_and_issuer(void **state)
{
    (void)state;
    struct cg_db db = {0};
    db_row(&db, 'V', "0A", "");
    X509 *x = leaf("0A");
    static const struct {
        const EVP_MD *(*md)(void);
        int status;
    } mds[] = {{EVP_sha1, V_OCSP_CERTSTATUS_GOOD}, {EVP_sha256, V_OCSP_CERTSTATUS_GOOD},
               {EVP_sha384, V_OCSP_CERTSTATUS_GOOD}, {EVP_sha512, V_OCSP_CERTSTATUS_GOOD}};
    for (size_t i = 0; i < CG_ARRAY_LEN(mds); i++) {
        OCSP_REQUEST *r = OCSP_REQUEST_new();
        req_add(r, x, g_issuer, mds[i].md());
        size_t len = 0;
        uint8_t *der = req_der(r, &len);
        OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
        OCSP_BASICRESP *bs = basic_of(resp);
        assert_int_equal(single_of(bs, 0).status, mds[i].status);
        /* The response's CertID keeps the client's hash algorithm. */
        ASN1_OBJECT *alg = NULL;
        OCSP_id_get0_info(NULL, &alg, NULL, NULL,
                          (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, 0)));
        assert_int_equal(OBJ_obj2nid(alg), EVP_MD_get_type(mds[i].md()));
        OCSP_BASICRESP_free(bs);
        OCSP_RESPONSE_free(resp);
        OPENSSL_free(der);
        OCSP_REQUEST_free(r);
    }
    /* Same issuer name, another key: not ours, unknown. */
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    req_add(r, x, g_other, NULL);
    size_t len = 0;
    uint8_t *der = req_der(r, &len);
    OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
    OCSP_BASICRESP *bs = basic_of_flags(resp, OCSP_NOCHECKS);
    assert_int_equal(single_of(bs, 0).status, V_OCSP_CERTSTATUS_UNKNOWN);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
    X509_free(x);
    cg__db_free(&db);
}

/* RFC 6960 §4.4.1: the nonce is echoed byte for byte; none asked, none sent. */
static void test_nonce_echo(void **state)
{
    (void)state;
    struct cg_db db = {0};
    db_row(&db, 'V', "0A", "");
    X509 *x = leaf("0A");
    const unsigned char nonce[] = "castgate-nonce-0123456789abcdef";
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    req_add(r, x, g_issuer, NULL);
    assert_int_equal(OCSP_request_add1_nonce(r, (unsigned char *)nonce, 32), 1);
    size_t len = 0;
    uint8_t *der = req_der(r, &len);
    OCSP_RESPONSE *resp = answer(signer(60), &db, der, len, NULL, NULL);
    OCSP_BASICRESP *bs = basic_of(resp);
    assert_int_equal(OCSP_check_nonce(r, bs), 1); /* present in both and equal */
    int idx = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1);
    assert_true(idx >= 0);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(bs, idx));
    /* extnValue = DER OCTET STRING of the nonce: 04 20 <32 bytes> */
    assert_int_equal(ASN1_STRING_length(v), 34);
    assert_int_equal(ASN1_STRING_get0_data(v)[0], 0x04);
    assert_int_equal(ASN1_STRING_get0_data(v)[1], 32);
    assert_memory_equal(ASN1_STRING_get0_data(v) + 2, nonce, 32);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);

    r = OCSP_REQUEST_new();
    req_add(r, x, g_issuer, NULL);
    der = req_der(r, &len);
    resp = answer(signer(60), &db, der, len, NULL, NULL);
    bs = basic_of(resp);
    assert_int_equal(OCSP_check_nonce(r, bs), 2); /* absent in both */
    assert_int_equal(OCSP_BASICRESP_get_ext_count(bs), 0);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    OCSP_REQUEST_free(r);
    X509_free(x);
    cg__db_free(&db);
}

/* validity_s 0 means one hour; the response type is id-pkix-ocsp-basic and
 * it carries the signer's certificate (for OCSP_basic_verify). */
static void test_validity_and_shape(void **state)
{
    (void)state;
    struct cg_db db = {0};
    db_row(&db, 'V', "0A", "");
    size_t len = 0, rlen = 0;
    uint8_t *raw = NULL;
    uint8_t *der = one_request("0A", &len);
    OCSP_RESPONSE *resp = answer(signer(0), &db, der, len, &raw, &rlen);
    /* 30 len 0A 01 00 A0 len 30 len 06 09 2B 06 01 05 05 07 30 01 01 (id-pkix-ocsp-basic) */
    const uint8_t basic_oid[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};
    assert_int_equal(raw[0], 0x30);
    size_t off = raw[1] & 0x80 ? 2u + (raw[1] & 0x7f) : 2u;
    assert_memory_equal(raw + off, "\x0a\x01\x00", 3); /* successful (0) */
    bool found = false;
    for (size_t i = off; i + sizeof(basic_oid) <= rlen && !found; i++)
        found = memcmp(raw + i, basic_oid, sizeof(basic_oid)) == 0;
    assert_true(found);
    OPENSSL_free(raw);
    OCSP_BASICRESP *bs = basic_of(resp);
    struct single s = single_of(bs, 0);
    assert_int_equal(s.next_update - s.this_update, 3600);
    const STACK_OF(X509) *certs = OCSP_resp_get0_certs(bs);
    assert_int_equal(sk_X509_num(certs), 1);
    assert_int_equal(X509_cmp(sk_X509_value(certs, 0), g_issuer), 0);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    /* A long validity is honoured as given. */
    resp = answer(signer(7 * 86400), &db, der, len, NULL, NULL);
    bs = basic_of(resp);
    assert_int_equal(single_of(bs, 0).next_update, NOW + 7 * 86400);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    OPENSSL_free(der);
    cg__db_free(&db);
}

/* ---- the GET form (RFC 6960 appendix A.1) ---- */

static void expect_get(const char *path, const char *want, size_t want_len)
{
    uint8_t *out = NULL;
    size_t n = 0;
    enum cg_err rc = cg__ocsp_decode_get(path, &out, &n);
    if (rc != CG_OK)
        fail_msg("%s: %s", path, cg_errname(rc));
    if (n != want_len || memcmp(out, want, n) != 0)
        fail_msg("%s: %zu bytes, want %zu", path, n, want_len);
    free(out);
}

static void expect_get_bad(const char *path)
{
    uint8_t *out = (uint8_t *)1;
    size_t n = 0;
    enum cg_err rc = cg__ocsp_decode_get(path, &out, &n);
    if (rc != CG_EPROTO)
        fail_msg("'%s': %s, want CG_EPROTO", path, cg_errname(rc));
    assert_null(out);
}

static void test_get_rfc4648_vectors(void **state)
{
    (void)state;
    /* RFC 4648 §10, with '=' percent-encoded as a URL carries it, and bare. */
    expect_get("/Zg%3D%3D", "f", 1);
    expect_get("/Zm8%3D", "fo", 2);
    expect_get("/Zm9v", "foo", 3);
    expect_get("/Zm9vYg%3D%3D", "foob", 4);
    expect_get("/Zm9vYmE%3D", "fooba", 5);
    expect_get("/Zm9vYmFy", "foobar", 6);
    expect_get("/Zg==", "f", 1);
    expect_get("/Zm9vYmE=", "fooba", 5);
    expect_get("Zm9vYmFy", "foobar", 6); /* the leading '/' is optional */
    /* '+' and '/' of the base64 alphabet: bytes fb ff bf, "+/+/" */
    expect_get("/%2B%2F%2B%2F", "\xfb\xff\xbf", 3);
    expect_get("/+/+/", "\xfb\xff\xbf", 3);   /* unencoded: '+' is not a space here */
    expect_get("/%2b%2f%2B%2F", "\xfb\xff\xbf", 3); /* lowercase hex */
    expect_get("/%2B%2F%2B%2FZm9v", "\xfb\xff\xbf" "foo", 6);
    expect_get("/AAAA", "\0\0\0", 3);
}

static void test_get_refusals(void **state)
{
    (void)state;
    expect_get_bad("/");
    expect_get_bad("");
    expect_get_bad("/Zg");      /* not a multiple of 4 */
    expect_get_bad("/Zg=");
    expect_get_bad("/Zm9vY");
    expect_get_bad("/Zm9v%");   /* a cut escape */
    expect_get_bad("/Zm9v%3");
    expect_get_bad("/Zm%G9v");  /* not hex */
    expect_get_bad("/Zm9v!!!!");
    expect_get_bad("/Zm 9vYmFy");
    expect_get_bad("/===="); /* padding only: no byte */
    expect_get_bad("/A===");
    expect_get_bad("/Zg==Zg=="); /* padding in the middle */
    expect_get_bad("/Z=g=");
    expect_get_bad("/Zm9v====");
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(cg__ocsp_decode_get(NULL, &out, &n), CG_EINVAL);
    assert_int_equal(cg__ocsp_decode_get("/Zm9v", NULL, &n), CG_EINVAL);
    /* Longer than a request can be (16 KiB of DER in base64): refused. */
    size_t big = 4 * 16384 / 3 * 3 + 16;
    char *path = malloc(big + 2);
    path[0] = '/';
    memset(path + 1, 'A', big);
    path[big + 1] = '\0';
    expect_get_bad(path);
    free(path);
}

/* A real request round-trips through the GET form. */
static void test_get_round_trip(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *der = one_request("70C6AF3B", &len);
    char b64[512], url[1024];
    int n = EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
    size_t u = 0;
    url[u++] = '/';
    for (int i = 0; i < n; i++)
        u += (size_t)(strchr("+/=", b64[i]) ? snprintf(url + u, 4, "%%%02X", b64[i])
                                            : snprintf(url + u, 2, "%c", b64[i]));
    expect_get(url, (const char *)der, len);
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_malformed_requests, setup),
        cmocka_unit_test_setup(test_parse_request, setup),
        cmocka_unit_test_setup(test_internal_error, setup),
        cmocka_unit_test_setup(test_good_revoked_unknown_in_order, setup),
        cmocka_unit_test_setup(test_revocation_reasons, setup),
        cmocka_unit_test_setup(test_serial_forms, setup),
        cmocka_unit_test_setup(test_certid_hashes_and_issuer, setup),
        cmocka_unit_test_setup(test_nonce_echo, setup),
        cmocka_unit_test_setup(test_validity_and_shape, setup),
        cmocka_unit_test_setup(test_get_rfc4648_vectors, setup),
        cmocka_unit_test_setup(test_get_refusals, setup),
        cmocka_unit_test_setup(test_get_round_trip, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
