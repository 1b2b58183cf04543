/* libFuzzer target for the runtime's loader: any byte string must be either
 * refused with a message or loaded, and a loaded model must run in the arena
 * it asked for without touching memory outside it (ASan and UBSan watch).
 *   make fuzz            (clang -fsanitize=fuzzer,address,undefined)
 * The corpus starts from exported models (see the Makefile's fuzz target). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/pithrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an aligned copy, as a caller would read a file into malloc'd memory */
    void *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    pithrt_model m;
    if (pithrt_model_load(buf, size, &m) == PITHRT_OK) {
        size_t bytes = pithrt_arena_bytes(&m, 1);
        void *arena = bytes < ((size_t)64 << 20) ? malloc(bytes) : NULL;
        pithrt_ctx c;
        if (arena && pithrt_ctx_init(&c, &m, arena, bytes, 1) == PITHRT_OK) {
            size_t n = pithrt_input_size(&m);
            float *x = n < ((size_t)16 << 20) ? calloc(n, sizeof *x) : NULL;
            if (x && pithrt_set_input_f32(&c, x, n) == PITHRT_OK)
                pithrt_run(&c);
            free(x);
        }
        free(arena);
        pithrt_model_free(&m);
    }
    free(buf);
    return 0;
}
