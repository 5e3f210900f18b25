#!/bin/sh
# scenario.sh - runs in the test guest (busybox sh, root) with the nested kit
# and the libvirt layer copied onto / (make-guest.sh --with-nested,
# make-libvirt-root.sh) and vmgpu in /testbed.  test-libvirt-guest.sh starts it.
#
# A real libvirtd (with virtlogd, started by hand: there is no systemd) runs
# a q35 domain "l2" whose kernel and initramfs come from the nested kit: L2's
# /init (tests/guest/l2-init) prints one "L2-PCI <addr> <vendor>:<device>
# <class>" line per PCI function it sees to its serial console (a file here),
# reads the edu device's registers through its BAR ("L2-EDU ... ok"), then
# "L2-DONE", and idles (vmgpu.l2hold) until the domain is destroyed.
# The domain is type 'kvm' (the guest's CPU is TCG's "max", which has SVM, so
# kvm_amd works in the guest) or, when KVM is unusable, type 'qemu' (TCG in
# TCG: slower, but VFIO works the same).  VMGPU_L2_TYPE=qemu|kvm forces one.
# More knobs, for debugging: VMGPU_L2_TIMEOUT (seconds per L2 boot, 180),
# VMGPU_L2_KARGS (extra L2 kernel arguments, e.g. "loglevel=8"),
# VMGPU_KVM_AMD_ARGS (kvm_amd parameters, e.g. "npt=0"),
# VMGPU_LIBVIRT_DEBUG (libvirt log filters, e.g. "1:pci 1:hostdev").
#
# Phases (VMGPU_LIBVIRT_PHASES, default "managed assign gpu live"), each
# with the device back on the host at its end:
#   managed  edu (0000:05:00.0, 1234:11e8, no host driver): vmgpu attach
#            --managed, no assign; virsh start: libvirt binds vfio-pci, L2
#            lists 1234:11e8 and reads its registers; virsh destroy: libvirt
#            gives edu back; vmgpu detach removes the <hostdev>
#   assign   edu: vmgpu assign (vfio-pci); vmgpu attach --vm l2 --connect
#            qemu:///system; the definition has the <hostdev> with vmgpu's
#            aliases; virsh start; L2 lists and reads edu; vmgpu release
#            refuses while QEMU holds the group; virsh destroy; vmgpu detach;
#            vmgpu release: driverless again
#   gpu      the "GPU + HDMI audio" group (01:00.0 stdvga on bochs-drm +
#            01:00.1 HDA on snd_hda_intel): assign, attach, L2 sees
#            1234:1111 and 8086:293e as two functions of one slot, behind a
#            root port; vmgpu verify --vm l2 (libvirt's monitor and the
#            guest agent in L2): both seen, exit 0; destroy, detach, start
#            again: L2 no longer lists them, and vmgpu verify --vm l2
#            0000:01:00.0 says not seen (exit 1); destroy, release: the
#            host drivers are back, exactly as before the phase
#   live     L2 boots without edu (the control); vmgpu assign + attach while
#            it runs: QEMU has the device at once (monitor "info pci"),
#            attach again is no error and adds nothing, release refuses;
#            vmgpu detach while it runs: L2 lets go (SHPC unplug), detach
#            again is no error, release works with the domain still running
#   plain    (not by default) a bare boot, for timing and debugging
# managed runs first on purpose: libvirt 9.0 remembers a device that one
# domain used unmanaged ("inactive list") and, when another start then uses
# it managed, does not give it back at destroy ("Not reattaching unmanaged
# PCI device").  That is libvirtd state, gone with a daemon restart.
#
# The domain has a guest agent channel (org.qemu.guest_agent.0): L2's init
# starts qemu-ga on it (the nested kit carries it), for vmgpu verify.  When
# this vmgpu has no verify command, those checks are "ok ... # SKIP".
#
# Output: "ok - ..." / "not ok - ..." lines, details on "#" lines; on a
# failure the daemon's log and the L2 console are printed.  Exit status = the
# number of failures.  /out gets the logs and the domain XMLs.

VMGPU=/testbed/vmgpu
EDU=0000:05:00.0 VGA=0000:01:00.0 HDA=0000:01:00.1
URI=qemu:///system
KIT=/usr/share/vmgpu-nested
SYS=/sys/bus/pci/devices
L2DIR=/var/lib/vmgpu-l2
PHASES=${VMGPU_LIBVIRT_PHASES:-managed assign gpu live}
FAILS=0 CHECKS=0

