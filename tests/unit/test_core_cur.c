/* The byte cursor (src/core/buf.c): big-endian reads within bounds, and a
 * read past the end refused (CG_EAGAIN) without moving. */
#include "testutil.h"
#include "core/core.h"

static void test_reads_in_order(void **state)
{
    (void)state;
    const uint8_t b[] = {0x81, 0x00, 0x7e, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xAA};
    struct cg_cur c;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint64_t u64 = 0;
    const uint8_t *p = NULL;
    cg__cur_init(&c, b, sizeof(b));
    assert_int_equal(cg__cur_u8(&c, &u8), CG_OK);
    assert_int_equal(u8, 0x81);
    assert_int_equal(cg__cur_u16be(&c, &u16), CG_OK);
    assert_int_equal(u16, 0x007e);
    assert_int_equal(cg__cur_u64be(&c, &u64), CG_OK);
    assert_true(u64 == 0x0102030405060708ull);
    assert_int_equal(cg__cur_left(&c), 1);
    assert_int_equal(cg__cur_bytes(&c, 1, &p), CG_OK);
    assert_int_equal(p[0], 0xAA);
    assert_int_equal(cg__cur_left(&c), 0);
}

static void test_short_reads_refused_without_moving(void **state)
{
    (void)state;
    const uint8_t b[7] = {1, 2, 3, 4, 5, 6, 7};
    struct cg_cur c;
    uint64_t u64 = 99;
    uint16_t u16 = 99;
    const uint8_t *p = NULL;
    cg__cur_init(&c, b, sizeof(b));
    assert_int_equal(cg__cur_u64be(&c, &u64), CG_EAGAIN);
    assert_true(u64 == 99);
    assert_int_equal(cg__cur_left(&c), 7);
    assert_int_equal(cg__cur_bytes(&c, 8, &p), CG_EAGAIN);
    assert_int_equal(cg__cur_bytes(&c, 6, &p), CG_OK);
    assert_int_equal(cg__cur_u16be(&c, &u16), CG_EAGAIN);
    assert_int_equal(cg__cur_left(&c), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_in_order),
        cmocka_unit_test(test_short_reads_refused_without_moving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
