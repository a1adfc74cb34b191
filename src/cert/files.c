/* Files every part of src/cert shares: atomic writes, PEM in and out, keys
 * read without ever prompting, fingerprints. */
#include "cert/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum cg_err cg__cert_path(char *out, size_t outsz, const char *dir, const char *name)
{
    int n = snprintf(out, outsz, "%s/%s", dir, name);
    return n > 0 && (size_t)n < outsz ? CG_OK : CG_ERANGE;
}

/* Creates dir with mode, and its missing parents private (0700): a CA or a
 * key folder asked for under a path that does not exist yet. A path that
 * cannot be made is named with the reason. An existing folder is kept as it
 * is. */
enum cg_err cg__cert_mkdirs(struct cg_ctx *ctx, const char *dir, unsigned mode)
{
    char buf[1024];
    size_t n = strlen(dir);
    CG_CHECK(n > 0 && n < sizeof(buf), CG_ERANGE);
    memcpy(buf, dir, n + 1);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    for (char *p = buf + 1;; p++) {
        bool last = *p == '\0';
        if (!last && *p != '/')
            continue;
        *p = '\0';
        struct stat st;
        if (stat(buf, &st) != 0 && mkdir(buf, last ? (mode_t)mode : 0700) != 0 && errno != EEXIST) {
            cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "cannot create %s: %s", buf, strerror(errno));
            return CG_EFILE;
        }
        if (last)
            break;
        *p = '/';
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "cannot create %s: %s", buf,
                strerror(errno != 0 ? errno : ENOTDIR));
        return CG_EFILE;
    }
    return CG_OK;
}

/* B-13: a key never exists with looser permissions, not even as a temp file:
 * the temporary is created 0600 and the mode is only ever tightened or kept. */
enum cg_err cg__cert_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    return cg__file_replace(path, data, len, mode, CG_FILE_SYNC);
}

static enum cg_err bio_to_buf(BIO *bio, struct cg_buf *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    CG_CHECK(n >= 0, CG_ENOMEM);
    return cg__buf_append(b, p, (size_t)n);
}

enum cg_err cg__cert_pem_append(struct cg_buf *b, X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    CG_CHECK(bio != NULL, CG_ENOMEM);
    enum cg_err rc = PEM_write_bio_X509(bio, x) == 1 ? bio_to_buf(bio, b) : CG_ENOMEM;
    BIO_free(bio);
    return rc;
}

enum cg_err cg__cert_key_pem(struct cg_buf *b, EVP_PKEY *key, const char *passphrase)
{
    BIO *bio = BIO_new(BIO_s_mem());
    CG_CHECK(bio != NULL, CG_ENOMEM);
    const EVP_CIPHER *c = passphrase != NULL ? EVP_aes_256_cbc() : NULL;
    int ok = PEM_write_bio_PKCS8PrivateKey(bio, key, c, NULL, 0, NULL, (void *)passphrase);
    enum cg_err rc = ok == 1 ? bio_to_buf(bio, b) : CG_EKEY;
    /* The unencrypted PEM passed through the BIO: wipe it before freeing. */
    BUF_MEM *mem = NULL;
    if (BIO_get_mem_ptr(bio, &mem) == 1 && mem != NULL && mem->data != NULL)
        OPENSSL_cleanse(mem->data, mem->max);
    BIO_free(bio);
    return rc;
}

struct pass {
    const char *s;
    bool asked;
};

