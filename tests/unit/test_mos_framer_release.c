/* Unit tests for src/mos/framer.c: a buffer grown for a big message goes back
 * to the allocator once everything fed has been consumed (issue 19: the 2-hour
 * soak's RSS grew with every MOS 2.x connection that had carried a big
 * message), and never while a message is still being read. */
#include "testutil.h"
#include "mos/mos.h"

#include <stdlib.h>
#include <string.h>

/* "<mos><p>xxx…</p></mos>" of n bytes in enc (UTF-16BE: 2 bytes a char). */
static uint8_t *message(enum cg_mos_encoding enc, size_t chars, size_t *len)
{
    static const char head[] = "<mos><p>", tail[] = "</p></mos>";
    size_t hl = strlen(head), tl = strlen(tail), w = enc == CG_MOS_UCS2BE ? 2 : 1;
    assert_true(chars > hl + tl);
    uint8_t *m = calloc(chars, w);
    assert_non_null(m);
    for (size_t i = 0; i < chars; i++) {
        char c = i < hl ? head[i] : i >= chars - tl ? tail[i - (chars - tl)] : 'x';
        m[i * w + w - 1] = (uint8_t)c;
    }
    *len = chars * w;
    return m;
}

static void feed_all(struct cg_mos_framer *f, const uint8_t *m, size_t len, size_t step,
                     size_t *frames)
{
    struct cg_mos_frame fr;
    enum cg_err rc;
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        assert_int_equal(cg_mos_framer_feed(f, m + i, n), CG_OK);
        while ((rc = cg_mos_framer_next(f, &fr)) != CG_EAGAIN) {
            assert_int_equal(rc, CG_OK);
            assert_int_equal(fr.len, len);
            assert_memory_equal(fr.data, m, len);
            ++*frames;
        }
        if (i + n < len) /* mid-message: the bytes so far are kept */
            assert_true(cg__mos_framer_capacity(f) >= i + n);
    }
}

static void big_then_idle(enum cg_mos_encoding enc)
{
    struct cg_mos_framer *f = NULL;
    assert_int_equal(cg_mos_framer_new(enc, 4u << 20, &f), CG_OK);
    size_t blen, slen, frames = 0;
    uint8_t *big = message(enc, 600 * 1024, &blen);
    uint8_t *small = message(enc, 300, &slen);
    feed_all(f, big, blen, 65536, &frames);
    assert_int_equal(frames, 1);
    assert_true(cg__mos_framer_capacity(f) <= CG__MOS_FRAMER_KEEP); /* given back */
    frames = 0;
    feed_all(f, small, slen, slen, &frames);
    assert_int_equal(frames, 1);
    assert_true(cg__mos_framer_capacity(f) <= CG__MOS_FRAMER_KEEP);
    /* a big one again: it grows again and the message is whole */
    frames = 0;
    feed_all(f, big, blen, 100000, &frames);
    assert_int_equal(frames, 1);
    assert_true(cg__mos_framer_capacity(f) <= CG__MOS_FRAMER_KEEP);
    free(big);
    free(small);
    cg_mos_framer_free(f);
}

static void test_released_utf8(void **state)
{
    (void)state;
    big_then_idle(CG_MOS_UTF8);
}

static void test_released_ucs2be(void **state)
{
    (void)state;
    big_then_idle(CG_MOS_UCS2BE);
}

/* Two big messages in one feed, the second cut short: the first is given,
 * the buffer keeps the second's start (not released), and stream offsets
 * stay right across a release. */
static void test_kept_while_partial(void **state)
{
    (void)state;
    struct cg_mos_framer *f = NULL;
    struct cg_mos_frame fr;
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 4u << 20, &f), CG_OK);
    size_t blen;
    uint8_t *big = message(CG_MOS_UTF8, 200 * 1024, &blen);
    uint8_t *two = malloc(2 * blen);
    assert_non_null(two);
    memcpy(two, big, blen);
    memcpy(two + blen, big, blen);
    assert_int_equal(cg_mos_framer_feed(f, two, blen + 1000), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(fr.offset, 0);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    assert_true(cg__mos_framer_capacity(f) > CG__MOS_FRAMER_KEEP); /* 1000 bytes alive */
    assert_int_equal(cg_mos_framer_feed(f, two + blen + 1000, blen - 1000), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(fr.offset, blen);
    assert_int_equal(fr.len, blen);
    assert_memory_equal(fr.data, big, blen);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    assert_true(cg__mos_framer_capacity(f) <= CG__MOS_FRAMER_KEEP);
    /* after the release, the next message's offset counts on from 2 x blen */
    assert_int_equal(cg_mos_framer_feed(f, big, blen), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(fr.offset, 2 * blen);
    free(two);
    free(big);
    cg_mos_framer_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_released_utf8),
        cmocka_unit_test(test_released_ucs2be),
        cmocka_unit_test(test_kept_while_partial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
