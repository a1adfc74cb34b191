/* cg__write_all, cg__writev_all and cg__file_replace (src/core/file.c), and
 * the files that are written through them: short writes, EINTR, a call that
 * makes no progress, a full disk, a failed rename, fsync of the file and its
 * folder (issue 12 item 11; writev, issue 16). */
// CG_WRAP: write writev fsync
#include "testutil.h"
#include "core/core.h"
#include "mos4/mos4.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static size_t max_chunk;      /* non-zero: write(2) and writev(2) write at most this many bytes */
static int eintr_every;       /* non-zero: every Nth call fails with EINTR first */
static int fail_errno;        /* non-zero: calls fail with it */
static bool no_progress;      /* calls return 0 */
static unsigned nwrites, nfsync;

/* What a call does instead of writing: true with *ret set, or false (it
 * writes, at most max_chunk bytes). */
static bool fake(ssize_t *ret)
{
    nwrites++;
    *ret = -1;
    if (fail_errno != 0)
        errno = fail_errno;
    else if (eintr_every != 0 && nwrites % (unsigned)eintr_every == 0)
        errno = EINTR;
    else if (no_progress)
        *ret = 0;
    else
        return false;
    return true;
}

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    ssize_t ret;
    if (fake(&ret))
        return ret;
    return __real_write(fd, buf, max_chunk != 0 && n > max_chunk ? max_chunk : n);
}

/* The first max_chunk bytes of the pieces, as a short writev(2) writes. */
ssize_t __real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
    ssize_t ret;
    if (fake(&ret))
        return ret;
    struct iovec cut[16];
    size_t room = max_chunk != 0 ? max_chunk : SIZE_MAX;
    int k = 0;
    for (; k < cnt && k < 16 && room > 0; k++) {
        cut[k] = iov[k];
        if (cut[k].iov_len > room)
            cut[k].iov_len = room;
        room -= cut[k].iov_len;
    }
    return __real_writev(fd, cut, k);
}

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
    nfsync++;
    return __real_fsync(fd);
}

static void reset(void)
{
    max_chunk = 0;
    eintr_every = 0;
    fail_errno = 0;
    no_progress = false;
    nwrites = nfsync = 0;
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cg-test-file-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    reset();
    return system(cmd);
}

static unsigned entries(void) /* files in dir */
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void assert_content(const char *path, const char *want)
{
    size_t len = 0;
    uint8_t *got = tu_read(path, &len);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len);
    free(got);
}

static void test_replace_whole_through_short_writes(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/f", dir);
    static const char text[] = "0123456789abcdefghij";
    reset();
    max_chunk = 3;
    eintr_every = 2;
    assert_int_equal(cg__file_replace(path, text, strlen(text), 0640, CG_FILE_SYNC), CG_OK);
    assert_content(path, text);
    assert_true(nwrites > 7); /* it took many calls */
    assert_int_equal(nfsync, 2); /* the file, then its folder */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(entries(), 1); /* no temporary left */
    reset();
    assert_int_equal(cg__file_replace(path, "new", 3, 0600, 0), CG_OK);
    assert_content(path, "new");
    assert_int_equal(nfsync, 0); /* not asked */
}

static void test_replace_fails_cleanly(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/f", dir);
    reset();
    assert_int_equal(cg__file_replace(path, "old", 3, 0600, 0), CG_OK);
    fail_errno = ENOSPC; /* a full disk */
    errno = 0;
    assert_int_equal(cg__file_replace(path, "new content", 11, 0600, CG_FILE_SYNC), CG_EIO);
    assert_int_equal(errno, ENOSPC);
    reset();
    assert_content(path, "old");
    assert_int_equal(entries(), 1);
    /* the rename fails (a folder is in the way): the temporary goes */
    char sub[160];
    snprintf(sub, sizeof(sub), "%s/d", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char inner[200];
    snprintf(inner, sizeof(inner), "%s/x", sub);
    FILE *f = fopen(inner, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(cg__file_replace(sub, "x", 1, 0600, 0), CG_EIO);
    assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
    assert_int_equal(entries(), 2);
    /* a folder that does not exist */
    snprintf(path, sizeof(path), "%s/none/f", dir);
    assert_int_equal(cg__file_replace(path, "x", 1, 0600, 0), CG_EIO);
    assert_int_equal(errno, ENOENT);
    /* write(2) that makes no progress is a full disk, not a loop */
    assert_int_equal(cg__write_all(-1, "x", 1), CG_EIO);
    assert_int_equal(errno, EBADF);
}

/* cg__writev_all through writev(2) that writes 1..12 bytes a call: every
 * byte once and in order, a piece cut short goes on from where it stopped,
 * pieces of 0 bytes are passed over; EINTR is called again. */
static void test_writev_short_writes(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/v", dir);
    for (size_t cap = 1; cap <= 12; cap++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        char a[] = "head", b[] = "", c[] = "middle", d[] = "!";
        struct iovec iov[] = {{a, 4}, {b, 0}, {c, 6}, {d, 1}};
        reset();
        max_chunk = cap;
        eintr_every = 3;
        assert_int_equal(cg__writev_all(fd, iov, 4), CG_OK);
        close(fd);
        assert_content(path, "headmiddle!");
        unsigned calls = (unsigned)((11 + cap - 1) / cap); /* each wrote all it could */
        assert_int_equal(nwrites, calls + (calls - 1) / 2); /* and every third was EINTR */
    }
    reset();
}

/* A write(2) or writev(2) that writes nothing is a full disk (CG_EIO with
 * ENOSPC), not a loop; nothing to write makes no call. */
static void test_no_progress_is_enospc(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/z", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    char a[] = "x";
    struct iovec iov[] = {{a, 1}};
    reset();
    no_progress = true;
    errno = 0;
    assert_int_equal(cg__writev_all(fd, iov, 1), CG_EIO);
    assert_int_equal(errno, ENOSPC);
    errno = 0;
    assert_int_equal(cg__write_all(fd, "x", 1), CG_EIO);
    assert_int_equal(errno, ENOSPC);
    reset();
    assert_int_equal(cg__write_all(fd, "", 0), CG_OK);
    assert_int_equal(cg__writev_all(fd, iov, 0), CG_OK);
    assert_int_equal(nwrites, 0);
    assert_int_equal(cg__writev_all(-1, iov, 1), CG_EIO); /* a real error keeps its errno */
    assert_int_equal(errno, EBADF);
    close(fd);
    assert_content(path, "");
}

/* The messageID mark (msgid.c) is written whole through short writes. */
static void test_msgid_mark_short_writes(void **state)
{
    (void)state;
    struct cg_mos_endpoint ep = {0};
    struct mos4_peer peer = {0};
    struct mos4_lane lane = {0};
    ep.cfg.state_dir = dir;
    peer.ep = &ep;
    snprintf(peer.id, sizeof(peer.id), "dev");
    lane.peer = &peer;
    lane.ch = 1;
    reset();
    max_chunk = 1;
    assert_int_equal(cg__mos4_next_msgid(&lane), 1);
    reset();
    char path[128];
    snprintf(path, sizeof(path), "%s/msgid-dev-ro", dir);
    assert_content(path, "257 1 0\n"); /* the mark, its record number, the regime (format 4) */
    assert_int_equal(entries(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replace_whole_through_short_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msgid_mark_short_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writev_short_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_progress_is_enospc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
