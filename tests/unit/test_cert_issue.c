/* What the CA (src/cert/ca.c) puts into the certificates and CRLs it signs,
 * extension by extension (RFC 5280 §4.2, §5; RFC 6960 §4.2.2.2 for the OCSP
 * signer; BCP-003-01 B-11/B-12), and which revocation reasons it takes. The
 * CA is made once in a temp dir; the checks read the files back. */
#include "cert/cert.h"
#include "testutil.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct cg_ca *g_ca;

static int group_setup(void **state)
{
    if (tu_group_ctx(state) != 0)
        return -1;
    struct cg_ca_init_opts o = {.name = "Issue", .ocsp_url = "http://ocsp.example:8888/",
                                .crl_url = "http://crl.example/issue.crl"};
    if (cg_ca_init(tu_ctx, tu_in("ca"), &o) != CG_OK ||
        cg_ca_open(tu_ctx, tu_in("ca"), NULL, &g_ca) != CG_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    cg_ca_free(g_ca);
    return tu_group_ctx_rm(state);
}

static X509 *issue(const char *const *hosts, size_t n, enum cg_key_type t, unsigned days,
                   bool ip, const char *dir, char serial[64])
{
    struct cg_issue_opts o = {.hosts = hosts, .nhosts = n, .type = t, .days = days,
                              .allow_ip = ip};
    assert_int_equal(cg_ca_issue(g_ca, &o, tu_in(dir), serial, 64), CG_OK);
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", tu_in(dir),
             t == CG_KEY_RSA ? "server-rsa.pem" : "server-ecdsa.pem");
    X509 *x = cg__cert_read_one(path);
    assert_non_null(x);
    return x;
}

static bool ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    assert_true(i >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

static long long secs(const ASN1_TIME *t)
{
    struct tm tm;
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return (long long)timegm(&tm);
}

/* SKI of the issuer == AKI keyid of the subject (RFC 5280 §4.2.1.1). */
static void assert_aki_matches(X509 *x, X509 *issuer)
{
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
    assert_non_null(aki);
    assert_non_null(ski);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, ski), 0);
}

/* ---- leaves ---- */

static void test_leaf_ecdsa(void **state)
{
    (void)state;
    const char *hosts[] = {"mos.example", "alt.example"};
    char serial[64];
    X509 *x = issue(hosts, 2, CG_KEY_ECDSA, 0, false, "leaf-ec", serial);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    /* RFC 5280 §4.2.1.9: an end entity: CA:FALSE, critical. */
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(ext_critical(x, NID_basic_constraints));
    /* §4.2.1.3: an ECDSA key only signs: digitalSignature alone, critical. */
    assert_true(X509_get_extension_flags(x) & EXFLAG_KUSAGE);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_true(ext_critical(x, NID_key_usage));
    /* §4.2.1.12: TLS server and client (MOS peers dial each other). */
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    assert_false(ext_critical(x, NID_ext_key_usage));
    /* CN is the first host, every host is a dNSName in order. */
    char cn[128];
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof(cn)) > 0);
    assert_string_equal(cn, "mos.example");
    struct cg_cert_info info;
    memset(&info, 0, sizeof(info));
    cg__cert_info_fill(x, &info);
    assert_string_equal(info.sans, "DNS:mos.example, DNS:alt.example");
    assert_string_equal(info.serial, serial);
    assert_string_equal(info.key_desc, "ECDSA prime256v1");
    assert_string_equal(info.subject, "/CN=mos.example");
    /* Issued by the intermediate, whose SKI it names. */
    assert_int_equal(X509_check_issued(g_ca->inter, x), X509_V_OK);
    assert_aki_matches(x, g_ca->inter);
    assert_non_null(X509_get0_subject_key_id(x));
    /* 397 days (0 = default), from five minutes ago. */
    long long nb = secs(X509_get0_notBefore(x)), na = secs(X509_get0_notAfter(x));
    assert_int_equal(na - nb, 397LL * 86400);
    long long now = (long long)time(NULL);
    assert_true(nb <= now - 290 && nb >= now - 310);
    /* ecdsa-with-SHA256 */
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    /* B-12: where to ask (AIA OCSP) and where the CRL is (CDP). */
    STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(x);
    assert_int_equal(sk_OPENSSL_STRING_num(ocsp), 1);
    assert_string_equal(sk_OPENSSL_STRING_value(ocsp, 0), "http://ocsp.example:8888/");
    X509_email_free(ocsp);
    STACK_OF(DIST_POINT) *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    assert_int_equal(sk_DIST_POINT_num(cdp), 1);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0);
    assert_int_equal(g->type, GEN_URI);
    assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                        "http://crl.example/issue.crl");
    sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
    /* The database row: valid, the certificate's notAfter, its subject. */
    struct cg_db db;
    char dbp[600];
    assert_int_equal(cg__ca_db_path(g_ca, dbp, sizeof(dbp)), CG_OK);
    assert_int_equal(cg__db_load(dbp, &db, NULL), CG_OK);
    struct cg_db_row *r = cg__db_find(&db, serial);
    assert_non_null(r);
    assert_int_equal(r->status, 'V');
    assert_string_equal(r->subject, "/CN=mos.example");
    assert_int_equal(strlen(r->expires), 13); /* UTCTime until 2049 */
    assert_memory_equal(r->expires, ASN1_STRING_get0_data(X509_get0_notAfter(x)), 13);
    cg__db_free(&db);
    X509_free(x);
}

