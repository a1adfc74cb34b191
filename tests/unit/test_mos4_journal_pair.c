/* Issue 18 (docs/redundancy.md, "The gateway pair", phase 2 item 3): the
 * journal side of gateway-pair replication (src/mos4/journal.c, msgid.c).
 * An observer hears of every record appended, in order, with its bytes as
 * written; records carry a number and a regime (format 4) kept across
 * compactions and restarts; older formats (2, 3) replay as before; a
 * standby appends the active's records as they are and refuses a torn one,
 * one out of order and one of a foreign regime; a journal is set aside for
 * another regime; the journals are read back from a number on (RESYNC).
 * The IN lane's answers run through the real flow core; only the lane's
 * writes to its peer are caught. */
// CG_WRAP: cg__mos4_lane_write
#include "testutil.h"
#include "mos4/mos4.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what the lane sends ---- */

static unsigned nsent;   /* messages the lanes wrote to their peer */
static char last_sent[512];

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    (void)l;
    nsent++;
    snprintf(last_sent, sizeof(last_sent), "%.*s", (int)(len < 511 ? len : 511), xml);
    return CG_OK;
}

/* ---- what the observer hears ---- */

#define MAX_OBS 64
struct obs {
    char peer[MAX_OBS][64];
    enum cg_mos_channel ch[MAX_OBS];
    uint64_t number[MAX_OBS], regime[MAX_OBS];
    uint8_t *rec[MAX_OBS];
    size_t len[MAX_OBS];
    unsigned sent_then[MAX_OBS]; /* messages the lane had written when it was told */
    size_t n;
};

static void on_appended(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                        uint64_t regime, const uint8_t *rec, size_t len)
{
    struct obs *o = user;
    assert_true(o->n < MAX_OBS);
    snprintf(o->peer[o->n], sizeof(o->peer[0]), "%s", peer_id);
    o->ch[o->n] = ch;
    o->number[o->n] = number;
    o->regime[o->n] = regime;
    o->rec[o->n] = malloc(len);
    assert_non_null(o->rec[o->n]);
    memcpy(o->rec[o->n], rec, len);
    o->len[o->n] = len;
    o->sent_then[o->n] = nsent;
    o->n++;
}

static void obs_free(struct obs *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->rec[i]);
    memset(o, 0, sizeof(*o));
}

static const struct cg_mos_journal_ops ops = {.appended = on_appended};

/* ---- an endpoint (device "dev") with one peer "ncs1", its IN lane on mom ---- */

struct fix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer;
    struct mos4_peer *peers[1];
    struct mos4_lane *lane;
    unsigned delivered, repeats;
    bool hold;                  /* the application keeps requests unanswered */
    struct cg_mos_request *held; /* the one it keeps */
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct fix *f = user;
    f->delivered++;
    f->repeats += m->repeat;
    if (f->hold) {
        f->held = req;
        return;
    }
    char desc[32];
    snprintf(desc, sizeof(desc), "applied %u", f->delivered);
    assert_int_equal(cg_mos_reply_ack(req, true, desc), CG_OK);
}

static void fix_init(struct fix *f, const char *dir, bool journal)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(cg_ctx_new(&f->ctx), CG_OK);
    cg_ctx_set_log(f->ctx, tu_log_fn, &f->log, CG_LOG_DEBUG);
    f->ep.ctx = f->ctx;
    f->ep.cfg.role = CG_MOS_ROLE_MOS;
    snprintf(f->ep.cfg.id, sizeof(f->ep.cfg.id), "dev");
    f->ep.cfg.state_dir = (char *)dir;
    f->ep.cfg.journal = journal;
    f->ep.cfg.redeliver = true;
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
    f->ep.state_fd = -1;
    f->ep.h.on_request = on_request;
    f->ep.user = f;
    f->peer.ep = &f->ep;
    f->peer.channels = CG_MOS_CH_MOM;
    snprintf(f->peer.id, sizeof(f->peer.id), "ncs1");
    f->peers[0] = &f->peer;
    f->ep.peers = f->peers;
    f->ep.npeers = 1;
    for (int d = 0; d < 2; d++) {
        struct mos4_lane *l = &f->peer.lanes[0][d];
        l->peer = &f->peer;
        l->ch = 0;
        l->dir = (enum cg_mos_dir)d;
        l->jfd = -1;
    }
    f->lane = &f->peer.lanes[0][CG_MOS_IN];
    f->lane->up = true;
    cg__mos4_journal_open(f->lane);
    assert_true(f->lane->jfd >= 0);
}

static void fix_free(struct fix *f)
{
    if (f->held != NULL) {
        f->hold = false;
        assert_int_equal(cg_mos_reply_ack(f->held, true, "late"), CG_OK);
    }
    cg__mos4_journal_close(f->lane);
    f->peer.removed = true;
    f->ep.cfg.journal = false;
    cg__mos4_flow_free(f->lane);
    cg_ctx_free(f->ctx);
}

