/* src/core beyond test_core.c: the error codes and their names (ABI numbers),
 * the buffer's growth and cap, the cursor at its edges, strings, log
 * escaping, UTF-8 (RFC 3629 with the Markus Kuhn stress cases) and the file
 * helpers' corner cases. */
#include "core/core.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- errors: numbers are ABI, names are the enumerators ---- */

#define E(x) {x, #x}
static const struct {
    enum cg_err code;
    const char *name;
} all_codes[] = {
    E(CG_OK),          E(CG_EINVAL),     E(CG_ENOMEM),     E(CG_ESTATE),      E(CG_ERANGE),
    E(CG_ENOTFOUND),   E(CG_EEXIST),     E(CG_ECONFIG),    E(CG_ECANCELED),   E(CG_EIO),
    E(CG_EFILE),
    E(CG_EPERM),       E(CG_ENET),       E(CG_ETIMEDOUT),  E(CG_ECLOSED),     E(CG_EFULL),
    E(CG_EAGAIN),      E(CG_ETLS),       E(CG_ECERT),      E(CG_EKEY),        E(CG_EKEYMISMATCH),
    E(CG_EHANDSHAKE),  E(CG_EVERIFY),    E(CG_EREVOKED),   E(CG_EOCSP),       E(CG_EEXPIRED),
    E(CG_EHOSTNAME),   E(CG_EUNTRUSTED), E(CG_ESELFSIGNED), E(CG_EPIN),       E(CG_EPROTO),
    E(CG_EHTTP),       E(CG_EWS),        E(CG_ETOOBIG),    E(CG_EENCODING),   E(CG_EXML),
    E(CG_EJUNK),       E(CG_EENVELOPE),  E(CG_ENACK),      E(CG_EDNS),        E(CG_ENOTSUP),
    E(CG_EAUTH),       E(CG_ERATELIMIT), E(CG_EINTERNAL),
};
#undef E

static void test_error_numbers_and_names(void **state)
{
    (void)state;
    static const int numbers[] = {0,   1,   2,   3,   4,   5,   6,   7,   8,   100, 101, 102,
                                  103, 104, 105, 106, 107, 200, 201, 202, 203, 204, 205,
                                  206, 207, 208, 209, 210, 211, 212, 300, 301, 302, 303,
                                  304, 305, 306, 307, 308, 309, 310, 400, 401, 900};
    assert_int_equal(CG_ARRAY_LEN(numbers), CG_ARRAY_LEN(all_codes));
    for (size_t i = 0; i < CG_ARRAY_LEN(all_codes); i++) {
        if ((int)all_codes[i].code != numbers[i])
            fail_msg("%s is %d, was %d (append-only)", all_codes[i].name, all_codes[i].code,
                     numbers[i]);
        assert_string_equal(cg_errname(all_codes[i].code), all_codes[i].name);
        const char *msg = cg_strerror(all_codes[i].code);
        assert_true(strlen(msg) > 3);
        assert_true(msg[0] >= 'a' && msg[0] <= 'z' ? true : strncmp(msg, "TLS", 3) == 0 ||
                                                                strncmp(msg, "I/O", 3) == 0 ||
                                                                strncmp(msg, "OCSP", 4) == 0 ||
                                                                strncmp(msg, "DNS", 3) == 0 ||
                                                                strncmp(msg, "XML", 3) == 0 ||
                                                                strncmp(msg, "MOS", 3) == 0);
        assert_int_not_equal(msg[strlen(msg) - 1], '.'); /* goes inside sentences */
        /* every message is different, so a log line says which code it was */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(msg, cg_strerror(all_codes[j].code));
    }
    static const int unknown[] = {-1, 9, 99, 108, 213, 311, 402, 899, 901, 12345};
    for (size_t i = 0; i < CG_ARRAY_LEN(unknown); i++) {
        assert_string_equal(cg_strerror((enum cg_err)unknown[i]), "unknown error");
        assert_string_equal(cg_errname((enum cg_err)unknown[i]), "CG_UNKNOWN");
    }
    assert_string_equal(cg_strerror(CG_OK), "success");
    assert_string_equal(cg_strerror(CG_EAGAIN), "need more input");
    assert_string_equal(cg_strerror(CG_EINTERNAL), "internal error");
}

/* ---- the buffer ---- */

