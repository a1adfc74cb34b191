#define _GNU_SOURCE /* memmem */
/* Issue 13 items 3, 4 and 6: a message's bytes kept in the encoding they came
 * in (M-04, M-21), read in place, wrapped once in the encoding the next peer
 * reads; the journal's format 3 (the encoding of each record) and its
 * migration from format 2; the framer read into without a copy. */
#include "testutil.h"
#include "mos/mos.h"
#include "mos4/mos4.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* UTF-8 -> UCS-2BE through the public converter (the reference). */
static uint8_t *ucs2(const char *s, size_t *n)
{
    uint8_t *out = NULL;
    assert_int_equal(cg_mos_convert(CG_MOS_UTF8, s, strlen(s), &out, n, NULL), CG_OK);
    return out;
}

struct fixture {
    struct cg_mos_endpoint ep;
    struct mos4_peer peer, *peers[1];
    struct mos4_lane *lane;
};

static void fixture_init(struct fixture *f, bool legacy, enum cg_mos_encoding enc)
{
    memset(f, 0, sizeof(*f));
    f->ep.cfg.role = CG_MOS_ROLE_NCS;
    snprintf(f->ep.cfg.id, sizeof(f->ep.cfg.id), "%s", "ncs<1>");
    f->ep.cfg.max_message = 1u << 20;
    f->ep.cfg.max_queue = 8;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "%s", "d\xc3\xa9v"); /* "dév": not ASCII */
    f->peer.legacy = legacy;
    f->peer.legacy_enc = enc;
    f->peer.text_frames = !legacy && enc == CG_MOS_UTF8;
    f->peer.channels = CG_MOS_CH_RO;
    f->peers[0] = &f->peer;
    f->ep.peers = f->peers;
    f->ep.npeers = 1;
    for (int ch = 0; ch < CG_MOS4_NCH; ch++)
        for (int d = 0; d < 2; d++) {
            f->peer.lanes[ch][d].peer = &f->peer;
            f->peer.lanes[ch][d].ch = ch;
            f->peer.lanes[ch][d].dir = (enum cg_mos_dir)d;
            f->peer.lanes[ch][d].jfd = -1;
        }
    f->lane = &f->peer.lanes[1][CG_MOS_OUT];
}

static const char elem8[] = "<roReq><roID>\xe2\x82\xac 5 &amp; \xf0\x9f\x8e\xac</roID></roReq>";
static const char want8[] = "<mos><mosID>d\xc3\xa9v</mosID><ncsID>ncs&lt;1&gt;</ncsID>"
                            "<messageID>0x1F</messageID><roReq><roID>\xe2\x82\xac 5 &amp; "
                            "\xf0\x9f\x8e\xac</roID></roReq></mos>";

/* The envelope around the element in the encoding asked for, whatever the
 * element came in: byte for byte what converting the UTF-8 result gives. */
