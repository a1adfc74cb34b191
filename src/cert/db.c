/* The CA database in `openssl ca` index format, so `openssl ocsp -index` and
 * `openssl ca` read what castgate writes. One line per certificate, six
 * tab-separated fields:
 *   status (V/R/E)  expiry  revocation[,reason]  serial-hex  file  subject
 * Parsing is sans-I/O and goes through a cursor. */
#include "cert/cert.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char *const reasons[] = {
    "unspecified", "keyCompromise", "CACompromise", "affiliationChanged", "superseded",
    "cessationOfOperation", "certificateHold", NULL /* 7 unused */, "removeFromCRL",
};

const char *cg__db_reason_name(int reason)
{
    if (reason < 0 || (size_t)reason >= CG_ARRAY_LEN(reasons))
        return NULL;
    return reasons[reason];
}

int cg__db_reason_code(const char *name)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(reasons); i++)
        if (reasons[i] != NULL && strcmp(reasons[i], name) == 0)
            return (int)i;
    return -1;
}

void cg__db_free(struct cg_db *db)
{
    free(db->rows);
    memset(db, 0, sizeof(*db));
}

enum cg_err cg__db_add(struct cg_db *db, const struct cg_db_row *row)
{
    if (db->n == db->cap) {
        size_t cap = db->cap ? db->cap * 2 : 16;
        struct cg_db_row *r = realloc(db->rows, cap * sizeof(*r));
        CG_CHECK(r != NULL, CG_ENOMEM);
        db->rows = r;
        db->cap = cap;
    }
    db->rows[db->n++] = *row;
    return CG_OK;
}

struct cg_db_row *cg__db_find(const struct cg_db *db, const char *serial_hex)
{
    for (size_t i = 0; i < db->n; i++)
        if (strcmp(db->rows[i].serial, serial_hex) == 0)
            return &db->rows[i];
    return NULL;
}

/* Copies the next field (up to a tab or the end of the line) into dst. */
static enum cg_err field(struct cg_cur *c, char *dst, size_t dstsz, bool last)
{
    size_t n = 0;
    while (cg__cur_left(c) > 0) {
        uint8_t ch = c->p[c->off];
        if (ch == '\n' || (!last && ch == '\t'))
            break;
        c->off++;
        CG_CHECK(n + 1 < dstsz, CG_ETOOBIG);
        CG_CHECK(ch >= 0x20 || ch == '\t', CG_EFILE);
        dst[n++] = (char)ch;
    }
    dst[n] = '\0';
    if (!last) {
        uint8_t tab;
        CG_CHECK(cg__cur_u8(c, &tab) == CG_OK && tab == '\t', CG_EFILE);
    }
    return CG_OK;
}

/* Upper case only: the index's serials are as openssl writes them. */
static bool is_hex(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F')))
            return false;
    return true;
}

static enum cg_err parse_line(struct cg_cur *c, struct cg_db_row *r)
{
    char status[4], file[256];
    memset(r, 0, sizeof(*r));
    CG_GUARD(field(c, status, sizeof(status), false));
    CG_GUARD(field(c, r->expires, sizeof(r->expires), false));
    CG_GUARD(field(c, r->revoked, sizeof(r->revoked), false));
    CG_GUARD(field(c, r->serial, sizeof(r->serial), false));
    CG_GUARD(field(c, file, sizeof(file), false));
    CG_GUARD(field(c, r->subject, sizeof(r->subject), true));
    CG_CHECK(strlen(status) == 1 && strchr("VRE", status[0]) != NULL, CG_EFILE);
    r->status = status[0];
    CG_CHECK(strlen(r->expires) >= 13 && r->expires[strlen(r->expires) - 1] == 'Z', CG_EFILE);
    CG_CHECK(is_hex(r->serial), CG_EFILE);
    CG_CHECK((r->status == 'R') == (r->revoked[0] != '\0'), CG_EFILE);
    return CG_OK;
}

