/* The certificate authority: a root, an issuing intermediate, the database,
 * leaves (B-10, B-11), revocation and CRLs (B-12). */
#include "cert/cert.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CLOCK_SKEW_S 300L

static EVP_PKEY *new_key(enum cg_key_type t, bool ca)
{
    if (t == CG_KEY_RSA)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(ca ? 3072 : 2048));
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static enum cg_err add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    CG_CHECK(ext != NULL, CG_ECERT);
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? CG_OK : CG_ENOMEM;
}

struct tbs {
    const char *cn;
    X509 *issuer;          /* NULL: self-signed */
    EVP_PKEY *issuer_key;  /* signs */
    EVP_PKEY *pub;         /* subject key */
    long not_before_s;     /* offset from now */
    long days;
    char serial_hex[CG_CERT_MAX_SERIAL_HEX];
};

/* The common part of every certificate: v3, a random serial, names, dates, key. */
static enum cg_err new_cert(struct tbs *t, X509 **out)
{
    enum cg_err rc = CG_OK;
    ASN1_INTEGER *serial = NULL;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    CG_ENSURE(x != NULL && name != NULL, CG_ENOMEM);
    CG_TRY(cg__cert_random_serial(&serial, t->serial_hex));
    CG_ENSURE(X509_set_version(x, X509_VERSION_3) == 1, CG_ENOMEM);
    CG_ENSURE(X509_set_serialNumber(x, serial) == 1, CG_ENOMEM);
    CG_ENSURE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)t->cn, -1, -1, 0) == 1,
              CG_EINVAL);
    CG_ENSURE(X509_set_subject_name(x, name) == 1, CG_ENOMEM);
    CG_ENSURE(X509_set_issuer_name(x, t->issuer != NULL ? X509_get_subject_name(t->issuer)
                                                        : name) == 1,
              CG_ENOMEM);
    CG_ENSURE(X509_time_adj_ex(X509_getm_notBefore(x), 0, t->not_before_s, NULL) != NULL,
              CG_ENOMEM);
    CG_ENSURE(X509_time_adj_ex(X509_getm_notAfter(x), (int)t->days, t->not_before_s, NULL) !=
                  NULL,
              CG_ENOMEM);
    CG_ENSURE(X509_set_pubkey(x, t->pub) == 1, CG_ENOMEM);
    *out = x;
    x = NULL;
out:
    ASN1_INTEGER_free(serial);
    X509_NAME_free(name);
    X509_free(x);
    return rc;
}

static enum cg_err sign(X509 *x, EVP_PKEY *key)
{
    if (X509_sign(x, key, EVP_sha256()) <= 0) {
        ERR_clear_error();
        return CG_ETLS;
    }
    return CG_OK;
}

/* ---- ca.conf: a few "key = value" lines ---- */

static enum cg_err write_conf(const char *dir, const struct cg_ca_init_opts *o, const char *name,
                              const char *ocsp, const char *crl)
{
    char path[600];
    struct cg_buf b;
    cg__buf_init(&b, 8192);
    CG_GUARD(cg__cert_path(path, sizeof(path), dir, "ca.conf"));
    enum cg_err rc = cg__buf_printf(&b,
                                    "# castgate CA (castgate cert ca init)\n"
                                    "name = %s\nkey = %s\nocsp_url = %s\ncrl_url = %s\n",
                                    name, o->key == CG_KEY_RSA ? "rsa" : "ecdsa", ocsp, crl);
    if (rc == CG_OK)
        rc = cg__cert_write_atomic(path, b.data, b.len, 0644);
    cg__buf_free(&b);
    return rc;
}

static void conf_value(const char *text, const char *key, char *out, size_t outsz)
{
    size_t kl = strlen(key);
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && strncmp(p + kl, " = ", 3) == 0) {
            const char *v = p + kl + 3;
            size_t n = strcspn(v, "\n");
            snprintf(out, outsz, "%.*s", (int)n, v);
            return;
        }
    }
}

