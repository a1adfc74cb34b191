/* Unit tests for src/core: errors, buffers, cursor, files, context, logging. */
#include "testutil.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    static const enum cg_err all[] = {
        CG_OK, CG_EINVAL, CG_ENOMEM, CG_ESTATE, CG_ERANGE, CG_ENOTFOUND, CG_EEXIST, CG_ECONFIG,
        CG_EIO, CG_EFILE, CG_EPERM, CG_ENET, CG_ETIMEDOUT, CG_ECLOSED, CG_EFULL, CG_EAGAIN,
        CG_ETLS, CG_ECERT, CG_EKEY, CG_EKEYMISMATCH, CG_EHANDSHAKE, CG_EVERIFY, CG_EREVOKED,
        CG_EOCSP, CG_EEXPIRED, CG_EPROTO, CG_EHTTP, CG_EWS, CG_ETOOBIG, CG_EENCODING, CG_EXML,
        CG_EJUNK, CG_EENVELOPE, CG_ENACK, CG_EDNS, CG_ENOTSUP, CG_EAUTH, CG_ERATELIMIT,
        CG_EINTERNAL, CG_EHOSTNAME, CG_EUNTRUSTED, CG_ESELFSIGNED, CG_EPIN};
    for (size_t i = 0; i < CG_ARRAY_LEN(all); i++) {
        assert_string_not_equal(cg_strerror(all[i]), "unknown error");
        assert_string_not_equal(cg_errname(all[i]), "CG_UNKNOWN");
    }
    assert_string_equal(cg_strerror((enum cg_err)12345), "unknown error");
    assert_string_equal(cg_errname(CG_ETOOBIG), "CG_ETOOBIG");
    /* The numbers are ABI: pin a few. */
    assert_int_equal(CG_EINVAL, 1);
    assert_int_equal(CG_EIO, 100);
    assert_int_equal(CG_ETLS, 200);
    assert_int_equal(CG_EPROTO, 300);
    assert_int_equal(CG_EAUTH, 400);
}

static void test_buf_cap_and_consume(void **state)
{
    (void)state;
    struct cg_buf b;
    cg__buf_init(&b, 10);
    assert_int_equal(cg__buf_append(&b, "hello", 5), CG_OK);
    assert_int_equal(cg__buf_append(&b, "world", 5), CG_OK);
    assert_int_equal(cg__buf_append(&b, "!", 1), CG_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    cg__buf_consume(&b, 3);
    assert_memory_equal(b.data, "loworld", 7);
    cg__buf_reset(&b);
    assert_int_equal(cg__buf_printf(&b, "%d-%s", 42, "x"), CG_OK);
    assert_memory_equal(b.data, "42-x", 4);
    assert_int_equal(cg__buf_printf(&b, "%s", "123456789"), CG_ETOOBIG);
    cg__buf_free(&b);
    /* SIZE_MAX-sized requests must not wrap. */
    cg__buf_init(&b, 0);
    assert_int_not_equal(cg__buf_reserve(&b, SIZE_MAX), CG_OK);
    cg__buf_free(&b);
}

static void test_cursor_bounds(void **state)
{
    (void)state;
    const uint8_t data[] = {0x12, 0x34, 0x56};
    struct cg_cur c;
    uint16_t v16;
    uint8_t v8;
    const uint8_t *p;
    cg__cur_init(&c, data, sizeof(data));
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_OK);
    assert_int_equal(v16, 0x1234);
    assert_int_equal(cg__cur_u16be(&c, &v16), CG_EAGAIN);
    assert_int_equal(c.off, 2);
    assert_int_equal(cg__cur_u8(&c, &v8), CG_OK);
    assert_int_equal(v8, 0x56);
    assert_int_equal(cg__cur_bytes(&c, 1, &p), CG_EAGAIN);
    assert_int_equal(cg__cur_left(&c), 0);
}

static void test_private_file_permissions(void **state)
{
    (void)state;
    char path[] = "/tmp/cg-test-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(cg__check_private_file(path), CG_OK);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(cg__check_private_file(path), CG_EPERM);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(cg__check_private_file(path), CG_EPERM);
    unlink(path);
    assert_int_equal(cg__check_private_file(path), CG_EFILE);
    assert_int_equal(cg__check_private_file("/tmp"), CG_EFILE);
}

static void test_read_file_limits(void **state)
{
    (void)state;
    char path[] = "/tmp/cg-test-read-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(cg__read_file(path, 10, &data, &len), CG_OK);
    assert_int_equal(len, 10);
    assert_string_equal((char *)data, "0123456789");
    free(data);
    assert_int_equal(cg__read_file(path, 9, &data, &len), CG_ETOOBIG);
    unlink(path);
    assert_int_equal(cg__read_file(path, 10, &data, &len), CG_EFILE);
}

static void test_ct_equal_and_escape(void **state)
{
    (void)state;
    assert_true(cg__ct_equal("secret", "secret", 6));
    assert_false(cg__ct_equal("secret", "secreT", 6));
    char out[32];
    cg__log_escape(out, sizeof(out), "GET\r\n\x01\\", 7);
    assert_string_equal(out, "GET\\x0d\\x0a\\x01\\x5c");
    cg__log_escape(out, 6, "abcdefgh", 8);
    assert_string_equal(out, "abcde");
}

static void test_ctx_log_levels(void **state)
{
    (void)state;
    struct cg_ctx *ctx = NULL;
    struct tu_log log = {0};
    assert_int_equal(cg_ctx_new(NULL), CG_EINVAL);
    assert_int_equal(cg_ctx_new(&ctx), CG_OK);
    cg__log(ctx, CG_LOG_ERROR, "test", "before a sink %d", 1);
    cg_ctx_set_log(ctx, tu_log_fn, &log, CG_LOG_WARN);
    cg__log(ctx, CG_LOG_WARN, "test", "warned %s", "here");
    cg__log(ctx, CG_LOG_DEBUG, "test", "too verbose");
    assert_int_equal(log.lines, 1);
    assert_true(tu_log_has(&log, "test: warned here"));
    assert_non_null(cg_ctx_loop(ctx));
    assert_int_equal(cg_ctx_run(ctx), CG_OK); /* nothing to do: returns */
    cg_ctx_free(ctx);
    cg_ctx_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_buf_cap_and_consume),
        cmocka_unit_test(test_cursor_bounds),
        cmocka_unit_test(test_private_file_permissions),
        cmocka_unit_test(test_read_file_limits),
        cmocka_unit_test(test_ct_equal_and_escape),
        cmocka_unit_test(test_ctx_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
