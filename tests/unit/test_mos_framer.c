/* Unit tests for src/mos/framer.c: the MOS TCP stream framer (M-21). */
#include "mosfix.h"
#include "mos/mos.h"

#define MAXEV 64

struct ev {
    enum cg_err rc;
    uint64_t offset;
    size_t len;
    uint8_t *data; /* a copy of the message */
};

struct evs {
    struct ev e[MAXEV];
    size_t n;
};

static void evs_free(struct evs *v)
{
    for (size_t i = 0; i < v->n && i < MAXEV; i++)
        free(v->e[i].data);
    v->n = 0;
}

static void drain(struct cg_mos_framer *f, struct evs *v)
{
    struct cg_mos_frame fr;
    enum cg_err rc;
    while ((rc = cg_mos_framer_next(f, &fr)) != CG_EAGAIN) {
        assert_true(v->n < MAXEV);
        struct ev *e = &v->e[v->n++];
        e->rc = rc;
        e->offset = fr.offset;
        e->len = rc == CG_OK ? fr.len : 0;
        e->data = NULL;
        if (rc == CG_OK) {
            e->data = malloc(fr.len);
            memcpy(e->data, fr.data, fr.len);
        }
    }
}

/* Feeds `in` as chunks: first `first` bytes, then `step` bytes at a time
 * (step 0: the rest at once). Appends finish()'s result as a last event. */
static void frame(enum cg_mos_encoding enc, size_t max, const uint8_t *in, size_t n,
                  size_t first, size_t step, struct evs *v)
{
    struct cg_mos_framer *f = NULL;
    assert_int_equal(cg_mos_framer_new(enc, max, &f), CG_OK);
    v->n = 0;
    size_t i = 0;
    while (i < n) {
        size_t chunk = i == 0 && first > 0 ? first : (step == 0 ? n - i : step);
        if (chunk > n - i)
            chunk = n - i;
        assert_int_equal(cg_mos_framer_feed(f, in + i, chunk), CG_OK);
        i += chunk;
        drain(f, v);
    }
    struct cg_mos_frame fr;
    enum cg_err rc = cg_mos_framer_finish(f, &fr);
    assert_true(v->n < MAXEV);
    v->e[v->n++] = (struct ev){rc, rc == CG_OK ? 0 : fr.offset, 0, NULL};
    cg_mos_framer_free(f);
}

static void assert_same(const struct evs *a, const struct evs *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu events vs %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct ev *x = &a->e[i], *y = &b->e[i];
        if (x->rc != y->rc || x->offset != y->offset || x->len != y->len ||
            (x->len > 0 && memcmp(x->data, y->data, x->len) != 0))
            fail_msg("%s: event %zu differs (%d@%llu vs %d@%llu)", what, i, x->rc,
                     (unsigned long long)x->offset, y->rc, (unsigned long long)y->offset);
    }
}

static size_t count_messages(const struct evs *v)
{
    size_t m = 0;
    for (size_t i = 0; i < v->n; i++)
        m += v->e[i].rc == CG_OK && v->e[i].len > 0;
    return m;
}

/* Every fixture, both encodings: whole = split = byte by byte.
 * Messages yield exactly one message (streams: four), fragments junk. */
static void test_fixtures_every_split(void **state)
{
    (void)state;
    size_t count = 0;
    struct mosfix *rows = mosfix_load(&count);
    for (size_t r = 0; r < count; r++) {
        for (int u = 0; u < 2; u++) {
            enum cg_mos_encoding enc = u ? CG_MOS_UCS2BE : CG_MOS_UTF8;
            size_t n = 0;
            uint8_t *in = mosfix_read(&rows[r], u, &n);
            struct evs whole, part;
            frame(enc, 0, in, n, 0, 0, &whole);
            size_t want = mosfix_is_stream(&rows[r]) ? 4 : mosfix_is_fragment(&rows[r]) ? 0 : 1;
            if (count_messages(&whole) != want)
                fail_msg("%s/%s (%s): %zu messages, want %zu", rows[r].dir, rows[r].file,
                         u ? "ucs2be" : "utf8", count_messages(&whole), want);
            if (want > 0) /* the stream ended cleanly */
                assert_int_equal(whole.e[whole.n - 1].rc, CG_OK);
            else
                assert_int_equal(whole.e[0].rc, CG_EJUNK);
            if (mosfix_is_large(&rows[r])) {
                static const size_t steps[] = {1, 7, 4096, 65536};
                for (size_t s = 0; s < CG_ARRAY_LEN(steps); s++) {
                    frame(enc, 0, in, n, 0, steps[s], &part);
                    assert_same(&whole, &part, rows[r].file);
                    evs_free(&part);
                }
            } else {
                /* Every split point for the edge cases and streams; the
                 * plain spec examples every 5th (the suite runs under ASan
                 * on a shared machine). One byte at a time for all. */
                size_t stride = strcmp(rows[r].dir, "edge") == 0 ? 1 : 5;
                for (size_t split = 1; split < n; split += stride) {
                    frame(enc, 0, in, n, split, 0, &part);
                    assert_same(&whole, &part, rows[r].file);
                    evs_free(&part);
                }
                frame(enc, 0, in, n, 0, 1, &part);
                assert_same(&whole, &part, rows[r].file);
                evs_free(&part);
            }
            evs_free(&whole);
            free(in);
        }
    }
    free(rows);
}

