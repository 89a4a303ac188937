/* fuzz_cache_entry.c - libFuzzer target for the program-cache entry reader:
 * the input is an entry file (seed: corpus/cache_entry, made for the key
 * below). When the header's lengths add up, the harness rewrites the
 * payload checksum so that mutations reach the success path too. An entry
 * is either accepted with its payload inside the file or refused with a
 * reason. */
#include <stdlib.h>
#include <string.h>

#include "opencl/cl_program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char key_text[] = "clnet program binary\nprogram: fuzz\noptions: -DFUZZ\n"
                         "device: fuzz device\nsource:\n__kernel void k(void) {}\n";

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clnet_cl_key key = {key_text, sizeof key_text - 1, "0000000000000000.clbin"};
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (size >= 32) {
        uint64_t key_len = 0, len = 0;
        for (int b = 0; b < 4; b++)
            key_len |= (uint64_t)copy[12 + b] << (8 * b);
        for (int b = 0; b < 8; b++)
            len |= (uint64_t)copy[16 + b] << (8 * b);
        if (key_len <= size - 32 && len == size - 32 - key_len) {
            uint64_t h = fnv1a64(copy + 32 + key_len, (size_t)len);
            for (int b = 0; b < 8; b++)
                copy[24 + b] = (uint8_t)(h >> (8 * b));
        }
    }
    const unsigned char *payload = NULL;
    size_t len = 0;
    char why[256] = "";
    if (clnet_cl_binary_parse(copy, size, &key, &payload, &len, why, sizeof why)) {
        if (payload < copy + 32 || payload + len != copy + size)
            abort();
    } else if (why[0] == '\0') {
        abort();
    }
    free(copy);
    return 0;
}
