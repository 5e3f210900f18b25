#!/bin/sh
# assign-stress.sh - guest scenario (meson test guest-assign-stress): many
# assign/release cycles in a row, then concurrent runs on the same group.
#   test-guest.sh assign-stress VMGPU
# Exit status = number of failures.
#
#  1. CYCLES (default 200) x assign + release of 01:00.0, the state checked
#     through sysfs after each (one "ok" line per cycle), vmgpu status and
#     the state directory every 25 cycles: /var/lib/vmgpu holds only
#     "assigned" and "lock", nothing leaks; the kernel log has no BUG or
#     WARNING (vmgpu exits after each run, so its own fds cannot leak)
#  2. WORKERS (4) background loops, each ROUNDS (20) x assign + release of
#     the same device at the same time (in two halves of ROUNDS/2, see
#     below).  The lock serialises them.  Every
#     run must succeed (exit 0): assign and release are requests for an end
#     state, and another run having reached it already is not an error.  At
#     the end the host is consistent: fully assigned (both functions on
#     vfio-pci, status lists both) or fully released (exactly the start),
#     never half, and there is no journal.
# CYCLES, WORKERS and ROUNDS come from the environment (run-guest.sh -e).
#
# A kernel limit, not vmgpu's: snd_hda_intel counts its probes in a static
# variable and refuses (-ENODEV) once it reaches SNDRV_CARDS
# (CONFIG_SND_MAX_CARDS, 32 in Debian), however many cards exist.  On any
# host, the HDMI audio function of a GPU therefore goes back to snd_hda_intel
# at most ~31 times per load of the module.  The scenario reloads the module
# while the group is on vfio-pci (nothing uses snd_hda_intel then): every 25
# cycles, and between the two halves of the concurrent part.
NAME=assign-stress
. /testbed/assign-common.sh
CYCLES=${CYCLES:-200} WORKERS=${WORKERS:-4} ROUNDS=${ROUNDS:-20}

G=$(group $VGA)
dmesg -c > /dev/null        # from here on, every kernel message counts
snapshot > /tmp/S0
mem0=$(sed -n 's/^MemAvailable: *//p' /proc/meminfo)

# reload_hda: reset snd_hda_intel's probe counter (the group must be on
# vfio-pci, so that no device uses the module)
reload_hda() {
    if [ "$(drv $HDA)" != vfio-pci ]; then echo "reload_hda: $HDA is on $(drv $HDA)"; return 1; fi
    rmmod snd_hda_intel && modprobe snd_hda_intel
}

# group_state: "DRIVER OVERRIDE DRIVER OVERRIDE" of VGA and HDA in GS, with
# few forks (this runs twice per cycle)
group_state() {
    dv=$(readlink $SYS/$VGA/driver 2>/dev/null) dh=$(readlink $SYS/$HDA/driver 2>/dev/null)
    read -r ov < $SYS/$VGA/driver_override
    read -r oh < $SYS/$HDA/driver_override
    GS="${dv##*/} $ov ${dh##*/} $oh"
}

