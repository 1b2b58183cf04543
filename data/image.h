/* Image files in: JPEG (libjpeg-turbo), PNG (libpng), PPM/PGM (the runtime's
 * parser), told apart by their first bytes, not their names. A decoded image
 * is 8-bit, w x h x c interleaved, c = 1 (gray) or 3 (RGB):
 * - gray stays gray (1 channel); RGB, RGBA, palette and CMYK become RGB;
 *   alpha is dropped (not composited), as Pillow's convert("RGB") does;
 * - 16-bit PNG samples keep their high byte (Pillow's 16-bit RGB rawmode);
 * - CMYK JPEGs are converted (Adobe's inverted CMYK, as Photoshop writes it);
 * - EXIF orientation is not applied (nor is it by Pillow's Image.open or
 *   torchvision's ImageFolder): pixels are used as stored. */
#ifndef PITH_DATA_IMAGE_H
#define PITH_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Largest image accepted, in pixels (a larger header is a decompression bomb
 * or corrupt), and largest file. */
#define PITH_IMAGE_MAX_PIXELS ((int64_t)1 << 27)
#define PITH_IMAGE_MAX_FILE ((size_t)1 << 28)

typedef struct pith_image {
    int w, h, c;
    uint8_t *px;
} pith_image;

/* Decodes buf[0..n); name (a path) is for messages. Reasons name the file:
 * "x.jpg: truncated JPEG (premature end of data)". */
int pith_image_decode(const char *name, const uint8_t *buf, size_t n, pith_image *out);
/* Only the header: size and channels after decoding. */
int pith_image_probe(const char *name, const uint8_t *buf, size_t n, int *w, int *h, int *c);
/* path names a regular file. */
int pith_is_file(const char *path);
/* The whole file into *buf (free it). */
int pith_file_read(const char *path, size_t max, uint8_t **buf, size_t *n);
int pith_image_read(const char *path, pith_image *out);
void pith_image_free(pith_image *im);

/* The decoders (one file each); buf is known to start with their magic. */
int pith_jpeg_decode(const char *name, const uint8_t *buf, size_t n, int probe_only, pith_image *out);
int pith_png_decode(const char *name, const uint8_t *buf, size_t n, int probe_only, pith_image *out);

#endif