static bool url_ok(const char *u) { return u != NULL && strncmp(u, "http://", 7) == 0 && strlen(u) < 200; }

/* ---- init ---- */

struct init_state {
    struct cg_ctx *ctx;
    const char *dir;
    const struct cg_ca_init_opts *o;
    EVP_PKEY *root_key, *inter_key;
    X509 *root, *inter;
};

static enum cg_err make_root(struct init_state *s, const char *name)
{
    char cn[200];
    snprintf(cn, sizeof(cn), "%s Root CA", name);
    struct tbs t = {.cn = cn, .issuer_key = s->root_key, .pub = s->root_key,
                    .not_before_s = -CLOCK_SKEW_S,
                    .days = s->o->root_days ? s->o->root_days : 3650};
    CG_GUARD(new_cert(&t, &s->root));
    CG_GUARD(add_ext(s->root, s->root, NID_basic_constraints, "critical,CA:TRUE"));
    CG_GUARD(add_ext(s->root, s->root, NID_key_usage, "critical,keyCertSign,cRLSign"));
    CG_GUARD(add_ext(s->root, s->root, NID_subject_key_identifier, "hash"));
    return sign(s->root, s->root_key);
}

static enum cg_err make_inter(struct init_state *s, const char *name)
{
    char cn[200];
    snprintf(cn, sizeof(cn), "%s Issuing CA", name);
    struct tbs t = {.cn = cn, .issuer = s->root, .issuer_key = s->root_key, .pub = s->inter_key,
                    .not_before_s = -CLOCK_SKEW_S,
                    .days = s->o->inter_days ? s->o->inter_days : 1825};
    CG_GUARD(new_cert(&t, &s->inter));
    CG_GUARD(add_ext(s->inter, s->root, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    /* digitalSignature: it signs OCSP responses itself (RFC 6960 §4.2.2.2). */
    CG_GUARD(add_ext(s->inter, s->root, NID_key_usage,
                     "critical,digitalSignature,keyCertSign,cRLSign"));
    CG_GUARD(add_ext(s->inter, s->root, NID_subject_key_identifier, "hash"));
    CG_GUARD(add_ext(s->inter, s->root, NID_authority_key_identifier, "keyid:always"));
    return sign(s->inter, s->root_key);
}

static enum cg_err write_pem_certs(const char *dir, const char *name, X509 *a, X509 *b)
{
    char path[600];
    struct cg_buf buf;
    cg__buf_init(&buf, 0);
    enum cg_err rc = cg__cert_path(path, sizeof(path), dir, name);
    if (rc == CG_OK)
        rc = cg__cert_pem_append(&buf, a);
    if (rc == CG_OK && b != NULL)
        rc = cg__cert_pem_append(&buf, b);
    if (rc == CG_OK)
        rc = cg__cert_write_atomic(path, buf.data, buf.len, 0644);
    cg__buf_free(&buf);
    return rc;
}

static enum cg_err write_key(const char *dir, const char *name, EVP_PKEY *k, const char *pass)
{
    char path[600];
    struct cg_buf buf;
    cg__buf_init(&buf, 0);
    enum cg_err rc = cg__cert_path(path, sizeof(path), dir, name);
    if (rc == CG_OK)
        rc = cg__cert_key_pem(&buf, k, pass);
    if (rc == CG_OK)
        rc = cg__cert_write_atomic(path, buf.data, buf.len, 0600);
    if (buf.data != NULL)
        OPENSSL_cleanse(buf.data, buf.cap);
    cg__buf_free(&buf);
    return rc;
}

static enum cg_err write_text(const char *dir, const char *name, const char *text)
{
    char path[600];
    CG_GUARD(cg__cert_path(path, sizeof(path), dir, name));
    return cg__cert_write_atomic(path, text, strlen(text), 0644);
}

static enum cg_err init_files(struct init_state *s, const char *name, const char *ocsp,
                              const char *crl)
{
    char certs[600];
    CG_GUARD(write_key(s->dir, "root.key", s->root_key, s->o->passphrase));
    CG_GUARD(write_key(s->dir, "intermediate.key", s->inter_key, s->o->passphrase));
    CG_GUARD(write_pem_certs(s->dir, "root.pem", s->root, NULL));
    CG_GUARD(write_pem_certs(s->dir, "intermediate.pem", s->inter, NULL));
    CG_GUARD(write_pem_certs(s->dir, "ca-chain.pem", s->inter, s->root));
    CG_GUARD(write_text(s->dir, "index.txt", ""));
    CG_GUARD(write_text(s->dir, "index.txt.attr", "unique_subject = no\n"));
    CG_GUARD(write_text(s->dir, "crlnumber", "1000\n"));
    CG_GUARD(cg__cert_path(certs, sizeof(certs), s->dir, "certs"));
    CG_CHECK(mkdir(certs, 0755) == 0 || errno == EEXIST, CG_EIO);
    /* ca.conf last: its presence marks a complete CA. */
    return write_conf(s->dir, s->o, name, ocsp, crl);
}

enum cg_err cg_ca_init(struct cg_ctx *ctx, const char *dir, const struct cg_ca_init_opts *opts)
{
    enum cg_err rc = CG_OK;
    struct cg_ca_init_opts def = {0};
    const struct cg_ca_init_opts *o = opts != NULL ? opts : &def;
    struct init_state s = {.ctx = ctx, .dir = dir, .o = o};
    const char *name = o->name != NULL ? o->name : "castgate";
    const char *ocsp = o->ocsp_url != NULL ? o->ocsp_url : "http://127.0.0.1:8888/";
    const char *crl = o->crl_url != NULL ? o->crl_url : "http://127.0.0.1:8888/crl.pem";
    char conf[600];
    struct stat st;
    CG_CHECK(dir != NULL, CG_EINVAL);
    if (!url_ok(ocsp) || !url_ok(crl) || strchr(name, '\n') != NULL || strlen(name) > 100) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "OCSP and CRL URLs must be http:// URLs (OCSP and CRLs are signed; B-12), "
                "the name one short line");
        return CG_EINVAL;
    }
    CG_GUARD(cg__cert_path(conf, sizeof(conf), dir, "ca.conf"));
    if (stat(conf, &st) == 0) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s holds a CA already", dir);
        return CG_EEXIST;
    }
    CG_GUARD(cg__cert_mkdirs(ctx, dir, 0755));
    s.root_key = new_key(o->key, true);
    s.inter_key = new_key(o->key, true);
    CG_ENSURE(s.root_key != NULL && s.inter_key != NULL, CG_ETLS);
    CG_TRY(make_root(&s, name));
    CG_TRY(make_inter(&s, name));
    CG_TRY(init_files(&s, name, ocsp, crl));
    cg__log(ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "CA created in %s (%s, keys %s)", dir,
            o->key == CG_KEY_RSA ? "RSA-3072" : "ECDSA P-256",
            o->passphrase ? "encrypted" : "unencrypted, mode 0600");
