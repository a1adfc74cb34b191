/* Which addresses may connect to a MOS 2.x peer's ports (legacy_allow):
 * a list of IPv4/IPv6 addresses and CIDR prefixes. Sans-I/O: parsed from
 * text, matched against a socket address; the accept path in legacy_lane.c
 * decides what to do with the answer. */
#include "mos4/mos4.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One item "ADDR" or "ADDR/BITS" of [s, s+n). */
static enum cg_err parse_item(const char *s, size_t n, struct mos4_allow_net *net)
{
    char text[INET6_ADDRSTRLEN + 8];
    CG_CHECK(n > 0 && n < sizeof(text), CG_EINVAL);
    memcpy(text, s, n);
    text[n] = '\0';
    char *slash = strchr(text, '/');
    long bits = -1;
    if (slash != NULL) {
        char *end;
        *slash = '\0';
        CG_CHECK(isdigit((unsigned char)slash[1]), CG_EINVAL);
        bits = strtol(slash + 1, &end, 10);
        CG_CHECK(*end == '\0' && end - (slash + 1) <= 3, CG_EINVAL);
    }
    bool v6 = strchr(text, ':') != NULL;
    memset(net, 0, sizeof(*net));
    CG_CHECK(inet_pton(v6 ? AF_INET6 : AF_INET, text, net->addr) == 1, CG_EINVAL);
    long max = v6 ? 128 : 32;
    CG_CHECK(bits <= max, CG_EINVAL);
    net->v6 = v6;
    net->bits = (uint8_t)(bits < 0 ? max : bits);
    /* host bits set ("10.1.2.3/24") are a typo more often than not: refuse */
    for (unsigned i = net->bits; i < (unsigned)max; i++)
        CG_CHECK(!(net->addr[i / 8] & (0x80u >> (i % 8))), CG_EINVAL);
    return CG_OK;
}

enum cg_err cg__mos4_allow_parse(const char *list, struct mos4_allow *out)
{
    CG_CHECK(list != NULL && out != NULL, CG_EINVAL);
    struct mos4_allow a = {0};
    const char *p = list + strspn(list, " \t");
    while (*p != '\0') { /* "" or blanks only: an empty list, anyone */
        size_t n = strcspn(p, ", \t");
        const char *after = p + n + strspn(p + n, " \t");
        CG_CHECK(n > 0 && a.n < CG_MOS4_MAX_ALLOW, CG_EINVAL);
        CG_GUARD(parse_item(p, n, &a.net[a.n]));
        a.n++;
        if (*after == '\0')
            break;
        CG_CHECK(*after == ',', CG_EINVAL); /* items are separated by commas */
        p = after + 1 + strspn(after + 1, " \t");
        CG_CHECK(*p != '\0', CG_EINVAL);   /* no trailing comma */
    }
    *out = a;
    return CG_OK;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* The address as 4 or 16 bytes; an IPv4-mapped IPv6 address (a dual-stack
 * listener) counts as the IPv4 address it carries. */
static bool addr_bytes(const struct sockaddr *sa, uint8_t out[16], bool *v6)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *v6 = false;
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    *v6 = memcmp(a, mapped, sizeof(mapped)) != 0;
    memcpy(out, *v6 ? a : a + 12, *v6 ? 16 : 4);
    return true;
}

bool cg__mos4_allow_match(const struct mos4_allow *a, const struct sockaddr *sa)
{
    if (a->n == 0)
        return true; /* no list: anyone (the default) */
    uint8_t addr[16];
    bool v6;
    if (sa == NULL || !addr_bytes(sa, addr, &v6))
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->net[i].v6 == v6 && prefix_equal(addr, a->net[i].addr, a->net[i].bits))
            return true;
    return false;
}

bool cg__mos4_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    uint8_t x[16], y[16];
    bool xv6, yv6;
    if (a == NULL || b == NULL || !addr_bytes(a, x, &xv6) || !addr_bytes(b, y, &yv6))
        return false;
    return xv6 == yv6 && memcmp(x, y, xv6 ? 16 : 4) == 0;
}
