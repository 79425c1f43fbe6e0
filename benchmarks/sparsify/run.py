"""Spectral sparsification benchmarks, one run, contenders interleaved.

    python3 benchmarks/sparsify/run.py [--quick]

1. κ–density curves of `sparrow sparsify` (tree and sampling methods) on
   fe_4elt2 and delaunay_n15, each κ also recomputed here with scipy (ARPACK on
   the shifted pencil, dyGRASS's convention) from the written H; against a
   Laplacians.jl-style JL effective-resistance sampler written here in scipy
   (the same density, timed the same way: sparsification only) and pygsp's
   graph_sparsify where it runs.
2. Laplacian solves to 1e-8 relative residual: `sparrow solve --method pcg
   --preconditioner sparsifier` (sparsify + factor + PCG, from its report)
   against pyamg smoothed_aggregation_solver + CG (setup + solve), on the
   fe_4elt2 and delaunay_n15 Laplacians and on the largest component of a
   symmetrized R-MAT scale-16 graph with U[1,10] weights; one right-hand side
   and eight.
3. Dynamic updates (dyGRASS-style): 25 % of |V| local insertions in 10 batches,
   then 10 % of them deleted, on delaunay_n15 and on a Delaunay graph 4× larger
   (scipy.spatial.Delaunay of seeded uniform points): updates per second, the
   final density and κ against a fresh static sparsifier of the final graph.

Writes results.csv, results.md and kappa_density.png beside this file.
"""
import argparse, csv, json, os, subprocess, sys, tempfile, time
import numpy as np
import scipy.io as sio
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.sparse.csgraph import connected_components

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, here)
from stream import make_stream, write_stream, apply_stream  # noqa: E402

binary = os.environ.get("SPARROW_BIN", os.path.join(root, ".build/release/sparrow"))
data = os.path.join(root, "..", "shared", "data", "graphs")
work = tempfile.mkdtemp(prefix="sparsify-bench-")
rows = []


def record(**row):
    row.setdefault("ranks", 1)
    row.setdefault("threads", 1)
    row.setdefault("repetition", 0)
    rows.append(row)
    print(json.dumps(row), flush=True)


def sparrow(*args):
    report = os.path.join(work, "report.json")
    subprocess.run([binary, *args, "--report", report, "--quiet"], check=True, stderr=subprocess.DEVNULL)
    with open(report) as f:
        return json.load(f)


def adjacency(path):
    a = sp.csr_matrix(sio.mmread(path), dtype=float)
    a.setdiag(0)
    a.eliminate_zeros()
    if a.data.size and np.all(a.data == a.data[0]):
        a.data[:] = 1.0
    return a


def laplacian(a):
    return sp.csr_matrix(sp.diags(np.asarray(a.sum(1)).ravel()) - a)


def kappa_scipy(g, h, shift=1e-6):
    """λ_max of (L_G + sI, L_H + sI) by ARPACK with a sparse LU of L_H + sI (λ_min = 1 for a subgraph)."""
    n = g.shape[0]
    lg = laplacian(g) + shift * sp.eye(n)
    lh = laplacian(h) + shift * sp.eye(n)
    solve = sla.factorized(sp.csc_matrix(lh))
    op = sla.LinearOperator((n, n), matvec=lambda x: solve(lg @ x))
    lmax = sla.eigs(op, k=1, which="LM", return_eigenvectors=False, tol=1e-6)[0].real
    op_min = sla.LinearOperator((n, n), matvec=lambda x: sla.spsolve(sp.csc_matrix(lg), lh @ x))
    return lmax


