/* Fuzzes the stream framer: the events (messages with their bytes, junk and
 * oversize reports) must not depend on how the stream is split, and every
 * message must start with `<mos` and end with '>' inside the stream. Junk
 * runs are reported with the same offsets and lengths however the stream is
 * split (also at odd bytes in UCS-2BE, where the framer re-aligns).
 *
 * The stream is fed whole once; then split at every point at once (one byte
 * per feed); then in two pieces at every point (at CUTS evenly spaced points
 * for inputs longer than EVERY bytes, to keep the target fast); then in chunks of
 * pseudo-random sizes. Each split must give exactly the whole feed's events. */
#include <castgate/mos.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 256  /* events compared per run */
#define EVERY 64 /* inputs up to this long are cut in two at every point */
#define CUTS 8   /* longer ones at this many evenly spaced points (speed) */

struct ev {
    enum cg_err rc;
    uint64_t offset;
    size_t len;
    uint32_t sum;
};

/* How a run feeds the stream: whole, one byte at a time, in two pieces at
 * `cut`, or in chunks of 1..13 bytes drawn from `seed`. */
enum how { WHOLE, BYTES, CUT, RANDOM };
struct split {
    enum how how;
    size_t cut;
    unsigned seed;
};

static uint32_t sum(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The size of the next feed, from offset i of size bytes. */
static size_t chunk(struct split *sp, size_t i, size_t size)
{
    size_t n = size - i;
    switch (sp->how) {
    case WHOLE:
        break;
    case BYTES:
        n = 1;
        break;
    case CUT:
        n = i < sp->cut ? sp->cut - i : size - i;
        break;
    case RANDOM:
        n = 1 + sp->seed % 13;
        sp->seed = sp->seed * 1103515245u + 12345u;
        break;
    }
    return n < size - i ? n : size - i;
}

/* Takes every event the framer has after a feed; n counts them. */
static void drain(struct cg_mos_framer *f, enum cg_mos_encoding enc, size_t max,
                  const uint8_t *data, size_t size, struct ev *evs, size_t *n)
{
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
        if (*n < CAP)
            evs[*n] = (struct ev){rc, fr.offset, rc == CG_OK || rc == CG_EJUNK ? fr.len : 0,
                                  rc == CG_OK ? sum(fr.data, fr.len) : 0};
        (*n)++;
    }
}

/* Feeds data as sp says and records up to CAP events; returns their count. */
static size_t run(enum cg_mos_encoding enc, size_t max, const uint8_t *data, size_t size,
                  struct split sp, struct ev *evs)
{
    struct cg_mos_framer *f = NULL;
    if (cg_mos_framer_new(enc, max, &f) != CG_OK)
        abort();
    size_t n = 0;
    for (size_t i = 0, k; i < size; i += k) {
        k = chunk(&sp, i, size);
        if (cg_mos_framer_feed(f, data + i, k) != CG_OK)
            abort();
        drain(f, enc, max, data, size, evs, &n);
    }
    struct cg_mos_frame fr;
    enum cg_err rc = cg_mos_framer_finish(f, &fr);
    if (n < CAP)
        evs[n] = (struct ev){rc, rc == CG_OK ? 0 : fr.offset, rc == CG_EJUNK ? fr.len : 0, 0};
    n++;
    cg_mos_framer_free(f);
    return n;
}

/* The split run must match the whole one (na events in a). */
static void same(const struct ev *a, size_t na, const struct ev *b, size_t nb)
{
    if (na != nb)
        abort();
    size_t m = na < CAP ? na : CAP;
    for (size_t i = 0; i < m; i++)
        if (a[i].rc != b[i].rc || a[i].offset != b[i].offset || a[i].len != b[i].len ||
            a[i].sum != b[i].sum)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum cg_mos_encoding enc = (data[0] & 1) ? CG_MOS_UTF8 : CG_MOS_UCS2BE;
    size_t max = 16 + (size_t)data[1] * 8;
    unsigned seed = (data[0] >> 1) | 1;
    data += 2, size -= 2;
    static struct ev a[CAP], b[CAP];
    size_t na = run(enc, max, data, size, (struct split){WHOLE, 0, 0}, a);
    same(a, na, b, run(enc, max, data, size, (struct split){BYTES, 0, 0}, b));
    size_t stride = size <= EVERY ? 1 : size / CUTS; /* 1: every point */
    for (size_t cut = 1; cut < size; cut += stride)
        same(a, na, b, run(enc, max, data, size, (struct split){CUT, cut, 0}, b));
    same(a, na, b, run(enc, max, data, size, (struct split){RANDOM, 0, seed}, b));
    return 0;
}
