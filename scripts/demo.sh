#!/usr/bin/env bash
# First README command: install dependencies if missing, build in release
# mode, and run the four algorithms Sparrow is for in one job under
# `mpirun -n 2` (docs/examples/four-algorithms.yaml): SpGEMM, a Cholesky
# solve, optimal transport (SNS), a spectral sparsifier with its κ and a
# sparsifier-preconditioned Laplacian solve, and matrix completion. Nothing
# is downloaded; the job ends with a table of what each step computed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
source scripts/mpi-env.sh
swift build -c release --product sparrow 2>&1 | tail -n 1
bin=.build/release/sparrow
out=demo-output
rm -rf "$out"
mkdir -p "$out"
echo "== the four algorithms in one job, on 2 ranks (progress on stderr, figures in $out/run.json)"
mpirun -q -n 2 "$bin" run docs/examples/four-algorithms.yaml --output-dir "$out" --report "$out/run.json"
echo "== outputs in $out/"
ls "$out"