static void mkdir_tmp(char *dir, size_t sz)
{
    snprintf(dir, sz, "/tmp/cg-test-jpair-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An roCreate of roID ro from the NCS with messageID msgid. */
static void send_req(struct fix *f, const char *msgid, const char *ro)
{
    char xml[512];
    int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>%s"
                     "</messageID><roCreate><roID>%s</roID></roCreate></mos>", msgid, ro);
    cg__mos4_on_message(f->lane, false, (const uint8_t *)xml, (size_t)n);
}

/* The same with an roSlug of fill bytes: a record over the writer's 8 KB
 * small-record buffer. */
static void send_big(struct fix *f, const char *msgid, size_t fill)
{
    char *xml = malloc(fill + 512);
    assert_non_null(xml);
    int n = snprintf(xml, 512, "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>%s"
                     "</messageID><roCreate><roID>big</roID><roSlug>", msgid);
    memset(xml + n, 'x', fill);
    n += (int)fill;
    n += snprintf(xml + n, 64, "</roSlug></roCreate></mos>");
    cg__mos4_on_message(f->lane, false, (const uint8_t *)xml, (size_t)n);
    free(xml);
}

static void journal_path(const char *dir, char *path, size_t sz)
{
    snprintf(path, sz, "%s/msgid-ncs1-mom.journal", dir);
}

/* ---- the journal file read back ---- */

struct recs {
    char kind[64];
    enum cg_mos_encoding enc[64];
    uint64_t number[64], regime[64];
    char id[64][16];
    size_t n;
};

static void collect(void *user, const struct mos4_jrec *r)
{
    struct recs *c = user;
    assert_true(c->n < 64);
    c->kind[c->n] = r->kind;
    c->enc[c->n] = r->enc;
    c->number[c->n] = r->number;
    c->regime[c->n] = r->regime;
    snprintf(c->id[c->n], sizeof(c->id[0]), "%s", r->msgid != NULL ? r->msgid : "");
    c->n++;
}

static struct recs read_journal(const char *dir, struct mos4_journal_info *info)
{
    char path[256];
    journal_path(dir, path, sizeof(path));
    size_t len = 0;
    uint8_t *data = tu_read(path, &len);
    struct recs c = {0};
    *info = (struct mos4_journal_info){0};
    assert_int_equal(cg__mos4_journal_parse(data, len, collect, &c, info), len);
    free(data);
    return c;
}

/* The file's bytes after its magic line and N record (what was appended). */
static uint8_t *appended_part(const char *dir, size_t *len)
{
    char path[256];
    journal_path(dir, path, sizeof(path));
    size_t n = 0;
    uint8_t *data = tu_read(path, &n);
    assert_memory_equal(data, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic));
    const uint8_t *p = data + strlen(cg__mos4_journal_magic);
    assert_int_equal(p[0], 'N');
    const uint8_t *nl = memchr(p, '\n', n - (size_t)(p - data));
    assert_non_null(nl);
    p = nl + 2; /* the header's "\n", no ID, no data, then the record's "\n" */
    *len = n - (size_t)(p - data);
    uint8_t *out = malloc(*len + 1);
    assert_non_null(out);
    memcpy(out, p, *len);
    free(data);
    return out;
}

static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* ---- the cases ---- */

/* Every record is told once, in the order written, numbered 1, 2, 3...,
 * with the bytes now in the file (CRC32C included), before the message goes
 * further: a request before the application has it, an answer before the
 * peer does. A record over the writer's stack buffer is told whole too. */
static void test_observer_order_and_bytes(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct fix f;
    fix_init(&f, dir, true);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f.ep, &ops, &o), CG_OK);
    nsent = 0;
    send_req(&f, "1", "A");
    send_req(&f, "2", "B");
    send_big(&f, "3", 20000);
    assert_int_equal(f.delivered, 3);
    assert_int_equal(nsent, 3);
    assert_int_equal(o.n, 6);
    for (size_t i = 0; i < o.n; i++) {
        struct mos4_jrec r;
        char id[4 * CG_MOS_ID_MAX + 1];
        assert_true(cg__mos4_journal_record(o.rec[i], o.len[i], &r, id));
        assert_int_equal(r.kind, i % 2 == 0 ? 'R' : 'A');
        assert_int_equal(o.number[i], i + 1);
        assert_int_equal(r.number, i + 1);
        assert_int_equal(o.regime[i], 0);
        assert_string_equal(o.peer[i], "ncs1");
        assert_int_equal(o.ch[i], CG_MOS_CH_MOM);
        /* R k: told before the answer k - 1 + ... : the peer had k - 1 answers; A k too */
        assert_int_equal(o.sent_then[i], i / 2);
    }
    assert_true(o.len[4] > 20000);
    size_t len = 0;
    uint8_t *file = appended_part(dir, &len);
    size_t off = 0;
    for (size_t i = 0; i < o.n; i++) {
        assert_true(off + o.len[i] <= len);
        assert_memory_equal(file + off, o.rec[i], o.len[i]);
        off += o.len[i];
    }
    assert_int_equal(off, len);
    free(file);
    uint64_t last = 0, regime = 9;
    cg_mos_endpoint_journal_position(&f.ep, &last, &regime);
    assert_int_equal(last, 6);
    assert_int_equal(regime, 0);
    /* no observer: nothing told, numbering goes on */
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f.ep, NULL, NULL), CG_OK);
    send_req(&f, "4", "D");
    assert_int_equal(o.n, 6);
    cg_mos_endpoint_journal_position(&f.ep, &last, NULL);
    assert_int_equal(last, 8);
    obs_free(&o);
    fix_free(&f);
    rm_tmp(dir);
}

/* A messageID mark (M-11) is a numbered record too (kind M): told with the
 * mark as its data, stored in the mark file with its number and regime; an
 * older mark file (the mark alone) still reads. */
