/* Bringing images in (data/, runtime/image.c): decoded pixels against
 * Pillow's, resizes against Pillow's, CIFAR batches read back exactly, a
 * class-folder tree equal to the IDX files of the same images, list files,
 * bad files named, the mapped cache, the preprocessing stored in checkpoints
 * and .pith files, and training from PNGs bit-identical to training from IDX.
 * Fixtures: tests/images/make_fixtures.py, into $PITH_IMAGES (the expected
 * pixels are Pillow's, computed when the fixtures are made). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../core/checkpoint.h"
#include "../core/zoo.h"
#include "../data/data.h"
#include "../data/image.h"
#include "../export/bench.h"
#include "../experiments/workbench.h"
#include "../runtime/image.h"
#include "../runtime/pithrt.h"
#include "testutil.h"

static char fx[1024];

static const char *fix(const char *name)
{
    static char buf[4][2048];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", fx, name);
    return buf[k];
}

static int setup(void **state)
{
    (void)state;
    const char *d = getenv("PITH_IMAGES");
    /* absolute: list files resolve relative paths against their own folder */
    if (!realpath(d ? d : "build/fixtures/images", fx))
        snprintf(fx, sizeof fx, "%s", d ? d : "build/fixtures/images");
    struct stat st;
    if (stat(fix("odd.txt"), &st) != 0) {
        fprintf(stderr, "no image fixtures in %s (make them: /usr/bin/python3 tests/images/make_fixtures.py DIR)\n", fx);
        return -1;
    }
    return 0;
}

static uint8_t *read_u8(const char *path, size_t want)
{
    size_t n = 0;
    uint8_t *b = tu_read_file(path, &n);
    if (!b || n != want)
        fail_msg("%s: %zu bytes, %zu expected", path, n, want);
    return b;
}

/* every odd file decodes to Pillow's pixels: exactly (PNG, PPM, PGM) or
 * within tol (JPEG, where the IDCT may round differently) */
static void test_decode_against_pillow(void **state)
{
    (void)state;
    FILE *f = fopen(fix("odd.txt"), "r");
    assert_non_null(f);
    char name[128];
    int w, h, c, tol, cases = 0;
    while (fscanf(f, "%127s %d %d %d %d", name, &w, &h, &c, &tol) == 5) {
        char path[600];
        snprintf(path, sizeof path, "odd/%s", name);
        pith_image im;
        CHECK_OK(pith_image_read(fix(path), &im));
        if (im.w != w || im.h != h || im.c != c)
            fail_msg("%s: %dx%dx%d, Pillow %dx%dx%d", name, im.w, im.h, im.c, w, h, c);
        snprintf(path, sizeof path, "odd/%s.u8", name);
        uint8_t *want = read_u8(fix(path), (size_t)w * h * c);
        int worst = 0;
        for (size_t i = 0; i < (size_t)w * h * c; i++) {
            int d = abs((int)im.px[i] - (int)want[i]);
            worst = d > worst ? d : worst;
        }
        if (worst > tol)
            fail_msg("%s: differs from Pillow by %d codes (allowed %d)", name, worst, tol);
        free(want);
        pith_image_free(&im);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 14);
}

static void expect_bad(const char *name, const char *why)
{
    pith_image im;
    int rc = pith_image_read(fix(name), &im);
    assert_int_equal(rc, PITH_EFORMAT);
    CHECK_ERROR_HAS(name);
    CHECK_ERROR_HAS(why);
    assert_null(im.px);
}

static void test_bad_files(void **state)
{
    (void)state;
    expect_bad("odd/cut.jpg", "truncated JPEG");
    expect_bad("odd/cut.png", "truncated");
    expect_bad("odd/text.jpg", "not an image");
    expect_bad("odd/empty.png", "empty");
    pith_image im;
    assert_int_equal(pith_image_read(fix("odd/none.png"), &im), PITH_EIO);
    CHECK_ERROR_HAS("none.png");
}

/* resize/SRC resized to ow x oh (pre NULL: the whole image, nearest or
 * bilinear; else the eval transform pre says) equals resize/WANT byte for byte */
