/* check mos4: the verdicts, sans-I/O. Each takes what the run saw and says
 * pass / warn / fail with the evidence; ../shared/spec/mos.md gives the IDs. */
#include "check/mos4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg__m4_seen_free(struct cg_m4_seen *seen)
{
    if (seen) {
        cg_mos_free(seen->utf8);
        memset(seen, 0, sizeof(*seen));
    }
}

/* The element (name to its end) of a parsed message, as UTF-8 text. */
static const char *element(const struct cg_m4_seen *s, size_t *len)
{
    *len = s->env.element.len;
    return s->utf8 + s->env.element.off;
}

/* M-04: one binary frame, UCS-2BE, one message. */
enum cg_check_verdict cg__m4_frame_verdict(const struct cg_m4_frame *f, struct cg_m4_seen *seen,
                                           char *why, size_t whysz)
{
    memset(seen, 0, sizeof(*seen));
    enum cg_mos_encoding enc = f->binary ? CG_MOS_UCS2BE : CG_MOS_UTF8;
    uint64_t bad = 0;
    uint8_t *conv = NULL;
    size_t clen = 0;
    enum cg_err rc = cg_mos_convert(enc, f->data, f->len, &conv, &clen, &bad);
    if (rc == CG_OK && !f->binary) { /* valid UTF-8: keep the bytes as they are */
        cg_mos_free(conv);
        conv = malloc(f->len + 1);
        if (conv)
            memcpy(conv, f->data, f->len), conv[f->len] = 0, clen = f->len;
    }
    seen->utf8 = (char *)conv;
    seen->utf8_len = clen;
    if (rc != CG_OK || !seen->utf8) {
        cg_mos_free(seen->utf8), seen->utf8 = NULL;
        snprintf(why, whysz, "%s frame of %zu bytes is not %s (at byte %llu)",
                 f->binary ? "binary" : "text", f->len, f->binary ? "UTF-16BE" : "UTF-8",
                 (unsigned long long)bad);
        return CG_CHECK_FAIL;
    }
    const char *detail = NULL;
    rc = cg_mos_envelope_parse(CG_MOS_UTF8, seen->utf8, seen->utf8_len, &seen->env, &detail);
    seen->parsed = rc == CG_OK;
    if (!seen->parsed) {
        snprintf(why, whysz, "%s frame of %zu bytes is not one MOS message: %s",
                 f->binary ? "binary" : "text", f->len, detail ? detail : cg_strerror(rc));
        return CG_CHECK_FAIL;
    }
    if (!f->binary) {
        snprintf(why, whysz, "%s came in a text frame (UTF-8); M-04 sends binary UCS-2BE",
                 seen->env.name);
        return CG_CHECK_FAIL;
    }
    if (f->len >= 2 && f->data[0] == 0xFE && f->data[1] == 0xFF) {
        snprintf(why, whysz, "%s: binary UTF-16BE with a BOM (M-04: no BOM)", seen->env.name);
        return CG_CHECK_WARN;
    }
    snprintf(why, whysz, "%s: binary, UCS-2BE, one message", seen->env.name);
    return CG_CHECK_PASS;
}

static enum cg_check_verdict refused(int want, int status, bool opened, char *why, size_t whysz)
{
    if (opened) {
        snprintf(why, whysz, "upgraded (101); expected %d", want);
        return CG_CHECK_FAIL;
    }
    if (status == want) {
        snprintf(why, whysz, "HTTP %d", status);
        return CG_CHECK_PASS;
    }
    if (status == 0) {
        snprintf(why, whysz, "no HTTP answer; expected %d", want);
        return CG_CHECK_WARN;
    }
    snprintf(why, whysz, "HTTP %d; expected %d", status, want);
    return status >= 400 && status < 500 ? CG_CHECK_WARN : CG_CHECK_FAIL;
}

enum cg_check_verdict cg__m4_auth_verdict(int status, bool opened, char *why, size_t whysz)
{
    return refused(401, status, opened, why, whysz);
}

enum cg_check_verdict cg__m4_query_verdict(int status, bool opened, char *why, size_t whysz)
{
    return refused(400, status, opened, why, whysz);
}

