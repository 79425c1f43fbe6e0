#!/bin/sh
# Runs a bundle made by make-bundle.sh with this machine's own packages
# hidden: in a private mount namespace, every file of every bundled Debian
# package (and the Swift toolchain in /opt/swift or /usr/share/swift) is
# covered by an empty file, and the bundle is run from a copy in another
# directory. It generates a matrix, multiplies it under the bundle's mpirun at
# 2 ranks, solves with CHOLMOD, and compares the results with REFERENCE_DIR,
# made beforehand by the ordinary build.
#
#   cluster/test-bundle.sh BUNDLE_DIR REFERENCE_DIR
#
# Exits 77 when the machine refuses mount namespaces (a test then skips).
set -eu
bundle=$(cd "${1:?bundle directory}" && pwd)
reference=$(cd "${2:?reference directory}" && pwd)
[ "$(id -u)" = 0 ] || { echo "test-bundle: needs root for a mount namespace" >&2; exit 77; }
unshare -m true 2>/dev/null || { echo "test-bundle: this machine refuses mount namespaces" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sparrow-relocated.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$bundle" "$work/sparrow"
packages=$(cat "$bundle/PACKAGES")
hide=$(for p in $packages; do dpkg -L "$p" 2>/dev/null; done | sort -u | while read -r f; do [ -f "$f" ] && ! [ -L "$f" ] && echo "$f"; done)
echo "test-bundle: hiding $(echo "$hide" | wc -l) files of $(echo "$packages" | wc -w) packages" >&2
echo "$hide" > "$work/hidden"
unshare -m sh -eu -c '
    work=$1; reference=$2
    mount --make-rprivate /
    while read -r f; do mount --bind /dev/null "$f"; done < "$work/hidden"
    for d in /opt/swift /usr/share/swift; do [ -d "$d" ] && mount -t tmpfs none "$d"; done
    # What the hidden system would have given is gone: the plain build can no longer start.
    if [ -x "$reference/plain-sparrow" ] && "$reference/plain-sparrow" --version >/dev/null 2>&1; then
        echo "test-bundle: the system libraries are still visible" >&2; exit 1
    fi
    cd "$work"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    s=$work/sparrow/bin
    "$s/sparrow" --version
    "$s/sparrow" generate rmat --scale 10 --edge-factor 8 --seed 2 -o A.mtx --quiet
    "$s/mpirun" -n 2 --oversubscribe "$s/sparrow" spgemm A.mtx A.mtx -o C.mtx --quiet
    "$s/mpirun" -n 2 --oversubscribe "$s/sparrow" solve "$reference/spd.mtx" --method cholesky --rhs ones -o x.mtx --quiet
    cmp A.mtx "$reference/A.mtx"
    cmp C.mtx "$reference/C.mtx"
    cmp x.mtx "$reference/x.mtx"
    echo "test-bundle: the relocated bundle ran with the system packages hidden; outputs match"
' sh "$work" "$reference"
