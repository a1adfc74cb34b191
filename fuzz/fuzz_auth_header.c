/* Fuzzes the Authorization header parser (cg__auth_parse_basic, M-05): it
 * must never read or write out of bounds, and what it accepts must be exactly
 * "Basic" + strict base64 of user ":" password — re-encoding the decoded
 * bytes gives the input's token back, the user-id holds no ':' and neither
 * part a control character. */
#include "mos4/auth.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t token_start(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\t'))
        i++;
    i += 5; /* "Basic" */
    while (i < n && d[i] == ' ')
        i++;
    return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bufsz = size / 4 * 3;
    uint8_t *buf = malloc(bufsz + 1); /* exact size: ASan sees any overrun */
    struct cg_auth_basic b;
    if (buf == NULL)
        return 0;
    enum cg_err rc = cg__auth_parse_basic((const char *)data, size, buf, bufsz, &b);
    if (rc == CG_OK) {
        size_t plain = b.user_len + 1 + b.password_len;
        if (b.user != (const char *)buf || b.password != b.user + b.user_len + 1 ||
            plain > bufsz || b.user_len == 0 || b.user_len > CG_AUTH_USER_MAX ||
            memchr(b.user, ':', b.user_len) != NULL)
            abort();
        for (size_t i = 0; i < plain; i++)
            if (buf[i] < 0x20 || buf[i] == 0x7F)
                abort();
        size_t t = token_start(data, size), end = size;
        while (end > t && (data[end - 1] == ' ' || data[end - 1] == '\t'))
            end--;
        unsigned char *enc = malloc(4 * ((plain + 2) / 3) + 1);
        if (enc == NULL)
            abort();
        int n = EVP_EncodeBlock(enc, buf, (int)plain);
        if ((size_t)n != end - t || memcmp(enc, data + t, (size_t)n) != 0)
            abort();
        free(enc);
    } else if (rc != CG_EAUTH && rc != CG_EENCODING && rc != CG_ETOOBIG && rc != CG_EINVAL) {
        abort();
    }
    free(buf);
    return 0;
}