static void test_wrap_in_any_encoding(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, true, CG_MOS_UCS2BE);
    size_t e16n, w16n;
    uint8_t *e16 = ucs2(elem8, &e16n), *w16 = ucs2(want8, &w16n);
    static const enum cg_mos_encoding encs[] = {CG_MOS_UTF8, CG_MOS_UCS2BE};
    for (int from = 0; from < 2; from++)
        for (int to = 0; to < 2; to++) {
            struct cg_buf b;
            cg__buf_init(&b, 0);
            const void *e = encs[from] == CG_MOS_UTF8 ? (const void *)elem8 : e16;
            size_t en = encs[from] == CG_MOS_UTF8 ? strlen(elem8) : e16n;
            assert_int_equal(cg__mos4_wrap_enc(f.lane, encs[to], encs[from], e, en, "0x1F", &b),
                             CG_OK);
            if (encs[to] == CG_MOS_UTF8) {
                assert_int_equal(b.len, strlen(want8));
                assert_memory_equal(b.data, want8, b.len);
            } else {
                assert_int_equal(b.len, w16n);
                assert_memory_equal(b.data, w16, w16n);
            }
            cg__buf_free(&b);
        }
    /* no messageID (M-11): none written */
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__mos4_wrap_enc(f.lane, CG_MOS_UCS2BE, CG_MOS_UCS2BE, e16, e16n, "", &b),
                     CG_OK);
    uint8_t *back = NULL;
    size_t bn = 0;
    assert_int_equal(cg_mos_convert(CG_MOS_UCS2BE, b.data, b.len, &back, &bn, NULL), CG_OK);
    assert_null(strstr((char *)back, "messageID"));
    cg_mos_free(back);
    cg__buf_free(&b);
    /* an element that is not UTF-16 is refused, never half converted */
    cg__buf_init(&b, 0);
    static const uint8_t lone[] = {0, '<', 0xD8, 0x00, 0, '/', 0, '>'};
    assert_int_equal(cg__mos4_wrap_enc(f.lane, CG_MOS_UTF8, CG_MOS_UCS2BE, lone, sizeof(lone),
                                       "1", &b),
                     CG_EENCODING);
    cg__buf_free(&b);
    cg_mos_free(e16);
    cg_mos_free(w16);
}

static void test_encoding_of_held_bytes(void **state)
{
    (void)state;
    size_t n;
    uint8_t *u = ucs2(" <mos/>", &n);
    assert_int_equal(cg__mos4_enc_of(u, n), CG_MOS_UCS2BE);
    assert_int_equal(cg__mos4_enc_of("\xfe\xff\x00<", 4), CG_MOS_UCS2BE); /* a BOM */
    assert_int_equal(cg__mos4_enc_of("<mos/>", 6), CG_MOS_UTF8);
    assert_int_equal(cg__mos4_enc_of("\xef\xbb\xbf<mos/>", 9), CG_MOS_UTF8);
    assert_int_equal(cg__mos4_enc_of("", 0), CG_MOS_UTF8);
    cg_mos_free(u);
    struct fixture f;
    fixture_init(&f, true, CG_MOS_UTF8);
    assert_int_equal(cg__mos4_lane_enc(f.lane), CG_MOS_UTF8);
    fixture_init(&f, false, CG_MOS_UCS2BE);
    assert_int_equal(cg__mos4_lane_enc(f.lane), CG_MOS_UCS2BE); /* M-04: binary */
    f.peer.text_frames = true;
    assert_int_equal(cg__mos4_lane_enc(f.lane), CG_MOS_UTF8);
}

/* An answer's NACK read in UCS-2BE in place (no conversion). */
static void test_nack_in_ucs2(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"mosAck", "<mos><mosAck><objID>1</objID><status>ACK</status></mosAck></mos>", "0"},
        {"mosAck", "<mos><mosAck><objID>1</objID><status> NACK </status></mosAck></mos>", "1"},
        {"roAck", "<mos><roAck><roID>R</roID><roStatus>OK</roStatus></roAck></mos>", "0"},
        {"roAck", "<mos><roAck><roID>R</roID><roStatus>Unknown \xc3\xa9</roStatus></roAck></mos>",
         "1"},
        {"roAck", "<mos><roAck><roID>R</roID><roStatus>\xc3\xa9</roStatus></roAck></mos>", "1"},
        {"listMachInfo", "<mos><status>NACK</status></mos>", "0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n;
        uint8_t *u = ucs2(cases[i][1], &n);
        bool want = cases[i][2][0] == '1';
        assert_int_equal(cg__mos4_is_nack(cases[i][0], (const char *)u, n), want);
        assert_int_equal(cg__mos4_is_nack(cases[i][0], cases[i][1], strlen(cases[i][1])), want);
        cg_mos_free(u);
    }
}