enum cg_check_verdict cg__m4_heartbeat_verdict(const struct cg_m4_seen *ans, char *why,
                                               size_t whysz)
{
    if (!ans || !ans->parsed) {
        snprintf(why, whysz, "no heartbeat came back");
        return CG_CHECK_FAIL;
    }
    if (strcmp(ans->env.name, "heartbeat") != 0) {
        snprintf(why, whysz, "answered with %s, not heartbeat", ans->env.name);
        return CG_CHECK_FAIL;
    }
    snprintf(why, whysz, "heartbeat answered with heartbeat");
    return CG_CHECK_PASS;
}

enum cg_check_verdict cg__m4_echo_verdict(const char *sent_id, const struct cg_m4_seen *ans,
                                          char *why, size_t whysz)
{
    if (!ans || !ans->parsed) {
        snprintf(why, whysz, "messageID %s: no answer to read it from", sent_id);
        return CG_CHECK_FAIL;
    }
    if (ans->env.message_id_kind == CG_MOS_MSGID_ABSENT) {
        snprintf(why, whysz, "sent %s, %s came back without a messageID", sent_id, ans->env.name);
        return CG_CHECK_FAIL;
    }
    if (strcmp(ans->env.message_id, sent_id) != 0) {
        snprintf(why, whysz, "sent %s, %s came back with %s", sent_id, ans->env.name,
                 ans->env.message_id);
        return CG_CHECK_FAIL;
    }
    snprintf(why, whysz, "sent %s, %s echoed it", sent_id, ans->env.name);
    return CG_CHECK_PASS;
}

enum cg_check_verdict cg__m4_keepalive_verdict(const char *answer, bool closed, char *why,
                                               size_t whysz)
{
    if (answer) {
        snprintf(why, whysz, "keepAlive answered with %s", answer);
        return CG_CHECK_FAIL;
    }
    if (closed) {
        snprintf(why, whysz, "the peer closed the connection after a keepAlive");
        return CG_CHECK_FAIL;
    }
    snprintf(why, whysz, "no answer, connection kept");
    return CG_CHECK_PASS;
}

enum cg_check_verdict cg__m4_answer_verdict(const char *req, const struct cg_m4_seen *ans,
                                            char *why, size_t whysz)
{
    const struct cg_mos_msg_info *mi = cg_mos_msg_lookup(req, strlen(req));
    if (!ans || !ans->parsed) {
        snprintf(why, whysz, "%s: no answer", req);
        return CG_CHECK_FAIL;
    }
    const char *got = ans->env.name;
    bool ro = mi && (mi->channels & CG_MOS_CH_RO) && !(mi->channels & CG_MOS_CH_MOM);
    bool ok = (mi && mi->answer && strcmp(got, mi->answer) == 0) ||
              strcmp(got, ro ? "roAck" : "mosAck") == 0;
    snprintf(why, whysz, "%s answered with %s%s", req, got, ok ? "" : " (not its answer)");
    return ok ? CG_CHECK_PASS : CG_CHECK_FAIL;
}

enum cg_check_verdict cg__m4_retry_verdict(const struct cg_m4_seen *first,
                                           const struct cg_m4_seen *again, char *why,
                                           size_t whysz)
{
    if (!first || !first->parsed || !again || !again->parsed) {
        snprintf(why, whysz, "%s try got no answer", !first || !first->parsed ? "the first" : "the retry");
        return CG_CHECK_FAIL;
    }
    size_t l1, l2;
    const char *e1 = element(first, &l1), *e2 = element(again, &l2);
    if (strcmp(first->env.message_id, again->env.message_id) != 0 ||
        strcmp(first->env.name, again->env.name) != 0 || l1 != l2 || memcmp(e1, e2, l1) != 0) {
        snprintf(why, whysz, "first %s (messageID %s, %zu bytes), retry %s (messageID %s, %zu bytes): "
                 "not the same answer", first->env.name, first->env.message_id, l1,
                 again->env.name, again->env.message_id, l2);
        return CG_CHECK_FAIL;
    }
    snprintf(why, whysz, "retry under messageID %s got the same %s", first->env.message_id,
             first->env.name);
    return CG_CHECK_PASS;
}

size_t cg__m4_count(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    if (!hay || nl == 0)
        return 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
        n++;
    return n;
}
