/* IDX files (the MNIST format), plain or gzip-compressed, read with zlib.
 * Header: two zero bytes, a type byte (0x08 = unsigned byte, the only type
 * image/label sets use), the number of dimensions, then each dimension as a
 * big-endian uint32; then the data. */
#ifndef PITH_IDX_H
#define PITH_IDX_H

#include <stddef.h>
#include <stdint.h>

#define PITH_IDX_MAX_DIMS 4
/* Largest payload accepted (1 GiB): a header claiming more is corrupt. */
#define PITH_IDX_MAX_BYTES ((size_t)1 << 30)

typedef struct pith_idx {
    int ndim;
    uint32_t dims[PITH_IDX_MAX_DIMS];
    size_t count;   /* product of dims */
    uint8_t *data;
} pith_idx;

/* Reads a whole IDX file. Rejects a wrong magic, an unsupported type, a
 * truncated payload and trailing bytes, with the file name in the message. */
int pith_idx_read(const char *path, pith_idx *out);
void pith_idx_free(pith_idx *x);
/* Writes uint8 IDX data, gzip-compressed when gz is non-zero (used by tests
 * and for exporting subsets). Written to a temporary name, then renamed. */
int pith_idx_write(const char *path, const uint8_t *data, int ndim, const uint32_t *dims, int gz);

#endif
