#!/usr/bin/env bash
# Installs Sparrow's system dependencies on Debian 12 when any is missing.
# Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail
packages=(libopenmpi-dev openmpi-bin libsuitesparse-dev libopenblas-dev pkg-config iproute2 zlib1g-dev libbz2-dev liblzma-dev libssl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
