/* castgate cert — the CA, revocation, OCSP answers, stores (internal).
 *
 * ca.c builds and signs certificates and CRLs; db.c reads and writes the CA
 * database in `openssl ca` index format; ocsp.c answers OCSP requests
 * (sans-I/O: DER in, DER out); responder.c carries them over HTTP on the
 * context's loop; store.c is the server certificate store, trust.c the
 * client trust store and pins; names.c the B-11 name rules; files.c the
 * atomic file writes and key reading every part shares.
 */
#ifndef CG_CERT_INT_H
#define CG_CERT_INT_H

#include "core/core.h"

#include <castgate/cert.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <time.h>

#define CG_CERT_COMPONENT "cert"
#define CG_CERT_MAX_FILE (1u << 20)
#define CG_CERT_MAX_SERIAL_HEX 41 /* 20 bytes (RFC 5280) + NUL */

/* ---- files.c ---- */
/* Writes data to path atomically: temp file in the same directory (mode),
 * fsync, rename, fsync of the directory. */
enum cg_err cg__cert_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* PEM of x appended to a memory buffer. */
enum cg_err cg__cert_pem_append(struct cg_buf *b, X509 *x);
/* PKCS#8 PEM of key, encrypted (AES-256-CBC) when passphrase is non-NULL. */
enum cg_err cg__cert_key_pem(struct cg_buf *b, EVP_PKEY *key, const char *passphrase);
/* Reads a private key; never prompts. CG_EPERM (mode), CG_EFILE, CG_EKEY
 * (wrong or missing passphrase, unusable), each logged naming path. */
enum cg_err cg__cert_read_key(struct cg_ctx *ctx, const char *path, const char *passphrase,
                              EVP_PKEY **out);
/* Reads every certificate of a PEM file (first = leaf). CG_EFILE / CG_ECERT. */
enum cg_err cg__cert_read_certs(struct cg_ctx *ctx, const char *path, STACK_OF(X509) **out);
X509 *cg__cert_read_one(const char *path); /* first certificate, or NULL */
/* "dir/name" into out; CG_ERANGE when it does not fit. */
/* Creates dir (mode) and its missing parents (0700); logs the path that
 * cannot be made, with the reason. CG_EFILE, CG_ERANGE (too long). */
enum cg_err cg__cert_mkdirs(struct cg_ctx *ctx, const char *dir, unsigned mode);
enum cg_err cg__cert_path(char *out, size_t outsz, const char *dir, const char *name);
/* SHA-256 of x's DER as hex with colons (out >= 96) and raw (raw may be NULL). */
void cg__cert_sha256(X509 *x, char *out, size_t outsz, uint8_t raw[32]);
/* Parses 64 hex digits, colons allowed. */
enum cg_err cg__cert_parse_sha256(const char *hex, uint8_t out[32]);
void cg__cert_info_fill(X509 *x, struct cg_cert_info *info);

/* ---- trust.c: the pins file (M-06), sans-I/O ---- */
/* Finds peer's pin in the text of a pins file (len bytes, "PEER SHA256"
 * lines) into out. CG_OK, CG_ENOTFOUND, CG_ENOMEM, or CG_EFILE when peer's
 * line is malformed: *line its number (from 1) and *why a static reason;
 * otherwise *line is 0 and *why NULL. */
enum cg_err cg__pins_find(const char *text, size_t len, const char *peer, uint8_t out[32],
                          size_t *line, const char **why);

/* ---- names.c: B-11 ---- */
bool cg__cert_is_ip(const char *name);

/* ---- db.c: the CA database (openssl ca index.txt) ---- */
struct cg_db_row {
    char status;            /* 'V' valid, 'R' revoked, 'E' expired */
    char expires[16];       /* YYMMDDHHMMSSZ (UTCTime) or YYYYMMDDHHMMSSZ */
    char revoked[48];       /* "" or YYMMDDHHMMSSZ[,reason]; fits every reason name */
    char serial[CG_CERT_MAX_SERIAL_HEX]; /* uppercase hex, as BN_bn2hex */
    char subject[256];
};
struct cg_db {
    struct cg_db_row *rows;
    size_t n, cap;
};
/* Parses index text (sans-I/O). CG_EFILE names the first bad line in *bad_line. */
enum cg_err cg__db_parse(const char *text, size_t len, struct cg_db *db, size_t *bad_line);
enum cg_err cg__db_load(const char *path, struct cg_db *db, size_t *bad_line);
enum cg_err cg__db_format(const struct cg_db *db, struct cg_buf *out);
enum cg_err cg__db_add(struct cg_db *db, const struct cg_db_row *row);
struct cg_db_row *cg__db_find(const struct cg_db *db, const char *serial_hex);
void cg__db_free(struct cg_db *db);
/* reason text (openssl ca's names) for an RFC 5280 reason code, or NULL. */
const char *cg__db_reason_name(int reason);
int cg__db_reason_code(const char *name); /* -1 if unknown */

/* ---- serials ---- */
/* A fresh random positive 128-bit serial (RFC 5280: at most 20 octets). */
enum cg_err cg__cert_random_serial(ASN1_INTEGER **out, char hex[CG_CERT_MAX_SERIAL_HEX]);
/* Normalises a serial given by a user ("0x1F", "1f", "01:2A") to BN_bn2hex form. */
enum cg_err cg__cert_norm_serial(const char *in, char out[CG_CERT_MAX_SERIAL_HEX]);

/* ---- ca.c ---- */
struct cg_ca {
    struct cg_ctx *ctx;
    char dir[512];
    X509 *root;
    X509 *inter;
    EVP_PKEY *inter_key;
    char ocsp_url[256];
    char crl_url[256];
    char name[128];
};
enum cg_err cg__ca_db_path(const struct cg_ca *ca, char *out, size_t outsz);

/* ---- ocsp.c: one OCSP exchange, sans-I/O ---- */
struct cg_ocsp_signer {
    X509 *issuer;     /* the CA whose certificates are answered for */
    X509 *signer;     /* signs the responses (issuer itself or a delegated signer) */
    EVP_PKEY *key;
    unsigned validity_s;
};
#define CG_OCSP_MAX_SINGLE 32
/* Parses a DER OCSPRequest (the fuzzed parser). CG_EPROTO when malformed or
 * with more than CG_OCSP_MAX_SINGLE certificates. */
enum cg_err cg__ocsp_parse_request(const uint8_t *der, size_t len, OCSP_REQUEST **out);
/* Builds the DER OCSPResponse answering der from db. A malformed request
 * gets a malformedRequest response (still CG_OK: it is an answer). */
enum cg_err cg__ocsp_answer(const struct cg_ocsp_signer *s, const struct cg_db *db,
                            const uint8_t *der, size_t len, time_t now, uint8_t **out,
                            size_t *out_len);
/* GET form (RFC 6960 appendix A.1): url-decode then base64-decode path. */
enum cg_err cg__ocsp_decode_get(const char *path, uint8_t **out, size_t *out_len);

#endif
