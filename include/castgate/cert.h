/* castgate — certificates, keys, revocation and trust (BCP-003-01 B-10..B-14,
 * MOS 4.0 M-06).
 *
 * A small certificate authority kept in one directory (a root, an issuing
 * intermediate, a database in `openssl ca` index format so `openssl ocsp
 * -index` and `openssl verify` agree with it), leaf issuing with the B-11
 * name rules, revocation with a signed CRL and an OCSP responder (B-12), a
 * certificate store for servers (B-13: several certificates, RSA and ECDSA,
 * keys stored 0600, installed atomically), a trust store for clients (B-14:
 * roots added and removed in an OpenSSL hashed directory) and per-peer pins
 * for self-signed peers (M-06).
 *
 * Everything uses the OpenSSL 3 API; nothing shells out. Functions that only
 * touch files may be called from any thread, but not concurrently on the same
 * directory. Reasons for a failure (which file, which name, why) go to the
 * context's log callback at CG_LOG_ERROR; the return code says what kind of
 * failure it was. ctx may be NULL where noted: then nothing is logged.
 */
#ifndef CASTGATE_CERT_H
#define CASTGATE_CERT_H

#include <castgate/ctx.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum cg_key_type { CG_KEY_ECDSA = 0 /* P-256 */, CG_KEY_RSA = 1 /* CA 3072, leaf 2048 */ };

/* ---- the certificate authority (a directory) ---- */

struct cg_ca_init_opts {
    const char *name;       /* CN prefix: "NAME Root CA", "NAME Issuing CA"; NULL: "castgate" */
    enum cg_key_type key;   /* both CA keys */
    const char *passphrase; /* NULL: keys unencrypted (still 0600); else PKCS#8 AES-256 */
    const char *ocsp_url;   /* NULL: http://127.0.0.1:8888/ */
    const char *crl_url;    /* NULL: http://127.0.0.1:8888/crl.pem */
    unsigned root_days;     /* 0: 3650 */
    unsigned inter_days;    /* 0: 1825 */
};

/* Creates a CA in dir (created if missing; must not hold a CA already:
 * CG_EEXIST). Files: root.pem, root.key, intermediate.pem, intermediate.key,
 * ca-chain.pem (intermediate + root), index.txt (+ index.txt.attr),
 * crlnumber, ca.conf (name, key type, URLs), certs/ (issued certificates by
 * serial). Keys are written mode 0600. CG_EIO/CG_EFILE on file errors,
 * CG_EINVAL for a URL that is not http://. */
CG_API enum cg_err cg_ca_init(struct cg_ctx *ctx, const char *dir,
                              const struct cg_ca_init_opts *opts);

struct cg_ca;

/* Opens the CA in dir, decrypting the intermediate's key with passphrase
 * (NULL: the key must be unencrypted). CG_EFILE: not a CA directory or a file
 * is unreadable; CG_EKEY: wrong or missing passphrase (logged as such);
 * CG_EPERM: a key file readable by group/others. */
CG_API enum cg_err cg_ca_open(struct cg_ctx *ctx, const char *dir, const char *passphrase,
                              struct cg_ca **out);
/* NULL is a no-op. Key material is wiped. */
CG_API void cg_ca_free(struct cg_ca *ca);

struct cg_issue_opts {
    const char *const *hosts; /* DNS names; hosts[0] becomes the CN; all go into the SAN */
    size_t nhosts;
    enum cg_key_type type;
    unsigned days;              /* 0: 397 */
    long not_before_offset_days; /* 0: valid from now (minus 5 minutes of clock skew);
                                  * other values back- or post-date (tests) */
    bool allow_wildcard;        /* B-11: refused unless set */
    bool allow_ip;              /* B-11: refused unless set */
};

/* Issues one leaf for hosts and writes out_dir/PREFIX.pem (leaf),
 * PREFIX.chain.pem (leaf + intermediate, for servers), PREFIX.key (0600,
 * unencrypted: servers load it unattended) where PREFIX is "server-rsa" or
 * "server-ecdsa". Records it in the database. serial_hex (may be NULL, at
 * least 41 bytes) receives the serial. CG_EINVAL: a host name breaks B-11 or
 * is malformed (the log says which and why). */
CG_API enum cg_err cg_ca_issue(struct cg_ca *ca, const struct cg_issue_opts *opts,
                               const char *out_dir, char *serial_hex, size_t serial_hex_len);