static void test_mark_is_a_record(void **state)
{
    (void)state;
    char dir[64], path[256];
    mkdir_tmp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom", dir);
    FILE *w = fopen(path, "w");
    assert_non_null(w);
    fputs("512\n", w); /* format before issue 18 */
    fclose(w);
    struct fix f;
    fix_init(&f, dir, true);
    assert_int_equal(cg__mos4_msgid_start(f.lane), 513);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f.ep, &ops, &o), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&f.ep, 4), CG_OK);
    send_req(&f, "1", "A");
    cg__mos4_msgid_reserve(&f.peer.lanes[0][CG_MOS_OUT], 768);
    assert_int_equal(o.n, 3);
    struct mos4_jrec r;
    char id[4 * CG_MOS_ID_MAX + 1];
    assert_true(cg__mos4_journal_record(o.rec[2], o.len[2], &r, id));
    assert_int_equal(r.kind, 'M');
    assert_null(r.msgid);
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.data, "768", 3);
    assert_int_equal(r.number, 3);
    assert_int_equal(r.regime, 4);
    assert_int_equal(o.number[2], 3);
    size_t n = 0;
    uint8_t *m = tu_read(path, &n);
    assert_int_equal(n, strlen("768 3 4\n"));
    assert_memory_equal(m, "768 3 4\n", n);
    free(m);
    assert_int_equal(cg__mos4_msgid_start(f.lane), 769);
    obs_free(&o);
    fix_free(&f);
    /* a restart counts from the mark's number too */
    fix_init(&f, dir, true);
    uint64_t last = 0, regime = 0;
    cg_mos_endpoint_journal_position(&f.ep, &last, &regime);
    assert_int_equal(last, 3);
    assert_int_equal(regime, 4);
    fix_free(&f);
    rm_tmp(dir);
}

/* Numbers and regimes survive a compaction (in the run: the file past 1 MB
 * and doubled) and a restart (the compaction at open): each record kept is
 * rewritten under its number, the count goes on after the greatest given
 * (the N record), records dropped leave their numbers unused. */
static void test_numbers_across_compaction_and_restart(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct fix f;
    fix_init(&f, dir, true);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f.ep, &ops, &o), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&f.ep, 2), CG_OK);
    unsigned before = f.lane->compactions;
    for (int i = 1; i <= 14; i++) {
        char id[8];
        snprintf(id, sizeof(id), "%d", i);
        send_big(&f, id, 100000);
    }
    assert_int_equal(f.delivered, 14);
    assert_true(f.lane->compactions > before); /* compacted in the run */
    assert_int_equal(o.n, 28);
    struct mos4_journal_info info;
    struct recs c = read_journal(dir, &info);
    assert_true(info.numbered);
    assert_true(c.n > 0);
    size_t answers = 0;
    for (size_t i = 0; i < c.n; i++) { /* each record kept is the one told under its number */
        uint64_t k = (uint64_t)atoi(c.id[i]); /* R k was 2k - 1, A k 2k */
        assert_int_equal(c.number[i], 2 * k - (c.kind[i] == 'R'));
        assert_int_equal(c.regime[i], 2);
        answers += c.kind[i] == 'A';
        assert_memory_equal(o.rec[c.number[i] - 1], c.kind[i] == 'R' ? "R 1 " : "A 1 ", 4);
    }
    assert_int_equal(answers, 14);
    assert_true(c.n < 28); /* requests 1..11 dropped by the compaction */
    /* the request being answered, and one waiting behind it */
    f.hold = true;
    send_req(&f, "15", "O"); /* R 29, at the application */
    send_req(&f, "16", "P"); /* R 30, held */
    assert_int_equal(o.n, 30);
    struct cg_mos_request *at_app = f.held;
    f.held = NULL;
    cg__mos4_journal_close(f.lane);
    f.peer.removed = true;
    f.ep.cfg.journal = false;
    (void)at_app; /* freed with the lane's core */
    cg__mos4_flow_free(f.lane);
    cg_ctx_free(f.ctx);
    obs_free(&o);
    /* restart: compacted at open, the numbers as they were */
    fix_init(&f, dir, true);
    uint64_t last = 0, regime = 0;
    cg_mos_endpoint_journal_position(&f.ep, &last, &regime);
    assert_int_equal(last, 30);
    assert_int_equal(regime, 2);
    c = read_journal(dir, &info);
    assert_true(info.numbered);
    assert_int_equal(info.number, 30);
    assert_int_equal(info.regime, 2);
    assert_int_equal(c.kind[c.n - 2], 'R');
    assert_int_equal(c.number[c.n - 2], 29);
    assert_string_equal(c.id[c.n - 2], "15");
    assert_int_equal(c.kind[c.n - 1], 'R');
    assert_int_equal(c.number[c.n - 1], 30);
    for (size_t i = 0; i + 2 < c.n; i++)
        assert_int_equal(c.number[i], 2 * (uint64_t)atoi(c.id[i]));
    /* delivered again (M-22), answered under the next numbers */
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f.ep, &ops, &o), CG_OK);
    cg__mos4_replay(f.lane);
    assert_int_equal(f.delivered, 2);
    assert_int_equal(f.repeats, 2);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.number[0], 31);
    assert_int_equal(o.number[1], 32);
    obs_free(&o);
    fix_free(&f);
    /* and once more: the kept requests' numbers did not move */
    fix_init(&f, dir, true);
    cg_mos_endpoint_journal_position(&f.ep, &last, NULL);
    assert_int_equal(last, 32);
    fix_free(&f);
    rm_tmp(dir);
}

/* ---- older formats ---- */

static void put(struct cg_buf *b, const void *p, size_t n)
{
    assert_int_equal(cg__buf_append(b, p, n), CG_OK);
}

/* A record in format 3 (v3: with <enc>) or 2, as castgate before issue 18
 * (or 13) wrote it; its digest: of the request's element elem. */
