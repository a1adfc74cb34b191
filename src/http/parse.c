/* HTTP/1.1 request parsing over nodejs http-parser, with castgate's limits:
 * header bytes (431), body bytes (413), URL length (414), and a request line
 * with a method http-parser does not know (405, B-22). Targets in origin-form
 * or absolute-form (RFC 9112 §3.2.1, §3.2.2); Expect (RFC 9110 §10.1.1). */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 8192

static struct cg_http_parser *hp_of(http_parser *p) { return p->data; }

static int fail(struct cg_http_parser *hp, int status, const char *reason)
{
    if (hp->error_status == 0) {
        hp->error_status = status;
        hp->error_reason = reason;
    }
    return -1;
}

static int count_header_bytes(struct cg_http_parser *hp, size_t n)
{
    hp->header_bytes += n;
    if (hp->header_bytes > hp->max_header)
        return fail(hp, 431, "request headers too large");
    return 0;
}

static int on_message_begin(http_parser *p)
{
    hp_of(p)->header_bytes = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct cg_http_parser *hp = hp_of(p);
    if (hp->url.len + n > LINE_MAX_BYTES)
        return fail(hp, 414, "request target too long");
    if (count_header_bytes(hp, n) != 0)
        return -1;
    return cg__buf_append(&hp->url, at, n) == CG_OK ? 0 : fail(hp, 500, "out of memory");
}

/* Room for one more header (the array is kept across requests: reset). */
static struct cg_http_header *header_room(struct cg_http_parser *hp)
{
    struct cg_http_request *r = &hp->req;
    if (r->nheaders < hp->headers_cap)
        return r->headers;
    size_t cap = hp->headers_cap != 0 ? hp->headers_cap * 2 : 8;
    struct cg_http_header *h = realloc(r->headers, cap * sizeof(*h));
    if (h == NULL)
        return NULL;
    r->headers = h;
    hp->headers_cap = cap;
    return h;
}

static int store_header(struct cg_http_parser *hp)
{
    struct cg_http_request *r = &hp->req;
    if (r->nheaders >= 100)
        return fail(hp, 431, "too many request headers");
    struct cg_http_header *h = header_room(hp);
    if (h == NULL)
        return fail(hp, 500, "out of memory");
    /* RFC 9112 §5.1: trailing whitespace (OWS) is not part of the value */
    size_t vlen = hp->value.len;
    while (vlen > 0 && (hp->value.data[vlen - 1] == ' ' || hp->value.data[vlen - 1] == '\t'))
        vlen--;
    h[r->nheaders].name = cg__strndup((char *)hp->field.data, hp->field.len);
    h[r->nheaders].value = cg__strndup((char *)hp->value.data, vlen);
    r->nheaders++;
    if (h[r->nheaders - 1].name == NULL || h[r->nheaders - 1].value == NULL)
        return fail(hp, 500, "out of memory");
    cg__buf_reset(&hp->field);
    cg__buf_reset(&hp->value);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct cg_http_parser *hp = hp_of(p);
    if (count_header_bytes(hp, n) != 0)
        return -1;
    if (hp->in_value) {
        if (store_header(hp) != 0)
            return -1;
        hp->in_value = false;
    }
    return cg__buf_append(&hp->field, at, n) == CG_OK ? 0 : fail(hp, 431, "header too large");
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct cg_http_parser *hp = hp_of(p);
    if (count_header_bytes(hp, n) != 0)
        return -1;
    hp->in_value = true;
    return cg__buf_append(&hp->value, at, n) == CG_OK ? 0 : fail(hp, 431, "header too large");
}

/* Path and query of a target (from its first '/' on): split at the first
 * '?', kept as sent. root: an absolute-form target, whose empty path is "/"
 * (RFC 9112 §3.2.1). */
