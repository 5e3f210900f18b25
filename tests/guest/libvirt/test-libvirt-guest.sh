#!/bin/bash
# test-libvirt-guest.sh VMGPU - meson's 'libvirt' suite (opt-in): a real
# libvirtd inside the test guest starts a domain that receives the guest's
# devices (edu; the stdvga + HDA group) through vmgpu attach, managed,
# unmanaged and live (scenario.sh; see README.md in this directory).
#
# Builds what it needs first:
#   tests/guest/make-guest.sh --with-nested    kernel, initramfs, QEMU kit
#   tests/guest/libvirt/make-libvirt-root.sh   libvirtd + libraries + config
# and exits 77 (skip) when either cannot be built here (not Debian, no
# network, not root while packages are missing; their message says which).
#
# Environment: VMGPU_GUEST_DIR (build dir, default <repo>/build/guest),
# VMGPU_GUEST_SKIP=1 (skip), VMGPU_GUEST_KEEP=DIR (keep the logs and domain
# XMLs the guest sends back in DIR/libvirt), VMGPU_GUEST_TIMEOUT (seconds for
# the guest run, default 600); VMGPU_LIBVIRT_PHASES, VMGPU_L2_TYPE,
# VMGPU_L2_TIMEOUT, VMGPU_L2_KARGS, VMGPU_KVM_AMD_ARGS, VMGPU_LIBVIRT_DEBUG
# are passed to scenario.sh (see its header).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
GUEST=$(dirname "$HERE")
VMGPU=${1:?usage: test-libvirt-guest.sh VMGPU}
GDIR=${VMGPU_GUEST_DIR:-$(cd "$GUEST/../.." && pwd)/build/guest}

if [ -n "${VMGPU_GUEST_SKIP:-}" ]; then echo "SKIP: VMGPU_GUEST_SKIP is set"; exit 77; fi
[ -x "$VMGPU" ] || { echo "FAIL: $VMGPU is not an executable"; exit 1; }
# vmgpu loads libvirt through its module, looked for next to the program
# (and in its lib/, the build tree's layout): -b puts it next to vmgpu.
MODULE=""
for m in "$(dirname "$VMGPU")/lib/vmgpu-virt.so" "$(dirname "$VMGPU")/vmgpu-virt.so"; do
    [ -f "$m" ] && { MODULE=$m; break; }
done
[ -n "$MODULE" ] || { echo "FAIL: no vmgpu-virt.so next to $VMGPU (or in its lib/)"; exit 1; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(date +%s.%N)
for step in "$GUEST/make-guest.sh --with-nested" "$HERE/make-libvirt-root.sh"; do
    $step
    rc=$?
    if [ $rc -eq 77 ]; then
        echo "SKIP: ${step##*/} cannot build its part here (see its message above)"; exit 77
    elif [ $rc -ne 0 ]; then
        echo "FAIL: ${step##*/}: exit status $rc"; exit 1
    fi
done
echo "test-libvirt-guest: build steps took $(secs "$t0")s"

# shellcheck source=/dev/null
. "$GDIR/guest.env"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-test-libvirt.XXXXXX"); trap 'rm -rf "$TMP"' EXIT
if [ -n "${VMGPU_GUEST_KEEP:-}" ]; then
    OUT=$VMGPU_GUEST_KEEP/libvirt; rm -rf "$OUT"
else
    OUT=$TMP/out
fi
ENVS=()
for var in VMGPU_LIBVIRT_PHASES VMGPU_L2_TYPE VMGPU_L2_TIMEOUT VMGPU_L2_KARGS \
           VMGPU_KVM_AMD_ARGS VMGPU_LIBVIRT_DEBUG; do
    [ -n "${!var:-}" ] && ENVS+=(-e "$var=${!var}")
done
# 2 GiB: the initramfs with both layers (~115 MB, held twice while the
# kernel unpacks it), libvirtd, and L2's 256 MiB (pinned for VFIO).
# One vCPU: L2 (KVM on TCG's emulated SVM) boots in ~12 s instead of ~20 s
# with two, and the rare nested-KVM crashes seen with two did not occur.
"$GUEST/run-guest.sh" -t "${VMGPU_GUEST_TIMEOUT:-600}" -m 2048 -s 1 -o "$OUT" \
    -r "$NESTED_ROOT" -r "$GDIR/libvirt-root" -b "$VMGPU" -b "$MODULE" \
    ${ENVS[@]+"${ENVS[@]}"} "$HERE/scenario.sh" "$GUEST/json-flat.awk"
rc=$?
echo "test-libvirt-guest: exit status $rc, $(secs "$t0")s in all"
# keep meson's special statuses (77 skip, 99 hard error) for real skips only
case $rc in 77|99) rc=1 ;; esac
exit $rc
