/* castgate mos4 — Basic credentials for incoming MOS 4.0 upgrades (internal).
 *
 * M-05: HTTP Basic in the upgrade's Authorization header, checked against an
 * htpasswd-compatible file ("user:hash" lines; yescrypt "$y$", bcrypt "$2b$"/
 * "$2y$", SHA-512 "$6$" hashes via libcrypt's crypt_r). The file must not be
 * readable by group or others. Wrong or missing credentials: 401. A peer
 * address with too many failures in a window is refused for a while
 * (CG_ERATELIMIT, answered 429) whatever it sends. Hashes (~0.1 s for
 * yescrypt) run on the context's low-priority threads (nice 10;
 * core/bgpool.c) with a bounded number in flight and a budget (token bucket:
 * so many a second, whoever asks), so guessers from many addresses cannot
 * keep a CPU busy; a
 * success is remembered for a few minutes (keyed MAC of the header value)
 * and never waits for the budget.
 * Comparison of the computed hash is constant time; passwords are wiped
 * after use; nothing secret is logged.
 */
#ifndef CG_MOS4_AUTH_H
#define CG_MOS4_AUTH_H

#include "core/core.h"

struct cg_auth;

struct cg_auth_limits {
    unsigned max_failures;  /* failure score that locks an address; 0: 5 */
    unsigned window_s;      /* the score drains fully in this time; 0: 60 */
    unsigned lockout_s;     /* 0: 300 */
    unsigned max_inflight;  /* asynchronous hashes running or queued; 0: 2 */
    /* The budget of asynchronous hashes (a token bucket, issue 12 item 4):
     * hash_rate a second on average, hash_burst at once; 0: the defaults;
     * hash_rate CG_AUTH_NO_BUDGET: none. Remembered successes and checks
     * that join a running hash of the same value never take from it. */
    unsigned hash_rate;
    unsigned hash_burst;
    unsigned cache_ttl_s;   /* a success is remembered this long; 0: 300 */
    unsigned cache_entries; /* successes remembered at most; 0: 64 */
};

#define CG_AUTH_MAC_LEN 32 /* HMAC-SHA256 */
#define CG_AUTH_DEFAULT_HASH_RATE 4
#define CG_AUTH_DEFAULT_HASH_BURST 16
#define CG_AUTH_NO_BUDGET 0xFFFFFFFFu

/* Loads the credential file. CG_EFILE (missing, unreadable, malformed line:
 * logged with the line number, never the hash), CG_EPERM (mode), CG_ENOMEM. */
enum cg_err cg__auth_load(struct cg_ctx *ctx, const char *path, const struct cg_auth_limits *lim,
                          struct cg_auth **out);
/* Re-reads the file; on failure the old credentials stay (logged). */
enum cg_err cg__auth_reload(struct cg_auth *a);
void cg__auth_free(struct cg_auth *a);

/* Checks an Authorization header value (may be NULL) from peer_addr (an IP
 * address, without port), hashing on this thread. CG_OK: *user (at least
 * 129 bytes) gets the user name. CG_EAUTH: missing, malformed or wrong.
 * CG_ERATELIMIT: the address is locked out (no hashing is done then).
 *
 * Failures raise a per-address score that drains with time (max_failures
 * per window_s); at max_failures the address is locked out for lockout_s. A
 * missing header is refused but not counted (a client's first try may come
 * without credentials); a success does not lower the score (else one valid
 * password, used between guesses, would buy unlimited guesses). A success
 * is remembered for cache_ttl_s by the HMAC-SHA256 of the exact header value
 * (random key per load; wiped by a reload): the same value again is accepted
 * without hashing, unless the address is locked out. Every refusal is
 * logged (component "auth": address, escaped user, reason). */
enum cg_err cg__auth_check(struct cg_auth *a, const char *authorization, const char *peer_addr,
                           char *user, size_t usersz);

/* The answer to a check that went to the thread pool: rc CG_OK (user is the
 * user name, valid during the call), CG_EAUTH, CG_ESTATE (the file was
 * reloaded meanwhile: ask the peer to try again), or CG_ECLOSED (from inside
 * cg__auth_free: a is going away, do not use it). */
typedef void (*cg__auth_done_fn)(void *done_user, enum cg_err rc, const char *user);

