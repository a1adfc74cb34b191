/* The request's Host against the TLS server name (RFC 9110 §15.5.20): a
 * client that reused a connection for another host, or named one host in
 * the handshake and another in the request, is told 421 Misdirected
 * Request instead of being answered for a host it did not ask about. */
#include "http/http.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* One trailing dot ignored (B-32: "api.example.com." is api.example.com). */
static size_t without_dot(const char *s, size_t n) { return n > 0 && s[n - 1] == '.' ? n - 1 : n; }

/* A dotted IPv4 address (RFC 3986 §3.2.2 IPv4address). */
static bool is_ipv4(const char *s, size_t n)
{
    char a[16];
    struct in_addr ip;
    if (n == 0 || n >= sizeof(a))
        return false;
    memcpy(a, s, n);
    a[n] = '\0';
    return inet_pton(AF_INET, a, &ip) == 1;
}

bool cg__http_misdirected(const char *host, const char *sni)
{
    if (host == NULL || sni == NULL || host[0] == '\0' || sni[0] == '\0' || host[0] == '[')
        return false; /* nothing to compare, or an IPv6 literal */
    size_t hn = strcspn(host, ":"); /* a reg-name has no ':': the port follows it */
    if (is_ipv4(host, hn))
        return false;
    hn = without_dot(host, hn);
    size_t sn = without_dot(sni, strlen(sni));
    return hn != sn || strncasecmp(host, sni, hn) != 0;
}
