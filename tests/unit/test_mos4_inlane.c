/* The IN lane of a MOS 4.0 endpoint without a network (flow.c, journal.c):
 * requests go in through cg__mos4_on_message, what the lane sends is caught
 * by wrapping cg__mos4_lane_write, and the journal's writes can be made to
 * fail. Covers M-22 repeats (same messageID, same or different content), the
 * journal that cannot record (disk full), repeats merged with journaled
 * requests after a restart, and the envelope's IDs (M-20). */
// CG_WRAP: cg__mos4_lane_write write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- failing writes ---- */

static int write_fail_errno; /* non-zero: the journal's write(2) fails with it */
static int journal_fd = -1;  /* only this fd's writes fail */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (write_fail_errno != 0 && fd == journal_fd) {
        errno = write_fail_errno;
        return -1;
    }
    return __real_write(fd, buf, n);
}

/* ---- an endpoint (device "dev") with one IN lane from NCS "ncs1" on mom;
 * the application answers each request with ACK "applied N" unless the test
 * has it hold them ---- */

static enum cg_mos_reused fix_reused = CG_MOS_REUSED_DELIVER;

static void fix_init(struct fr_ep *f, const char *dir, bool journal)
{
    fr_mom_init(f);
    f->ep.cfg.reused_id = fix_reused;
    fr_state(f, dir, journal);
    journal_fd = f->lane->jfd;
}

static void answer_all(struct fr_ep *f)
{
    f->app.keep = FR_ANSWER;
    while (f->app.nheld > 0) {
        struct cg_mos_request *r = f->app.held[0];
        memmove(f->app.held, f->app.held + 1, --f->app.nheld * sizeof(f->app.held[0]));
        assert_int_equal(cg_mos_reply_ack(r, true, "late"), CG_OK);
    }
}

/* ---- M-22: the same messageID with the same content is a repeat; with other content not ---- */

static void test_repeat_same_content(void **state)
{
    (void)state;
    struct fr_ep f;
    fix_init(&f, NULL, false);
    fr_request(&f, "dev", "5", "A");
    fr_request(&f, "dev", "5", "A");
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(fr_nsent, 2);
    assert_string_equal(fr_sent[0], fr_sent[1]); /* the stored answer, again */
    fr_free(&f);
}

static void test_reused_id_is_delivered(void **state)
{
    (void)state;
    struct fr_ep f;
    fix_init(&f, NULL, false);
    fr_request(&f, "dev", "5", "A");
    fr_request(&f, "dev", "5", "B"); /* a main/buddy NCS pair or a reset counter */
    assert_int_equal(f.app.delivered, 2);
    assert_string_equal(f.app.last, "<roCreate><roID>B</roID></roCreate>");
    assert_int_equal(fr_nsent, 2);
    assert_int_equal(fr_sent_count("applied 2"), 1); /* never the old answer */
    assert_true(tu_log_has(&f.log, "messageID 5 reused with different content"));
    fr_request(&f, "dev", "5", "B"); /* now B is what 5 means: a repeat of it */
    assert_int_equal(f.app.delivered, 2);
    assert_int_equal(fr_sent_count("applied 2"), 2);
    fr_free(&f);
}

/* ---- after a restart: the journal holds each request's digest ---- */

static void test_reused_id_after_restart(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    struct fr_ep f;
    fix_init(&f, dir, false);
    fr_request(&f, "dev", "5", "A");
    fr_request(&f, "dev", "6", "C");
    assert_int_equal(f.app.delivered, 2);
    fr_free(&f);
    struct fr_ep g;
    fix_init(&g, dir, false); /* restart */
    fr_request(&g, "dev", "6", "C"); /* a repeat: answered from the journal */
    assert_int_equal(g.app.delivered, 0);
    assert_int_equal(fr_sent_count("applied 2"), 1);
    fr_request(&g, "dev", "5", "B"); /* reused: delivered, not answered with A's answer */
    assert_int_equal(g.app.delivered, 1);
    assert_int_equal(fr_sent_count("applied 1"), 1);
    assert_int_equal(fr_nsent, 2);
    fr_free(&g);
    fr_rmdir(dir);
}