out:
    if (rc != CG_OK) {
        ERR_clear_error();
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "CA creation in %s failed: %s", dir,
                cg_strerror(rc));
    }
    EVP_PKEY_free(s.root_key);
    EVP_PKEY_free(s.inter_key);
    X509_free(s.root);
    X509_free(s.inter);
    return rc;
}

/* ---- open ---- */

enum cg_err cg__ca_db_path(const struct cg_ca *ca, char *out, size_t outsz)
{
    return cg__cert_path(out, outsz, ca->dir, "index.txt");
}

static enum cg_err load_cert(struct cg_ca *ca, const char *name, X509 **out)
{
    char path[600];
    CG_GUARD(cg__cert_path(path, sizeof(path), ca->dir, name));
    *out = cg__cert_read_one(path);
    if (*out == NULL) {
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: missing or not a certificate",
                path);
        return CG_EFILE;
    }
    return CG_OK;
}

static enum cg_err load_conf(struct cg_ca *ca)
{
    char path[600];
    uint8_t *text = NULL;
    size_t len = 0;
    CG_GUARD(cg__cert_path(path, sizeof(path), ca->dir, "ca.conf"));
    if (cg__read_file(path, 65536, &text, &len) != CG_OK) {
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "%s is not a castgate CA (no ca.conf; create one with castgate cert ca init)",
                ca->dir);
        return CG_EFILE;
    }
    conf_value((const char *)text, "ocsp_url", ca->ocsp_url, sizeof(ca->ocsp_url));
    conf_value((const char *)text, "crl_url", ca->crl_url, sizeof(ca->crl_url));
    conf_value((const char *)text, "name", ca->name, sizeof(ca->name));
    free(text);
    return CG_OK;
}

