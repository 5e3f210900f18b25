#!/bin/sh
# capture.sh - guest scenario used by capture-fixtures.sh: puts the guest into
# the state a fixture describes, then runs capture-tree.sh into
# $VMGPU_OUT/tree.  Run as:
#   run-guest.sh -o OUT [-e SRIOV_NUMVFS=N] [-q ...] scenarios/capture.sh capture-tree.sh
# State: vfio-pci and vfio_iommu_type1 loaded, nothing bound to vfio-pci;
# with SRIOV_NUMVFS=N, N VFs enabled on the nvme PF with
# sriov_drivers_autoprobe=0 first (QEMU's nvme VFs start offline, so the
# nvme driver must not probe them; they stay driverless).
set -u
modprobe vfio-pci && modprobe vfio_iommu_type1 || exit 1
if [ -n "${SRIOV_NUMVFS:-}" ]; then
    pf=""
    for d in /sys/bus/pci/devices/*; do
        [ -e "$d/sriov_totalvfs" ] && [ "$(cat "$d/vendor")" = 0x1b36 ] && { pf=$d; break; }
    done
    [ -n "$pf" ] || { echo "capture: no nvme SR-IOV PF"; exit 1; }
    echo 0 > "$pf/sriov_drivers_autoprobe" &&
        echo "$SRIOV_NUMVFS" > "$pf/sriov_numvfs" || exit 1
    echo "capture: $SRIOV_NUMVFS VFs on ${pf##*/}"
fi
for g in $(ls /sys/kernel/iommu_groups | sort -n); do
    echo "group $g: $(ls /sys/kernel/iommu_groups/$g/devices | tr '\n' ' ')"
done
dmesg > "$VMGPU_OUT/dmesg.txt"
uname -r > "$VMGPU_OUT/kernel.txt"
sh /testbed/capture-tree.sh "$VMGPU_OUT/tree" || exit 1
# The guest may carry the out-of-tree mdev samples (make-guest.sh
# --with-mdev, in lib/modules/*/extra/): keep them out of the fixtures so
# that these do not depend on how the guest was built.
for f in "$VMGPU_OUT"/tree/lib/modules/*/modules.dep; do
    grep -v '^extra/' "$f" > "$f.tmp" && mv "$f.tmp" "$f"
done
