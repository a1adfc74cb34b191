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

#include <castgate/error.h>

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

#ifdef __cplusplus
}
#endif
#endif
