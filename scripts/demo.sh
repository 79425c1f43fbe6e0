#!/usr/bin/env bash
# First README command: install dependencies if missing, build in release
# mode, and run a real job under `mpirun -n 2`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
source scripts/mpi-env.sh
swift build -c release --product sparrow 2>&1 | tail -n 1
bin=.build/release/sparrow
out=demo-output
mkdir -p "$out"
echo "== generate an R-MAT graph (scale 14) on 2 ranks"
mpirun -q -n 2 "$bin" generate rmat --scale 14 --edge-factor 16 --seed 1 -o "$out/rmat14.mtx"
echo "== inspect it on 2 ranks"
mpirun -q -n 2 "$bin" info "$out/rmat14.mtx" --report "$out/info.json"
if [ -d ../shared/data/matrices ]; then data=../shared/data/matrices; else data=Tests/Fixtures; fi
echo "== distributed SpMV with bcsstk13"
mpirun -q -n 2 "$bin" spmv "$data/bcsstk13.mtx" --x ones -o "$out/y.mtx" --report "$out/spmv.json"
if "$bin" --help | grep -q spgemm; then
  echo "== C = A·A on 2 ranks (R-MAT 14: report only; BCSSTK13: written)"
  mpirun -q -n 2 "$bin" spgemm "$out/rmat14.mtx" "$out/rmat14.mtx" --repeat 3 --report "$out/spgemm.json"
  mpirun -q -n 2 "$bin" spgemm "$data/bcsstk13.mtx" "$data/bcsstk13.mtx" --sorted -o "$out/C.mtx"
fi
if "$bin" --help | grep -q solve; then
  echo "== Cholesky solve of bcsstk13 on 2 ranks"
  mpirun -q -n 2 "$bin" solve "$data/bcsstk13.mtx" --rhs random:4 --method cholesky -o "$out/x.mtx" --report "$out/solve.json"
fi
if "$bin" --help | grep -q " run "; then
  echo "== a job file on 2 ranks"
  mpirun -q -n 2 "$bin" run docs/examples/spgemm-and-solve.yaml --output-dir "$out/job" --report "$out/job.json"
fi
echo "== reports in $out/"
ls "$out"
