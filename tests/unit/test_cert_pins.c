/* The pins file (store_dir/pins, "PEER SHA256" lines; M-06) as an editor
 * writes it: CRLF line ends (Windows editors, files copied from a share),
 * a last line with or without its newline, blanks around the pin. A line
 * that is really malformed is refused with its line number, in the return
 * (cg__pins_find, cg_trust_pin_lookup) and in the log ("PATH:LINE: why").
 * cg_trust_pin rewrites such a file with LF ends. */
#include "cert/cert.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char fp_a[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char fp_b[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    size_t n = 0;
    uint8_t *d = NULL;
    assert_int_equal(cg__read_file(path, 1 << 20, &d, &n), CG_OK);
    return (char *)d;
}

/* ---- cg__pins_find: the text of a file ---- */

struct found {
    enum cg_err rc;
    uint8_t pin[32];
    size_t line;
    const char *why;
};

static struct found find(const char *text, const char *peer)
{
    struct found f;
    memset(&f, 0, sizeof(f));
    f.line = 99;
    f.rc = cg__pins_find(text, strlen(text), peer, f.pin, &f.line, &f.why);
    return f;
}

static void expect_pin(const char *text, const char *peer, uint8_t first, const char *what)
{
    struct found f = find(text, peer);
    if (f.rc != CG_OK)
        fail_msg("%s: peer %s: %s (line %zu: %s)", what, peer, cg_strerror(f.rc), f.line,
                 f.why != NULL ? f.why : "-");
    if (f.pin[0] != first || f.line != 0 || f.why != NULL)
        fail_msg("%s: peer %s: pin[0] %02x line %zu", what, peer, f.pin[0], f.line);
}

static void expect_bad(const char *text, const char *peer, size_t line, const char *what)
{
    struct found f = find(text, peer);
    if (f.rc != CG_EFILE || f.line != line || f.why == NULL)
        fail_msg("%s: peer %s: %s at line %zu, want CG_EFILE at line %zu", what, peer,
                 cg_strerror(f.rc), f.line, line);
}

static void test_line_ends(void **state)
{
    (void)state;
    char t[800];
    snprintf(t, sizeof(t), "gw1 %s\r\ngw2 %s\r\n", fp_a, fp_b);
    expect_pin(t, "gw1", 0x00, "CRLF");
    expect_pin(t, "gw2", 0xff, "CRLF, last line");
    snprintf(t, sizeof(t), "gw1 %s\r\ngw2 %s", fp_a, fp_b);
    expect_pin(t, "gw2", 0xff, "CRLF, no newline at the end");
    snprintf(t, sizeof(t), "gw1 %s\r\ngw2 %s\r", fp_a, fp_b);
    expect_pin(t, "gw2", 0xff, "CRLF, a CR without LF at the end");
    snprintf(t, sizeof(t), "gw1 %s\ngw2 %s\r\n", fp_a, fp_b);
    expect_pin(t, "gw1", 0x00, "mixed LF and CRLF");
    expect_pin(t, "gw2", 0xff, "mixed LF and CRLF");
    snprintf(t, sizeof(t), "gw1 %s\n", fp_a);
    expect_pin(t, "gw1", 0x00, "LF");
    snprintf(t, sizeof(t), "gw1 %s", fp_a);
    expect_pin(t, "gw1", 0x00, "LF, no newline at the end");
    snprintf(t, sizeof(t), "\r\n\r\ngw1 %s\r\n\r\n", fp_a);
    expect_pin(t, "gw1", 0x00, "blank CRLF lines");
    snprintf(t, sizeof(t), "gw1 \t%s \t\r\n", fp_a);
    expect_pin(t, "gw1", 0x00, "blanks around the pin");
    snprintf(t, sizeof(t), "gw1\t%s\r\n", fp_a);
    expect_pin(t, "gw1", 0x00, "a tab between peer and pin");
    assert_int_equal(find(t, "gw").rc, CG_ENOTFOUND); /* a prefix is another peer */
    assert_int_equal(find(t, "gw2").rc, CG_ENOTFOUND);
    assert_int_equal(find("", "gw1").rc, CG_ENOTFOUND);
    assert_int_equal(find("\r\n", "gw1").rc, CG_ENOTFOUND);
}

