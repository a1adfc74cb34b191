/* The client trust store (B-14) and per-peer pins (M-06).
 *
 * Roots live in an OpenSSL hashed directory (HASH.N, as c_rehash makes), so
 * it works as ca_dir for castgate's client and for any OpenSSL program.
 * OpenSSL looks up HASH.0, HASH.1, ... and stops at the first gap, so a
 * removal moves the last file of that hash into the freed slot. */
#include "cert/cert.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SLOTS 100

static bool hashed_name(const char *n)
{
    size_t i = 0;
    for (; i < 8; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return false;
    if (n[i++] != '.' || n[i] == '\0')
        return false;
    for (; n[i]; i++)
        if (n[i] < '0' || n[i] > '9')
            return false;
    return true;
}

static void slot_path(char *out, size_t outsz, const char *dir, unsigned long h, int k)
{
    snprintf(out, outsz, "%s/%08lx.%d", dir, h, k);
}

/* Which slot of hash h holds a certificate with fingerprint fp (-1: none);
 * *used receives how many slots are in use. */
static int find_slot(const char *dir, unsigned long h, const uint8_t fp[32], int *used)
{
    int found = -1;
    *used = 0;
    for (int k = 0; k < MAX_SLOTS; k++) {
        char path[600];
        slot_path(path, sizeof(path), dir, h, k);
        X509 *x = cg__cert_read_one(path);
        if (x == NULL)
            break;
        uint8_t got[32];
        char hex[100];
        cg__cert_sha256(x, hex, sizeof(hex), got);
        if (found < 0 && memcmp(got, fp, 32) == 0)
            found = k;
        X509_free(x);
        *used = k + 1;
    }
    return found;
}

static enum cg_err add_one(struct cg_ctx *ctx, const char *dir, X509 *x)
{
    char subj[256], hex[100], path[600];
    uint8_t fp[32];
    int used = 0;
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
    if (X509_check_ca(x) < 1) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "%s is not a CA certificate: trust its CA instead, or pin it (castgate trust "
                "pin)", subj);
        return CG_ECERT;
    }
    if (X509_check_issued(x, x) != X509_V_OK)
        cg__log(ctx, CG_LOG_WARN, CG_CERT_COMPONENT,
                "%s is not self-signed: trusting an intermediate as an anchor", subj);
    cg__cert_sha256(x, hex, sizeof(hex), fp);
    unsigned long h = X509_subject_name_hash(x);
    if (find_slot(dir, h, fp, &used) >= 0) {
        cg__log(ctx, CG_LOG_WARN, CG_CERT_COMPONENT, "%s is trusted already", subj);
        return CG_EEXIST;
    }
    CG_CHECK(used < MAX_SLOTS, CG_EFULL);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    slot_path(path, sizeof(path), dir, h, used);
    enum cg_err rc = cg__cert_pem_append(&b, x);
    if (rc == CG_OK)
        rc = cg__cert_write_atomic(path, b.data, b.len, 0644);
    cg__buf_free(&b);
    if (rc == CG_OK)
        cg__log(ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "trusted %s (sha256 %s) as %s", subj, hex,
                path);
    return rc;
}

enum cg_err cg_trust_add(struct cg_ctx *ctx, const char *store_dir, const char *cert_file)
{
    STACK_OF(X509) *certs = NULL;
    CG_CHECK(store_dir != NULL && cert_file != NULL, CG_EINVAL);
    CG_GUARD(cg__cert_read_certs(ctx, cert_file, &certs));
    enum cg_err rc = CG_OK;
    rc = cg__cert_mkdirs(ctx, store_dir, 0755);
    for (int i = 0; rc == CG_OK && i < sk_X509_num(certs); i++)
        rc = add_one(ctx, store_dir, sk_X509_value(certs, i));
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static enum cg_err remove_fp(struct cg_ctx *ctx, const char *dir, const uint8_t fp[32])
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned long hashes[256];
    size_t nh = 0;
    if (d == NULL) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "cannot open %s", dir);
        return CG_EFILE;
    }
    while ((e = readdir(d)) != NULL && nh < CG_ARRAY_LEN(hashes))
        if (hashed_name(e->d_name) && strcmp(strchr(e->d_name, '.'), ".0") == 0)
            hashes[nh++] = strtoul(e->d_name, NULL, 16);
    closedir(d);
    for (size_t i = 0; i < nh; i++) {
        int used = 0;
        int k = find_slot(dir, hashes[i], fp, &used);
        if (k < 0)
            continue;
        char victim[600], last[600];
        slot_path(victim, sizeof(victim), dir, hashes[i], k);
        slot_path(last, sizeof(last), dir, hashes[i], used - 1);
        /* Keep HASH.0..N-1 without gaps: the last one fills the hole. */
        int r = k == used - 1 ? unlink(victim) : rename(last, victim);
        CG_CHECK(r == 0, CG_EIO);
        cg__log(ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "removed %s from the trust store", victim);
        return CG_OK;
    }
    cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "no such root in %s", dir);
    return CG_ENOTFOUND;
}

