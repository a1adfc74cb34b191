/* Fuzzes the OCSP responder's input side: the DER request parser, the whole
 * answer path (lookup, signing, nonce copy) against a small in-memory CA, and
 * the GET decoding (RFC 6960 A.1). Whatever the input, the answer is a DER
 * OCSPResponse that parses back. The first byte picks POST (even) or GET. */
#include "cert/cert.h"

#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cg_ocsp_signer g_signer;
static struct cg_db g_db;

static void init_once(void)
{
    if (g_signer.key != NULL)
        return;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Fuzz CA", -1, -1,
                               0);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    X509_NAME_free(n);
    g_signer = (struct cg_ocsp_signer){.issuer = x, .signer = x, .key = k, .validity_s = 60};
    static const char idx[] = "V\t271226113639Z\t\t01\tunknown\t/CN=a\n"
                              "R\t271226113639Z\t261124114140Z,keyCompromise\t02\tunknown\t/CN=b\n";
    cg__db_parse(idx, sizeof(idx) - 1, &g_db, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size == 0)
        return 0;
    uint8_t *der = NULL, *owned = NULL;
    size_t len = 0;
    if (data[0] & 1) {
        char *path = malloc(size);
        if (path == NULL)
            return 0;
        memcpy(path, data + 1, size - 1);
        path[size - 1] = '\0';
        if (cg__ocsp_decode_get(path, &owned, &len) != CG_OK) {
            free(path);
            return 0;
        }
        free(path);
        der = owned;
    } else {
        der = (uint8_t *)data + 1;
        len = size - 1;
    }
    OCSP_REQUEST *req = NULL;
    if (cg__ocsp_parse_request(der, len, &req) == CG_OK)
        OCSP_REQUEST_free(req);
    uint8_t *out = NULL;
    size_t olen = 0;
    if (cg__ocsp_answer(&g_signer, &g_db, der, len, 1790000000, &out, &olen) == CG_OK) {
        const unsigned char *p = out;
        OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)olen);
        if (r == NULL || p != out + olen)
            abort();
        OCSP_RESPONSE_free(r);
        OPENSSL_free(out);
    }
    free(owned);
    return 0;
}
