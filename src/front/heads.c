/* Message heads across the front, sans-I/O: the request for the backend and
 * the response for the client. Hop-by-hop headers (RFC 9110 §7.6.1: the
 * fixed list and whatever Connection names) stop here; the front's own
 * headers replace any the peer sent (X-Forwarded-*, Forwarded: the front is
 * the edge, a client's claims are not passed on; HSTS and CORS: B-21, B-25). */
#include "front/front.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Names with their lengths: a header is compared (case-insensitively) only
 * with the names of its length; every header of every request and response
 * goes through these lists. */
struct hname {
    const char *s;
    size_t n;
};
#define HN(lit) {lit, sizeof(lit) - 1}

static bool in_list(const char *name, size_t len, const struct hname *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (list[i].n == len && strncasecmp(name, list[i].s, len) == 0)
            return true;
    return false;
}

static const struct hname hop_by_hop[] = {
    HN("Connection"), HN("Keep-Alive"), HN("Proxy-Connection"), HN("TE"), HN("Trailer"),
    HN("Transfer-Encoding"), HN("Upgrade"), HN("Proxy-Authenticate"), HN("Proxy-Authorization")};

bool cg__front_header_dropped_request(const char *name, const char *connection)
{
    static const struct hname ours[] = {
        HN("Host"), HN("Content-Length"), HN("Expect"), HN("X-Forwarded-For"),
        HN("X-Forwarded-Proto"), HN("X-Forwarded-Host"), HN("X-Forwarded-Port"),
        HN("Forwarded")};
    size_t len = strlen(name);
    return in_list(name, len, hop_by_hop, CG_ARRAY_LEN(hop_by_hop)) ||
           in_list(name, len, ours, CG_ARRAY_LEN(ours)) ||
           (connection != NULL && cg__http_header_has_token(connection, name));
}

bool cg__front_header_dropped_response(const char *name, const char *connection)
{
    static const struct hname ours[] = {
        HN("Content-Length"), HN("Strict-Transport-Security"), HN("Access-Control-Allow-Origin"),
        HN("Access-Control-Allow-Credentials"), HN("Access-Control-Allow-Methods"),
        HN("Access-Control-Allow-Headers"), HN("Access-Control-Expose-Headers"),
        HN("Access-Control-Max-Age")};
    size_t len = strlen(name);
    return in_list(name, len, hop_by_hop, CG_ARRAY_LEN(hop_by_hop)) ||
           in_list(name, len, ours, CG_ARRAY_LEN(ours)) ||
           (connection != NULL && cg__http_header_has_token(connection, name));
}

static enum cg_err add_str(struct cg_buf *out, const char *s)
{
    return cg__buf_append(out, s, strlen(s));
}

/* The strings of parts one after the other (the request head is put
 * together per request: no format string). */