uptime_s() { cut -d' ' -f1 /proc/uptime; }
ok()   { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
nok()  { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
note() { echo "# $*"; }
indent() { sed 's/^/#   /'; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1"; note "  got:  '$2'"; note "  want: '$3'"; fi; }
virsh() { command virsh -q -c "$URI" "$@"; }
drv() { if [ -e "$SYS/$1/driver" ]; then basename "$(readlink "$SYS/$1/driver")"; else echo none; fi; }
# v ARGS...: run vmgpu, output in /tmp/v.out, status in RC
v() {
    "$VMGPU" "$@" > /tmp/v.out 2>&1
    RC=$?
    note "\$ vmgpu $* -> $RC ($(uptime_s)s)"
    return 0
}
rc_is() { if [ "$RC" = "$2" ]; then ok "$1"; else nok "$1 (exit $RC, want $2)"; indent < /tmp/v.out; fi; }
finish() {
    if [ $FAILS -gt 0 ]; then
        note "libvirtd.log (last 40 lines):"; tail -n 40 /var/log/libvirt/libvirtd.log 2>/dev/null | indent
        for f in /var/log/libvirt/qemu/*.log; do
            [ -e "$f" ] && { note "$f (last 20 lines):"; tail -n 20 "$f" | indent; }
        done
    fi
    mkdir -p /out
    cp /var/log/libvirt/libvirtd.log /var/log/libvirt/qemu/*.log /tmp/l2-*.console /tmp/*.xml /out/ 2>/dev/null
    stop_daemons
    echo "# libvirt scenario: $CHECKS checks, $FAILS failure(s), $(uptime_s)s guest uptime"
    [ $FAILS -gt 100 ] && exit 100
    exit $FAILS
}

# ------------------------------------------------------------------- setup
T0=$(uptime_s)
hostname vmgpu-guest
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt /run/libvirt "$L2DIR"
# busybox modprobe ignores softdeps: load vfio_iommu_type1 by hand
modprobe vfio-pci; modprobe vfio_iommu_type1
DOMTYPE=${VMGPU_L2_TYPE:-}
if [ -z "$DOMTYPE" ]; then
    DOMTYPE=qemu
    # shellcheck disable=SC2086
    if modprobe kvm_amd ${VMGPU_KVM_AMD_ARGS:-} 2>/dev/null || modprobe kvm_intel 2>/dev/null; then
        [ -c /dev/kvm ] && DOMTYPE=kvm
    fi
fi
# What udev would do: without it /dev/kvm is root:root 0600, QEMU (running
# as libvirt-qemu) cannot open it, and libvirtd re-probes QEMU on every call.
[ -c /dev/kvm ] && chgrp kvm /dev/kvm && chmod 660 /dev/kvm
note "L2 domain type: $DOMTYPE (kvm_amd: $(grep -c '^kvm_amd ' /proc/modules), /dev/kvm: $([ -c /dev/kvm ] && echo yes || echo no))"

# private copies: dynamic_ownership chowns them to libvirt-qemu
cp "$KIT/l2-vmlinuz" "$L2DIR/vmlinuz"
cp "$KIT/l2-initrd.cpio" "$L2DIR/initrd"

# VMGPU_LIBVIRT_DEBUG="1:pci 1:hostdev": libvirt debug log filters
if [ -n "${VMGPU_LIBVIRT_DEBUG:-}" ]; then
    sed -i '/^log_outputs/d' /etc/libvirt/libvirtd.conf
    printf 'log_filters = "%s 3:*"\nlog_outputs = "1:file:/var/log/libvirt/libvirtd.log"\n' \
        "$VMGPU_LIBVIRT_DEBUG" >> /etc/libvirt/libvirtd.conf
fi
STARTED=""
stop_daemons() {
    for d in $STARTED; do
        p=$(cat "/run/$d.pid" 2>/dev/null) || continue
        kill "$p" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    done
    STARTED=""
}
virtlogd -d -p /run/virtlogd.pid && STARTED="virtlogd"
libvirtd -d -p /run/libvirtd.pid && STARTED="$STARTED libvirtd"
for _ in $(seq 150); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.2; done
ver=$(virsh version 2>&1)
case $ver in
    *"Running hypervisor: QEMU"*) ok "libvirtd runs: $(echo "$ver" | sed -n 's/.*Running hypervisor: //p') ($(uptime_s)s)" ;;
    *) nok "libvirtd answers with the QEMU driver"; echo "$ver" | indent; finish ;;
esac
caps=$(virsh capabilities 2>&1)
case $caps in
    *"<iommu support='yes'/>"*) ok "libvirt sees the guest's IOMMU" ;;
    *) nok "libvirt sees the guest's IOMMU"; echo "$caps" | grep -i iommu | indent ;;
esac
case $caps in
    *"<domain type='$DOMTYPE'"*) ok "libvirt offers domain type $DOMTYPE" ;;
    *) nok "libvirt offers domain type $DOMTYPE"; echo "$caps" | grep "domain type" | indent ;;
esac
note "daemons up, probed in $(awk -v a="$T0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')s"

# ------------------------------------------------------------------ domain
domxml() {   # domxml NAME
    cpu="<cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model>"
    [ "$DOMTYPE" = kvm ] && cpu="$cpu<feature policy='disable' name='svm'/>"
    cat <<EOF
<domain type='$DOMTYPE'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$L2DIR/vmlinuz</kernel>
    <initrd>$L2DIR/initrd</initrd>
    <cmdline>console=ttyS0,115200 panic=-1 loglevel=4 rdinit=/init vmgpu.l2hold=3600${VMGPU_L2_KARGS:+ $VMGPU_L2_KARGS}</cmdline>
  </os>
  <features><acpi/><apic/></features>
  $cpu</cpu>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-to-pci-bridge'/>
    <serial type='file'><source path='/tmp/$1.console'/><target port='0'/></serial>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# start_l2 WHAT: start l2 and wait for L2-DONE on its console
L2_TIMEOUT=${VMGPU_L2_TIMEOUT:-180}
CONSOLE=/tmp/l2.console
start_l2() {
    rm -f "$CONSOLE"
    t0=$(uptime_s)
    if ! virsh start l2 > /tmp/start.out 2>&1; then
        nok "$1: virsh start l2"; indent < /tmp/start.out; return 1
    fi
    i=0
    while ! grep -q '^L2-DONE' "$CONSOLE" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt $((L2_TIMEOUT * 2)) ] || [ "$(virsh domstate l2 2>&1)" != running ]; then
            nok "$1: L2 booted and listed its PCI devices (state $(virsh domstate l2 --reason 2>&1))"
            tail -n 40 "$CONSOLE" 2>/dev/null | indent
            cp "$CONSOLE" "/tmp/l2-$1.console" 2>/dev/null
            return 1
        fi
        sleep 0.5
    done
    ok "$1: L2 booted and listed its PCI devices in $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')s"
    tr -d '\r' < "$CONSOLE" | grep -E '^L2-(PCI|EDU)' | indent
    cp "$CONSOLE" "/tmp/l2-$1.console"
}
l2_has_edu() { tr -d '\r' < "$CONSOLE" | grep -q '^L2-PCI .* 1234:11e8 '; }
HAVE_VERIFY=1
"$VMGPU" verify --help 2>&1 | grep -q "unknown command" && HAVE_VERIFY=""
# verify LABEL WANT_RC WANT_SEEN MIN_N [DEVICE...]: vmgpu verify --vm l2
# --json: at least MIN_N devices listed, each with seen=WANT_SEEN, and
# all_seen=WANT_SEEN
verify() {
    label=$1 wrc=$2 wseen=$3 wn=$4; shift 4
    if [ -z "$HAVE_VERIFY" ]; then ok "$label: vmgpu verify --vm l2 $* # SKIP vmgpu has no verify command"; return; fi
    # (the guest agent may still be connecting: libvirt says so; retry)
    i=0
    while :; do
        "$VMGPU" verify --vm l2 --connect "$URI" --json "$@" > /tmp/v.out 2> /tmp/v.err
        RC=$?
        [ "$RC" = 2 ] && [ $i -lt 10 ] && grep -qi 'agent' /tmp/v.err || break
        i=$((i + 1)); sleep 1
    done
    note "\$ vmgpu verify --vm l2 --connect $URI --json $* -> $RC ($(uptime_s)s, $i retries)"
    cat /tmp/v.err >> /tmp/v.out
    rc_is "$label: vmgpu verify --vm l2 $*: exit $wrc" "$wrc"
    cp /tmp/v.out "/tmp/verify-$label.json"
    if awk -f /testbed/json-flat.awk /tmp/v.out > /tmp/v.flat 2>/dev/null; then
        n=$(grep -c '^\.devices\[[0-9]*\]\.seen=' /tmp/v.flat)
        bad=$(grep '^\.devices\[[0-9]*\]\.seen=' /tmp/v.flat | grep -v "=$wseen\$")
        if [ "$n" -ge "$wn" ] && [ -z "$bad" ]; then ok "$label: verify: $n device(s), each seen=$wseen"
        else nok "$label: verify: at least $wn device(s), each seen=$wseen"; indent < /tmp/v.flat; fi
        is "$label: verify: all_seen=$wseen" "$(sed -n 's/^\(\.[a-z_]*\)*\.all_seen=//p' /tmp/v.flat | head -n 1)" "$wseen"
    else
        nok "$label: verify --json prints JSON"; indent < /tmp/v.out
    fi
}
# l2_gpu_slot: "SLOT UPID" when L2 has 1234:1111 and 8086:293e as functions
# 0 and 1 of one slot (L2-DEV lines: address, ids, class, up=, upid=)
l2_gpu_slot() {
    tr -d '\r' < "$CONSOLE" | awk '$1 == "L2-DEV" && $3 == "1234:1111" && $2 ~ /\.0$/ { v = substr($2, 1, length($2) - 2); vu = $6 }
        $1 == "L2-DEV" && $3 == "8086:293e" && $2 ~ /\.1$/ { h = substr($2, 1, length($2) - 2) }
        END { if (v != "" && v == h) print v, vu }'
}
l2_has_gpu() { tr -d '\r' < "$CONSOLE" | grep -qE '^L2-PCI .* (1234:1111|8086:293e) '; }
l2_edu_ok() { tr -d '\r' < "$CONSOLE" | grep -q '^L2-EDU .* ok$'; }
# check_l2_qga LABEL: L2's init started its guest agent on the channel
check_l2_qga() {
    if tr -d '\r' < "$CONSOLE" | grep -q '^L2-QGA up'; then ok "$1: L2 started its guest agent"
    else nok "$1: L2 started its guest agent ($(tr -d '\r' < "$CONSOLE" | grep '^L2-QGA'))"; fi
}
# hsnap: every PCI function's driver and override, /dev/vfio, vmgpu status
# (without timestamps), and vmgpu's journal, one line
hsnap() {
    for d in "$SYS"/*; do printf '%s=%s/%s ' "${d##*/}" "$(drv "${d##*/}")" "$(cat "$d/driver_override")"; done
    printf 'vfio: %s ' "$(ls /dev/vfio | tr '\n' ' ')"
    printf 'status: %s ' "$("$VMGPU" status --json 2>&1 | awk -f /testbed/json-flat.awk 2>&1 | grep -v '\.since=' | tr '\n' ' ')"
    printf 'journal: %s\n' "$(ls /var/lib/vmgpu/journal 2>/dev/null)"
}
destroy_l2() {
    virsh destroy l2 > /tmp/destroy.out 2>&1
    is "$1: virsh destroy l2" "$(virsh domstate l2 2>&1)" "shut off"
}
# hostdevs: the <hostdev> source addresses of l2's definition (or live XML)
hostdevs() {
    virsh dumpxml ${1:+"$1"} l2 2>/dev/null | tr -d '\n' | sed 's/<hostdev /\n<hostdev /g' |
        sed -n "s/^<hostdev .*managed='\([a-z]*\)'.*<source>[^/]*<address domain='\(0x[0-9a-f]*\)' bus='\(0x[0-9a-f]*\)' slot='\(0x[0-9a-f]*\)' function='\(0x[0-9a-f]*\)'.*/\2:\3:\4.\5 managed=\1/p"
}
aliases() { virsh dumpxml ${1:+"$1"} l2 2>/dev/null | grep -o "ua-vmgpu-[^'\"]*" | sort -u | tr '\n' ' '; }

domxml l2 > /tmp/l2.xml
if virsh define /tmp/l2.xml > /tmp/define.out 2>&1; then ok "virsh define l2 ($DOMTYPE, q35)"
else nok "virsh define l2"; indent < /tmp/define.out; finish; fi
EDU_HOSTDEV="0x0000:0x05:0x00.0x0"

for phase in $PHASES; do
note "===== phase $phase ($(uptime_s)s)"
case $phase in
plain)   # (not in the default list: a bare boot, for timing and debugging)
    start_l2 plain
    destroy_l2 plain
    ;;
managed)
    v attach "$EDU" --vm l2 --connect "$URI" --managed
    rc_is "managed: vmgpu attach $EDU --vm l2 --managed" 0
    is "managed: the definition has a managed <hostdev>" "$(hostdevs --inactive)" "$EDU_HOSTDEV managed=yes"
    is "managed: attach left $EDU alone" "$(drv $EDU)" none
    if start_l2 managed; then
        is "managed: libvirt put $EDU on vfio-pci" "$(drv $EDU)" vfio-pci
        if l2_has_edu; then ok "managed: L2 lists 1234:11e8"; else nok "managed: L2 lists 1234:11e8"; fi
        if l2_edu_ok; then ok "managed: L2 reads edu's registers"; else nok "managed: L2 reads edu's registers"; fi
    fi
    destroy_l2 managed
    is "managed: libvirt gave $EDU back (driverless)" "$(drv $EDU)" none
    v detach "$EDU" --vm l2 --connect "$URI"
    rc_is "managed: vmgpu detach $EDU --vm l2" 0
    is "managed: no <hostdev> left" "$(hostdevs --inactive)" ""
    ;;
