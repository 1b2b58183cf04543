/* libFuzzer on the image path: the bytes of one file decoded as the data
 * loader does (JPEG, PNG, PPM/PGM told apart by their first bytes), then,
 * when they decode, prepared for a model (resize, centre crop, channel
 * conversion) as the loader and the runtime's input path do. */
#include <stdint.h>
#include <stdlib.h>

#include "../data/image.h"
#include "../runtime/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pith_image im;
    int w, h, c;
    if (pith_image_probe("fuzz", data, size, &w, &h, &c) != 0)
        return 0;
    if (pith_image_decode("fuzz", data, size, &im) != 0)
        return 0;
    if ((int64_t)im.w * im.h <= 1 << 20) {
        const pithrt_preprocess pre[2] = {{0, 0, 0, 0}, {1, 0, 19, 1}};
        for (int k = 0; k < 2; k++)
            for (int out_c = 1; out_c <= 3; out_c += 2) {
                void *scratch = malloc(pithrt_image_prepare_scratch(im.w, im.h, im.c, &pre[k], 17, 13));
                uint8_t out[17 * 13 * 3];
                if (scratch)
                    pithrt_image_prepare(im.px, im.w, im.h, im.c, &pre[k], out, 17, 13, out_c, scratch);
                free(scratch);
            }
    }
    pith_image_free(&im);
    return 0;
}