static void check_resize(const char *src, const char *want_file, int ow, int oh, int nearest,
                         const pithrt_preprocess *pre, const pithrt_box *box)
{
    char p[400];
    snprintf(p, sizeof p, "resize/%s", src);
    pith_image im;
    CHECK_OK(pith_image_read(fix(p), &im));
    const size_t n = (size_t)ow * oh * im.c;
    uint8_t *got = malloc(n);
    void *scratch = malloc(pre ? pithrt_image_prepare_scratch(im.w, im.h, im.c, pre, ow, oh)
                               : pithrt_image_resize_scratch(im.w, im.h, im.c, ow, oh));
    pithrt_box whole = {0, 0, im.w, im.h};
    int rc = pre ? pithrt_image_prepare(im.px, im.w, im.h, im.c, pre, got, ow, oh, im.c, scratch)
                 : pithrt_image_resize(im.px, im.w, im.h, im.c, box ? *box : whole, nearest, got, ow, oh, scratch);
    assert_int_equal(rc, 0);
    snprintf(p, sizeof p, "resize/%s", want_file);
    uint8_t *want = read_u8(fix(p), n);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s to %dx%d (%s): byte %zu is %d, Pillow's %d", src, ow, oh,
                     pre ? "resize + crop" : nearest ? "nearest" : "bilinear", i, got[i], want[i]);
    free(want);
    free(got);
    free(scratch);
    pith_image_free(&im);
}

/* resizes against Pillow's Image.resize (bilinear: antialiased), and the
 * torchvision eval transform (Resize(shorter) + CenterCrop) */
static void test_resize_against_pillow(void **state)
{
    (void)state;
    FILE *f = fopen(fix("resize.txt"), "r");
    assert_non_null(f);
    char src[128], method[32], out[256];
    int ow, oh, cases = 0;
    while (fscanf(f, "%127s %31s %d %d %255s", src, method, &ow, &oh, out) == 5) {
        check_resize(src, out, ow, oh, strcmp(method, "nearest") == 0, NULL, NULL);
        cases++;
    }
    fclose(f);
    assert_int_equal(cases, 32);
    f = fopen(fix("eval.txt"), "r");
    assert_non_null(f);
    int shorter, crop;
    cases = 0;
    while (fscanf(f, "%127s %d %d %255s", src, &shorter, &crop, out) == 4) {
        pithrt_preprocess pre = {0};
        pre.resize = shorter;
        check_resize(src, out, crop, crop, 0, &pre, NULL);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 8);
    /* fractional boxes, as random-resized crops resize them */
    f = fopen(fix("boxes.txt"), "r");
    assert_non_null(f);
    pithrt_box b;
    cases = 0;
    while (fscanf(f, "%127s %31s %d %d %lf %lf %lf %lf %255s", src, method, &ow, &oh, &b.x0, &b.y0, &b.x1, &b.y1,
                  out) == 9) {
        check_resize(src, out, ow, oh, strcmp(method, "nearest") == 0, NULL, &b);
        cases++;
    }
    fclose(f);
    assert_int_equal(cases, 40);
}

/* A set's samples as the model sees them (no augmentation). */
static float *gather_all(const pith_dataset *ds, int **y)
{
    size_t per = (size_t)ds->c * ds->h * ds->w;
    float *x = malloc(per * ds->n * sizeof *x);
    int *idx = malloc(ds->n * sizeof *idx);
    *y = malloc(ds->n * sizeof **y);
    for (int i = 0; i < ds->n; i++)
        idx[i] = i;
    pith_dataset_gather(ds, idx, ds->n, NULL, 0, x, *y);
    free(idx);
    return x;
}

/* CIFAR batches written from known arrays read back exactly: 0..255 kept,
 * no normalisation, so each input value is its pixel */
static void check_cifar(const char *dir, const char *split, int n, int classes, const char *first_names)
{
    pith_data_opts o;
    pith_data_opts_default(&o);
    o.pre.keep255 = 1;
    pith_dataset ds;
    pith_data_report rep;
    CHECK_OK(pith_data_load(fix(dir), split, &o, &ds, &rep));
    assert_int_equal(ds.n, n);
    assert_int_equal(ds.c, 3);
    assert_int_equal(ds.h, 32);
    assert_int_equal(ds.classes, classes);
    assert_non_null(strstr(ds.labels, first_names));
    int *y;
    float *x = gather_all(&ds, &y);
    char p[64];
    snprintf(p, sizeof p, "%s/expect_%s.u8", dir, split);
    uint8_t *want = read_u8(fix(p), (size_t)ds.n * 3072);
    snprintf(p, sizeof p, "%s/expect_%s.labels", dir, split);
    uint8_t *labels = read_u8(fix(p), (size_t)ds.n);
    for (int i = 0; i < ds.n; i++) {
        assert_int_equal(y[i], labels[i]);
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < 1024; k++)
                if (x[(size_t)i * 3072 + ch * 1024 + k] != (float)want[(size_t)i * 3072 + k * 3 + ch])
                    fail_msg("%s %s image %d channel %d pixel %d", dir, split, i, ch, k);
    }
    free(x);
    free(y);
    free(want);
    free(labels);
    pith_dataset_free(&ds);
}

