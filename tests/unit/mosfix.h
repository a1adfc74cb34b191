/* Fixture helpers shared by the tests/unit/test_mos_*.c programs: the rows of
 * ../shared/fixtures/mos/{spec,edge}/MANIFEST.tsv, read at test time. */
#ifndef CG_TEST_MOSFIX_H
#define CG_TEST_MOSFIX_H

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mosfix {
    char dir[8];       /* "spec" or "edge" */
    char file[128];    /* relative to dir */
    char message[128]; /* as in the MANIFEST */
    char profile[16];
    char channel[16];
    char deprecated[8]; /* spec only: yes/no */
};

/* Loads every fixture row (the generator script excluded). Caller frees. */
static inline struct mosfix *mosfix_load(size_t *count)
{
    static const char *dirs[] = {"spec", "edge"};
    struct mosfix *rows = NULL;
    size_t n = 0, cap = 0;
    for (size_t d = 0; d < 2; d++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "fixtures/mos/%s/MANIFEST.tsv", dirs[d]);
        size_t len = 0;
        char *text = (char *)tu_read(tu_shared_path(rel), &len);
        char *save = NULL;
        char *line = strtok_r(text, "\n", &save); /* header */
        while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
            char *cols[8] = {0};
            size_t c = 0;
            char *p = line;
            while (c < 8) {
                cols[c++] = p;
                char *tab = strchr(p, '\t');
                if (tab == NULL)
                    break;
                *tab = 0;
                p = tab + 1;
            }
            if (c < 4 || strstr(cols[0], ".py") != NULL)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 128;
                rows = realloc(rows, cap * sizeof(*rows));
                assert_non_null(rows);
            }
            struct mosfix *r = &rows[n++];
            memset(r, 0, sizeof(*r));
            snprintf(r->dir, sizeof(r->dir), "%s", dirs[d]);
            snprintf(r->file, sizeof(r->file), "%s", cols[0]);
            snprintf(r->message, sizeof(r->message), "%s", cols[1]);
            snprintf(r->profile, sizeof(r->profile), "%s", cols[2]);
            snprintf(r->channel, sizeof(r->channel), "%s", cols[3]);
            if (d == 0 && c > 4)
                snprintf(r->deprecated, sizeof(r->deprecated), "%s", cols[4]);
        }
        free(text);
    }
    *count = n;
    return rows;
}

/* Reads a fixture in UTF-8 (ucs2 false) or its ucs2be/ copy. */
static inline uint8_t *mosfix_read(const struct mosfix *r, bool ucs2, size_t *len)
{
    char rel[512];
    snprintf(rel, sizeof(rel), "fixtures/mos/%s/%s%s", r->dir, ucs2 ? "ucs2be/" : "", r->file);
    return tu_read(tu_shared_path(rel), len);
}

static inline bool mosfix_is_stream(const struct mosfix *r)
{
    return strstr(r->file, ".xmlstream") != NULL;
}
static inline bool mosfix_is_fragment(const struct mosfix *r)
{
    return strncmp(r->file, "fragments/", 10) == 0;
}
static inline bool mosfix_is_plugin(const struct mosfix *r)
{
    return strncmp(r->file, "plugin/", 7) == 0;
}
static inline bool mosfix_is_large(const struct mosfix *r)
{
    return strstr(r->file, "large") != NULL;
}

#endif
