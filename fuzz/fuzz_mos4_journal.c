/* libFuzzer target: a journal file as a crash (or a damaged disk) may leave
 * it. The reader must stay inside the input, take only whole records with a
 * good checksum (skipping damage in the middle, formats 2 and 3) or a
 * well-formed prefix (format 1), and what it reads must encode back to a journal that
 * reads the same, whole, with nothing skipped. */
#include "mos4/mos4.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(void *user, const struct mos4_jrec *r)
{
    if ((r->kind != 'R' && r->kind != 'A') || (r->enc != CG_MOS_UTF8 && r->enc != CG_MOS_UCS2BE))
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
    if (cg__buf_append(&c, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)) != CG_OK)
        abort();
    struct mos4_journal_info again = {.on_skip = skip};
    size_t n = cg__mos4_journal_parse(b.data, b.len, reencode, &c, &again);
    if (n != b.len || again.skips != 0 || again.old_format || c.len != b.len ||
        memcmp(b.data, c.data, b.len) != 0)
        abort();
    cg__buf_free(&b);
    cg__buf_free(&c);
    return 0;
}