/* CIFAR batches written from known arrays read back exactly: 0..255 kept,
 * no normalisation, so each input value is its pixel; CIFAR-100's class is
 * the fine label */
static void test_cifar_reads_back(void **state)
{
    (void)state;
    pith_data_kind kind;
    CHECK_OK(pith_data_kind_of(fix("cifar10"), &kind));
    assert_int_equal(kind, PITH_DATA_CIFAR);
    check_cifar("cifar10", "train", 35, 10, "airplane\nautomobile\n");
    check_cifar("cifar10", "test", 7, 10, "airplane\nautomobile\n");
    check_cifar("cifar100", "train", 9, 100, "class00\nclass01\n");
    check_cifar("cifar100", "test", 4, 100, "class98\nclass99\n");
    /* a batch file cut short is named */
    const char *d = tu_path("cifar-bad");
    mkdir(d, 0777);
    char p[600];
    snprintf(p, sizeof p, "%s/test_batch.bin", d);
    assert_int_equal(tu_write_file(p, "\1\2\3", 3), 0);
    pith_data_opts o;
    pith_data_opts_default(&o);
    pith_dataset ds;
    pith_data_report rep;
    assert_int_equal(pith_data_load(d, "test", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("test_batch.bin");
}

/* the PNG tree and the IDX files of the same images in the folders' order:
 * the same samples, bit for bit, and the class names of the folders */
static void test_folders_equal_idx(void **state)
{
    (void)state;
    pith_data_kind kind;
    CHECK_OK(pith_data_kind_of(fix("fmnist"), &kind));
    assert_int_equal(kind, PITH_DATA_FOLDER_SPLITS);
    const char *splits[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        pith_data_opts o;
        pith_data_opts_default(&o);
        o.mean[0] = 0.2860f;
        o.std[0] = 0.3530f;
        pith_dataset a, b;
        pith_data_report rep;
        CHECK_OK(pith_data_load(fix("fmnist"), splits[s], &o, &a, &rep));
        CHECK_OK(pith_data_load(fix("fmnist-idx"), splits[s], &o, &b, &rep));
        assert_int_equal(a.n, b.n);
        assert_int_equal(a.n, s ? 500 : 2000);
        assert_int_equal(a.classes, 10);
        assert_string_equal(a.labels, "0_T-shirt_top\n1_Trouser\n2_Pullover\n3_Dress\n4_Coat\n5_Sandal\n6_Shirt\n"
                                      "7_Sneaker\n8_Bag\n9_Ankle_boot\n");
        int *ya, *yb;
        float *xa = gather_all(&a, &ya), *xb = gather_all(&b, &yb);
        assert_memory_equal(ya, yb, a.n * sizeof *ya);
        assert_memory_equal(xa, xb, (size_t)a.n * 784 * sizeof *xa);
        /* and with the crop-and-flip augmentation, which draws the same */
        pith_augment aug = {2, 1, 0};
        int idx[64];
        for (int i = 0; i < 64; i++)
            idx[i] = (i * 37) % a.n;
        pith_dataset_gather(&a, idx, 64, &aug, 99, xa, ya);
        pith_dataset_gather(&b, idx, 64, &aug, 99, xb, yb);
        assert_memory_equal(xa, xb, (size_t)64 * 784 * sizeof *xa);
        free(xa);
        free(xb);
        free(ya);
        free(yb);
        pith_dataset_free(&a);
        pith_dataset_free(&b);
    }
}

/* The loader's defaults for a model input of c x h x w. */
static pith_data_opts opts_for(int c, int h, int w)
{
    pith_data_opts o;
    pith_data_opts_default(&o);
    o.c = c;
    o.h = h;
    o.w = w;
    return o;
}

static void test_lists(void **state)
{
    (void)state;
    pith_data_opts o = opts_for(1, 28, 28);
    pith_dataset ds;
    pith_data_report rep;
    /* rknn's dataset.txt: paths only, for calibration */
    o.calib = 1;
    CHECK_OK(pith_data_load(fix("calib.txt"), "train", &o, &ds, &rep));
    assert_int_equal(ds.n, 10);
    pith_dataset_free(&ds);
    o.calib = 0;
    assert_int_equal(pith_data_load(fix("calib.txt"), "train", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("no labels");
    /* path and label; the 8x8 digits resized to the input */
    CHECK_OK(pith_data_load(fix("labelled.txt"), "train", &o, &ds, &rep));
    assert_int_equal(ds.n, 10);
    assert_int_equal(ds.classes, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ds.y[i], i);
    pith_dataset_free(&ds);
    /* a missing image is named with its line */
    char text[3000];
    snprintf(text, sizeof text, "%s 0\n%s/nowhere.png 1\n", fix("t7.png"), fx);
    const char *list = tu_write_text("missing.txt", text);
    assert_int_equal(pith_data_load(list, "train", &o, &ds, &rep), PITH_EIO);
    CHECK_ERROR_HAS("missing.txt:2");
    CHECK_ERROR_HAS("nowhere.png");
    snprintf(text, sizeof text, "%s 0\n%s\n", fix("t7.png"), fix("t7.png"));
    list = tu_write_text("mixed.txt", text);
    assert_int_equal(pith_data_load(list, "train", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("mixed.txt:2");
    /* an image is not a list */
    assert_int_equal(pith_data_load(fix("odd/rgb.ppm"), "train", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("not a list of images");
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    void *b = tu_read_file(from, &n);
    assert_non_null(b);
    assert_int_equal(tu_write_file(to, b, n), 0);
    free(b);
}

/* a tree with an unreadable image: stopped with its name, or skipped and
 * counted; an empty class folder; classes that differ between splits */
static void test_bad_images_in_a_tree(void **state)
{
    (void)state;
    char d[600], p[700];
    snprintf(d, sizeof d, "%s", tu_path("tree"));
    const char *dirs[] = {"", "/train", "/train/cat", "/train/dog", "/val", "/val/cat", "/val/dog"};
    for (int i = 0; i < 7; i++) {
        snprintf(p, sizeof p, "%s%s", d, dirs[i]);
        mkdir(p, 0777);
    }
    const char *good[] = {"/train/cat/a.png", "/train/cat/b.jpg", "/train/dog/c.png", "/val/cat/d.png",
                          "/val/dog/e.jpg"};
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s%s", d, good[i]);
        copy_file(fix(strstr(good[i], ".png") ? "odd/rgb.png" : "odd/baseline.jpg"), p);
    }
    snprintf(p, sizeof p, "%s/train/dog/broken.jpg", d);
    copy_file(fix("odd/cut.jpg"), p);
    snprintf(p, sizeof p, "%s/train/dog/notes.txt", d); /* not an image name: not listed */
    assert_int_equal(tu_write_file(p, "x", 1), 0);
    pith_data_opts o = opts_for(3, 16, 16);
    pith_dataset ds;
    pith_data_report rep;
    assert_int_equal(pith_data_load(d, "train", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("1 of 4 images");
    CHECK_ERROR_HAS("broken.jpg");
    CHECK_ERROR_HAS("--skip-bad");
    o.skip_bad = 1;
    CHECK_OK(pith_data_load(d, "train", &o, &ds, &rep));
    assert_int_equal(ds.n, 3);
    assert_int_equal(rep.skipped, 1);
    pith_dataset_free(&ds);
    CHECK_OK(pith_data_load(d, "test", &o, &ds, &rep));
    assert_int_equal(ds.n, 2);
    pith_dataset_free(&ds);
    /* the model's classes must be the folders' */
    o.labels = "cat\nhorse\n";
    assert_int_equal(pith_data_load(d, "test", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("horse");
    o.labels = NULL;
    snprintf(p, sizeof p, "%s/val/emu", d);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/val/emu/f.png", d);
    copy_file(fix("odd/rgb.png"), p);
    assert_int_equal(pith_data_load(d, "test", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("val");
    snprintf(p, sizeof p, "%s/train/emu", d);
    mkdir(p, 0777);
    assert_int_equal(pith_data_load(d, "train", &o, &ds, &rep), PITH_EFORMAT);
    CHECK_ERROR_HAS("'emu' holds no images");
}

/* no room in memory: the pixels go to a mapped file, with the same values */
static void test_mapped_cache(void **state)
{
    (void)state;
    pith_data_opts o;
    pith_data_opts_default(&o);
    pith_dataset a, b;
    pith_data_report ra, rb;
    CHECK_OK(pith_data_load(fix("fmnist/val"), "test", &o, &a, &ra));
    o.cache_mem = 0;
    o.cache_dir = tu_tmpdir();
    CHECK_OK(pith_data_load(fix("fmnist/val"), "test", &o, &b, &rb));
    assert_int_equal(ra.mapped, 0);
    assert_int_equal(rb.mapped, 1);
    assert_true(b.px->mapped);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.px->data, b.px->data, a.px->bytes);
    pith_dataset_free(&a);
    pith_dataset_free(&b);
}

/* the preprocessing survives a checkpoint and a .pith file, and the
 * runtime's own input path computes the workbench's input bit for bit */
static void test_preprocessing_stored(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_zoo_build("mobilenet-tiny", 3, 24, 24, 10, 1, &g));
    CHECK_OK(pith_graph_compile(g, 1));
    pith_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.model, sizeof meta.model, "mobilenet-tiny");
    meta.mean = 0.485f;
    meta.std = 0.229f;
    meta.norm_channels = 3;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    memcpy(meta.norm_mean, mean, sizeof mean);
    memcpy(meta.norm_std, sd, sizeof sd);
    meta.pre.bgr = 1;
    meta.pre.resize = 27;
    meta.classes = 10;
    snprintf(meta.labels, sizeof meta.labels, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    const char *ck = tu_path("pre.h5");
    CHECK_OK(pith_checkpoint_save(ck, g, &meta, NULL, NULL, NULL, 0));
    pith_graph *g2;
    pith_ckpt_meta back;
    CHECK_OK(pith_checkpoint_load(ck, &g2, &back, NULL, NULL, NULL, NULL, 0));
    assert_int_equal(back.pre.bgr, 1);
    assert_int_equal(back.pre.resize, 27);
    assert_int_equal(back.pre.keep255, 0);
    pith_graph_free(g2);
    const char *model = tu_path("pre.pith");
    pith_export_report rep;
    CHECK_OK(exp_export(g, NULL, meta.mean, meta.std, &meta, NULL, model, &rep));
    pith_rt r;
    CHECK_OK(pith_rt_open(model, 1, NULL, &r));
    assert_int_equal(r.m.version, 3);
    assert_int_equal(r.m.pre.bgr, 1);
    assert_int_equal(r.m.pre.resize, 27);
    /* a photo-sized JPEG through the workbench's loader and through the
     * runtime's pithrt_set_input_image: the same outputs, bit for bit */
    pith_data_opts o;
    exp_data_opts(&back, g, &o);
    pith_dataset ds;
    pith_data_report drep;
    CHECK_OK(pith_data_load(fix("digits"), "train", &o, &ds, &drep));
    int *y;
    float *x = gather_all(&ds, &y);
    pith_image im;
    CHECK_OK(pith_image_read(fix("digits/0/0000.jpg"), &im));
    float out_a[10], out_b[10];
    assert_int_equal(pithrt_set_input_f32(&r.c, x, 3 * 24 * 24), 0); /* 0000.jpg: the first of class 0 */
    assert_int_equal(pithrt_run(&r.c), 0);
    assert_int_equal(pithrt_output_f32(&r.c, out_a, 10), 0);
    void *scratch = malloc(pithrt_input_image_scratch(&r.m, im.w, im.h, im.c));
    assert_int_equal(pithrt_set_input_image(&r.c, im.px, im.w, im.h, im.c, scratch), 0);
    assert_int_equal(pithrt_run(&r.c), 0);
    assert_int_equal(pithrt_output_f32(&r.c, out_b, 10), 0);
    assert_memory_equal(out_a, out_b, sizeof out_a);
    free(scratch);
    pith_image_free(&im);
    free(x);
    free(y);
    pith_dataset_free(&ds);
    pith_rt_close(&r);
    pith_graph_free(g);
}

static int run_pith(const char *args, char *out, size_t len)
{
    const char *b = getenv("PITH_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", b ? b : "build/pith", args, tu_path("stderr.txt"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char sink[4096];
    if (!out) { /* read it all anyway: a closed pipe would kill the command */
        out = sink;
        len = sizeof sink;
    }
    size_t n = fread(out, 1, len - 1, p);
    out[n] = 0;
    while (fread(sink, 1, sizeof sink, p) > 0)
        ;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* training from the PNG folders and from the IDX files of the same images
 * in the same order: bit-identical weights; then top-5 of a PNG of test
 * image 7 equals the top-5 of image 7 of the IDX file */
static void test_train_png_equals_idx(void **state)
{
    (void)state;
    char args[4096], out[8192];
    const char *a = tu_path("png.h5"), *b = tu_path("idx.h5");
    char pa[600], pb[600];
    snprintf(pa, sizeof pa, "%s", a);
    snprintf(pb, sizeof pb, "%s", b);
    snprintf(args, sizeof args, "train --data %s --mean01 0.2860 --std01 0.3530 --epochs 1 --crop-pad 2 --hflip --out %s --quiet",
             fix("fmnist"), pa);
    assert_int_equal(run_pith(args, NULL, 0), 0);
    snprintf(args, sizeof args, "train --data %s --mean01 0.2860 --std01 0.3530 --epochs 1 --crop-pad 2 --hflip --out %s --quiet",
             fix("fmnist-idx"), pb);
    assert_int_equal(run_pith(args, NULL, 0), 0);
    pith_graph *ga, *gb;
    pith_ckpt_meta ma, mb;
    CHECK_OK(pith_checkpoint_load(pa, &ga, &ma, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(pith_checkpoint_load(pb, &gb, &mb, NULL, NULL, NULL, NULL, 0));
    assert_int_equal(ga->n_nodes, gb->n_nodes);
    int params = 0;
    for (int i = 0; i < ga->n_nodes; i++)
        for (int p = 0; p < ga->nodes[i].n_params; p++) {
            const pith_param *x = &ga->nodes[i].params[p], *y = &gb->nodes[i].params[p];
            assert_int_equal(x->size, y->size);
            assert_memory_equal(x->data, y->data, x->size * sizeof(float));
            params++;
        }
    assert_true(params >= 8);
    assert_true(ma.top1 == mb.top1);
    assert_non_null(strstr(ma.labels, "2_Pullover"));
    pith_graph_free(ga);
    pith_graph_free(gb);
    /* the deployed model: the photo's top-5 and the IDX image's */
    const char *model = tu_path("png.pith");
    char pm[600];
    snprintf(pm, sizeof pm, "%s", model);
    snprintf(args, sizeof args, "export %s --out %s", pa, pm);
    assert_int_equal(run_pith(args, NULL, 0), 0);
    snprintf(args, sizeof args, "infer %s %s --json", pm, fix("t7.png"));
    assert_int_equal(run_pith(args, out, sizeof out), 0);
    char *top_png = strdup(strstr(out, "\"top5\""));
    snprintf(args, sizeof args, "infer %s --idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --index 7 --json",
             pm);
    assert_int_equal(run_pith(args, out, sizeof out), 0);
    assert_string_equal(top_png, strstr(out, "\"top5\""));
    assert_non_null(strstr(top_png, "\"label\":\"2_Pullover\"") ? top_png : strstr(top_png, "\"label\""));
    free(top_png);
}

/* a single class tree: training holds 1 in 10 images out, and pith eval of
 * the checkpoint (its own data) evaluates exactly those: the same count and
 * accuracy as the training's final figures */
static void test_held_out_eval(void **state)
{
    (void)state;
    char args[4096], out[8192], ck[600];
    snprintf(ck, sizeof ck, "%s", tu_path("digits.h5"));
    snprintf(args, sizeof args, "train --data %s --input 1x16x16 --epochs 2 --out %s --json", fix("digits"), ck);
    assert_int_equal(run_pith(args, out, sizeof out), 0);
    char *t = strstr(out, "\"top1\":");
    assert_non_null(t);
    double top1_train = atof(t + 7);
    snprintf(args, sizeof args, "eval %s --json", ck);
    assert_int_equal(run_pith(args, out, sizeof out), 0);
    char *n = strstr(out, "\"images\":");
    t = strstr(out, "\"top1\":");
    assert_non_null(n);
    assert_non_null(t);
    assert_int_equal(atoi(n + 9), 40); /* 400 images, 1 in 10 held out */
    assert_float_equal(atof(t + 7), top1_train, 1e-9);
    /* a folder given to evaluate is evaluated whole */
    snprintf(args, sizeof args, "eval %s --data %s --json", ck, fix("digits"));
    assert_int_equal(run_pith(args, out, sizeof out), 0);
    n = strstr(out, "\"images\":");
    assert_non_null(n);
    assert_int_equal(atoi(n + 9), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_against_pillow),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_resize_against_pillow),
        cmocka_unit_test(test_cifar_reads_back),
        cmocka_unit_test(test_folders_equal_idx),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_bad_images_in_a_tree),
        cmocka_unit_test(test_mapped_cache),
        cmocka_unit_test(test_preprocessing_stored),
        cmocka_unit_test(test_train_png_equals_idx),
        cmocka_unit_test(test_held_out_eval),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
