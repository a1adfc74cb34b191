/* See faketransport.h. */
#include "faketransport.h"

#include <stdlib.h>
#include <string.h>

static enum cg_err ft_write(void *t, enum cg_mos_encoding to, const char *xml, size_t len)
{
    struct ft_fake *k = t;
    assert_int_equal(to, CG_MOS_UTF8); /* text frames */
    assert_true(k->n < FT_MAX);
    k->w[k->n] = malloc(len + 1);
    assert_non_null(k->w[k->n]);
    memcpy(k->w[k->n], xml, len);
    k->w[k->n++][len] = '\0';
    return CG_OK;
}

static void ft_close(void *t, uint16_t code, const char *why)
{
    (void)t, (void)code, (void)why;
}

static const char *ft_addr(const void *t)
{
    (void)t;
    return "fake:1";
}

const struct mos4_transport_ops ft_ops = {
    .name = "fake", .write = ft_write, .close = ft_close, .peer_addr = ft_addr};

size_t ft_written(const struct ft_fake *k, const char *needle)
{
    size_t c = 0;
    for (size_t i = 0; i < k->n; i++)
        c += strstr(k->w[i], needle) != NULL;
    return c;
}

void ft_clear(struct ft_fake *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->w[i]);
    k->n = 0;
}