/* Never a terminal prompt: the library runs unattended. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    struct pass *p = u;
    (void)rwflag;
    p->asked = true;
    if (p->s == NULL)
        return -1;
    size_t n = strlen(p->s);
    if (n >= (size_t)size)
        return -1;
    memcpy(buf, p->s, n);
    return (int)n;
}

enum cg_err cg__cert_read_key(struct cg_ctx *ctx, const char *path, const char *passphrase,
                              EVP_PKEY **out)
{
    enum cg_err rc = cg__check_private_file(path);
    if (rc == CG_EPERM) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "private key %s is readable or writable by group/others (B-13): chmod 600 it",
                path);
        return rc;
    }
    if (rc != CG_OK) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "private key %s: missing or not a file",
                path);
        return rc;
    }
    BIO *bio = BIO_new_file(path, "r");
    CG_CHECK(bio != NULL, CG_EFILE);
    struct pass p = {.s = passphrase};
    *out = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &p);
    BIO_free(bio);
    if (*out != NULL)
        return CG_OK;
    ERR_clear_error();
    if (p.asked)
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "private key %s is encrypted: %s", path,
                passphrase != NULL ? "wrong passphrase" : "no passphrase given (--passphrase-file)");
    else
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "private key %s: not a PEM private key",
                path);
    return CG_EKEY;
}

X509 *cg__cert_read_one(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        ERR_clear_error();
        return NULL;
    }
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (x == NULL)
        ERR_clear_error();
    return x;
}

enum cg_err cg__cert_read_certs(struct cg_ctx *ctx, const char *path, STACK_OF(X509) **out)
{
    enum cg_err rc = CG_OK;
    BIO *bio = BIO_new_file(path, "r");
    X509 *x = NULL;
    STACK_OF(X509) *sk = NULL;
    if (bio == NULL) {
        ERR_clear_error();
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: cannot open", path);
        return CG_EFILE;
    }
    sk = sk_X509_new_null();
    CG_ENSURE(sk != NULL, CG_ENOMEM);
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        CG_ENSURE(sk_X509_push(sk, x) > 0, CG_ENOMEM);
        x = NULL;
    }
    ERR_clear_error();
    if (sk_X509_num(sk) == 0) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: no PEM certificate in it", path);
        CG_ENSURE(false, CG_ECERT);
    }
    *out = sk;
    sk = NULL;
out:
    X509_free(x);
    sk_X509_pop_free(sk, X509_free);
    BIO_free(bio);
    return rc;
}

void cg__cert_sha256(X509 *x, char *out, size_t outsz, uint8_t raw[32])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
        snprintf(out, outsz, "?");
        return;
    }
    if (raw != NULL)
        memcpy(raw, md, 32);
    size_t off = 0;
    for (unsigned i = 0; i < n && off + 3 < outsz; i++)
        off += (size_t)snprintf(out + off, outsz - off, i ? ":%02x" : "%02x", md[i]);
}

enum cg_err cg__cert_parse_sha256(const char *hex, uint8_t out[32])
{
    size_t n = 0;
    int hi = -1;
    CG_CHECK(hex != NULL, CG_EINVAL);
    for (const char *p = hex; *p != '\0'; p++) {
        if (*p == ':')
            continue;
        int v = cg__hexval((unsigned char)*p);
        CG_CHECK(v >= 0 && n < 32, CG_EINVAL);
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n == 32 && hi < 0 ? CG_OK : CG_EINVAL;
}

static void sans_of(X509 *x, char *out, size_t outsz)
{
    out[0] = '\0';
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t off = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens) && off + 4 < outsz; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const char *sep = off ? ", " : "";
        if (g->type == GEN_DNS) {
            off += (size_t)snprintf(out + off, outsz - off, "%sDNS:%.*s", sep,
                                    ASN1_STRING_length(g->d.dNSName),
                                    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            ASN1_OCTET_STRING *o = g->d.iPAddress;
            if (ASN1_STRING_length(o) == 4) {
                const unsigned char *b = ASN1_STRING_get0_data(o);
                off += (size_t)snprintf(out + off, outsz - off, "%sIP:%u.%u.%u.%u", sep, b[0],
                                        b[1], b[2], b[3]);
            } else {
                off += (size_t)snprintf(out + off, outsz - off, "%sIP:(v6)", sep);
            }
        }
        if (off >= outsz)
            off = outsz - 1;
    }
    GENERAL_NAMES_free(gens);
}

void cg__cert_info_fill(X509 *x, struct cg_cert_info *info)
{
    X509_NAME_oneline(X509_get_subject_name(x), info->subject, sizeof(info->subject));
    sans_of(x, info->sans, sizeof(info->sans));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    snprintf(info->serial, sizeof(info->serial), "%s", hex != NULL ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    EVP_PKEY *k = X509_get0_pubkey(x);
    char group[32] = "";
    size_t glen = 0;
    if (k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
        snprintf(info->key_desc, sizeof(info->key_desc), "RSA-%d", EVP_PKEY_get_bits(k));
    else if (k != NULL && EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) == 1)
        snprintf(info->key_desc, sizeof(info->key_desc), "ECDSA %.24s", group);
    else
        snprintf(info->key_desc, sizeof(info->key_desc), "?");
    cg__cert_sha256(x, info->sha256, sizeof(info->sha256), NULL);
    struct tm tm;
    info->not_after = 0;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        info->not_after = (long long)timegm(&tm);
    info->days_left = (long)((info->not_after - (long long)time(NULL)) / 86400);
}

enum cg_err cg_cert_fingerprint(const char *cert_file, char *out, size_t outsz)
{
    CG_CHECK(cert_file != NULL && out != NULL && outsz >= 96, CG_EINVAL);
    X509 *x = cg__cert_read_one(cert_file);
    CG_CHECK(x != NULL, CG_ECERT);
    cg__cert_sha256(x, out, outsz, NULL);
    X509_free(x);
    return CG_OK;
}
