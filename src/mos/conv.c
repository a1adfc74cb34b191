/* UTF-16BE <-> UTF-8, streaming (M-04, M-21). Byte-at-a-time state machines:
 * a character is emitted on the byte that completes it, and that byte is
 * consumed only if the output has room, so a call can stop anywhere and
 * resume. Invalid input is an error with its stream offset, never replaced. */
#include "mos/mos.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <stdlib.h>
#include <string.h>

void cg_mos_conv_init(struct cg_mos_conv *c, enum cg_mos_encoding from)
{
    memset(c, 0, sizeof(*c));
    c->from = (uint8_t)from;
}

/* Writes cp as UTF-16BE; returns the length, 0 if it does not fit. */
static size_t put_utf16(uint8_t *o, size_t room, uint32_t cp)
{
    if (cp < 0x10000) {
        if (room < 2)
            return 0;
        o[0] = (uint8_t)(cp >> 8);
        o[1] = (uint8_t)cp;
        return 2;
    }
    if (room < 4)
        return 0;
    uint32_t v = cp - 0x10000;
    uint32_t hi = 0xD800 | (v >> 10), lo = 0xDC00 | (v & 0x3FF);
    o[0] = (uint8_t)(hi >> 8);
    o[1] = (uint8_t)hi;
    o[2] = (uint8_t)(lo >> 8);
    o[3] = (uint8_t)lo;
    return 4;
}

/* Emits a completed code point (dropping a leading BOM). Returns false when
 * the output is full. */
static bool emit(struct cg_mos_conv *c, uint32_t cp, uint8_t *out, size_t cap, size_t *o)
{
    if (!c->started) {
        if (cp == 0xFEFF) {
            c->started = true;
            return true;
        }
    }
    size_t n = c->from == CG_MOS_UCS2BE ? cg__mos_put_utf8(out + *o, cap - *o, cp)
                                        : put_utf16(out + *o, cap - *o, cp);
    if (n == 0)
        return false;
    c->started = true;
    *o += n;
    return true;
}

static enum cg_err fail(struct cg_mos_conv *c, uint64_t at)
{
    c->failed = true;
    c->error_offset = at;
    return CG_EENCODING;
}

/* One UTF-16BE unit completed at stream offset `at` (its first byte). */
static enum cg_err utf16_unit(struct cg_mos_conv *c, uint16_t u, uint64_t at, uint8_t *out,
                              size_t cap, size_t *o, bool *full)
{
    if (c->high != 0) {
        if (u < 0xDC00 || u > 0xDFFF)
            return fail(c, c->seq_start); /* high surrogate not followed by a low one */
        uint32_t cp = 0x10000 + (((uint32_t)c->high - 0xD800) << 10) + (u - 0xDC00u);
        if (!emit(c, cp, out, cap, o)) {
            *full = true;
            return CG_OK;
        }
        c->high = 0;
        return CG_OK;
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
        c->high = u;
        c->seq_start = at;
        return CG_OK;
    }
    if (u >= 0xDC00 && u <= 0xDFFF)
        return fail(c, at); /* lone low surrogate */
    if (!emit(c, u, out, cap, o))
        *full = true;
    return CG_OK;
}

static enum cg_err feed_utf16(struct cg_mos_conv *c, const uint8_t *in, size_t n, uint8_t *out,
                              size_t cap, size_t *consumed, size_t *produced)
{
    size_t i = 0, o = 0;
    while (i < n) {
        if (!c->have_byte) {
            /* Fast path: whole ASCII units straight through. */
            while (i + 1 < n && c->high == 0 && in[i] == 0 && in[i + 1] < 0x80 && c->started &&
                   o < cap) {
                out[o++] = in[i + 1];
                i += 2;
            }
            if (i >= n)
                break;
            c->byte = in[i++];
            c->have_byte = true;
            continue;
        }
        uint16_t u = (uint16_t)((c->byte << 8) | in[i]);
        uint64_t at = c->offset + i - 1;
        bool full = false;
        enum cg_err rc = utf16_unit(c, u, at, out, cap, &o, &full);
        if (rc != CG_OK) {
            c->offset += i;
            *consumed = i;
            *produced = o;
            return rc;
        }
        if (full)
            break;
        c->have_byte = false;
        i++;
    }
    c->offset += i;
    *consumed = i;
    *produced = o;
    return CG_OK;
}

/* Classifies a UTF-8 lead byte: continuation count and the smallest code
 * point that length may encode (to reject overlong forms). */
static bool utf8_lead(uint8_t b, uint8_t *need, uint32_t *cp, uint32_t *min)
{
    if (b >= 0xC2 && b <= 0xDF) {
        *need = 1, *cp = b & 0x1Fu, *min = 0x80;
        return true;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        *need = 2, *cp = b & 0x0Fu, *min = 0x800;
        return true;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        *need = 3, *cp = b & 0x07u, *min = 0x10000;
        return true;
    }
    return false; /* continuation byte, C0/C1 (always overlong), F5..FF */
}

