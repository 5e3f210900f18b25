#!/bin/sh
# journey.sh - guest scenario (meson test guest-journey): the administrator's
# journey end to end, in the test guest (L1): survey -> assign or partition
# -> attach --format qemu -> a nested VM (L2, QEMU -accel kvm in L1) started
# with exactly the lines vmgpu rendered -> L2's own view of its PCI bus ->
# vmgpu verify against the running L2 (QMP + guest agent) -> release /
# remove -> the host exactly as before.
#   test-guest.sh journey VMGPU
# Needs the nested kit with its guest agent (make-guest.sh --with-nested)
# and the mdev samples (--with-mdev); test-guest.sh builds both and carries
# the kit in with run-guest.sh -r.  In /testbed: vmgpu, json-flat.awk,
# assign-common.sh, and the static helpers qmp-send (QMP / guest agent
# client), vfio-viable, hold-lock.
#
# Every L2 gets the same base: -accel kvm, kernel + initramfs of the kit
# (L2's /init is tests/guest/l2-init), its console in a file, a QMP socket,
# and a virtio-serial port org.qemu.guest_agent.0 for qemu-ga (QEMU puts
# it on the root bus, pcie.0; the layout vmgpu renders goes behind its own
# root ports).  Then the lines of the rendered file, word-split, as they
# are (they start with -machine q35: the base names no machine).
#
# Journeys (JOURNEYS="gpu vf mdev negative", the default, in that order;
# "negative" needs the VFs that "vf" leaves):
#   gpu       the GPU + HDMI audio group (01:00.0 stdvga, 01:00.1 ich9-hda):
#             survey says ready_with_companions; assign 01:00.0; attach
#             --vm l2 --format qemu --no-rom (the stdvga's option ROM pokes
#             legacy VGA ports that L2 does not route); L2 has 1234:1111
#             class 0x030000 as function 0 and 8086:293e as function 1 of
#             one slot behind a root port, BARs assigned; verify: seen
#   vf        partition vfs 04:00.0 2; assign both VFs; attach both to one
#             VM: each is function 0 behind its own root port in L2
#             (1b36:0010); verify: seen
#   mdev      partition create mbochs mbochs-small --count 1; attach --mdev
#             UUID --format qemu; L2 has the mbochs device (1234:1111 class
#             0x038000) as function 0 behind a root port of its own, BARs
#             assigned; verify UUID: seen; partition remove
#   negative  a hand-built placement that vmgpu would never render: VF
#             04:00.2 as function 1 of a root port's slot, with no
#             function 0 (id vmgpu-0000-04-00-2, the id vmgpu renders for
#             that host address, so verify can find it).  QEMU has it
#             (query-pci), L2's kernel never scans it; verify: not seen,
#             exit 1
# Afterwards: VFs released and removed, and the host is exactly as at the
# start (drivers, overrides, /dev/vfio, status, state files, no journal,
# mdevs, VFs).
#
# The layout check compares, per L2 bus behind a root port, the "slot.fn
# vendor:device" set with what the rendered lines promise (one root port
# per -device pcie-root-port, addr=SS.F on it, the host device's IDs), so
# that both the grouping and the function numbers are checked, then that
# every such bus hangs off a QEMU pcie-root-port (1b36:000c) and that every
# BAR got an address.
# Exit status = number of failures.  Without /dev/kvm
# in L1 it writes $VMGPU_OUT/skip and exits 0 (test-guest.sh: skip).
# shellcheck disable=SC1091,SC2086,SC2034
NAME=journey
. /testbed/assign-common.sh
KIT=/usr/share/vmgpu-nested
PF=0000:04:00.0 VF1=0000:04:00.1 VF2=0000:04:00.2
MDEVS=/sys/bus/mdev/devices
UUID_RE='^[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}$'
L2LOG=/tmp/l2.console QMP=/tmp/l2-qmp.sock QGA=/tmp/l2-qga.sock
QS=/testbed/qmp-send
JOURNEYS=${JOURNEYS:-gpu vf mdev negative}
OUTD=${VMGPU_OUT:-/tmp/out}
mkdir -p "$OUTD"