static void test_buf_growth(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(b.max, SIZE_MAX);
    assert_null(b.data);
    assert_int_equal(cg__buf_append(&b, NULL, 0), CG_OK); /* nothing: no allocation */
    assert_null(b.data);
    /* more than any allocator grants: ENOMEM at once, not a huge realloc */
    assert_int_equal(cg__buf_reserve(&b, (size_t)PTRDIFF_MAX + 1), CG_ENOMEM);
    assert_null(b.data);
    assert_int_equal(cg__buf_append(&b, "x", 1), CG_OK);
    assert_int_equal(b.cap, 256); /* the first block */
    uint8_t block[300];
    memset(block, 'y', sizeof(block));
    assert_int_equal(cg__buf_append(&b, block, 300), CG_OK);
    assert_int_equal(b.cap, 512); /* doubled once */
    assert_int_equal(b.len, 301);
    assert_int_equal(cg__buf_reserve(&b, 211), CG_OK); /* 512 exactly: no growth */
    assert_int_equal(b.cap, 512);
    assert_int_equal(cg__buf_reserve(&b, 212), CG_OK);
    assert_int_equal(b.cap, 1024);
    cg__buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 1024); /* memory kept */
    cg__buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    cg__buf_free(&b); /* twice is harmless */
    assert_int_equal(cg__buf_append(&b, "again", 5), CG_OK); /* usable after free */
    assert_memory_equal(b.data, "again", 5);
    cg__buf_free(&b);
}

static void test_buf_cap(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 300);
    uint8_t block[300];
    memset(block, 'z', sizeof(block));
    assert_int_equal(cg__buf_append(&b, block, 256), CG_OK);
    assert_int_equal(cg__buf_append(&b, block, 44), CG_OK); /* up to the cap exactly */
    assert_int_equal(b.cap, 300);                            /* grown to the cap, not 512 */
    assert_int_equal(cg__buf_append(&b, block, 1), CG_ETOOBIG);
    assert_int_equal(b.len, 300);                            /* unchanged on failure */
    assert_int_equal(cg__buf_reserve(&b, 0), CG_OK);
    assert_int_equal(cg__buf_reserve(&b, SIZE_MAX), CG_ETOOBIG);
    cg__buf_consume(&b, 100);
    assert_int_equal(b.len, 200);
    assert_int_equal(cg__buf_append(&b, "abc", 3), CG_OK);
    assert_memory_equal(b.data + 200, "abc", 3);
    cg__buf_free(&b);
    /* printf grows like append and keeps the text without its NUL */
    cg__buf_init(&b, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(cg__buf_printf(&b, "%03d,", i), CG_OK);
    assert_int_equal(b.len, 400);
    assert_memory_equal(b.data, "000,001,002,", 12);
    assert_memory_equal(b.data + 396, "099,", 4);
    assert_int_equal(cg__buf_printf(&b, "%s", ""), CG_OK);
    assert_int_equal(b.len, 400);
    cg__buf_free(&b);
}

static void test_buf_consume(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    assert_int_equal(cg__buf_append(&b, "0123456789", 10), CG_OK);
    cg__buf_consume(&b, 0);
    assert_int_equal(b.len, 10);
    cg__buf_consume(&b, 4);
    assert_memory_equal(b.data, "456789", 6);
    cg__buf_consume(&b, 5);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], '9');
    cg__buf_consume(&b, 1);
    assert_int_equal(b.len, 0);
    assert_int_equal(cg__buf_append(&b, "ab", 2), CG_OK);
    cg__buf_consume(&b, SIZE_MAX); /* more than there is: empty */
    assert_int_equal(b.len, 0);
    cg__buf_free(&b);
    struct cg_buf empty;
    cg__buf_init(&empty, 0);
    cg__buf_consume(&empty, 3); /* nothing to consume, nothing allocated */
    assert_int_equal(empty.len, 0);
    assert_null(empty.data);
}

/* ---- the cursor ---- */

