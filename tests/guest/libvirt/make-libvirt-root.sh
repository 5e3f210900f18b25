#!/bin/bash
# make-libvirt-root.sh - build the libvirt layer of the test guest: a tree
# laid out like / that, copied onto the guest's root (run-guest.sh -r) on top
# of the nested kit of make-guest.sh --with-nested (QEMU, its libraries and
# firmware, the L2 kernel and initramfs), gives the guest a working libvirt
# daemon with the QEMU driver.
#
# usage: tests/guest/libvirt/make-libvirt-root.sh [--force]
#
# Run tests/guest/make-guest.sh --with-nested first (test-libvirt-guest.sh
# does).  The result is $VMGPU_GUEST_DIR/libvirt-root (default
# <repo>/build/guest/libvirt-root):
#   usr/sbin/libvirtd, usr/sbin/virtlogd, usr/bin/virsh
#   usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
#                      (the only driver module: no network, storage, nodedev)
#   every library ldd lists for those that the nested kit does not already
#                      carry, at the paths ldd printed on this host
#   usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so   QEMU's TCG module
#   usr/share/libvirt/cpu_map   CPU models (libvirt reads them for <cpu>)
#   usr/share/qemu, usr/share/seabios   the firmware a -kernel boot reads,
#                      where QEMU looks for it by default (the nested kit keeps
#                      its copies in a private directory and passes -L)
#   etc/passwd, etc/group, etc/nsswitch.conf   root, and the libvirt-qemu
#                      user and kvm group that libvirt-daemon-system's postinst
#                      would create (the QEMU driver refuses to start without
#                      libvirt-qemu)
#   etc/libvirt/libvirtd.conf, qemu.conf, virtlogd.conf
#
# Host packages (apt-get install --no-install-recommends when missing; needs
# root): libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients.  They are
# only read from, nothing on the host is configured or started.
#
# Exit status: 0 built or up to date; 77 cannot be built here (not Debian
# amd64, packages missing and not root / no network, no nested kit); other
# values are errors.  Idempotent: a re-run with nothing to do takes ~0.1 s.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
GDIR=${VMGPU_GUEST_DIR:-$REPO/build/guest}
LROOT=$GDIR/libvirt-root
MA=x86_64-linux-gnu

say()  { echo "make-libvirt-root: $*" >&2; }
skip() { say "SKIP: $*"; exit 77; }
die()  { say "ERROR: $*"; exit 1; }

FORCE=""
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
        *) sed -n '2,35p' "$0" >&2; exit 2 ;;
    esac
done

T0=$(date +%s.%N)
[ "$(uname -m)" = x86_64 ] || skip "the guest is x86_64 and takes the host's binaries"
command -v apt-get > /dev/null || skip "needs a Debian host (apt-get)"
[ -r "$GDIR/guest.env" ] || skip "$GDIR/guest.env missing: run tests/guest/make-guest.sh --with-nested"
# shellcheck source=/dev/null
. "$GDIR/guest.env"
if [ -z "${NESTED_ROOT:-}" ] || [ ! -x "$NESTED_ROOT/usr/bin/qemu-system-x86_64" ]; then
    skip "no nested kit (QEMU for the guest): run tests/guest/make-guest.sh --with-nested"
fi
# make-guest.sh's lock: no rebuild of the kit while this reads it
exec 9> "$GDIR/.lock"
flock 9

# ------------------------------------------------------------ host packages
# package:file pairs (dpkg-query is not needed: the file decides)
DRV=/usr/lib/$MA/libvirt/connection-driver/libvirt_driver_qemu.so
PKGS="libvirt-daemon:/usr/sbin/libvirtd libvirt-daemon:/usr/sbin/virtlogd
      libvirt-daemon-driver-qemu:$DRV libvirt-clients:/usr/bin/virsh"
missing=""
for pf in $PKGS; do
    [ -e "${pf#*:}" ] || case " $missing " in *" ${pf%%:*} "*) ;; *) missing="$missing ${pf%%:*}" ;; esac
done
if [ -n "$missing" ]; then
    [ -z "${SKIP_APT:-}" ] || skip "missing host packages:$missing (SKIP_APT is set)"
    [ "$(id -u)" = 0 ] || skip "missing host packages:$missing (install them, or run as root)"
    say "apt-get install$missing"
    # shellcheck disable=SC2086
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
      { apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2; }; } ||
        skip "apt-get install$missing failed"
fi
for pf in $PKGS; do [ -e "${pf#*:}" ] || die "${pf#*:} missing after installing ${pf%%:*}"; done

