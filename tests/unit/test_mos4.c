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
    h.lane.next_msgid = 2147483647u;
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
    size_t n;
};

static void collect(void *user, char kind, const char *msgid, const uint8_t *d, size_t len)
{
    struct recs *r = user;
    (void)d;
    if (r->n >= 16)
        return;
    r->kinds[r->n] = kind;
    snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", msgid != NULL ? msgid : "(none)");
    r->lens[r->n] = len;
    r->n++;
}

static void test_journal_records(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    static const char body[] = "<mos>\n<roReq>a\nb</roReq>\n</mos>"; /* newlines inside */
    assert_int_equal(cg__mos4_journal_encode(&b, 'R', "0x1F", body, strlen(body)), CG_OK);
    assert_int_equal(cg__mos4_journal_encode(&b, 'R', NULL, body, strlen(body)), CG_OK);
    assert_int_equal(cg__mos4_journal_encode(&b, 'A', "0x1F", "", 0), CG_OK);
    struct recs r = {0};
    assert_int_equal(cg__mos4_journal_parse(b.data, b.len, collect, &r), b.len);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.kinds[0], 'R');
    assert_string_equal(r.ids[0], "0x1F");
    assert_int_equal(r.lens[0], strlen(body));
    assert_string_equal(r.ids[1], "(none)"); /* a message without a messageID (M-11) */
    assert_int_equal(r.kinds[2], 'A');
    assert_int_equal(r.lens[2], 0);
    /* a crash cuts the file anywhere: only whole records count, never more */
    for (size_t cut = 0; cut < b.len; cut++) {
        struct recs c = {0};
        size_t good = cg__mos4_journal_parse(b.data, cut, collect, &c);
        assert_true(good <= cut);
        assert_true(c.n < 3);
        if (c.n > 0) /* what was read is the records in order */
            assert_int_equal(c.kinds[0], 'R');
    }
    /* garbage is not a record */
    static const char *const junk[] = {"X 1 1 1\nxy\n", "R 2 1 1\nxy\n", "R 1 1 99999999999\n",
                                       "R 1 1 1\nxyz", "R 1 1 1\nx\0\n", "R 1 -1 1\n"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        struct recs c = {0};
        assert_int_equal(cg__mos4_journal_parse((const uint8_t *)junk[i], strlen(junk[i]) + 1,
                                                collect, &c), 0);
        assert_int_equal(c.n, 0);
    }
    cg__buf_free(&b);
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
    assert_int_equal(cg__mos4_journal_encode(&b, 'R', "7", r7, strlen(r7)), CG_OK);
    assert_int_equal(cg__mos4_journal_encode(&b, 'R', "8", r8, strlen(r8)), CG_OK);
    assert_int_equal(cg__mos4_journal_encode(&b, 'R', NULL, rn, strlen(rn)), CG_OK);
    assert_int_equal(cg__mos4_journal_encode(&b, 'A', "7", a7, strlen(a7)), CG_OK);
    assert_int_equal(cg__buf_append(&b, "A 1 1 200\n8<mos>", 16), CG_OK); /* torn */
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs<1>-ro.journal", dir);
    write_file(path, b.data, b.len);
    cg__buf_free(&b);
    cg__mos4_journal_open(&f.lane);
    assert_true(f.lane.jfd >= 0);
    assert_int_equal(f.lane.nheld, 2);
    assert_memory_equal(f.lane.held_head->wire, r8, strlen(r8));
    assert_memory_equal(f.lane.held_head->next->wire, rn, strlen(rn));
    int found = 0;
    for (size_t i = 0; i < CG_MOS4_SEEN; i++)
        if (strcmp(f.lane.seen[i].msgid, "7") == 0) {
            found++;
            assert_int_equal(f.lane.seen[i].len, strlen(a7));
            assert_memory_equal(f.lane.seen[i].answer, a7, strlen(a7));
        }
    assert_int_equal(found, 1);
    /* compacted: 7's answer, then 8 and the unnumbered request; no torn tail */
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(cg__read_file(path, 1u << 20, &data, &len), CG_OK);
    struct recs r = {0};
    assert_int_equal(cg__mos4_journal_parse(data, len, collect, &r), len);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.kinds[0], 'A');
    assert_string_equal(r.ids[0], "7");
    assert_int_equal(r.kinds[1], 'R');
    assert_int_equal(r.kinds[2], 'R');
    free(data);
    /* an answer appended now closes 8: a second restart has only the unnumbered one left */
    cg__mos4_journal_answer(&f.lane, "8", a7, strlen(a7));
    cg__mos4_journal_close(&f.lane);
    struct fixture g;
    fixture_init(&g, CG_MOS_ROLE_MOS, dir);
    g.ep.cfg.journal = true;
    g.lane.dir = CG_MOS_IN;
    g.lane.jfd = -1;
    cg__mos4_journal_open(&g.lane);
    assert_int_equal(g.lane.nheld, 1);
    assert_memory_equal(g.lane.held_head->wire, rn, strlen(rn));
    cg__mos4_journal_close(&g.lane);
    for (struct fixture *x = &f; x != NULL; x = x == &f ? &g : NULL) {
        while (x->lane.held_head != NULL) {
            struct mos4_held *h = x->lane.held_head;
            x->lane.held_head = h->next;
            free(h->wire);
            free(h);
        }
        for (size_t i = 0; i < CG_MOS4_SEEN; i++)
            free(x->lane.seen[i].answer);
    }
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
    assert_int_equal(cg__mos4_journal_encode(&b, 'A', "6", "<ack6/>", 7), CG_OK);
    assert_int_equal(cg__mos4_journal_encode(&b, 'R', "7", r7, strlen(r7)), CG_OK);
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
        assert_int_equal(f.lane.nheld, 0);
        bool six = false, seven = false;
        for (size_t i = 0; i < CG_MOS4_SEEN; i++) {
            const struct mos4_seen *s = &f.lane.seen[i];
            if (strcmp(s->msgid, "6") == 0)
                six = s->answer != NULL && s->len == 7 && !s->restored;
            if (strcmp(s->msgid, "7") == 0)
                seven = s->answer == NULL && s->restored;
        }
        assert_true(six);
        assert_true(seven);
        cg__mos4_journal_close(&f.lane);
        for (size_t i = 0; i < CG_MOS4_SEEN; i++)
            free(f.lane.seen[i].answer);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_element_extraction),
        cmocka_unit_test(test_nack_detection),
        cmocka_unit_test(test_envelope_order_and_escaping),
        cmocka_unit_test(test_url_query),
        cmocka_unit_test(test_msgid_blocks_survive_restart),
        cmocka_unit_test(test_journal_records),
        cmocka_unit_test(test_journal_replay),
        cmocka_unit_test(test_journal_without_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