enum cg_err cg_ca_open(struct cg_ctx *ctx, const char *dir, const char *passphrase,
                       struct cg_ca **out)
{
    enum cg_err rc = CG_OK;
    char key[600];
    CG_CHECK(dir != NULL && out != NULL, CG_EINVAL);
    *out = NULL;
    struct cg_ca *ca = calloc(1, sizeof(*ca));
    CG_CHECK(ca != NULL, CG_ENOMEM);
    ca->ctx = ctx;
    CG_ENSURE(strlen(dir) < sizeof(ca->dir), CG_ERANGE);
    memcpy(ca->dir, dir, strlen(dir) + 1);
    CG_TRY(load_conf(ca));
    CG_TRY(load_cert(ca, "root.pem", &ca->root));
    CG_TRY(load_cert(ca, "intermediate.pem", &ca->inter));
    CG_TRY(cg__cert_path(key, sizeof(key), dir, "intermediate.key"));
    CG_TRY(cg__cert_read_key(ctx, key, passphrase, &ca->inter_key));
    if (X509_check_private_key(ca->inter, ca->inter_key) != 1) {
        ERR_clear_error();
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s does not match intermediate.pem", key);
        CG_ENSURE(false, CG_EKEYMISMATCH);
    }
    *out = ca;
    ca = NULL;
out:
    cg_ca_free(ca);
    return rc;
}

void cg_ca_free(struct cg_ca *ca)
{
    if (ca == NULL)
        return;
    X509_free(ca->root);
    X509_free(ca->inter);
    EVP_PKEY_free(ca->inter_key); /* OpenSSL wipes key material on free */
    free(ca);
}

/* ---- database updates ---- */

static enum cg_err db_save(struct cg_ca *ca, const struct cg_db *db)
{
    char path[600];
    struct cg_buf b;
    cg__buf_init(&b, 0);
    enum cg_err rc = cg__ca_db_path(ca, path, sizeof(path));
    if (rc == CG_OK)
        rc = cg__db_format(db, &b);
    if (rc == CG_OK)
        rc = cg__cert_write_atomic(path, b.data != NULL ? (const void *)b.data : "", b.len, 0644);
    cg__buf_free(&b);
    return rc;
}

static enum cg_err db_open(struct cg_ca *ca, struct cg_db *db)
{
    char path[600];
    size_t bad = 0;
    CG_GUARD(cg__ca_db_path(ca, path, sizeof(path)));
    enum cg_err rc = cg__db_load(path, db, &bad);
    if (rc != CG_OK)
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: %s (line %zu)", path,
                cg_strerror(rc), bad);
    return rc;
}

static enum cg_err asn1_time_str(const ASN1_TIME *t, char *out, size_t outsz)
{
    /* openssl ca writes the certificate's own notAfter string (UTCTime). */
    int n = ASN1_STRING_length(t);
    CG_CHECK(n > 0 && (size_t)n < outsz, CG_ERANGE);
    memcpy(out, ASN1_STRING_get0_data(t), (size_t)n);
    out[n] = '\0';
    return CG_OK;
}

