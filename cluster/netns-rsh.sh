#!/bin/sh
# mpirun's remote launcher for the namespace hosts of netns-hosts.sh:
#   mpirun --mca plm_rsh_agent cluster/netns-rsh.sh …
# OpenMPI calls it as `netns-rsh.sh HOST COMMAND…`; HOST is an address
# 10.77.0.K, which lives in namespace sparrow-hK.
set -eu
host=$1
shift
PREFIX=${SPARROW_NETNS_PREFIX:-sparrow-h}
case "$host" in
    10.77.0.*) ns="$PREFIX${host##*.}" ;;
    "$PREFIX"*) ns=$host ;;
    *) echo "netns-rsh: unknown host '$host'" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" sh -c "$*"
