#!/bin/bash
# run-guest.sh - boot the vmgpu test guest, run one script in it, and exit
# with that script's status.  Build the guest first: tests/guest/make-guest.sh
#
# usage: tests/guest/run-guest.sh [options] SCRIPT [FILE...]
#
#   SCRIPT   runs in the guest as /testbed/run.sh (cwd /testbed, root, busybox
#            sh; /testbed is on PATH).  VMGPU_OUT=/out names the directory
#            whose content -o brings back.
#   FILE...  host files or directories copied into /testbed/
#
# options:
#   -t SECONDS   wall-clock limit (default 300)                    -> exit 124
#   -b BINARY    copy a host binary to /testbed/<name> together with every
#                library ldd lists (same absolute paths in the guest; libraries
#                outside the system directories are put on LD_LIBRARY_PATH).
#                Repeatable.
#   -f SRC[=DST] copy a host file or directory to DST in the guest (absolute;
#                default /testbed/<name>).  Repeatable.
#   -r DIR       copy the content of DIR onto the guest's / (a tree laid out
#                like /, e.g. the nested kit of make-guest.sh --with-nested:
#                -r build/guest/nested/root).  Repeatable.
#   -e VAR=VALUE environment for SCRIPT.  Repeatable.
#   -q "ARGS"    extra QEMU arguments (word-split; repeatable), e.g.
#                -q "-device pcie-pci-bridge,id=br1,bus=pcie.0,addr=0x9
#                    -device edu,bus=br1,addr=1"
#   -o OUTDIR    after SCRIPT, copy the guest's /out to OUTDIR on the host
#                (a tar over the third serial port; created, must be empty
#                or absent)
#   -k "ARGS"    extra kernel command-line arguments
#   -l FILE      also write the guest console to FILE
#   -m MB        guest memory (default 1024)      -s N   vCPUs (default 2)
#   -a ACCEL     tcg, kvm or auto (default $VMGPU_GUEST_ACCEL or auto: kvm
#                only when /dev/kvm is writable AND /proc/cpuinfo has vmx/svm)
#   -z           boot the compressed bzImage instead of the PVH vmlinux
#   -i           interactive: a guest shell on the console after SCRIPT
#
# Topology (bus numbers as SeaBIOS assigns them; see tests/guest/README.md):
#   00:02.0 root port -> 01:00.0 VGA (stdvga, 1234:1111, multifunction)
#                        01:00.1 ich9-intel-hda (8086:293e)  GPU + HDMI audio
#   00:03.0 root port -> 02:00.0 bochs-display (1234:1111 class 0380)
#   00:04.0 root port -> 03:00.0 virtio-gpu-pci (1af4:1050)
#   00:05.0 root port -> 04:00.0 nvme (1b36:0010), SR-IOV PF, 4 VFs max
#   00:06.0 root port -> 05:00.0 edu (1234:11e8, no driver)
#   plus q35's 00:00.0 host bridge and 00:1f.{0,2,3} (LPC, SATA, SMBus), and
#   an intel-iommu with interrupt remapping.
#
# Exit status: SCRIPT's status; 124 timeout; 125 the guest died without
# reporting a status (panic, QEMU error), the build is missing, or -o was
# given and nothing came back.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GDIR=${VMGPU_GUEST_DIR:-$REPO/build/guest}
usage() { sed -n '2,47p' "$0" >&2; exit 125; }
die() { echo "run-guest: $*" >&2; exit 125; }

[ -r "$GDIR/guest.env" ] || die "$GDIR/guest.env missing: run tests/guest/make-guest.sh"
# shellcheck source=/dev/null
. "$GDIR/guest.env"

TIMEOUT=300 MEM=1024 SMP=2 ACCEL=${VMGPU_GUEST_ACCEL:-auto}
OUTDIR="" KARGS="" LOG="" BZIMAGE="" INTERACTIVE=""
BINS=() FILES=() ENVS=() QARGS=() ROOTS=()
while getopts "t:b:f:r:e:q:o:k:l:m:s:a:zih" opt; do
    case $opt in
        t) TIMEOUT=$OPTARG ;;  b) BINS+=("$OPTARG") ;;  f) FILES+=("$OPTARG") ;;
        e) ENVS+=("$OPTARG") ;; q) QARGS+=("$OPTARG") ;; o) OUTDIR=$OPTARG ;;
        r) ROOTS+=("$OPTARG") ;;
        k) KARGS="$KARGS $OPTARG" ;; l) LOG=$OPTARG ;; m) MEM=$OPTARG ;;
        s) SMP=$OPTARG ;; a) ACCEL=$OPTARG ;; z) BZIMAGE=1 ;; i) INTERACTIVE=1 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
