/* Which refusals get a log line (see reflog.h). */
#include "wss/reflog.h"

#include <stdio.h>
#include <string.h>

void cg__reflog_addr(const char *peer, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    const char *start = peer, *end = peer + strlen(peer);
    if (*peer == '[') { /* [v6]:port */
        const char *close = strchr(peer, ']');
        if (close != NULL) {
            start = peer + 1;
            end = close;
        }
    } else {
        const char *colon = strrchr(peer, ':');
        if (colon != NULL && strchr(peer, ':') == colon) /* one colon: v4:port (a bare v6 has more) */
            end = colon;
    }
    size_t n = (size_t)(end - start);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

/* The slot for (addr, status, why), or the one to reuse for it (*same false):
 * a free one, else the one logged longest ago. */
static struct cg_reflog_slot *find(struct cg_reflog *r, const char *addr, int status, const char *why,
                                   bool *same)
{
    struct cg_reflog_slot *pick = NULL;
    for (size_t i = 0; i < CG_REFLOG_SLOTS; i++) {
        struct cg_reflog_slot *s = &r->slot[i];
        if (s->used && s->status == status && strcmp(s->addr, addr) == 0 && strcmp(s->why, why) == 0) {
            *same = true;
            return s;
        }
        if (pick == NULL || (pick->used && (!s->used || s->log_ms < pick->log_ms)))
            pick = s;
    }
    *same = false;
    return pick;
}

struct cg_reflog_verdict cg__reflog_admit(struct cg_reflog *r, const char *peer, int status,
                                          const char *why, uint64_t now_ms)
{
    struct cg_reflog_verdict v = {.log = true};
    char addr[CG_REFLOG_ADDR_MAX], cut[sizeof(r->slot[0].why)];
    cg__reflog_addr(peer, addr, sizeof(addr));
    snprintf(cut, sizeof(cut), "%s", why);
    bool same;
    struct cg_reflog_slot *s = find(r, addr, status, cut, &same);
    if (same && now_ms - s->log_ms < CG_REFLOG_MS) {
        s->quiet++;
        return (struct cg_reflog_verdict){.log = false};
    }
    if (same) {
        v.more = s->quiet;
    } else {
        if (s->used)
            r->evicted_quiet += s->quiet; /* its count goes on this line */
        memset(s, 0, sizeof(*s));
        s->used = true;
        s->status = status;
        memcpy(s->addr, addr, sizeof(addr));
        memcpy(s->why, cut, sizeof(cut));
    }
    v.other = r->evicted_quiet;
    r->evicted_quiet = 0;
    s->log_ms = now_ms;
    s->quiet = 0;
    return v;
}