assign)
    v assign "$EDU"
    rc_is "assign: vmgpu assign $EDU" 0
    is "assign: $EDU is on vfio-pci" "$(drv $EDU)" vfio-pci
    v attach "$EDU" --vm l2 --connect "$URI"
    rc_is "assign: vmgpu attach $EDU --vm l2" 0
    virsh dumpxml --inactive l2 > /tmp/l2-attached.xml 2>&1
    is "assign: the definition has the <hostdev>" "$(hostdevs --inactive)" "$EDU_HOSTDEV managed=no"
    is "assign: with vmgpu's aliases" "$(aliases --inactive)" "ua-vmgpu-0000-05-00-0 ua-vmgpu-rp-0000-05-00 "
    if start_l2 assign; then
        if l2_has_edu; then ok "assign: L2 lists 1234:11e8 (edu through vfio-pci)"; else nok "assign: L2 lists 1234:11e8"; fi
        if l2_edu_ok; then ok "assign: L2 reads edu's registers"; else nok "assign: L2 reads edu's registers"; fi
        # QEMU holds the group: giving the device back to the host now
        # would pull it from under the VM
        v release "$EDU"
        if [ "$RC" != 0 ] && [ "$(drv $EDU)" = vfio-pci ]; then
            ok "assign: vmgpu release refuses while l2 runs (exit $RC)"; indent < /tmp/v.out
        else
            nok "assign: vmgpu release refuses while l2 runs (exit $RC, driver $(drv $EDU))"; indent < /tmp/v.out
        fi
    fi
    destroy_l2 assign
    is "assign: libvirt left $EDU on vfio-pci (unmanaged)" "$(drv $EDU)" vfio-pci
    v detach "$EDU" --vm l2 --connect "$URI"
    rc_is "assign: vmgpu detach $EDU --vm l2" 0
    is "assign: no <hostdev> left" "$(hostdevs --inactive)" ""
    is "assign: no ua-vmgpu-* left" "$(aliases --inactive)" ""
    v release "$EDU"
    rc_is "assign: vmgpu release $EDU" 0
    is "assign: $EDU is driverless again" "$(drv $EDU)" none
    ;;
