/* Fuzzes the streaming UTF-16BE <-> UTF-8 converter: streaming with odd
 * splits and tiny output buffers must agree with the one-shot conversion,
 * and a successful conversion must round-trip byte for byte. */
#include <castgate/mos.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Streams in through chunks of (1 + step % 7) bytes into an out buffer of
 * 1 + step % 5 bytes. Returns the error and the output. */
static enum cg_err stream(enum cg_mos_encoding from, const uint8_t *in, size_t n, unsigned step,
                          uint8_t *out, size_t cap, size_t *out_len, uint64_t *err)
{
    struct cg_mos_conv c;
    cg_mos_conv_init(&c, from);
    size_t i = 0, o = 0;
    unsigned k = step;
    bool stuck = false;
    while (i < n) {
        size_t chunk = 1 + k % 7, room = stuck ? 4 : 1 + (k / 7) % 5;
        k = k * 31 + 7;
        if (chunk > n - i)
            chunk = n - i;
        if (room > cap - o)
            room = cap - o;
        size_t used = 0, made = 0;
        enum cg_err rc = cg_mos_conv_feed(&c, in + i, chunk, out + o, room, &used, &made);
        i += used;
        o += made;
        if (rc != CG_OK) {
            *err = c.error_offset;
            *out_len = o;
            return rc;
        }
        if (used == 0 && made == 0 && stuck)
            abort(); /* no progress with room for any character */
        stuck = used == 0 && made == 0;
    }
    *out_len = o;
    enum cg_err rc = cg_mos_conv_finish(&c);
    *err = c.error_offset;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum cg_mos_encoding from = (data[0] & 1) ? CG_MOS_UTF8 : CG_MOS_UCS2BE;
    unsigned step = data[0] >> 1;
    data++, size--;
    uint8_t *one = NULL;
    size_t one_len = 0;
    uint64_t one_err = 0;
    enum cg_err rc1 = cg_mos_convert(from, data, size, &one, &one_len, &one_err);
    size_t cap = 2 * size + 8;
    uint8_t *out = malloc(cap);
    size_t out_len = 0;
    uint64_t err = 0;
    enum cg_err rc2 = stream(from, data, size, step, out, cap, &out_len, &err);
    if (rc1 != rc2)
        abort();
    if (rc1 == CG_OK && (out_len != one_len || memcmp(out, one, one_len) != 0))
        abort();
    if (rc1 != CG_OK && (err != one_err || err >= size + 1))
        abort();
    if (rc1 == CG_OK) {
        /* Round trip: back to the source encoding gives the input minus a BOM. */
        size_t bom = from == CG_MOS_UCS2BE ? 2 : 3;
        static const uint8_t b16[] = {0xFE, 0xFF}, b8[] = {0xEF, 0xBB, 0xBF};
        const uint8_t *bm = from == CG_MOS_UCS2BE ? b16 : b8;
        const uint8_t *src = data;
        size_t src_len = size;
        if (size >= bom && memcmp(data, bm, bom) == 0)
            src += bom, src_len -= bom;
        bool again = src_len >= bom && memcmp(src, bm, bom) == 0;
        uint8_t *back = NULL;
        size_t back_len = 0;
        enum cg_err rc3 = cg_mos_convert(from == CG_MOS_UCS2BE ? CG_MOS_UTF8 : CG_MOS_UCS2BE, one,
                                         one_len, &back, &back_len, NULL);
        if (rc3 != CG_OK)
            abort();
        if (!again && (back_len != src_len || memcmp(back, src, src_len) != 0))
            abort();
        cg_mos_free(back);
    }
    cg_mos_free(one);
    free(out);
    return 0;
}
