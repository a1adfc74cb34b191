/* JSON on the secure face: a bounded RFC 8259 check (B-23: a request body
 * must be well-formed before it reaches the backend) and the URL rewrite of
 * responses. Sans-I/O. The input is tokenised once (depth <= 64, every token
 * at least one byte, so at most n tokens); the rewrite then marks tokens to
 * replace and copies the input with those spans replaced, so everything else
 * (whitespace, key order, number spelling) stays byte for byte. */
#include "front/front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

enum tok_type { T_OBJ, T_ARR, T_STR, T_NUM, T_TRUE, T_FALSE, T_NULL };
enum tok_repl { R_NONE = 0, R_URL, R_PROTO, R_HOST, R_PORT, R_TRUE, R_FALSE };

struct tok {
    size_t start, end; /* the value's bytes (strings with their quotes) */
    size_t skip;       /* index of the token after this value */
    uint8_t type;
    uint8_t is_key;
    uint8_t repl;
};

struct lexer {
    const uint8_t *p;
    size_t n, i;
    struct tok *t;
    size_t nt, cap;
    bool oom;
};

static void ws(struct lexer *x)
{
    while (x->i < x->n && (x->p[x->i] == ' ' || x->p[x->i] == '\t' || x->p[x->i] == '\n' ||
                           x->p[x->i] == '\r'))
        x->i++;
}

static long push(struct lexer *x, uint8_t type)
{
    if (x->nt == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        struct tok *t = realloc(x->t, cap * sizeof(*t));
        if (t == NULL) {
            x->oom = true;
            return -1;
        }
        x->t = t;
        x->cap = cap;
    }
    memset(&x->t[x->nt], 0, sizeof(x->t[0]));
    x->t[x->nt].type = type;
    x->t[x->nt].start = x->i;
    return (long)x->nt++;
}

static int hexv(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One UTF-8 sequence at p[i] (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
static size_t utf8_len(const uint8_t *p, size_t n, size_t i)
{
    uint8_t c = p[i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > n || (len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[i + k] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] > 0x9F)))
        return 0;
    if (len == 4 && ((c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] > 0x8F)))
        return 0;
    return len;
}

static bool string(struct lexer *x)
{
    x->i++; /* the opening quote */
    while (x->i < x->n) {
        uint8_t c = x->p[x->i];
        if (c == '"') {
            x->i++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (x->i + 1 >= x->n)
                return false;
            uint8_t e = x->p[x->i + 1];
            if (e == 'u') {
                if (x->i + 6 > x->n)
                    return false;
                for (size_t k = 2; k < 6; k++)
                    if (hexv(x->p[x->i + k]) < 0)
                        return false;
                x->i += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                x->i += 2;
            } else {
                return false;
            }
            continue;
        }
        if (c < 0x80) { /* ASCII (no control, quote or backslash: above) */
            x->i++;
            continue;
        }
        size_t l = utf8_len(x->p, x->n, x->i);
        if (l == 0)
            return false;
        x->i += l;
    }
    return false;
}

static bool digits(struct lexer *x)
{
    size_t s = x->i;
    while (x->i < x->n && x->p[x->i] >= '0' && x->p[x->i] <= '9')
        x->i++;
    return x->i > s;
}

static bool number(struct lexer *x)
{
    if (x->p[x->i] == '-')
        x->i++;
    if (x->i < x->n && x->p[x->i] == '0')
        x->i++;
    else if (!digits(x))
        return false;
    if (x->i < x->n && x->p[x->i] == '.') {
        x->i++;
        if (!digits(x))
            return false;
    }
    if (x->i < x->n && (x->p[x->i] == 'e' || x->p[x->i] == 'E')) {
        x->i++;
        if (x->i < x->n && (x->p[x->i] == '+' || x->p[x->i] == '-'))
            x->i++;
        if (!digits(x))
            return false;
    }
    return true;
}

static bool literal(struct lexer *x, const char *word)
{
    size_t l = strlen(word);
    if (x->n - x->i < l || memcmp(x->p + x->i, word, l) != 0)
        return false;
    x->i += l;
    return true;
}

static bool value(struct lexer *x, int depth);

