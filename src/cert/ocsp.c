/* OCSP answers (RFC 6960), sans-I/O: a DER request and the CA database in,
 * a signed DER response out. responder.c moves the bytes. */
#include "cert/cert.h"
#include "http/http.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#define CG_OCSP_MAX_REQUEST 16384

enum cg_err cg__ocsp_parse_request(const uint8_t *der, size_t len, OCSP_REQUEST **out)
{
    *out = NULL;
    CG_CHECK(der != NULL && len > 0 && len <= CG_OCSP_MAX_REQUEST, CG_EPROTO);
    const unsigned char *p = der;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    if (req == NULL) {
        ERR_clear_error();
        return CG_EPROTO;
    }
    /* Trailing bytes after the DER structure: not a request. */
    int n = OCSP_request_onereq_count(req);
    if (p != der + len || n < 1 || n > CG_OCSP_MAX_SINGLE) {
        OCSP_REQUEST_free(req);
        return CG_EPROTO;
    }
    *out = req;
    return CG_OK;
}

/* A response of status (with bs for a successful one, else NULL) as DER. */
static enum cg_err response_der(int status, OCSP_BASICRESP *bs, uint8_t **out, size_t *out_len)
{
    OCSP_RESPONSE *r = OCSP_response_create(status, bs);
    CG_CHECK(r != NULL, CG_ENOMEM);
    unsigned char *der = NULL;
    int n = i2d_OCSP_RESPONSE(r, &der);
    OCSP_RESPONSE_free(r);
    CG_CHECK(n > 0, CG_ENOMEM);
    *out = der;
    *out_len = (size_t)n;
    return CG_OK;
}

/* Does cid name a certificate of our issuer? Compared with the hash
 * algorithm the client chose (SHA-1 usually), as RFC 6960 §4.1.1 allows. */
static bool ours(const struct cg_ocsp_signer *s, OCSP_CERTID *cid)
{
    ASN1_OBJECT *alg = NULL;
    if (OCSP_id_get0_info(NULL, &alg, NULL, NULL, cid) != 1 || alg == NULL)
        return false;
    const EVP_MD *md = EVP_get_digestbyobj(alg);
    if (md == NULL)
        return false;
    OCSP_CERTID *mine = OCSP_cert_to_id(md, NULL, s->issuer);
    bool same = mine != NULL && OCSP_id_issuer_cmp(mine, cid) == 0;
    OCSP_CERTID_free(mine);
    return same;
}

static enum cg_err serial_hex(OCSP_CERTID *cid, char out[CG_CERT_MAX_SERIAL_HEX])
{
    ASN1_INTEGER *serial = NULL;
    CG_CHECK(OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) == 1 && serial != NULL,
             CG_EPROTO);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    CG_CHECK(bn != NULL, CG_EPROTO);
    char *h = BN_is_zero(bn) ? OPENSSL_strdup("00") : BN_bn2hex(bn);
    BN_free(bn);
    CG_CHECK(h != NULL, CG_ENOMEM);
    enum cg_err rc = strlen(h) < CG_CERT_MAX_SERIAL_HEX ? CG_OK : CG_ERANGE;
    if (rc == CG_OK)
        memcpy(out, h, strlen(h) + 1);
    OPENSSL_free(h);
    return rc;
}

static enum cg_err revoked_info(const struct cg_db_row *r, ASN1_TIME **when, int *reason)
{
    char t[16];
    size_t n = strcspn(r->revoked, ",");
    CG_CHECK(n < sizeof(t), CG_EFILE);
    memcpy(t, r->revoked, n);
    t[n] = '\0';
    *reason = r->revoked[n] == ',' ? cg__db_reason_code(r->revoked + n + 1) : -1;
    if (*reason == 0)
        *reason = -1; /* unspecified: no reason element (RFC 5280 §5.3.1) */
    *when = ASN1_TIME_new();
    CG_CHECK(*when != NULL, CG_ENOMEM);
    if (ASN1_TIME_set_string(*when, t) != 1) {
        ASN1_TIME_free(*when);
        *when = NULL;
        return CG_EFILE;
    }
    return CG_OK;
}

