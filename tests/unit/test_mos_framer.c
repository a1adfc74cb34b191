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
        e->len = rc == CG_OK || rc == CG_EJUNK ? fr.len : 0; /* junk: bytes skipped */
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
    v->e[v->n++] = (struct ev){rc, rc == CG_OK ? 0 : fr.offset, rc == CG_EJUNK ? fr.len : 0, NULL};
    cg_mos_framer_free(f);
}

static void assert_same(const struct evs *a, const struct evs *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu events vs %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct ev *x = &a->e[i], *y = &b->e[i];
        if (x->rc != y->rc || x->offset != y->offset || x->len != y->len ||
            (x->data != NULL && memcmp(x->data, y->data, x->len) != 0))
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

static void assert_junk_run(const struct evs *v, size_t at, uint64_t offset, size_t skipped);

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
    /* Junk: reported where each run begins, then with the bytes it skipped
     * when the next message starts (or the stream ends); messages survive. */
    utf8_events("xx yy<mos><a/></mos>junk<b>more</b><mos><c/></mos><mosExternalMetadata/>", 0,
                &v);
    assert_int_equal(v.n, 8);
    assert_junk_run(&v, 0, 0, 5);
    assert_int_equal(v.e[2].rc, CG_OK);
    assert_int_equal(v.e[2].offset, 5);
    assert_junk_run(&v, 3, 20, 15);
    assert_int_equal(v.e[5].rc, CG_OK);
    assert_int_equal(v.e[5].offset, 35);
    assert_junk_run(&v, 6, 50, 22); /* a fragment is not a message; finish() counts it */
    evs_free(&v);
    /* A '<' that ends junk may itself start a message. */
    utf8_events("<<mos><a/></mos>", 0, &v);
    assert_int_equal(v.n, 4);
    assert_junk_run(&v, 0, 0, 1);
    assert_int_equal(v.e[2].rc, CG_OK);
    assert_int_equal(v.e[2].offset, 1);
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
    assert_int_equal(v.n, 4);
    assert_junk_run(&v, 0, 0, 2);
    assert_int_equal(v.e[2].rc, CG_OK);
    assert_int_equal(v.e[2].offset, 2);
    evs_free(&v);
    struct cg_mos_framer *f = NULL;
    assert_int_equal(cg_mos_framer_new((enum cg_mos_encoding)9, 0, &f), CG_EINVAL);
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 0, NULL), CG_EINVAL);
    cg_mos_framer_free(NULL);
}


/* UTF-16BE of an ASCII string into out; returns the byte count. */
static size_t u16(const char *s, uint8_t *out)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = 0;
        out[2 * i + 1] = (uint8_t)s[i];
    }
    return 2 * n;
}

/* Frames `in` whole, then split at every byte and fed one byte at a time:
 * the events must not depend on the split. */
static void frame_every_split(enum cg_mos_encoding enc, const uint8_t *in, size_t n,
                              struct evs *v)
{
    frame(enc, 0, in, n, 0, 0, v);
    struct evs part;
    for (size_t split = 1; split < n; split++) {
        frame(enc, 0, in, n, split, 0, &part);
        assert_same(v, &part, "split");
        evs_free(&part);
    }
    frame(enc, 0, in, n, 0, 1, &part);
    assert_same(v, &part, "byte by byte");
    evs_free(&part);
}

#define M1 "<mos><mosID>D</mosID><ncsID>N</ncsID><messageID>1</messageID><heartbeat/></mos>"
#define M2 "<mos><mosID>D</mosID><ncsID>N</ncsID><messageID>2</messageID><roReq/></mos>"

/* A junk run is reported twice: where it begins (len 0), and when the next
 * message starts, how many bytes were skipped (len > 0). */
static void assert_junk_run(const struct evs *v, size_t at, uint64_t offset, size_t skipped)
{
    assert_int_equal(v->e[at].rc, CG_EJUNK);
    assert_int_equal(v->e[at].offset, offset);
    assert_int_equal(v->e[at].len, 0);
    assert_int_equal(v->e[at + 1].rc, CG_EJUNK);
    assert_int_equal(v->e[at + 1].offset, offset);
    assert_int_equal(v->e[at + 1].len, skipped);
}

/* Issue 12 item 2: odd-length junk on a UCS-2BE stream put the framer on the
 * wrong byte parity and every later message was lost. It must re-align (a
 * `<mos` at either parity) and say how many bytes it skipped, and where. */