skip() {
    echo "# SKIP: $*"
    [ -n "${VMGPU_OUT:-}" ] && echo "$*" > "$VMGPU_OUT/skip"
    exit 0
}
want() {
    case " $JOURNEYS " in *" $1 "*) echo "# ==== journey $1 (at $(uptime_s)s)"; return 0 ;; esac
    return 1
}
[ -x /usr/bin/qemu-system-x86_64 ] && [ -r $KIT/l2-initrd.cpio ] || { nok "no nested kit in the guest (run-guest.sh -r build/guest/nested/root)"; finish; }
modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null
[ -c /dev/kvm ] || skip "no /dev/kvm in the guest: the CPU offers neither SVM nor VMX to L1"
note "L1 CPU: $(grep -m1 -owE 'svm|vmx' /proc/cpuinfo), $(grep -o '^kvm_[a-z]*' /proc/modules | tr '\n' ' ')"
# (vmgpu assign loads vfio-pci itself; loaded first, the module list is
# the same before and after)
modprobe vfio-pci; modprobe vfio_iommu_type1
check "modprobe mbochs (make-guest.sh --with-mdev)" modprobe mbochs
HAVE_QS=""
[ -x $QS ] && HAVE_QS=1
HAVE_VERIFY=1

# ---- the host state: assign-common's snapshot plus mdevs and SR-IOV
jsnap() {
    snapshot
    echo "mdevs $(ls $MDEVS 2>/dev/null | tr '\n' ' ')"
    echo "sriov numvfs $(cat $SYS/$PF/sriov_numvfs) vfs $(ls -d $SYS/$PF/virtfn* 2>/dev/null | wc -l)"
}
jsame_as() {   # jsame_as DESC FILE
    jsnap > /tmp/jsnap.now
    if cmp -s "$2" /tmp/jsnap.now; then ok "$1"; else
        nok "$1"; diff "$2" /tmp/jsnap.now | grep '^[-+][^-+]' | indent
    fi
}
ids() { echo "$(cut -c3- $SYS/$1/vendor):$(cut -c3- $SYS/$1/device)"; }

