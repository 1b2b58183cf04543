#include "provenance.h"

#include <cblas.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "json.h"

static void run_line(const char *cmd, char *out, size_t len)
{
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(out, (int)len, p))
        out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

void prov_git(char *commit, size_t len, int *dirty)
{
    run_line("git rev-parse HEAD 2>/dev/null", commit, len);
    if (!commit[0]) {
        snprintf(commit, len, "unknown");
        *dirty = -1;
        return;
    }
    char st[256];
    run_line("git status --porcelain --untracked-files=no 2>/dev/null | head -1", st, sizeof st);
    *dirty = st[0] != '\0';
}

void prov_host(char *host, size_t len)
{
    char name[64] = "", cpu[128] = "";
    gethostname(name, sizeof name - 1);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c)
                snprintf(cpu, sizeof cpu, "%s", c + 2);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    snprintf(host, len, "%s (%s, %ld cores)", name, cpu[0] ? cpu : "cpu unknown", sysconf(_SC_NPROCESSORS_ONLN));
}

void prov_libraries(char *buf, size_t len)
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, len, "OpenBLAS %s; HDF5 %u.%u.%u; zlib %s", openblas_get_config(), maj, min, rel,
             zlibVersion());
}

int prov_file_crc(const char *path, uint32_t *crc, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char b[65536];
    uLong c = crc32(0L, Z_NULL, 0);
    size_t n;
    *size = 0;
    while ((n = fread(b, 1, sizeof b, f)) > 0) {
        c = crc32(c, b, (uInt)n);
        *size += n;
    }
    fclose(f);
    *crc = (uint32_t)c;
    return 0;
}

void exp_write_provenance(const char *dir, const exp_config *cfg, const exp_row *row)
{
    char path[2200], libs[512];
    snprintf(path, sizeof path, "%s/provenance.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    prov_libraries(libs, sizeof libs);
    json j;
    json_init(&j, f);
    json_obj(&j, NULL);
    json_str(&j, "experiment", cfg->name);
    json_str(&j, "run_id", cfg->run_id);
    json_str(&j, "config", cfg->path);
    json_str(&j, "config_hash", row->config_hash);
    json_int(&j, "seed", (int64_t)cfg->seed);
    json_str(&j, "git_commit", row->git_commit);
    json_int(&j, "git_dirty", row->git_dirty);
    json_str(&j, "date", row->date);
    json_str(&j, "host", row->host);
    json_str(&j, "libraries", libs);
    json_str(&j, "knobs", cfg->knobs);
    json_arr(&j, "dataset_files");
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                            "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char p[1200];
        uint32_t crc;
        uint64_t size;
        snprintf(p, sizeof p, "%s/%s.gz", cfg->data_dir, names[i]);
        if (prov_file_crc(p, &crc, &size) != 0) {
            snprintf(p, sizeof p, "%s/%s", cfg->data_dir, names[i]);
            if (prov_file_crc(p, &crc, &size) != 0)
                continue;
        }
        char hex[16];
        snprintf(hex, sizeof hex, "%08x", crc);
        json_obj(&j, NULL);
        json_str(&j, "path", p);
        json_int(&j, "bytes", (int64_t)size);
        json_str(&j, "crc32", hex);
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
    fclose(f);
}

