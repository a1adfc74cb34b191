/* castgate mos — MOS tools. `mos inspect` reads a captured byte stream and
 * prints one JSON object per message or error (M-20, M-21). Later issues add
 * `mos serve` and `mos send` here: dispatch is on argv[1]. */
#include "commands.h"
#include "tool_util.h"

#include <castgate/castgate.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: castgate mos serve --config FILE        a MOS 4.0 endpoint (see --help)\n"
               "       castgate mos send --config FILE --peer ID --channel CH FILE...\n"
               "       castgate mos catalog                     the message table as JSON lines\n"
               "       castgate mos inspect [--encoding ucs2be|utf8] [--validate]\n"
               "                            [--max-size BYTES] [FILE|-]\n"
               "  Cuts a captured MOS TCP stream into messages and prints one JSON object\n"
               "  per message (name, mosID, ncsID, messageID, channel, profile, bytes) or\n"
               "  per rejected message / junk run (error, reason, offset). Exit status 1\n"
               "  if anything was rejected.\n");
}
static void error_line(enum cg_err err, const char *reason, uint64_t offset, size_t bytes)
{
    printf("{\"error\":");
    tool_json_string(cg_errname(err));
    printf(",\"reason\":");
    tool_json_string(reason);
    printf(",\"offset\":%" PRIu64, offset);
    if (bytes > 0)
        printf(",\"bytes\":%zu", bytes);
    printf("}\n");
}

static const char *msgid_status(enum cg_mos_msgid k)
{
    switch (k) {
    case CG_MOS_MSGID_ABSENT: return "absent";
    case CG_MOS_MSGID_OK: return "ok";
    case CG_MOS_MSGID_RANGE: return "out_of_range";
    case CG_MOS_MSGID_BAD: return "invalid";
    }
    return "invalid";
}

static void message_line(const struct cg_mos_envelope *env, const struct cg_mos_frame *fr)
{
    const struct cg_mos_msg_info *info = cg_mos_msg_lookup(env->name, strlen(env->name));
    printf("{\"message\":");
    tool_json_string(env->name);
    printf(",\"mosID\":");
    tool_json_string(env->has_mos_id ? env->mos_id : NULL);
    printf(",\"ncsID\":");
    tool_json_string(env->has_ncs_id ? env->ncs_id : NULL);
    printf(",\"messageID\":");
    tool_json_string(env->message_id_kind == CG_MOS_MSGID_ABSENT ? NULL : env->message_id);
    if (env->message_id_kind == CG_MOS_MSGID_OK)
        printf(",\"messageID_value\":%" PRIu32, env->message_id_value);
    else
        printf(",\"messageID_value\":null");
    printf(",\"messageID_status\":\"%s\"", msgid_status(env->message_id_kind));
    if (info != NULL) {
        printf(",\"channel\":\"%s\",\"profile\":", cg_mos_channel_name(info->channels));
        if (info->profile >= 0)
            printf("%d", info->profile);
        else
            printf("null");
        printf(",\"removed_in_4\":%s,\"known\":true", info->removed_in_4 ? "true" : "false");
    } else {
        printf(",\"channel\":null,\"profile\":null,\"removed_in_4\":null,\"known\":false");
    }
    printf(",\"offset\":%" PRIu64 ",\"bytes\":%zu}\n", fr->offset, fr->len);
}

struct opts {
    enum cg_mos_encoding enc;
    bool validate;
    size_t max;
    const char *file;
};

/* One framed message: envelope, optional full check, one JSON line.
 * Returns false if it was rejected. */
static bool one_message(const struct opts *o, const struct cg_mos_frame *fr)
{
    struct cg_mos_envelope env;
    const char *why = NULL;
    enum cg_err rc = cg_mos_envelope_parse(o->enc, fr->data, fr->len, &env, &why);
    if (rc != CG_OK) {
        error_line(rc, why != NULL ? why : cg_strerror(rc), fr->offset, fr->len);
        return false;
    }
    if (o->validate) {
        uint64_t at = 0;
        rc = cg_mos_validate(o->enc, fr->data, fr->len, &at);
        if (rc == CG_EXML) {
            error_line(rc, "message is not well-formed XML", fr->offset + at, fr->len);
            return false;
        }
        if (rc != CG_OK) {
            error_line(rc, "root must hold exactly one message element", fr->offset, fr->len);
            return false;
        }
    }
    message_line(&env, fr);
    return true;
}

