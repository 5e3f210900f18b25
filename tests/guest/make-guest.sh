#!/bin/bash
# make-guest.sh - build the vmgpu test guest: Debian's own kernel booted under
# QEMU (q35 + emulated Intel IOMMU), with a busybox initramfs.
#
# usage: tests/guest/make-guest.sh [--with-mdev] [--with-nested] [--force]
#
#   --with-mdev  also build the kernel's vfio-mdev sample drivers (mtty, mdpy,
#                mdpy-fb, mbochs) out of tree from Debian's linux-source-X.Y
#                (same version as the kernel) against linux-headers-$KVER.
#                Debian does not ship them (CONFIG_SAMPLES is off).  Once
#                built, they are part of every later initramfs.
#   --with-nested  also build nested/: what a nested (L2) VM inside the guest
#                needs (tests/guest/scenarios/assign-nested.sh): the host's
#                qemu-system-x86_64 with every library ldd lists, the firmware
#                a -kernel boot reads, the bzImage and a busybox initramfs
#                running tests/guest/l2-init.  It is a separate tree laid out
#                like / (nested/root), carried into one guest run with
#                run-guest.sh -r; the base initramfs does not change.
#                L2 also gets Debian's QEMU guest agent (qemu-ga from
#                qemu-guest-agent, installed on the host when missing, with
#                the libraries ldd lists) and the virtio_pci + virtio_console
#                modules (L2's /init loads them and starts qemu-ga on the
#                org.qemu.guest_agent.0 port when L2 has a virtio-serial
#                device).
#   --force      rebuild the initramfs even when its inputs did not change
#
# Everything goes under the build dir $VMGPU_GUEST_DIR (default:
# <repo>/build/guest); nothing is installed into the host's /boot or
# /lib/modules:
#   debs/              downloaded .debs (cache this directory in CI)
#   kernel/            the unpacked kernel package
#   vmlinux            PVH-bootable ELF extracted from the bzImage (QEMU boots
#                      it directly: no in-guest xz decompression under TCG)
#   vmlinuz            the bzImage (fallback, run-guest.sh -z)
#   busybox            static busybox (from busybox-static, unpacked only)
#   initramfs.cpio     busybox + tests/guest/init + the modules closure
#   mdev/              sample mdev modules (--with-mdev)
#   nested/root/       QEMU + libraries + firmware + L2 kernel/initramfs
#                      (--with-nested), copied onto the guest's / by
#                      run-guest.sh -r
#   guest.env          read by run-guest.sh
#
# Host packages (apt-get install, only for what is missing; needs root):
#   qemu-system-x86 cpio kmod xz-utils pciutils (+ make gcc linux-headers for
#   --with-mdev; qemu-guest-agent for --with-nested: without it the kit has
#   no guest agent, and says so).  busybox-static and the kernel are fetched with
#   `apt-get download` and unpacked, not installed.
#
# Environment:
#   VMGPU_GUEST_DIR  build dir (see above)
#   SKIP_APT=1       never call apt-get install/update (download only what is
#                    not cached; fail if a host tool is missing)
#   KERNEL_PKG=...   pin the kernel package (e.g. linux-image-6.1.0-56-amd64);
#                    default: what linux-image-amd64 depends on, or the newest
#                    cached linux-image-*.deb when apt cannot tell
#   MODULES="..."    override the list of wanted modules (deps are added)
#
# Exit status: 0 built (or already up to date); 77 a prerequisite (host
# package, kernel or busybox .deb) cannot be obtained - no network, no apt,
# not root - callers treat that as "skip"; anything else is a real error.
# Idempotent: a re-run with nothing to do takes well under a second.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GDIR=${VMGPU_GUEST_DIR:-$REPO/build/guest}
DEBS=$GDIR/debs
KROOT=$GDIR/kernel
MDEVDIR=$GDIR/mdev

