/* Fuzzes the WebSocket receiving side (src/ws/rx.c): no out-of-bounds access
 * whatever arrives, and the same events (messages with their bytes, pings,
 * closes, failures with their codes) whether the stream comes in one piece or
 * in pieces of any size. data[0]: bit 0 = client side (frames unmasked),
 * bits 1-7 = piece size; the rest is the stream. */
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
    uint64_t hash;
    unsigned events;
};

static void mix(struct trace *t, unsigned kind, const uint8_t *p, size_t n, uint64_t v)
{
    uint64_t h = t->hash ^ (kind * 0x9e3779b97f4a7c15u) ^ v;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    t->hash = h * 0xff51afd7ed558ccdu;
    t->events++;
}

static void on_message(void *u, bool binary, const uint8_t *d, size_t n)
{
    if (n > 4096)
        abort(); /* past the limit given below */
    mix(u, binary ? 1 : 2, d, n, n);
}
static void on_ping(void *u, const uint8_t *d, size_t n)
{
    if (n > 125)
        abort();
    mix(u, 3, d, n, n);
}
static void on_close(void *u, uint16_t code, const uint8_t *r, size_t n)
{
    if (n > 123 || (code == 0 && n != 0))
        abort();
    mix(u, 4, r, n, code);
}
static void on_fail(void *u, uint16_t code, const char *why)
{
    if (why == NULL || (code != 1002 && code != 1007 && code != 1009 && code != 1011))
        abort();
    mix(u, 5, NULL, 0, code);
}

static const struct cg_ws_rx_handler h = {on_message, on_ping, on_close, on_fail};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool server = (data[0] & 1) == 0;
    size_t piece = (size_t)(data[0] >> 1) + 1;
    data++;
    size--;
    struct cg_ws_rx whole, parts;
    struct trace tw = {0}, tp = {0};
    cg__ws_rx_init(&whole, server, 4096);
    cg__ws_rx_init(&parts, server, 4096);
    cg__ws_rx_feed(&whole, data, size, &h, &tw);
    for (size_t off = 0; off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        uint8_t *copy = malloc(n); /* exact size: ASan sees any overrun */
        if (copy == NULL)
            abort();
        memcpy(copy, data + off, n);
        cg__ws_rx_feed(&parts, copy, n, &h, &tp);
        free(copy);
    }
    if (tw.hash != tp.hash || tw.events != tp.events || whole.done != parts.done)
        abort();
    cg__ws_rx_free(&whole);
    cg__ws_rx_free(&parts);
    return 0;
}