static void test_ucs2_odd_junk_realigns(void **state)
{
    (void)state;
    uint8_t in[1024];
    size_t n = 0;
    memcpy(in, "abc", 3); /* three stray bytes */
    n = 3;
    size_t l1 = u16(M1, in + n);
    n += l1;
    n += u16("\r\n", in + n);
    size_t l2 = u16(M2, in + n);
    n += l2;
    struct evs v;
    frame_every_split(CG_MOS_UCS2BE, in, n, &v);
    assert_int_equal(v.n, 5);
    assert_junk_run(&v, 0, 0, 3);
    assert_int_equal(v.e[2].rc, CG_OK);
    assert_int_equal(v.e[2].offset, 3);
    assert_int_equal(v.e[2].len, l1);
    assert_int_equal(v.e[3].rc, CG_OK);
    assert_int_equal(v.e[3].offset, 3 + l1 + 4);
    assert_int_equal(v.e[3].len, l2);
    assert_int_equal(v.e[4].rc, CG_OK); /* the stream ended cleanly */
    evs_free(&v);
}

/* One stray byte 00 makes the aligned reader see 00 00 | 3C 00 | 6D ...: the
 * `<` of the next message straddles the junk unit. Then back to the other
 * parity: one more stray byte after the first message. */
static void test_ucs2_realigns_twice(void **state)
{
    (void)state;
    uint8_t in[1024];
    size_t n = 0;
    in[n++] = 0x00;
    size_t l1 = u16(M1, in + n);
    n += l1;
    in[n++] = 0xff;
    size_t l2 = u16(M2, in + n);
    n += l2;
    struct evs v;
    frame_every_split(CG_MOS_UCS2BE, in, n, &v);
    assert_int_equal(v.n, 7);
    assert_junk_run(&v, 0, 0, 1);
    assert_int_equal(v.e[2].rc, CG_OK);
    assert_int_equal(v.e[2].offset, 1);
    assert_int_equal(v.e[2].len, l1);
    assert_junk_run(&v, 3, 1 + l1, 1);
    assert_int_equal(v.e[5].rc, CG_OK);
    assert_int_equal(v.e[5].offset, 2 + l1);
    assert_int_equal(v.e[5].len, l2);
    assert_memory_equal(v.e[5].data, in + 2 + l1, l2);
    assert_int_equal(v.e[6].rc, CG_OK);
    evs_free(&v);
}

/* A UTF-8 message sent to a UCS-2BE port (odd length), then UCS-2BE
 * messages: the UTF-8 one is junk, the others all arrive. Markup-looking
 * junk at the odd parity that is not <mos> does not fool it either. */
static void test_ucs2_after_utf8_message(void **state)
{
    (void)state;
    uint8_t in[2048];
    size_t n = 0;
    const char *u8 = M1 "x"; /* odd length */
    memcpy(in, u8, strlen(u8));
    n = strlen(u8);
    in[n++] = 0x00; /* 00 3C 00 62: a '<b' at the odd parity, not a message */
    n += u16("<b>", in + n);
    size_t l1 = u16(M1, in + n);
    size_t at1 = n;
    n += l1;
    size_t l2 = u16(M2, in + n);
    size_t at2 = n;
    n += l2;
    struct evs v;
    frame_every_split(CG_MOS_UCS2BE, in, n, &v);
    assert_int_equal(v.n, 5);
    assert_junk_run(&v, 0, 0, at1);
    assert_int_equal(v.e[2].offset, at1);
    assert_int_equal(v.e[2].len, l1);
    assert_int_equal(v.e[3].offset, at2);
    assert_int_equal(v.e[3].len, l2);
    assert_int_equal(v.e[4].rc, CG_OK);
    evs_free(&v);
}

/* M-21 after a re-alignment: `</mos>` in CDATA does not end the message, and
 * a message still ends on a unit boundary of its own parity. */
static void test_ucs2_realigned_cdata(void **state)
{
    (void)state;
    uint8_t in[1024];
    size_t n = 0;
    memcpy(in, "\x01\x02\x03", 3);
    n = 3;
    const char *m = "<mos><a><![CDATA[</mos>]]></a></mos>";
    size_t l = u16(m, in + n);
    n += l;
    struct evs v;
    frame_every_split(CG_MOS_UCS2BE, in, n, &v);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.e[2].rc, CG_OK);
    assert_int_equal(v.e[2].offset, 3);
    assert_int_equal(v.e[2].len, l);
    evs_free(&v);
}

/* Junk at the end of a stream is reported by finish() with its length. */
static void test_junk_at_end_counted(void **state)
{
    (void)state;
    struct evs v;
    const uint8_t in[] = {'a', 'b', 'c'};
    frame(CG_MOS_UCS2BE, 0, in, sizeof(in), 0, 0, &v);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(v.e[0].len, 0);
    assert_int_equal(v.e[1].rc, CG_EJUNK); /* finish(): 3 bytes from 0 */
    assert_int_equal(v.e[1].offset, 0);
    evs_free(&v);
    struct cg_mos_framer *f = NULL;
    struct cg_mos_frame fr;
    assert_int_equal(cg_mos_framer_new(CG_MOS_UTF8, 0, &f), CG_OK);
    assert_int_equal(cg_mos_framer_feed(f, "<mos/>junk!", 11), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_OK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EJUNK);
    assert_int_equal(cg_mos_framer_next(f, &fr), CG_EAGAIN);
    assert_int_equal(cg_mos_framer_finish(f, &fr), CG_EJUNK);
    assert_int_equal(fr.offset, 6);
    assert_int_equal(fr.len, 5);
    cg_mos_framer_free(f);
}

