#!/usr/bin/env bash
# Second README command: install dependencies if missing, build, and run the
# whole test suite (unit tests plus mpirun tests at 1, 2 and 3 ranks).
# Tests run against an optimised build: the numerical checks multiply and
# factor real matrices, which a debug build makes 20× slower.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
source scripts/mpi-env.sh
flags=(-c release -Xswiftc -enable-testing)
swift build "${flags[@]}" --build-tests 2>&1 | tail -n 1
SPARROW_BIN="$PWD/.build/release/sparrow" swift test "${flags[@]}" --skip-build --disable-swift-testing 2>&1