static void test_leaf_rsa_and_ips(void **state)
{
    (void)state;
    const char *hosts[] = {"rsa.example", "192.0.2.7", "2001:db8::7"};
    char serial[64];
    X509 *x = issue(hosts, 3, CG_KEY_RSA, 30, true, "leaf-rsa", serial);
    /* RSA key transport is allowed: keyEncipherment as well. */
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
    /* Addresses go in as iPAddress (4 and 16 octets), not dNSName. */
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, 0);
    assert_int_equal(g->type, GEN_DNS);
    g = sk_GENERAL_NAME_value(gens, 1);
    assert_int_equal(g->type, GEN_IPADD);
    assert_int_equal(ASN1_STRING_length(g->d.iPAddress), 4);
    assert_memory_equal(ASN1_STRING_get0_data(g->d.iPAddress), "\xc0\x00\x02\x07", 4);
    g = sk_GENERAL_NAME_value(gens, 2);
    assert_int_equal(g->type, GEN_IPADD);
    assert_int_equal(ASN1_STRING_length(g->d.iPAddress), 16);
    assert_memory_equal(ASN1_STRING_get0_data(g->d.iPAddress),
                        "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16);
    GENERAL_NAMES_free(gens);
    struct cg_cert_info info;
    cg__cert_info_fill(x, &info);
    assert_string_equal(info.sans, "DNS:rsa.example, IP:192.0.2.7, IP:(v6)");
    assert_string_equal(info.key_desc, "RSA-2048");
    assert_int_equal(X509_check_ip_asc(x, "192.0.2.7", 0), 1);
    assert_int_equal(X509_check_host(x, "192.0.2.7", 0, 0, NULL), 0); /* not a DNS name */
    assert_int_equal(secs(X509_get0_notAfter(x)) - secs(X509_get0_notBefore(x)), 30LL * 86400);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256); /* the CA is ECDSA */
    X509_free(x);
}

static void test_leaf_files(void **state)
{
    (void)state;
    const char *hosts[] = {"files.example"};
    char serial[64];
    X509 *x = issue(hosts, 1, CG_KEY_ECDSA, 0, false, "leaf-files", serial);
    /* The chain is leaf + intermediate; the copy under certs/ is the leaf. */
    STACK_OF(X509) *chain = NULL;
    assert_int_equal(cg__cert_read_certs(tu_ctx, tu_in("leaf-files/server-ecdsa.chain.pem"), &chain),
                     CG_OK);
    assert_int_equal(sk_X509_num(chain), 2);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), x), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), g_ca->inter), 0);
    sk_X509_pop_free(chain, X509_free);
    char copy[128];
    snprintf(copy, sizeof(copy), "ca/certs/%s.pem", serial);
    X509 *c = cg__cert_read_one(tu_in(copy));
    assert_non_null(c);
    assert_int_equal(X509_cmp(c, x), 0);
    X509_free(c);
    /* The key matches and is private (B-13). */
    EVP_PKEY *k = NULL;
    assert_int_equal(cg__cert_read_key(tu_ctx, tu_in("leaf-files/server-ecdsa.key"), NULL, &k),
                     CG_OK);
    assert_int_equal(X509_check_private_key(x, k), 1);
    EVP_PKEY_free(k);
    assert_int_equal(cg__check_private_file(tu_in("leaf-files/server-ecdsa.key")), CG_OK);
    X509_free(x);
}

/* ---- the CA's own certificates ---- */