# ------------------------------------------------------------- up to date?
BINS="/usr/sbin/libvirtd /usr/sbin/virtlogd /usr/bin/virsh"
# Debian builds TCG as a QEMU module, which the nested kit (KVM only) lacks;
# libvirt probes TCG too, and the TCG fallback domain needs it.
QMOD=/usr/lib/$MA/qemu/accel-tcg-x86_64.so
[ -r "$QMOD" ] || die "$QMOD missing (qemu-system-x86)"
FW="bios-256k.bin linuxboot_dma.bin kvmvapic.bin pvh.bin"
fw_path() {   # the host's copy of QEMU firmware NAME (Debian: seabios/qemu dirs)
    local d
    for d in /usr/share/qemu /usr/share/seabios; do
        [ -r "$d/$1" ] && { readlink -f "$d/$1"; return 0; }
    done
    return 1
}
fwfiles=""
for f in $FW; do
    p=$(fw_path "$f") || die "QEMU firmware $f not found (qemu-system-data, seabios)"
    fwfiles="$fwfiles $p"
done
# shellcheck disable=SC2086
inputs=$( { sha256sum $BINS "$DRV" "$QMOD" $fwfiles "$NESTED_ROOT/usr/bin/qemu-system-x86_64";
            cat "$0"; } | sha256sum | cut -c1-16)
if [ -z "$FORCE" ] && [ -x "$LROOT/usr/sbin/libvirtd" ] &&
   [ "$(cat "$GDIR/libvirt-root.inputs" 2>/dev/null)" = "$inputs" ]; then
    say "up to date: $LROOT ($(du -sh "$LROOT" | cut -f1))"
    exit 0
fi

# ------------------------------------------------------------------ build
say "building $LROOT (libvirt $(/usr/sbin/libvirtd --version | awk '{ print $NF }'))"
rm -rf "$LROOT" "$GDIR/libvirt-root.inputs"
mkdir -p "$LROOT"
put() {   # put SRC [DST]: copy a host file (dereferenced) to DST (default SRC)
    local dst=${2:-$1}
    mkdir -p "$LROOT$(dirname "$dst")"
    cp -L "$1" "$LROOT$dst"
}
for b in $BINS "$DRV" "$QMOD"; do put "$b"; done
# ldd prints the whole closure, the driver module's own dependencies included.
# Libraries the nested kit already has (same path, same bytes) stay out:
# run-guest.sh copies both layers into one overlay.
nlibs=0
for lib in $(for b in $BINS "$DRV"; do ldd "$b"; done |
             awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u); do
    if cmp -s "$lib" "$NESTED_ROOT$lib"; then continue; fi
    put "$lib"; nlibs=$((nlibs + 1))
done
if for b in $BINS "$DRV"; do ldd "$b"; done | grep -q 'not found'; then
    die "unresolved libraries: $(for b in $BINS "$DRV"; do ldd "$b"; done | grep 'not found' | sort -u | tr '\n' ' ')"
fi
mkdir -p "$LROOT/usr/share/libvirt"
cp -a /usr/share/libvirt/cpu_map "$LROOT/usr/share/libvirt/"
for f in $fwfiles; do put "$f"; done
for f in $FW; do   # the names QEMU asks for, as on the host
    for d in /usr/share/qemu /usr/share/seabios; do
        if [ -e "$d/$f" ] && [ ! -e "$LROOT$d/$f" ]; then
            mkdir -p "$LROOT$d"
            ln -s "$(readlink -f "$d/$f")" "$LROOT$d/$f"
        fi
    done
done

mkdir -p "$LROOT/etc/libvirt" "$LROOT/var"
ln -s ../run "$LROOT/var/run"     # libvirtd uses /run, virsh /var/run
# Debian's static ids: libvirt-qemu is uid/gid 64055 (base-passwd).
cat > "$LROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$LROOT/etc/group" <<'EOF'
root:x:0:
kvm:x:108:libvirt-qemu
libvirt:x:109:
libvirt-qemu:x:64055:libvirt-qemu
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$LROOT/etc/nsswitch.conf"
# scenario.sh sets this hostname (libvirtd resolves its own name)
printf '127.0.0.1 localhost\n127.0.1.1 vmgpu-guest\n' > "$LROOT/etc/hosts"
# The daemon's own log: warnings and errors only (debug logging slows a TCG
# guest down considerably); the scenario prints it when something fails.
cat > "$LROOT/etc/libvirt/libvirtd.conf" <<'EOF'
# tests/guest/libvirt: root only, no polkit, no TCP
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
cat > "$LROOT/etc/libvirt/virtlogd.conf" <<'EOF'
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
# QEMU runs as libvirt-qemu, as on a Debian host.  No security driver
# (no AppArmor/SELinux in the guest); no xattrs for remembering owners.
cat > "$LROOT/etc/libvirt/qemu.conf" <<'EOF'
security_driver = "none"
remember_owner = 0
EOF
echo "$inputs" > "$GDIR/libvirt-root.inputs"
say "built in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s: $nlibs libraries beyond the nested kit, $(du -sh "$LROOT" | cut -f1) (nested kit $(du -sh "$NESTED_ROOT" | cut -f1))"
