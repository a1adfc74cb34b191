/* Private to src/relay: a leg that behaves as a wire does for its gear
 * (issue 18, leg_state = mirror, docs/redundancy.md "Mirroring a leg's
 * state"). Sans-I/O: no sockets, no timers, no clock; events in (a side of
 * the leg up or down, the time), actions out (hold a side, release it,
 * cancel the leg's requests), in order. The relay (relay.c) carries them
 * out: a held side's lanes closed and refused (cg_mos_endpoint_hold_peer),
 * the leg's requests cancelled on both sides (cg_mos_endpoint_abandon_in,
 * cg_mos_forward_cancel). Unit tests: tests/unit/test_relay_mirror.c.
 *
 * One struct cg_mirror per leg of a link. A side is "up" when some lane of
 * its peer is up (what the relay's CG_RELAY_EV_LINK computes).
 *  - Carrying (nothing held): when one side has been down for down_after_ms
 *    (continuously: a shorter drop is not seen), the other side is HELD
 *    (its lanes closed, its peer refused: it sees the leg go down, as it
 *    would see a wire to a dead server) and the leg's requests are
 *    CANCELLED (their senders were told "connection gone": the lost side by
 *    its own loss, the held side by our close). When both qualify, the one
 *    down longer is the cause; at a tie (both down since the start) the
 *    legacy side is the cause and the MOS 4.0 side is held.
 *  - Holding: reports of the held side are not observations (we hold it
 *    down) and are ignored. When the cause side has been up for up_after_ms
 *    (continuously: hysteresis, so a flapping server does not flap the
 *    gear), the held side is RELEASED; it is down from then until its lanes
 *    come up, and gets CG_MIRROR_GRACE_MS (or up_after_ms if longer) more
 *    than down_after_ms to come back before its absence counts (the gear
 *    redials on its own timer). If the
 *    cause side comes up and goes away again for down_after_ms while still
 *    held, the leg's requests are CANCELLED again (those that arrived
 *    meanwhile lost their sender's connection too).
 * Never both sides held: a hold waits on a side that is free, so two
 * gateways mirroring each other cannot hold each other for ever (each hold
 * ends when the gear or network it waits on is back). */
#ifndef CG_RELAY_MIRROR_H
#define CG_RELAY_MIRROR_H

#include "core/core.h"
#include <castgate/relay.h>

#include <stdbool.h>
#include <stdint.h>

#define CG_MIRROR_NEVER UINT64_MAX
#define CG_MIRROR_ACTS 8
#define CG_MIRROR_GRACE_MS 10000u /* a released side's time to come back, beyond down_after */

struct cg_mirror_config {
    uint64_t down_after_ms; /* a side down this long (continuously): the other is held (>= 1) */
    uint64_t up_after_ms;   /* the cause back this long (continuously): released (>= 1) */
};

enum cg_mirror_act_kind {
    CG_MIRROR_A_HOLD = 0, /* close side's lanes and refuse them until released */
    CG_MIRROR_A_RELEASE,  /* side may come up again (listen, dial, accept) */
    CG_MIRROR_A_CANCEL,   /* give up every request of the leg, both directions, both sides */
};

struct cg_mirror_act {
    enum cg_mirror_act_kind kind;
    enum cg_relay_side side;  /* HOLD, RELEASE: the side held or released; CANCEL: the cause */
    enum cg_relay_side cause; /* the side whose state decided (the other one for HOLD/RELEASE) */
    uint64_t for_ms;          /* how long the cause had been down (HOLD, CANCEL) or up (RELEASE) */
};

struct cg_mirror {
    struct cg_mirror_config cfg;
    bool up[2];          /* by side, as last reported (a held side: false) */
    uint64_t since[2];   /* when up[] last changed (start: init time) */
    uint64_t grace[2];   /* a released side: its absence counts from here on (0: none) */
    bool holding;
    enum cg_relay_side held; /* while holding */
    bool cut;            /* the cause's absence now was acted on (CANCEL given) */
    struct cg_mirror_act acts[CG_MIRROR_ACTS];
    size_t ahead, alen;
    uint64_t holds, releases, cancels; /* counters since init */
};

/* Sets m up at now_ms: nothing held, both sides down since now_ms.
 * CG_EINVAL for NULL or a zero down_after_ms or up_after_ms. */
enum cg_err cg__mirror_init(struct cg_mirror *m, const struct cg_mirror_config *cfg, uint64_t now_ms);
/* Side side of the leg is up (some lane of its peer) or down. */
void cg__mirror_side(struct cg_mirror *m, uint64_t now_ms, enum cg_relay_side side, bool up);
/* The time: call at cg__mirror_deadline (or any time). */
void cg__mirror_timer(struct cg_mirror *m, uint64_t now_ms);
/* When the next decision falls due if nothing changes (CG_MIRROR_NEVER: none). */
uint64_t cg__mirror_deadline(const struct cg_mirror *m);
/* The next action, false when none is left. */
bool cg__mirror_action(struct cg_mirror *m, struct cg_mirror_act *a);
/* Whether side is held now. */
bool cg__mirror_held(const struct cg_mirror *m, enum cg_relay_side side);
/* "hold", "release", "cancel". */
const char *cg__mirror_act_name(enum cg_mirror_act_kind k);

#endif