/* Drains the framer; returns the number of rejections. */
static unsigned drain(const struct opts *o, struct cg_mos_framer *f)
{
    unsigned bad = 0;
    struct cg_mos_frame fr;
    for (;;) {
        enum cg_err rc = cg_mos_framer_next(f, &fr);
        if (rc == CG_EAGAIN)
            return bad;
        if (rc == CG_OK) {
            bad += !one_message(o, &fr);
        } else if (rc == CG_EJUNK) {
            if (fr.len == 0)
                continue; /* a run begins; it is reported with its length when it ends */
            error_line(rc, "junk between messages (not whitespace or a <mos> element): skipped",
                       fr.offset, fr.len);
            bad++;
        } else if (rc == CG_ETOOBIG) {
            char why[96];
            snprintf(why, sizeof(why), "message larger than the %zu-byte maximum; skipped",
                     o->max);
            error_line(rc, why, fr.offset, 0);
            bad++;
        } else {
            error_line(rc, cg_strerror(rc), fr.offset, 0);
            return bad + 1;
        }
    }
}

static int inspect(const struct opts *o)
{
    FILE *in = stdin;
    if (o->file != NULL && strcmp(o->file, "-") != 0) {
        in = fopen(o->file, "rb");
        if (in == NULL) {
            fprintf(stderr, "castgate mos inspect: %s: %s\n", o->file, strerror(errno));
            return 1;
        }
    }
    struct cg_mos_framer *f = NULL;
    if (cg_mos_framer_new(o->enc, o->max, &f) != CG_OK) {
        fprintf(stderr, "castgate mos inspect: out of memory\n");
        if (in != stdin)
            fclose(in);
        return 1;
    }
    static uint8_t chunk[65536];
    unsigned bad = 0;
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
        if (cg_mos_framer_feed(f, chunk, n) != CG_OK) {
            fprintf(stderr, "castgate mos inspect: out of memory\n");
            bad++;
            break;
        }
        bad += drain(o, f);
    }
    bool read_error = ferror(in) != 0;
    struct cg_mos_frame fr;
    enum cg_err rc = cg_mos_framer_finish(f, &fr);
    if (rc == CG_EAGAIN)
        error_line(rc, "stream ended inside a message", fr.offset, 0);
    else if (rc == CG_EJUNK)
        error_line(rc, "stream ended in junk or markup that is not a message", fr.offset,
                   fr.len);
    else if (rc == CG_EENCODING)
        error_line(rc, "stream ended on an odd byte (UTF-16BE)", fr.offset, 0);
    bad += rc != CG_OK;
    if (read_error)
        fprintf(stderr, "castgate mos inspect: read error\n");
    cg_mos_framer_free(f);
    if (in != stdin)
        fclose(in);
    fflush(stdout);
    return bad > 0 || read_error ? 1 : 0;
}

static int cmd_inspect(int argc, char **argv)
{
    struct opts o = {CG_MOS_UCS2BE, false, 0, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--validate") == 0) {
            o.validate = true;
        } else if (strcmp(a, "--encoding") == 0 && i + 1 < argc) {
            const char *e = argv[++i];
            if (strcmp(e, "ucs2be") == 0 || strcmp(e, "utf16be") == 0)
                o.enc = CG_MOS_UCS2BE;
            else if (strcmp(e, "utf8") == 0 || strcmp(e, "utf-8") == 0)
                o.enc = CG_MOS_UTF8;
            else {
                fprintf(stderr, "castgate mos inspect: unknown encoding '%s'\n", e);
                return 2;
            }
        } else if (strcmp(a, "--max-size") == 0 && i + 1 < argc) {
            char *end = NULL;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (end == NULL || *end != 0 || v == 0 || v > SIZE_MAX) {
                fprintf(stderr, "castgate mos inspect: bad --max-size\n");
                return 2;
            }
            o.max = (size_t)v;
        } else if (a[0] == '-' && a[1] != 0) {
            usage(stderr);
            return 2;
        } else if (o.file == NULL) {
            o.file = a;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (o.max == 0)
        o.max = CG_MOS_DEFAULT_MAX_MESSAGE;
    return inspect(&o);
}

int cmd_mos(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "catalog") == 0)
        return cmd_mos_catalog(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_mos_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "send") == 0)
        return cmd_mos_send(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc - 1, argv + 1);
    fprintf(stderr, "castgate mos: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