# ---- L2
# l2_start LABEL ARGSFILE: QEMU with the base options and the lines of
# ARGSFILE (word-split, as a shell script would pass them); waits for
# L2-DONE.  QP is QEMU's PID.
l2_start() {
    label=$1 args=$2
    rm -f $QMP $QGA
    : > $L2LOG
    t0=$(uptime_s)
    set -f
    # shellcheck disable=SC2046
    qemu-system-x86_64 -L $KIT/fw -accel kvm -cpu qemu64 -smp 1 -m 128 \
        -nodefaults -no-user-config -display none -no-reboot \
        -kernel $KIT/l2-vmlinuz -initrd $KIT/l2-initrd.cpio \
        -append "console=ttyS0 panic=-1 loglevel=3 rdinit=/init vmgpu.l2hold=900" \
        -serial file:$L2LOG \
        -qmp unix:$QMP,server=on,wait=off \
        -device virtio-serial-pci,id=vser0 \
        -chardev socket,path=$QGA,server=on,wait=off,id=qga0 \
        -device virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0 \
        $(cat "$args") \
        < /dev/null > /tmp/qemu-$label.log 2>&1 7>&- &
    QP=$!
    set +f
    if wait_until 240 l2_done_or_dead && grep -q '^L2-DONE' $L2LOG; then
        ok "$label: L2 booted and listed its PCI devices ($(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')s after QEMU started)"
        tr -d '\r' < $L2LOG | grep -E '^L2-(DEV|QGA)' | indent
        cp $L2LOG "$OUTD/l2-$label.console"
        return 0
    fi
    nok "$label: L2 booted and listed its PCI devices (QEMU $(kill -0 $QP 2>/dev/null && echo running || echo gone))"
    indent < /tmp/qemu-$label.log
    tail -n 30 $L2LOG | indent
    cp $L2LOG "$OUTD/l2-$label.console"
    return 1
}
l2_done_or_dead() { grep -q '^L2-DONE' $L2LOG || ! kill -0 $QP 2>/dev/null; }
# l2_stop LABEL: quit through QMP (kill when that fails); QEMU must exit 0
l2_stop() {
    if kill -0 $QP 2>/dev/null; then
        [ -n "$HAVE_QS" ] && $QS $QMP '{"execute":"quit"}' > /dev/null 2>&1
        wait_until 30 sh -c "! kill -0 $QP 2>/dev/null" || { note "QEMU did not quit: killing it"; kill $QP; }
    fi
    wait $QP
    is "$1: QEMU (L2) exits 0" "$?" 0
    cp /tmp/qemu-$1.log "$OUTD/" 2>/dev/null
}
# l2_buses: one line per L2 bus behind a bridge: its functions, "SS.F:VVVV:DDDD"
# sorted, space separated; the lines sorted
l2_buses() {
    tr -d '\r' < $L2LOG | awk '$1 == "L2-DEV" && $5 != "up=root" {
            n = split($2, a, ":"); bus = a[1] ":" a[2]; g[bus] = g[bus] " " a[3] ":" $3 }
        END { for (b in g) print g[b] }' |
        while read -r l; do echo "$l" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'; echo; done | sort
}
# promised ARGSFILE [IDS]: the same, from the rendered lines: one bus per
# root port, "SS.F:ids" of each vfio-pci device on it (ids: the host
# function's, or IDS for an mdev); devices that name no bus are left out
promised() {
    sed -n 's/^-device vfio-pci,//p' "$1" | tr ',' ' ' |
        while read -r kv; do
            h="" b="" a=""
            for x in $kv; do
                case $x in host=*) h=${x#host=} ;; sysfsdev=*) h=mdev ;; bus=*) b=${x#bus=} ;; addr=*) a=${x#addr=} ;; esac
            done
            [ -n "$b" ] || continue        # no bus: QEMU's root bus
            if [ "$h" = mdev ]; then i=$2; else i=$(ids "$h"); fi
            echo "$b $a:$i"
        done | awk '{ g[$1] = g[$1] " " $2 } END { for (b in g) print g[b] }' |
        while read -r l; do echo "$l" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'; echo; done | sort
}
# l2_layout LABEL ARGSFILE [IDS]: L2's buses behind bridges are exactly the
# promised ones; each behind a QEMU pcie-root-port; every BAR assigned
l2_layout() {
    is "$1: L2's functions behind root ports, per bus, are the ones the rendered lines promise" \
        "$(l2_buses | tr '\n' '|')" "$(promised "$2" "${3:-}" | tr '\n' '|')"
    bad=$(tr -d '\r' < $L2LOG | awk '$1 == "L2-DEV" && $5 != "up=root" && $6 != "upid=1b36:000c" { print $2 }')
    is "$1: each of them sits behind a QEMU pcie-root-port (1b36:000c)" "$bad" ""
    bad=$(tr -d '\r' < $L2LOG | awk '$1 == "L2-DEV" && $5 != "up=root" && ($7 == "bars=-" || $8 != "unset=0") { print $2, $7, $8 }')
    is "$1: every BAR of them got an address in L2" "$bad" ""
}
l2dev() { tr -d '\r' < $L2LOG | grep "^L2-DEV "; }
# qga_ping LABEL: the guest agent in L2 answers (independent of vmgpu)
qga_ping() {
    check "$1: L2 started its guest agent (L2-QGA up)" grep -q '^L2-QGA up' $L2LOG
    if [ -z "$HAVE_QS" ]; then ok "$1: the guest agent answers guest-ping # SKIP no qmp-send helper"; return; fi
    r=$($QS --qga $QGA '{"execute":"guest-ping"}' 2>&1)
    is "$1: the guest agent answers guest-ping" "$r" '{"return": {}}'
}
# verify LABEL WANT_RC WANT_SEEN DEVICE...: vmgpu verify --qmp --qga --json
verify() {
    label=$1 wrc=$2 wseen=$3; shift 3
    v verify --qmp $QMP --qga $QGA --json "$@"
    rc_is "$label: vmgpu verify --qmp --qga $*: exit $wrc" "$wrc"
    cp /tmp/v.out "$OUTD/verify-$label.json" 2>/dev/null
    if jflat; then
        is "$label: verify's schema" "$(jget .schema)" vmgpu.verify/1
        n=$(grep -c '^\.devices\[[0-9]*\]\.seen=' /tmp/v.flat)
        bad=$(grep '^\.devices\[[0-9]*\]\.seen=' /tmp/v.flat | grep -v "=$wseen\$")
        if [ "$n" -ge "$#" ] && [ -z "$bad" ]; then ok "$label: verify: every device seen=$wseen ($n)"
        else nok "$label: verify: every device seen=$wseen"; indent < /tmp/v.flat; fi
        if [ "$wseen" = true ]; then wall=true; else wall=false; fi
        is "$label: verify: all_seen=$wall" "$(sed -n 's/^\(\.[a-z_]*\)*\.all_seen=//p' /tmp/v.flat | head -n 1)" "$wall"
    else
        nok "$label: verify --json prints JSON"; vshow
    fi
}

