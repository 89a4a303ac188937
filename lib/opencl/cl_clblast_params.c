/* cl_clblast_params.c - CLBlast kernel parameters tuned for devices that
 * CLBlast's own database lacks, applied with CLBlastOverrideParameters when
 * such a device is opened or adopted. */
#include <string.h>

#include <clblast_c.h>

#include "opencl/cl_algo.h"

#define MAX_PARAMS 16

/* One kernel's parameters for one device, by exact CL_DEVICE_NAME (as
 * CLBlast's database keys them). */
typedef struct clblast_entry {
    const char *device;
    const char *kernel;
    int count;
    const char *names[MAX_PARAMS];
    size_t values[MAX_PARAMS];
} clblast_entry;

/* PoCL 3.1 on a 2-core AMD EPYC (Zen 5) guest. Produced with Debian's
 * clblast-utils 1.5.3:
 *   clblast_tuner_xgemm -precision 32 -m 512 -n 512 -k 512 -fraction 0.02 -runs 2
 * the best configuration of its random-search phase (435 of them tried
 * before it was stopped): 90.5 GFLOP/s for the Xgemm kernel alone, against
 * 50.7 for the best of its fixed set. Whole CLBlastSgemm calls (1024^3,
 * row-major, wall clock with clFinish, on the loaded shared machine) went
 * from 4.5 GFLOP/s with the defaults to 13-25; the copy, pad and transpose
 * kernels around Xgemm, tuned the same way (clblast_tuner_copy_fast,
 * _copy_pad, _transpose_fast), made no difference measurable above the
 * noise and are left at their defaults. */
static const clblast_entry entries[] = {
    {"pthread-skylake-avx512-AMD EPYC", "Xgemm", 16,
     {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG", "SA",
      "SB", "STRM", "STRN", "VWM", "VWN"},
     {0, 1, 16, 2, 16, 8, 128, 32, 16, 128, 0, 0, 1, 1, 8, 4}},
};

void clnet_cl_clblast_params(clnet_device *dev)
{
    cl_device_id id = clnet_cl(dev)->id;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        const clblast_entry *e = &entries[i];
        if (strcmp(e->device, dev->info.name) != 0)
            continue;
        CLBlastStatusCode code = CLBlastOverrideParameters(
            id, e->kernel, CLBlastPrecisionSingle, (size_t)e->count, (const char **)e->names,
            e->values);
        if (code != CLBlastSuccess)
            clnet_log(dev->ctx, CLNET_LOG_WARN, "CLBlast rejected the tuned %s parameters for "
                      "%s (status %d); it keeps its defaults", e->kernel, dev->info.name,
                      (int)code);
        else
            clnet_log(dev->ctx, CLNET_LOG_DEBUG, "CLBlast %s: tuned parameters for %s",
                      e->kernel, dev->info.name);
    }
}
