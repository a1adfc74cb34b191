/* cg__write_all and cg__writev_all (src/core/file.c) against a writev(2)
 * and write(2) that write less than asked, fail with EINTR, or make no
 * progress: every byte lands once and in order, a piece cut short goes on
 * from where it stopped, pieces of 0 bytes are passed over, and a call that
 * writes nothing is CG_EIO with errno ENOSPC (the one reason it may). */
// CG_WRAP: write writev
#include "testutil.h"
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static size_t g_cap;     /* non-zero: a call writes at most this many bytes */
static int g_eintr;      /* this many calls fail with EINTR first */
static bool g_zero;      /* calls return 0 (no progress) */
static unsigned g_calls; /* calls that wrote */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    if (g_eintr > 0) {
        g_eintr--;
        errno = EINTR;
        return -1;
    }
    if (g_zero)
        return 0;
    g_calls++;
    return __real_write(fd, buf, g_cap != 0 && n > g_cap ? g_cap : n);
}

ssize_t __real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
    if (g_eintr > 0) {
        g_eintr--;
        errno = EINTR;
        return -1;
    }
    if (g_zero)
        return 0;
    g_calls++;
    if (g_cap == 0)
        return __real_writev(fd, iov, cnt);
    /* the first g_cap bytes of the pieces, as a short writev(2) would */
    struct iovec cut[16];
    size_t room = g_cap;
    int k = 0;
    for (; k < cnt && k < 16 && room > 0; k++) {
        cut[k] = iov[k];
        if (cut[k].iov_len > room)
            cut[k].iov_len = room;
        room -= cut[k].iov_len;
    }
    return __real_writev(fd, cut, k);
}

static FILE *g_file;

static int setup(void **state)
{
    (void)state;
    g_cap = 0;
    g_eintr = 0;
    g_zero = false;
    g_calls = 0;
    g_file = tmpfile();
    return g_file != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fclose(g_file);
    return 0;
}

/* What the file holds now. */
static void assert_file(const char *want)
{
    char got[256];
    ssize_t n = pread(fileno(g_file), got, sizeof(got) - 1, 0);
    assert_true(n >= 0);
    got[n] = '\0';
    assert_string_equal(got, want);
}

static void test_writev_short_writes(void **state)
{
    (void)state;
    for (size_t cap = 1; cap <= 12; cap++) {
        assert_int_equal(ftruncate(fileno(g_file), 0), 0);
        assert_int_equal(lseek(fileno(g_file), 0, SEEK_SET), 0);
        char a[] = "head", b[] = "", c[] = "middle", d[] = "!";
        struct iovec iov[] = {{a, 4}, {b, 0}, {c, 6}, {d, 1}};
        g_cap = cap;
        g_calls = 0;
        assert_int_equal(cg__writev_all(fileno(g_file), iov, 4), CG_OK);
        assert_file("headmiddle!");
        assert_int_equal(g_calls, (11 + cap - 1) / cap); /* each call wrote all it could */
    }
}

static void test_eintr_is_called_again(void **state)
{
    (void)state;
    char a[] = "one", b[] = "two";
    struct iovec iov[] = {{a, 3}, {b, 3}};
    g_eintr = 3;
    assert_int_equal(cg__writev_all(fileno(g_file), iov, 2), CG_OK);
    assert_int_equal(g_eintr, 0);
    g_eintr = 2;
    g_cap = 2;
    assert_int_equal(cg__write_all(fileno(g_file), "three", 5), CG_OK);
    assert_file("onetwothree");
}

static void test_no_progress_is_enospc(void **state)
{
    (void)state;
    char a[] = "x";
    struct iovec iov[] = {{a, 1}};
    g_zero = true;
    errno = 0;
    assert_int_equal(cg__writev_all(fileno(g_file), iov, 1), CG_EIO);
    assert_int_equal(errno, ENOSPC);
    errno = 0;
    assert_int_equal(cg__write_all(fileno(g_file), "x", 1), CG_EIO);
    assert_int_equal(errno, ENOSPC);
    assert_file("");
    /* a real error keeps its errno */
    g_zero = false;
    errno = 0;
    assert_int_equal(cg__write_all(-1, "x", 1), CG_EIO);
    assert_int_equal(errno, EBADF);
    assert_int_equal(cg__writev_all(-1, iov, 1), CG_EIO);
    assert_int_equal(errno, EBADF);
    /* nothing to write: no call at all */
    g_calls = 0;
    assert_int_equal(cg__write_all(-1, "", 0), CG_OK);
    assert_int_equal(cg__writev_all(-1, iov, 0), CG_OK);
    assert_int_equal(g_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writev_short_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eintr_is_called_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_progress_is_enospc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
