/* Data movement: channel shuffle and channel slices, for any element size
 * (f32, or s8 codes that keep their input's quantization). */
#include <string.h>

#include "kernels.h"

void pithrt_channel_shuffle_ref(const void *x, void *y, int channels, size_t plane, int groups, size_t elem)
{
    const int k = channels / groups;
    const size_t bytes = plane * elem;
    for (int c = 0; c < channels; c++)
        memcpy((char *)y + (size_t)((c % k) * groups + c / k) * bytes, (const char *)x + (size_t)c * bytes, bytes);
}

void pithrt_slice_ref(const void *x, void *y, int start, int count, size_t plane, size_t elem)
{
    memcpy(y, (const char *)x + (size_t)start * plane * elem, (size_t)count * plane * elem);
}
