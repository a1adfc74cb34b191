/* Builders for the messages castgate originates itself: keepAlive (M-09),
 * heartbeat (M-10, time per M-24), reqMachInfo, and mosAck/roAck NACKs (M-22).
 * Always the spec's envelope order (M-20): mosID, ncsID, messageID, message. */
#include "mos/mos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 1..CG_MOS_ID_MAX characters of valid UTF-8. */
static bool valid_text(const char *s)
{
    if (s == NULL || *s == 0)
        return false;
    size_t n = strlen(s), chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((uint8_t)s[i] & 0xC0) != 0x80;
    if (chars > CG_MOS_ID_MAX)
        return false;
    uint8_t tmp[2 * 4 * CG_MOS_ID_MAX + 8];
    struct cg_mos_conv c;
    size_t used = 0, made = 0;
    cg_mos_conv_init(&c, CG_MOS_UTF8);
    return n <= 4 * CG_MOS_ID_MAX &&
           cg_mos_conv_feed(&c, s, n, tmp, sizeof(tmp), &used, &made) == CG_OK && used == n &&
           cg_mos_conv_finish(&c) == CG_OK;
}

static enum cg_err elem(struct cg_buf *b, const char *name, const char *text)
{
    CG_GUARD(cg__buf_printf(b, "<%s>", name));
    CG_GUARD(cg__mos_xml_escape(b, text != NULL ? text : ""));
    return cg__buf_printf(b, "</%s>", name);
}

static enum cg_err head(struct cg_buf *b, const char *mos_id, const char *ncs_id,
                        const char *message_id)
{
    CG_CHECK(valid_text(mos_id) && valid_text(ncs_id), CG_EINVAL);
    CG_CHECK(message_id == NULL || valid_text(message_id), CG_EINVAL);
    CG_GUARD(cg__buf_append(b, "<mos>", 5));
    CG_GUARD(elem(b, "mosID", mos_id));
    CG_GUARD(elem(b, "ncsID", ncs_id));
    if (message_id != NULL)
        CG_GUARD(elem(b, "messageID", message_id));
    return CG_OK;
}

/* Hands the UTF-8 text in b out in enc. */
static enum cg_err finish(enum cg_mos_encoding enc, struct cg_buf *b, uint8_t **out,
                          size_t *out_len)
{
    CG_GUARD(cg__buf_append(b, "</mos>", 6));
    if (enc == CG_MOS_UCS2BE)
        return cg_mos_convert(CG_MOS_UTF8, b->data, b->len, out, out_len, NULL);
    CG_GUARD(cg__buf_append(b, "", 1)); /* NUL, for callers that print it */
    *out = b->data;
    *out_len = b->len - 1;
    b->data = NULL;
    return CG_OK;
}

static enum cg_err check_out(enum cg_mos_encoding enc, uint8_t **out, size_t *out_len)
{
    CG_CHECK(out != NULL && out_len != NULL, CG_EINVAL);
    CG_CHECK(enc == CG_MOS_UCS2BE || enc == CG_MOS_UTF8, CG_EINVAL);
    *out = NULL;
    *out_len = 0;
    return CG_OK;
}

enum cg_err cg_mos_build_keepalive(enum cg_mos_encoding enc, const char *mos_id,
                                   const char *ncs_id, uint8_t **out, size_t *out_len)
{
    CG_GUARD(check_out(enc, out, out_len));
    enum cg_err rc = CG_OK;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_TRY(head(&b, mos_id, ncs_id, NULL)); /* M-09: no messageID */
    CG_TRY(cg__buf_printf(&b, "<keepAlive/>"));
    CG_TRY(finish(enc, &b, out, out_len));
out:
    cg__buf_free(&b);
    return rc;
}

enum cg_err cg_mos_format_time(int64_t unix_ms, char *buf, size_t bufsz)
{
    CG_CHECK(buf != NULL && bufsz >= 25, CG_EINVAL);
    /* Years 1970..9999 keep the fixed-width M-24 form. */
    CG_CHECK(unix_ms >= 0 && unix_ms < INT64_C(253402300800000), CG_ERANGE);
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    CG_CHECK(gmtime_r(&secs, &tm) != NULL, CG_ERANGE);
    int n = snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d,%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(unix_ms % 1000));
    CG_CHECK(n == 24, CG_EINTERNAL);
    return CG_OK;
}

