#!/usr/bin/env python3
"""make_seeds.py - writes one valid input for each fuzz target, so that the
fuzzers start beyond the header checks: python3 make_seeds.py OUTDIR"""
import os
import struct
import sys


def main():
    out = sys.argv[1]
    images = struct.pack('>IIII', 0x803, 2, 3, 4) + bytes(range(24))
    labels = struct.pack('>II', 0x801, 2) + bytes([3, 9])
    seeds = {
        # two bytes giving the label file's length, the image file, the label file
        'seed_idx.bin': struct.pack('>H', len(labels)) + images + labels,
        # selector byte (even: CIFAR-10), then two records
        'seed_cifar10.bin': bytes([0]) + 2 * (bytes([7]) + bytes(i % 256 for i in range(3072))),
        # selector byte (odd: CIFAR-100), then one record: coarse, fine, pixels
        'seed_cifar100.bin': bytes([1, 4, 21]) + bytes(i % 251 for i in range(3072)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
