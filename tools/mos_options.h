/* The option table of the configuration files (tools/mos_config.c): one row
 * per option, in the manner of redis's static_configs[]. The reader, --help,
 * castgate.conf(5), docs/options.md and the reload check all walk it; see
 * docs/DEVELOPMENT.md, "Adding an option". */
#ifndef CG_TOOLS_MOS_OPTIONS_H
#define CG_TOOLS_MOS_OPTIONS_H

#include "mos_config.h"

#include <stdbool.h>
#include <stddef.h>

enum opt_type {
    OPT_TEXT,
    OPT_PATH,   /* text; relative: from the file's folder */
    OPT_NUMBER, /* a whole number within bounds */
    OPT_FLAG,   /* yes|no (also on/off, true/false, 1/0) */
    OPT_CHOICE, /* one of names[]; stored as its index, the enum value */
    OPT_CERT,   /* CHAIN KEY, repeatable */
};

enum {
    OPT_RESTART = 1u << 0, /* castgate run: a reload keeps the running value */
    OPT_NOT_GW = 1u << 1,  /* an [endpoint] option that [gateway] does not take */
};

#define OPT_NONE (-1) /* the row sets no library option by number */

struct opt_row {
    const char *section; /* "endpoint", "peer", "gateway" or "link" */
    const char *name;
    enum opt_type type;
    size_t off, size; /* its field in the section's struct (not for a library option) */
    int lib;          /* enum cg_mos_option: bounds, default and check are the library's */
    long scale;       /* file unit * scale = library unit (seconds: 1000) */
    long min, max;    /* OPT_NUMBER without lib: the bounds */
    long def;         /* without lib: the default (OPT_CHOICE: its index; -1: required) */
    const char *def_text;     /* OPT_TEXT default */
    const char *const *names; /* OPT_CHOICE: the values, NULL-terminated, index = enum */
    unsigned flags;
    const char *help;
};

extern const struct opt_row mos_opt_rows[];
extern const size_t mos_opt_nrows;

/* The bounds of a number as the file writes it. */
void opt_bounds(const struct opt_row *r, long *min, long *max);
/* The default as the file writes it ("" when there is none). */
void opt_default_text(const struct opt_row *r, char *out, size_t size);
/* "a, b or c" for a choice. */
void opt_names_text(const struct opt_row *r, char *out, size_t size);
/* Whether r is listed under the file section sect ("gateway", "link",
 * "endpoint", "peer") of a gateway file or an endpoint file. */
bool opt_in(const struct opt_row *r, bool gateway_file, const char *sect);

#endif
