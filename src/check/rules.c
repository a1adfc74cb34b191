/* The verdicts of `check tls` that need no network: certificate names (B-11),
 * OCSP staples (B-12), HSTS (B-21). */
#include "check/check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool cg__check_is_wildcard(const char *name) { return name && strchr(name, '*') != NULL; }

bool cg__check_is_ip(const char *name)
{
    uint8_t a[16];
    return name && (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1);
}

#define SKEW (5 * 60)
#define NO_NEXT_MAX (7 * 24 * 3600)

enum cg_check_verdict cg__check_staple_verdict(enum cg_staple_state st, time_t this_upd,
                                               time_t next_upd, time_t now, char *why,
                                               size_t whysz)
{
    static const char *const names[] = {"no staple", "good", "revoked", "unknown",
                                        "unverifiable"};
    if (st != CG_STAPLE_GOOD) {
        snprintf(why, whysz, "%s", names[st]);
        return CG_CHECK_FAIL;
    }
    if (this_upd > now + SKEW) {
        snprintf(why, whysz, "good, but thisUpdate is %lld s in the future",
                 (long long)(this_upd - now));
        return CG_CHECK_WARN;
    }
    if (next_upd != 0 ? now > next_upd + SKEW : now - this_upd > NO_NEXT_MAX) {
        snprintf(why, whysz, "good, but stale (thisUpdate %lld s ago%s)",
                 (long long)(now - this_upd), next_upd ? ", past nextUpdate" : "");
        return CG_CHECK_WARN;
    }
    snprintf(why, whysz, "good, thisUpdate %lld s ago%s", (long long)(now - this_upd),
             next_upd ? "" : ", no nextUpdate");
    return CG_CHECK_PASS;
}

/* B-21: 31536000 recommended; the AMWA suite fails below 15552000. */
enum cg_check_verdict cg__check_hsts_verdict(long long max_age)
{
    if (max_age < 15552000)
        return CG_CHECK_FAIL;
    return max_age < 31536000 ? CG_CHECK_WARN : CG_CHECK_PASS;
}

enum cg_check_verdict cg__check_names_verdict(const struct cg_names *n, bool allow_wildcard,
                                              bool allow_ip)
{
    if (n->no_san || (n->wildcard && !allow_wildcard) || (n->ip && !allow_ip))
        return CG_CHECK_FAIL;
    if (n->wildcard || n->ip || (n->has_cn && !n->cn_in_san))
        return CG_CHECK_WARN;
    return CG_CHECK_PASS;
}

enum cg_check_verdict cg__check_validity_verdict(long long secs_left, long long secs_since_start)
{
    if (secs_left < 0 || secs_since_start < 0)
        return CG_CHECK_FAIL;
    return secs_left < 30LL * 86400 ? CG_CHECK_WARN : CG_CHECK_PASS;
}

enum cg_check_verdict cg__check_suite_verdict(uint16_t id, bool accepted)
{
    if (accepted)
        return CG_CHECK_PASS;
    /* B-03: TLS_AES_128_GCM_SHA256, B-04: ECDHE-RSA-AES128-GCM-SHA256 are SHALL */
    return id == 0x1301 || id == 0xc02f ? CG_CHECK_FAIL : CG_CHECK_WARN;
}

enum cg_check_verdict cg__check_others_verdict(const uint16_t *found, size_t n)
{
    if (n == 0)
        return CG_CHECK_PASS;
    for (size_t i = 0; i < n; i++) {
        const struct cg_suite_info *s = cg__check_suite(found[i]);
        if (s && s->weak)
            return CG_CHECK_FAIL;
    }
    return CG_CHECK_WARN;
}

bool cg__check_follows_client(const uint16_t *fwd, const uint16_t *rev, size_t n,
                              uint16_t fwd_pick, uint16_t rev_pick)
{
    return n >= 2 && fwd[0] != rev[0] && fwd_pick == fwd[0] && rev_pick == rev[0];
}

enum cg_check_verdict cg__check_method_verdict(int status, bool has_allow)
{
    return status == 405 && has_allow ? CG_CHECK_PASS : CG_CHECK_FAIL;
}

bool cg__check_cors_open(const struct cg_http_resp *h, const char *origin)
{
    return h->has_acao && (strcmp(h->acao, "*") == 0 || strcmp(h->acao, "null") == 0 ||
                           strcmp(h->acao, origin) == 0);
}

enum cg_check_verdict cg__check_dh_verdict(int bits)
{
    return bits >= 2048 ? CG_CHECK_PASS : CG_CHECK_FAIL; /* Logjam: 1024 and below are breakable */
}
