/* A journal (journal = yes) that holds more requests without an answer for
 * one IN lane than the flow core's own held ring (CG_FLOW_HELD_MAX, 64):
 * after a restart every one is delivered again, in journal order, and a
 * compaction keeps every one. The adapter, the journal and the core together
 * (src/mos4/journal.c replay, src/mos4/flow.c, src/flow/flow.c), without a
 * network: what the lane writes is caught by wrapping cg__mos4_lane_write.
 * M-22: "unacked and queued messages should survive a restart"; "order of
 * application is critical". */
// CG_WRAP: cg__mos4_lane_write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A device "dev" with NCS peer "ncs" on ro (both lanes up), the state
 * directory dir, the journal option on; its journal replayed (not yet
 * delivered: cg__mos4_replay does that, as the lane's start would). The
 * application keeps the request it was given (one at a time, M-22). */
static void afix_init(struct fr_ep *f, const char *dir)
{
    fr_ro_init(f, CG_LOG_WARN);
    f->app.keep = FR_ONE;
    fr_state(f, dir, true);
}

/* The request at the application is R<i>; it is answered (the next one
 * then goes to the application). */
static void expect_and_answer(struct fr_ep *f, unsigned i)
{
    fr_expect_at_app(f, i);
    fr_answer(f);
}

/* What a peer can leave open in practice: one request at the application
 * and 64 held behind it (the 66th is refused with a NACK). The gateway
 * dies; after the restart all 65 are delivered again in order. It dies
 * again with R3 at the application: the journal rewritten at the first
 * restart still has R3..R65, delivered in order after the second. */
static void test_m22_65_open_requests_survive_two_restarts_in_order(void **state)
{
    (void)state;
    enum { OPEN = 1 + CG_MOS4_MAX_HELD };
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "replaymany");
    struct fr_ep f;
    afix_init(&f, dir);
    for (unsigned i = 1; i <= OPEN + 1; i++)
        fr_request_n(&f, i);
    assert_int_equal(f.app.delivered, 1);
    assert_int_equal(fr_sent_count("requests already wait"), 1); /* the 66th: NACK */
    f.app.cur = NULL; /* freed with the lane */
    fr_free(&f);

    struct fr_ep g;
    afix_init(&g, dir);
    cg__mos4_replay(g.lane);
    for (unsigned i = 1; i <= 2; i++)
        expect_and_answer(&g, i);
    assert_non_null(strstr(g.app.last, "<roID>R3</roID>"));
    assert_false(tu_log_has(&g.log, "no room"));
    g.app.cur = NULL;
    fr_free(&g);

    struct fr_ep h;
    afix_init(&h, dir);
    cg__mos4_replay(h.lane);
    for (unsigned i = 3; i <= OPEN; i++)
        expect_and_answer(&h, i);
    assert_null(h.app.cur); /* R66 was refused, never recorded */
    assert_int_equal(h.app.delivered, OPEN - 2);
    assert_int_equal(h.app.repeats, OPEN - 2); /* each may have been applied before */
    assert_int_equal(fr_sent_count("<roStatus>OK</roStatus>"), OPEN - 2);
    fr_free(&h);
    fr_rmdir(dir);
}

/* A journal (written here as castgate writes it) with 150 requests, every
 * tenth answered: the 135 others are delivered again in order. */
static void test_m22_150_open_requests_in_a_journal_all_delivered(void **state)
{
    (void)state;
    enum { N = 150 };
    char dir[64], path[256];
    fr_mkdtemp(dir, sizeof(dir), "replaymany");
    snprintf(path, sizeof(path), "%s/msgid-ncs-%s.journal", dir, cg__mos4_ch_name(1));
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_append(&b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)),
                     CG_OK);
    for (unsigned i = 1; i <= N; i++) {
        char xml[300], id[16];
        snprintf(id, sizeof(id), "%u", i);
        int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>"
                         "%u</messageID><roCreate><roID>R%u</roID></roCreate></mos>", i, i);
        struct mos4_jrec r = {.kind = 'R', .msgid = id, .data = (const uint8_t *)xml,
                              .len = (size_t)n, .has_digest = true};
        cg__mos4_digest(xml, (size_t)n, r.digest);
        assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
        if (i % 10 != 0)
            continue;
        n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs</ncsID><messageID>%u"
                     "</messageID><roAck><roID/><roStatus>OK</roStatus></roAck></mos>", i);
        r.kind = 'A';
        r.len = (size_t)n;
        assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
    }
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    assert_int_equal(fclose(fp), 0);
    cg__buf_free(&b);

    struct fr_ep f;
    afix_init(&f, dir);
    cg__mos4_replay(f.lane);
    for (unsigned i = 1; i <= N; i++)
        if (i % 10 != 0)
            expect_and_answer(&f, i);
    assert_null(f.app.cur);
    assert_int_equal(f.app.delivered, N - N / 10);
    assert_false(tu_log_has(&f.log, "no room"));
    fr_free(&f);
    fr_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m22_65_open_requests_survive_two_restarts_in_order),
        cmocka_unit_test(test_m22_150_open_requests_in_a_journal_all_delivered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