static void test_utf16_check(void **state)
{
    (void)state;
    uint64_t at = 99;
    static const uint8_t ok[] = {0, '<', 0xD8, 0x3C, 0xDF, 0xAC, 0x20, 0xAC, 0, '>'};
    assert_int_equal(cg__mos_utf16_check(ok, sizeof(ok), &at), CG_OK);
    assert_int_equal(cg__mos_utf16_check(ok, 0, NULL), CG_OK);
    static const uint8_t high[] = {0, '<', 0xD8, 0x00, 0, 'A'};
    assert_int_equal(cg__mos_utf16_check(high, sizeof(high), &at), CG_EENCODING);
    assert_int_equal(at, 2);
    static const uint8_t high_end[] = {0, '<', 0xDB, 0xFF};
    assert_int_equal(cg__mos_utf16_check(high_end, sizeof(high_end), &at), CG_EENCODING);
    assert_int_equal(at, 2);
    static const uint8_t low[] = {0, '<', 0xDC, 0x00, 0, 'A'};
    assert_int_equal(cg__mos_utf16_check(low, sizeof(low), &at), CG_EENCODING);
    assert_int_equal(at, 2);
    assert_int_equal(cg__mos_utf16_check(ok, sizeof(ok) - 1, &at), CG_EENCODING);
    assert_int_equal(at, sizeof(ok) - 2);
    /* a bad unit anywhere in a longer run (the 4-units-at-a-time path) */
    for (size_t at_unit = 0; at_unit < 20; at_unit++)
        for (int kind = 0; kind < 3; kind++) {
            uint8_t p[40];
            for (size_t k = 0; k < 20; k++) { /* "é" and "A" alternately */
                p[2 * k] = 0;
                p[2 * k + 1] = k % 2 ? 0xE9 : 'A';
            }
            p[2 * at_unit] = kind == 0 ? 0xD8 : kind == 1 ? 0xDC : 0xDB; /* high, low, high */
            if (kind == 2 && at_unit + 1 < 20)
                p[2 * at_unit + 2] = 0xDF; /* a whole pair: fine */
            enum cg_err want = kind == 2 && at_unit + 1 < 20 ? CG_OK : CG_EENCODING;
            assert_int_equal(cg__mos_utf16_check(p, sizeof(p), &at), want);
            if (want != CG_OK)
                assert_int_equal(at, 2 * at_unit);
        }
    /* agrees with the converter on every 2-unit value pair of interest */
    static const uint16_t units[] = {0x0041, 0x00E9, 0xD7FF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xE000,
                                     0xFEFF, 0xFFFF};
    for (size_t a = 0; a < 10; a++)
        for (size_t b = 0; b < 10; b++) {
            uint8_t p[6] = {0, '<', (uint8_t)(units[a] >> 8), (uint8_t)units[a],
                            (uint8_t)(units[b] >> 8), (uint8_t)units[b]};
            uint8_t *out = NULL;
            size_t n = 0;
            enum cg_err conv = cg_mos_convert(CG_MOS_UCS2BE, p, sizeof(p), &out, &n, NULL);
            cg_mos_free(out);
            assert_int_equal(cg__mos_utf16_check(p, sizeof(p), NULL), conv);
        }
}

/* The digest of an element is that of its UTF-16BE form, whatever it came in:
 * UCS-2BE bytes hashed as they are. */
static void test_digest_across_encodings(void **state)
{
    (void)state;
    size_t n;
    uint8_t *u = ucs2(elem8, &n);
    uint8_t a[CG_MOS4_DIGEST], b[CG_MOS4_DIGEST];
    cg__mos4_digest(elem8, strlen(elem8), a);
    cg__mos4_digest(u, n, b);
    assert_memory_equal(a, b, CG_MOS4_DIGEST);
    uint8_t full[32];
    unsigned fl = 0;
    assert_int_equal(EVP_Digest(u, n, full, &fl, EVP_sha256(), NULL), 1);
    assert_memory_equal(b, full, CG_MOS4_DIGEST);
    cg_mos_free(u);
    /* longer than the digest's stack buffer */
    size_t big = 100000;
    char *s = malloc(big + 1);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++)
        s[i] = i % 1000 == 999 ? '\n' : (char)('a' + i % 26);
    s[0] = '<';
    s[big] = 0;
    u = ucs2(s, &n);
    cg__mos4_digest(s, big, a);
    cg__mos4_digest(u, n, b);
    assert_memory_equal(a, b, CG_MOS4_DIGEST);
    cg_mos_free(u);
    free(s);
}

