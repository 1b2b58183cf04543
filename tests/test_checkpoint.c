/* HDF5 checkpoints: round trips, and truncated, corrupt and mismatched files
 * rejected with a message that names the problem. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/checkpoint.h"
#include "../core/zoo.h"
#include "testutil.h"

static pith_ckpt_meta meta_for(const char *model)
{
    pith_ckpt_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.model, sizeof m.model, "%s", model);
    snprintf(m.dataset, sizeof m.dataset, "/nowhere");
    snprintf(m.command, sizeof m.command, "pith train --model %s", model);
    snprintf(m.created, sizeof m.created, "2026-11-22T00:00:00Z");
    m.seed = 5;
    m.epoch = 3;
    m.step = 123;
    m.mean = 0.25f;
    m.std = 0.5f;
    m.classes = 10;
    m.top1 = 0.9;
    m.top5 = 0.99;
    m.test_loss = NAN;
    return m;
}

/* Saves resnet8 with optimizer state and a two-epoch history. */
static pith_graph *save_resnet(const char *path, pith_optim **opt_out, pith_train_config *cfg)
{
    pith_graph *g;
    CHECK_OK(pith_zoo_build("resnet8", 1, 12, 12, 10, 9, &g));
    *cfg = pith_train_defaults();
    cfg->optim = pith_optim_defaults(PITH_OPTIM_ADAMW);
    cfg->subset = 1000;
    cfg->aug.hflip = 1;
    pith_optim *o;
    CHECK_OK(pith_optim_create(&o, g, &cfg->optim));
    for (int i = 0; i < o->n_slots; i++) {
        tu_fill(o->slots[i].m, o->slots[i].p->size, -1, 1, 100 + i);
        tu_fill(o->slots[i].v, o->slots[i].p->size, 0, 1, 200 + i);
    }
    o->steps = 77;
    /* running statistics are saved too */
    int bn = pith_graph_find(g, "layer2.bn1");
    tu_fill(g->nodes[bn].params[2].data, g->nodes[bn].params[2].size, -1, 1, 3);
    g->nodes[pith_graph_find(g, "fc")].params[1].frozen = 1;
    pith_epoch_record h[2] = {{1, 0.1, 1.5, 0.5, 1.2, 0.6, 0.9, 10, 100},
                              {2, 0.05, 1.0, 0.7, 0.9, 0.7, 0.95, 11, 95}};
    pith_ckpt_meta m = meta_for("resnet8");
    CHECK_OK(pith_checkpoint_save(path, g, &m, cfg, o, h, 2));
    *opt_out = o;
    return g;
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *path = tu_path("rt.h5");
    pith_optim *o;
    pith_train_config cfg;
    pith_graph *g = save_resnet(path, &o, &cfg);

    pith_graph *g2;
    pith_ckpt_meta m2;
    pith_train_config cfg2;
    pith_epoch_record h2[8];
    int has_cfg = 0, nh = 0;
    CHECK_OK(pith_checkpoint_load(path, &g2, &m2, &cfg2, &has_cfg, h2, &nh, 8));
    assert_int_equal(has_cfg, 1);
    assert_int_equal(nh, 2);
    assert_float_equal(h2[1].test_top5, 0.95, 0);
    assert_string_equal(m2.model, "resnet8");
    assert_string_equal(m2.command, "pith train --model resnet8");
    assert_int_equal(m2.step, 123);
    assert_float_equal(m2.std, 0.5, 0);
    assert_true(isnan(m2.test_loss));
    assert_int_equal(cfg2.optim.kind, PITH_OPTIM_ADAMW);
    assert_int_equal(cfg2.subset, 1000);
    assert_int_equal(cfg2.aug.hflip, 1);
    assert_int_equal(g2->n_nodes, g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++) {
        assert_string_equal(g->nodes[i].name, g2->nodes[i].name);
        assert_int_equal(g->nodes[i].n_params, g2->nodes[i].n_params);
        assert_memory_equal(&g->nodes[i].a, &g2->nodes[i].a, sizeof(pith_attrs));
        assert_memory_equal(g->nodes[i].in, g2->nodes[i].in, sizeof(int) * (size_t)g->nodes[i].n_in);
        for (int j = 0; j < g->nodes[i].n_params; j++) {
            const pith_param *a = &g->nodes[i].params[j], *b = &g2->nodes[i].params[j];
            assert_memory_equal(a->data, b->data, a->size * sizeof(float));
            assert_int_equal(a->frozen, b->frozen);
        }
    }
    pith_optim *o2;
    CHECK_OK(pith_optim_create(&o2, g2, &cfg2.optim));
    CHECK_OK(pith_checkpoint_load_optim(path, o2, g2));
    assert_int_equal(o2->steps, 77);
    for (int i = 0; i < o->n_slots; i++) {
        assert_memory_equal(o->slots[i].m, o2->slots[i].m, o->slots[i].p->size * sizeof(float));
        assert_memory_equal(o->slots[i].v, o2->slots[i].v, o->slots[i].p->size * sizeof(float));
    }
    /* the state is for AdamW: an SGD optimizer cannot take it */
    pith_optim_config sgd = pith_optim_defaults(PITH_OPTIM_SGD);
    pith_optim *o3;
    CHECK_OK(pith_optim_create(&o3, g2, &sgd));
    assert_int_not_equal(pith_checkpoint_load_optim(path, o3, g2), 0);
    CHECK_ERROR_HAS("adamw");
    pith_optim_free(o3);
    pith_optim_free(o2);
    pith_graph_free(g2);
    pith_optim_free(o);
    pith_graph_free(g);
}

