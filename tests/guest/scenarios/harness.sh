#!/bin/sh
# harness.sh - guest scenario that checks the test guest itself (no vmgpu):
# topology, IOMMU groups, interrupt remapping, drivers, vfio-pci, SR-IOV,
# then captures the sysfs/procfs tree into $VMGPU_OUT/tree with
# capture-tree.sh (test-guest.sh checks that tree on the host with lspci).
# Run as: run-guest.sh -o OUT scenarios/harness.sh capture-tree.sh
# Exit status = number of failures.
FAILS=0
check() { d=$1; shift; if "$@"; then echo "PASS: $d"; else echo "FAIL: $d"; FAILS=$((FAILS + 1)); fi; }
SYS=/sys/bus/pci/devices
drv()   { [ -e "$SYS/$1/driver" ] && basename "$(readlink "$SYS/$1/driver")"; }
group() { basename "$(readlink "$SYS/$1/iommu_group")"; }
ids()   { echo "$(cat "$SYS/$1/vendor"):$(cat "$SYS/$1/device"):$(cat "$SYS/$1/class")"; }

check "15 PCI functions" test "$(ls $SYS | wc -l)" -eq 15
check "12 IOMMU groups" test "$(ls /sys/kernel/iommu_groups | wc -l)" -eq 12
check "IOMMU unit dmar0" test -e /sys/class/iommu/dmar0/intel-iommu/ecap
check "remapped interrupts (IR-) in /proc/interrupts" grep -q ' IR-' /proc/interrupts
check "01:00.0 is the VGA 1234:1111" test "$(ids 0000:01:00.0)" = 0x1234:0x1111:0x030000
check "01:00.1 is the HDA 8086:293e" test "$(ids 0000:01:00.1)" = 0x8086:0x293e:0x040300
check "VGA and HDA share a group" test "$(group 0000:01:00.0)" = "$(group 0000:01:00.1)"
check "VGA is the boot VGA" test "$(cat $SYS/0000:01:00.0/boot_vga)" = 1
check "02:00.0 bochs-display alone in its group" test "$(ls "/sys/kernel/iommu_groups/$(group 0000:02:00.0)/devices")" = 0000:02:00.0
check "drivers: bochs-drm, snd_hda_intel, virtio-pci, nvme, none" \
    test "$(drv 0000:01:00.0) $(drv 0000:01:00.1) $(drv 0000:03:00.0) $(drv 0000:04:00.0) $(drv 0000:05:00.0)" = \
         "bochs-drm snd_hda_intel virtio-pci nvme "
check "nvme PF: sriov_totalvfs 4" test "$(cat $SYS/0000:04:00.0/sriov_totalvfs)" = 4
check "modprobe vfio-pci" modprobe vfio-pci
check "modprobe vfio_iommu_type1" modprobe vfio_iommu_type1
check "/dev/vfio/vfio" test -c /dev/vfio/vfio
check "environment from run-guest.sh -e" test "${HARNESS_ENV:-}" = "a b 'c'"
check "capture-tree.sh" sh /testbed/capture-tree.sh "$VMGPU_OUT/tree"
check "captured config of 04:00.0 is 4096 bytes" \
    test "$(wc -c < "$VMGPU_OUT/tree/sys/bus/pci/devices/0000:04:00.0/config")" -eq 4096
echo "harness.sh: $FAILS failure(s)"
exit $FAILS