static enum cg_err record(struct cg_ca *ca, X509 *x, const char *serial_hex)
{
    struct cg_db db;
    struct cg_db_row r = {.status = 'V'};
    CG_GUARD(db_open(ca, &db));
    enum cg_err rc = asn1_time_str(X509_get0_notAfter(x), r.expires, sizeof(r.expires));
    snprintf(r.serial, sizeof(r.serial), "%s", serial_hex);
    X509_NAME_oneline(X509_get_subject_name(x), r.subject, sizeof(r.subject));
    if (rc == CG_OK)
        rc = cg__db_add(&db, &r);
    if (rc == CG_OK)
        rc = db_save(ca, &db);
    cg__db_free(&db);
    return rc;
}

/* ---- issue ---- */

static enum cg_err check_hosts(struct cg_ca *ca, const struct cg_issue_opts *o)
{
    if (o->nhosts == 0 || o->hosts == NULL) {
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "at least one --host is needed");
        return CG_EINVAL;
    }
    for (size_t i = 0; i < o->nhosts; i++) {
        const char *why = NULL;
        if (cg_cert_check_host(o->hosts[i], o->allow_wildcard, o->allow_ip, &why) != CG_OK) {
            char esc[300];
            cg__log_escape(esc, sizeof(esc), o->hosts[i], strlen(o->hosts[i]));
            cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "refusing host '%s': %s", esc, why);
            return CG_EINVAL;
        }
    }
    return CG_OK;
}

static enum cg_err san_value(const struct cg_issue_opts *o, struct cg_buf *b)
{
    for (size_t i = 0; i < o->nhosts; i++)
        CG_GUARD(cg__buf_printf(b, "%s%s:%s", i ? "," : "",
                                cg__cert_is_ip(o->hosts[i]) ? "IP" : "DNS", o->hosts[i]));
    return cg__buf_append(b, "", 1);
}

static enum cg_err leaf_exts(struct cg_ca *ca, X509 *x, const struct cg_issue_opts *o)
{
    struct cg_buf san;
    char aia[300], cdp[300];
    cg__buf_init(&san, 65536);
    enum cg_err rc = san_value(o, &san);
    snprintf(aia, sizeof(aia), "OCSP;URI:%s", ca->ocsp_url);
    snprintf(cdp, sizeof(cdp), "URI:%s", ca->crl_url);
    if (rc == CG_OK)
        rc = add_ext(x, ca->inter, NID_basic_constraints, "critical,CA:FALSE");
    if (rc == CG_OK)
        rc = add_ext(x, ca->inter, NID_key_usage,
                     o->type == CG_KEY_RSA ? "critical,digitalSignature,keyEncipherment"
                                           : "critical,digitalSignature");
    if (rc == CG_OK)
        rc = add_ext(x, ca->inter, NID_ext_key_usage, "serverAuth,clientAuth");
    if (rc == CG_OK)
        rc = add_ext(x, ca->inter, NID_subject_alt_name, (const char *)san.data);
    if (rc == CG_OK)
        rc = add_ext(x, ca->inter, NID_subject_key_identifier, "hash");
    if (rc == CG_OK)
        rc = add_ext(x, ca->inter, NID_authority_key_identifier, "keyid:always");
    if (rc == CG_OK && ca->ocsp_url[0] != '\0') /* B-12: where to ask */
        rc = add_ext(x, ca->inter, NID_info_access, aia);
    if (rc == CG_OK && ca->crl_url[0] != '\0')
        rc = add_ext(x, ca->inter, NID_crl_distribution_points, cdp);
    cg__buf_free(&san);
    return rc;
}

static enum cg_err write_leaf(struct cg_ca *ca, const char *out_dir, const char *prefix, X509 *x,
                              EVP_PKEY *k, const char *serial)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.pem", prefix);
    CG_GUARD(write_pem_certs(out_dir, name, x, NULL));
    snprintf(name, sizeof(name), "%s.chain.pem", prefix);
    CG_GUARD(write_pem_certs(out_dir, name, x, ca->inter));
    snprintf(name, sizeof(name), "%s.key", prefix);
    CG_GUARD(write_key(out_dir, name, k, NULL));
    snprintf(name, sizeof(name), "certs/%s.pem", serial);
    return write_pem_certs(ca->dir, name, x, NULL);
}

