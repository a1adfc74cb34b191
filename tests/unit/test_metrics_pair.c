/* tools/metrics.c: a gateway pair's series (issue 18 items 3 and 4,
 * docs/metrics.md "Gateway pair"): none without [pair]; with it, one series
 * per figure labelled with the node, of the declared type, and the text
 * promtool reads (checked by running it when it is installed). The tools are
 * not in the library: the file is compiled into this test. */
#include "metricsfix.h"

#include <unistd.h>

static void test_no_pair_no_series(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    struct metrics_pair p = {0};
    metrics_pair(m, &p);
    render(m);
    assert_null(strstr(out, "castgate_pair_"));
    metrics_free(m);
}

static void test_pair_series(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    struct metrics_pair p = {.present = true, .node = 1, .active = true, .connected = false,
                             .standby_present = false, .epoch = 7, .last_record = 1234,
                             .stored = 600, .resent = 81, .answers_held = 3,
                             .standby_behind = true, .resync_failures = 2};
    metrics_pair(m, &p);
    render(m);
    has("# TYPE castgate_pair_active gauge\ncastgate_pair_active{node=\"1\"} 1\n");
    has("castgate_pair_connected{node=\"1\"} 0\n");
    has("castgate_pair_standby_present{node=\"1\"} 0\n");
    has("castgate_pair_epoch{node=\"1\"} 7\n");
    has("castgate_pair_last_record{node=\"1\"} 1234\n");
    has("# TYPE castgate_pair_records_stored_total counter\n"
        "castgate_pair_records_stored_total{node=\"1\"} 600\n");
    has("castgate_pair_records_resent_total{node=\"1\"} 81\n");
    has("# TYPE castgate_pair_standby_behind gauge\ncastgate_pair_standby_behind{node=\"1\"} 1\n");
    has("# TYPE castgate_pair_resync_failures_total counter\n"
        "castgate_pair_resync_failures_total{node=\"1\"} 2\n");
    has("# TYPE castgate_pair_answers_held gauge\ncastgate_pair_answers_held{node=\"1\"} 3\n");
    /* promtool's lint, where it is installed (scripts/deps.sh: prometheus) */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[] = "/tmp/cg-metrics-pair-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, out, strlen(out)), (ssize_t)strlen(out));
        close(fd);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
        int rc = system(cmd);
        unlink(path);
        assert_int_equal(rc, 0);
    }
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_pair_no_series),
        cmocka_unit_test(test_pair_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
