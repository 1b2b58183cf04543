/* What a --data path is, and the files of a class tree or a list. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/error.h"
#include "data.h"
#include "image.h"

#define MAX_FILES (1 << 24)
#define MAX_CLASSES 100000

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists_in(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return pith_is_file(p);
}

static int has_image_ext(const char *name)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pnm"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of dir that are directories (want_dirs) or
 * image files; hidden entries are skipped. */
static int list_dir(const char *dir, int want_dirs, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return pith_error(PITH_EIO, "%s: cannot open the folder (%s)", dir, strerror(errno));
    int cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        int dir_entry = is_dir(p);
        if (dir_entry != want_dirs || (!dir_entry && !has_image_ext(e->d_name)))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **t = realloc(*names, (size_t)cap * sizeof *t);
            if (!t) {
                rc = pith_error(PITH_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            *names = t;
        }
        if (!((*names)[*n] = strdup(e->d_name))) {
            rc = pith_error(PITH_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        ++*n;
    }
    closedir(d);
    if (*n)
        qsort(*names, (size_t)*n, sizeof **names, cmp_str);
    return rc;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* a class folder holds images directly (not only sub-folders) */
static int holds_class_tree(const char *dir)
{
    char **cls;
    int n;
    if (list_dir(dir, 1, &cls, &n))
        return 0;
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, cls[i]);
        char **files;
        int k;
        if (!list_dir(p, 0, &files, &k))
            found = k > 0;
        free_names(files, k);
    }
    free_names(cls, n);
    return found;
}

static const char *split_dir_name(const char *dir, const char *split, char *out, size_t len)
{
    const char *const names[2][2] = {{"train", NULL}, {"val", "test"}};
    const int s = strcmp(split, "train") == 0 ? 0 : 1;
    for (int i = 0; i < 2 && names[s][i]; i++) {
        snprintf(out, len, "%s/%s", dir, names[s][i]);
        if (is_dir(out))
            return out;
    }
    return NULL;
}

int pith_data_kind_of(const char *path, pith_data_kind *kind)
{
    if (pith_is_file(path)) {
        /* a list is text: an image or other binary file is not one */
        unsigned char head[8] = {0};
        FILE *f = fopen(path, "rb");
        size_t got = f ? fread(head, 1, sizeof head, f) : 0;
        if (f)
            fclose(f);
        int binary = got >= 3 && (head[0] == 'P' && (head[1] == '5' || head[1] == '6') && isspace(head[2]));
        for (size_t i = 0; i < got; i++) /* UTF-8 paths are text; NUL and control bytes are not */
            binary |= head[i] == 0 || (head[i] < 0x20 && !isspace(head[i]));
        const int image = binary && (head[0] == 0xFF || head[0] == 0x89 || head[0] == 'P');
        if (binary)
            return pith_error(PITH_EFORMAT, "%s: not a list of images (a text file, one path per line) but %s", path,
                              image ? "an image: give the folder that holds it, or list it" : "a binary file");
        *kind = PITH_DATA_LIST;
        return PITH_OK;
    }
    if (!is_dir(path))
        return pith_error(PITH_EIO, "%s: no such file or folder", path);
    if (exists_in(path, "train-images-idx3-ubyte") || exists_in(path, "train-images-idx3-ubyte.gz") ||
        exists_in(path, "t10k-images-idx3-ubyte") || exists_in(path, "t10k-images-idx3-ubyte.gz")) {
        *kind = PITH_DATA_IDX;
        return PITH_OK;
    }
    if (exists_in(path, "data_batch_1.bin") || exists_in(path, "test_batch.bin") || exists_in(path, "train.bin") ||
        exists_in(path, "test.bin")) {
        *kind = PITH_DATA_CIFAR;
        return PITH_OK;
    }
    char sub[4096];
    if (split_dir_name(path, "train", sub, sizeof sub) && split_dir_name(path, "test", sub, sizeof sub)) {
        *kind = PITH_DATA_FOLDER_SPLITS;
        return PITH_OK;
    }
    if (holds_class_tree(path)) {
        *kind = PITH_DATA_FOLDERS;
        return PITH_OK;
    }
    return pith_error(PITH_EFORMAT,
                      "%s: not a dataset pith reads: no IDX files, no CIFAR batches (data_batch_1.bin, "
                      "train.bin), no train/ and val/ folders, and no class folders holding images",
                      path);
}

const char *pith_data_kind_name(pith_data_kind kind)
{
    switch (kind) {
    case PITH_DATA_IDX: return "IDX";
    case PITH_DATA_CIFAR: return "CIFAR binary";
    case PITH_DATA_FOLDERS: return "class folders";
    case PITH_DATA_FOLDER_SPLITS: return "class folders (train/ and val/)";
    case PITH_DATA_LIST: return "list file";
    }
    return "?";
}

void pith_data_files_free(pith_data_files *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->path[i]);
    free(f->path);
    free(f->label);
    free(f->labels);
    memset(f, 0, sizeof *f);
}

