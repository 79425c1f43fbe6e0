#!/bin/sh
# mpirun across the namespace hosts, run inside `netns-hosts.sh run N --`:
#   cluster/netns-hosts.sh run 2 -- cluster/netns-mpirun.sh -n 4 sparrow spgemm A.mtx A.mtx -o C.mtx
# Everything goes over TCP on the harness subnet: btl self,tcp (no shared
# memory, so two ranks on one "host" still talk over its interface) and both
# the runtime's (oob) and MPI's (btl) traffic restricted to that subnet.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${SPARROW_HOSTFILE:?run me inside cluster/netns-hosts.sh run N -- …}"
subnet=${SPARROW_NETNS_SUBNET:-10.77.0.0/24}
exec "${MPIRUN:-mpirun}" --hostfile "$SPARROW_HOSTFILE" \
    --mca plm_rsh_agent "$here/netns-rsh.sh" \
    --mca btl self,tcp \
    --mca btl_tcp_if_include "$subnet" \
    --mca oob_tcp_if_include "$subnet" \
    -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
    "$@"