static int split_path(struct cg_http_parser *hp, const char *u, size_t n, bool root)
{
    struct cg_http_request *r = &hp->req;
    const char *q = memchr(u, '?', n);
    size_t plen = q != NULL ? (size_t)(q - u) : n;
    r->path = root && plen == 0 ? cg__strdup("/") : cg__strndup(u, plen);
    r->query = q != NULL ? cg__strndup(q + 1, n - plen - 1) : cg__strdup("");
    if (r->path == NULL || r->query == NULL)
        return fail(hp, 500, "out of memory");
    if (memchr(u, '\0', plen) != NULL)
        return fail(hp, 400, "NUL in request target");
    return 0;
}

static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), and
 * "://" after it: an absolute-form target with an authority (RFC 9112
 * §3.2.2). Returns the scheme's length, 0 for any other form. */
static size_t absolute_scheme(const char *u, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_alpha((unsigned char)u[0]))
        return 0;
    while (i < n && (is_alpha((unsigned char)u[i]) || is_digit((unsigned char)u[i]) ||
                     u[i] == '+' || u[i] == '-' || u[i] == '.'))
        i++;
    return n - i >= 3 && memcmp(u + i, "://", 3) == 0 ? i : 0;
}

/* RFC 3986 §3.2.2 reg-name: unreserved, pct-encoded, sub-delims. */
static bool is_reg_name(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("-._~%!$&'()*+,;=", c) != NULL);
}

/* An IP-literal's inside, "[" and "]" excluded: hex digits, ':' and '.'. */
static bool ip_literal_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]) && cg__hexval((unsigned char)s[i]) < 0 && s[i] != ':' &&
            s[i] != '.')
            return false;
    return n > 0;
}

/* Why an authority (RFC 9110 §4.2: host [":" port]) is refused, or NULL. */
static const char *authority_problem(const char *a, size_t n)
{
    if (memchr(a, '@', n) != NULL) /* RFC 9110 §4.2.4: userinfo is an error */
        return "userinfo in the request target";
    size_t h = 0;
    if (n > 0 && a[0] == '[') {
        const char *end = memchr(a, ']', n);
        if (end == NULL || !ip_literal_ok(a + 1, (size_t)(end - a) - 1))
            return "malformed host in the request target";
        h = (size_t)(end - a) + 1;
    } else {
        while (h < n && a[h] != ':' && is_reg_name((unsigned char)a[h]))
            h++;
        if (h == 0) /* RFC 9110 §4.2.2: an https URI needs a host */
            return "no host in the request target";
    }
    if (h == n)
        return NULL;
    if (a[h] != ':' || n - h - 1 > 5)
        return a[h] != ':' ? "malformed host in the request target"
                           : "bad port in the request target";
    unsigned long port = 0;
    for (size_t i = h + 1; i < n; i++) {
        if (!is_digit((unsigned char)a[i]))
            return "bad port in the request target";
        port = port * 10 + (unsigned long)(a[i] - '0');
    }
    return port > 65535 ? "bad port in the request target" : NULL; /* "host:" is allowed */
}

/* RFC 9112 §3.2.2: "A server MUST accept the use of absolute-form in
 * requests". The scheme must be the server's own: https on the TLS
 * surfaces (B-20: a request for an http: resource is not ours to serve),
 * http on the plain OCSP responder. Returns why it is refused, or NULL with
 * the authority kept (it becomes Host) and path and query split. */
static const char *split_absolute(struct cg_http_parser *hp, const char *u, size_t n, size_t slen)
{
    const char *own = hp->plain ? "http" : "https";
    if (slen != strlen(own) || strncasecmp(u, own, slen) != 0)
        return hp->plain ? "request target scheme is not http"
                         : "request target scheme is not https";
    const char *a = u + slen + 3;
    size_t an = 0, rest = n - slen - 3;
    while (an < rest && a[an] != '/' && a[an] != '?' && a[an] != '#')
        an++;
    const char *why = authority_problem(a, an);
    if (why != NULL)
        return why;
    free(hp->authority);
    hp->authority = cg__strndup(a, an);
    if (hp->authority == NULL || split_path(hp, a + an, rest - an, true) != 0)
        return hp->error_status != 0 ? hp->error_reason : "out of memory";
    return NULL;
}

