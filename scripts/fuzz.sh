#!/usr/bin/env bash
# Fuzzes the Matrix Market and PETSc binary readers, the job-file parser and the edge-update stream parser with libFuzzer.
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default 600; targets: matrixmarket petsc jobs updates)
# Builds fuzz/ (a package of its own) with -sanitize=fuzzer,address -Xswiftc -use-ld=lld, starts each
# target from the committed seeds in fuzz/corpus/TARGET, keeps what it finds in
# fuzz/work/TARGET (ignored by git), and prints executions, executions per second,
# corpus size and crashes. A crash leaves fuzz/work/crash-* and makes the script
# exit 1. To keep new seeds: merge fuzz/work/TARGET into fuzz/corpus/TARGET with
# the target's -merge=1 flag and commit the small ones.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(matrixmarket petsc jobs updates)
./scripts/install-deps.sh
swift build --package-path fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld 2>&1 | tail -n 1
bin=$(swift build --package-path fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --show-bin-path)
status=0
for target in "${targets[@]}"; do
  case $target in
    matrixmarket) exe=FuzzMatrixMarket ;; petsc) exe=FuzzPETScBinary ;; jobs) exe=FuzzJobParser ;; updates) exe=FuzzUpdateStream ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  mkdir -p "fuzz/work/$target"
  log="fuzz/work/$target.log"
  # SparrowJobs links MPI: keep it from starting (no launcher variables here).
  "$bin/$exe" "fuzz/work/$target" "fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="fuzz/work/crash-$target-" >"$log" 2>&1 || status=1
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  speed=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
  corpus=$(find "fuzz/work/$target" -type f | wc -l)
  seeds=$(find "fuzz/corpus/$target" -type f | wc -l)
  crashes=$(find fuzz/work -maxdepth 1 -name "crash-$target-*" | wc -l)
  echo "fuzz $target: ${runs:-?} executions in ${seconds} s (${speed:-?}/s), corpus $corpus inputs found + $seeds seeds, crashes $crashes"
done
exit $status
