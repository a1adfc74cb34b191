/* Unit tests for src/core/spare.c (issue 13): the large blocks kept for the
 * next large message. A block given back is handed out again for a need it
 * covers; what is kept stays bounded (three blocks, each 64 KiB .. 8 MiB,
 * the larger ones kept); blocks outside the bounds are freed (ASan sees a
 * leak or a double free otherwise). */
#include "testutil.h"
#include "core/core.h"

#include <stdlib.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

static void drain(void)
{
    size_t cap;
    void *p;
    while ((p = cg__spare_take(64 * KIB, &cap)) != NULL)
        free(p);
}

static void *block(size_t n)
{
    void *p = malloc(n);
    assert_non_null(p);
    ((char *)p)[n - 1] = 1; /* ASan: the whole block is ours */
    return p;
}

static void test_given_back_taken_again(void **state)
{
    (void)state;
    drain();
    size_t cap = 1;
    assert_null(cg__spare_take(1 * MIB, &cap));
    assert_int_equal(cap, 0);
    void *p = block(4 * MIB);
    cg__spare_give(p, 4 * MIB);
    assert_null(cg__spare_take(5 * MIB, &cap)); /* too small for that */
    assert_ptr_equal(cg__spare_take(3 * MIB, &cap), p);
    assert_int_equal(cap, 4 * MIB);
    assert_null(cg__spare_take(1 * MIB, &cap)); /* taken: gone from the slots */
    free(p);
}

static void test_small_needs_not_served(void **state)
{
    (void)state;
    drain();
    void *p = block(1 * MIB);
    cg__spare_give(p, 1 * MIB);
    size_t cap;
    assert_null(cg__spare_take(32 * KIB, &cap)); /* malloc serves those */
    assert_ptr_equal(cg__spare_take(300 * KIB, &cap), p);
    free(p);
}

static void test_out_of_bounds_freed(void **state)
{
    (void)state;
    drain();
    cg__spare_give(block(32 * KIB), 32 * KIB); /* below: freed */
    cg__spare_give(block(9 * MIB), 9 * MIB);     /* above: freed */
    cg__spare_give(NULL, 0);
    size_t cap;
    assert_null(cg__spare_take(256 * KIB, &cap));
    assert_null(cg__spare_take(9 * MIB, &cap));
}

static void test_three_largest_kept(void **state)
{
    (void)state;
    drain();
    void *a = block(1 * MIB), *b = block(2 * MIB), *c = block(3 * MIB), *d = block(4 * MIB);
    void *e = block(512 * KIB);
    cg__spare_give(a, 1 * MIB);
    cg__spare_give(b, 2 * MIB);
    cg__spare_give(c, 3 * MIB);
    cg__spare_give(d, 4 * MIB);   /* a (the smallest) freed */
    cg__spare_give(e, 512 * KIB); /* smaller than all: freed */
    size_t cap, total = 0;
    void *got[3];
    for (int i = 0; i < 3; i++) {
        got[i] = cg__spare_take(256 * KIB, &cap);
        assert_non_null(got[i]);
        assert_true(got[i] == b || got[i] == c || got[i] == d);
        total += cap;
    }
    assert_null(cg__spare_take(256 * KIB, &cap));
    assert_int_equal(total, 9 * MIB);
    for (int i = 0; i < 3; i++)
        free(got[i]);
}

/* The smallest kept block that covers a need is handed out: a WebSocket
 * sender's 256 KiB masking piece does not take the 4 MiB block the next large
 * message's reading needs (issue 13, ws/frames.c stream_masked). */
static void test_smallest_that_fits(void **state)
{
    (void)state;
    drain();
    size_t cap;
    void *big = block(4 * MIB), *small = block(300 * KIB);
    cg__spare_give(big, 4 * MIB);
    cg__spare_give(small, 300 * KIB);
    assert_ptr_equal(cg__spare_take(256 * KIB, &cap), small);
    assert_int_equal(cap, 300 * KIB);
    assert_ptr_equal(cg__spare_take(256 * KIB, &cap), big); /* the only one left */
    free(small);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_given_back_taken_again),
        cmocka_unit_test(test_small_needs_not_served),
        cmocka_unit_test(test_out_of_bounds_freed),
        cmocka_unit_test(test_three_largest_kept),
        cmocka_unit_test(test_smallest_that_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
