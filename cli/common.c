#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/error.h"
#include "../prune/prune.h"
#include "../quant/quant.h"
#include "cli.h"

char cli_argv0_line[1024];

int cli_fail(const char *cmd, int status)
{
    fprintf(stderr, "pith %s: %s\n", cmd, pith_last_error());
    return status == PITH_ENUM ? EXIT_NAN : EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pith %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see pith %s --help)\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_usage_error(cmd, "%s expects an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
    *out = (int)v;
    return 0;
}

int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return cli_usage_error(cmd, "%s expects a non-negative integer, got '%s'", opt, s);
    *out = v;
    return 0;
}

int cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return cli_usage_error(cmd, "%s expects a number in [%g, %g], got '%s'", opt, lo, hi, s);
    *out = (float)v;
    return 0;
}

void cli_command_line(int argc, char **argv, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && o + 1 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? " %s" : "%s", argv[i]);
}

void cli_utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_load_split(const char *dir, const char *split, float mean, float std, pith_dataset *ds)
{
    return pith_dataset_load_dir(dir && dir[0] ? dir : PITH_FMNIST_DIR, split, mean, std, ds);
}

const char *cli_class_name(const char *dataset, int classes, int c, char *buf, size_t len)
{
    if (classes == 10 && (!dataset || !dataset[0] || strstr(dataset, "fashion")))
        return pith_fmnist_class_names[c];
    snprintf(buf, len, "class %d", c);
    return buf;
}

int cli_load_data(const char *dir, float mean, float std, int subset, int val, uint64_t seed,
                  pith_dataset *train, pith_dataset *evalset, pith_dataset *test)
{
    pith_dataset full = {0};
    memset(train, 0, sizeof *train);
    memset(evalset, 0, sizeof *evalset);
    memset(test, 0, sizeof *test);
    int rc = cli_load_split(dir, "train", mean, std, &full);
    if (!rc)
        rc = cli_load_split(dir, "test", mean, std, test);
    if (!rc && subset) {
        pith_dataset tmp;
        rc = pith_dataset_subset(&full, 0, subset < full.n ? subset : full.n, &tmp);
        if (!rc) {
            pith_dataset_free(&full);
            full = tmp;
        }
    }
    if (!rc && val) {
        if (val >= full.n)
            rc = pith_error(PITH_EINVAL, "val %d leaves no training images (of %d)", val, full.n);
        else
            rc = pith_dataset_split(&full, val, seed, train, evalset);
        pith_dataset_free(&full);
    } else if (!rc) {
        *train = full;
        full.x = NULL;
        full.y = NULL;
    }
    if (rc) {
        pith_dataset_free(&full);
        pith_dataset_free(train);
        pith_dataset_free(evalset);
        pith_dataset_free(test);
    }
    return rc;
}

static int load_checkpoint(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                           int *has_cfg, pith_epoch_record *hist, int *n_hist, int max_hist)
{
    int rc = pith_quant_register();
    if (!rc)
        rc = pith_checkpoint_load(path, g, meta, cfg, has_cfg, hist, n_hist, max_hist);
    if (!rc) {
        rc = pith_quant_restore(*g);
        if (!rc)
            rc = pith_prune_restore(*g);
        if (rc) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", pith_last_error());
            pith_graph_free(*g);
            *g = NULL;
            rc = pith_error(rc, "%s: %s", path, msg);
        }
    }
    return rc;
}

int cli_load_checkpoint(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                        int *has_cfg)
{
    return load_checkpoint(path, g, meta, cfg, has_cfg, NULL, NULL, 0);
}

int cli_load_resumable(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                       pith_epoch_record *hist, int *n_hist, int max_hist)
{
    int has_cfg = 0;
    int rc = load_checkpoint(path, g, meta, cfg, &has_cfg, hist, n_hist, max_hist);
    if (rc)
        return rc;
    int has_optim = pith_checkpoint_has_optim(path);
    if (has_cfg && has_optim == 1)
        return PITH_OK;
    int quantized = pith_graph_is_quantized(*g);
    pith_graph_free(*g);
    *g = NULL;
    if (has_optim < 0)
        return has_optim;
    return pith_error(PITH_EINVAL,
                      "%s cannot be resumed: it holds a %s model without the %s a resume continues "
                      "(written by: %s). Fine-tune it instead with the command that made it "
                      "(--finetune N), or from a config's finetune stage",
                      path, quantized ? "quantized" : "float",
                      has_cfg ? "optimizer state" : "training recipe and optimizer state",
                      meta->command[0] ? meta->command : "unknown");
}

int cli_test_accuracy(pith_graph *g, const pith_dataset *test, int batch, double *top1, double *top5, double *loss)
{
    pith_metrics m = {0};
    int rc = batch > 0 ? pith_graph_compile(g, batch) : PITH_OK;
    if (!rc)
        rc = pith_metrics_init(&m, pith_graph_output_shape(g)->d[0]);
    if (!rc)
        rc = pith_evaluate(g, test, &m, NULL);
    if (!rc) {
        *top1 = pith_metrics_top1(&m);
        if (top5)
            *top5 = pith_metrics_top5(&m);
        if (loss)
            *loss = pith_metrics_loss(&m);
    }
    pith_metrics_free(&m);
    return rc;
}

pith_train_config cli_finetune_config(const pith_train_config *base, int epochs, float lr, float divisor)
{
    pith_train_config c = base ? *base : pith_train_defaults();
    c.epochs = epochs > 0 ? epochs : 1;
    c.stop_after = 0;
    c.warmup_epochs = 0;
    c.subset = 0;
    c.val = 0;
    c.lr = lr > 0 ? lr : c.lr / divisor;
    c.min_lr = 0;
    c.sched = PITH_SCHED_COSINE;
    return c;
}

int cli_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}
