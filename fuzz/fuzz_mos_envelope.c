/* Fuzzes the envelope parser and the libxml2 full check on one message. */
#include <castgate/mos.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum cg_mos_encoding enc = (data[0] & 1) ? CG_MOS_UTF8 : CG_MOS_UCS2BE;
    bool validate = (data[0] & 2) != 0;
    data++, size--;
    struct cg_mos_envelope env;
    const char *why = NULL;
    enum cg_err rc = cg_mos_envelope_parse(enc, data, size, &env, &why);
    if (rc == CG_OK) {
        if (env.element.off + env.element.len > size || env.element.len == 0)
            abort();
        if (strlen(env.name) == 0 || strlen(env.mos_id) >= sizeof(env.mos_id))
            abort();
        (void)cg_mos_msg_lookup(env.name, strlen(env.name));
        uint32_t v = 0;
        if (cg_mos_message_id_parse(env.message_id, &v) != env.message_id_kind)
            abort();
        if (env.message_id_kind == CG_MOS_MSGID_OK && (v == 0 || v > 0x7FFFFFFF))
            abort();
    } else if (why == NULL) {
        abort();
    }
    if (validate) {
        uint64_t at = 0;
        (void)cg_mos_validate(enc, data, size, &at);
    }
    /* messageID text parsing on its own */
    char id[64];
    size_t n = size < sizeof(id) - 1 ? size : sizeof(id) - 1;
    memcpy(id, data, n);
    id[n] = 0;
    uint32_t v = 0;
    (void)cg_mos_message_id_parse(id, &v);
    return 0;
}
