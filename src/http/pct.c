/* Percent-decoding (RFC 3986 §2.1): the one copy, for the OCSP GET path
 * (cert/ocsp.c) and MOS 4.0 query values (mos4/endpoint.c). */
#include "http/http.h"

int cg__http_pct_next(const char *s, size_t n, size_t *i, bool plus_is_space)
{
    unsigned char c = (unsigned char)s[*i];
    if (c == '%') {
        if (n - *i < 3)
            return CG_HTTP_PCT_SHORT;
        int hi = cg__hexval((unsigned char)s[*i + 1]), lo = cg__hexval((unsigned char)s[*i + 2]);
        if (hi < 0 || lo < 0)
            return CG_HTTP_PCT_BAD;
        *i += 3;
        return hi << 4 | lo;
    }
    *i += 1;
    return plus_is_space && c == '+' ? ' ' : c;
}
