/* tools/metrics.c: the flow core's lane counters (cg_relay_link_lane_stats)
 * as Prometheus families (issue 15 item 4; docs/metrics.md "Lanes"). The
 * tools are not in the library: the file is compiled into this test. */
#define MF_OUT_SIZE 131072
#include "metricsfix.h"

#define L(side, ch, dir) "{link=\"l\\\"1\",side=\"" side "\",channel=\"" ch "\",direction=\"" dir "\"}"
#define LB(side, ch, le)                                                                           \
    "{link=\"l\\\"1\",side=\"" side "\",channel=\"" ch "\",direction=\"out\",le=\"" le "\"}"

static void test_lane_families(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    render(m); /* no lane given: the families are declared, with no series */
    has("# TYPE castgate_lane_retries_total counter\n");
    has("# TYPE castgate_lane_round_trip_seconds histogram\n");
    assert_null(strstr(out, "castgate_lane_retries_total{"));

    struct cg_mos_lane_stats o = {.queued = 2, .requests_sent = 7, .retries = 3, .timeouts = 1,
                                  .answers = 5, .nacks_received = 2, .last_rtt_ms = 4};
    cg_histogram_observe(&o.rtt, 300000);  /* 0.3 ms */
    cg_histogram_observe(&o.rtt, 4000000); /* 4 ms */
    o.delivered = 99;                      /* an IN field in the OUT lane: not taken */
    struct cg_mos_lane_stats in = {.delivered = 11, .nacks_sent = 6, .repeats_answered = 4,
                                   .held = 1, .held_max = 9, .answers_held_bytes = 123456,
                                   .repeats_not_held = 3};
    in.retries = 77; /* an OUT field in the IN lane: not taken */
    metrics_lane_stats(m, "l\"1", CG_RELAY_MOS4, CG_MOS_CH_RO, &o, &in);
    struct cg_mos_lane_stats zero = {0};
    metrics_lane_stats(m, "l\"1", CG_RELAY_LEGACY, CG_MOS_CH_AUX, &zero, &zero);
    metrics_lane_stats(m, "l\"1", CG_RELAY_LEGACY, CG_MOS_CH_PLUGIN, &o, &in); /* no lane */
    render(m);
    has("castgate_lane_requests_total" L("mos4", "ro", "out") " 7\n");
    has("castgate_lane_requests_total" L("mos4", "ro", "in") " 11\n");
    has("castgate_lane_retries_total" L("mos4", "ro", "out") " 3\n");
    assert_null(strstr(out, "castgate_lane_retries_total" L("mos4", "ro", "in")));
    has("castgate_lane_timeouts_total" L("mos4", "ro", "out") " 1\n");
    has("castgate_lane_nacks_total" L("mos4", "ro", "out") " 2\n"); /* received */
    has("castgate_lane_nacks_total" L("mos4", "ro", "in") " 6\n");  /* sent */
    has("castgate_lane_repeats_answered_total" L("mos4", "ro", "in") " 4\n");
    has("castgate_lane_queued" L("mos4", "ro", "out") " 2\n");
    has("castgate_lane_held" L("mos4", "ro", "in") " 1\n");
    has("castgate_lane_held_max" L("mos4", "ro", "in") " 9\n");
    has("castgate_lane_answers_held_bytes" L("mos4", "ro", "in") " 123456\n");
    assert_null(strstr(out, "castgate_lane_answers_held_bytes" L("mos4", "ro", "out")));
    has("castgate_lane_repeats_not_held_total" L("mos4", "ro", "in") " 3\n");
    assert_null(strstr(out, "castgate_lane_held" L("mos4", "ro", "out")));
    has("castgate_lane_round_trip_seconds_bucket" LB("mos4", "ro", "0.00025") " 0\n");
    has("castgate_lane_round_trip_seconds_bucket" LB("mos4", "ro", "0.0005") " 1\n");
    has("castgate_lane_round_trip_seconds_bucket" LB("mos4", "ro", "0.005") " 2\n");
    has("castgate_lane_round_trip_seconds_bucket" LB("mos4", "ro", "+Inf") " 2\n");
    has("castgate_lane_round_trip_seconds_sum" L("mos4", "ro", "out") " 0.004300000\n");
    has("castgate_lane_round_trip_seconds_count" L("mos4", "ro", "out") " 2\n");
    /* the zero lane is there, the ones not given are not */
    has("castgate_lane_retries_total" L("legacy", "aux", "out") " 0\n");
    has("castgate_lane_round_trip_seconds_count" L("legacy", "aux", "out") " 0\n");
    assert_null(strstr(out, "side=\"legacy\",channel=\"ro\""));
    assert_null(strstr(out, "side=\"mos4\",channel=\"mom\""));
    assert_null(strstr(out, " 99\n"));
    assert_null(strstr(out, " 77\n"));
    /* a later read replaces the counters */
    o.retries = 5;
    metrics_lane_stats(m, "l\"1", CG_RELAY_MOS4, CG_MOS_CH_RO, &o, &in);
    render(m);
    has("castgate_lane_retries_total" L("mos4", "ro", "out") " 5\n");
    /* a removed link takes its lanes with it */
    metrics_link_removed(m, "l\"1");
    render(m);
    assert_null(strstr(out, "castgate_lane_retries_total{"));
    metrics_free(m);
}

static time_t fake_now = 1000000;
static time_t fake_clock(void) { return fake_now; }

/* The status page: each leaf's notAfter (cg_server_leaf_stats) instead of
 * whole days per chain file, once leaves are known. */
static void test_status_page_leaves(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    metrics_set_clock(m, fake_clock);
    fake_now = 1893456000 - 40 * 86400 - 5; /* 40 days and 5 s before 2030-01-01 */
    metrics_cert(m, "/etc/castgate/rsa.chain.pem", 12);
    metrics_render_html(m, "0.1.0", out, sizeof(out));
    has("certificate rsa.chain.pem: 12 day(s) left");
    struct cg_leaf_stats ec = {.key_type = "ECDSA", .subject_cn = "gw<1>", .not_after = 1893456000};
    struct cg_leaf_stats rsa = {.key_type = "RSA", .subject_cn = "", .not_after = fake_now + 86400};
    metrics_leaf(m, "gateway", &ec);
    metrics_leaf(m, "admin", &rsa);
    metrics_render_html(m, "0.1.0", out, sizeof(out));
    has("<p class=\"cert\">certificate gateway ECDSA gw&lt;1&gt;: notAfter 2030-01-01 00:00:00 UTC, "
        "40 day(s) left</p>");
    has("<p class=\"down\">certificate admin RSA (no CN): notAfter ");
    has(", 1 day(s) left</p>");
    assert_null(strstr(out, "rsa.chain.pem")); /* the per-file line gives way */
    fake_now = 1893456000;
    metrics_render_html(m, "0.1.0", out, sizeof(out));
    has("certificate gateway ECDSA gw&lt;1&gt;: notAfter 2030-01-01 00:00:00 UTC, EXPIRED</p>");
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lane_families),
        cmocka_unit_test(test_status_page_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