static void test_cursor_edges(void **state)
{
    (void)state;
    const uint8_t d[] = {0xff, 0xff, 0x00, 0x00, 0x80, 0x01, 0xab};
    struct cg_cur c;
    uint16_t v16 = 0;
    uint8_t v8 = 0;
    const uint8_t *p = NULL;
    cg__cur_init(&c, d, sizeof(d));
    assert_int_equal(cg__cur_left(&c), 7);
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_OK);
    assert_int_equal(v16, 0xffff);
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_OK);
    assert_int_equal(v16, 0x0000);
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_OK);
    assert_int_equal(v16, 0x8001); /* big-endian, network order */
    /* a failed read leaves the cursor and the output where they were */
    v16 = 0x1234;
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_EAGAIN);
    assert_int_equal(v16, 0x1234);
    assert_int_equal(c.off, 6);
    assert_int_equal(cg__cur_bytes(&c, 2, &p), CG_EAGAIN);
    assert_null(p);
    assert_int_equal(cg__cur_bytes(&c, SIZE_MAX, &p), CG_EAGAIN); /* no wrap */
    assert_int_equal(cg__cur_bytes(&c, 0, &p), CG_OK);            /* zero bytes: fine */
    assert_ptr_equal(p, d + 6);
    assert_int_equal(cg__cur_bytes(&c, 1, &p), CG_OK);
    assert_int_equal(*p, 0xab);
    assert_int_equal(cg__cur_left(&c), 0);
    assert_int_equal(cg__cur_u8(&c, &v8), CG_EAGAIN);
    assert_int_equal(cg__cur_bytes(&c, 0, &p), CG_OK);
    assert_ptr_equal(p, d + 7); /* one past the end, never read */
    /* an empty cursor */
    cg__cur_init(&c, NULL, 0);
    assert_int_equal(cg__cur_u8(&c, &v8), CG_EAGAIN);
    assert_int_equal(cg__cur_left(&c), 0);
}

/* ---- strings ---- */

static void test_strings(void **state)
{
    (void)state;
    assert_null(cg__strdup(NULL));
    char *s = cg__strdup("");
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    s = cg__strndup("abc\0def", 7); /* n bytes as they are, then a NUL */
    assert_memory_equal(s, "abc\0def\0", 8);
    free(s);
    s = cg__strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    s = cg__strndup(NULL, 0); /* an empty cg_buf has data NULL: "" (and no UB) */
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    char *slot = NULL;
    assert_int_equal(cg__str_replace(&slot, "one"), CG_OK);
    assert_string_equal(slot, "one");
    assert_int_equal(cg__str_replace(&slot, slot), CG_OK); /* itself: copied before freed */
    assert_string_equal(slot, "one");
    assert_int_equal(cg__str_replace(&slot, slot + 1), CG_OK); /* a part of itself */
    assert_string_equal(slot, "ne");
    assert_int_equal(cg__str_replace(&slot, NULL), CG_OK);
    assert_null(slot);
    cg__wipe_free(NULL, 10);
    cg__wipe_free(cg__strdup("secret"), 6);
    assert_true(cg__ct_equal("", "", 0));
    assert_true(cg__ct_equal("a\0b", "a\0b", 3));
    assert_false(cg__ct_equal("a\0b", "a\0c", 3));
    uint64_t t0 = cg__now_ms(), t1 = cg__now_ms();
    assert_true(t1 >= t0);
}

static void expect_escape(const char *src, size_t srclen, size_t dstsz, const char *want)
{
    char dst[128];
    memset(dst, '#', sizeof(dst));
    cg__log_escape(dst, dstsz, src, srclen);
    if (strcmp(dst, want) != 0)
        fail_msg("escape of %zu bytes into %zu: '%s', want '%s'", srclen, dstsz, dst, want);
    assert_int_equal(dst[dstsz], '#'); /* nothing past dstsz */
}

static void test_log_escape(void **state)
{
    (void)state;
    expect_escape("plain text ~", 12, 64, "plain text ~");
    expect_escape("caf\xc3\xa9", 5, 64, "caf\\xc3\\xa9");   /* non-ASCII as bytes */
    expect_escape("a\0b", 3, 64, "a\\x00b");                /* NUL inside srclen */
    expect_escape("\x7f\x1b[2J", 5, 64, "\\x7f\\x1b[2J");   /* DEL and ESC */
    expect_escape("back\\slash", 10, 64, "back\\x5cslash"); /* unambiguous */
    expect_escape("abc", 0, 64, "");
    /* An escape is never cut in half: all four characters or none. */
    expect_escape("\x01", 1, 5, "\\x01");
    expect_escape("\x01", 1, 4, "");
    expect_escape("ab\x01", 3, 6, "ab");
    expect_escape("abc", 3, 1, "");
    expect_escape("abc", 3, 3, "ab");
    char untouched = '#';
    cg__log_escape(&untouched, 0, "abc", 3); /* no room at all: nothing written */
    assert_int_equal(untouched, '#');
}

