/* The byte cursor (cur.h): every read checks what is left first and moves
 * nothing when it fails. */
#include "core/core.h"

#include <string.h>

enum cg_err cg__cur_u8(struct cg_cur *c, uint8_t *v)
{
    CG_CHECK(cg__cur_left(c) >= 1, CG_EAGAIN);
    *v = c->p[c->off++];
    return CG_OK;
}

enum cg_err cg__cur_u16be(struct cg_cur *c, uint16_t *v)
{
    CG_CHECK(cg__cur_left(c) >= 2, CG_EAGAIN);
    *v = (uint16_t)((c->p[c->off] << 8) | c->p[c->off + 1]);
    c->off += 2;
    return CG_OK;
}

enum cg_err cg__cur_u64be(struct cg_cur *c, uint64_t *v)
{
    CG_CHECK(cg__cur_left(c) >= 8, CG_EAGAIN);
    uint64_t x = 0;
    for (unsigned i = 0; i < 8; i++)
        x = (x << 8) | c->p[c->off + i];
    *v = x;
    c->off += 8;
    return CG_OK;
}

enum cg_err cg__cur_bytes(struct cg_cur *c, size_t n, const uint8_t **p)
{
    CG_CHECK(cg__cur_left(c) >= n, CG_EAGAIN);
    *p = c->p + c->off;
    c->off += n;
    return CG_OK;
}

enum cg_err cg__cur_peek(const struct cg_cur *c, uint8_t *v)
{
    CG_CHECK(cg__cur_left(c) >= 1, CG_EAGAIN);
    *v = c->p[c->off];
    return CG_OK;
}

bool cg__cur_skip(struct cg_cur *c, const void *tok, size_t n)
{
    if (cg__cur_left(c) < n || memcmp(c->p + c->off, tok, n) != 0)
        return false;
    c->off += n;
    return true;
}

static uint8_t lower(uint8_t b) { return b >= 'A' && b <= 'Z' ? (uint8_t)(b + ('a' - 'A')) : b; }

bool cg__cur_skip_ci(struct cg_cur *c, const char *tok, size_t n)
{
    if (cg__cur_left(c) < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(c->p[c->off + i]) != lower((uint8_t)tok[i]))
            return false;
    c->off += n;
    return true;
}

static bool in_set(const char *set, uint8_t b) { return b != 0 && strchr(set, b) != NULL; }

size_t cg__cur_skip_any(struct cg_cur *c, const char *set)
{
    size_t from = c->off;
    while (c->off < c->len && in_set(set, c->p[c->off]))
        c->off++;
    return c->off - from;
}

size_t cg__cur_trim_any(struct cg_cur *c, const char *set)
{
    size_t from = c->len;
    while (c->len > c->off && in_set(set, c->p[c->len - 1]))
        c->len--;
    return from - c->len;
}

enum cg_err cg__cur_find(const struct cg_cur *c, uint8_t ch, size_t *n)
{
    const uint8_t *at = cg__cur_left(c) > 0 ? memchr(c->p + c->off, ch, cg__cur_left(c)) : NULL;
    CG_CHECK(at != NULL, CG_EAGAIN);
    *n = (size_t)(at - (c->p + c->off));
    return CG_OK;
}
