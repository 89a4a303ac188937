/* locate.c - where each named dataset's files are looked for (the search
 * order documented in clnet/data.h), and loading a dataset by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/readers.h"

#define PATH_BYTES 4096
#define MAX_FILES 5

typedef enum format { FORMAT_IDX, FORMAT_CIFAR10, FORMAT_CIFAR100 } format;

typedef struct dataset_spec {
    const char *name;
    format format;
    const char *subdir;            /* folder of the dataset below a search root */
    const char *system_dir;        /* a distribution package's folder, or NULL */
    const char *files[2][MAX_FILES + 1]; /* per split, NULL-terminated */
} dataset_spec;

static const dataset_spec specs[] = {
    {"mnist", FORMAT_IDX, "mnist", NULL,
     {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", NULL},
      {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", NULL}}},
    {"fashion-mnist", FORMAT_IDX, "fashion-mnist", "/usr/share/datasets/fashion-mnist",
     {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", NULL},
      {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", NULL}}},
    {"cifar10", FORMAT_CIFAR10, "cifar-10-batches-bin", NULL,
     {{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
       "data_batch_5.bin", NULL},
      {"test_batch.bin", NULL}}},
    {"cifar100", FORMAT_CIFAR100, "cifar-100-binary", NULL,
     {{"train.bin", NULL}, {"test.bin", NULL}}},
};

static const dataset_spec *find_spec(const char *name)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Finds `file` or `file.gz` in `dir`; the uncompressed copy wins because it
 * reads faster. */
static bool find_file(const char *dir, const char *file, char *path)
{
    static const char *const suffixes[] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path, PATH_BYTES, "%s/%s%s", dir, file, suffixes[i]);
        if (n > 0 && n < PATH_BYTES && is_file(path))
            return true;
    }
    return false;
}

/* Resolves every file of the split in `dir`. On a miss, notes in `tried`
 * which file was absent, so the final message says what each place lacks. */
static bool find_split(const char *dir, const char *const *files, char paths[][PATH_BYTES],
                       char *tried, size_t tried_size)
{
    for (int i = 0; files[i]; i++) {
        if (!find_file(dir, files[i], paths[i])) {
            size_t used = strlen(tried);
            snprintf(tried + used, tried_size - used, "%s%s (no %s[.gz])", used ? ", " : "",
                     dir, files[i]);
            return false;
        }
    }
    return true;
}

/* Fills `roots` with the directory roots in search order, each once (the
 * caller's dir is often $CLNET_DATA itself); returns how many. */
static int search_roots(const char *dir, const char **roots)
{
    const char *env = getenv("CLNET_DATA");
    const char *all[] = {dir, env, "../shared/datasets", "../../shared/datasets"};
    int n = 0;
    for (int i = 0; i < 4; i++) {
        bool seen = !all[i] || !*all[i];
        for (int j = 0; j < n && !seen; j++)
            seen = strcmp(roots[j], all[i]) == 0;
        if (!seen)
            roots[n++] = all[i];
    }
    return n;
}

/* Tries "<root>/<subdir>" and "<root>" for every root, then the system
 * folder; true with `paths` filled at the first folder holding every file. */
static bool locate(const dataset_spec *spec, clnet_split split, const char *dir,
                   char paths[][PATH_BYTES], char *tried, size_t tried_size)
{
    const char *const *files = spec->files[split];
    const char *roots[4];
    int nroots = search_roots(dir, roots);
    char folder[PATH_BYTES];
    for (int r = 0; r < nroots; r++) {
        int n = snprintf(folder, sizeof folder, "%s/%s", roots[r], spec->subdir);
        if (n > 0 && n < PATH_BYTES && find_split(folder, files, paths, tried, tried_size))
            return true;
        if (find_split(roots[r], files, paths, tried, tried_size))
            return true;
    }
    return spec->system_dir && find_split(spec->system_dir, files, paths, tried, tried_size);
}

static clnet_status load_found(clnet_ctx *ctx, const dataset_spec *spec, clnet_split split,
                               char paths[][PATH_BYTES], clnet_dataset **out)
{
    const char *list[MAX_FILES];
    int n = 0;
    for (; spec->files[split][n]; n++)
        list[n] = paths[n];
    clnet_status st;
    if (spec->format == FORMAT_IDX)
        st = clnet_dataset_load_idx(ctx, list[0], list[1], out);
    else
        st = clnet_dataset_load_cifar(ctx, list, n, spec->format == FORMAT_CIFAR10 ? 10 : 100,
                                      out);
    if (st == CLNET_OK)
        snprintf((*out)->name, sizeof (*out)->name, "%s", spec->name);
    return st;
}

clnet_status clnet_dataset_load(clnet_ctx *ctx, const char *name, clnet_split split,
                                const char *dir, clnet_dataset **out)
{
    if (!out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "load dataset: out is NULL");
    *out = NULL;
    if (!name)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "load dataset: name is NULL");
    const dataset_spec *spec = find_spec(name);
    if (!spec)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "load dataset: unknown dataset \"%s\" (known: mnist, fashion-mnist, "
                          "cifar10, cifar100)",
                          name);
    if (split != CLNET_SPLIT_TRAIN && split != CLNET_SPLIT_TEST)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "load dataset %s: bad split %d",
                          name, (int)split);
    char (*paths)[PATH_BYTES] = malloc(MAX_FILES * sizeof *paths);
    char *tried = calloc(1, PATH_BYTES);
    clnet_status st;
    if (!paths || !tried)
        st = clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "load dataset %s: out of host memory", name);
    else if (locate(spec, split, dir, paths, tried, PATH_BYTES))
        st = load_found(ctx, spec, split, paths, out);
    else
        st = clnet_fail(ctx, CLNET_ERR_IO,
                        "dataset %s (%s split): files not found; set CLNET_DATA or pass a "
                        "directory; looked in: %s",
                        name, split == CLNET_SPLIT_TRAIN ? "train" : "test", tried);
    free(paths);
    free(tried);
    return st;
}
