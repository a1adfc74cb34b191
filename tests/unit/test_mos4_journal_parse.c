/* The journal's record reader (src/mos4/journal.c, cg__mos4_journal_parse)
 * at its edges: records spelled by hand, each with its checksum right
 * unless the case is about the checksum, so that a refusal is for the one
 * thing the case changes. What a crash leaves (every cut of a record), bad
 * checksums, lengths that run past the end or past their bounds, the one
 * spelling of each header field, NUL bytes, format 2 and format 1 records.
 * Written before the reader moved to the byte cursor (issue 16) and run on
 * both. */
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC_LEN (strlen(cg__mos4_journal_magic))

/* ---- what the reader hands over ---- */

struct got {
    char kind[8];
    bool has_id[8];
    char id[8][520];
    uint8_t data[8][64];
    size_t len[8];
    const uint8_t *at[8]; /* where the data was, in the input */
    enum cg_mos_encoding enc[8];
    bool has_digest[8];
    uint8_t digest[8][CG_MOS4_DIGEST];
    size_t n;
    size_t skip_off[8], skip_len[8], skips;
};

static void collect(void *user, const struct mos4_jrec *r)
{
    struct got *g = user;
    if (g->n >= 8)
        fail_msg("more than 8 records");
    g->kind[g->n] = r->kind;
    g->has_id[g->n] = r->msgid != NULL;
    snprintf(g->id[g->n], sizeof(g->id[0]), "%s", r->msgid != NULL ? r->msgid : "");
    memcpy(g->data[g->n], r->data, r->len < 64 ? r->len : 64);
    g->len[g->n] = r->len;
    g->at[g->n] = r->data;
    g->enc[g->n] = r->enc;
    g->has_digest[g->n] = r->has_digest;
    memcpy(g->digest[g->n], r->digest, CG_MOS4_DIGEST);
    g->n++;
}

static void on_skip(void *user, size_t off, size_t len)
{
    struct got *g = user;
    if (g->skips < 8) {
        g->skip_off[g->skips] = off;
        g->skip_len[g->skips] = len;
    }
    g->skips++;
}

/* Parses b; *end: what the reader returned. */
static struct got parse(const struct cg_buf *b, size_t *end, struct mos4_journal_info *info)
{
    struct got g = {0};
    *info = (struct mos4_journal_info){.on_skip = on_skip};
    *end = cg__mos4_journal_parse(b->data, b->len, collect, &g, info);
    assert_int_equal(info->skips, g.skips);
    return g;
}

/* ---- records by hand ---- */

static uint8_t digest[CG_MOS4_DIGEST];
static char dig[2 * CG_MOS4_DIGEST + 1]; /* its lower-case hex */

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < CG_MOS4_DIGEST; i++) {
        digest[i] = (uint8_t)(i * 17 + 0xA3);
        snprintf(dig + 2 * i, 3, "%02x", digest[i]);
    }
    return 0;
}

static void put(struct cg_buf *b, const void *p, size_t n)
{
    assert_int_equal(cg__buf_append(b, p, n), CG_OK);
}

static void magic(struct cg_buf *b) { put(b, cg__mos4_journal_magic, MAGIC_LEN); }

/* A record: head (the signed part of the header: up to the digest), then
 * " <crc>\n", id, data and tail. crc NULL: CRC32C of head, id and data, as
 * the writer spells it; else that text. */
static void rec(struct cg_buf *b, const char *head, const void *id, size_t idn, const void *data,
                size_t dn, const char *crc, const char *tail)
{
    char c[32];
    if (crc == NULL) {
        uint32_t v = cg__mos4_crc32c(0, head, strlen(head));
        v = cg__mos4_crc32c(v, id, idn);
        v = cg__mos4_crc32c(v, data, dn);
        snprintf(c, sizeof(c), "%08x", (unsigned)v);
        crc = c;
    }
    put(b, head, strlen(head));
    put(b, " ", 1);
    put(b, crc, strlen(crc));
    put(b, "\n", 1);
    put(b, id, idn);
    put(b, data, dn);
    put(b, tail, strlen(tail));
}

/* "R 1 2 5 utf8 <dig>", id "42", data "<a/>x": the reader's plain case. */
static const char *head_ok(char *h, size_t sz)
{
    snprintf(h, sz, "R 1 2 5 utf8 %s", dig);
    return h;
}