/* The other setting: refused with a NACK that says why; before and after a restart. */
static void test_reused_id_nacked(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    for (int round = 0; round < 2; round++) {
        struct fr_ep f;
        fix_reused = CG_MOS_REUSED_NACK; /* the endpoint's setting, before the lane exists */
        fix_init(&f, dir, false);
        fix_reused = CG_MOS_REUSED_DELIVER;
        if (round == 0)
            fr_request(&f, "dev", "5", "A");
        fr_request(&f, "dev", "5", "B");
        assert_int_equal(f.app.delivered, round == 0 ? 1 : 0);
        assert_int_equal(fr_sent_count("messageID 5 reused with different content"), 1);
        assert_int_equal(fr_sent_count("<status>NACK</status>"), 1);
        fr_request(&f, "dev", "5", "A"); /* 5 still means A: its answer again */
        assert_int_equal(fr_sent_count("applied 1"), round == 0 ? 2 : 1);
        assert_int_equal(f.app.delivered, round == 0 ? 1 : 0);
        fr_free(&f); /* then a restart from the journal */
    }
    fr_rmdir(dir);
}

/* ---- issue 12 item 8: a request the journal cannot record is refused ---- */

static void disk_full_round(bool journal)
{
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    struct fr_ep f;
    fix_init(&f, dir, journal);
    write_fail_errno = ENOSPC;
    fr_request(&f, "dev", "1", "A");
    write_fail_errno = 0;
    assert_int_equal(f.app.delivered, 0); /* never acted on, never acknowledged */
    assert_int_equal(fr_nsent, 1);
    assert_non_null(strstr(fr_sent[0], "No space left on device"));
    assert_non_null(strstr(fr_sent[0], "<messageID>1</messageID>"));
    assert_null(strstr(fr_sent[0], "<status>ACK</status>"));
    assert_true(tu_log_has(&f.log, "cannot record a request (No space left on device)"));
    fr_request(&f, "dev", "1", "A"); /* the sender's retry, the disk free again */
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(fr_sent_count("<status>ACK</status>"), 1);
    fr_free(&f);
    fr_rmdir(dir);
}

static void test_disk_full_nacks(void **state)
{
    (void)state;
    disk_full_round(false);
    disk_full_round(true);
}

/* ---- issue 12 item 10: repeats of journaled requests are the same requests ---- */

static void test_repeats_merge_with_held(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    struct fr_ep f;
    fix_init(&f, dir, true);
    f.app.keep = FR_HOLD; /* the far side is away: nothing is answered */
    char id[16];
    for (int i = 1; i <= 60; i++) {
        snprintf(id, sizeof(id), "%d", i);
        fr_request(&f, "dev", id, id);
    }
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(cg__mos4_flow(f.lane)->hlen, 59);
    /* a SIGKILL: the journal has the 60; the NCS repeats them all before the far side is up */
    fr_free(&f);
    struct fr_ep g;
    fix_init(&g, dir, true);
    g.app.keep = FR_HOLD;
    cg__mos4_replay(g.lane);
    assert_int_equal(g.app.delivered, 1);
    for (int i = 1; i <= 60; i++) {
        snprintf(id, sizeof(id), "%d", i);
        fr_request(&g, "dev", id, id);
    }
    assert_int_equal(fr_sent_count("NACK"), 0);
    assert_int_equal(fr_sent_count("already wait"), 0);
    assert_int_equal(cg__mos4_flow(g.lane)->hlen, 59);
    answer_all(&g); /* the far side is up: each applied once, each answered */
    for (int k = 0; k < 100 && g.app.nheld > 0; k++)
        answer_all(&g);
    assert_int_equal(g.app.delivered, 60);
    assert_int_equal(fr_sent_count("NACK"), 0);
    assert_int_equal(fr_nsent, 60);
    fr_free(&g);
    fr_rmdir(dir);
}

/* ---- issue 12 item 12: the envelope names this lane's peer and us (M-20) ---- */

