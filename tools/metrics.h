/* The gateway's counters and their Prometheus text exposition (issue 15,
 * part 4). Sans-I/O: castgate run (tools/cmd_run.c) feeds events in, the
 * admin listener (tools/admin.c) renders them. When the relay moves into the
 * library, the library's events feed the same calls. Loop thread only. */
#ifndef CG_TOOLS_METRICS_H
#define CG_TOOLS_METRICS_H

#include <castgate/relay.h>
#include <castgate/stats.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum metrics_from { METRICS_FROM_LEGACY, METRICS_FROM_MOS4 };
enum metrics_nack { /* the gateway's own NACKs, by reason */
    METRICS_NACK_NO_LINK,   /* a peer no link names */
    METRICS_NACK_REMOVED,   /* removed_in_4 = reject (M-12) */
    METRICS_NACK_TRANSLATE, /* translate could not (M-12) */
    METRICS_NACK_FORWARD,   /* cannot forward */
    METRICS_NACK_NO_ANSWER, /* retries exhausted */
    METRICS_NACK_N
};

struct metrics;

struct metrics *metrics_new(void); /* NULL: out of memory */
void metrics_free(struct metrics *m);

/* A link's sides, up or down (a link not seen before is added). */
void metrics_link_state(struct metrics *m, const char *link, bool legacy_up, bool mos4_up);
/* A link stopped by a reload: its series go. */
void metrics_link_removed(struct metrics *m, const char *link);
void metrics_relayed(struct metrics *m, const char *link, enum metrics_from from);
/* The relay reports the count at 1, 10, 100, ...: the latest is kept. */
void metrics_idless(struct metrics *m, const char *link, unsigned long count);
/* Links known, up on both sides, legacy side up, MOS 4.0 side up. */
void metrics_summary(const struct metrics *m, int *n, int *both, int *legacy, int *mos4);
/* A NACK the gateway answered: for a peer no link names (link NULL), counted
 * in castgate_nacks_unlinked_total; with a link, only the status page's
 * "last hour" (the link's counters come from metrics_link_stats). */
void metrics_nack(struct metrics *m, const char *link, enum metrics_nack why);
void metrics_in_flight(struct metrics *m, unsigned n);
void metrics_reload(struct metrics *m, bool ok);
/* The listener's certificates: whole days left of the first in chain to
 * expire (cg_cert_check_expiry), at start and on reload. Clear first. */
void metrics_certs_clear(struct metrics *m);
void metrics_cert(struct metrics *m, const char *chain, long days_left);

/* For the status page: the last request relayed from a side (its name and
 * messageID), and the words for why a side is down (NULL clears it). */
void metrics_last_message(struct metrics *m, const char *link, enum metrics_from from,
                          const char *name, const char *message_id);
void metrics_link_why(struct metrics *m, const char *link, const char *why);
/* ---- redundancy (issue 18 item 4, docs/redundancy.md) ----
 * A link's legs: which sides have a buddy (by enum cg_relay_side) and
 * whether castgate picks the active leg (redundancy = failover; under carry
 * both legs are carried and the gear chooses). A link without a buddy
 * exports none of the leg series. The primary is active from now. */
void metrics_link_legs(struct metrics *m, const char *link, const bool buddy[2], bool failover);
/* The active leg towards side changed (CG_RELAY_EV_ACTIVE): leg, was, why
 * (the relay's word: "unreachable", "primary-back", "forced"; others count
 * as "other") and for_ms (how long the reason held). */
void metrics_active(struct metrics *m, const char *link, enum cg_relay_side side,
                    enum cg_relay_leg leg, enum cg_relay_leg was, const char *why,
                    unsigned long long for_ms);

/* ---- what the library counts (castgate/stats.h, castgate/relay.h) ----
 * Copied in by a refresh hook (castgate run's) that metrics_refresh runs;
 * the admin listener refreshes before each render. */
