/* names.c - a net's index of layer names: open addressing on a hash of the
 * name, so that checking a new layer's name for duplicates and resolving a
 * `from` by name take constant time, and building a net of 100,000 layers
 * (a cfg [repeat] block) is linear, not quadratic. */
#include "nn/nn_internal.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 32 bits */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The slot holding `name`, or the empty slot where it would go. Slots hold
 * layer id + 1; 0 is empty. The table is at most half full. */
static int slot_of(const clnet_net *net, const char *name)
{
    uint32_t mask = (uint32_t)net->name_slots - 1;
    for (uint32_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
        int id = net->names[i] - 1;
        if (id < 0 || strcmp(net->layers[id].spec.name, name) == 0)
            return (int)i;
    }
}

int nn_names_find(const clnet_net *net, const char *name)
{
    if (!net->names)
        return -1;
    return net->names[slot_of(net, name)] - 1;
}

static clnet_status resize(clnet_net *net, int slots)
{
    int *old = net->names;
    int *fresh = calloc((size_t)slots, sizeof *fresh);
    if (!fresh)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "net: out of host memory for the "
                          "index of %d layer names", net->nlayers);
    net->names = fresh;
    net->name_slots = slots;
    free(old);
    return CLNET_OK;
}

clnet_status nn_names_add(clnet_net *net, int id)
{
    if (2 * (id + 1) > net->name_slots) {
        int slots = net->name_slots ? net->name_slots : 16;
        while (2 * (id + 1) > slots)
            slots *= 2;
        clnet_status st = resize(net, slots);
        if (st != CLNET_OK)
            return st;
        for (int i = 0; i < id; i++)
            net->names[slot_of(net, net->layers[i].spec.name)] = i + 1;
    }
    net->names[slot_of(net, net->layers[id].spec.name)] = id + 1;
    return CLNET_OK;
}

clnet_status nn_names_rebuild(clnet_net *net)
{
    clnet_status st = resize(net, net->name_slots ? net->name_slots : 16);
    for (int i = 0; st == CLNET_OK && i < net->nlayers; i++)
        st = nn_names_add(net, i);
    return st;
}