static enum cg_err answer_one(const struct cg_ocsp_signer *s, const struct cg_db *db,
                              OCSP_BASICRESP *bs, OCSP_CERTID *cid, ASN1_TIME *now,
                              ASN1_TIME *next)
{
    char hex[CG_CERT_MAX_SERIAL_HEX];
    const struct cg_db_row *r = NULL;
    if (ours(s, cid) && serial_hex(cid, hex) == CG_OK)
        r = cg__db_find(db, hex);
    int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = -1;
    ASN1_TIME *when = NULL;
    if (r != NULL && r->status == 'R' && revoked_info(r, &when, &reason) == CG_OK)
        status = V_OCSP_CERTSTATUS_REVOKED;
    else if (r != NULL && r->status != 'R')
        status = V_OCSP_CERTSTATUS_GOOD; /* 'E' (expired) stays good, as openssl ocsp does */
    OCSP_SINGLERESP *one = OCSP_basic_add1_status(bs, cid, status, reason, when, now, next);
    ASN1_TIME_free(when);
    return one != NULL ? CG_OK : CG_ENOMEM;
}

static enum cg_err sign_response(const struct cg_ocsp_signer *s, OCSP_BASICRESP *bs,
                                 uint8_t **out, size_t *out_len)
{
    /* The issuer itself signs (RFC 6960 §4.2.2.2 case 1) or a delegated
     * signer. The signer's certificate goes into the response either way, as
     * openssl ocsp does: verifiers (OCSP_basic_verify) look for it there. */
    CG_CHECK(OCSP_basic_sign(bs, s->signer, s->key, EVP_sha256(), NULL, 0) == 1, CG_ETLS);
    return response_der(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs, out, out_len);
}

enum cg_err cg__ocsp_answer(const struct cg_ocsp_signer *s, const struct cg_db *db,
                            const uint8_t *der, size_t len, time_t now_t, uint8_t **out,
                            size_t *out_len)
{
    enum cg_err rc = CG_OK;
    OCSP_REQUEST *req = NULL;
    OCSP_BASICRESP *bs = NULL;
    ASN1_TIME *now = NULL, *next = NULL;
    CG_CHECK(s != NULL && db != NULL && out != NULL && out_len != NULL, CG_EINVAL);
    *out = NULL;
    if (cg__ocsp_parse_request(der, len, &req) != CG_OK)
        return response_der(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, NULL, out, out_len);
    bs = OCSP_BASICRESP_new();
    now = ASN1_TIME_set(NULL, now_t);
    next = ASN1_TIME_set(NULL, now_t + (time_t)(s->validity_s ? s->validity_s : 3600));
    CG_ENSURE(bs != NULL && now != NULL && next != NULL, CG_ENOMEM);
    int n = OCSP_request_onereq_count(req);
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
        CG_TRY(answer_one(s, db, bs, cid, now, next));
    }
    /* RFC 6960 §4.4.1: echo the nonce (returns 2 when the request has none). */
    CG_ENSURE(OCSP_copy_nonce(bs, req) > 0, CG_ENOMEM);
    CG_TRY(sign_response(s, bs, out, out_len));
out:
    if (rc != CG_OK) {
        ERR_clear_error();
        rc = response_der(OCSP_RESPONSE_STATUS_INTERNALERROR, NULL, out, out_len);
    }
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(req);
    return rc;
}

/* RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER}. */
enum cg_err cg__ocsp_decode_get(const char *path, uint8_t **out, size_t *out_len)
{
    enum cg_err rc = CG_OK;
    CG_CHECK(path != NULL && out != NULL && out_len != NULL, CG_EINVAL);
    *out = NULL;
    /* The responder lives at "/": everything after it is the request (an
     * unencoded '/' of base64 included). */
    const char *p = path[0] == '/' ? path + 1 : path;
    size_t plen = strlen(p);
    CG_CHECK(plen > 0 && plen <= 4 * CG_OCSP_MAX_REQUEST / 3 * 3 + 8, CG_EPROTO);
    char *b64 = malloc(plen + 1);
    uint8_t *der = malloc(plen + 3);
    size_t n = 0;
    CG_ENSURE(b64 != NULL && der != NULL, CG_ENOMEM);
    for (size_t i = 0; i < plen;) {
        int c = cg__http_pct_next(p, plen, &i, false); /* base64's '+' stays a '+' */
        CG_ENSURE(c >= 0, CG_EPROTO);
        b64[n++] = (char)c;
    }
    b64[n] = '\0';
    CG_ENSURE(n % 4 == 0 && n > 0, CG_EPROTO);
    /* RFC 4648 §4: at most two '=', only at the very end. */
    size_t pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
    CG_ENSURE(memchr(b64, '=', n - pad) == NULL, CG_EPROTO);
    int dl = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
    CG_ENSURE(dl > 0, CG_EPROTO);
    /* EVP_DecodeBlock counts padding as zero bytes: take them off. */
    CG_ENSURE((size_t)dl > pad, CG_EPROTO);
    *out = der;
    *out_len = (size_t)dl - pad;
    der = NULL;
out:
    free(b64);
    free(der);
    return rc;
}
