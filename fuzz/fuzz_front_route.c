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
    /* a match never contains an empty segment, a NUL or a percent sign */
    for (size_t i = 0; i < size; i++)
        if (data[i] == '\0' || data[i] == '%' ||
            (i + 1 < size && data[i] == '/' && data[i + 1] == '/'))
            abort();
    return 0;
}
