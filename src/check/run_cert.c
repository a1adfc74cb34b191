/* Certificates (B-10, B-11, B-13) and OCSP staples (B-12): one OpenSSL
 * handshake per key type, the client offering only that type's signature
 * algorithms, so a server with an RSA and an ECDSA certificate shows both. */
#include "check/check.h"

#include <arpa/inet.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

struct ktype {
    const char *name;
    const char *sigalgs;
    const char *ciphers; /* TLS 1.2 */
    int pkey_id;
    int min_bits;
};
static const struct ktype ktypes[] = {
    {"RSA", "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512",
     "aRSA", EVP_PKEY_RSA, 2048},
    {"ECDSA", "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512", "aECDSA", EVP_PKEY_EC, 256},
};

static enum cg_err add(struct cg_check_report *r, const char *id, enum cg_check_verdict v,
                       const struct ktype *k, const char *what, const char *ev)
{
    char w[128];
    snprintf(w, sizeof(w), "%s leaf: %s", k->name, what);
    return cg__check_add(r, id, v, w, "%s", ev);
}

/* One SAN entry as text: DNS names escaped (peer bytes; a NUL cannot cut one
 * short), IP addresses in their usual notation. "" for other kinds. */
static void san_text(const GENERAL_NAME *g, char *v, size_t vsz, bool *ip)
{
    v[0] = '\0';
    if (g->type == GEN_DNS) {
        char name[256];
        cg__log_escape(name, sizeof(name), (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                       (size_t)ASN1_STRING_length(g->d.dNSName));
        snprintf(v, vsz, "DNS:%s", name);
    } else if (g->type == GEN_IPADD) {
        int n = ASN1_STRING_length(g->d.iPAddress);
        char a[INET6_ADDRSTRLEN] = "?";
        if (n == 4 || n == 16)
            inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), a,
                      sizeof(a));
        snprintf(v, vsz, "IP:%s", a);
        *ip = true;
    }
}

static enum cg_err names(const struct cg_check_target *t, struct cg_check_report *r,
                         const struct ktype *k, X509 *leaf)
{
    char ev[1024] = "", cn[256] = "", rawcn[256] = "";
    size_t at = 0;
    struct cg_names nm = {0};
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int cnlen = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, rawcn,
                                          sizeof(rawcn));
    cg__log_escape(cn, sizeof(cn), rawcn, cnlen > 0 ? (size_t)cnlen : 0);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        char v[300];
        san_text(sk_GENERAL_NAME_value(gens, i), v, sizeof(v), &nm.ip);
        if (!v[0])
            continue;
        nm.wildcard |= cg__check_is_wildcard(v);
        nm.cn_in_san |= strncmp(v, "DNS:", 4) == 0 && strcmp(v + 4, cn) == 0;
        if (at < sizeof(ev))
            at += (size_t)snprintf(ev + at, sizeof(ev) - at, "%s%s", at ? ", " : "", v);
    }
    nm.no_san = !gens || sk_GENERAL_NAME_num(gens) == 0;
    GENERAL_NAMES_free(gens);
    nm.has_cn = cn[0] != '\0';
    nm.wildcard |= cg__check_is_wildcard(cn);
    nm.ip |= cg__check_is_ip(cn);
    char full[1400];
    snprintf(full, sizeof(full), "CN=%s; SAN %s", nm.has_cn ? cn : "(none)", nm.no_san ? "absent" : ev);
    return add(r, "B-11", cg__check_names_verdict(&nm, t->allow_wildcard, t->allow_ip), k,
               "SAN with every name, no wildcard, no IP", full);
}

/* B-11: the name the endpoint was reached by is in the certificate (apart
 * from the chain: a broken chain does not make the name wrong). */
static enum cg_err name_matches(const struct cg_check_target *t, struct cg_check_report *r,
                                const struct ktype *k, X509 *leaf)
{
    int m = t->sni_ok ? X509_check_host(leaf, t->host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL)
                      : X509_check_ip_asc(leaf, t->host, 0);
    char ev[300];
    snprintf(ev, sizeof(ev), "%s %s", t->host, m == 1 ? "matches" : "is not in CN/SAN");
    return add(r, "B-11", m == 1 ? CG_CHECK_PASS : CG_CHECK_FAIL, k, "valid for the host name", ev);
}

static enum cg_err key_and_dates(struct cg_check_report *r, const struct ktype *k, X509 *leaf)
{
    char ev[200];
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    int bits = pk ? EVP_PKEY_get_bits(pk) : 0;
    snprintf(ev, sizeof(ev), "%d-bit %s key", bits, k->name);
    CG_GUARD(add(r, "B-10", bits >= k->min_bits ? CG_CHECK_PASS : CG_CHECK_FAIL, k,
                 "key size", ev));
    int ld = 0, ls = 0, sd = 0, ss = 0;
    ASN1_TIME_diff(&ld, &ls, NULL, X509_get0_notAfter(leaf));
    ASN1_TIME_diff(&sd, &ss, X509_get0_notBefore(leaf), NULL);
    long long left = (long long)ld * 86400 + ls, since = (long long)sd * 86400 + ss;
    snprintf(ev, sizeof(ev), "%s%lld days left", since < 0 ? "not yet valid; " : "",
             left / 86400);
    return add(r, "B-10", cg__check_validity_verdict(left, since), k, "validity left", ev);
}

