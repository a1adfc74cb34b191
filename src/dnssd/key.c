/* TSIG keys from BIND-style key files (what tsig-keygen writes):
 *
 *   key "name" {
 *       algorithm hmac-sha256;
 *       secret "base64";
 *   };
 *
 * A tiny tokenizer (words, quoted strings, braces, semicolons, comments
 * '#', '//', C-style) and a fixed grammar; only the first key is read. */
#include "dnssd/dnssd.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum tok_kind { TOK_END, TOK_WORD, TOK_STRING, TOK_PUNCT, TOK_BAD };

struct lex {
    const char *p, *end;
    enum tok_kind kind;
    const char *tok;
    size_t len;
};

static void skip_space(struct lex *l)
{
    while (l->p < l->end) {
        if (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r') {
            l->p++;
        } else if (*l->p == '#' || (*l->p == '/' && l->p + 1 < l->end && l->p[1] == '/')) {
            while (l->p < l->end && *l->p != '\n')
                l->p++;
        } else if (*l->p == '/' && l->p + 1 < l->end && l->p[1] == '*') {
            const char *e = NULL;
            for (const char *q = l->p + 2; q + 1 < l->end && e == NULL; q++)
                if (q[0] == '*' && q[1] == '/')
                    e = q + 2;
            l->p = e != NULL ? e : l->end;
        } else {
            return;
        }
    }
}

static void next(struct lex *l)
{
    skip_space(l);
    l->tok = l->p;
    l->len = 0;
    if (l->p >= l->end) {
        l->kind = TOK_END;
    } else if (*l->p == '{' || *l->p == '}' || *l->p == ';') {
        l->kind = TOK_PUNCT;
        l->len = 1;
        l->p++;
    } else if (*l->p == '"') {
        const char *q = memchr(l->p + 1, '"', (size_t)(l->end - l->p - 1));
        l->kind = q != NULL ? TOK_STRING : TOK_BAD;
        l->tok = l->p + 1;
        l->len = q != NULL ? (size_t)(q - l->tok) : 0;
        l->p = q != NULL ? q + 1 : l->end;
    } else {
        while (l->p < l->end && strchr(" \t\r\n{};\"", *l->p) == NULL)
            l->p++;
        l->kind = TOK_WORD;
        l->len = (size_t)(l->p - l->tok);
    }
}

static bool is(const struct lex *l, enum tok_kind k, const char *text)
{
    return l->kind == k && (text == NULL || (strlen(text) == l->len &&
                                             strncasecmp(l->tok, text, l->len) == 0));
}

static bool base64_ok(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0 || len % 4 != 0)
        return false;
    while (i < len && (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
                       (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/'))
        i++;
    size_t pad = len - i;
    return pad <= 2 && (pad == 0 || strspn(s + i, "=") == pad);
}

/* name -> absolute ("name."), the form TSIG signs */
static char *abs_name(const char *s, size_t len)
{
    bool dot = len > 0 && s[len - 1] == '.';
    char *n = malloc(len + 2);
    if (n == NULL)
        return NULL;
    memcpy(n, s, len);
    n[len] = '.';
    n[len + (dot ? 0 : 1)] = '\0';
    return n;
}

static enum cg_err parse_body(struct lex *l, struct cg__tsig_key *out, const char **why)
{
    bool have_alg = false;
    for (next(l); !is(l, TOK_PUNCT, "}"); next(l)) {
        bool alg = is(l, TOK_WORD, "algorithm"), sec = is(l, TOK_WORD, "secret");
        *why = "expected 'algorithm', 'secret' or '}'";
        CG_CHECK(alg || sec, CG_EFILE);
        next(l);
        *why = alg ? "expected an algorithm name" : "expected a quoted base64 secret";
        CG_CHECK(alg ? (l->kind == TOK_WORD || l->kind == TOK_STRING) : l->kind == TOK_STRING,
                 CG_EFILE);
        if (alg) {
            *why = "unsupported TSIG algorithm (castgate uses hmac-sha256)";
            CG_CHECK(l->len == strlen("hmac-sha256") &&
                         strncasecmp(l->tok, "hmac-sha256", l->len) == 0,
                     CG_ECONFIG);
            have_alg = true;
        } else {
            *why = "the secret is not valid base64";
            CG_CHECK(base64_ok(l->tok, l->len), CG_EFILE);
            if (out->secret != NULL)
                cg__wipe_free(out->secret, strlen(out->secret));
            out->secret = cg__strndup(l->tok, l->len);
            CG_CHECK(out->secret != NULL, CG_ENOMEM);
        }
        next(l);
        *why = "expected ';'";
        CG_CHECK(is(l, TOK_PUNCT, ";"), CG_EFILE);
    }
    *why = "the key has no algorithm";
    CG_CHECK(have_alg, CG_EFILE);
    *why = "the key has no secret";
    CG_CHECK(out->secret != NULL, CG_EFILE);
    return CG_OK;
}

enum cg_err cg__dnssd_key_parse(const char *text, size_t len, struct cg__tsig_key *out,
                                const char **why)
{
    enum cg_err rc = CG_OK;
    struct lex l = {.p = text, .end = text + len};
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    memset(out, 0, sizeof(*out));
    next(&l);
    *why = "expected: key \"name\" {";
    CG_ENSURE(is(&l, TOK_WORD, "key"), CG_EFILE);
    next(&l);
    CG_ENSURE((l.kind == TOK_STRING || l.kind == TOK_WORD) && l.len > 0 && l.len < 254,
              CG_EFILE);
    out->name = abs_name(l.tok, l.len);
    CG_ENSURE(out->name != NULL, CG_ENOMEM);
    *why = "the key name is not a valid DNS name";
    CG_ENSURE(cg__dnssd_check_name(out->name) == CG_OK, CG_EFILE);
    next(&l);
    *why = "expected '{' after the key name";
    CG_ENSURE(is(&l, TOK_PUNCT, "{"), CG_EFILE);
    CG_TRY(parse_body(&l, out, why));
    next(&l);
    *why = "expected ';' after '}'";
    CG_ENSURE(is(&l, TOK_PUNCT, ";"), CG_EFILE);
    *why = NULL;
out:
    if (rc != CG_OK)
        cg__dnssd_key_clear(out);
    return rc;
}

enum cg_err cg__dnssd_key_load(struct cg_ctx *ctx, const char *path, struct cg__tsig_key *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    const char *why = NULL;
    enum cg_err rc = cg__check_private_file(path);
    if (rc == CG_EPERM) {
        cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT,
                "TSIG key file %s is readable or writable by group/others; chmod 600 it", path);
        return rc;
    }
    if (rc == CG_OK)
        rc = cg__read_file(path, 64 * 1024, &data, &len);
    if (rc != CG_OK) {
        cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "cannot read TSIG key file %s: %s", path,
                cg_strerror(rc));
        return rc;
    }
    rc = cg__dnssd_key_parse((const char *)data, len, out, &why);
    cg__wipe_free(data, len);
    if (rc != CG_OK)
        cg__log(ctx, CG_LOG_ERROR, CG_DNSSD_COMPONENT, "TSIG key file %s: %s", path,
                why != NULL ? why : cg_strerror(rc));
    return rc;
}

void cg__dnssd_key_clear(struct cg__tsig_key *k)
{
    if (k == NULL)
        return;
    free(k->name);
    if (k->secret != NULL)
        cg__wipe_free(k->secret, strlen(k->secret));
    k->name = NULL;
    k->secret = NULL;
}
