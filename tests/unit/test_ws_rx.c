/* Unit tests for src/ws/rx.c, the receiving side of RFC 6455: messages
 * through every split of the input, the three length encodings, masks at every
 * offset, fragments with control frames between them, each protocol error and
 * its close code, the size limit before the payload, close frames (codes,
 * reason, what follows is ignored), the owner stopping the parser, and the
 * buffer an idle connection keeps. */
#include "testutil.h"
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>

struct rec {
    unsigned messages, pings, closes, fails;
    bool binary;
    uint8_t data[200000];
    size_t len;
    uint8_t ping[125];
    size_t ping_len;
    uint16_t code, fail_code;
    char reason[130];
    bool stop_after_message;
    struct cg_ws_rx *rx;
    const uint8_t *at; /* where the last message was */
};

static void on_message(void *user, bool binary, const uint8_t *data, size_t len)
{
    struct rec *r = user;
    r->messages++;
    r->binary = binary;
    assert_true(len <= sizeof(r->data));
    if (len > 0)
        memcpy(r->data, data, len);
    r->len = len;
    r->at = data;
    if (r->stop_after_message)
        r->rx->done = true;
}

static void on_ping(void *user, const uint8_t *data, size_t len)
{
    struct rec *r = user;
    r->pings++;
    memcpy(r->ping, data, len);
    r->ping_len = len;
}

static void on_close(void *user, uint16_t code, const uint8_t *reason, size_t len)
{
    struct rec *r = user;
    r->closes++;
    r->code = code;
    memcpy(r->reason, reason != NULL ? (const char *)reason : "", len);
    r->reason[len] = '\0';
}

static void on_fail(void *user, uint16_t code, const char *why)
{
    struct rec *r = user;
    assert_non_null(why);
    r->fails++;
    r->fail_code = code;
}

static const struct cg_ws_rx_handler handler = {on_message, on_ping, on_close, on_fail};

static const uint8_t key[4] = {0xa1, 0x5c, 0x07, 0xee};

/* One frame into out; returns its size. rsv: the three RSV bits. */
static size_t frame(uint8_t *out, bool fin, uint8_t op, bool masked, const void *payload,
                    size_t len, uint8_t rsv)
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        out[n + i] = masked ? p[i] ^ key[i & 3] : p[i];
    return n + len;
}

static struct rec *rec_new(struct cg_ws_rx *rx, bool server, uint64_t max)
{
    struct rec *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    cg__ws_rx_init(rx, server, max);
    r->rx = rx;
    return r;
}

static void test_every_split(void **state)
{
    (void)state;
    uint8_t payload[300], wire[400];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    size_t n = frame(wire, true, CG_WS_OP_BINARY, true, payload, sizeof(payload), 0);
    for (size_t cut = 0; cut <= n; cut++) {
        struct cg_ws_rx rx;
        struct rec *r = rec_new(&rx, true, 1 << 20);
        cg__ws_rx_feed(&rx, wire, cut, &handler, r);
        cg__ws_rx_feed(&rx, wire + cut, n - cut, &handler, r);
        assert_int_equal(r->messages, 1);
        assert_true(r->binary);
        assert_int_equal(r->len, sizeof(payload));
        assert_memory_equal(r->data, payload, sizeof(payload));
        assert_int_equal(r->fails, 0);
        cg__ws_rx_free(&rx);
        free(r);
    }
    /* a byte at a time */
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 1 << 20);
    for (size_t i = 0; i < n; i++)
        cg__ws_rx_feed(&rx, wire + i, 1, &handler, r);
    assert_int_equal(r->messages, 1);
    assert_memory_equal(r->data, payload, sizeof(payload));
    cg__ws_rx_free(&rx);
    free(r);
}

/* Lengths 0..40 cover every tail after the 8-byte steps; 125/126/65535/65536
 * the encodings; several messages in one buffer keep the mask phase apart. */
