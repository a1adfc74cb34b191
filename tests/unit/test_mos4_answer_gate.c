/* The answer gate of a gateway pair's active (issue 18, docs/redundancy.md
 * "What is replicated, and when the sender gets its answer"; src/mos4/gate.c,
 * cg_mos_endpoint_set_answer_gate): an IN lane's answer waits until the
 * journal's records up to its own are released (on the standby); held
 * answers go in order; a release from inside the journal observer (the
 * degraded pair releases each record as it is made) lets the answer that
 * follows go at once; a NACK is held like an answer (an answer with no
 * record to wait for goes at once); a heartbeat's answer
 * is not (M-10: not journalled); turning the gate off lets everything go;
 * answers held when the endpoint goes are dropped (the sender repeats, M-22). */
// CG_WRAP: cg__mos4_lane_write
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <stdio.h>
#include <string.h>

static uint64_t g_last;       /* the observer: the last record number heard */
static bool g_release_inside; /* the observer releases each record it hears */
static struct cg_mos_endpoint *g_ep;

static void appended(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                     uint64_t regime, const uint8_t *rec, size_t len)
{
    (void)user, (void)peer_id, (void)ch, (void)regime, (void)rec, (void)len;
    g_last = number;
    if (g_release_inside)
        assert_int_equal(cg_mos_endpoint_release_answers(g_ep, number), CG_OK);
}

static void fix_init(struct fr_ep *f, char *dir, size_t dsz)
{
    fr_mkdtemp(dir, dsz, "gate");
    fr_ro_init(f, CG_LOG_WARN); /* the NCS "ncs" on ro, a peer of the endpoint */
    fr_state(f, dir, true);
    g_ep = &f->ep;
    g_last = 0;
    g_release_inside = false;
    static const struct cg_mos_journal_ops ops = {.appended = appended};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f->ep, &ops, NULL), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_answer_gate(&f->ep, true), CG_OK);
    fr_sent_clear();
}

static void fix_free(struct fr_ep *f, const char *dir)
{
    cg__mos4_gate_free(&f->ep); /* what cg_mos_endpoint_free does (the rig's endpoint is not
                                   one it could free) */
    assert_int_equal(cg_mos_endpoint_answers_held(&f->ep), 0);
    fr_free(f);
    fr_rmdir(dir);
}

static size_t answers_to(unsigned i)
{
    char id[64];
    snprintf(id, sizeof(id), "<messageID>%u</messageID>", i);
    return fr_sent_count(id);
}

/* Held until its own record is released, not before; then in order. */
static void test_held_until_released(void **state)
{
    (void)state;
    struct fr_ep f;
    char dir[64];
    fix_init(&f, dir, sizeof(dir));
    fr_request_n(&f, 1);
    assert_int_equal(f.app.delivered, 1);
    uint64_t answer_rec = g_last; /* the request's record, then the answer's */
    assert_true(answer_rec >= 2);
    assert_int_equal(answers_to(1), 0);
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 1);
    assert_int_equal(cg_mos_endpoint_release_answers(&f.ep, answer_rec - 1), CG_OK);
    assert_int_equal(answers_to(1), 0); /* only the request's record: still held */
    assert_int_equal(cg_mos_endpoint_release_answers(&f.ep, answer_rec), CG_OK);
    assert_int_equal(answers_to(1), 1);
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 0);
    fr_request_n(&f, 2);
    fr_request_n(&f, 3);
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 2);
    assert_int_equal(cg_mos_endpoint_release_answers(&f.ep, 1), CG_OK); /* backwards: nothing */
    assert_int_equal(answers_to(2) + answers_to(3), 0);
    assert_int_equal(cg_mos_endpoint_release_answers(&f.ep, g_last), CG_OK);
    assert_int_equal(fr_nsent, 3);
    assert_non_null(strstr(fr_sent[1], "<messageID>2</messageID>")); /* in the order made */
    assert_non_null(strstr(fr_sent[2], "<messageID>3</messageID>"));
    fix_free(&f, dir);
}

/* Released from inside the observer (a pair without a standby, not
 * strict): the answer goes at once. */
static void test_release_inside_observer(void **state)
{
    (void)state;
    struct fr_ep f;
    char dir[64];
    fix_init(&f, dir, sizeof(dir));
    g_release_inside = true;
    for (unsigned i = 1; i <= 5; i++) {
        fr_request_n(&f, i);
        assert_int_equal(answers_to(i), 1);
    }
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 0);
    fix_free(&f, dir);
}

