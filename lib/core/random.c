/* random.c - splitmix64 (Steele, Lea and Flood 2014), the one generator
 * behind every random choice clnet makes: plain 64-bit integer arithmetic,
 * so one seed gives the same numbers on every machine and compiler. */
#include "clnet/data.h"

uint64_t clnet_splitmix64_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t clnet_splitmix64(uint64_t *state)
{
    return clnet_splitmix64_mix(*state += 0x9e3779b97f4a7c15ULL);
}

float clnet_splitmix64_float(uint64_t *state)
{
    return (float)(clnet_splitmix64(state) >> 40) * (1.0f / 16777216.0f);
}
