#!/bin/sh
# Install what vmgpu needs to build and test, from Debian 12 packages only.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --check  exit 1 if something is missing, install nothing
set -eu
PKGS="build-essential meson ninja-build pkg-config libpci-dev pci.ids pciutils libkmod-dev
python3 clang libclang-rt-14-dev util-linux time
libvirt-dev libxml2-dev libvirt-clients libjson-c-dev
qemu-system-x86 busybox-static cpio kmod xz-utils ca-certificates e2fsprogs
mdevctl libvirt-daemon libvirt-daemon-driver-qemu"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
[ "${1:-}" = "--check" ] && { echo "missing:$missing"; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
