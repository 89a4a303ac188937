/* cl_program.h - what the OpenCL backend's own infrastructure files share
 * beyond clcl.h: the program registry (cl_program.c) and the program binary
 * file format (cl_cache.c), which the op launchers never see. */
#ifndef CLNET_CL_PROGRAM_H
#define CLNET_CL_PROGRAM_H

#include "opencl/clcl.h"

/* Everything that can change a built binary, as one string, plus the file
 * name derived from its hash. The text is stored in every binary file and
 * compared on load, so a hash collision or a stale file is never trusted. */
typedef struct clnet_cl_key {
    char *text;
    size_t len;
    char file[24];   /* "<16 hex digits>.clbin" */
} clnet_cl_key;

/* Builds the key of program `program` with source text `source` and the full
 * build options `options` for the device. Errors: CLNET_ERR_HOST_MEMORY, an
 * OpenCL-band status when the platform cannot be queried. */
clnet_status clnet_cl_key_make(clnet_device *dev, const char *program, const char *source,
                               const char *options, clnet_cl_key *key);
void clnet_cl_key_free(clnet_cl_key *key);

/* Loads the binary file of `key` from `dir` and builds it with the full
 * build options `options`. Returns CLNET_OK, CLNET_ERR_IO when there is no
 * such file, CLNET_ERR_FORMAT when the file exists but is unusable
 * (unreadable, short, bad magic or version, key or checksum mismatch,
 * rejected by the driver), CLNET_ERR_HOST_MEMORY. Records nothing in the
 * context: the reason goes to `why`, so that the caller decides between a
 * warning (cache) and an error (binaries-only mode). */
clnet_status clnet_cl_binary_load(clnet_device *dev, const char *dir, const clnet_cl_key *key,
                                  const char *options, cl_program *out, char *why,
                                  size_t why_size);

/* Checks a binary file's image `data` against `key` (magic, version,
 * lengths, key text, checksum); on success *payload points into data.
 * false with the reason in `why` otherwise. */
bool clnet_cl_binary_parse(const unsigned char *data, size_t size, const clnet_cl_key *key,
                           const unsigned char **payload, size_t *payload_len, char *why,
                           size_t why_size);

/* Writes the binary of the built `program` into `dir` (created if missing)
 * as the file of `key`, atomically (temp file + rename). Errors as
 * clnet_cl_binary_load (CLNET_ERR_IO, CLNET_ERR_FORMAT when the driver
 * gives no binary, CLNET_ERR_HOST_MEMORY), reason in `why`. */
clnet_status clnet_cl_binary_store(clnet_device *dev, const char *dir, const clnet_cl_key *key,
                                   cl_program program, char *why, size_t why_size);

/* FNV-1a, 64 bits, of n bytes: the names of cache files and tuning tables,
 * the checksum of binaries, the manifest's hash of the kernel sources. */
uint64_t clnet_cl_hash64(const void *data, size_t n);

/* Creates `dir` and its missing parents. Returns 0 or an errno value. */
int clnet_cl_mkdir_p(const char *dir);

/* Finds or obtains (memory, disk cache, binaries dir or source, in that
 * order) the program `program` with the caller's `options` (NULL = defaults),
 * taking ctx->lock. *prog and *key stay owned by the device until it closes. */
clnet_status clnet_cl_program_get(clnet_device *dev, const char *program, const char *options,
                                  cl_program *prog, const clnet_cl_key **key);

/* The (program, options) pairs clnet's launchers can ask for: every program
 * of cl/ with its defaults (options NULL), except those asked for only with
 * build options, which count once per option set. clnet_cl_variant hands
 * back pair `index` (0 <= index < clnet_cl_variant_count()); the strings
 * are static. */
int clnet_cl_variant_count(void);
void clnet_cl_variant(int index, const char **program, const char **options);

/* The hash of every program's source text as this context builds it (the
 * embedded sources, or CLNET_CL_DIR's files), names included: what the
 * manifest of a binaries directory records. Errors: CLNET_ERR_IO (a
 * CLNET_CL_DIR file unreadable), CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_cl_sources_hash(clnet_device *dev, uint64_t *hash);

/* The manifest of a binaries directory (DIR/manifest.txt): the clnet
 * version, device, driver, platform and kernel sources' hash its binaries
 * were made for. clnet_cl_manifest_write records `dev`'s (after every
 * binary is written); clnet_cl_manifest_check compares them with `dev` and
 * fails with CLNET_ERR_NO_BINARY naming every field that differs, both
 * sides shown, or the manifest's absence. */
clnet_status clnet_cl_manifest_write(clnet_device *dev, const char *dir, int nprograms);
clnet_status clnet_cl_manifest_check(clnet_device *dev, const char *dir);

/* Releases every program and kernel the device holds (device close). */
void clnet_cl_programs_free(clnet_device *dev);

#endif
