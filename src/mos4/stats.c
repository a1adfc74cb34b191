/* Read-only counters of an endpoint and its peers (castgate/mos4.h,
 * castgate/stats.h): kept where the work happens (auth.c, journal.c, the
 * peer's wss client), summed here. */
#include "mos4/auth.h"
#include "mos4/mos4.h"

#include <pthread.h>

enum cg_err cg_mos_endpoint_auth_stats(const struct cg_mos_endpoint *ep, struct cg_auth_stats *out)
{
    CG_CHECK(ep != NULL && out != NULL, CG_EINVAL);
    *out = ep->auth != NULL ? cg__auth_stats(ep->auth) : (struct cg_auth_stats){0};
    return CG_OK;
}

enum cg_err cg_mos_peer_stats(const struct cg_mos_endpoint *ep, const char *peer_id,
                              struct cg_mos_peer_stats *out)
{
    CG_CHECK(ep != NULL && peer_id != NULL && out != NULL, CG_EINVAL);
    const struct mos4_peer *p = cg__mos4_peer(ep, peer_id);
    CG_CHECK(p != NULL, CG_ENOTFOUND);
    *out = (struct cg_mos_peer_stats){0};
    if (p->client != NULL)
        cg_ws_client_handshake_stats(p->client, &out->dial);
    for (int ch = 0; ch < CG_MOS4_NCH; ch++)
        for (int d = 0; d < 2; d++) {
            const struct cg_journal_stats *j = &p->lanes[ch][d].jstats;
            out->journal.bytes += j->bytes;
            out->journal.records += j->records;
            cg_histogram_merge(&out->journal.fsync, &j->fsync);
        }
    return CG_OK;
}

void cg__mos4_journal_count(struct mos4_lane *l, size_t len, uint64_t sync_ns)
{
    l->jstats.bytes += len;
    l->jstats.records++;
    if (l->peer->ep->cfg.fsync == CG_MOS_FSYNC_ALWAYS) /* else no sync ran on this path */
        cg_histogram_observe(&l->jstats.fsync, sync_ns);
}

/* syncfs runs on the thread pool of any context's loop: one lock. */
static pthread_mutex_t syncfs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cg_histogram syncfs_hist;

void cg__mos4_syncfs_count(uint64_t ns)
{
    pthread_mutex_lock(&syncfs_lock);
    cg_histogram_observe(&syncfs_hist, ns);
    pthread_mutex_unlock(&syncfs_lock);
}

void cg_mos_syncfs_stats(struct cg_histogram *out)
{
    if (out == NULL)
        return;
    pthread_mutex_lock(&syncfs_lock);
    *out = syncfs_hist;
    pthread_mutex_unlock(&syncfs_lock);
}
