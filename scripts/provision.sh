#!/usr/bin/env bash
# Installs and starts what gauntlet's own tests need on a Debian machine; quick and silent when all is in place.
set -euo pipefail

PACKAGES=(openssh-server openssh-client iproute2 docker.io libxml2-utils qemu-system-x86 qemu-utils debootstrap kmod xz-utils make gcc pahole busybox-static xfsprogs btrfs-progs e2fsprogs util-linux)
SSHD_RUN_DIR=/run/sshd
DOCKERD_LOG=/var/log/gauntlet-dockerd.log

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ] || [ "${1:-}" = "--update" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "provision: missing Debian packages: ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "provision: installing ${missing[*]:-packages}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
fi

if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$SSHD_RUN_DIR"
  if ! docker info >/dev/null 2>&1; then
    echo "provision: starting dockerd (log: $DOCKERD_LOG)" >&2
    nohup dockerd >"$DOCKERD_LOG" 2>&1 &
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see $DOCKERD_LOG" >&2; tail -20 "$DOCKERD_LOG" >&2; exit 1; }
  fi
fi