enum cg_err cg_trust_remove(struct cg_ctx *ctx, const char *store_dir, const char *what)
{
    uint8_t fp[32];
    CG_CHECK(store_dir != NULL && what != NULL, CG_EINVAL);
    if (cg__cert_parse_sha256(what, fp) != CG_OK) {
        X509 *x = cg__cert_read_one(what);
        if (x == NULL) {
            cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                    "%s is neither a PEM certificate nor a SHA-256 fingerprint", what);
            return CG_EINVAL;
        }
        char hex[100];
        cg__cert_sha256(x, hex, sizeof(hex), fp);
        X509_free(x);
    }
    return remove_fp(ctx, store_dir, fp);
}

enum cg_err cg_trust_list(struct cg_ctx *ctx, const char *store_dir, struct cg_cert_info *out,
                          size_t max, size_t *n)
{
    CG_CHECK(store_dir != NULL && n != NULL && (out != NULL || max == 0), CG_EINVAL);
    *n = 0;
    DIR *d = opendir(store_dir);
    if (d == NULL) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "cannot open %s", store_dir);
        return CG_EFILE;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && *n < max) {
        char path[512];
        if (!hashed_name(e->d_name) ||
            cg__cert_path(path, sizeof(path), store_dir, e->d_name) != CG_OK)
            continue;
        X509 *x = cg__cert_read_one(path);
        if (x == NULL)
            continue;
        memset(&out[*n], 0, sizeof(out[*n]));
        snprintf(out[*n].chain_file, sizeof(out[*n].chain_file), "%s", path);
        cg__cert_info_fill(x, &out[*n]);
        X509_free(x);
        (*n)++;
    }
    closedir(d);
    return CG_OK;
}

/* ---- pins: "PEER SHA256HEX" lines in store_dir/pins (M-06) ----
 * Written with LF ends; read with LF or CRLF ends (a file edited on
 * Windows), blanks around the pin allowed, blank lines skipped. A line that
 * is a peer's and holds no valid pin is refused with its number. */

static bool peer_ok(const char *p)
{
    if (p == NULL || *p == '\0' || strlen(p) > 255)
        return false;
    for (; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static enum cg_err pins_path(const char *dir, char *out, size_t outsz)
{
    return cg__cert_path(out, outsz, dir, "pins");
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* n characters of hex (colons allowed) -> the 32 bytes of a pin. */
static bool parse_pin(const char *s, size_t n, uint8_t out[32])
{
    char hex[100]; /* 64 digits and 31 colons fit */
    if (n >= sizeof(hex))
        return false;
    memcpy(hex, s, n);
    hex[n] = '\0';
    return cg__cert_parse_sha256(hex, out) == CG_OK;
}

/* One line of a pins file, its LF and a CR before it cut: true when it is
 * peer's (blanks before the name allowed), with *why set when it is
 * malformed, else the pin in out. */
static bool pin_line(const char *l, size_t n, const char *peer, uint8_t out[32],
                     const char **why)
{
    size_t pl = strlen(peer), i = 0;
    while (i < n && is_blank(l[i]))
        i++;
    if (n - i < pl || memcmp(l + i, peer, pl) != 0 || (n - i > pl && !is_blank(l[i + pl])))
        return false;
    i += pl;
    while (i < n && is_blank(l[i]))
        i++;
    size_t end = n;
    while (end > i && is_blank(l[end - 1]))
        end--;
    if (i == end)
        *why = "no pin after the peer name";
    else if (memchr(l + i, '\r', end - i) != NULL)
        *why = "a CR inside the line";
    else if (!parse_pin(l + i, end - i, out))
        *why = "the pin is not 64 hex digits (colons allowed)";
    return true;
}

/* Lines end in LF or CRLF; the last one may have neither; blank lines are
 * skipped. The first line that is peer's decides. */
enum cg_err cg__pins_find(const char *text, size_t len, const char *peer, uint8_t out[32],
                          size_t *line, const char **why)
{
    size_t no = 0, pos = 0;
    *line = 0;
    *why = NULL;
    while (pos < len) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - l) : len - pos;
        pos += n + 1;
        no++;
        if (n > 0 && l[n - 1] == '\r')
            n--;
        if (!pin_line(l, n, peer, out, why))
            continue;
        if (*why == NULL)
            return CG_OK;
        *line = no;
        return CG_EFILE;
    }
    return CG_ENOTFOUND;
}

/* The lines of a pins file that are not peer's, LF-ended (a CR before an
 * LF dropped), blank lines dropped, others (even malformed ones) kept. */
static enum cg_err keep_other_pins(const char *text, size_t len, const char *peer,
                                   struct cg_buf *b)
{
    size_t pos = 0;
    while (pos < len) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - l) : len - pos;
        pos += n + 1;
        if (n > 0 && l[n - 1] == '\r')
            n--;
        uint8_t fp[32];
        const char *why = NULL;
        if (n == 0 || pin_line(l, n, peer, fp, &why))
            continue;
        CG_GUARD(cg__buf_append(b, l, n));
        CG_GUARD(cg__buf_append(b, "\n", 1));
    }
    return CG_OK;
}

