/* The journal of an IN lane (kept whenever there is a state directory). With
 * the journal option (cg_mos_endpoint_config_set_journal) every request we
 * accept is appended before the application sees it; without it, each request
 * with a messageID as it is delivered (the flow core asks for no record of
 * one without: found by messageID only, nothing would read it). Every
 * answer recorded is appended before the peer sees it. After
 * a restart the answers rebuild the memory of answered messageIDs (M-22: a
 * repeat gets the stored answer, never a second delivery); requests without an
 * answer are delivered again at once, in order (journal option), or
 * remembered as delivered (a repeat of one follows the redeliver rule). *
 * File: <state_dir>/msgid-<peer>-<channel>.journal, records (format 4 below)
 * of kind R (request, the bytes as received, in their encoding; empty: only
 * the ID of one delivered before an earlier restart), A (answer, the
 * bytes sent, in their encoding; empty: answered, the answer no longer held
 * under answer_memory) or F (a request refused without an answer,
 * cg__flow_app_refuse: its record closed, its ID forgotten), each numbered (the endpoint's count, or
 * one shared by endpoints) and of a regime (the epoch of the gateway
 * pair's active that wrote it), and after the magic line of a compacted
 * file an N record (the count and regime then). For a gateway pair (issue
 * 18, docs/redundancy.md): an observer hears of each record appended, with
 * its bytes as written (cg_mos_endpoint_set_journal_ops); a standby appends
 * the active's records as they are (cg_mos_endpoint_journal_append), sets
 * its journals aside for another regime (_set_aside); an active reads them
 * again from a number on (_read).
 * A record cut short by a crash ends the journal: it is dropped (its request
 * was never acknowledged, so the peer still has it). The file is rewritten
 * (compacted) at every start and when it has doubled past JOURNAL_COMPACT.
 * Also here: the endpoint's fsync policy for everything in the state
 * directory (enum cg_mos_fsync). */
#define _GNU_SOURCE /* syncfs */
#include "mos4/mos4.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_COMPACT (1u << 20)
#define JOURNAL_MAX_RECORD (1u << 30)
#define JOURNAL_HEADER_MAX 128

const char cg__mos4_journal_magic[] = "castgate-journal 4\n";
static const char magic_v3[] = "castgate-journal 3\n";
static const char magic_v2[] = "castgate-journal 2\n";
#define JOURNAL_NUMBER_MAX ((uint64_t)INT64_MAX) /* record numbers and regimes */
#define MAGIC_LEN (sizeof(cg__mos4_journal_magic) - 1)

/* ---- CRC32C (Castagnoli, reflected 0x82F63B78), as iSCSI and ext4 use it ---- */

static uint32_t crc_table[8][256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
}

/* slicing-by-8: about 8 times the byte-wise table's speed */
static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
            crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
    }
    while (n-- > 0)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xFF];
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
    }
    c = (uint32_t)c64;
    while (n-- > 0)
        c = __builtin_ia32_crc32qi(c, *p++);
    return c;
}
#endif

uint32_t cg__mos4_crc32c(uint32_t crc, const void *data, size_t len)
{
    uint32_t c = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_hw(c, data, len);
#endif
    return ~crc_soft(c, data, len);
}

/* ---- the digest of a request ---- */

/* The digest is of the element as UTF-16BE, whatever encoding it came in,
 * so a repeat is recognised across encodings. MOS travels as UCS-2BE
 * (M-04, M-21): those bytes are hashed as they are; a UTF-8 element (a text
 * frame, a UTF-8 legacy peer, an application's own) is converted piecewise
 * on the stack as it is hashed, never copied whole. Format-2 journals hashed
 * UTF-8: their digests are dropped when read (record_at). */
static bool digest_utf8(EVP_MD_CTX *x, const uint8_t *p, size_t len)
{
    struct cg_mos_conv c;
    cg_mos_conv_init(&c, CG_MOS_UTF8);
    c.started = true; /* U+FEFF inside an element is content */
    uint8_t out[16384];
    while (len > 0) {
        size_t used = 0, made = 0;
        if (cg_mos_conv_feed(&c, p, len, out, sizeof(out), &used, &made) != CG_OK ||
            EVP_DigestUpdate(x, out, made) != 1)
            return false;
        p += used;
        len -= used;
    }
    return cg_mos_conv_finish(&c) == CG_OK;
}

/* SHA-256, fetched from the providers once per process (an EVP_sha256()
 * would be fetched again at every EVP_DigestInit: OpenSSL 3's implicit
 * fetch, a lock and a lookup per request). Never freed: OpenSSL's own exit
 * handler tears its providers down and a free after it would touch freed
 * memory; NULL if the fetch failed (EVP_sha256() then, as before). */
static EVP_MD *sha256_md;

static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL); }

static const EVP_MD *sha256(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sha256_fetch);
    return sha256_md != NULL ? sha256_md : EVP_sha256();
}

/* One digest context kept between requests, so a digest makes none (with
 * the implicit fetch, 3 allocations a digest; OpenSSL 3.0's EVP_DigestInit_ex
 * still remakes the provider's 112-byte context at each init). Every loop
 * thread hashes (take, journal replay; two contexts may run on two
 * threads): a thread takes it by an atomic exchange, so it is never shared,
 * and puts it back when done; one that finds none makes its own, and frees
 * it if another was put back meanwhile. It holds no state from one use to
 * the next: each digest starts with an init. */
static _Atomic(EVP_MD_CTX *) spare_ctx;

static EVP_MD_CTX *ctx_take(void)
{
    EVP_MD_CTX *x = atomic_exchange(&spare_ctx, NULL);
    return x != NULL ? x : EVP_MD_CTX_new();
}

static void ctx_give_back(EVP_MD_CTX *x, bool ok)
{
    EVP_MD_CTX *none = NULL;
    if (x != NULL && (!ok || !atomic_compare_exchange_strong(&spare_ctx, &none, x)))
        EVP_MD_CTX_free(x); /* after a failure: not kept (its state is unknown) */
}

void cg__mos4_digest(const void *data, size_t len, uint8_t out[CG_MOS4_DIGEST])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_MD_CTX *x = ctx_take();
    bool ok = x != NULL && EVP_DigestInit_ex(x, sha256(), NULL) == 1;
    if (ok && cg__mos4_enc_of(data, len) == CG_MOS_UCS2BE)
        ok = EVP_DigestUpdate(x, data, len) == 1;
    else if (ok)
        ok = digest_utf8(x, data, len);
    ok = ok && EVP_DigestFinal_ex(x, md, &n) == 1;
    ctx_give_back(x, ok);
    if (!ok || n < CG_MOS4_DIGEST)
        memset(md, 0, sizeof(md)); /* never in practice; an all-zero digest matches nothing real */
    memcpy(out, md, CG_MOS4_DIGEST);
}

/* ---- records (format 4) ----
 *   "<kind> <has-id> <id-len> <data-len> <enc> <number> <regime> <digest> <crc>\n"
 *   <id> <data> "\n"
 * enc: "utf8" or "ucs2be", the encoding of data (issue 13 item 4: kept as it
 * came); number: the record's number (0: from before format 4); regime: the
 * epoch of the pair's active that wrote it (0 outside a pair); digest: 32
 * hex digits (the request's digest) or "-" (not known: a record migrated
 * from format 1); crc: 8 hex digits, CRC32C of the header up to the space
 * before it, then id and data. Numbers are decimal without leading zeros,
 * hex is lower case: one spelling per record. Kinds: R, A; N (a compacted
 * file's count and regime, right after the magic line: no ID, no data) and
 * M (a messageID mark, replicated, never in a journal file: no ID, the mark
 * as data), format 4 only.
 * Format 3 (castgate before issue 18) is the same without <number> and
 * <regime>; format 2 (before issue 13) also without <enc>: its data was
 * always UTF-8. Each record knows its form (<enc> never begins with a hex
 * digit or '-'; after it, a digest has no space in its first 32 characters
 * where a number is at most 19 digits and a space), so every form is read
 * in any file; the compaction at open rewrites them as format 4, numbered
 * 0. */

static const char *enc_token(enum cg_mos_encoding e) { return e == CG_MOS_UCS2BE ? "ucs2be" : "utf8"; }

