#!/bin/sh
# Test "hosts" on one machine: network namespaces joined by a bridge.
#
#   cluster/netns-hosts.sh up N        make hosts sparrow-h1 … sparrow-hN (10.77.0.1 … 10.77.0.N)
#   cluster/netns-hosts.sh down        remove them (and the bridge); safe to run twice
#   cluster/netns-hosts.sh run N -- COMMAND…
#                                      up N, run COMMAND inside sparrow-h1 with
#                                      SPARROW_HOSTFILE naming the hosts, then down
#                                      whatever COMMAND did (trap on exit and signals)
#
# Addresses exist only inside the namespaces (the bridge in the root namespace
# has none), so nothing on the machine's own network sees them. Launch across
# them with cluster/netns-rsh.sh as mpirun's plm_rsh_agent (see cluster/README.md).
# Needs root (CAP_NET_ADMIN) and iproute2; exits 77 when the machine refuses
# namespaces, so a test can report "skipped" rather than "passed".
set -eu
# Names can be changed (two harnesses at once must not share them): at most
# 8 characters of prefix, so interface names stay within Linux's 15.
PREFIX=${SPARROW_NETNS_PREFIX:-sparrow-h}
BRIDGE=${SPARROW_NETNS_BRIDGE:-sparrowbr0}
export SPARROW_NETNS_PREFIX="$PREFIX" SPARROW_NETNS_BRIDGE="$BRIDGE"
SUBNET=10.77.0

down() {
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX[0-9]*$" || true); do
        ip netns delete "$ns" 2>/dev/null || true
    done
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^${PREFIX}v[0-9]*$" || true); do
        ip link delete "$link" 2>/dev/null || true
    done
    ip link delete "$BRIDGE" 2>/dev/null || true
}

up() {
    count=$1
    command -v ip >/dev/null 2>&1 || { echo "netns-hosts: iproute2 ('ip') is not installed" >&2; exit 77; }
    down
    if ! ip link add "$BRIDGE" type bridge 2>/dev/null; then
        echo "netns-hosts: this machine refuses network devices (no CAP_NET_ADMIN?)" >&2; exit 77
    fi
    ip link set "$BRIDGE" up
    i=1
    while [ "$i" -le "$count" ]; do
        ns="$PREFIX$i"
        if ! ip netns add "$ns" 2>/dev/null; then
            echo "netns-hosts: this machine refuses network namespaces" >&2; down; exit 77
        fi
        # Entering one needs a private mount of /sys, refused e.g. in a chroot whose / is no mount point.
        if ! reason=$(ip netns exec "$ns" true 2>&1); then
            echo "netns-hosts: this machine refuses to enter network namespaces: $reason" >&2; down; exit 77
        fi
        ip link add "${PREFIX}v$i" type veth peer name eth0 netns "$ns"
        ip link set "${PREFIX}v$i" master "$BRIDGE" up
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" ip addr add "$SUBNET.$i/24" dev eth0
        ip netns exec "$ns" ip link set eth0 up
        i=$((i + 1))
    done
    # Wait until every host's interface is up (a bridge port takes a moment to forward).
    tries=0
    i=1
    while [ "$i" -le "$count" ]; do
        if [ "$(ip netns exec "$PREFIX$i" cat /sys/class/net/eth0/operstate 2>/dev/null)" = up ]; then
            i=$((i + 1))
            continue
        fi
        tries=$((tries + 1))
        [ "$tries" -lt 50 ] || { echo "netns-hosts: the interface of $PREFIX$i does not come up" >&2; down; exit 1; }
        sleep 0.1
    done
}

hostfile() {
    count=$1 slots=$2 file=$3
    : > "$file"
    i=1
    while [ "$i" -le "$count" ]; do echo "$SUBNET.$i slots=$slots" >> "$file"; i=$((i + 1)); done
}

case "${1:-}" in
    up) up "${2:?up N}" ;;
    down) down ;;
    run)
        count=${2:?run N -- COMMAND}
        shift 2
        [ "${1:-}" = "--" ] && shift
        trap down EXIT
        trap 'exit 130' INT TERM
        up "$count"
        file=$(mktemp "${TMPDIR:-/tmp}/sparrow-hosts.XXXXXX")
        hostfile "$count" "${SPARROW_NETNS_SLOTS:-2}" "$file"
        status=0
        ip netns exec "${PREFIX}1" env SPARROW_HOSTFILE="$file" SPARROW_NETNS_SUBNET="$SUBNET.0/24" "$@" || status=$?
        rm -f "$file"
        exit "$status"
        ;;
    *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
