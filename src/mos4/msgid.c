/* messageID counters that survive restarts (M-11): per peer and channel, a
 * file in the state directory holds a high-water mark. The flow core hands
 * IDs out in blocks of CG_MOS4_MSGID_BLOCK and asks for each block to be
 * reserved before its first use (RESERVE_IDS); the mark moves (write, fsync,
 * rename: cg__file_replace, synced) once per block, so a crash skips at most
 * a block and never reuses an ID. IDs run 1..2^31-1 and wrap to 1. */
#include "mos4/mos4.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

uint32_t cg__mos4_msgid_start(const struct mos4_lane *l)
{
    uint32_t mark = l->peer->ep->cfg.state_dir != NULL ? load_mark(l) : 0;
    return mark != 0 && mark < MSGID_MAX ? mark + 1 : 0;
}

/* The file holds the first ID not reserved: IDs up to it (inclusive) may
 * have been used, so a restart continues after it. */
void cg__mos4_msgid_reserve(const struct mos4_lane *l, uint32_t mark)
{
    const char *dir = l->peer->ep->cfg.state_dir;
    if (dir != NULL && !store_mark(l, mark))
        cg__log(l->peer->ep->ctx, CG_LOG_ERROR, "mos", "%s %s: cannot store the messageID "
                "mark in %s (%s): IDs may repeat after a restart", l->peer->id,
                cg__mos4_ch_name(l->ch), dir, strerror(errno));
}
