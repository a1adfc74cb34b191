/* tools/metrics.c: the gateway's counters and the Prometheus text format
 * (issue 15, part 4). The tools are not in the library: the file is
 * compiled into this test. */
#include "metricsfix.h"

static void test_counts_per_link_and_side(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    metrics_link_state(m, "a", true, false);
    metrics_relayed(m, "a", METRICS_FROM_LEGACY);
    metrics_relayed(m, "a", METRICS_FROM_LEGACY);
    metrics_relayed(m, "a", METRICS_FROM_MOS4);
    metrics_nack(m, "a", METRICS_NACK_REMOVED);
    metrics_nack(m, NULL, METRICS_NACK_NO_LINK);
    metrics_idless(m, "a", 1);
    metrics_in_flight(m, 3);
    metrics_reload(m, true);
    metrics_cert(m, "a\"b.pem", 400);
    render(m);
    assert_non_null(strstr(out, "castgate_certificate_remaining_seconds{chain=\"a\\\"b.pem\"} 34560000\n"));
    assert_non_null(strstr(out, "castgate_link_up{link=\"a\",side=\"legacy\"} 1\n"));
    assert_non_null(strstr(out, "castgate_link_up{link=\"a\",side=\"mos4\"} 0\n"));
    assert_non_null(strstr(out, "castgate_messages_relayed_total{link=\"a\",from=\"legacy\"} 2\n"));
    assert_non_null(strstr(out, "castgate_messages_relayed_total{link=\"a\",from=\"mos4\"} 1\n"));
    assert_null(strstr(out, "castgate_nacks_total{link=\"a\"")); /* none until the relay's come */
    assert_non_null(strstr(out, "castgate_nacks_unlinked_total 1\n"));
    assert_non_null(strstr(out, "castgate_requests_without_messageid_total{link=\"a\"} 1\n"));
    assert_non_null(strstr(out, "castgate_requests_in_flight 3\n"));
    assert_non_null(strstr(out, "castgate_reloads_total{result=\"done\"} 1\n"));
    assert_non_null(strstr(out, "# TYPE castgate_messages_relayed_total counter\n"));
    metrics_free(m);
}

static void test_label_escaping_and_removal(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    metrics_link_state(m, "st\"u\\dio\n1", true, true);
    metrics_link_state(m, "b", false, false);
    render(m);
    assert_non_null(strstr(out, "castgate_link_up{link=\"st\\\"u\\\\dio\\n1\",side=\"mos4\"} 1\n"));
    metrics_link_removed(m, "st\"u\\dio\n1");
    render(m);
    assert_null(strstr(out, "dio"));
    assert_non_null(strstr(out, "castgate_link_up{link=\"b\",side=\"legacy\"} 0\n"));
    metrics_free(m);
}

static void test_short_buffer_says_how_much(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof(name), "link%d", i);
        metrics_relayed(m, name, METRICS_FROM_MOS4);
    }
    char small[64];
    size_t need = metrics_render(m, "0.1.0", small, sizeof(small));
    assert_true(need >= sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1); /* cut, still terminated */
    char *big = malloc(need + 1);
    assert_int_equal(metrics_render(m, "0.1.0", big, need + 1), need);
    assert_non_null(strstr(big, "castgate_messages_relayed_total{link=\"link49\",from=\"mos4\"} 1\n"));
    free(big);
    metrics_free(m);
}

static time_t fake_now = 1000000;
static time_t fake_clock(void) { return fake_now; }

static int refreshed;
static void on_refresh(void *user)
{
    refreshed++;
    struct metrics *m = user;
    struct cg_wss_stats hs = {{0}};
    hs.result[CG_WSS_OK] = 3;
    hs.result[CG_WSS_HTTP_401] = 2;
    hs.result[CG_WSS_TLS_VERSION] = 1;
    struct cg_auth_stats au = {.failures = 2, .lockouts = 1, .locked_refused = 4};
    metrics_listener(m, "gateway", &hs, &au);
    metrics_listener(m, "admin", &hs, NULL);
}

