/* JSON on the secure face: a bounded RFC 8259 check (B-23: a request body
 * must be well-formed before it reaches the backend) and the URL rewrite of
 * responses. Sans-I/O. One pass over the input, without a token list: the
 * check only reads; the rewrite copies the input to out in spans, with a URL
 * string replaced where it ends, and the members of an object that depend on
 * one another (an IS-04 api.endpoints[] entry's protocol, host and port; a
 * subscription's "secure" beside its ws_href, in any key order) patched in
 * out when the object closes. Everything else (whitespace, key order, number
 * spelling) stays byte for byte. */
#include "front/front.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

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

/* A-Z a-z 0-9 - . _ : [ ] as a bitmap of ASCII (every URL is checked). */
static bool hostch(char c)
{
    static const uint64_t set[2] = {UINT64_C(0x07ff600000000000), UINT64_C(0x07fffffeaffffffe)};
    unsigned char u = (unsigned char)c;
    return u < 128 && ((set[u >> 6] >> (u & 63)) & 1) != 0;
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

/* The public authority in canonical form, worked out once per rewrite (a
 * document names the backend many times) and only when needed. */
struct pubauth {
    int state; /* 0 not yet, 1 in norm, -1 unusable */
    char norm[300];
};

static bool is_public(const struct cg_front_rw *rw, struct pubauth *pa, const char *norm)
{
    if (pa->state == 0) {
        char pub[320];
        size_t hl = strlen(rw->pub_host), k = 0;
        if (hl < 300) {
            memcpy(pub, rw->pub_host, hl);
            pub[hl] = ':';
            k = hl + 1 + cg__front_put_u(pub + hl + 1, rw->pub_port);
        }
        pa->state = k > 0 && k < 300 &&
                    cg__front_authority_norm(pub, k, false, pa->norm, sizeof(pa->norm)) ? 1 : -1;
    }
    return pa->state == 1 && strcmp(pa->norm, norm) == 0;
}

/* An authority (canonical) the rewrite applies to: the backend's, or the
 * public one named with the wrong scheme. */
static bool ours(const struct cg_front_rw *rw, struct pubauth *pa, const char *norm)
{
    return is_inside(rw, norm) || is_public(rw, pa, norm);
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

static bool url_rewrite(const struct cg_front_rw *rw, struct pubauth *pa, const char *url,
                        size_t n, struct cg_buf *out)
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
    if (!ours(rw, pa, norm))
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

bool cg__front_url_rewrite(const struct cg_front_rw *rw, const char *url, size_t n,
                           struct cg_buf *out)
{
    struct pubauth pa = {0};
    return url_rewrite(rw, &pa, url, n, out);
}

/* ---- the parser ---- */

struct jp {
    const uint8_t *p;
    size_t n, i;
    /* Rewriting (out != NULL): the input before pos is in out already. */
    const struct cg_front_rw *rw;
    enum cg_front_json_mode mode;
    struct cg_buf *out;
    size_t pos;
    bool changed;
    enum cg_err err; /* out's failure (the parse stops) */
    bool esc;        /* the last string read had an escape */
    struct pubauth pub;
};

static void ws_run(struct jp *x)
{
    while (x->i < x->n && (x->p[x->i] == ' ' || x->p[x->i] == '\t' || x->p[x->i] == '\n' ||
                           x->p[x->i] == '\r'))
        x->i++;
}

/* Between tokens; most documents have little whitespace there. */
static inline void ws(struct jp *x)
{
    if (x->i < x->n && x->p[x->i] <= ' ')
        ws_run(x);
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

/* Non-zero when one of the 8 bytes in w is not a plain string byte: a
 * quote, a backslash, a control character or a non-ASCII byte. A borrow
 * can mark bytes above a byte found, never below: whether there is one is
 * exact, and so is the lowest mark (the first such byte on a little-endian
 * machine; elsewhere the caller looks at the 8 one by one). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static inline uint64_t special8(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w) | w) & HIGHS;
}

static bool string(struct jp *x)
{
    const uint8_t *p = x->p;
    size_t i = x->i + 1, n = x->n; /* after the opening quote */
    x->esc = false;
    for (;;) {
        /* most bytes: 8 at a time (a string is most of a document) */
        for (uint64_t w, sp; n - i >= 8; i += 8) {
            memcpy(&w, p + i, 8);
            if ((sp = special8(w)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                i += (size_t)__builtin_ctzll(sp) / 8; /* the lowest mark is exact */
#endif
                break;
            }
        }
        if (i >= n)
            return false;
        uint8_t c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { /* most bytes */
            i++;
            continue;
        }
        if (c == '"') {
            x->i = i + 1;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            x->esc = true;
            if (i + 1 >= n)
                return false;
            uint8_t e = p[i + 1];
            if (e == 'u') {
                if (i + 6 > n)
                    return false;
                for (size_t k = 2; k < 6; k++)
                    if (cg__hexval(p[i + k]) < 0)
                        return false;
                i += 6;
            } else if (e != '\0' && strchr("\"\\/bfnrt", e) != NULL) {
                i += 2;
            } else {
                return false;
            }
            continue;
        }
        size_t l = utf8_len(p, n, i);
        if (l == 0)
            return false;
        i += l;
    }
}

static bool digits(struct jp *x)
{
    size_t s = x->i;
    while (x->i < x->n && x->p[x->i] >= '0' && x->p[x->i] <= '9')
        x->i++;
    return x->i > s;
}

static bool number(struct jp *x)
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

static bool literal(struct jp *x, const char *word, size_t l)
{
    if (x->n - x->i < l || memcmp(x->p + x->i, word, l) != 0)
        return false;
    x->i += l;
    return true;
}

/* out gets the input up to end (not yet copied). */
static bool flush(struct jp *x, size_t end)
{
    enum cg_err rc = cg__buf_append(x->out, x->p + x->pos, end - x->pos);
    x->pos = end;
    if (rc != CG_OK)
        x->err = rc;
    return rc == CG_OK;
}

/* A string's text when it has no escape but "\/" (URLs, hosts,
 * protocols); false otherwise. [s, e) is the string with its quotes. */
static bool plain_text(const uint8_t *p, size_t s, size_t e, char *out, size_t outsz,
                       size_t *len)
{
    size_t k = 0;
    for (size_t i = s + 1; i + 1 < e; i++) {
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

/* Only "http://..." and "ws://..." (any case) are rewritten, so only a value
 * string starting with h or w is looked at again; most (ids, labels,
 * versions, types) stay in the span copied with the bytes around them.
 * [s, x->i) is the string with its quotes. */
static bool url_value(struct jp *x, size_t s)
{
    size_t e = x->i;
    uint8_t c = (uint8_t)(x->p[s + 1] | 0x20);
    if (e - s < 7 || (c != 'h' && c != 'w'))
        return true;
    char buf[4096];
    const char *text = buf;
    size_t tl = e - s - 2;
    if (!x->esc) { /* the text is the bytes between the quotes */
        if (tl >= sizeof(buf))
            return true;
        text = (const char *)x->p + s + 1;
    } else if (!plain_text(x->p, s, e, buf, sizeof(buf), &tl)) {
        return true;
    }
    if (!flush(x, s))
        return false;
    size_t before = x->out->len;
    enum cg_err rc = cg__buf_append(x->out, "\"", 1);
    if (rc == CG_OK && !url_rewrite(x->rw, &x->pub, text, tl, x->out)) {
        x->out->len = before; /* not ours: the original stays in the span */
        return true;
    }
    if (rc == CG_OK)
        rc = cg__buf_append(x->out, "\"", 1);
    x->err = rc;
    x->pos = e;
    x->changed = true;
    return rc == CG_OK;
}

/* A member value an object's close may patch: where it is in the input and
 * in out (a value patched is never changed on its own: it is the same bytes
 * in both), and its first byte (its type). */
struct slot {
    size_t s, e, off;
    uint8_t first; /* 0: absent */
};

struct members {
    struct slot proto, host, port, secure;
    bool ws_href;
};

static bool key_is_n(const struct jp *x, size_t s, size_t e, const char *lit, size_t l)
{
    return e - s == l + 2 && memcmp(x->p + s + 1, lit, l) == 0;
}
#define key_is(x, s, e, literal) key_is_n((x), (s), (e), "" literal, sizeof(literal) - 1)

static struct slot *slot_for(const struct jp *x, struct members *m, size_t ks, size_t ke)
{
    if (key_is(x, ks, ke, "protocol"))
        return &m->proto;
    if (key_is(x, ks, ke, "host"))
        return &m->host;
    if (key_is(x, ks, ke, "port"))
        return &m->port;
    if (key_is(x, ks, ke, "secure"))
        return &m->secure;
    if (key_is(x, ks, ke, "ws_href"))
        m->ws_href = true;
    return NULL;
}

static bool slot_is_n(const struct jp *x, const struct slot *sl, const char *lit, size_t l)
{
    return sl->first == '"' && key_is_n(x, sl->s, sl->e, lit, l);
}
#define slot_is(x, sl, literal) slot_is_n((x), (sl), "" literal, sizeof(literal) - 1)

/* An IS-04 api.endpoints[] entry (or anything shaped like one): protocol
 * http/ws, host and port naming the backend. */
static bool is_endpoint(struct jp *x, const struct members *m)
{
    const struct slot *pr = &m->proto, *ho = &m->host, *po = &m->port;
    if (ho->first != '"' || po->first == 0 || strchr("{[\"tfn", po->first) != NULL ||
        (!slot_is(x, pr, "http") && !slot_is(x, pr, "ws")))
        return false;
    char h[256], auth[300], norm[300];
    size_t hl, pl = po->e - po->s;
    if (!plain_text(x->p, ho->s, ho->e, h, sizeof(h), &hl))
        return false;
    bool v6 = memchr(h, ':', hl) != NULL;
    size_t k = hl + (v6 ? 2 : 0) + 1 + pl;
    if (k >= sizeof(auth))
        return false;
    char *a = auth;
    if (v6)
        *a++ = '[';
    memcpy(a, h, hl);
    a += hl;
    if (v6)
        *a++ = ']';
    *a++ = ':';
    memcpy(a, x->p + po->s, pl);
    return cg__front_authority_norm(auth, k, false, norm, sizeof(norm)) &&
           ours(x->rw, &x->pub, norm);
}

struct patch {
    size_t off, len;
    const char *text;
    size_t tl;
};

/* out[off, off + len) becomes text. */
static enum cg_err splice(struct cg_buf *b, const struct patch *pt)
{
    if (pt->tl > pt->len)
        CG_GUARD(cg__buf_reserve(b, pt->tl - pt->len));
    memmove(b->data + pt->off + pt->tl, b->data + pt->off + pt->len, b->len - pt->off - pt->len);
    memcpy(b->data + pt->off, pt->text, pt->tl);
    b->len = b->len - pt->len + pt->tl;
    return CG_OK;
}

/* The object's members are all read (x->i is past its '}'): what depends on
 * more than one member is decided and patched. */
static bool object_done(struct jp *x, const struct members *m, bool top)
{
    struct patch pt[4];
    size_t np = 0;
    char port[8];
    if (is_endpoint(x, m)) {
        bool ws = slot_is(x, &m->proto, "ws");
        pt[np++] = (struct patch){m->proto.off, m->proto.e - m->proto.s,
                                  ws ? "\"wss\"" : "\"https\"", ws ? 5 : 7};
        /* the text between the host's quotes */
        pt[np++] = (struct patch){m->host.off + 1, m->host.e - m->host.s - 2, x->rw->pub_host,
                                  strlen(x->rw->pub_host)};
        pt[np++] = (struct patch){m->port.off, m->port.e - m->port.s, port,
                                  cg__front_put_u(port, x->rw->pub_port)};
    }
    /* IS-04 Query API subscriptions: the client asks for (and sees) a
     * secure socket; the plain backend makes a ws one that we secure. */
    const struct slot *se = &m->secure;
    if (x->mode == CG_FRONT_JSON_SUB_REQUEST && top && se->first == 't')
        pt[np++] = (struct patch){se->off, se->e - se->s, "false", 5};
    else if (x->mode == CG_FRONT_JSON_RESPONSE && m->ws_href && se->first == 'f')
        pt[np++] = (struct patch){se->off, se->e - se->s, "true", 4};
    if (np == 0)
        return true;
    x->changed = true;
    if (!flush(x, x->i))
        return false;
    /* from the last in out to the first: each leaves the others in place */
    for (size_t a = 0; a < np; a++)
        for (size_t b = a + 1; b < np; b++)
            if (pt[b].off > pt[a].off) {
                struct patch t = pt[a];
                pt[a] = pt[b];
                pt[b] = t;
            }
    for (size_t a = 0; a < np && x->err == CG_OK; a++)
        x->err = splice(x->out, &pt[a]);
    return x->err == CG_OK;
}

static bool value(struct jp *x, int depth);

static bool object(struct jp *x, int depth)
{
    struct members m;
    bool track = x->out != NULL;
    if (track) { /* a slot is absent while its first byte is 0 */
        m.proto.first = m.host.first = m.port.first = m.secure.first = 0;
        m.ws_href = false;
    }
    x->i++; /* '{' */
    ws(x);
    if (x->i < x->n && x->p[x->i] == '}') {
        x->i++;
        return true;
    }
    for (;;) {
        ws(x);
        if (x->i >= x->n || x->p[x->i] != '"')
            return false;
        size_t ks = x->i;
        if (!string(x))
            return false;
        struct slot *sl = track ? slot_for(x, &m, ks, x->i) : NULL;
        ws(x);
        if (x->i >= x->n || x->p[x->i] != ':')
            return false;
        x->i++;
        ws(x);
        size_t vs = x->i;
        size_t off = track ? x->out->len + (vs - x->pos) : 0;
        if (!value(x, depth + 1))
            return false;
        if (sl != NULL && vs < x->n)
            *sl = (struct slot){vs, x->i, off, x->p[vs]};
        ws(x);
        if (x->i >= x->n)
            return false;
        uint8_t c = x->p[x->i++];
        if (c == '}')
            return !track || object_done(x, &m, depth == 0);
        if (c != ',')
            return false;
    }
}

static bool array(struct jp *x, int depth)
{
    x->i++; /* '[' */
    ws(x);
    if (x->i < x->n && x->p[x->i] == ']') {
        x->i++;
        return true;
    }
    for (;;) {
        if (!value(x, depth + 1))
            return false;
        ws(x);
        if (x->i >= x->n)
            return false;
        uint8_t c = x->p[x->i++];
        if (c == ']')
            return true;
        if (c != ',')
            return false;
    }
}

static bool value(struct jp *x, int depth)
{
    ws(x);
    if (x->i >= x->n || depth > MAX_DEPTH)
        return false;
    size_t s = x->i;
    switch (x->p[s]) {
    case '{':
        return object(x, depth);
    case '[':
        return array(x, depth);
    case '"':
        if (!string(x))
            return false;
        return x->out == NULL || x->mode != CG_FRONT_JSON_RESPONSE || url_value(x, s);
    case 't':
        return literal(x, "true", 4);
    case 'f':
        return literal(x, "false", 5);
    case 'n':
        return literal(x, "null", 4);
    default:
        return number(x);
    }
}

/* CG_OK, CG_EHTTP (not JSON) or out's error. */
static enum cg_err parse(struct jp *x)
{
    if (!value(x, 0))
        return x->err != CG_OK ? x->err : CG_EHTTP;
    ws(x);
    return x->i == x->n ? CG_OK : CG_EHTTP;
}

enum cg_err cg__front_json_check(const uint8_t *p, size_t n)
{
    struct jp x = {.p = p, .n = n};
    return parse(&x);
}

enum cg_err cg__front_json_rewrite(const struct cg_front_rw *rw, enum cg_front_json_mode mode,
                                   const uint8_t *p, size_t n, struct cg_buf *out,
                                   bool *changed)
{
    struct jp x = {.p = p, .n = n, .rw = rw, .mode = mode, .out = out};
    enum cg_err rc = parse(&x);
    if (rc == CG_OK && flush(&x, n) == false)
        rc = x.err;
    *changed = rc == CG_OK && x.changed;
    return rc;
}
