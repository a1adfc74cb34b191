/* castgate mos4 — Basic credentials for incoming MOS 4.0 upgrades (internal).
 *
 * M-05: HTTP Basic in the upgrade's Authorization header, checked against an
 * htpasswd-compatible file ("user:hash" lines; yescrypt "$y$", bcrypt "$2b$"/
 * "$2y$", SHA-512 "$6$" hashes via libcrypt's crypt_r). The file must not be
 * readable by group or others. Wrong or missing credentials: 401. A peer
 * address with too many failures in a window is refused for a while
 * (CG_ERATELIMIT, answered 429) whatever it sends. Comparison of the computed
 * hash is constant time; passwords are wiped after use; nothing secret is
 * logged.
 */
#ifndef CG_MOS4_AUTH_H
#define CG_MOS4_AUTH_H

#include "core/core.h"

struct cg_auth;

struct cg_auth_limits {
    unsigned max_failures; /* per address within window_s; 0: 5 */
    unsigned window_s;     /* 0: 60 */
    unsigned lockout_s;    /* 0: 300 */
};

/* Loads the credential file. CG_EFILE (missing, unreadable, malformed line:
 * logged with the line number, never the hash), CG_EPERM (mode), CG_ENOMEM. */
enum cg_err cg__auth_load(struct cg_ctx *ctx, const char *path, const struct cg_auth_limits *lim,
                          struct cg_auth **out);
/* Re-reads the file; on failure the old credentials stay (logged). */
enum cg_err cg__auth_reload(struct cg_auth *a);
void cg__auth_free(struct cg_auth *a);

/* Checks an Authorization header value (may be NULL) from peer_addr (an IP
 * address, without port). CG_OK: *user (at least 129 bytes) gets the user
 * name. CG_EAUTH: missing, malformed or wrong. CG_ERATELIMIT: the address is
 * locked out. Failures are counted per address. */
enum cg_err cg__auth_check(struct cg_auth *a, const char *authorization, const char *peer_addr,
                           char *user, size_t usersz);

/* Makes an htpasswd line "user:hash" for password with a fresh yescrypt
 * salt (for `castgate passwd`). *line is malloc'd; CG_EINVAL for a user with
 * ':' or control characters. */
enum cg_err cg__auth_hash_line(const char *user, const char *password, char **line);

#endif
