/* castgate check mos4 — internal: the sans-I/O verdicts (mos4_rules.c) and
 * the run that feeds them (run_mos4.c). IDs are ../shared/spec/mos.md's. */
#ifndef CG_CHECK_MOS4_H
#define CG_CHECK_MOS4_H

#include "check/check.h"

#include <castgate/mos.h>

/* One WebSocket message as received: its opcode and bytes. */
struct cg_m4_frame {
    bool binary;
    const uint8_t *data;
    size_t len;
};

/* What a received frame turned out to be. env is read as UCS-2BE for a binary
 * frame and, leniently, as UTF-8 for a text frame (M-04), so the other rules
 * can still judge a peer that only sends text. */
struct cg_m4_seen {
    bool parsed;                 /* env holds one whole <mos> message */
    struct cg_mos_envelope env;
    char *utf8;                  /* the message as UTF-8 (NUL-terminated), NULL when not text */
    size_t utf8_len;
};
/* M-04: a binary frame holding exactly one UCS-2BE MOS message passes; a text
 * frame, bytes that are not UTF-16BE, or not exactly one message fails. Fills
 * *seen (free with cg__m4_seen_free). why gets the evidence. */
enum cg_check_verdict cg__m4_frame_verdict(const struct cg_m4_frame *f, struct cg_m4_seen *seen,
                                           char *why, size_t whysz);
void cg__m4_seen_free(struct cg_m4_seen *seen);

/* M-05: an upgrade without (or with wrong) credentials must get 401: 401
 * passes, 403 warns (refused, but not as the spec says), an accepted upgrade
 * fails, anything else fails. status 0: no HTTP answer at all (warns). */
enum cg_check_verdict cg__m4_auth_verdict(int status, bool opened, char *why, size_t whysz);
/* M-02: an upgrade with a bad query must get 400: 400 passes, another 4xx
 * warns, an accepted upgrade or anything else fails. */
enum cg_check_verdict cg__m4_query_verdict(int status, bool opened, char *why, size_t whysz);
/* M-10: a heartbeat is answered with a heartbeat. */
enum cg_check_verdict cg__m4_heartbeat_verdict(const struct cg_m4_seen *ans, char *why,
                                               size_t whysz);
/* M-11: the answer carries the request's messageID, verbatim. ans NULL: no answer. */
enum cg_check_verdict cg__m4_echo_verdict(const char *sent_id, const struct cg_m4_seen *ans,
                                          char *why, size_t whysz);
/* M-09: a keepAlive is never answered: nothing within the quiet window and the
 * connection still open passes. answer: the name of what came back, NULL if
 * nothing. */
enum cg_check_verdict cg__m4_keepalive_verdict(const char *answer, bool closed, char *why,
                                               size_t whysz);
/* M-23: the answer to a profile exchange is the catalogue's answer to req, or
 * the channel's ACK/NACK (mosAck on mom/aux, roAck on ro). */
enum cg_check_verdict cg__m4_answer_verdict(const char *req, const struct cg_m4_seen *ans,
                                            char *why, size_t whysz);
/* M-22: a retry under the same messageID gets the same answer as the first
 * try (same message, same messageID, same element text). */
enum cg_check_verdict cg__m4_retry_verdict(const struct cg_m4_seen *first,
                                           const struct cg_m4_seen *again, char *why,
                                           size_t whysz);
/* How many times needle occurs in hay (non-overlapping). */
size_t cg__m4_count(const char *hay, const char *needle);

#endif
