/* JPEG with libjpeg-turbo's TurboJPEG API: the same library and defaults
 * (accurate integer IDCT, smooth chroma upsampling) as Pillow, so pixels agree. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "../core/error.h"
#include "image.h"

/* a JPEG ends with the end-of-image marker; without it the file was cut */
static int cut_short(const uint8_t *buf, size_t n)
{
    return n < 2 || buf[n - 2] != 0xFF || buf[n - 1] != 0xD9;
}

static int fail(tjhandle tj, int code, const char *name, const char *what)
{
    int rc = pith_error(code, "%s: %s JPEG (%s)", name, what, tj ? tjGetErrorStr2(tj) : "no decoder");
    if (tj)
        tjDestroy(tj);
    return rc;
}

int pith_jpeg_decode(const char *name, const uint8_t *buf, size_t n, int probe_only, pith_image *out)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return pith_error(PITH_ENOMEM, "%s: cannot start the JPEG decoder", name);
    int w, h, subsamp, cs;
    if (tjDecompressHeader3(tj, buf, (unsigned long)n, &w, &h, &subsamp, &cs))
        return fail(tj, PITH_EFORMAT, name, cut_short(buf, n) ? "truncated" : "unreadable");
    if (w < 1 || h < 1 || (int64_t)w * h > PITH_IMAGE_MAX_PIXELS) {
        tjDestroy(tj);
        return pith_error(PITH_EFORMAT, "%s: JPEG of %dx%d pixels (at most %lld accepted)", name, w, h,
                          (long long)PITH_IMAGE_MAX_PIXELS);
    }
    const int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK, gray = cs == TJCS_GRAY;
    out->w = w;
    out->h = h;
    out->c = gray ? 1 : 3;
    if (probe_only) {
        tjDestroy(tj);
        return PITH_OK;
    }
    const int pf = gray ? TJPF_GRAY : cmyk ? TJPF_CMYK : TJPF_RGB, bpp = tjPixelSize[pf];
    uint8_t *px = malloc((size_t)w * h * bpp);
    if (!px) {
        tjDestroy(tj);
        return pith_error(PITH_ENOMEM, "%s: out of memory for %dx%d pixels", name, w, h);
    }
    if (tjDecompress2(tj, buf, (unsigned long)n, px, w, 0, h, pf, 0)) {
        /* a warning (corrupt but decodable data) is accepted, as Pillow
         * does, unless the data ended early: a truncated file is an error */
        const char *msg = tjGetErrorStr2(tj);
        const int cut = strstr(msg, "Premature end") != NULL;
        if (tjGetErrorCode(tj) != TJERR_WARNING || cut) {
            free(px);
            return fail(tj, PITH_EFORMAT, name, cut || cut_short(buf, n) ? "truncated" : "corrupt");
        }
    }
    tjDestroy(tj);
    if (cmyk) { /* Adobe CMYK is stored inverted: R = C * K / 255 on the stored values */
        const size_t count = (size_t)w * h;
        for (size_t i = 0; i < count; i++) {
            const uint8_t *s = px + 4 * i;
            const int k = s[3];
            for (int ch = 0; ch < 3; ch++) {
                int t = s[ch] * k + 128;
                px[3 * i + ch] = (uint8_t)((t + (t >> 8)) >> 8);
            }
        }
    }
    out->px = px;
    return PITH_OK;
}