static void old_rec(struct cg_buf *b, bool v3, char kind, const char *id, const char *data,
                    const char *elem)
{
    uint8_t d[CG_MOS4_DIGEST];
    char head[160], hex[2 * CG_MOS4_DIGEST + 1];
    cg__mos4_digest(elem, strlen(elem), d);
    for (size_t i = 0; i < CG_MOS4_DIGEST; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    int n = snprintf(head, sizeof(head), "%c 1 %zu %zu %s%s", kind, strlen(id), strlen(data),
                     v3 ? "utf8 " : "", hex);
    uint32_t crc = cg__mos4_crc32c(0, head, (size_t)n);
    crc = cg__mos4_crc32c(crc, id, strlen(id));
    crc = cg__mos4_crc32c(crc, data, strlen(data));
    char tail[16];
    snprintf(tail, sizeof(tail), " %08x\n", (unsigned)crc);
    put(b, head, (size_t)n);
    put(b, tail, strlen(tail));
    put(b, id, strlen(id));
    put(b, data, strlen(data));
    put(b, "\n", 1);
}

static const char req7[] = "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>7</messageID>"
                           "<roCreate><roID>seven</roID></roCreate></mos>";
static const char ans7[] = "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>7</messageID>"
                           "<mosAck><status>ACK</status><statusDescription>old seven"
                           "</statusDescription></mosAck></mos>";
static const char elem7[] = "<roCreate><roID>seven</roID></roCreate>";
static const char elem8[] = "<roCreate><roID>eight</roID></roCreate>";
static const char req8[] = "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID><messageID>8</messageID>"
                           "<roCreate><roID>eight</roID></roCreate></mos>";

/* A journal of format 3 (and one of format 2) replays as before: 7's answer
 * remembered (its repeat answered from memory, not delivered), 8 delivered
 * again; rewritten as format 4 with those records numbered 0, new ones
 * from 1. */
static void old_format_replays(bool v3)
{
    char dir[64], path[256];
    mkdir_tmp(dir, sizeof(dir));
    journal_path(dir, path, sizeof(path));
    struct cg_buf b;
    cg__buf_init(&b, 0);
    put(&b, v3 ? "castgate-journal 3\n" : "castgate-journal 2\n", 19);
    old_rec(&b, v3, 'R', "7", req7, elem7);
    old_rec(&b, v3, 'A', "7", ans7, elem7);
    old_rec(&b, v3, 'R', "8", req8, elem8);
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(b.data, 1, b.len, w), b.len);
    fclose(w);
    cg__buf_free(&b);
    struct fix f;
    fix_init(&f, dir, true);
    assert_true(tu_log_has(&f.log, v3 ? "format 3 (no record numbers): read and rewritten as "
                                        "format 4" : "format 2 (UTF-8 only)"));
    struct mos4_journal_info info;
    struct recs c = read_journal(dir, &info);
    assert_false(info.format3 || info.format2);
    assert_true(info.numbered);
    assert_int_equal(info.number, 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.kind[0], 'A');
    assert_int_equal(c.kind[1], 'R');
    assert_int_equal(c.number[0], 0);
    assert_int_equal(c.number[1], 0);
    cg__mos4_replay(f.lane); /* 8 again (journal option) */
    assert_int_equal(f.delivered, 1);
    assert_int_equal(f.repeats, 1);
    nsent = 0;
    last_sent[0] = '\0';
    send_req(&f, "7", "seven"); /* M-22: the stored answer, not a second delivery */
    assert_int_equal(f.delivered, 1);
    assert_int_equal(nsent, 1);
    assert_non_null(strstr(last_sent, "old seven"));
    uint64_t last = 0;
    cg_mos_endpoint_journal_position(&f.ep, &last, NULL);
    assert_int_equal(last, 1); /* 8's answer: the first numbered record */
    fix_free(&f);
    rm_tmp(dir);
}

static void test_format3_replays(void **state)
{
    (void)state;
    old_format_replays(true);
}

static void test_format2_replays(void **state)
{
    (void)state;
    old_format_replays(false);
}

/* A format-1 journal (castgate before checksums: its records were always
 * UTF-8) with a request left unanswered: read as UTF-8, so the request is
 * delivered again (journal option) as it was, not refused as unreadable. */
static void test_format1_request_replays(void **state)
{
    (void)state;
    char dir[64], path[256], v1[512];
    mkdir_tmp(dir, sizeof(dir));
    journal_path(dir, path, sizeof(path));
    int n = snprintf(v1, sizeof(v1), "R 1 1 %zu\n8%s\n", strlen(req8), req8);
    struct recs c = {0};
    struct mos4_journal_info info = {0};
    assert_int_equal(cg__mos4_journal_parse((const uint8_t *)v1, (size_t)n, collect, &c, &info),
                     (size_t)n);
    assert_true(info.old_format);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.enc[0], CG_MOS_UTF8); /* format 1 was always UTF-8 */
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(v1, 1, (size_t)n, w), (size_t)n);
    fclose(w);
    struct fix f;
    fix_init(&f, dir, true);
    nsent = 0;
    last_sent[0] = '\0';
    cg__mos4_replay(f.lane);
    assert_int_equal(f.delivered, 1); /* to the application, not NACKed by the endpoint */
    assert_int_equal(f.repeats, 1);
    assert_non_null(strstr(last_sent, "applied 1"));
    fix_free(&f);
    rm_tmp(dir);
}

/* ---- format 4's spelling ---- */

/* head (the signed part: up to the digest) " <crc>\n" id data "\n", the CRC
 * right. */
static void rec4(struct cg_buf *b, const char *head, const char *id, const char *data)
{
    uint32_t crc = cg__mos4_crc32c(0, head, strlen(head));
    crc = cg__mos4_crc32c(crc, id, strlen(id));
    crc = cg__mos4_crc32c(crc, data, strlen(data));
    char tail[16];
    snprintf(tail, sizeof(tail), " %08x\n", (unsigned)crc);
    put(b, head, strlen(head));
    put(b, tail, strlen(tail));
    put(b, id, strlen(id));
    put(b, data, strlen(data));
    put(b, "\n", 1);
}

/* Whether head (with id, data) is one replicated record. */
static bool replicable(const char *head, const char *id, const char *data)
{
    struct cg_buf b;
    cg__buf_init(&b, 0);
    rec4(&b, head, id, data);
    struct mos4_jrec r;
    char rid[4 * CG_MOS_ID_MAX + 1];
    bool ok = cg__mos4_journal_record(b.data, b.len, &r, rid);
    cg__buf_free(&b);
    return ok;
}

