#define _GNU_SOURCE /* program_invocation_short_name */
#include "testutil.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

void tu_log_fn(void *user, enum cg_log_level level, const char *component, const char *message)
{
    struct tu_log *log = user;
    int n = snprintf(log->text + log->len, sizeof(log->text) - log->len, "%d %s: %s\n",
                     (int)level, component, message);
    if (n > 0 && (size_t)n < sizeof(log->text) - log->len)
        log->len += (size_t)n;
    log->lines++;
}

int tu_log_has(const struct tu_log *log, const char *needle)
{
    return strstr(log->text, needle) != NULL;
}

static const char *env_path(const char *var, const char *fallback, const char *rel)
{
    static char buf[4][4096];
    static int slot;
    const char *base = getenv(var);
    if (base == NULL)
        base = fallback;
    char *out = buf[slot++ & 3];
    snprintf(out, sizeof(buf[0]), "%s/%s", base, rel);
    return out;
}

const char *tu_src_path(const char *rel) { return env_path("CG_SOURCE_DIR", ".", rel); }
const char *tu_shared_path(const char *rel) { return env_path("CG_SHARED_DIR", "../shared", rel); }

uint8_t *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

const char *tu_basic(const char *user_pass)
{
    static char v[2][512];
    static int slot;
    char *o = v[slot++ & 1];
    strcpy(o, "Basic ");
    EVP_EncodeBlock((unsigned char *)o + 6, (const unsigned char *)user_pass,
                    (int)strlen(user_pass));
    return o;
}

uint16_t tu_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

uint16_t tu_mos2_listen_peer(struct cg_mos_endpoint *ep, const char *peer_id)
{
    struct cg_mos_peer_config *pc = NULL;
    assert_int_equal(cg_mos_peer_config_new(peer_id, &pc), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_channels(pc, CG_MOS_CH_RO), CG_OK);
    assert_int_equal(cg_mos_peer_config_set_legacy_dial(pc, "-", 0, 0, 0, CG_MOS_UTF8), CG_OK);
    uint16_t port = tu_free_port();
    assert_int_equal(cg_mos_peer_config_set_legacy_listen(pc, "127.0.0.1", 0, port, 0), CG_OK);
    assert_int_equal(cg_mos_endpoint_add_peer(ep, pc), CG_OK);
    cg_mos_peer_config_free(pc);
    return port;
}

int tu_connect_loopback(uint16_t port)
{
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(fd);
            fd = -1;
            usleep(50000);
        }
    }
    return fd;
}

int tu_dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

void tu_send_big_roreq(uint16_t port, int items)
{
    int fd = tu_connect_loopback(port);
    if (fd < 0)
        return;
    size_t cap = (size_t)items * 8 + 512, n = 0;
    char *msg = malloc(cap);
    n += (size_t)snprintf(msg, 512, "<mos><mosID>DEV</mosID><ncsID>NCS</ncsID><messageID>1"
                          "</messageID><roReq><roID>A</roID><mosExternalMetadata><mosPayload>");
    for (int i = 0; i < items; i++) {
        memcpy(msg + n, "<i>x</i>", 8);
        n += 8;
    }
    n += (size_t)snprintf(msg + n, 128, "</mosPayload></mosExternalMetadata></roReq></mos>");
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, msg + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) /* until the endpoint goes */
        ;
    free(msg);
    close(fd);
}

char *tu_printed(void (*fn)(FILE *))
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fn(f);
    long len = ftell(f);
    assert_true(len > 0);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

void tu_stderr_begin(struct tu_stderr *cap)
{
    fflush(stderr);
    cap->tmp = tmpfile();
    cap->saved = dup(2);
    assert_true(cap->tmp != NULL && cap->saved >= 0);
    assert_true(dup2(fileno(cap->tmp), 2) >= 0);
}

void tu_stderr_end(struct tu_stderr *cap, char *out, size_t size)
{
    fflush(stderr);
    dup2(cap->saved, 2);
    close(cap->saved);
    ssize_t n = pread(fileno(cap->tmp), out, size - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    fclose(cap->tmp);
}

int tu_dev_pki_dir(char *dir)
{
    if (mkdtemp(dir) == NULL)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s' --dir '%s' >/dev/null", tu_src_path("scripts/dev-pki.sh"),
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

int tu_rm_rf(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

char tu_group_dir[256];

static void group_template(void)
{
    snprintf(tu_group_dir, sizeof(tu_group_dir), "/tmp/cg-%s-XXXXXX",
             program_invocation_short_name);
}

int tu_group_pki(void **state)
{
    (void)state;
    group_template();
    return tu_dev_pki_dir(tu_group_dir);
}

int tu_group_tmp(void **state)
{
    (void)state;
    group_template();
    return mkdtemp(tu_group_dir) != NULL ? 0 : -1;
}

int tu_group_rm(void **state)
{
    (void)state;
    return tu_rm_rf(tu_group_dir);
}

struct cg_ctx *tu_ctx;
struct tu_log tu_ctx_log;

int tu_group_ctx(void **state)
{
    if (tu_group_tmp(state) != 0 || cg_ctx_new(&tu_ctx) != CG_OK)
        return -1;
    cg_ctx_set_log(tu_ctx, tu_log_fn, &tu_ctx_log, CG_LOG_DEBUG);
    return 0;
}

int tu_group_ctx_rm(void **state)
{
    cg_ctx_free(tu_ctx);
    tu_ctx = NULL;
    return tu_group_rm(state);
}

int tu_ctx_log_reset(void **state)
{
    (void)state;
    memset(&tu_ctx_log, 0, sizeof(tu_ctx_log));
    ERR_clear_error();
    return 0;
}

const char *tu_in(const char *name)
{
    static __thread char buf[16][512];
    static __thread unsigned slot;
    char *out = buf[slot++ & 15];
    snprintf(out, sizeof(buf[0]), "%s/%s", tu_group_dir, name);
    return out;
}

void tu_hash(const char *prefix, unsigned long count, const char *pw, char *out, size_t size)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    assert_non_null(cd);
    assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, salt, sizeof(salt)));
    const char *h = crypt_r(pw, salt, cd);
    assert_true(h != NULL && h[0] == '$');
    snprintf(out, size, "%s", h);
    free(cd);
}

void tu_users_file(const char *path, const char *prefix, const char *user, const char *pw)
{
    char h[256];
    tu_hash(prefix, 0, pw, h, sizeof(h));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s:%s\n", user, h);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
}