static void test_root_and_intermediate(void **state)
{
    (void)state;
    X509 *root = g_ca->root, *inter = g_ca->inter;
    /* Root: self-signed CA, keyCertSign + cRLSign only, no path length. */
    assert_int_equal(X509_check_issued(root, root), X509_V_OK);
    assert_int_equal(X509_check_ca(root), 1);
    assert_true(ext_critical(root, NID_basic_constraints));
    assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(X509_get_pathlen(root), -1);
    assert_int_equal(secs(X509_get0_notAfter(root)) - secs(X509_get0_notBefore(root)),
                     3650LL * 86400);
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(root), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Issue Root CA");
    /* Intermediate: CA with pathlen 0 (issues leaves only), and
     * digitalSignature because it signs OCSP answers itself. */
    assert_int_equal(X509_check_issued(root, inter), X509_V_OK);
    assert_int_equal(X509_check_ca(inter), 1);
    assert_int_equal(X509_get_pathlen(inter), 0);
    assert_int_equal(X509_get_key_usage(inter), KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_true(ext_critical(inter, NID_key_usage));
    assert_aki_matches(inter, root);
    assert_int_equal(secs(X509_get0_notAfter(inter)) - secs(X509_get0_notBefore(inter)),
                     1825LL * 86400);
    X509_NAME_get_text_by_NID(X509_get_subject_name(inter), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Issue Issuing CA");
    /* A leaf verifies through the chain. */
    const char *hosts[] = {"chain.example"};
    char serial[64];
    X509 *x = issue(hosts, 1, CG_KEY_ECDSA, 0, false, "leaf-chain", serial);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, root);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, inter);
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    X509_STORE_CTX_init(sc, st, x, untrusted);
    X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_SERVER);
    assert_int_equal(X509_verify_cert(sc), 1);
    X509_STORE_CTX_free(sc);
    sk_X509_free(untrusted);
    X509_STORE_free(st);
    X509_free(x);
}

/* RFC 6960 §4.2.2.2: issued by the CA, id-kp-OCSPSigning; §4.2.2.2.1:
 * id-pkix-ocsp-nocheck. */
static void test_ocsp_signer(void **state)
{
    (void)state;
    assert_int_equal(cg_ca_issue_ocsp_signer(g_ca, tu_in("signer"), 0), CG_OK);
    X509 *x = cg__cert_read_one(tu_in("signer/ocsp-signer.pem"));
    assert_non_null(x);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_OCSP_SIGN);
    assert_true(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0);
    assert_int_equal(X509_check_issued(g_ca->inter, x), X509_V_OK);
    assert_aki_matches(x, g_ca->inter);
    assert_int_equal(secs(X509_get0_notAfter(x)) - secs(X509_get0_notBefore(x)), 90LL * 86400);
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "Issue OCSP Signer");
    X509_free(x);
    assert_int_equal(cg__check_private_file(tu_in("signer/ocsp-signer.key")), CG_OK);
}

/* ---- revocation and the CRL ---- */

/* The reasonCode entry extension's DER value, or "" when absent. */
static int crl_reason(const X509_REVOKED *rev)
{
    int crit = 0;
    ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
    if (e == NULL)
        return -1;
    assert_int_equal(crit, 0); /* RFC 5280 §5.3.1: non-critical */
    int idx = X509_REVOKED_get_ext_by_NID(rev, NID_crl_reason, -1);
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_REVOKED_get_ext(rev, idx));
    long code = ASN1_ENUMERATED_get(e);
    /* CRLReason ::= ENUMERATED: 0A 01 <code> */
    assert_int_equal(ASN1_STRING_length(v), 3);
    assert_memory_equal(ASN1_STRING_get0_data(v), ((const uint8_t[]){0x0a, 0x01, (uint8_t)code}), 3);
    ASN1_ENUMERATED_free(e);
    return (int)code;
}

static X509_CRL *read_crl(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    assert_non_null(bio);
    X509_CRL *crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(crl);
    return crl;
}

static const X509_REVOKED *crl_find(X509_CRL *crl, const char *serial)
{
    STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
    for (int i = 0; i < sk_X509_REVOKED_num(revs); i++) {
        const X509_REVOKED *r = sk_X509_REVOKED_value(revs, i);
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
        char *h = BN_bn2hex(bn);
        bool same = strcmp(h, serial) == 0;
        OPENSSL_free(h);
        BN_free(bn);
        if (same)
            return r;
    }
    return NULL;
}