/* Numbers and regimes are spelled one way (decimal, no leading zero, at
 * most 2^63 - 1); N is bare and never replicated; M carries a mark 1..2^31-1
 * and no ID; the kinds beside R and A exist only in format 4. A journal
 * file's N record is not a callback's record: its count is in the info. */
static void test_format4_spelling(void **state)
{
    (void)state;
    assert_true(replicable("R 1 1 4 utf8 12 3 -", "7", "<a/>"));
    assert_true(replicable("A 0 0 4 utf8 0 0 -", "", "<a/>"));
    assert_true(replicable("R 1 1 4 utf8 9223372036854775807 9223372036854775807 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 9223372036854775808 1 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 18446744073709551616 1 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 012 3 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 12 03 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 12  3 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 -12 3 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 utf8 12 -", "7", "<a/>"));
    assert_false(replicable("R 1 1 4 12 3 -", "7", "<a/>")); /* no <enc>: not format 4 */
    assert_false(replicable("R 1 1 4 utf8 -", "7", "<a/>")); /* format 3 */
    assert_true(replicable("M 0 0 3 utf8 5 1 -", "", "768"));
    assert_true(replicable("M 0 0 10 utf8 5 1 -", "", "2147483647"));
    assert_false(replicable("M 0 0 10 utf8 5 1 -", "", "2147483648"));
    assert_false(replicable("M 0 0 1 utf8 5 1 -", "", "0"));
    assert_false(replicable("M 0 0 3 utf8 5 1 -", "", "076"));
    assert_false(replicable("M 0 0 3 utf8 5 1 -", "", "7x6"));
    assert_false(replicable("M 1 1 3 utf8 5 1 -", "7", "768")); /* a mark has no ID */
    assert_false(replicable("N 0 0 0 utf8 5 1 -", "", ""));     /* never replicated */
    assert_false(replicable("X 0 0 0 utf8 5 1 -", "", ""));
    /* in a file: N read into the info, an N with data or an ID is no record */
    struct cg_buf b;
    cg__buf_init(&b, 0);
    put(&b, cg__mos4_journal_magic, strlen(cg__mos4_journal_magic));
    rec4(&b, "N 0 0 0 utf8 41 6 -", "", "");
    rec4(&b, "R 1 1 4 utf8 40 6 -", "7", "<a/>");
    rec4(&b, "N 0 0 1 utf8 99 9 -", "", "x");
    rec4(&b, "N 1 1 0 utf8 99 9 -", "7", "");
    rec4(&b, "N 0 0 0 u 99 9 -", "", "");
    rec4(&b, "N 0 0 0 utf8 7 2 -", "", ""); /* the greatest counts */
    struct recs c = {0};
    struct mos4_journal_info info = {0};
    cg__mos4_journal_parse(b.data, b.len, collect, &c, &info);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.kind[0], 'R');
    assert_int_equal(c.number[0], 40);
    assert_int_equal(c.regime[0], 6);
    assert_true(info.numbered);
    assert_int_equal(info.number, 41);
    assert_int_equal(info.regime, 6);
    assert_int_equal(info.skips, 1); /* the three bad N records, one run */
    cg__buf_free(&b);
}

/* ---- the standby ---- */

/* An active's records, appended on a standby, make the same journal; a
 * restart of the standby then answers a repeat from it (the takeover path:
 * M-22, never applied twice). */
static void test_standby_append(void **state)
{
    (void)state;
    char da[64], ds[64];
    mkdir_tmp(da, sizeof(da));
    mkdir_tmp(ds, sizeof(ds));
    struct fix a, s;
    fix_init(&a, da, true);
    fix_init(&s, ds, true);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&a.ep, &ops, &o), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&a.ep, 6), CG_OK);
    assert_int_equal(cg_mos_endpoint_journal_set_aside(&s.ep, 6), CG_OK); /* follows 6 */
    send_req(&a, "1", "A");
    send_req(&a, "2", "B");
    cg__mos4_msgid_reserve(&a.peer.lanes[0][CG_MOS_OUT], 256);
    assert_int_equal(o.n, 5);
    char why[256];
    for (size_t i = 0; i < o.n; i++)
        assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[i],
                                                        o.len[i], why, sizeof(why)), CG_OK);
    size_t la = 0, ls = 0;
    uint8_t *fa = appended_part(da, &la), *fs = appended_part(ds, &ls);
    assert_int_equal(la, ls);
    assert_memory_equal(fa, fs, la); /* byte for byte (the mark is in the mark file) */
    free(fa);
    free(fs);
    uint64_t last = 0, regime = 0;
    cg_mos_endpoint_journal_position(&s.ep, &last, &regime);
    assert_int_equal(last, 5);
    assert_int_equal(regime, 6);
    assert_int_equal(cg__mos4_msgid_start(s.lane), 257); /* the mark replicated (M-11) */
    assert_int_equal(s.delivered, 0);                     /* a standby delivers nothing */
    obs_free(&o);
    fix_free(&a);
    fix_free(&s);
    /* the standby restarted (taking over): 2 is answered from its journal */
    fix_init(&s, ds, true);
    cg_mos_endpoint_journal_position(&s.ep, &last, &regime);
    assert_int_equal(last, 5);
    assert_int_equal(regime, 6);
    nsent = 0;
    last_sent[0] = '\0';
    send_req(&s, "2", "B");
    assert_int_equal(s.delivered, 0);
    assert_int_equal(nsent, 1);
    assert_non_null(strstr(last_sent, "applied 2"));
    fix_free(&s);
    rm_tmp(da);
    rm_tmp(ds);
}

