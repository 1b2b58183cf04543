/* CRC-32 (IEEE 802.3, zlib's), bitwise: the runtime checks two short spans
 * per load, so a table would buy nothing. */
#include "internal.h"

uint32_t pithrt_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}