/* Issue 12 item 3: a leading byte order mark (UCS-2BE FE FF, UTF-8 EF BB BF)
 * is not junk; it is dropped quietly, also before later messages. A BOM of
 * the other byte order, or a cut one, is junk. */
static void test_bom_accepted_quietly(void **state)
{
    (void)state;
    uint8_t in[1024];
    size_t n = 0;
    in[n++] = 0xFE;
    in[n++] = 0xFF;
    size_t l1 = u16(M1, in + n);
    n += l1;
    in[n++] = 0xFE;
    in[n++] = 0xFF;
    size_t l2 = u16(M2, in + n);
    n += l2;
    struct evs v;
    frame_every_split(CG_MOS_UCS2BE, in, n, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.e[0].rc, CG_OK);
    assert_int_equal(v.e[0].offset, 2);
    assert_int_equal(v.e[1].rc, CG_OK);
    assert_int_equal(v.e[1].offset, 4 + l1);
    assert_int_equal(v.e[2].rc, CG_OK);
    evs_free(&v);
    char u8[512];
    int k = snprintf(u8, sizeof(u8), "\xEF\xBB\xBF" M1 "\r\n\xEF\xBB\xBF" M2);
    frame_every_split(CG_MOS_UTF8, (const uint8_t *)u8, (size_t)k, &v);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.e[0].rc, CG_OK);
    assert_int_equal(v.e[0].offset, 3);
    assert_int_equal(v.e[1].rc, CG_OK);
    assert_int_equal(v.e[2].rc, CG_OK);
    evs_free(&v);
    /* Little-endian FF FE on a UCS-2BE stream, and a cut UTF-8 BOM: junk. */
    n = 0;
    in[n++] = 0xFF;
    in[n++] = 0xFE;
    n += u16(M1, in + n);
    frame(CG_MOS_UCS2BE, 0, in, n, 0, 0, &v);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(count_messages(&v), 1);
    evs_free(&v);
    utf8_events("\xEF\xBB" M1, 0, &v);
    assert_int_equal(v.e[0].rc, CG_EJUNK);
    assert_int_equal(count_messages(&v), 1);
    evs_free(&v);
    utf8_events("\xEF\xBB", 0, &v);
    assert_int_equal(v.e[0].rc, CG_EJUNK); /* finish(): a cut BOM */
    evs_free(&v);
}

/* Start tags with many attributes go through stag_run, not the state
 * machine: values holding '>', '/', quotes of the other kind and `</mos>`,
 * an empty <mos .../> nested inside, split at every byte in both encodings. */
static void test_attribute_heavy_tags(void **state)
{
    (void)state;
    char m[4096];
    size_t k = (size_t)snprintf(m, sizeof(m), "<mos><roReq");
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(m + k, sizeof(m) - k, i % 3 == 0   ? " a%d=\"/>'</mos>\""
                                                    : i % 3 == 1 ? " b%d = '\"/>'"
                                                                 : "\tc%d=\"\"", i);
    k += (size_t)snprintf(m + k, sizeof(m) - k, "><mos x='>' y=\"</mos>\" /><z a='1'/ ></roReq></mos>");
    uint8_t in[16384];
    for (int u = 0; u < 2; u++) {
        size_t n = u ? u16(m, in) : k;
        if (!u)
            memcpy(in, m, k);
        memcpy(in + n, u ? (const uint8_t *)"\0<\0m\0o\0s\0/\0>" : (const uint8_t *)"<mos/>",
               u ? 12 : 6);
        n += u ? 12 : 6;
        struct evs v;
        frame_every_split(u ? CG_MOS_UCS2BE : CG_MOS_UTF8, in, n, &v);
        assert_int_equal(v.n, 3);
        assert_int_equal(v.e[0].rc, CG_OK);
        assert_int_equal(v.e[0].len, u ? 2 * k : k);
        assert_int_equal(v.e[1].rc, CG_OK);
        assert_int_equal(v.e[1].len, u ? 12 : 6);
        evs_free(&v);
    }
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
        cmocka_unit_test(test_ucs2_odd_junk_realigns),
        cmocka_unit_test(test_ucs2_realigns_twice),
        cmocka_unit_test(test_ucs2_after_utf8_message),
        cmocka_unit_test(test_ucs2_realigned_cdata),
        cmocka_unit_test(test_junk_at_end_counted),
        cmocka_unit_test(test_bom_accepted_quietly),
        cmocka_unit_test(test_attribute_heavy_tags),
        cmocka_unit_test(test_streams_four_messages),
        cmocka_unit_test(test_fixtures_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