static void test_lengths_and_masks(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 40,
                                  125, 126, 127, 65535, 65536, 70001};
    static uint8_t payload[70001], wire[3 * 70020];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i ^ (i >> 8));
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        struct cg_ws_rx rx;
        struct rec *r = rec_new(&rx, true, 1 << 20);
        size_t n = frame(wire, true, CG_WS_OP_BINARY, true, payload + 1, lens[k] > 70000 ? 70000 : lens[k], 0);
        n += frame(wire + n, true, CG_WS_OP_TEXT, true, "abc", 3, 0);
        /* fed in pieces of 13 bytes: payload chunks start at every mask phase */
        for (size_t off = 0; off < n; off += 13)
            cg__ws_rx_feed(&rx, wire + off, n - off < 13 ? n - off : 13, &handler, r);
        assert_int_equal(r->messages, 2);
        assert_false(r->binary);
        assert_int_equal(r->len, 3);
        assert_memory_equal(r->data, "abc", 3);
        assert_int_equal(r->fails, 0);
        cg__ws_rx_free(&rx);
        free(r);
        /* the first message alone, checked byte for byte */
        rx = (struct cg_ws_rx){0};
        r = rec_new(&rx, true, 1 << 20);
        size_t len = lens[k] > 70000 ? 70000 : lens[k];
        n = frame(wire, true, CG_WS_OP_BINARY, true, payload + 1, len, 0);
        cg__ws_rx_feed(&rx, wire, n, &handler, r);
        assert_int_equal(r->messages, 1);
        assert_int_equal(r->len, len);
        if (len > 0)
            assert_memory_equal(r->data, payload + 1, len);
        cg__ws_rx_free(&rx);
        free(r);
    }
}

static void test_fragments_with_control_frames(void **state)
{
    (void)state;
    uint8_t wire[256];
    size_t n = frame(wire, false, CG_WS_OP_TEXT, true, "hel", 3, 0);
    n += frame(wire + n, true, CG_WS_OP_PING, true, "p!", 2, 0);
    n += frame(wire + n, false, CG_WS_OP_CONT, true, "", 0, 0);
    n += frame(wire + n, true, CG_WS_OP_PONG, true, "x", 1, 0);
    n += frame(wire + n, true, CG_WS_OP_CONT, true, "lo w\xc3\xa9", 6, 0);
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 1 << 20);
    cg__ws_rx_feed(&rx, wire, n, &handler, r);
    assert_int_equal(r->messages, 1);
    assert_false(r->binary);
    assert_int_equal(r->len, 9);
    assert_memory_equal(r->data, "hello w\xc3\xa9", 9);
    assert_int_equal(r->pings, 1);
    assert_int_equal(r->ping_len, 2);
    assert_memory_equal(r->ping, "p!", 2);
    assert_int_equal(r->fails, 0);
    /* an empty message, then one more after it */
    n = frame(wire, true, CG_WS_OP_BINARY, true, "", 0, 0);
    n += frame(wire + n, true, CG_WS_OP_BINARY, true, "z", 1, 0);
    cg__ws_rx_feed(&rx, wire, n, &handler, r);
    assert_int_equal(r->messages, 3);
    assert_int_equal(r->len, 1);
    cg__ws_rx_free(&rx);
    free(r);
}

/* A client (server == false) takes unmasked frames only. */
static void test_client_side(void **state)
{
    (void)state;
    uint8_t wire[64];
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, false, 1 << 20);
    size_t n = frame(wire, true, CG_WS_OP_BINARY, false, "srv", 3, 0);
    cg__ws_rx_feed(&rx, wire, n, &handler, r);
    assert_int_equal(r->messages, 1);
    assert_memory_equal(r->data, "srv", 3);
    n = frame(wire, true, CG_WS_OP_BINARY, true, "srv", 3, 0);
    cg__ws_rx_feed(&rx, wire, n, &handler, r);
    assert_int_equal(r->fails, 1);
    assert_int_equal(r->fail_code, 1002);
    assert_true(rx.done);
    cg__ws_rx_free(&rx);
    free(r);
}