/* ---- the journal: format 3 ---- */

struct recs {
    int n;
    char kinds[8];
    enum cg_mos_encoding encs[8];
    size_t lens[8];
    bool digests[8];
};

static void collect(void *user, const struct mos4_jrec *r)
{
    struct recs *c = user;
    if (c->n < 8) {
        c->kinds[c->n] = r->kind;
        c->encs[c->n] = r->enc;
        c->lens[c->n] = r->len;
        c->digests[c->n] = r->has_digest;
        c->n++;
    }
}

static void test_journal_keeps_encoding(void **state)
{
    (void)state;
    size_t n;
    uint8_t *u = ucs2("<mos><roReq/></mos>", &n);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_append(&b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)),
                     CG_OK);
    assert_memory_equal(cg__mos4_journal_magic, "castgate-journal 4\n", 19);
    struct mos4_jrec r = {.kind = 'R', .msgid = "7", .data = u, .len = n, .enc = CG_MOS_UCS2BE,
                          .has_digest = true};
    assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
    r = (struct mos4_jrec){.kind = 'A', .msgid = NULL, .data = (const uint8_t *)"<mos/>", .len = 6,
                           .enc = CG_MOS_UTF8};
    assert_int_equal(cg__mos4_journal_encode(&b, &r), CG_OK);
    assert_non_null(memmem(b.data, b.len, "R 1 1 38 ucs2be ", 16));
    struct recs c = {0};
    struct mos4_journal_info info = {0};
    assert_int_equal(cg__mos4_journal_parse(b.data, b.len, collect, &c, &info), b.len);
    assert_false(info.format2);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.encs[0], CG_MOS_UCS2BE);
    assert_int_equal(c.lens[0], n);
    assert_int_equal(c.encs[1], CG_MOS_UTF8);
    assert_false(c.digests[1]);
    /* an unknown encoding token is not a record */
    static const char bad[] = "castgate-journal 3\nR 1 1 1 utf16 - 00000000\n7x\n";
    struct recs d = {0};
    assert_int_equal(cg__mos4_journal_parse((const uint8_t *)bad, strlen(bad), collect, &d, NULL),
                     strlen("castgate-journal 3\n"));
    assert_int_equal(d.n, 0);
    cg__buf_free(&b);
    cg_mos_free(u);
}

