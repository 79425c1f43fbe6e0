"""Seeded edge-update streams for dynamic sparsification: insertions of local
random edges (each joins a vertex to the end of a short random walk from it in
G, 2-5 hops, so it is a new edge near existing ones, as in dyGRASS's and
inGRASS's experiments), then deletions of a random share of those insertions.

    python3 benchmarks/sparsify/stream.py G.mtx --insert 0.25 --delete 0.1 --seed 1 -o stream.txt
"""
import argparse
import numpy as np
import scipy.io as sio
import scipy.sparse as sp


def make_stream(graph, insert_fraction, delete_fraction, seed, hops=(2, 5)):
    a = sp.csr_matrix(graph)
    a.setdiag(0)
    a.eliminate_zeros()
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    existing = set(zip(*sp.triu(a, 1).nonzero()))
    inserted = []
    seen = set()
    want = int(round(insert_fraction * n))
    while len(inserted) < want:
        p = int(rng.integers(n))
        v = p
        for _ in range(int(rng.integers(hops[0], hops[1] + 1))):
            row = a.indices[a.indptr[v]:a.indptr[v + 1]]
            if len(row) == 0:
                break
            v = int(row[rng.integers(len(row))])
        key = (min(p, v), max(p, v))
        if p == v or key in existing or key in seen:
            continue
        seen.add(key)
        inserted.append(key)
    deleted = [inserted[i] for i in rng.choice(len(inserted), int(round(delete_fraction * len(inserted))), replace=False)]
    return inserted, deleted


def write_stream(path, inserted, deleted):
    with open(path, "w") as f:
        f.write("% edge update stream: '+ p q w' inserts, '- p q' deletes (1-based)\n")
        for p, q in inserted:
            f.write(f"+ {p + 1} {q + 1} 1\n")
        for p, q in deleted:
            f.write(f"- {p + 1} {q + 1}\n")


def apply_stream(graph, inserted, deleted):
    a = sp.lil_matrix(sp.csr_matrix(graph, dtype=float))
    for p, q in inserted:
        a[p, q] = a[q, p] = 1.0
    for p, q in deleted:
        a[p, q] = a[q, p] = 0.0
    a = sp.csr_matrix(a)
    a.eliminate_zeros()
    return a


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("graph")
    parser.add_argument("--insert", type=float, default=0.25)
    parser.add_argument("--delete", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", required=True)
    parser.add_argument("--final", help="also write the final graph G' here")
    args = parser.parse_args()
    g = sp.csr_matrix(sio.mmread(args.graph), dtype=float)
    g.data[:] = 1.0
    ins, dels = make_stream(g, args.insert, args.delete, args.seed)
    write_stream(args.o, ins, dels)
    if args.final:
        sio.mmwrite(args.final, sp.tril(apply_stream(g, ins, dels)), symmetry="symmetric")
