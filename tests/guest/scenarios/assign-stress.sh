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
#     the same device at the same time.  The lock serialises them.  Every
#     run must succeed (exit 0): assign and release are requests for an end
#     state, and another run having reached it already is not an error.  At
#     the end the host is consistent: fully assigned (both functions on
#     vfio-pci, status lists both) or fully released (exactly the start),
#     never half, and there is no journal.
# CYCLES, WORKERS and ROUNDS come from the environment (run-guest.sh -e).
NAME=assign-stress
. /testbed/assign-common.sh
CYCLES=${CYCLES:-200} WORKERS=${WORKERS:-4} ROUNDS=${ROUNDS:-20}

G=$(group $VGA)
dmesg -c > /dev/null        # from here on, every kernel message counts
snapshot > /tmp/S0
mem0=$(sed -n 's/^MemAvailable: *//p' /proc/meminfo)

# ---- 1. cycles in a row
t0=$(uptime_s)
i=1
while [ $i -le "$CYCLES" ]; do
    bad=""
    "$VMGPU" assign $VGA > /tmp/a.out 2>&1 || bad="$bad assign-exit-$?"
    [ "$(fstate $VGA)" = "vfio-pci vfio-pci" ] || bad="$bad $VGA-assigned=[$(fstate $VGA)]"
    [ "$(fstate $HDA)" = "vfio-pci vfio-pci" ] || bad="$bad $HDA-assigned=[$(fstate $HDA)]"
    [ -c /dev/vfio/$G ] || bad="$bad no-/dev/vfio/$G"
    "$VMGPU" release $VGA > /tmp/r.out 2>&1 || bad="$bad release-exit-$?"
    [ "$(fstate $VGA)" = "bochs-drm (null)" ] || bad="$bad $VGA-released=[$(fstate $VGA)]"
    [ "$(fstate $HDA)" = "snd_hda_intel (null)" ] || bad="$bad $HDA-released=[$(fstate $HDA)]"
    [ ! -e /dev/vfio/$G ] || bad="$bad /dev/vfio/$G-left"
    files=$(ls "$STATE" | tr '\n' ' ')
    [ "$files" = "assigned lock " ] || bad="$bad state-files=[$files]"
    if [ -z "$bad" ]; then
        ok "cycle $i: assign + release, state checked"
    else
        nok "cycle $i:$bad"
        cat /tmp/a.out /tmp/r.out | indent
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
# worker W: ROUNDS x (assign, release) with --json; one line per run:
# "W ROUND OP EXIT RESULT CODES..."
worker() {
    r=1
    while [ $r -le "$ROUNDS" ]; do
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
rm -f /tmp/w*.log /tmp/w*.fails
t0=$(uptime_s)
w=1
while [ $w -le "$WORKERS" ]; do
    worker $w > /tmp/w$w.log &
    w=$((w + 1))
done
wait
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
