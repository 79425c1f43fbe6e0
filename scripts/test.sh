#!/usr/bin/env bash
# Second README command: install dependencies if missing, build, and run the
# whole test suite (unit tests plus mpirun tests at 1, 2 and 3 ranks).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
source scripts/mpi-env.sh
swift build --build-tests 2>&1 | tail -n 1
swift test --skip-build 2>&1