/* A record is checked before anything is written: a torn or altered copy
 * (CG_EPROTO), a repeat or one out of order (CG_ERANGE), one of a foreign
 * regime (CG_ESTATE); why names it with the numbers. */
static void test_standby_refuses(void **state)
{
    (void)state;
    char da[64], ds[64], path[256];
    mkdir_tmp(da, sizeof(da));
    mkdir_tmp(ds, sizeof(ds));
    journal_path(ds, path, sizeof(path));
    struct fix a, s;
    fix_init(&a, da, true);
    fix_init(&s, ds, true);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&a.ep, &ops, &o), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&a.ep, 3), CG_OK);
    for (int i = 1; i <= 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "%d", i);
        send_req(&a, id, "A");
    }
    assert_int_equal(o.n, 6);
    char why[256];
    struct stat st0, st1;
    /* a foreign regime: the standby follows 0, the record is of 3 */
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[0],
                                                    o.len[0], why, sizeof(why)), CG_ESTATE);
    assert_non_null(strstr(why, "regime 3"));
    assert_int_equal(cg_mos_endpoint_journal_set_aside(&s.ep, 3), CG_OK);
    assert_int_equal(stat(path, &st0), 0);
    /* a flipped byte, a cut, two records at once, nothing */
    uint8_t *bad = malloc(o.len[0] + o.len[1]);
    assert_non_null(bad);
    memcpy(bad, o.rec[0], o.len[0]);
    bad[o.len[0] - 3] ^= 0x20;
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, bad, o.len[0],
                                                    why, sizeof(why)), CG_EPROTO);
    assert_non_null(strstr(why, "checksum"));
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[0],
                                                    o.len[0] - 1, why, sizeof(why)), CG_EPROTO);
    memcpy(bad, o.rec[0], o.len[0]);
    memcpy(bad + o.len[0], o.rec[1], o.len[1]);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, bad,
                                                    o.len[0] + o.len[1], why, sizeof(why)),
                     CG_EPROTO);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[0], 0,
                                                    why, sizeof(why)), CG_EPROTO);
    free(bad);
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(st1.st_size, st0.st_size); /* nothing written */
    /* in order, then a repeat and one gone back */
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[0],
                                                    o.len[0], why, sizeof(why)), CG_OK);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[0],
                                                    o.len[0], why, sizeof(why)), CG_ERANGE);
    assert_non_null(strstr(why, "record 1 is not after the last one (1)"));
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[3],
                                                    o.len[3], why, sizeof(why)), CG_OK);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[2],
                                                    o.len[2], why, sizeof(why)), CG_ERANGE);
    assert_non_null(strstr(why, "record 3 is not after the last one (4)"));
    /* the wrong peer or channel */
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs9", CG_MOS_CH_MOM, o.rec[4],
                                                    o.len[4], why, sizeof(why)), CG_ENOTFOUND);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_RO, o.rec[4],
                                                    o.len[4], why, sizeof(why)), CG_EINVAL);
    /* an older regime after a newer one: the active of 3 after one of 5 */
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&s.ep, 5), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&a.ep, 5), CG_OK);
    send_req(&a, "4", "A");
    assert_int_equal(o.n, 8);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[6],
                                                    o.len[6], why, sizeof(why)), CG_OK);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[4],
                                                    o.len[4], why, sizeof(why)), CG_ESTATE);
    assert_non_null(strstr(why, "older than the last record's (5)"));
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&s.ep, 4), CG_ERANGE); /* never back */
    /* a journal record kind that is not replicated (N), and format 3 (no number) */
    struct cg_buf nb;
    cg__buf_init(&nb, 0);
    struct mos4_jrec nr = {.kind = 'N', .data = (const uint8_t *)"", .number = 9, .regime = 5};
    assert_int_equal(cg__mos4_journal_encode(&nb, &nr), CG_OK);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, nb.data, nb.len,
                                                    why, sizeof(why)), CG_EPROTO);
    cg__buf_free(&nb);
    cg__buf_init(&nb, 0);
    old_rec(&nb, true, 'R', "9", req8, elem8);
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, nb.data, nb.len,
                                                    why, sizeof(why)), CG_EPROTO);
    cg__buf_free(&nb);
    struct mos4_journal_info info;
    struct recs c = read_journal(ds, &info);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.number[0], 1);
    assert_int_equal(c.number[1], 4);
    assert_int_equal(c.number[2], 7);
    obs_free(&o);
    fix_free(&a);
    fix_free(&s);
    rm_tmp(da);
    rm_tmp(ds);
}

static void count_read(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                       uint64_t regime, const uint8_t *rec, size_t len)
{
    (void)peer_id, (void)ch, (void)number, (void)regime, (void)rec, (void)len;
    ++*(unsigned *)user;
}

/* Another regime's resync begins: the journal is renamed beside (kept, with
 * its records), an empty one follows the new regime from number 0, also
 * after a restart; a regime never goes back; marks stay (M-11) but are no
 * record of the new regime (their numbers were the old one's). */
