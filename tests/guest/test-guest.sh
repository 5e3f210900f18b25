#!/bin/bash
# test-guest.sh SCENARIO [VMGPU] - one test of meson's 'guest' suite.
#
#   harness        checks the test guest itself (topology, IOMMU groups,
#                  interrupt remapping, vfio-pci, SR-IOV) and the way files
#                  come back out: captures the guest's sysfs with
#                  capture-tree.sh and checks the tree on the host with lspci
#                  (check-tree.sh).  Needs no vmgpu.
#   survey VMGPU   runs scenarios/survey.sh: `vmgpu survey --json` (and
#                  `--all --json`) on the live guest; VMGPU is copied in with
#                  the libraries ldd lists (-b), plus the host's pci.ids.
#
# First runs make-guest.sh (installs QEMU etc. with apt-get when missing and
# root, downloads the Debian kernel once; a no-op when up to date).
# Exit status: 0 pass, 77 skip (QEMU or the kernel cannot be obtained: no
# Debian/apt, no network, not root; or VMGPU_GUEST_SKIP=1), else failure.
# Environment: VMGPU_GUEST_DIR (build dir, default <repo>/build/guest),
# VMGPU_GUEST_KEEP=DIR (keep what the guest sent back in DIR/<scenario>),
# VMGPU_GUEST_TIMEOUT (seconds per guest run, default 240).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIO=${1:?usage: test-guest.sh harness|survey [VMGPU]}

if [ -n "${VMGPU_GUEST_SKIP:-}" ]; then echo "SKIP: VMGPU_GUEST_SKIP is set"; exit 77; fi

t0=$(date +%s.%N)
"$HERE/make-guest.sh"
rc=$?
if [ $rc -eq 77 ]; then
    echo "SKIP: the test guest cannot be built here (see make-guest.sh's message above)"
    exit 77
elif [ $rc -ne 0 ]; then
    echo "FAIL: make-guest.sh exit status $rc"; exit 1
fi
echo "test-guest: make-guest.sh took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s"

if [ -n "${VMGPU_GUEST_KEEP:-}" ]; then
    OUT=$VMGPU_GUEST_KEEP/$SCENARIO; rm -rf "$OUT"
else
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-test-guest.XXXXXX"); trap 'rm -rf "$TMP"' EXIT
    OUT=$TMP/out
fi
RUN=("$HERE/run-guest.sh" -t "${VMGPU_GUEST_TIMEOUT:-240}" -o "$OUT")

case $SCENARIO in
harness)
    "${RUN[@]}" -e "HARNESS_ENV=a b 'c'" "$HERE/scenarios/harness.sh" "$HERE/capture-tree.sh"
    rc=$?
    if [ -d "$OUT/tree" ]; then
        "$HERE/check-tree.sh" "$OUT/tree" || rc=$((rc + 1))
    else
        echo "FAIL: the captured tree did not come back"; [ $rc -ne 0 ] || rc=1
    fi
    ;;
survey)
    VMGPU=${2:?usage: test-guest.sh survey VMGPU}
    [ -x "$VMGPU" ] || { echo "FAIL: $VMGPU is not an executable"; exit 1; }
    extra=()
    # libpci looks names up in pci.ids (Debian: /usr/share/misc/pci.ids)
    for ids in /usr/share/misc/pci.ids /usr/share/hwdata/pci.ids; do
        [ -r "$ids" ] && extra+=(-f "$ids=$ids")
    done
    "${RUN[@]}" -b "$VMGPU" ${extra[@]+"${extra[@]}"} "$HERE/scenarios/survey.sh" "$HERE/json-flat.awk"
    rc=$?
    ;;
*)
    echo "test-guest: unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
echo "test-guest: $SCENARIO: exit status $rc, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s in all"
# keep meson's special statuses (77 skip, 99 hard error) for real skips only
case $rc in 77|99) rc=1 ;; esac
exit $rc
