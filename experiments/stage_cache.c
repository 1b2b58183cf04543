#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stages.h"

/* The stage cache: runs that share a config prefix and seed (every point of
 * a pruning sweep trains the same base model) reuse the checkpoint of the
 * last training stage of that prefix instead of training it again. Only
 * prefixes of train, finetune, prune, lowrank and eval stages are cached:
 * what they produce depends on nothing but the config and the seed (an
 * export or bench stage ends the prefix: the stages after a cache hit must
 * find the file it wrote). */
int exp_cacheable(exp_stage_kind k)
{
    return k == STAGE_TRAIN || k == STAGE_FINETUNE || k == STAGE_PRUNE || k == STAGE_LOWRANK || k == STAGE_EVAL;
}

void exp_cache_path(const char *cache, const exp_config *cfg, int i, char *buf, size_t len)
{
    uint64_t k = cfg->stages[i].prefix_key ^ (cfg->seed * 0x9e3779b97f4a7c15ull);
    snprintf(buf, len, "%s/%016llx.h5", cache, (unsigned long long)k);
}

/* Publishes a finished stage checkpoint; a hard link, else a copy, renamed
 * into place so that concurrent runs never see half a file. */
void exp_cache_store(const char *cache, const char *src, const char *dst)
{
    char tmp[2600];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", dst, (long)getpid());
    mkdir(cache, 0777);
    unlink(tmp);
    if (link(src, tmp) != 0) {
        FILE *in = fopen(src, "rb"), *out = in ? fopen(tmp, "wb") : NULL;
        char b[65536];
        size_t n;
        int ok = in && out;
        while (ok && (n = fread(b, 1, sizeof b, in)) > 0)
            ok = fwrite(b, 1, n, out) == n;
        ok = ok && !ferror(in);
        if (out && fclose(out) != 0)
            ok = 0;
        if (in)
            fclose(in);
        if (!ok) {
            unlink(tmp);
            return;
        }
    }
    if (rename(tmp, dst) != 0)
        unlink(tmp);
}

/* The last stage whose result is in the cache, or -1. */
int exp_cache_lookup(const exp_config *cfg, const char *cache, char *path, size_t len)
{
    int last = -1;
    for (int i = 0; i < cfg->n_stages && exp_cacheable(cfg->stages[i].kind); i++) {
        exp_stage_kind k = cfg->stages[i].kind;
        char p[2400];
        exp_cache_path(cache, cfg, i, p, sizeof p);
        if ((k == STAGE_TRAIN || k == STAGE_FINETUNE) && access(p, R_OK) == 0) {
            last = i;
            snprintf(path, len, "%s", p);
        }
    }
    return last;
}

