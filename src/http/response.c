/* Responses and the rules every castgate endpoint applies to them. */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const struct {
    const char *name;
    unsigned bit;
} methods[] = {
    {"GET", CG_HTTP_GET},       {"HEAD", CG_HTTP_HEAD},   {"POST", CG_HTTP_POST},
    {"PUT", CG_HTTP_PUT},       {"DELETE", CG_HTTP_DELETE}, {"PATCH", CG_HTTP_PATCH},
    {"OPTIONS", CG_HTTP_OPTIONS},
};

unsigned cg__http_method_bit(const char *method)
{
    for (size_t i = 0; i < CG_ARRAY_LEN(methods); i++)
        if (strcmp(method, methods[i].name) == 0)
            return methods[i].bit;
    return 0;
}

void cg__http_allow_string(unsigned set, char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < CG_ARRAY_LEN(methods); i++) {
        if (!(set & methods[i].bit))
            continue;
        int n = snprintf(out + o, outsz - o, "%s%s", o ? ", " : "", methods[i].name);
        if (n < 0 || (size_t)n >= outsz - o)
            break;
        o += (size_t)n;
    }
}

const char *cg__http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

const char *cg__http_request_header(const struct cg_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

bool cg__http_header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end != '\0' && *end != ',')
            end++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - p) == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p = end;
    }
    return false;
}

void cg__http_response_init(struct cg_http_response *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 204;
    cg__buf_init(&res->headers, 16384);
    cg__buf_init(&res->body, 0);
}

void cg__http_response_free(struct cg_http_response *res)
{
    cg__buf_free(&res->headers);
    cg__buf_free(&res->body);
}

const char *cg__http_cors_match(const struct cg_http_policy *pol, const char *origin)
{
    if (origin == NULL)
        return NULL;
    for (size_t i = 0; i < pol->ncors; i++) {
        if (strcmp(pol->cors_origins[i], "*") == 0)
            return "*";
        if (strcmp(pol->cors_origins[i], origin) == 0)
            return origin;
    }
    return NULL;
}

void cg__http_refusal(struct cg_http_response *res, int status, const char *reason,
                      unsigned allow_methods)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%d %s: %s\n", status, cg__http_status_text(status),
                     reason);
    res->close = true;
    cg_http_response_set(res, status, "text/plain; charset=utf-8", body,
                         n < 0 ? 0 : (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
    if (status == 405) {
        char allow[96];
        cg__http_allow_string(allow_methods, allow, sizeof(allow));
        cg_http_response_add_header(res, "Allow", allow);
    } else if (status == 426) {
        cg_http_response_add_header(res, "Upgrade", "websocket");
        cg_http_response_add_header(res, "Sec-WebSocket-Version", "13");
    }
}

/* Header names a preflight may ask for, echoed only if this plain. */
static bool token_list_ok(const char *v)
{
    for (; *v != '\0'; v++)
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
              *v == '-' || *v == ',' || *v == ' ' || *v == '_'))
            return false;
    return true;
}

bool cg__http_preflight(const struct cg_http_request *req, const struct cg_http_policy *pol,
                        unsigned route_methods, struct cg_http_response *res)
{
    const char *hdrs = cg__http_request_header(req, "Access-Control-Request-Headers");
    if (req->method_bit != CG_HTTP_OPTIONS ||
        cg__http_request_header(req, "Access-Control-Request-Method") == NULL ||
        cg__http_cors_match(pol, cg__http_request_header(req, "Origin")) == NULL)
        return false;
    char allow[96];
    cg__http_allow_string(route_methods, allow, sizeof(allow));
    cg_http_response_add_header(res, "Access-Control-Allow-Methods", allow);
    if (hdrs != NULL && token_list_ok(hdrs))
        cg_http_response_add_header(res, "Access-Control-Allow-Headers", hdrs);
    cg_http_response_add_header(res, "Access-Control-Max-Age", "600");
    return true;
}

void cg__http_date(int64_t t, char out[CG_HTTP_DATE_LEN])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || tm.tm_year < 0 || tm.tm_year > 9999 - 1900)
        tm = (struct tm){.tm_year = 70, .tm_mday = 1, .tm_wday = 4}; /* 1970 stays 4 digits */
    char buf[96]; /* room for every int at full width: -O2 checks it (format-truncation) */
    snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    memcpy(out, buf, CG_HTTP_DATE_LEN - 1);
    out[CG_HTTP_DATE_LEN - 1] = '\0';
}