static void expect_fail(const uint8_t *wire, size_t n, uint16_t code, uint64_t max)
{
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, max);
    cg__ws_rx_feed(&rx, wire, n, &handler, r);
    assert_int_equal(r->fails, 1);
    assert_int_equal(r->fail_code, code);
    assert_int_equal(r->messages, 0);
    assert_true(rx.done);
    /* nothing more is read */
    uint8_t more[16];
    size_t m = frame(more, true, CG_WS_OP_BINARY, true, "a", 1, 0);
    cg__ws_rx_feed(&rx, more, m, &handler, r);
    assert_int_equal(r->messages, 0);
    assert_int_equal(r->fails, 1);
    cg__ws_rx_free(&rx);
    free(r);
}

static void test_protocol_errors(void **state)
{
    (void)state;
    uint8_t w[200];
    size_t n;
    n = frame(w, true, CG_WS_OP_BINARY, false, "a", 1, 0);
    expect_fail(w, n, 1002, 100); /* unmasked from a client */
    for (uint8_t rsv = 1; rsv < 8; rsv++) {
        n = frame(w, true, CG_WS_OP_BINARY, true, "a", 1, rsv);
        expect_fail(w, n, 1002, 100);
    }
    static const uint8_t reserved[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < sizeof(reserved); i++) {
        n = frame(w, true, reserved[i], true, "a", 1, 0);
        expect_fail(w, n, 1002, 100);
    }
    n = frame(w, false, CG_WS_OP_PING, true, "a", 1, 0);
    expect_fail(w, n, 1002, 100); /* fragmented control frame */
    uint8_t big[126] = {0};
    n = frame(w, true, CG_WS_OP_PING, true, big, 126, 0);
    expect_fail(w, n, 1002, 1000); /* control frame over 125 bytes */
    n = frame(w, true, CG_WS_OP_CONT, true, "a", 1, 0);
    expect_fail(w, n, 1002, 100); /* continuation without a message */
    n = frame(w, false, CG_WS_OP_TEXT, true, "a", 1, 0);
    n += frame(w + n, true, CG_WS_OP_BINARY, true, "b", 1, 0);
    expect_fail(w, n, 1002, 100); /* new message inside a fragmented one */
    const uint8_t short16[] = {0x82, 0x80 | 126, 0x00, 0x05, 1, 2, 3, 4};
    expect_fail(short16, sizeof(short16), 1002, 100); /* 16-bit form for 5 bytes */
    const uint8_t short64[] = {0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    expect_fail(short64, sizeof(short64), 1002, 1u << 20); /* 64-bit form for 65535 */
    const uint8_t msb64[] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
    expect_fail(msb64, sizeof(msb64), 1002, UINT64_MAX); /* most significant bit set */
}

/* The limit is checked on the declared length, before any payload. */
static void test_size_limit(void **state)
{
    (void)state;
    uint8_t w[300];
    uint8_t payload[200] = {0};
    size_t n = frame(w, true, CG_WS_OP_BINARY, true, payload, 101, 0);
    expect_fail(w, 8, 1009, 100); /* header + mask only */
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 100);
    n = frame(w, true, CG_WS_OP_BINARY, true, payload, 100, 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->messages, 1); /* exactly the limit passes */
    n = frame(w, false, CG_WS_OP_BINARY, true, payload, 60, 0);
    n += frame(w + n, true, CG_WS_OP_CONT, true, payload, 41, 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->messages, 1);
    assert_int_equal(r->fails, 1);
    assert_int_equal(r->fail_code, 1009); /* the fragments add up past it */
    cg__ws_rx_free(&rx);
    free(r);
}

