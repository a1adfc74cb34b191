/* Unit tests for cg__ws_mask_copy (src/ws/rx.c), the RFC 6455 5.3 masking
 * both a client's frames (frames.c) and the receiving side (rx.c) use: every
 * length up to a few words past 8 bytes, every mask phase, every alignment of
 * source and destination, and in place, against the byte-wise definition
 * (octet i of the payload XOR octet (i + off) % 4 of the key). */
#include "testutil.h"
#include "ws/ws.h"

#include <string.h>

#define MAXN 70

static void reference(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
                      uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] ^ key[(off + i) % 4];
}

static void test_every_length_phase_alignment(void **state)
{
    (void)state;
    const uint8_t key[4] = {0xA5, 0x3C, 0x0F, 0xF0};
    uint8_t src[MAXN + 8], want[MAXN], got[MAXN + 16];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= MAXN; n++)
        for (uint64_t off = 0; off < 9; off++)
            for (size_t sa = 0; sa < 8; sa++)
                for (size_t da = 0; da < 8; da++) {
                    reference(want, src + sa, n, key, off);
                    memset(got, 0x77, sizeof(got));
                    cg__ws_mask_copy(got + da, src + sa, n, key, off);
                    if (n > 0)
                        assert_memory_equal(got + da, want, n);
                    for (size_t k = 0; k < da; k++) /* nothing written before */
                        assert_int_equal(got[k], 0x77);
                    for (size_t k = da + n; k < sizeof(got); k++) /* nor after */
                        assert_int_equal(got[k], 0x77);
                }
}

/* The receiving side unmasks a frame's payload in pieces: each piece starts
 * at its own phase (off), and the pieces joined are the whole unmasked. */
static void test_in_pieces(void **state)
{
    (void)state;
    const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t src[MAXN], want[MAXN], got[MAXN];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(255 - i);
    reference(want, src, MAXN, key, 0);
    for (size_t cut = 0; cut <= MAXN; cut++) {
        cg__ws_mask_copy(got, src, cut, key, 0);
        cg__ws_mask_copy(got + cut, src + cut, MAXN - cut, key, cut);
        assert_memory_equal(got, want, MAXN);
    }
}

/* In place (dst == src): masking twice gives the bytes back. */
static void test_in_place(void **state)
{
    (void)state;
    const uint8_t key[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    uint8_t buf[MAXN], orig[MAXN], want[MAXN];
    for (size_t i = 0; i < sizeof(buf); i++)
        orig[i] = buf[i] = (uint8_t)(i ^ 0x5A);
    reference(want, orig, MAXN, key, 3);
    cg__ws_mask_copy(buf, buf, MAXN, key, 3);
    assert_memory_equal(buf, want, MAXN);
    cg__ws_mask_copy(buf, buf, MAXN, key, 3);
    assert_memory_equal(buf, orig, MAXN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_length_phase_alignment),
        cmocka_unit_test(test_in_pieces),
        cmocka_unit_test(test_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