# What the guest needs (dependencies come automatically):
#   VFIO ........ vfio-pci vfio_iommu_type1 (vfio, vfio-pci-core, vfio_virqfd,
#                 irqbypass come as dependencies), mdev, pci-stub
#   devices ..... bochs (stdvga + bochs-display), virtio_pci + virtio-gpu,
#                 snd-hda-intel + generic codec, nvme
#   nested ...... kvm-amd / kvm-intel (TCG's -cpu max exposes SVM)
MODULES=${MODULES:-"vfio vfio-pci vfio_iommu_type1 mdev pci-stub bochs
  virtio_pci virtio-gpu snd-hda-intel snd-hda-codec-generic nvme
  kvm-amd kvm-intel"}

say()  { echo "make-guest: $*" >&2; }
skip() { say "SKIP: $*"; exit 77; }
die()  { say "ERROR: $*"; exit 1; }

WITH_MDEV="" WITH_NESTED="" FORCE=""
for arg in "$@"; do
    case $arg in
        --with-mdev) WITH_MDEV=1 ;;
        --with-nested) WITH_NESTED=1 ;;
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,61p' "$0"; exit 0 ;;
        *) sed -n '2,61p' "$0" >&2; exit 2 ;;
    esac
done

mkdir -p "$DEBS"
# The build dir sits in the source tree by default: keep it out of git.
[ -e "$GDIR/.gitignore" ] || echo '*' > "$GDIR/.gitignore"
# Serialise concurrent runs (meson may start several guest tests).
exec 9> "$GDIR/.lock"
flock 9

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# ------------------------------------------------------------------ host tools
APT_UPDATED=""
apt_update() {
    [ -n "$APT_UPDATED" ] && return 0
    say "apt-get update"
    apt-get update -qq >&2 || return 1
    APT_UPDATED=1
}
apt_install() {   # apt_install PKG...  (returns non-zero when it cannot)
    [ -z "${SKIP_APT:-}" ] || return 1
    [ "$(id -u)" = 0 ] || { say "not root: cannot apt-get install $*"; return 1; }
    apt_update || return 1
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

if ! command -v apt-get > /dev/null || ! command -v dpkg-deb > /dev/null; then
    skip "needs a Debian host (apt-get, dpkg-deb); run in a debian:bookworm container"
fi

# package:command pairs; a command found on PATH counts as installed.
HOST_TOOLS="qemu-system-x86:qemu-system-x86_64 cpio:cpio kmod:depmod xz-utils:xz pciutils:lspci"
missing=""
for pc in $HOST_TOOLS; do
    p=${pc%%:*} c=${pc#*:}
    command -v "$c" > /dev/null || pkg_ok "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt_install $missing || skip "missing host packages:$missing (install them, or run as root with network)"
fi
for pc in $HOST_TOOLS; do
    command -v "${pc#*:}" > /dev/null || PATH=$PATH:/usr/sbin:/sbin
    command -v "${pc#*:}" > /dev/null || skip "${pc#*:} (package ${pc%%:*}) not found"
done
# The nested kit's guest agent (L2's qemu-ga, for `vmgpu verify`): optional.
QGA=""
if [ -n "$WITH_NESTED" ]; then
    PATH=$PATH:/usr/sbin:/sbin
    if ! command -v qemu-ga > /dev/null; then
        apt_install qemu-guest-agent ||
            say "WARNING: no qemu-ga (package qemu-guest-agent): the nested kit's L2 has no guest agent"
    fi
    QGA=$(command -v qemu-ga || true)
    [ -n "$QGA" ] && QGA=$(readlink -f "$QGA")
fi

# ------------------------------------------------------------- fetch packages
# fetch_deb PKG [VERSION] -> path of the .deb in $DEBS (downloaded if needed)
fetch_deb() {
    local pkg=$1 ver=${2:-} spec=$1 pat=$1_ deb
    if [ -n "$ver" ]; then spec="$pkg=$ver" pat="${pkg}_${ver#*:}_"; fi
    deb=$(find "$DEBS" -maxdepth 1 -name "$pat*.deb" | sort -V | tail -n1)
    if [ -z "$deb" ]; then
        say "downloading $spec"
        # (stale package lists give 404s: update once and retry)
        (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$spec" >&2) ||
            { [ -z "${SKIP_APT:-}" ] && apt_update &&
              (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$spec" >&2); } ||
            return 1
        deb=$(find "$DEBS" -maxdepth 1 -name "$pat*.deb" | sort -V | tail -n1)
    fi
    [ -n "$deb" ] && echo "$deb"
}

resolve_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
if [ -z "${KERNEL_PKG:-}" ]; then
    KERNEL_PKG=$(resolve_kernel)
    if [ -z "$KERNEL_PKG" ] && [ -z "${SKIP_APT:-}" ] && [ "$(id -u)" = 0 ]; then
        apt_update || true
        KERNEL_PKG=$(resolve_kernel)
    fi
    if [ -z "$KERNEL_PKG" ]; then   # offline: newest cached kernel .deb
        cached=$(find "$DEBS" -maxdepth 1 -name 'linux-image-[0-9]*-amd64_*.deb' | sort -V | tail -n1)
        [ -n "$cached" ] && KERNEL_PKG=$(dpkg-deb -f "$cached" Package)
    fi
    [ -n "$KERNEL_PKG" ] || skip "cannot resolve linux-image-amd64 (no apt lists, no cached kernel .deb)"
fi
KVER=${KERNEL_PKG#linux-image-}
KDEB=$(fetch_deb "$KERNEL_PKG") || skip "cannot download $KERNEL_PKG"
BBDEB=$(fetch_deb busybox-static) || skip "cannot download busybox-static"
KDEBVER=$(dpkg-deb -f "$KDEB" Version)
say "kernel $KERNEL_PKG $KDEBVER; busybox $(dpkg-deb -f "$BBDEB" Version)"

# ------------------------------------------------------------------- unpack
if [ ! -e "$KROOT/.unpacked-$KDEBVER-$KVER" ]; then
    say "unpacking $(basename "$KDEB")"
    rm -rf "$KROOT"; mkdir -p "$KROOT"
    dpkg-deb -x "$KDEB" "$KROOT"
    depmod -b "$KROOT" "$KVER"            # the .deb ships no modules.dep
    touch "$KROOT/.unpacked-$KDEBVER-$KVER"
fi
BBVER=$(dpkg-deb -f "$BBDEB" Version)
if [ ! -x "$GDIR/busybox" ] || [ "$(cat "$GDIR/busybox.version" 2>/dev/null)" != "$BBVER" ]; then
    rm -rf "$GDIR/bb.tmp"; mkdir -p "$GDIR/bb.tmp"
    dpkg-deb -x "$BBDEB" "$GDIR/bb.tmp"
    cp "$GDIR/bb.tmp/bin/busybox" "$GDIR/busybox"
    rm -rf "$GDIR/bb.tmp"
    echo "$BBVER" > "$GDIR/busybox.version"
fi

# ------------------------------------------------------------- kernel images
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
[ -r "$VMLINUZ" ] || die "$VMLINUZ missing in $(basename "$KDEB")"
cmp -s "$VMLINUZ" "$GDIR/vmlinuz" || cp "$VMLINUZ" "$GDIR/vmlinuz"
if [ ! -s "$GDIR/vmlinux" ] || [ "$(cat "$GDIR/vmlinux.kver" 2>/dev/null)" != "$KDEBVER-$KVER" ]; then
    # Debian's x86 bzImage carries an xz-compressed vmlinux (CONFIG_KERNEL_XZ).
    # Decompress the first xz stream: it is a plain ELF with a PVH note, which
    # QEMU's -kernel loads directly.
    rm -f "$GDIR/vmlinux" "$GDIR/vmlinux.kver"
    for off in $(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$VMLINUZ" | cut -d: -f1 | head -n4); do
        # (xz stops after the first stream; the SIGPIPE/trailing-garbage
        # status is irrelevant, the ELF check decides)
        tail -c +"$((off + 1))" "$VMLINUZ" | xz -dc --single-stream > "$GDIR/vmlinux.tmp" 2>/dev/null || true
        if [ "$(head -c4 "$GDIR/vmlinux.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
            mv "$GDIR/vmlinux.tmp" "$GDIR/vmlinux"
            echo "$KDEBVER-$KVER" > "$GDIR/vmlinux.kver"
            break
        fi
    done
    rm -f "$GDIR/vmlinux.tmp"
    [ -s "$GDIR/vmlinux" ] || say "WARNING: no ELF vmlinux in the bzImage; run-guest.sh will boot the (slower) bzImage"
fi

# ------------------------------------------------------- mdev sample drivers
if [ -n "$WITH_MDEV" ] && [ ! -e "$MDEVDIR/.built-$KDEBVER-$KVER" ]; then
    KSERIES=$(echo "$KVER" | cut -d. -f1,2)            # 6.1
    HDRS=/usr/src/linux-headers-$KVER
    if [ ! -d "$HDRS" ] || ! command -v make > /dev/null || ! command -v gcc > /dev/null; then
        apt_install "linux-headers-$KVER" make gcc libc6-dev ||
            skip "--with-mdev needs linux-headers-$KVER, make and gcc installed"
    fi
    SRCDEB=$(fetch_deb "linux-source-$KSERIES" "$KDEBVER") ||
        skip "cannot download linux-source-$KSERIES=$KDEBVER"
    say "building the vfio-mdev samples from $(basename "$SRCDEB")"
    rm -rf "$MDEVDIR"; mkdir -p "$MDEVDIR/src"
    # The .deb holds usr/src/linux-source-X.Y.tar.xz: take samples/vfio-mdev only.
    dpkg-deb --fsys-tarfile "$SRCDEB" |
        tar -xOf - "./usr/src/linux-source-$KSERIES.tar.xz" | xz -dc |
        tar -xf - -C "$MDEVDIR/src" --strip-components=3 --wildcards \
            "linux-source-$KSERIES/samples/vfio-mdev/*"
    [ -s "$MDEVDIR/src/mtty.c" ] || die "samples/vfio-mdev not found in $(basename "$SRCDEB")"
    echo 'obj-m := mtty.o mdpy.o mdpy-fb.o mbochs.o' > "$MDEVDIR/src/Kbuild"
    make -s -C "$HDRS" M="$MDEVDIR/src" modules > "$MDEVDIR/build.log" 2>&1 ||
        { cat "$MDEVDIR/build.log" >&2; die "building the mdev samples failed"; }
    for m in mtty mdpy mdpy-fb mbochs; do
        [ -s "$MDEVDIR/src/$m.ko" ] || die "$m.ko was not built (see $MDEVDIR/build.log)"
        cp "$MDEVDIR/src/$m.ko" "$MDEVDIR/"
    done
    rm -rf "$MDEVDIR/src"
    touch "$MDEVDIR/.built-$KDEBVER-$KVER"
fi
HAVE_MDEV=""
if [ -e "$MDEVDIR/.built-$KDEBVER-$KVER" ]; then HAVE_MDEV=1; fi

# ------------------------------------------------------------------ initramfs
# Rebuilt only when an input changed (kernel, busybox, /init, module list,
# mdev modules, this script).
inputs=$( { echo "$KDEBVER $KVER $BBVER $MODULES $HAVE_MDEV"
            cat "$HERE/init" "$0"
            if [ -n "$HAVE_MDEV" ]; then cat "$MDEVDIR"/*.ko; fi; } | sha256sum | cut -c1-16)
if [ -n "$FORCE" ] || [ ! -s "$GDIR/initramfs.cpio" ] || [ "$(cat "$GDIR/initramfs.inputs" 2>/dev/null)" != "$inputs" ]; then
    say "building initramfs"
    IRD=$GDIR/initramfs
    rm -rf "$IRD"
    mkdir -p "$IRD"/bin "$IRD"/sbin "$IRD"/usr/bin "$IRD"/usr/sbin "$IRD"/usr/local/bin \
             "$IRD"/proc "$IRD"/sys "$IRD"/dev "$IRD"/tmp "$IRD"/run "$IRD"/etc \
             "$IRD"/testbed "$IRD/lib/modules/$KVER"
    cp "$GDIR/busybox" "$IRD/bin/busybox"
    ln -s busybox "$IRD/bin/sh"            # the rest: busybox --install in /init
    install -m 755 "$HERE/init" "$IRD/init"
    # Module closure, resolved by the host's kmod against the unpacked tree.
    # shellcheck disable=SC2086
    modprobe -d "$KROOT" -S "$KVER" --show-depends -a $MODULES |
        awk '$1 == "insmod" { print $2 }' | sort -u > "$GDIR/modules.list"
    while read -r ko; do
        rel=${ko#"$KROOT"/}
        mkdir -p "$IRD/$(dirname "$rel")"
        cp "$ko" "$IRD/$rel"
    done < "$GDIR/modules.list"
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        [ -e "$KROOT/lib/modules/$KVER/$f" ] && cp "$KROOT/lib/modules/$KVER/$f" "$IRD/lib/modules/$KVER/"
    done
    if [ -n "$HAVE_MDEV" ]; then
        mkdir -p "$IRD/lib/modules/$KVER/extra"
        cp "$MDEVDIR"/*.ko "$IRD/lib/modules/$KVER/extra/"
    fi
    depmod -b "$IRD" "$KVER"             # modules.dep/.alias for busybox modprobe
    nmods=$(find "$IRD/lib/modules" -name '*.ko' | wc -l)
    # Uncompressed (faster to unpack under TCG than gzip), reproducible: fixed
    # mtimes, sorted names, owner root.
    find "$IRD" -exec touch -h -d @0 {} +
    (cd "$IRD" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc --reproducible -R 0:0 --quiet) > "$GDIR/initramfs.cpio.tmp"
    mv "$GDIR/initramfs.cpio.tmp" "$GDIR/initramfs.cpio"
    rm -rf "$IRD"
    echo "$inputs" > "$GDIR/initramfs.inputs"
    say "initramfs: $nmods modules${HAVE_MDEV:+ (incl. mdev samples)}, $(du -h "$GDIR/initramfs.cpio" | cut -f1)"
fi

# ------------------------------------------------------------ nested (L2) kit
# nested/root is laid out like /: run-guest.sh -r copies it onto the guest's
# root for one run.  QEMU looks for its firmware in the kit (-L), and its
# libraries land at the paths ldd printed on this host.
NESTDIR=$GDIR/nested
NESTED_FW="bios-256k.bin linuxboot_dma.bin kvmvapic.bin pvh.bin"
fw_path() {   # fw_path NAME -> the host's copy (Debian: seabios and qemu dirs)
    local d
    for d in /usr/share/qemu /usr/share/seabios /usr/share/qemu-system-x86; do
        [ -r "$d/$1" ] && { readlink -f "$d/$1"; return 0; }
    done
    return 1
}
if [ -n "$WITH_NESTED" ]; then
    Q=$(readlink -f "$(command -v qemu-system-x86_64)")
    fwlist=""
    for f in $NESTED_FW; do
        p=$(fw_path "$f") || die "--with-nested: QEMU firmware $f not found"
        fwlist="$fwlist $p"
    done
    # L2's virtio-serial driver for the guest agent, in load order (the
    # Debian kernel has virtio, virtio_pci and virtio_console as modules)
    l2mods=$(modprobe -d "$KROOT" -S "$KVER" --show-depends -a virtio_pci virtio_console |
             awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
    # shellcheck disable=SC2086
    nin=$( { echo "$KDEBVER $KVER $BBVER $QGA"; sha256sum "$Q" $fwlist "$VMLINUZ" "$GDIR/busybox" $QGA $l2mods;
             cat "$HERE/l2-init" "$0"; } | sha256sum | cut -c1-16)
    if [ -n "$FORCE" ] || [ ! -x "$NESTDIR/root/usr/bin/qemu-system-x86_64" ] ||
       [ "$(cat "$NESTDIR/inputs" 2>/dev/null)" != "$nin" ]; then
        say "building the nested kit (QEMU $("$Q" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'))"
        rm -rf "$NESTDIR"
        NR=$NESTDIR/root KIT=$NESTDIR/root/usr/share/vmgpu-nested L2=$NESTDIR/l2
        mkdir -p "$NR/usr/bin" "$KIT/fw" "$L2/bin" "$L2/proc" "$L2/sys" "$L2/dev"
        cp "$Q" "$NR/usr/bin/qemu-system-x86_64"
        # "name => /path (addr)" lines, and the loader's own "/path (addr)"
        for lib in $(ldd "$Q" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            mkdir -p "$NR$(dirname "$lib")"
            cp -L "$lib" "$NR$lib"
        done
        # shellcheck disable=SC2086
        cp -L $fwlist "$KIT/fw/"
        cp "$VMLINUZ" "$KIT/l2-vmlinuz"
        cp "$GDIR/busybox" "$L2/bin/busybox"
        ln -s busybox "$L2/bin/sh"
        install -m 755 "$HERE/l2-init" "$L2/init"
        # l2-init insmods /lib/l2mods/*.ko in name order
        mkdir -p "$L2/lib/l2mods"
        i=0
        for ko in $l2mods; do
            i=$((i + 1)); cp "$ko" "$L2/lib/l2mods/$(printf %02d $i)-$(basename "$ko")"
        done
        if [ -n "$QGA" ]; then
            mkdir -p "$L2/usr/sbin"
            cp "$QGA" "$L2/usr/sbin/qemu-ga"
            for lib in $(ldd "$QGA" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
                mkdir -p "$L2$(dirname "$lib")"
                cp -L "$lib" "$L2$lib"
            done
        fi
        find "$L2" -exec touch -h -d @0 {} +
        (cd "$L2" && find . -mindepth 1 | LC_ALL=C sort |
            cpio -o -H newc --reproducible -R 0:0 --quiet) > "$KIT/l2-initrd.cpio"
        rm -rf "$L2"
        echo "$nin" > "$NESTDIR/inputs"
        say "nested kit: $(du -sh "$NR" | cut -f1) in $NR (L2 initrd $(du -h "$KIT/l2-initrd.cpio" | cut -f1)${QGA:+, with qemu-ga})"
    fi
fi
NESTED_ROOT=""
if [ -x "$NESTDIR/root/usr/bin/qemu-system-x86_64" ]; then NESTED_ROOT=$NESTDIR/root; fi

# ------------------------------------------------------------------ guest.env
cat > "$GDIR/guest.env.tmp" <<EOF
# written by tests/guest/make-guest.sh; read by tests/guest/run-guest.sh
KVER=$KVER
KERNEL_PKG=$KERNEL_PKG
KERNEL_DEB_VERSION=$KDEBVER
BUSYBOX_VERSION=$BBVER
VMLINUX=$GDIR/vmlinux
VMLINUZ=$GDIR/vmlinuz
INITRAMFS=$GDIR/initramfs.cpio
MDEV=${HAVE_MDEV:-0}
NESTED_ROOT=$NESTED_ROOT
EOF
if cmp -s "$GDIR/guest.env.tmp" "$GDIR/guest.env" 2>/dev/null; then
    rm "$GDIR/guest.env.tmp"
else
    mv "$GDIR/guest.env.tmp" "$GDIR/guest.env"
fi
say "ready in $(elapsed)s: $GDIR (kernel $KVER${HAVE_MDEV:+, mdev samples}${NESTED_ROOT:+, nested kit})"
