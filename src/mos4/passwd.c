/* castgate mos4 — editing the credential file (include/castgate/auth.h).
 *
 * The file is rewritten whole: every line is kept byte for byte except the
 * user's own, and the result replaces the old file by rename(2), so a reader
 * (the endpoint reloading) sees the old file or the new one, never half. */
#include "mos4/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWD_MAX_FILE (1u << 20)

/* The current text of file ("" when missing and may_create). */
static enum cg_err read_current(const char *file, bool may_create, uint8_t **text, size_t *len)
{
    struct stat st;
    if (lstat(file, &st) != 0) {
        CG_CHECK(errno == ENOENT && may_create, CG_EFILE);
        *text = (uint8_t *)cg__strdup("");
        *len = 0;
        return *text != NULL ? CG_OK : CG_ENOMEM;
    }
    CG_CHECK(S_ISREG(st.st_mode), CG_EFILE); /* a symlink would be replaced by a file */
    CG_GUARD(cg__check_private_file(file));
    enum cg_err rc = cg__read_file(file, PASSWD_MAX_FILE, text, len);
    return rc == CG_ENOMEM ? rc : rc == CG_OK ? CG_OK : CG_EFILE;
}

/* Does line (n bytes, no newline) hold user's entry? */
static bool line_is_user(const char *l, size_t n, const char *user)
{
    size_t ul = strlen(user), lead = 0;
    while (lead < n && (l[lead] == ' ' || l[lead] == '\t'))
        lead++;
    if (lead < n && l[lead] == '#')
        return false;
    return n > ul && l[ul] == ':' && memcmp(l, user, ul) == 0;
}

/* text with user's line replaced by new_line (NULL: removed); appended when
 * missing. *found says whether the user was there. */
static enum cg_err edit_text(const char *text, size_t len, const char *user, const char *new_line,
                             struct cg_buf *out, bool *found)
{
    size_t pos = 0;
    *found = false;
    while (pos < len) {
        const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - l) : len - pos;
        pos += n + 1;
        if (line_is_user(l, n, user)) {
            if (new_line != NULL && !*found)
                CG_GUARD(cg__buf_printf(out, "%s\n", new_line));
            *found = true; /* a second line for the user goes too */
            continue;
        }
        CG_GUARD(cg__buf_append(out, l, n));
        CG_GUARD(cg__buf_append(out, "\n", 1));
    }
    if (new_line != NULL && !*found)
        CG_GUARD(cg__buf_printf(out, "%s\n", new_line));
    return CG_OK;
}

/* 0600, fsynced, renamed over file, the folder fsynced (cg__file_replace). */
static enum cg_err replace_file(const char *file, const uint8_t *data, size_t len)
{
    return cg__file_replace(file, data, len, 0600, CG_FILE_SYNC);
}

static enum cg_err change(const char *file, const char *user, const char *new_line)
{
    enum cg_err rc = CG_OK;
    uint8_t *text = NULL;
    size_t len = 0;
    bool found = false;
    struct cg_buf out;
    cg__buf_init(&out, 2 * PASSWD_MAX_FILE);
    CG_TRY(read_current(file, new_line != NULL, &text, &len));
    CG_TRY(edit_text((const char *)text, len, user, new_line, &out, &found));
    CG_ENSURE(found || new_line != NULL, CG_ENOTFOUND);
    CG_TRY(replace_file(file, out.data != NULL ? out.data : (const uint8_t *)"", out.len));
out:
    if (out.data != NULL)
        OPENSSL_cleanse(out.data, out.cap);
    cg__buf_free(&out);
    cg__wipe_free(text, len);
    return rc;
}

CG_API enum cg_err cg_passwd_set(const char *file, const char *user, const char *password)
{
    char *line = NULL;
    CG_CHECK(file != NULL && user != NULL && password != NULL && password[0] != '\0',
             CG_EINVAL);
    CG_GUARD(cg__auth_hash_line(user, password, &line));
    enum cg_err rc = change(file, user, line);
    cg__wipe_free(line, strlen(line));
    return rc;
}

CG_API enum cg_err cg_passwd_delete(const char *file, const char *user)
{
    CG_CHECK(file != NULL && user != NULL, CG_EINVAL);
    CG_CHECK(cg__auth_user_valid(user, strlen(user)), CG_EINVAL);
    return change(file, user, NULL);
}

CG_API enum cg_err cg_passwd_check(const char *file, const char *user, const char *password)
{
    struct cg_auth *a = NULL;
    CG_CHECK(file != NULL && user != NULL && password != NULL, CG_EINVAL);
    CG_CHECK(cg__auth_user_valid(user, strlen(user)), CG_EINVAL);
    CG_GUARD(cg__auth_load(NULL, file, NULL, &a));
    enum cg_err rc = cg__auth_verify(a, user, strlen(user), password);
    cg__auth_free(a);
    return rc;
}
