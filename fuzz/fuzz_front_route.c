/* libFuzzer target: the front's NMOS route matcher (src/front/routes.c) on a
 * request path as a client sends it. */
#include "front/front.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cg_front_route *r = cg__front_route_match((const char *)data, size);
    if (r == NULL)
        return 0;
    if (r->methods == 0 || size == 0 || data[0] != '/')
        abort();
    /* a match never contains an empty segment, a NUL, a percent sign or a
     * dot-segment (RFC 3986 §5.2.4) */
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\0' || data[i] == '%' ||
            (i + 1 < size && data[i] == '/' && data[i + 1] == '/'))
            abort();
        size_t j = i + 1;
        while (data[i] == '/' && j < size && data[j] == '.' && j - i <= 2)
            j++;
        if (data[i] == '/' && j > i + 1 && (j == size || data[j] == '/'))
            abort();
    }
    return 0;
}