enum cg_err cg_ca_issue(struct cg_ca *ca, const struct cg_issue_opts *o, const char *out_dir,
                        char *serial_hex, size_t serial_hex_len)
{
    enum cg_err rc = CG_OK;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    CG_CHECK(ca != NULL && o != NULL && out_dir != NULL, CG_EINVAL);
    CG_GUARD(check_hosts(ca, o));
    CG_GUARD(cg__cert_mkdirs(ca->ctx, out_dir, 0755));
    k = new_key(o->type, false);
    CG_ENSURE(k != NULL, CG_ETLS);
    struct tbs t = {.cn = o->hosts[0], .issuer = ca->inter, .issuer_key = ca->inter_key,
                    .pub = k, .days = o->days ? o->days : 397,
                    .not_before_s = o->not_before_offset_days != 0
                                        ? o->not_before_offset_days * 86400L
                                        : -CLOCK_SKEW_S};
    CG_TRY(new_cert(&t, &x));
    CG_TRY(leaf_exts(ca, x, o));
    CG_TRY(sign(x, ca->inter_key));
    CG_TRY(write_leaf(ca, out_dir, o->type == CG_KEY_RSA ? "server-rsa" : "server-ecdsa", x, k,
                      t.serial_hex));
    CG_TRY(record(ca, x, t.serial_hex));
    if (serial_hex != NULL && serial_hex_len > strlen(t.serial_hex))
        memcpy(serial_hex, t.serial_hex, strlen(t.serial_hex) + 1);
    cg__log(ca->ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "issued %s certificate for %s, serial %s",
            o->type == CG_KEY_RSA ? "RSA" : "ECDSA", o->hosts[0], t.serial_hex);
out:
    if (rc != CG_OK) {
        ERR_clear_error();
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "issuing for %s failed: %s",
                o->hosts[0], cg_strerror(rc));
    }
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- revoke and CRL ---- */

enum cg_err cg_ca_revoke(struct cg_ca *ca, const char *serial, int reason)
{
    enum cg_err rc = CG_OK;
    char hex[CG_CERT_MAX_SERIAL_HEX];
    struct cg_db db = {0};
    CG_CHECK(ca != NULL, CG_EINVAL);
    /* RFC 5280 §5.3.1: removeFromCRL (8) only un-revokes, in delta CRLs. */
    const char *rname = reason != 8 ? cg__db_reason_name(reason) : NULL;
    if (cg__cert_norm_serial(serial, hex) != CG_OK || rname == NULL) {
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "not a serial number or reason");
        return CG_EINVAL;
    }
    CG_GUARD(db_open(ca, &db));
    struct cg_db_row *r = cg__db_find(&db, hex);
    if (r == NULL) {
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "serial %s was not issued by this CA",
                hex);
        CG_ENSURE(false, CG_ENOTFOUND);
    }
    if (r->status == 'R') {
        cg__log(ca->ctx, CG_LOG_WARN, CG_CERT_COMPONENT, "serial %s is revoked already", hex);
        goto out;
    }
    ASN1_TIME *now = ASN1_UTCTIME_set(NULL, time(NULL));
    CG_ENSURE(now != NULL, CG_ENOMEM);
    char when[16];
    rc = asn1_time_str(now, when, sizeof(when));
    ASN1_TIME_free(now);
    CG_TRY(rc);
    r->status = 'R';
    if (reason == 0)
        snprintf(r->revoked, sizeof(r->revoked), "%s", when);
    else
        snprintf(r->revoked, sizeof(r->revoked), "%s,%s", when, rname);
    CG_TRY(db_save(ca, &db));
    cg__log(ca->ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "revoked serial %s (%s)", hex, rname);