/* The two stream fixtures: 4 messages in order, whitespace never junk. */
static void test_streams_four_messages(void **state)
{
    (void)state;
    static const char *files[] = {"stream-crlf-whitespace.xmlstream",
                                  "stream-coalesced-no-separator.xmlstream"};
    static const char *names[] = {"heartbeat", "roAck", "keepAlive", "reqMachInfo"};
    for (size_t i = 0; i < 2; i++) {
        for (int u = 0; u < 2; u++) {
            char rel[128];
            snprintf(rel, sizeof(rel), "fixtures/mos/edge/%s%s", u ? "ucs2be/" : "", files[i]);
            size_t n = 0;
            uint8_t *in = tu_read(tu_shared_path(rel), &n);
            enum cg_mos_encoding enc = u ? CG_MOS_UCS2BE : CG_MOS_UTF8;
            struct evs v;
            frame(enc, 0, in, n, 0, 0, &v);
            assert_int_equal(v.n, 5);
            for (size_t m = 0; m < 4; m++) {
                assert_int_equal(v.e[m].rc, CG_OK);
                struct cg_mos_envelope env;
                assert_int_equal(cg_mos_envelope_parse(enc, v.e[m].data, v.e[m].len, &env, NULL),
                                 CG_OK);
                assert_string_equal(env.name, names[m]);
                if (u)
                    assert_int_equal(v.e[m].offset % 2, 0); /* even offsets in UCS-2BE */
            }
            assert_int_equal(v.e[4].rc, CG_OK);
            evs_free(&v);
            free(in);
        }
    }
}

static void utf8_events(const char *s, size_t max, struct evs *v)
{
    frame(CG_MOS_UTF8, max, (const uint8_t *)s, strlen(s), 0, 0, v);
}

/* `</mos>` in CDATA, comments, PIs and attribute values does not end the
 * message; nested <mos> elements are counted (edge/mosPayload-*). */
static void test_lexical_states(void **state)
{
    (void)state;
    static const char *one[] = {
        "<mos><a><![CDATA[<mos><mosID>fake</mosID></mos> </mos>]]></a></mos>",
        "<mos><!-- </mos> --><a/></mos>",
        "<mos><?pi </mos> ?><a/></mos>",
        "<mos><a x=\"</mos>\" y='</mos>'/></mos>",
        "<mos><a><mos><b/></mos></a></mos>",
        "<mos ><a/></mos >",
        "<mos\r\n><a/></mos\t>",
        "<mos><mosID>x</mosID><a>]]]></a><!----></mos>",
        "<mos><a><![CDATA[]]]]></a></mos>",
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(one); i++) {
        struct evs v;
        utf8_events(one[i], 0, &v);
        if (v.n != 2 || v.e[0].rc != CG_OK || v.e[0].len != strlen(one[i]))
            fail_msg("case %zu: not exactly one whole message", i);
        evs_free(&v);
    }
    /* <mosID>, <mosPayload> and <mosx> are not <mos>. */
    struct evs v;
    const char *notmos = "<mos><mosx><mosPayload></mosPayload></mosx></mos>";
    utf8_events(notmos, 0, &v);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.e[0].len, strlen(notmos));
    evs_free(&v);
}

static void test_junk_reported_and_resynced(void **state)
{
    (void)state;
    struct evs v;
    /* XML declaration, comments and whitespace between messages are fine. */
    utf8_events("<?xml version=\"1.0\"?>\r\n<!-- hi --> <mos><a/></mos> \t\r\n", 0, &v);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.e[0].rc, CG_OK);
    assert_int_equal(v.e[0].offset, 35);
    evs_free(&v);
    /* Junk: one report per run, at its first byte; the next message survives. */
    utf8_events("xx yy<mos><a/></mos>junk<b>more</b><mos><c/></mos><mosExternalMetadata/>", 0,
                &v);
    assert_int_equal(v.n, 6);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(v.e[0].offset, 0);
    assert_int_equal(v.e[1].rc, CG_OK);
    assert_int_equal(v.e[1].offset, 5);
    assert_int_equal(v.e[2].rc, CG_EJUNK);
    assert_int_equal(v.e[2].offset, 20);
    assert_int_equal(v.e[3].rc, CG_OK);
    assert_int_equal(v.e[3].offset, 35);
    assert_int_equal(v.e[4].rc, CG_EJUNK); /* a fragment is not a message */
    assert_int_equal(v.e[4].offset, 50);
    assert_int_equal(v.e[5].rc, CG_OK);
    evs_free(&v);
    /* A '<' that ends junk may itself start a message. */
    utf8_events("<<mos><a/></mos>", 0, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(v.e[1].rc, CG_OK);
    assert_int_equal(v.e[1].offset, 1);
    evs_free(&v);
}