/* v in decimal at p (no leading zeros); the end. */
static char *put_dec(char *p, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        *p++ = t[--n];
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* The header up to and with "\n" into h (JOURNAL_HEADER_MAX); its length, or 0.
 * Spelled by hand, not by snprintf: two records a relayed message, and two
 * snprintf calls a record were most of a record's cost (bench/relay_why.sh,
 * issue 13). Up to the regime it takes at most 92 bytes (two 20-digit lengths,
 * two 19-digit numbers); with the digest and checksum it must stay under
 * JOURNAL_HEADER_MAX, checked before those, as before. */
static size_t header(const struct mos4_jrec *r, char h[JOURNAL_HEADER_MAX])
{
    static const char hex[] = "0123456789abcdef";
    size_t idlen = r->msgid != NULL ? strlen(r->msgid) : 0;
    if (r->number > JOURNAL_NUMBER_MAX || r->regime > JOURNAL_NUMBER_MAX)
        return 0;
    char *p = h;
    *p++ = r->kind;
    *p++ = ' ';
    *p++ = r->msgid != NULL ? '1' : '0';
    *p++ = ' ';
    p = put_dec(p, idlen);
    *p++ = ' ';
    p = put_dec(p, r->len);
    *p++ = ' ';
    p = put_str(p, enc_token(cg__mos4_enc_of(r->data, r->len))); /* as they are */
    *p++ = ' ';
    p = put_dec(p, r->number);
    *p++ = ' ';
    p = put_dec(p, r->regime);
    *p++ = ' ';
    if ((size_t)(p - h) >= JOURNAL_HEADER_MAX - 2 * CG_MOS4_DIGEST - 11)
        return 0;
    if (r->has_digest)
        for (size_t i = 0; i < CG_MOS4_DIGEST; i++) {
            *p++ = hex[r->digest[i] >> 4];
            *p++ = hex[r->digest[i] & 15];
        }
    else
        *p++ = '-';
    uint32_t crc = cg__mos4_crc32c(0, h, (size_t)(p - h));
    crc = cg__mos4_crc32c(crc, r->msgid != NULL ? r->msgid : "", idlen);
    crc = cg__mos4_crc32c(crc, r->data, r->len);
    *p++ = ' ';
    for (int shift = 28; shift >= 0; shift -= 4)
        *p++ = hex[(crc >> shift) & 15];
    *p++ = '\n';
    return (size_t)(p - h);
}

enum cg_err cg__mos4_journal_encode(struct cg_buf *b, const struct mos4_jrec *r)
{
    char h[JOURNAL_HEADER_MAX];
    size_t hl = header(r, h);
    CG_CHECK(hl > 0, CG_ERANGE);
    CG_GUARD(cg__buf_append(b, h, hl));
    CG_GUARD(cg__buf_append(b, r->msgid != NULL ? r->msgid : "", r->msgid != NULL ? strlen(r->msgid) : 0));
    CG_GUARD(cg__buf_append(b, r->data, r->len));
    return cg__buf_append(b, "\n", 1);
}

/* The record r to fd; *written: its size. A small record is put together in
 * h (on the caller's stack, *whole set: the observer reads it there) and
 * written at once (a copy of a few KB costs less than a system call); a
 * large one goes out in one writev, its data never copied (issue 13 item
 * 6). CG_EIO with errno on failure (a part may be out). */
#define JOURNAL_SMALL 8192
#define JOURNAL_H (JOURNAL_HEADER_MAX + JOURNAL_SMALL)
static enum cg_err write_record(int fd, const struct mos4_jrec *r, char h[JOURNAL_H],
                                size_t *written, bool *whole)
{
    size_t hl = header(r, h);
    CG_CHECK(hl > 0, CG_ERANGE);
    size_t idlen = r->msgid != NULL ? strlen(r->msgid) : 0;
    CG_CHECK(idlen <= JOURNAL_SMALL && r->len <= SIZE_MAX - JOURNAL_H, CG_ERANGE);
    *written = hl + idlen + r->len + 1;
    *whole = *written <= JOURNAL_H;
    if (*whole) {
        memcpy(h + hl, r->msgid != NULL ? r->msgid : "", idlen);
        memcpy(h + hl + idlen, r->data, r->len);
        h[*written - 1] = '\n';
        return cg__write_all(fd, h, *written);
    }
    memcpy(h + hl, r->msgid != NULL ? r->msgid : "", idlen);
    struct iovec iov[3] = {{.iov_base = h, .iov_len = hl + idlen},
                           {.iov_base = (void *)r->data, .iov_len = r->len},
                           {.iov_base = "\n", .iov_len = 1}};
    return cg__writev_all(fd, iov, 3);
}

/* A decimal number without leading zeros (except "0 "), at most max, then sep. */
static bool dec(struct cg_cur *c, uint64_t max, char sep, uint64_t *v)
{
    uint8_t ch = 0;
    size_t digits = 0;
    *v = 0;
    while (cg__cur_u8(c, &ch) == CG_OK && ch >= '0' && ch <= '9') {
        uint64_t d = (uint64_t)(ch - '0');
        if (digits++ == 1 && *v == 0)
            return false; /* "0" followed by a digit */
        if (d > max || *v > (max - d) / 10)
            return false; /* past max (never wrapping) */
        *v = *v * 10 + d;
    }
    return ch == sep && digits > 0;
}

