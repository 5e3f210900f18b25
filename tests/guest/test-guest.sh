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
#   assign VMGPU           scenarios/assign-basic.sh: assign/release, checked
#                          through sysfs, /dev/vfio and vfio-viable
#   assign-refusals VMGPU  scenarios/assign-refusals.sh: a process holding the
#                          GPU, a mounted disk in the group (extra topology:
#                          nvme + bochs-display behind a pcie-pci-bridge, with
#                          a scratch disk image), bad input, a device that
#                          vanishes between survey and apply
#   assign-faults VMGPU    scenarios/assign-faults.sh: SIGKILL after every
#                          step (VMGPU_TEST_CRASH_AFTER_STEP), then recover
#   assign-stress VMGPU    scenarios/assign-stress.sh: 200 cycles, then 4
#                          concurrent loops
#   nested VMGPU           scenarios/assign-nested.sh: a nested L2 VM (QEMU
#                          -accel kvm in the guest) gets the assigned devices;
#                          runs make-guest.sh --with-nested first
#   journey VMGPU          scenarios/journey.sh: survey, assign/partition,
#                          attach --format qemu, an L2 VM started with
#                          exactly the rendered lines (GPU + audio, two VFs,
#                          an mbochs mdev, and a hand-placed fn 1 without
#                          fn 0), L2's view of its bus, vmgpu verify against
#                          the running L2; runs make-guest.sh --with-nested
#                          --with-mdev first
# The assign scenarios also get json-flat.awk, scenarios/assign-common.sh and
# three static helpers built here with gcc -static (vfio-viable.c,
# hold-lock.c, qmp-send.c); without a static libc they run without them (the
# checks that need them are skipped or fail, and say so).
#
# First runs make-guest.sh (installs QEMU etc. with apt-get when missing and
# root, downloads the Debian kernel once; a no-op when up to date).
# Exit status: 0 pass, 77 skip (QEMU or the kernel cannot be obtained: no
# Debian/apt, no network, not root; or VMGPU_GUEST_SKIP=1), else failure.
# Environment: VMGPU_GUEST_DIR (build dir, default <repo>/build/guest),
# VMGPU_GUEST_KEEP=DIR (keep what the guest sent back in DIR/<scenario>),
# VMGPU_GUEST_TIMEOUT (seconds per guest run, default 240; assign-stress and
# journey 480); VMGPU_JOURNEYS (journey.sh's JOURNEYS).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIO=${1:?usage: test-guest.sh harness|survey|assign|assign-refusals|assign-faults|assign-stress|nested|journey [VMGPU]}

if [ -n "${VMGPU_GUEST_SKIP:-}" ]; then echo "SKIP: VMGPU_GUEST_SKIP is set"; exit 77; fi

t0=$(date +%s.%N)
MAKE_ARGS=()
[ "$SCENARIO" = nested ] && MAKE_ARGS=(--with-nested)
[ "$SCENARIO" = journey ] && MAKE_ARGS=(--with-nested --with-mdev)
"$HERE/make-guest.sh" ${MAKE_ARGS[@]+"${MAKE_ARGS[@]}"}
rc=$?
if [ $rc -eq 77 ]; then
    echo "SKIP: the test guest cannot be built here (see make-guest.sh's message above)"
    exit 77
elif [ $rc -ne 0 ]; then
    echo "FAIL: make-guest.sh exit status $rc"; exit 1
fi
echo "test-guest: make-guest.sh took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-test-guest.XXXXXX"); trap 'rm -rf "$TMP"' EXIT
if [ -n "${VMGPU_GUEST_KEEP:-}" ]; then
    OUT=$VMGPU_GUEST_KEEP/$SCENARIO; rm -rf "$OUT"
else
    OUT=$TMP/out
fi
TIMEOUT=${VMGPU_GUEST_TIMEOUT:-240}
[ "$SCENARIO" = assign-stress ] && TIMEOUT=${VMGPU_GUEST_TIMEOUT:-480}
[ "$SCENARIO" = journey ] && TIMEOUT=${VMGPU_GUEST_TIMEOUT:-480}
RUN=("$HERE/run-guest.sh" -t "$TIMEOUT" -o "$OUT")

# assign_run SCRIPT [run-guest.sh options...]: an assign scenario, with vmgpu
# (-b), json-flat.awk, assign-common.sh and the static helpers
assign_run() {
    local script=$1 h files=()
    shift
    VMGPU=${VMGPU_ARG:?usage: test-guest.sh $SCENARIO VMGPU}
    [ -x "$VMGPU" ] || { echo "FAIL: $VMGPU is not an executable"; return 1; }
    files=("$HERE/json-flat.awk" "$HERE/scenarios/assign-common.sh")
    for h in vfio-viable hold-lock qmp-send; do
        if gcc -static -O2 -Wall -o "$TMP/$h" "$HERE/$h.c" 2> "$TMP/$h.err"; then
            files+=("$TMP/$h")
        else
            echo "test-guest: cannot build $h statically (the checks that need it will say so):"
            sed 's/^/    /' "$TMP/$h.err" | head -n 5
        fi
    done
    # vmgpu and what it dlopen()s later (its libvirt module, libkmod)
    local carry=()
    mapfile -t carry < <("$HERE/vmgpu-carry.sh" "$VMGPU")
    # crash injection (VMGPU_TEST_CRASH_AFTER_STEP) only in -Dtest-hooks builds
    local hooks=0
    "$VMGPU" --version | grep -q 'test hooks' && hooks=1
    "${RUN[@]}" "${carry[@]}" -e "VMGPU_HOOKS=$hooks" "$@" "$HERE/scenarios/$script" "${files[@]}"
}
VMGPU_ARG=${2:-}

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
    mapfile -t carry < <("$HERE/vmgpu-carry.sh" "$VMGPU")
    "${RUN[@]}" "${carry[@]}" ${extra[@]+"${extra[@]}"} "$HERE/scenarios/survey.sh" "$HERE/json-flat.awk"
    rc=$?
    ;;