void metrics_set_refresh(struct metrics *m, void (*fn)(void *user), void *user);
void metrics_refresh(struct metrics *m);
/* A link's relay counters (NACKs by side, reason, channel) and its peers'
 * (wss dials, journal): legacy and mos4 may be NULL (not known). New NACKs
 * also count for the status page's "last hour" (stamped now). */
void metrics_link_stats(struct metrics *m, const char *link, const struct cg_relay_stats *st,
                        const struct cg_mos_peer_stats *legacy, const struct cg_mos_peer_stats *mos4);
/* One lane pair of a link (cg_relay_link_lane_stats): the peer on side, on
 * channel (CG_MOS_CH_MOM, _RO, _AUX; others ignored); out and in are the
 * OUT and IN lanes' counters. Only lanes given here are exported. */
void metrics_lane_stats(struct metrics *m, const char *link, enum cg_relay_side side,
                        enum cg_mos_channel channel, const struct cg_mos_lane_stats *out,
                        const struct cg_mos_lane_stats *in);
/* A listener's set-ups and Basic-credential counts, by a label value
 * ("gateway", "admin"; at most 4 listeners). auth may be NULL. */
void metrics_listener(struct metrics *m, const char *listener, const struct cg_wss_stats *hs,
                      const struct cg_auth_stats *auth);
/* The certificate leaves a listener serves now: clear, then one call each. */
void metrics_leaves_clear(struct metrics *m);
/* The process's syncfs times (fsync = interval; cg_mos_syncfs_stats). */
void metrics_syncfs(struct metrics *m, const struct cg_histogram *h);
void metrics_leaf(struct metrics *m, const char *listener, const struct cg_leaf_stats *leaf);

/* The process's memory, read before each render (cmd_run.c: /proc/self/statm
 * and glibc's mallinfo2). Where a figure is not known, have is false and the
 * family is left out. */
struct metrics_memory {
    bool have_rss, have_heap;
    unsigned long long rss;     /* resident set, bytes */
    unsigned long long in_use;  /* malloc: bytes handed out from the arenas */
    unsigned long long free;    /* malloc: bytes free inside the arenas (fragmentation, top) */
    unsigned long long mmapped; /* malloc: bytes in blocks mapped one by one (large ones) */
    bool have_trim;             /* cg_ctx_heap_trim runs: its counters */
    struct cg_heap_trim_stats trim;
};
void metrics_memory(struct metrics *m, const struct metrics_memory *mem);

/* A gateway pair (issue 18, docs/redundancy.md; tools/pair_run.c): this
 * node's role and its replication, for castgate_pair_* (none without
 * present). */
struct metrics_pair {
    bool present;
    int node;                       /* 0 or 1 */
    bool active, connected, standby_present;
    unsigned long long epoch;       /* the greatest seen */
    unsigned long long last_record; /* active: the last numbered; standby: the last stored */
    unsigned long long stored;      /* records stored as the standby, since start */
    unsigned long long resent;      /* records sent again to a standby behind (resync) */
    bool standby_behind;            /* active: a resync failed, the standby not caught up */
    unsigned long long resync_failures; /* resyncs whose journal read failed */
    unsigned long long answers_held; /* answers waiting for the standby now (the answer gate) */
};
void metrics_pair(struct metrics *m, const struct metrics_pair *p);

/* The clock (default time()); tests set their own. */
void metrics_set_clock(struct metrics *m, time_t (*now)(void));

/* The status page (issue 15, part 5): one HTML document, no external asset,
 * reloading itself every second; every text HTML-escaped. Same return
 * convention as metrics_render. */
size_t metrics_render_html(const struct metrics *m, const char *version, char *buf, size_t sz);

/* The text format 0.0.4 into buf (NUL-terminated). Returns the length it
 * needs; when that is >= sz the text was cut and the caller retries larger. */
size_t metrics_render(const struct metrics *m, const char *version, char *buf, size_t sz);

#endif