static int hexval(uint8_t ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* n bytes as 2n lower-case hex digits. */
static bool hex(struct cg_cur *c, uint8_t *out, size_t n)
{
    const uint8_t *p;
    if (cg__cur_bytes(c, 2 * n, &p) != CG_OK)
        return false;
    for (size_t i = 0; i < n; i++) {
        int a = hexval(p[2 * i]), b = hexval(p[2 * i + 1]);
        if (a < 0 || b < 0)
            return false;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return true;
}

/* Format 3's "<enc> ": true past it with *enc set and *v3 true, or true at a
 * format-2 record's digest (no <enc>: nothing set); false for anything else. */
static bool enc_field(struct cg_cur *c, enum cg_mos_encoding *enc, bool *v3)
{
    static const struct { const char *tok; enum cg_mos_encoding e; } encs[] = {
        {"utf8 ", CG_MOS_UTF8}, {"ucs2be ", CG_MOS_UCS2BE}};
    uint8_t ch = 0;
    if (cg__cur_peek(c, &ch) != CG_OK || ch != 'u')
        return true; /* format 2: the digest follows */
    for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
        if (cg__cur_skip(c, encs[i].tok, strlen(encs[i].tok))) {
            *enc = encs[i].e;
            *v3 = true;
            return true;
        }
    }
    return false;
}

/* A record's header as read: the lengths, the checksum and how much of the
 * header it covers (up to the digest). */
struct jhead {
    uint64_t has_id, idlen, dlen;
    uint32_t crc;
    size_t signed_len;
};

/* Format 4's "<number> <regime> " after <enc>: true past it with both set;
 * false with h where it was (a format-3 record: its digest follows). */
static bool number_fields(struct cg_cur *h, struct mos4_jrec *r)
{
    struct cg_cur at = *h;
    if (dec(h, JOURNAL_NUMBER_MAX, ' ', &r->number) && dec(h, JOURNAL_NUMBER_MAX, ' ', &r->regime))
        return true;
    *h = at;
    r->number = r->regime = 0;
    return false;
}

/* The kinds beside R and A (format 4 only): N bare, M a mark without an ID,
 * F (a refused request's record closed, its ID forgotten) without bytes. */
static bool kind_fits(uint8_t kind, bool v4, const struct jhead *j)
{
    if (kind == 'R' || kind == 'A')
        return true;
    if (kind == 'F')
        return v4 && j->dlen == 0;
    if (!v4 || j->has_id != 0)
        return false;
    return kind == 'M' ? j->dlen > 0 : kind == 'N' && j->dlen == 0;
}

/* The header in h up to its "\n": kind, encoding, number, regime and digest
 * into r, the rest into j. False if it is not spelled as the writer spells
 * it. */
static bool header_at(struct cg_cur *h, struct mos4_jrec *r, struct jhead *j)
{
    uint8_t kind = 0, crcb[4];
    if (cg__cur_u8(h, &kind) != CG_OK || kind == 0 || strchr("RANMF", kind) == NULL ||
        !cg__cur_skip(h, " ", 1) ||
        !dec(h, 1, ' ', &j->has_id) || !dec(h, 4 * CG_MOS_ID_MAX, ' ', &j->idlen) ||
        !dec(h, JOURNAL_MAX_RECORD, ' ', &j->dlen) || (j->has_id == 0 && j->idlen != 0))
        return false;
    *r = (struct mos4_jrec){.kind = (char)kind, .enc = CG_MOS_UTF8}; /* format 2: UTF-8 */
    bool v3 = false;
    if (!enc_field(h, &r->enc, &v3))
        return false;
    bool v4 = v3 && number_fields(h, r);
    r->v4 = v4;
    if (!kind_fits(kind, v4, j))
        return false;
    if (!cg__cur_skip(h, "-", 1) && !(r->has_digest = hex(h, r->digest, CG_MOS4_DIGEST)))
        return false;
    /* format 2 hashed the UTF-8 form: that digest means nothing now. A
     * request's is taken again from its data when replayed; an answer's is
     * unknown (a repeat of it is answered from memory, as for format 1) */
    r->has_digest = r->has_digest && v3;
    j->signed_len = h->off;
    if (!cg__cur_skip(h, " ", 1) || !hex(h, crcb, 4) || !cg__cur_skip(h, "\n", 1))
        return false;
    j->crc = (uint32_t)crcb[0] << 24 | (uint32_t)crcb[1] << 16 | (uint32_t)crcb[2] << 8 | crcb[3];
    return true;
}

/* The whole record at p (avail bytes), checksum included: its size, or 0.
 * The header is looked for in its first JOURNAL_HEADER_MAX bytes; the ID,
 * the data and "\n" must follow inside avail. */
static size_t record_at(const uint8_t *p, size_t avail, struct mos4_jrec *r,
                        char id[4 * CG_MOS_ID_MAX + 1])
{
    struct cg_cur c, h;
    struct jhead j;
    const uint8_t *head, *idp, *data;
    cg__cur_init(&c, p, avail);
    h = cg__cur_window(&c, JOURNAL_HEADER_MAX);
    if (!header_at(&h, r, &j) || cg__cur_bytes(&c, h.off, &head) != CG_OK ||
        cg__cur_bytes(&c, j.idlen, &idp) != CG_OK || cg__cur_bytes(&c, j.dlen, &data) != CG_OK ||
        !cg__cur_skip(&c, "\n", 1) || memchr(idp, '\0', j.idlen) != NULL)
        return 0;
    uint32_t sum = cg__mos4_crc32c(0, head, j.signed_len);
    sum = cg__mos4_crc32c(sum, idp, j.idlen);
    if (cg__mos4_crc32c(sum, data, j.dlen) != j.crc)
        return 0;
    memcpy(id, idp, j.idlen);
    id[j.idlen] = '\0';
    r->msgid = j.has_id ? id : NULL;
    r->data = data;
    r->len = (size_t)j.dlen;
    r->raw = p;
    r->raw_len = c.off;
    return c.off;
}

/* An N record: the count and regime as compacted, into info (never a
 * callback's: it stands for no message). */
static void numbered_info(struct mos4_journal_info *info, const struct mos4_jrec *r)
{
    if (info == NULL)
        return;
    info->numbered = true;
    info->number = r->number > info->number ? r->number : info->number;
    info->regime = r->regime > info->regime ? r->regime : info->regime;
}

/* Format 2 from off: a bad run in the middle is skipped up to the next whole
 * record (each candidate proves itself by its checksum). */
static size_t parse_v2(const uint8_t *buf, size_t len, size_t off, mos4_journal_cb cb, void *user,
                       struct mos4_journal_info *info)
{
    size_t end = off;
    char id[4 * CG_MOS_ID_MAX + 1];
    struct mos4_jrec r;
    while (off < len) {
        size_t n = record_at(buf + off, len - off, &r, id);
        if (n > 0 && r.kind == 'N') {
            numbered_info(info, &r);
            end = off += n;
            continue;
        }
        if (n > 0) {
            cb(user, &r);
            end = off += n;
            continue;
        }
        size_t next = off + 1;
        while (next < len && record_at(buf + next, len - next, &r, id) == 0)
            next++;
        if (next >= len)
            break; /* the tail: cut by a crash (or damaged past the last record) */
        if (info != NULL) {
            info->skips++;
            info->skipped += next - off;
            if (info->on_skip != NULL)
                info->on_skip(user, off, next - off);
        }
        off = next;
    }
    return end;
}

/* Format 1 (before checksums and digests): "<kind> <has-id> <id-len>
 * <data-len>\n" <id> <data> "\n", read up to the first record that is not
 * whole. Kept to migrate journals left by older versions. The header line
 * (up to 63 bytes before its "\n") is split by sscanf as those versions
 * split it, so what they read (runs of spaces, a sign) is read alike. */
static bool header_v1(struct cg_cur *c, char *kind, int *has_id, size_t *idlen, size_t *len)
{
    struct cg_cur w = cg__cur_window(c, 64);
    const uint8_t *line;
    size_t n;
    if (cg__cur_find(&w, '\n', &n) != CG_OK || cg__cur_bytes(c, n + 1, &line) != CG_OK)
        return false;
    char h[65];
    memcpy(h, line, n);
    h[n] = '\0';
    unsigned long long a = 0, b = 0;
    char k = 0, tail = 0;
    if (sscanf(h, "%c %d %llu %llu%c", &k, has_id, &a, &b, &tail) != 4 || (k != 'R' && k != 'A') ||
        (*has_id != 0 && *has_id != 1) || a > 4 * CG_MOS_ID_MAX || b > JOURNAL_MAX_RECORD)
        return false;
    *kind = k;
    *idlen = (size_t)a;
    *len = (size_t)b;
    return true;
}

static size_t parse_v1(const uint8_t *buf, size_t len, mos4_journal_cb cb, void *user)
{
    struct cg_cur c;
    size_t end = 0;
    cg__cur_init(&c, buf, len);
    while (cg__cur_left(&c) > 0) {
        char kind, id[4 * CG_MOS_ID_MAX + 1];
        int has_id;
        size_t idlen, dlen;
        const uint8_t *idp, *data;
        if (!header_v1(&c, &kind, &has_id, &idlen, &dlen) ||
            cg__cur_bytes(&c, idlen, &idp) != CG_OK || cg__cur_bytes(&c, dlen, &data) != CG_OK ||
            !cg__cur_skip(&c, "\n", 1) || memchr(idp, '\0', idlen) != NULL) /* a NUL: not ours */
            break;
        memcpy(id, idp, idlen);
        id[idlen] = '\0';
        struct mos4_jrec r = {.kind = kind, .msgid = has_id ? id : NULL, .data = data, .len = dlen,
                              .enc = CG_MOS_UTF8}; /* format 1 was always UTF-8 */
        cb(user, &r);
        end = c.off;
    }
    return end;
}

size_t cg__mos4_journal_parse(const uint8_t *buf, size_t len, mos4_journal_cb cb, void *user,
                              struct mos4_journal_info *info)
{
    struct cg_cur c;
    cg__cur_init(&c, buf, len);
    if (cg__cur_skip(&c, cg__mos4_journal_magic, MAGIC_LEN))
        return parse_v2(buf, len, c.off, cb, user, info);
    if (cg__cur_skip(&c, magic_v3, MAGIC_LEN)) { /* migrated (format 4) */
        if (info != NULL)
            info->format3 = true;
        return parse_v2(buf, len, c.off, cb, user, info);
    }
    if (cg__cur_skip(&c, magic_v2, MAGIC_LEN)) { /* migrated (format 4) */
        if (info != NULL)
            info->format2 = true;
        return parse_v2(buf, len, c.off, cb, user, info);
    }
    struct mos4_jrec r;
    char id[4 * CG_MOS_ID_MAX + 1];
    if (len > 0 && record_at(buf, len, &r, id) == 0) { /* format 1, if it reads as such */
        size_t n = parse_v1(buf, len, cb, user);
        if (n > 0) {
            if (info != NULL)
                info->old_format = true;
            return n;
        }
    }
    return parse_v2(buf, len, 0, cb, user, info); /* the magic line damaged: resynchronise */
}

/* A mark's data: the decimal mark, 1..2^31-1 without leading zeros (msgid.c). */
static bool mark_data(const struct mos4_jrec *r)
{
    uint64_t v = 0;
    if (r->len == 0 || r->len > 10 || r->data[0] == '0')
        return false;
    for (size_t i = 0; i < r->len; i++) {
        if (r->data[i] < '0' || r->data[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(r->data[i] - '0');
    }
    return v <= 2147483647u;
}

bool cg__mos4_journal_record(const uint8_t *rec, size_t len, struct mos4_jrec *r,
                             char id[4 * CG_MOS_ID_MAX + 1])
{
    if (rec == NULL || len == 0 || record_at(rec, len, r, id) != len)
        return false;
    /* only format 4 says a number; M's data is a mark */
    return r->v4 && (r->kind == 'R' || r->kind == 'A' || r->kind == 'F' ||
                     (r->kind == 'M' && mark_data(r)));
}

/* ---- the fsync policy ----
 * ALWAYS: fdatasync after each record. INTERVAL: an endpoint that wrote
 * arms a one-shot timer; when it fires, one syncfs of its state directory's
 * filesystem runs on the thread pool, shared by every endpoint of the
 * process whose state directory is on that filesystem: an endpoint whose
 * last write is older than the start of a completed syncfs of its
 * filesystem is done without one of its own. So a gateway with hundreds of
 * endpoints syncs each filesystem at most once per interval, and never on
 * the loop thread. Until 2026-12-07 a completed syncfs was compared with an
 * endpoint's first unsynced write, so writes made after it began were
 * taken as synced and never were, and any filesystem's syncfs counted for
 * every endpoint (tests/unit/test_mos4_syncfs_last_write.c,
 * test_mos4_syncfs_filesystems.c). */

/* A filesystem holding a state directory, kept for the process's life: the
 * endpoints of every context share it (loop threads, under syncfs_mu), and
 * a sync job may outlive the endpoint that started it. */
struct mos4_syncfs {
    struct mos4_syncfs *next;
    dev_t dev;
    bool running;          /* a syncfs of it is on the thread pool */
    uint64_t done_from_ms; /* the start of its latest completed syncfs */
};
static pthread_mutex_t syncfs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mos4_syncfs *syncfs_all;

/* fd's filesystem, listed at first sight; NULL (errno set): unknown. */
static struct mos4_syncfs *syncfs_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NULL;
    pthread_mutex_lock(&syncfs_mu);
    struct mos4_syncfs *s = syncfs_all;
    while (s != NULL && s->dev != st.st_dev)
        s = s->next;
    if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
        s->dev = st.st_dev;
        s->next = syncfs_all;
        syncfs_all = s;
    }
    pthread_mutex_unlock(&syncfs_mu);
    return s;
}

/* A completed syncfs of ep's filesystem began after ep's last write. */
static bool sync_covers(const struct cg_mos_endpoint *ep)
{
    pthread_mutex_lock(&syncfs_mu);
    bool covers = ep->syncfs->done_from_ms > ep->last_write_ms;
    pthread_mutex_unlock(&syncfs_mu);
    return covers;
}

/* True: fs was not being synced and the caller syncs it now. */
static bool sync_claim(struct mos4_syncfs *fs)
{
    pthread_mutex_lock(&syncfs_mu);
    bool idle = !fs->running;
    fs->running = true;
    pthread_mutex_unlock(&syncfs_mu);
    return idle;
}

static void sync_release(struct mos4_syncfs *fs, bool done, uint64_t started_ms)
{
    pthread_mutex_lock(&syncfs_mu);
    if (done)
        fs->done_from_ms = started_ms;
    fs->running = false;
    pthread_mutex_unlock(&syncfs_mu);
}

struct sync_job {
    uv_work_t w;
    struct mos4_syncfs *fs;
    int fd;
    uint64_t started_ms;
    int err;
};

static void sync_work(uv_work_t *w)
{
    struct sync_job *j = w->data;
    uint64_t t0 = uv_hrtime();
    j->err = syncfs(j->fd) == 0 ? 0 : errno;
    cg__mos4_syncfs_count(uv_hrtime() - t0);
}

static void sync_after(uv_work_t *w, int status)
{
    struct sync_job *j = w->data;
    sync_release(j->fs, status == 0 && j->err == 0, j->started_ms);
    close(j->fd);
    free(j);
}

static void on_sync(uv_timer_t *t)
{
    struct cg_mos_endpoint *ep = t->data;
    if (!ep->dirty)
        return;
    if (sync_covers(ep)) { /* a syncfs of our filesystem began after our last write */
        ep->dirty = false;
        return;
    }
    uv_timer_start(&ep->sync_timer, on_sync, ep->cfg.fsync_interval_ms, 0); /* check again */
    if (!sync_claim(ep->syncfs))
        return; /* one is running: the next check may find it covers us */
    struct sync_job *j = calloc(1, sizeof(*j));
    if (j != NULL && (j->fd = dup(ep->state_fd)) >= 0) {
        j->w.data = j;
        j->fs = ep->syncfs;
        j->started_ms = cg__now_ms();
        if (uv_queue_work(cg_ctx_loop(ep->ctx), &j->w, sync_work, sync_after) == 0)
            return;
        close(j->fd);
    }
    free(j);
    sync_release(ep->syncfs, false, 0);
    cg__log(ep->ctx, CG_LOG_ERROR, "mos", "cannot schedule a sync of %s", ep->cfg.state_dir);
}

void cg__mos4_state_written(struct cg_mos_endpoint *ep, int fd)
{
    if (ep->cfg.fsync == CG_MOS_FSYNC_ALWAYS && fd >= 0 && fdatasync(fd) != 0)
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "fdatasync in %s failed: %s", ep->cfg.state_dir,
                strerror(errno));
    ep->last_write_ms = cg__now_ms(); /* a syncfs covers it only if it begins later */
    if (ep->dirty)
        return;
    ep->dirty = true;
    if (ep->sync_timer_on)
        uv_timer_start(&ep->sync_timer, on_sync, ep->cfg.fsync_interval_ms, 0);
}