static enum cg_err cat(struct cg_buf *out, const char *const *parts, size_t n)
{
    size_t len[12], total = 0;
    CG_CHECK(n <= CG_ARRAY_LEN(len), CG_EINTERNAL);
    for (size_t i = 0; i < n; i++) {
        len[i] = strlen(parts[i]);
        total += len[i];
    }
    CG_GUARD(cg__buf_reserve(out, total));
    for (size_t i = 0; i < n; i++) {
        memcpy(out->data + out->len, parts[i], len[i]);
        out->len += len[i];
    }
    return CG_OK;
}
#define CAT(out, ...)                                                                              \
    cat((out), (const char *const[]){__VA_ARGS__},                                                 \
        sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* "Name: value\r\n" appended (per header, per request: no format string). */
static enum cg_err add_line(struct cg_buf *out, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    CG_GUARD(cg__buf_reserve(out, nl + vl + 4));
    uint8_t *d = out->data + out->len;
    memcpy(d, name, nl);
    memcpy(d + nl, ": ", 2);
    memcpy(d + nl + 2, value, vl);
    memcpy(d + nl + 2 + vl, "\r\n", 2);
    out->len += nl + vl + 4;
    return CG_OK;
}

void cg__front_peer_ip(const char *peer, char *out, size_t outsz)
{
    const char *s = peer, *e;
    if (*s == '[') {
        s++;
        e = strchr(s, ']');
    } else {
        e = strrchr(s, ':');
    }
    size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
    if (outsz == 0)
        return;
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* RFC 7239 §6: an IPv6 node is quoted and bracketed. */
static enum cg_err forwarded(const struct cg_front_reqhead *h, const char *host,
                             struct cg_buf *out)
{
    bool v6 = strchr(h->client_ip, ':') != NULL;
    CG_GUARD(CAT(out, "Forwarded: for=", v6 ? "\"[" : "", h->client_ip, v6 ? "]\"" : "",
                 ";proto=https"));
    if (host != NULL)
        CG_GUARD(CAT(out, ";host=\"", host, "\""));
    return cg__buf_append(out, "\r\n", 2);
}

/* Host is a header value the parser accepted: no CR, LF or NUL; a quote or
 * backslash would break the quoted-string of Forwarded, so such a Host is
 * left out of it. */
static bool host_quotable(const char *host)
{
    return host != NULL && strpbrk(host, "\"\\") == NULL;
}

enum cg_err cg__front_request_head(const struct cg_front_reqhead *h, struct cg_buf *out)
{
    const struct cg_http_request *r = h->req;
    const char *conn = cg__http_request_header(r, "Connection");
    const char *host = cg__http_request_header(r, "Host");
    CG_GUARD(CAT(out, r->method, " ", r->path, r->query[0] ? "?" : "", r->query,
                 " HTTP/1.1\r\nHost: ", h->backend, "\r\n"));
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *n = r->headers[i].name;
        if (cg__front_header_dropped_request(n, conn))
            continue;
        /* No permessage-deflate through the front: text messages from the
         * backend are rewritten (wsrw.c), which needs them uncompressed. */
        if (h->upgrade && strcasecmp(n, "Sec-WebSocket-Extensions") == 0)
            continue;
        CG_GUARD(add_line(out, n, r->headers[i].value));
    }
    char port[24];
    port[cg__front_put_u(port, h->pub_port)] = '\0';
    CG_GUARD(CAT(out, "X-Forwarded-For: ", h->client_ip,
                 "\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: ", port, "\r\n"));
    if (host_quotable(host))
        CG_GUARD(CAT(out, "X-Forwarded-Host: ", host, "\r\n"));
    CG_GUARD(forwarded(h, host_quotable(host) ? host : NULL, out));
    if (h->upgrade)
        return add_str(out, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    bool body = h->body_len > 0 || r->method_bit == CG_HTTP_POST ||
                r->method_bit == CG_HTTP_PUT || r->method_bit == CG_HTTP_PATCH;
    if (body)
        CG_GUARD(cg__buf_printf(out, "Content-Length: %zu\r\n", h->body_len));
    return cg__buf_append(out, "\r\n", 2);
}

static const char *reason(int status)
{
    const char *t = cg__http_status_text(status);
    return strcmp(t, "Status") == 0 ? "" : t;
}

static enum cg_err our_headers(const struct cg_front_resphead *h, struct cg_buf *out)
{
    const struct cg_http_policy *pol = h->pol;
    if (cg__front_resp_get(h->r, "Date") == NULL) { /* RFC 9110 §6.6.1 */
        char date[CG_HTTP_DATE_LEN];
        cg__http_date((int64_t)time(NULL), date);
        CG_GUARD(cg__buf_printf(out, "Date: %s\r\n", date));
    }
    if (pol->hsts_max_age > 0) { /* B-21 */
        char age[24];
        age[cg__front_put_u(age, pol->hsts_max_age)] = '\0';
        CG_GUARD(CAT(out, "Strict-Transport-Security: max-age=", age,
                     pol->hsts_subdomains ? "; includeSubDomains" : "", "\r\n"));
    }
    const char *origin = cg__http_request_header(h->req, "Origin");
    const char *allow = cg__http_cors_match(pol, origin); /* B-25 */
    if (allow != NULL)
        CG_GUARD(cg__buf_printf(out, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n",
                                allow));
    return CG_OK;
}

static enum cg_err framing(const struct cg_front_resphead *h, struct cg_buf *out)
{
    if (h->r->status == 101)
        return add_str(out, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    if (h->framing == CG_FRONT_LENGTH) {
        char len[24];
        len[cg__front_put_u(len, h->length)] = '\0';
        CG_GUARD(CAT(out, "Content-Length: ", len, "\r\n"));
    }
    else if (h->framing == CG_FRONT_CHUNKED)
        CG_GUARD(add_str(out, "Transfer-Encoding: chunked\r\n"));
    if (h->close)
        CG_GUARD(add_str(out, "Connection: close\r\n"));
    return cg__buf_append(out, "\r\n", 2);
}

/* "Link: <URI>; rel=..., <URI>; ..." (RFC 8288 §3): each <URI-Reference>
 * rewritten as Location is, the rest byte for byte. The IS-04 Query API's
 * paging links (rel="next", "prev", "first", "last") are absolute URLs on
 * the backend. */
static enum cg_err link_line(const struct cg_front_rw *rw, const char *name, const char *v,
                             struct cg_buf *out)
{
    CG_GUARD(cg__buf_printf(out, "%s: ", name));
    const char *lt, *gt;
    while ((lt = strchr(v, '<')) != NULL && (gt = strchr(lt + 1, '>')) != NULL) {
        CG_GUARD(cg__buf_append(out, v, (size_t)(lt + 1 - v)));
        size_t n = (size_t)(gt - (lt + 1));
        if (!cg__front_url_rewrite(rw, lt + 1, n, out))
            CG_GUARD(cg__buf_append(out, lt + 1, n));
        v = gt;
    }
    CG_GUARD(cg__buf_append(out, v, strlen(v)));
    return cg__buf_append(out, "\r\n", 2);
}

enum cg_err cg__front_response_head(const struct cg_front_resphead *h, struct cg_buf *out)
{
    const struct cg_front_resp *r = h->r;
    const char *conn = cg__front_resp_get(r, "Connection");
    /* The usual backend's "keep-alive" names only Keep-Alive, hop-by-hop
     * anyway: no token list to look through for every header. */
    if (conn != NULL && strcasecmp(conn, "keep-alive") == 0)
        conn = NULL;
    char status[24];
    status[cg__front_put_u(status, (uint64_t)r->status)] = '\0'; /* 100..599 (upstream.c) */
    CG_GUARD(CAT(out, "HTTP/1.1 ", status, " ", reason(r->status), "\r\n"));
    for (const char *n = NULL, *v = NULL; cg__front_resp_next(r, &n, &v);) {
        if (cg__front_header_dropped_response(n, conn))
            continue;
        if (h->rw != NULL && (strcasecmp(n, "Location") == 0 ||
                              strcasecmp(n, "Content-Location") == 0)) {
            CG_GUARD(cg__buf_printf(out, "%s: ", n));
            if (!cg__front_url_rewrite(h->rw, v, strlen(v), out))
                CG_GUARD(cg__buf_append(out, v, strlen(v)));
            CG_GUARD(cg__buf_append(out, "\r\n", 2));
            continue;
        }
        if (h->rw != NULL && strcasecmp(n, "Link") == 0) {
            CG_GUARD(link_line(h->rw, n, v, out));
            continue;
        }
        CG_GUARD(add_line(out, n, v));
    }
    CG_GUARD(our_headers(h, out));
    return framing(h, out);
}