jsnap > /tmp/S0

# ------------------------------------------------------------ GPU + audio
if want gpu; then
    v survey --json $VGA
    rc_is "gpu: vmgpu survey $VGA exits 0" 0
    jflat
    is "gpu: survey: $VGA is ready_with_companions" "$(jget '.devices[0].verdict')" ready_with_companions
    check "gpu: survey: with the companion $HDA" sh -c \
        "grep -F '.devices[0].companions[' /tmp/v.flat | grep -qxE '[^=]*=\"$HDA\"'"
    v assign $VGA
    rc_is "gpu: vmgpu assign $VGA exits 0" 0
    assert_assigned "gpu: assigned" $VGA $HDA
    v attach $VGA --vm l2 --format qemu --no-rom
    rc_is "gpu: vmgpu attach $VGA --vm l2 --format qemu --no-rom exits 0" 0
    cp /tmp/v.out /tmp/gpu.args; cp /tmp/v.out "$OUTD/gpu.args"
    indent < /tmp/gpu.args
    is "gpu: the rendered lines start with -machine q35" "$(head -n 1 /tmp/gpu.args)" "-machine q35"
    check "gpu: both functions rendered, with rombar=0" \
        test "$(grep -c "^-device vfio-pci,host=0000:01:00\.[01],.*rombar=0" /tmp/gpu.args)" = 2
    if l2_start gpu /tmp/gpu.args; then
        l2_layout gpu /tmp/gpu.args
        vga=$(l2dev | awk '$3 == "1234:1111" && $4 == "0x030000" { print $2 }')
        hda=$(l2dev | awk '$3 == "8086:293e" { print $2 }')
        case "$vga $hda" in
            *:00.0\ *:00.1) [ "${vga%.0}" = "${hda%.1}" ] && r=ok || r=bad ;;
            *) r=bad ;;
        esac
        is "gpu: L2 has 1234:1111 class 0x030000 at function 0 and 8086:293e at function 1 of one slot ($vga, $hda)" "$r" ok
        qga_ping gpu
        verify gpu 0 true $VGA
        v release $VGA
        rc_is "gpu: vmgpu release $VGA while L2 runs: refused, exit 3" 3
    fi
    l2_stop gpu
    v release $VGA
    rc_is "gpu: vmgpu release $VGA exits 0" 0
    assert_released "gpu: released" $VGA=bochs-drm $HDA=snd_hda_intel
fi

# ------------------------------------------------------------ SR-IOV VFs
if want vf; then
    v partition vfs $PF 2
    rc_is "vf: vmgpu partition vfs $PF 2 exits 0" 0
    is "vf: $VF1 $VF2 exist, driverless" "$(drv $VF1) $(drv $VF2)" "none none"
    v assign $VF1 $VF2
    rc_is "vf: vmgpu assign $VF1 $VF2 exits 0" 0
    assert_assigned "vf: assigned" $VF1 $VF2
    v attach $VF1 $VF2 --vm l2 --format qemu
    rc_is "vf: vmgpu attach $VF1 $VF2 --vm l2 --format qemu exits 0" 0
    cp /tmp/v.out /tmp/vf.args; cp /tmp/v.out "$OUTD/vf.args"
    indent < /tmp/vf.args
    is "vf: two root ports rendered" "$(grep -c '^-device pcie-root-port,' /tmp/vf.args)" 2
    if l2_start vf /tmp/vf.args; then
        l2_layout vf /tmp/vf.args
        is "vf: L2 has two 1b36:0010, each function 0 of its own bus" \
            "$(l2_buses | grep -c '^00\.0:1b36:0010$')" 2
        qga_ping vf
        verify vf 0 true $VF1 $VF2
    fi
    l2_stop vf