static void test_set_aside(void **state)
{
    (void)state;
    char da[64], ds[64], path[256];
    mkdir_tmp(da, sizeof(da));
    mkdir_tmp(ds, sizeof(ds));
    journal_path(ds, path, sizeof(path));
    struct fix a, s;
    fix_init(&a, da, true);
    fix_init(&s, ds, true);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&a.ep, &ops, &o), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&a.ep, 2), CG_OK);
    send_req(&a, "1", "A");
    cg__mos4_msgid_reserve(&a.peer.lanes[0][CG_MOS_OUT], 512);
    assert_int_equal(cg_mos_endpoint_journal_set_aside(&s.ep, 2), CG_OK);
    assert_int_equal(count_files(ds, "msgid-ncs1-mom.journal.aside-"), 1); /* the first, of 0 */
    char why[256];
    for (size_t i = 0; i < o.n; i++)
        assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[i],
                                                        o.len[i], why, sizeof(why)), CG_OK);
    size_t before = 0;
    uint8_t *kept = tu_read(path, &before);
    assert_int_equal(cg_mos_endpoint_journal_set_aside(&s.ep, 1), CG_ERANGE);
    assert_int_equal(cg_mos_endpoint_journal_set_aside(&s.ep, 7), CG_OK);
    assert_int_equal(count_files(ds, "msgid-ncs1-mom.journal.aside-"), 2);
    /* the one of regime 2 holds what it held */
    DIR *d = opendir(ds);
    assert_non_null(d);
    char aside[512] = "";
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".aside-") != NULL && strstr(e->d_name, "-r2") != NULL)
            snprintf(aside, sizeof(aside), "%s/%s", ds, e->d_name);
    closedir(d);
    assert_true(aside[0] != '\0');
    size_t alen = 0;
    uint8_t *adata = tu_read(aside, &alen);
    assert_int_equal(alen, before);
    assert_memory_equal(adata, kept, before);
    free(adata);
    free(kept);
    assert_true(tu_log_has(&s.log, "set aside as"));
    /* the new one: empty, following 7, counting from 0 */
    struct mos4_journal_info info;
    struct recs c = read_journal(ds, &info);
    assert_int_equal(c.n, 0);
    assert_true(info.numbered);
    assert_int_equal(info.number, 0);
    assert_int_equal(info.regime, 7);
    uint64_t last = 9, regime = 0;
    cg_mos_endpoint_journal_position(&s.ep, &last, &regime);
    assert_int_equal(last, 0);
    assert_int_equal(regime, 7);
    assert_int_equal(cg__mos4_msgid_start(s.lane), 513); /* the mark stays */
    unsigned nread = 0;
    assert_int_equal(cg_mos_endpoint_journal_read(&s.ep, 0, count_read, &nread), CG_OK);
    assert_int_equal(nread, 0); /* not as a record numbered in the old regime */
    /* a resync of 7 may begin with its active's older history (regime 2): taken */
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[0],
                                                    o.len[0], why, sizeof(why)), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_regime(&a.ep, 7), CG_OK);
    send_req(&a, "2", "B");
    assert_int_equal(cg_mos_endpoint_journal_append(&s.ep, "ncs1", CG_MOS_CH_MOM, o.rec[o.n - 2],
                                                    o.len[o.n - 2], why, sizeof(why)), CG_OK);
    obs_free(&o);
    fix_free(&a);
    fix_free(&s);
    fix_init(&s, ds, true); /* restart: still following 7 */
    cg_mos_endpoint_journal_position(&s.ep, &last, &regime);
    assert_int_equal(regime, 7);
    assert_int_equal(last, 4); /* R 1, R 4 */
    fix_free(&s);
    rm_tmp(da);
    rm_tmp(ds);
}

/* Two endpoints sharing one count (a pair replicating both): their records
 * are numbered in one sequence, in the order written, and two standby
 * endpoints sharing a count take that sequence in order across them (a
 * record behind the shared count is refused, whichever endpoint it is
 * for). Unset, an endpoint counts on from the shared value. */
static void test_shared_counter(void **state)
{
    (void)state;
    char d1[64], d2[64], s1[64], s2[64];
    mkdir_tmp(d1, sizeof(d1));
    mkdir_tmp(d2, sizeof(d2));
    mkdir_tmp(s1, sizeof(s1));
    mkdir_tmp(s2, sizeof(s2));
    struct fix a, b, sa, sb;
    fix_init(&a, d1, true);
    fix_init(&b, d2, true);
    fix_init(&sa, s1, true);
    fix_init(&sb, s2, true);
    uint64_t count = 0, scount = 0;
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&a.ep, &count), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&b.ep, &count), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&sa.ep, &scount), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&sb.ep, &scount), CG_OK);
    struct obs oa = {0}, ob = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&a.ep, &ops, &oa), CG_OK);
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&b.ep, &ops, &ob), CG_OK);
    send_req(&a, "1", "A"); /* 1, 2 */
    send_req(&b, "1", "B"); /* 3, 4 */
    send_req(&a, "2", "C"); /* 5, 6 */
    assert_int_equal(oa.n, 4);
    assert_int_equal(ob.n, 2);
    assert_int_equal(oa.number[0], 1);
    assert_int_equal(oa.number[1], 2);
    assert_int_equal(ob.number[0], 3);
    assert_int_equal(ob.number[1], 4);
    assert_int_equal(oa.number[2], 5);
    assert_int_equal(oa.number[3], 6);
    assert_int_equal(count, 6);
    uint64_t last = 0;
    cg_mos_endpoint_journal_position(&b.ep, &last, NULL);
    assert_int_equal(last, 6);
    char why[256];
#define APPEND(s, o, i) cg_mos_endpoint_journal_append(&(s).ep, "ncs1", CG_MOS_CH_MOM, (o).rec[i], \
                                                       (o).len[i], why, sizeof(why))
    assert_int_equal(APPEND(sa, oa, 0), CG_OK);
    assert_int_equal(APPEND(sa, oa, 1), CG_OK);
    assert_int_equal(APPEND(sb, ob, 0), CG_OK);
    assert_int_equal(APPEND(sa, oa, 2), CG_OK);
    assert_int_equal(APPEND(sb, ob, 1), CG_ERANGE); /* 4 after 5: out of order */
    assert_non_null(strstr(why, "record 4 is not after the last one (5)"));
    assert_int_equal(scount, 5);
