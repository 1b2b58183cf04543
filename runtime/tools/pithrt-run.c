/* pithrt-run: run a .pith model on the board.
 *   pithrt-run MODEL.pith --self-test     run the embedded golden input, compare with the golden output
 *   pithrt-run MODEL.pith --raw FILE      FILE: the input as raw float32 (or --u8: raw pixels); prints the top 5
 *   pithrt-run MODEL.pith --image FILE    a PPM (P6) or PGM (P5) of any size, through the model's own
 *                                         preprocessing (resize, crop, channels, normalisation); top 5
 *   pithrt-run MODEL.pith --rgb FILE WxH  raw interleaved RGB bytes of a W x H image (--gray: one byte a
 *                                         pixel), through the model's own preprocessing; top 5 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pithrt.h"

static int usage(void)
{
    fprintf(stderr, "usage: pithrt-run MODEL.pith (--self-test | --raw FILE [--u8] | --image FILE.ppm|.pgm |\n"
                    "                                 --rgb FILE WxH | --gray FILE WxH)\n");
    return 2;
}

static void print_top5(const pithrt_model *m, float *out, size_t nout)
{
    for (int r = 0; r < 5 && r < (int)nout; r++) {
        int best = -1;
        for (size_t i = 0; i < nout; i++)
            if (!isnan(out[i]) && (best < 0 || out[i] > out[best]))
                best = (int)i;
        char label[64];
        pithrt_label(m, best, label, sizeof label);
        printf("%d. class %d %s  %.4f\n", r + 1, best, label, (double)out[best]);
        out[best] = NAN;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *path = argv[1], *raw = NULL, *image = NULL;
    int self_test = 0, u8 = 0, img_w = 0, img_h = 0, img_c = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--self-test"))
            self_test = 1;
        else if (!strcmp(argv[i], "--raw") && i + 1 < argc)
            raw = argv[++i];
        else if (!strcmp(argv[i], "--u8"))
            u8 = 1;
        else if (!strcmp(argv[i], "--image") && i + 1 < argc)
            image = argv[++i];
        else if ((!strcmp(argv[i], "--rgb") || !strcmp(argv[i], "--gray")) && i + 2 < argc) {
            img_c = argv[i][2] == 'r' ? 3 : 1;
            image = argv[++i];
            if (sscanf(argv[++i], "%dx%d", &img_w, &img_h) != 2 || img_w < 1 || img_h < 1 || img_w > 65535 ||
                img_h > 65535)
                return usage();
        } else
            return usage();
    }
    if (!self_test && !raw && !image)
        return usage();
    char msg[256];
    void *buf;
    size_t len;
    if (pithrt_file_read(path, &buf, &len, msg, sizeof msg)) {
        fprintf(stderr, "pithrt-run: %s\n", msg);
        return 1;
    }
    pithrt_model m;
    if (pithrt_model_load(buf, len, &m)) {
        fprintf(stderr, "pithrt-run: %s: %s\n", path, pithrt_model_error(&m));
        free(buf);
        return 1;
    }
    size_t bytes = pithrt_arena_bytes(&m, 1), nin = pithrt_input_size(&m), nout = pithrt_output_size(&m);
    void *arena = malloc(bytes);
    float *in = malloc(nin * sizeof *in), *out = malloc(nout * sizeof *out);
    pithrt_ctx c;
    int rc = !arena || !in || !out ? 1 : 0;
    if (!rc && pithrt_ctx_init(&c, &m, arena, bytes, 1)) {
        fprintf(stderr, "pithrt-run: %s\n", pithrt_ctx_error(&c));
        rc = 1;
    }
    if (!rc && self_test) {
        if (m.golden_in < 0) {
            fprintf(stderr, "pithrt-run: %s has no golden vectors (export with --with-golden)\n", path);
            rc = 1;
        } else {
            const float *gi = (const float *)(const void *)(m.blob + m.tensors[m.golden_in].offset);
            const float *go = (const float *)(const void *)(m.blob + m.tensors[m.golden_out].offset);
            pithrt_set_input_f32(&c, gi, nin);
            pithrt_run(&c);
            pithrt_output_f32(&c, out, nout);
            /* int8 models must match exactly; float ones within 1e-5 relative */
            int exact = m.tensors[m.output].dtype == PITHRT_S8, bad = 0;
            double worst = 0;
            for (size_t i = 0; i < nout; i++) {
                double d = fabs((double)out[i] - go[i]), tol = exact ? 0 : 1e-5 * fmax(1.0, fabs(go[i]));
                worst = d > worst ? d : worst;
                bad += d > tol;
            }
            printf("self-test %s: %zu outputs, %d differ, largest difference %.3g (%s)\n", bad ? "FAILED" : "passed",
                   nout, bad, worst, exact ? "int8: exact" : "fp32: 1e-5 relative");
            rc = bad ? 1 : 0;
        }
    } else if (!rc && image) {
        /* the image's bytes: a PPM/PGM file, or raw pixels of the size given */
        void *file;
        size_t n;
        const uint8_t *px = NULL;
        uint8_t *owned = NULL;
        if (pithrt_file_read(image, &file, &n, msg, sizeof msg)) {
            fprintf(stderr, "pithrt-run: %s\n", msg);
            rc = 1;
        } else if (!img_c && pithrt_pnm_parse(file, n, &img_w, &img_h, &img_c, &px, &owned, msg, sizeof msg)) {
            fprintf(stderr, "pithrt-run: %s: %s\n", image, msg);
            rc = 1;
        } else if (!px && n != (size_t)img_w * img_h * img_c) {
            fprintf(stderr, "pithrt-run: %s: %zu bytes, %zu expected for %dx%d\n", image, n,
                    (size_t)img_w * img_h * img_c, img_w, img_h);
            rc = 1;
        }
        if (!rc && !px)
            px = file;
        void *scratch = rc ? NULL : malloc(pithrt_input_image_scratch(&m, img_w, img_h, img_c));
        if (!rc && (!scratch || pithrt_set_input_image(&c, px, img_w, img_h, img_c, scratch))) {
            fprintf(stderr, "pithrt-run: %s: %s\n", image, scratch ? pithrt_ctx_error(&c) : "out of memory");
            rc = 1;
        }
        if (!rc) {
            pithrt_run(&c);
            pithrt_output_f32(&c, out, nout);
            print_top5(&m, out, nout);
        }
        free(scratch);
        free(owned);
        free(file);
    } else if (!rc) {
        FILE *f = fopen(raw, "rb");
        size_t want = u8 ? nin : nin * sizeof(float);
        unsigned char *data = malloc(want);
        if (!f || !data || fread(data, 1, want, f) != want) {
            fprintf(stderr, "pithrt-run: %s: cannot read %zu bytes\n", raw, want);
            rc = 1;
        }
        if (f)
            fclose(f);
        if (!rc) {
            if (u8)
                pithrt_set_input_u8(&c, data, nin);
            else
                pithrt_set_input_f32(&c, (const float *)(const void *)data, nin);
            pithrt_run(&c);
            pithrt_output_f32(&c, out, nout);
            print_top5(&m, out, nout);
        }
        free(data);
    }
    free(arena);
    free(in);
    free(out);
    pithrt_model_free(&m);
    free(buf);
    return rc;
}