enum cg_err cg_trust_pin(struct cg_ctx *ctx, const char *store_dir, const char *peer,
                         const char *sha256_hex)
{
    enum cg_err rc = CG_OK;
    uint8_t fp[32];
    char path[600];
    uint8_t *old = NULL;
    size_t len = 0;
    struct cg_buf b;
    cg__buf_init(&b, 1u << 20);
    CG_CHECK(store_dir != NULL, CG_EINVAL);
    if (!peer_ok(peer) || cg__cert_parse_sha256(sha256_hex, fp) != CG_OK) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT,
                "a pin needs a peer name without spaces and 64 hex digits (colons allowed)");
        return CG_EINVAL;
    }
    CG_GUARD(pins_path(store_dir, path, sizeof(path)));
    CG_GUARD(cg__cert_mkdirs(ctx, store_dir, 0755));
    if (cg__read_file(path, 1u << 20, &old, &len) == CG_OK)
        CG_TRY(keep_other_pins((const char *)old, len, peer, &b));
    CG_TRY(cg__buf_printf(&b, "%s ", peer));
    for (int i = 0; i < 32; i++)
        CG_TRY(cg__buf_printf(&b, "%02x", fp[i]));
    CG_TRY(cg__buf_append(&b, "\n", 1));
    CG_TRY(cg__cert_write_atomic(path, b.data, b.len, 0644));
    cg__log(ctx, CG_LOG_INFO, CG_CERT_COMPONENT, "pinned %s", peer);
out:
    free(old);
    cg__buf_free(&b);
    return rc;
}

enum cg_err cg_trust_pin_lookup(struct cg_ctx *ctx, const char *store_dir, const char *peer,
                                uint8_t out[32], size_t *bad_line)
{
    char path[600];
    uint8_t *text = NULL;
    size_t len = 0, line = 0;
    const char *why = NULL;
    if (bad_line != NULL)
        *bad_line = 0;
    CG_CHECK(store_dir != NULL && peer_ok(peer) && out != NULL, CG_EINVAL);
    CG_GUARD(pins_path(store_dir, path, sizeof(path)));
    enum cg_err rc = cg__read_file(path, 1u << 20, &text, &len);
    if (rc != CG_OK)
        return rc == CG_EFILE ? CG_ENOTFOUND : rc;
    rc = cg__pins_find((const char *)text, len, peer, out, &line, &why);
    free(text);
    if (rc == CG_EFILE) {
        cg__log(ctx, CG_LOG_ERROR, CG_CERT_COMPONENT, "%s:%zu: %s", path, line, why);
        if (bad_line != NULL)
            *bad_line = line;
    }
    return rc;
}

enum cg_err cg_trust_pin_get(const char *store_dir, const char *peer, uint8_t out[32])
{
    return cg_trust_pin_lookup(NULL, store_dir, peer, out, NULL);
}
