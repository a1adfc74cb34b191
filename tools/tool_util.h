/* Small helpers shared by the castgate subcommands. */
#ifndef CG_TOOLS_UTIL_H
#define CG_TOOLS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses "HOST:P1[,P2…]" (HOST may be [v6]) into host and up to nports ports;
 * ports not given are 0. Returns 0, or -1 when malformed. */
int tool_parse_addr(const char *s, char *host, size_t hsz, uint16_t *port, size_t nports);

/* Writes s (UTF-8) to stdout as a JSON string, control characters escaped;
 * NULL as null. */
void tool_json_string(const char *s);

#endif
