/* tools/metrics.c: which leg of a link is active and why it changed (issue 18
 * item 4, docs/redundancy.md, docs/metrics.md): the leg series in the
 * Prometheus text and the status page's "active leg" column. The tools are
 * not in the library: the file is compiled into this test. */
#include "metricsfix.h"

static time_t fake_now = 1000000;
static time_t fake_clock(void) { return fake_now; }

/* A failover link with a buddy on its MOS 4.0 side, the relay's counters in. */
static struct metrics *failover_link(void)
{
    struct metrics *m = metrics_new();
    assert_non_null(m);
    metrics_set_clock(m, fake_clock);
    fake_now = 1000000;
    metrics_link_state(m, "fo", false, false);
    bool buddy[2] = {false, true};
    metrics_link_legs(m, "fo", buddy, true);
    struct cg_relay_stats st = {0};
    st.leg_up[CG_RELAY_PRIMARY][CG_RELAY_MOS4] = true;
    st.leg_up[CG_RELAY_BUDDY][CG_RELAY_MOS4] = false;
    st.buddy_declined = 7;
    metrics_link_stats(m, "fo", &st, NULL, NULL);
    return m;
}

static void test_failover_series(void **state)
{
    (void)state;
    struct metrics *m = failover_link();
    render(m);
    has("# TYPE castgate_link_active_leg gauge\n");
    has("castgate_link_active_leg{link=\"fo\",side=\"mos4\",leg=\"primary\"} 1\n");
    has("castgate_link_active_leg{link=\"fo\",side=\"mos4\",leg=\"buddy\"} 0\n");
    assert_null(strstr(out, "castgate_link_active_leg{link=\"fo\",side=\"legacy\""));
    has("# TYPE castgate_link_leg_switches_total counter\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"unreachable\"} 0\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"primary_back\"} 0\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"forced\"} 0\n");
    has("castgate_link_leg_up{link=\"fo\",side=\"mos4\",leg=\"primary\"} 1\n");
    has("castgate_link_leg_up{link=\"fo\",side=\"mos4\",leg=\"buddy\"} 0\n");
    /* under failover the side without a buddy has one peer: castgate_link_up says it */
    assert_null(strstr(out, "castgate_link_leg_up{link=\"fo\",side=\"legacy\""));
    has("# TYPE castgate_link_buddy_declines_total counter\n");
    has("castgate_link_buddy_declines_total{link=\"fo\"} 7\n");

    /* the primary goes, the buddy becomes active, then the primary comes back */
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_BUDDY, CG_RELAY_PRIMARY, "unreachable", 1012);
    render(m);
    has("castgate_link_active_leg{link=\"fo\",side=\"mos4\",leg=\"primary\"} 0\n");
    has("castgate_link_active_leg{link=\"fo\",side=\"mos4\",leg=\"buddy\"} 1\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"unreachable\"} 1\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"primary_back\"} 0\n");
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_PRIMARY, CG_RELAY_BUDDY, "primary-back", 3000);
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_BUDDY, CG_RELAY_PRIMARY, "forced", 0);
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_PRIMARY, CG_RELAY_BUDDY, "something new", 0);
    render(m);
    has("castgate_link_active_leg{link=\"fo\",side=\"mos4\",leg=\"primary\"} 1\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"unreachable\"} 1\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"primary_back\"} 1\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"forced\"} 1\n");
    has("castgate_link_leg_switches_total{link=\"fo\",side=\"mos4\",reason=\"other\"} 1\n");
    /* a reload that drops the link drops its series */
    metrics_link_removed(m, "fo");
    render(m);
    assert_null(strstr(out, "link=\"fo\""));
    metrics_free(m);
}

/* carry: both legs carried on both sides, the gear picks: leg_up and the
 * declines, no active leg; a link without a buddy: none of them. */
static void test_carry_and_no_buddy(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    bool buddy[2] = {true, false}, none[2] = {false, false};
    metrics_link_legs(m, "c\"1", buddy, false);
    metrics_link_legs(m, "plain", none, false);
    struct cg_relay_stats st = {0};
    st.leg_up[CG_RELAY_BUDDY][CG_RELAY_LEGACY] = true;
    st.leg_up[CG_RELAY_PRIMARY][CG_RELAY_MOS4] = true;
    metrics_link_stats(m, "c\"1", &st, NULL, NULL);
    metrics_link_stats(m, "plain", &st, NULL, NULL);
    render(m);
    has("castgate_link_leg_up{link=\"c\\\"1\",side=\"legacy\",leg=\"primary\"} 0\n");
    has("castgate_link_leg_up{link=\"c\\\"1\",side=\"legacy\",leg=\"buddy\"} 1\n");
    has("castgate_link_leg_up{link=\"c\\\"1\",side=\"mos4\",leg=\"primary\"} 1\n");
    has("castgate_link_leg_up{link=\"c\\\"1\",side=\"mos4\",leg=\"buddy\"} 0\n");
    has("castgate_link_buddy_declines_total{link=\"c\\\"1\"} 0\n");
    assert_null(strstr(out, "castgate_link_active_leg{"));
    assert_null(strstr(out, "castgate_link_leg_switches_total{"));
    assert_null(strstr(out, "{link=\"plain\",side=\"legacy\",leg="));
    assert_null(strstr(out, "castgate_link_buddy_declines_total{link=\"plain\"}"));
    render_html(m);
    has("<td data-active=\"carry\">both carried");
    has("<td>no buddy</td>");
    metrics_free(m);
}

static void test_status_page_active_leg(void **state)
{
    (void)state;
    struct metrics *m = failover_link();
    render_html(m);
    has("<th>active leg</th>");
    has("<td class=\"primary\" data-active=\"primary\">primary <small>since 1970-01-12 13:46:40 UTC "
        "(0 s); no switch yet</small></td>");
    fake_now += 90;
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_BUDDY, CG_RELAY_PRIMARY, "unreachable", 1012);
    fake_now += 5;
    render_html(m);
    has("<td class=\"buddy\" data-active=\"buddy\">buddy <small>since 1970-01-12 13:48:10 UTC "
        "(5 s); switched because the primary was unreachable for 1.0 s</small></td>");
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_PRIMARY, CG_RELAY_BUDDY, "primary-back", 3000);
    render_html(m);
    has("data-active=\"primary\">primary <small>since 1970-01-12 13:48:15 UTC (0 s); switched back "
        "because the primary was up again for 3.0 s</small>");
    metrics_active(m, "fo", CG_RELAY_MOS4, CG_RELAY_BUDDY, CG_RELAY_PRIMARY, "forced", 0);
    render_html(m);
    has("; switched by the operator</small>");
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_series),
        cmocka_unit_test(test_carry_and_no_buddy),
        cmocka_unit_test(test_status_page_active_leg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
