/* libFuzzer target: WebSocket frames from the backend through the front's
 * rewriter (src/front/wsrw.c). Fed whole or split at any byte, the output is
 * the same; with nothing to rewrite, it is the input. */
#include "front/front.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(const uint8_t *d, size_t n, size_t split, struct cg_buf *out)
{
    static char *inside[] = {"127.0.0.1:8080"};
    static const struct cg_front_rw rw = {.pub_host = "node.example.com", .pub_port = 8443,
                                          .inside = inside, .ninside = 1};
    struct cg_front_wsrw w;
    cg__front_wsrw_init(&w, &rw, 4096);
    cg__buf_init(out, 0);
    if (cg__front_wsrw_feed(&w, d, split, out) != CG_OK ||
        cg__front_wsrw_feed(&w, d + split, n - split, out) != CG_OK)
        abort();
    cg__front_wsrw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1, split = n ? data[0] % (n + 1) : 0;
    struct cg_buf a, b;
    feed(d, n, n, &a);
    feed(d, n, split, &b);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        abort();
    bool has_url = false;
    for (size_t i = 0; i + 4 <= n; i++) /* (a rewrite may also happen without "://") */
        if (memcmp(d + i, "http", 4) == 0 || memcmp(d + i, "ws", 2) == 0 ||
            memcmp(d + i, "secu", 4) == 0) /* URLs, endpoints' protocol, secure */
            has_url = true;
    if (!has_url && a.len > n)
        abort(); /* nothing to rewrite: never more than the input */
    cg__buf_free(&a);
    cg__buf_free(&b);
    return 0;
}