out:
    cg__db_free(&db);
    return rc;
}

enum cg_err cg_ca_revoke_file(struct cg_ca *ca, const char *cert_file, int reason)
{
    CG_CHECK(ca != NULL && cert_file != NULL, CG_EINVAL);
    X509 *x = cg__cert_read_one(cert_file);
    if (x == NULL) {
        cg__log(ca->ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s: not a PEM certificate", cert_file);
        return CG_ECERT;
    }
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    enum cg_err rc = hex != NULL ? cg_ca_revoke(ca, hex, reason) : CG_ENOMEM;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    return rc;
}

static enum cg_err crl_add(X509_CRL *crl, const struct cg_db_row *r)
{
    enum cg_err rc = CG_OK;
    char when[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *t = ASN1_TIME_new();
    X509_REVOKED *rev = X509_REVOKED_new();
    CG_ENSURE(t != NULL && rev != NULL, CG_ENOMEM);
    size_t wl = strcspn(r->revoked, ",");
    CG_ENSURE(wl < sizeof(when), CG_EFILE);
    memcpy(when, r->revoked, wl);
    when[wl] = '\0';
    CG_ENSURE(ASN1_TIME_set_string(t, when) == 1, CG_EFILE);
    CG_ENSURE(BN_hex2bn(&bn, r->serial) > 0, CG_EFILE);
    serial = BN_to_ASN1_INTEGER(bn, NULL);
    CG_ENSURE(serial != NULL, CG_ENOMEM);
    CG_ENSURE(X509_REVOKED_set_serialNumber(rev, serial) == 1, CG_ENOMEM);
    CG_ENSURE(X509_REVOKED_set_revocationDate(rev, t) == 1, CG_ENOMEM);
    int code = r->revoked[wl] == ',' ? cg__db_reason_code(r->revoked + wl + 1) : -1;
    if (code > 0) {
        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
        int ok = e != NULL && ASN1_ENUMERATED_set(e, code) == 1 &&
                 X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0) == 1;
        ASN1_ENUMERATED_free(e);
        CG_ENSURE(ok, CG_ENOMEM);
    }
    CG_ENSURE(X509_CRL_add0_revoked(crl, rev) == 1, CG_ENOMEM);
    rev = NULL;
out:
    X509_REVOKED_free(rev);
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return rc;
}

static enum cg_err next_crl_number(struct cg_ca *ca, long *num)
{
    char path[600], text[32];
    uint8_t *data = NULL;
    size_t len = 0;
    CG_GUARD(cg__cert_path(path, sizeof(path), ca->dir, "crlnumber"));
    *num = 1000;
    if (cg__read_file(path, 64, &data, &len) == CG_OK) {
        *num = strtol((const char *)data, NULL, 16);
        free(data);
    }
    snprintf(text, sizeof(text), "%04lX\n", *num + 1);
    return cg__cert_write_atomic(path, text, strlen(text), 0644);
}

static enum cg_err crl_build(struct cg_ca *ca, const struct cg_db *db, unsigned days,
                             X509_CRL **out)
{
    enum cg_err rc = CG_OK;
    long num = 0;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL));
    ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), (int)(days ? days : 7), 0);
    ASN1_INTEGER *n = ASN1_INTEGER_new();
    CG_ENSURE(crl != NULL && last != NULL && next != NULL && n != NULL, CG_ENOMEM);
    CG_ENSURE(X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1, CG_ENOMEM);
    CG_ENSURE(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->inter)) == 1, CG_ENOMEM);
    CG_ENSURE(X509_CRL_set1_lastUpdate(crl, last) == 1, CG_ENOMEM);
    CG_ENSURE(X509_CRL_set1_nextUpdate(crl, next) == 1, CG_ENOMEM);
    for (size_t i = 0; i < db->n; i++)
        if (db->rows[i].status == 'R')
            CG_TRY(crl_add(crl, &db->rows[i]));
    CG_TRY(next_crl_number(ca, &num));
    CG_ENSURE(ASN1_INTEGER_set(n, num) == 1, CG_ENOMEM);
    CG_ENSURE(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0) == 1, CG_ENOMEM);
    CG_ENSURE(X509_CRL_sort(crl) == 1, CG_ENOMEM);
    CG_ENSURE(X509_CRL_sign(crl, ca->inter_key, EVP_sha256()) > 0, CG_ETLS);
    *out = crl;
    crl = NULL;
