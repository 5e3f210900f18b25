#!/bin/sh
# capture-tree.sh DEST - runs INSIDE the test guest (busybox sh, root).
#
# Copies the parts of this system's sysfs/procfs that vmgpu reads into DEST,
# laid out as a host root (what `vmgpu --root DEST` and
# `lspci -A linux-sysfs -O sysfs.path=DEST/sys/bus/pci` read):
#
#   sys/devices/pci*/.../<BDF>/    every PCI function (bridges included): the
#                                  attribute files in ATTRS below, sriov_*,
#                                  resource*_resize, and the symlinks driver,
#                                  iommu_group, iommu, subsystem, physfn,
#                                  virtfnN - copied verbatim (relative)
#   sys/bus/pci/devices/*          symlinks
#   sys/bus/pci/drivers/<drv>/     device symlinks, module symlink, and empty
#                                  placeholders for bind/unbind/new_id/remove_id
#   sys/bus/pci/{drivers_autoprobe,resource_alignment}, empty placeholders for
#                                  the write-only drivers_probe and rescan
#   sys/bus/pci/slots/*/address
#   sys/kernel/iommu_groups/N/{devices/*,reserved_regions,type}
#   sys/class/iommu/<unit>         symlink into sys/devices/virtual/iommu/<unit>
#                                  with intel-iommu/* (cap, ecap, ...),
#                                  devices/* and subsystem
#   sys/class/mdev_bus/<parent>    (when mdev parents exist) symlink; the
#                                  parent's mdev_supported_types/*/{name,
#                                  available_instances,device_api,description,
#                                  devices/*}, sys/bus/mdev/devices/* and each
#                                  mdev's driver, iommu_group, mdev_type links
#   sys/module/<m>/                for the modules the drivers point at:
#                                  initstate (loadable ones), parameters/ for
#                                  the VFIO and KVM modules and built-in ones
#   proc/{cmdline,iomem,interrupts,modules,version,sys/kernel/osrelease}
#   dev/vfio/*                     EMPTY REGULAR FILES standing for the
#                                  character devices (git cannot hold nodes)
#   lib/modules/$(uname -r)/modules.{dep,builtin}
#
# Not copied (large, binary or irrelevant): resourceN/resourceN_wc (BAR
# mmaps), rom, power/, msi_irqs/, link/, firmware_node, class-specific child
# directories (drm/, nvme/, sound/ ...).  Symlinks that would point outside
# DEST (firmware_node) are left out; every copied link resolves inside DEST.
set -u
DEST=${1:?usage: capture-tree.sh DEST}
mkdir -p "$DEST" || exit 1
DEST=$(cd "$DEST" && pwd)

# Per-function attribute files (missing or unreadable ones are skipped).
ATTRS="vendor device subsystem_vendor subsystem_device class revision irq
  numa_node local_cpus local_cpulist resource config boot_vga reset_method
  driver_override modalias enable msi_bus d3cold_allowed power_state
  broken_parity_status ari_enabled consistent_dma_mask_bits dma_mask_bits
  current_link_speed current_link_width max_link_speed max_link_width
  secondary_bus_number subordinate_bus_number label index acpi_index uevent"
LINKS="driver iommu_group iommu subsystem physfn"
PARAM_MODULES="vfio vfio_pci vfio_pci_core vfio_iommu_type1 vfio_virqfd mdev pci_stub kvm kvm_amd kvm_intel"

