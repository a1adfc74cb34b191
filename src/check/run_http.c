/* The HTTP rules (B-20..B-25) on the given path, one request per connection. */
#include "check/check.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#define FOREIGN_ORIGIN "https://castgate-check.invalid"

/* Sends req over TLS and parses the answer's head. *got false when no HTTP
 * answer came (closed, timeout, not HTTP). */
static enum cg_err ask(const struct cg_check_target *t, const char *req, struct cg_http_resp *h,
                       bool *got, char *err, size_t errsz)
{
    SSL *ssl = NULL;
    int fd = -1;
    uint8_t buf[16384];
    size_t len = 0;
    *got = false;
    enum cg_err rc = cg__check_tls_open(t, NULL, NULL, &ssl, &fd, err, errsz);
    if (rc != CG_OK)
        return rc == CG_ENOMEM || rc == CG_EFILE ? rc : CG_OK;
    if (SSL_write(ssl, req, (int)strlen(req)) > 0) {
        for (;;) {
            int n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - len));
            if (n <= 0)
                break;
            len += (size_t)n;
            enum cg_err p = cg__check_http_parse(buf, len, h);
            if (p != CG_EAGAIN) {
                *got = p == CG_OK;
                break;
            }
            if (len == sizeof(buf))
                break;
        }
    }
    snprintf(err, errsz, "%s", *got ? "" : len ? "not an HTTP answer" : "no answer");
    cg__check_tls_close(ssl, fd);
    return CG_OK;
}

/* The Host header's value; an IPv6 literal goes in brackets (RFC 9110 7.2). */
static void host_port(const struct cg_check_target *t, char *dst, size_t dstsz)
{
    bool v6 = strchr(t->host, ':') != NULL;
    snprintf(dst, dstsz, "%s%s%s:%s", v6 ? "[" : "", t->host, v6 ? "]" : "", t->port);
}

static void request(const struct cg_check_target *t, const char *method, const char *extra,
                    char *dst, size_t dstsz)
{
    char hp[300];
    host_port(t, hp, sizeof(hp));
    snprintf(dst, dstsz, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: castgate-check\r\n%s"
                         "Connection: close\r\n\r\n", method, t->path, hp, extra);
}

static enum cg_err hsts(const struct cg_check_target *t, struct cg_check_report *r)
{
    char req[1024], err[256];
    struct cg_http_resp h;
    bool got;
    request(t, "GET", "", req, sizeof(req));
    CG_GUARD(ask(t, req, &h, &got, err, sizeof(err)));
    if (!got)
        return cg__check_add(r, "B-21", CG_CHECK_FAIL, "HSTS with max-age >= 31536000",
                             "GET %s: %s", t->path, err);
    long long age = h.has_hsts ? cg__check_hsts_max_age(h.hsts) : -1;
    return cg__check_add(r, "B-21", cg__check_hsts_verdict(age), "HSTS with max-age >= 31536000",
                         "GET %s: %d; %s%s", t->path, h.status,
                         h.has_hsts ? "Strict-Transport-Security: " : "no Strict-Transport-Security",
                         h.hsts);
}

static enum cg_err method_405(const struct cg_check_target *t, struct cg_check_report *r,
                              const char *method)
{
    char req[1024], err[256], what[64];
    struct cg_http_resp h;
    bool got;
    request(t, method, "", req, sizeof(req));
    CG_GUARD(ask(t, req, &h, &got, err, sizeof(err)));
    snprintf(what, sizeof(what), "%s -> 405 with Allow", method);
    if (!got)
        return cg__check_add(r, "B-22", CG_CHECK_FAIL, what, "%s", err);
    return cg__check_add(r, "B-22", cg__check_method_verdict(h.status, h.has_allow), what, "%d%s%s",
                         h.status, h.has_allow ? ", Allow: " : ", no Allow", h.allow);
}

static enum cg_err malformed(const struct cg_check_target *t, struct cg_check_report *r)
{
    char req[1024], err[256], hp[300];
    struct cg_http_resp h;
    bool got;
    host_port(t, hp, sizeof(hp));
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nthis line has no colon\r\n\r\n",
             t->path, hp);
    CG_GUARD(ask(t, req, &h, &got, err, sizeof(err)));
    const char *what = "malformed request -> 4xx";
    if (!got)
        return cg__check_add(r, "B-23", CG_CHECK_WARN, what, "header line without a colon: %s", err);
    return cg__check_add(r, "B-23", h.status >= 400 && h.status < 500 ? CG_CHECK_PASS : CG_CHECK_FAIL,
                         what, "header line without a colon: %d", h.status);
}

static enum cg_err cors(const struct cg_check_target *t, struct cg_check_report *r)
{
    char req[1024], err[256];
    struct cg_http_resp h;
    bool got;
    request(t, "GET", "Origin: " FOREIGN_ORIGIN "\r\n", req, sizeof(req));
    CG_GUARD(ask(t, req, &h, &got, err, sizeof(err)));
    const char *what = "CORS: a foreign Origin is not allowed";
    if (!got)
        return cg__check_add(r, "B-25", CG_CHECK_WARN, what, "%s", err);
    bool open = cg__check_cors_open(&h, FOREIGN_ORIGIN);
    return cg__check_add(r, "B-25", open ? CG_CHECK_FAIL : CG_CHECK_PASS, what,
                         "Origin: " FOREIGN_ORIGIN " -> %s%s",
                         h.has_acao ? "Access-Control-Allow-Origin: " : "no Access-Control-Allow-Origin",
                         h.acao);
}

static enum cg_err plain(const struct cg_check_target *t, struct cg_check_report *r)
{
    char req[1024];
    uint8_t ans[512];
    size_t n = 0;
    request(t, "GET", "", req, sizeof(req));
    /* enough of the answer to show its first line */
    enum cg_err rc = cg__check_raw(t, req, strlen(req), ans, sizeof(ans), &n);
    CG_CHECK(rc == CG_OK || rc == CG_ENET || rc == CG_ETIMEDOUT, rc);
    bool http = n >= 5 && memcmp(ans, "HTTP/", 5) == 0;
    char ev[256];
    size_t show = 0; /* the first line */
    while (show < n && show < 60 && ans[show] != '\r' && ans[show] != '\n')
        show++;
    cg__log_escape(ev, sizeof(ev), (const char *)ans, show);
    return cg__check_add(r, "B-20", http ? CG_CHECK_FAIL : CG_CHECK_PASS,
                         "no HTTP answer to plain HTTP on the TLS port", "%s%s",
                         n ? "answer starts: " : "no answer", n ? ev : "");
}

enum cg_err cg__check_run_http(const struct cg_check_target *t, struct cg_check_report *r)
{
    CG_GUARD(plain(t, r));
    CG_GUARD(hsts(t, r));
    CG_GUARD(method_405(t, r, "TRACE"));
    CG_GUARD(method_405(t, r, "DELETE"));
    CG_GUARD(method_405(t, r, "CGCHECK"));
    CG_GUARD(malformed(t, r));
    return cors(t, r);
}