static bool members(struct lexer *x, int depth, bool object)
{
    uint8_t close = object ? '}' : ']';
    ws(x);
    if (x->i < x->n && x->p[x->i] == close) {
        x->i++;
        return true;
    }
    for (;;) {
        if (object) {
            ws(x);
            if (x->i >= x->n || x->p[x->i] != '"')
                return false;
            long k = push(x, T_STR);
            if (k < 0 || !string(x))
                return false;
            x->t[k].end = x->i;
            x->t[k].skip = (size_t)k + 1;
            x->t[k].is_key = 1;
            ws(x);
            if (x->i >= x->n || x->p[x->i] != ':')
                return false;
            x->i++;
        }
        if (!value(x, depth + 1))
            return false;
        ws(x);
        if (x->i >= x->n)
            return false;
        uint8_t c = x->p[x->i++];
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

static bool value(struct lexer *x, int depth)
{
    ws(x);
    if (x->i >= x->n || depth > MAX_DEPTH)
        return false;
    uint8_t c = x->p[x->i];
    uint8_t type = c == '{' ? T_OBJ : c == '[' ? T_ARR : c == '"' ? T_STR : c == 't' ? T_TRUE
                 : c == 'f' ? T_FALSE : c == 'n' ? T_NULL : T_NUM;
    long k = push(x, type);
    if (k < 0)
        return false;
    bool ok;
    switch (type) {
    case T_OBJ:
    case T_ARR:
        x->i++;
        ok = members(x, depth, type == T_OBJ);
        break;
    case T_STR:
        ok = string(x);
        break;
    case T_TRUE:
        ok = literal(x, "true");
        break;
    case T_FALSE:
        ok = literal(x, "false");
        break;
    case T_NULL:
        ok = literal(x, "null");
        break;
    default:
        ok = number(x);
        break;
    }
    x->t[k].end = x->i;
    x->t[k].skip = x->nt;
    return ok;
}

/* CG_OK, CG_EHTTP (not JSON) or CG_ENOMEM. */
static enum cg_err lex(struct lexer *x, const uint8_t *p, size_t n)
{
    memset(x, 0, sizeof(*x));
    x->p = p;
    x->n = n;
    if (!value(x, 0))
        return x->oom ? CG_ENOMEM : CG_EHTTP;
    ws(x);
    return x->i == n ? CG_OK : CG_EHTTP;
}

enum cg_err cg__front_json_check(const uint8_t *p, size_t n)
{
    struct lexer x;
    enum cg_err rc = lex(&x, p, n);
    free(x.t);
    return rc;
}

/* ---- URLs ---- */

/* The rewrite writes ports per URL, heads.c per request: no format string. */
size_t cg__front_put_u(char *out, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = d[n - 1 - i];
    return n;
}

static enum cg_err append_str(struct cg_buf *out, const char *s)
{
    return cg__buf_append(out, s, strlen(s));
}

/* ":port" appended. */
static enum cg_err append_port(struct cg_buf *out, unsigned port)
{
    char t[24];
    t[0] = ':';
    return cg__buf_append(out, t, 1 + cg__front_put_u(t + 1, port));
}

static bool hostch(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']';
}

bool cg__front_authority_norm(const char *a, size_t n, bool secure, char *out, size_t outsz)
{
    if (n == 0 || n >= outsz || memchr(a, '@', n) != NULL)
        return false;
    size_t hostlen = n;
    const char *port = NULL;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (rb == NULL)
            return false;
        hostlen = (size_t)(rb - a) + 1;
        if (hostlen < n) {
            if (a[hostlen] != ':')
                return false;
            port = a + hostlen + 1;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon != NULL) {
            hostlen = (size_t)(colon - a);
            port = colon + 1;
        }
    }
    size_t portlen = port != NULL ? n - (size_t)(port - a) : 0;
    if (hostlen == 0 || (port != NULL && (portlen == 0 || portlen > 5)))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!hostch(a[i]))
            return false;
    unsigned long pv = secure ? 443 : 80;
    if (port != NULL) {
        pv = 0;
        for (size_t i = 0; i < portlen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return false;
            pv = pv * 10 + (unsigned long)(port[i] - '0');
        }
        if (pv == 0 || pv > 65535)
            return false;
    }
    if (hostlen + 7 >= outsz)
        return false;
    for (size_t i = 0; i < hostlen; i++)
        out[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] + 32) : a[i];
    out[hostlen] = ':';
    out[hostlen + 1 + cg__front_put_u(out + hostlen + 1, pv)] = '\0'; /* pv <= 65535: 5 digits */
    return true;
}

static bool is_inside(const struct cg_front_rw *rw, const char *norm)
{
    for (size_t i = 0; i < rw->ninside; i++)
        if (strcmp(rw->inside[i], norm) == 0)
            return true;
    return false;
}

