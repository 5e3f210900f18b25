#!/bin/bash
# check-tree.sh DIR... - check captured host trees (tests/fixtures/qemu-*, or
# what capture-tree.sh produced) on the host:
#   - lspci -vvv -nn -A linux-sysfs -O sysfs.path=DIR/sys/bus/pci reads it
#     without errors and lists every function of sys/bus/pci/devices, with
#     its IOMMU group and bound driver
#   - every symlink resolves to something inside DIR; no empty directories
#     (git would not keep them)
#   - the proc files and the per-function basics are there
#   - DIR is smaller than 1 MiB
# Exit status: number of trees with problems; 77 when lspci is missing.
set -uo pipefail
command -v lspci > /dev/null || { echo "check-tree: lspci not found (pciutils), skipping"; exit 77; }
[ $# -ge 1 ] || { echo "usage: check-tree.sh DIR..." >&2; exit 2; }

bad_trees=0
for dir in "$@"; do
    problems=0
    problem() { echo "check-tree: $dir: $*"; problems=$((problems + 1)); }
    if [ ! -d "$dir/sys/bus/pci/devices" ]; then
        problem "no sys/bus/pci/devices"; bad_trees=$((bad_trees + 1)); continue
    fi
    root=$(cd "$dir" && pwd -P)
    out=$(mktemp); err=$(mktemp)
    # (libkmod complains when the HOST has no /lib/modules/$(uname -r): that
    # is about the machine running lspci, not about the tree)
    lspci -vvv -nn -A linux-sysfs -O "sysfs.path=$root/sys/bus/pci" > "$out" 2> "$err" ||
        problem "lspci exit status $?"
    grep -v 'Unable to load libkmod resources' "$err" | sed 's/^/    lspci: /' | grep . &&
        problem "lspci wrote errors"

    nfunc=0
    for l in "$root"/sys/bus/pci/devices/*; do
        bdf=${l##*/}; nfunc=$((nfunc + 1))
        short=${bdf#0000:}
        block=$(awk -v b="$short" '/^[0-9a-f]/ { on = (index($0, b " ") == 1) } on' "$out")
        [ -n "$block" ] || { problem "$bdf missing from lspci"; continue; }
        for f in vendor device class config resource irq; do
            [ -s "$l/$f" ] || problem "$bdf: no $f"
        done
        if [ -L "$l/iommu_group" ]; then
            g=$(basename "$(readlink "$l/iommu_group")")
            grep -q "IOMMU group: $g\$" <<< "$block" || problem "$bdf: lspci shows no IOMMU group $g"
        elif [ -n "$(ls "$root/sys/kernel/iommu_groups" 2>/dev/null)" ]; then
            problem "$bdf: no iommu_group link"
        fi
        if [ -L "$l/driver" ]; then
            d=$(basename "$(readlink "$l/driver")")
            grep -q "Kernel driver in use: $d\$" <<< "$block" || problem "$bdf: lspci shows no driver $d"
        fi
    done
    nlspci=$(grep -c '^[0-9a-f]' "$out")
    [ "$nlspci" -eq "$nfunc" ] || problem "lspci lists $nlspci functions, sysfs has $nfunc"

    nlinks=0
    while IFS= read -r -d '' l; do
        nlinks=$((nlinks + 1))
        t=$(realpath -e "$l" 2>/dev/null) || { problem "dangling link ${l#"$root"/} -> $(readlink "$l")"; continue; }
        case $t in "$root"/*) ;; *) problem "link leaves the tree: ${l#"$root"/} -> $(readlink "$l")" ;; esac
    done < <(find "$root" -type l -print0)

    while IFS= read -r -d '' d; do
        problem "empty directory ${d#"$root"/} (git would drop it)"
    done < <(find "$root" -type d -empty -print0)

    for f in proc/cmdline proc/iomem proc/interrupts proc/sys/kernel/osrelease; do
        [ -s "$root/$f" ] || problem "no $f"
    done
    size=$(du -sb --apparent-size "$root" | cut -f1)
    [ "$size" -lt 1048576 ] || problem "$size bytes (limit 1 MiB)"
    echo "check-tree: $dir: $nfunc functions, $nlinks links, $size bytes, kernel $(cat "$root/proc/sys/kernel/osrelease" 2>/dev/null): $([ $problems -eq 0 ] && echo OK || echo "$problems problem(s)")"
    [ $problems -eq 0 ] || bad_trees=$((bad_trees + 1))
    rm -f "$out" "$err"
done
exit $bad_trees