static void write_file(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* A journal written by castgate before issue 13 (format 2, committed as
 * tests/unit/data/journal-format2.journal): request 7 answered, request 8
 * accepted and unanswered. Read as UTF-8 records whose digests (of UTF-8)
 * are dropped; replayed (8 waits for delivery under the digest of its
 * UTF-16 form, so its repeat in UCS-2BE is the same request; 7's answer is
 * remembered with its content unknown, so a repeat of 7 is answered from
 * memory, as for format 1); rewritten as format 3. */
static void test_journal_format2_migrated(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *old = tu_read(tu_src_path("tests/unit/data/journal-format2.journal"), &len);
    struct recs c = {0};
    struct mos4_journal_info info = {0};
    assert_int_equal(cg__mos4_journal_parse(old, len, collect, &c, &info), len);
    assert_true(info.format2);
    assert_false(info.old_format);
    assert_int_equal(info.skips, 0);
    assert_int_equal(c.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.encs[i], CG_MOS_UTF8);
        assert_false(c.digests[i]);
    }
    assert_int_equal(c.kinds[1], 'A');

    char dir[] = "/tmp/cg-test-wirepath-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fixture f;
    fixture_init(&f, true, CG_MOS_UCS2BE);
    f.ep.cfg.state_dir = dir;
    f.ep.cfg.journal = true;
    f.ep.cfg.fsync = CG_MOS_FSYNC_ALWAYS;
    snprintf(f.ep.cfg.id, sizeof(f.ep.cfg.id), "%s", "dev");
    f.ep.cfg.role = CG_MOS_ROLE_MOS;
    snprintf(f.peer.id, sizeof(f.peer.id), "%s", "ncs<1>");
    struct mos4_lane *l = &f.peer.lanes[1][CG_MOS_IN];
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs<1>-ro.journal", dir);
    write_file(path, old, len);
    cg__mos4_journal_open(l);
    assert_true(l->jfd >= 0);
    const struct cg_flow *fc = cg__mos4_flow(l); /* the flow core holds them */
    const struct cg_flow_held *h8 = &fc->held[fc->hhead];
    assert_int_equal(fc->hlen, 1);
    assert_true(h8->has_id);
    assert_string_equal(h8->msgid, "8");
    const struct cg_flow_seen *s7 = NULL;
    for (size_t i = 0; i < CG_FLOW_SEEN; i++)
        if (strcmp(fc->seen[i].msgid, "7") == 0)
            s7 = &fc->seen[i];
    assert_non_null(s7);
    assert_false(s7->has_digest);
    assert_true(s7->answered);
    size_t un;
    uint8_t *e8 = ucs2("<roReq><roID>eight</roID></roReq>", &un);
    uint8_t d8[CG_MOS4_DIGEST];
    cg__mos4_digest(e8, un, d8);
    assert_memory_equal(h8->digest, d8, CG_MOS4_DIGEST); /* its UCS-2BE repeat matches */
    cg_mos_free(e8);
    /* rewritten as format 4 (issue 18), the same records */
    uint8_t *now = NULL;
    size_t nlen = 0;
    assert_int_equal(cg__read_file(path, 1u << 20, &now, &nlen), CG_OK);
    assert_memory_equal(now, "castgate-journal 4\n", 19);
    struct recs d = {0};
    struct mos4_journal_info again = {0};
    assert_int_equal(cg__mos4_journal_parse(now, nlen, collect, &d, &again), nlen);
    assert_false(again.format2);
    assert_int_equal(d.n, 2); /* 7's answer, then 8 */
    assert_int_equal(d.kinds[0], 'A');
    assert_int_equal(d.kinds[1], 'R');
    assert_int_equal(d.encs[1], CG_MOS_UTF8);
    free(now);
    /* a request appended now keeps its encoding */
    size_t rn;
    uint8_t *r9 = ucs2("<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID><messageID>9</messageID>"
                       "<roReq/></mos>", &rn);
    uint8_t d9[CG_MOS4_DIGEST] = {0};
    assert_true(cg__mos4_journal_request(l, "9", d9, (const char *)r9, rn));
    assert_int_equal(cg__read_file(path, 1u << 20, &now, &nlen), CG_OK);
    struct recs e = {0};
    assert_int_equal(cg__mos4_journal_parse(now, nlen, collect, &e, NULL), nlen);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.encs[2], CG_MOS_UCS2BE);
    assert_int_equal(e.lens[2], rn);
    free(now);
    cg_mos_free(r9);
    cg__mos4_journal_close(l);
    cg__mos4_flow_free(l); /* what the core holds */
    unlink(path);
    char p2[300];
    snprintf(p2, sizeof(p2), "%s/msgid-ncs<1>-ro.last", dir);
    unlink(p2);
    rmdir(dir);
    free(old);
}

/* ---- forwarding a parsed message ---- */

/* The first request in the flow core's queue (the lane is down: none in flight). */
static struct mos4_pending *queued(struct fixture *f)
{
    const struct cg_flow *c = cg__mos4_flow(f->lane);
    return c->qlen > 0 ? (struct mos4_pending *)(uintptr_t)c->queue[c->qhead].ref : NULL;
}