/* The same check with the hash on the context's low-priority threads, so the
 * loop never waits for it nor competes with it for a CPU. Returns what is
 * known at once: CG_OK from a remembered success (*user set), CG_EAUTH
 * (missing or malformed), CG_ERATELIMIT, CG_EFULL (max_inflight hashes
 * already running or queued, or the hash budget spent and its line full: 503 with
 * Retry-After, not counted as a failure), CG_EINVAL, CG_ENOMEM; or CG_EAGAIN: the
 * hash runs, or waits in the budget's line (a timer on the context's loop
 * moves it), and done(done_user, ...) follows on the loop thread exactly once.
 * A peer may disconnect meanwhile: the verdict is still counted. Loop thread
 * only; a needs a context. */
enum cg_err cg__auth_check_async(struct cg_auth *a, const char *authorization,
                                 const char *peer_addr, char *user, size_t usersz,
                                 cg__auth_done_fn done, void *done_user);
/* True while peer_addr (an IP address, without port) is locked out: what the
 * accept path asks before any TLS work, so a known guesser costs an accept
 * and a close (issue 12, denial of service). Never hashes and never counts
 * as a failure; a true answer counts in cg__auth_stats' locked_refused (the
 * refusal the upgrade would have had). An expired lockout is forgotten. Loop
 * thread only. */
bool cg__auth_locked(struct cg_auth *a, const char *peer_addr);
/* Hashes running or queued now. */
unsigned cg__auth_inflight(const struct cg_auth *a);
/* Failures, lockouts and refusals while locked out, since load. */
struct cg_auth_stats cg__auth_stats(const struct cg_auth *a);
/* Successes remembered now. */
size_t cg__auth_cache_count(const struct cg_auth *a);

/* Makes an htpasswd line "user:hash" for password with a fresh yescrypt
 * salt (for `castgate passwd`). *line is malloc'd; CG_EINVAL for a user with
 * ':' or control characters. */
enum cg_err cg__auth_hash_line(const char *user, const char *password, char **line);

/* ---- pieces, for the tests, the fuzzer and `castgate passwd` ---- */

#define CG_AUTH_USER_MAX 128 /* bytes in a user name */
#define CG_AUTH_B64_MAX 4096 /* base64 characters in Basic credentials */

/* Decoded Basic credentials: pointers into the caller's buffer (not
 * NUL-terminated). */
struct cg_auth_basic {
    const char *user;
    size_t user_len;
    const char *password;
    size_t password_len;
};

/* Parses an Authorization value (RFC 7617: "Basic" in any case, 1*SP, strict
 * base64 of user-id ":" password; the user-id 1..CG_AUTH_USER_MAX bytes
 * without ':', no control characters in either). Sans-I/O: value is
 * pointer + length, buf (bufsz >= (len / 4) * 3) receives the decoded bytes,
 * which the caller wipes. CG_OK, CG_EAUTH (not Basic, no ':', bad user-id or
 * control characters), CG_EENCODING (base64), CG_ETOOBIG (more than
 * CG_AUTH_B64_MAX characters), CG_EINVAL (arguments, buffer too small). */
enum cg_err cg__auth_parse_basic(const char *value, size_t len, uint8_t *buf, size_t bufsz,
                                 struct cg_auth_basic *out);

/* True for a yescrypt, bcrypt ($2b$/$2y$) or SHA-512 crypt string. */
bool cg__auth_hash_supported(const char *hash, size_t len);
/* True for a storable user name (1..CG_AUTH_USER_MAX bytes, no ':', no
 * control characters). */
bool cg__auth_user_valid(const char *user, size_t len);

/* Checks password for user (user_len bytes) against the loaded file, with the
 * same cost for an unknown user. No counting, no logging. CG_OK, CG_EAUTH
 * (wrong password), CG_ENOTFOUND (no such user), CG_EINTERNAL (libcrypt). */
enum cg_err cg__auth_verify(struct cg_auth *a, const char *user, size_t user_len,
                            const char *password);

/* Replaces the monotonic millisecond clock the failure counting uses (NULL:
 * back to cg__now_ms), so tests can move time. */
void cg__auth_set_clock(struct cg_auth *a, uint64_t (*now_ms)(void *user), void *user);
/* Addresses currently held in the failure table (bounded). */
size_t cg__auth_peer_count(const struct cg_auth *a);

#endif
