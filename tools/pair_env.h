/* The gateway pair in castgate run, its decisions without I/O (issue 18,
 * docs/redundancy.md "The gateway pair"; tests/unit/test_pair_env.c).
 *
 * - The envelope of a replicated record. A journal record alone does not
 *   say whose it is: the pair's stream carries records of every endpoint
 *   of the relay (one per side and identity), each of a peer and channel.
 *   The active wraps each record it replicates:
 *     "CGE1" | side u8 | role u8 | channel u8 | 0 u8 | our-id length u16 |
 *     peer-id length u16 | our ID | peer ID | the journal record as written
 *   (lengths big-endian; IDs 1..1024 bytes); the standby unwraps it and
 *   appends the record to that endpoint's journal.
 * - The role: a node starts as a standby, its links configured and their
 *   journals open but nothing started (no legacy port bound, no dial, the
 *   gateway listener not started); it serves from the pair core's
 *   BECOME_ACTIVE on; a STAND_DOWN (a newer active exists) or a HALTED
 *   link stops the process (the supervisor starts it again, a standby).
 * - A resync's records, read endpoint by endpoint, are sent in number
 *   order: pairenv_sort. */
#ifndef CG_TOOLS_PAIR_ENV_H
#define CG_TOOLS_PAIR_ENV_H

#include <castgate/castgate.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAIRENV_HEAD 12       /* the fixed part of an envelope */
#define PAIRENV_ID_MAX 1024   /* bytes of one ID */

struct pairenv {
    enum cg_relay_side side;
    enum cg_mos_role role;
    enum cg_mos_channel channel;
    const char *our_id, *peer_id; /* encode: NUL-terminated; decode: pointers into the buffer */
    size_t our_len, peer_len;     /* decode: the IDs' lengths (not NUL-terminated there) */
    const uint8_t *rec;           /* the journal record */
    size_t len;
};

/* The envelope's size for e (its IDs and record), 0 if e cannot be wrapped
 * (an ID empty or over PAIRENV_ID_MAX, no record, a bad side, role or
 * channel). */
size_t pairenv_size(const struct pairenv *e);
/* Writes e to out (cap bytes, at least pairenv_size(e)); *used: its size.
 * CG_EINVAL for what pairenv_size refuses, CG_ETOOBIG when cap is short. */
enum cg_err pairenv_encode(const struct pairenv *e, uint8_t *out, size_t cap, size_t *used);
/* Reads one envelope of len bytes into *e (pointers into buf). CG_EPROTO
 * for anything else: bad magic, side, role, channel or reserved byte,
 * lengths past the end, an empty ID or record. */
enum cg_err pairenv_decode(const uint8_t *buf, size_t len, struct pairenv *e);

/* What castgate run does on a pair event. */
enum pairrole_do {
    PAIRDO_NOTHING = 0,
    PAIRDO_SERVE,   /* build the links again from the journals and start them */
    PAIRDO_STOP,    /* stop the process: stood down, or the link halted */
};
struct pairrole {
    bool serving;   /* the links are started */
    bool stopping;  /* a STOP was decided: nothing more */
};
/* The action for event kind (CG_PAIRLINK_EV_*); updates *r. SERVE once,
 * on the first BECOME_ACTIVE; STOP on STAND_DOWN or HALTED (once). */
enum pairrole_do pairrole_event(struct pairrole *r, int kind);

/* One record read for a resync. */
struct pairenv_rec {
    uint64_t number;
    uint8_t *env; /* its envelope (owned by the caller) */
    size_t len;
};
/* Sorts n records by number (equal numbers, which numbered journals never
 * hold, in no set order). */
void pairenv_sort(struct pairenv_rec *v, size_t n);

#endif