static void drop_queue(struct fixture *f) { cg__mos4_flow_free(f->lane); }

/* A UCS-2BE message forwarded to a UCS-2BE peer: its element bytes, as they
 * came, inside our envelope in UCS-2BE, with its own messageID; to a UTF-8
 * peer the same converted once. Nothing else about it is read. */
static void test_forward_parsed_message(void **state)
{
    (void)state;
    static const char in8[] = "<mos><mosID>x</mosID><ncsID>y</ncsID><messageID>0x1F</messageID>"
                              "<roReq><roID>\xe2\x82\xac 5 &amp; \xf0\x9f\x8e\xac</roID></roReq>"
                              "</mos>";
    size_t n;
    uint8_t *in16 = ucs2(in8, &n);
    struct cg_mos_envelope env;
    assert_int_equal(cg_mos_envelope_parse(CG_MOS_UCS2BE, in16, n, &env, NULL), CG_OK);
    struct cg_mos_message m = {.peer_id = "ncs", .channel = CG_MOS_CH_RO, .env = &env,
                               .xml = (const char *)in16, .len = n, .enc = CG_MOS_UCS2BE};
    size_t w16n;
    uint8_t *w16 = ucs2(want8, &w16n);
    struct fixture f;
    fixture_init(&f, true, CG_MOS_UCS2BE);
    assert_int_equal(cg_mos_forward_message(&f.ep, "d\xc3\xa9v", &m, NULL, NULL), CG_OK);
    struct mos4_pending *p = queued(&f);
    assert_non_null(p);
    assert_string_equal(p->name, "roReq");
    const struct cg_flow *c = cg__mos4_flow(f.lane); /* the messageID is the core's */
    assert_true(c->queue[c->qhead].keep_id);
    assert_string_equal(c->queue[c->qhead].msgid, "0x1F");
    assert_int_equal(p->wlen, w16n);
    assert_memory_equal(p->wire, w16, w16n);
    /* the element's bytes are the message's own */
    assert_non_null(memmem(p->wire, p->wlen, in16 + env.element.off, env.element.len));
    drop_queue(&f);
    fixture_init(&f, true, CG_MOS_UTF8);
    assert_int_equal(cg_mos_forward_message(&f.ep, "d\xc3\xa9v", &m, NULL, NULL), CG_OK);
    p = queued(&f);
    assert_int_equal(p->wlen, strlen(want8));
    assert_memory_equal(p->wire, want8, p->wlen);
    drop_queue(&f);
    /* the old call (UTF-8 text) gives the same message */
    fixture_init(&f, true, CG_MOS_UCS2BE);
    assert_int_equal(cg_mos_forward(&f.ep, "d\xc3\xa9v", CG_MOS_CH_RO, in8, strlen(in8), NULL, NULL),
                     CG_OK);
    p = queued(&f);
    assert_int_equal(p->wlen, w16n);
    assert_memory_equal(p->wire, w16, w16n);
    drop_queue(&f);
    /* a span outside the bytes, an unknown peer, a channel not configured */
    struct cg_mos_envelope bad = env;
    bad.element.len = n;
    struct cg_mos_message mb = m;
    mb.env = &bad;
    assert_int_equal(cg_mos_forward_message(&f.ep, "d\xc3\xa9v", &mb, NULL, NULL), CG_EINVAL);
    assert_int_equal(cg_mos_forward_message(&f.ep, "other", &m, NULL, NULL), CG_ENOTFOUND);
    mb = m; /* an encoding the bytes do not have: refused, never half-wrapped */
    mb.enc = CG_MOS_UTF8;
    assert_int_equal(cg_mos_forward_message(&f.ep, "d\xc3\xa9v", &mb, NULL, NULL), CG_EINVAL);
    mb = m;
    mb.channel = CG_MOS_CH_MOM;
    assert_int_equal(cg_mos_forward_message(&f.ep, "d\xc3\xa9v", &mb, NULL, NULL), CG_EINVAL);
    assert_null(queued(&f));
    cg_mos_free(w16);
    cg_mos_free(in16);
}

