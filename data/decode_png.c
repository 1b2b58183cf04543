/* PNG with libpng: every color type and bit depth reduced to 8-bit gray or
 * RGB. libpng reports errors by longjmp, caught here. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "image.h"

typedef struct png_src {
    const uint8_t *buf;
    size_t n, pos;
    char err[160];
} png_src;

static void on_error(png_structp p, png_const_charp msg)
{
    png_src *s = png_get_io_ptr(p);
    snprintf(s->err, sizeof s->err, "%s", msg);
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg;
}

static void on_read(png_structp p, png_bytep data, size_t len)
{
    png_src *s = png_get_io_ptr(p);
    if (len > s->n - s->pos) {
        snprintf(s->err, sizeof s->err, "truncated (data ends at byte %zu)", s->n);
        png_longjmp(p, 1);
    }
    memcpy(data, s->buf + s->pos, len);
    s->pos += len;
}

int pith_png_decode(const char *name, const uint8_t *buf, size_t n, int probe_only, pith_image *out)
{
    png_src src = {buf, n, 0, ""};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_read_struct(&p, NULL, NULL);
        return pith_error(PITH_ENOMEM, "%s: cannot start the PNG decoder", name);
    }
    /* volatile: set after setjmp and read after a longjmp */
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(px);
        free(rows);
        return pith_error(PITH_EFORMAT, "%s: bad PNG (%s)", name, src.err[0] ? src.err : "unreadable");
    }
    png_set_read_fn(p, &src, on_read);
    png_set_user_limits(p, 65535, 65535);
    png_read_info(p, info);
    png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
    const int type = png_get_color_type(p, info), depth = png_get_bit_depth(p, info);
    if ((int64_t)w * h > PITH_IMAGE_MAX_PIXELS) {
        png_destroy_read_struct(&p, &info, NULL);
        return pith_error(PITH_EFORMAT, "%s: PNG of %ux%u pixels (at most %lld accepted)", name, w, h,
                          (long long)PITH_IMAGE_MAX_PIXELS);
    }
    const int gray = !(type & PNG_COLOR_MASK_COLOR) && type != PNG_COLOR_TYPE_PALETTE;
    out->w = (int)w;
    out->h = (int)h;
    out->c = gray ? 1 : 3;
    if (probe_only) {
        png_destroy_read_struct(&p, &info, NULL);
        return PITH_OK;
    }
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(p);
    if (gray && depth < 8)
        png_set_expand_gray_1_2_4_to_8(p);
    if (depth == 16)
        png_set_strip_16(p); /* the high byte */
    if (type & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(p);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    const size_t row = png_get_rowbytes(p, info);
    if (row != (size_t)w * out->c) {
        snprintf(src.err, sizeof src.err, "rows of %zu bytes after conversion, %zu expected", row,
                 (size_t)w * out->c);
        png_longjmp(p, 1);
    }
    px = malloc(row * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!px || !rows) {
        snprintf(src.err, sizeof src.err, "out of memory for %ux%u pixels", w, h);
        png_longjmp(p, 1);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + y * row;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    out->px = px;
    return PITH_OK;
}