/* b: the magic line, then one record (rec's arguments). */
static void journal1(struct cg_buf *b, const char *head, const void *id, size_t idn,
                     const void *data, size_t dn, const char *crc, const char *tail)
{
    cg__buf_init(b, 0);
    magic(b);
    rec(b, head, id, idn, data, dn, crc, tail);
}

/* A journal of one record after the magic line, that record spelled head. */
static void one(struct cg_buf *b, const char *head)
{
    journal1(b, head, "42", 2, "<a/>x", 5, NULL, "\n");
}

/* b is read as nothing: the reader stops after the magic line (a tail,
 * nothing skipped). what: the case, for the failure message. Frees b. */
static void reads_nothing(struct cg_buf *b, const char *what)
{
    struct mos4_journal_info info;
    size_t end;
    struct got g = parse(b, &end, &info);
    if (g.n != 0 || end != MAGIC_LEN || g.skips != 0)
        fail_msg("'%s' read as %zu record(s), end %zu, %zu skip(s)", what, g.n, end, g.skips);
    cg__buf_free(b);
}

/* head as one record is read as nothing. */
static void refused(const char *head)
{
    struct cg_buf b;
    one(&b, head);
    reads_nothing(&b, head);
}

/* head as one record is read whole. */
static struct got accepted(const char *head)
{
    struct cg_buf b;
    struct mos4_journal_info info;
    size_t end;
    one(&b, head);
    struct got g = parse(&b, &end, &info);
    if (g.n != 1 || end != b.len)
        fail_msg("'%s' not read: %zu record(s), end %zu of %zu", head, g.n, end, b.len);
    cg__buf_free(&b);
    return g;
}

/* ---- the cases ---- */

/* A record spelled by hand is read field by field, its data in place; the
 * writer makes the same in format 4 (number and regime 0 0 after <enc>:
 * issue 18), read back the same. */
static void test_record_by_hand(void **state)
{
    (void)state;
    char h[128];
    struct cg_buf b;
    one(&b, head_ok(h, sizeof(h)));
    struct mos4_journal_info info;
    size_t end;
    struct got g = parse(&b, &end, &info);
    assert_int_equal(end, b.len);
    assert_int_equal(g.n, 1);
    assert_false(info.format2);
    assert_false(info.old_format);
    assert_int_equal(g.kind[0], 'R');
    assert_true(g.has_id[0]);
    assert_string_equal(g.id[0], "42");
    assert_int_equal(g.len[0], 5);
    assert_memory_equal(g.data[0], "<a/>x", 5);
    assert_ptr_equal(g.at[0], b.data + b.len - 6); /* zero copy */
    assert_int_equal(g.enc[0], CG_MOS_UTF8);
    assert_true(g.has_digest[0]);
    assert_memory_equal(g.digest[0], digest, CG_MOS4_DIGEST);
    struct cg_buf w, v4;
    cg__buf_init(&w, 0);
    magic(&w);
    struct mos4_jrec r = {.kind = 'R', .msgid = "42", .data = (const uint8_t *)"<a/>x", .len = 5,
                          .has_digest = true};
    memcpy(r.digest, digest, CG_MOS4_DIGEST);
    assert_int_equal(cg__mos4_journal_encode(&w, &r), CG_OK);
    snprintf(h, sizeof(h), "R 1 2 5 utf8 0 0 %s", dig);
    one(&v4, h);
    assert_int_equal(w.len, v4.len);
    assert_memory_equal(w.data, v4.data, v4.len);
    g = parse(&v4, &end, &info);
    assert_int_equal(g.n, 1);
    assert_int_equal(end, v4.len);
    assert_memory_equal(g.digest[0], digest, CG_MOS4_DIGEST);
    cg__buf_free(&v4);
    cg__buf_free(&w);
    cg__buf_free(&b);
}

/* The writer's header, byte for byte, against the format spelled with
 * printf: kinds, no ID and a long one, UTF-8 and UCS-2BE data, no digest,
 * numbers and regimes from 0 to their maximum (INT64_MAX) at every width.
 * The writer spells it by hand (two records a message: no printf on the
 * relay's path, issue 13); this holds it to the one spelling. */
