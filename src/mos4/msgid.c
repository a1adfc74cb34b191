/* messageID counters that survive restarts (M-11): per peer and channel, a
 * file in the state directory holds a high-water mark. IDs are handed out
 * from blocks of MSGID_BLOCK; the mark moves (write, fsync, rename) once per
 * block (cg__file_replace, synced), so a crash skips at most a block and never
 * reuses an ID. IDs run
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
    char path[4096], buf[32];
    cg__mos4_state_path(l, path, sizeof(path), "");
    int n = snprintf(buf, sizeof(buf), "%u\n", (unsigned)mark);
    return cg__file_replace(path, buf, (size_t)n, 0600, CG_FILE_SYNC) == CG_OK;
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