/* RFC 5280 reason codes used by revoke (0: unspecified, 1..6); 7 (unused)
 * and 8 (removeFromCRL, for delta CRLs only) are refused with CG_EINVAL. */
CG_API enum cg_err cg_ca_revoke(struct cg_ca *ca, const char *serial_hex, int reason);
/* Revokes the certificate in a PEM file (its serial). */
CG_API enum cg_err cg_ca_revoke_file(struct cg_ca *ca, const char *cert_file, int reason);
/* Writes a signed CRL (v2, CRL number, signed by the intermediate) to out
 * (NULL: DIR/crl.pem), valid for days (0: 7). */
CG_API enum cg_err cg_ca_write_crl(struct cg_ca *ca, const char *out, unsigned days);

/* Issues a delegated OCSP signing certificate (RFC 6960 §4.2.2.2: issued by
 * the intermediate, extendedKeyUsage OCSPSigning, id-pkix-ocsp-nocheck) into
 * out_dir/ocsp-signer.pem and out_dir/ocsp-signer.key (0600, unencrypted),
 * valid for days (0: 90). The responder then signs with it
 * (cg_ocsp_responder_opts.signer_cert) and the CA key can stay offline. */
CG_API enum cg_err cg_ca_issue_ocsp_signer(struct cg_ca *ca, const char *out_dir, unsigned days);

/* Checks one name against B-11 and DNS syntax: CG_OK, or CG_EINVAL with *why
 * (a static English sentence) set. ctx-free and thread-safe. */
CG_API enum cg_err cg_cert_check_host(const char *name, bool allow_wildcard, bool allow_ip,
                                      const char **why);

/* ---- the OCSP responder (RFC 6960, plain HTTP by design) ---- */

struct cg_ocsp_responder;

struct cg_ocsp_responder_opts {
    const char *ca_dir;
    const char *passphrase;   /* for the intermediate's key */
    const char *addr;         /* numeric, e.g. "127.0.0.1" */
    uint16_t port;            /* 0: any free port (cg_ocsp_responder_port) */
    unsigned validity_s;      /* nextUpdate - thisUpdate; 0: 3600 */
    const char *signer_cert;  /* delegated signer (cg_ca_issue_ocsp_signer), or NULL: the
                               * intermediate signs */
    const char *signer_key;   /* its key (mode 0600); required with signer_cert */
};

/* Opens the CA and listens on the context's loop: POST with an
 * application/ocsp-request body, or GET /BASE64 (RFC 6960 appendix A).
 * Answers good / revoked / unknown for each certificate in the request from
 * the CA database (re-read when index.txt changes), signed by the
 * intermediate (or the delegated signer), with thisUpdate, nextUpdate and
 * the request's nonce. GET /crl.pem serves the CA's last CRL (DER,
 * application/pkix-crl; 404 before `cg_ca_write_crl`), so the default CRL
 * distribution point works too. Errors as cg_ca_open, CG_ECERT for a signer that the
 * intermediate did not issue or that lacks OCSPSigning, CG_EKEYMISMATCH,
 * CG_ENET when it cannot bind. Loop thread only. */
CG_API enum cg_err cg_ocsp_responder_new(struct cg_ctx *ctx,
                                         const struct cg_ocsp_responder_opts *opts,
                                         struct cg_ocsp_responder **out);
CG_API uint16_t cg_ocsp_responder_port(const struct cg_ocsp_responder *r);
/* Closes the listener and connections; memory is released by the loop (run
 * it or cg_ctx_free afterwards). NULL is a no-op. */
CG_API void cg_ocsp_responder_free(struct cg_ocsp_responder *r);

/* ---- the server certificate store (B-13) ---- */

/* A store is a directory with at most one certificate per key type:
 * rsa.chain.pem + rsa.key and ecdsa.chain.pem + ecdsa.key. */
struct cg_cert_install_opts {
    const char *store_dir;
    const char *cert_file;  /* leaf, or leaf + intermediates */
    const char *key_file;   /* must be mode 0600 or stricter (B-13) */
    const char *chain_file; /* intermediates, or NULL (then taken from cert_file) */
    const char *ca_file;    /* trusted roots to verify the chain; NULL: the system store */
    const char *host;       /* advertised host name that must be in the SAN, or NULL */
    const char *passphrase; /* for an encrypted key_file (stored decrypted, 0600) */
};

