/* Unit tests for the Date header every response carries (RFC 9110 §6.6.1:
 * an origin server with a clock sends one) in IMF-fixdate (RFC 9110 §5.6.7). */
#include "testutil.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct cg_http_policy policy = {.hsts_max_age = 31536000};

/* Writes a response of the given status; returns a NUL-terminated heap string. */
static char *write_status(int status, int64_t date)
{
    struct cg_http_response res;
    cg__http_response_init(&res);
    res.status = status;
    res.date = date;
    struct cg_buf out;
    cg__buf_init(&out, 0);
    assert_int_equal(cg__http_response_write(&res, NULL, &policy, &out), CG_OK);
    char *s = cg__strndup((const char *)out.data, out.len);
    assert_non_null(s);
    cg__buf_free(&out);
    cg__http_response_free(&res);
    return s;
}

/* The value of the one Date header in the head of r (fails on none or two). */
static void date_of(const char *r, char *out, size_t outsz)
{
    const char *end = strstr(r, "\r\n\r\n");
    assert_non_null(end);
    const char *d = strstr(r, "\r\nDate: ");
    if (d == NULL || d > end)
        fail_msg("no Date header in:\n%s", r);
    const char *again = strstr(d + 2, "\r\nDate: ");
    assert_true(again == NULL || again > end);
    d += 8;
    const char *e = strstr(d, "\r\n");
    snprintf(out, outsz, "%.*s", (int)(e - d), d);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT": the shape, character by character. */
static bool imf_fixdate_shape(const char *v)
{
    static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char pattern[] = "DDD, 00 MMM 0000 00:00:00 GMT";
    if (strlen(v) != strlen(pattern))
        return false;
    bool day = false, month = false;
    for (size_t i = 0; i < 7; i++)
        day = day || strncmp(v, days[i], 3) == 0;
    for (size_t i = 0; i < 12; i++)
        month = month || strncmp(v + 8, months[i], 3) == 0;
    for (size_t i = 0; pattern[i] != '\0'; i++) {
        if (pattern[i] == '0' && (v[i] < '0' || v[i] > '9'))
            return false;
        if (pattern[i] != '0' && pattern[i] != 'D' && pattern[i] != 'M' && v[i] != pattern[i])
            return false;
    }
    return day && month;
}

static void test_every_status_has_one_date(void **state)
{
    (void)state;
    static const int statuses[] = {101, 200, 204, 304, 400, 401, 404, 429, 500, 503};
    for (size_t i = 0; i < CG_ARRAY_LEN(statuses); i++) {
        char *r = write_status(statuses[i], 0);
        char v[64];
        date_of(r, v, sizeof(v));
        if (!imf_fixdate_shape(v))
            fail_msg("status %d: Date \"%s\" is not an IMF-fixdate", statuses[i], v);
        free(r);
    }
}

static void test_imf_fixdate_values(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *want;
    } cases[] = {
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"}, /* RFC 9110 §5.6.7's example */
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1798761599, "Thu, 31 Dec 2026 23:59:59 GMT"},
        {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        char out[CG_HTTP_DATE_LEN];
        cg__http_date(cases[i].t, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_injected_date_is_used(void **state)
{
    (void)state;
    char *r = write_status(200, 784111777);
    char v[64];
    date_of(r, v, sizeof(v));
    assert_string_equal(v, "Sun, 06 Nov 1994 08:49:37 GMT");
    free(r);
}

static void test_date_from_the_clock(void **state)
{
    (void)state; /* 0: now; the clock may tick between the two readings */
    char before[CG_HTTP_DATE_LEN], after[CG_HTTP_DATE_LEN], v[64];
    cg__http_date((int64_t)time(NULL), before);
    char *r = write_status(404, 0);
    cg__http_date((int64_t)time(NULL), after);
    date_of(r, v, sizeof(v));
    assert_true(strcmp(v, before) == 0 || strcmp(v, after) == 0);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_has_one_date),
        cmocka_unit_test(test_imf_fixdate_values),
        cmocka_unit_test(test_injected_date_is_used),
        cmocka_unit_test(test_date_from_the_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
