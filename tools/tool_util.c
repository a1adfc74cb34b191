#include "tool_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_parse_addr(const char *s, char *host, size_t hsz, uint16_t *port, size_t nports)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= hsz || nports == 0)
        return -1;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    snprintf(host, hsz, "%.*s", (int)hl, h);
    memset(port, 0, nports * sizeof(*port));
    const char *p = colon + 1;
    for (size_t i = 0; i < nports && *p != '\0'; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 65535 || (*end != ',' && *end != '\0'))
            return -1;
        port[i] = (uint16_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    return *p == '\0' && colon[1] != '\0' ? 0 : -1;
}

void tool_json_string(const char *s)
{
    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s != 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7F)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}