def jl_sampling(g, density, seed=1, k=48):
    """Laplacians.jl-style sparsify: JL effective resistances (k projections through one
    sparse factorization of the grounded Laplacian), then sample edges ∝ w_e R_e with
    replacement until density·n distinct edges, reweighted by 1/(q p_e)."""
    rng = np.random.default_rng(seed)
    n = g.shape[0]
    up = sp.triu(g, 1).tocoo()
    p, q, w = up.row, up.col, up.data
    m = len(w)
    b = sp.csr_matrix((np.concatenate([np.sqrt(w), -np.sqrt(w)]), (np.concatenate([np.arange(m)] * 2), np.concatenate([p, q]))), shape=(m, n))
    lap = laplacian(g)
    solve = sla.factorized(sp.csc_matrix(lap[1:, 1:]))
    r = np.zeros(m)
    for _ in range(k):
        y = b.T @ (rng.choice([-1.0, 1.0], size=m) / np.sqrt(k))
        z = np.concatenate([[0.0], solve(y[1:])])
        r += (z[p] - z[q]) ** 2
    prob = w * r
    prob /= prob.sum()
    budget = int(density * n)
    counts = {}
    draws = 0
    while len(counts) < min(budget, m):
        for e in rng.choice(m, size=budget, p=prob):
            counts[e] = counts.get(e, 0) + 1
            draws += 1
            if len(counts) >= budget:
                break
    e = np.fromiter(counts.keys(), dtype=np.int64)
    c = np.fromiter(counts.values(), dtype=float)
    wh = w[e] * c / (draws * prob[e])
    h = sp.csr_matrix((wh, (p[e], q[e])), shape=(n, n))
    return h + h.T


def write_graph(a, path):
    sio.mmwrite(path, sp.tril(a), symmetry="symmetric")


def curves(quick):
    densities = [1.05, 1.1, 1.13, 1.2, 1.3] if quick else [1.03, 1.05, 1.08, 1.1, 1.13, 1.16, 1.2, 1.3, 1.5]
    for name in ["fe_4elt2", "delaunay_n15"]:
        path = os.path.join(data, name + ".mtx")
        g = adjacency(path)
        n = g.shape[0]
        for d in densities:
            for method in ["tree", "sampling"]:
                out = os.path.join(work, f"H-{name}-{method}-{d}.mtx")
                r = sparrow("sparsify", path, "--density", str(d), "--method", method, "-o", out)
                h = adjacency(out) if method == "tree" else sp.csr_matrix(sio.mmread(out), dtype=float)
                check = kappa_scipy(g, h) if (d == 1.13 or d == 1.15 or not quick) and method == "tree" else float("nan")
                m = r["metrics"]
                record(benchmark="kappa_density", contender=f"sparrow-{method}", problem=name, density=m["density"],
                       seconds=r["timings"]["sparsify"], kappa=m["kappa"], kappa_scipy=check,
                       pcg_iterations=m["pcg_iterations"], cg_iterations=m["cg_iterations"])
            if d in (1.1, 1.13, 1.3) or not quick:
                start = time.perf_counter()
                h = jl_sampling(g, d)
                seconds = time.perf_counter() - start
                # κ of a reweighted H: λ_max/λ_min of the shifted pencil, both by ARPACK.
                shift = 1e-6
                lg = laplacian(g) + shift * sp.eye(n)
                lh = laplacian(h) + shift * sp.eye(n)
                ncomp = connected_components(h, directed=False)[0]
                if ncomp > 1:
                    kap = float("inf")
                else:
                    solve = sla.factorized(sp.csc_matrix(lh))
                    op = sla.LinearOperator((n, n), matvec=lambda x: solve(lg @ x))
                    lmax = sla.eigs(op, k=1, which="LM", return_eigenvectors=False, tol=1e-6)[0].real
                    solve_g = sla.factorized(sp.csc_matrix(lg))
                    op2 = sla.LinearOperator((n, n), matvec=lambda x: solve_g(lh @ x))
                    lmin = 1 / sla.eigs(op2, k=1, which="LM", return_eigenvectors=False, tol=1e-6)[0].real
                    kap = lmax / min(lmin, 1.0)
                record(benchmark="kappa_density", contender="scipy-jl-sampling", problem=name, density=h.nnz / 2 / n,
                       seconds=seconds, kappa=kap, components=ncomp)
    # pygsp, where it runs (it forms the dense resistance matrix: small graphs only).
    try:
        import pygsp.reduction
        g = adjacency(os.path.join(root, "Tests/Fixtures/jagmesh7.mtx"))
        start = time.perf_counter()
        pygsp.reduction.graph_sparsify(laplacian(g), epsilon=0.5, seed=1)
        record(benchmark="kappa_density", contender="pygsp-graph_sparsify", problem="jagmesh7", seconds=time.perf_counter() - start)
    except Exception as error:  # noqa: BLE001
        record(benchmark="kappa_density", contender="pygsp-graph_sparsify", problem="jagmesh7", seconds=float("nan"),
               note=f"does not run: {type(error).__name__}: {error}".replace(",", ";")[:160])


