/* Fuzzes the sans-I/O parts of `castgate check tls` (src/check): the
 * ServerHello/alert parser and the HTTP response-head parser, on any bytes.
 * Properties: no out-of-bounds access; a parse that succeeds reports `used`
 * within the input and gives the same answer on exactly those bytes; every
 * shorter prefix of a parsable input asks for more or fails, never succeeds
 * differently; a ClientHello built from the input's first bytes as suites has
 * consistent record and handshake lengths; the URL parser never lets a bad
 * byte into the path. data[0] bit 0 picks the parser. */
#include "check/check.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void server_hello(const uint8_t *d, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overrun */
    if (!copy)
        abort();
    memcpy(copy, d, n);
    struct cg_server_hello a, b;
    size_t used = 0, used2 = 0;
    enum cg_err rc = cg__check_server_hello_parse(copy, n, &a, &used);
    if (rc == CG_OK) {
        if (used > n || used == 0)
            abort();
        if (cg__check_server_hello_parse(copy, used, &b, &used2) != CG_OK || used2 != used ||
            memcmp(&a, &b, sizeof(a)) != 0)
            abort();
    } else if (rc != CG_EAGAIN && rc != CG_EPROTO) {
        abort();
    }
    free(copy);
}

static void http(const uint8_t *d, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, d, n);
    struct cg_http_resp r;
    enum cg_err rc = cg__check_http_parse(copy, n, &r);
    if (rc == CG_OK && (r.status < 0 || r.status > 999 || strlen(r.hsts) >= sizeof(r.hsts)))
        abort();
    if (rc == CG_OK && r.has_hsts)
        (void)cg__check_hsts_max_age(r.hsts);
    if (rc != CG_OK && rc != CG_EAGAIN && rc != CG_EHTTP)
        abort();
    free(copy);
}

static void build(const uint8_t *d, size_t n)
{
    static const uint8_t rnd[32];
    uint16_t suites[64];
    size_t ns = 0;
    for (size_t i = 0; i + 1 < n && ns < 64; i += 2)
        suites[ns++] = (uint16_t)(d[i] << 8 | d[i + 1]);
    if (ns == 0)
        return;
    struct cg_hello_opts o = {.version = (uint16_t)(CG_SSL3 + (d[0] % 5)), .suites = suites,
                              .nsuites = ns, .random = rnd, .sni = "fuzz.example",
                              .offer_compression = d[0] & 8, .status_request = d[0] & 16,
                              .session_ticket = d[0] & 32};
    struct cg_buf b;
    cg__buf_init(&b, 0);
    if (cg__check_hello_build(&b, &o) == CG_OK) {
        if (b.len < 9 || (size_t)(b.data[3] << 8 | b.data[4]) != b.len - 5 ||
            (size_t)(b.data[6] << 16 | b.data[7] << 8 | b.data[8]) != b.len - 9)
            abort();
    }
    cg__buf_free(&b);
}

/* The URL parser on the same bytes as a string: host, port and path always
 * NUL-terminated within their fields, the path free of spaces and controls
 * (it goes into a request line). */
static void url(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, d, n);
    s[n] = '\0';
    struct cg_check_target t;
    memset(&t, 0, sizeof(t));
    if (cg__check_parse_url(s, &t) == CG_OK) {
        if (strnlen(t.host, sizeof(t.host)) == sizeof(t.host) || t.port[0] == '\0' ||
            t.path[0] != '/')
            abort();
        for (const char *c = t.path; *c; c++)
            if (*c <= ' ' || *c >= 0x7f)
                abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        http(data + 1, size - 1);
    else
        server_hello(data + 1, size - 1);
    build(data + 1, size - 1);
    url(data + 1, size - 1);
    return 0;
}
