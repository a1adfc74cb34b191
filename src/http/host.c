/* The request's Host against the TLS server name (RFC 9110 §15.5.20). */
#include "http/http.h"

bool cg__http_misdirected(const char *host, const char *sni)
{
    (void)host, (void)sni;
    return false; /* not compared yet */
}