static void test_rewritten_graph(void **state)
{
    (void)state;
    /* A node inserted after another (as a pass does) has a higher index than
     * its consumer; the file stores the topological order, so it reloads. */
    pith_graph *g;
    CHECK_OK(pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 1, &g));
    int r = pith_graph_insert_after(g, pith_graph_find(g, "relu1"), "relu6", "extra", NULL);
    assert_true(r > 0);
    pith_ckpt_meta m = meta_for("fmnist-cnn");
    const char *path = tu_path("rewritten.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &m, NULL, NULL, NULL, 0));
    pith_graph *g2;
    pith_ckpt_meta m2;
    CHECK_OK(pith_checkpoint_load(path, &g2, &m2, NULL, NULL, NULL, NULL, 0));
    int e = pith_graph_find(g2, "extra"), p = pith_graph_find(g2, "pool1");
    assert_true(e > 0 && p > e);
    assert_int_equal(g2->nodes[p].in[0], e);
    /* same outputs */
    CHECK_OK(pith_graph_compile(g, 2));
    CHECK_OK(pith_graph_compile(g2, 2));
    tu_fill(pith_graph_input(g), 2 * 784, -1, 1, 3);
    memcpy(pith_graph_input(g2), pith_graph_input(g), 2 * 784 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 2));
    CHECK_OK(pith_graph_forward(g2, 2));
    assert_memory_equal(pith_graph_output(g), pith_graph_output(g2), 20 * sizeof(float));
    pith_graph_free(g);
    pith_graph_free(g2);
}

static void test_shape_mismatch(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_zoo_build("mlp", 1, 28, 28, 10, 1, &g));
    pith_ckpt_meta m = meta_for("mlp");
    const char *path = tu_path("mismatch.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &m, NULL, NULL, NULL, 0));
    pith_graph_free(g);
    /* replace /params/fc2/weight by a 99 x 300 array */
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Ldelete(f, "/params/fc2/weight", H5P_DEFAULT) >= 0);
    hsize_t dims[2] = {99, 300};
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "/params/fc2/weight", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
    pith_graph *g2;
    assert_int_equal(pith_checkpoint_load(path, &g2, &m, NULL, NULL, NULL, NULL, 0), PITH_ESHAPE);
    CHECK_ERROR_HAS("/params/fc2/weight has shape [99,300], expected [100,300]");
    assert_null(g2);
}

