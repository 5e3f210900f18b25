#!/bin/sh
# survey.sh - guest scenario: `vmgpu survey --json` on the live guest.
# Run by tests/guest/test-guest.sh as
#   run-guest.sh -b vmgpu scenarios/survey.sh tests/guest/json-flat.awk
# (so /testbed holds vmgpu and json-flat.awk).  Nothing is bound to vfio-pci:
# this is the view a user has before assigning anything.
#
# Checks (exit status = number of failures):
#   - both `survey --json` and `survey --all --json` exit 0 with well-formed
#     JSON of schema vmgpu.survey/1
#   - host: iommu.present true, interrupt_remapping true, the IOMMU groups
#     counted, kernel = uname -r, vfio_pci "available" (on disk, not loaded)
#   - the VGA at 0000:01:00.0 (1234:1111, fn0 of the GPU + HDA slot) has
#     verdict ready_with_companions and companion 0000:01:00.1, and shares
#     its IOMMU group with it
#   - with --all: the nvme SR-IOV PF (1b36:0010) has sriov_total_vfs 4
VMGPU=${VMGPU:-/testbed/vmgpu}
FLAT=/testbed/json-flat.awk
FAILS=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# expect DESC FILE LINE: FILE has exactly this line
expect() {
    if grep -qxF "$3" "$2"; then pass "$1"
    else fail "$1: no line '$3'"; grep -F "${3%%=*}=" "$2" | sed 's/^/    got: /' | head -n 5; fi
}
# index_of FILE ADDRESS -> N of .devices[N]
index_of() { sed -n "s/^\.devices\[\([0-9]*\)\]\.address=\"$2\"\$/\1/p" "$1" | head -n1; }

# run_survey NAME ARGS... -> /tmp/NAME.json and the flattened /tmp/NAME.flat
run_survey() {
    name=$1; shift
    echo "== $VMGPU $*"
    "$VMGPU" "$@" > "/tmp/$name.json" 2> "/tmp/$name.err"
    rc=$?
    [ -s "/tmp/$name.err" ] && sed 's/^/    stderr: /' "/tmp/$name.err"
    [ -n "${VMGPU_OUT:-}" ] && cp "/tmp/$name.json" "/tmp/$name.err" "$VMGPU_OUT/" 2>/dev/null
    if [ $rc -eq 0 ]; then pass "vmgpu $* exits 0"; else fail "vmgpu $* exits $rc"; fi
    if awk -f "$FLAT" "/tmp/$name.json" > "/tmp/$name.flat"; then
        pass "$name: output is well-formed JSON ($(wc -l < "/tmp/$name.flat") values)"
    else
        fail "$name: output is not well-formed JSON"
        head -c 2000 "/tmp/$name.json"; echo
    fi
    expect "$name: schema" "/tmp/$name.flat" '.schema="vmgpu.survey/1"'
}

[ -x "$VMGPU" ] || { echo "FAIL: $VMGPU missing"; exit 1; }
VGA=0000:01:00.0 HDA=0000:01:00.1

# ---- default survey
run_survey survey survey --json
F=/tmp/survey.flat
expect "host.iommu.present" $F '.host.iommu.present=true'
expect "host.interrupt_remapping" $F '.host.interrupt_remapping=true'
expect "host.iommu.groups" $F ".host.iommu.groups=$(ls /sys/kernel/iommu_groups | wc -l)"
expect "host.kernel" $F ".host.kernel=\"$(uname -r)\""
if grep -q '^vfio_pci ' /proc/modules; then want=loaded; else want=available; fi
expect "host.vfio_pci" $F ".host.vfio_pci=\"$want\""

i=$(index_of $F $VGA)
if [ -z "$i" ]; then
    fail "$VGA is not among the devices:"; grep '\.address=' $F | sed 's/^/    /'
else
    D=".devices[$i]"
    echo "-- $VGA as reported:"; grep -F "$D." $F | sed 's/^/    /'
    expect "$VGA vendor_id 0x1234" $F "$D.vendor_id=4660"
    expect "$VGA verdict" $F "$D.verdict=\"ready_with_companions\""
    if grep -F "$D.companions[" $F | grep -qxE "[^=]*=\"$HDA\""; then
        pass "$VGA companion $HDA"
    else
        fail "$VGA companion $HDA: companions are: $(grep -F "$D.companions" $F | tr '\n' ' ')"
    fi
    g=$(basename "$(readlink /sys/bus/pci/devices/$VGA/iommu_group)")
    expect "$VGA iommu_group" $F "$D.iommu_group=$g"
fi

# ---- --all: the nvme SR-IOV PF
run_survey all survey --all --json
F=/tmp/all.flat
nvme=""
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0010 ] && [ -e "$d/sriov_totalvfs" ] && { nvme=${d##*/}; break; }
done
j=$(index_of $F "$nvme")
if [ -z "$nvme" ] || [ -z "$j" ]; then
    fail "nvme PF ${nvme:-(not in sysfs)} is not among the --all devices"
else
    expect "$nvme sriov_total_vfs" $F ".devices[$j].sriov_total_vfs=4"
fi

echo "survey.sh: $FAILS failure(s)"
exit $FAILS
