#!/bin/bash
# capture-fixtures.sh [NAME...] - (re)capture the committed fixture trees
# tests/fixtures/qemu-*/ from the test guest (default: all of them).
#
#   qemu-q35-gpu-audio     the default topology (run-guest.sh); vfio-pci and
#                          vfio_iommu_type1 loaded, nothing bound to vfio-pci:
#                          what a user sees before assigning anything
#   qemu-q35-shared-group  + a PCIe-to-PCI bridge at 00:09.0 with two edu
#                          devices and a bochs-display behind it: the display
#                          shares its IOMMU group with the bridge and the edus
#   qemu-q35-sriov         the default topology with 4 VFs enabled on the
#                          nvme PF (sriov_drivers_autoprobe=0: VFs driverless)
#
# Each fixture is the tree capture-tree.sh writes, checked with
# check-tree.sh, plus SOURCE.txt (command, date, versions, IOMMU groups).
# Needs the guest: tests/guest/make-guest.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GDIR=${VMGPU_GUEST_DIR:-$REPO/build/guest}
FIX=$REPO/tests/fixtures
ALL="qemu-q35-gpu-audio qemu-q35-shared-group qemu-q35-sriov"
# shellcheck disable=SC2086
[ $# -gt 0 ] || set -- $ALL

SHARED_Q="-device pcie-pci-bridge,id=br1,bus=pcie.0,addr=0x9 -device edu,id=edu1,bus=br1,addr=1 -device edu,id=edu2,bus=br1,addr=2 -device bochs-display,id=disp2,bus=br1,addr=3"

"$HERE/make-guest.sh"
# shellcheck source=/dev/null
. "$GDIR/guest.env"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

for name in "$@"; do
    args=()
    case $name in
        qemu-q35-gpu-audio)
            what="Default test-guest topology. vfio-pci and vfio_iommu_type1 loaded, nothing bound to vfio-pci." ;;
        qemu-q35-shared-group)
            args=(-q "$SHARED_Q")
            what="Default topology plus a PCIe-to-PCI bridge (00:09.0) with edu (06:01.0, 06:02.0) and bochs-display (06:03.0) behind it: all four share one IOMMU group. vfio-pci and vfio_iommu_type1 loaded, nothing bound to vfio-pci." ;;
        qemu-q35-sriov)
            args=(-e SRIOV_NUMVFS=4)
            what="Default topology with sriov_drivers_autoprobe=0 and sriov_numvfs=4 on the nvme PF 04:00.0 (VFs 04:00.1-04:00.4, driverless, one IOMMU group each). vfio-pci and vfio_iommu_type1 loaded, nothing bound to vfio-pci." ;;
        *) echo "capture-fixtures: unknown fixture $name (known: $ALL)" >&2; exit 2 ;;
    esac
    echo "=== $name"
    out=$TMP/$name
    cmd=(tests/guest/run-guest.sh -t 120 -o "$out" ${args[@]+"${args[@]}"}
         tests/guest/scenarios/capture.sh tests/guest/capture-tree.sh)
    (cd "$REPO" && "${cmd[@]}" > "$TMP/$name.console" 2>&1) ||
        { cat "$TMP/$name.console"; echo "capture-fixtures: $name: guest run failed" >&2; exit 1; }
    "$HERE/check-tree.sh" "$out/tree"

    rm -rf "${FIX:?}/$name"
    mkdir -p "$FIX"
    mv "$out/tree" "$FIX/$name"
    q=""
    for a in "${cmd[@]}"; do
        [ "$a" = "$out" ] && a=OUTDIR
        case $a in *" "*) a="'$a'" ;; esac
        q="$q $a"
    done
    {
        echo "Fixture $name: a host root (sys/, proc/, dev/, lib/) captured from the"
        echo "vmgpu test guest by tests/guest/capture-tree.sh; read it with"
        echo "  vmgpu --root tests/fixtures/$name survey --all --json"
        echo "  lspci -vvv -nn -A linux-sysfs -O sysfs.path=tests/fixtures/$name/sys/bus/pci"
        echo
        echo "$what" | fold -s -w 76
        echo
        echo "Regenerate: tests/guest/capture-fixtures.sh $name"
        echo "which runs:$q" | fold -s -w 76 | sed '2,$s/^/    /' 
        echo "Captured:   $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "Guest:      Debian $KERNEL_PKG $KERNEL_DEB_VERSION (uname -r: $(cat "$out/kernel.txt")),"
        echo "            busybox-static $BUSYBOX_VERSION, booted by $(qemu-system-x86_64 --version | head -n1)"
        echo "            -machine q35,accel=tcg -cpu max -smp 2 -m 1024"
        echo "            -device intel-iommu,intremap=on,caching-mode=on, kernel args: $(cat "$FIX/$name/proc/cmdline")"
        echo
        echo "Notes: dev/vfio/* are empty regular files standing for the character"
        echo "devices; sys/bus/pci/{drivers_probe,rescan} and drivers/*/{bind,unbind,"
        echo "new_id,remove_id} are empty stand-ins for write-only attributes."
        echo "resourceN, rom, power/, msi_irqs/ and firmware_node are not captured."
        echo
        echo "IOMMU groups:"
        for g in $(ls "$FIX/$name/sys/kernel/iommu_groups" | sort -n); do
            printf '  %-3s' "$g"
            for l in "$FIX/$name/sys/kernel/iommu_groups/$g/devices"/*; do
                d=${l##*/}
                drv=-; [ -L "$l/driver" ] && drv=$(basename "$(readlink "$l/driver")")
                printf ' %s [%s:%s %s] %s;' "${d#0000:}" "$(cut -c3- "$l/vendor")" "$(cut -c3- "$l/device")" \
                    "$(cut -c3-6 "$l/class")" "$drv"
            done
            echo
        done
    } > "$FIX/$name/SOURCE.txt"
    echo "capture-fixtures: wrote tests/fixtures/$name ($(find "$FIX/$name" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }') bytes in files)"
done
