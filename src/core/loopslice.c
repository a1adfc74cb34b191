/* A short CPU slice for the loop thread (cg_ctx_loop_slice, include/castgate/ctx.h).
 * Why (issue 12, bench part hostile): with password guessers on the same
 * machine, the loop thread was runnable but waiting for a CPU 0.18 s per
 * second (0.07 quiet), and a lane's p99 round trip rose 1.91-2.32 x. Linux's
 * EEVDF scheduler lets a task that is running keep its CPU until its slice
 * is used up ("run to parity"), even when a thread that wakes has more claim
 * to the CPU; a woken loop waited for the hash thread's or an attacker's
 * slice (0.7-3 ms) to end. Since Linux 6.12 a thread may ask for a slice of
 * its own (sched_setattr, sched_runtime for SCHED_OTHER, 0.1-100 ms), and a
 * waking thread whose slice is shorter than the running one's preempts it
 * (PREEMPT_SHORT). The loop's work per wakeup is short: a short slice costs
 * it nothing and takes the wait away. Nothing here raises a priority: the
 * nice value and the policy stay as they were, so no privilege is needed.
 * Older kernels accept sched_runtime for SCHED_OTHER and ignore it; the
 * slice is read back to tell. */
#define _GNU_SOURCE
#include "core/core.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__linux__) && defined(SYS_sched_setattr) && defined(SYS_sched_getattr)
#define CG_HAVE_SCHED_ATTR 1
/* The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0: 48 bytes). glibc
 * 2.36 declares no wrapper, so the syscall is called by number. */
struct cg_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};
#define CG_SCHED_FLAG_RESET_ON_FORK 0x01u
#endif

/* The range the kernel accepts for a SCHED_OTHER slice (it clamps outside
 * it; a value it would change is refused here instead, so what the caller
 * asked for is what it gets). */
#define SLICE_MIN_US 100u
#define SLICE_MAX_US 100000u

enum cg_err cg__loop_slice_check(unsigned slice_us)
{
    if (slice_us != 0 && (slice_us < SLICE_MIN_US || slice_us > SLICE_MAX_US))
        return CG_ERANGE;
    return CG_OK;
}

enum cg_err cg__loop_slice_get(unsigned long long *slice_ns)
{
    CG_CHECK(slice_ns != NULL, CG_EINVAL);
#if CG_HAVE_SCHED_ATTR
    struct cg_sched_attr a;
    memset(&a, 0, sizeof(a));
    if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0u) != 0)
        return CG_ENOTSUP;
    if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH)
        return CG_ESTATE;
    *slice_ns = a.sched_runtime; /* 0 before Linux 6.12: not reported */
    return CG_OK;
#else
    *slice_ns = 0;
    return CG_ENOTSUP;
#endif
}

enum cg_err cg__thread_slice_set(unsigned slice_us)
{
    CG_GUARD(cg__loop_slice_check(slice_us));
#if CG_HAVE_SCHED_ATTR
    struct cg_sched_attr a;
    memset(&a, 0, sizeof(a));
    if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof(a), 0u) != 0)
        return CG_ENOTSUP;
    /* A real-time, deadline or SCHED_IDLE thread: its scheduling is the
     * caller's choice, and a slice means nothing there. */
    if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH)
        return CG_ESTATE;
    /* The policy and nice value read above go back unchanged (a nice value
     * left out would be set to 0: a raise, refused without privilege), and
     * reset-on-fork with them. SCHED_FLAG_KEEP_PARAMS is not used: it would
     * read the old slice back over the new one. */
    a.size = (uint32_t)sizeof(a);
    a.sched_flags &= CG_SCHED_FLAG_RESET_ON_FORK;
    a.sched_runtime = (uint64_t)slice_us * 1000u; /* 0: the kernel's default again */
    a.sched_deadline = 0;
    a.sched_period = 0;
    if (syscall(SYS_sched_setattr, 0, &a, 0u) != 0)
        return CG_ENOTSUP; /* no such call (seccomp, an old kernel) or refused */
    if (slice_us == 0)
        return CG_OK;
    unsigned long long got = 0;
    if (cg__loop_slice_get(&got) != CG_OK || got != (unsigned long long)slice_us * 1000u)
        return CG_ENOTSUP; /* accepted and ignored: a kernel before 6.12 */
    return CG_OK;
#else
    return CG_ENOTSUP;
#endif
}

enum cg_err cg_ctx_loop_slice(struct cg_ctx *ctx, unsigned slice_us)
{
    CG_CHECK(ctx != NULL, CG_EINVAL);
    return cg__thread_slice_set(slice_us);
}
