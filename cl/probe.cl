/* probe.cl - the kernels clnet_opencl_measure_limits times (see
 * lib/opencl/cl_probe.c): an empty one, whose launch and wait is the least
 * any op on the device costs, and chains of multiply-adds at each vector
 * width, whose best rate bounds every kernel's. */

__kernel void probe_empty(void)
{
}

/* The sums of a vector's lanes, for the widths below but 16 (sum16). */
inline float probe_sum1(float v)
{
    return v;
}

inline float probe_sum4(float4 v)
{
    return (v.x + v.y) + (v.z + v.w);
}

inline float probe_sum8(float8 v)
{
    return probe_sum4(v.lo + v.hi);
}

/* Eight independent chains a = a * b + c per work-item, n steps each:
 * enough to hide a multiply-add's latency behind the others (4 cycles on
 * each of 2 units of a current x86 core), few enough to stay in registers
 * at every width (AVX2's 16 hold eight float8 chains, b and c). With b
 * just below 1 the values settle near c / (1 - b), clear of denormals and
 * infinities. Every lane of every chain reaches out[], or the compiler
 * would drop it. */
#define PROBE_FMA(W, T, SUM)                                                        \
    __kernel void probe_fma##W(__global float *out, float b, float c, int n)        \
    {                                                                               \
        const T vb = (T)(b), vc = (T)(c);                                           \
        const float seed = (float)get_global_id(0) * 1e-6f;                         \
        T a0 = (T)(seed), a1 = (T)(seed + 0.125f), a2 = (T)(seed + 0.25f),          \
          a3 = (T)(seed + 0.375f), a4 = (T)(seed + 0.5f), a5 = (T)(seed + 0.625f),  \
          a6 = (T)(seed + 0.75f), a7 = (T)(seed + 0.875f);                          \
        for (int i = 0; i < n; i++) {                                               \
            a0 = fma(a0, vb, vc);                                                   \
            a1 = fma(a1, vb, vc);                                                   \
            a2 = fma(a2, vb, vc);                                                   \
            a3 = fma(a3, vb, vc);                                                   \
            a4 = fma(a4, vb, vc);                                                   \
            a5 = fma(a5, vb, vc);                                                   \
            a6 = fma(a6, vb, vc);                                                   \
            a7 = fma(a7, vb, vc);                                                   \
        }                                                                           \
        out[get_global_id(0)] = SUM(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))); \
    }

PROBE_FMA(1, float, probe_sum1)
PROBE_FMA(4, float4, probe_sum4)
PROBE_FMA(8, float8, probe_sum8)
PROBE_FMA(16, float16, sum16)
