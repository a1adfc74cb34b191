/* libFuzzer target: the MOS 4.0 upgrade query (M-02), as a peer sends it. */
#include "mos4/mos4.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (q == NULL)
        return 0;
    memcpy(q, data, size);
    q[size] = '\0'; /* the HTTP layer hands over a NUL-terminated query */
    struct mos4_query out;
    char why[160];
    if (!cg__mos4_parse_query(q, &out, why, sizeof(why)) && strlen(why) == 0)
        abort(); /* a refusal always says why */
    if (out.has_mos || out.has_ncs || out.has_channel) {
        /* what was decoded fits and is terminated */
        if (out.has_mos && strlen(out.mos_id) >= sizeof(out.mos_id))
            abort();
        if (out.has_ncs && strlen(out.ncs_id) >= sizeof(out.ncs_id))
            abort();
        if (out.has_channel && strlen(out.channel) >= sizeof(out.channel))
            abort();
    }
    free(q);
    return 0;
}
