#!/bin/sh
# scenario.sh - guest scenario (meson test guest-partition): vmgpu splits a
# GPU among VMs on a live kernel.  test-partition-guest.sh starts it.
#
# The "GPU with mdev partitions" is the kernel's mbochs sample (make-guest.sh
# --with-mdev; types mbochs-small/medium/large = 4/16/64 MiB of VRAM, one
# shared budget of max_mbytes=256 MiB).  The SR-IOV path is QEMU's nvme PF
# 0000:04:00.0 (sriov_totalvfs 4).  In /testbed: vmgpu, json-flat.awk,
# assign-common.sh (the assign scenarios' helpers, sourced), and when the
# host could provide them vfio-open (static, tests/guest/partition/
# vfio-open.c: opens a device like a VMM) and mdevctl (Debian's package).
#
#   list      partition list --json: mbochs with its three types, VRAM and
#             free instances; the nvme PF with SR-IOV total 4
#   create    2 x mbochs-large --persist: UUIDs printed, the mdevs exist,
#             available_instances dropped, /etc/mdevctl.d/mbochs/UUID is
#             mdevctl's JSON; mdevctl list (--defined) lists them
#   attach    --format xml / qemu for a VM "desk" (and --dry-run on libvirt's
#             test:///default); the mdev opens through VFIO like a VMM does
#             it (vendor 1234:1111, BAR0 = the type's VRAM); while open,
#             partition remove refuses
#   exhaust   more than available: exit 3, the refusal names the count, and
#             nothing changed; then the whole budget used up
#   remove    both gone, definitions gone, available back
#   faults    SIGKILL after every step of a 2-instance persistent create and
#             of the remove (VMGPU_TEST_CRASH_AFTER_STEP), then recover
#             (exactly as before) or recover --finish (exactly as planned)
#   mdevctl   an mdev that mdevctl defined and started: vmgpu lists and
#             removes it, with its definition
#   sriov     partition vfs PF 2 -> driverless VFs (autoprobe off); assign a
#             VF -> vfio-pci, /dev/vfio/N, opens like a VMM; vfs 0 refused
#             while a VF is on vfio-pci; release; vfs 0; SIGKILL after every
#             step of "vfs PF 2" (and of "vfs PF 0"), then recover
#   plan      a pool of 3 x 16 MiB slices lands on mbochs-medium; --apply
#             creates them; placement next to existing mdevs of two types
#
# Environment: PHASES="list create ..." runs a subset (default all; some
# phases need the state an earlier one leaves, each says so).
# Output: "ok - ..." / "not ok - ..." lines, details on "#" lines.
# Exit status = number of failures.
# (lists of UUIDs are split into words on purpose: SC2046)
# shellcheck disable=SC2046,SC2034,SC1091
NAME=partition
. /testbed/assign-common.sh

PHASES=${PHASES:-list create attach exhaust remove faults mdevctl sriov plan}
PF=0000:04:00.0 VF1=0000:04:00.1 VF2=0000:04:00.2
MB=/sys/class/mdev_bus/mbochs/mdev_supported_types
MDEVS=/sys/bus/mdev/devices
STORE=/etc/mdevctl.d
UUID_RE='^[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}$'
MIB=1048576

HAVE_OPEN="" HAVE_MDEVCTL=""
[ -x /testbed/vfio-open ] && HAVE_OPEN=1
[ -x /testbed/mdevctl ] && HAVE_MDEVCTL=1
want() {
    case " $PHASES " in *" $1 "*) echo "# ==== $1 (at $(uptime_s)s)"; return 0 ;; esac
    return 1
}
skip() { ok "$1 # SKIP $2"; }

