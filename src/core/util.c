#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cg__str_copy(char *dst, size_t size, const char *src)
{
    size_t n = src != NULL ? strnlen(src, size - 1) : 0;
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
}

char *cg__strdup(const char *s) { return s != NULL ? cg__strndup(s, strlen(s)) : NULL; }

int cg__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cg__digitval(int c, unsigned base)
{
    int d = cg__hexval(c);
    return d >= 0 && (unsigned)d < base ? d : -1;
}

char *cg__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    if (n > 0) /* s may be NULL when n is 0 (an empty buffer): memcpy must not see it */
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

enum cg_err cg__str_replace(char **slot, const char *v)
{
    char *d = NULL;
    if (v != NULL && (d = cg__strdup(v)) == NULL)
        return CG_ENOMEM;
    free(*slot);
    *slot = d;
    return CG_OK;
}

void cg__wipe_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

bool cg__ct_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

uint64_t cg__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cg__log_escape(char *dst, size_t dstsz, const char *src, size_t srclen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (dstsz == 0)
        return;
    for (size_t i = 0; i < srclen; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 1 >= dstsz)
                break;
            dst[o++] = (char)c;
        } else {
            if (o + 4 >= dstsz)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
}

enum cg_err cg__read_file(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
    enum cg_err rc = CG_OK;
    uint8_t *data = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CG_CHECK(fd >= 0, CG_EFILE);
    struct stat st;
    CG_ENSURE(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), CG_EFILE);
    CG_ENSURE((uint64_t)st.st_size <= max, CG_ETOOBIG);
    data = malloc((size_t)st.st_size + 1);
    CG_ENSURE(data != NULL, CG_ENOMEM);
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        CG_ENSURE(n > 0, CG_EIO);
        len += (size_t)n;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    data = NULL;
out:
    free(data);
    close(fd);
    return rc;
}

enum cg_err cg__check_private_file(const char *path)
{
    struct stat st;
    CG_CHECK(path != NULL, CG_EINVAL);
    CG_CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode), CG_EFILE);
    CG_CHECK((st.st_mode & (S_IRWXG | S_IRWXO)) == 0, CG_EPERM);
    return CG_OK;
}

enum cg_err cg__mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    size_t n = strlen(path);
    CG_CHECK(n > 0 && n < sizeof(buf), CG_EINVAL);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return CG_EFILE;
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        return CG_EFILE;
    struct stat st;
    CG_CHECK(stat(buf, &st) == 0 && S_ISDIR(st.st_mode), CG_EFILE);
    return CG_OK;
}

bool cg__utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}
