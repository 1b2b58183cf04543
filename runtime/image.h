/* 8-bit images on their way into a model: resizing, cropping, normalising,
 * and PPM/PGM files. The workbench's data loader and the board's input path
 * both call these, so a model sees the same input values on the desk and on
 * the board. No decoder lives here (the runtime depends on nothing); JPEG and
 * PNG are the workbench's (data/).
 *
 * An image is rows of w pixels of c interleaved channels (1: gray, 3: RGB),
 * the layout decoders produce. */
#ifndef PITHRT_IMAGE_H
#define PITHRT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a model's input is made from an image (stored in the .pith file and in
 * checkpoints). */
typedef struct pithrt_preprocess {
    int bgr;          /* the model takes B, G, R planes (decoded images are R, G, B) */
    int keep255;      /* pixel values enter as 0..255; otherwise divided by 255 first */
    int resize;       /* shorter side resized to this, then the centre cropped to the input's
                         size; 0: the whole image resized to the input's size */
    int nearest;      /* nearest-neighbour resampling instead of bilinear */
} pithrt_preprocess;

/* One input value: (p * scale - mean) / std with scale 1/255 (or 1 with keep255).
 * The multiplication by the float 1/255 (not a division by 255) is the
 * definition: training used it. */
static inline float pithrt_pixel_value(uint8_t p, int keep255, float mean, float std)
{
    const float v = keep255 ? (float)p : (float)p * (1.0f / 255.0f);
    return (v - mean) / std;
}

/* A crop box in source pixels (may be fractional). */
typedef struct pithrt_box {
    double x0, y0, x1, y1;
} pithrt_box;

/* Scratch bytes for pithrt_image_resize of any box of a w x h x c image into
 * out_w x out_h. */
size_t pithrt_image_resize_scratch(int w, int h, int c, int out_w, int out_h);

/* Resamples the box of src (w x h x c) into out (out_w x out_h x c).
 * Bilinear is a triangle filter widened by the shrink factor (antialiasing),
 * separable, horizontal pass first into an 8-bit intermediate, in 22-bit
 * fixed point: the arithmetic of Pillow's Image.resize(BILINEAR, box).
 * Nearest takes the pixel under each output pixel's centre (Pillow's NEAREST).
 * scratch: pithrt_image_resize_scratch bytes (bilinear only; NULL for nearest).
 * Returns 0, or -1 for sizes out of range or a box outside the image. */
int pithrt_image_resize(const uint8_t *src, int w, int h, int c, pithrt_box box, int nearest, uint8_t *out,
                        int out_w, int out_h, void *scratch);

/* Size of the image after resizing its shorter side to `shorter` (the longer
 * side scaled and truncated, as torchvision's Resize(int) does). */
void pithrt_image_shorter_side(int w, int h, int shorter, int *out_w, int *out_h);
/* The size an image is resized to before a centred out_w x out_h crop: its
 * shorter side made `shorter` (each side at least the crop's); shorter 0:
 * out_w x out_h itself. */
void pithrt_image_resized_size(int w, int h, int shorter, int out_w, int out_h, int *rw, int *rh);
/* Top-left corner of a centred crop_w x crop_h crop (torchvision's CenterCrop:
 * half the margin, rounded half to even). */
void pithrt_image_center(int w, int h, int crop_w, int crop_h, int *x0, int *y0);

/* The whole eval transform: src (w x h x src_c, src_c 1 or 3) resized and
 * cropped as p says to out_w x out_h, then converted to out_c channels (gray
 * from RGB with ITU-R 601 weights in Pillow's fixed point; gray copied to
 * RGB). out: out_w x out_h x out_c bytes, interleaved, R G B order.
 * scratch: pithrt_image_prepare_scratch bytes. Returns 0 or -1. */
size_t pithrt_image_prepare_scratch(int w, int h, int src_c, const pithrt_preprocess *p, int out_w, int out_h);
int pithrt_image_prepare(const uint8_t *src, int w, int h, int src_c, const pithrt_preprocess *p, uint8_t *out,
                         int out_w, int out_h, int out_c, void *scratch);

/* Interleaved 8-bit pixels (w x h x c) to normalised float planes (c x h x w)
 * in the model's channel order, mean and std per channel. */
void pithrt_image_normalize(const uint8_t *px, int w, int h, int c, const pithrt_preprocess *p, const float *mean,
                            const float *std, float *x);

/* PPM (P6) and PGM (P5), maxval 1..65535 (other than 255: rescaled to 0..255,
 * rounded), '#' comments allowed in the header. Parses buf[0..n) and
 * points *px into it (8-bit) or converts into *owned (16-bit; free it).
 * Returns 0, or -1 with a reason in err. */
int pithrt_pnm_parse(const uint8_t *buf, size_t n, int *w, int *h, int *c, const uint8_t **px, uint8_t **owned,
                     char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
