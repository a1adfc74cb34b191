/* Issue 13 (relay costs): which journal records the flow core asks for
 * when there is a journal but not the journal option (record mode: a
 * gateway with `journal = no`). The records exist for what a restart reads
 * back (M-22): an answer (A) is replayed to a repeat of its messageID, a
 * request's ID and digest (R) say it was delivered (a repeat then follows
 * the redeliver rule, or a reused ID the reused_id rule). Both are found by
 * messageID only (cg__flow_replay_delivered, cg__flow_replay_answer): for a
 * request without one (legacy gear sends none, M-11) nothing reads them, so
 * the core asks for neither. With the journal option an ID-less request is
 * still recorded (it is delivered again after a restart) and its answer
 * closes that record. */
#include "testutil.h"
#include "flowfix.h"

#include <stdlib.h>

static struct cg_flow_config cfg(bool journal)
{
    return (struct cg_flow_config){.ch = 1, .my_id = "dev", .peer_id = "ncs",
                                   .ack_timeout_ms = 1000, .retries = 2, .keepalive_ms = 30000,
                                   .max_queue = 8, .max_held = 4, .record = true,
                                   .journal = journal, .redeliver = true};
}

static struct cg_flow *mk_up(const struct cg_flow_config *c, struct fx_acts *x)
{
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, c, 0), CG_OK);
    cg__flow_lane_up(f, 0, CG_FLOW_OUT);
    cg__flow_lane_up(f, 0, CG_FLOW_IN);
    fx_drain(f, x);
    return f;
}

static size_t journal_acts(const struct fx_acts *x)
{
    return fx_count(x, CG_FLOW_A_JOURNAL_REQUEST) + fx_count(x, CG_FLOW_A_JOURNAL_ANSWER);
}

/* One request (msgid NULL: none) received and answered, the journal
 * succeeding whenever asked; the journal actions it took. */
static size_t exchange(struct cg_flow *f, uint64_t now, const char *msgid, unsigned c,
                       uint64_t ref)
{
    struct fx_acts x;
    struct cg_mos_envelope e;
    fx_env(&e, "roCreate", msgid, "dev", "ncs");
    struct cg_flow_msg m = {.env = &e, .ref = ref};
    fx_digest(m.digest, c);
    cg__flow_received(f, now, CG_FLOW_IN, &m);
    fx_drain(f, &x);
    size_t n = journal_acts(&x);
    if (fx_count(&x, CG_FLOW_A_JOURNAL_REQUEST) > 0) {
        cg__flow_journal_result(f, now, true, NULL);
        fx_drain(f, &x);
        n += journal_acts(&x);
    }
    uint64_t tok = fx_find(&x, CG_FLOW_A_DELIVER)->token;
    assert_int_equal(cg__flow_app_answer(f, now, tok, ref + 1000), CG_OK);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_SEND_ANSWER)->answer, ref + 1000);
    return n + journal_acts(&x);
}

/* The per-message count: record mode, 100 requests without a messageID. */
static void test_record_mode_no_msgid_no_records(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg(false);
    struct cg_flow *f = mk_up(&c, &x);
    size_t n = 0;
    for (unsigned i = 1; i <= 100; i++)
        n += exchange(f, i, NULL, i, i);
    print_message("record mode, 100 requests without a messageID: %zu journal records\n", n);
    assert_int_equal(n, 0);
    free(f);
}

/* Unchanged: with a messageID, R at delivery and A before the peer hears it. */
static void test_record_mode_msgid_two_records(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg(false);
    struct cg_flow *f = mk_up(&c, &x);
    size_t n = 0;
    for (unsigned i = 1; i <= 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%u", i);
        n += exchange(f, i, id, i, i);
    }
    print_message("record mode, 100 requests with a messageID: %zu journal records\n", n);
    assert_int_equal(n, 200);
    free(f);
}

/* Unchanged: the journal option records an ID-less request (redelivered
 * after a restart) and its answer closes it (cg__flow_replay_answer: the
 * first held one without an ID). */
static void test_journal_option_no_msgid_two_records(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg(true);
    struct cg_flow *f = mk_up(&c, &x);
    assert_int_equal(exchange(f, 1, NULL, 1, 1), 2);
    free(f);
}

/* An ID-less request held behind one at the application goes to it
 * without a record when its turn comes, released after its DELIVER. */
static void test_record_mode_held_no_msgid_delivered_without_record(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg(false);
    struct cg_flow *f = mk_up(&c, &x);
    struct cg_mos_envelope e1, e2;
    fx_env(&e1, "roCreate", "7", "dev", "ncs");
    struct cg_flow_msg m1 = {.env = &e1, .ref = 11};
    fx_digest(m1.digest, 1);
    cg__flow_received(f, 1, CG_FLOW_IN, &m1);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_JOURNAL_REQUEST)->ref, 11);
    cg__flow_journal_result(f, 1, true, NULL);
    fx_drain(f, &x);
    uint64_t tok = fx_find(&x, CG_FLOW_A_DELIVER)->token;
    fx_env(&e2, "roCreate", NULL, "dev", "ncs");
    struct cg_flow_msg m2 = {.env = &e2, .ref = 12};
    fx_digest(m2.digest, 2);
    cg__flow_received(f, 2, CG_FLOW_IN, &m2);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_KEEP)->ref, 12); /* held */
    assert_int_equal(cg__flow_app_answer(f, 3, tok, 500), CG_OK);
    fx_drain(f, &x);
    assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_ANSWER), 1); /* 7's answer */
    assert_int_equal(fx_count(&x, CG_FLOW_A_JOURNAL_REQUEST), 0);
    assert_int_equal(fx_find(&x, CG_FLOW_A_DELIVER)->ref, 12);
    size_t deliver_at = (size_t)(fx_find(&x, CG_FLOW_A_DELIVER) - x.a), release_at = x.n;
    for (size_t i = 0; i < x.n; i++)
        if (x.a[i].kind == CG_FLOW_A_RELEASE && x.a[i].ref == 12)
            release_at = i;
    assert_true(release_at > deliver_at && release_at < x.n);
    assert_int_equal(f->in_state, CG_FLOW_IN_APP);
    free(f);
}

/* Why: what a restart does with ID-less records. An R without an ID leaves
 * no memory; an A without an ID in record mode (no request held: those
 * exist only with the journal option) is released at once. */
static void test_restart_reads_nothing_from_idless_records(void **state)
{
    (void)state;
    struct fx_acts x;
    struct cg_flow_config c = cfg(false);
    struct cg_flow *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(cg__flow_init(f, &c, 0), CG_OK);
    uint8_t d[CG_FLOW_DIGEST];
    fx_digest(d, 1);
    cg__flow_replay_delivered(f, NULL, d);
    cg__flow_replay_answer(f, NULL, d, 77);
    cg__flow_replay_done(f, 0);
    fx_drain(f, &x);
    assert_int_equal(fx_find(&x, CG_FLOW_A_RELEASE)->ref, 77);
    for (size_t i = 0; i < CG_FLOW_SEEN; i++)
        assert_int_equal(f->seen[i].msgid[0], '\0');
    assert_int_equal(f->hlen, 0);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_mode_no_msgid_no_records),
        cmocka_unit_test(test_record_mode_msgid_two_records),
        cmocka_unit_test(test_journal_option_no_msgid_two_records),
        cmocka_unit_test(test_record_mode_held_no_msgid_delivered_without_record),
        cmocka_unit_test(test_restart_reads_nothing_from_idless_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
