#!/bin/sh
# assign-faults.sh - guest scenario (meson test guest-assign-faults): vmgpu
# killed (SIGKILL) after every single step of an assign and of a release,
# through the test hook VMGPU_TEST_CRASH_AFTER_STEP=k, then recovered.
#   test-guest.sh assign-faults VMGPU
# Exit status = number of failures.
#
# For every k in 1..n (n = steps of the plan, from --dry-run --json):
#  - assign 01:00.0 killed after step k: exit 137, the journal is there,
#    status says "interrupted"; `vmgpu recover` puts the host back EXACTLY as
#    before (drivers, overrides, /dev/vfio, status, state files); again with
#    `recover --finish`, which leaves it exactly assigned.  vfio-pci is
#    unloaded before each run, so step 1 (loading it) is part of every plan.
#  - the same for release, starting from assigned: recover -> exactly
#    assigned, recover --finish -> exactly released.
#  - no explicit recover: the next assign (or release) recovers by itself
#    first, then does its own job.  Also across operations: an interrupted
#    assign followed by a release, and the other way round.
#  - --persist: killed after each step that writes a udev rule (or the
#    modules-load.d file), recover leaves no rule behind and recover --finish
#    writes them all; a release killed after removing the first rule is
#    rolled back with the rule restored.
NAME=assign-faults
. /testbed/assign-common.sh

# unload_vfio_pci: so that each assign plan starts with "load the vfio-pci
# module" (nothing is bound to vfio-pci whenever this is called)
unload_vfio_pci() { [ -e /sys/module/vfio_pci ] && rmmod vfio_pci 2>/dev/null; [ ! -e /sys/module/vfio_pci ]; }
# crash OP K: vmgpu OP 01:00.0 with the hook; sets RC
crash() {
    VMGPU_TEST_CRASH_AFTER_STEP=$2 "$VMGPU" "$1" $VGA > /tmp/v.out 2> /tmp/v.err
    RC=$?
}
# crashed LABEL: exit 137, journal present, status says interrupted
crashed() {
    if [ $RC = 137 ]; then ok "$1: killed (exit 137)"; else nok "$1: exit $RC, want 137 (SIGKILL)"; vshow; fi
    check "$1: journal present" test -s "$STATE/journal"
    "$VMGPU" status --json 2>/dev/null | awk -f "$FLAT" > /tmp/st.flat 2>/dev/null
    check "$1: status --json says interrupted" grep -qx '.interrupted=true' /tmp/st.flat
}
# steps OP: steps of OP's plan for 01:00.0 now
steps() { "$VMGPU" "$1" --dry-run --json $VGA 2>/dev/null | awk -f "$FLAT" | grep -c '^\.steps\[[0-9]*\]\.kind='; }

# ---- reference states: released (S0) and assigned (SA)
check "vfio-pci not loaded at the start" unload_vfio_pci
snapshot > /tmp/S0
NA=$(steps assign)
note "assign plan: $NA steps"
"$VMGPU" assign --dry-run $VGA 2>&1 | indent
v assign $VGA
rc_is "reference assign exits 0" 0
snapshot > /tmp/SA
NR=$(steps release)
note "release plan: $NR steps"
"$VMGPU" release --dry-run $VGA 2>&1 | indent
v release $VGA
rc_is "reference release exits 0" 0
same_as "reference release restores the start" /tmp/S0
[ "$NA" -gt 0 ] && [ "$NR" -gt 0 ] || { nok "no steps in the plans ($NA, $NR)"; finish; }

# ---- assign, killed after step k
for mode in rollback finish; do
    k=1
    while [ $k -le "$NA" ]; do
        unload_vfio_pci || nok "assign k=$k: cannot unload vfio-pci"
        n=$(steps assign)
        [ "$n" = "$NA" ] || nok "assign k=$k: the plan has $n steps now, not $NA"
        crash assign $k
        crashed "assign killed after step $k/$NA"
        if [ $mode = rollback ]; then
            v recover
            rc_is "assign k=$k: recover exits 0" 0
            same_as "assign k=$k: recover restores the host exactly" /tmp/S0
        else
            v recover --finish
            rc_is "assign k=$k: recover --finish exits 0" 0
            same_as "assign k=$k: recover --finish leaves it exactly assigned" /tmp/SA
            v release $VGA
            [ $RC = 0 ] || { nok "assign k=$k: release after recover --finish exits $RC"; vshow; }
        fi
        check "assign k=$k: journal gone" test ! -e "$STATE/journal"
        k=$((k + 1))
    done
done
same_as "after the assign crashes the host is as at the start" /tmp/S0

# ---- release, killed after step k (from assigned)
for mode in rollback finish; do
    k=1
    while [ $k -le "$NR" ]; do
        if [ "$(status_addrs)" != "$VGA $HDA" ]; then
            v assign $VGA
            [ $RC = 0 ] || { nok "release k=$k: assign first exits $RC"; vshow; }
        fi
        crash release $k
        crashed "release killed after step $k/$NR"
        if [ $mode = rollback ]; then
            v recover
            rc_is "release k=$k: recover exits 0" 0
            same_as "release k=$k: recover leaves it exactly assigned" /tmp/SA
        else
            v recover --finish
            rc_is "release k=$k: recover --finish exits 0" 0
            same_as "release k=$k: recover --finish leaves it exactly released" /tmp/S0
        fi
        check "release k=$k: journal gone" test ! -e "$STATE/journal"
        k=$((k + 1))
    done
