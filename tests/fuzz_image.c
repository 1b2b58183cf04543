/* libFuzzer on the data path's parsers. The bytes of one file:
 * - decoded as the data loader does (JPEG, PNG, PPM/PGM told apart by their
 *   first bytes), then, when they decode, prepared for a model (resize,
 *   centre crop, channel conversion) as the loader and the runtime do;
 * - after a first line "LIST", parsed as a list file (paths and labels);
 * - after "CIFAR10\n" or "CIFAR100\n", parsed as a CIFAR batch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../data/data.h"
#include "../data/image.h"
#include "../runtime/image.h"

static void image(const uint8_t *data, size_t size)
{
    pith_image im;
    int w, h, c;
    if (pith_image_probe("fuzz", data, size, &w, &h, &c) != 0)
        return;
    if (pith_image_decode("fuzz", data, size, &im) != 0)
        return;
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
}

static void list(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, data, size);
    pith_data_files f;
    if (pith_data_parse_list("/tmp/fuzz-list.txt", text, size, size & 1, &f) == 0)
        pith_data_files_free(&f);
    free(text);
}

static void cifar(const uint8_t *data, size_t size, int c100)
{
    long n = pith_cifar_records(size, c100);
    uint8_t *planes = malloc(n > 0 ? (size_t)n * 3072 : 1);
    int *labels = malloc(n > 0 ? (size_t)n * sizeof *labels : 1);
    size_t at = 0;
    if (planes && labels)
        pith_cifar_parse("fuzz", data, size, c100, planes, labels, &at);
    free(planes);
    free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 5 && !memcmp(data, "LIST\n", 5))
        list(data + 5, size - 5);
    else if (size >= 8 && !memcmp(data, "CIFAR10\n", 8))
        cifar(data + 8, size - 8, 0);
    else if (size >= 9 && !memcmp(data, "CIFAR100\n", 9))
        cifar(data + 9, size - 9, 1);
    else
        image(data, size);
    return 0;
}
