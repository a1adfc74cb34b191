/* The journal's record over JOURNAL_SMALL (8 KB) goes to disk in one
 * writev(2) (src/mos4/journal.c write_record): its header and ID, its data
 * in place (never copied, issue 13 item 6) and the closing "\n", one system
 * call instead of three. Short writes and EINTR are looped (core/file.c
 * cg__writev_all), and what is on disk is the whole record. System calls on
 * the journal's descriptor are counted through the linker's --wrap. */
// CG_WRAP: cg__mos4_lane_write write writev
// CG_LINK: flowrig.c
#include "flowrig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- the journal's system calls ---- */

static const struct mos4_lane *g_lane; /* whose journal is watched */
static unsigned jwrite, jwritev, jshort; /* calls; writev calls cut short */
static size_t g_cap;                     /* non-zero: writev writes at most this much */
static bool g_eintr;                     /* the next writev fails with EINTR */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (g_lane != NULL && fd >= 0 && fd == g_lane->jfd)
        jwrite++;
    return __real_write(fd, buf, n);
}

ssize_t __real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
    if (g_lane == NULL || fd < 0 || fd != g_lane->jfd)
        return __real_writev(fd, iov, cnt);
    jwritev++;
    if (g_eintr) {
        g_eintr = false;
        errno = EINTR;
        return -1;
    }
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    if (g_cap == 0 || total <= g_cap)
        return __real_writev(fd, iov, cnt);
    /* the first g_cap bytes only, possibly ending inside a piece */
    struct iovec cut[8];
    int n = 0;
    for (size_t left = g_cap; n < cnt && n < 8 && left > 0; n++) {
        cut[n] = iov[n];
        if (cut[n].iov_len > left)
            cut[n].iov_len = left;
        left -= cut[n].iov_len;
    }
    jshort++;
    return __real_writev(fd, cut, n);
}

/* ---- the endpoint (flowrig.h: "dev" with one IN lane from NCS "ncs1" on
 * mom, what it sends caught), the journal option on: each request recorded
 * as it arrives; the journal's system calls counted from here on ---- */

static void fix_init(struct fr_ep *f, const char *dir)
{
    fr_mom_init(f);
    fr_state(f, dir, true);
    assert_true(f->lane->jfd >= 0);
    g_lane = f->lane;
    jwrite = jwritev = jshort = 0;
}

static void fix_free(struct fr_ep *f)
{
    g_lane = NULL;
    g_cap = 0;
    g_eintr = false;
    fr_free(f);
}

/* An roCreate with messageID id and a slug of `pad` bytes ('a'+id%26);
 * caller frees; *n its length. */
static char *big_request(unsigned id, size_t pad, size_t *n)
{
    size_t cap = pad + 256;
    char *xml = malloc(cap);
    assert_non_null(xml);
    size_t k = (size_t)snprintf(xml, cap, "<mos><mosID>dev</mosID><ncsID>ncs1</ncsID>"
                                "<messageID>%u</messageID><roCreate><roID>R%u</roID><roSlug>",
                                id, id);
    memset(xml + k, 'a' + (int)(id % 26), pad);
    k += pad;
    k += (size_t)snprintf(xml + k, cap - k, "</roSlug></roCreate></mos>");
    *n = k;
    return xml;
}

/* The journal's records as on disk: does it hold an R record with exactly
 * these bytes under messageID id? */
struct look {
    const char *id;
    const char *xml;
    size_t len;
    unsigned found, records;
};

static void on_record(void *user, const struct mos4_jrec *r)
{
    struct look *k = user;
    k->records++;
    if (r->kind == 'R' && r->msgid != NULL && strcmp(r->msgid, k->id) == 0 && r->len == k->len &&
        memcmp(r->data, k->xml, k->len) == 0)
        k->found++;
}

static void expect_on_disk(const char *dir, const char *id, const char *xml, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/msgid-ncs1-mom.journal", dir);
    uint8_t *data = NULL;
    size_t n = 0;
    assert_int_equal(cg__read_file(path, (size_t)64 << 20, &data, &n), CG_OK);
    struct look k = {.id = id, .xml = xml, .len = len};
    size_t good = cg__mos4_journal_parse(data, n, on_record, &k, NULL);
    free(data);
    if (good != n || k.found != 1)
        fail_msg("messageID %s: %u whole record(s) with its bytes; %zu of %zu bytes whole", id,
                 k.found, good, n);
}

/* 10 requests of 20 KB (and their small answers): one system call each. */
static void test_large_record_one_writev(void **state)
{
    (void)state;
    char dir[64];
    fr_mkdtemp(dir, sizeof(dir), "jwritev");
    struct fr_ep f;
    fix_init(&f, dir);
    char *last = NULL;
    size_t n = 0;
    for (unsigned i = 1; i <= 10; i++) {
        free(last);
        last = big_request(i, 20000, &n);
        cg__mos4_on_message(f.lane, false, (const uint8_t *)last, n);
    }
    print_message("10 records of %zu bytes and their answers: write(2) %u, writev(2) %u\n", n,
                  jwrite, jwritev);
    assert_int_equal(f.app.delivered, 10);
    if (jwrite + jwritev != 20 || jwritev != 10)
        fail_msg("10 large records and 10 small ones: %u write(2) and %u writev(2) calls, "
                 "want 10 and 10", jwrite, jwritev);
    expect_on_disk(dir, "10", last, n);
    free(last);
    fix_free(&f);
    fr_rmdir(dir);
}

/* writev interrupted once, then cut to 3000 bytes a call (ending inside the
 * header, the data, or before the "\n"): the record is still whole on disk
 * and the request delivered, its answer recorded. */
static void test_large_record_short_writes_looped(void **state)
{
    (void)state;
    const size_t caps[] = {1, 100, 3000, 20100};
    for (size_t c = 0; c < CG_ARRAY_LEN(caps); c++) {
        char dir[64];
        fr_mkdtemp(dir, sizeof(dir), "jwritev");
        struct fr_ep f;
        fix_init(&f, dir);
        size_t n = 0;
        char *xml = big_request(7, caps[c] == 1 ? 9000 : 20000, &n);
        g_cap = caps[c];
        g_eintr = true;
        cg__mos4_on_message(f.lane, false, (const uint8_t *)xml, n);
        g_cap = 0;
        assert_int_equal(f.app.delivered, 1);
        assert_false(tu_log_has(&f.log, "cannot record"));
        if (jshort == 0)
            fail_msg("cap %zu: no writev(2) was cut short (%u write, %u writev)", caps[c],
                     jwrite, jwritev);
        expect_on_disk(dir, "7", xml, n);
        free(xml);
        fix_free(&f);
        fr_rmdir(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_record_one_writev),
        cmocka_unit_test(test_large_record_short_writes_looped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