static enum cg_err write_rules(const struct cg_http_response *res,
                               const struct cg_http_request *req,
                               const struct cg_http_policy *pol, struct cg_buf *out)
{
    char date[CG_HTTP_DATE_LEN]; /* RFC 9110 §6.6.1: an origin server with a clock */
    cg__http_date(res->date != 0 ? res->date : (int64_t)time(NULL), date);
    CG_GUARD(cg__buf_printf(out, "Date: %s\r\n", date));
    if (pol->hsts_max_age > 0) /* B-21 */
        CG_GUARD(cg__buf_printf(out, "Strict-Transport-Security: max-age=%u%s\r\n",
                                (unsigned)pol->hsts_max_age,
                                pol->hsts_subdomains ? "; includeSubDomains" : ""));
    const char *origin = req != NULL ? cg__http_request_header(req, "Origin") : NULL;
    const char *allow = cg__http_cors_match(pol, origin); /* B-25 */
    if (allow != NULL)
        CG_GUARD(cg__buf_printf(out, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", allow));
    CG_GUARD(cg__buf_printf(out, "X-Content-Type-Options: nosniff\r\n"));
    if (res->status >= 400)
        CG_GUARD(cg__buf_printf(out, "Cache-Control: no-store\r\n"));
    return CG_OK;
}

enum cg_err cg__http_response_write(const struct cg_http_response *res,
                                    const struct cg_http_request *req,
                                    const struct cg_http_policy *pol, struct cg_buf *out)
{
    CG_GUARD(cg__buf_printf(out, "HTTP/1.1 %d %s\r\n", res->status,
                            cg__http_status_text(res->status)));
    CG_GUARD(write_rules(res, req, pol, out));
    CG_GUARD(cg__buf_append(out, res->headers.data, res->headers.len));
    if (res->status == 101)
        return cg__buf_append(out, "\r\n", 2);
    if (res->content_type[0] != '\0')
        CG_GUARD(cg__buf_printf(out, "Content-Type: %s\r\n", res->content_type));
    if (res->close)
        CG_GUARD(cg__buf_printf(out, "Connection: close\r\n"));
    bool head = req != NULL && strcmp(req->method, "HEAD") == 0;
    bool bodiless = res->status == 204 || res->status == 304;
    if (!bodiless)
        CG_GUARD(cg__buf_printf(out, "Content-Length: %zu\r\n", res->body.len));
    CG_GUARD(cg__buf_append(out, "\r\n", 2));
    if (!head && !bodiless)
        CG_GUARD(cg__buf_append(out, res->body.data, res->body.len));
    return CG_OK;
}

/* ---- the public accessors ---- */

const char *cg_http_request_method(const struct cg_http_request *req) { return req->method; }
const char *cg_http_request_path(const struct cg_http_request *req) { return req->path; }
const char *cg_http_request_query(const struct cg_http_request *req) { return req->query; }
const char *cg_http_request_peer(const struct cg_http_request *req) { return req->peer; }

const char *cg_http_request_header(const struct cg_http_request *req, const char *name)
{
    return req != NULL && name != NULL ? cg__http_request_header(req, name) : NULL;
}

const uint8_t *cg_http_request_body(const struct cg_http_request *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data;
}

static bool valid_field(const char *s, bool name)
{
    if (s == NULL || (name && *s == '\0'))
        return false;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n' || (name && (c <= ' ' || c == ':' || c >= 0x7f)))
            return false;
    }
    return true;
}

enum cg_err cg_http_response_set(struct cg_http_response *res, int status,
                                 const char *content_type, const void *body, size_t len)
{
    CG_CHECK(res != NULL && status >= 100 && status <= 599, CG_EINVAL);
    CG_CHECK(len == 0 || (body != NULL && valid_field(content_type, false)), CG_EINVAL);
    res->status = status;
    snprintf(res->content_type, sizeof(res->content_type), "%s",
             content_type != NULL ? content_type : "");
    cg__buf_reset(&res->body);
    return cg__buf_append(&res->body, body, len);
}

enum cg_err cg_http_response_add_header(struct cg_http_response *res, const char *name,
                                        const char *value)
{
    CG_CHECK(res != NULL && valid_field(name, true) && valid_field(value, false), CG_EINVAL);
    return cg__buf_printf(&res->headers, "%s: %s\r\n", name, value);
}

void cg_http_response_set_log_reason(struct cg_http_response *res, const char *reason)
{
    if (res != NULL && reason != NULL)
        snprintf(res->log_reason, sizeof(res->log_reason), "%s", reason);
}

long cg__http_retry_after(const char *value)
{
    if (value == NULL)
        return -1;
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    long s = 0;
    const char *digits = p;
    for (; *p >= '0' && *p <= '9'; p++)
        s = s >= 86400 ? 86400 : s * 10 + (*p - '0');
    if (p == digits)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0')
        return -1;
    return s > 86400 ? 86400 : s;
}