void cg__mos4_sync_start(struct cg_mos_endpoint *ep)
{
    if (ep->cfg.fsync != CG_MOS_FSYNC_INTERVAL || ep->state_fd < 0)
        return;
    ep->syncfs = syncfs_of(ep->state_fd);
    if (ep->syncfs == NULL) { /* never in practice: every record synced rather than none */
        cg__log(ep->ctx, CG_LOG_WARN, "mos", "%s: cannot tell its filesystem (%s): fsync = always",
                ep->cfg.state_dir, strerror(errno));
        ep->cfg.fsync = CG_MOS_FSYNC_ALWAYS;
        return;
    }
    uv_timer_init(cg_ctx_loop(ep->ctx), &ep->sync_timer);
    ep->sync_timer.data = ep;
    ep->sync_timer_on = true;
    ep->open_timers++;
}

static void sync_closed(uv_handle_t *h)
{
    struct cg_mos_endpoint *ep = h->data;
    if (--ep->open_timers == 0 && ep->freeing)
        cg__mos4_free_endpoint(ep);
}

void cg__mos4_sync_stop(struct cg_mos_endpoint *ep)
{
    if (!ep->sync_timer_on)
        return;
    /* what is written reaches the disk before we go */
    if (ep->dirty && !sync_covers(ep) && syncfs(ep->state_fd) != 0)
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "syncing %s failed: %s", ep->cfg.state_dir,
                strerror(errno));
    ep->dirty = false;
    ep->sync_timer_on = false;
    uv_close((uv_handle_t *)&ep->sync_timer, sync_closed);
}

/* ---- the lane's journal ---- */

static void journal_path(const struct mos4_lane *l, char *path, size_t sz, const char *suffix)
{
    char sfx[32];
    snprintf(sfx, sizeof(sfx), ".journal%s", suffix);
    cg__mos4_state_path(l, path, sz, sfx);
}

static void jlog(const struct mos4_lane *l, enum cg_log_level lv, const char *what, int err)
{
    cg__log(l->peer->ep->ctx, lv, "mos", "%s %s in: journal: %s%s%s%s", l->peer->id,
            cg__mos4_ch_name(l->ch), what, err != 0 ? " (" : "", err != 0 ? strerror(err) : "",
            err != 0 ? ")" : "");
}

struct replay {
    struct mos4_lane *l;
    unsigned requests, answers;
    bool nomem;
};

static uint64_t ref_of(const void *p) { return (uint64_t)(uintptr_t)p; }

