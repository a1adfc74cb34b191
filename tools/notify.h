/* The systemd service notification protocol (sd_notify(3)) and journal
 * priorities, implemented here without libsystemd so that castgate builds
 * and runs the same on systems without systemd (docs/systemd.md).
 *
 * notify_send writes one datagram "KEY=VALUE\n..." to $NOTIFY_SOCKET (a
 * path, or "@name" for the abstract namespace); without NOTIFY_SOCKET it
 * does nothing. notify_watchdog_ms reads $WATCHDOG_USEC (and $WATCHDOG_PID
 * when set: it must be ours) and says how often to send WATCHDOG=1: half the
 * interval, or 0 when no watchdog is asked for. */
#ifndef CG_TOOLS_NOTIFY_H
#define CG_TOOLS_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* 0 when sent (or nothing to send to), -1 on a socket error. */
int notify_send(const char *state);
/* printf-style STATUS=... (one line; a newline in text is replaced). */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t notify_watchdog_ms(void);
/* The RELOADING=1 datagram with MONOTONIC_USEC (systemd >= 253 wants it for
 * Type=notify-reload; older versions ignore it). */
int notify_reloading(void);

/* True when stderr is connected to the journal ($JOURNAL_STREAM names
 * stderr's device:inode): log lines then start with "<N>" (syslog priority)
 * so journald records their PRIORITY. */
bool journal_stderr(void);
/* The syslog priority for a castgate log level (0 error .. 3 debug). */
int journal_priority(int level);

#endif
