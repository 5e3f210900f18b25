#!/bin/sh
# assign-refusals.sh - guest scenario (meson test guest-assign-refusals): what
# vmgpu assign refuses, and that a refusal changes nothing.
#   test-guest.sh assign-refusals VMGPU
# The guest has the default topology plus a pcie-pci-bridge (00:09.0) holding
# an nvme with a scratch disk and a bochs-display: one IOMMU group that the
# host's disk shares with a display device.  /testbed/ext4mods holds the ext4
# module closure (numbered in load order).
# Exit status = number of failures.
#
#  a. a process holding the GPU's /dev/dri/card*: exit 3 naming the PID,
#     nothing changed; --force goes ahead (and how long the unbind takes with
#     the file still open is logged); a process holding /dev/vfio/N stops
#     release
#  b. a mounted file system (and swap) on a disk in the group: exit 3 with
#     host_disk_in_use, also with --force; nothing changed, the mount still
#     works; once unmounted, --force assigns and release gives the disk back
#  c. bad input: unknown address (2), malformed ones (1); a device removed
#     before the survey (2, one line); a device removed between survey and
#     apply (held at the lock with hold-lock): 2, nothing changed
NAME=assign-refusals
. /testbed/assign-common.sh

G=$(group $VGA)
snapshot > /tmp/S0

# ===================================================== vfio-pci blacklisted
# (first: nothing has loaded vfio-pci yet).  vmgpu loads it through libkmod,
# which honours modprobe.d: the first step fails, nothing may change.
mkdir -p /etc/modprobe.d
echo "blacklist vfio_pci" > /etc/modprobe.d/vmgpu-test.conf
v assign $VGA
note "exit $RC: $(tr '\n' ' ' < /tmp/v.err)"
case $RC in 2|3) ok "assign with vfio-pci blacklisted fails (exit $RC)" ;; *) nok "assign with vfio-pci blacklisted: exit $RC"; vshow ;; esac
check "the error says vfio-pci is blacklisted" grep -q blacklisted /tmp/v.err
check "vfio-pci was not loaded" test ! -e /sys/module/vfio_pci
same_as "the failed assign changed nothing" /tmp/S0
rm /etc/modprobe.d/vmgpu-test.conf

# ===================================================== a. device held open
card=$(ls "$SYS/$VGA/drm" 2>/dev/null | grep '^card' | head -n 1)
if [ -z "$card" ] || [ ! -c "/dev/dri/$card" ]; then
    nok "$VGA has no DRM card node (bochs-drm not bound?)"
else
    sleep 1000 3< "/dev/dri/$card" &
    SP=$!
    sleep 0.2
    note "PID $SP (sleep) holds /dev/dri/$card open"
    v assign --json $VGA
    rc_is "assign while /dev/dri/$card is open: exit 3" 3
    jflat
    is "assign --json: result refused, code device_open" "$(jget .result) $(refusal_codes)" "refused device_open"
    check "refusal names PID $SP" grep -q "open by PID $SP (sleep)" /tmp/v.flat
    v assign $VGA
    rc_is "assign (text) while open: exit 3" 3
    check "text refusal names /dev/dri/$card and PID $SP" grep -qF "/dev/dri/$card is open by PID $SP" /tmp/v.err
    check "text says nothing was changed" grep -q "refused; nothing was changed" /tmp/v.err
    same_as "refused assign changed nothing" /tmp/S0

    t0=$(uptime_s)
    timeout 60 "$VMGPU" assign --force $VGA > /tmp/v.out 2> /tmp/v.err
    RC=$?
    t1=$(uptime_s)
    note "\$ vmgpu assign --force $VGA -> $RC after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s, the sleeper holding /dev/dri/$card"
    if [ $RC = 124 ]; then
        nok "assign --force did not finish within 60 s while PID $SP holds /dev/dri/$card (unbind blocked)"
        kill "$SP"; wait "$SP" 2>/dev/null
        wait_until 30 sh -c "[ -e $SYS/$VGA/driver ] && [ \$(basename \$(readlink $SYS/$VGA/driver)) = vfio-pci ]"
    else
        rc_is "assign --force with the card open exits 0" 0
        check "--force says what it overrode" grep -q "^vmgpu: --force overrides: .*PID $SP" /tmp/v.err
        assert_assigned "forced past the open card" $VGA $HDA
        if kill -0 "$SP" 2>/dev/null; then
            ok "the process holding the card survives the unbind"
            note "its fd 3 now: $(ls -l /proc/$SP/fd/3 2>/dev/null | sed 's/.*-> //')"
        else
            nok "the process holding the card died during the unbind"
        fi
        kill "$SP"; wait "$SP" 2>/dev/null
    fi
    v release $VGA
    rc_is "release after the forced assign exits 0" 0
    same_as "released: the host is as at the start" /tmp/S0