fi

# ------------------------------------------------ negative: fn 1 without fn 0
if want negative; then
    if [ "$(drv $VF2)" != vfio-pci ]; then
        nok "negative: needs $VF2 on vfio-pci (journey vf first)"
    else
        cat > /tmp/neg.args <<EOF
-machine q35
-device pcie-root-port,id=p9,bus=pcie.0,chassis=9,slot=9
-device vfio-pci,host=$VF2,id=vmgpu-0000-04-00-2,bus=p9,addr=00.1
EOF
        cp /tmp/neg.args "$OUTD/"
        note "hand-built (not vmgpu's):"; indent < /tmp/neg.args
        if l2_start negative /tmp/neg.args; then
            if [ -n "$HAVE_QS" ]; then
                $QS $QMP '{"execute":"query-pci"}' > /tmp/query-pci.out 2>&1
                check "negative: QEMU has the device (query-pci lists vmgpu-0000-04-00-2)" \
                    grep -q '"qdev_id": "vmgpu-0000-04-00-2"' /tmp/query-pci.out
            fi
            is "negative: L2 does not list 1b36:0010 (function 1 with no function 0 is never scanned)" \
                "$(l2dev | awk '$3 == "1b36:0010"')" ""
            is "negative: nothing behind the root port in L2" "$(l2_buses)" ""
            qga_ping negative
            verify negative 1 false $VF2
        fi
        l2_stop negative
    fi
fi
if want vf; then
    v release $VF1 $VF2
    rc_is "vf: vmgpu release $VF1 $VF2 exits 0" 0
    assert_released "vf: released" $VF1=none $VF2=none
    v partition vfs $PF 0
    rc_is "vf: vmgpu partition vfs $PF 0 exits 0" 0
    check "vf: the VFs are gone" test ! -e $SYS/$VF1 -a ! -e $SYS/$VF2
    note "sriov_drivers_autoprobe after vfs 0: $(cat $SYS/$PF/sriov_drivers_autoprobe) (vmgpu leaves it off, vmgpu(8))"
fi

# ------------------------------------------------------------ mdev
if want mdev; then
    v partition create mbochs mbochs-small --count 1
    rc_is "mdev: vmgpu partition create mbochs mbochs-small --count 1 exits 0" 0
    U=$(grep "$UUID_RE" /tmp/v.out | head -n 1)
    check "mdev: it printed the UUID of an mdev that exists ($U)" test -n "$U" -a -e "$MDEVS/$U"
    v attach --mdev $U --vm l2 --format qemu
    rc_is "mdev: vmgpu attach --mdev $U --vm l2 --format qemu exits 0" 0
    cp /tmp/v.out /tmp/mdev.args; cp /tmp/v.out "$OUTD/mdev.args"
    indent < /tmp/mdev.args
    check "mdev: rendered with sysfsdev=$MDEVS/$U" grep -q "sysfsdev=$MDEVS/$U" /tmp/mdev.args
    if l2_start mdev /tmp/mdev.args; then
        # mbochs's config space: 1234:1111 class 0x038000 (display, other),
        # function 0 behind a root port of its own, as a lone function is
        l2_layout mdev /tmp/mdev.args 1234:1111
        is "mdev: L2 has the mbochs device as 1234:1111 class 0x038000" \
            "$(l2dev | awk '$3 == "1234:1111" { print $4 }')" "0x038000"
        qga_ping mdev
        verify mdev 0 true $U
        v partition remove $U
        rc_is "mdev: vmgpu partition remove while L2 runs: refused, exit 3" 3
    fi
    l2_stop mdev
    v partition remove $U
    rc_is "mdev: vmgpu partition remove $U exits 0" 0
    check "mdev: $U is gone" test ! -e "$MDEVS/$U"
fi

jsame_as "after every journey the host is exactly as at the start (drivers, overrides, /dev/vfio, status, state files, mdevs, VFs)" /tmp/S0
check "no journal left" test ! -e "$STATE/journal"
finish
