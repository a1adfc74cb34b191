/* Host names in certificates: BCP-003-01 B-11 and DNS syntax (RFC 1123). */
#include "cert/cert.h"

#include <arpa/inet.h>
#include <string.h>

bool cg__cert_is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* One label: 1..63 letters, digits, hyphens, not starting or ending in '-'. */
static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* RFC 1123 §2.1 / RFC 3696 §2: the rightmost label is never all digits, so
 * "256.1.1.1" or "01.2.3.4" (not addresses to inet_pton, but to some
 * resolvers) is no host name. */
static bool last_label_numeric(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *last = dot != NULL ? dot + 1 : name;
    return last[0] != '\0' && strspn(last, "0123456789") == strlen(last);
}

enum cg_err cg_cert_check_host(const char *name, bool allow_wildcard, bool allow_ip,
                               const char **why)
{
    const char *w = NULL;
    if (name == NULL || name[0] == '\0') {
        w = "empty host name";
    } else if (cg__cert_is_ip(name)) {
        /* B-11: SHOULD NOT use IP addresses as CN or SAN. */
        if (!allow_ip)
            w = "IP addresses should not be used in certificates (BCP-003-01 B-11); "
                "use a DNS name, or --allow-ip if you must";
    } else {
        size_t len = strlen(name);
        const char *p = name;
        if (len > 253) {
            w = "host name longer than 253 characters";
        } else if (strncmp(name, "*.", 2) == 0) {
            /* B-11: wildcard certificates SHOULD NOT be used. */
            if (!allow_wildcard)
                w = "wildcard certificates should not be used (BCP-003-01 B-11); "
                    "name every host instead, or --allow-wildcard if you must";
            p = name + 2;
            if (*p == '\0')
                w = "a wildcard needs a name after '*.'";
        }
        while (w == NULL && *p != '\0') {
            const char *dot = strchr(p, '.');
            size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
            if (!label_ok(p, n))
                w = memchr(p, '*', n) != NULL
                        ? "a wildcard is allowed only as the whole leftmost label"
                        : "not a valid DNS name (letters, digits, '-' and dots only)";
            p += n;
            if (*p == '.') {
                p++;
                if (*p == '\0')
                    w = w ? w : "trailing dot: give the name without it";
            }
        }
        if (w == NULL && last_label_numeric(name))
            w = "not a valid DNS name: the last label is all digits (RFC 1123 section 2.1)";
    }
    if (why != NULL)
        *why = w;
    return w == NULL ? CG_OK : CG_EINVAL;
}
