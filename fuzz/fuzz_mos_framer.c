/* Fuzzes the stream framer: the events (messages with their bytes, junk and
 * oversize reports) must not depend on how the stream is split, and every
 * message must start with `<mos` and end with '>' inside the stream. Junk
 * runs are reported with the same offsets and lengths however the stream is
 * split (also at odd bytes in UCS-2BE, where the framer re-aligns). */
#include <castgate/mos.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ev {
    enum cg_err rc;
    uint64_t offset;
    size_t len;
    uint32_t sum;
};

static uint32_t sum(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Feeds data in chunks (0 = all at once) and records up to cap events. */
static size_t run(enum cg_mos_encoding enc, size_t max, const uint8_t *data, size_t size,
                  unsigned step, struct ev *evs, size_t cap)
{
    struct cg_mos_framer *f = NULL;
    if (cg_mos_framer_new(enc, max, &f) != CG_OK)
        abort();
    size_t n = 0, i = 0;
    unsigned k = step;
    while (i < size) {
        size_t chunk = step == 0 ? size : 1 + k % 13;
        k = k * 1103515245u + 12345u;
        if (chunk > size - i)
            chunk = size - i;
        if (cg_mos_framer_feed(f, data + i, chunk) != CG_OK)
            abort();
        i += chunk;
        struct cg_mos_frame fr;
        enum cg_err rc;
        while ((rc = cg_mos_framer_next(f, &fr)) != CG_EAGAIN) {
            if (rc == CG_EJUNK && fr.offset + fr.len > size)
                abort(); /* junk skipped: never more than the stream */
            if (rc == CG_OK) {
                if (fr.offset + fr.len > size || fr.len > max)
                    abort();
                if (memcmp(fr.data, data + fr.offset, fr.len) != 0)
                    abort();
                struct cg_mos_envelope env;
                (void)cg_mos_envelope_parse(enc, fr.data, fr.len, &env, NULL);
            }
            if (n < cap)
                evs[n] = (struct ev){rc, fr.offset, rc == CG_OK || rc == CG_EJUNK ? fr.len : 0,
                                     rc == CG_OK ? sum(fr.data, fr.len) : 0};
            n++;
        }
    }
    struct cg_mos_frame fr;
    enum cg_err rc = cg_mos_framer_finish(f, &fr);
    if (n < cap)
        evs[n] = (struct ev){rc, rc == CG_OK ? 0 : fr.offset, rc == CG_EJUNK ? fr.len : 0, 0};
    n++;
    cg_mos_framer_free(f);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum cg_mos_encoding enc = (data[0] & 1) ? CG_MOS_UTF8 : CG_MOS_UCS2BE;
    size_t max = 16 + (size_t)data[1] * 8;
    unsigned step = data[0] >> 1;
    data += 2, size -= 2;
    static struct ev a[256], b[256];
    size_t na = run(enc, max, data, size, 0, a, 256);
    size_t nb = run(enc, max, data, size, step | 1, b, 256);
    if (na != nb)
        abort();
    size_t m = na < 256 ? na : 256;
    for (size_t i = 0; i < m; i++)
        if (a[i].rc != b[i].rc || a[i].offset != b[i].offset || a[i].len != b[i].len ||
            a[i].sum != b[i].sum)
            abort();
    return 0;
}
