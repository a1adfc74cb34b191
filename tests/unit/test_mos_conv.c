/* Unit tests for src/mos/conv.c: UTF-16BE <-> UTF-8 (M-04, M-21). */
#include "mosfix.h"
#include "mos/mos.h"

static uint8_t *conv(enum cg_mos_encoding from, const void *in, size_t n, size_t *out_len,
                     enum cg_err *rc, uint64_t *err)
{
    uint8_t *out = NULL;
    *rc = cg_mos_convert(from, in, n, &out, out_len, err);
    return out;
}

static void test_basic_and_surrogates(void **state)
{
    (void)state;
    /* "A", U+00E9, U+20AC, U+1F525 (surrogate pair D83D DD25) */
    const uint8_t u16[] = {0x00, 0x41, 0x00, 0xE9, 0x20, 0xAC, 0xD8, 0x3D, 0xDD, 0x25};
    const char u8[] = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x94\xA5";
    size_t n = 0;
    enum cg_err rc;
    uint64_t at = 0;
    uint8_t *o = conv(CG_MOS_UCS2BE, u16, sizeof(u16), &n, &rc, &at);
    assert_int_equal(rc, CG_OK);
    assert_int_equal(n, strlen(u8));
    assert_memory_equal(o, u8, n);
    assert_int_equal(o[n], 0); /* NUL-terminated */
    cg_mos_free(o);
    o = conv(CG_MOS_UTF8, u8, strlen(u8), &n, &rc, &at);
    assert_int_equal(rc, CG_OK);
    assert_int_equal(n, sizeof(u16));
    assert_memory_equal(o, u16, n);
    cg_mos_free(o);
    o = conv(CG_MOS_UTF8, "", 0, &n, &rc, &at);
    assert_int_equal(rc, CG_OK);
    assert_int_equal(n, 0);
    cg_mos_free(o);
}

static void test_bom_stripped_once(void **state)
{
    (void)state;
    const uint8_t u16[] = {0xFE, 0xFF, 0x00, 0x41, 0xFE, 0xFF};
    size_t n = 0;
    enum cg_err rc;
    uint64_t at;
    uint8_t *o = conv(CG_MOS_UCS2BE, u16, sizeof(u16), &n, &rc, &at);
    assert_int_equal(rc, CG_OK);
    assert_int_equal(n, 4); /* "A" + U+FEFF kept in the middle */
    assert_memory_equal(o, "A\xEF\xBB\xBF", 4);
    cg_mos_free(o);
    o = conv(CG_MOS_UTF8, "\xEF\xBB\xBFx", 4, &n, &rc, &at);
    assert_int_equal(rc, CG_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(o, "\x00x", 2);
    cg_mos_free(o);
}

struct bad {
    enum cg_mos_encoding from;
    const char *in;
    size_t len;
    uint64_t offset;
};

static void test_invalid_input_reports_offset(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {CG_MOS_UCS2BE, "\x00\x41\xDC\x00", 4, 2},         /* lone low surrogate */
        {CG_MOS_UCS2BE, "\x00\x41\xD8\x3D\x00\x41", 6, 2}, /* high then BMP */
        {CG_MOS_UCS2BE, "\x00\x41\xD8\x3D", 4, 2},         /* high at the end */
        {CG_MOS_UCS2BE, "\x00\x41\x00", 3, 2},             /* odd trailing byte */
        {CG_MOS_UTF8, "ab\x80", 3, 2},                     /* stray continuation */
        {CG_MOS_UTF8, "a\xC0\xAF", 3, 1},                  /* overlong '/' */
        {CG_MOS_UTF8, "a\xE0\x80\xAF", 4, 1},              /* overlong 3-byte */
        {CG_MOS_UTF8, "a\xF0\x80\x80\xAF", 5, 1},          /* overlong 4-byte */
        {CG_MOS_UTF8, "a\xED\xA0\x80", 4, 1},              /* UTF-8 surrogate */
        {CG_MOS_UTF8, "a\xF4\x90\x80\x80", 5, 1},          /* > U+10FFFF */
        {CG_MOS_UTF8, "a\xF5\x80\x80\x80", 5, 1},          /* invalid lead */
        {CG_MOS_UTF8, "ab\xE2\x82", 4, 2},                 /* truncated at the end */
        {CG_MOS_UTF8, "ab\xE2\x82x", 5, 2},                /* truncated mid-stream */
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        size_t n = 0;
        enum cg_err rc;
        uint64_t at = 99;
        uint8_t *o = conv(cases[i].from, cases[i].in, cases[i].len, &n, &rc, &at);
        assert_int_equal(rc, CG_EENCODING);
        assert_null(o);
        if (at != cases[i].offset)
            fail_msg("case %zu: offset %llu, want %llu", i, (unsigned long long)at,
                     (unsigned long long)cases[i].offset);
    }
}

static void test_errors_are_sticky_and_args_checked(void **state)
{
    (void)state;
    struct cg_mos_conv c;
    uint8_t out[16];
    size_t used, made;
    cg_mos_conv_init(&c, CG_MOS_UTF8);
    assert_int_equal(cg_mos_conv_feed(&c, "\xFF", 1, out, sizeof(out), &used, &made),
                     CG_EENCODING);
    assert_int_equal(cg_mos_conv_feed(&c, "a", 1, out, sizeof(out), &used, &made), CG_EENCODING);
    assert_int_equal(cg_mos_conv_finish(&c), CG_EENCODING);
    assert_int_equal(cg_mos_conv_feed(NULL, "a", 1, out, 1, &used, &made), CG_EINVAL);
    assert_int_equal(cg_mos_conv_feed(&c, NULL, 1, out, 1, &used, &made), CG_EINVAL);
    uint8_t *o = NULL;
    size_t n = 0;
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, "a", 1, NULL, &n, NULL), CG_EINVAL);
    assert_int_equal(cg_mos_convert((enum cg_mos_encoding)7, "a", 1, &o, &n, NULL), CG_EINVAL);
    cg_mos_free(NULL);
}