static int add_file(pith_data_files *f, int *cap, const char *path, int label)
{
    if (f->n >= MAX_FILES)
        return pith_error(PITH_EFORMAT, "more than %d images", MAX_FILES);
    if (f->n == *cap) {
        int nc = *cap ? 2 * *cap : 1024;
        char **p = realloc(f->path, (size_t)nc * sizeof *p);
        if (p)
            f->path = p;
        int *l = realloc(f->label, (size_t)nc * sizeof *l);
        if (l)
            f->label = l;
        if (!p || !l)
            return pith_error(PITH_ENOMEM, "out of memory for the file list");
        *cap = nc;
    }
    if (!(f->path[f->n] = strdup(path)))
        return pith_error(PITH_ENOMEM, "out of memory for the file list");
    f->label[f->n++] = label;
    return PITH_OK;
}

/* The images under dir, recursively, in sorted path order. */
static int walk(const char *dir, int label, pith_data_files *f, int *cap, int depth)
{
    if (depth > 32)
        return pith_error(PITH_EFORMAT, "%s: folders nested more than 32 deep", dir);
    char **files, **subs;
    int nf, ns;
    int rc = list_dir(dir, 0, &files, &nf);
    if (!rc)
        rc = list_dir(dir, 1, &subs, &ns);
    else
        return rc;
    /* a folder's files, then its sub-folders: torchvision's sorted walk */
    for (int i = 0; i < nf && !rc; i++) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, files[i]) >= (int)sizeof p)
            rc = pith_error(PITH_EINVAL, "%s/%s: path too long", dir, files[i]);
        else
            rc = add_file(f, cap, p, label);
    }
    for (int i = 0; i < ns && !rc; i++) {
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, subs[i]) >= (int)sizeof p)
            rc = pith_error(PITH_EINVAL, "%s/%s: path too long", dir, subs[i]);
        else
            rc = walk(p, label, f, cap, depth + 1);
    }
    free_names(files, nf);
    free_names(subs, ns);
    return rc;
}

int pith_data_scan_folders(const char *dir, pith_data_files *f)
{
    memset(f, 0, sizeof *f);
    char **cls;
    int nc, cap = 0;
    int rc = list_dir(dir, 1, &cls, &nc);
    if (rc)
        return rc;
    if (nc == 0)
        rc = pith_error(PITH_EFORMAT, "%s: no class folders", dir);
    else if (nc > MAX_CLASSES)
        rc = pith_error(PITH_EFORMAT, "%s: %d class folders (at most %d)", dir, nc, MAX_CLASSES);
    size_t names = 0;
    for (int c = 0; c < nc && !rc; c++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, cls[c]);
        int before = f->n;
        rc = walk(p, c, f, &cap, 0);
        if (!rc && f->n == before)
            rc = pith_error(PITH_EFORMAT, "%s: class folder '%s' holds no images (.jpg, .jpeg, .png, .ppm, .pgm)",
                            dir, cls[c]);
        names += strlen(cls[c]) + 1;
    }
    if (!rc && !(f->labels = malloc(names + 1)))
        rc = pith_error(PITH_ENOMEM, "out of memory for class names");
    if (!rc) {
        char *o = f->labels;
        for (int c = 0; c < nc; c++)
            o += sprintf(o, "%s\n", cls[c]);
        f->classes = nc;
    }
    free_names(cls, nc);
    if (rc)
        pith_data_files_free(f);
    return rc;
}

