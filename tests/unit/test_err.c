/* src/core/err.c against include/castgate/error.h: every enum cg_err code
 * the header declares has its own name and message (issue 16: names and
 * messages come from one list, CG_ERR_ENTRIES). The codes are read from the
 * header text, so a code added there is checked without editing this test. */
#include "testutil.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct code {
    char name[40];
    long value;
};

/* "    CG_EINVAL = 1, ..." lines inside "enum cg_err { ... };" */
static size_t header_codes(struct code *out, size_t max)
{
    FILE *f = fopen(tu_src_path("include/castgate/error.h"), "r");
    assert_non_null(f);
    regex_t re;
    assert_int_equal(regcomp(&re, "^[ \t]*(CG_[A-Z0-9_]+)[ \t]*=[ \t]*([0-9]+)", REG_EXTENDED), 0);
    char line[512];
    size_t n = 0;
    bool in_enum = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "enum cg_err {", 13) == 0)
            in_enum = true;
        else if (in_enum && line[0] == '}')
            break;
        regmatch_t m[3];
        if (!in_enum || regexec(&re, line, 3, m, 0) != 0)
            continue;
        assert_true(n < max);
        snprintf(out[n].name, sizeof(out[n].name), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                 line + m[1].rm_so);
        out[n].value = strtol(line + m[2].rm_so, NULL, 10);
        n++;
    }
    regfree(&re);
    fclose(f);
    return n;
}

static void test_every_code_has_its_name_and_a_message(void **state)
{
    (void)state;
    struct code codes[200];
    size_t n = header_codes(codes, 200);
    assert_true(n >= 43); /* the header parsed: CG_OK .. CG_EINTERNAL */
    for (size_t i = 0; i < n; i++) {
        enum cg_err e = (enum cg_err)codes[i].value;
        const char *msg = cg_strerror(e);
        if (strcmp(cg_errname(e), codes[i].name) != 0 || strcmp(msg, "unknown error") == 0 ||
            msg[0] == '\0')
            fail_msg("%s = %ld: name %s, message \"%s\"", codes[i].name, codes[i].value,
                     cg_errname(e), msg);
        for (size_t j = 0; j < i; j++)
            if (strcmp(msg, cg_strerror((enum cg_err)codes[j].value)) == 0)
                fail_msg("%s and %s share the message \"%s\"", codes[i].name, codes[j].name, msg);
    }
}

/* A number the header does not declare is unknown to both. */
static void test_unknown_codes(void **state)
{
    (void)state;
    struct code codes[200];
    size_t n = header_codes(codes, 200);
    for (long v = -1; v < 1000; v++) {
        bool declared = false;
        for (size_t i = 0; i < n; i++)
            declared |= codes[i].value == v;
        if (declared)
            continue;
        assert_string_equal(cg_errname((enum cg_err)v), "CG_UNKNOWN");
        assert_string_equal(cg_strerror((enum cg_err)v), "unknown error");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_its_name_and_a_message),
        cmocka_unit_test(test_unknown_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