SCRIPT=$1; shift
[ -r "$SCRIPT" ] || die "cannot read $SCRIPT"
command -v qemu-system-x86_64 > /dev/null || die "qemu-system-x86_64 not found (make-guest.sh installs it)"

if [ "$ACCEL" = auto ]; then
    # A /dev/kvm without vmx/svm (e.g. PVM inside a microVM) runs a stock
    # kernel far slower than TCG or not at all: demand hardware virt.
    if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-guest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
T0=$(date +%s.%N)

# ---- per-run overlay, appended to the base initramfs (the kernel unpacks
# concatenated cpio archives in order, later files win)
OVL=$WORK/ovl
mkdir -p "$OVL/testbed"
cp "$SCRIPT" "$OVL/testbed/run.sh" && chmod 755 "$OVL/testbed/run.sh"
for f in "$@"; do cp -a "$f" "$OVL/testbed/" || die "cannot copy $f"; done
for r in ${ROOTS[@]+"${ROOTS[@]}"}; do
    [ -d "$r" ] || die "-r $r: not a directory"
    cp -a "$r/." "$OVL/" || die "cannot copy $r"
done
for spec in ${FILES[@]+"${FILES[@]}"}; do
    src=${spec%%=*} dst=/testbed/$(basename "${spec%%=*}")
    [ "$spec" != "$src" ] && dst=${spec#*=}
    case $dst in /*) ;; *) die "-f $spec: destination must be absolute" ;; esac
    mkdir -p "$OVL$(dirname "$dst")"
    cp -a "$src" "$OVL$dst" || die "cannot copy $src"
done
LIBDIRS=""
for b in ${BINS[@]+"${BINS[@]}"}; do
    [ -x "$b" ] || die "-b $b: not an executable"
    cp -L "$b" "$OVL/testbed/" || die "cannot copy $b"
    # "name => /path (addr)" lines, and the loader's own "/path (addr)" line
    for lib in $(ldd "$b" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        mkdir -p "$OVL$(dirname "$lib")"
        cp -L "$lib" "$OVL$lib" || die "cannot copy $lib (needed by $b)"
        case $(dirname "$lib") in
            /lib|/lib64|/usr/lib|/lib/x86_64-linux-gnu|/usr/lib/x86_64-linux-gnu) ;;
            *) case ":$LIBDIRS:" in *":$(dirname "$lib"):"*) ;;
                   *) LIBDIRS=${LIBDIRS:+$LIBDIRS:}$(dirname "$lib") ;; esac ;;
        esac
    done
done
{
    [ -n "$LIBDIRS" ] && printf "LD_LIBRARY_PATH='%s'\n" "$LIBDIRS"
    for e in ${ENVS[@]+"${ENVS[@]}"}; do
        case $e in [A-Za-z_]*=*) ;; *) die "-e $e: expected VAR=VALUE" ;; esac
        v=${e#*=}
        printf "%s='%s'\n" "${e%%=*}" "${v//\'/\'\\\'\'}"
    done
} > "$OVL/testbed/guest.env"
(cd "$OVL" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$WORK/overlay.cpio"
cat "$INITRAMFS" "$WORK/overlay.cpio" > "$WORK/initrd"

KERNEL=$VMLINUX
{ [ -n "$BZIMAGE" ] || [ ! -s "$VMLINUX" ]; } && KERNEL=$VMLINUZ

if [ "$ACCEL" = kvm ]; then
    # interrupt remapping with KVM needs the IOAPIC in QEMU (split irqchip)
    MACHINE=q35,accel=kvm,kernel-irqchip=split; CPU=${CPU:-host}
else
    # "max": everything TCG emulates, including SVM (the guest gets kvm-amd)
    MACHINE=q35,accel=tcg; CPU=${CPU:-max}
fi

APPEND="console=ttyS0,115200 intel_iommu=on panic=-1 loglevel=4 rdinit=/init"
[ -n "$OUTDIR" ] && APPEND="$APPEND vmgpu.out"
[ -n "$INTERACTIVE" ] && APPEND="$APPEND vmgpu.shell"
APPEND="$APPEND$KARGS"

# shellcheck disable=SC2054
DEVICES=(
    -device intel-iommu,intremap=on,caching-mode=on
    -audiodev none,id=snd0
    # GPU + HDMI audio: one multifunction slot, no ACS between the functions
    -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2.0,chassis=1,slot=1
    -device VGA,id=vga0,bus=rp1,addr=0x0.0,multifunction=on
    -device ich9-intel-hda,id=hda0,bus=rp1,addr=0x0.1
    -device hda-output,bus=hda0.0,audiodev=snd0
    # a second display device, alone in its group
    -device pcie-root-port,id=rp2,bus=pcie.0,addr=0x3.0,chassis=2,slot=2
    -device bochs-display,id=disp1,bus=rp2
    # virtio-gpu (bound to virtio-pci; virtio_gpu sits on the virtio bus)
    -device pcie-root-port,id=rp3,bus=pcie.0,addr=0x4.0,chassis=3,slot=3
    -device virtio-gpu-pci,id=vgpu0,bus=rp3
    # nvme SR-IOV PF (QEMU 7.2's only SR-IOV device; needs a subsystem)
    -device nvme-subsys,id=nvsub0,nqn=vmgpu-guest
    -device pcie-root-port,id=rp4,bus=pcie.0,addr=0x5.0,chassis=4,slot=4
    -device nvme,id=nvme0,bus=rp4,serial=vmgpu0001,subsys=nvsub0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=6
    # edu: a device no driver claims
    -device pcie-root-port,id=rp5,bus=pcie.0,addr=0x6.0,chassis=5,slot=5
    -device edu,id=edu0,bus=rp5
)
EXTRA=()
for q in ${QARGS[@]+"${QARGS[@]}"}; do
    # shellcheck disable=SC2206
    EXTRA+=($q)
done

: > "$WORK/status"; : > "$WORK/out"
STDIN=/dev/null
[ -n "$INTERACTIVE" ] && STDIN=/dev/stdin
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
    -machine "$MACHINE" -cpu "$CPU" -smp "$SMP" -m "$MEM" \
    -nodefaults -no-user-config -display none -no-reboot \
    "${DEVICES[@]}" \
    -kernel "$KERNEL" -initrd "$WORK/initrd" -append "$APPEND" \
    -chardev "stdio,id=con0,signal=on${LOG:+,logfile=$LOG}" -serial chardev:con0 \
    -serial "file:$WORK/status" \
    -serial "file:$WORK/out" \
    ${EXTRA[@]+"${EXTRA[@]}"} < "$STDIN"
qrc=$?
WALL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')

if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
    echo "run-guest: TIMEOUT after ${TIMEOUT}s" >&2; exit 124
fi
rc=$(tr -d '\r' < "$WORK/status" | sed -n 's/^VMGPU_GUEST_EXIT=\([0-9]*\)$/\1/p' | tail -n1)
if [ -z "$rc" ]; then
    echo "run-guest: the guest reported no exit status (qemu exit status $qrc, ${WALL}s)" >&2
    exit 125
fi

if [ -n "$OUTDIR" ]; then
    mkdir -p "$OUTDIR"
    if tr -d '\r' < "$WORK/out" | sed -n '/^VMGPU_OUT_BEGIN$/,/^VMGPU_OUT_END$/p' |
            sed '1d;$d' | base64 -d | tar -xzf - -C "$OUTDIR" --no-same-owner 2>"$WORK/tar.err" &&
            grep -q '^VMGPU_OUT_END' "$WORK/out"; then
        echo "run-guest: guest /out copied to $OUTDIR ($(du -sk "$OUTDIR" | cut -f1) KiB)" >&2
    else
        cat "$WORK/tar.err" >&2
        echo "run-guest: -o $OUTDIR: the guest's /out did not come back intact" >&2
        [ "$rc" -eq 0 ] && rc=125
    fi
fi
echo "run-guest: guest script exit status $rc (accel $ACCEL, ${WALL}s)" >&2
exit "$rc"