static int split_url(struct cg_http_parser *hp)
{
    const char *u = (const char *)hp->url.data;
    size_t n = hp->url.len, slen = absolute_scheme(u, n);
    bool routable = hp->req.method_bit != 0;
    if (n == 0)
        return fail(hp, 400, "request target is not an absolute path");
    if (u[0] == '/')
        return split_path(hp, u, n, false);
    if (slen > 0) {
        const char *why = split_absolute(hp, u, n, slen);
        if (why == NULL || hp->error_status != 0)
            return why == NULL ? 0 : -1;
        if (routable)
            return fail(hp, 400, why);
    } else if (n == 1 && u[0] == '*' && hp->req.method_bit == CG_HTTP_OPTIONS) {
        /* RFC 9112 §3.2.4, RFC 9110 §9.3.7: well formed, the server as a
         * whole; no castgate API allows it (B-22), and "*" allows no method */
        return split_path(hp, u, n, false) != 0
                   ? -1
                   : fail(hp, 405, "OPTIONS * (the server as a whole) is not allowed (B-22)");
    } else if (routable) {
        return fail(hp, 400, "request target is not an absolute path");
    }
    /* B-22: a method no route allows gets 405 whatever its target (kept as
     * sent, for the log): CONNECT's authority-form, "*", or one refused above. */
    return split_path(hp, u, n, false);
}

/* RFC 9112 §3.2.2: with an absolute-form target the origin server "MUST
 * ignore the received Host header field (if any) and instead use the host
 * information of the request-target": the authority replaces the Host
 * line's value, or becomes one (an HTTP/1.0 request needs none), so every
 * reader of Host (handlers, the front's X-Forwarded-Host) sees the same. */
static int use_authority(struct cg_http_parser *hp)
{
    struct cg_http_request *r = &hp->req;
    char *v = cg__strdup(hp->authority);
    if (v == NULL)
        return fail(hp, 500, "out of memory");
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "Host") == 0) {
            free(r->headers[i].value);
            r->headers[i].value = v;
            return 0;
        }
    }
    char *name = cg__strdup("Host");
    struct cg_http_header *h = name != NULL ? header_room(hp) : NULL;
    if (h == NULL) {
        free(name);
        free(v);
        return fail(hp, 500, "out of memory");
    }
    h[r->nheaders++] = (struct cg_http_header){.name = name, .value = v};
    return 0;
}

/* One member of an Expect list, blanks around it cut. */
static bool expect_member(const char *s, size_t n, bool *cont)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) /* an empty list element (RFC 9110 §5.6.1) */
        return true;
    *cont = true;
    return n == 12 && strncasecmp(s, "100-continue", 12) == 0;
}

/* RFC 9110 §10.1.1: 100-continue is the only expectation; any other "cannot
 * be met" and gets 417 with the head, its content never read. "A server
 * that receives a 100-continue expectation in an HTTP/1.0 request MUST
 * ignore that expectation" (castgate ignores the whole field there). With
 * content to come, the client waits for 100 Continue or the final status:
 * req.expect_continue tells the server to answer one of them now. */
static int check_expect(struct cg_http_parser *hp, const http_parser *p)
{
    struct cg_http_request *r = &hp->req;
    bool cont = false;
    if (p->http_minor == 0)
        return 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "Expect") != 0)
            continue;
        for (const char *v = r->headers[i].value;;) {
            size_t m = strcspn(v, ",");
            if (!expect_member(v, m, &cont))
                return fail(hp, 417, "unsupported expectation");
            if (v[m] == '\0')
                break;
            v += m + 1;
        }
    }
    bool content = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
    r->expect_continue = cont && content;
    return 0;
}

/* RFC 9112 §3.2: more than one Host line gets 400. */
static bool several_hosts(const struct cg_http_request *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        n += strcasecmp(r->headers[i].name, "Host") == 0;
    return n > 1;
}