enum cg_err cg_mos_build_heartbeat(enum cg_mos_encoding enc, const char *mos_id,
                                   const char *ncs_id, const char *message_id, int64_t unix_ms,
                                   uint8_t **out, size_t *out_len)
{
    return cg_mos_build_heartbeat_form(enc, mos_id, ncs_id, message_id, unix_ms,
                                       CG_MOS_TIME_FULL, out, out_len);
}

enum cg_err cg_mos_build_heartbeat_form(enum cg_mos_encoding enc, const char *mos_id,
                                        const char *ncs_id, const char *message_id,
                                        int64_t unix_ms, enum cg_mos_time_form form,
                                        uint8_t **out, size_t *out_len)
{
    CG_GUARD(check_out(enc, out, out_len));
    CG_CHECK(form == CG_MOS_TIME_FULL || form == CG_MOS_TIME_SHORT, CG_EINVAL);
    char when[32];
    CG_GUARD(cg_mos_format_time(unix_ms, when, sizeof(when)));
    if (form == CG_MOS_TIME_SHORT) /* M-24: the fraction and the zone are optional */
        when[19] = '\0';
    enum cg_err rc = CG_OK;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_TRY(head(&b, mos_id, ncs_id, message_id));
    CG_TRY(cg__buf_printf(&b, "<heartbeat><time>%s</time></heartbeat>", when));
    CG_TRY(finish(enc, &b, out, out_len));
out:
    cg__buf_free(&b);
    return rc;
}

enum cg_err cg_mos_build_req_mach_info(enum cg_mos_encoding enc, const char *mos_id,
                                       const char *ncs_id, const char *message_id, uint8_t **out,
                                       size_t *out_len)
{
    CG_GUARD(check_out(enc, out, out_len));
    enum cg_err rc = CG_OK;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_TRY(head(&b, mos_id, ncs_id, message_id));
    CG_TRY(cg__buf_printf(&b, "<reqMachInfo/>"));
    CG_TRY(finish(enc, &b, out, out_len));
out:
    cg__buf_free(&b);
    return rc;
}

/* Descriptions are free text: any valid UTF-8, escaped. */
static bool valid_desc(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    uint8_t *tmp = malloc(2 * n + 2);
    if (tmp == NULL)
        return false;
    struct cg_mos_conv c;
    size_t used = 0, made = 0;
    cg_mos_conv_init(&c, CG_MOS_UTF8);
    bool ok = cg_mos_conv_feed(&c, s, n, tmp, 2 * n + 2, &used, &made) == CG_OK && used == n &&
              cg_mos_conv_finish(&c) == CG_OK;
    free(tmp);
    return ok;
}

enum cg_err cg_mos_build_mos_nack(enum cg_mos_encoding enc, const char *mos_id,
                                  const char *ncs_id, const char *message_id, const char *obj_id,
                                  const char *description, uint8_t **out, size_t *out_len)
{
    CG_GUARD(check_out(enc, out, out_len));
    CG_CHECK(valid_desc(description) && (obj_id == NULL || valid_desc(obj_id)), CG_EINVAL);
    enum cg_err rc = CG_OK;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_TRY(head(&b, mos_id, ncs_id, message_id));
    CG_TRY(cg__buf_printf(&b, "<mosAck>"));
    CG_TRY(elem(&b, "objID", obj_id));
    CG_TRY(cg__buf_printf(&b, "<objRev>0</objRev><status>NACK</status>"));
    CG_TRY(elem(&b, "statusDescription", description));
    CG_TRY(cg__buf_printf(&b, "</mosAck>"));
    CG_TRY(finish(enc, &b, out, out_len));
out:
    cg__buf_free(&b);
    return rc;
}

enum cg_err cg_mos_build_ro_nack(enum cg_mos_encoding enc, const char *mos_id,
                                 const char *ncs_id, const char *message_id, const char *ro_id,
                                 const char *description, uint8_t **out, size_t *out_len)
{
    CG_GUARD(check_out(enc, out, out_len));
    CG_CHECK(valid_desc(description) && (ro_id == NULL || valid_desc(ro_id)), CG_EINVAL);
    enum cg_err rc = CG_OK;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    CG_TRY(head(&b, mos_id, ncs_id, message_id));
    CG_TRY(cg__buf_printf(&b, "<roAck>"));
    CG_TRY(elem(&b, "roID", ro_id));
    CG_TRY(elem(&b, "roStatus", description));
    CG_TRY(cg__buf_printf(&b, "</roAck>"));
    CG_TRY(finish(enc, &b, out, out_len));
out:
    cg__buf_free(&b);
    return rc;
}