out:
    X509_CRL_free(crl);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    ASN1_INTEGER_free(n);
    return rc;
}

enum cg_err cg_ca_write_crl(struct cg_ca *ca, const char *out_path, unsigned days)
{
    enum cg_err rc = CG_OK;
    struct cg_db db = {0};
    X509_CRL *crl = NULL;
    BIO *bio = NULL;
    char path[600];
    CG_CHECK(ca != NULL, CG_EINVAL);
    if (out_path == NULL) {
        CG_GUARD(cg__cert_path(path, sizeof(path), ca->dir, "crl.pem"));
        out_path = path;
    }
    CG_GUARD(db_open(ca, &db));
    CG_TRY(crl_build(ca, &db, days, &crl));
    bio = BIO_new(BIO_s_mem());
    CG_ENSURE(bio != NULL && PEM_write_bio_X509_CRL(bio, crl) == 1, CG_ENOMEM);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    CG_TRY(cg__cert_write_atomic(out_path, p, (size_t)n, 0644));
    cg__log(ca->ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "CRL written to %s (%d revoked)", out_path,
            sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)));
out:
    if (rc != CG_OK)
        ERR_clear_error();
    BIO_free(bio);
    X509_CRL_free(crl);
    cg__db_free(&db);
    return rc;
}

/* ---- delegated OCSP signer (RFC 6960 §4.2.2.2) ---- */

enum cg_err cg_ca_issue_ocsp_signer(struct cg_ca *ca, const char *out_dir, unsigned days)
{
    enum cg_err rc = CG_OK;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    char cn[200];
    CG_CHECK(ca != NULL && out_dir != NULL, CG_EINVAL);
    CG_GUARD(cg__cert_mkdirs(ca->ctx, out_dir, 0755));
    snprintf(cn, sizeof(cn), "%s OCSP Signer", ca->name[0] ? ca->name : "castgate");
    k = new_key(CG_KEY_ECDSA, false);
    CG_ENSURE(k != NULL, CG_ETLS);
    struct tbs t = {.cn = cn, .issuer = ca->inter, .issuer_key = ca->inter_key, .pub = k,
                    .days = days ? days : 90, .not_before_s = -CLOCK_SKEW_S};
    CG_TRY(new_cert(&t, &x));
    CG_TRY(add_ext(x, ca->inter, NID_basic_constraints, "critical,CA:FALSE"));
    CG_TRY(add_ext(x, ca->inter, NID_key_usage, "critical,digitalSignature"));
    CG_TRY(add_ext(x, ca->inter, NID_ext_key_usage, "OCSPSigning"));
    /* RFC 6960 §4.2.2.2.1: clients need not check the signer's own status. */
    CG_TRY(add_ext(x, ca->inter, NID_id_pkix_OCSP_noCheck, "ignored"));
    CG_TRY(add_ext(x, ca->inter, NID_subject_key_identifier, "hash"));
    CG_TRY(add_ext(x, ca->inter, NID_authority_key_identifier, "keyid:always"));
    CG_TRY(sign(x, ca->inter_key));
    CG_TRY(write_pem_certs(out_dir, "ocsp-signer.pem", x, NULL));
    CG_TRY(write_key(out_dir, "ocsp-signer.key", k, NULL));
    CG_TRY(record(ca, x, t.serial_hex));
    cg__log(ca->ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "issued OCSP signer %s, serial %s", cn,
            t.serial_hex);
out:
    if (rc != CG_OK)
        ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}
