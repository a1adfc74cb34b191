/* An IN request whose handle for the application cannot be allocated
 * (src/mos4/flow.c deliver): the sender gets a NACK and the lane moves on
 * to the next request; it is never left waiting for an answer that cannot
 * come (M-22: one request at the application, every request answered).
 * Allocations fail on purpose through the linker's --wrap, matched by size
 * (the request handle, the answer's struct mos4_msg, the request's copy
 * kept for the journal's compaction). No network: what the lane writes is
 * caught by wrapping cg__mos4_lane_write. */
// CG_WRAP: cg__mos4_lane_write calloc malloc realloc
// CG_LINK: flowrig.c allocrig.c
#include "flowrig.h"
#include "allocrig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allocations fail on purpose through allocrig.c (ac_fail_calloc, ac_fail_malloc). */

static void fail_none(void)
{
    ac_fail_reset();
}

/* ---- a device "dev" with NCS peer "ncs" on ro, one request at a time
 * at the application (M-22) ---- */

/* Both lanes up; the state directory dir (journal option on). */
static void afix_init(struct fr_ep *f, const char *dir)
{
    fr_ro_init(f, CG_LOG_WARN);
    f->ep.cfg.validate = false; /* no allocations of the checker between ours */
    f->app.keep = FR_ONE;
    fr_state(f, dir, true);
}

/* The process dies (the request at the application goes with the lane). */
static void afix_free(struct fr_ep *f)
{
    fail_none();
    f->app.cur = NULL;
    fr_free(f);
}

#define NOMEM_NACK "castgate: out of memory, the request was not delivered"

/* R2 waits behind R1; its handle cannot be made when its turn comes: the
 * sender gets a NACK under messageID 2 (journaled and remembered: a repeat
 * of 2 gets it again, M-22), the error is logged, and the lane goes on: R3
 * reaches the application. After a restart only R3 is delivered again. */
static void test_m22_handle_nomem_nacked_lane_moves_on(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "delivernomem");
    struct fr_ep f;
    afix_init(&f, dir);
    fr_request_n(&f, 1);
    fr_request_n(&f, 2);
    fr_expect_at_app(&f, 1);
    ac_fail_calloc[0] = (struct ac_fail){.size = sizeof(struct cg_mos_request), .times = 1};
    fr_answer(&f); /* R2's turn: its handle fails */
    assert_int_equal(ac_fail_calloc[0].failed, 1);
    assert_null(f.app.cur);
    assert_int_equal(fr_sent_count_both("<messageID>2</messageID>", NOMEM_NACK), 1);
    assert_true(tu_log_has(&f.log, "messageID 2 not delivered"));
    fr_request_n(&f, 3); /* the lane moved on */
    fr_expect_at_app(&f, 3);
    fr_request_n(&f, 2); /* the sender's repeat: the same answer (M-22), not delivered */
    assert_int_equal(fr_sent_count_both("<messageID>2</messageID>", NOMEM_NACK), 2);
    assert_int_equal(f.app.delivered, 2);
    afix_free(&f); /* dies with R3 at the application */

    struct fr_ep g;
    afix_init(&g, dir);
    cg__mos4_replay(g.lane);
    fr_expect_at_app(&g, 3);
    fr_answer(&g);
    assert_null(g.app.cur); /* R2 was answered (the NACK), never delivered again */
    assert_int_equal(g.app.delivered, 1);
    afix_free(&g);
    fr_rmdir(dir);
}

/* No memory even for the NACK answer (its struct mos4_msg fails too): the
 * core refuses R2 with a NACK of its own and forgets it; R3 reaches the
 * application, and the sender's repeat of R2 is delivered after it. */
static void test_m22_handle_and_answer_nomem_still_nacked(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "delivernomem");
    struct fr_ep f;
    afix_init(&f, dir);
    fr_request_n(&f, 1);
    fr_request_n(&f, 2);
    fr_request_n(&f, 3);
    fr_expect_at_app(&f, 1);
    ac_fail_calloc[0] = (struct ac_fail){.size = sizeof(struct cg_mos_request), .times = 1};
    /* the first is R1's answer (cg_mos_reply_ack), the second the NACK for R2 */
    ac_fail_calloc[1] = (struct ac_fail){.size = sizeof(struct mos4_msg), .skip = 1, .times = 1};
    fr_answer(&f);
    assert_int_equal(ac_fail_calloc[0].failed, 1);
    assert_int_equal(ac_fail_calloc[1].failed, 1);
    assert_int_equal(fr_sent_count_both("<messageID>2</messageID>", "out of memory"), 1);
    assert_true(tu_log_has(&f.log, "messageID 2 not delivered"));
    fr_expect_at_app(&f, 3); /* the lane moved on */
    fr_request_n(&f, 2); /* the repeat: new, held behind R3 */
    fr_answer(&f);
    fr_expect_at_app(&f, 2);
    fr_answer(&f);
    assert_int_equal(f.app.delivered, 3);
    afix_free(&f);
    fr_rmdir(dir);
}

/* The copy of R1 kept for the journal's compaction cannot be made: R1 is
 * not handed over without it (a compaction would drop it from the journal
 * while it is open); the sender gets a NACK and R2 goes on. */
static void test_m22_journal_copy_nomem_nacked_lane_moves_on(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "delivernomem");
    struct fr_ep f;
    afix_init(&f, dir);
    char xml[600];
    size_t len = fr_request_xml(xml, sizeof(xml), "ncs", "dev", "1", "R1");
    ac_fail_malloc = (struct ac_fail){.size = len, .times = 1};
    assert_int_equal(fr_request_n(&f, 1), len);
    assert_int_equal(ac_fail_malloc.failed, 1);
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_sent_count_both("<messageID>1</messageID>", NOMEM_NACK), 1);
    fr_request_n(&f, 2);
    fr_expect_at_app(&f, 2);
    afix_free(&f);
    fr_rmdir(dir);
}

int main(void)
{
    fr_sent_alloc = __real_malloc; /* the rig's copies are never among the failures armed */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m22_handle_nomem_nacked_lane_moves_on),
        cmocka_unit_test(test_m22_handle_and_answer_nomem_still_nacked),
        cmocka_unit_test(test_m22_journal_copy_nomem_nacked_lane_moves_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