static void test_writer_spelling(void **state)
{
    (void)state;
    static const uint64_t nums[] = {0, 1, 9, 10, 99, 100, 12345, 4294967296ull,
                                    999999999999999999ull, 1000000000000000000ull,
                                    (uint64_t)INT64_MAX};
    static const char *const ids[] = {NULL, "7", "0x1F", "123456789012345678901234567890"};
    static const uint8_t ucs[] = {0, '<', 0, 'm', 0, '/', 0, '>'};
    for (size_t i = 0; i < CG_ARRAY_LEN(nums); i++)
        for (size_t k = 0; k < 2 * CG_ARRAY_LEN(ids); k++) {
            const char *id = ids[k % CG_ARRAY_LEN(ids)];
            bool wide = k >= CG_ARRAY_LEN(ids), dg = (i + k) % 3 != 0;
            struct mos4_jrec r = {.kind = "RAF"[(i + k) % 3], .msgid = id,
                                  .data = wide ? ucs : (const uint8_t *)"<a/>x",
                                  .len = wide ? sizeof(ucs) : 5, .has_digest = dg,
                                  .number = nums[i],
                                  .regime = nums[CG_ARRAY_LEN(nums) - 1 - i]};
            memcpy(r.digest, digest, CG_MOS4_DIGEST);
            char h[200];
            int n = snprintf(h, sizeof(h), "%c %d %zu %zu %s %llu %llu %s", r.kind, id != NULL,
                             id != NULL ? strlen(id) : 0, r.len, wide ? "ucs2be" : "utf8",
                             (unsigned long long)r.number, (unsigned long long)r.regime,
                             dg ? dig : "-");
            uint32_t v = cg__mos4_crc32c(0, h, (size_t)n); /* up to the space before the crc */
            v = cg__mos4_crc32c(v, id != NULL ? id : "", id != NULL ? strlen(id) : 0);
            v = cg__mos4_crc32c(v, r.data, r.len);
            snprintf(h + n, sizeof(h) - (size_t)n, " %08x\n", (unsigned)v);
            struct cg_buf want, w;
            cg__buf_init(&want, 0);
            cg__buf_init(&w, 0);
            assert_int_equal(cg__buf_append(&want, h, strlen(h)), CG_OK);
            assert_int_equal(cg__buf_append(&want, id != NULL ? id : "", id != NULL ? strlen(id) : 0),
                             CG_OK);
            assert_int_equal(cg__buf_append(&want, r.data, r.len), CG_OK);
            assert_int_equal(cg__buf_append(&want, "\n", 1), CG_OK);
            assert_int_equal(cg__mos4_journal_encode(&w, &r), CG_OK);
            if (w.len != want.len || memcmp(w.data, want.data, w.len) != 0)
                fail_msg("number %llu, id %s, wide %d: wrote %.*s, want %.*s",
                         (unsigned long long)r.number, id != NULL ? id : "(none)", wide,
                         (int)w.len, (const char *)w.data, (int)want.len, (const char *)want.data);
            cg__buf_free(&want);
            cg__buf_free(&w);
        }
    struct mos4_jrec big = {.kind = 'R', .data = (const uint8_t *)"", .number = (uint64_t)INT64_MAX + 1};
    struct cg_buf w;
    cg__buf_init(&w, 0);
    assert_int_equal(cg__mos4_journal_encode(&w, &big), CG_ERANGE); /* past the maximum */
    big.number = 0, big.regime = (uint64_t)INT64_MAX + 1;
    assert_int_equal(cg__mos4_journal_encode(&w, &big), CG_ERANGE);
    cg__buf_free(&w);
}