static int on_headers_complete(http_parser *p)
{
    struct cg_http_parser *hp = hp_of(p);
    struct cg_http_request *r = &hp->req;
    if (hp->in_value && store_header(hp) != 0)
        return -1;
    hp->in_value = false;
    if (p->http_major != 1)
        return fail(hp, 505, "HTTP version not supported");
    snprintf(r->method, sizeof(r->method), "%s", http_method_str((enum http_method)p->method));
    r->method_bit = cg__http_method_bit(r->method);
    if (split_url(hp) != 0)
        return -1;
    if (p->http_minor == 1 && cg__http_request_header(r, "Host") == NULL)
        return fail(hp, 400, "missing Host header");
    if (several_hosts(r))
        return fail(hp, 400, "more than one Host header");
    if (hp->authority != NULL && use_authority(hp) != 0)
        return -1;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > hp->max_body)
        return fail(hp, 413, "request body too large");
    if (check_expect(hp, p) != 0)
        return -1;
    r->keep_alive = http_should_keep_alive(p) != 0;
    r->http_major = p->http_major;
    r->http_minor = p->http_minor;
    /* CONNECT never turns the connection into a tunnel here: it ends as a
     * complete request that no route allows, so it gets 405 (B-22). */
    r->upgrade = p->upgrade != 0 && p->method != HTTP_CONNECT;
    return 0;
}

/* RFC 9112 §7.1: chunk-data is followed by CRLF. http-parser (built
 * without HTTP_PARSER_STRICT) takes any two bytes there, which lets a
 * request's end be read differently by a proxy in front: check them here,
 * in the bytes fed so far (p..end) and, when cut, at the next feed. */
static bool chunk_crlf_ok(struct cg_http_parser *hp, const uint8_t *p, const uint8_t *end)
{
    for (; hp->crlf_need > 0 && p < end; p++, hp->crlf_need--)
        if (*p != (hp->crlf_need == 2 ? '\r' : '\n'))
            return false;
    return true;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct cg_http_parser *hp = hp_of(p);
    if (hp->req.body.len + n > hp->max_body)
        return fail(hp, 413, "request body too large");
    if ((p->flags & F_CHUNKED) && p->content_length == 0) { /* this chunk's data ends here */
        hp->crlf_need = 2;
        if (!chunk_crlf_ok(hp, (const uint8_t *)at + n, hp->feed_end))
            return fail(hp, 400, "chunk data not followed by CRLF");
    }
    return cg__buf_append(&hp->req.body, at, n) == CG_OK ? 0 : fail(hp, 500, "out of memory");
}

static int on_message_complete(http_parser *p)
{
    hp_of(p)->complete = true;
    http_parser_pause(p, 1); /* one request at a time: the rest waits */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void cg__http_parser_init(struct cg_http_parser *hp, size_t max_header, size_t max_body)
{
    memset(hp, 0, sizeof(*hp));
    hp->max_header = max_header;
    hp->max_body = max_body;
    cg__buf_init(&hp->url, 0);
    cg__buf_init(&hp->field, max_header);
    cg__buf_init(&hp->value, max_header);
    cg__buf_init(&hp->line, LINE_MAX_BYTES);
    cg__buf_init(&hp->req.body, max_body);
    http_parser_init(&hp->p, HTTP_REQUEST);
    hp->p.data = hp;
}

static void free_request(struct cg_http_request *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->path);
    free(r->query);
    cg__buf_free(&r->body);
}

void cg__http_parser_free(struct cg_http_parser *hp)
{
    free_request(&hp->req);
    cg__buf_free(&hp->url);
    cg__buf_free(&hp->field);
    cg__buf_free(&hp->value);
    cg__buf_free(&hp->line);
    free(hp->authority);
    hp->authority = NULL;
}

/* Memory a buffer keeps for the next request on a kept-alive connection; an
 * odd large request's is let go. */
#define KEEP_BYTES 4096

static void keep(struct cg_buf *to, struct cg_buf *from)
{
    if (from->cap > KEEP_BYTES) {
        cg__buf_free(from);
        return;
    }
    to->data = from->data; /* len 0; the bound is the one init set */
    to->cap = from->cap;
}