static void test_too_big_then_resync(void **state)
{
    (void)state;
    char big[600];
    int n = snprintf(big, sizeof(big), "<mos><a>%0400d</a></mos> <mos><b/></mos>", 0);
    assert_true(n > 0);
    struct evs v;
    utf8_events(big, 100, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.e[0].rc, CG_ETOOBIG);
    assert_int_equal(v.e[0].offset, 0);
    assert_int_equal(v.e[1].rc, CG_OK);
    assert_int_equal(v.e[1].len, 15);
    assert_memory_equal(v.e[1].data, "<mos><b/></mos>", 15);
    evs_free(&v);
    /* Exactly at the limit is fine; one byte more is not. */
    utf8_events("<mos><a/></mos>", 15, &v);
    assert_int_equal(v.e[0].rc, CG_OK);
    evs_free(&v);
    utf8_events("<mos><a/></mos>", 14, &v);
    assert_int_equal(v.e[0].rc, CG_ETOOBIG);
    assert_int_equal(v.e[1].rc, CG_OK); /* dropped completely: stream ends clean */
    evs_free(&v);
    /* The 4 MB UCS-2BE roCreate against a 4 MiB cap: 4,198,186 bytes pass
     * 4,194,304 (see edge/MANIFEST.tsv), then the stream resynchronises. */
    size_t len = 0;
    uint8_t *in =
        tu_read(tu_shared_path("fixtures/mos/edge/ucs2be/roCreate-large-2MB.xml"), &len);
    frame(CG_MOS_UCS2BE, 4u << 20, in, len, 0, 65536, &v);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.e[0].rc, CG_ETOOBIG);
    assert_int_equal(v.e[1].rc, CG_OK);
    evs_free(&v);
    frame(CG_MOS_UCS2BE, 0, in, len, 0, 65536, &v);
    assert_int_equal(v.e[0].rc, CG_OK);
    assert_int_equal(v.e[0].len, 4198186); /* up to `</mos>`, CRLF after it dropped */
    evs_free(&v);
    free(in);
}

static void test_finish_states(void **state)
{
    (void)state;
    struct evs v;
    utf8_events("<mos><a>", 0, &v);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.e[0].rc, CG_EAGAIN);
    assert_int_equal(v.e[0].offset, 0);
    evs_free(&v);
    utf8_events("  <mo", 0, &v);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(v.e[0].offset, 2);
    evs_free(&v);
    const uint8_t odd[] = {0x00, 0x20, 0x00};
    frame(CG_MOS_UCS2BE, 0, odd, sizeof(odd), 0, 0, &v);
    assert_int_equal(v.e[0].rc, CG_EENCODING);
    assert_int_equal(v.e[0].offset, 2);
    evs_free(&v);
    /* A UCS-2BE '<' is only ever the low byte of 00 3C at an even offset:
     * U+3C00 and U+003C split across units are not markup. */
    const uint8_t tricky[] = {0x3C, 0x00, 0x00, 0x3C, 0x00, 0x6D, 0x00, 0x6F, 0x00, 0x73,
                              0x00, 0x3E, 0x00, 0x3C, 0x00, 0x61, 0x00, 0x2F, 0x00, 0x3E,
                              0x00, 0x3C, 0x00, 0x2F, 0x00, 0x6D, 0x00, 0x6F, 0x00, 0x73,
                              0x00, 0x3E};
    frame(CG_MOS_UCS2BE, 0, tricky, sizeof(tricky), 0, 0, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(v.e[1].rc, CG_OK);
    assert_int_equal(v.e[1].offset, 2);
    evs_free(&v);
    struct cg_mos_framer *f = NULL;
    assert_int_equal(cg_mos_framer_new((enum cg_mos_encoding)9, 0, &f), CG_EINVAL);
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 0, NULL), CG_EINVAL);
    cg_mos_framer_free(NULL);
}

/* Regression (found by fuzz_mos_framer): a feed ending just after a whole
 * tag made the framer read one byte past the input, a stale byte left in its
 * buffer by an earlier message. Plant a '<' there and check it is ignored. */
static void test_never_reads_past_input(void **state)
{
    (void)state;
    struct cg_mos_framer *f = NULL;
    struct cg_mos_frame fr;
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 0, &f), CG_OK);
    const char *m1 = "<mos><mosID><</mosID></mos>"; /* byte 12 is '<' */
    assert_int_equal(cg_mos_framer_feed(f, m1, strlen(m1)), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    assert_int_equal(cg_mos_framer_feed(f, "<mos><mosID>", 12), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    const char *b = "mos>a</mosID><k/></mos>"; /* text "mos>a", not a nested <mos> */
    assert_int_equal(cg_mos_framer_feed(f, b, strlen(b)), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(fr.len, 12 + strlen(b));
    assert_int_equal(cg_mos_framer_finish(f, &fr), CG_OK);
    cg_mos_framer_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexical_states),
        cmocka_unit_test(test_junk_reported_and_resynced),
        cmocka_unit_test(test_too_big_then_resync),
        cmocka_unit_test(test_finish_states),
        cmocka_unit_test(test_never_reads_past_input),
        cmocka_unit_test(test_streams_four_messages),
        cmocka_unit_test(test_fixtures_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