static bool is_public(const struct cg_front_rw *rw, const char *norm, bool secure)
{
    char pub[300];
    int k = snprintf(pub, sizeof(pub), "%s:%u", rw->pub_host, (unsigned)rw->pub_port);
    char mine[300];
    if (k <= 0 || (size_t)k >= sizeof(pub) ||
        !cg__front_authority_norm(pub, (size_t)k, secure, mine, sizeof(mine)))
        return false;
    return strcmp(mine, norm) == 0;
}

static bool prefix_ci(const char *s, size_t n, const char *pre)
{
    size_t l = strlen(pre);
    if (n < l)
        return false;
    for (size_t i = 0; i < l; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        if (c != pre[i])
            return false;
    }
    return true;
}

bool cg__front_url_rewrite(const struct cg_front_rw *rw, const char *url, size_t n,
                           struct cg_buf *out)
{
    bool ws = prefix_ci(url, n, "ws://");
    if (!ws && !prefix_ci(url, n, "http://"))
        return false;
    size_t a = ws ? 5 : 7, e = a;
    while (e < n && url[e] != '/' && url[e] != '?' && url[e] != '#')
        e++;
    char norm[300];
    if (!cg__front_authority_norm(url + a, e - a, false, norm, sizeof(norm)))
        return false;
    if (!is_inside(rw, norm) && !is_public(rw, norm, false))
        return false;
    size_t before = out->len;
    enum cg_err rc = append_str(out, ws ? "wss://" : "https://");
    if (rc == CG_OK)
        rc = append_str(out, rw->pub_host);
    if (rc == CG_OK && rw->pub_port != 443)
        rc = append_port(out, rw->pub_port);
    if (rc == CG_OK)
        rc = cg__buf_append(out, url + e, n - e);
    if (rc != CG_OK) {
        out->len = before;
        return false;
    }
    return true;
}

/* ---- the rewrite ---- */

/* A string token's text when it has no escape but "\/" (URLs, hosts,
 * protocols); false otherwise. */
static bool plain_text(const uint8_t *p, const struct tok *t, char *out, size_t outsz,
                       size_t *len)
{
    size_t k = 0;
    for (size_t i = t->start + 1; i + 1 < t->end; i++) {
        char c = (char)p[i];
        if (c == '\\') {
            if (p[i + 1] != '/')
                return false;
            c = '/';
            i++;
        }
        if (k + 1 >= outsz)
            return false;
        out[k++] = c;
    }
    out[k] = '\0';
    *len = k;
    return true;
}

/* A string token with exactly the text of literal (no escapes); the
 * literal's length is known at compile time (every key of every object is
 * compared with five names). */
static bool str_is_n(const uint8_t *p, const struct tok *t, const char *s, size_t l)
{
    return t->type == T_STR && t->end - t->start == l + 2 && memcmp(p + t->start + 1, s, l) == 0;
}
#define str_is(p, t, literal) str_is_n((p), (t), "" literal, sizeof(literal) - 1)

/* An IS-04 api.endpoints[] entry (or anything shaped like one): protocol
 * http/ws, host and port naming the backend. */
static void mark_endpoint(const struct cg_front_rw *rw, const struct lexer *x, long proto,
                          long host, long port)
{
    if (proto < 0 || host < 0 || port < 0 || x->t[port].type != T_NUM ||
        x->t[host].type != T_STR)
        return;
    const struct tok *pr = &x->t[proto];
    if (!str_is(x->p, pr, "http") && !str_is(x->p, pr, "ws"))
        return;
    char h[256], auth[300], norm[300];
    size_t hl;
    if (!plain_text(x->p, &x->t[host], h, sizeof(h), &hl))
        return;
    size_t pl = x->t[port].end - x->t[port].start;
    bool v6 = memchr(h, ':', hl) != NULL;
    int k = snprintf(auth, sizeof(auth), "%s%s%s:%.*s", v6 ? "[" : "", h, v6 ? "]" : "", (int)pl,
                     (const char *)x->p + x->t[port].start);
    if (k <= 0 || (size_t)k >= sizeof(auth) ||
        !cg__front_authority_norm(auth, (size_t)k, false, norm, sizeof(norm)))
        return;
    if (!is_inside(rw, norm) && !is_public(rw, norm, false))
        return;
    x->t[proto].repl = R_PROTO;
    x->t[host].repl = R_HOST;
    x->t[port].repl = R_PORT;
}