/* ---- the framer, read into in place ---- */

static void test_framer_read_in_place(void **state)
{
    (void)state;
    static const char two[] = "<mos><roReq/></mos>\r\n<mos><a>x</a></mos>";
    size_t n;
    uint8_t *u = ucs2(two, &n);
    for (size_t piece = 1; piece <= n; piece++) {
        struct cg_mos_framer *f = NULL;
        assert_int_equal(cg_mos_framer_new(CG_MOS_UCS2BE, 0, &f), CG_OK);
        size_t got = 0, off = 0;
        while (off < n) {
            uint8_t *room = NULL;
            size_t cap = 0;
            assert_int_equal(cg_mos_framer_space(f, 3, &room, &cap), CG_OK);
            assert_true(cap >= 3);
            size_t k = piece < n - off ? piece : n - off;
            k = k < cap ? k : cap;
            memcpy(room, u + off, k);
            assert_int_equal(cg_mos_framer_commit(f, k), CG_OK);
            off += k;
            struct cg_mos_frame fr;
            enum cg_err rc;
            while ((rc = cg_mos_framer_next(f, &fr)) != CG_EAGAIN) {
                assert_int_equal(rc, CG_OK);
                size_t want = 38;
                assert_int_equal(fr.len, want);
                assert_memory_equal(fr.data, got == 0 ? u : u + 42, want);
                got++;
            }
        }
        assert_int_equal(got, 2);
        uint8_t *room;
        size_t cap;
        assert_int_equal(cg_mos_framer_space(f, 0, &room, &cap), CG_OK);
        assert_int_equal(cg_mos_framer_commit(f, cap + 1), CG_EINVAL); /* past the room */
        cg_mos_framer_free(f);
    }
    cg_mos_free(u);
}

/* UTF-8 -> UCS-2BE with its ASCII fast path: any output room, any split. */
static void test_conv_ascii_runs(void **state)
{
    (void)state;
    static const char s[] = "<a>plain ascii \xc3\xa9 more ascii \xf0\x9f\x8e\xac end</a>";
    size_t want_n;
    uint8_t *want = ucs2(s, &want_n);
    for (size_t cap = 1; cap <= want_n; cap++) {
        struct cg_mos_conv c;
        cg_mos_conv_init(&c, CG_MOS_UTF8);
        uint8_t out[256];
        size_t in = 0, o = 0;
        while (in < strlen(s)) {
            size_t used = 0, made = 0;
            size_t room = cap < sizeof(out) - o ? cap : sizeof(out) - o;
            assert_int_equal(cg_mos_conv_feed(&c, s + in, strlen(s) - in, out + o, room, &used,
                                              &made),
                             CG_OK);
            assert_true(used > 0 || cap < 4);
            in += used;
            o += made;
            if (used == 0 && made == 0)
                break; /* a 4-byte character needs more room than cap */
        }
        if (in == strlen(s)) {
            assert_int_equal(cg_mos_conv_finish(&c), CG_OK);
            assert_int_equal(o, want_n);
            assert_memory_equal(out, want, want_n);
        }
    }
    cg_mos_free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_in_any_encoding),
        cmocka_unit_test(test_encoding_of_held_bytes),
        cmocka_unit_test(test_nack_in_ucs2),
        cmocka_unit_test(test_utf16_check),
        cmocka_unit_test(test_digest_across_encodings),
        cmocka_unit_test(test_journal_keeps_encoding),
        cmocka_unit_test(test_journal_format2_migrated),
        cmocka_unit_test(test_forward_parsed_message),
        cmocka_unit_test(test_framer_read_in_place),
        cmocka_unit_test(test_conv_ascii_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