static void test_bad_attributes(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_zoo_build("lenet5", 1, 28, 28, 10, 1, &g));
    pith_ckpt_meta m = meta_for("lenet5");
    const char *path = tu_path("attrs.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &m, NULL, NULL, NULL, 0));
    pith_graph_free(g);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    /* an absurd kernel size in node 1 */
    hid_t n = H5Gopen2(f, "/graph/nodes/0001", H5P_DEFAULT);
    int big = 1000;
    hid_t a = H5Aopen(n, "kh", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &big);
    H5Aclose(a);
    H5Gclose(n);
    H5Fclose(f);
    pith_graph *g2;
    assert_int_not_equal(pith_checkpoint_load(path, &g2, &m, NULL, NULL, NULL, NULL, 0), 0);
    CHECK_ERROR_HAS("/graph/nodes/0001");
    CHECK_ERROR_HAS("too small");
    /* wrong format tag */
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "format");
    H5Fclose(f);
    assert_int_equal(pith_checkpoint_load(path, &g2, &m, NULL, NULL, NULL, NULL, 0), PITH_EFORMAT);
    CHECK_ERROR_HAS("format");
}

static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    pith_optim *o;
    pith_train_config cfg;
    const char *path = tu_path("good.h5");
    pith_graph *g0 = save_resnet(path, &o, &cfg);
    pith_optim *o0 = o;
    size_t len;
    uint8_t *raw = tu_read_file(path, &len);
    assert_non_null(raw);
    const char *bad = tu_path("bad.h5");
    pith_graph *g2;
    pith_ckpt_meta m;
    /* truncations at many points: all rejected, none crash */
    for (int k = 0; k < 40; k++) {
        size_t cut = k == 0 ? 0 : (size_t)((double)len * k / 40.0);
        assert_int_equal(tu_write_file(bad, raw, cut), 0);
        int rc = pith_checkpoint_load(bad, &g2, &m, NULL, NULL, NULL, NULL, 0);
        if (rc == 0)
            fail_msg("a file cut at %zu of %zu bytes was accepted", cut, len);
        CHECK_ERROR_HAS(bad);
        /* every HDF5 handle was closed on the error path */
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
            fail_msg("cut at %zu: %zd HDF5 objects left open", cut,
                     H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
    }
    /* byte flips across the file: rejected or (if the flip hit padding)
     * loaded intact; never a crash */
    int rejected = 0;
    for (int k = 0; k < 60; k++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, raw, len);
        size_t at = (size_t)((double)len * (k + 0.5) / 60.0);
        copy[at] ^= 0x5A;
        assert_int_equal(tu_write_file(bad, copy, len), 0);
        free(copy);
        /* the whole resume path: graph, parameters, recipe, optimizer state */
        pith_train_config c2;
        int has = 0;
        int rc = pith_checkpoint_load(bad, &g2, &m, &c2, &has, NULL, NULL, 0);
        if (!rc) {
            pith_optim *o2;
            CHECK_OK(pith_optim_create(&o2, g2, &c2.optim));
            rc = pith_checkpoint_load_optim(bad, o2, g2);
            if (!rc) {
                /* accepted: then it must be the original, bit for bit */
                for (int i = 0; i < g0->n_nodes; i++)
                    for (int j = 0; j < g0->nodes[i].n_params; j++)
                        assert_memory_equal(g0->nodes[i].params[j].data, g2->nodes[i].params[j].data,
                                            g0->nodes[i].params[j].size * sizeof(float));
                for (int i = 0; i < o0->n_slots; i++)
                    assert_memory_equal(o0->slots[i].m, o2->slots[i].m,
                                        o0->slots[i].p->size * sizeof(float));
                assert_int_equal(m.step, 123);
                assert_string_equal(m.model, "resnet8");
            }
            pith_optim_free(o2);
            pith_graph_free(g2);
        }
        if (rc)
            rejected++;
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
            fail_msg("flip at %zu: %zd HDF5 objects left open (%s)", at,
                     H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), pith_last_error());
    }
    /* tensors and metadata are checksummed; a flip may only go unnoticed in
     * unused space, and then the file loads intact (checked above) */
    if (rejected < 40)
        fail_msg("only %d of 60 flips rejected", rejected);
    free(raw);
    pith_optim_free(o0);
    pith_graph_free(g0);
    /* not HDF5 at all, and missing */
    assert_int_equal(tu_write_file(bad, "hello", 5), 0);
    assert_int_equal(pith_checkpoint_load(bad, &g2, &m, NULL, NULL, NULL, NULL, 0), PITH_EFORMAT);
    CHECK_ERROR_HAS("not an HDF5 file");
    assert_int_equal(pith_checkpoint_load(tu_path("missing.h5"), &g2, &m, NULL, NULL, NULL, NULL, 0),
                     PITH_EIO);
}