static void mark_object(const struct cg_front_rw *rw, enum cg_front_json_mode mode,
                        const struct lexer *x, size_t o, bool top)
{
    long proto = -1, host = -1, port = -1, secure = -1;
    bool ws_href = false;
    for (size_t k = o + 1; k < x->t[o].skip; k = x->t[k + 1].skip) {
        size_t v = k + 1;
        if (str_is(x->p, &x->t[k], "protocol"))
            proto = (long)v;
        else if (str_is(x->p, &x->t[k], "host"))
            host = (long)v;
        else if (str_is(x->p, &x->t[k], "port"))
            port = (long)v;
        else if (str_is(x->p, &x->t[k], "secure"))
            secure = (long)v;
        else if (str_is(x->p, &x->t[k], "ws_href"))
            ws_href = true;
    }
    mark_endpoint(rw, x, proto, host, port);
    if (secure < 0)
        return;
    /* IS-04 Query API subscriptions: the client asks for (and sees) a
     * secure socket; the plain backend makes a ws one that we secure. */
    if (mode == CG_FRONT_JSON_SUB_REQUEST && top && x->t[secure].type == T_TRUE)
        x->t[secure].repl = R_FALSE;
    else if (mode == CG_FRONT_JSON_RESPONSE && ws_href && x->t[secure].type == T_FALSE)
        x->t[secure].repl = R_TRUE;
}

/* Only "http://..." and "ws://..." (any case) are rewritten, so only a
 * string starting with h or w is looked at again when written; most (ids,
 * labels, versions, types) are copied with the bytes around them. */
static bool may_be_url(const uint8_t *p, const struct tok *t)
{
    uint8_t c = (uint8_t)(p[t->start + 1] | 0x20);
    return t->end - t->start >= 7 && (c == 'h' || c == 'w');
}

static void mark(const struct cg_front_rw *rw, enum cg_front_json_mode mode, struct lexer *x)
{
    for (size_t i = 0; i < x->nt; i++) {
        if (x->t[i].type == T_OBJ)
            mark_object(rw, mode, x, i, i == 0);
        else if (x->t[i].type == T_STR && !x->t[i].is_key && x->t[i].repl == R_NONE &&
                 mode == CG_FRONT_JSON_RESPONSE && may_be_url(x->p, &x->t[i]))
            x->t[i].repl = R_URL; /* decided when written */
    }
}

static enum cg_err write_repl(const struct cg_front_rw *rw, const struct lexer *x,
                              const struct tok *t, struct cg_buf *out, bool *changed)
{
    const uint8_t *src = x->p + t->start;
    size_t n = t->end - t->start;
    char text[4096];
    size_t tl;
    switch (t->repl) {
    case R_URL:
        if (!plain_text(x->p, t, text, sizeof(text), &tl))
            return cg__buf_append(out, src, n);
        CG_GUARD(cg__buf_append(out, "\"", 1));
        if (!cg__front_url_rewrite(rw, text, tl, out))
            return cg__buf_append(out, src + 1, n - 1);
        *changed = true;
        return cg__buf_append(out, "\"", 1);
    case R_PROTO:
        *changed = true;
        return append_str(out, str_is(x->p, t, "ws") ? "\"wss\"" : "\"https\"");
    case R_HOST:
        CG_GUARD(cg__buf_append(out, "\"", 1));
        CG_GUARD(append_str(out, rw->pub_host));
        return cg__buf_append(out, "\"", 1);
    case R_PORT:
        tl = cg__front_put_u(text, rw->pub_port);
        return cg__buf_append(out, text, tl);
    case R_TRUE:
        *changed = true;
        return cg__buf_append(out, "true", 4);
    case R_FALSE:
        *changed = true;
        return cg__buf_append(out, "false", 5);
    default:
        return cg__buf_append(out, src, n);
    }
}

enum cg_err cg__front_json_rewrite(const struct cg_front_rw *rw, enum cg_front_json_mode mode,
                                   const uint8_t *p, size_t n, struct cg_buf *out,
                                   bool *changed)
{
    struct lexer x;
    *changed = false;
    enum cg_err rc = lex(&x, p, n);
    if (rc == CG_OK)
        mark(rw, mode, &x);
    size_t pos = 0;
    for (size_t i = 0; rc == CG_OK && i < x.nt; i++) {
        if (x.t[i].repl == R_NONE)
            continue;
        rc = cg__buf_append(out, p + pos, x.t[i].start - pos);
        if (rc == CG_OK)
            rc = write_repl(rw, &x, &x.t[i], out, changed);
        pos = x.t[i].end;
    }
    if (rc == CG_OK)
        rc = cg__buf_append(out, p + pos, n - pos);
    free(x.t);
    return rc;
}
