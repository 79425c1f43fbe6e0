#!/bin/sh
# Compressed Matrix Market fixtures, made with Debian 12's gzip, bzip2, xz and tar
# from the plain fixtures one directory up (committed: the tests need none of these tools).
#   west0067.mtx.gz .bz2 .xz     the same matrix in each codec
#   west0067-two-members.mtx.gz  the file split in two and gzipped separately, concatenated
#                                (what pigz and `cat a.gz b.gz` make; gzip -d reads it whole)
#   bcsstk13.tar.gz              as the SuiteSparse collection ships it: bcsstk13/bcsstk13.mtx
#                                after another member, bcsstk13/bcsstk13_b.mtx
#   karate.tar.xz                karate/karate.mtx alone
#   truncated.mtx.gz             west0067.mtx.gz cut after 1000 bytes
#   bad-line.mtx.xz              ../malformed/column_beyond.mtx compressed (its error names its line)
#   wrong-name.tar.gz            a tar whose only matrix is not named wrong-name.mtx
#   too-many.mtx.gz              ../malformed/too_many.mtx compressed (a surplus entry, at its line)
#   clouds-x.mtx.xz              docs/examples/data/clouds-x.mtx (a 400 × 2 array of points)
#   ratings-train.mtx.gz         docs/examples/data/ratings-train.mtx (ratings for completion)
#   jagmesh7.mtx.bz2             ../jagmesh7.mtx (a graph to sparsify)
#   ramp67.mtx, ramp67.mtx.gz    the 67 × 1 array (1, 2, …, 67) / 8, plain and compressed (a right-hand side)
set -eu
cd "$(dirname "$0")"
gzip -9nc ../west0067.mtx > west0067.mtx.gz
bzip2 -9c ../west0067.mtx > west0067.mtx.bz2
xz -9c ../west0067.mtx > west0067.mtx.xz
head -n 150 ../west0067.mtx | gzip -9nc > west0067-two-members.mtx.gz
tail -n +151 ../west0067.mtx | gzip -9nc >> west0067-two-members.mtx.gz
tmp=$(mktemp -d)
mkdir "$tmp/bcsstk13" "$tmp/karate" "$tmp/other"
cp ../bcsstk13.mtx "$tmp/bcsstk13/bcsstk13.mtx"
head -n 20 ../bcsstk13.mtx > "$tmp/bcsstk13/bcsstk13_b.mtx"
cp ../karate.mtx "$tmp/karate/karate.mtx"
cp ../karate.mtx "$tmp/other/other.mtx"
tar -C "$tmp" --owner=0 --group=0 --mtime=2026-12-07 -cf - bcsstk13/bcsstk13_b.mtx bcsstk13/bcsstk13.mtx | gzip -9n > bcsstk13.tar.gz
tar -C "$tmp" --owner=0 --group=0 --mtime=2026-12-07 -cf - karate/karate.mtx | xz -9 > karate.tar.xz
tar -C "$tmp" --owner=0 --group=0 --mtime=2026-12-07 -cf - other/other.mtx | gzip -9n > wrong-name.tar.gz
rm -r "$tmp"
head -c 1000 west0067.mtx.gz > truncated.mtx.gz
xz -9c ../malformed/column_beyond.mtx > bad-line.mtx.xz
gzip -9nc ../malformed/too_many.mtx > too-many.mtx.gz
xz -9c ../../../docs/examples/data/clouds-x.mtx > clouds-x.mtx.xz
gzip -9nc ../../../docs/examples/data/ratings-train.mtx > ratings-train.mtx.gz
bzip2 -9c ../jagmesh7.mtx > jagmesh7.mtx.bz2
{ echo '%%MatrixMarket matrix array real general'; echo '67 1'; for k in $(seq 1 67); do echo "$k / 8" | awk '{print $1 / $3}'; done; } > ramp67.mtx
gzip -9nc ramp67.mtx > ramp67.mtx.gz