static void test_checksum(void **state)
{
    (void)state;
    /* Find the bytes of one weight array in the file and flip one of them. */
    pith_graph *g;
    CHECK_OK(pith_zoo_build("mlp", 1, 28, 28, 10, 1, &g));
    pith_param *w = &g->nodes[pith_graph_find(g, "fc2")].params[0];
    pith_ckpt_meta m = meta_for("mlp");
    const char *path = tu_path("sum.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &m, NULL, NULL, NULL, 0));
    size_t len;
    uint8_t *raw = tu_read_file(path, &len);
    uint8_t *hit = memmem(raw, len, w->data, 64);
    assert_non_null(hit);
    hit[100] ^= 0x01;
    const char *bad = tu_path("sum-bad.h5");
    assert_int_equal(tu_write_file(bad, raw, len), 0);
    pith_graph *g2;
    assert_int_equal(pith_checkpoint_load(bad, &g2, &m, NULL, NULL, NULL, NULL, 0), PITH_EFORMAT);
    CHECK_ERROR_HAS("/params/fc2/weight");
    CHECK_ERROR_HAS("checksum");
    free(raw);
    pith_graph_free(g);
}

static void test_atomic_save(void **state)
{
    (void)state;
    /* A save into a directory that does not exist fails and leaves nothing. */
    pith_graph *g;
    CHECK_OK(pith_zoo_build("mlp", 1, 28, 28, 10, 1, &g));
    pith_ckpt_meta m = meta_for("mlp");
    assert_int_equal(pith_checkpoint_save(tu_path("no/such/dir.h5"), g, &m, NULL, NULL, NULL, 0),
                     PITH_EIO);
    CHECK_ERROR_HAS("cannot create");
    /* overwriting an existing good file replaces it whole */
    const char *path = tu_path("atomic.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &m, NULL, NULL, NULL, 0));
    m.epoch = 9;
    CHECK_OK(pith_checkpoint_save(path, g, &m, NULL, NULL, NULL, 0));
    pith_graph *g2;
    pith_ckpt_meta m2;
    CHECK_OK(pith_checkpoint_load(path, &g2, &m2, NULL, NULL, NULL, NULL, 0));
    assert_int_equal(m2.epoch, 9);
    pith_graph_free(g2);
    pith_graph_free(g);
}

int main(void)
{
    /* No HDF5 free lists: every block is a fresh malloc, so LeakSanitizer
     * reports the call that leaked rather than the first one to allocate. */
    H5set_free_list_limits(0, 0, 0, 0, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rewritten_graph),
        cmocka_unit_test(test_shape_mismatch),
        cmocka_unit_test(test_bad_attributes),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_atomic_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
