#!/bin/bash
# test-partition-guest.sh VMGPU - meson test guest-partition: vmgpu splits a
# GPU among VMs in the test guest (scenario.sh; see README.md here).  The
# GPU with mdev partitions is the kernel's mbochs sample driver, the SR-IOV
# path the guest's nvme PF.
#
# Builds what it needs first:
#   tests/guest/make-guest.sh --with-mdev   kernel, initramfs with mbochs
#                                           (first time: downloads the
#                                           linux-source .deb, ~139 MB)
#   vfio-open (gcc -static vfio-open.c)     opens an mdev/VF like a VMM
# and carries Debian's mdevctl into the guest (apt-get install mdevctl when
# it is missing and we are root; without it the mdevctl checks are skipped
# and say so).
#
# Exit status: 0 pass, 77 skip (the guest or its mdev drivers cannot be
# built here: not Debian, no network, not root while packages are missing;
# or VMGPU_GUEST_SKIP=1), else the number of failed checks (capped) or 1.
# Environment: VMGPU_GUEST_DIR (build dir, default <repo>/build/guest),
# VMGPU_GUEST_TIMEOUT (seconds for the guest run, default 400), SKIP_APT=1
# (no apt-get at all), VMGPU_PARTITION_PHASES (scenario.sh's PHASES).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
GUEST=$(dirname "$HERE")
VMGPU=${1:?usage: test-partition-guest.sh VMGPU}
# its fault phases kill vmgpu after each step (VMGPU_TEST_CRASH_AFTER_STEP):
# only a -Dtest-hooks=true build can
"$VMGPU" --version | grep -q 'test hooks' || { echo "SKIP: vmgpu built without -Dtest-hooks=true"; exit 77; }
GDIR=${VMGPU_GUEST_DIR:-$(cd "$GUEST/../.." && pwd)/build/guest}

if [ -n "${VMGPU_GUEST_SKIP:-}" ]; then echo "SKIP: VMGPU_GUEST_SKIP is set"; exit 77; fi
[ -x "$VMGPU" ] || { echo "FAIL: $VMGPU is not an executable"; exit 1; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(date +%s.%N)
"$GUEST/make-guest.sh" --with-mdev
rc=$?
if [ $rc -eq 77 ]; then
    echo "SKIP: make-guest.sh --with-mdev cannot build the guest or the mdev sample drivers here (see its message above)"
    exit 77
elif [ $rc -ne 0 ]; then
    echo "FAIL: make-guest.sh --with-mdev: exit status $rc"; exit 1
fi
# shellcheck source=/dev/null
. "$GDIR/guest.env"
if [ "${MDEV:-0}" != 1 ]; then
    echo "FAIL: make-guest.sh --with-mdev left no mdev sample drivers (guest.env MDEV=${MDEV:-})"; exit 1
fi
echo "test-partition-guest: make-guest.sh --with-mdev took $(secs "$t0")s"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-test-partition.XXXXXX"); trap 'rm -rf "$TMP"' EXIT
# vmgpu and what it dlopen()s later (its libvirt module, libkmod)
mapfile -t ARGS < <("$GUEST/vmgpu-carry.sh" "$VMGPU")
FILES=("$GUEST/json-flat.awk" "$GUEST/scenarios/assign-common.sh")

# mdevctl: Debian's package (a Rust binary, libc and libgcc_s only)
MDEVCTL=$(command -v mdevctl || true)
if [ -z "$MDEVCTL" ] && [ -z "${SKIP_APT:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "test-partition-guest: apt-get install mdevctl"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mdevctl ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mdevctl; }; } > "$TMP/apt.log" 2>&1 ||
        sed 's/^/    /' "$TMP/apt.log" | tail -n 5
    MDEVCTL=$(command -v mdevctl || true)
fi
if [ -n "$MDEVCTL" ]; then
    ARGS+=(-b "$MDEVCTL")
else
    echo "test-partition-guest: NOTE: no mdevctl (apt-get install mdevctl as root): the mdevctl checks are skipped"
fi

if gcc -static -O2 -Wall -o "$TMP/vfio-open" "$HERE/vfio-open.c" 2> "$TMP/vfio-open.err"; then
    FILES+=("$TMP/vfio-open")
else
    echo "test-partition-guest: NOTE: cannot build vfio-open statically (the VMM-open checks are skipped):"
    sed 's/^/    /' "$TMP/vfio-open.err" | head -n 5
fi
[ -n "${VMGPU_PARTITION_PHASES:-}" ] && ARGS+=(-e "PHASES=$VMGPU_PARTITION_PHASES")


"$GUEST/run-guest.sh" -t "${VMGPU_GUEST_TIMEOUT:-400}" "${ARGS[@]}" "$HERE/scenario.sh" "${FILES[@]}"
rc=$?
echo "test-partition-guest: exit status $rc, $(secs "$t0")s in all"
# keep meson's special statuses (77 skip, 99 hard error) for real skips only
case $rc in 77|99) rc=1 ;; esac
exit $rc
