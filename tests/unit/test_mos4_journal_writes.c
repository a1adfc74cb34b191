/* Issue 13 (relay costs): the write(2) calls an IN lane's journal makes per
 * message (journal.c append, through flow.c), counted on the journal's
 * descriptor. With a state directory but not the journal option (a gateway
 * with `journal = no`): a request with a messageID costs two (its ID and
 * digest at delivery, its answer before the peer hears it: read back after
 * a restart, M-22), one without a messageID none (nothing could find its
 * records again: both are looked up by messageID). With the journal option
 * an ID-less request is still recorded (it is delivered again after a
 * restart). What a restart does with each is checked too. */
// CG_WRAP: cg__mos4_lane_write write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the journal's writes ---- */

static const struct mos4_lane *g_lane; /* whose journal's writes are counted */
static unsigned jwrites;
static int jfail_errno; /* non-zero: the journal's write(2) fails with it */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (g_lane != NULL && fd >= 0 && fd == g_lane->jfd) {
        jwrites++;
        if (jfail_errno != 0) {
            errno = jfail_errno;
            return -1;
        }
    }
    return __real_write(fd, buf, n);
}

/* ---- an endpoint (device "dev") with one IN lane from NCS "ncs1" on mom,
 * its journal open in dir; the application answers each request with ACK
 * "applied N" ---- */

static void fix_init(struct fr_ep *f, const char *dir, bool journal)
{
    fr_mom_init(f);
    fr_state(f, dir, journal);
    assert_true(f->lane->jfd >= 0);
    g_lane = f->lane;
    jwrites = 0;
}

static void fix_free(struct fr_ep *f)
{
    g_lane = NULL;
    fr_free(f);
}

/* An roCreate of roID ro from the NCS, with messageID msgid (NULL: none). */
static void send_req(struct fr_ep *f, const char *msgid, const char *ro)
{
    fr_request(f, "dev", msgid, ro);
}

static off_t journal_size(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom.journal", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* journal = no: 100 ID-less requests, then 100 with a messageID. */
static void test_writes_per_message_without_journal_option(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "jwrites");
    struct fr_ep f;
    fix_init(&f, dir, false);
    off_t empty = journal_size(dir);
    for (int i = 0; i < 100; i++)
        send_req(&f, NULL, "A");
    unsigned without = jwrites;
    assert_int_equal(f.app.delivered, 100);
    assert_int_equal(fr_sent_count("<status>ACK</status>"), 100);
    off_t after_idless = journal_size(dir);
    jwrites = 0;
    for (int i = 1; i <= 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i);
        send_req(&f, id, "B");
    }
    unsigned with = jwrites;
    print_message("journal = no: write(2) on the journal for 100 requests without a messageID: "
                  "%u (%lld bytes); with one: %u\n", without, (long long)(after_idless - empty),
                  with);
    assert_int_equal(f.app.delivered, 200);
    assert_int_equal(without, 0);
    assert_int_equal(after_idless, empty);
    assert_int_equal(with, 200); /* R (ID and digest) and A per request: read after a restart */
    fix_free(&f);
    fr_rmdir(dir);
}

/* What a restart makes of it: unchanged. A repeat of an answered messageID
 * gets the stored answer; an ID-less request cannot be told from a new one
 * (nor could it before: its records were never looked up). */
static void test_restart_without_journal_option(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "jwrites");
    struct fr_ep f;
    fix_init(&f, dir, false);
    send_req(&f, NULL, "A");
    send_req(&f, "5", "B");
    assert_int_equal(f.app.delivered, 2);
    fix_free(&f);
    struct fr_ep g;
    fix_init(&g, dir, false); /* restart */
    send_req(&g, "5", "B");   /* M-22: answered from the journal */
    assert_int_equal(g.app.delivered, 0);
    assert_int_equal(fr_sent_count("applied 2"), 1);
    send_req(&g, NULL, "A"); /* no messageID: a new request */
    assert_int_equal(g.app.delivered, 1);
    assert_int_equal(g.app.repeats, 0);
    fix_free(&g);
    fr_rmdir(dir);
}

/* The journal option still records an ID-less request and its answer. */
static void test_writes_with_journal_option(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "jwrites");
    struct fr_ep f;
    fix_init(&f, dir, true);
    send_req(&f, NULL, "A");
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(jwrites, 2);
    fix_free(&f);
    fr_rmdir(dir);
}

/* A full disk (issue 12 item 8) still refuses a request with a messageID
 * (its record is what a restart needs); one without a messageID, which
 * nothing records any more, goes through. */
static void test_disk_full_without_journal_option(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "jwrites");
    struct fr_ep f;
    fix_init(&f, dir, false);
    jfail_errno = ENOSPC;
    send_req(&f, "9", "A");
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_sent_count("cannot record the request"), 1);
    send_req(&f, NULL, "A");
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(fr_sent_count("<status>ACK</status>"), 1);
    jfail_errno = 0;
    fix_free(&f);
    fr_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_per_message_without_journal_option),
        cmocka_unit_test(test_restart_without_journal_option),
        cmocka_unit_test(test_writes_with_journal_option),
        cmocka_unit_test(test_disk_full_without_journal_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