static void test_close_frames(void **state)
{
    (void)state;
    uint8_t w[200];
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 100);
    size_t n = frame(w, true, CG_WS_OP_CLOSE, true, "\x03\xe8going away", 12, 0);
    n += frame(w + n, true, CG_WS_OP_BINARY, true, "late", 4, 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->closes, 1);
    assert_int_equal(r->code, 1000);
    assert_string_equal(r->reason, "going away");
    assert_int_equal(r->messages, 0); /* nothing after a close is read */
    assert_true(rx.done);
    cg__ws_rx_free(&rx);
    free(r);

    r = rec_new(&rx, true, 100);
    n = frame(w, true, CG_WS_OP_CLOSE, true, "", 0, 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->closes, 1);
    assert_int_equal(r->code, 0);
    cg__ws_rx_free(&rx);
    free(r);

    r = rec_new(&rx, true, 100);
    n = frame(w, true, CG_WS_OP_CLOSE, true, "\x0f\xa0", 2, 0); /* 4000: private use */
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->code, 4000);
    cg__ws_rx_free(&rx);
    free(r);

    n = frame(w, true, CG_WS_OP_CLOSE, true, "\x03", 1, 0);
    expect_fail(w, n, 1002, 100);
    static const char *const bad_codes[] = {"\x03\xe7", "\x03\xed", "\x03\xee", "\x03\xec",
                                            "\x03\xf4", "\x07\xd0", "\x13\x88"};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
        n = frame(w, true, CG_WS_OP_CLOSE, true, bad_codes[i], 2, 0);
        expect_fail(w, n, 1002, 100); /* 999 1005 1006 1004 1012 2000 5000 */
    }
    n = frame(w, true, CG_WS_OP_CLOSE, true, "\x03\xe8\xc3\x28", 4, 0);
    expect_fail(w, n, 1007, 100); /* reason not UTF-8 */
}

static void test_owner_stops(void **state)
{
    (void)state;
    uint8_t w[64];
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 100);
    r->stop_after_message = true;
    size_t n = frame(w, true, CG_WS_OP_BINARY, true, "one", 3, 0);
    n += frame(w + n, true, CG_WS_OP_BINARY, true, "two", 3, 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->messages, 1);
    assert_memory_equal(r->data, "one", 3);
    cg__ws_rx_free(&rx);
    free(r);
}

/* Small message buffers are kept for the next message, big ones freed. */
static void test_buffer_kept_or_freed(void **state)
{
    (void)state;
    static uint8_t payload[40000], w[40100];
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 1 << 20);
    size_t n = frame(w, true, CG_WS_OP_BINARY, true, payload, 2048, 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_true(rx.msg.cap >= 2048 && rx.msg.cap <= 16384);
    n = frame(w, true, CG_WS_OP_BINARY, true, payload, sizeof(payload), 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->messages, 2);
    assert_int_equal(r->len, sizeof(payload));
    assert_int_equal(rx.msg.cap, 0);
    assert_null(rx.msg.data);
    cg__ws_rx_free(&rx);
    free(r);
}

/* A large message's buffer goes back to the process's kept blocks
 * (core/spare.c) when the message is done, and the next large message is
 * read into a kept block: its pages are not faulted in and cleared again for
 * each message (issue 13: bench/relay_why.sh counted 1,025 page faults per
 * 4 MB message on the gateway that receives it over wss). The connection
 * itself still keeps no big buffer. */
static void test_large_buffer_kept_for_the_next(void **state)
{
    (void)state;
    static uint8_t payload[150000], w[150100];
    size_t cap = 0;
    void *p;
    while ((p = cg__spare_take(64 << 10, &cap)) != NULL) /* none kept yet */
        free(p);
    struct cg_ws_rx rx;
    struct rec *r = rec_new(&rx, true, 1 << 20);
    size_t n = frame(w, true, CG_WS_OP_BINARY, true, payload, sizeof(payload), 0);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->messages, 1);
    assert_null(rx.msg.data); /* the idle connection keeps none */
    p = cg__spare_take(sizeof(payload), &cap);
    assert_non_null(p); /* kept for the next large message */
    assert_ptr_equal(p, r->at);
    cg__spare_give(p, cap);
    cg__ws_rx_feed(&rx, w, n, &handler, r);
    assert_int_equal(r->messages, 2);
    assert_ptr_equal(r->at, p); /* the next one read into it */
    assert_memory_equal(r->data, payload, sizeof(payload));
    cg__ws_rx_free(&rx);
    free(r);
    while ((p = cg__spare_take(64 << 10, &cap)) != NULL)
        free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_lengths_and_masks),
        cmocka_unit_test(test_fragments_with_control_frames),
        cmocka_unit_test(test_client_side),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_close_frames),
        cmocka_unit_test(test_owner_stops),
        cmocka_unit_test(test_buffer_kept_or_freed),
        cmocka_unit_test(test_large_buffer_kept_for_the_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
