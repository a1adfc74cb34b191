/* Differential fuzzing of castgate's well-formedness check (src/mos/wf.c)
 * against libxml2, the check it replaced (issue 13). On every input both
 * decide, in both encodings (the bytes as UTF-8 and as UTF-16BE, and a valid
 * UTF-8 input converted to UTF-16BE): castgate's cg_mos_check under limits,
 * and what cg_mos_validate did before, cg_mos_scan under the same limits then
 * libxml2 (cg__mos_validate_libxml2). Any disagreement aborts, except the
 * documented ones where libxml2 accepts what XML 1.0 forbids
 * (docs/validation.md, "Where castgate and libxml2 differ"):
 *   - wf.c marks its refusal `lenient`: an encoding declaration naming
 *     another encoding than the message's ([80] EncodingDecl, 4.3.3); no
 *     space before SDDecl ([32]); U+0000 or invalid UTF-16 after the root
 *     element ([2] Char);
 *   - libxml2 sniffs the encoding from the first bytes it holds although it
 *     was told the encoding (4.3.3, F): a UTF-8 message whose first four
 *     bytes xmlDetectCharEncoding reads as another encoding, a U+0000 among
 *     the first four characters, or a UTF-16BE message that starts with the
 *     bytes EF BB BF (libxml2 skips them as a UTF-8 BOM and reads the rest
 *     one byte off); castgate must refuse those.
 * First byte: bit 0 the raw encoding; bit 7 small limits from bits 1-6. */
#include <castgate/mos.h>
#include <libxml/encoding.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mos/mos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool sniffed(enum cg_mos_encoding enc, const uint8_t *p, size_t n)
{
    if (enc == CG_MOS_UTF8) {
        if (n < 4)
            return false;
        xmlCharEncoding e = xmlDetectCharEncoding(p, 4);
        return e != XML_CHAR_ENCODING_NONE && e != XML_CHAR_ENCODING_UTF8;
    }
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        return true;
    for (size_t i = 0; i + 1 < n && i < 8; i += 2)
        if (p[i] == 0 && p[i + 1] == 0)
            return true;
    return false;
}

static enum cg_err oracle(enum cg_mos_encoding enc, const uint8_t *p, size_t n,
                          const struct cg_mos_scan_limits *lim)
{
    enum cg_err rc = cg_mos_scan(enc, p, n, lim, NULL, NULL);
    if (rc != CG_OK)
        return rc;
    return cg__mos_validate_libxml2(enc, p, n, NULL);
}

static void compare(enum cg_mos_encoding enc, const uint8_t *p, size_t n,
                    const struct cg_mos_scan_limits *lim)
{
    struct cg__mos_wf_result r;
    enum cg_err ours = cg__mos_wf_check(enc, p, n, lim, &r);
    if (ours == CG_EXML && r.offset > n)
        abort();
    enum cg_err theirs = oracle(enc, p, n, lim);
    if (ours == theirs)
        return;
    /* libxml2 found it well-formed (CG_EENVELOPE: but not one message) */
    if (ours == CG_EXML && (theirs == CG_OK || theirs == CG_EENVELOPE) &&
        (r.lenient || sniffed(enc, p, n)))
        return;
    fprintf(stderr, "fuzz_mos_wf: %s: castgate %s (%s at %llu), libxml2 %s\n",
            enc == CG_MOS_UTF8 ? "utf-8" : "utf-16be", cg_errname(ours), r.why,
            (unsigned long long)r.offset, cg_errname(theirs));
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static bool init;
    if (!init) {
        cg__mos_validate_libxml2_init();
        init = true;
    }
    enum cg_mos_encoding enc = (data[0] & 1) ? CG_MOS_UCS2BE : CG_MOS_UTF8;
    struct cg_mos_scan_limits small = {.max_attributes = 1 + ((data[0] >> 1) & 7),
                                       .max_depth = 1 + ((data[0] >> 4) & 7)};
    const struct cg_mos_scan_limits *lim = (data[0] & 0x80) ? &small : NULL;
    data++, size--;
    /* an exact-size copy: ASan sees any read past the message */
    uint8_t *copy = malloc(size + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    compare(enc, copy, size, lim);
    free(copy);
    if (enc == CG_MOS_UTF8) { /* the same text in UTF-16BE */
        uint8_t *u16 = NULL;
        size_t n16 = 0;
        if (cg_mos_convert(CG_MOS_UTF8, data, size, &u16, &n16, NULL) == CG_OK) {
            compare(CG_MOS_UCS2BE, u16, n16, lim);
            cg_mos_free(u16);
        }
    }
    return 0;
}
