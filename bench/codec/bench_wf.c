/* bench_codec SHARED_DIR --wf: castgate's well-formedness check (wf.c,
 * cg_mos_check) against what cg_mos_validate ran before it (cg_mos_scan then
 * libxml2's SAX2 parser, cg__mos_validate_libxml2), on the 2 MB roCreate
 * and on every message fixture, each in UTF-8 and UTF-16BE. Prints one JSON
 * object per input: MB/s of input bytes for both, ms per message, and the
 * time ratio libxml2/castgate, in CPU time of this thread (the machine is
 * shared; wall time there measures the load). Rounds of both interleave;
 * the best of 7 counts. */
#include <castgate/castgate.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mos/mos.h"

int bench_wf(const char *shared);

struct wf_input {
    const char *name;
    enum cg_mos_encoding enc;
    uint8_t *msg[256];
    size_t len[256];
    size_t count, bytes;
};

static double wf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_file(struct wf_input *in, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL || in->count == 256)
        exit(11);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n)
        exit(12);
    fclose(f);
    in->msg[in->count] = p;
    in->len[in->count++] = (size_t)n;
    in->bytes += (size_t)n;
}

static void add_dir(struct wf_input *in, const char *dir)
{
    DIR *h = opendir(dir);
    if (h == NULL)
        exit(13);
    struct dirent *e;
    while ((e = readdir(h)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0 || strstr(e->d_name, "large"))
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        add_file(in, path);
    }
    closedir(h);
}

static void run_castgate(const struct wf_input *in)
{
    for (size_t m = 0; m < in->count; m++)
        if (cg_mos_check(in->enc, in->msg[m], in->len[m], NULL, NULL, NULL) == CG_EXML)
            exit(14);
}

static void run_libxml2(const struct wf_input *in)
{
    for (size_t m = 0; m < in->count; m++)
        if (cg_mos_scan(in->enc, in->msg[m], in->len[m], NULL, NULL, NULL) != CG_OK ||
            cg__mos_validate_libxml2(in->enc, in->msg[m], in->len[m], NULL) == CG_EXML)
            exit(15);
}

static void measure(const struct wf_input *in)
{
    void (*fn[2])(const struct wf_input *) = {run_castgate, run_libxml2};
    double best[2] = {1e30, 1e30};
    for (int round = 0; round < 7; round++)
        for (int k = 0; k < 2; k++) {
            unsigned reps = 0;
            double t0 = wf_now(), t;
            do {
                fn[k](in);
                reps++;
                t = wf_now() - t0;
            } while (t < 0.2);
            if (t / reps < best[k])
                best[k] = t / reps;
        }
    printf("{\"input\":\"%s\",\"messages\":%zu,\"bytes\":%zu,\"castgate_cpu_mb_s\":%.1f,"
           "\"libxml2_cpu_mb_s\":%.1f,\"castgate_cpu_ms_per_msg\":%.4f,\"libxml2_cpu_ms_per_msg\":%.4f,"
           "\"libxml2_time_vs_castgate\":%.2f}\n",
           in->name, in->count, in->bytes, (double)in->bytes / best[0] / 1e6,
           (double)in->bytes / best[1] / 1e6, best[0] * 1e3 / (double)in->count,
           best[1] * 1e3 / (double)in->count, best[1] / best[0]);
    fflush(stdout);
}

int bench_wf(const char *shared)
{
    cg__mos_validate_libxml2_init();
    static const char *small[] = {"spec", "spec/legacy", "spec/plugin", "edge"};
    for (int u = 0; u < 2; u++) {
        char path[2048];
        struct wf_input *big = calloc(1, sizeof(*big)), *few = calloc(1, sizeof(*few));
        big->enc = few->enc = u ? CG_MOS_UCS2BE : CG_MOS_UTF8;
        big->name = u ? "roCreate-2MB-ucs2be" : "roCreate-2MB-utf8";
        few->name = u ? "fixtures-ucs2be" : "fixtures-utf8";
        snprintf(path, sizeof(path), "%s/fixtures/mos/edge/%sroCreate-large-2MB.xml", shared,
                 u ? "ucs2be/" : "");
        add_file(big, path);
        for (size_t d = 0; d < 4; d++) {
            const char *slash = strchr(small[d], '/');
            if (u && slash != NULL)
                snprintf(path, sizeof(path), "%s/fixtures/mos/spec/ucs2be%s", shared, slash);
            else
                snprintf(path, sizeof(path), "%s/fixtures/mos/%s%s", shared, small[d],
                         u ? "/ucs2be" : "");
            add_dir(few, path);
        }
        measure(big);
        measure(few);
        for (int k = 0; k < 2; k++) {
            struct wf_input *in = k ? few : big;
            for (size_t m = 0; m < in->count; m++)
                free(in->msg[m]);
            free(in);
        }
    }
    return 0;
}