/* A NACK is an answer (held); a heartbeat's answer is not. */
static void test_nack_held_heartbeat_not(void **state)
{
    (void)state;
    struct fr_ep f;
    char dir[64];
    fix_init(&f, dir, sizeof(dir));
    fr_request_n(&f, 6);
    fr_request(&f, "other", "7", "R7"); /* not our mosID: NACKed, behind 6's answer */
    assert_int_equal(answers_to(6) + answers_to(7), 0);
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 2);
    char hb[300];
    int n = snprintf(hb, sizeof(hb), "<mos><mosID>dev</mosID><ncsID>%s</ncsID><messageID>8"
                     "</messageID><heartbeat><time>2026-12-07T12:00:00</time></heartbeat></mos>",
                     f.peer.id);
    fr_arrive(&f, CG_MOS_IN, hb, (size_t)n);
    assert_int_equal(fr_sent_count("<heartbeat>"), 1);
    assert_int_equal(cg_mos_endpoint_release_answers(&f.ep, g_last), CG_OK);
    assert_int_equal(answers_to(6) + answers_to(7), 2);
    assert_non_null(strstr(fr_sent[1], "<messageID>6</messageID>"));
    assert_non_null(strstr(fr_sent[2], "<messageID>7</messageID>"));
    fix_free(&f, dir);
}

/* Off: what is held goes, and later answers are not held. Freed with
 * answers held: dropped, nothing leaks (ASan). */
static void test_off_and_free(void **state)
{
    (void)state;
    struct fr_ep f;
    char dir[64];
    fix_init(&f, dir, sizeof(dir));
    fr_request_n(&f, 1);
    fr_request_n(&f, 2);
    assert_int_equal(cg_mos_endpoint_set_answer_gate(&f.ep, false), CG_OK);
    assert_int_equal(answers_to(1) + answers_to(2), 2);
    fr_request_n(&f, 3);
    assert_int_equal(answers_to(3), 1);
    assert_int_equal(cg_mos_endpoint_set_answer_gate(&f.ep, true), CG_OK);
    fr_request_n(&f, 4);
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 1);
    assert_int_equal(cg_mos_endpoint_set_answer_gate(NULL, true), CG_EINVAL);
    assert_int_equal(cg_mos_endpoint_release_answers(NULL, 1), CG_EINVAL);
    fix_free(&f, dir); /* 4's answer still held */
}

/* Bounded per lane (gate.c GATE_LANE_MAX, 16): a sender that does not wait
 * for its answers (M-22), or one repeating its request, while nothing is
 * released (strict = yes, no standby). Fails before the bound: "40 answers
 * held for one lane" (every answer kept, for as long as nothing releases). */
static void test_held_bounded_per_lane(void **state)
{
    (void)state;
    struct fr_ep f;
    char dir[64];
    fix_init(&f, dir, sizeof(dir));
    for (unsigned i = 1; i <= 40; i++)
        fr_request_n(&f, i);
    assert_int_equal(f.app.delivered, 40);
    size_t held = cg_mos_endpoint_answers_held(&f.ep);
    if (held != 16)
        fail_msg("%zu answers held for one lane, 16 expected", held);
    for (unsigned k = 0; k < 5; k++)
        fr_request_n(&f, 1); /* repeats of the first: answered from memory, dropped too */
    assert_int_equal(f.app.delivered, 40);
    assert_int_equal(cg_mos_endpoint_answers_held(&f.ep), 16);
    assert_int_equal(fr_nsent, 0);
    assert_true(tu_log_has(&f.log, "dropped, not sent"));
    /* released: the 16 held go, in the order made; the others were never sent */
    assert_int_equal(cg_mos_endpoint_release_answers(&f.ep, g_last), CG_OK);
    assert_int_equal(fr_nsent, 16);
    for (unsigned i = 1; i <= 40; i++)
        assert_int_equal(answers_to(i), i <= 16 ? 1 : 0);
    assert_non_null(strstr(fr_sent[15], "<messageID>16</messageID>"));
    /* a dropped answer's sender repeats: answered from memory, at once */
    fr_request_n(&f, 40);
    assert_int_equal(answers_to(40), 1);
    assert_int_equal(f.app.delivered, 40);
    fix_free(&f, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_until_released),
        cmocka_unit_test(test_release_inside_observer),
        cmocka_unit_test(test_nack_held_heartbeat_not),
        cmocka_unit_test(test_off_and_free),
        cmocka_unit_test(test_held_bounded_per_lane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
