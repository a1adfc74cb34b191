/* sd_notify(3) protocol and journal stream detection; see notify.h. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int notify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0')
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@') /* abstract namespace: a leading NUL, no terminator */
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t w;
    do
        w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    while (w < 0 && errno == EINTR);
    close(fd);
    return w == (ssize_t)strlen(state) ? 0 : -1;
}

int notify_status(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p != '\0'; p++)
        if (*p == '\n')
            *p = ' ';
    return notify_send(buf);
}

int notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char buf[80];
    snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    return notify_send(buf);
}

uint64_t notify_watchdog_ms(void)
{
    const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (us == NULL || us[0] == '\0')
        return 0;
    if (pid != NULL && pid[0] != '\0' && strtoll(pid, NULL, 10) != (long long)getpid())
        return 0; /* meant for another process (our parent, say) */
    char *end;
    unsigned long long v = strtoull(us, &end, 10);
    if (*end != '\0' || v == 0)
        return 0;
    uint64_t ms = v / 2000; /* half the interval, as sd_watchdog_enabled(3) advises */
    return ms > 0 ? ms : 1;
}

bool journal_stderr(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int journal_priority(int level)
{
    static const int prio[] = {3 /* err */, 4 /* warning */, 6 /* info */, 7 /* debug */};
    return level >= 0 && level < 4 ? prio[level] : 6;
}