fi

# ---- a VM (here: a process) holding /dev/vfio/N stops release
v assign $VGA
rc_is "assign $VGA exits 0" 0
snapshot > /tmp/SA
sleep 1000 3<> "/dev/vfio/$G" &
VP=$!
sleep 0.2
v release --json $VGA
rc_is "release while /dev/vfio/$G is open: exit 3" 3
jflat
is "release --json: refused, code in_use_by_vm" "$(jget .result) $(refusal_codes | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//')" "refused in_use_by_vm"
check "refusal names PID $VP" grep -q "open by PID $VP" /tmp/v.flat
same_as "refused release changed nothing" /tmp/SA
kill "$VP"; wait "$VP" 2>/dev/null
v release $VGA
rc_is "release once the group is closed exits 0" 0
same_as "released: the host is as at the start" /tmp/S0

# ===================================================== b. the host's disk
BR=0000:00:09.0
NV="" DSP=""
for d in "$SYS"/*; do
    case $(readlink -f "$d") in */$BR/*) ;; *) continue ;; esac
    case "$(cat "$d/vendor"):$(cat "$d/device")" in
        0x1b36:0x0010) NV=${d##*/} ;;
        0x1234:0x1111) DSP=${d##*/} ;;
    esac
done
if [ -z "$NV" ] || [ -z "$DSP" ]; then
    nok "no nvme + bochs-display behind $BR (test-guest.sh adds them with -q)"
    finish
fi
GB=$(group "$DSP")
note "group $GB: $(ls /sys/kernel/iommu_groups/$GB/devices | tr '\n' ' ')"
is "$NV and $DSP share group $GB" "$(group "$NV")" "$GB"
for m in /testbed/ext4mods/*.ko; do insmod "$m" 2>/dev/null; done   # crc32c-intel may be refused
check "ext4 module loaded" test -d /sys/module/ext4
NS=""
wait_until 10 sh -c "ls $SYS/$NV/nvme/*/ 2>/dev/null | grep -qE '^nvme[0-9]+n[0-9]+\$'"
NS=$(ls "$SYS/$NV"/nvme/*/ 2>/dev/null | grep -E '^nvme[0-9]+n[0-9]+$' | head -n 1)
check "the scratch disk's namespace /dev/${NS:-?} exists" test -b "/dev/$NS"
snapshot > /tmp/S1

# -- swap first (it overwrites the disk), then a file system
if mkswap "/dev/$NS" > /dev/null 2>&1 && swapon "/dev/$NS" 2>/dev/null; then
    v assign --force --json "$DSP"
    rc_is "assign --force while /dev/$NS is swap: exit 3" 3
    jflat
    check "refusal host_disk_in_use (swap)" sh -c "grep -q 'in use as swap' /tmp/v.flat"
    is "host_disk_in_use is not forced by --force" "$(refusal_forced host_disk_in_use)" false
    swapoff "/dev/$NS"
else
    nok "mkswap/swapon /dev/$NS"
fi

mkdir -p /mnt/scratch
if mke2fs -q "/dev/$NS" > /dev/null 2>&1 && mount -t ext2 "/dev/$NS" /mnt/scratch; then
    ok "/dev/$NS formatted (busybox mke2fs) and mounted on /mnt/scratch"
    echo "vmgpu was here" > /mnt/scratch/probe && sync
    v assign --json "$DSP"
    rc_is "assign $DSP with /dev/$NS mounted in its group: exit 3" 3
    jflat
    codes=$(refusal_codes)
    note "refusal codes: $codes"
    case " $codes " in *" host_disk_in_use "*) ok "refusal host_disk_in_use" ;; *) nok "refusal host_disk_in_use (got: $codes)" ;; esac
    check "refusal says where it is mounted" grep -q "/dev/$NS is mounted on /mnt/scratch" /tmp/v.flat
    v assign --force --json "$DSP"
    rc_is "assign --force with the disk mounted: still exit 3" 3
    jflat
    is "--force: result refused, host_disk_in_use not forced" "$(jget .result) $(refusal_forced host_disk_in_use)" "refused false"
    v assign --force "$DSP"
    rc_is "assign --force (text): exit 3" 3
    check "text names the mount" grep -q "/dev/$NS is mounted on /mnt/scratch" /tmp/v.err
    v assign --force --dry-run "$DSP"
    rc_is "assign --force --dry-run with the disk mounted: exit 3" 3
    same_as "refusals changed nothing" /tmp/S1
    is "the file system still works" "$(cat /mnt/scratch/probe 2>&1)" "vmgpu was here"
    grep -q " /mnt/scratch " /proc/mounts || nok "/mnt/scratch is no longer mounted"
    umount /mnt/scratch
else
    nok "mke2fs + mount -t ext2 /dev/$NS"
fi

# -- nothing in use any more: the shared group may go, with --force
v assign "$DSP"
rc_is "unmounted, without --force: still exit 3 (group_shared_with_host)" 3
v assign --force "$DSP"
rc_is "unmounted, --force: exit 0" 0
assert_assigned "group $GB forced" "$NV" "$DSP"
check "/dev/$NS is gone while the nvme is on vfio-pci" test ! -e "/sys/class/block/$NS"
is "the bridge $BR keeps its driver state" "$(fstate $BR)" "$(sed -n "s/^fn $BR //p" /tmp/S1)"
v release "$DSP"
rc_is "release $DSP exits 0" 0
assert_released "group $GB released" "$NV=nvme" "$DSP=bochs-drm"
wait_until 20 test -b "/dev/$NS"
if mount -t ext2 "/dev/$NS" /mnt/scratch 2>/dev/null; then
    is "after release the disk is back with its data" "$(cat /mnt/scratch/probe 2>&1)" "vmgpu was here"
    umount /mnt/scratch
else
    nok "after release /dev/$NS cannot be mounted again"
fi
same_as "after release the host is as before part b" /tmp/S1

# ===================================================== c. bad input
v assign 0000:7f:00.0
rc_is "assign of an address that does not exist: exit 2" 2
is "one line of error" "$(wc -l < /tmp/v.err) $(wc -c < /tmp/v.out)" "1 0"
v assign ../x
rc_is "assign ../x: exit 1" 1
v assign 01:00.9
rc_is "assign 01:00.9 (function 9): exit 1" 1
v release ../x
rc_is "release ../x: exit 1" 1
v assign
rc_is "assign without a device: exit 1" 1
v assign --no-such-option $VGA
rc_is "assign --no-such-option: exit 1" 1
same_as "bad input changed nothing" /tmp/S1

# -- removed before vmgpu runs
echo 1 > "$SYS/$EDU/remove"
v assign 05:00.0
rc_is "assign of a removed device: exit 2" 2
is "one line of error" "$(wc -l < /tmp/v.err)" 1
note "error: $(cat /tmp/v.err)"
check "no journal left" test ! -e "$STATE/journal"
echo 1 > /sys/bus/pci/rescan
wait_until 10 test -e "$SYS/$EDU"
is "rescan: $EDU is back, driverless" "$(fstate $EDU)" "none (null)"

# -- removed between survey and apply: vmgpu plans, then waits for the lock
if [ ! -x /testbed/hold-lock ]; then
    nok "between survey and apply # hold-lock was not built (no gcc -static on the host)"
elif lock_hold; then
    "$VMGPU" assign --json $EDU > /tmp/race.out 2> /tmp/race.err 7>&- &
    RP=$!
    if wait_until 60 waits_for_lock $RP; then
        ok "vmgpu assign surveyed and now waits for $STATE/lock"
    else
        nok "vmgpu assign never waited for the lock"; grep FLOCK /proc/locks | indent
    fi
    timeout 20 "$VMGPU" status > /dev/null 2>&1
    rc=$?
    is "vmgpu status does not wait for the lock" "$rc" 0
    echo 1 > "$SYS/$EDU/remove"
    lock_release
    wait_until 60 sh -c "! kill -0 $RP 2>/dev/null" || { nok "vmgpu assign still runs 60 s after the lock was released"; kill -9 $RP; }
    wait $RP
    RC=$?
    note "\$ vmgpu assign --json $EDU (device removed while it waited) -> $RC"
    cp /tmp/race.out /tmp/v.out
    rc_is "device gone between survey and apply: exit 2" 2
    jflat
    is "result failed" "$(jget .result)" failed
    check "the error says it vanished and nothing was changed" sh -c "grep -q 'vanished' /tmp/v.flat && grep -q 'nothing was changed' /tmp/v.flat"
    sed -n 's/^\.error=//p' /tmp/v.flat | indent
    check "no journal left" test ! -e "$STATE/journal"
    is "status lists nothing" "$(status_addrs)" ""
    echo 1 > /sys/bus/pci/rescan
    wait_until 10 test -e "$SYS/$EDU"
    is "rescan: $EDU is back, driverless, no override" "$(fstate $EDU)" "none (null)"
else
    nok "hold-lock could not take $STATE/lock"
fi
same_as "at the end the host is as before part c" /tmp/S1

finish