assign)
    assign_run assign-basic.sh
    rc=$?
    ;;
assign-refusals)
    # A second group shared by a disk the guest mounts and a display device:
    # pcie-pci-bridge 00:09.0 -> nvme (scratch image) + bochs-display.  The
    # guest formats the disk with busybox mke2fs and mounts it with the ext4
    # module closure from the unpacked kernel, carried in as /testbed/ext4mods
    # (numbered in load order); the base initramfs stays as it is.
    # shellcheck source=/dev/null
    . "${VMGPU_GUEST_DIR:-$HERE/../../build/guest}/guest.env"
    KROOT=$(dirname "$VMLINUX")/kernel
    mkdir -p "$TMP/ext4mods"
    i=0
    for ko in $(modprobe -d "$KROOT" -S "$KVER" --show-depends ext4 2>/dev/null | awk '$1 == "insmod" { print $2 }'); do
        i=$((i + 1)); cp "$ko" "$TMP/ext4mods/$(printf %02d $i)-$(basename "$ko")"
    done
    [ $i -gt 0 ] || echo "test-guest: no ext4 module closure in $KROOT (the mount checks will fail)"
    truncate -s 16M "$TMP/disk.img"
    assign_run assign-refusals.sh -f "$TMP/ext4mods" \
        -q "-drive file=$TMP/disk.img,if=none,id=scratch,format=raw,cache=unsafe" \
        -q "-device pcie-pci-bridge,id=br1,bus=pcie.0,addr=0x9" \
        -q "-device nvme,drive=scratch,serial=vmgpuscratch,bus=br1,addr=1" \
        -q "-device bochs-display,id=disp2,bus=br1,addr=2"
    rc=$?
    ;;
assign-faults)
    # it kills vmgpu after each step: a build without the hook cannot
    "${VMGPU_ARG:?}" --version | grep -q 'test hooks' || { echo "SKIP: vmgpu built without -Dtest-hooks=true"; exit 77; }
    assign_run assign-faults.sh
    rc=$?
    ;;
assign-stress)
    # VMGPU_STRESS_CYCLES / _WORKERS / _ROUNDS override the counts
    assign_run assign-stress.sh -e "CYCLES=${VMGPU_STRESS_CYCLES:-200}" \
        -e "WORKERS=${VMGPU_STRESS_WORKERS:-4}" -e "ROUNDS=${VMGPU_STRESS_ROUNDS:-20}"
    rc=$?
    ;;
nested)
    # shellcheck source=/dev/null
    . "${VMGPU_GUEST_DIR:-$HERE/../../build/guest}/guest.env"
    if [ -z "${NESTED_ROOT:-}" ]; then
        echo "FAIL: make-guest.sh --with-nested did not leave a nested kit"; exit 1
    fi
    # L1 needs room for the kit (~60 MB unpacked) and the L2's 128 MB
    assign_run assign-nested.sh -r "$NESTED_ROOT" -m 1536
    rc=$?
    if [ -e "$OUT/skip" ]; then
        echo "SKIP: $(cat "$OUT/skip")"; exit 77
    fi
    ;;
journey)
    # shellcheck source=/dev/null
    . "${VMGPU_GUEST_DIR:-$HERE/../../build/guest}/guest.env"
    if [ -z "${NESTED_ROOT:-}" ] || [ "${MDEV:-0}" != 1 ]; then
        echo "FAIL: make-guest.sh --with-nested --with-mdev left no nested kit or no mdev samples"; exit 1
    fi
    # One L1 vCPU: L2 (KVM on TCG's emulated SVM) boots faster and steadier
    # than with two (tests/guest/libvirt/README.md, "Why these choices").
    assign_run journey.sh -r "$NESTED_ROOT" -m 1536 -s 1 \
        ${VMGPU_JOURNEYS:+-e "JOURNEYS=$VMGPU_JOURNEYS"}
    rc=$?
    if [ -e "$OUT/skip" ]; then
        echo "SKIP: $(cat "$OUT/skip")"; exit 77
    fi
    ;;
*)
    echo "test-guest: unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
echo "test-guest: $SCENARIO: exit status $rc, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s in all"
# keep meson's special statuses (77 skip, 99 hard error) for real skips only
case $rc in 77|99) rc=1 ;; esac
exit $rc
