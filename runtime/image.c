/* Resizing, cropping and normalising 8-bit images; PPM/PGM parsing. */
#include "image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#define PREC_BITS 22 /* Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2 */
#define MAX_SIDE 65535

static int ksize_for(double src_len, int out_len)
{
    double scale = (double)(float)src_len / out_len, filterscale = scale < 1.0 ? 1.0 : scale;
    return (int)ceil(filterscale) * 2 + 1;
}

size_t pithrt_image_resize_scratch(int w, int h, int c, int out_w, int out_h)
{
    if (w <= 0 || h <= 0 || c <= 0 || out_w <= 0 || out_h <= 0)
        return 0;
    size_t kh = (size_t)ksize_for(w, out_w), kv = (size_t)ksize_for(h, out_h);
    size_t ints = (size_t)out_w * (kh + 2) + (size_t)out_h * (kv + 2) + (size_t)out_w * c;
    return ints * sizeof(int32_t) + (size_t)out_w * h * c + 64;
}

/* One axis's filter: for each output position, the first source index, the
 * count, and ksize fixed-point weights. The double arithmetic is Pillow's
 * precompute_coeffs, step for step, so that the rounded weights agree. */
static int coeffs(int in_size, float in0, float in1, int out_size, int32_t *bounds, int32_t *kk, int ksize)
{
    /* Pillow's box is float: its difference is rounded to float */
    double scale = (double)(float)(in1 - in0) / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale, ss = 1.0 / filterscale;
    double w[ksize > 0 ? ksize : 1];
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale, ww = 0.0;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0)
            xmin = 0;
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize)
            return -1;
        for (int x = 0; x < xmax; x++) {
            double t = fabs((x + xmin - center + 0.5) * ss);
            w[x] = t < 1.0 ? 1.0 - t : 0.0;
            ww += w[x];
        }
        int32_t *k = kk + (size_t)xx * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? (ww != 0.0 ? w[x] / ww : w[x]) : 0.0;
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PREC_BITS)) : (int32_t)(0.5 + v * (1 << PREC_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    return 0;
}

static uint8_t clip8(int32_t ss)
{
    ss >>= PREC_BITS;
    return (uint8_t)(ss < 0 ? 0 : ss > 255 ? 255 : ss);
}

static int resize_nearest(const uint8_t *src, int w, int h, int c, pithrt_box box, uint8_t *out, int out_w,
                          int out_h)
{
    /* Pillow: an affine scale, the source position stepped by repeated
     * addition from the first pixel's centre; outside the image is 0 */
    const float bx0 = (float)box.x0, by0 = (float)box.y0;
    double ax = (double)((float)box.x1 - bx0) / out_w, ay = (double)((float)box.y1 - by0) / out_h;
    double yo = by0 + ay * 0.5;
    for (int y = 0; y < out_h; y++, yo += ay) {
        int yi = yo < 0.0 ? -1 : (int)yo;
        uint8_t *o = out + (size_t)y * out_w * c;
        if (yi < 0 || yi >= h) {
            memset(o, 0, (size_t)out_w * c);
            continue;
        }
        double xo = bx0 + ax * 0.5;
        for (int x = 0; x < out_w; x++, xo += ax) {
            int xi = xo < 0.0 ? -1 : (int)xo;
            for (int ch = 0; ch < c; ch++)
                o[(size_t)x * c + ch] = (xi >= 0 && xi < w) ? src[((size_t)yi * w + xi) * c + ch] : 0;
        }
    }
    return 0;
}

int pithrt_image_resize(const uint8_t *src, int w, int h, int c, pithrt_box box, int nearest, uint8_t *out,
                        int out_w, int out_h, void *scratch)
{
    if (w <= 0 || h <= 0 || w > MAX_SIDE || h > MAX_SIDE || c < 1 || c > 4 || out_w <= 0 || out_h <= 0 ||
        out_w > MAX_SIDE || out_h > MAX_SIDE)
        return -1;
    if (!(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= w && box.y1 <= h && box.x1 > box.x0 && box.y1 > box.y0))
        return -1;
    if (nearest)
        return resize_nearest(src, w, h, c, box, out, out_w, out_h);
    const int kh = ksize_for((float)box.x1 - (float)box.x0, out_w), kv = ksize_for((float)box.y1 - (float)box.y0, out_h);
    if (kh > ksize_for(w, out_w) || kv > ksize_for(h, out_h) || !scratch)
        return -1;
    int32_t *bh = scratch, *kkh = bh + 2 * (size_t)out_w;
    int32_t *bv = kkh + (size_t)out_w * kh, *kkv = bv + 2 * (size_t)out_h;
    uint8_t *tmp = (uint8_t *)(kkv + (size_t)out_h * kv);
    if (coeffs(w, (float)box.x0, (float)box.x1, out_w, bh, kkh, kh) ||
        coeffs(h, (float)box.y0, (float)box.y1, out_h, bv, kkv, kv))
        return -1;
    const int need_h = out_w != w || box.x0 != 0 || box.x1 != out_w;
    const int need_v = out_h != h || box.y0 != 0 || box.y1 != out_h;
    /* rows of the source the vertical pass reads */
    const int y_first = bv[0], y_last = bv[2 * out_h - 2] + bv[2 * out_h - 1];
    const uint8_t *in = src;
    int in_w = w, row0 = 0;
    if (need_h) {
        for (int y = y_first; y < y_last; y++) {
            const uint8_t *s = src + (size_t)y * w * c;
            uint8_t *o = tmp + (size_t)(y - y_first) * out_w * c;
            for (int xx = 0; xx < out_w; xx++) {
                const int32_t *k = kkh + (size_t)xx * kh;
                const uint8_t *p = s + (size_t)bh[2 * xx] * c;
                const int xn = bh[2 * xx + 1];
                int32_t ss[4] = {1 << (PREC_BITS - 1), 1 << (PREC_BITS - 1), 1 << (PREC_BITS - 1),
                                 1 << (PREC_BITS - 1)};
                if (c == 3) {
                    for (int x = 0; x < xn; x++, p += 3) {
                        ss[0] += p[0] * k[x];
                        ss[1] += p[1] * k[x];
                        ss[2] += p[2] * k[x];
                    }
                } else {
                    for (int x = 0; x < xn; x++, p += c)
                        for (int ch = 0; ch < c; ch++)
                            ss[ch] += p[ch] * k[x];
                }
                for (int ch = 0; ch < c; ch++)
                    o[(size_t)xx * c + ch] = clip8(ss[ch]);
            }
        }
        in = tmp;
        in_w = out_w;
        row0 = y_first;
    }
    if (!need_v) {
        for (int y = 0; y < out_h; y++)
            memcpy(out + (size_t)y * out_w * c, in + (size_t)y * in_w * c, (size_t)out_w * c);
        return 0;
    }
    /* row by row: each source row added into the output row's sums (the
     * same integer sums as Pillow's column order, read sequentially) */
    int32_t *acc = (int32_t *)(tmp + (((size_t)out_w * (y_last - y_first) * c + 3) & ~(size_t)3));
    const size_t row = (size_t)out_w * c;
    for (int yy = 0; yy < out_h; yy++) {
        const int32_t *k = kkv + (size_t)yy * kv;
        const int ymin = bv[2 * yy] - row0, yn = bv[2 * yy + 1];
        for (size_t i = 0; i < row; i++)
            acc[i] = 1 << (PREC_BITS - 1);
        for (int y = 0; y < yn; y++) {
            const uint8_t *r = in + (size_t)(y + ymin) * in_w * c;
            const int32_t ky = k[y];
            for (size_t i = 0; i < row; i++)
                acc[i] += r[i] * ky;
        }
        uint8_t *o = out + (size_t)yy * row;
        for (size_t i = 0; i < row; i++)
            o[i] = clip8(acc[i]);
    }
    return 0;
}

void pithrt_image_shorter_side(int w, int h, int shorter, int *out_w, int *out_h)
{
    if (w <= h) {
        *out_w = shorter;
        *out_h = (int)((double)shorter * h / w);
    } else {
        *out_h = shorter;
        *out_w = (int)((double)shorter * w / h);
    }
}

/* round(d / 2) with Python's rounding (half to even), for d >= 0 */
static int half_even(int d)
{
    int q = d / 2;
    return (d % 2 == 0 || q % 2 == 0) ? q : q + 1;
}

void pithrt_image_center(int w, int h, int crop_w, int crop_h, int *x0, int *y0)
{
    *x0 = w > crop_w ? half_even(w - crop_w) : 0;
    *y0 = h > crop_h ? half_even(h - crop_h) : 0;
}

/* sizes of the prepare steps: the resized image before the crop */
void pithrt_image_resized_size(int w, int h, int shorter, int out_w, int out_h, int *rw, int *rh)
{
    if (shorter > 0) {
        pithrt_image_shorter_side(w, h, shorter, rw, rh);
        if (*rw < out_w || *rh < out_h) { /* too small to crop: take the input size itself */
            *rw = out_w > *rw ? out_w : *rw;
            *rh = out_h > *rh ? out_h : *rh;
        }
    } else {
        *rw = out_w;
        *rh = out_h;
    }
}

static void resized_size(int w, int h, const pithrt_preprocess *p, int out_w, int out_h, int *rw, int *rh)
{
    pithrt_image_resized_size(w, h, p->resize, out_w, out_h, rw, rh);
}

size_t pithrt_image_prepare_scratch(int w, int h, int src_c, const pithrt_preprocess *p, int out_w, int out_h)
{
    int rw, rh;
    resized_size(w, h, p, out_w, out_h, &rw, &rh);
    return pithrt_image_resize_scratch(w, h, src_c, rw, rh) + (size_t)rw * rh * src_c + 64;
}

int pithrt_image_prepare(const uint8_t *src, int w, int h, int src_c, const pithrt_preprocess *p, uint8_t *out,
                         int out_w, int out_h, int out_c, void *scratch)
{
    if ((src_c != 1 && src_c != 3) || (out_c != 1 && out_c != 3) || w <= 0 || h <= 0 || out_w <= 0 || out_h <= 0)
        return -1;
    int rw, rh;
    resized_size(w, h, p, out_w, out_h, &rw, &rh);
    uint8_t *resized = scratch;
    void *rs = resized + (((size_t)rw * rh * src_c + 63) & ~(size_t)63);
    const uint8_t *img = src;
    if (rw != w || rh != h) {
        pithrt_box whole = {0, 0, w, h};
        if (pithrt_image_resize(src, w, h, src_c, whole, p->nearest, resized, rw, rh, rs))
            return -1;
        img = resized;
    }
    int x0, y0;
    pithrt_image_center(rw, rh, out_w, out_h, &x0, &y0);
    for (int y = 0; y < out_h; y++) {
        const uint8_t *s = img + ((size_t)(y + y0) * rw + x0) * src_c;
        uint8_t *o = out + (size_t)y * out_w * out_c;
        for (int x = 0; x < out_w; x++, s += src_c, o += out_c) {
            if (src_c == out_c)
                memcpy(o, s, (size_t)out_c);
            else if (out_c == 3)
                o[0] = o[1] = o[2] = s[0];
            else /* Pillow's RGB to L */
                o[0] = (uint8_t)((s[0] * 19595 + s[1] * 38470 + s[2] * 7471 + 0x8000) >> 16);
        }
    }
    return 0;
}

void pithrt_image_normalize(const uint8_t *px, int w, int h, int c, const pithrt_preprocess *p, const float *mean,
                            const float *std, float *x)
{
    const size_t plane = (size_t)w * h;
    for (int ch = 0; ch < c; ch++) {
        const int src_ch = (p->bgr && c == 3) ? 2 - ch : ch;
        float *o = x + (size_t)ch * plane;
        const uint8_t *s = px + src_ch;
        for (size_t i = 0; i < plane; i++)
            o[i] = pithrt_pixel_value(s[i * c], p->keep255, mean[ch], std[ch]);
    }
}

/* PNM header: magic, then width, height, maxval as decimal numbers separated
 * by whitespace and '#' comments, then one whitespace byte. */
static int pnm_number(const uint8_t *b, size_t n, size_t *pos, long *v)
{
    size_t i = *pos;
    for (;;) {
        while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
            i++;
        if (i < n && b[i] == '#') {
            while (i < n && b[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    if (i >= n || b[i] < '0' || b[i] > '9')
        return -1;
    long x = 0;
    while (i < n && b[i] >= '0' && b[i] <= '9' && x <= 1000000)
        x = x * 10 + (b[i++] - '0');
    if (x > 1000000)
        return -1;
    *v = x;
    *pos = i;
    return 0;
}

int pithrt_pnm_parse(const uint8_t *buf, size_t n, int *w, int *h, int *c, const uint8_t **px, uint8_t **owned,
                     char *err, size_t err_len)
{
    *px = NULL;
    *owned = NULL;
    if (n < 2 || buf[0] != 'P' || (buf[1] != '5' && buf[1] != '6')) {
        snprintf(err, err_len, "not a binary PGM (P5) or PPM (P6) file");
        return -1;
    }
    size_t pos = 2;
    long W, H, maxval;
    if (pnm_number(buf, n, &pos, &W) || pnm_number(buf, n, &pos, &H) || pnm_number(buf, n, &pos, &maxval)) {
        snprintf(err, err_len, "header: width, height and maxval expected");
        return -1;
    }
    if (W < 1 || H < 1 || W > MAX_SIDE || H > MAX_SIDE) {
        snprintf(err, err_len, "header: size %ldx%ld out of range 1..%d", W, H, MAX_SIDE);
        return -1;
    }
    if (maxval < 1 || maxval > 65535) {
        snprintf(err, err_len, "header: maxval %ld out of range 1..65535", maxval);
        return -1;
    }
    if (pos >= n || !(buf[pos] == ' ' || buf[pos] == '\t' || buf[pos] == '\n' || buf[pos] == '\r')) {
        snprintf(err, err_len, "header: no whitespace before the pixels");
        return -1;
    }
    pos++;
    const int ch = buf[1] == '6' ? 3 : 1, bps = maxval > 255 ? 2 : 1;
    const size_t count = (size_t)W * H * ch;
    if (n - pos < count * bps) {
        snprintf(err, err_len, "truncated: %zu bytes of pixels, %zu expected", n - pos, count * bps);
        return -1;
    }
    if (maxval != 255) { /* rescale to 0..255 (16-bit: big-endian samples) */
        uint8_t *o = malloc(count ? count : 1);
        if (!o) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < count; i++) {
            long v = bps == 2 ? (long)buf[pos + 2 * i] << 8 | buf[pos + 2 * i + 1] : buf[pos + i];
            if (v > maxval)
                v = maxval;
            o[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
        }
        *owned = o;
        *px = o;
    } else {
        *px = buf + pos;
    }
    *w = (int)W;
    *h = (int)H;
    *c = ch;
    return 0;
}