NFILES=0 NLINKS=0 LASTDIR=""
# mkd DIR: mkdir -p DEST/DIR, remembering the last one (saves forks: TCG)
mkd() {
    [ "$1" = "$LASTDIR" ] && return 0
    mkdir -p "$DEST$1" && LASTDIR=$1
}
# cpf PATH: copy a readable regular file to DEST/PATH (skip on read errors:
# write-only sysfs attributes refuse to open, even for root)
cpf() {
    [ -f "$1" ] || return 0
    mkd "${1%/*}"
    if cat "$1" > "$DEST$1" 2>/dev/null; then NFILES=$((NFILES + 1)); else rm -f "$DEST$1"; fi
}
# cpl PATH: copy a symlink verbatim (its target is relative in sysfs)
cpl() {
    [ -L "$1" ] || return 0
    mkd "${1%/*}"
    ln -sfn "$(readlink "$1")" "$DEST$1" && NLINKS=$((NLINKS + 1))
}
# stub PATH: an empty file standing for a write-only sysfs attribute
stub() {
    [ -e "$1" ] || return 0
    mkd "${1%/*}"
    : > "$DEST$1"
}
# cpmod NAME: sys/module/NAME, with parameters/ for the interesting modules
cpmod() {
    [ -d "/sys/module/$1" ] || return 0
    mkdir -p "$DEST/sys/module/$1"
    cpf "/sys/module/$1/initstate"              # "live"; absent when built in
    case " $PARAM_MODULES " in
        *" $1 "*) ;;
        *) [ -z "$(ls "$DEST/sys/module/$1")" ] || return 0 ;;
    esac
    # (built-in modules without initstate: parameters keep the directory
    # non-empty, which git needs to keep it)
    for p in /sys/module/"$1"/parameters/*; do cpf "$p"; done
}

# ---- PCI functions
for l in /sys/bus/pci/devices/*; do
    [ -L "$l" ] || continue
    cpl "$l"
    dev=$(readlink -f "$l")
    for a in $ATTRS; do cpf "$dev/$a"; done
    for f in "$dev"/sriov_* "$dev"/resource*_resize; do cpf "$f"; done
    for k in $LINKS; do cpl "$dev/$k"; done
    for v in "$dev"/virtfn*; do cpl "$v"; done
done

# ---- PCI bus: drivers, controls, slots
for f in drivers_autoprobe resource_alignment; do cpf "/sys/bus/pci/$f"; done
for f in drivers_probe rescan; do stub "/sys/bus/pci/$f"; done
for d in /sys/bus/pci/drivers/*; do
    mkdir -p "$DEST$d"
    for e in "$d"/*; do
        if [ -L "$e" ]; then
            cpl "$e"
            [ "${e##*/}" = module ] && cpmod "$(basename "$(readlink "$e")")"
        else
            case ${e##*/} in bind|unbind|new_id|remove_id) stub "$e" ;; esac
        fi
    done
done
for s in /sys/bus/pci/slots/*; do cpf "$s/address"; done

# ---- IOMMU groups and units
for g in /sys/kernel/iommu_groups/*; do
    [ -d "$g" ] || continue
    mkdir -p "$DEST$g/devices"
    cpf "$g/reserved_regions"
    cpf "$g/type"
    for l in "$g"/devices/*; do cpl "$l"; done
done
mkdir -p "$DEST/sys/kernel/iommu_groups" "$DEST/sys/class/iommu"
for u in /sys/class/iommu/*; do
    [ -e "$u" ] || continue
    cpl "$u"
    real=$(readlink -f "$u")
    for f in "$real"/intel-iommu/* "$real"/amd-iommu/*; do cpf "$f"; done
    for l in "$real"/devices/*; do cpl "$l"; done
    cpl "$real/subsystem"
done

# ---- mediated devices (parents, types, instances), when the kernel has any
for p in /sys/class/mdev_bus/*; do
    [ -L "$p" ] || continue
    cpl "$p"
    real=$(readlink -f "$p")
    for t in "$real"/mdev_supported_types/*; do
        for f in name available_instances device_api description; do cpf "$t/$f"; done
        stub "$t/create"
        for l in "$t"/devices/*; do cpl "$l"; done
    done
done
for l in /sys/bus/mdev/devices/*; do
    [ -L "$l" ] || continue
    cpl "$l"
    dev=$(readlink -f "$l")
    for k in driver iommu_group mdev_type subsystem; do cpl "$dev/$k"; done
    cpf "$dev/uevent"
    stub "$dev/remove"
done
for d in /sys/bus/mdev/drivers/*; do
    [ -d "$d" ] || continue
    mkdir -p "$DEST$d"
    for e in "$d"/*; do
        if [ -L "$e" ]; then [ "${e##*/}" = module ] || cpl "$e"
        else case ${e##*/} in bind|unbind) stub "$e" ;; esac; fi
    done
done

# ---- modules, proc, dev
for m in $PARAM_MODULES; do cpmod "$m"; done
for f in cmdline iomem interrupts modules version sys/kernel/osrelease; do cpf "/proc/$f"; done
for n in /dev/vfio/*; do stub "$n"; done
for f in modules.dep modules.builtin; do cpf "/lib/modules/$(uname -r)/$f"; done

# ---- every copied link must resolve inside DEST
bad=0
# (sysfs names hold no blanks; a while-read loop would lose $bad in a subshell)
# shellcheck disable=SC2044
for l in $(find "$DEST" -type l); do
    t=$(readlink -f "$l")
    case $t in
        "$DEST"/*) [ -e "$t" ] || { echo "capture-tree: dangling link $l -> $(readlink "$l")" >&2; bad=$((bad + 1)); } ;;
        *) echo "capture-tree: link leaves the tree: $l -> $(readlink "$l")" >&2; rm -f "$l"; bad=$((bad + 1)) ;;
    esac
done
echo "capture-tree: $(ls /sys/bus/pci/devices | wc -l) PCI functions, $(ls /sys/kernel/iommu_groups | wc -l) IOMMU groups: $NFILES files, $NLINKS links, $(du -sk "$DEST" | cut -f1) KiB in $DEST"
[ $bad -eq 0 ]
