/* Shared by the tests of tools/metrics.c (test_metrics.c,
 * test_metrics_lanes.c, test_metrics_legs.c, test_metrics_pair.c). The tools
 * are not in the library: the file is compiled into the test here. out
 * holds the text last rendered (MF_OUT_SIZE bytes: 65536 unless the test
 * defines it before including this); has checks a line is in it. */
#ifndef CG_TEST_METRICSFIX_H
#define CG_TEST_METRICSFIX_H

#include "testutil.h"

#include "../../tools/metrics.c"

#ifndef MF_OUT_SIZE
#define MF_OUT_SIZE 65536
#endif

static char out[MF_OUT_SIZE];

/* The Prometheus text of m into out, whole. */
static inline void render(const struct metrics *m)
{
    size_t n = metrics_render(m, "0.1.0", out, sizeof(out));
    assert_true(n < sizeof(out));
    assert_int_equal(strlen(out), n);
}

/* The status page of m into out, whole. */
static inline void render_html(const struct metrics *m)
{
    size_t n = metrics_render_html(m, "0.1.0", out, sizeof(out));
    assert_true(n < sizeof(out));
    assert_int_equal(strlen(out), n);
}

static inline void has(const char *line)
{
    if (strstr(out, line) == NULL)
        fail_msg("missing: %s", line);
}

#endif