static enum cg_err revocation_urls(struct cg_check_report *r, const struct ktype *k, X509 *leaf)
{
    char ev[600] = "";
    STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(leaf);
    STACK_OF(DIST_POINT) *crl = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
    int nocsp = ocsp ? sk_OPENSSL_STRING_num(ocsp) : 0, ncrl = crl ? sk_DIST_POINT_num(crl) : 0;
    snprintf(ev, sizeof(ev), "OCSP %s; CRL distribution points: %d",
             nocsp ? sk_OPENSSL_STRING_value(ocsp, 0) : "none", ncrl);
    X509_email_free(ocsp);
    CRL_DIST_POINTS_free(crl);
    return add(r, "B-12", nocsp || ncrl ? CG_CHECK_PASS : CG_CHECK_FAIL, k,
               "revocation pointer (OCSP or CRL URL)", ev);
}

static time_t gtime(const ASN1_GENERALIZEDTIME *g)
{
    struct tm tm;
    return g && ASN1_TIME_to_tm(g, &tm) == 1 ? timegm(&tm) : 0;
}

/* The staple's state for leaf, its signature checked against the chain and roots. */
static enum cg_staple_state staple_state(SSL *ssl, X509 *leaf, time_t *tu, time_t *nu)
{
    const unsigned char *p;
    long n = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
    if (n <= 0 || !p)
        return CG_STAPLE_NONE;
    enum cg_staple_state st = CG_STAPLE_BAD;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, n);
    OCSP_BASICRESP *bs = resp && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL
                             ? OCSP_response_get1_basic(resp) : NULL;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
    X509 *issuer = chain && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
    OCSP_CERTID *id = issuer ? OCSP_cert_to_id(NULL, leaf, issuer) : NULL;
    int status, reason;
    ASN1_GENERALIZEDTIME *rev, *thisupd, *nextupd;
    if (bs && id && OCSP_basic_verify(bs, chain, store, 0) == 1 &&
        OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) == 1) {
        st = status == V_OCSP_CERTSTATUS_GOOD      ? CG_STAPLE_GOOD
             : status == V_OCSP_CERTSTATUS_REVOKED ? CG_STAPLE_REVOKED
                                                   : CG_STAPLE_UNKNOWN;
        *tu = gtime(thisupd);
        *nu = gtime(nextupd);
    }
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return st;
}

static enum cg_err one_type(const struct cg_check_target *t, struct cg_check_report *r,
                            const struct ktype *k)
{
    SSL *ssl = NULL;
    int fd = -1;
    char err[256], ev[300];
    enum cg_err rc = cg__check_tls_open(t, k->sigalgs, k->ciphers, &ssl, &fd, err, sizeof(err));
    if (rc == CG_EFILE || rc == CG_ENOMEM)
        return rc;
    X509 *leaf = rc == CG_OK ? SSL_get0_peer_certificate(ssl) : NULL;
    EVP_PKEY *pk = leaf ? X509_get0_pubkey(leaf) : NULL;
    bool right = pk && EVP_PKEY_get_base_id(pk) == k->pkey_id;
    snprintf(ev, sizeof(ev), "%s", rc != CG_OK ? err : right ? "served to a client offering only its signature algorithms" : "another key type served");
    CG_TRY(add(r, "B-13", right ? CG_CHECK_PASS : CG_CHECK_FAIL, k, "certificate offered", ev));
    if (!right)
        goto out;
    long vr = SSL_get_verify_result(ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    snprintf(ev, sizeof(ev), "%s; %d certificate(s) sent%s", X509_verify_cert_error_string(vr),
             chain ? sk_X509_num(chain) : 0, t->ca_file ? "" : "; no --ca: system roots");
    CG_TRY(add(r, "B-10", vr == X509_V_OK ? CG_CHECK_PASS : CG_CHECK_FAIL, k,
               "chain complete to the root", ev));
    CG_TRY(name_matches(t, r, k, leaf));
    CG_TRY(names(t, r, k, leaf));
    CG_TRY(key_and_dates(r, k, leaf));
    CG_TRY(revocation_urls(r, k, leaf));
    time_t tu = 0, nu = 0;
    enum cg_staple_state st = staple_state(ssl, leaf, &tu, &nu);
    enum cg_check_verdict v = cg__check_staple_verdict(st, tu, nu, time(NULL), ev, sizeof(ev));
    CG_TRY(add(r, "B-12", v, k, "OCSP staple present, good, fresh", ev));
out:
    cg__check_tls_close(ssl, fd);
    return rc == CG_EHANDSHAKE || rc == CG_ENET || rc == CG_ETIMEDOUT || rc == CG_ETLS ? CG_OK : rc;
}

enum cg_err cg__check_run_certs(const struct cg_check_target *t, struct cg_check_report *r)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(ktypes); i++)
        CG_GUARD(one_type(t, r, &ktypes[i]));
    return CG_OK;
}