def rmat_lcc():
    raw = os.path.join(work, "rmat16.mtx")
    subprocess.run([binary, "generate", "rmat", "--scale", "16", "--edge-factor", "16", "--seed", "1", "-o", raw, "--quiet"], check=True)
    a = sp.csr_matrix(sio.mmread(raw), dtype=float)
    a = a + a.T
    a.setdiag(0)
    a.eliminate_zeros()
    a.data[:] = 1
    a = sp.triu(a, 1).tocsr()
    a.data = np.random.default_rng(1).uniform(1, 10, a.nnz)
    a = a + a.T
    _, label = connected_components(a, directed=False)
    keep = np.flatnonzero(label == np.argmax(np.bincount(label)))
    return sp.csr_matrix(a[keep][:, keep])


def solves(quick):
    import pyamg
    problems = [("fe_4elt2", adjacency(os.path.join(data, "fe_4elt2.mtx"))),
                ("delaunay_n15", adjacency(os.path.join(data, "delaunay_n15.mtx"))),
                ("rmat16_lcc", rmat_lcc())]
    for name, g in problems:
        lap = laplacian(g)
        n = lap.shape[0]
        path = os.path.join(work, f"L-{name}.mtx")
        sio.mmwrite(path, sp.tril(lap), symmetry="symmetric")
        for nrhs in [1, 8]:
            rng = np.random.default_rng(7)
            b = rng.uniform(-1, 1, (n, nrhs))
            b -= b.mean(0)
            bpath = os.path.join(work, f"b-{name}-{nrhs}.mtx")
            sio.mmwrite(bpath, b)
            # Meshes: the default (1.1, or 1.2 with several right-hand sides); the power-law graph needs more edges.
            spelling = "sparsifier:1.3" if name.startswith("rmat") else "sparsifier"
            for repetition in range(1 if quick else 2):
                # Sparrow: read excluded, as for pyamg (the matrix is in memory).
                xpath = os.path.join(work, "x.mtx")
                r = sparrow("solve", path, "--method", "pcg", "--preconditioner", spelling, "--rhs", bpath,
                            "--tol", "1e-8", "--max-iterations", "20000", "-o", xpath)
                x = sio.mmread(xpath).reshape(n, nrhs)
                residual = max(np.linalg.norm(lap @ x[:, j] - b[:, j]) / np.linalg.norm(b[:, j]) for j in range(nrhs))
                t = r["timings"]
                record(benchmark="laplacian_solve", contender="sparrow-pcg-" + r["metrics"]["preconditioner"], problem=name, rhs=nrhs,
                       repetition=repetition, setup=t["preconditioner"], solve=t["solve"], seconds=t["preconditioner"] + t["solve"],
                       iterations=r["metrics"]["iterations"], residual=residual)
                start = time.perf_counter()
                ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(lap))
                setup = time.perf_counter() - start
                iterations = 0
                start = time.perf_counter()
                worst = 0.0
                for j in range(nrhs):
                    residuals = []
                    xj = ml.solve(b[:, j], tol=1e-8, accel="cg", maxiter=20000, residuals=residuals)
                    iterations += len(residuals) - 1
                    worst = max(worst, np.linalg.norm(lap @ xj - b[:, j]) / np.linalg.norm(b[:, j]))
                record(benchmark="laplacian_solve", contender="pyamg-sa+cg", problem=name, rhs=nrhs, repetition=repetition,
                       setup=setup, solve=time.perf_counter() - start, seconds=setup + time.perf_counter() - start,
                       iterations=iterations, residual=worst)


