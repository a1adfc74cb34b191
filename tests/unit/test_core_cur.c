/* The byte cursor (src/core/cur.c): big-endian reads within bounds, a read
 * past the end refused (CG_EAGAIN) without moving; the text helpers (peek,
 * skip a token in either case, skip or trim a set, find a byte, a bounded
 * window) move only on a match and never look outside the view. */
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

static void test_peek_and_skip(void **state)
{
    (void)state;
    static const char t[] = "Basic  dTpw";
    struct cg_cur c;
    uint8_t b = 0;
    cg__cur_init(&c, t, 5); /* "Basic" only: the rest is outside the view */
    assert_int_equal(cg__cur_peek(&c, &b), CG_OK);
    assert_int_equal(b, 'B');
    assert_int_equal(c.off, 0);
    assert_false(cg__cur_skip(&c, "Basic ", 6)); /* its space is outside */
    assert_false(cg__cur_skip(&c, "Basix", 5));
    assert_int_equal(c.off, 0);
    assert_false(cg__cur_skip(&c, "basic", 5)); /* the exact bytes */
    assert_true(cg__cur_skip_ci(&c, "bASIC", 5));
    assert_int_equal(c.off, 5);
    assert_int_equal(cg__cur_peek(&c, &b), CG_EAGAIN);
    assert_true(cg__cur_skip(&c, "", 0));
    cg__cur_init(&c, t, sizeof(t) - 1);
    assert_false(cg__cur_skip_ci(&c, "basic!", 6));
    assert_false(cg__cur_skip_ci(&c, "basid", 5));
    assert_int_equal(c.off, 0);
    /* either case of letters only: '@' (0x40) is not '`' (0x60), 0x0d not '-' */
    cg__cur_init(&c, "@\r", 2);
    assert_false(cg__cur_skip_ci(&c, "`", 1));
    assert_true(cg__cur_skip_ci(&c, "@", 1));
    assert_false(cg__cur_skip_ci(&c, "-", 1));
    assert_int_equal(c.off, 1);
}

static void test_sets(void **state)
{
    (void)state;
    static const char t[] = " \t x y\t \0";
    struct cg_cur c;
    cg__cur_init(&c, t, sizeof(t) - 1); /* ends with a NUL: never in a set */
    assert_int_equal(cg__cur_trim_any(&c, " \t"), 0);
    c.len--;
    assert_int_equal(cg__cur_trim_any(&c, " \t"), 2);
    assert_int_equal(c.len, 6);
    assert_int_equal(cg__cur_skip_any(&c, " \t"), 3);
    assert_int_equal(c.off, 3);
    assert_int_equal(cg__cur_skip_any(&c, " "), 0);
    assert_int_equal(cg__cur_left(&c), 3); /* "x y" */
    assert_int_equal(cg__cur_skip_any(&c, "xy "), 3);
    assert_int_equal(cg__cur_trim_any(&c, "xy "), 0); /* never below off */
    assert_int_equal(c.len, 6);
    cg__cur_init(&c, "   ", 3);
    assert_int_equal(cg__cur_trim_any(&c, " "), 3);
    assert_int_equal(cg__cur_skip_any(&c, " "), 0);
    assert_int_equal(cg__cur_left(&c), 0);
}

static void test_find_and_window(void **state)
{
    (void)state;
    static const char t[] = "R 1 1 5\nxy\n";
    struct cg_cur c;
    size_t n = 99;
    cg__cur_init(&c, t, sizeof(t) - 1);
    assert_int_equal(cg__cur_find(&c, '\n', &n), CG_OK);
    assert_int_equal(n, 7);
    assert_int_equal(c.off, 0);
    struct cg_cur w = cg__cur_window(&c, 7); /* the line without its end */
    assert_int_equal(cg__cur_left(&w), 7);
    n = 99;
    assert_int_equal(cg__cur_find(&w, '\n', &n), CG_EAGAIN);
    assert_int_equal(n, 99);
    c.off = 8;
    assert_int_equal(cg__cur_find(&c, '\n', &n), CG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(cg__cur_find(&c, 'R', &n), CG_EAGAIN); /* behind off */
    w = cg__cur_window(&c, 100); /* no more than is left */
    assert_int_equal(cg__cur_left(&w), 3);
    assert_int_equal(w.off, 0);
    assert_ptr_equal(w.p, (const uint8_t *)t + 8);
    c.off = c.len;
    assert_int_equal(cg__cur_find(&c, '\n', &n), CG_EAGAIN);
    w = cg__cur_window(&c, 5);
    assert_int_equal(cg__cur_left(&w), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_in_order),
        cmocka_unit_test(test_short_reads_refused_without_moving),
        cmocka_unit_test(test_peek_and_skip),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_find_and_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