/* ---- UTF-8 (RFC 3629) ---- */

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        bool ok;
        const char *what;
    } cases[] = {
        {"", 0, true, "empty"},
        {"ASCII \x01\x7f", 8, true, "ASCII, controls included"},
        {"a\0b", 3, true, "NUL is U+0000"},
        {"\xc2\x80", 2, true, "U+0080, first 2-octet"},
        {"\xdf\xbf", 2, true, "U+07FF, last 2-octet"},
        {"\xe0\xa0\x80", 3, true, "U+0800, first 3-octet"},
        {"\xed\x9f\xbf", 3, true, "U+D7FF, before the surrogates"},
        {"\xee\x80\x80", 3, true, "U+E000, after the surrogates"},
        {"\xef\xbf\xbd", 3, true, "U+FFFD"},
        {"\xef\xbf\xbf", 3, true, "U+FFFF (a noncharacter, still UTF-8)"},
        {"\xf0\x90\x80\x80", 4, true, "U+10000, first 4-octet"},
        {"\xf4\x8f\xbf\xbf", 4, true, "U+10FFFF, the last"},
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, true, "Kuhn: kosme"},
        {"\x80", 1, false, "a lone continuation"},
        {"\xbf", 1, false, "a lone continuation"},
        {"\xc0\x80", 2, false, "overlong NUL"},
        {"\xc1\xbf", 2, false, "overlong U+007F"},
        {"\xe0\x9f\xbf", 3, false, "overlong U+07FF"},
        {"\xf0\x8f\xbf\xbf", 4, false, "overlong U+FFFF"},
        {"\xed\xa0\x80", 3, false, "U+D800"},
        {"\xed\xbf\xbf", 3, false, "U+DFFF"},
        {"\xed\xa0\x80\xed\xb0\x80", 6, false, "a surrogate pair (CESU-8)"},
        {"\xf4\x90\x80\x80", 4, false, "U+110000"},
        {"\xf7\xbf\xbf\xbf", 4, false, "U+1FFFFF"},
        {"\xf8\x88\x80\x80\x80", 5, false, "5-octet"},
        {"\xfc\x84\x80\x80\x80\x80", 6, false, "6-octet"},
        {"\xfe", 1, false, "0xFE"},
        {"\xff", 1, false, "0xFF"},
        {"\xc2", 1, false, "cut at the end"},
        {"\xe2\x82", 2, false, "cut at the end"},
        {"\xf0\x9f\x98", 3, false, "cut at the end"},
        {"\xc2\x41", 2, false, "continuation missing"},
        {"\xe2\x28\xa1", 3, false, "bad second octet"},
        {"\xe2\x82\x28", 3, false, "bad third octet"},
        {"ok\xc3\xa9\xc3", 5, false, "good, then cut"},
    };
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++)
        if (cg__utf8_valid((const uint8_t *)cases[i].s, cases[i].n) != cases[i].ok)
            fail_msg("%s: got %d", cases[i].what, !cases[i].ok);
    /* length-bounded: a valid prefix of an invalid buffer is valid */
    assert_true(cg__utf8_valid((const uint8_t *)"ab\xff", 2));
    assert_true(cg__utf8_valid(NULL, 0));
}

/* ---- files ---- */



