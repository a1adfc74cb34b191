/* An answer whose journal record cannot be written (src/mos4/flow.c
 * journal_answer; docs/flow.md "An answer not recorded"). The record of an
 * answer comes before the peer hears it (JOURNAL_ANSWER before SEND_ANSWER)
 * so that a repeat after a restart is answered from the journal, not
 * delivered again (M-22). When the record fails (a full disk), the answer
 * is not written to the peer: sent, it would be taken as done while a
 * restart (or a pair's standby, whose answer gate counts records) delivers
 * the request again. It stays in the memory of messageIDs: the sender
 * repeats the request (M-22, same messageID), the repeat tries the record
 * again and is answered from memory once it is written, never delivered to
 * the application twice. */
// CG_WRAP: cg__mos4_lane_write write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct mos4_lane *g_lane; /* whose journal's writes fail */
static int jfail_errno;                /* non-zero: the journal's write(2) fails with it */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (g_lane != NULL && fd >= 0 && fd == g_lane->jfd && jfail_errno != 0) {
        errno = jfail_errno;
        return -1;
    }
    return __real_write(fd, buf, n);
}

/* The request with messageID 7 at the application (FR_ONE), its record
 * written (journal option: recorded when accepted); then the disk fails and
 * the application answers it. */
static void answered_on_a_full_disk(struct fr_ep *f, const char *dir, bool journal)
{
    jfail_errno = 0; /* (a failed test before may have left them set) */
    g_lane = NULL;
    fr_mom_init(f);
    f->app.keep = FR_ONE;
    fr_state(f, dir, journal);
    assert_true(f->lane->jfd >= 0);
    g_lane = f->lane;
    fr_request_n(f, 7);
    fr_expect_at_app(f, 7);
    fr_sent_clear();
    jfail_errno = ENOSPC;
    fr_answer(f);
}

/* The disk has room again: the sender's next repeat of 7 (M-22) is answered
 * from memory once its record is written, and not delivered again. */
static void repeat_answered_once_written(struct fr_ep *f)
{
    jfail_errno = 0;
    fr_request_n(f, 7);
    assert_int_equal(f->app.delivered, 1); /* never delivered twice */
    assert_int_equal(fr_sent_count_both("<messageID>7</messageID>", "applied"), 1);
}

static void test_answer_not_recorded_is_not_sent_and_a_repeat_gets_it_once_written(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "unrec");
    struct fr_ep f;
    answered_on_a_full_disk(&f, dir, true);
    /* not written to the peer: it is not on disk */
    assert_int_equal(fr_sent_count("applied"), 0);
    assert_int_equal(fr_sent_count("<messageID>7</messageID>"), 0);
    assert_true(tu_log_has(&f.log, "not sent"));

    /* the sender repeats it (M-22) while the disk is still full: still not sent, not delivered */
    fr_request_n(&f, 7);
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(fr_sent_count("<messageID>7</messageID>"), 0);

    repeat_answered_once_written(&f);
    g_lane = NULL;
    fr_free(&f);

    /* a restart: the answer is in the journal now, a repeat is answered from it */
    fr_sent_clear();
    fr_mom_init(&f);
    f.app.keep = FR_ONE;
    fr_state(&f, dir, true);
    fr_request_n(&f, 7);
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_sent_count_both("<messageID>7</messageID>", "applied"), 1);
    fr_free(&f);
    fr_rmdir(dir);
}

/* Without the journal option a request with a messageID is recorded at its
 * delivery and its answer before the peer hears it: the same rule. */
static void test_without_journal_option_the_same(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "unrec2");
    struct fr_ep f;
    answered_on_a_full_disk(&f, dir, false);
    assert_int_equal(fr_sent_count("<messageID>7</messageID>"), 0);
    repeat_answered_once_written(&f);
    g_lane = NULL;
    fr_free(&f);
    fr_rmdir(dir);
}

/* The record written: the answer goes at once (the rule changes nothing then). */
static void test_recorded_answer_is_sent(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "unrec3");
    struct fr_ep f;
    jfail_errno = 0;
    g_lane = NULL;
    fr_mom_init(&f);
    f.app.keep = FR_ONE;
    fr_state(&f, dir, true);
    fr_request_n(&f, 7);
    fr_sent_clear();
    fr_answer(&f);
    assert_int_equal(fr_sent_count_both("<messageID>7</messageID>", "applied"), 1);
    fr_free(&f);
    fr_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_not_recorded_is_not_sent_and_a_repeat_gets_it_once_written),
        cmocka_unit_test(test_without_journal_option_the_same),
        cmocka_unit_test(test_recorded_answer_is_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
