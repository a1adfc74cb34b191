#include "testutil.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tu_log_fn(void *user, enum cg_log_level level, const char *component, const char *message)
{
    struct tu_log *log = user;
    int n = snprintf(log->text + log->len, sizeof(log->text) - log->len, "%d %s: %s\n",
                     (int)level, component, message);
    if (n > 0 && (size_t)n < sizeof(log->text) - log->len)
        log->len += (size_t)n;
    log->lines++;
}

int tu_log_has(const struct tu_log *log, const char *needle)
{
    return strstr(log->text, needle) != NULL;
}

static const char *env_path(const char *var, const char *fallback, const char *rel)
{
    static char buf[4][4096];
    static int slot;
    const char *base = getenv(var);
    if (base == NULL)
        base = fallback;
    char *out = buf[slot++ & 3];
    snprintf(out, sizeof(buf[0]), "%s/%s", base, rel);
    return out;
}

const char *tu_src_path(const char *rel) { return env_path("CG_SOURCE_DIR", ".", rel); }
const char *tu_shared_path(const char *rel) { return env_path("CG_SHARED_DIR", "../shared", rel); }

uint8_t *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

const char *tu_basic(const char *user_pass)
{
    static char v[2][512];
    static int slot;
    char *o = v[slot++ & 1];
    strcpy(o, "Basic ");
    EVP_EncodeBlock((unsigned char *)o + 6, (const unsigned char *)user_pass,
                    (int)strlen(user_pass));
    return o;
}