# ---- 1. cycles in a row
t0=$(uptime_s)
i=1
while [ $i -le "$CYCLES" ]; do
    bad=""
    "$VMGPU" assign $VGA > /tmp/a.out 2>&1 || bad="$bad assign-exit-$?"
    group_state
    [ "$GS" = "vfio-pci vfio-pci vfio-pci vfio-pci" ] || bad="$bad assigned=[$GS]"
    [ -c /dev/vfio/$G ] || bad="$bad no-/dev/vfio/$G"
    if [ $((i % 25)) = 0 ]; then reload_hda > /tmp/reload.out 2>&1 || bad="$bad reload-snd_hda_intel:$(cat /tmp/reload.out)"; fi
    "$VMGPU" release $VGA > /tmp/r.out 2>&1 || bad="$bad release-exit-$?"
    group_state
    [ "$GS" = "bochs-drm (null) snd_hda_intel (null)" ] || bad="$bad released=[$GS]"
    [ ! -e /dev/vfio/$G ] || bad="$bad /dev/vfio/$G-left"
    files=$(ls -A "$STATE")
    [ "$files" = "assigned
lock" ] || bad="$bad state-files=[$(echo $files)]"
    if [ -z "$bad" ]; then
        ok "cycle $i: assign + release, state checked"
    else
        nok "cycle $i:$bad"
        cat /tmp/a.out /tmp/r.out | indent
        CFAILS=$((${CFAILS:-0} + 1))
        # a failing cycle may wait seconds for a driver: do not spin on
        if [ "$CFAILS" -ge 5 ]; then
            nok "5 cycles failed: giving up on the cycles after $i"
            "$VMGPU" recover > /dev/null 2>&1
            [ "$(drv $HDA)" = vfio-pci ] && reload_hda > /dev/null 2>&1
            "$VMGPU" release $VGA > /dev/null 2>&1
            break
        fi
    fi
    if [ $((i % 25)) = 0 ]; then
        same_as "after $i cycles the host is exactly as at the start" /tmp/S0
        note "$i cycles in $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')s, MemAvailable $(sed -n 's/^MemAvailable: *//p' /proc/meminfo)"
    fi
    i=$((i + 1))
done
t1=$(uptime_s)
note "$CYCLES cycles: $(awk -v a="$t0" -v b="$t1" -v n="$CYCLES" 'BEGIN { printf "%.1fs, %.0f ms per assign+release", b - a, (b - a) * 1000 / n }')"
note "MemAvailable before $mem0, after $(sed -n 's/^MemAvailable: *//p' /proc/meminfo)"
dmesg > /tmp/dmesg.1
if grep -qE 'BUG|WARNING|Call Trace' /tmp/dmesg.1; then
    nok "the kernel log has BUG/WARNING after the cycles"; grep -E -A3 'BUG|WARNING|Call Trace' /tmp/dmesg.1 | head -n 40 | indent
else
    ok "the kernel log has no BUG/WARNING after $CYCLES cycles"
fi

# ---- 2. concurrent loops
# worker W FIRST LAST: rounds FIRST..LAST of (assign, release) with --json,
# one line per run:
# "W ROUND OP EXIT RESULT CODES..."
worker() {
    r=$2
    while [ $r -le "$3" ]; do
        for op in assign release; do
            "$VMGPU" $op --json $VGA > /tmp/w$1.out 2> /tmp/w$1.err
            rc=$?
            res=$(awk -f "$FLAT" /tmp/w$1.out 2>/dev/null | sed -n 's/^\.result="\(.*\)"$/\1/p')
            codes=$(awk -f "$FLAT" /tmp/w$1.out 2>/dev/null | sed -n 's/^\.refusals\[[0-9]*\]\.code="\(.*\)"$/\1/p' | tr '\n' ',')
            echo "$1 $r $op $rc ${res:-none} ${codes:--}"
            if [ $rc != 0 ]; then
                { echo "== worker $1 round $r $op: exit $rc"; cat /tmp/w$1.out /tmp/w$1.err; } >> /tmp/w$1.fails
            fi
        done
        r=$((r + 1))
    done
}
# half FIRST LAST: every worker runs rounds FIRST..LAST, all at once
half() {
    w=1
    while [ $w -le "$WORKERS" ]; do
        worker $w "$1" "$2" >> /tmp/w$w.log &
        w=$((w + 1))
    done
    wait
}
# between the halves: make sure the group is assigned, then reload
# snd_hda_intel (see the top); a release finishes the first half's state
mid_reload() {
    if [ "$(status_addrs)" != "$VGA $HDA" ]; then "$VMGPU" assign $VGA > /dev/null 2>&1; fi
    check "between the halves: snd_hda_intel reloaded" reload_hda
}
rm -f /tmp/w*.log /tmp/w*.fails
t0=$(uptime_s)
h1=$((ROUNDS / 2))
half 1 $h1
note "first half: $VGA [$(fstate $VGA)], $HDA [$(fstate $HDA)], status [$(status_addrs)]"
mid_reload
half $((h1 + 1)) "$ROUNDS"
t1=$(uptime_s)
cat /tmp/w*.log > /tmp/runs
total=$(wc -l < /tmp/runs)
note "$WORKERS workers x $ROUNDS rounds: $total runs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
note "runs by operation, exit status, result and refusal codes:"
awk '{ print $3, "exit", $4, $5, $6 }' /tmp/runs | sort | uniq -c | indent
is "every concurrent run was recorded" "$total" "$((WORKERS * ROUNDS * 2))"
check "no concurrent run failed (exit 2) or crashed" sh -c "! awk '\$4 != 0 && \$4 != 3' /tmp/runs | grep -q ."
nfail=$(awk '$4 != 0' /tmp/runs | wc -l)
if [ "$nfail" = 0 ]; then
    ok "every concurrent run exited 0"
else
    nok "every concurrent run exited 0: $nfail of $total did not"
    cat /tmp/w*.fails 2>/dev/null | head -n 30 | indent
fi

# ---- the end state: all or nothing
a=$(fstate $VGA) b=$(fstate $HDA) st=$(status_addrs)
note "end state: $VGA [$a], $HDA [$b], status [$st], /dev/vfio: $(vfio_nodes)"
if [ "$a|$b|$st" = "vfio-pci vfio-pci|vfio-pci vfio-pci|$VGA $HDA" ] && [ -c /dev/vfio/$G ]; then
    ok "after the concurrent runs the group is fully assigned"
    v release $VGA
    rc_is "release after the concurrent runs exits 0" 0
elif [ "$a|$b|$st" = "bochs-drm (null)|snd_hda_intel (null)|" ] && [ ! -e /dev/vfio/$G ]; then
    ok "after the concurrent runs the group is fully released"
else
    nok "after the concurrent runs the group is half assigned"
fi
check "no journal left" test ! -e "$STATE/journal"
same_as "at the end the host is exactly as at the start" /tmp/S0
dmesg > /tmp/dmesg.2
if grep -qE 'BUG|WARNING|Call Trace' /tmp/dmesg.2; then
    nok "the kernel log has BUG/WARNING"; grep -E -A3 'BUG|WARNING|Call Trace' /tmp/dmesg.2 | head -n 40 | indent
else
    ok "the kernel log has no BUG/WARNING at the end"
fi

finish