int pith_data_scan_list(const char *file, int need_labels, pith_data_files *f)
{
    memset(f, 0, sizeof *f);
    uint8_t *buf;
    size_t n;
    int rc = pith_file_read(file, (size_t)1 << 30, &buf, &n);
    if (rc)
        return rc;
    rc = pith_data_parse_list(file, (char *)buf, n, need_labels, f);
    free(buf);
    return rc;
}

int pith_data_parse_list(const char *file, char *text, size_t n, int need_labels, pith_data_files *f)
{
    memset(f, 0, sizeof *f);
    int rc = 0;
    text[n] = 0;
    char base[4096];
    snprintf(base, sizeof base, "%s", file);
    char *slash = strrchr(base, '/');
    if (slash)
        slash[1] = 0;
    else
        base[0] = 0;
    int cap = 0, line = 0, labelled = -1, maxl = -1;
    char *s = text;
    while (*s && !rc) {
        char *end = strchr(s, '\n'), *next = end ? end + 1 : s + strlen(s);
        if (end)
            *end = 0;
        line++;
        size_t len = strlen(s);
        while (len && isspace((unsigned char)s[len - 1]))
            s[--len] = 0;
        while (*s && isspace((unsigned char)*s))
            s++, len--;
        if (len && s[0] != '#') {
            /* a trailing integer after whitespace is the label */
            int label = -1;
            char *sp = s + len;
            while (sp > s && isdigit((unsigned char)sp[-1]))
                sp--;
            if (sp > s && sp < s + len && isspace((unsigned char)sp[-1]) && len - (size_t)(sp - s) <= 9) {
                label = atoi(sp);
                while (sp > s && isspace((unsigned char)sp[-1]))
                    sp--;
                *sp = 0;
            }
            if (labelled >= 0 && labelled != (label >= 0))
                rc = pith_error(PITH_EFORMAT, "%s:%d: %s a label where the lines before %s", file, line,
                                label >= 0 ? "has" : "lacks", labelled ? "have one" : "have none");
            labelled = label >= 0;
            char p[4096];
            if (!rc && snprintf(p, sizeof p, "%s%s", s[0] == '/' ? "" : base, s) >= (int)sizeof p)
                rc = pith_error(PITH_EINVAL, "%s:%d: path too long", file, line);
            /* relative to the list's folder; else, as rknn's dataset.txt may be
             * written, to the working directory */
            if (!rc && !pith_is_file(p) && s[0] != '/' && pith_is_file(s))
                snprintf(p, sizeof p, "%s", s);
            if (!rc && !pith_is_file(p))
                rc = pith_error(PITH_EIO, "%s:%d: %s: no such file (nor %s from here)", file, line, p, s);
            if (!rc)
                rc = add_file(f, &cap, p, label);
            maxl = label > maxl ? label : maxl;
        }
        s = next;
    }
    if (!rc && f->n == 0)
        rc = pith_error(PITH_EFORMAT, "%s: lists no images", file);
    if (!rc && need_labels && labelled != 1)
        rc = pith_error(PITH_EFORMAT, "%s: lines have no labels ('path label'); a list without them is for "
                        "calibration (--calib)", file);
    if (!rc && maxl >= MAX_CLASSES)
        rc = pith_error(PITH_EFORMAT, "%s: label %d (at most %d)", file, maxl, MAX_CLASSES - 1);
    f->classes = maxl + 1;
    if (rc)
        pith_data_files_free(f);
    return rc;
}
