#!/usr/bin/env python3
"""Writes the expected outputs of `sparrow generate` for small parameters, from
this independent Python implementation of the generators as documented
(Sources/SparrowCore/Generators.swift: SplitMix64 counter streams, R-MAT with
Graph500 probabilities, Erdős–Rényi by masked 32-bit halves, grid Laplacians
with degree + shift on the diagonal). Tests compare Sparrow's files with these.
Run from this directory: python3 make_expected.py"""
from collections import defaultdict

M = (1 << 64) - 1

def mix(x):
    z = (x + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)

def bits(seed, counter):
    return mix(mix(seed ^ 0x5851F42D4C957F2D) ^ counter)

def unit(b):
    return ((b >> 11) + 1) * 2.0 ** -53

def rmat(scale, edge_factor, seed):
    entries = []
    for e in range(edge_factor << scale):
        state = bits(seed, e)
        row = column = 0
        for _ in range(scale):
            state = mix(state)
            u = (state >> 11) * 2.0 ** -53
            row <<= 1
            column <<= 1
            if u < 0.57:
                pass
            elif u < 0.76:
                column |= 1
            elif u < 0.95:
                row |= 1
            else:
                row |= 1
                column |= 1
        entries.append((row, column, unit(mix(state))))
    return 1 << scale, entries

def erdos_renyi(scale, edge_factor, seed):
    n = 1 << scale
    entries = []
    for e in range(edge_factor << scale):
        a = bits(seed, e)
        entries.append((a & (n - 1), (a >> 32) & (n - 1), unit(mix(a))))
    return n, entries

def grid(side, dims, shift):
    n = side ** dims
    entries = []
    for k in range(n):
        coords = [(k // side ** (dims - 1 - d)) % side for d in range(dims)]
        degree = 0
        for d in range(dims):
            for step in (-1, 1):
                c = list(coords)
                c[d] += step
                if 0 <= c[d] < side:
                    entries.append((k, sum(c[q] * side ** (dims - 1 - q) for q in range(dims)), -1.0))
                    degree += 1
        entries.append((k, k, degree + shift))
    return n, entries

def write(name, n, entries):
    summed = defaultdict(float)
    for i, j, v in entries:
        summed[(i, j)] += v
    with open(name, "w") as out:
        out.write("%%MatrixMarket matrix coordinate real general\n")
        out.write(f"% expected output, written by make_expected.py\n{n} {n} {len(summed)}\n")
        for (i, j) in sorted(summed):
            out.write(f"{i + 1} {j + 1} {summed[(i, j)]!r}\n")

write("rmat-s6-e4-seed3.mtx", *rmat(6, 4, 3))
write("er-s6-e4-seed5.mtx", *erdos_renyi(6, 4, 5))
write("grid2d-n5-shift0.5.mtx", *grid(5, 2, 0.5))
write("grid3d-n3-shift0.mtx", *grid(3, 3, 0.0))
