/* libFuzzer target: a journal file as a crash (or a damaged disk) may leave
 * it. The reader must stay inside the input, take only whole records with a
 * good checksum (skipping damage in the middle, formats 2, 3 and 4) or a
 * well-formed prefix (format 1), and what it reads must encode back (as
 * format 4, N record included) to a journal that reads the same, whole, with
 * nothing skipped. The same input is also offered as one replicated record
 * (issue 18, cg__mos4_journal_record: what a standby appends): if taken, it
 * is one format-4 record of kind R, A or M spanning the whole input, and
 * its re-encoding is taken back the same. */
#include "mos4/mos4.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(void *user, const struct mos4_jrec *r)
{
    if ((r->kind != 'R' && r->kind != 'A' && r->kind != 'M') ||
        (r->kind == 'M' && (!r->v4 || r->msgid != NULL)) ||
        (r->enc != CG_MOS_UTF8 && r->enc != CG_MOS_UCS2BE) || (!r->v4 && r->number + r->regime))
        abort();
    if (cg__mos4_journal_encode(user, r) != CG_OK)
        abort();
}

static void skip(void *user, size_t off, size_t len)
{
    (void)user;
    if (len == 0 || off + len < off)
        abort();
}

/* The count an N record carried, written back as one. */
static void put_count(struct cg_buf *b, const struct mos4_journal_info *info)
{
    if (!info->numbered)
        return;
    struct mos4_jrec n = {.kind = 'N', .data = (const uint8_t *)"", .number = info->number,
                          .regime = info->regime};
    if (cg__mos4_journal_encode(b, &n) != CG_OK)
        abort();
}

static void whole_file(const uint8_t *data, size_t size)
{
    struct cg_buf b, c;
    cg__buf_init(&b, 0);
    cg__buf_init(&c, 0);
    if (cg__buf_append(&b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)) != CG_OK)
        abort();
    struct mos4_journal_info info = {.on_skip = skip};
    size_t good = cg__mos4_journal_parse(data, size, reencode, &b, &info);
    if (good > size || info.skipped > size)
        abort();
    put_count(&b, &info);
    if (cg__buf_append(&c, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)) != CG_OK)
        abort();
    struct mos4_journal_info again = {.on_skip = skip};
    size_t n = cg__mos4_journal_parse(b.data, b.len, reencode, &c, &again);
    put_count(&c, &again);
    if (n != b.len || again.skips != 0 || again.old_format || again.format2 || again.format3 ||
        again.numbered != info.numbered || again.number != info.number ||
        again.regime != info.regime || c.len != b.len || memcmp(b.data, c.data, b.len) != 0)
        abort();
    cg__buf_free(&b);
    cg__buf_free(&c);
}

static bool same(const struct mos4_jrec *a, const struct mos4_jrec *b)
{
    return a->kind == b->kind && a->number == b->number && a->regime == b->regime &&
           a->len == b->len && memcmp(a->data, b->data, a->len) == 0 &&
           (a->msgid == NULL) == (b->msgid == NULL) &&
           (a->msgid == NULL || strcmp(a->msgid, b->msgid) == 0) &&
           a->has_digest == b->has_digest &&
           (!a->has_digest || memcmp(a->digest, b->digest, CG_MOS4_DIGEST) == 0);
}

static void one_record(const uint8_t *data, size_t size)
{
    struct mos4_jrec r, q;
    char id[4 * CG_MOS_ID_MAX + 1], id2[4 * CG_MOS_ID_MAX + 1];
    if (!cg__mos4_journal_record(data, size, &r, id))
        return;
    if (!r.v4 || r.raw != data || r.raw_len != size || r.kind == 'N' ||
        (r.kind == 'M' && (r.msgid != NULL || r.len == 0 || r.len > 10)))
        abort();
    struct cg_buf b;
    cg__buf_init(&b, 0);
    if (cg__mos4_journal_encode(&b, &r) != CG_OK || !cg__mos4_journal_record(b.data, b.len, &q, id2) ||
        !same(&r, &q))
        abort();
    cg__buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    whole_file(data, size);
    one_record(data, size);
    return 0;
}