/* The core's held ring is full: room doubled (freed with the lane,
 * cg__mos4_flow_free). A journal may hold more requests without an answer
 * than a peer may have waiting: the one that was at the application plus
 * max_held behind it, or more from an older journal. Each is delivered again,
 * in order (M-22); without memory the core refuses the next one aloud. */
static void held_room(struct cg_flow *f)
{
    if (!cg__flow_held_wants_room(f))
        return;
    size_t cap = 2 * f->hcap;
    struct cg_flow_held *room = calloc(cap, sizeof(*room));
    struct cg_flow_held *old = room != NULL ? cg__flow_held_room(f, room, cap) : NULL;
    if (old != NULL && old != f->held_own)
        free(old);
}

/* A request recorded: back to the flow core with its ID and digest from the
 * record, or (format 1) from the request itself. */
static void replay_request(struct replay *rp, const struct mos4_jrec *r)
{
    held_room(cg__mos4_flow(rp->l));
    struct mos4_msg *m = cg__mos4_msg_copy(r->data, r->len);
    if (m == NULL) {
        rp->nomem = true;
        return;
    }
    struct cg_mos_envelope env;
    bool ok = cg_mos_envelope_parse(r->enc, (const char *)r->data, r->len, &env, NULL) == CG_OK;
    m->enc = r->enc;
    m->jmark = (struct mos4_jmark){r->number, r->regime}; /* kept by compactions */
    uint8_t digest[CG_MOS4_DIGEST] = {0};
    if (r->has_digest)
        memcpy(digest, r->digest, CG_MOS4_DIGEST);
    else if (ok)
        cg__mos4_digest(r->data + env.element.off, env.element.len, digest);
    cg__flow_replay_request(cg__mos4_flow(rp->l), ref_of(m),
                            ok && env.message_id_kind != CG_MOS_MSGID_ABSENT ? env.message_id : NULL,
                            digest, ok ? env.name : "");
    rp->requests++;
}

/* An answer: its request is done, and a repeat of it gets the answer (M-22). */
static void replay_answer(struct replay *rp, const struct mos4_jrec *r)
{
    struct mos4_msg *m = cg__mos4_msg_copy(r->data, r->len);
    if (m == NULL) {
        rp->nomem = true;
        return;
    }
    m->enc = r->enc;
    m->jmark = (struct mos4_jmark){r->number, r->regime};
    /* format 1: no digest, a repeat is taken as the same request */
    cg__flow_replay_answer_sized(cg__mos4_flow(rp->l), r->msgid,
                                 r->has_digest ? r->digest : NULL, ref_of(m), r->len);
    rp->answers++;
}

static void replay_record(void *user, const struct mos4_jrec *r)
{
    struct replay *rp = user;
    if (r->kind != 'R' && r->kind != 'A' && r->kind != 'F')
        return; /* a mark (M) is not a journal file's: ignored */
    cg__mos4_journal_numbered(rp->l->peer->ep, r->number, r->regime);
    if (r->kind == 'R' && r->len == 0) /* a compacted "delivered, unanswered": its ID only */
        cg__flow_replay_delivered(cg__mos4_flow(rp->l), r->msgid, r->has_digest ? r->digest : NULL);
    else if (r->kind == 'R')
        replay_request(rp, r);
    else if (r->kind == 'F') /* refused without an answer: closed, its ID forgotten */
        cg__flow_replay_answer(cg__mos4_flow(rp->l), r->msgid, NULL, 0);
    else if (r->len == 0) /* answered, answer let go of (answer_memory): never delivered again */
        cg__flow_replay_evicted(cg__mos4_flow(rp->l), r->msgid, r->has_digest ? r->digest : NULL);
    else
        replay_answer(rp, r);
    cg__mos4_flow_apply(rp->l); /* what the core let go of (RELEASE) */
}

static enum cg_err put(struct cg_buf *b, char kind, const char *msgid, bool has_digest,
                       const uint8_t *digest, const void *data, size_t len,
                       const struct mos4_jmark *mk)
{
    struct mos4_jrec r = {.kind = kind, .msgid = msgid, .data = data, .len = len,
                          .has_digest = has_digest, .number = mk->number, .regime = mk->regime};
    if (has_digest)
        memcpy(r.digest, digest, CG_MOS4_DIGEST);
    return cg__mos4_journal_encode(b, &r);
}

/* The journal as the flow core's memory holds it: the count and regime (N),
 * the remembered answers (and the IDs of requests delivered before a
 * restart, still unanswered: their numbers are not in memory, they are
 * written as 0), then the request with the application, then, with the
 * journal option, the held ones; each under the number and regime it was
 * first written with. */
static enum cg_err image(struct mos4_lane *l, struct cg_buf *b)
{
    static const struct mos4_jmark none = {0, 0};
    const struct cg_mos_endpoint *ep = l->peer->ep;
    const struct mos4_jmark count = {cg__mos4_journal_next(ep) - 1, ep->jregime};
    CG_GUARD(cg__buf_append(b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)));
    CG_GUARD(put(b, 'N', NULL, false, NULL, "", 0, &count));
    const struct cg_flow *f = cg__mos4_flow(l);
    for (size_t k = 0; k < CG_FLOW_SEEN; k++) {
        const struct cg_flow_seen *s = &f->seen[(f->seen_next + k) % CG_FLOW_SEEN];
        const struct mos4_msg *a = s->answered ? cg__mos4_msg(s->answer) : NULL;
        if (s->msgid[0] != '\0' && a != NULL)
            CG_GUARD(put(b, 'A', s->msgid, s->has_digest, s->digest, a->xml, a->len, &a->jmark));
        else if (s->msgid[0] != '\0' && s->evicted) /* answered, answer let go of: no bytes, 0 */
            CG_GUARD(put(b, 'A', s->msgid, s->has_digest, s->digest, "", 0, &none));
        else if (s->msgid[0] != '\0' && s->restored)
            CG_GUARD(put(b, 'R', s->msgid, s->has_digest, s->digest, "", 0, &none));
    }
    const struct cg_mos_request *cur = l->current;
    bool id_only = !f->cfg.journal; /* delivered, never delivered again: its ID */
    if (cur != NULL && (cur->wire != NULL || id_only))
        CG_GUARD(put(b, 'R', cur->has_msgid ? cur->msgid : NULL, true, cur->digest,
                     cur->wire != NULL ? cur->wire : (const uint8_t *)"",
                     cur->wire != NULL ? cur->wlen : 0, &cur->jmark));
    for (size_t i = 0; i < f->hlen && f->cfg.journal; i++) {
        const struct cg_flow_held *h = cg__flow_held_at(f, i);
        const struct mos4_msg *m = cg__mos4_msg(h->ref);
        CG_GUARD(put(b, 'R', h->has_id ? h->msgid : NULL, true, h->digest, m->xml, m->len,
                     &m->jmark));
    }
    return CG_OK;
}

/* A journal holding records appended from the active (or just set aside)
 * is not memory's image: it is opened to append, never rewritten. An empty
 * (new) one gets the magic line. */
static bool reopen(struct mos4_lane *l)
{
    char path[4096];
    journal_path(l, path, sizeof(path), "");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    bool ok = fd >= 0 && fstat(fd, &st) == 0;
    if (ok && st.st_size == 0) {
        ok = cg__write_all(fd, cg__mos4_journal_magic, MAGIC_LEN) == CG_OK;
        st.st_size = (off_t)MAGIC_LEN;
    }
    if (!ok) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        jlog(l, CG_LOG_ERROR, "cannot open the journal", err);
        errno = err;
        return false;
    }
    l->jfd = fd;
    l->jsize = (uint64_t)st.st_size;
    return true;
}

/* Rewrites the journal from memory (sync per the fsync policy: with
 * INTERVAL the state directory's syncfs covers it). */
