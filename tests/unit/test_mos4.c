/* Unit tests for src/mos4 pieces that need no network: the upgrade query
 * (M-02), our envelope (M-20), element extraction, NACK detection, the URL a
 * lane dials, and messageID blocks that survive a restart (M-11). */
#include "testutil.h"
#include "mos4/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The upgrade query (M-02): tests/unit/test_mos4_query.c. */

static void test_element_extraction(void **state)
{
    (void)state;
    const char *elem;
    size_t len;
    char name[64];
    const char whole[] = "<mos><ncsID>N</ncsID><mosID>M</mosID><messageID>7</messageID>"
                         "<roReq><roID>R</roID></roReq></mos>";
    assert_int_equal(cg__mos4_element(whole, strlen(whole), &elem, &len, name, sizeof(name)), CG_OK);
    assert_string_equal(name, "roReq");
    assert_int_equal(len, strlen("<roReq><roID>R</roID></roReq>"));
    assert_memory_equal(elem, "<roReq>", 7);
    const char bare[] = "  <heartbeat><time>2009-04-11T17:20:42</time></heartbeat>";
    assert_int_equal(cg__mos4_element(bare, strlen(bare), &elem, &len, name, sizeof(name)), CG_OK);
    assert_string_equal(name, "heartbeat");
    const char two[] = "<roReq/><roAck/>";
    assert_int_not_equal(cg__mos4_element(two, strlen(two), &elem, &len, name, sizeof(name)), CG_OK);
}

static void test_nack_detection(void **state)
{
    (void)state;
    const char ack[] = "<mosAck><objID>1</objID><status>ACK</status></mosAck>";
    const char nack[] = "<mosAck><objID>1</objID><status> NACK </status></mosAck>";
    const char rok[] = "<roAck><roID>R</roID><roStatus>OK</roStatus></roAck>";
    const char rbad[] = "<roAck><roID>R</roID><roStatus>Unknown object M000133</roStatus></roAck>";
    assert_false(cg__mos4_is_nack("mosAck", ack, strlen(ack)));
    assert_true(cg__mos4_is_nack("mosAck", nack, strlen(nack)));
    assert_false(cg__mos4_is_nack("roAck", rok, strlen(rok)));
    assert_true(cg__mos4_is_nack("roAck", rbad, strlen(rbad)));
    assert_false(cg__mos4_is_nack("listMachInfo", nack, strlen(nack)));
}

/* A peer and lane without an event loop, enough for wire.c and msgid.c. */
struct fixture;
static size_t nheld(struct fixture *f);
static const struct mos4_msg *held_at(struct fixture *f, size_t i);
struct fixture {
    struct cg_mos_endpoint ep;
    struct mos4_peer peer;
    struct mos4_lane lane;
    char dir[64];
};

static void fixture_init(struct fixture *f, enum cg_mos_role role, const char *state_dir)
{
    memset(f, 0, sizeof(*f));
    f->ep.cfg.role = role;
    snprintf(f->ep.cfg.id, sizeof(f->ep.cfg.id), "%s", role == CG_MOS_ROLE_NCS ? "ncs<1>" : "dev");
    f->ep.cfg.state_dir = (char *)state_dir;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "%s", role == CG_MOS_ROLE_NCS ? "dev" : "ncs<1>");
    f->lane.peer = &f->peer;
    f->lane.ch = 1;
}

static void test_envelope_order_and_escaping(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_NCS, NULL);
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__mos4_wrap(&f.lane, "<roReq/>", 8, "0x1F", &b), CG_OK);
    assert_int_equal(cg__buf_append(&b, "", 1), CG_OK);
    /* M-20: mosID, ncsID, messageID, message; IDs escaped; messageID verbatim */
    assert_string_equal((char *)b.data, "<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID>"
                                         "<messageID>0x1F</messageID><roReq/></mos>");
    cg__buf_reset(&b);
    assert_int_equal(cg__mos4_wrap(&f.lane, "<roAck/>", 8, NULL, &b), CG_OK); /* legacy: none */
    assert_int_equal(cg__buf_append(&b, "", 1), CG_OK);
    assert_null(strstr((char *)b.data, "messageID"));
    cg__buf_free(&b);
}

