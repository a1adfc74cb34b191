/* A request for another host than the TLS handshake named (RFC 9110
 * §15.5.20: 421 Misdirected Request), judged by cg__http_misdirected. */
#include "wss/wss.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

bool cg__wss_misdirected(const struct cg_conn *conn, const struct cg_http_request *req, char *why,
                         size_t whysz)
{
    const char *sni = conn->ssl != NULL ? SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name)
                                        : NULL;
    const char *host = cg__http_request_header(req, "Host");
    if (!cg__http_misdirected(host, sni))
        return false;
    char h[100], s[100];
    cg__log_escape(h, sizeof(h), host, strlen(host));
    cg__log_escape(s, sizeof(s), sni, strlen(sni));
    snprintf(why, whysz, "Host %s is not the TLS server name %s", h, s);
    return true;
}
