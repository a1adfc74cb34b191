/* The findings of one `check tls` run. */
#include "check/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cg_check_report {
    struct cg_check_finding *f;
    size_t n, cap;
    unsigned long ms;
};

struct cg_check_report *cg__check_report_new(void) { return calloc(1, sizeof(struct cg_check_report)); }

void cg__check_report_set_ms(struct cg_check_report *r, unsigned long ms) { r->ms = ms; }

/* Evidence quotes the peer: control and non-ASCII bytes become \xHH. A
 * backslash stays as it is, since the parsers already escaped what they
 * quote (cg__log_escape) and escaping twice would garble it. */
static void printable(char *dst, size_t dstsz, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)src; *c && o + 5 < dstsz; c++) {
        if (*c >= 0x20 && *c < 0x7f) {
            dst[o++] = (char)*c;
        } else {
            dst[o++] = '\\', dst[o++] = 'x', dst[o++] = hex[*c >> 4], dst[o++] = hex[*c & 15];
        }
    }
    dst[o] = '\0';
}

enum cg_err cg__check_add(struct cg_check_report *r, const char *id, enum cg_check_verdict v,
                          const char *what, const char *fmt, ...)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        struct cg_check_finding *f = realloc(r->f, cap * sizeof(*f));
        CG_CHECK(f, CG_ENOMEM);
        r->f = f;
        r->cap = cap;
    }
    char raw[1024], ev[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    printable(ev, sizeof(ev), raw);
    struct cg_check_finding *x = &r->f[r->n];
    x->id = cg__strdup(id);
    x->what = cg__strdup(what);
    x->evidence = cg__strdup(ev);
    x->verdict = v;
    if (!x->id || !x->what || !x->evidence) {
        free((char *)x->id), free((char *)x->what), free((char *)x->evidence);
        return CG_ENOMEM;
    }
    r->n++;
    return CG_OK;
}

CG_API size_t cg_check_report_count(const struct cg_check_report *r) { return r ? r->n : 0; }

CG_API const struct cg_check_finding *cg_check_report_get(const struct cg_check_report *r, size_t i)
{
    return r && i < r->n ? &r->f[i] : NULL;
}

CG_API unsigned long cg_check_report_ms(const struct cg_check_report *r) { return r ? r->ms : 0; }

CG_API const char *cg_check_verdict_name(enum cg_check_verdict v)
{
    switch (v) {
    case CG_CHECK_PASS: return "pass";
    case CG_CHECK_WARN: return "warn";
    case CG_CHECK_FAIL: return "fail";
    }
    return "?";
}

CG_API void cg_check_report_free(struct cg_check_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free((char *)r->f[i].id), free((char *)r->f[i].what), free((char *)r->f[i].evidence);
    free(r->f);
    free(r);
}