static enum cg_err feed_utf8(struct cg_mos_conv *c, const uint8_t *in, size_t n, uint8_t *out,
                             size_t cap, size_t *consumed, size_t *produced)
{
    size_t i = 0, o = 0;
    enum cg_err rc = CG_OK;
    for (; i < n; i++) {
        if (c->need == 0 && c->started) {
            /* Fast path: ASCII bytes straight through as whole units. */
            while (i < n && in[i] < 0x80 && o + 2 <= cap) {
                out[o++] = 0;
                out[o++] = in[i++];
            }
            if (i >= n)
                break;
        }
        uint8_t b = in[i];
        uint64_t at = c->offset + i;
        if (c->need == 0) {
            if (b < 0x80) {
                if (!emit(c, b, out, cap, &o))
                    break;
                continue;
            }
            if (!utf8_lead(b, &c->need, &c->cp, &c->min)) {
                rc = fail(c, at);
                break;
            }
            c->seq_start = at;
            continue;
        }
        if ((b & 0xC0) != 0x80) {
            rc = fail(c, c->seq_start); /* truncated sequence */
            break;
        }
        uint32_t cp = (c->cp << 6) | (b & 0x3Fu);
        if (c->need > 1) {
            /* Reject overlong, surrogate and >U+10FFFF forms as early as the
             * second byte allows, so the error points at the lead byte. */
            c->cp = cp;
            c->need--;
            uint32_t shift = 6u * c->need;
            if ((cp << shift) + ((1u << shift) - 1) < c->min || (cp << shift) > 0x10FFFF ||
                ((cp << shift) >= 0xD800 && (cp << shift) <= 0xDFFF)) {
                rc = fail(c, c->seq_start);
                break;
            }
            continue;
        }
        if (cp < c->min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            rc = fail(c, c->seq_start);
            break;
        }
        if (!emit(c, cp, out, cap, &o))
            break; /* the byte stays unconsumed; state unchanged */
        c->need = 0;
    }
    c->offset += i;
    *consumed = i;
    *produced = o;
    return rc;
}

enum cg_err cg_mos_conv_feed(struct cg_mos_conv *c, const void *in, size_t in_len, void *out,
                             size_t out_cap, size_t *consumed, size_t *produced)
{
    CG_CHECK(c != NULL && consumed != NULL && produced != NULL, CG_EINVAL);
    CG_CHECK((in != NULL || in_len == 0) && (out != NULL || out_cap == 0), CG_EINVAL);
    *consumed = *produced = 0;
    CG_CHECK(!c->failed, CG_EENCODING);
    if (c->from == CG_MOS_UCS2BE)
        return feed_utf16(c, in, in_len, out, out_cap, consumed, produced);
    return feed_utf8(c, in, in_len, out, out_cap, consumed, produced);
}

enum cg_err cg_mos_conv_finish(struct cg_mos_conv *c)
{
    CG_CHECK(c != NULL, CG_EINVAL);
    CG_CHECK(!c->failed, CG_EENCODING);
    if (c->from == CG_MOS_UCS2BE) {
        if (c->high != 0)
            return fail(c, c->seq_start);
        if (c->have_byte)
            return fail(c, c->offset - 1);
        return CG_OK;
    }
    if (c->need != 0)
        return fail(c, c->seq_start);
    return CG_OK;
}

enum cg_err cg_mos_convert(enum cg_mos_encoding from, const void *in, size_t in_len,
                           uint8_t **out, size_t *out_len, uint64_t *err_offset)
{
    CG_CHECK(out != NULL && out_len != NULL && (in != NULL || in_len == 0), CG_EINVAL);
    CG_CHECK(from == CG_MOS_UCS2BE || from == CG_MOS_UTF8, CG_EINVAL);
    *out = NULL;
    *out_len = 0;
    CG_CHECK(in_len <= SIZE_MAX / 2 - 1, CG_ERANGE);
    size_t cap = from == CG_MOS_UCS2BE ? in_len / 2 * 3 + 1 : in_len * 2 + 1;
    uint8_t *buf = malloc(cap);
    CG_CHECK(buf != NULL, CG_ENOMEM);
    struct cg_mos_conv c;
    cg_mos_conv_init(&c, from);
    size_t used = 0, made = 0;
    enum cg_err rc = cg_mos_conv_feed(&c, in, in_len, buf, cap - 1, &used, &made);
    if (rc == CG_OK && used != in_len)
        rc = CG_EINTERNAL; /* the bound above is exact */
    if (rc == CG_OK)
        rc = cg_mos_conv_finish(&c);
    if (rc != CG_OK) {
        if (err_offset != NULL)
            *err_offset = c.error_offset;
        free(buf);
        return rc;
    }
    buf[made] = 0;
    *out = buf;
    *out_len = made;
    return CG_OK;
}

static enum cg_err utf16_bad(size_t at, uint64_t *bad)
{
    if (bad != NULL)
        *bad = at;
    return CG_EENCODING;
}

enum cg_err cg__mos_utf16_check(const void *data, size_t n, uint64_t *bad)
{
    const uint8_t *p = data;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
#if defined(__SSE2__)
        /* 8 units at a time (SSE2, every x86-64) while none is a surrogate:
         * a unit's first byte, at an even offset, is D8..DF */
        while (n - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            __m128i sur = _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)0xF8)),
                                         _mm_set1_epi8((char)0xD8));
            if ((_mm_movemask_epi8(sur) & 0x5555) != 0)
                break;
            i += 16;
        }
#endif
        /* 4 units at a time while none is a surrogate: in a little-endian
         * load the units' first (high) bytes are bytes 0, 2, 4 and 6; a
         * 16-bit lane of t is zero exactly where that byte is D8..DF */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            w = __builtin_bswap64(w);
#endif
            uint64_t t = (w & 0x00F800F800F800F8ull) ^ 0x00D800D800D800D8ull;
            if (((t - 0x0001000100010001ull) & ~t & 0x8000800080008000ull) != 0)
                break;
            i += 8;
        }
        if (i + 1 >= n)
            break;
        uint8_t h = p[i];
        if ((h & 0xF8) != 0xD8)
            continue; /* not a surrogate: the usual case, one test per unit */
        if (h >= 0xDC || i + 3 >= n || (p[i + 2] & 0xFC) != 0xDC)
            return utf16_bad(i, bad); /* lone low, or high without its low */
        i += 2;
    }
    return i == n ? CG_OK : utf16_bad(n - 1, bad); /* an odd trailing byte */
}

void cg_mos_free(void *p) { free(p); }