/* The library's counters (castgate/stats.h, relay.h) as Prometheus families. */
static void test_library_counters(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    metrics_set_clock(m, fake_clock);
    fake_now = 1000000;
    metrics_set_refresh(m, on_refresh, m);
    metrics_refresh(m);
    assert_int_equal(refreshed, 1);
    struct cg_relay_stats st = {0};
    st.nacks[CG_RELAY_LEGACY][CG_RELAY_NACK_REMOVED][1] = 2; /* M-12, ro */
    st.nacks[CG_RELAY_MOS4][CG_RELAY_NACK_PEER][0] = 1;
    struct cg_mos_peer_stats far = {0}, gear = {0};
    far.dial.result[CG_WSS_OK] = 1;
    far.dial.result[CG_WSS_HTTP_401] = 5; /* M-05: wrong password */
    gear.journal.bytes = 1234;
    gear.journal.records = 2;
    cg_histogram_observe(&gear.journal.fsync, 300000);  /* 0.3 ms */
    cg_histogram_observe(&gear.journal.fsync, 7000000); /* 7 ms */
    metrics_link_stats(m, "l\"1", &st, &gear, &far);
    struct cg_leaf_stats leaf = {.key_type = "ECDSA", .subject_cn = "gw.example", .not_after = 1893456000,
                                 .stapled = true, .staple_produced_at = fake_now - 60,
                                 .staple_this_update = fake_now - 120};
    metrics_leaf(m, "gateway", &leaf);
    struct cg_histogram sync = {0};
    cg_histogram_observe(&sync, 20000000); /* 20 ms */
    metrics_syncfs(m, &sync);
    render(m);
    assert_non_null(strstr(out, "# TYPE castgate_state_syncfs_seconds histogram\n"));
    assert_non_null(strstr(out, "castgate_state_syncfs_seconds_bucket{le=\"0.01\"} 0\n"));
    assert_non_null(strstr(out, "castgate_state_syncfs_seconds_bucket{le=\"0.025\"} 1\n"));
    assert_non_null(strstr(out, "castgate_state_syncfs_seconds_sum 0.020000000\n"));
    assert_non_null(strstr(out, "castgate_state_syncfs_seconds_count 1\n"));
    assert_non_null(strstr(out, "castgate_nacks_total{link=\"l\\\"1\",channel=\"ro\",from=\"legacy\",reason=\"removed_in_4\"} 2\n"));
    assert_non_null(strstr(out, "castgate_nacks_total{link=\"l\\\"1\",channel=\"mom\",from=\"mos4\",reason=\"peer\"} 1\n"));
    assert_non_null(strstr(out, "castgate_nacks_total{link=\"l\\\"1\",channel=\"aux\",from=\"mos4\",reason=\"no_answer\"} 0\n"));
    assert_non_null(strstr(out, "castgate_wss_handshakes_total{listener=\"gateway\"} 6\n"));
    assert_non_null(strstr(out, "castgate_wss_handshake_failures_total{listener=\"gateway\",reason=\"http_401\"} 2\n"));
    assert_non_null(strstr(out, "castgate_wss_handshake_failures_total{listener=\"admin\",reason=\"tls_version\"} 1\n"));
    assert_null(strstr(out, "castgate_wss_handshake_failures_total{listener=\"gateway\",reason=\"ok\"}"));
    assert_non_null(strstr(out, "castgate_auth_failures_total{listener=\"gateway\"} 2\n"));
    assert_non_null(strstr(out, "castgate_auth_lockouts_total{listener=\"gateway\"} 1\n"));
    assert_non_null(strstr(out, "castgate_auth_locked_refusals_total{listener=\"gateway\"} 4\n"));
    assert_null(strstr(out, "castgate_auth_failures_total{listener=\"admin\"}")); /* not known */
    assert_non_null(strstr(out, "castgate_wss_dials_total{link=\"l\\\"1\"} 6\n"));
    assert_non_null(strstr(out, "castgate_wss_dial_failures_total{link=\"l\\\"1\",reason=\"http_401\"} 5\n"));
    assert_non_null(strstr(out, "castgate_certificate_not_after_timestamp_seconds{listener=\"gateway\",key_type=\"ECDSA\",cn=\"gw.example\"} 1893456000\n"));
    assert_non_null(strstr(out, "castgate_ocsp_staple_age_seconds{listener=\"gateway\",key_type=\"ECDSA\",cn=\"gw.example\"} 60\n"));
    assert_non_null(strstr(out, "castgate_ocsp_staple_this_update_age_seconds{listener=\"gateway\",key_type=\"ECDSA\",cn=\"gw.example\"} 120\n"));
    assert_non_null(strstr(out, "castgate_journal_bytes_total{link=\"l\\\"1\",side=\"legacy\"} 1234\n"));
    assert_non_null(strstr(out, "castgate_journal_records_total{link=\"l\\\"1\",side=\"mos4\"} 0\n"));
    assert_non_null(strstr(out, "# TYPE castgate_journal_fsync_seconds histogram\n"));
    assert_non_null(strstr(out, "castgate_journal_fsync_seconds_bucket{link=\"l\\\"1\",side=\"legacy\",le=\"0.00025\"} 0\n"));
    assert_non_null(strstr(out, "castgate_journal_fsync_seconds_bucket{link=\"l\\\"1\",side=\"legacy\",le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(out, "castgate_journal_fsync_seconds_bucket{link=\"l\\\"1\",side=\"legacy\",le=\"0.01\"} 2\n"));
    assert_non_null(strstr(out, "castgate_journal_fsync_seconds_bucket{link=\"l\\\"1\",side=\"legacy\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(out, "castgate_journal_fsync_seconds_sum{link=\"l\\\"1\",side=\"legacy\"} 0.007300000\n"));
    assert_non_null(strstr(out, "castgate_journal_fsync_seconds_count{link=\"l\\\"1\",side=\"legacy\"} 2\n"));
    /* the relay's NACKs count for the status page's last hour, once each */
    metrics_link_stats(m, "l\"1", &st, NULL, NULL);
    metrics_render_html(m, "0.1.0", out, sizeof(out));
    assert_non_null(strstr(out, "<td>3</td>"));
    metrics_free(m);
}

static void test_status_page(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    metrics_set_clock(m, fake_clock);
    fake_now = 1000000;
    metrics_link_state(m, "<b>&x", true, false);
    metrics_link_why(m, "<b>&x", "mos: peer DEV: connection refused <script>");
    metrics_last_message(m, "<b>&x", METRICS_FROM_LEGACY, "roCreate", "42");
    metrics_cert(m, "/etc/castgate/private/rsa.chain.pem", 12);
    metrics_nack(m, "<b>&x", METRICS_NACK_FORWARD);
    fake_now += 3000;
    metrics_nack(m, "<b>&x", METRICS_NACK_FORWARD);
    fake_now += 1000; /* the first NACK is now more than an hour old */
    size_t n = metrics_render_html(m, "0.1.0", out, sizeof(out));
    assert_true(n < sizeof(out));
    assert_non_null(strstr(out, "<!DOCTYPE html>"));
    assert_non_null(strstr(out, "<td>&lt;b&gt;&amp;x</td>"));
    assert_null(strstr(out, "<script>"));
    assert_non_null(strstr(out, "connection refused &lt;script&gt;"));
    assert_non_null(strstr(out, "The far side (MOS 4.0) is unreachable"));
    assert_non_null(strstr(out, "data-side=\"mos4\">down <small>since 1970-01-12 13:46:40 UTC (66 min)"));
    assert_non_null(strstr(out, "roCreate <small>messageID 42, 66 min ago"));
    assert_non_null(strstr(out, "<td>1</td>")); /* NACKs in the last hour */
    assert_non_null(strstr(out, "<b id=\"down\">1 down</b>"));
    assert_non_null(strstr(out, "<p class=\"down\">certificate rsa.chain.pem: 12 day(s) left</p>"));
    metrics_link_state(m, "<b>&x", true, true);
    metrics_render_html(m, "0.1.0", out, sizeof(out));
    assert_non_null(strstr(out, "Nothing: both sides are up."));
    assert_non_null(strstr(out, "data-side=\"mos4\">up <small>since"));
    assert_non_null(strstr(out, "(0 s)"));
    metrics_free(m);
}

/* The process's memory (issue 19): exported when known, left out when not. */
static void test_memory(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    render(m);
    assert_null(strstr(out, "process_resident_memory_bytes"));
    assert_null(strstr(out, "castgate_heap_bytes"));
    struct metrics_memory mem = {.have_rss = true, .have_heap = true, .rss = 123456789ULL,
                                 .in_use = 1000, .free = 20, .mmapped = 3ULL << 32};
    metrics_memory(m, &mem);
    render(m);
    assert_non_null(strstr(out, "# TYPE process_resident_memory_bytes gauge\n"
                                "process_resident_memory_bytes 123456789\n"));
    assert_non_null(strstr(out, "# TYPE castgate_heap_bytes gauge\n"));
    assert_non_null(strstr(out, "castgate_heap_bytes{state=\"in_use\"} 1000\n"));
    assert_non_null(strstr(out, "castgate_heap_bytes{state=\"free\"} 20\n"));
    assert_non_null(strstr(out, "castgate_heap_bytes{state=\"mmapped\"} 12884901888\n"));
    assert_null(strstr(out, "castgate_heap_trim"));
    mem.have_trim = true; /* cg_ctx_heap_trim's counters (issue 19) */
    mem.trim = (struct cg_heap_trim_stats){.trims = 7, .released = 5u << 20, .last_us = 1500,
                                           .max_us = 2012345};
    metrics_memory(m, &mem);
    render(m);
    assert_non_null(strstr(out, "# TYPE castgate_heap_trims_total counter\n"
                                "castgate_heap_trims_total 7\n"));
    assert_non_null(strstr(out, "castgate_heap_trim_released_bytes_total 5242880\n"));
    assert_non_null(strstr(out, "castgate_heap_trim_seconds{which=\"last\"} 0.001500\n"));
    assert_non_null(strstr(out, "castgate_heap_trim_seconds{which=\"max\"} 2.012345\n"));
    mem.have_heap = false;
    metrics_memory(m, &mem);
    render(m);
    assert_non_null(strstr(out, "process_resident_memory_bytes 123456789\n"));
    assert_null(strstr(out, "castgate_heap_trim"));
    assert_null(strstr(out, "castgate_heap_bytes"));
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_link_and_side),
        cmocka_unit_test(test_label_escaping_and_removal),
        cmocka_unit_test(test_short_buffer_says_how_much),
        cmocka_unit_test(test_status_page),
        cmocka_unit_test(test_library_counters),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