static void test_url_query(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_NCS, NULL);
    f.peer.url = "wss://dev.example:8443/mos/Communication";
    char *url = NULL;
    assert_int_equal(cg__mos4_url_with_query(&f.lane, &url), CG_OK);
    assert_string_equal(url, "wss://dev.example:8443/mos/Communication?mosID=dev&ncsID=ncs%3C1%3E"
                             "&channel=ro");
    free(url);
    f.peer.url = "wss://h/MOS4NCS/?site=7"; /* ENPS-style path with its own query */
    f.lane.passive_dial = true;
    f.lane.ch = 0;
    assert_int_equal(cg__mos4_url_with_query(&f.lane, &url), CG_OK);
    assert_string_equal(url, "wss://h/MOS4NCS/?site=7&mosID=dev&ncsID=ncs%3C1%3E&channel=mom"
                             "&passive=true");
    free(url);
}

static void test_msgid_blocks_survive_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-mos4-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_NCS, dir);
    for (uint32_t i = 1; i <= 300; i++)
        assert_int_equal(cg__mos4_next_msgid(&f.lane), i);
    /* a "restart": a fresh lane continues after the stored mark, never reusing an ID */
    struct fixture g;
    fixture_init(&g, CG_MOS_ROLE_NCS, dir);
    uint32_t next = cg__mos4_next_msgid(&g.lane);
    assert_true(next > 300);
    assert_true(next <= 300 + 2 * 256 + 1);
    /* without a state directory IDs start at 1 */
    struct fixture h;
    fixture_init(&h, CG_MOS_ROLE_NCS, NULL);
    assert_int_equal(cg__mos4_next_msgid(&h.lane), 1);
    /* the wrap: 2^31-1 is followed by 1 (M-11) */
    cg__mos4_flow(&h.lane)->id_next = 2147483647u;
    assert_int_equal(cg__mos4_next_msgid(&h.lane), 2147483647u);
    assert_int_equal(cg__mos4_next_msgid(&h.lane), 1);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the journal (journal.c) ---- */

struct recs {
    char kinds[16];
    char ids[16][16];
    size_t lens[16];
    bool digests[16];
    size_t n;
};

static void collect(void *user, const struct mos4_jrec *rec)
{
    struct recs *r = user;
    if (r->n >= 16)
        return;
    r->kinds[r->n] = rec->kind;
    snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", rec->msgid != NULL ? rec->msgid : "(none)");
    r->lens[r->n] = rec->len;
    r->digests[r->n] = rec->has_digest;
    r->n++;
}

/* A format-2 record whose digest is that of its data. */
static enum cg_err enc(struct cg_buf *b, char kind, const char *msgid, const void *d, size_t n)
{
    struct mos4_jrec r = {.kind = kind, .msgid = msgid, .data = d, .len = n, .has_digest = true};
    cg__mos4_digest(d, n, r.digest);
    return cg__mos4_journal_encode(b, &r);
}

static void magic(struct cg_buf *b)
{
    assert_int_equal(cg__buf_append(b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic)),
                     CG_OK);
}

