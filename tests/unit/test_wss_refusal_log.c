/* A wss/HTTPS server's refusals in the log (issue 12, the hostile
 * benchmark's password phase: one "rejected 503" line per guess, 300 a
 * second). B-24: who, what and why of each invalid request; the first
 * refusal of an address for a status and reason always has its line, the
 * same again from the same address within a minute is counted and its count
 * goes on that address's next line, and no refusal goes uncounted when a
 * slot is reused (wss/reflog.h). Sans-I/O: the time is given. */
#include "testutil.h"
#include "wss/reflog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY "too many password checks at once: try again"

static void test_first_logged_repeats_counted(void **state)
{
    (void)state;
    struct cg_reflog *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    uint64_t now = 5000000;
    struct cg_reflog_verdict v = cg__reflog_admit(r, "192.0.2.1:40000", 503, WHY, now);
    assert_true(v.log);
    assert_int_equal(v.more, 0);
    assert_int_equal(v.other, 0);
    unsigned lines = 0;
    for (int i = 1; i < 100; i++) { /* a new connection (port) each time, 100 ms apart */
        char peer[64];
        snprintf(peer, sizeof(peer), "192.0.2.1:%d", 40000 + i);
        now += 100;
        lines += cg__reflog_admit(r, peer, 503, WHY, now).log;
    }
    if (lines != 0)
        fail_msg("%u lines for 99 repeats of one refusal within 10 s; want 0 (counted)", lines);
    /* another address's first: always its line, however quiet the first one is */
    v = cg__reflog_admit(r, "192.0.2.2:40000", 503, WHY, now);
    assert_true(v.log);
    assert_int_equal(v.more, 0);
    /* the same address with another status or reason: its own line */
    assert_true(cg__reflog_admit(r, "192.0.2.1:41000", 401, "missing or wrong credentials", now).log);
    assert_true(cg__reflog_admit(r, "192.0.2.1:41001", 503, "credentials not checked: try again", now).log);
    /* a minute after its line: the next one is logged with the count between */
    now = 5000000 + CG_REFLOG_MS;
    v = cg__reflog_admit(r, "192.0.2.1:42000", 503, WHY, now);
    assert_true(v.log);
    assert_int_equal(v.more, 99);
    assert_int_equal(v.other, 0);
    v = cg__reflog_admit(r, "192.0.2.1:42001", 503, WHY, now + 1);
    assert_false(v.log);
    free(r);
}

static void test_reused_slot_count_not_lost(void **state)
{
    (void)state;
    struct cg_reflog *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    uint64_t now = 1000;
    assert_true(cg__reflog_admit(r, "198.51.100.7:1", 401, "missing or wrong credentials", now).log);
    for (int i = 0; i < 4; i++)
        assert_false(cg__reflog_admit(r, "198.51.100.7:2", 401, "missing or wrong credentials", ++now).log);
    /* a distributed guess: every address new; each first has its line */
    unsigned other = 0, lines = 0;
    for (int i = 0; i < 3 * CG_REFLOG_SLOTS; i++) {
        char peer[64];
        snprintf(peer, sizeof(peer), "[2001:db8::%x]:443", i + 1);
        struct cg_reflog_verdict v = cg__reflog_admit(r, peer, 503, WHY, ++now);
        lines += v.log;
        other += v.other;
    }
    assert_int_equal(lines, 3 * CG_REFLOG_SLOTS);
    if (other != 4)
        fail_msg("the 4 unlogged repeats of a reused slot reached the log as %u; want 4", other);
    /* its slot was reused: 198.51.100.7's next refusal is a first again */
    struct cg_reflog_verdict v =
        cg__reflog_admit(r, "198.51.100.7:3", 401, "missing or wrong credentials", ++now);
    assert_true(v.log);
    assert_int_equal(v.more, 0);
    free(r);
}

static void test_address_of_peer(void **state)
{
    (void)state;
    char a[CG_REFLOG_ADDR_MAX];
    cg__reflog_addr("192.0.2.1:443", a, sizeof(a));
    assert_string_equal(a, "192.0.2.1");
    cg__reflog_addr("[2001:db8::1]:8443", a, sizeof(a));
    assert_string_equal(a, "2001:db8::1");
    cg__reflog_addr("2001:db8::1", a, sizeof(a));
    assert_string_equal(a, "2001:db8::1");
    cg__reflog_addr("192.0.2.9", a, sizeof(a));
    assert_string_equal(a, "192.0.2.9");
    cg__reflog_addr("", a, sizeof(a));
    assert_string_equal(a, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_logged_repeats_counted),
        cmocka_unit_test(test_reused_slot_count_not_lost),
        cmocka_unit_test(test_address_of_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
