/* libFuzzer target: the backend's responses as the front reads them
 * (src/front/upstream.c over http-parser: Content-Length, chunked with
 * extensions and trailers, until close, 1xx, 101). The first byte picks a
 * split point and HEAD; fed whole or in two parts, the head, body and end are
 * the same. */
#include "front/front.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    int heads, dones;
    struct cg_buf body;
};
static void on_head(void *u) { ((struct rec *)u)->heads++; }
static void on_body(void *u, const uint8_t *p, size_t n)
{
    cg__buf_append(&((struct rec *)u)->body, p, n);
}
static void on_done(void *u) { ((struct rec *)u)->dones++; }

static size_t run(const uint8_t *d, size_t n, size_t split, bool head, struct rec *rec,
                  struct cg_front_resp *r)
{
    struct cg_front_resp_sink sink = {rec, on_head, on_body, on_done};
    cg__front_resp_init(r, &sink, 8192, head); /* sink is used only inside this call */
    size_t used = cg__front_resp_feed(r, d, split);
    if (used == split && split < n)
        used += cg__front_resp_feed(r, d + split, n - split);
    if (!r->complete && r->error == NULL && !(r->upgrade && r->head_done))
        cg__front_resp_feed(r, NULL, 0);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool head = data[0] & 0x80;
    const uint8_t *d = data + 1;
    size_t n = size - 1, split = n ? data[0] % (n + 1) : 0;
    struct rec a = {0}, b = {0};
    cg__buf_init(&a.body, 1 << 20);
    cg__buf_init(&b.body, 1 << 20);
    struct cg_front_resp ra, rb;
    run(d, n, n, head, &a, &ra);
    run(d, n, split, head, &b, &rb);
    if (ra.error == NULL && rb.error == NULL &&
        (a.heads != b.heads || a.dones != b.dones || a.body.len != b.body.len ||
         (a.body.len && memcmp(a.body.data, b.body.data, a.body.len) != 0) ||
         ra.status != rb.status))
        abort();
    if (a.dones > 1 || a.heads > 1)
        abort(); /* one response at a time */
    cg__front_resp_free(&ra);
    cg__front_resp_free(&rb);
    cg__buf_free(&a.body);
    cg__buf_free(&b.body);
    return 0;
}
