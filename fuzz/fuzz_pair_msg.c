/* Fuzzes the pair's replication message decoder (src/redund/pairwire.c).
 * Properties: no out-of-bounds access; a decoded message encodes back to
 * exactly the input bytes (one canonical form), its payload lies inside the
 * input; a refused input is refused with CG_EPROTO or CG_ETOOBIG only. */
#include "redund/redund.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees any overrun */
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    struct cg_pair_msg m;
    const uint8_t *p = NULL;
    size_t plen = 0;
    enum cg_err rc = cg__pair_msg_decode(copy, size, 1 << 20, &m, &p, &plen);
    if (rc == CG_OK) {
        if (plen > 0 && (p < copy || p + plen != copy + size))
            abort();
        uint8_t *out = malloc(size ? size : 1);
        size_t used = 0;
        if (out == NULL || cg__pair_msg_encode(&m, p, plen, out, size, &used) != CG_OK ||
            used != size || memcmp(out, copy, size) != 0)
            abort();
        free(out);
    } else if (rc != CG_EPROTO && rc != CG_ETOOBIG) {
        abort();
    }
    free(copy);
    return 0;
}
