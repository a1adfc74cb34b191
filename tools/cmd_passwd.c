/* castgate passwd — add, replace, delete or check a user in the credential
 * file of incoming MOS 4.0 connections (M-05, include/castgate/auth.h). The
 * password comes from stdin: typed twice without echo on a terminal, one
 * line otherwise (for scripts). */
#include "commands.h"

#include <castgate/castgate.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PW_MAX 1024

static void usage(FILE *f)
{
    fprintf(f, "usage: castgate passwd [--delete | --check] FILE USER\n"
               "  Adds USER to the credential file FILE (htpasswd format) or replaces its\n"
               "  password, hashed with yescrypt. The password is read from stdin: typed\n"
               "  twice without echo on a terminal, else the first line. FILE is created\n"
               "  with mode 0600 and replaced atomically; a FILE readable by group or\n"
               "  others is refused.\n"
               "  --delete  remove USER\n"
               "  --check   read a password and say whether it is USER's (exit 0 or 1)\n");
}

/* One line from fd into buf (no stdio buffer keeps a copy). -1: too long or
 * nothing at all (EOF before any byte). */
static int read_line(int fd, char *buf, size_t sz)
{
    size_t n = 0;
    bool any = false;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        any = true;
        if (n + 1 >= sz)
            return -1;
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return any || n > 0 ? 0 : -1;
}

static int prompt(const char *what, char *buf, size_t sz)
{
    struct termios old, quiet;
    fprintf(stderr, "%s", what);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    int rc = read_line(STDIN_FILENO, buf, sz);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
    return rc;
}

/* The password into pw; on a terminal asks twice. Returns 0 or 1 (message
 * printed). */
static int get_password(char *pw, size_t sz, bool twice)
{
    if (!isatty(STDIN_FILENO)) {
        if (read_line(STDIN_FILENO, pw, sz) == 0 && pw[0] != '\0')
            return 0;
        fprintf(stderr, "castgate passwd: expected the password as one line on stdin "
                        "(at most %d bytes)\n", PW_MAX - 1);
        return 1;
    }
    char again[PW_MAX];
    int rc = 1;
    if (prompt("Password: ", pw, sz) != 0 || pw[0] == '\0')
        fprintf(stderr, "castgate passwd: no password given\n");
    else if (twice && (prompt("Again: ", again, sizeof(again)) != 0 || strcmp(pw, again) != 0))
        fprintf(stderr, "castgate passwd: the passwords differ\n");
    else
        rc = 0;
    explicit_bzero(again, sizeof(again));
    return rc;
}

static int report(enum cg_err rc, const char *file, const char *user)
{
    switch (rc) {
    case CG_OK: return 0;
    case CG_EPERM:
        fprintf(stderr, "castgate passwd: %s is readable or writable by group or others; "
                        "fix it with: chmod 600 %s\n", file, file);
        break;
    case CG_EINVAL:
        fprintf(stderr, "castgate passwd: invalid user name or password (a user is 1..128 "
                        "bytes without ':'; neither may hold control characters)\n");
        break;
    case CG_ENOTFOUND:
        fprintf(stderr, "castgate passwd: no user '%s' in %s\n", user, file);
        break;
    case CG_EFILE:
        fprintf(stderr, "castgate passwd: %s: missing, not a regular file, unreadable, or "
                        "malformed (each line 'user:hash', yescrypt, bcrypt or SHA-512)\n", file);
        break;
    case CG_EAUTH: fprintf(stderr, "castgate passwd: wrong password for '%s'\n", user); break;
    default:
        fprintf(stderr, "castgate passwd: %s: %s\n", file, cg_strerror(rc));
        break;
    }
    return 1;
}

int cmd_passwd(int argc, char **argv)
{
    bool del = false, check = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--delete") == 0)
            del = true;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (argc - i != 2 || (del && check)) {
        usage(stderr);
        return 2;
    }
    const char *file = argv[i], *user = argv[i + 1];
    if (del)
        return report(cg_passwd_delete(file, user), file, user);
    char pw[PW_MAX];
    int rc = get_password(pw, sizeof(pw), !check);
    if (rc == 0)
        rc = report(check ? cg_passwd_check(file, user, pw) : cg_passwd_set(file, user, pw), file,
                    user);
    explicit_bzero(pw, sizeof(pw));
    return rc;
}
