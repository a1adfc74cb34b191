/* Small helpers shared by the castgate subcommands. */
#ifndef CG_TOOLS_UTIL_H
#define CG_TOOLS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses "HOST:P1[,P2…]" (HOST may be [v6]) into host and up to nports ports;
 * ports not given are 0. Returns 0, or -1 when malformed. */
int tool_parse_addr(const char *s, char *host, size_t hsz, uint16_t *port, size_t nports);

/* Writes s (UTF-8) to stdout as a JSON string, control characters escaped;
 * NULL as null. */
void tool_json_string(const char *s);

/* A line put together in b and handed to f (a stdio stream) in one fwrite
 * when b fills up and at tool_line_end: castgate run's JSON line per relayed
 * message without a printf per field (issue 13). Set f, n = 0 (an
 * initializer {.f = stdout} does). */
struct tool_line {
    FILE *f;
    size_t n;
    char b[1024];
};
void tool_line_put(struct tool_line *l, const void *p, size_t n);
void tool_line_str(struct tool_line *l, const char *s);
void tool_line_dec(struct tool_line *l, unsigned long long v);
/* s as a JSON string (as tool_json_string); NULL as null. */
void tool_line_json(struct tool_line *l, const char *s);
void tool_line_end(struct tool_line *l);

#endif
