/* tools/tool_util.c's line writer: the JSON event line castgate run writes
 * per relayed message (tools/mos_build.c) is put together in one buffer and
 * handed to stdio once, with no printf per field or putchar per character
 * (issue 13: bench/relay_why.sh counted printf and vsnprintf at 10% of a
 * gateway's instructions per 1 KB message). Its output is the same, byte
 * for byte, as the printf-based writer it replaces (kept below as the
 * reference), for every byte value and for strings longer than its buffer. */
// CG_LINK: ../../tools/tool_util.c
#include "testutil.h"
#include "../../tools/tool_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The writer before issue 13's cut, to f. */
static void reference_json(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s != 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7F)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

struct mem {
    char *p;
    size_t n;
    FILE *f;
};

static void mem_open(struct mem *m)
{
    m->p = NULL;
    m->n = 0;
    m->f = open_memstream(&m->p, &m->n);
    assert_non_null(m->f);
}

static void mem_close(struct mem *m)
{
    assert_int_equal(fclose(m->f), 0);
}

static void same_as_reference(const char *s)
{
    struct mem want, got;
    mem_open(&want);
    mem_open(&got);
    reference_json(want.f, s);
    struct tool_line l = {.f = got.f};
    tool_line_json(&l, s);
    tool_line_end(&l);
    mem_close(&want);
    mem_close(&got);
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.p, want.p, want.n);
    free(want.p);
    free(got.p);
}

static void test_every_byte(void **state)
{
    (void)state;
    char s[256];
    for (int i = 1; i < 256; i++)
        s[i - 1] = (char)i;
    s[255] = '\0';
    same_as_reference(s);
    same_as_reference(NULL);
    same_as_reference("");
    same_as_reference("roCreate");
}

/* Longer than the buffer, escaped or not, at every offset of an escape. */
static void test_longer_than_the_buffer(void **state)
{
    (void)state;
    size_t n = 3 * sizeof(((struct tool_line *)0)->b) + 17;
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t k = 0; k < 8; k++) {
        for (size_t i = 0; i < n; i++)
            s[i] = (i + k) % 7 == 0 ? '\x01' : (i + k) % 5 == 0 ? '"' : (char)('a' + i % 26);
        s[n] = '\0';
        same_as_reference(s);
    }
    free(s);
}

/* A whole line: raw text, numbers, JSON strings, in order, once. */
static void test_a_line(void **state)
{
    (void)state;
    struct mem got;
    mem_open(&got);
    struct tool_line l = {.f = got.f};
    tool_line_str(&l, "{\"event\":\"relay\",\"peer\":");
    tool_line_json(&l, "NC\"S");
    tool_line_str(&l, ",\"bytes\":");
    tool_line_dec(&l, 0);
    tool_line_str(&l, ",");
    tool_line_dec(&l, 18446744073709551615ull);
    tool_line_str(&l, ",");
    tool_line_dec(&l, 1024);
    tool_line_put(&l, "}\n", 2);
    tool_line_end(&l);
    mem_close(&got);
    const char *want = "{\"event\":\"relay\",\"peer\":\"NC\\\"S\",\"bytes\":0,18446744073709551615,1024}\n";
    assert_int_equal(got.n, strlen(want));
    assert_memory_equal(got.p, want, got.n);
    free(got.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_longer_than_the_buffer),
        cmocka_unit_test(test_a_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