/* The next request on the connection: the request's strings go, the
 * buffers and the header array stay (a usual request then allocates only
 * its strings). */
void cg__http_parser_reset(struct cg_http_parser *hp)
{
    struct cg_http_request *r = &hp->req;
    char peer[sizeof(r->peer)];
    memcpy(peer, r->peer, sizeof(peer));
    size_t max_header = hp->max_header, max_body = hp->max_body, hcap = hp->headers_cap;
    bool plain = hp->plain;
    struct cg_buf url = hp->url, field = hp->field, value = hp->value, line = hp->line,
                  body = r->body;
    struct cg_http_header *headers = r->headers;
    for (size_t i = 0; i < r->nheaders; i++) {
        free(headers[i].name);
        free(headers[i].value);
    }
    free(r->path);
    free(r->query);
    free(hp->authority);
    cg__http_parser_init(hp, max_header, max_body);
    keep(&hp->url, &url);
    keep(&hp->field, &field);
    keep(&hp->value, &value);
    keep(&hp->line, &line);
    keep(&hp->req.body, &body);
    hp->req.headers = headers;
    hp->headers_cap = hcap;
    memcpy(hp->req.peer, peer, sizeof(peer));
    hp->plain = plain;
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The request line of a method http-parser refused: "TOKEN SP target SP …".
 * A valid token gets 405 (B-22), anything else 400. */
static void finish_bad_method(struct cg_http_parser *hp)
{
    const char *s = (const char *)hp->line.data;
    size_t n = hp->line.len, i = 0;
    while (i < n && i < sizeof(hp->req.method) - 1 && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= n || s[i] != ' ') {
        fail(hp, 400, "malformed request line");
        return;
    }
    memcpy(hp->req.method, s, i);
    hp->req.method[i] = '\0';
    size_t t = ++i;
    while (i < n && s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
        i++;
    if (cg__buf_append(&hp->url, s + t, i - t) != CG_OK || split_url(hp) != 0) {
        fail(hp, 400, "malformed request target");
        return;
    }
    fail(hp, 405, "method not allowed");
}

static size_t feed_line(struct cg_http_parser *hp, const uint8_t *data, size_t len)
{
    size_t take = len;
    const uint8_t *lf = memchr(data, '\n', len);
    if (lf != NULL)
        take = (size_t)(lf - data) + 1;
    if (cg__buf_append(&hp->line, data, take) != CG_OK) {
        /* The method takes at most 31 bytes: the target is what is long. */
        fail(hp, 414, "request target too long");
        return take;
    }
    if (lf != NULL) {
        hp->line_done = true;
        if (hp->bad_method)
            finish_bad_method(hp);
    }
    return take;
}

size_t cg__http_parser_feed(struct cg_http_parser *hp, const uint8_t *data, size_t len)
{
    if (hp->error_status != 0 || hp->complete)
        return 0;
    if (hp->bad_method)
        return feed_line(hp, data, len);
    if (!hp->line_done)
        feed_line(hp, data, len); /* keep a copy of the request line */
    if (!chunk_crlf_ok(hp, data, data + len)) {
        fail(hp, 400, "chunk data not followed by CRLF");
        return 0;
    }
    hp->feed_end = data + len;
    size_t used = http_parser_execute(&hp->p, &settings, (const char *)data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&hp->p);
    if (e == HPE_PAUSED) {
        http_parser_pause(&hp->p, 0);
        return used;
    }
    if (hp->p.upgrade && hp->req.path != NULL) { /* the rest is not HTTP */
        hp->complete = true;
        return used;
    }
    if (e == HPE_INVALID_METHOD && hp->error_status == 0) {
        hp->bad_method = true;
        if (hp->line_done)
            finish_bad_method(hp);
        return len;
    }
    if (e != HPE_OK && hp->error_status == 0)
        fail(hp, 400, http_errno_description(e));
    return used;
}