/* The other forms a format-3 header may take. */
static void test_accepted_forms(void **state)
{
    (void)state;
    char h[128];
    /* no messageID, no digest ("-"), an answer */
    struct cg_buf b;
    cg__buf_init(&b, 0);
    magic(&b);
    rec(&b, "A 0 0 5 utf8 -", "", 0, "<a/>x", 5, NULL, "\n");
    snprintf(h, sizeof(h), "R 1 1 0 ucs2be %s", dig); /* empty data: an ID only */
    rec(&b, h, "7", 1, "", 0, NULL, "\n");
    snprintf(h, sizeof(h), "R 1 1 7 utf8 %s", dig); /* data holding a NUL and newlines */
    rec(&b, h, "8", 1, "\n\0\n<x>\n", 7, NULL, "\n");
    struct mos4_journal_info info;
    size_t end;
    struct got g = parse(&b, &end, &info);
    assert_int_equal(end, b.len);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.kind[0], 'A');
    assert_false(g.has_id[0]);
    assert_false(g.has_digest[0]);
    assert_int_equal(g.enc[1], CG_MOS_UCS2BE);
    assert_int_equal(g.len[1], 0);
    assert_string_equal(g.id[1], "7");
    assert_true(g.has_digest[1]);
    assert_int_equal(g.len[2], 7);
    assert_memory_equal(g.data[2], "\n\0\n<x>\n", 7);
    cg__buf_free(&b);
    /* a format-2 record (no <enc>) under the format-3 magic: UTF-8, and its
     * digest (of the UTF-8 form) dropped */
    snprintf(h, sizeof(h), "R 1 2 5 %s", dig);
    g = accepted(h);
    assert_int_equal(g.enc[0], CG_MOS_UTF8);
    assert_false(g.has_digest[0]);
    /* the largest messageID: 4 x CG_MOS_ID_MAX bytes */
    char id[4 * CG_MOS_ID_MAX];
    memset(id, 'i', sizeof(id));
    snprintf(h, sizeof(h), "R 1 %zu 5 utf8 %s", sizeof(id), dig);
    journal1(&b, h, id, sizeof(id), "<a/>x", 5, NULL, "\n");
    g = parse(&b, &end, &info);
    assert_int_equal(end, b.len);
    assert_int_equal(g.n, 1);
    assert_int_equal(strlen(g.id[0]), sizeof(id));
    cg__buf_free(&b);
}

/* A crash cuts the file anywhere: a cut record is a tail, never a record
 * and never "damage" (nothing skipped); the records before it stand. */
static void test_every_cut(void **state)
{
    (void)state;
    char h[128];
    struct cg_buf b;
    cg__buf_init(&b, 0);
    magic(&b);
    rec(&b, head_ok(h, sizeof(h)), "42", 2, "<a/>x", 5, NULL, "\n");
    size_t first = b.len;
    snprintf(h, sizeof(h), "A 1 2 7 ucs2be %s", dig);
    rec(&b, h, "42", 2, "\0<\0a\0/\0", 7, NULL, "\n");
    for (size_t cut = 0; cut < b.len; cut++) {
        struct got g = {0};
        struct mos4_journal_info info = {.on_skip = on_skip};
        size_t end = cg__mos4_journal_parse(b.data, cut, collect, &g, &info);
        size_t want = cut < MAGIC_LEN ? 0 : cut < first ? MAGIC_LEN : first;
        if (end != want || g.n != (cut < first ? 0u : 1u) || g.skips != 0)
            fail_msg("cut at %zu: end %zu (want %zu), %zu record(s), %zu skip(s)", cut, end,
                     want, g.n, g.skips);
    }
    cg__buf_free(&b);
}

/* The checksum covers the header up to the digest, the ID and the data;
 * it is 8 lower-case hex digits. A record that fails it is damage: skipped
 * up to the next whole record. */
