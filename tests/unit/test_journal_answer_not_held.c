/* A journal's answer record without bytes (issue 19: how the compaction
 * writes an answer the M-22 memory let go of under answer_memory) means
 * "answered, its answer no longer held": after a restart a repeat of it is
 * refused with a NACK, never delivered again and never answered with an
 * empty message. */
// CG_WRAP: cg__mos4_lane_write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A journal with an answer record without bytes (how the compaction writes
 * an answer let go of): replay takes it as "answered, answer not held". */
static void test_answer_record_without_bytes(void **state)
{
    (void)state;
    char dir[64], path[128];
    fr_mkdtemp(dir, sizeof(dir), "abudget");
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom.journal", dir);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_append(&b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)),
                     CG_OK);
    struct mos4_jrec r = {.kind = 'A', .msgid = "7", .data = (const uint8_t *)"", .len = 0};
    assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    cg__buf_free(&b);
    struct fr_ep f;
    fr_mom_init(&f);
    f.app.keep = FR_ONE;
    fr_state(&f, dir, false); /* a restart: the journal replayed */
    fr_request_n(&f, 7);
    assert_int_equal(f.app.delivered, 0);
    assert_int_equal(fr_sent_count("no longer held"), 1);
    for (size_t i = 0; i < fr_nsent; i++)
        assert_true(fr_sent[i][0] != '\0'); /* never an empty "answer" */
    fr_free(&f);
    fr_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_record_without_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
