/* HTTP/1.x response heads as `check tls` needs them (status, HSTS, Allow,
 * CORS), sans-I/O: (bytes, length) -> parsed | need more | not HTTP. */
#include "check/check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t *find_crlf(const uint8_t *p, const uint8_t *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

static bool name_is(const uint8_t *p, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower(p[i]) != tolower((unsigned char)name[i]))
            return false;
    return true;
}

/* Copies a header value (trimmed) into dst, escaping non-printable bytes. */
static void value(const uint8_t *v, size_t n, char *dst, size_t dstsz, bool *has)
{
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    cg__log_escape(dst, dstsz, (const char *)v, n);
    *has = true;
}

static enum cg_err header(const uint8_t *p, size_t n, struct cg_http_resp *r)
{
    const uint8_t *colon = memchr(p, ':', n);
    CG_CHECK(colon && colon > p, CG_EHTTP);
    size_t nl = (size_t)(colon - p), vl = n - nl - 1;
    if (name_is(p, nl, "strict-transport-security"))
        value(colon + 1, vl, r->hsts, sizeof(r->hsts), &r->has_hsts);
    else if (name_is(p, nl, "allow"))
        value(colon + 1, vl, r->allow, sizeof(r->allow), &r->has_allow);
    else if (name_is(p, nl, "access-control-allow-origin"))
        value(colon + 1, vl, r->acao, sizeof(r->acao), &r->has_acao);
    return CG_OK;
}

static enum cg_err status_line(const uint8_t *p, size_t n, int *status)
{
    /* "HTTP/1.x SSS reason" (RFC 9112 4) */
    CG_CHECK(n >= 12 && memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ', CG_EHTTP);
    CG_CHECK(isdigit(p[9]) && isdigit(p[10]) && isdigit(p[11]), CG_EHTTP);
    CG_CHECK(n == 12 || p[12] == ' ', CG_EHTTP);
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return CG_OK;
}

enum cg_err cg__check_http_parse(const uint8_t *p, size_t len, struct cg_http_resp *r)
{
    CG_CHECK(p && r, CG_EINVAL);
    memset(r, 0, sizeof(*r));
    const uint8_t *end = p + len;
    /* Not HTTP as soon as the first bytes say so (a TLS alert, binary junk). */
    size_t pre = len < 7 ? len : 7;
    CG_CHECK(memcmp(p, "HTTP/1.", pre) == 0, CG_EHTTP);
    const uint8_t *eol = find_crlf(p, end);
    CG_CHECK(eol, len > 8192 ? CG_EHTTP : CG_EAGAIN);
    int status = 0;
    CG_GUARD(status_line(p, (size_t)(eol - p), &status));
    for (const uint8_t *l = eol + 2;;) {
        const uint8_t *e = find_crlf(l, end);
        CG_CHECK(e, len > 65536 ? CG_EHTTP : CG_EAGAIN);
        if (e == l)
            break; /* the empty line ends the head */
        CG_GUARD(header(l, (size_t)(e - l), r));
        l = e + 2;
    }
    r->status = status;
    return CG_OK;
}

long long cg__check_hsts_max_age(const char *v)
{
    /* directives separated by ';', names case-insensitive, value maybe quoted */
    for (const char *d = v; d && *d;) {
        while (*d == ' ' || *d == '\t' || *d == ';')
            d++;
        if (strncasecmp(d, "max-age", 7) == 0) {
            const char *q = d + 7;
            while (*q == ' ')
                q++;
            if (*q++ != '=')
                return -1;
            while (*q == ' ')
                q++;
            bool quoted = *q == '"';
            q += quoted;
            if (!isdigit((unsigned char)*q))
                return -1;
            char *e;
            long long n = strtoll(q, &e, 10);
            if (quoted && *e++ != '"')
                return -1;
            return n;
        }
        d = strchr(d, ';');
    }
    return -1;
}