static void test_bad_checksum(void **state)
{
    (void)state;
    char h[128], crc[32];
    head_ok(h, sizeof(h));
    uint32_t v = cg__mos4_crc32c(0, h, strlen(h));
    v = cg__mos4_crc32c(cg__mos4_crc32c(v, "42", 2), "<a/>x", 5);
    char right[16];
    snprintf(right, sizeof(right), "%08x", (unsigned)v);
    /* a wrong value; the right one short of a digit, with one more */
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            snprintf(crc, sizeof(crc), "%08x", (unsigned)(v ^ 1u));
        else if (i == 1)
            snprintf(crc, sizeof(crc), "%s", right + 1);
        else
            snprintf(crc, sizeof(crc), "0%s", right);
        struct cg_buf b;
        journal1(&b, h, "42", 2, "<a/>x", 5, crc, "\n");
        reads_nothing(&b, crc);
    }
    /* upper case with the right value: the data is chosen so that the value
     * has a letter, and the spelling is the only fault */
    bool tried = false;
    for (char x = 'a'; x <= 'z' && !tried; x++) {
        char data[6] = "<a/>x";
        data[4] = x;
        v = cg__mos4_crc32c(0, h, strlen(h));
        v = cg__mos4_crc32c(cg__mos4_crc32c(v, "42", 2), data, 5);
        snprintf(crc, sizeof(crc), "%08X", (unsigned)v);
        if (strpbrk(crc, "ABCDEF") == NULL)
            continue;
        struct cg_buf b;
        journal1(&b, h, "42", 2, data, 5, crc, "\n");
        reads_nothing(&b, crc);
        tried = true;
    }
    assert_true(tried);
    /* a byte of the ID, of the data or of the digest changed after the
     * checksum: the record is damage between two good ones */
    for (int what = 0; what < 3; what++) {
        struct cg_buf b;
        cg__buf_init(&b, 0);
        magic(&b);
        rec(&b, h, "41", 2, "<a/>x", 5, NULL, "\n");
        size_t bad = b.len;
        rec(&b, h, "42", 2, "<a/>x", 5, NULL, "\n");
        size_t good = b.len;
        rec(&b, h, "43", 2, "<a/>x", 5, NULL, "\n");
        size_t at = what == 0 ? good - 7 : what == 1 ? good - 3 : bad + strlen("R 1 2 5 utf8 ");
        b.data[at] = b.data[at] == '0' ? '1' : what == 2 ? '0' : 'Z';
        struct mos4_journal_info info;
        size_t end;
        struct got g = parse(&b, &end, &info);
        assert_int_equal(end, b.len);
        assert_int_equal(g.n, 2);
        assert_string_equal(g.id[0], "41");
        assert_string_equal(g.id[1], "43");
        assert_int_equal(g.skips, 1);
        assert_int_equal(g.skip_off[0], bad);
        assert_int_equal(g.skip_len[0], good - bad);
        cg__buf_free(&b);
    }
}

/* Lengths: the record must end, with its "\n", inside the input and where
 * its lengths say; each length within its bound. */
static void test_lengths(void **state)
{
    (void)state;
    char h[128];
    struct cg_buf b;
    struct mos4_journal_info info;
    size_t end;
    /* the data length one past the end (the final "\n" taken as data):
     * a tail; the same with the "\n" there: a record of 6 bytes */
    snprintf(h, sizeof(h), "R 1 2 6 utf8 %s", dig);
    journal1(&b, h, "42", 2, "<a/>x\n", 6, NULL, "");
    struct got g = parse(&b, &end, &info);
    assert_int_equal(g.n, 0);
    assert_int_equal(end, MAGIC_LEN);
    put(&b, "\n", 1);
    g = parse(&b, &end, &info);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.len[0], 6);
    cg__buf_free(&b);
    /* data length one short: the byte after the data is not "\n" */
    snprintf(h, sizeof(h), "R 1 2 4 utf8 %s", dig);
    journal1(&b, h, "42", 2, "<a/>", 4, NULL, "x\n");
    reads_nothing(&b, h);
    /* an ID length past its bound, the record otherwise whole */
    char id[4 * CG_MOS_ID_MAX + 1];
    memset(id, 'i', sizeof(id));
    snprintf(h, sizeof(h), "R 1 %zu 5 utf8 %s", sizeof(id), dig);
    journal1(&b, h, id, sizeof(id), "<a/>x", 5, NULL, "\n");
    reads_nothing(&b, h);
    /* data lengths at and past the bound (1 GiB), and past any size_t */
    static const char *const big[] = {"1073741824", "1073741825", "18446744073709551616",
                                      "99999999999999999999999999"};
    for (size_t i = 0; i < CG_ARRAY_LEN(big); i++) {
        snprintf(h, sizeof(h), "R 1 2 %s utf8 %s", big[i], dig);
        refused(h);
    }
    /* an ID length past the end of the input */
    snprintf(h, sizeof(h), "R 1 9 0 utf8 %s", dig);
    journal1(&b, h, "42", 2, "", 0, NULL, "\n");
    reads_nothing(&b, h);
}

/* Each field has one spelling: anything else is not a record, even with
 * a checksum that matches it. */