static void test_read_file_edges(void **state)
{
    (void)state;
    uint8_t *data = NULL;
    size_t len = 99;
    int fd = open(tu_in("empty"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    close(fd);
    assert_int_equal(cg__read_file(tu_in("empty"), 0, &data, &len), CG_OK);
    assert_int_equal(len, 0);
    assert_non_null(data);
    assert_int_equal(data[0], '\0');
    free(data);
    assert_int_equal(cg__read_file(tu_group_dir, 100, &data, &len), CG_EFILE);        /* a folder */
    assert_int_equal(cg__read_file("/dev/null", 100, &data, &len), CG_EFILE);  /* not regular */
    /* binary content comes back whole, NUL-terminated after len */
    fd = open(tu_in("bin"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_int_equal(write(fd, "a\0b\xff", 4), 4);
    close(fd);
    assert_int_equal(cg__read_file(tu_in("bin"), 4, &data, &len), CG_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "a\0b\xff\0", 5);
    free(data);
}

static void test_private_and_mkdir(void **state)
{
    (void)state;
    int fd = open(tu_in("key"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    close(fd);
    static const struct {
        mode_t mode;
        enum cg_err want;
    } modes[] = {{0600, CG_OK}, {0400, CG_OK}, {0700, CG_OK}, {0200, CG_OK},
                 {0610, CG_EPERM}, {0601, CG_EPERM}, {0620, CG_EPERM}, {0602, CG_EPERM},
                 {0640, CG_EPERM}, {0604, CG_EPERM}, {0777, CG_EPERM}};
    for (size_t i = 0; i < CG_ARRAY_LEN(modes); i++) {
        assert_int_equal(chmod(tu_in("key"), modes[i].mode), 0);
        if (cg__check_private_file(tu_in("key")) != modes[i].want)
            fail_msg("mode %o", (unsigned)modes[i].mode);
    }
    chmod(tu_in("key"), 0600);
    /* a symlink is judged by its target */
    assert_int_equal(symlink(tu_in("key"), tu_in("link")), 0);
    assert_int_equal(cg__check_private_file(tu_in("link")), CG_OK);
    assert_int_equal(cg__check_private_file(NULL), CG_EINVAL);
    assert_int_equal(cg__check_private_file(tu_group_dir), CG_EFILE);
    /* mkdir -p: parents made, existing kept, a file in the way refused */
    assert_int_equal(cg__mkdir_p(tu_in("p/q/r"), 0700), CG_OK);
    struct stat st;
    assert_int_equal(stat(tu_in("p/q/r"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(cg__mkdir_p(tu_in("p/q/r"), 0700), CG_OK);
    assert_int_equal(cg__mkdir_p(tu_in("p/q/"), 0700), CG_OK);
    assert_int_equal(cg__mkdir_p(tu_in("key/sub"), 0700), CG_EFILE);
    assert_int_equal(cg__mkdir_p(tu_in("key"), 0700), CG_EFILE);
    assert_int_equal(cg__mkdir_p("", 0700), CG_EINVAL);
    char *longp = malloc(5000);
    memset(longp, 'a', 4999);
    longp[0] = '/';
    longp[4999] = '\0';
    assert_int_equal(cg__mkdir_p(longp, 0700), CG_EINVAL);
    free(longp);
}

static void test_write_all_and_replace(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(cg__write_all(fds[1], "hello", 5), CG_OK);
    assert_int_equal(cg__write_all(fds[1], "", 0), CG_OK);
    char got[8] = {0};
    assert_int_equal(read(fds[0], got, sizeof(got)), 5);
    assert_string_equal(got, "hello");
    close(fds[0]);
    /* the reader is gone: EPIPE (SIGPIPE ignored for the test) */
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    assert_int_equal(cg__write_all(fds[1], "x", 1), CG_EIO);
    assert_int_equal(errno, EPIPE);
    close(fds[1]);
    errno = 0;
    assert_int_equal(cg__write_all(-1, "x", 1), CG_EIO);
    assert_int_equal(errno, EBADF);
    /* replace: content, mode, over an existing file */
    assert_int_equal(cg__file_replace(tu_in("r.txt"), "one", 3, 0640, 0), CG_OK);
    assert_int_equal(cg__file_replace(tu_in("r.txt"), "second", 6, 0600, CG_FILE_SYNC), CG_OK);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(cg__read_file(tu_in("r.txt"), 100, &data, &len), CG_OK);
    assert_string_equal((char *)data, "second");
    free(data);
    struct stat st;
    assert_int_equal(stat(tu_in("r.txt"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cg__file_replace(tu_in("z.txt"), NULL, 0, 0644, 0), CG_OK);
    assert_int_equal(stat(tu_in("z.txt"), &st), 0);
    assert_int_equal(st.st_size, 0);
    /* over a folder: refused, the temporary removed */
    assert_int_equal(mkdir(tu_in("adir"), 0700), 0);
    assert_int_equal(cg__file_replace(tu_in("adir"), "x", 1, 0600, 0), CG_EIO);
    assert_int_equal(errno, EISDIR);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep '^\\.adir\\.')\"", tu_group_dir);
    assert_int_equal(system(cmd), 0);
    /* a relative name (no folder part) is written in the current folder */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tu_group_dir), 0);
    assert_int_equal(cg__file_replace("rel.txt", "r", 1, 0600, CG_FILE_SYNC), CG_OK);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(stat(tu_in("rel.txt"), &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_numbers_and_names),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_buf_consume),
        cmocka_unit_test(test_cursor_edges),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_log_escape),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_read_file_edges),
        cmocka_unit_test(test_private_and_mkdir),
        cmocka_unit_test(test_write_all_and_replace),
    };
    return cmocka_run_group_tests(tests, tu_group_tmp, tu_group_rm);
}
