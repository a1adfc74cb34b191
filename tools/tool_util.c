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
    struct tool_line l = {.f = stdout};
    tool_line_json(&l, s);
    tool_line_end(&l);
}

void tool_line_put(struct tool_line *l, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        if (l->n == sizeof(l->b))
            tool_line_end(l);
        size_t k = sizeof(l->b) - l->n < n ? sizeof(l->b) - l->n : n;
        memcpy(l->b + l->n, c, k);
        l->n += k, c += k, n -= k;
    }
}

void tool_line_str(struct tool_line *l, const char *s) { tool_line_put(l, s, strlen(s)); }

void tool_line_dec(struct tool_line *l, unsigned long long v)
{
    char t[20];
    size_t n = sizeof(t);
    do
        t[--n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    tool_line_put(l, t + n, sizeof(t) - n);
}

/* The escape of c, or NULL when c goes as it is; esc: room for "\\u00XX". */
static const char *json_escape(unsigned char c, char esc[7])
{
    static const char hex[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
        return esc;
    }
    if (c == '\n')
        return "\\n";
    if (c == '\r')
        return "\\r";
    if (c == '\t')
        return "\\t";
    if (c >= 0x20 && c != 0x7F)
        return NULL;
    memcpy(esc, "\\u00", 4);
    esc[4] = hex[c >> 4], esc[5] = hex[c & 15], esc[6] = '\0';
    return esc;
}

void tool_line_json(struct tool_line *l, const char *s)
{
    if (s == NULL) {
        tool_line_put(l, "null", 4);
        return;
    }
    tool_line_put(l, "\"", 1);
    const char *run = s; /* characters that go as they are, written in one piece */
    char esc[7];
    for (; *s != '\0'; s++) {
        const char *e = json_escape((unsigned char)*s, esc);
        if (e == NULL)
            continue;
        tool_line_put(l, run, (size_t)(s - run));
        tool_line_str(l, e);
        run = s + 1;
    }
    tool_line_put(l, run, (size_t)(s - run));
    tool_line_put(l, "\"", 1);
}

void tool_line_end(struct tool_line *l)
{
    if (l->n > 0)
        fwrite(l->b, 1, l->n, l->f);
    l->n = 0;
}