static void test_envelope_ids_checked(void **state)
{
    (void)state;
    struct fr_ep f;
    fix_init(&f, NULL, false);
    fr_request(&f, "other", "1", "A");
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_nsent, 1);
    assert_non_null(strstr(fr_sent[0], "mosID"));
    assert_null(strstr(fr_sent[0], "<status>ACK</status>"));
    assert_true(tu_log_has(&f.log, "names mosID \"other\""));
    char xml[] = "<mos><mosID>dev</mosID><ncsID>ncs2</ncsID><messageID>2</messageID>"
                 "<roReq><roID>A</roID></roReq></mos>";
    cg__mos4_on_message(f.lane, false, (const uint8_t *)xml, strlen(xml));
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_nsent, 2);
    /* field spellings of our own ID: case, and a fully qualified name (profile 6) */
    fr_request(&f, "DEV", "3", "A");
    fr_request(&f, "dev.studio.example", "4", "A");
    assert_int_equal(f.app.delivered, 2);
    fr_request(&f, "devx", "5", "A"); /* a prefix is not a name */
    fr_request(&f, "dev-studio", "6", "A");
    assert_int_equal(f.app.delivered, 2);
    /* Sofie mos-connection as an NCS swaps the two: still this lane's pair */
    char swapped[] = "<mos><ncsID>dev</ncsID><mosID>ncs1</mosID><messageID>7</messageID>"
                     "<roReq><roID>A</roID></roReq></mos>";
    cg__mos4_on_message(f.lane, false, (const uint8_t *)swapped, strlen(swapped));
    assert_int_equal(f.app.delivered, 3);
    char both[] = "<mos><ncsID>dev</ncsID><mosID>dev</mosID><messageID>8</messageID>"
                  "<roReq><roID>A</roID></roReq></mos>";
    cg__mos4_on_message(f.lane, false, (const uint8_t *)both, strlen(both));
    assert_int_equal(f.app.delivered, 3);
    assert_int_equal(fr_sent_count("<status>NACK</status>"), 5);
    fr_free(&f);
}

/* ---- issue 12 item 9: a damaged record costs that record alone, at a restart ---- */

static void test_damaged_journal_restart(void **state)
{
    (void)state;
    char dir[64], path[128], damaged[160];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom.journal", dir);
    snprintf(damaged, sizeof(damaged), "%s.damaged", path);
    struct fr_ep f;
    fix_init(&f, dir, false);
    fr_request(&f, "dev", "1", "A");
    fr_request(&f, "dev", "2", "B");
    fr_request(&f, "dev", "3", "C");
    fr_free(&f);
    size_t len = 0;
    uint8_t *data = tu_read(path, &len);
    char *a2 = strstr((char *)data, "applied 2"); /* inside the answer to 2 */
    assert_non_null(a2);
    memcpy(a2, "APPLIED", 7);
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(data, 1, len, w), len);
    fclose(w);
    free(data);
    struct fr_ep g;
    fix_init(&g, dir, false); /* restart */
    assert_true(tu_log_has(&g.log, "damaged bytes at offset"));
    assert_true(tu_log_has(&g.log, "the damaged file is kept as"));
    assert_int_equal(access(damaged, F_OK), 0);
    fr_request(&g, "dev", "1", "A"); /* kept: answered from the journal */
    fr_request(&g, "dev", "3", "C");
    assert_int_equal(g.app.delivered, 0);
    assert_int_equal(fr_sent_count("applied 1"), 1);
    assert_int_equal(fr_sent_count("applied 3"), 1);
    fr_request(&g, "dev", "2", "B"); /* its answer lost: delivered again, marked (M-22) */
    assert_int_equal(g.app.delivered, 1);
    assert_int_equal(g.app.repeats, 1);
    fr_free(&g);
    fr_rmdir(dir);
}

/* A journal from before checksums (format 1) is read and rewritten as format 2. */
static void test_format1_journal_migrated(void **state)
{
    (void)state;
    char dir[64], path[128];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom.journal", dir);
    static const char a6[] = "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>6</messageID>"
                             "<mosAck><objID/><objRev>0</objRev><status>ACK</status>"
                             "<statusDescription>old six</statusDescription></mosAck></mos>";
    char v1[512];
    int n = snprintf(v1, sizeof(v1), "A 1 1 %zu\n6%s\n", strlen(a6), a6);
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(v1, 1, (size_t)n, w), (size_t)n);
    fclose(w);
    struct fr_ep f;
    fix_init(&f, dir, false);
    assert_true(tu_log_has(&f.log, "format 1 (no checksums): read and rewritten as format 2"));
    size_t len = 0;
    uint8_t *data = tu_read(path, &len);
    assert_true(len > strlen(cg__mos4_journal_magic));
    assert_memory_equal(data, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic));
    free(data);
    fr_request(&f, "dev", "6", "X"); /* no digest in format 1: taken as the same request */
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_sent_count("old six"), 1);
    fr_free(&f);
    fr_rmdir(dir);
}

/* ---- issue 13: compaction is amortised over large requests ---- */

