/* messageID counters that survive restarts (M-11): per peer and channel, a
 * file in the state directory holds a high-water mark. The flow core hands
 * IDs out in blocks of CG_MOS4_MSGID_BLOCK and asks for each block to be
 * reserved before its first use (RESERVE_IDS); the mark moves (write, fsync,
 * rename: cg__file_replace, synced) once per block, so a crash skips at most
 * a block and never reuses an ID. IDs run 1..2^31-1 and wrap to 1.
 * For a gateway pair (issue 18) each mark is also a numbered journal record
 * of kind M (journal.c): the file holds "<mark> <number> <regime>\n" (older
 * files: the mark alone, read as before), the journal's observer hears of
 * each, a standby stores the active's as they come, and a resync reads the
 * record back from the file. */
#include "mos4/mos4.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* The mark, and (format 4) its record's number and regime: 0 where absent. */
static uint32_t load_mark(const struct mos4_lane *l, struct mos4_jmark *mk)
{
    char path[4096];
    cg__mos4_state_path(l, path, sizeof(path), "");
    *mk = (struct mos4_jmark){0, 0};
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    unsigned long v = 0;
    uint64_t number = 0, regime = 0;
    int got = fscanf(f, "%lu %" SCNu64 " %" SCNu64, &v, &number, &regime);
    if (got < 1 || v > MSGID_MAX)
        v = 0;
    if (got == 3 && v != 0)
        *mk = (struct mos4_jmark){number, regime};
    fclose(f);
    return (uint32_t)v;
}

static bool store_mark(const struct mos4_lane *l, uint32_t mark, const struct mos4_jmark *mk)
{
    char path[4096], buf[80];
    cg__mos4_state_path(l, path, sizeof(path), "");
    int n = snprintf(buf, sizeof(buf), "%u %" PRIu64 " %" PRIu64 "\n", (unsigned)mark, mk->number,
                     mk->regime);
    return cg__file_replace(path, buf, (size_t)n, 0600, CG_FILE_SYNC) == CG_OK;
}

/* The mark's record (kind M, no ID, the mark as data). */
static enum cg_err mark_record(struct cg_buf *b, uint32_t mark, const struct mos4_jmark *mk)
{
    char text[16];
    int n = snprintf(text, sizeof(text), "%u", (unsigned)mark);
    struct mos4_jrec r = {.kind = 'M', .data = (const uint8_t *)text, .len = (size_t)n,
                          .number = mk->number, .regime = mk->regime};
    return cg__mos4_journal_encode(b, &r);
}

uint32_t cg__mos4_msgid_start(const struct mos4_lane *l)
{
    struct mos4_jmark mk;
    uint32_t mark = l->peer->ep->cfg.state_dir != NULL ? load_mark(l, &mk) : 0;
    return mark != 0 && mark < MSGID_MAX ? mark + 1 : 0;
}

/* The file holds the first ID not reserved: IDs up to it (inclusive) may
 * have been used, so a restart continues after it. */
void cg__mos4_msgid_reserve(const struct mos4_lane *l, uint32_t mark)
{
    struct cg_mos_endpoint *ep = l->peer->ep;
    const char *dir = ep->cfg.state_dir;
    if (dir == NULL)
        return;
    const struct mos4_jmark mk = {cg__mos4_journal_next(ep), ep->jregime};
    if (!store_mark(l, mark, &mk)) {
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "%s %s: cannot store the messageID "
                "mark in %s (%s): IDs may repeat after a restart", l->peer->id,
                cg__mos4_ch_name(l->ch), dir, strerror(errno));
        return;
    }
    cg__mos4_journal_numbered(ep, mk.number, mk.regime);
    if (ep->jops.appended == NULL)
        return;
    struct cg_buf b;
    cg__buf_init(&b, 0);
    if (mark_record(&b, mark, &mk) == CG_OK) {
        struct mos4_jrec r = {.kind = 'M', .number = mk.number, .regime = mk.regime};
        cg__mos4_journal_tell(l, &r, b.data, b.len);
    } else { /* no memory for 60 bytes: the standby learns the next mark, or at a resync */
        cg__log(ep->ctx, CG_LOG_ERROR, "mos", "%s %s: messageID mark %u not replicated (out "
                "of memory)", l->peer->id, cg__mos4_ch_name(l->ch), (unsigned)mark);
    }
    cg__buf_free(&b);
}

void cg__mos4_msgid_numbered(const struct mos4_lane *l)
{
    struct mos4_jmark mk;
    if (l->peer->ep->cfg.state_dir != NULL && load_mark(l, &mk) != 0)
        cg__mos4_journal_numbered(l->peer->ep, mk.number, mk.regime);
}

bool cg__mos4_msgid_replicated(const struct mos4_lane *l, const struct mos4_jrec *r)
{
    uint64_t v = 0;
    for (size_t i = 0; i < r->len; i++) /* checked: 1..2^31-1 (cg__mos4_journal_record) */
        v = v * 10 + (uint64_t)(r->data[i] - '0');
    const struct mos4_jmark mk = {r->number, r->regime};
    errno = 0;
    return store_mark(l, (uint32_t)v, &mk);
}

void cg__mos4_msgid_unnumber(const struct mos4_lane *l)
{
    static const struct mos4_jmark none = {0, 0};
    struct mos4_jmark mk;
    uint32_t mark = load_mark(l, &mk);
    if (mark != 0 && mk.number != 0 && !store_mark(l, mark, &none))
        cg__log(l->peer->ep->ctx, CG_LOG_ERROR, "mos", "%s %s: cannot rewrite the messageID "
                "mark (%s)", l->peer->id, cg__mos4_ch_name(l->ch), strerror(errno));
}

bool cg__mos4_msgid_record(const struct mos4_lane *l, struct cg_buf *out, uint64_t *number,
                           uint64_t *regime)
{
    struct mos4_jmark mk;
    uint32_t mark = load_mark(l, &mk);
    if (mark == 0 || mk.number == 0 || mark_record(out, mark, &mk) != CG_OK)
        return false;
    *number = mk.number;
    *regime = mk.regime;
    return true;
}
