#!/bin/sh
# bench-guest.sh - the in-guest half of run-assign-bench.sh (busybox sh).
# Times CYCLES assign+release cycles of the GPU group 01:00.0 + 01:00.1 with
# vmgpu and with the bare shell sequence of the same sysfs writes, the two
# methods alternating cycle by cycle so that drift hits both alike.
# Writes "METHOD OP NANOSECONDS" lines to $VMGPU_OUT/times.txt and a few
# facts to $VMGPU_OUT/env.txt.  Exit status 0 when every cycle ended in the
# expected state, 1 otherwise.
VMGPU=/testbed/vmgpu
CYCLES=${CYCLES:-20}
S=/sys/bus/pci/devices
VGA=0000:01:00.0 HDA=0000:01:00.1
OUT=${VMGPU_OUT:-/tmp}
bad=0

# Nanoseconds since boot (CLOCK_MONOTONIC via the hrtimer list: busybox date
# has no %N, /proc/uptime only has 10 ms steps).  One fork per reading; the
# same for both methods.
if grep -q '^now at' /proc/timer_list 2>/dev/null; then
    now() { sed -n '/^now at /{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list; }
    CLOCK="/proc/timer_list (ns)"
else
    now() { awk '{ printf "%d\n", $1 * 1000000000 }' /proc/uptime; }
    CLOCK="/proc/uptime (10 ms steps)"
fi
drv() { l=$(readlink "$S/$1/driver") && echo "${l##*/}" || echo none; }
state() { echo "$(drv $VGA) $(drv $HDA)"; }
expect() {   # expect WHAT WANT
    got=$(state)
    [ "$got" = "$2" ] || { echo "bench: after $1: drivers '$got', want '$2'"; bad=1; }
}

# The shell sequence: what vmgpu's plan writes (vmgpu assign --dry-run),
# without its checks.
sh_assign() {
    for d in $VGA $HDA; do
        echo vfio-pci > $S/$d/driver_override
        echo $d > $S/$d/driver/unbind
        echo $d > /sys/bus/pci/drivers_probe
    done
}
sh_release() {
    for d in $VGA $HDA; do
        echo > $S/$d/driver_override
        echo $d > $S/$d/driver/unbind
        echo $d > /sys/bus/pci/drivers_probe
    done
}
vm_assign() { $VMGPU assign $VGA > /dev/null 2>&1 || { echo "bench: vmgpu assign failed"; bad=1; }; }
vm_release() { $VMGPU release $VGA > /dev/null 2>&1 || { echo "bench: vmgpu release failed"; bad=1; }; }
# what starting vmgpu costs before it does anything (exec, dynamic linking)
vm_start() { $VMGPU --version > /dev/null; }
# where vmgpu's time goes, untimed in the ratio: reading the host, and
# planning an assign with every check but no write
vm_survey() { $VMGPU survey > /dev/null; }
vm_plan() { $VMGPU assign --dry-run $VGA > /dev/null; }
# the floor for a process linked against the shared libc (run-assign-bench.sh)
hello_start() { /testbed/hello-dyn > /dev/null; }

# timed METHOD OP FUNCTION
timed() {
    t0=$(now); $3; t1=$(now)
    echo "$1 $2 $((t1 - t0))" >> "$OUT/times.txt"
}

modprobe vfio-pci              # loaded up front for both methods
modprobe vfio_iommu_type1      # (busybox modprobe ignores the softdep)
: > "$OUT/times.txt"
echo "== dry run of what is being compared:"
$VMGPU assign --dry-run $VGA
# warm-up: one cycle of each (page cache, first probe)
vm_assign; vm_release; sh_assign; sh_release
expect warm-up "bochs-drm snd_hda_intel"

i=1
while [ $i -le "$CYCLES" ]; do
    timed vmgpu assign vm_assign;  expect "vmgpu assign $i" "vfio-pci vfio-pci"
    # snd_hda_intel binds at most CONFIG_SND_MAX_CARDS (32) times per module
    # load (a static probe counter): reload it, untimed, while nothing uses it
    if [ $((i % 10)) = 0 ]; then rmmod snd_hda_intel && modprobe snd_hda_intel; fi
    timed vmgpu release vm_release; expect "vmgpu release $i" "bochs-drm snd_hda_intel"
    timed shell assign sh_assign;  expect "shell assign $i" "vfio-pci vfio-pci"
    if [ $((i % 10)) = 5 ]; then rmmod snd_hda_intel && modprobe snd_hda_intel; fi
    timed shell release sh_release; expect "shell release $i" "bochs-drm snd_hda_intel"
    timed vmgpu start vm_start
    timed vmgpu survey vm_survey
    timed vmgpu plan vm_plan
    [ -x /testbed/hello-dyn ] && timed hello start hello_start
    i=$((i + 1))
done
{
    echo "kernel $(uname -r)"
    echo "cpus $(grep -c ^processor /proc/cpuinfo)"
    echo "cpu $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
    echo "clock $CLOCK"
    echo "processes $(ls /proc | grep -c '^[0-9]')"
    echo "cycles $CYCLES"
    echo "libs $(LD_TRACE_LOADED_OBJECTS=1 $VMGPU 2>/dev/null | grep -c '=> /')"
} > "$OUT/env.txt"
exit $bad
