#!/bin/sh
# assign-nested.sh - guest scenario (meson test guest-nested): a VM gets what
# vmgpu assigned.  The test guest (L1) assigns the GPU group (stdvga +
# ich9-intel-hda, group 7) and the edu device (group 11) with vmgpu, then
# starts a nested L2 VM with QEMU -accel kvm (TCG's -cpu max gives L1 an
# AMD SVM, so kvm_amd loads) and -device vfio-pci for the three functions.
#   test-guest.sh nested VMGPU
# Needs the nested kit (make-guest.sh --with-nested; test-guest.sh carries
# it in with run-guest.sh -r): /usr/bin/qemu-system-x86_64 with its
# libraries, and /usr/share/vmgpu-nested/{fw/,l2-vmlinuz,l2-initrd.cpio}
# (L2's /init is tests/guest/l2-init).
# Exit status = number of failures.  Without /dev/kvm in L1 (e.g. L1 on a
# KVM host without nested SVM/VMX) it writes $VMGPU_OUT/skip and exits 0;
# test-guest.sh turns that into a skip.
#
# Checks: vmgpu assign puts the functions on vfio-pci; L2 lists 1234:11e8
# (edu), 1234:1111 class 0x030000 (the GPU) and 8086:293e (its audio); L2
# reads edu's identification register and inverts through its liveness
# register over the passed-through BAR0; while L2 runs, vmgpu release refuses
# (exit 3, in_use_by_vm naming QEMU's PID) and changes nothing; after L2 is
# gone, release restores the host exactly.
NAME=assign-nested
. /testbed/assign-common.sh
KIT=/usr/share/vmgpu-nested
L2LOG=/tmp/l2.log

skip() {
    echo "# SKIP: $*"
    [ -n "${VMGPU_OUT:-}" ] && echo "$*" > "$VMGPU_OUT/skip"
    exit 0
}
[ -x /usr/bin/qemu-system-x86_64 ] && [ -r $KIT/l2-initrd.cpio ] || { nok "no nested kit in the guest (run-guest.sh -r build/guest/nested/root)"; finish; }
modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null
[ -c /dev/kvm ] || skip "no /dev/kvm in the guest: the CPU offers neither SVM nor VMX to L1"
note "L1 CPU: $(grep -m1 -owE 'svm|vmx' /proc/cpuinfo), $(grep -o '^kvm_[a-z]*' /proc/modules | tr '\n' ' ')"

snapshot > /tmp/S0
v assign $VGA $EDU
rc_is "vmgpu assign $VGA $EDU exits 0" 0
assert_assigned "assigned for L2" $VGA $HDA $EDU
snapshot > /tmp/SA

# ---- L2
: > $L2LOG
t0=$(uptime_s)
qemu-system-x86_64 -L $KIT/fw -machine q35,accel=kvm -cpu qemu64 -smp 1 -m 128 \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel $KIT/l2-vmlinuz -initrd $KIT/l2-initrd.cpio \
    -append "console=ttyS0 panic=-1 loglevel=3 rdinit=/init vmgpu.l2hold=5" \
    -serial file:$L2LOG \
    -device vfio-pci,host=$EDU \
    -device vfio-pci,host=$VGA,rombar=0 \
    -device vfio-pci,host=$HDA \
    < /dev/null > /tmp/qemu.log 2>&1 7>&- &
QP=$!
if wait_until 240 grep -q '^L2-DONE' $L2LOG; then
    ok "L2 booted and reported its PCI devices ($(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')s after QEMU started)"
else
    nok "L2 did not report L2-DONE within 240 s"
fi
tr -d '\r' < $L2LOG | grep '^L2-' | indent
l2() { tr -d '\r' < $L2LOG | grep -q "$1"; }
check "L2 sees the edu device 1234:11e8" l2 '^L2-PCI [^ ]* 1234:11e8 '
check "L2 sees the GPU 1234:1111 (class 0x030000)" l2 '^L2-PCI [^ ]* 1234:1111 0x030000$'
check "L2 sees the GPU's audio function 8086:293e" l2 '^L2-PCI [^ ]* 8086:293e '
check "L2 drives edu through the passed-through BAR0 (ident 0x010000ED, liveness inverts)" l2 '^L2-EDU .* ok$'

# ---- while the VM holds the groups
if kill -0 $QP 2>/dev/null; then
    v release --json $EDU
    rc_is "vmgpu release $EDU while L2 runs: exit 3" 3
    jflat
    is "refused: in_use_by_vm" "$(jget .result) $(refusal_codes)" "refused in_use_by_vm"
    check "the refusal names QEMU's PID $QP" grep -q "open by PID $QP " /tmp/v.flat
    v release $VGA
    rc_is "vmgpu release $VGA while L2 runs: exit 3" 3
    same_as "the refused releases changed nothing" /tmp/SA
else
    nok "QEMU exited before the in-use checks (see its log below)"
fi
wait_until 60 sh -c "! kill -0 $QP 2>/dev/null" || { nok "L2 did not power off"; kill $QP; }
wait $QP
qrc=$?
is "QEMU (L2) exits 0" "$qrc" 0
[ -s /tmp/qemu.log ] && indent < /tmp/qemu.log
[ -n "${VMGPU_OUT:-}" ] && cp $L2LOG /tmp/qemu.log "$VMGPU_OUT/" 2>/dev/null

# ---- afterwards
v release $VGA $EDU
rc_is "vmgpu release $VGA $EDU exits 0" 0
assert_released "after L2" $VGA=bochs-drm $HDA=snd_hda_intel $EDU=none
same_as "after L2 and release the host is exactly as at the start" /tmp/S0

finish
