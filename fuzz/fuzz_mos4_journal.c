/* libFuzzer target: a journal file as a crash (or a disk) may leave it. The
 * reader must take only whole records, in order, and stay inside the input;
 * what it reads must encode back to the same bytes. */
#include "mos4/mos4.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(void *user, char kind, const char *msgid, const uint8_t *d, size_t n)
{
    struct cg_buf *b = user;
    if (cg__mos4_journal_encode(b, kind, msgid, d, n) != CG_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_buf b;
    cg__buf_init(&b, 0);
    size_t good = cg__mos4_journal_parse(data, size, reencode, &b);
    if (good > size)
        abort();
    /* records are canonical: the prefix read is exactly what re-encoding gives,
     * unless the header used another spelling of the same numbers (leading
     * zeros, '+'): then it is at least whole and parseable again */
    struct cg_buf c;
    cg__buf_init(&c, 0);
    size_t again = cg__mos4_journal_parse(b.data, b.len, reencode, &c);
    if (again != b.len || c.len != b.len || (b.len > 0 && memcmp(b.data, c.data, b.len) != 0))
        abort();
    cg__buf_free(&b);
    cg__buf_free(&c);
    return 0;
}
