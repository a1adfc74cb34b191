/* Hand-built ClientHellos and a ServerHello/alert parser (RFC 5246 7.4,
 * RFC 8446 4.1), sans-I/O. They let `check tls` offer what OpenSSL's client
 * refuses to (SSLv3, TLS 1.0/1.1, one suite at a time, DEFLATE) and read only
 * the first flight of the answer. */
#include "check/check.h"

#include <string.h>

/* A bounded writer with back-patched length prefixes. */
struct w {
    uint8_t b[4096];
    size_t n;
    bool over;
};

static void put(struct w *w, const void *p, size_t n)
{
    if (w->over || n > sizeof(w->b) - w->n) {
        w->over = true;
        return;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void u8(struct w *w, unsigned v) { uint8_t x = (uint8_t)v; put(w, &x, 1); }
static void u16(struct w *w, unsigned v) { u8(w, v >> 8); u8(w, v); }
/* Opens a length prefix of `bytes` bytes; close_len fills it in. */
static size_t open_len(struct w *w, int bytes)
{
    size_t at = w->n;
    for (int i = 0; i < bytes; i++)
        u8(w, 0);
    return at;
}
static void close_len(struct w *w, size_t at, int bytes)
{
    if (w->over)
        return;
    size_t len = w->n - at - (size_t)bytes;
    for (int i = bytes - 1; i >= 0; i--, len >>= 8)
        w->b[at + (size_t)i] = (uint8_t)len;
}

static const uint16_t default_sigalgs[] = {
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b,
    0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
};
/* x25519, P-256, P-384, P-521, x448, ffdhe2048, ffdhe3072 */
static const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101};

static void ext_sni(struct w *w, const char *sni)
{
    size_t n = strlen(sni);
    u16(w, 0);
    u16(w, (unsigned)n + 5);
    u16(w, (unsigned)n + 3);
    u8(w, 0);
    u16(w, (unsigned)n);
    put(w, sni, n);
}

static void ext_list16(struct w *w, unsigned type, const uint16_t *v, size_t n)
{
    u16(w, type);
    u16(w, (unsigned)(2 * n + 2));
    u16(w, (unsigned)(2 * n));
    for (size_t i = 0; i < n; i++)
        u16(w, v[i]);
}

static void extensions(struct w *w, const struct cg_hello_opts *o)
{
    size_t at = open_len(w, 2);
    if (o->sni)
        ext_sni(w, o->sni);
    ext_list16(w, 10, groups, CG_ARRAY_LEN(groups));
    u16(w, 11), u16(w, 2), u8(w, 1), u8(w, 0); /* ec_point_formats: uncompressed */
    if (o->version >= CG_TLS12)
        ext_list16(w, 13, o->sigalgs ? o->sigalgs : default_sigalgs,
                   o->sigalgs ? o->nsigalgs : CG_ARRAY_LEN(default_sigalgs));
    if (o->status_request)
        u16(w, 5), u16(w, 5), u8(w, 1), u16(w, 0), u16(w, 0);
    if (o->session_ticket)
        u16(w, 35), u16(w, 0);
    u16(w, 23), u16(w, 0); /* extended_master_secret */
    if (o->version == CG_TLS13) {
        u16(w, 43), u16(w, 3), u8(w, 2), u16(w, CG_TLS13); /* supported_versions */
        u16(w, 51), u16(w, 38), u16(w, 36), u16(w, 0x001d), u16(w, 32); /* key_share x25519 */
        put(w, o->random, 32);
    }
    close_len(w, at, 2);
}

enum cg_err cg__check_hello_build(struct cg_buf *b, const struct cg_hello_opts *o)
{
    CG_CHECK(o && o->random && o->version >= CG_SSL3 && o->version <= CG_TLS13, CG_EINVAL);
    CG_CHECK(o->nsuites > 0 && o->nsuites <= 512, CG_EINVAL);
    CG_CHECK(!o->sni || strlen(o->sni) <= 255, CG_EINVAL);
    struct w w = {.n = 0};
    u8(&w, 22);
    u16(&w, o->version == CG_SSL3 ? CG_SSL3 : CG_TLS10);
    size_t rec = open_len(&w, 2);
    u8(&w, 1); /* client_hello */
    size_t hs = open_len(&w, 3);
    u16(&w, o->version == CG_TLS13 ? CG_TLS12 : o->version);
    put(&w, o->random, 32);
    u8(&w, 0); /* no session id */
    size_t cs = open_len(&w, 2);
    for (size_t i = 0; i < o->nsuites; i++)
        u16(&w, o->suites[i]);
    if (o->version <= CG_TLS12)
        u16(&w, 0x00ff); /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 3.3) */
    close_len(&w, cs, 2);
    if (o->offer_compression)
        u8(&w, 2), u8(&w, 1), u8(&w, 0);
    else
        u8(&w, 1), u8(&w, 0);
    if (o->version > CG_SSL3)
        extensions(&w, o);
    close_len(&w, hs, 3);
    close_len(&w, rec, 2);
    CG_CHECK(!w.over, CG_ETOOBIG);
    return cg__buf_append(b, w.b, w.n);
}

