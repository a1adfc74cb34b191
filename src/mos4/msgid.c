/* messageID counters that survive restarts (M-11): per peer and channel, a
 * file in the state directory holds a high-water mark. IDs are handed out
 * from blocks of MSGID_BLOCK; the mark moves (write, fsync, rename) once per
 * block, so a crash skips at most a block and never reuses an ID. IDs run
 * 1..2^31-1 and wrap to 1. */
#include "mos4/mos4.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSGID_BLOCK 256u
#define MSGID_MAX 2147483647u

void cg__mos4_state_path(const struct mos4_lane *l, char *path, size_t sz, const char *suffix)
{
    char safe[4 * CG_MOS_ID_MAX + 1];
    size_t i = 0;
    for (const char *p = l->peer->id; *p != '\0' && i < sizeof(safe) - 1; p++)
        safe[i++] = (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20) ? '_' : *p;
    safe[i] = '\0';
    snprintf(path, sz, "%s/msgid-%s-%s%s", l->peer->ep->cfg.state_dir, safe,
             cg__mos4_ch_name(l->ch), suffix);
}

static uint32_t load_mark(const struct mos4_lane *l)
{
    char path[4096];
    cg__mos4_state_path(l, path, sizeof(path), "");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    unsigned long v = 0;
    if (fscanf(f, "%lu", &v) != 1 || v > MSGID_MAX)
        v = 0;
    fclose(f);
    return (uint32_t)v;
}

static bool store_mark(const struct mos4_lane *l, uint32_t mark)
{
    char path[4096], tmp[4200];
    cg__mos4_state_path(l, path, sizeof(path), "");
    cg__mos4_state_path(l, tmp, sizeof(tmp), ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%u\n", (unsigned)mark);
    bool ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    return ok && rename(tmp, path) == 0;
}

uint32_t cg__mos4_next_msgid(struct mos4_lane *l)
{
    const char *dir = l->peer->ep->cfg.state_dir;
    if (l->next_msgid == 0) /* first use: continue after the stored mark */
        l->next_msgid = l->reserved_msgid = dir != NULL ? load_mark(l) : 0;
    uint32_t id = l->next_msgid >= MSGID_MAX ? 1 : l->next_msgid + 1;
    if (dir != NULL && (id > l->reserved_msgid || id == 1)) {
        uint32_t mark = id + MSGID_BLOCK > MSGID_MAX ? MSGID_MAX : id + MSGID_BLOCK;
        if (!store_mark(l, mark))
            cg__log(l->peer->ep->ctx, CG_LOG_ERROR, "mos", "%s %s: cannot store the messageID "
                    "mark in %s (%s): IDs may repeat after a restart", l->peer->id,
                    cg__mos4_ch_name(l->ch), dir, strerror(errno));
        l->reserved_msgid = mark;
    }
    l->next_msgid = id;
    return id;
}

/* ---- the last request of an IN lane, across restarts (M-22) ----
 * One request is in flight per lane, so after a restart the only repeat a
 * peer can send is of the last one. Its messageID is stored before the
 * application sees it, its answer once given: a repeat is then answered from
 * the file and never delivered twice. Format: "msgid\n" then the answer. */

/* write + rename survives the process being killed; fsync (per the
 * endpoint's policy) a power loss too. */
static bool write_atomic(struct cg_mos_endpoint *ep, const char *path, const char *tmp,
                         const void *a, size_t alen, const void *b, size_t blen)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = write(fd, a, alen) == (ssize_t)alen && (blen == 0 || write(fd, b, blen) == (ssize_t)blen);
    if (ok)
        cg__mos4_state_written(ep, fd);
    ok = close(fd) == 0 && ok;
    return ok && rename(tmp, path) == 0;
}

void cg__mos4_store_last(const struct mos4_lane *l, const char *msgid, const void *answer, size_t len)
{
    if (l->peer->ep->cfg.state_dir == NULL)
        return;
    char path[4096], tmp[4200], head[4 * CG_MOS_ID_MAX + 2];
    cg__mos4_state_path(l, path, sizeof(path), ".last");
    cg__mos4_state_path(l, tmp, sizeof(tmp), ".last.tmp");
    int n = snprintf(head, sizeof(head), "%s\n", msgid);
    if (!write_atomic(l->peer->ep, path, tmp, head, (size_t)n, answer, len))
        cg__log(l->peer->ep->ctx, CG_LOG_ERROR, "mos", "%s %s: cannot store the last request (%s)",
                l->peer->id, cg__mos4_ch_name(l->ch), strerror(errno));
}

/* Loads the stored last request into the lane's memory of answered ones. */
void cg__mos4_load_last(struct mos4_lane *l)
{
    if (l->peer->ep->cfg.state_dir == NULL)
        return;
    char path[4096];
    cg__mos4_state_path(l, path, sizeof(path), ".last");
    uint8_t *data = NULL;
    size_t len = 0;
    if (cg__read_file(path, 1u << 30, &data, &len) != CG_OK)
        return;
    uint8_t *nl = memchr(data, '\n', len);
    struct mos4_seen *s = &l->seen[l->seen_next];
    if (nl != NULL && (size_t)(nl - data) < sizeof(s->msgid) && nl > data) {
        l->seen_next = (l->seen_next + 1) % CG_MOS4_SEEN;
        snprintf(s->msgid, sizeof(s->msgid), "%.*s", (int)(nl - data), (char *)data);
        size_t alen = len - (size_t)(nl + 1 - data);
        s->answer = alen > 0 ? malloc(alen) : NULL;
        if (s->answer != NULL) {
            memcpy(s->answer, nl + 1, alen);
            s->len = alen;
        }
        s->restored = true;
    }
    free(data);
}
