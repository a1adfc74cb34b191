/* Issue 13 (relay costs): the digest of every request an IN lane receives
 * (cg__mos4_digest, journal.c: SHA-256 of the element as UTF-16BE, the M-22
 * "same content" check) must not fetch SHA-256 from OpenSSL's providers or
 * make a digest context per call: with OpenSSL 3 EVP_sha256() makes
 * EVP_Digest and EVP_DigestInit_ex fetch the implementation again each time,
 * and a fresh EVP_MD_CTX allocates it and its provider context (3
 * allocations a digest). What is left is OpenSSL 3.0's own: its
 * EVP_DigestInit_ex remakes the provider's SHA-256 context (112 bytes,
 * sha2_prov.c) at every init, even on a kept EVP_MD_CTX. Counted here: the
 * library's calls to those functions (--wrap) and every allocation OpenSSL
 * makes (CRYPTO_set_mem_functions, set before its first). The digests are
 * checked against SHA-256 itself, in both encodings, and from two threads
 * at once (two contexts may run on two threads). */
// CG_WRAP: EVP_Digest EVP_sha256 EVP_MD_CTX_new EVP_MD_fetch
#include "testutil.h"
#include "mos4/mos4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong n_digest, n_sha256, n_ctx_new, n_fetch, n_alloc;

int __real_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
                      const EVP_MD *type, ENGINE *impl)
{
    n_digest++;
    return __real_EVP_Digest(data, count, md, size, type, impl);
}

const EVP_MD *__real_EVP_sha256(void);
const EVP_MD *__wrap_EVP_sha256(void);
const EVP_MD *__wrap_EVP_sha256(void)
{
    n_sha256++;
    return __real_EVP_sha256();
}

EVP_MD_CTX *__real_EVP_MD_CTX_new(void);
EVP_MD_CTX *__wrap_EVP_MD_CTX_new(void);
EVP_MD_CTX *__wrap_EVP_MD_CTX_new(void)
{
    n_ctx_new++;
    return __real_EVP_MD_CTX_new();
}

EVP_MD *__real_EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties);
EVP_MD *__wrap_EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties);
EVP_MD *__wrap_EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties)
{
    n_fetch++;
    return __real_EVP_MD_fetch(ctx, algorithm, properties);
}

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    n_alloc++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    n_alloc++;
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* The expected digest: SHA-256 of utf16 (the element as UTF-16BE), cut. */
static void expect(const uint8_t *utf16, size_t n, uint8_t out[CG_MOS4_DIGEST])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    assert_int_equal(__real_EVP_Digest(utf16, n, md, &mdlen, __real_EVP_sha256(), NULL), 1);
    memcpy(out, md, CG_MOS4_DIGEST);
}

/* "<x>é😀</x>" in UTF-8 and in UTF-16BE (a surrogate pair). */
static const char elem_utf8[] = "<x>\xC3\xA9\xF0\x9F\x98\x80</x>";
static const uint8_t elem_utf16[] = {0x00, 0x3C, 0x00, 0x78, 0x00, 0x3E, 0x00, 0xE9, 0xD8, 0x3D,
                                     0xDE, 0x00, 0x00, 0x3C, 0x00, 0x2F, 0x00, 0x78, 0x00, 0x3E};

static void test_digest_values(void **state)
{
    (void)state;
    uint8_t want[CG_MOS4_DIGEST], a[CG_MOS4_DIGEST], b[CG_MOS4_DIGEST];
    expect(elem_utf16, sizeof(elem_utf16), want);
    cg__mos4_digest(elem_utf16, sizeof(elem_utf16), a); /* UCS-2BE: hashed as it lies */
    cg__mos4_digest(elem_utf8, strlen(elem_utf8), b);   /* UTF-8: converted as hashed */
    assert_memory_equal(a, want, CG_MOS4_DIGEST);
    assert_memory_equal(b, want, CG_MOS4_DIGEST);
    cg__mos4_digest("", 0, a);
    expect((const uint8_t *)"", 0, want);
    assert_memory_equal(a, want, CG_MOS4_DIGEST);
    /* again after the first calls (a reused context starts afresh) */
    cg__mos4_digest(elem_utf8, strlen(elem_utf8), b);
    expect(elem_utf16, sizeof(elem_utf16), want);
    assert_memory_equal(b, want, CG_MOS4_DIGEST);
}

/* 1000 digests of each encoding, after the first call of each. */
static void test_no_fetch_no_allocation_per_digest(void **state)
{
    (void)state;
    uint8_t d[CG_MOS4_DIGEST];
    cg__mos4_digest(elem_utf16, sizeof(elem_utf16), d);
    cg__mos4_digest(elem_utf8, strlen(elem_utf8), d);
    n_digest = n_sha256 = n_ctx_new = n_fetch = n_alloc = 0;
    for (int i = 0; i < 1000; i++) {
        cg__mos4_digest(elem_utf16, sizeof(elem_utf16), d);
        cg__mos4_digest(elem_utf8, strlen(elem_utf8), d);
    }
    print_message("2000 digests: EVP_Digest %lu, EVP_sha256 %lu, EVP_MD_CTX_new %lu, "
                  "EVP_MD_fetch %lu, OpenSSL allocations %lu\n", (unsigned long)n_digest,
                  (unsigned long)n_sha256, (unsigned long)n_ctx_new, (unsigned long)n_fetch,
                  (unsigned long)n_alloc);
    assert_int_equal(n_sha256, 0);  /* the implicit fetch */
    assert_int_equal(n_digest, 0);  /* a context made and freed inside */
    assert_int_equal(n_ctx_new, 0);
    assert_int_equal(n_fetch, 0);
    assert_true(n_alloc <= 2000); /* at most the provider's context (OpenSSL 3.0) */
}

/* ---- two threads at once (two contexts on two threads) ---- */

#define NTHREAD_MSG 8
struct worker {
    uint8_t msg[NTHREAD_MSG][64];
    size_t len[NTHREAD_MSG];
    uint8_t want[NTHREAD_MSG][CG_MOS4_DIGEST];
    unsigned bad;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 20000; i++) {
        uint8_t d[CG_MOS4_DIGEST];
        int k = i % NTHREAD_MSG;
        cg__mos4_digest(w->msg[k], w->len[k], d);
        w->bad += memcmp(d, w->want[k], CG_MOS4_DIGEST) != 0;
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    static struct worker w[2];
    for (int t = 0; t < 2; t++) {
        for (int k = 0; k < NTHREAD_MSG; k++) { /* "<t k>" as UTF-16BE, and as UTF-8 on odd k */
            char text[32];
            int n = snprintf(text, sizeof(text), "<m%d_%d>", t, k);
            uint8_t u16[64];
            for (int i = 0; i < n; i++) {
                u16[2 * i] = 0;
                u16[2 * i + 1] = (uint8_t)text[i];
            }
            expect(u16, (size_t)n * 2, w[t].want[k]);
            if (k % 2 == 1) {
                memcpy(w[t].msg[k], text, (size_t)n);
                w[t].len[k] = (size_t)n;
            } else {
                memcpy(w[t].msg[k], u16, (size_t)n * 2);
                w[t].len[k] = (size_t)n * 2;
            }
        }
        w[t].bad = 0;
    }
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(w[0].bad, 0);
    assert_int_equal(w[1].bad, 0);
}

int main(void)
{
    /* before OpenSSL's first allocation, or it refuses */
    if (CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) != 1) {
        fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL allocated before main\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_values),
        cmocka_unit_test(test_no_fetch_no_allocation_per_digest),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