# ---- state, as sysfs and the mdevctl store show it
avail() { cat "$MB/mbochs-$1/available_instances" 2>/dev/null || echo none; }
avails() { echo "$(avail small) $(avail medium) $(avail large)"; }
mdev_type() { l=$(readlink "$MDEVS/$1/mdev_type" 2>/dev/null) && echo "${l##*/}" || echo none; }
mdevs() { ls "$MDEVS" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
# mdevs_of TYPE: the instances of TYPE, sorted
mdevs_of() { for u in $(mdevs); do [ "$(mdev_type "$u")" = "$1" ] && echo "$u"; done | tr '\n' ' ' | sed 's/ $//'; }
stored() { ls "$STORE/mbochs" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
sriov() { echo "$(cat $SYS/$PF/sriov_numvfs) $(cat $SYS/$PF/sriov_drivers_autoprobe)"; }
mgroup() { l=$(readlink "$MDEVS/$1/iommu_group"); echo "${l##*/}"; }
# psnap: assign-common's snapshot (every function's driver and override,
# /dev/vfio, vmgpu status, state files) plus what partitioning changes
psnap() {
    snapshot
    echo "mdevs $(for u in $(mdevs); do printf '%s:%s ' "$u" "$(mdev_type "$u")"; done)"
    echo "store $(for f in $(stored); do printf '%s:%s ' "$f" "$(md5sum < "$STORE/mbochs/$f" | cut -c1-12)"; done)"
    echo "available $(avails)"
    echo "sriov $(sriov) vfs $(ls -d $SYS/$PF/virtfn* 2>/dev/null | wc -l)"
}
pstate_as() {   # pstate_as DESC FILE
    psnap > /tmp/psnap.now
    if cmp -s "$2" /tmp/psnap.now; then ok "$1"; else
        nok "$1"; diff "$2" /tmp/psnap.now | grep '^[-+][^-+]' | indent
    fi
}
uuids_out() { grep "$UUID_RE" /tmp/v.out | tr '\n' ' ' | sed 's/ $//'; }
has() { grep -qF -- "$2" "$1"; }   # has FILE TEXT
# parent_index NAME: index of NAME in the last flattened partition list
parent_index() { sed -n "s/^\.parents\[\([0-9]*\)\]\.parent=\"$1\"\$/\1/p" /tmp/v.flat | head -n 1; }
# types_of INDEX: "type:vram_mib:available_instances:device_api ..." of a parent
types_of() {
    j=0
    while t=$(jget ".parents[$1].mdev_types[$j].type") && [ -n "$t" ]; do
        printf '%s:%s:%s:%s ' "$t" "$(jget ".parents[$1].mdev_types[$j].vram_mib")" \
            "$(jget ".parents[$1].mdev_types[$j].available_instances")" "$(jget ".parents[$1].mdev_types[$j].device_api")"
        j=$((j + 1))
    done | sed 's/ $//'
}
# mdevs_listed INDEX: "uuid:type ..." that partition list shows for a parent
mdevs_listed() {
    sed -n "s/^\.parents\[$1\]\.mdevs\[\([0-9]*\)\]\.\(uuid\|type\)=\"\(.*\)\"\$/\1 \2 \3/p" /tmp/v.flat |
        awk '$2 == "uuid" { u[$1] = $3 } $2 == "type" { t[$1] = $3 }
             END { for (i in u) print u[i] ":" t[i] }' | sort | tr '\n' ' ' | sed 's/ $//'
}
step_kinds() { sed -n 's/^\.steps\[[0-9]*\]\.kind="\(.*\)"$/\1/p' /tmp/v.flat | tr '\n' ' ' | sed 's/ $//'; }
mdevctl() { /testbed/mdevctl "$@"; }

# ensure_pair: U1 and U2 (2 x mbochs-large, persistent) exist, /tmp/SC is
# that state (for a phase run without "create" before it)
ensure_pair() {
    [ -n "$U1" ] && return 0
    v partition create mbochs mbochs-large --count 2 --persist
    set -- $(uuids_out)
    U1=${1:-} U2=${2:-}
    psnap > /tmp/SC
}

# ---- vfio-open: a device opened as a VMM opens it
# vfio_open GROUP DEVICE -> "ok vendor=... bar0=..." or "error: ..."
vfio_open() { /testbed/vfio-open "$1" "$2" 2>&1; }
# hold_open GROUP DEVICE: keep it open (a running "VM") until hold_close
hold_open() {
    rm -f /tmp/vo.fifo /tmp/vo.out
    mkfifo /tmp/vo.fifo
    /testbed/vfio-open "$1" "$2" --hold < /tmp/vo.fifo > /tmp/vo.out 2>&1 &
    VO_PID=$!
    exec 6> /tmp/vo.fifo
    wait_until 10 grep -q holding /tmp/vo.out
}
hold_close() { kill "$VO_PID" 2>/dev/null; wait "$VO_PID" 2>/dev/null; exec 6>&-; }

# crash K ARGS...: vmgpu ARGS killed after step K; checks exit 137, the
# journal and status --json
crash() {
    k=$1; shift
    VMGPU_TEST_CRASH_AFTER_STEP=$k "$VMGPU" "$@" > /tmp/v.out 2> /tmp/v.err
    RC=$?
    lbl="$* killed after step $k"
    if [ $RC = 137 ]; then ok "$lbl: exit 137"; else nok "$lbl: exit $RC, want 137 (SIGKILL)"; vshow; fi
    check "$lbl: journal present" test -s "$STATE/journal"
    "$VMGPU" status --json 2>/dev/null | awk -f "$FLAT" > /tmp/st.flat 2>/dev/null
    check "$lbl: status --json says interrupted" grep -qx '.interrupted=true' /tmp/st.flat
}
# steps_of ARGS...: steps of vmgpu ARGS --dry-run --json now
steps_of() { "$VMGPU" "$@" --dry-run --json 2>/dev/null | awk -f "$FLAT" 2>/dev/null | grep -c '^\.steps\[[0-9]*\]\.kind='; }
# clean_mdevs: remove every mdev (the next phase starts from none)
clean_mdevs() {
    [ -z "$(mdevs)" ] && return 0
    # shellcheck disable=SC2046
    v partition remove $(mdevs)
    [ "$RC" = 0 ] || { nok "cleanup: partition remove exits $RC"; vshow; }
}

# ---- setup
modprobe vfio_iommu_type1 2>/dev/null   # busybox modprobe ignores softdeps
modprobe vfio-pci 2>/dev/null
if modprobe mbochs 2>/tmp/modprobe.err && [ -d "$MB" ]; then
    ok "modprobe mbochs: /sys/class/mdev_bus/mbochs (max_mbytes $(cat /sys/module/mbochs/parameters/max_mbytes 2>/dev/null))"
else
    nok "modprobe mbochs (make-guest.sh --with-mdev)"; indent < /tmp/modprobe.err
    ls /lib/modules/*/extra 2>&1 | indent
    finish
fi
if [ -n "$HAVE_MDEVCTL" ]; then
    # what Debian's mdevctl package ships in /etc (mdevctl refuses to run
    # without the callouts directory)
    mkdir -p $STORE/scripts.d/callouts $STORE/scripts.d/notifiers
    note "mdevctl: $(mdevctl --version 2>&1 | head -n 1)"
else
    note "no mdevctl in the guest: its checks are skipped"
fi
[ -n "$HAVE_OPEN" ] || note "no vfio-open helper (no gcc -static on the host): the VMM-open checks are skipped"
note "sriov: $(sriov) (numvfs autoprobe); available: $(avails) (small medium large)"
is "nvme PF autoprobe is on at boot" "$(cat $SYS/$PF/sriov_drivers_autoprobe)" 1
psnap > /tmp/S0
U1="" U2=""

# ============================================================== list
if want list; then
    v partition list --json
    rc_is "partition list --json exits 0" 0
    if jflat; then ok "partition list --json is well-formed JSON"; else nok "partition list --json: not JSON"; vshow; fi
    is "schema" "$(jget .schema)" "vmgpu.partitions/1"
    i=$(parent_index mbochs)
    if [ -n "$i" ]; then
        ok "parent mbochs is listed (parents[$i])"
        is "mbochs: a virtual parent (pci false)" "$(jget ".parents[$i].pci")" false
        is "mbochs: types, VRAM MiB, available instances, device_api" "$(types_of "$i")" \
            "mbochs-small:4:64:vfio-pci mbochs-medium:16:16:vfio-pci mbochs-large:64:4:vfio-pci"
        is "mbochs: no instances yet" "$(jget ".parents[$i].mdevs")" "[]"
        is "mbochs: no SR-IOV" "$(jget ".parents[$i].sriov")" null
    else
        nok "parent mbochs is not listed"; indent < /tmp/v.out
    fi
    i=$(parent_index $PF)
    if [ -n "$i" ]; then
        ok "the nvme PF $PF is listed (parents[$i])"
        is "nvme PF: sriov total_vfs/num_vfs/autoprobe" \
            "$(jget ".parents[$i].sriov.total_vfs")/$(jget ".parents[$i].sriov.num_vfs")/$(jget ".parents[$i].sriov.autoprobe")" \
            "4/0/true"
        is "nvme PF: no mdev types" "$(jget ".parents[$i].mdev_types")" "[]"
    else
        nok "the nvme PF $PF is not listed"
    fi
    v partition list
    rc_is "partition list (text) exits 0" 0
    check "text: 'mdev type mbochs-large (mbochs-large): 4 available, 64 MiB'" \
        has /tmp/v.out "mdev type mbochs-large (mbochs-large): 4 available, 64 MiB"
    check "text: 'SR-IOV: 0 of 4 VFs enabled, autoprobe on'" has /tmp/v.out "SR-IOV: 0 of 4 VFs enabled, autoprobe on"
    v partition list --json mbochs
    note "(informational: a virtual parent is not a PCI DEVICE) $(head -n 1 /tmp/v.err)"
    # the survey carries the same inventory (its "partitions")
    v survey --json
    rc_is "survey --json exits 0" 0
    if jflat; then
        i=$(sed -n 's/^\.partitions\[\([0-9]*\)\]\.parent="mbochs"$/\1/p' /tmp/v.flat | head -n 1)
        is "survey: mbochs-large in partitions, 4 available" \
            "$(jget ".partitions[${i:-x}].mdev_types[2].type"):$(jget ".partitions[${i:-x}].mdev_types[2].available_instances")" \
            "mbochs-large:4"
    else
        nok "survey --json: not JSON"; vshow
    fi
    v survey
    check "survey text: 'mbochs  virtual mdev parent'" has /tmp/v.out "mbochs  virtual mdev parent"
fi

# ============================================================== create
if want create; then
    v partition create mbochs mbochs-large --count 2 --persist --dry-run --json
    rc_is "create --dry-run --json exits 0" 0
    jflat
    is "dry run: the plan's steps" "$(step_kinds)" "mdev_create write_file mdev_create write_file"
    is "dry run: result planned" "$(jget .result)" planned
    pstate_as "dry run: nothing changed" /tmp/S0

    v partition create mbochs mbochs-large --count 2 --persist
    rc_is "partition create mbochs mbochs-large --count 2 --persist exits 0" 0
    set -- $(uuids_out)
    U1=${1:-} U2=${2:-}
    is "create prints two UUIDs (and nothing else on stdout)" "$#:$(grep -vc "$UUID_RE" /tmp/v.out)" "2:0"
    note "U1=$U1 U2=$U2"
    for u in $U1 $U2; do
        check "$u: /sys/bus/mdev/devices/$u exists" test -d "$MDEVS/$u"
        is "$u: its mdev_type is mbochs-large" "$(mdev_type "$u")" mbochs-large
        g=$(mgroup "$u")
        check "$u: in IOMMU group $g, /dev/vfio/$g is a character device" test -c "/dev/vfio/$g"
        f=$STORE/mbochs/$u
        check "$u: mdevctl definition $f exists" test -s "$f"
        if awk -f "$FLAT" "$f" > /tmp/def.flat 2>/dev/null; then
            ok "$u: the definition is valid JSON"
            is "$u: definition: mdev_type, start" \
                "$(sed -n 's/^\.mdev_type=//p' /tmp/def.flat) $(sed -n 's/^\.start=//p' /tmp/def.flat)" '"mbochs-large" "auto"'
        else
            nok "$u: the definition is not valid JSON"; indent < "$f"
        fi
    done
    is "available_instances small/medium/large after 2 x 64 MiB (256 MiB budget)" "$(avails)" "32 8 2"
    check "no journal left" test ! -e "$STATE/journal"
    v partition list --json
    jflat
    i=$(parent_index mbochs)
    is "partition list shows both instances" "$(mdevs_listed "$i")" \
        "$(printf '%s:mbochs-large\n' $U1 $U2 | sort | tr '\n' ' ' | sed 's/ $//')"
    is "partition list: mbochs-large available 2" "$(jget ".parents[$i].mdev_types[2].available_instances")" 2
    if [ -n "$HAVE_MDEVCTL" ]; then
        mdevctl list --defined > /tmp/mc.out 2>&1
        is "mdevctl list --defined exits 0" "$?" 0
        for u in $U1 $U2; do
            check "mdevctl list --defined: '$u mbochs mbochs-large auto'" grep -q "^$u mbochs mbochs-large auto" /tmp/mc.out
        done
        indent < /tmp/mc.out
        mdevctl list > /tmp/mc.out 2>&1
        for u in $U1 $U2; do
            check "mdevctl list (active): '$u mbochs mbochs-large'" grep -q "^$u mbochs mbochs-large" /tmp/mc.out
        done
        mdevctl list --defined --dumpjson --uuid "$U1" > /tmp/mc.json 2>&1
        awk -f "$FLAT" /tmp/mc.json > /tmp/mc.flat 2>/dev/null
        is "mdevctl list --defined --dumpjson --uuid U1: mdev_type, start" \
            "$(sed -n 's/^\.mdev_type=//p;s/^\.start=//p' /tmp/mc.flat | tr '\n' ' ')" '"mbochs-large" "auto" '
    else
        skip "mdevctl list --defined lists them" "no mdevctl"
    fi
    psnap > /tmp/SC
fi

# ============================================================== attach
if want attach; then
    ensure_pair
    v attach --mdev "$U1" --vm desk --format xml
    rc_is "attach --mdev U1 --vm desk --format xml exits 0" 0
    check "xml: <hostdev mode=\"subsystem\" type=\"mdev\" model=\"vfio-pci\">" \
        has /tmp/v.out '<hostdev mode="subsystem" type="mdev" model="vfio-pci">'
    check "xml: <address uuid=\"U1\"/>" has /tmp/v.out "<address uuid=\"$U1\"/>"
    check "xml: <name>desk</name>" has /tmp/v.out "<name>desk</name>"
    v attach --mdev "$U1" "$U2" --vm desk --format qemu
    rc_is "attach --mdev U1 U2 --vm desk --format qemu exits 0" 0
    check "qemu: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/U1" has /tmp/v.out "-device vfio-pci,sysfsdev=$MDEVS/$U1"
    check "qemu: ... and U2" has /tmp/v.out "sysfsdev=$MDEVS/$U2"
    # libvirt's in-process test driver: its predefined domain "test"
    v attach --mdev "$U1" --vm test --connect test:///default --dry-run
    rc_is "attach --mdev U1 --vm test --connect test:///default --dry-run exits 0" 0
    check "test:///default dry run: the domain gets the mdev hostdev" has /tmp/v.out "<address uuid=\"$U1\"/>"
    pstate_as "attach printed only: nothing changed" /tmp/SC
    # an mdev that does not exist: attach must not write it into a VM
    v attach --mdev 11111111-2222-4333-8444-555555555555 --vm desk --format xml
    if [ "$RC" != 0 ]; then ok "attach --mdev of an mdev that does not exist is refused (exit $RC)"
    else nok "attach --mdev of an mdev that does not exist exits 0 and prints a hostdev for it (vmgpu bug: no existence check)"; fi
    v attach --mdev 11111111-2222-4333-8444-555555555555 --vm test --connect test:///default --dry-run
    if [ "$RC" != 0 ]; then ok "attach --mdev (libvirt test driver) of an mdev that does not exist is refused (exit $RC)"
    else nok "attach --mdev --connect test:///default of an mdev that does not exist exits 0 (vmgpu bug: no existence check)"; fi

    if [ -n "$HAVE_OPEN" ]; then
        g=$(mgroup "$U1")
        r=$(vfio_open "$g" "$U1")
        note "vfio-open $g $U1: $r"
        case $r in ok\ *) ok "U1 opens like a VMM opens it (container, group $g, VFIO_GROUP_GET_DEVICE_FD by UUID)" ;;
                   *) nok "U1 does not open through VFIO: $r" ;; esac
        is "U1 through VFIO: vendor:device (bochs 1234:1111)" "$(echo "$r" | sed -n 's/.*vendor=\([0-9a-f]*\) device=\([0-9a-f]*\).*/\1:\2/p')" 1234:1111
        is "U1 through VFIO: BAR0 = 64 MiB (the type's VRAM)" "$(echo "$r" | sed -n 's/.*bar0=\([0-9]*\).*/\1/p')" $((64 * MIB))
        if hold_open "$g" "$U1"; then
            ok "U1 held open (a VM uses it): $(head -n 1 /tmp/vo.out)"
            v partition remove "$U1" --json
            rc_is "partition remove U1 while it is open: refused (exit 3)" 3
            jflat
            is "refusal code in_use_by_vm" "$(refusal_codes)" in_use_by_vm
            check "the refusal names the holder (vfio-open)" grep -q 'in use by PID [0-9]* (vfio-open)' /tmp/v.out
            check "U1 still exists" test -d "$MDEVS/$U1"
        else
            nok "vfio-open --hold did not hold U1"; indent < /tmp/vo.out
        fi
        hold_close
        pstate_as "after the holder exits: as after create" /tmp/SC
    else
        skip "U1 opens like a VMM opens it" "no vfio-open helper"
    fi
fi

# ============================================================== exhaust
if want exhaust; then
    ensure_pair
    v partition create mbochs mbochs-large --count 3 --persist
    rc_is "3 more mbochs-large (2 available): refused, exit 3" 3
    check "refusal: 'mbochs: 3 instance(s) of mbochs-large asked, 2 available.'" \
        has /tmp/v.err "mbochs: 3 instance(s) of mbochs-large asked, 2 available."
    check "refusal: '... refused; nothing was changed'" has /tmp/v.err "refused; nothing was changed"
    is "the refusal prints no UUID" "$(uuids_out)" ""
    pstate_as "refused: nothing created, no definition, available unchanged" /tmp/SC
    v partition create mbochs mbochs-large --count 3 --json
    rc_is "the same with --json: exit 3" 3
    jflat
    is "--json: result refused, code no_instances, no steps" "$(jget .result) $(refusal_codes) $(jget .steps)" "refused no_instances []"
    # the rest of the budget: 2 more large, then every type is at 0
    v partition create mbochs mbochs-large --count 2
    rc_is "the 2 available mbochs-large: exit 0" 0
    set -- $(uuids_out)
    X1=${1:-} X2=${2:-}
    is "the budget is used up: available small/medium/large" "$(avails)" "0 0 0"
    check "without --persist: no definition for them" test ! -e "$STORE/mbochs/$X1" -a ! -e "$STORE/mbochs/$X2"
    v partition create mbochs mbochs-small
    rc_is "1 mbochs-small with nothing left: refused, exit 3" 3
    check "refusal: 'mbochs: 1 instance(s) of mbochs-small asked, 0 available.'" \
        has /tmp/v.err "mbochs: 1 instance(s) of mbochs-small asked, 0 available."
    v partition create mbochs mbochs-huge
    rc_is "a type mbochs does not have: refused, exit 3" 3
    check "refusal: 'mbochs has no mdev type mbochs-huge'" has /tmp/v.err "mbochs has no mdev type mbochs-huge"
    v partition create nosuchparent mbochs-small
    rc_is "a parent that does not exist: refused, exit 3" 3
    v partition remove "$X1" "$X2"
    rc_is "remove the 2 extra exits 0" 0
    pstate_as "back to the 2 persistent instances" /tmp/SC
fi

# ============================================================== remove
if want remove; then
    ensure_pair
    v partition remove "$U1" "$U2" --dry-run --json
    rc_is "remove --dry-run --json exits 0" 0
    jflat
    is "dry run: the plan's steps" "$(step_kinds)" "mdev_remove remove_file mdev_remove remove_file"
    pstate_as "dry run: nothing changed" /tmp/SC
    v partition remove 11111111-2222-4333-8444-555555555555
    rc_is "remove of an mdev that does not exist: refused, exit 3" 3
    v partition remove "$U1" "$U2"
    rc_is "partition remove U1 U2 exits 0" 0
    check "U1 and U2 are gone" test ! -e "$MDEVS/$U1" -a ! -e "$MDEVS/$U2"
    is "their mdevctl definitions are gone" "$(stored)" ""
    is "available_instances back to 64 16 4" "$(avails)" "64 16 4"
    if [ -n "$HAVE_MDEVCTL" ]; then
        is "mdevctl list --defined lists nothing" "$(mdevctl list --defined 2>&1)" ""
    else
        skip "mdevctl list --defined lists nothing" "no mdevctl"
    fi
    pstate_as "after remove: exactly as at the start" /tmp/S0
    U1="" U2=""
fi

# ============================================================== faults
if want faults; then
    clean_mdevs
    CREATE="partition create mbochs mbochs-large --count 2 --persist"
    # shellcheck disable=SC2086
    NC=$(steps_of $CREATE)
    note "$CREATE: $NC steps"
    is "the persistent 2-instance create has 4 steps" "$NC" 4
    for mode in rollback finish; do
        k=1
        while [ "$k" -le "$NC" ]; do
            # shellcheck disable=SC2086
            crash $k $CREATE
            set -- $(grep -o '[0-9a-f]\{8\}-[0-9a-f-]\{27\}' "$STATE/journal" 2>/dev/null | sort -u)
            if [ $mode = rollback ]; then
                v recover
                rc_is "create k=$k: recover exits 0" 0
                pstate_as "create k=$k: recover: no instance, no definition, available unchanged" /tmp/S0
            else
                v recover --finish
                rc_is "create k=$k: recover --finish exits 0" 0
                is "create k=$k: recover --finish: the journal's two instances exist, mbochs-large" \
                    "$(mdevs_of mbochs-large)" "$(echo "$@" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
                is "create k=$k: recover --finish: both defined in mdevctl's store" "$(stored)" "$(mdevs)"
                is "create k=$k: recover --finish: available" "$(avails)" "32 8 2"
                clean_mdevs
                pstate_as "create k=$k: removed again: as at the start" /tmp/S0
            fi
            check "create k=$k: journal gone" test ! -e "$STATE/journal"
            k=$((k + 1))
        done
    done

    # the remove of two persistent instances, killed after each step
    # shellcheck disable=SC2086
    v $CREATE
    set -- $(uuids_out)
    psnap > /tmp/SF
    rm -rf /tmp/defs; cp -a "$STORE/mbochs" /tmp/defs
    NR=$(steps_of partition remove "$@")
    note "partition remove (2 persistent): $NR steps"
    for mode in rollback finish; do
        k=1
        while [ "$k" -le "$NR" ]; do
            crash $k partition remove "$@"
            if [ $mode = rollback ]; then
                v recover
                rc_is "remove k=$k: recover exits 0" 0
                pstate_as "remove k=$k: recover: both back, same UUIDs, definitions, groups" /tmp/SF
            else
                v recover --finish
                rc_is "remove k=$k: recover --finish exits 0" 0
                pstate_as "remove k=$k: recover --finish: both gone with their definitions" /tmp/S0
                # the same two again for the next round
                for u in "$@"; do
                    echo "$u" > "$MB/mbochs-large/create"
                    cp -a "/tmp/defs/$u" "$STORE/mbochs/$u"
                done
                [ "$(mdevs)" = "$(echo "$@" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" ] ||
                    nok "remove k=$k: cannot re-create $*"
            fi
            k=$((k + 1))
        done
    done
    clean_mdevs
    pstate_as "after the faults: as at the start" /tmp/S0
fi

# ============================================================== mdevctl
if want mdevctl; then
    if [ -n "$HAVE_MDEVCTL" ]; then
        clean_mdevs
        M=$(cat /proc/sys/kernel/random/uuid)
        mdevctl define -u "$M" -p mbochs -t mbochs-small > /tmp/mc.out 2>&1
        is "mdevctl define -u M -p mbochs -t mbochs-small exits 0" "$?" 0
        mdevctl start -u "$M" >> /tmp/mc.out 2>&1
        is "mdevctl start -u M exits 0" "$?" 0
        indent < /tmp/mc.out
        check "M exists (mdevctl created it)" test -d "$MDEVS/$M"
        v partition list --json
        jflat
        is "vmgpu partition list shows mdevctl's instance" "$(mdevs_listed "$(parent_index mbochs)")" "$M:mbochs-small"
        v attach --mdev "$M" --vm desk --format xml
        check "attach --format xml for mdevctl's instance" has /tmp/v.out "<address uuid=\"$M\"/>"
        v partition remove "$M" --dry-run --json
        jflat
        is "remove plan: the instance and its definition" "$(step_kinds)" "mdev_remove remove_file"
        v partition remove "$M"
        rc_is "vmgpu partition remove M exits 0" 0
        check "M is gone" test ! -e "$MDEVS/$M"
        check "its definition is gone" test ! -e "$STORE/mbochs/$M"
        is "mdevctl list --defined lists nothing" "$(mdevctl list --defined 2>&1)" ""
        pstate_as "after the mdevctl round: as at the start" /tmp/S0
    else
        skip "an mdev defined and started by mdevctl" "no mdevctl"
    fi
fi

# ============================================================== sriov
if want sriov; then
    echo 1 > $SYS/$PF/sriov_drivers_autoprobe   # as at boot
    psnap > /tmp/SV0
    v partition vfs $PF 2 --dry-run --json
    rc_is "vfs $PF 2 --dry-run --json exits 0" 0
    jflat
    is "dry run: autoprobe 0, then numvfs 2" \
        "$(sed -n 's/^\.steps\[[0-9]*\]\.path="sys\/bus\/pci\/devices\/[^/]*\/\(.*\)"$/\1/p' /tmp/v.flat | tr '\n' ' ')" \
        "sriov_drivers_autoprobe sriov_numvfs "
    v partition vfs $PF 2
    rc_is "partition vfs $PF 2 exits 0" 0
    is "numvfs 2, autoprobe 0" "$(sriov)" "2 0"
    is "VFs $VF1 $VF2: driverless" "$(drv $VF1) $(drv $VF2)" "none none"
    check "virtfn0 -> $VF1" test "$(readlink $SYS/$PF/virtfn0)" = "../$VF1"
    check "the VFs have their own IOMMU groups" test "$(group $VF1)" != "$(group $VF2)" -a -n "$(group $VF1)"
    v partition list --json
    jflat
    i=$(parent_index $PF)
    is "partition list: num_vfs 2, autoprobe false" \
        "$(jget ".parents[$i].sriov.num_vfs") $(jget ".parents[$i].sriov.autoprobe")" "2 false"
    v partition vfs $PF 2
    rc_is "vfs $PF 2 again: exit 0" 0
    check "vfs $PF 2 again: 'already so; nothing changed'" has /tmp/v.out "already so; nothing changed"

    v assign $VF1
    rc_is "vmgpu assign $VF1 exits 0" 0
    assert_assigned "VF assigned" $VF1
    g=$(group $VF1)
    if [ -n "$HAVE_OPEN" ]; then
        r=$(vfio_open "$g" $VF1)
        note "vfio-open $g $VF1: $r"
        is "the VF opens like a VMM opens it: vendor:device as sysfs says" \
            "$(echo "$r" | sed -n 's/^ok vendor=\([0-9a-f]*\) device=\([0-9a-f]*\).*/\1:\2/p')" \
            "$(sed 's/^0x//' $SYS/$VF1/vendor):$(sed 's/^0x//' $SYS/$VF1/device)"
    else
        skip "the VF opens like a VMM opens it" "no vfio-open helper"
    fi
    v attach $VF1 --vm desk --format xml
    rc_is "attach $VF1 --vm desk --format xml exits 0" 0
    check "xml: a PCI hostdev for 04:00.1" \
        grep -q '<address domain="0x0000" bus="0x04" slot="0x00" function="0x1"/>' /tmp/v.out
    v partition vfs $PF 0 --json
    rc_is "vfs $PF 0 while $VF1 is on vfio-pci: refused, exit 3" 3
    jflat
    is "refusal code vf_assigned" "$(refusal_codes)" vf_assigned
    is "numvfs still 2" "$(sriov)" "2 0"
    v release $VF1
    rc_is "vmgpu release $VF1 exits 0" 0
    assert_released "VF released" "$VF1=none"
    v partition vfs $PF 0
    rc_is "partition vfs $PF 0 exits 0" 0
    is "numvfs 0" "$(cat $SYS/$PF/sriov_numvfs)" 0
    check "the VFs are gone" test ! -e $SYS/$VF1 -a ! -e $SYS/$VF2 -a ! -e $SYS/$PF/virtfn0
    note "autoprobe after vfs 0: $(cat $SYS/$PF/sriov_drivers_autoprobe) (vmgpu leaves it off)"

    # killed after each step of "vfs PF 2", from numvfs 0 / autoprobe 1
    echo 1 > $SYS/$PF/sriov_drivers_autoprobe
    pstate_as "autoprobe 1 again: as before the VFs" /tmp/SV0
    NV=$(steps_of partition vfs $PF 2)
    is "vfs $PF 2 has 2 steps from autoprobe 1" "$NV" 2
    for mode in rollback finish; do
        k=1
        while [ "$k" -le "$NV" ]; do
            crash $k partition vfs $PF 2
            if [ $mode = rollback ]; then
                v recover
                rc_is "vfs 2 k=$k: recover exits 0" 0
                pstate_as "vfs 2 k=$k: recover: numvfs 0, autoprobe 1 (as before)" /tmp/SV0
            else
                v recover --finish
                rc_is "vfs 2 k=$k: recover --finish exits 0" 0
                is "vfs 2 k=$k: recover --finish: numvfs 2, autoprobe 0, VFs driverless" \
                    "$(sriov) $(drv $VF1) $(drv $VF2)" "2 0 none none"
                v partition vfs $PF 0
                echo 1 > $SYS/$PF/sriov_drivers_autoprobe
                pstate_as "vfs 2 k=$k: back to 0 VFs, autoprobe 1" /tmp/SV0
            fi
            check "vfs 2 k=$k: journal gone" test ! -e "$STATE/journal"
            k=$((k + 1))
        done
    done
    # from autoprobe 0 the plan is the numvfs write alone
    echo 0 > $SYS/$PF/sriov_drivers_autoprobe
    psnap > /tmp/SV1
    is "vfs $PF 2 has 1 step from autoprobe 0" "$(steps_of partition vfs $PF 2)" 1
    crash 1 partition vfs $PF 2
    v recover
    rc_is "vfs 2 (autoprobe 0) k=1: recover exits 0" 0
    pstate_as "vfs 2 (autoprobe 0) k=1: recover: numvfs 0, autoprobe 0" /tmp/SV1
    # "vfs PF 0" killed with 2 VFs: recover brings them back, driverless
    v partition vfs $PF 2
    psnap > /tmp/SV2
    crash 1 partition vfs $PF 0
    is "vfs 0 killed after its step: numvfs 0" "$(cat $SYS/$PF/sriov_numvfs)" 0
    v recover
    rc_is "vfs 0 k=1: recover exits 0" 0
    pstate_as "vfs 0 k=1: recover: 2 driverless VFs again" /tmp/SV2
    v partition vfs $PF 0
    echo 1 > $SYS/$PF/sriov_drivers_autoprobe
    pstate_as "after the SR-IOV phase: as at the start" /tmp/S0
fi

# ============================================================== plan
if want plan; then
    clean_mdevs
    printf '{"desktops":[{"name":"desk","want":"slice","vram_mib":16,"count":3}]}\n' > /tmp/pool.json
    v plan /tmp/pool.json --json
    rc_is "plan (3 x 16 MiB slices) --json exits 0" 0
    jflat
    is "plan: applied false, unplaced 0, gpus_used 1" \
        "$(jget .applied) $(jget .unplaced) $(jget .gpus_used)" "false 0 1"
    is "plan: each desktop on mbochs, type mbochs-medium (the smallest that holds 16 MiB)" \
        "$(for d in 0 1 2; do printf '%s:%s:%s ' "$(jget ".desktops[$d].name")" "$(jget ".desktops[$d].gpu")" "$(jget ".desktops[$d].slice_type")"; done)" \
        "desk-1:mbochs:mbochs-medium desk-2:mbochs:mbochs-medium desk-3:mbochs:mbochs-medium "
    pstate_as "plan without --apply: nothing changed" /tmp/S0
    v plan /tmp/pool.json --apply
    rc_is "plan --apply exits 0" 0
    vshow
    is "--apply: 3 mbochs-medium instances, nothing else" "$(mdevs_of mbochs-medium | wc -w) $(mdevs | wc -w)" "3 3"
    is "--apply: available small/medium/large" "$(avails)" "52 13 3"
    is "--apply without --persist: no definitions" "$(stored)" ""
    for u in $(mdevs); do
        check "--apply printed 'created mdev $u'" has /tmp/v.out "created mdev $u"
    done
    clean_mdevs
    v plan /tmp/pool.json --apply --persist
    rc_is "plan --apply --persist exits 0" 0
    is "--apply --persist: every instance defined in mdevctl's store" "$(stored)" "$(mdevs)"
    clean_mdevs
    pstate_as "after plan: as at the start" /tmp/S0

    # Next to existing instances of two types (mbochs can mix them): one
    # mbochs-small and one mbochs-large leave 188 MiB, so the kernel offers 2
    # more mbochs-large; a pool of 2 x 64 MiB fits there.
    v partition create mbochs mbochs-small
    v partition create mbochs mbochs-large
    is "1 small + 1 large: available small/medium/large" "$(avails)" "47 11 2"
    printf '{"desktops":[{"name":"big","want":"slice","vram_mib":64,"count":2}]}\n' > /tmp/pool2.json
    v plan /tmp/pool2.json --json
    rc_is "plan (2 x 64 MiB next to a small and a large) exits 0" 0
    jflat
    is "plan: both placed on mbochs-large (mbochs-large has 2 available)" \
        "$(jget .unplaced) $(jget .desktops[0].slice_type) $(jget .desktops[1].slice_type)" "0 mbochs-large mbochs-large"
    [ "$(jget .unplaced)" = 0 ] || indent < /tmp/v.out
    clean_mdevs
    pstate_as "the end: as at the start" /tmp/S0
fi

finish