#undef APPEND
    /* unset: b counts on from 6 alone */
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&b.ep, NULL), CG_OK);
    send_req(&b, "2", "D");
    assert_int_equal(ob.number[2], 7);
    assert_int_equal(count, 6);
    /* a new shared count starts at least at the endpoint's position */
    uint64_t fresh = 0;
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&b.ep, &fresh), CG_OK);
    assert_int_equal(fresh, 8);
    assert_int_equal(cg_mos_endpoint_set_journal_counter(&b.ep, NULL), CG_OK);
    obs_free(&oa);
    obs_free(&ob);
    fix_free(&a);
    fix_free(&b);
    fix_free(&sa);
    fix_free(&sb);
    fix_init(&a, d1, true); /* a restart: each endpoint's own greatest */
    cg_mos_endpoint_journal_position(&a.ep, &last, NULL);
    assert_int_equal(last, 6);
    fix_free(&a);
    rm_tmp(d1);
    rm_tmp(d2);
    rm_tmp(s1);
    rm_tmp(s2);
}

/* ---- reading from a number on ---- */

struct seen {
    uint64_t number[64];
    uint8_t *rec[64];
    size_t len[64];
    size_t n;
};

static void on_read(void *user, const char *peer_id, enum cg_mos_channel ch, uint64_t number,
                    uint64_t regime, const uint8_t *rec, size_t len)
{
    struct seen *s = user;
    (void)regime;
    assert_true(s->n < 64);
    assert_string_equal(peer_id, "ncs1");
    assert_int_equal(ch, CG_MOS_CH_MOM);
    s->number[s->n] = number;
    s->rec[s->n] = malloc(len);
    assert_non_null(s->rec[s->n]);
    memcpy(s->rec[s->n], rec, len);
    s->len[s->n] = len;
    s->n++;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rec[i]);
    memset(s, 0, sizeof(*s));
}

/* From 0: every record, in the order of the numbers, byte for byte as told
 * (the mark too); from n: those numbered n or more. After a compaction
 * (the order in the file is no longer the numbers'): what it kept, in the
 * numbers' order; the unnumbered (from an older format) only from 0. */
static void test_read_from(void **state)
{
    (void)state;
    char dir[64], path[256];
    mkdir_tmp(dir, sizeof(dir));
    journal_path(dir, path, sizeof(path));
    struct cg_buf b; /* one unnumbered answer, from format 3 */
    cg__buf_init(&b, 0);
    put(&b, "castgate-journal 3\n", 19);
    old_rec(&b, true, 'A', "7", ans7, elem7);
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(b.data, 1, b.len, w), b.len);
    fclose(w);
    cg__buf_free(&b);
    struct fix f;
    fix_init(&f, dir, true);
    struct obs o = {0};
    assert_int_equal(cg_mos_endpoint_set_journal_ops(&f.ep, &ops, &o), CG_OK);
    send_req(&f, "1", "A");                                   /* 1, 2 */
    cg__mos4_msgid_reserve(&f.peer.lanes[0][CG_MOS_OUT], 256); /* 3 */
    f.hold = true;
    send_req(&f, "2", "B"); /* 4, at the application */
    send_req(&f, "3", "C"); /* 5, held */
    f.hold = false;
    struct cg_mos_request *r2 = f.held;
    f.held = NULL;
    assert_int_equal(cg_mos_reply_ack(r2, true, "two"), CG_OK); /* 6; 3 delivered, 7 */
    assert_int_equal(o.n, 7);
    struct seen s = {0};
    assert_int_equal(cg_mos_endpoint_journal_read(&f.ep, 1, on_read, &s), CG_OK);
    assert_int_equal(s.n, 7);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.number[i], i + 1);
        assert_int_equal(s.len[i], o.len[i]);
        assert_memory_equal(s.rec[i], o.rec[i], o.len[i]);
    }
    seen_free(&s);
    assert_int_equal(cg_mos_endpoint_journal_read(&f.ep, 5, on_read, &s), CG_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.number[0], 5);
    assert_int_equal(s.number[2], 7);
    seen_free(&s);
    assert_int_equal(cg_mos_endpoint_journal_read(&f.ep, 0, on_read, &s), CG_OK);
    assert_int_equal(s.n, 8);
    assert_int_equal(s.number[0], 0); /* the unnumbered first */
    seen_free(&s);
    assert_int_equal(cg_mos_endpoint_journal_read(&f.ep, 8, on_read, &s), CG_OK);
    assert_int_equal(s.n, 0);
    obs_free(&o);
    fix_free(&f);
    /* compacted at the restart: the answers 2, 6, 7 and the mark 3 (the
     * requests 1, 4, 5 dropped: answered) */
    fix_init(&f, dir, true);
    assert_int_equal(cg_mos_endpoint_journal_read(&f.ep, 1, on_read, &s), CG_OK);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.number[i - 1] < s.number[i]);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.number[0], 2);
    assert_int_equal(s.number[1], 3);
    assert_int_equal(s.number[2], 6);
    assert_int_equal(s.number[3], 7);
    seen_free(&s);
    assert_int_equal(cg_mos_endpoint_journal_read(&f.ep, 4, on_read, &s), CG_OK);
    assert_int_equal(s.n, 2); /* 4 was dropped: from the first after it */
    assert_int_equal(s.number[0], 6);
    seen_free(&s);
    fix_free(&f);
    rm_tmp(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observer_order_and_bytes),
        cmocka_unit_test(test_mark_is_a_record),
        cmocka_unit_test(test_numbers_across_compaction_and_restart),
        cmocka_unit_test(test_format3_replays),
        cmocka_unit_test(test_format2_replays),
        cmocka_unit_test(test_format4_spelling),
        cmocka_unit_test(test_format1_request_replays),
        cmocka_unit_test(test_standby_append),
        cmocka_unit_test(test_standby_refuses),
        cmocka_unit_test(test_set_aside),
        cmocka_unit_test(test_shared_counter),
        cmocka_unit_test(test_read_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