static void test_header_spelling(void **state)
{
    (void)state;
    char up[2 * CG_MOS4_DIGEST + 1];
    for (size_t i = 0; i <= 2 * CG_MOS4_DIGEST; i++)
        up[i] = dig[i] >= 'a' && dig[i] <= 'f' ? (char)(dig[i] - 'a' + 'A') : dig[i];
    assert_string_not_equal(up, dig); /* the digest has letters */
    /* '@': the digest's 32 hex digits; '#': the first 31 of them */
    static const char *const forms[] = {
        "X 1 2 5 utf8 @",  "r 1 2 5 utf8 @",  "R 2 2 5 utf8 @",  "R 0 2 5 utf8 @",
        "R 01 2 5 utf8 @", "R 1 02 5 utf8 @", "R 1 2 05 utf8 @", "R  1 2 5 utf8 @",
        "R\t1 2 5 utf8 @", "R 1 2 5  utf8 @", "R 1 2 5 UTF8 @",  "R 1 2 5 utf16 @",
        "R 1 2 5 utf8  @", "R 1 2 5 utf8 -@", "R 1 2 5 utf8 @0", "R 1 2 5 ucs2 @",
        "R 1 2 +5 utf8 @", "R 1 2 -5 utf8 @", "R 1 2 5 utf8 x@", "R1 2 5 utf8 @",
        "R 1 2 5 u @",     "R 1 2 5 utf8@",   "R 1 2 5 utf8 @ ", "R 1 2 5 utf8 @\r",
        "R 1 2 5\tutf8 @", "R 1 2 5 utf8 #",  "R 1 2 5 ucs2beutf8 @",
    };
    char h[128];
    for (size_t i = 0; i < CG_ARRAY_LEN(forms); i++) {
        size_t o = 0;
        for (const char *f = forms[i]; *f != '\0'; f++) {
            size_t n = *f == '@' ? strlen(dig) : *f == '#' ? strlen(dig) - 1 : 1;
            memcpy(h + o, *f == '@' || *f == '#' ? dig : f, n);
            o += n;
        }
        h[o] = '\0';
        refused(h);
    }
    snprintf(h, sizeof(h), "R 1 2 5 utf8 %s", up); /* the digest in upper case */
    refused(h);
    refused("R 1 2 5 utf8 --");
    refused("R 1 2 5 utf8 ");
    refused("R 1 2 5 utf8");
    refused("R 1 2 5");
    refused("");
    /* the checksum's own separators */
    snprintf(h, sizeof(h), "R 1 2 5 utf8 %s", dig);
    struct cg_buf b;
    static const char *const crcsep[][2] = {{"  ", ""}, {"\t", ""}, {"", ""}, {" ", "\r"}};
    for (size_t i = 0; i < CG_ARRAY_LEN(crcsep); i++) {
        cg__buf_init(&b, 0);
        magic(&b);
        uint32_t v = cg__mos4_crc32c(0, h, strlen(h));
        v = cg__mos4_crc32c(cg__mos4_crc32c(v, "42", 2), "<a/>x", 5);
        char line[200];
        snprintf(line, sizeof(line), "%s%s%08x%s\n42<a/>x\n", h, crcsep[i][0], (unsigned)v,
                 crcsep[i][1]);
        put(&b, line, strlen(line));
        reads_nothing(&b, line);
    }
}

/* A NUL inside the ID: not a record (the ID is a C string to the reader's
 * users); inside the data it is content. */
static void test_nul_bytes(void **state)
{
    (void)state;
    char h[128];
    struct cg_buf b;
    struct mos4_journal_info info;
    size_t end;
    journal1(&b, head_ok(h, sizeof(h)), "4\0", 2, "<a/>x", 5, NULL, "\n");
    reads_nothing(&b, "a NUL in the ID");
    journal1(&b, h, "42", 2, "<\0/>x", 5, NULL, "\n");
    struct got g = parse(&b, &end, &info);
    assert_int_equal(g.n, 1);
    assert_memory_equal(g.data[0], "<\0/>x", 5);
    cg__buf_free(&b);
}

/* The magic line: format 3, format 2 (migrated: info says so), anything
 * else is read as format 1 if it reads as such, else searched for records. */
