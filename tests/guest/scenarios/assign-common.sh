# assign-common.sh - sourced by the guest scenarios assign-*.sh (busybox sh).
# Not a scenario itself: test-guest.sh copies it to /testbed/ next to vmgpu,
# json-flat.awk and the static helpers vfio-viable and hold-lock.
#
# Output: one TAP-like line per check, "ok - ..." or "not ok - ...", with
# details on "#" lines.  `finish` exits with the number of failures (capped
# at 100, so that many failures never wrap around to 0).

VMGPU=${VMGPU:-/testbed/vmgpu}
FLAT=/testbed/json-flat.awk
SYS=/sys/bus/pci/devices
STATE=/var/lib/vmgpu
FAILS=0 CHECKS=0
VGA=0000:01:00.0 HDA=0000:01:00.1 DISP=0000:02:00.0 EDU=0000:05:00.0

ok()  { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
nok() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
note() { echo "# $*"; }
# check DESC CMD...: ok when CMD succeeds
check() { d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
# is DESC GOT WANT
is() {
    if [ "$2" = "$3" ]; then ok "$1"; else nok "$1"; note "  got:  '$2'"; note "  want: '$3'"; fi
}
finish() {
    echo "# ${NAME:-scenario}: $CHECKS checks, $FAILS failure(s), $(uptime_s)s guest uptime"
    [ $FAILS -gt 100 ] && exit 100
    exit $FAILS
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
indent() { sed 's/^/#   /'; }

# ---- host state, read from sysfs (few forks: each costs ~4 ms under TCG)
drv() { l=$(readlink "$SYS/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo none; }
ovr() { read -r o < "$SYS/$1/driver_override"; echo "$o"; }
group() { l=$(readlink "$SYS/$1/iommu_group"); echo "${l##*/}"; }
fstate() { echo "$(drv "$1") $(ovr "$1")"; }
vfio_nodes() { ls /dev/vfio 2>/dev/null | grep -v '^vfio$' | tr '\n' ' '; }

# snapshot: everything an assign or release may change, one line each:
# every PCI function's driver and override, the /dev/vfio group nodes, what
# vmgpu status --json says (minus timestamps), vmgpu's state files other than
# lock/assigned, and the udev rules it writes.
snapshot() {
    # "fn ADDR DRIVER OVERRIDE" for every function, from one ls and one grep
    { ls -l "$SYS"/*/driver 2>/dev/null | sed -n 's|.*/devices/\([^/]*\)/driver -> .*/\([^/]*\)$|D \1 \2|p'
      grep -H . "$SYS"/*/driver_override | sed 's|.*/devices/\([^/]*\)/driver_override:|O \1 |'
    } | awk '$1 == "D" { d[$2] = $3 } $1 == "O" { o[$2] = $3; n[++k] = $2 }
             END { for (i = 1; i <= k; i++) print "fn", n[i], (n[i] in d ? d[n[i]] : "none"), o[n[i]] }'
    echo "vfio-nodes $(vfio_nodes)"
    "$VMGPU" status --json 2>&1 | awk -f "$FLAT" 2>&1 | grep -v '\.since=' | sed 's/^/status /'
    echo "state-files $(ls -A "$STATE" 2>/dev/null | grep -vxE 'lock|assigned' | tr '\n' ' ')"
    echo "udev-rules $(ls /etc/udev/rules.d 2>/dev/null | grep vmgpu | tr '\n' ' ')"
}
# same_as DESC FILE: the host is exactly as the snapshot in FILE
same_as() {
    snapshot > /tmp/snap.now
    if cmp -s "$2" /tmp/snap.now; then ok "$1"; else
        nok "$1"; diff "$2" /tmp/snap.now | grep '^[-+][^-+]' | indent
    fi
}

# ---- running vmgpu
# v ARGS...: run vmgpu; stdout in /tmp/v.out, stderr in /tmp/v.err, exit
# status in RC; the command line and its status are logged.
v() {
    "$VMGPU" "$@" > /tmp/v.out 2> /tmp/v.err
    RC=$?
    note "\$ vmgpu $* -> $RC"
    return 0
}
# vshow: log what the last v printed
vshow() { cat /tmp/v.out /tmp/v.err | indent; }
# rc_is DESC WANT: the last v exited WANT (prints its output otherwise)
rc_is() {
    if [ "$RC" = "$2" ]; then ok "$1"; else nok "$1 (exit $RC, want $2)"; vshow; fi
}
# jflat: flatten the last v's stdout (JSON) into /tmp/v.flat
jflat() { awk -f "$FLAT" /tmp/v.out > /tmp/v.flat 2>/dev/null || { echo "json-flat failed" > /tmp/v.flat; return 1; }; }
# jget PATH: value of PATH (".result") in /tmp/v.flat, quotes removed
jget() { sed -n "s/^$(echo "$1" | sed 's/[].[]/\\&/g')=//p" /tmp/v.flat | sed 's/^"\(.*\)"$/\1/' | head -n 1; }
# refusal_codes: the last JSON plan's refusal codes, space separated
refusal_codes() { sed -n 's/^\.refusals\[[0-9]*\]\.code="\(.*\)"$/\1/p' /tmp/v.flat | tr '\n' ' ' | sed 's/ $//'; }
# refusal_forced CODE: "true"/"false" for that refusal in the last plan
refusal_forced() {
    i=$(sed -n "s/^\.refusals\[\([0-9]*\)\]\.code=\"$1\"\$/\1/p" /tmp/v.flat | head -n 1)
    [ -n "$i" ] && jget ".refusals[$i].forced"
}
# n_steps: steps in the last JSON plan
n_steps() { grep -c '^\.steps\[[0-9]*\]\.kind=' /tmp/v.flat; }
# status_addrs: addresses `vmgpu status --json` lists, space separated
status_addrs() {
    "$VMGPU" status --json 2>/dev/null | awk -f "$FLAT" 2>/dev/null |
        sed -n 's/^\.assigned\[[0-9]*\]\.address="\(.*\)"$/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'
}

# ---- independent group check (static helper; may be missing)
HAVE_VIABLE=""
[ -x /testbed/vfio-viable ] && HAVE_VIABLE=1
# viable GROUP -> "viable", "not-viable" or "error: ..."
viable() { /testbed/vfio-viable "$1" 2>&1; }
check_viable() {   # check_viable DESC GROUP WANT
    if [ -z "$HAVE_VIABLE" ]; then ok "$1 # SKIP vfio-viable was not built (no gcc -static on the host)"; return; fi
    is "$1" "$(viable "$2")" "$3"
}

# ---- assigned / released, as sysfs shows them
# assert_assigned LABEL ADDR...: each on vfio-pci with override vfio-pci, the
# group nodes present and viable, status lists exactly these, no journal
assert_assigned() {
    label=$1; shift
    bad=""
    for a in "$@"; do [ "$(fstate "$a")" = "vfio-pci vfio-pci" ] || bad="$bad $a=[$(fstate "$a")]"; done
    if [ -z "$bad" ]; then ok "$label: $* on vfio-pci, driver_override vfio-pci"; else nok "$label: not on vfio-pci:$bad"; fi
    for g in $(for a in "$@"; do group "$a"; done | sort -u); do
        check "$label: /dev/vfio/$g is a character device" test -c "/dev/vfio/$g"
        check_viable "$label: group $g viable (VFIO_GROUP_GET_STATUS, independent of vmgpu)" "$g" viable
    done
    is "$label: vmgpu status --json lists exactly them" "$(status_addrs)" "$(echo "$@" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
    check "$label: no journal left" test ! -e "$STATE/journal"
}
# assert_released LABEL "ADDR=DRIVER"...: each back on DRIVER ("none": no
# driver) with override (null), group node gone, status empty, no journal
assert_released() {
    label=$1; shift
    bad=""
    for ad in "$@"; do
        a=${ad%%=*} want=${ad#*=}
        [ "$(fstate "$a")" = "$want (null)" ] || bad="$bad $a=[$(fstate "$a")],want[$want (null)]"
    done
    if [ -z "$bad" ]; then ok "$label: $* with driver_override (null)"; else nok "$label:$bad"; fi
    for g in $(for ad in "$@"; do group "${ad%%=*}"; done | sort -u); do
        check "$label: /dev/vfio/$g is gone" test ! -e "/dev/vfio/$g"
    done
    is "$label: vmgpu status --json lists nothing" "$(status_addrs)" ""
    check "$label: no journal left" test ! -e "$STATE/journal"
}

# ---- the lock, held from outside (hold-lock helper)
# lock_hold: take /var/lib/vmgpu/lock; lock_release gives it back.
lock_hold() {
    mkdir -p "$STATE"
    rm -f /tmp/hold.fifo /tmp/hold.out
    mkfifo /tmp/hold.fifo
    /testbed/hold-lock "$STATE/lock" < /tmp/hold.fifo > /tmp/hold.out 2>&1 &
    HOLD_PID=$!
    exec 7> /tmp/hold.fifo
    i=0
    while ! grep -q locked /tmp/hold.out 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    grep -q locked /tmp/hold.out
}
# (processes started meanwhile inherit fd 7, the FIFO's writing end, so
# closing it is not enough for EOF: kill the holder)
lock_release() { kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; exec 7>&-; }
# waits_for_lock PID: PID is blocked on a flock (a "->" line in /proc/locks)
waits_for_lock() { grep -q "^[0-9]*: -> FLOCK .* $1 " /proc/locks; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s
wait_until() {
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}

[ -x "$VMGPU" ] || { echo "not ok - $VMGPU is missing"; exit 1; }
echo "# kernel $(uname -r), $(ls /sys/kernel/iommu_groups | wc -l) IOMMU groups, vmgpu $("$VMGPU" --version 2>&1 | head -n 1)"