static long crl_number(X509_CRL *crl)
{
    ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    assert_non_null(n);
    long v = ASN1_INTEGER_get(n);
    ASN1_INTEGER_free(n);
    return v;
}

static void test_revoke_reasons_and_crl(void **state)
{
    (void)state;
    const char *hosts[] = {"r.example"};
    char s[7][64];
    const int reasons[] = {0, 1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 7; i++) {
        X509 *x = issue(hosts, 1, CG_KEY_ECDSA, 0, false, "leaf-r", s[i]);
        X509_free(x);
        assert_int_equal(cg_ca_revoke(g_ca, s[i], reasons[i]), CG_OK);
    }
    char keep[64];
    X509 *good = issue(hosts, 1, CG_KEY_ECDSA, 0, false, "leaf-r", keep);
    X509_free(good);
    assert_int_equal(cg_ca_write_crl(g_ca, tu_in("one.crl"), 0), CG_OK);
    assert_int_equal(cg_ca_write_crl(g_ca, tu_in("two.crl"), 30), CG_OK);
    X509_CRL *crl = read_crl(tu_in("one.crl"));
    /* RFC 5280 §5.1.2.1: v2 (it has extensions); signed by the intermediate. */
    assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(g_ca->inter)),
                     0);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(g_ca->inter)), 1);
    assert_int_equal(secs(X509_CRL_get0_nextUpdate(crl)) - secs(X509_CRL_get0_lastUpdate(crl)),
                     7LL * 86400);
    for (int i = 0; i < 7; i++) {
        const X509_REVOKED *r = crl_find(crl, s[i]);
        if (r == NULL)
            fail_msg("serial %s (reason %d) missing from the CRL", s[i], reasons[i]);
        /* §5.3.1: unspecified (0) SHOULD be absent. */
        assert_int_equal(crl_reason(r), reasons[i] == 0 ? -1 : reasons[i]);
        long long when = secs(X509_REVOKED_get0_revocationDate(r));
        assert_true(when <= (long long)time(NULL) && when > (long long)time(NULL) - 600);
    }
    assert_null(crl_find(crl, keep));
    /* §5.2.3: the CRL number grows by one per CRL. */
    long n1 = crl_number(crl);
    X509_CRL *crl2 = read_crl(tu_in("two.crl"));
    assert_int_equal(crl_number(crl2), n1 + 1);
    assert_int_equal(secs(X509_CRL_get0_nextUpdate(crl2)) - secs(X509_CRL_get0_lastUpdate(crl2)),
                     30LL * 86400);
    X509_CRL_free(crl2);
    X509_CRL_free(crl);
    /* The database spells the reasons as openssl ca does. */
    struct cg_db db;
    char dbp[600];
    assert_int_equal(cg__ca_db_path(g_ca, dbp, sizeof(dbp)), CG_OK);
    assert_int_equal(cg__db_load(dbp, &db, NULL), CG_OK);
    assert_null(strchr(cg__db_find(&db, s[0])->revoked, ','));
    assert_non_null(strstr(cg__db_find(&db, s[5])->revoked, ",cessationOfOperation"));
    assert_int_equal(strlen(cg__db_find(&db, s[5])->revoked), 13 + 1 + 20);
    assert_int_equal(cg__db_find(&db, keep)->status, 'V');
    cg__db_free(&db);
}

/* Which codes revoke takes. RFC 5280 §5.3.1: 7 is unused, and
 * removeFromCRL (8) "may only appear in delta CRLs" — it un-revokes, so it is
 * no reason to revoke a certificate with. */
