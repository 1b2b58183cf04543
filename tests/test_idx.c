/* IDX reader: round trips (plain and gzip), and truncated, corrupt,
 * mismatched and absurd files rejected with a message naming the problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/dataset.h"
#include "../core/idx.h"
#include "testutil.h"

static uint8_t images[5 * 4 * 3];
static uint8_t labels[5] = {3, 0, 9, 1, 3};

static void make_set(const char *img, const char *lbl, int gz)
{
    for (size_t i = 0; i < sizeof images; i++)
        images[i] = (uint8_t)(i * 37 % 256);
    uint32_t di[3] = {5, 4, 3}, dl[1] = {5};
    CHECK_OK(pith_idx_write(img, images, 3, di, gz));
    CHECK_OK(pith_idx_write(lbl, labels, 1, dl, gz));
}

static void test_round_trip(void **state)
{
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        const char *img = tu_path(gz ? "rt-img.gz" : "rt-img"), *lbl = tu_path(gz ? "rt-lbl.gz" : "rt-lbl");
        make_set(img, lbl, gz);
        pith_idx x;
        CHECK_OK(pith_idx_read(img, &x));
        assert_int_equal(x.ndim, 3);
        assert_int_equal(x.dims[0], 5);
        assert_int_equal(x.dims[2], 3);
        assert_memory_equal(x.data, images, sizeof images);
        pith_idx_free(&x);
        pith_dataset ds;
        CHECK_OK(pith_dataset_load_idx(img, lbl, 0.5f, 0.25f, &ds));
        assert_int_equal(ds.n, 5);
        assert_int_equal(ds.h, 4);
        assert_int_equal(ds.w, 3);
        assert_int_equal(ds.classes, 10);
        assert_int_equal(ds.y[2], 9);
        /* (pixel / 255 - mean) / std */
        assert_float_equal(ds.x[7], (images[7] / 255.0 - 0.5) / 0.25, 1e-5);
        pith_dataset_free(&ds);
    }
}