static void test_crc32c(void **state)
{
    (void)state;
    /* RFC 3720 B.4 test vectors, and the classic check value */
    uint8_t z[32] = {0}, o[32];
    memset(o, 0xFF, sizeof(o));
    assert_int_equal(cg__mos4_crc32c(0, z, 32), 0x8A9136AAu);
    assert_int_equal(cg__mos4_crc32c(0, o, 32), 0x62A8AB43u);
    assert_int_equal(cg__mos4_crc32c(0, "123456789", 9), 0xE3069283u);
    /* in pieces: the same */
    assert_int_equal(cg__mos4_crc32c(cg__mos4_crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
}

static void test_journal_records(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    magic(&b);
    static const char body[] = "<mos>\n<roReq>a\nb</roReq>\n</mos>"; /* newlines inside */
    assert_int_equal(enc(&b, 'R', "0x1F", body, strlen(body)), CG_OK);
    assert_int_equal(enc(&b, 'R', NULL, body, strlen(body)), CG_OK);
    struct mos4_jrec nod = {.kind = 'A', .msgid = "0x1F", .data = (const uint8_t *)"", .len = 0};
    assert_int_equal(cg__mos4_journal_encode(&b, &nod), CG_OK); /* digest unknown: "-" */
    struct recs r = {0};
    struct mos4_journal_info info = {0};
    assert_int_equal(cg__mos4_journal_parse(b.data, b.len, collect, &r, &info), b.len);
    assert_false(info.old_format);
    assert_int_equal(info.skips, 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.kinds[0], 'R');
    assert_string_equal(r.ids[0], "0x1F");
    assert_int_equal(r.lens[0], strlen(body));
    assert_true(r.digests[0]);
    assert_string_equal(r.ids[1], "(none)"); /* a message without a messageID (M-11) */
    assert_int_equal(r.kinds[2], 'A');
    assert_int_equal(r.lens[2], 0);
    assert_false(r.digests[2]);
    /* a crash cuts the file anywhere: only whole records count, never more */
    for (size_t cut = 0; cut < b.len; cut++) {
        struct recs c = {0};
        size_t good = cg__mos4_journal_parse(b.data, cut, collect, &c, NULL);
        assert_true(good <= cut);
        assert_true(c.n < 3);
        if (c.n > 0) /* what was read is the records in order */
            assert_int_equal(c.kinds[0], 'R');
    }
    /* garbage is not a record */
    static const char *const junk[] = {"X 1 1 1 - 00000000\nxy\n", "R 2 1 1 - 00000000\nxy\n",
                                       "R 1 1 99999999999 - 0\n", "R 1 01 1 - 00000000\nxy\n",
                                       "R 1 1 1 - 00000000\nx\0\n", "R 1 -1 1 - 00000000\n"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        struct recs c = {0};
        assert_int_equal(cg__mos4_journal_parse((const uint8_t *)junk[i], strlen(junk[i]) + 1,
                                                collect, &c, NULL), 0);
        assert_int_equal(c.n, 0);
    }
    cg__buf_free(&b);
}

struct skips {
    struct recs r;
    size_t off[8], len[8], n;
};

static void on_skip(void *user, size_t off, size_t len)
{
    struct skips *s = user;
    if (s->n < 8) {
        s->off[s->n] = off;
        s->len[s->n++] = len;
    }
}

static void collect_s(void *user, const struct mos4_jrec *rec)
{
    collect(&((struct skips *)user)->r, rec);
}

/* Four records; returns the offsets where records 1..4 start in *at. */
static void four(struct cg_buf *b, size_t at[5])
{
    cg__buf_init(b, 0);
    magic(b);
    static const char *const ids[] = {"1", "2", "3", "4"};
    for (int i = 0; i < 4; i++) {
        at[i] = b->len;
        char body[200];
        int n = snprintf(body, sizeof(body), "<mos><mosID>d</mosID><ncsID>n</ncsID><messageID>%s"
                         "</messageID><roReq><roID>ro %d</roID></roReq></mos>", ids[i], i);
        assert_int_equal(enc(b, i == 2 ? 'A' : 'R', ids[i], body, (size_t)n), CG_OK);
    }
    at[4] = b->len;
}

static struct skips parse_damaged(const struct cg_buf *b)
{
    struct skips s = {0};
    struct mos4_journal_info info = {.on_skip = on_skip};
    size_t end = cg__mos4_journal_parse(b->data, b->len, collect_s, &s, &info);
    assert_int_equal(end, b->len); /* the last record is whole */
    assert_int_equal(info.skips, s.n);
    return s;
}

/* Issue 12 item 9: damage in the middle costs exactly the damaged record. */
static void test_journal_damage_skipped(void **state)
{
    (void)state;
    struct cg_buf b;
    size_t at[5];
    /* 4 bytes flipped inside record 2's data */
    four(&b, at);
    for (size_t k = 0; k < 4; k++)
        b.data[at[1] + 40 + k] ^= 0x5A;
    struct skips s = parse_damaged(&b);
    assert_int_equal(s.r.n, 3);
    assert_string_equal(s.r.ids[0], "1");
    assert_string_equal(s.r.ids[1], "3");
    assert_string_equal(s.r.ids[2], "4");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.off[0], at[1]);
    assert_int_equal(s.len[0], at[2] - at[1]);
    cg__buf_free(&b);
    /* 16 garbage bytes between records 2 and 3: nothing lost, the 16 reported */
    four(&b, at);
    struct cg_buf c;
    cg__buf_init(&c, 0);
    assert_int_equal(cg__buf_append(&c, b.data, at[2]), CG_OK);
    assert_int_equal(cg__buf_append(&c, "R 1 1 9 0123456x", 16), CG_OK);
    assert_int_equal(cg__buf_append(&c, b.data + at[2], b.len - at[2]), CG_OK);
    s = parse_damaged(&c);
    assert_int_equal(s.r.n, 4);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.off[0], at[2]);
    assert_int_equal(s.len[0], 16);
    cg__buf_free(&c);
    /* 16 garbage bytes inside record 3: it alone is lost */
    cg__buf_init(&c, 0);
    assert_int_equal(cg__buf_append(&c, b.data, at[2] + 30), CG_OK);
    assert_int_equal(cg__buf_append(&c, "\n\n\nR 1 1 1 - 0\n\0\0\0\0\0\0", 16), CG_OK);
    assert_int_equal(cg__buf_append(&c, b.data + at[2] + 30, b.len - at[2] - 30), CG_OK);
    s = parse_damaged(&c);
    assert_int_equal(s.r.n, 3);
    assert_string_equal(s.r.ids[2], "4");
    cg__buf_free(&c);
    cg__buf_free(&b);
    /* a bad length in the first header: the first record only */
    four(&b, at);
    size_t sp = at[0] + strlen("R 1 1 ");
    assert_true(b.data[sp] >= '1' && b.data[sp] <= '9');
    b.data[sp] = b.data[sp] == '9' ? '8' : (uint8_t)(b.data[sp] + 1);
    s = parse_damaged(&b);
    assert_int_equal(s.r.n, 3);
    assert_string_equal(s.r.ids[0], "2");
    assert_int_equal(s.off[0], at[0]);
    cg__buf_free(&b);
    /* the magic line damaged: every record is still found */
    four(&b, at);
    b.data[3] = 'X';
    s = parse_damaged(&b);
    assert_int_equal(s.r.n, 4);
    assert_int_equal(s.off[0], 0);
    assert_int_equal(s.len[0], at[0]);
    cg__buf_free(&b);
}