static void test_malformed_lines(void **state)
{
    (void)state;
    char t[800];
    snprintf(t, sizeof(t), "gw1 %s\r\ngw2 zz\r\n", fp_a);
    expect_bad(t, "gw2", 2, "not hex");
    expect_pin(t, "gw1", 0x00, "a good line beside a bad one");
    snprintf(t, sizeof(t), "gw1 %s\r\n\r\ngw2 %.62s\r\n", fp_a, fp_b);
    expect_bad(t, "gw2", 3, "62 digits");
    snprintf(t, sizeof(t), "gw2 %s00\n", fp_b);
    expect_bad(t, "gw2", 1, "66 digits");
    expect_bad("x y\ngw2\r\n", "gw2", 2, "no pin after the peer");
    expect_bad("x y\ngw2   \r\n", "gw2", 2, "only blanks after the peer");
    snprintf(t, sizeof(t), "gw2 %.32s\r%s\r\n", fp_b, fp_b + 32);
    expect_bad(t, "gw2", 1, "a CR inside the line");
    snprintf(t, sizeof(t), "gw2 %s extra\r\n", fp_b);
    expect_bad(t, "gw2", 1, "a word after the pin");
}

/* ---- the public functions, on a file ---- */

static void test_pin_get_reads_crlf_file(void **state)
{
    (void)state;
    const char *store = tu_in("crlf");
    assert_int_equal(cg__cert_mkdirs(tu_ctx, store, 0755), CG_OK);
    char t[800];
    snprintf(t, sizeof(t), "gw1.example:443 %s\r\ngw2 %s\r\n", fp_a, fp_b);
    put(tu_in("crlf/pins"), t);
    uint8_t pin[32];
    assert_int_equal(cg_trust_pin_get(store, "gw1.example:443", pin), CG_OK);
    assert_int_equal(pin[1], 0x11);
    assert_int_equal(cg_trust_pin_get(store, "gw2", pin), CG_OK);
    assert_int_equal(pin[1], 0xee);
    size_t line = 7;
    assert_int_equal(cg_trust_pin_lookup(tu_ctx, store, "gw2", pin, &line), CG_OK);
    assert_int_equal(line, 0);
}

static void test_lookup_names_the_bad_line(void **state)
{
    (void)state;
    const char *store = tu_in("bad");
    assert_int_equal(cg__cert_mkdirs(tu_ctx, store, 0755), CG_OK);
    char t[800];
    snprintf(t, sizeof(t), "gw1 %s\r\n\r\ngw2 %.63s\r\n", fp_a, fp_b);
    put(tu_in("bad/pins"), t);
    uint8_t pin[32];
    size_t line = 0;
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    assert_int_equal(cg_trust_pin_lookup(tu_ctx, store, "gw2", pin, &line), CG_EFILE);
    assert_int_equal(line, 3);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: ", tu_in("bad/pins"));
    assert_true(tu_log_has(&tu_ctx_log, want));
    assert_false(tu_log_has(&tu_ctx_log, "ffeeddcc")); /* never the pin itself */
    assert_int_equal(cg_trust_pin_get(store, "gw2", pin), CG_EFILE);
    /* The other peer's line is good: it is read. */
    assert_int_equal(cg_trust_pin_lookup(tu_ctx, store, "gw1", pin, &line), CG_OK);
    assert_int_equal(line, 0);
    assert_int_equal(cg_trust_pin_lookup(tu_ctx, store, "gw3", pin, &line), CG_ENOTFOUND);
    assert_int_equal(line, 0);
}

/* cg_trust_pin on a CRLF file: the peer's old line is replaced, the other
 * lines are kept without their CR, the file ends up LF only. */
static void test_pin_rewrites_crlf_file(void **state)
{
    (void)state;
    const char *store = tu_in("rewrite");
    assert_int_equal(cg__cert_mkdirs(tu_ctx, store, 0755), CG_OK);
    char t[800];
    snprintf(t, sizeof(t), "gw1 %s\r\nkeep %s\r\n", fp_a, fp_b);
    put(tu_in("rewrite/pins"), t);
    assert_int_equal(cg_trust_pin(tu_ctx, store, "gw1", fp_b), CG_OK);
    char *got = slurp(tu_in("rewrite/pins"));
    char want[800];
    snprintf(want, sizeof(want), "keep %s\ngw1 %s\n", fp_b, fp_b);
    assert_string_equal(got, want);
    free(got);
    uint8_t pin[32];
    assert_int_equal(cg_trust_pin_get(store, "gw1", pin), CG_OK);
    assert_int_equal(pin[0], 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_pin_get_reads_crlf_file),
        cmocka_unit_test(test_lookup_names_the_bad_line),
        cmocka_unit_test(test_pin_rewrites_crlf_file),
    };
    return cmocka_run_group_tests(tests, tu_group_ctx, tu_group_ctx_rm);
}
