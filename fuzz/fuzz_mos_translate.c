/* Fuzzes cg_mos_translate_removed (M-12). Whatever the input: a success is
 * one valid MOS message (libxml2 full check) with the input's envelope and
 * the input's bytes before and after the message element, whose message is
 * roElementAction or roElementStat and is not itself translatable again; a
 * failure has a reason, no output and one of the documented codes. */
#include <castgate/mos.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_success(const char *in, size_t size, char *out, size_t n)
{
    if (out == NULL || out[n] != 0 || strlen(out) != n || n > size + 128)
        abort();
    if (cg_mos_validate(CG_MOS_UTF8, out, n, NULL) != CG_OK)
        abort();
    struct cg_mos_envelope a, b;
    if (cg_mos_envelope_parse(CG_MOS_UTF8, in, size, &a, NULL) != CG_OK ||
        cg_mos_envelope_parse(CG_MOS_UTF8, out, n, &b, NULL) != CG_OK)
        abort();
    if (strcmp(a.mos_id, b.mos_id) != 0 || strcmp(a.ncs_id, b.ncs_id) != 0 ||
        strcmp(a.message_id, b.message_id) != 0 || a.element.off != b.element.off ||
        memcmp(in, out, a.element.off) != 0)
        abort();
    size_t tail = size - a.element.off - a.element.len;
    if (n - b.element.off - b.element.len != tail || memcmp(in + size - tail, out + n - tail, tail))
        abort();
    if (strcmp(b.name, "roElementAction") != 0 && strcmp(b.name, "roElementStat") != 0)
        abort();
    char *again = NULL;
    size_t again_n = 0;
    const char *why = NULL;
    if (cg_mos_translate_removed(out, n, &again, &again_n, &why) != CG_EINVAL || again != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL;
    size_t n = 0;
    const char *why = NULL;
    enum cg_err rc = cg_mos_translate_removed((const char *)data, size, &out, &n, &why);
    if (rc == CG_OK) {
        if (why != NULL)
            abort();
        check_success((const char *)data, size, out, n);
    } else {
        if (why == NULL || out != NULL || n != 0)
            abort();
        if (rc != CG_EINVAL && rc != CG_ENOTSUP && rc != CG_ENOMEM && rc != CG_ETOOBIG)
            abort();
    }
    cg_mos_free(out);
    return 0;
}