enum cg_err cg__db_parse(const char *text, size_t len, struct cg_db *db, size_t *bad_line)
{
    struct cg_cur c;
    size_t line = 0;
    cg__cur_init(&c, text, len);
    memset(db, 0, sizeof(*db));
    while (cg__cur_left(&c) > 0) {
        line++;
        struct cg_db_row r;
        enum cg_err rc = parse_line(&c, &r);
        uint8_t nl = 0;
        if (rc == CG_OK && cg__cur_left(&c) > 0)
            rc = cg__cur_u8(&c, &nl) == CG_OK && nl == '\n' ? CG_OK : CG_EFILE;
        if (rc == CG_OK)
            rc = cg__db_add(db, &r);
        if (rc != CG_OK) {
            if (bad_line != NULL)
                *bad_line = line;
            cg__db_free(db);
            return rc == CG_ENOMEM ? rc : CG_EFILE;
        }
    }
    return CG_OK;
}

enum cg_err cg__db_load(const char *path, struct cg_db *db, size_t *bad_line)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (bad_line != NULL)
        *bad_line = 0;
    CG_GUARD(cg__read_file(path, 64u << 20, &text, &len));
    enum cg_err rc = cg__db_parse((const char *)text, len, db, bad_line);
    free(text);
    return rc;
}

enum cg_err cg__db_format(const struct cg_db *db, struct cg_buf *out)
{
    for (size_t i = 0; i < db->n; i++) {
        const struct cg_db_row *r = &db->rows[i];
        CG_GUARD(cg__buf_printf(out, "%c\t%s\t%s\t%s\tunknown\t%s\n", r->status, r->expires,
                                r->revoked, r->serial, r->subject));
    }
    return CG_OK;
}

/* ---- serials ---- */

enum cg_err cg__cert_random_serial(ASN1_INTEGER **out, char hex[CG_CERT_MAX_SERIAL_HEX])
{
    enum cg_err rc = CG_OK;
    uint8_t b[16];
    BIGNUM *bn = NULL;
    char *h = NULL;
    *out = NULL;
    CG_ENSURE(RAND_bytes(b, sizeof(b)) == 1, CG_ETLS);
    b[0] &= 0x7f; /* positive, and DER needs no leading zero byte */
    b[0] |= 0x40; /* 127 bits of entropy, never a short serial */
    bn = BN_bin2bn(b, sizeof(b), NULL);
    CG_ENSURE(bn != NULL, CG_ENOMEM);
    h = BN_bn2hex(bn);
    CG_ENSURE(h != NULL && strlen(h) < CG_CERT_MAX_SERIAL_HEX, CG_ENOMEM);
    *out = BN_to_ASN1_INTEGER(bn, NULL);
    CG_ENSURE(*out != NULL, CG_ENOMEM);
    memcpy(hex, h, strlen(h) + 1);
out:
    OPENSSL_free(h);
    BN_free(bn);
    return rc;
}

enum cg_err cg__cert_norm_serial(const char *in, char out[CG_CERT_MAX_SERIAL_HEX])
{
    char digits[128];
    size_t n = 0;
    CG_CHECK(in != NULL, CG_EINVAL);
    if (strncmp(in, "0x", 2) == 0 || strncmp(in, "0X", 2) == 0)
        in += 2;
    for (; *in; in++) {
        if (*in == ':')
            continue;
        CG_CHECK(n + 1 < sizeof(digits), CG_EINVAL);
        CG_CHECK(cg__hexval((unsigned char)*in) >= 0, CG_EINVAL);
        digits[n++] = *in;
    }
    digits[n] = '\0';
    CG_CHECK(n > 0, CG_EINVAL);
    BIGNUM *bn = NULL;
    CG_CHECK(BN_hex2bn(&bn, digits) > 0, CG_EINVAL);
    char *h = BN_is_zero(bn) ? NULL : BN_bn2hex(bn);
    enum cg_err rc = CG_OK;
    if (BN_is_zero(bn))
        memcpy(out, "00", 3);
    else if (h == NULL || strlen(h) >= CG_CERT_MAX_SERIAL_HEX)
        rc = h == NULL ? CG_ENOMEM : CG_ERANGE;
    else
        memcpy(out, h, strlen(h) + 1);
    OPENSSL_free(h);
    BN_free(bn);
    return rc;
}
