#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.h"

const char *const results_header =
    "experiment\trun_id\tconfig_hash\tseed\tgit_commit\tgit_dirty\tdate\thost\tmodel\tinput\tstages\tparams\t"
    "nonzero_params\tmacs\tmodel_bytes\ttop1\ttop5\tlatency_ms\tpeak_mem_kb\tbatch\tfps\tenergy_uj_est\tpith_bytes\t"
    "bench_on\thardware\tprice_usd\tknobs\tstatus\terror";

/* Tabs and newlines would break the table. */
static void clean(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < len; i++)
        dst[i] = (src[i] == '\t' || src[i] == '\n' || src[i] == '\r') ? ' ' : src[i];
    dst[i] = '\0';
}

static void num(char *b, size_t len, double v)
{
    if (isfinite(v))
        snprintf(b, len, "%.6g", v);
    else
        snprintf(b, len, "NA");
}

int results_append(const char *path, const exp_row *r)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        mkdir(dir, 0777);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0666);
    if (fd < 0)
        return pith_error(PITH_EIO, "%s: cannot open for appending (%s)", path, strerror(errno));
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return pith_error(PITH_EIO, "%s: cannot lock", path);
    }
    char f[12][1100], n[8][32];
    clean(f[0], sizeof f[0], r->experiment);
    clean(f[1], sizeof f[1], r->host);
    clean(f[2], sizeof f[2], r->model);
    clean(f[3], sizeof f[3], r->stages);
    clean(f[4], sizeof f[4], r->knobs);
    clean(f[5], sizeof f[5], r->error);
    clean(f[6], sizeof f[6], r->git_commit);
    num(n[0], sizeof n[0], r->top1);
    num(n[1], sizeof n[1], r->top5);
    num(n[2], sizeof n[2], r->latency_ms);
    num(n[3], sizeof n[3], r->peak_mem_kb);
    num(n[4], sizeof n[4], r->fps);
    num(n[5], sizeof n[5], r->energy_uj);
    num(n[6], sizeof n[6], r->price_usd);
    clean(f[7], sizeof f[7], r->bench_on);
    clean(f[8], sizeof f[8], r->hardware);
    char line[8192];
    int len = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0) {
        len = snprintf(line, sizeof line, "%s\n", results_header);
    } else {
        char head[2048];
        ssize_t got = pread(fd, head, sizeof head - 1, 0);
        head[got > 0 ? got : 0] = '\0';
        head[strcspn(head, "\r\n")] = '\0';
        if (strcmp(head, results_header) != 0) {
            flock(fd, LOCK_UN);
            close(fd);
            return pith_error(PITH_EFORMAT,
                              "%s: its header is not the one this pith writes (a table from an older pith?); "
                              "move it aside or write to another table with --results", path);
        }
    }
    len += snprintf(line + len, sizeof line - (size_t)len,
                    "%s\t%s\t%s\t%llu\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld\t%lld\t%lld\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%lld\t%s\t%s\t%s\t"
                    "%s\t%s\t%s\n",
                    f[0], r->run_id, r->config_hash, (unsigned long long)r->seed, f[6], r->git_dirty,
                    r->date, f[1], f[2], r->input[0] ? r->input : "NA", f[3], (long long)r->params, (long long)r->nonzero_params,
                    (long long)r->macs, (long long)r->bytes, n[0], n[1], n[2], n[3], r->batch, n[4], n[5],
                    (long long)r->pith_bytes, f[7][0] ? f[7] : "-", f[8][0] ? f[8] : "-", n[6],
                    f[4][0] ? f[4] : "-", r->status, f[5][0] ? f[5] : "-");
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1, line[len - 1] = '\n';
    /* one write of the whole row, under the lock */
    ssize_t w = write(fd, line, (size_t)len);
    int rc = w == len ? PITH_OK : pith_error(PITH_EIO, "%s: short write", path);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

char *results_done_ids(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT) {
            pith_error(PITH_EIO, "%s: cannot read", path);
            return NULL;
        }
        return strdup("\n");
    }
    flock(fileno(f), LOCK_SH);
    size_t cap = 4096, len = 1;
    char *ids = malloc(cap), line[8192];
    if (ids)
        ids[0] = '\n', ids[1] = '\0';
    while (ids && fgets(line, sizeof line, f)) {
        /* run_id is the second column, status the second-to-last */
        line[strcspn(line, "\r\n")] = '\0';
        char *id = strchr(line, '\t'), *last = strrchr(line, '\t');
        if (!id || last == id)
            continue;
        *last = '\0';
        char *status = strrchr(line, '\t');
        char *id_end = strchr(id + 1, '\t');
        if (!status || strcmp(status + 1, "ok") != 0 || !id_end)
            continue;
        size_t n = (size_t)(id_end - id - 1);
        if (len + n + 2 > cap) {
            char *bigger = realloc(ids, cap = 2 * (cap + n));
            if (!bigger) {
                free(ids);
                ids = NULL;
                break;
            }
            ids = bigger;
        }
        memcpy(ids + len, id + 1, n);
        len += n;
        ids[len++] = '\n';
        ids[len] = '\0';
    }
    flock(fileno(f), LOCK_UN);
    fclose(f);
    if (!ids)
        pith_error(PITH_ENOMEM, "%s: out of memory", path);
    return ids;
}

int results_done_has(const char *ids, const char *run_id)
{
    char key[64];
    snprintf(key, sizeof key, "\n%s\n", run_id);
    return strstr(ids, key) != NULL;
}

int results_has_run(const char *path, const char *run_id)
{
    char *ids = results_done_ids(path);
    if (!ids)
        return PITH_EIO;
    int found = results_done_has(ids, run_id);
    free(ids);
    return found;
}