/* ---- the answer ---- */

static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* Inside a complete message, running short is malformed, not "need more". */
#define NEED(expr)                                                                                 \
    do {                                                                                           \
        if ((expr) != CG_OK)                                                                       \
            return CG_EPROTO;                                                                      \
    } while (0)

static enum cg_err parse_ext(struct cg_server_hello *sh, uint16_t type, struct cg_cur *e)
{
    switch (type) {
    case 43: NEED(cg__cur_u16be(e, &sh->version)); break; /* supported_versions */
    case 0xff01: sh->has_reneg_info = true; break;
    case 35: sh->has_ticket_ext = true; break;
    case 5: sh->has_status_request = true; break;
    default: break;
    }
    return CG_OK;
}

static enum cg_err parse_sh_body(const uint8_t *p, size_t len, struct cg_server_hello *sh)
{
    struct cg_cur c;
    const uint8_t *rnd, *sid;
    uint8_t sidlen;
    cg__cur_init(&c, p, len);
    NEED(cg__cur_u16be(&c, &sh->version));
    NEED(cg__cur_bytes(&c, 32, &rnd));
    sh->is_hrr = memcmp(rnd, hrr_random, 32) == 0;
    NEED(cg__cur_u8(&c, &sidlen));
    CG_CHECK(sidlen <= 32, CG_EPROTO);
    NEED(cg__cur_bytes(&c, sidlen, &sid));
    NEED(cg__cur_u16be(&c, &sh->suite));
    NEED(cg__cur_u8(&c, &sh->compression));
    if (cg__cur_left(&c) == 0)
        return CG_OK; /* no extensions (SSLv3, old servers) */
    uint16_t extlen;
    const uint8_t *ext;
    NEED(cg__cur_u16be(&c, &extlen));
    NEED(cg__cur_bytes(&c, extlen, &ext));
    CG_CHECK(cg__cur_left(&c) == 0, CG_EPROTO);
    struct cg_cur e;
    cg__cur_init(&e, ext, extlen);
    while (cg__cur_left(&e) > 0) {
        uint16_t type, n;
        const uint8_t *d;
        NEED(cg__cur_u16be(&e, &type));
        NEED(cg__cur_u16be(&e, &n));
        NEED(cg__cur_bytes(&e, n, &d));
        struct cg_cur one;
        cg__cur_init(&one, d, n);
        CG_GUARD(parse_ext(sh, type, &one));
    }
    return CG_OK;
}

/* One record header; CG_EAGAIN until the whole record is there. */
static enum cg_err record(struct cg_cur *c, uint8_t *type, uint16_t *ver, const uint8_t **frag,
                          uint16_t *flen)
{
    CG_GUARD(cg__cur_u8(c, type));
    CG_GUARD(cg__cur_u16be(c, ver));
    CG_CHECK(*type >= 20 && *type <= 23 && (*ver >> 8) == 3, CG_EPROTO);
    CG_GUARD(cg__cur_u16be(c, flen));
    CG_CHECK(*flen > 0 && *flen <= 16384 + 2048, CG_EPROTO);
    return cg__cur_bytes(c, *flen, frag);
}

enum cg_err cg__check_server_hello_parse(const uint8_t *p, size_t len,
                                         struct cg_server_hello *sh, size_t *used)
{
    CG_CHECK(p && sh && used, CG_EINVAL);
    memset(sh, 0, sizeof(*sh));
    uint8_t hs[4096]; /* the reassembled first handshake message */
    size_t have = 0;
    struct cg_cur c;
    cg__cur_init(&c, p, len);
    for (;;) {
        uint8_t type;
        uint16_t flen;
        const uint8_t *frag;
        CG_GUARD(record(&c, &type, &sh->record_version, &frag, &flen));
        if (type == 21 && have == 0) {
            CG_CHECK(flen >= 2, CG_EPROTO);
            sh->is_alert = true;
            sh->alert_level = frag[0];
            sh->alert_desc = frag[1];
            *used = c.off;
            return CG_OK;
        }
        CG_CHECK(type == 22 && have < sizeof(hs), CG_EPROTO);
        size_t n = flen < sizeof(hs) - have ? flen : sizeof(hs) - have;
        memcpy(hs + have, frag, n); /* later messages in the record are not needed */
        have += n;
        if (have < 4)
            continue;
        CG_CHECK(hs[0] == 2, CG_EPROTO); /* server_hello */
        size_t mlen = ((size_t)hs[1] << 16) | ((size_t)hs[2] << 8) | hs[3];
        CG_CHECK(mlen <= sizeof(hs) - 4, CG_EPROTO);
        if (have - 4 < mlen)
            continue;
        *used = c.off;
        return parse_sh_body(hs + 4, mlen, sh);
    }
}