/* Raw IDX bytes written directly, to build broken files. */
static size_t idx_bytes(uint8_t *buf, uint8_t type, int ndim, const uint32_t *dims, size_t payload)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = type;
    buf[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        buf[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        buf[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        buf[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        buf[7 + 4 * i] = (uint8_t)dims[i];
    }
    memset(buf + 4 + 4 * ndim, 7, payload);
    return 4 + 4 * (size_t)ndim + payload;
}

static void expect_reject(const char *name, const void *data, size_t n, const char *why)
{
    const char *p = tu_path(name);
    assert_int_equal(tu_write_file(p, data, n), 0);
    pith_idx x;
    int rc = pith_idx_read(p, &x);
    if (rc == 0)
        fail_msg("%s was accepted", name);
    CHECK_ERROR_HAS(p);
    CHECK_ERROR_HAS(why);
    assert_null(x.data);
}

static void test_rejects(void **state)
{
    (void)state;
    uint8_t buf[256];
    uint32_t d3[3] = {2, 4, 4};
    size_t n = idx_bytes(buf, 0x08, 3, d3, 32);
    expect_reject("trunc-payload", buf, n - 1, "truncated");
    expect_reject("trunc-header", buf, 9, "truncated header");
    expect_reject("trunc-magic", buf, 2, "truncated header");
    expect_reject("empty", buf, 0, "truncated header");
}

static void test_rejects_more(void **state)
{
    (void)state;
    uint8_t buf[256];
    uint32_t d3[3] = {2, 4, 4};
    size_t n = idx_bytes(buf, 0x08, 3, d3, 32);
    buf[n] = 1;
    expect_reject("trailing", buf, n + 1, "extra bytes");
    n = idx_bytes(buf, 0x08, 3, d3, 32);
    buf[0] = 0x1f; /* not zero: wrong magic */
    expect_reject("magic", buf, n, "wrong magic");
    n = idx_bytes(buf, 0x0D, 3, d3, 32); /* float data */
    expect_reject("type", buf, n, "not supported");
    n = idx_bytes(buf, 0x08, 0, d3, 0);
    expect_reject("ndim0", buf, n, "dimensions");
    n = idx_bytes(buf, 0x08, 3, d3, 0);
    buf[3] = 9;
    expect_reject("ndim9", buf, n, "dimensions");
    uint32_t huge[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 2};
    n = idx_bytes(buf, 0x08, 3, huge, 0);
    expect_reject("absurd", buf, n, "implausible");
    uint32_t zero[3] = {2, 0, 4};
    n = idx_bytes(buf, 0x08, 3, zero, 0);
    expect_reject("zerodim", buf, n, "implausible");
    /* a gzip stream cut in the middle */
    const char *gz = tu_path("cut.gz");
    uint8_t pix[4000];
    for (int i = 0; i < 4000; i++)
        pix[i] = (uint8_t)(i * 7919 % 251);
    uint32_t dd[3] = {10, 20, 20};
    CHECK_OK(pith_idx_write(gz, pix, 3, dd, 1));
    size_t len;
    uint8_t *raw = tu_read_file(gz, &len);
    assert_non_null(raw);
    expect_reject("cut-gzip.gz", raw, len / 2, "truncated");
    /* corrupt the deflate data in the middle */
    raw[len / 2] ^= 0xFF;
    raw[len / 2 + 1] ^= 0xFF;
    const char *p = tu_path("corrupt.gz");
    assert_int_equal(tu_write_file(p, raw, len), 0);
    pith_idx x;
    assert_true(pith_idx_read(p, &x) != 0);
    CHECK_ERROR_HAS(p);
    free(raw);
    /* missing file */
    assert_int_equal(pith_idx_read(tu_path("nope"), &x), PITH_EIO);
    CHECK_ERROR_HAS("cannot open");
}

static void test_dataset_mismatch(void **state)
{
    (void)state;
    const char *img = tu_path("mm-img"), *lbl = tu_path("mm-lbl");
    make_set(img, lbl, 0);
    uint32_t d[1] = {4};
    CHECK_OK(pith_idx_write(lbl, labels, 1, d, 0));
    pith_dataset ds;
    assert_int_equal(pith_dataset_load_idx(img, lbl, 0, 1, &ds), PITH_EFORMAT);
    CHECK_ERROR_HAS("5 images");
    CHECK_ERROR_HAS("4 labels");
    /* labels file with images' shape */
    assert_int_equal(pith_dataset_load_idx(img, img, 0, 1, &ds), PITH_EFORMAT);
    CHECK_ERROR_HAS("labels must have 1 dimension");
    /* a directory without the files */
    assert_int_equal(pith_dataset_load_dir(tu_tmpdir(), "train", 0, 1, &ds), PITH_EIO);
    CHECK_ERROR_HAS("train-images-idx3-ubyte");
    assert_int_equal(pith_dataset_load_dir(tu_tmpdir(), "bogus", 0, 1, &ds), PITH_EINVAL);
}

static void test_split_subset_gather(void **state)
{
    (void)state;
    const char *img = tu_path("sp-img"), *lbl = tu_path("sp-lbl");
    make_set(img, lbl, 1);
    pith_dataset ds, tr, va, sub;
    CHECK_OK(pith_dataset_load_idx(img, lbl, 0, 1, &ds));
    CHECK_OK(pith_dataset_split(&ds, 2, 7, &tr, &va));
    assert_int_equal(tr.n, 3);
    assert_int_equal(va.n, 2);
    /* every label ends up in exactly one side: multiset preserved */
    int count[10] = {0};
    for (int i = 0; i < tr.n; i++)
        count[tr.y[i]]++;
    for (int i = 0; i < va.n; i++)
        count[va.y[i]]++;
    assert_int_equal(count[3], 2);
    assert_int_equal(count[9], 1);
    CHECK_OK(pith_dataset_subset(&ds, 1, 3, &sub));
    assert_int_equal(sub.y[0], 0);
    assert_int_equal(sub.y[2], 1);
    pith_dataset_free(&sub);
    assert_int_not_equal(pith_dataset_subset(&ds, 4, 3, &sub), 0);
    /* horizontal flip mirrors each row; crop padding fills with the value of a black pixel */
    pith_augment flip = {0, 1, 0};
    float x[2 * 12];
    int y[2], idx[2] = {0, 0};
    int flipped = 0;
    for (uint64_t seed = 0; seed < 8 && !flipped; seed++) {
        pith_dataset_gather(&ds, idx, 1, &flip, seed, x, y);
        flipped = x[0] != ds.x[0];
        if (flipped)
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 3; c++)
                    assert_float_equal(x[r * 3 + c], ds.x[r * 3 + (2 - c)], 0);
    }
    assert_true(flipped);
    pith_augment crop = {2, 0, 0};
    int shifted = 0;
    for (uint64_t seed = 0; seed < 16; seed++) {
        pith_dataset_gather(&ds, idx, 1, &crop, seed, x, y);
        for (int i = 0; i < 12; i++)
            if (x[i] == -ds.mean / ds.std && ds.x[i] != x[i])
                shifted = 1;
    }
    assert_true(shifted);
    pith_dataset_free(&ds);
    pith_dataset_free(&tr);
    pith_dataset_free(&va);
    pith_dataset_free(&sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_rejects_more),
        cmocka_unit_test(test_dataset_mismatch),
        cmocka_unit_test(test_split_subset_gather),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