static void test_magic_lines(void **state)
{
    (void)state;
    char h[128];
    struct cg_buf b;
    struct mos4_journal_info info;
    size_t end;
    cg__buf_init(&b, 0);
    put(&b, "castgate-journal 2\n", 19);
    snprintf(h, sizeof(h), "R 1 2 5 %s", dig);
    rec(&b, h, "42", 2, "<a/>x", 5, NULL, "\n");
    struct got g = parse(&b, &end, &info);
    assert_true(info.format2);
    assert_false(info.old_format);
    assert_int_equal(g.n, 1);
    assert_int_equal(end, b.len);
    cg__buf_free(&b);
    /* the magic alone */
    cg__buf_init(&b, 0);
    magic(&b);
    g = parse(&b, &end, &info);
    assert_int_equal(end, MAGIC_LEN);
    assert_int_equal(g.n, 0);
    assert_int_equal(g.skips, 0);
    cg__buf_free(&b);
    /* a record without any magic line: found, the bytes before it skipped */
    cg__buf_init(&b, 0);
    put(&b, "castgate-journal 9\n", 19);
    rec(&b, head_ok(h, sizeof(h)), "42", 2, "<a/>x", 5, NULL, "\n");
    g = parse(&b, &end, &info);
    assert_false(info.format2);
    assert_false(info.old_format);
    assert_int_equal(g.n, 1);
    assert_int_equal(end, b.len);
    assert_int_equal(g.skips, 1);
    assert_int_equal(g.skip_off[0], 0);
    assert_int_equal(g.skip_len[0], 19);
    cg__buf_free(&b);
    /* a format-3 record first, no magic: read as format 3, not format 1 */
    cg__buf_init(&b, 0);
    rec(&b, h, "42", 2, "<a/>x", 5, NULL, "\n");
    g = parse(&b, &end, &info);
    assert_false(info.old_format);
    assert_int_equal(g.n, 1);
    assert_true(g.has_digest[0]);
    cg__buf_free(&b);
}

/* Format 1 ("<kind> <has-id> <id-len> <data-len>\n" <id> <data> "\n", no
 * checksum): read up to the first record that is not whole. */
static void test_format1_edges(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;    /* of text */
        size_t end;    /* what the reader returns */
        size_t n;      /* records read */
    } cases[] = {
        {"R 1 1 3\n7<a>\nA 0 0 2\n<b\n", 24, 24, 2},
        {"R 1 1 3\n7<a>\nA 0 0 3\n<b\n", 24, 13, 1},       /* data past the end */
        {"R 1 1 3\n7<a>\nA 0 0 1\n<b\n", 24, 13, 1},       /* not "\n" after the data */
        {"R 1 1 3\n7<a>\nR 1 2 1\n7\0<\n", 25, 13, 1},     /* a NUL in the ID */
        {"R 1 1 3\n7<a>\nR 1 1 0\n7\n", 23, 23, 2},        /* empty data */
        {"R 1 1 3\n7<a>\nR 1 513 0\n7\n", 25, 13, 1},      /* ID length past its bound */
        {"R 1 1 3\n7<a>\nR 1 1 1073741825\n", 30, 13, 1},  /* data length past its bound */
        {"R 1 1 3\n7<a>\nR 1 1 3", 20, 13, 1},             /* no end of line */
        {"R 1 1 3\n7<a>\nQ 1 1 3\n7<a>\n", 26, 13, 1},     /* kind */
        {"R 1 1 3\n7<a>\nR 3 1 3\n7<a>\n", 26, 13, 1},     /* has-id */
        {"R 1 1 3\n7<a>\nR 1 1 3 \n7<a>\n", 27, 13, 1},    /* after the length */
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        struct got g = {0};
        struct mos4_journal_info info = {.on_skip = on_skip};
        size_t end = cg__mos4_journal_parse((const uint8_t *)cases[i].text, cases[i].len, collect,
                                            &g, &info);
        if (end != cases[i].end || g.n != cases[i].n || !info.old_format)
            fail_msg("case %zu: end %zu, %zu record(s), old_format %d", i, end, g.n,
                     info.old_format);
    }
    /* a header line longer than 63 bytes is not one */
    char line[128];
    int n = snprintf(line, sizeof(line), "R 1 1 3%60s\n7<a>\n", "");
    struct got g = {0};
    struct mos4_journal_info info = {0};
    size_t end = cg__mos4_journal_parse((const uint8_t *)line, (size_t)n, collect, &g, &info);
    assert_int_equal(end, 0);
    assert_int_equal(g.n, 0);
    assert_false(info.old_format);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_by_hand),   cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_every_cut),        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_lengths),          cmocka_unit_test(test_header_spelling),
        cmocka_unit_test(test_nul_bytes),        cmocka_unit_test(test_magic_lines),
        cmocka_unit_test(test_format1_edges),    cmocka_unit_test(test_writer_spelling),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