static void test_revoke_refusals(void **state)
{
    (void)state;
    const char *hosts[] = {"refuse.example"};
    char s[64];
    X509 *x = issue(hosts, 1, CG_KEY_ECDSA, 0, false, "leaf-ref", s);
    X509_free(x);
    const int bad[] = {-1, 7, 8, 9, 10, 11, 1000};
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++)
        if (cg_ca_revoke(g_ca, s, bad[i]) != CG_EINVAL)
            fail_msg("reason %d accepted", bad[i]);
    assert_int_equal(cg_ca_revoke(g_ca, "not hex", 0), CG_EINVAL);
    assert_int_equal(cg_ca_revoke(g_ca, NULL, 0), CG_EINVAL);
    assert_int_equal(cg_ca_revoke(NULL, s, 0), CG_EINVAL);
    assert_int_equal(cg_ca_revoke(g_ca, "0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 1), CG_ENOTFOUND);
    /* Nothing above touched it: still valid. Then the user's spelling
     * (lowercase, 0x, colons) finds it. */
    struct cg_db db;
    char dbp[600];
    assert_int_equal(cg__ca_db_path(g_ca, dbp, sizeof(dbp)), CG_OK);
    assert_int_equal(cg__db_load(dbp, &db, NULL), CG_OK);
    assert_int_equal(cg__db_find(&db, s)->status, 'V');
    cg__db_free(&db);
    char spelled[80] = "0x";
    for (size_t i = 0; s[i]; i++) {
        size_t n = strlen(spelled);
        spelled[n] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
        spelled[n + 1] = (i % 2 == 1 && s[i + 1]) ? ':' : '\0';
        spelled[n + 2] = '\0';
    }
    assert_int_equal(cg_ca_revoke(g_ca, spelled, 4), CG_OK);
    assert_int_equal(cg__db_load(dbp, &db, NULL), CG_OK);
    assert_int_equal(cg__db_find(&db, s)->status, 'R');
    assert_non_null(strstr(cg__db_find(&db, s)->revoked, ",superseded"));
    cg__db_free(&db);
}

/* Init refuses URLs that are not http:// (B-12: OCSP and CRLs are signed,
 * so plain HTTP, and nothing else) and multi-line names. */
static void test_init_refusals(void **state)
{
    (void)state;
    struct cg_ca_init_opts o = {.ocsp_url = "https://ocsp.example/"};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("bad1"), &o), CG_EINVAL);
    o = (struct cg_ca_init_opts){.crl_url = "ftp://crl.example/x.crl"};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("bad2"), &o), CG_EINVAL);
    o = (struct cg_ca_init_opts){.name = "two\nlines"};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("bad3"), &o), CG_EINVAL);
    char longname[120];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    o = (struct cg_ca_init_opts){.name = longname};
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("bad4"), &o), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "must be http:// URLs"));
    assert_int_equal(cg_ca_init(tu_ctx, NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_ca_init(tu_ctx, tu_in("ca"), NULL), CG_EEXIST);
    struct cg_ca *ca = NULL;
    assert_int_equal(cg_ca_open(tu_ctx, tu_in("bad1"), NULL, &ca), CG_EFILE); /* nothing made */
    assert_int_equal(cg_ca_open(tu_ctx, NULL, NULL, &ca), CG_EINVAL);
}

/* B-11 reaches issuing: a refused name is logged escaped, nothing issued. */
static void test_issue_refusals(void **state)
{
    (void)state;
    const char *ip[] = {"192.0.2.9"};
    struct cg_issue_opts o = {.hosts = ip, .nhosts = 1};
    assert_int_equal(cg_ca_issue(g_ca, &o, tu_in("nope"), NULL, 0), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "refusing host '192.0.2.9': IP addresses"));
    const char *ctl[] = {"ok.example", "bad\x1b[2J.example"};
    o = (struct cg_issue_opts){.hosts = ctl, .nhosts = 2};
    assert_int_equal(cg_ca_issue(g_ca, &o, tu_in("nope"), NULL, 0), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "refusing host 'bad\\x1b[2J.example'"));
    o = (struct cg_issue_opts){.hosts = NULL, .nhosts = 1};
    assert_int_equal(cg_ca_issue(g_ca, &o, tu_in("nope"), NULL, 0), CG_EINVAL);
    assert_true(tu_log_has(&tu_ctx_log, "at least one --host"));
    assert_int_equal(cg_ca_issue(NULL, &o, tu_in("nope"), NULL, 0), CG_EINVAL);
    assert_int_equal(cg_ca_issue(g_ca, NULL, tu_in("nope"), NULL, 0), CG_EINVAL);
    /* A serial buffer too small is left alone rather than overrun. */
    const char *ok[] = {"small.example"};
    o = (struct cg_issue_opts){.hosts = ok, .nhosts = 1};
    char small[8] = "untouch";
    assert_int_equal(cg_ca_issue(g_ca, &o, tu_in("small"), small, sizeof(small)), CG_OK);
    assert_string_equal(small, "untouch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_leaf_ecdsa, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_leaf_rsa_and_ips, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_leaf_files, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_root_and_intermediate, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_ocsp_signer, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_revoke_reasons_and_crl, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_revoke_refusals, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_init_refusals, tu_ctx_log_reset),
        cmocka_unit_test_setup(test_issue_refusals, tu_ctx_log_reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