static bool compact(struct mos4_lane *l)
{
    if (l->jreplica)
        return l->jfd >= 0 || reopen(l);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    char path[4096];
    journal_path(l, path, sizeof(path), "");
    errno = 0;
    enum cg_err rc = image(l, &b);
    if (rc == CG_OK)
        rc = cg__file_replace(path, b.data, b.len, 0600,
                              l->peer->ep->cfg.fsync == CG_MOS_FSYNC_ALWAYS ? CG_FILE_SYNC : 0);
    int fd = rc == CG_OK ? open(path, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
    int err = errno;
    if (rc == CG_OK && l->jfd >= 0) /* replaced: the old descriptor is a removed file's */
        cg__mos4_journal_close(l);
    /* not replaced: the file as it was (whole records) takes the next appends */
    if (fd >= 0) {
        l->jfd = fd;
        l->jsize = l->jsize_compact = b.len;
        l->jlargest = 0;
        l->compactions++;
        cg__mos4_state_written(l->peer->ep, -1);
    }
    cg__buf_free(&b);
    if (fd < 0)
        jlog(l, CG_LOG_ERROR, "cannot rewrite the journal", rc == CG_ENOMEM ? ENOMEM : err);
    errno = err;
    return fd >= 0;
}

static void skipped(void *user, size_t off, size_t len)
{
    const struct replay *r = user;
    char what[200];
    snprintf(what, sizeof(what), "%zu damaged bytes at offset %zu skipped (not a whole record "
             "with a good checksum); the records around them are kept", len, off);
    jlog(r->l, CG_LOG_WARN, what, 0);
}

/* Reads the journal into memory; true when the file needs keeping as damaged. */
static bool replay_file(struct mos4_lane *l, const char *path, struct replay *r)
{
    uint8_t *data = NULL;
    size_t len = 0;
    errno = 0;
    enum cg_err rc = cg__read_file(path, (size_t)4 * JOURNAL_MAX_RECORD, &data, &len);
    if (rc != CG_OK) {
        if (errno != ENOENT)
            jlog(l, CG_LOG_ERROR, "cannot read the journal", errno);
        return false;
    }
    struct mos4_journal_info info = {.on_skip = skipped};
    size_t good = cg__mos4_journal_parse(data, len, replay_record, r, &info);
    free(data);
    char what[200];
    if (info.old_format) {
        jlog(l, CG_LOG_INFO, "format 1 (no checksums): read and rewritten as format 2 plus "
             "encodings (format 3)", 0);
        snprintf(what, sizeof(what), "%zu bytes at the end are not a whole record: dropped",
                 len - good);
    } else {
        snprintf(what, sizeof(what), "%zu bytes at the end are not a whole record with a good "
                 "checksum: dropped", len - good);
    }
    if (info.format2)
        jlog(l, CG_LOG_INFO, "format 2 (UTF-8 only): read and rewritten as format 4 (records "
             "numbered 0)", 0);
    if (info.format3)
        jlog(l, CG_LOG_INFO, "format 3 (no record numbers): read and rewritten as format 4 "
             "(records numbered 0)", 0);
    if (info.numbered) { /* the count as compacted: records since dropped keep their numbers used */
        struct cg_mos_endpoint *ep = l->peer->ep;
        cg__mos4_journal_numbered(ep, info.number, 0);
        ep->jregime = info.regime > ep->jregime ? info.regime : ep->jregime;
    }
    if (good < len)
        jlog(l, CG_LOG_WARN, what, 0);
    return info.skips > 0;
}

void cg__mos4_journal_open(struct mos4_lane *l)
{
    char path[4096], last[4096], damaged[4200];
    journal_path(l, path, sizeof(path), "");
    journal_path(l, damaged, sizeof(damaged), ".damaged");
    cg__mos4_state_path(l, last, sizeof(last), ".last"); /* superseded by the journal */
    struct replay r = {.l = l};
    cg__mos4_msgid_numbered(l); /* the mark's record number, before anything is numbered */
    if (replay_file(l, path, &r) && rename(path, damaged) == 0) {
        char what[4300];
        snprintf(what, sizeof(what), "the damaged file is kept as %s", damaged);
        jlog(l, CG_LOG_WARN, what, 0);
    }
    if (r.nomem)
        jlog(l, CG_LOG_ERROR, "out of memory replaying the journal", ENOMEM);
    if (r.requests > 0 || r.answers > 0)
        cg__log(l->peer->ep->ctx, CG_LOG_INFO, "mos", "%s %s in: journal: %u request(s), %u "
                "answer(s); %zu to deliver again", l->peer->id, cg__mos4_ch_name(l->ch),
                r.requests, r.answers, l->peer->ep->cfg.journal ? cg__mos4_flow(l)->hlen : 0);
    if (!l->peer->ep->cfg.journal) /* delivered before the restart: remembered by ID */
        cg__mos4_replay(l);
    if (compact(l))
        unlink(last);
}

void cg__mos4_journal_close(struct mos4_lane *l)
{
    if (l->jfd >= 0)
        close(l->jfd);
    l->jfd = -1;
}

/* One record on disk, whole or not at all. With a state directory whose
 * journal could not be opened (or rewritten), it is tried again first. */
static bool append(struct mos4_lane *l, char kind, const char *msgid, const uint8_t *digest,
                   const void *d, size_t n)
{
    if (l->peer->ep->cfg.state_dir == NULL)
        return true; /* no journal asked for */
    l->jlast = (struct mos4_jmark){0, 0};
    if (l->jfd < 0 && !compact(l))
        return false;
    struct cg_mos_endpoint *ep = l->peer->ep;
    struct mos4_jrec r = {.kind = kind, .msgid = msgid, .data = d, .len = n, .has_digest = true,
                          .number = cg__mos4_journal_next(ep), .regime = ep->jregime};
    memcpy(r.digest, digest, CG_MOS4_DIGEST);
    size_t wlen = 0;
    char h[JOURNAL_H];
    bool whole = false;
    struct cg_buf big; /* an observer reads a large record whole: put together first */
    cg__buf_init(&big, 0);
    errno = ERANGE;
    enum cg_err rc = CG_OK;
    if (ep->jops.appended != NULL &&
        n > JOURNAL_H - JOURNAL_HEADER_MAX - 1 - (msgid != NULL ? strlen(msgid) : 0)) {
        rc = cg__mos4_journal_encode(&big, &r);
        errno = rc == CG_ENOMEM ? ENOMEM : ERANGE;
        wlen = big.len;
        if (rc == CG_OK)
            rc = cg__write_all(l->jfd, big.data, wlen);
    } else {
        rc = write_record(l->jfd, &r, h, &wlen, &whole);
    }
    int err = errno;
    if (rc != CG_OK) {
        /* a part may be written: cut it off, or the next record would follow garbage */
        if (ftruncate(l->jfd, (off_t)l->jsize) != 0)
            cg__mos4_journal_close(l); /* reopened (rewritten) before the next record */
        jlog(l, CG_LOG_ERROR, kind == 'R' ? "cannot record a request" : "cannot record an answer",
             err);
    } else {
        l->jsize += wlen;
        if (wlen > l->jlargest)
            l->jlargest = wlen;
        uint64_t t0 = uv_hrtime();
        cg__mos4_state_written(l->peer->ep, l->jfd);
        cg__mos4_journal_count(l, wlen, uv_hrtime() - t0);
        cg__mos4_journal_numbered(ep, r.number, r.regime);
        l->jlast = (struct mos4_jmark){r.number, r.regime};
        if (whole || big.len > 0)
            cg__mos4_journal_tell(l, &r, whole ? (const void *)h : big.data, wlen);
    }
    cg__buf_free(&big);
    errno = err;
    return rc == CG_OK;
}

/* Without the journal option a request is never delivered again after a
 * restart: its ID and digest say it was delivered (a repeat then follows the
 * redeliver rule, M-22), so its bytes are not written (issue 13 item 6). */
bool cg__mos4_journal_request(struct mos4_lane *l, const char *msgid,
                              const uint8_t digest[CG_MOS4_DIGEST], const char *xml, size_t len)
{
    if (!l->peer->ep->cfg.journal)
        return append(l, 'R', msgid, digest, "", 0);
    return append(l, 'R', msgid, digest, xml, len);
}

/* Compaction is due when the file has doubled past JOURNAL_COMPACT since the
 * last one and what was appended since is more than 4 of its largest records:
 * each rewrite is then paid for by at least as many bytes appended as it
 * writes, and a stream of large requests (a 2 MB roCreate each) rewrites the
 * file every 5 requests, not after each (issue 13). A lane's file stays
 * under about max(JOURNAL_COMPACT, 2 x what memory holds, 5 x its largest record). */
static bool compaction_due(const struct mos4_lane *l)
{
    return l->jsize > JOURNAL_COMPACT && l->jsize > 2 * l->jsize_compact &&
           l->jsize - l->jsize_compact > 4 * l->jlargest;
}

bool cg__mos4_journal_answer(struct mos4_lane *l, const char *msgid,
                             const uint8_t digest[CG_MOS4_DIGEST], const void *wire, size_t len)
{
    bool ok = append(l, 'A', msgid, digest, wire, len);
    l->jcheck = l->jcheck || ok; /* compaction considered once the event is done */
    return ok;
}

bool cg__mos4_journal_forget(struct mos4_lane *l, const char *msgid,
                             const uint8_t digest[CG_MOS4_DIGEST])
{
    bool ok = append(l, 'F', msgid, digest, "", 0);
    l->jcheck = l->jcheck || ok;
    return ok;
}

/* After the flow core's actions of an event are all carried out (memory and
 * the adapter agree on what is open): a compaction if an answer was recorded
 * and one is due. */
void cg__mos4_journal_settle(struct mos4_lane *l)
{
    bool check = l->jcheck;
    l->jcheck = false;
    if (check && l->jfd >= 0 && compaction_due(l))
        compact(l);
}

/* ---- numbering and the gateway pair (issue 18, docs/redundancy.md) ---- */

static uint64_t *count_of(struct cg_mos_endpoint *ep)
{
    return ep->jcounter != NULL ? ep->jcounter : &ep->jnumber;
}

uint64_t cg__mos4_journal_next(const struct cg_mos_endpoint *ep)
{
    return (ep->jcounter != NULL ? *ep->jcounter : ep->jnumber) + 1;
}

void cg__mos4_journal_numbered(struct cg_mos_endpoint *ep, uint64_t number, uint64_t regime)
{
    uint64_t *c = count_of(ep);
    if (number > *c)
        *c = number;
    if (regime > ep->jlast_regime)
        ep->jlast_regime = regime;
    if (regime > ep->jregime) /* a record of a regime: we follow at least that one */
        ep->jregime = regime;
}

void cg__mos4_journal_tell(const struct mos4_lane *l, const struct mos4_jrec *r,
                           const void *bytes, size_t len)
{
    struct cg_mos_endpoint *ep = l->peer->ep;
    if (ep->jops.appended == NULL)
        return;
    ep->in_tell = true; /* the answer gate does not write from inside (gate.c) */
    ep->jops.appended(ep->juser, l->peer->id, cg__mos4_ch_bit(l->ch), r->number, r->regime,
                      bytes, len);
    ep->in_tell = false;
}

enum cg_err cg_mos_endpoint_set_journal_ops(struct cg_mos_endpoint *ep,
                                            const struct cg_mos_journal_ops *ops, void *user)
{
    CG_CHECK(ep != NULL, CG_EINVAL);
    ep->jops = ops != NULL ? *ops : (struct cg_mos_journal_ops){0};
    ep->juser = user;
    return CG_OK;
}

void cg_mos_endpoint_journal_position(const struct cg_mos_endpoint *ep, uint64_t *last_number,
                                      uint64_t *regime)
{
    if (last_number != NULL)
        *last_number = ep != NULL ? cg__mos4_journal_next(ep) - 1 : 0;
    if (regime != NULL)
        *regime = ep != NULL ? ep->jregime : 0;
}

enum cg_err cg_mos_endpoint_set_journal_counter(struct cg_mos_endpoint *ep, uint64_t *counter)
{
    CG_CHECK(ep != NULL, CG_EINVAL);
    uint64_t now = *count_of(ep);
    if (counter != NULL && *counter < now)
        *counter = now;
    if (counter == NULL)
        ep->jnumber = now; /* on from the shared count */
    ep->jcounter = counter;
    return CG_OK;
}

enum cg_err cg_mos_endpoint_set_journal_regime(struct cg_mos_endpoint *ep, uint64_t regime)
{
    CG_CHECK(ep != NULL && regime <= JOURNAL_NUMBER_MAX, CG_EINVAL);
    CG_CHECK(regime >= ep->jregime, CG_ERANGE);
    ep->jregime = regime;
    return CG_OK;
}

static enum cg_err refuse(enum cg_err rc, char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum cg_err refuse(enum cg_err rc, char *why, size_t whysz, const char *fmt, ...)
{
    if (why != NULL && whysz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whysz, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The IN lane of peer_id on ch whose journal a replicated record goes to. */
static enum cg_err journal_lane(struct cg_mos_endpoint *ep, const char *peer_id,
                                enum cg_mos_channel ch, struct mos4_lane **out, char *why,
                                size_t whysz)
{
    if (ep->cfg.state_dir == NULL)
        return refuse(CG_ESTATE, why, whysz, "the endpoint has no state directory");
    struct mos4_peer *p = cg__mos4_peer(ep, peer_id);
    if (p == NULL)
        return refuse(CG_ENOTFOUND, why, whysz, "no peer %s", peer_id);
    int c = cg__mos4_ch_index(ch);
    if (c < 0 || (p->channels & cg__mos4_ch_bit(c)) == 0)
        return refuse(CG_EINVAL, why, whysz, "peer %s has no such channel", peer_id);
    *out = &p->lanes[c][CG_MOS_IN];
    return CG_OK;
}

/* The active's record bytes to l's journal, whole or not at all. */
static bool append_replica(struct mos4_lane *l, const uint8_t *rec, size_t len)
{
    l->jreplica = true; /* memory no longer holds the file's image: never compacted from it */
    if (l->jfd < 0 && !reopen(l))
        return false;
    errno = 0;
    if (cg__write_all(l->jfd, rec, len) != CG_OK) {
        int err = errno;
        if (ftruncate(l->jfd, (off_t)l->jsize) != 0)
            cg__mos4_journal_close(l);
        jlog(l, CG_LOG_ERROR, "cannot append a replicated record", err);
        errno = err;
        return false;
    }
    l->jsize += len;
    uint64_t t0 = uv_hrtime();
    cg__mos4_state_written(l->peer->ep, l->jfd);
    cg__mos4_journal_count(l, len, uv_hrtime() - t0);
    return true;
}

/* What the standby's journal takes (cg_mos_endpoint_journal_append). */
static enum cg_err replica_fits(const struct cg_mos_endpoint *ep, const struct mos4_jrec *r,
                                char *why, size_t whysz)
{
    uint64_t last = cg__mos4_journal_next(ep) - 1;
    if (r->regime > ep->jregime)
        return refuse(CG_ESTATE, why, whysz, "record %" PRIu64 " is of regime %" PRIu64
                      ", newer than the regime this journal follows (%" PRIu64 ")",
                      r->number, r->regime, ep->jregime);
    if (r->regime < ep->jlast_regime)
        return refuse(CG_ESTATE, why, whysz, "record %" PRIu64 " is of regime %" PRIu64
                      ", older than the last record's (%" PRIu64 ")", r->number, r->regime,
                      ep->jlast_regime);
    if (r->number == 0 ? last != 0 : r->number <= last)
        return refuse(CG_ERANGE, why, whysz, "record %" PRIu64 " is not after the last one "
                      "(%" PRIu64 ")", r->number, last);
    return CG_OK;
}

enum cg_err cg_mos_endpoint_journal_append(struct cg_mos_endpoint *ep, const char *peer_id,
                                           enum cg_mos_channel ch, const uint8_t *rec, size_t len,
                                           char *why, size_t whysz)
{
    if (why != NULL && whysz > 0)
        why[0] = '\0';
    if (ep == NULL || peer_id == NULL || (rec == NULL && len > 0))
        return refuse(CG_EINVAL, why, whysz, "no endpoint, peer or record");
    struct mos4_lane *l = NULL;
    CG_GUARD(journal_lane(ep, peer_id, ch, &l, why, whysz));
    struct mos4_jrec r;
    char id[4 * CG_MOS_ID_MAX + 1];
    if (!cg__mos4_journal_record(rec, len, &r, id))
        return refuse(CG_EPROTO, why, whysz, "not one whole format-4 record (R, A or M) with a "
                      "good checksum (%zu bytes)", len);
    CG_GUARD(replica_fits(ep, &r, why, whysz));
    bool ok = r.kind == 'M' ? cg__mos4_msgid_replicated(l, &r) : append_replica(l, rec, len);
    if (!ok)
        return refuse(CG_EIO, why, whysz, "record %" PRIu64 " could not be stored: %s", r.number,
                      strerror(errno != 0 ? errno : EIO));
    cg__mos4_journal_numbered(ep, r.number, r.regime);
    if (r.kind != 'M')
        l->jlast = (struct mos4_jmark){r.number, r.regime};
    return CG_OK;
}

/* "20261207T081530.123Z" (UTC, milliseconds). */
static void utc_stamp(char *out, size_t sz)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, sz, "%Y%m%dT%H%M%S", &tm);
    snprintf(out + n, sz - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* l's journal renamed beside (never over another), a new one started:
 * the magic line and N (count 0, regime); its peer-channel's messageID mark
 * kept without its number. */
static bool aside_lane(struct mos4_lane *l, const char *stamp, uint64_t old, uint64_t regime)
{
    char path[4096], aside[4300];
    journal_path(l, path, sizeof(path), "");
    cg__mos4_journal_close(l);
    cg__mos4_msgid_unnumber(l); /* the mark stays (M-11), its number was the old regime's */
    for (unsigned k = 0; access(path, F_OK) == 0; k++) {
        char again[16] = "";
        if (k > 0)
            snprintf(again, sizeof(again), "-%u", k);
        snprintf(aside, sizeof(aside), "%s.aside-%s-r%" PRIu64 "%s", path, stamp, old, again);
        if (link(path, aside) == 0) { /* link: fails where a file is, rename would replace it */
            unlink(path);
            char what[4400];
            snprintf(what, sizeof(what), "another regime follows: set aside as %s", aside);
            jlog(l, CG_LOG_WARN, what, 0);
            break;
        }
        if (errno != EEXIST || k >= 100) {
            jlog(l, CG_LOG_ERROR, "cannot set the journal aside", errno);
            return false;
        }
    }
    struct cg_buf b;
    cg__buf_init(&b, 0);
    const struct mos4_jmark start = {0, regime};
    enum cg_err rc = cg__buf_append(&b, cg__mos4_journal_magic, MAGIC_LEN);
    if (rc == CG_OK)
        rc = put(&b, 'N', NULL, false, NULL, "", 0, &start);
    if (rc == CG_OK)
        rc = cg__file_replace(path, b.data, b.len, 0600, CG_FILE_SYNC);
    cg__buf_free(&b);
    l->jreplica = true; /* memory is the old regime's: the new file is not its image */
    l->jlast = (struct mos4_jmark){0, 0};
    l->jsize_compact = l->jlargest = 0;
    if (rc != CG_OK || !reopen(l)) {
        jlog(l, CG_LOG_ERROR, "cannot start a journal for the new regime", errno);
        return false;
    }
    return true;
}

enum cg_err cg_mos_endpoint_journal_set_aside(struct cg_mos_endpoint *ep, uint64_t regime)
{
    CG_CHECK(ep != NULL && regime <= JOURNAL_NUMBER_MAX, CG_EINVAL);
    CG_CHECK(ep->cfg.state_dir != NULL, CG_ESTATE);
    CG_CHECK(regime >= ep->jregime, CG_ERANGE);
    char stamp[48];
    utc_stamp(stamp, sizeof(stamp));
    uint64_t old = ep->jregime;
    *count_of(ep) = 0; /* the new regime's numbers are its active's */
    ep->jlast_regime = 0;
    ep->jregime = regime;
    bool ok = true;
    for (size_t i = 0; i < ep->npeers; i++)
        for (int c = 0; c < CG_MOS4_NCH; c++)
            if ((ep->peers[i]->channels & cg__mos4_ch_bit(c)) != 0)
                ok = aside_lane(&ep->peers[i]->lanes[c][CG_MOS_IN], stamp, old, regime) && ok;
    return ok ? CG_OK : CG_EIO;
}

/* ---- reading from a number on (a resync) ---- */

struct jitem {
    uint64_t number, regime;
    size_t order; /* as found: equal numbers (0) keep the files' order */
    const char *peer;
    enum cg_mos_channel ch;
    const uint8_t *rec;
    size_t len;
};

struct jread {
    struct jitem *items;
    size_t n, cap;
    uint8_t **bufs; /* what the items point into */
    size_t nbufs, capbufs;
    uint64_t from;
    const char *peer;
    enum cg_mos_channel ch;
    bool nomem;
};

/* p with room for n + 1 elements of size (doubled as needed), or NULL (p
 * unchanged, still valid). */
static void *room(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap != 0 ? 2 * *cap : 64;
    void *q = c <= SIZE_MAX / size ? realloc(p, c * size) : NULL;
    if (q != NULL)
        *cap = c;
    return q;
}

static bool wanted(const struct jread *j, uint64_t number)
{
    return number >= j->from && (number > 0 || j->from == 0);
}

static void add_item(struct jread *j, uint64_t number, uint64_t regime, const uint8_t *rec,
                     size_t len)
{
    if (!wanted(j, number))
        return;
    struct jitem *items = room(j->items, &j->cap, j->n, sizeof(*j->items));
    if (items == NULL) {
        j->nomem = true;
        return;
    }
    j->items = items;
    j->items[j->n] = (struct jitem){.number = number, .regime = regime, .order = j->n,
                                    .peer = j->peer, .ch = j->ch, .rec = rec, .len = len};
    j->n++;
}

static void read_record(void *user, const struct mos4_jrec *r)
{
    if (r->kind == 'R' || r->kind == 'A' || r->kind == 'F')
        add_item(user, r->number, r->regime, r->raw, r->raw_len);
}

static bool keep_buf(struct jread *j, uint8_t *b)
{
    uint8_t **bufs = room(j->bufs, &j->capbufs, j->nbufs, sizeof(*j->bufs));
    if (bufs == NULL) {
        free(b);
        j->nomem = true;
        return false;
    }
    j->bufs = bufs;
    j->bufs[j->nbufs++] = b;
    return true;
}

/* l's journal file and its peer-channel's mark into j. */
static enum cg_err read_lane(struct jread *j, struct mos4_lane *l)
{
    char path[4096];
    journal_path(l, path, sizeof(path), "");
    j->peer = l->peer->id;
    j->ch = cg__mos4_ch_bit(l->ch);
    uint8_t *data = NULL;
    size_t len = 0;
    errno = 0;
    if (cg__read_file(path, (size_t)4 * JOURNAL_MAX_RECORD, &data, &len) != CG_OK) {
        CG_CHECK(errno == ENOENT, CG_EIO);
    } else if (keep_buf(j, data)) {
        cg__mos4_journal_parse(data, len, read_record, j, NULL);
    }
    struct cg_buf m;
    cg__buf_init(&m, 0);
    uint64_t number = 0, regime = 0;
    if (cg__mos4_msgid_record(l, &m, &number, &regime) && keep_buf(j, m.data))
        add_item(j, number, regime, m.data, m.len);
    else
        cg__buf_free(&m);
    return j->nomem ? CG_ENOMEM : CG_OK;
}

static int by_number(const void *a, const void *b)
{
    const struct jitem *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

enum cg_err cg_mos_endpoint_journal_read(struct cg_mos_endpoint *ep, uint64_t from,
                                         cg_mos_journal_read_cb cb, void *user)
{
    CG_CHECK(ep != NULL && cb != NULL, CG_EINVAL);
    CG_CHECK(ep->cfg.state_dir != NULL, CG_ESTATE);
    struct jread j = {.from = from};
    enum cg_err rc = CG_OK;
    for (size_t i = 0; i < ep->npeers && rc == CG_OK; i++)
        for (int c = 0; c < CG_MOS4_NCH && rc == CG_OK; c++)
            if ((ep->peers[i]->channels & cg__mos4_ch_bit(c)) != 0)
                rc = read_lane(&j, &ep->peers[i]->lanes[c][CG_MOS_IN]);
    if (rc == CG_OK) {
        if (j.n > 1)
            qsort(j.items, j.n, sizeof(*j.items), by_number);
        for (size_t i = 0; i < j.n; i++)
            cb(user, j.items[i].peer, j.items[i].ch, j.items[i].number, j.items[i].regime,
               j.items[i].rec, j.items[i].len);
    }
    for (size_t i = 0; i < j.nbufs; i++)
        free(j.bufs[i]);
    free(j.bufs);
    free(j.items);
    return rc;
}