/* Streams `in` split at `split`, then one byte at a time from there, into an
 * output of `room` bytes per call. Returns the output (caller frees). */
static uint8_t *stream(enum cg_mos_encoding from, const uint8_t *in, size_t n, size_t split,
                       size_t room, size_t *out_len)
{
    struct cg_mos_conv c;
    cg_mos_conv_init(&c, from);
    uint8_t *out = malloc(2 * n + 8);
    size_t o = 0, i = 0;
    while (i < n) {
        size_t chunk = i < split ? split - i : 1;
        size_t used = 0, made = 0;
        assert_int_equal(cg_mos_conv_feed(&c, in + i, chunk, out + o, room, &used, &made),
                         CG_OK);
        assert_true(used > 0 || made > 0 || room < 4);
        if (used == 0 && made == 0) {
            assert_int_equal(cg_mos_conv_feed(&c, in + i, chunk, out + o, 4, &used, &made),
                             CG_OK);
            assert_true(used > 0);
        }
        i += used;
        o += made;
    }
    assert_int_equal(cg_mos_conv_finish(&c), CG_OK);
    *out_len = o;
    return out;
}

/* Every fixture: UTF-8 -> UTF-16BE equals the ucs2be/ copy byte for byte and
 * back again (surrogate pairs included), whole and split at every byte. */
static void test_fixtures_round_trip(void **state)
{
    (void)state;
    size_t count = 0;
    struct mosfix *rows = mosfix_load(&count);
    assert_true(count > 90);
    for (size_t r = 0; r < count; r++) {
        size_t n8 = 0, n16 = 0, n = 0;
        uint8_t *u8 = mosfix_read(&rows[r], false, &n8);
        uint8_t *u16 = mosfix_read(&rows[r], true, &n16);
        enum cg_err rc;
        uint64_t at;
        uint8_t *o = conv(CG_MOS_UTF8, u8, n8, &n, &rc, &at);
        assert_int_equal(rc, CG_OK);
        if (n != n16 || memcmp(o, u16, n) != 0)
            fail_msg("%s/%s: UTF-8 -> UTF-16BE differs from the ucs2be copy", rows[r].dir,
                     rows[r].file);
        cg_mos_free(o);
        o = conv(CG_MOS_UCS2BE, u16, n16, &n, &rc, &at);
        assert_int_equal(rc, CG_OK);
        if (n != n8 || memcmp(o, u8, n) != 0)
            fail_msg("%s/%s: UTF-16BE -> UTF-8 differs", rows[r].dir, rows[r].file);
        cg_mos_free(o);
        if (!mosfix_is_large(&rows[r])) {
            /* Every split point for the edge cases (odd offsets and inside
             * surrogate pairs included); the spec examples at a stride. */
            size_t stride = strcmp(rows[r].dir, "edge") == 0 ? 1 : 7;
            for (size_t split = 0; split <= n16; split += split < 64 ? 1 : stride) {
                uint8_t *s = stream(CG_MOS_UCS2BE, u16, n16, split, 1 + split % 5, &n);
                assert_int_equal(n, n8);
                assert_memory_equal(s, u8, n);
                free(s);
            }
            uint8_t *s = stream(CG_MOS_UTF8, u8, n8, n8 / 3, 3, &n);
            assert_int_equal(n, n16);
            assert_memory_equal(s, u16, n);
            free(s);
        }
        free(u8);
        free(u16);
    }
    free(rows);
}

/* The emoji fixture (ERRATA 40) really holds surrogate pairs, never split. */
static void test_emoji_fixture_has_pairs(void **state)
{
    (void)state;
    size_t n = 0;
    uint8_t *u16 =
        tu_read(tu_shared_path("fixtures/mos/edge/ucs2be/text-emoji-outside-bmp.xml"), &n);
    const uint8_t pair[] = {0xD8, 0x3D, 0xDD, 0x25}; /* U+1F525 */
    bool found = false;
    for (size_t i = 0; i + 4 <= n; i += 2)
        found |= memcmp(u16 + i, pair, 4) == 0;
    assert_true(found);
    /* Cut inside the pair: the first half stays pending, no error. */
    struct cg_mos_conv c;
    cg_mos_conv_init(&c, CG_MOS_UCS2BE);
    uint8_t out[8];
    size_t used, made;
    assert_int_equal(cg_mos_conv_feed(&c, pair, 3, out, sizeof(out), &used, &made), CG_OK);
    assert_int_equal(used, 3);
    assert_int_equal(made, 0);
    assert_int_equal(cg_mos_conv_feed(&c, pair + 3, 1, out, sizeof(out), &used, &made), CG_OK);
    assert_int_equal(made, 4);
    assert_memory_equal(out, "\xF0\x9F\x94\xA5", 4);
    assert_int_equal(cg_mos_conv_finish(&c), CG_OK);
    free(u16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_surrogates),
        cmocka_unit_test(test_bom_stripped_once),
        cmocka_unit_test(test_invalid_input_reports_offset),
        cmocka_unit_test(test_errors_are_sticky_and_args_checked),
        cmocka_unit_test(test_fixtures_round_trip),
        cmocka_unit_test(test_emoji_fixture_has_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
