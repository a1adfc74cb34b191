/* B-42: the host name castgate advertises must be one its certificate
 * carries, or TLS clients that found it by DNS-SD would refuse it. */
#include "dnssd/dnssd.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

enum cg_err cg_dnssd_check_host(struct cg_ctx *ctx, const char *host, const char *cert_file)
{
    CG_CHECK(host != NULL && cert_file != NULL, CG_EINVAL);
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--; /* B-32: "gw.example.com." is "gw.example.com" */
    CG_CHECK(len > 0, CG_EINVAL);
    BIO *bio = BIO_new_file(cert_file, "r");
    X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (cert == NULL) {
        cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
                "cannot read a PEM certificate from %s", cert_file);
        return CG_EFILE;
    }
    /* SAN DNS names; the subject CN only if there are none (OpenSSL's
     * default); no partial-label wildcards ("gw*.example.com"). */
    int r = X509_check_host(cert, host, len, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);
    X509_free(cert);
    if (r == 1)
        return CG_OK;
    char esc[300];
    cg__log_escape(esc, sizeof(esc), host, len);
    cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
            "refusing to advertise host '%s': it is not a name in the certificate %s "
            "(CN/subjectAltName; BCP-003-01 B-42)",
            esc, cert_file);
    return r == 0 ? CG_ECERT : CG_ENOMEM;
}
