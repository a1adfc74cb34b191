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
