/* castgate — the credential file for incoming MOS 4.0 connections (M-05).
 *
 * The file is htpasswd-compatible: one "user:hash" line per user, '#'
 * comments and blank lines allowed. castgate reads yescrypt ("$y$"), bcrypt
 * ("$2b$", "$2y$") and SHA-512 ("$6$") hashes; it writes yescrypt. The file
 * must not be readable or writable by group or others (mode 0600).
 *
 * These functions are for tools (`castgate passwd`); an endpoint reads the
 * file itself. They need no context, never log and may be called from any
 * thread, but two processes changing one file at once may lose an update.
 * Passwords are only read, never kept: the library wipes its copies.
 */
#ifndef CASTGATE_AUTH_H
#define CASTGATE_AUTH_H

#include <castgate/ctx.h>
#include <castgate/error.h>
#include <castgate/stats.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Adds user with password (hashed with a fresh yescrypt salt), or replaces
 * the user's line, keeping every other line as it was. The file is created
 * with mode 0600 if missing, and written atomically: a temporary file in the
 * same directory, fsync, rename (a crash leaves the old or the new file).
 * user: 1..128 bytes, no ':' and no control characters; password: not empty,
 * no control characters. Both are read only during the call.
 * Returns CG_OK; CG_EINVAL (NULL, bad user or password); CG_EPERM (the file
 * is readable or writable by group or others: `chmod 600` it); CG_EFILE (not
 * a regular file, unreadable, or over 1 MiB); CG_EIO (the directory is not
 * writable, a write or rename failed; the old file is unchanged);
 * CG_ENOMEM; CG_EINTERNAL (libcrypt could not hash). */
CG_API enum cg_err cg_passwd_set(const char *file, const char *user, const char *password);

/* Removes user's line, atomically as above. Returns CG_OK, CG_ENOTFOUND (no
 * such user: the file is not rewritten), CG_EFILE (missing), and otherwise
 * as cg_passwd_set. */
CG_API enum cg_err cg_passwd_delete(const char *file, const char *user);

/* Checks password for user the way an endpoint does (the whole file must be
 * valid: every line a supported hash). Returns CG_OK; CG_EAUTH (wrong
 * password); CG_ENOTFOUND (no such user); CG_EFILE (missing or malformed);
 * CG_EPERM (mode); CG_EINVAL; CG_ENOMEM; CG_EINTERNAL (libcrypt). */
CG_API enum cg_err cg_passwd_check(const char *file, const char *user, const char *password);

/* ---- checking incoming Basic credentials (for an HTTP or WebSocket route) ----
 *
 * The checks a MOS 4.0 endpoint makes (M-05), for any route of a server: the
 * Authorization header's Basic credentials against the file, compared in
 * constant time (an unknown user costs what a known one costs); failures
 * counted per peer address as a score that drains in 60 s (5 per minute), an
 * address reaching 5 refused for 300 s whatever it sends; a success does not
 * lower the score. A success is remembered for 5 minutes (HMAC-SHA256 of the
 * header value under a random key; wiped by a reload): the same header again
 * costs no hash. Every refusal is logged on ctx (address, escaped user,
 * reason), never a password. Loop thread only; cg_credentials_check hashes on
 * the calling thread (~0.1 s for yescrypt) unless the value is remembered. */
struct cg_credentials;

/* Reads the file (same format and mode rules as above). CG_EFILE (missing,
 * unreadable, a malformed line or weak hash: logged with the line number),
 * CG_EPERM (mode), CG_EINVAL, CG_ENOMEM. */
CG_API enum cg_err cg_credentials_load(struct cg_ctx *ctx, const char *file,
                                       struct cg_credentials **out);
/* Re-reads the file; on failure the previous users stay (logged). */
CG_API enum cg_err cg_credentials_reload(struct cg_credentials *cred);
CG_API void cg_credentials_free(struct cg_credentials *cred);

/* Checks an Authorization header value (NULL when absent) from peer, an
 * address as cg_http_request_peer() gives it ("ip:port", "[v6]:port" or a
 * bare address). Returns CG_OK (user, usersz >= 129, gets the user name);
 * CG_EAUTH: missing, malformed or wrong (answer 401 with WWW-Authenticate);
 * CG_ERATELIMIT: the address is locked out (answer 429); CG_EINVAL. */
CG_API enum cg_err cg_credentials_check(struct cg_credentials *cred, const char *authorization,
                                        const char *peer, char *user, size_t usersz);

/* The counts of M-05's rules since load (castgate/stats.h): failures
 * (wrong or malformed credentials; a request without any is not one),
 * addresses locked out, and attempts refused while locked out. Survive a
 * reload. Returns CG_OK or CG_EINVAL (NULL). Loop thread. */
CG_API enum cg_err cg_credentials_stats(const struct cg_credentials *cred, struct cg_auth_stats *out);

/* The verdict of cg_credentials_check_async: rc CG_OK (user: the user name,
 * valid during the call), CG_EAUTH (401), CG_ESTATE (the file was reloaded
 * meanwhile: 503, try again) or CG_ECLOSED (cg_credentials_free came first:
 * do not use cred; 503). */
typedef void (*cg_credentials_done_fn)(void *done_user, enum cg_err rc, const char *user);

/* The same check with the hash on libuv's thread pool (the context's loop),
 * so the loop never waits ~0.1 s for it. Returns what is known at once:
 * CG_OK (a remembered success; user set), CG_EAUTH, CG_ERATELIMIT (429),
 * CG_EFULL (two hashes already running: answer 503 with Retry-After; not
 * counted), CG_EINVAL, CG_ENOMEM; or CG_EAGAIN: done(done_user, ...) follows
 * exactly once on the loop thread (never from inside this call). Pair it
 * with cg_upgrade_defer (castgate/server.h). Loop thread only. */
CG_API enum cg_err cg_credentials_check_async(struct cg_credentials *cred,
                                              const char *authorization, const char *peer,
                                              char *user, size_t usersz,
                                              cg_credentials_done_fn done, void *done_user);

#ifdef __cplusplus
}
#endif
#endif
