/* castgate http — HTTP/1.1 request parsing and response rules (internal).
 *
 * Sans-I/O: the parser takes bytes and says when a request is complete or
 * what 4xx it deserves; the response builder applies the rules every endpoint
 * shares (B-21 HSTS, B-22 405 + Allow, B-25 CORS). The network layer (net/)
 * moves the bytes.
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include "core/core.h"

#include <castgate/server.h>
#include <http_parser.h>

struct cg_http_header {
    char *name;
    char *value;
};

/* The definition of the public opaque request. */
struct cg_http_request {
    char method[32];
    unsigned method_bit; /* enum cg_http_method bit, 0 for any other method */
    char *path;          /* decoded? no: as sent, without the query */
    char *query;         /* "" if none */
    char peer[64];
    struct cg_http_header *headers;
    size_t nheaders;
    struct cg_buf body;
    bool upgrade;    /* Connection: upgrade + Upgrade header seen */
    bool keep_alive; /* the client may send another request */
    /* Expect: 100-continue on an HTTP/1.1 request with content to come (RFC
     * 9110 §10.1.1): the client waits for 100 Continue, or the final status,
     * before it sends the content. Set once the head is parsed; the server
     * clears it when it has answered. */
    bool expect_continue;
    unsigned short http_major, http_minor; /* from the request line */
    void *owner; /* the server connection, only while on_upgrade may defer */
};

struct cg_http_parser {
    http_parser p;
    struct cg_http_request req;
    struct cg_buf url;
    struct cg_buf field;
    struct cg_buf value;
    struct cg_buf line; /* the request line as received, for unknown methods */
    bool in_value;
    bool line_done;
    bool bad_method; /* an unknown method: wait for the request line, then 405 */
    bool complete;
    /* A plain-HTTP server (the OCSP responder): an absolute-form target is
     * http:, not https: (RFC 9112 §3.2.2). Kept across requests. */
    bool plain;
    size_t headers_cap; /* entries req.headers has room for (kept by reset) */
    char *authority; /* of an absolute-form target (it becomes Host), or NULL */
    size_t header_bytes;
    size_t max_header;
    size_t max_body;
    const uint8_t *feed_end;  /* end of the bytes being fed (for the chunk CRLF check) */
    unsigned crlf_need;       /* 2, 1: CR LF still due after a chunk's data */
    int error_status;         /* 0, or the 4xx this request gets */
    const char *error_reason; /* static string for the log (B-24) */
};

void cg__http_parser_init(struct cg_http_parser *hp, size_t max_header, size_t max_body);
void cg__http_parser_free(struct cg_http_parser *hp);
/* Forgets the finished request, ready for the next one on the connection. */
void cg__http_parser_reset(struct cg_http_parser *hp);
/* Feeds bytes. Returns how many were consumed: after a complete request (or
 * an upgrade) the rest belongs to the next request or to the WebSocket.
 * Check hp->complete and hp->error_status after each call. */
size_t cg__http_parser_feed(struct cg_http_parser *hp, const uint8_t *data, size_t len);

/* Method name -> enum cg_http_method bit, 0 if not one routes can allow. */
unsigned cg__http_method_bit(const char *method);
/* "GET, HEAD" for a method set; out holds at least 64 bytes. */
void cg__http_allow_string(unsigned methods, char *out, size_t outsz);
const char *cg__http_status_text(int status);
const char *cg__http_request_header(const struct cg_http_request *req, const char *name);
/* True when the comma-separated header value holds token (case-insensitive). */
bool cg__http_header_has_token(const char *value, const char *token);
/* A Retry-After value in seconds: delta-seconds only (RFC 9110 10.2.3),
 * optional surrounding blanks, capped at 86400; -1 for an HTTP date or
 * anything unreadable. */
long cg__http_retry_after(const char *value);

/* The definition of the public opaque response. */
struct cg_http_response {
    int status;
    char content_type[128];
    struct cg_buf headers; /* extra "Name: value\r\n" lines */
    struct cg_buf body;
    char log_reason[160];
    bool close; /* send Connection: close and close after writing */
    int64_t date; /* seconds since 1970 for the Date header; 0: the clock now */
};

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL. */
#define CG_HTTP_DATE_LEN 30
/* IMF-fixdate (RFC 9110 §5.6.7) of t, seconds since 1970, in English
 * whatever the locale. */
void cg__http_date(int64_t t, char out[CG_HTTP_DATE_LEN]);

/* What every response of a server carries. */
struct cg_http_policy {
    uint32_t hsts_max_age; /* 0: no HSTS header */
    bool hsts_subdomains;
    char **cors_origins; /* "*" allowed only if configured so */
    size_t ncors;
};

void cg__http_response_init(struct cg_http_response *res);
void cg__http_response_free(struct cg_http_response *res);
/* Serialises res for req (req may be NULL for a request that never parsed)
 * into out, adding Date (RFC 9110 §6.6.1), Content-Length, HSTS (B-21), CORS for an allowed Origin
 * (B-25), nosniff, Cache-Control on errors, and Connection: close. */
enum cg_err cg__http_response_write(const struct cg_http_response *res,
                                    const struct cg_http_request *req,
                                    const struct cg_http_policy *pol, struct cg_buf *out);
/* The Access-Control-Allow-Origin value for origin, or NULL (B-25). */
/* Percent-decoding (RFC 3986 §2.1), one character at a time so each caller
 * keeps its own rules for what a decoded byte may be (pct.c). Returns the
 * byte at s[*i] (0..255; "%hh" decoded; '+' as a space when plus_is_space,
 * as forms write query strings) and moves *i past it, or a negative
 * CG_HTTP_PCT_* with *i unchanged. n is the length of s, *i < n. */
enum { CG_HTTP_PCT_SHORT = -1, /* '%' without two characters after it */
       CG_HTTP_PCT_BAD = -2 }; /* '%' not followed by two hex digits */
int cg__http_pct_next(const char *s, size_t n, size_t *i, bool plus_is_space);

const char *cg__http_cors_match(const struct cg_http_policy *pol, const char *origin);
/* A refusal (B-22, B-24) into res (initialised): status with the text body
 * "<status> <text>: <reason>\n", the connection to close after it (the rest
 * of the stream is not trusted); a 405 gets Allow (allow_methods, may be
 * none: RFC 9110), a 426 Upgrade and Sec-WebSocket-Version (RFC 6455
 * §4.2.2). */
void cg__http_refusal(struct cg_http_response *res, int status, const char *reason,
                      unsigned allow_methods);
/* A CORS preflight (B-25): true when req is one (OPTIONS with
 * Access-Control-Request-Method) from an origin pol allows; res (initialised)
 * then has its headers for a route allowing route_methods: Allow-Methods,
 * Allow-Headers (the requested ones, when they are a plain token list) and
 * Max-Age. False: res untouched. */
bool cg__http_preflight(const struct cg_http_request *req, const struct cg_http_policy *pol,
                        unsigned route_methods, struct cg_http_response *res);

/* RFC 9110 §15.5.20 (421 Misdirected Request): true when a request's Host
 * (host, as received: a name or an IP literal, with or without ":port") and
 * the TLS server name the client sent (sni) name different hosts (host.c).
 * Names compare ASCII case-insensitively, without the port and one trailing
 * dot (B-32). False when either is NULL or empty, and for an IP-literal
 * Host: SNI never carries an address (RFC 6066 §3), so a client that
 * addressed the server by IP and named a certificate is not misdirected. */
bool cg__http_misdirected(const char *host, const char *sni);

#endif
