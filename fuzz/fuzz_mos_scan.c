/* Fuzzes the bounded pre-scan (src/mos/scan.c): the verdict and the refusal
 * offset must not depend on how the message is split (any byte, also odd
 * bytes in UTF-16BE, one byte at a time); a UTF-8 message and its UTF-16BE
 * conversion get the same verdict; nothing reads past the input. The first
 * byte picks the encoding and small limits so refusals are reached often. */
#include <castgate/mos.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum cg_err split_scan(enum cg_mos_encoding enc, const struct cg_mos_scan_limits *lim,
                              const uint8_t *p, size_t n, size_t step, uint64_t *at)
{
    struct cg_mos_scan s;
    cg_mos_scan_init(&s, enc, lim);
    enum cg_err rc = CG_OK;
    for (size_t i = 0; i < n && rc == CG_OK; i += step) {
        size_t k = n - i < step ? n - i : step;
        /* a copy of exactly k bytes: ASan sees any read past a piece */
        uint8_t *piece = malloc(k);
        if (piece == NULL)
            abort();
        memcpy(piece, p + i, k);
        rc = cg_mos_scan_feed(&s, piece, k);
        free(piece);
    }
    if (rc == CG_OK && s.offset != n)
        abort();
    *at = s.refused_at;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum cg_mos_encoding enc = (data[0] & 1) ? CG_MOS_UTF8 : CG_MOS_UCS2BE;
    struct cg_mos_scan_limits lim = {.max_attributes = 1 + ((data[0] >> 1) & 7),
                                     .max_depth = 1 + ((data[0] >> 4) & 15)};
    size_t step = 1 + data[1] % 17;
    data += 2, size -= 2;
    uint64_t at = 0, at1 = 0, at2 = 0;
    enum cg_err rc = cg_mos_scan(enc, data, size, &lim, &at, NULL);
    if (rc != CG_OK && rc != CG_EXML)
        abort();
    if (split_scan(enc, &lim, data, size, step, &at1) != rc ||
        split_scan(enc, &lim, data, size, 1, &at2) != rc)
        abort();
    if (rc == CG_EXML && (at1 != at || at2 != at || at >= size))
        abort();
    if (enc == CG_MOS_UTF8) { /* the same text in UTF-16BE: the same verdict */
        uint8_t *u16 = NULL;
        size_t n16 = 0;
        if (cg_mos_convert(CG_MOS_UTF8, data, size, &u16, &n16, NULL) == CG_OK) {
            /* a leading BOM is dropped by the conversion; ASCII markup unchanged */
            if (cg_mos_scan(CG_MOS_UCS2BE, u16, n16, &lim, NULL, NULL) != rc)
                abort();
            cg_mos_free(u16);
        }
    }
    return 0;
}