static void test_compaction_amortised(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    struct fr_ep f;
    fix_init(&f, dir, true);
    unsigned before = f.lane->compactions;
    enum { N = 24, BIG = 2u << 20 }; /* 2 MB roCreates, as issue 13 measured */
    char *xml = malloc(BIG + 256);
    assert_non_null(xml);
    for (int i = 1; i <= N; i++) {
        int n = snprintf(xml, 256, "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>%d"
                         "</messageID><roCreate><roID>%d</roID><roSlug>", i, i);
        memset(xml + n, 'x', BIG);
        n += (int)BIG;
        n += snprintf(xml + n, 256, "</roSlug></roCreate></mos>");
        cg__mos4_on_message(f.lane, false, (const uint8_t *)xml, (size_t)n);
    }
    free(xml);
    assert_int_equal(f.app.delivered, N);
    unsigned compactions = f.lane->compactions - before;
    print_message("%u compactions for %d requests of 2 MB; journal %llu bytes\n", compactions, N,
                  (unsigned long long)f.lane->jsize);
    /* each rewrite is paid for by several large records appended, not one */
    assert_true(compactions >= 1);
    assert_true(compactions <= N / 4);
    assert_true(f.lane->jsize <= 12ull * (BIG + 1024)); /* the file stays bounded */
    fr_free(&f);
    fr_rmdir(dir);
}

/* ---- M-22: a repeat redelivered after a restart keeps its mark until it is delivered ---- */

/* Record mode (no journal option): request 1 delivered, unanswered, then a
 * restart. Its repeat arrives while the disk is full: refused (NACK). The
 * next repeat must still be delivered marked as a possible repeat, never as
 * a fresh request (the mark was dropped before recording; same fix in
 * src/flow/, commit ccaf4f5). */
static void test_m22_redelivered_repeat_stays_marked_after_a_journal_failure(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    struct fr_ep f;
    fix_init(&f, dir, false);
    f.app.keep = FR_HOLD; /* delivered, its answer lost with the restart */
    fr_request(&f, "dev", "1", "A");
    assert_int_equal(f.app.delivered, 1);
    fr_free(&f);
    struct fr_ep g;
    fix_init(&g, dir, false); /* restart: 1 remembered as delivered before */
    journal_fd = g.lane->jfd;
    write_fail_errno = ENOSPC;
    fr_request(&g, "dev", "1", "A");
    write_fail_errno = 0;
    assert_int_equal(g.app.delivered, 0);
    assert_int_equal(fr_sent_count("No space left on device"), 1);
    fr_request(&g, "dev", "1", "A"); /* the sender's retry, the disk free again */
    assert_int_equal(g.app.delivered, 1);
    assert_int_equal(g.app.repeats, 1); /* marked: the application may have applied it */
    fr_request(&g, "dev", "1", "A"); /* now answered from memory, not delivered again */
    assert_int_equal(g.app.delivered, 1);
    assert_int_equal(fr_sent_count("applied 1"), 2);
    fr_free(&g);
    fr_rmdir(dir);
}

/* The same repeat while another request is with the application: held once
 * (its second repeat waits with it), delivered once, still marked. */
static void test_m22_redelivered_repeat_marked_when_held(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "inlane");
    struct fr_ep f;
    fix_init(&f, dir, false);
    f.app.keep = FR_HOLD;
    fr_request(&f, "dev", "1", "A");
    fr_free(&f);
    struct fr_ep g;
    fix_init(&g, dir, false); /* restart */
    g.app.keep = FR_HOLD;
    fr_request(&g, "dev", "2", "B"); /* with the application */
    fr_request(&g, "dev", "1", "A"); /* the repeat: held behind 2 */
    fr_request(&g, "dev", "1", "A"); /* and again: the same request, waiting */
    assert_int_equal(g.app.delivered, 1);
    assert_int_equal(cg__mos4_flow(g.lane)->hlen, 1);
    answer_all(&g);
    for (int k = 0; k < 10 && g.app.nheld > 0; k++)
        answer_all(&g);
    assert_int_equal(g.app.delivered, 2);
    assert_int_equal(g.app.repeats, 1);
    assert_string_equal(g.app.last, "<roCreate><roID>A</roID></roCreate>");
    assert_int_equal(fr_sent_count("NACK"), 0);
    fr_free(&g);
    fr_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeat_same_content),
        cmocka_unit_test(test_reused_id_is_delivered),
        cmocka_unit_test(test_reused_id_after_restart),
        cmocka_unit_test(test_reused_id_nacked),
        cmocka_unit_test(test_disk_full_nacks),
        cmocka_unit_test(test_repeats_merge_with_held),
        cmocka_unit_test(test_envelope_ids_checked),
        cmocka_unit_test(test_damaged_journal_restart),
        cmocka_unit_test(test_format1_journal_migrated),
        cmocka_unit_test(test_compaction_amortised),
        cmocka_unit_test(test_m22_redelivered_repeat_stays_marked_after_a_journal_failure),
        cmocka_unit_test(test_m22_redelivered_repeat_marked_when_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