gpu)
    # The "GPU + HDMI audio" group: stdvga 01:00.0 (bochs-drm) with its
    # companion ich9-hda 01:00.1 (snd_hda_intel).  One <hostdev> per
    # function, both on vmgpu's root port as one multifunction slot.
    GPU_S0=$(hsnap)
    v assign "$VGA"
    rc_is "gpu: vmgpu assign $VGA" 0
    is "gpu: both functions on vfio-pci" "$(drv $VGA) $(drv $HDA)" "vfio-pci vfio-pci"
    v attach "$VGA" --vm l2 --connect "$URI"
    rc_is "gpu: vmgpu attach $VGA --vm l2" 0
    virsh dumpxml --inactive l2 > /tmp/l2-gpu-attached.xml 2>&1
    is "gpu: the definition has both functions" "$(hostdevs --inactive | tr '\n' ' ' | sed 's/ $//')" \
        "0x0000:0x01:0x00.0x0 managed=no 0x0000:0x01:0x00.0x1 managed=no"
    if start_l2 gpu; then
        slot=$(l2_gpu_slot)
        if [ -n "$slot" ]; then
            ok "gpu: L2 has 1234:1111 and 8086:293e as functions 0 and 1 of one slot (${slot% *})"
        else
            nok "gpu: L2 has 1234:1111 and 8086:293e as functions 0 and 1 of one slot"
            tr -d '\r' < "$CONSOLE" | grep '^L2-DEV' | indent
        fi
        is "gpu: that slot is behind a pcie-root-port (1b36:000c)" "${slot#* }" "upid=1b36:000c"
        check_l2_qga gpu
        verify gpu 0 true 2
    fi
    destroy_l2 gpu
    v detach "$VGA" --vm l2 --connect "$URI"
    rc_is "gpu: vmgpu detach $VGA --vm l2" 0
    is "gpu: no <hostdev> left" "$(hostdevs --inactive)" ""
    is "gpu: no ua-vmgpu-* left" "$(aliases --inactive)" ""
    # the domain started again, without them
    if start_l2 gpu-detached; then
        if l2_has_gpu; then nok "gpu: after detach, L2 no longer lists 1234:1111 or 8086:293e"
        else ok "gpu: after detach, L2 no longer lists 1234:1111 or 8086:293e"; fi
        check_l2_qga gpu-detached
        verify gpu-detached 1 false 1 "$VGA"
    fi
    destroy_l2 gpu-detached
    v release "$VGA"
    rc_is "gpu: vmgpu release $VGA" 0
    is "gpu: the host drivers are back" "$(drv $VGA) $(drv $HDA)" "bochs-drm snd_hda_intel"
    is "gpu: the host is exactly as before the phase" "$(hsnap)" "$GPU_S0"
    ;;
