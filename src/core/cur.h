/* castgate core — the bounds-checked byte cursor every wire parser reads
 * through (STYLE: "Every wire parser is sans-I/O and goes through a cursor";
 * the model is s2n-tls's stuffer). A cursor is a view of len bytes at p with
 * a read position off; it owns nothing. A read either succeeds and moves off
 * past what it read, or fails with CG_EAGAIN ("not that many bytes left")
 * and moves nothing; a test that does not match moves nothing either. No
 * call reads outside p[0..len). Included by core.h. */
#ifndef CG_CUR_H
#define CG_CUR_H

#include <castgate/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
};

static inline void cg__cur_init(struct cg_cur *c, const void *p, size_t len)
{
    c->p = (const uint8_t *)p;
    c->len = len;
    c->off = 0;
}

static inline size_t cg__cur_left(const struct cg_cur *c) { return c->len - c->off; }

/* ---- fixed-width fields (binary protocols) ---- */
enum cg_err cg__cur_u8(struct cg_cur *c, uint8_t *v);
enum cg_err cg__cur_u16be(struct cg_cur *c, uint16_t *v);
enum cg_err cg__cur_u64be(struct cg_cur *c, uint64_t *v);
/* *p: the next n bytes, in place. */
enum cg_err cg__cur_bytes(struct cg_cur *c, size_t n, const uint8_t **p);

/* ---- text protocols ---- */
/* *v: the next byte, c not moved. */
enum cg_err cg__cur_peek(const struct cg_cur *c, uint8_t *v);
/* True, past them, when the next n bytes are tok's; else false, not moved. */
bool cg__cur_skip(struct cg_cur *c, const void *tok, size_t n);
/* The same with ASCII letters in either case (tok's own case does not matter). */
bool cg__cur_skip_ci(struct cg_cur *c, const char *tok, size_t n);
/* Moves past every next byte that is one of set's (a C string, NUL never
 * in it); returns how many. */
size_t cg__cur_skip_any(struct cg_cur *c, const char *set);
/* Drops from the end (never below off) every last byte that is one of set's:
 * the view ends earlier; returns how many. For trailing white space. */
size_t cg__cur_trim_any(struct cg_cur *c, const char *set);
/* *n: how many bytes come before the next ch (c not moved); CG_EAGAIN when
 * no ch is left. */
enum cg_err cg__cur_find(const struct cg_cur *c, uint8_t ch, size_t *n);
/* A cursor over the next bytes of c, at most max of them (c not moved): a
 * bound on how far a header or a search may run. Its off counts from c's. */
static inline struct cg_cur cg__cur_window(const struct cg_cur *c, size_t max)
{
    struct cg_cur w;
    cg__cur_init(&w, c->p + c->off, cg__cur_left(c) < max ? cg__cur_left(c) : max);
    return w;
}

#endif
