/* libFuzzer target: the in-place readers of issue 13 item 4, on any bytes.
 * cg__mos_utf16_check must agree with the converter (the check replaced a
 * full conversion on the receive path), and a NACK must read the same in
 * UCS-2BE as in UTF-8 (cg__mos4_is_nack reads either in place). The input is
 * taken as UCS-2BE; when it is valid, its UTF-8 form is read too. */
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t bad = 0;
    enum cg_err chk = cg__mos_utf16_check(data, size, &bad);
    uint8_t *utf8 = NULL;
    size_t n = 0;
    enum cg_err conv = cg_mos_convert(CG_MOS_UCS2BE, data, size, &utf8, &n, NULL);
    if (chk != (conv == CG_ENOMEM ? chk : conv) || (chk != CG_OK && bad >= size))
        abort();
    static const char *const names[] = {"mosAck", "roAck", "roReq"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        bool a = cg__mos4_is_nack(names[i], (const char *)data, size);
        /* bytes that begin "00" or FE FF are read as UCS-2BE: then the
         * UTF-8 form must say the same */
        if (utf8 != NULL && cg__mos4_enc_of(data, size) == CG_MOS_UCS2BE &&
            !(size >= 2 && data[0] == 0xFE && data[1] == 0xFF) &&
            cg__mos4_enc_of(utf8, n) == CG_MOS_UTF8 &&
            a != cg__mos4_is_nack(names[i], (const char *)utf8, n))
            abort();
    }
    cg_mos_free(utf8);
    return 0;
}