live)
    # The domain boots without the device (the control: L2 has no edu),
    # then gets it while it runs.  Root ports cannot be hot-added, so a live
    # device goes to a free hot-pluggable slot that the domain already has
    # (vmgpu's own root port is for the next boot).  edu is conventional
    # PCI (no PCIe capability), so libvirt wants a PCI slot, not a root
    # port: the domain has a spare pcie-to-pci-bridge (a GPU, being PCIe,
    # would take a spare pcie-root-port instead).
    if start_l2 live; then
        if l2_has_edu; then nok "live: L2 booted without edu"; else ok "live: L2 booted without edu"; fi
        v assign "$EDU"
        rc_is "live: vmgpu assign $EDU" 0
        v attach "$EDU" --vm l2 --connect "$URI"
        rc_is "live: vmgpu attach $EDU --vm l2 (running)" 0
        is "live: the running domain has the <hostdev>" "$(hostdevs)" "$EDU_HOSTDEV managed=no"
        is "live: and its definition" "$(hostdevs --inactive)" "$EDU_HOSTDEV managed=no"
        # again: the running domain has it plugged in already, and that is
        # no error (nor a second device)
        v attach "$EDU" --vm l2 --connect "$URI"
        rc_is "live: vmgpu attach $EDU again (running, plugged in already)" 0
        is "live: still one <hostdev> in the running domain" "$(hostdevs)" "$EDU_HOSTDEV managed=no"
        is "live: and in its definition" "$(hostdevs --inactive)" "$EDU_HOSTDEV managed=no"
        virsh qemu-monitor-command --hmp l2 'info pci' > /tmp/infopci.out 2>&1
        if grep -q 'PCI device 1234:11e8' /tmp/infopci.out; then
            ok "live: QEMU has 1234:11e8 (info pci)"
        else
            nok "live: QEMU has 1234:11e8 (info pci)"; indent < /tmp/infopci.out
        fi
        v release "$EDU"
        if [ "$RC" != 0 ] && [ "$(drv $EDU)" = vfio-pci ]; then
            ok "live: vmgpu release refuses after the hot-plug (exit $RC)"
        else
            nok "live: vmgpu release refuses after the hot-plug (exit $RC, driver $(drv $EDU))"; indent < /tmp/v.out
        fi
        # unplug: L2's pciehp acknowledges it (its attention-button delay
        # is 5 s; libvirt waits 5 s, then leaves the removal pending)
        v detach "$EDU" --vm l2 --connect "$URI"
        rc_is "live: vmgpu detach $EDU --vm l2 (running)" 0
        is "live: no <hostdev> in the definition" "$(hostdevs --inactive)" ""
        i=0
        while [ -n "$(hostdevs)" ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
        is "live: L2 let the device go (after $((i / 2))s)" "$(hostdevs)" ""
        # again: nothing is plugged in or defined, and that is no error
        v detach "$EDU" --vm l2 --connect "$URI"
        rc_is "live: vmgpu detach $EDU again (running, nothing left to unplug)" 0
        v release "$EDU"
        rc_is "live: vmgpu release $EDU while l2 still runs" 0
        is "live: $EDU is driverless again" "$(drv $EDU)" none
    fi
    destroy_l2 live
    ;;
*)
    nok "unknown phase $phase" ;;
esac
done

virsh undefine l2 > /dev/null 2>&1
finish
