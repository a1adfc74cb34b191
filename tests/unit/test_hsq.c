/* The front door's line (src/net/hsq.c, issue 12 item 4), sans-I/O: how many
 * handshake steps run on the front-door threads at once, who waits and in
 * which order (fair between addresses), and how many unfinished handshakes
 * one address may have. */
#include "testutil.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

static void addr4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    out[12] = a;
    out[13] = b;
    out[14] = c;
    out[15] = d;
}

static struct cg_hsq *line(unsigned running, unsigned per_addr)
{
    struct cg_hsq *q = NULL;
    assert_int_equal(cg__hsq_new(running, per_addr, 0x5eed, &q), CG_OK);
    return q;
}

static void test_bounds_must_be_set(void **state)
{
    (void)state;
    struct cg_hsq *q = NULL;
    assert_int_equal(cg__hsq_new(0, 4, 1, &q), CG_EINVAL);
    assert_int_equal(cg__hsq_new(4, 0, 1, &q), CG_EINVAL);
    assert_int_equal(cg__hsq_new(4, 4, 1, NULL), CG_EINVAL);
    assert_null(q);
    cg__hsq_free(NULL);
}

static void test_per_address_cap(void **state)
{
    (void)state;
    struct cg_hsq *q = line(8, 3);
    struct cg_hsq_entry e[5] = {0}, other = {0};
    uint8_t a[16], b[16];
    addr4(a, 127, 0, 0, 7);
    addr4(b, 127, 0, 0, 8);
    for (int i = 0; i < 3; i++)
        assert_true(cg__hsq_admit(q, &e[i], a));
    assert_int_equal(cg__hsq_count(q, a), 3);
    assert_false(cg__hsq_admit(q, &e[3], a)); /* the 4th from a: closed at accept */
    assert_false(e[3].admitted);
    assert_true(cg__hsq_admit(q, &other, b)); /* another address is not affected */
    assert_int_equal(cg__hsq_count(q, b), 1);
    cg__hsq_leave(q, &e[1]); /* a handshake ends: a place frees */
    assert_int_equal(cg__hsq_count(q, a), 2);
    assert_true(cg__hsq_admit(q, &e[3], a));
    assert_false(cg__hsq_admit(q, &e[3], a)); /* admitted already */
    cg__hsq_leave(q, &e[1]);                  /* twice: nothing */
    assert_int_equal(q->admitted, 4);
    cg__hsq_leave(q, &e[0]);
    cg__hsq_leave(q, &e[2]);
    cg__hsq_leave(q, &e[3]);
    cg__hsq_leave(q, &other);
    cg__hsq_leave(q, &e[4]); /* never admitted: nothing */
    assert_int_equal(q->admitted, 0);
    assert_int_equal(cg__hsq_count(q, a), 0);
    cg__hsq_free(q);
}