/* Checks the pair and installs it atomically (write temp, fsync, rename):
 * key matches (CG_EKEYMISMATCH), chain verifies to a root (CG_EVERIFY:
 * incomplete chain or unknown root), dates (CG_EEXPIRED: expired or not yet
 * valid), host in the SAN (CG_ECERT), key permissions (CG_EPERM), key
 * decrypts (CG_EKEY). Each failure is logged naming the problem. Replaces an
 * installed certificate of the same key type. */
CG_API enum cg_err cg_cert_store_install(struct cg_ctx *ctx,
                                         const struct cg_cert_install_opts *opts);

struct cg_cert_info {
    char chain_file[512];
    char key_file[512];
    char subject[256];
    char sans[512];      /* "DNS:a, DNS:b" */
    char serial[48];
    char key_desc[32];   /* "RSA-2048", "ECDSA prime256v1" */
    char sha256[96];     /* fingerprint of the leaf, hex with colons */
    long long not_after; /* Unix time */
    long days_left;
};

/* Lists what store_dir holds (up to max entries); *n receives the count.
 * CG_ENOTFOUND when the store is empty or missing. */
CG_API enum cg_err cg_cert_store_list(struct cg_ctx *ctx, const char *store_dir,
                                      struct cg_cert_info *out, size_t max, size_t *n);

/* Logs, for the leaf and each intermediate in chain_file, a warning when it
 * expires within 30, 7 or 1 days (an error and CG_EEXPIRED once expired).
 * *days_left (may be NULL) receives the whole days left of the first to
 * expire. Meant for a start/reload check and a daily timer. CG_ECERT: no
 * certificate in the file. */
CG_API enum cg_err cg_cert_check_expiry(struct cg_ctx *ctx, const char *chain_file,
                                        long *days_left);

/* ---- the client trust store (B-14) and pins (M-06) ---- */

/* Adds the root(s) in cert_file to the hashed directory store_dir (created
 * if missing) as HASH.N, usable as a ca_dir (cg_ws_client_config_set_trust).
 * CG_ECERT: not a CA certificate. CG_EEXIST: already there. */
CG_API enum cg_err cg_trust_add(struct cg_ctx *ctx, const char *store_dir, const char *cert_file);
/* Removes a root, named by a PEM file or by its SHA-256 fingerprint (hex,
 * colons allowed). CG_ENOTFOUND if absent. */
CG_API enum cg_err cg_trust_remove(struct cg_ctx *ctx, const char *store_dir, const char *what);
/* Lists the roots: one cg_cert_info per file (chain_file holds its path). */
CG_API enum cg_err cg_trust_list(struct cg_ctx *ctx, const char *store_dir,
                                 struct cg_cert_info *out, size_t max, size_t *n);
/* Sets the pin of peer ("host" or "host:port") to sha256_hex (64 hex digits,
 * colons allowed) in store_dir/pins, replacing an older pin of that peer. */
CG_API enum cg_err cg_trust_pin(struct cg_ctx *ctx, const char *store_dir, const char *peer,
                                const char *sha256_hex);
/* Reads the pin of peer from store_dir/pins into out (32 bytes).
 * CG_ENOTFOUND when the peer has none (or there is no pins file), CG_EFILE
 * when the file is unreadable or the peer's line is malformed, CG_EINVAL for
 * a NULL argument or a peer name with blanks or control characters. */
CG_API enum cg_err cg_trust_pin_get(const char *store_dir, const char *peer, uint8_t out[32]);
/* The same, telling where a malformed line is: on CG_EFILE for a malformed
 * line, it is logged on ctx (may be NULL: no log) as "PATH:LINE: why" and,
 * when bad_line is not NULL, *bad_line receives its number (from 1); in
 * every other case *bad_line is 0. Never logs the pin itself. */
CG_API enum cg_err cg_trust_pin_lookup(struct cg_ctx *ctx, const char *store_dir,
                                       const char *peer, uint8_t out[32], size_t *bad_line);

/* SHA-256 of the DER of the first certificate in a PEM file, as lowercase
 * hex with colons (out at least 96 bytes). */
CG_API enum cg_err cg_cert_fingerprint(const char *cert_file, char *out, size_t outsz);

#ifdef __cplusplus
}
#endif
#endif
