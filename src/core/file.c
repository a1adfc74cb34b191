/* Writing files whole: every byte (short writes and EINTR looped), and
 * replacing a file so that a reader (or a crash) sees the old content or the
 * new, never half: a temporary file beside it, renamed over it. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* What a write(2) or writev(2) that returned n means: CG_OK (n bytes
 * went), CG_EAGAIN (EINTR: call again) or CG_EIO with errno set (ENOSPC
 * when it made no progress: the only reason it may). */
static enum cg_err wrote(ssize_t n)
{
    if (n < 0 && errno == EINTR)
        return CG_EAGAIN;
    if (n == 0)
        errno = ENOSPC;
    return n > 0 ? CG_OK : CG_EIO;
}

enum cg_err cg__write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (ssize_t n; len > 0;) {
        enum cg_err rc = wrote(n = write(fd, p, len));
        if (rc == CG_OK) {
            p += n;
            len -= (size_t)n;
        } else if (rc != CG_EAGAIN) {
            return rc;
        }
    }
    return CG_OK;
}

enum cg_err cg__writev_all(int fd, struct iovec *iov, int cnt)
{
    for (ssize_t n; cnt > 0;) {
        enum cg_err rc = wrote(n = writev(fd, iov, cnt));
        if (rc == CG_EAGAIN)
            continue;
        if (rc != CG_OK)
            return rc;
        size_t done = (size_t)n;
        for (; cnt > 0 && done >= iov->iov_len; iov++, cnt--)
            done -= iov->iov_len; /* pieces written whole */
        if (cnt > 0) {            /* and the one cut short */
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return CG_OK;
}

/* The folder of path ("." if none, "/" for a file in the root). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return cg__strdup(".");
    return slash == path ? cg__strdup("/") : cg__strndup(path, (size_t)(slash - path));
}

static void sync_dir(const char *path)
{
    char *dir = dir_of(path);
    int fd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) { /* the rename itself to disk; some filesystems refuse: best effort */
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

enum cg_err cg__file_replace(const char *path, const void *data, size_t len, unsigned mode,
                             unsigned flags)
{
    enum cg_err rc = CG_OK;
    int fd = -1, err = 0;
    bool made = false;
    const char *slash = strrchr(path, '/');
    size_t dl = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    size_t tl = strlen(path) + 16;
    char *tmp = malloc(tl);
    CG_ENSURE(tmp != NULL, CG_ENOMEM);
    /* ".<name>.XXXXXX" beside it: same filesystem, hidden, created 0600 (never looser) */
    snprintf(tmp, tl, "%.*s.%s.XXXXXX", (int)dl, path, path + dl);
    CG_ENSURE((fd = mkstemp(tmp)) >= 0, CG_EIO);
    made = true;
    CG_ENSURE(fchmod(fd, (mode_t)mode) == 0, CG_EIO);
    CG_TRY(cg__write_all(fd, data, len));
    CG_ENSURE(!(flags & CG_FILE_SYNC) || fsync(fd) == 0, CG_EIO);
    int c = close(fd);
    fd = -1;
    CG_ENSURE(c == 0, CG_EIO);
    CG_ENSURE(rename(tmp, path) == 0, CG_EIO);
    made = false; /* renamed: nothing to remove */
    if (flags & CG_FILE_SYNC)
        sync_dir(path);
out:
    err = errno;
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    free(tmp);
    errno = err;
    return rc;
}