/* Many addresses share buckets: each is counted on its own. */
static void test_many_addresses(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct cg_hsq *q = line(8, 2);
    struct cg_hsq_entry *e = calloc(2 * N, sizeof(*e));
    assert_non_null(e);
    uint8_t a[16];
    for (int i = 0; i < N; i++) {
        addr4(a, 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
        assert_true(cg__hsq_admit(q, &e[2 * i], a));
        assert_true(cg__hsq_admit(q, &e[2 * i + 1], a));
    }
    for (int i = 0; i < N; i++) {
        addr4(a, 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
        assert_int_equal(cg__hsq_count(q, a), 2);
        struct cg_hsq_entry extra = {0};
        assert_false(cg__hsq_admit(q, &extra, a));
    }
    for (int i = 0; i < 2 * N; i += 2)
        cg__hsq_leave(q, &e[i]); /* from the middle of each bucket's chain */
    for (int i = 0; i < N; i++) {
        addr4(a, 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
        assert_int_equal(cg__hsq_count(q, a), 1);
    }
    for (int i = 1; i < 2 * N; i += 2)
        cg__hsq_leave(q, &e[i]);
    assert_int_equal(q->admitted, 0);
    for (int b = 0; b < CG_HSQ_BUCKETS; b++)
        assert_null(q->bucket[b]);
    free(e);
    cg__hsq_free(q);
}

static void test_steps_in_flight_bounded_and_in_order(void **state)
{
    (void)state;
    struct cg_hsq *q = line(2, 64);
    struct cg_hsq_entry e[5] = {0};
    uint8_t a[16];
    addr4(a, 192, 0, 2, 1);
    for (int i = 0; i < 5; i++)
        assert_true(cg__hsq_admit(q, &e[i], a));
    assert_true(cg__hsq_want(q, &e[0]));
    assert_true(cg__hsq_want(q, &e[1]));
    assert_false(cg__hsq_want(q, &e[2])); /* two run: the rest wait */
    assert_false(cg__hsq_want(q, &e[3]));
    assert_false(cg__hsq_want(q, &e[4]));
    assert_int_equal(q->running, 2);
    assert_int_equal(q->nwaiting, 3);
    assert_false(cg__hsq_want(q, &e[0])); /* running already: not twice */
    assert_false(cg__hsq_want(q, &e[3])); /* waiting already: not twice */
    assert_int_equal(q->nwaiting, 3);
    /* each step done lets the first waiting one run */
    assert_ptr_equal(cg__hsq_step_done(q, &e[1]), &e[2]);
    assert_true(e[2].running);
    assert_false(e[2].waiting);
    assert_int_equal(q->running, 2);
    assert_ptr_equal(cg__hsq_step_done(q, &e[0]), &e[3]);
    /* a newcomer does not pass those waiting */
    assert_false(cg__hsq_want(q, &e[0]));
    assert_ptr_equal(cg__hsq_step_done(q, &e[2]), &e[4]);
    assert_ptr_equal(cg__hsq_step_done(q, &e[3]), &e[0]);
    assert_null(cg__hsq_step_done(q, &e[4]));
    assert_null(cg__hsq_step_done(q, &e[0]));
    assert_null(cg__hsq_step_done(q, &e[0])); /* not running: nothing */
    assert_int_equal(q->running, 0);
    assert_int_equal(q->nwaiting, 0);
    for (int i = 0; i < 5; i++)
        cg__hsq_leave(q, &e[i]);
    cg__hsq_free(q);
}

/* Fair between addresses: a flooding address's queue does not delay
 * another address's set-up by more than one step per address. */
static void test_line_is_fair_between_addresses(void **state)
{
    (void)state;
    struct cg_hsq *q = line(1, 64);
    struct cg_hsq_entry e0 = {0}, a[4] = {0}, b[2] = {0}, c[2] = {0};
    uint8_t A[16], B[16], C[16];
    addr4(A, 198, 51, 100, 1);
    addr4(B, 198, 51, 100, 2);
    addr4(C, 198, 51, 100, 3);
    assert_true(cg__hsq_admit(q, &e0, A));
    for (int i = 0; i < 4; i++)
        assert_true(cg__hsq_admit(q, &a[i], A));
    for (int i = 0; i < 2; i++) {
        assert_true(cg__hsq_admit(q, &b[i], B));
        assert_true(cg__hsq_admit(q, &c[i], C));
    }
    assert_true(cg__hsq_want(q, &e0)); /* the one step that may run */
    for (int i = 0; i < 4; i++)
        assert_false(cg__hsq_want(q, &a[i])); /* A floods the line first */
    assert_false(cg__hsq_want(q, &b[0]));
    assert_false(cg__hsq_want(q, &b[1]));
    assert_false(cg__hsq_want(q, &c[0]));
    /* a1 b1 c1 | a2 b2 | a3 | a4: one per address and round */
    struct cg_hsq_entry *want_order[] = {&a[0], &b[0], &c[0], &a[1]};
    struct cg_hsq_entry *cur = &e0;
    for (size_t i = 0; i < 4; i++) {
        struct cg_hsq_entry *next = cg__hsq_step_done(q, cur);
        assert_ptr_equal(next, want_order[i]);
        cur = next;
    }
    /* C comes back in round 1: after B's second, before A's third */
    assert_false(cg__hsq_want(q, &c[1]));
    struct cg_hsq_entry *rest[] = {&b[1], &c[1], &a[2], &a[3]};
    for (size_t i = 0; i < 4; i++) {
        struct cg_hsq_entry *next = cg__hsq_step_done(q, cur);
        assert_ptr_equal(next, rest[i]);
        cur = next;
    }
    assert_null(cg__hsq_step_done(q, cur));
    cg__hsq_leave(q, &e0);
    for (int i = 0; i < 4; i++)
        cg__hsq_leave(q, &a[i]);
    for (int i = 0; i < 2; i++) {
        cg__hsq_leave(q, &b[i]);
        cg__hsq_leave(q, &c[i]);
    }
    assert_int_equal(q->admitted, 0);
    cg__hsq_free(q);
}

/* A connection that closes while it waits leaves the line; one that closes
 * while its step runs goes on counting until the step is done. */
static void test_leaving_while_waiting_or_running(void **state)
{
    (void)state;
    struct cg_hsq *q = line(1, 64);
    struct cg_hsq_entry e[3] = {0};
    uint8_t a[16];
    addr4(a, 192, 0, 2, 2);
    for (int i = 0; i < 3; i++)
        assert_true(cg__hsq_admit(q, &e[i], a));
    assert_true(cg__hsq_want(q, &e[0]));
    assert_false(cg__hsq_want(q, &e[1]));
    assert_false(cg__hsq_want(q, &e[2]));
    cg__hsq_leave(q, &e[1]); /* closed while waiting */
    assert_false(e[1].waiting);
    assert_int_equal(q->nwaiting, 1);
    cg__hsq_leave(q, &e[0]); /* closed while its step runs */
    assert_int_equal(q->running, 1);
    assert_false(cg__hsq_want(q, &e[1])); /* still one running: e[1] waits again */
    cg__hsq_leave(q, &e[1]);
    assert_ptr_equal(cg__hsq_step_done(q, &e[0]), &e[2]); /* e[1] was skipped: it left */
    assert_null(cg__hsq_step_done(q, &e[2]));
    cg__hsq_leave(q, &e[2]);
    assert_int_equal(q->admitted, 0);
    cg__hsq_free(q);
}

/* The owner lets go while steps run: the line lives until the last is done
 * (ASan: no leak, no use after free), and starts nothing more. */
static void test_orphaned_line_freed_by_its_last_step(void **state)
{
    (void)state;
    struct cg_hsq *q = line(2, 64);
    struct cg_hsq_entry e[3] = {0};
    uint8_t a[16];
    addr4(a, 192, 0, 2, 3);
    for (int i = 0; i < 3; i++)
        assert_true(cg__hsq_admit(q, &e[i], a));
    assert_true(cg__hsq_want(q, &e[0]));
    assert_true(cg__hsq_want(q, &e[1]));
    for (int i = 0; i < 3; i++)
        cg__hsq_leave(q, &e[i]); /* the server closed them all */
    cg__hsq_free(q);             /* ... and let go of the line */
    assert_true(q->orphaned);
    assert_false(cg__hsq_want(q, &e[2]));
    assert_null(cg__hsq_step_done(q, &e[0]));
    assert_null(cg__hsq_step_done(q, &e[1])); /* the last: q is freed here */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_must_be_set),
        cmocka_unit_test(test_per_address_cap),
        cmocka_unit_test(test_many_addresses),
        cmocka_unit_test(test_steps_in_flight_bounded_and_in_order),
        cmocka_unit_test(test_line_is_fair_between_addresses),
        cmocka_unit_test(test_leaving_while_waiting_or_running),
        cmocka_unit_test(test_orphaned_line_freed_by_its_last_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