def delaunay(points, seed, ordered=True):
    """Delaunay graph of seeded uniform points; `ordered` numbers them along a Morton curve
    (as the DIMACS10 files are numbered, so neighbours sit near each other in memory)."""
    from scipy.spatial import Delaunay
    xy = np.random.default_rng(seed).uniform(0, 1, (points, 2))
    if ordered:
        cells = (xy * 65535).astype(np.uint64)
        code = np.zeros(points, dtype=np.uint64)
        for bit in range(16):
            code |= ((cells[:, 0] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit)
            code |= ((cells[:, 1] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + 1)
        xy = xy[np.argsort(code)]
    tri = Delaunay(xy).simplices
    i = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
    j = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
    a = sp.csr_matrix((np.ones(len(i)), (i, j)), shape=(points, points))
    a = a + a.T
    a.data[:] = 1
    return a


def dynamic(quick):
    problems = [("delaunay_n15", adjacency(os.path.join(data, "delaunay_n15.mtx"))), ("delaunay_4x", delaunay(4 * 32768, 3)),
                ("delaunay_4x_random_numbering", delaunay(4 * 32768, 3, ordered=False))]
    for name, g in problems:
        n = g.shape[0]
        path = os.path.join(work, f"G-{name}.mtx")
        write_graph(g, path)
        for seed in ([1] if quick else [1, 2]):
            inserted, deleted = make_stream(g, 0.25, 0.1, seed)
            stream = os.path.join(work, f"stream-{name}.txt")
            write_stream(stream, inserted, deleted)
            final = apply_stream(g, inserted, deleted)
            fpath = os.path.join(work, f"F-{name}.mtx")
            write_graph(final, fpath)
            out = os.path.join(work, "Hd.mtx")
            r = sparrow("sparsify", path, "--density", "1.13", "--updates", stream, "-o", out)
            m = r["metrics"]
            h = adjacency(out)
            subgraph = bool(((h - h.multiply(final)) != 0).nnz == 0)
            fresh = sparrow("sparsify", fpath, "--density", "1.13")["metrics"]
            same = sparrow("sparsify", fpath, "--density", str(m["density"]))["metrics"]
            record(benchmark="dynamic_updates", contender="sparrow-dygrass-walks", problem=name, repetition=seed - 1,
                   vertices=n, updates=m["insertions"] + m["deletions"], seconds=m["update_seconds"],
                   updates_per_second=m["updates_per_second"], microseconds_per_update=1e6 * m["update_seconds"] / (m["insertions"] + m["deletions"]),
                   density=m["density"], kappa=m["kappa"], kappa_fresh_1_13=fresh["kappa"], kappa_fresh_same_density=same["kappa"],
                   h_subgraph_of_final=subgraph, inserted_into_h=m["inserted_into_h"], restored=m["restored_edges"])


def plot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, name in zip(axes, ["fe_4elt2", "delaunay_n15"]):
        for contender, style in [("sparrow-tree", "o-"), ("sparrow-sampling", "s--"), ("scipy-jl-sampling", "^:")]:
            pts = sorted((r["density"], r["kappa"]) for r in rows if r["benchmark"] == "kappa_density" and r["problem"] == name
                         and r["contender"] == contender and np.isfinite(r["kappa"]))
            if pts:
                ax.semilogy(*zip(*pts), style, label=contender)
        ax.axhline(60 if name == "fe_4elt2" else 150, color="grey", lw=0.8, ls="--", label="acceptance")
        ax.set_title(name)
        ax.set_xlabel("density |E_H| / |V|")
        ax.set_ylabel("κ(L_G, L_H)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(here, "kappa_density.png"), dpi=110)


def write():
    keys = ["benchmark", "contender", "ranks", "threads", "problem", "repetition", "seconds"]
    extra = sorted({k for r in rows for k in r} - set(keys))
    with open(os.path.join(here, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys + extra)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    with open(os.path.join(here, "results.md"), "w") as f:
        f.write("| benchmark | contender | problem | figures |\n|---|---|---|---|\n")
        for r in rows:
            figures = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                                if k not in ("benchmark", "contender", "problem", "ranks", "threads"))
            f.write(f"| {r['benchmark']} | {r['contender']} | {r['problem']} | {figures} |\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer densities and repetitions (the scaling suite's budget)")
    parser.add_argument("--only", nargs="*", default=["curves", "solves", "dynamic"], help="parts to run (curves, solves, dynamic)")
    args = parser.parse_args()
    if "curves" in args.only:
        curves(args.quick)
    if "solves" in args.only:
        solves(args.quick)
    if "dynamic" in args.only:
        dynamic(args.quick)
    write()
    if "curves" in args.only:
        plot()