/* Format 1 (before checksums): read, each record without a digest. */
static void test_journal_format1(void **state)
{
    (void)state;
    static const char v1[] = "R 1 1 5\n7<r/>x\nA 1 1 3\n7<a>\nR 0 0 2\n<q\nA 1 1 40\n8<torn";
    struct recs r = {0};
    struct mos4_journal_info info = {0};
    size_t end = cg__mos4_journal_parse((const uint8_t *)v1, strlen(v1), collect, &r, &info);
    assert_true(info.old_format);
    assert_int_equal(end, strlen(v1) - strlen("A 1 1 40\n8<torn"));
    assert_int_equal(r.n, 3);
    assert_string_equal(r.ids[0], "7");
    assert_int_equal(r.kinds[1], 'A');
    assert_string_equal(r.ids[2], "(none)");
    assert_false(r.digests[0]);
    assert_false(r.digests[1]);
}

static void write_file(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* A journal left by a crash: requests 7 and 8 and one without a messageID
 * accepted, 7 answered, then half a record. After the restart 8 and the
 * unnumbered one wait for delivery (in order), 7's answer is remembered for a
 * repeat, and the file is rewritten without the torn tail. */
static void test_journal_replay(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fixture f;
    fixture_init(&f, CG_MOS_ROLE_MOS, dir);
    f.ep.cfg.journal = true;
    f.ep.cfg.fsync = CG_MOS_FSYNC_ALWAYS;
    f.lane.dir = CG_MOS_IN;
    f.lane.jfd = -1;
    static const char r7[] = "<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID><messageID>7"
                             "</messageID><roReq><roID>seven</roID></roReq></mos>";
    static const char r8[] = "<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID><messageID>8"
                             "</messageID><roReq><roID>eight</roID></roReq></mos>";
    static const char rn[] = "<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID>"
                             "<roReq><roID>none</roID></roReq></mos>";
    static const char a7[] = "<mos><mosID>dev</mosID><ncsID>ncs&lt;1&gt;</ncsID><messageID>7"
                             "</messageID><roAck><roID/><roStatus>OK</roStatus></roAck></mos>";
    struct cg_buf b;
    cg__buf_init(&b, 0);
    magic(&b);
    assert_int_equal(enc(&b, 'R', "7", r7, strlen(r7)), CG_OK);
    assert_int_equal(enc(&b, 'R', "8", r8, strlen(r8)), CG_OK);
    assert_int_equal(enc(&b, 'R', NULL, rn, strlen(rn)), CG_OK);
    assert_int_equal(enc(&b, 'A', "7", a7, strlen(a7)), CG_OK);
    assert_int_equal(cg__buf_append(&b, "A 1 1 200 - 0123", 16), CG_OK); /* torn */
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs<1>-ro.journal", dir);
    write_file(path, b.data, b.len);
    cg__buf_free(&b);
    cg__mos4_journal_open(&f.lane);
    assert_true(f.lane.jfd >= 0);
    assert_int_equal(nheld(&f), 2);
    assert_memory_equal(held_at(&f, 0)->xml, r8, strlen(r8));
    assert_memory_equal(held_at(&f, 1)->xml, rn, strlen(rn));
    int found = 0;
    const struct cg_flow *fc = cg__mos4_flow(&f.lane);
    for (size_t i = 0; i < CG_FLOW_SEEN; i++)
        if (strcmp(fc->seen[i].msgid, "7") == 0) {
            found++;
            assert_true(fc->seen[i].answered);
            assert_int_equal(cg__mos4_msg(fc->seen[i].answer)->len, strlen(a7));
            assert_memory_equal(cg__mos4_msg(fc->seen[i].answer)->xml, a7, strlen(a7));
        }
    assert_int_equal(found, 1);
    /* compacted: 7's answer, then 8 and the unnumbered request; no torn tail */
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(cg__read_file(path, 1u << 20, &data, &len), CG_OK);
    struct recs r = {0};
    assert_int_equal(cg__mos4_journal_parse(data, len, collect, &r, NULL), len);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.kinds[0], 'A');
    assert_string_equal(r.ids[0], "7");
    assert_int_equal(r.kinds[1], 'R');
    assert_int_equal(r.kinds[2], 'R');
    free(data);
    /* an answer appended now closes 8: a second restart has only the unnumbered one left */
    uint8_t dg[CG_MOS4_DIGEST] = {0};
    assert_true(cg__mos4_journal_answer(&f.lane, "8", dg, a7, strlen(a7)));
    cg__mos4_journal_close(&f.lane);
    struct fixture g;
    fixture_init(&g, CG_MOS_ROLE_MOS, dir);
    g.ep.cfg.journal = true;
    g.lane.dir = CG_MOS_IN;
    g.lane.jfd = -1;
    cg__mos4_journal_open(&g.lane);
    assert_int_equal(nheld(&g), 1);
    assert_memory_equal(held_at(&g, 0)->xml, rn, strlen(rn));
    cg__mos4_journal_close(&g.lane);
    for (struct fixture *x = &f; x != NULL; x = x == &f ? &g : NULL)
        cg__mos4_flow_free(&x->lane); /* what the core holds */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Without the journal option: a request delivered and unanswered before the
 * restart is remembered by ID (restored), not delivered by us; answers are
 * remembered; both survive the next compaction and restart. */
static void test_journal_without_option(void **state)
{
    (void)state;
    char dir[] = "/tmp/cg-test-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char r7[] = "<mos><mosID>dev</mosID><ncsID>n</ncsID><messageID>7</messageID>"
                             "<roReq><roID>seven</roID></roReq></mos>";
    struct cg_buf b;
    cg__buf_init(&b, 0);
    magic(&b);
    assert_int_equal(enc(&b, 'A', "6", "<ack6/>", 7), CG_OK);
    assert_int_equal(enc(&b, 'R', "7", r7, strlen(r7)), CG_OK);
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs<1>-ro.journal", dir);
    write_file(path, b.data, b.len);
    cg__buf_free(&b);
    for (int round = 0; round < 2; round++) { /* the second start reads the compacted file */
        struct fixture f;
        fixture_init(&f, CG_MOS_ROLE_MOS, dir);
        f.lane.dir = CG_MOS_IN;
        f.lane.jfd = -1;
        cg__mos4_journal_open(&f.lane);
        assert_int_equal(nheld(&f), 0);
        bool six = false, seven = false;
        const struct cg_flow *fc = cg__mos4_flow(&f.lane);
        for (size_t i = 0; i < CG_FLOW_SEEN; i++) {
            const struct cg_flow_seen *s = &fc->seen[i];
            if (strcmp(s->msgid, "6") == 0)
                six = s->answered && cg__mos4_msg(s->answer)->len == 7 && !s->restored;
            if (strcmp(s->msgid, "7") == 0)
                seven = !s->answered && s->restored;
        }
        assert_true(six);
        assert_true(seven);
        cg__mos4_journal_close(&f.lane);
        cg__mos4_flow_free(&f.lane); /* what the core holds */
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The flow core's held requests (the lane's, the core's memory). */
static size_t nheld(struct fixture *f) { return cg__mos4_flow(&f->lane)->hlen; }
static const struct mos4_msg *held_at(struct fixture *f, size_t i)
{
    const struct cg_flow *c = cg__mos4_flow(&f->lane);
    return cg__mos4_msg(c->held[(c->hhead + i) % CG_FLOW_HELD_MAX].ref);
}

/* A MOS 2.x peer's two sides (M-21): the host we dial and the address we
 * listen on, each with its lower, upper and query ports, as given; what a
 * setter refuses leaves the configuration as it was. */
static void test_legacy_sides(void **state)
{
    (void)state;
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new("DEV", &pc), CG_OK);
    assert_false(pc->legacy);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "", 10540, 10541, 10542, CG_MOS_UTF8),
                     CG_EINVAL);
    enum cg_mos_encoding odd = (enum cg_mos_encoding)9;
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "gear", 1, 2, 3, odd), CG_EINVAL);
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "not-an-address", 1, 2, 3),
                     CG_EINVAL);
    assert_false(pc->legacy);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "gear.example", 10540, 10541, 10542,
                                                         CG_MOS_UTF8),
                     CG_OK);
    assert_true(pc->legacy);
    assert_string_equal(pc->legacy_host, "gear.example");
    assert_int_equal(pc->legacy_enc, CG_MOS_UTF8);
    assert_int_equal(pc->dial_port[0], 10540);
    assert_int_equal(pc->dial_port[1], 10541);
    assert_int_equal(pc->dial_port[2], 10542);
    assert_string_equal(pc->listen_addr, ""); /* the other side untouched */
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "::1", 20540, 20541, 0), CG_OK);
    assert_string_equal(pc->listen_addr, "::1");
    assert_int_equal(pc->listen_port[0], 20540);
    assert_int_equal(pc->listen_port[1], 20541);
    assert_int_equal(pc->listen_port[2], 0);
    assert_int_equal(pc->dial_port[0], 10540);
    char longhost[300];
    memset(longhost, 'a', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, longhost, 1, 2, 3, CG_MOS_UTF8),
                     CG_EINVAL);
    assert_string_equal(pc->legacy_host, "gear.example");
    cg_mos_peer_config_free(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_element_extraction),
        cmocka_unit_test(test_nack_detection),
        cmocka_unit_test(test_envelope_order_and_escaping),
        cmocka_unit_test(test_url_query),
        cmocka_unit_test(test_msgid_blocks_survive_restart),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_journal_records),
        cmocka_unit_test(test_journal_damage_skipped),
        cmocka_unit_test(test_journal_format1),
        cmocka_unit_test(test_journal_replay),
        cmocka_unit_test(test_journal_without_option),
        cmocka_unit_test(test_legacy_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
