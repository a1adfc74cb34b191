#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg__buf_init(struct cg_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max != 0 ? max : SIZE_MAX;
}

void cg__buf_free(struct cg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void cg__buf_reset(struct cg_buf *b) { b->len = 0; }

enum cg_err cg__buf_reserve(struct cg_buf *b, size_t extra)
{
    CG_CHECK(extra <= b->max && b->len <= b->max - extra, CG_ETOOBIG);
    size_t need = b->len + extra;
    if (need <= b->cap)
        return CG_OK;
    CG_CHECK(need <= PTRDIFF_MAX, CG_ENOMEM); /* no allocator grants more */
    size_t cap = b->cap != 0 ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap);
    CG_CHECK(p != NULL, CG_ENOMEM);
    b->data = p;
    b->cap = cap;
    return CG_OK;
}

void cg__buf_fit(struct cg_buf *b)
{
    size_t want = b->len != 0 ? b->len : 1;
    if (b->data == NULL || b->cap <= want)
        return;
    /* A new block and a copy, not realloc: shrunk in place, the block would
     * keep its spot and leave its tail as a free fragment beside it, and a
     * buffer kept long (an answer in the M-22 memory) would pin both in the
     * arena. The soak's gateway B with realloc: heap in use 149 -> 116 MB,
     * free in the arenas 14-35 -> 41-63 MB (issue 19). */
    uint8_t *p = malloc(want);
    if (p == NULL)
        return; /* the larger block stays: still correct */
    memcpy(p, b->data, b->len);
    free(b->data);
    b->data = p;
    b->cap = want;
}

enum cg_err cg__buf_append(struct cg_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return CG_OK;
    CG_GUARD(cg__buf_reserve(b, n));
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return CG_OK;
}

/* One vsnprintf when the text fits the room already there (the usual case on
 * a reused buffer: heads are built from many short lines), a second one after
 * growing otherwise. What a first try that did not fit wrote lies past len. */
enum cg_err cg__buf_printf(struct cg_buf *b, const char *fmt, ...)
{
    va_list ap;
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(room > 0 ? (char *)b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    CG_CHECK(n >= 0, CG_EINTERNAL);
    if ((size_t)n < room) {
        b->len += (size_t)n;
        return CG_OK;
    }
    CG_GUARD(cg__buf_reserve(b, (size_t)n + 1));
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CG_OK;
}

void cg__buf_consume(struct cg_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
