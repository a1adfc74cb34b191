/* Issue 13 (relay costs): the write(2) calls an IN lane's journal makes per
 * message (journal.c append, through flow.c), counted on the journal's
 * descriptor. With a state directory but not the journal option (a gateway
 * with `journal = no`): a request with a messageID costs two (its ID and
 * digest at delivery, its answer before the peer hears it: read back after
 * a restart, M-22), one without a messageID none (nothing could find its
 * records again: both are looked up by messageID). With the journal option
 * an ID-less request is still recorded (it is delivered again after a
 * restart). What a restart does with each is checked too. */
// CG_WRAP: cg__mos4_lane_write write
#include "testutil.h"
#include "mos4/mos4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- what the lane sends, and the journal's writes ---- */

#define MAX_SENT 512
static char *sent[MAX_SENT];
static size_t nsent;
static const struct mos4_lane *g_lane; /* whose journal's writes are counted */
static unsigned jwrites;
static int jfail_errno; /* non-zero: the journal's write(2) fails with it */

enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len);
enum cg_err __wrap_cg__mos4_lane_write(struct mos4_lane *l, const char *xml, size_t len)
{
    (void)l;
    assert_true(nsent < MAX_SENT);
    sent[nsent] = malloc(len + 1);
    assert_non_null(sent[nsent]);
    memcpy(sent[nsent], xml, len);
    sent[nsent++][len] = '\0';
    return CG_OK;
}

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (g_lane != NULL && fd >= 0 && fd == g_lane->jfd) {
        jwrites++;
        if (jfail_errno != 0) {
            errno = jfail_errno;
            return -1;
        }
    }
    return __real_write(fd, buf, n);
}

static void sent_clear(void)
{
    for (size_t i = 0; i < nsent; i++)
        free(sent[i]);
    nsent = 0;
}

static size_t sent_count(const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < nsent; i++)
        n += strstr(sent[i], needle) != NULL;
    return n;
}

/* ---- an endpoint (device "dev") with one IN lane from NCS "ncs1" on mom ---- */

struct fix {
    struct cg_ctx *ctx;
    struct tu_log log;
    struct cg_mos_endpoint ep;
    struct mos4_peer peer;
    struct mos4_lane *lane;
    unsigned delivered, repeats;
};

static void on_request(void *user, struct cg_mos_request *req, const struct cg_mos_message *m)
{
    struct fix *f = user;
    f->delivered++;
    f->repeats += m->repeat;
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
    f->ep.cfg.redeliver = true; /* as the relay sets it */
    f->ep.cfg.fsync = CG_MOS_FSYNC_NEVER;
    f->ep.state_fd = -1;
    f->ep.h.on_request = on_request;
    f->ep.user = f;
    f->peer.ep = &f->ep;
    snprintf(f->peer.id, sizeof(f->peer.id), "ncs1");
    f->lane = &f->peer.lanes[0][CG_MOS_IN];
    f->lane->peer = &f->peer;
    f->lane->ch = 0; /* mom: a mosAck carries our statusDescription */
    f->lane->dir = CG_MOS_IN;
    f->lane->jfd = -1;
    f->lane->up = true;
    cg__mos4_journal_open(f->lane);
    assert_true(f->lane->jfd >= 0);
    g_lane = f->lane;
    jwrites = 0;
}

static void fix_free(struct fix *f)
{
    g_lane = NULL;
    cg__mos4_journal_close(f->lane);
    f->peer.removed = true;
    f->ep.cfg.journal = false;
    cg__mos4_flow_free(f->lane);
    cg_ctx_free(f->ctx);
    sent_clear();
}

static void mkdir_tmp(char *dir, size_t sz)
{
    snprintf(dir, sz, "/tmp/cg-test-jwrites-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tmp(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An roCreate of roID ro from the NCS, with messageID msgid (NULL: none). */
static void send_req(struct fix *f, const char *msgid, const char *ro)
{
    char xml[512], id[64] = "";
    if (msgid != NULL)
        snprintf(id, sizeof(id), "<messageID>%s</messageID>", msgid);
    int n = snprintf(xml, sizeof(xml), "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID>%s"
                     "<roCreate><roID>%s</roID></roCreate></mos>", id, ro);
    cg__mos4_on_message(f->lane, false, (const uint8_t *)xml, (size_t)n);
}

static off_t journal_size(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom.journal", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* journal = no: 100 ID-less requests, then 100 with a messageID. */
static void test_writes_per_message_without_journal_option(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct fix f;
    fix_init(&f, dir, false);
    off_t empty = journal_size(dir);
    for (int i = 0; i < 100; i++)
        send_req(&f, NULL, "A");
    unsigned without = jwrites;
    assert_int_equal(f.delivered, 100);
    assert_int_equal(sent_count("<status>ACK</status>"), 100);
    off_t after_idless = journal_size(dir);
    jwrites = 0;
    for (int i = 1; i <= 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i);
        send_req(&f, id, "B");
    }
    unsigned with = jwrites;
    print_message("journal = no: write(2) on the journal for 100 requests without a messageID: "
                  "%u (%lld bytes); with one: %u\n", without, (long long)(after_idless - empty),
                  with);
    assert_int_equal(f.delivered, 200);
    assert_int_equal(without, 0);
    assert_int_equal(after_idless, empty);
    assert_int_equal(with, 200); /* R (ID and digest) and A per request: read after a restart */
    fix_free(&f);
    rm_tmp(dir);
}

/* What a restart makes of it: unchanged. A repeat of an answered messageID
 * gets the stored answer; an ID-less request cannot be told from a new one
 * (nor could it before: its records were never looked up). */
static void test_restart_without_journal_option(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct fix f;
    fix_init(&f, dir, false);
    send_req(&f, NULL, "A");
    send_req(&f, "5", "B");
    assert_int_equal(f.delivered, 2);
    fix_free(&f);
    struct fix g;
    fix_init(&g, dir, false); /* restart */
    send_req(&g, "5", "B");   /* M-22: answered from the journal */
    assert_int_equal(g.delivered, 0);
    assert_int_equal(sent_count("applied 2"), 1);
    send_req(&g, NULL, "A"); /* no messageID: a new request */
    assert_int_equal(g.delivered, 1);
    assert_int_equal(g.repeats, 0);
    fix_free(&g);
    rm_tmp(dir);
}

/* The journal option still records an ID-less request and its answer. */
static void test_writes_with_journal_option(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct fix f;
    fix_init(&f, dir, true);
    send_req(&f, NULL, "A");
    assert_int_equal(f.delivered, 1);
    assert_int_equal(jwrites, 2);
    fix_free(&f);
    rm_tmp(dir);
}

/* A full disk (issue 12 item 8) still refuses a request with a messageID
 * (its record is what a restart needs); one without a messageID, which
 * nothing records any more, goes through. */
static void test_disk_full_without_journal_option(void **state)
{
    (void)state;
    char dir[64];
    mkdir_tmp(dir, sizeof(dir));
    struct fix f;
    fix_init(&f, dir, false);
    jfail_errno = ENOSPC;
    send_req(&f, "9", "A");
    assert_int_equal(f.delivered, 0);
    assert_int_equal(sent_count("cannot record the request"), 1);
    send_req(&f, NULL, "A");
    assert_int_equal(f.delivered, 1);
    assert_int_equal(sent_count("<status>ACK</status>"), 1);
    jfail_errno = 0;
    fix_free(&f);
    rm_tmp(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_per_message_without_journal_option),
        cmocka_unit_test(test_restart_without_journal_option),
        cmocka_unit_test(test_writes_with_journal_option),
        cmocka_unit_test(test_disk_full_without_journal_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