done
if [ -n "$(status_addrs)" ]; then v release $VGA; fi
same_as "after the release crashes the host is as at the start" /tmp/S0

# ---- no explicit recover: the next run recovers by itself
mid_a=$(((NA + 1) / 2)) mid_r=$(((NR + 1) / 2))

crash assign $mid_a
crashed "assign killed after step $mid_a"
v assign $VGA
rc_is "the next assign (after a killed assign) exits 0" 0
same_as "... and leaves the host exactly assigned" /tmp/SA

crash release $mid_r
crashed "release killed after step $mid_r"
v release $VGA
rc_is "the next release (after a killed release) exits 0" 0
same_as "... and leaves the host exactly released" /tmp/S0

# across operations: the interrupted plan is rolled back first, then the new
# one runs against the host as it was
crash assign $mid_a
crashed "assign killed after step $mid_a (then release)"
note "half-assigned: $VGA $(fstate $VGA), $HDA $(fstate $HDA)"
v release $VGA
note "release after the killed assign: exit $RC"
vshow
check "release after a killed assign recovers first: journal gone" test ! -e "$STATE/journal"
same_as "release after a killed assign: host exactly as at the start" /tmp/S0
v recover > /dev/null

v assign $VGA
crash release $mid_r
crashed "release killed after step $mid_r (then assign)"
v assign $VGA
rc_is "assign after a killed release exits 0" 0
same_as "assign after a killed release: host exactly assigned" /tmp/SA
v release $VGA
same_as "after the cross-operation crashes: host as at the start" /tmp/S0

# ---- --persist: the udev rules are part of the plan, so recovery must
# undo (or finish) them like the drivers.  A rule left behind puts the
# device on vfio-pci at the next boot although nothing is assigned; a
# missing one loses the assignment at the next boot although status says
# "persistent".
# wsteps OP FLAGS: 1-based numbers of the plan's write_file/remove_file steps
wsteps() {
    "$VMGPU" "$1" $2 --dry-run --json $VGA 2>/dev/null | awk -f "$FLAT" |
        sed -n 's/^\.steps\[\([0-9]*\)\]\.kind="\(write_file\|remove_file\)"$/\1/p' |
        while read -r n; do echo $((n + 1)); done | tr '\n' ' '
}
PW=$(wsteps assign --persist)
NP=$("$VMGPU" assign --persist --dry-run --json $VGA 2>/dev/null | awk -f "$FLAT" | grep -c '^\.steps\[[0-9]*\]\.kind=')
note "assign --persist plan: $NP steps, file steps: $PW"
v assign --persist $VGA
rc_is "reference assign --persist exits 0" 0
snapshot > /tmp/SAP
PR=$(wsteps release "")
note "release of the --persist assignment: file steps: $PR"
v release $VGA
same_as "reference release of --persist: host as at the start" /tmp/S0
for k in $PW; do
    VMGPU_TEST_CRASH_AFTER_STEP=$k "$VMGPU" assign --persist $VGA > /tmp/v.out 2> /tmp/v.err
    RC=$?
    crashed "assign --persist killed after step $k/$NP"
    note "udev rules after the crash: $(ls /etc/udev/rules.d | tr '\n' ' ')"
    v recover
    rc_is "assign --persist k=$k: recover exits 0" 0
    same_as "assign --persist k=$k: recover removes the udev rules written so far" /tmp/S0
    rm -f /etc/udev/rules.d/61-vmgpu-*.rules    # do not let one failure spill over
done
k=${PW%% *}
VMGPU_TEST_CRASH_AFTER_STEP=$k "$VMGPU" assign --persist $VGA > /tmp/v.out 2> /tmp/v.err
RC=$?
crashed "assign --persist killed after step $k/$NP (then recover --finish)"
v recover --finish
rc_is "assign --persist k=$k: recover --finish exits 0" 0
same_as "assign --persist k=$k: recover --finish writes every udev rule" /tmp/SAP
"$VMGPU" release $VGA > /dev/null 2>&1
rm -f /etc/udev/rules.d/61-vmgpu-*.rules

k=${PR%% *}
v assign --persist $VGA
VMGPU_TEST_CRASH_AFTER_STEP=$k "$VMGPU" release $VGA > /tmp/v.out 2> /tmp/v.err
RC=$?
crashed "release of --persist killed after step $k (the first rule removed)"
v recover
rc_is "release of --persist k=$k: recover exits 0" 0
same_as "release of --persist k=$k: recover puts the removed udev rule back" /tmp/SAP
"$VMGPU" recover > /dev/null 2>&1
if [ -n "$(status_addrs)" ]; then "$VMGPU" release $VGA > /dev/null 2>&1; fi
rm -f /etc/udev/rules.d/61-vmgpu-*.rules /etc/modules-load.d/vmgpu-vfio.conf
same_as "the end: host as at the start" /tmp/S0

finish
