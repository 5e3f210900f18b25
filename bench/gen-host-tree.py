#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate a large, realistic synthetic Linux host tree for benchmarking.

    gen-host-tree.py OUTDIR [--functions N] [--seed S] [--force]

OUTDIR receives sys/, proc/ and dev/ laid out like a live host, so that both
`vmgpu --root OUTDIR survey --all --json` and
`lspci -vvv -A linux-sysfs -O sysfs.path=OUTDIR/sys/bus/pci` read it as they
would read /.  The default population (4000 PCI functions) is what the
benchmark requirement asks for: GPUs with their audio (and USB/UCSI)
functions behind PCIe switches, and SR-IOV NICs/NVMe controllers with many
VFs, spread over several root complexes in two PCI domains.

Why it is built the way it is (each point is something a reader of a real
sysfs depends on, so a shortcut here would make the benchmark measure a
different program than the one users run):

* every function has the files lspci's sysfs backend requires (vendor,
  device, class, irq, resource, config) plus what vmgpu reads (driver,
  iommu_group, reset_method, boot_vga, sriov_*, ...);  symlinks are real,
  relative, and resolve, because both tools realpath() them;
* directory nesting follows the bridge hierarchy (sys/devices/pciDDDD:BB/...)
  because topology is taken from `..` of each device directory;
* config space is a full 4096-byte image with a consistent type-0/type-1
  header and capability chains (PM, MSI, PCIe, MSI-X; AER, ACS, ARI, DSN,
  SR-IOV, Resizable BAR) so that capability walking costs what it costs on
  real hardware;
* BARs, bridge windows, SR-IOV VF BARs and proc/iomem come from one address
  allocator that sizes windows bottom-up and places them top-down the way
  the kernel does, so every window contains its children and nothing
  overlaps;
* IOMMU groups follow the kernel's pci_device_group() rules (ACS on the
  path, multifunction aliasing, PCIe-to-PCI bridge aliasing, one group per
  VF), not an arbitrary numbering.

The output is a pure function of (--functions, --seed): the same arguments
give a byte-identical tree, so figures from different runs compare.
Only the Python standard library is used.
"""

import argparse
import json
import os
import random
import shutil
import struct
import sys

MANIFEST = "vmgpu-bench-tree.json"

# --------------------------------------------------------------------------
# Kernel resource flags (include/linux/ioport.h) as printed in sysfs
# `resource`.  lspci takes 64-bit/prefetchable from these, not from config.
IORESOURCE_IO = 0x100
IORESOURCE_MEM = 0x200
IORESOURCE_PREFETCH = 0x2000
IORESOURCE_READONLY = 0x4000
IORESOURCE_SIZEALIGN = 0x40000
IORESOURCE_MEM_64 = 0x100000

# Flags exactly as a 6.x kernel reports them: __pci_read_base() ORs the BAR's
# low type bits into the flags and sets SIZEALIGN; bridge windows carry the
# base register's range-type bits instead.
FLAGS_IO = IORESOURCE_SIZEALIGN | IORESOURCE_IO | 0x1
FLAGS_MEM32 = IORESOURCE_SIZEALIGN | IORESOURCE_MEM
FLAGS_MEM64 = IORESOURCE_MEM_64 | IORESOURCE_SIZEALIGN | IORESOURCE_MEM | 0x4
FLAGS_PREF64 = (IORESOURCE_MEM_64 | IORESOURCE_SIZEALIGN | IORESOURCE_PREFETCH
                | IORESOURCE_MEM | 0xC)
FLAGS_ROM = (IORESOURCE_SIZEALIGN | IORESOURCE_READONLY | IORESOURCE_PREFETCH
             | IORESOURCE_MEM)
FLAGS_WIN_IO = IORESOURCE_IO            # 16-bit I/O decode
FLAGS_WIN_MEM = IORESOURCE_MEM
FLAGS_WIN_PREF = IORESOURCE_MEM_64 | IORESOURCE_PREFETCH | IORESOURCE_MEM | 0x1

# PCIe Device/Port types (PCI_EXP_FLAGS_TYPE)
PT_ENDPOINT = 0x0
PT_LEG_END = 0x1
PT_ROOT_PORT = 0x4
PT_UPSTREAM = 0x5
PT_DOWNSTREAM = 0x6
PT_PCIE_PCI = 0x7
PT_RC_END = 0x9

# ACS capability bits (PCI_ACS_*)
ACS_SV, ACS_TB, ACS_RR, ACS_CR, ACS_UF, ACS_EC, ACS_DT = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40)
# What the kernel requires on the path for isolation (REQ_ACS_FLAGS).
REQ_ACS = ACS_SV | ACS_RR | ACS_CR | ACS_UF
ACS_PORT_CAP = ACS_SV | ACS_TB | ACS_RR | ACS_CR | ACS_UF | ACS_DT

K, M, G = 1 << 10, 1 << 20, 1 << 30

LINK_SPEED_TEXT = {1: "2.5 GT/s PCIe", 2: "5.0 GT/s PCIe", 3: "8.0 GT/s PCIe",
                   4: "16.0 GT/s PCIe", 5: "32.0 GT/s PCIe"}


def align_up(v, a):
    return (v + a - 1) & ~(a - 1)


# --------------------------------------------------------------------------
# Data model

class Req:
    """One address-space request: a BAR, the expansion ROM or an SR-IOV
    VF BAR region.  `line` is the index of the line in sysfs `resource`
    (0-5 BARs, 6 ROM, 7-12 IOV BARs)."""

    __slots__ = ("line", "space", "size", "align", "flags", "is64", "pref",
                 "start", "vf_size")

    def __init__(self, line, space, size, flags, is64=False, pref=False,
                 align=None, vf_size=None):
        self.line = line
        self.space = space          # 'io', 'mem' (non-prefetchable window) or 'pref'
        self.size = size
        self.align = align or size
        self.flags = flags
        self.is64 = is64
        self.pref = pref
        self.start = None           # None = unassigned (kernel leaves a zero line)
        self.vf_size = vf_size      # IOV regions: size of one VF's BAR


def bar(line, kind, size):
    """kind: io | mem32 | mem64 (non-prefetchable) | pref64."""
    if kind == "io":
        return Req(line, "io", size, FLAGS_IO)
    if kind == "mem32":
        return Req(line, "mem", size, FLAGS_MEM32)
    if kind == "mem64":   # a non-prefetchable 64-bit BAR still lives below 4G
        return Req(line, "mem", size, FLAGS_MEM64, is64=True)
    if kind == "pref64":
        return Req(line, "pref", size, FLAGS_PREF64, is64=True, pref=True)
    raise ValueError(kind)


def rom(size):
    return Req(6, "mem", size, FLAGS_ROM)


class Fn:
    """One PCI function and everything needed to render it."""

    def __init__(self, root, bus, dev, fn, vendor, device, cls, kind, **kw):
        self.root = root
        self.dom = root.dom
        self.bus, self.dev, self.fn = bus, dev, fn
        self.vendor, self.device, self.cls, self.kind = vendor, device, cls, kind
        self.rev = kw.pop("rev", 0x00)
        self.svid = kw.pop("svid", 0)
        self.sdid = kw.pop("sdid", 0)
        self.ptype = kw.pop("ptype", None)       # None: conventional PCI
        self.bridge = kw.pop("bridge", False)
        self.reqs = kw.pop("reqs", [])
        self.driver = kw.pop("driver", None)
        self.flr = kw.pop("flr", False)
        self.nosoftrst = kw.pop("nosoftrst", True)
        self.pm = kw.pop("pm", True)
        self.msi = kw.pop("msi", True)
        self.msix = kw.pop("msix", 0)            # table size, 0 = no MSI-X
        self.acs = kw.pop("acs", None)           # (cap, ctrl) or None
        self.aer = kw.pop("aer", True)
        self.dsn = kw.pop("dsn", None)
        self.ari = kw.pop("ari", False)
        self.rebar = kw.pop("rebar", None)       # [(bar, current, [sizes])]
        self.slot = kw.pop("slot", None)         # physical slot number (ports)
        self.ssvid = kw.pop("ssvid", False)      # subsystem via SSVID cap (bridges)
        self.link = kw.pop("link", (3, 16))      # (max speed gen, max width)
        self.link_now = kw.pop("link_now", None)
        self.ari_fwd = False
        self.vga_path = False
        self.boot_vga = False
        self.multifunction = False
        self.parent = None
        self.children = []      # non-VF functions on the secondary bus
        self.sec = self.sub = None
        self.win = {}           # bridges: space -> Window (start/size)
        self.sriov = None       # dict for PFs
        self.vfs = []
        self.pf = None
        self.vf_index = None
        self.group = None
        self.irq = 0
        self.path = None        # relative to sys/: devices/pci..../BDF
        assert not kw, kw

    @property
    def bdf(self):
        return "%04x:%02x:%02x.%d" % (self.dom, self.bus, self.dev, self.fn)

    @property
    def rid(self):
        return (self.bus << 8) | (self.dev << 3) | self.fn

    @property
    def is_vf(self):
        return self.pf is not None


class RootBus:
    """A PCI host bridge / root bus (sys/devices/pciDDDD:BB)."""

    def __init__(self, dom, bus, last_bus, numa, dmar):
        self.dom, self.bus, self.last_bus = dom, bus, last_bus
        self.numa, self.dmar = numa, dmar
        self.next_bus = bus + 1
        self.funcs = []
        self.used_devs = set()
        self.ports = 0
        self.windows = {}       # space -> (start, end) for proc/iomem

    @property
    def name(self):
        return "pci%04x:%02x" % (self.dom, self.bus)

    def free_dev(self, preferred):
        for d in preferred:
            if d not in self.used_devs:
                return d
        return None


# --------------------------------------------------------------------------
# Catalogue.  IDs, BAR layouts and capabilities follow real devices (see
# shared/pcidata for the GPU ones); the exact set does not matter for the
# benchmark, but realistic sizes keep the address map and the per-device
# work honest.

GPU_MODELS = {
    # name: dict(fns=[(device, class, role)], bars, ...)
    "gp102": dict(vendor=0x10DE, fns=[(0x1B06, 0x030000, "gpu"),
                                      (0x10EF, 0x040300, "audio")],
                  sub=[(0x1458, 0x374C), (0x1043, 0x85E5), (0x3842, 0x6696)],
                  bar1=256 * M, rebar=None, flr=False, link=(3, 16),
                  io=True, driver="nvidia"),
    "tu102": dict(vendor=0x10DE, fns=[(0x1E07, 0x030000, "gpu"),
                                      (0x10F7, 0x040300, "audio"),
                                      (0x1AD6, 0x0C0330, "xhci"),
                                      (0x1AD7, 0x0C8000, "ucsi")],
                  sub=[(0x10DE, 0x12FA), (0x1462, 0x3715)],
                  bar1=256 * M, rebar=None, flr=True, link=(3, 16),
                  io=True, driver="nvidia"),
    "ga102": dict(vendor=0x10DE, fns=[(0x2204, 0x030000, "gpu"),
                                      (0x1AEF, 0x040300, "audio")],
                  sub=[(0x1043, 0x87B3), (0x3842, 0x3987)],
                  bar1=32 * G, rebar=(64 * M, 32 * G), flr=True, link=(4, 16),
                  io=True, driver="nvidia"),
    # Optimus-style discrete part that enumerates as a 3D controller but
    # still carries its HDMI audio function.
    "tu117m": dict(vendor=0x10DE, fns=[(0x1F91, 0x030200, "gpu"),
                                       (0x10FA, 0x040300, "audio")],
                   sub=[(0x17AA, 0x3A43)],
                   bar1=256 * M, rebar=None, flr=True, link=(3, 16),
                   io=True, driver="nvidia"),
    # Datacenter 3D controllers: no display, no audio, no I/O BAR.
    "t4": dict(vendor=0x10DE, fns=[(0x1EB8, 0x030200, "gpu")],
               sub=[(0x10DE, 0x12A2)], bar1=256 * M, rebar=None, flr=True,
               link=(3, 16), io=False, driver="nvidia"),
    "a100": dict(vendor=0x10DE, fns=[(0x20F1, 0x030200, "gpu")],
                 sub=[(0x10DE, 0x145F)], bar1=64 * G, rebar=None, flr=True,
                 link=(4, 16), io=False, driver="nvidia"),
    # AMD Navi 21 sits behind its own on-card switch (2 extra bridges).
    "navi21": dict(vendor=0x1002, fns=[(0x73BF, 0x030000, "gpu"),
                                       (0xAB28, 0x040300, "audio")],
                   sub=[(0x1002, 0x0E3A), (0x1DA2, 0xE439)],
                   bar0=16 * G, rebar=(256 * M, 16 * G), flr=False,
                   link=(4, 16), io=True, driver="amdgpu", amd=True),
}
# Weighted choice per GPU slot: consumer NVIDIA dominates, as in the data.
GPU_MIX = ["ga102", "ga102", "tu102", "gp102", "navi21", "a100", "t4", "tu117m"]

SRIOV_MODELS = {
    # PF offsets below reproduce the real devices' RID layout: X710 puts
    # PF0's VFs at offset 16 and PF1's right after them; ConnectX-5 starts
    # at function 2; E810 starts its VFs on the next bus (offset 0x100),
    # which is what "VFs on following bus numbers" looks like with ARI.
    "x710": dict(vendor=0x8086, pf=0x1572, vf=0x154C, cls=0x020000,
                 sub=(0x8086, 0x0001), pfs=2, total=64, numvfs=[64, 32],
                 first=lambda f, total: 0x10 + f * (total - 1),
                 bars=[(0, "pref64", 8 * M), (3, "pref64", 32 * K)],
                 rom=512 * K, vf_bars=[(0, 64 * K), (3, 16 * K)],
                 vf_pref=True, link=(3, 8), msix=129, acs=True,
                 driver="i40e", vf_driver="iavf", rev=0x02),
    "cx5": dict(vendor=0x15B3, pf=0x1017, vf=0x1018, cls=0x020000,
                sub=(0x15B3, 0x0007), pfs=2, total=127, numvfs=[64, 96, 127],
                first=lambda f, total: 2 + f * (total - 1),
                bars=[(0, "pref64", 32 * M)], rom=1 * M,
                vf_bars=[(0, 1 * M)], vf_pref=True, link=(3, 16), msix=64,
                acs=False, driver="mlx5_core", vf_driver="mlx5_core",
                rev=0x00),
    "e810": dict(vendor=0x8086, pf=0x1592, vf=0x1889, cls=0x020000,
                 sub=(0x8086, 0x0002), pfs=1, total=256, numvfs=[128, 64, 96],
                 first=lambda f, total: 0x100,
                 bars=[(0, "pref64", 32 * M), (3, "pref64", 64 * K)],
                 rom=1 * M, vf_bars=[(0, 128 * K), (3, 16 * K)],
                 vf_pref=True, link=(4, 16), msix=1024, acs=False,
                 driver="ice", vf_driver="iavf", rev=0x02),
    "pm1735": dict(vendor=0x144D, pf=0xA824, vf=0xA824, cls=0x010802,
                   sub=(0x144D, 0xA809), pfs=1, total=32, numvfs=[32],
                   first=lambda f, total: 1,
                   bars=[(0, "mem64", 32 * K)], rom=None,
                   vf_bars=[(0, 16 * K)], vf_pref=False, link=(4, 4),
                   msix=64, acs=False, driver="nvme", vf_driver="nvme",
                   rev=0x00),
}
SRIOV_MIX = ["x710", "pm1735", "e810", "cx5", "pm1735"]

# Root buses of a two-socket Skylake-SP, repeated per PCI segment: this
# gives the uneven bus ranges real hosts have (0x80 only owns 80-84).
ROOT_BUSES = [0x00, 0x17, 0x3A, 0x5D, 0x80, 0x85, 0xAE, 0xD7]
PORTS_PER_ROOT = 4          # IIO stack: root ports A-D
RP_DEVS_ROOT = [0x00, 0x01, 0x02, 0x03]
RP_DEVS_BUS0 = [0x01, 0x02, 0x03, 0x06, 0x07, 0x08, 0x09, 0x0A]
DSP_DEVS = [0x08, 0x09, 0x0A, 0x0B, 0x10, 0x11, 0x12, 0x13]


# --------------------------------------------------------------------------
# Topology planning

class Planner:
    def __init__(self, target, rng):
        self.target = target
        self.rng = rng
        self.roots = []
        self.fns = []           # every function, in bus-scan (probe) order
        self.root_idx = -1
        self.slot_no = 0
        self.kinds = {}
        self.new_root()

    # -- helpers ---------------------------------------------------------
    def new_root(self):
        self.root_idx += 1
        dom, k = divmod(self.root_idx, len(ROOT_BUSES))
        bus = ROOT_BUSES[k]
        last = (ROOT_BUSES[k + 1] - 1) if k + 1 < len(ROOT_BUSES) else 0xFF
        r = RootBus(dom, bus, last, numa=0 if bus < 0x80 else 1,
                    dmar=self.root_idx)
        self.roots.append(r)
        return r

    @property
    def root(self):
        return self.roots[-1]

    def add(self, f, parent=None):
        f.parent = parent
        if parent is None:
            f.root.funcs.append(f)
            f.root.used_devs.add(f.dev)
        else:
            parent.children.append(f)
        self.fns.append(f)
        self.kinds[f.kind] = self.kinds.get(f.kind, 0) + 1
        return f

    def count(self):
        return len(self.fns)

    def claim_port(self, buses):
        """Find a root bus with a free root-port device number and `buses`
        bus numbers left; open the next root bus (or segment) if needed."""
        if buses > 0x3F:
            raise SystemExit("a unit needs %d bus numbers; no root bus has that many" % buses)
        while True:
            r = self.root
            devs = RP_DEVS_BUS0 if r.bus == 0 else RP_DEVS_ROOT
            d = r.free_dev(devs)
            limit_ports = PORTS_PER_ROOT + (4 if r.bus == 0 else 0)
            if (d is not None and r.ports < limit_ports
                    and r.next_bus + buses - 1 <= r.last_bus):
                r.ports += 1
                return r, d
            # Too small (0x80 owns only 5 buses) or full: move on.  Roots
            # left without any function are dropped before writing.
            self.new_root()

    def take_bus(self, r):
        b = r.next_bus
        r.next_bus += 1
        assert b <= r.last_bus
        return b

    def root_port(self, r, d, sec, *, intel_pch=False):
        self.slot_no += 1
        if intel_pch:
            vid, did, rev = 0x8086, 0xA190, 0x09
        else:
            vid, did, rev = 0x8086, 0x2030 + (d & 3), 0x04
        f = Fn(r, r.bus, d, 0, vid, did, 0x060400, "root-port", rev=rev,
               svid=0x15D9, sdid=0x095D, ptype=PT_ROOT_PORT, bridge=True,
               driver="pcieport", ssvid=True, nosoftrst=False,
               acs=(ACS_PORT_CAP, REQ_ACS), slot=self.slot_no, link=(3, 16))
        f.sec = sec
        return self.add(f)

    # -- bus 0 chipset ---------------------------------------------------
    def chipset(self):
        r = self.root
        self.add(Fn(r, 0, 0x00, 0, 0x8086, 0x2020, 0x060000, "host-bridge",
                    rev=0x04, svid=0x15D9, sdid=0x095D, ptype=PT_RC_END,
                    pm=False, msi=False, aer=False, nosoftrst=False))
        # Crystal Beach DMA engines: an 8-function RCiEP.
        for fn in range(8):
            self.add(Fn(r, 0, 0x04, fn, 0x8086, 0x2021, 0x088000, "cbdma",
                        rev=0x04, svid=0x15D9, sdid=0x095D, ptype=PT_RC_END,
                        reqs=[bar(0, "mem64", 16 * K)], msi=False, msix=1,
                        aer=False, nosoftrst=False, driver="ioatdma"))
        self.add(Fn(r, 0, 0x17, 0, 0x8086, 0xA182, 0x010601, "sata", rev=0x09,
                    svid=0x15D9, sdid=0x095D,
                    reqs=[bar(0, "mem32", 8 * K), bar(1, "mem32", 256),
                          bar(2, "io", 8), bar(3, "io", 4), bar(4, "io", 32),
                          bar(5, "mem32", 2 * K)],
                    aer=False, nosoftrst=False, driver="ahci"))
        # BMC graphics: PCH root port -> ASPEED PCIe-to-PCI bridge ->
        # conventional-PCI AST2500 VGA, the host's boot display.  This is
        # the usual server setup and makes every discrete GPU boot_vga=0.
        d = 0x1C
        b1 = self.take_bus(r)
        rp = self.root_port(r, d, b1, intel_pch=True)
        rp.link = (3, 1)
        r.used_devs.add(d)
        b2 = self.take_bus(r)
        br = self.add(Fn(r, b1, 0, 0, 0x1A03, 0x1150, 0x060400, "bmc-bridge",
                         rev=0x04, ptype=PT_PCIE_PCI, bridge=True, msi=False,
                         aer=False, link=(2, 1)), rp)
        br.sec = b2
        vga = self.add(Fn(r, b2, 0, 0, 0x1A03, 0x2000, 0x030000, "bmc-vga",
                          rev=0x41, svid=0x15D9, sdid=0x095D,
                          reqs=[bar(0, "mem32", 16 * M), bar(1, "mem32", 128 * K),
                                bar(2, "io", 128)],
                          driver="ast", nosoftrst=False, aer=False), br)
        vga.boot_vga = True
        for x in (rp, br):
            x.vga_path = True
        self.add(Fn(r, 0, 0x1F, 0, 0x8086, 0xA1C1, 0x060100, "lpc", rev=0x09,
                    svid=0x15D9, sdid=0x095D, pm=False, msi=False, aer=False))
        self.add(Fn(r, 0, 0x1F, 2, 0x8086, 0xA1A1, 0x058000, "pmc", rev=0x09,
                    svid=0x15D9, sdid=0x095D, reqs=[bar(0, "mem32", 16 * K)],
                    pm=False, msi=False, aer=False))
        self.add(Fn(r, 0, 0x1F, 4, 0x8086, 0xA1A3, 0x0C0500, "smbus", rev=0x09,
                    svid=0x15D9, sdid=0x095D,
                    reqs=[bar(0, "mem64", 256), bar(4, "io", 32)],
                    pm=False, msi=False, aer=False, driver="i801_smbus"))

    def filler(self, n):
        """Top the count up by 1-2 functions without a whole unit: Skylake-E
        VT-d/RAS RCiEPs at 00:05.x, which real hosts have anyway."""
        r = self.roots[0]
        for fn, did in list(zip((0, 2, 4), (0x2024, 0x2025, 0x2026)))[:n]:
            self.add(Fn(r, r.bus, 0x05, fn, 0x8086, did, 0x088000, "rciep",
                        rev=0x04, svid=0x15D9, sdid=0x095D, ptype=PT_RC_END,
                        msi=False, aer=False, nosoftrst=False))

    # -- GPU behind a PCIe switch ----------------------------------------
    def gpu_buses(self, models):
        return 2 + sum(3 if GPU_MODELS[m].get("amd") else 1 for m in models)

    def gpu_switch(self, models, acs_on):
        r, d = self.claim_port(self.gpu_buses(models))
        b_usp = self.take_bus(r)
        rp = self.root_port(r, d, b_usp)
        big = len(models) > 4
        # PEX 8747 has 4 downstream ports; 8-GPU boxes use PEX 8796.
        sw_id = 0x8796 if big else 0x8747
        usp = self.add(Fn(r, b_usp, 0, 0, 0x10B5, sw_id, 0x060400, "switch-up",
                          rev=0xCA, ptype=PT_UPSTREAM, bridge=True,
                          reqs=[bar(0, "mem32", 256 * K)], driver="pcieport",
                          ssvid=True, svid=0x10B5, sdid=sw_id,
                          nosoftrst=False), rp)
        b_dsp = self.take_bus(r)
        usp.sec = b_dsp
        # A PLX switch whose ACS was left off by firmware: the kernel then
        # cannot isolate a GPU from its port, so port and GPU share a group.
        acs = (ACS_PORT_CAP, REQ_ACS if acs_on else 0)
        for j, m in enumerate(models):
            b = self.take_bus(r)
            self.slot_no += 1
            dsp = self.add(Fn(r, b_dsp, DSP_DEVS[j], 0, 0x10B5, sw_id, 0x060400,
                              "switch-down", rev=0xCA, ptype=PT_DOWNSTREAM,
                              bridge=True, driver="pcieport", ssvid=True,
                              svid=0x10B5, sdid=sw_id, acs=acs,
                              slot=self.slot_no, nosoftrst=False), usp)
            dsp.sec = b
            self.gpu(r, b, dsp, m)
        return rp

    def gpu(self, r, b, port, name):
        m = GPU_MODELS[name]
        svid, sdid = self.rng.choice(m["sub"])
        parent = port
        if m.get("amd"):
            # Navi: on-card upstream + downstream port before the GPU.
            usp = self.add(Fn(r, b, 0, 0, 0x1002, 0x1478, 0x060400, "amd-switch-up",
                              rev=0xC1, ptype=PT_UPSTREAM, bridge=True,
                              driver="pcieport", nosoftrst=False, link=(4, 16)),
                           port)
            usp.sec = self.take_bus(r)
            dsp = self.add(Fn(r, usp.sec, 0, 0, 0x1002, 0x1479, 0x060400,
                              "amd-switch-down", rev=0x00, ptype=PT_DOWNSTREAM,
                              bridge=True, driver="pcieport", nosoftrst=False,
                              acs=(ACS_PORT_CAP, REQ_ACS), link=(4, 16)), usp)
            dsp.sec = self.take_bus(r)
            parent, b = dsp, dsp.sec
        # Driver binding: a passthrough host has some GPUs on vfio-pci.
        vfio = self.rng.random() < 0.35
        nfn = len(m["fns"])
        fns = []
        for fn, (did, cls, role) in enumerate(m["fns"]):
            kind = {"gpu": "gpu-vga" if cls == 0x030000 else "gpu-3d",
                    "audio": "gpu-audio", "xhci": "gpu-usb",
                    "ucsi": "gpu-ucsi"}[role]
            if role == "gpu":
                if m.get("amd"):
                    reqs = [bar(0, "pref64", m["bar0"]), bar(2, "pref64", 256 * M),
                            bar(4, "io", 256), bar(5, "mem32", 1 * M),
                            rom(128 * K)]
                    rebar_bar = 0
                else:
                    reqs = [bar(0, "mem32", 16 * M), bar(1, "pref64", m["bar1"]),
                            bar(3, "pref64", 32 * M)]
                    if m["io"]:
                        reqs.append(bar(5, "io", 128))
                    reqs.append(rom(512 * K))
                    rebar_bar = 1
                rebar = None
                if m["rebar"]:
                    lo, hi = m["rebar"]
                    sizes = []
                    s = lo
                    while s <= hi:
                        sizes.append(s)
                        s <<= 1
                    big = next(q for q in reqs if q.line == rebar_bar)
                    if self.rng.random() < 0.3:
                        # Resizable BAR off in firmware: the BAR stays at
                        # its 256 MiB power-on size.
                        big.size = big.align = 256 * M
                    rebar = [(rebar_bar, big.size, sizes)]
                driver = "vfio-pci" if vfio else m["driver"]
                f = Fn(r, b, 0, fn, m["vendor"], did, cls, kind, rev=0xA1,
                       svid=svid, sdid=sdid,
                       ptype=PT_LEG_END if m["vendor"] == 0x10DE else PT_ENDPOINT,
                       reqs=reqs, flr=m["flr"], msix=9 if m["vendor"] == 0x10DE else 0,
                       rebar=rebar, driver=driver, link=m["link"],
                       link_now=(1, m["link"][1]))   # idle GPUs train down to 2.5GT/s
            elif role == "audio":
                f = Fn(r, b, 0, fn, m["vendor"], did, cls, kind, rev=0xA1,
                       svid=svid, sdid=sdid, ptype=PT_ENDPOINT,
                       reqs=[bar(0, "mem32", 16 * K)],
                       driver="vfio-pci" if vfio else "snd_hda_intel",
                       link=m["link"], link_now=(1, m["link"][1]))
            elif role == "xhci":
                f = Fn(r, b, 0, fn, m["vendor"], did, cls, kind, rev=0xA1,
                       svid=svid, sdid=sdid, ptype=PT_ENDPOINT,
                       reqs=[bar(0, "pref64", 256 * K)], msix=8,
                       driver="vfio-pci" if vfio else "xhci_hcd",
                       link=m["link"], link_now=(1, m["link"][1]))
            else:
                f = Fn(r, b, 0, fn, m["vendor"], did, cls, kind, rev=0xA1,
                       svid=svid, sdid=sdid, ptype=PT_ENDPOINT,
                       reqs=[bar(0, "mem32", 4 * K)],
                       driver="vfio-pci" if vfio else "nvidia-gpu",
                       link=m["link"], link_now=(1, m["link"][1]))
            f.multifunction = nfn > 1
            fns.append(self.add(f, parent))
        return fns

    # -- SR-IOV PF(s) on a root port ------------------------------------
    def sriov_unit(self, name, numvfs=None):
        m = SRIOV_MODELS[name]
        if numvfs is None:
            numvfs = self.rng.choice(m["numvfs"])
        assert 0 < numvfs <= m["total"]
        total = m["total"]
        # Bus numbers the kernel reserves below the port: enough for
        # TotalVFs of every PF (pci_iov_bus_range()).
        last_rid = max(f + m["first"](f, total) + total - 1 for f in range(m["pfs"]))
        buses = (last_rid >> 8) + 1
        r, d = self.claim_port(buses)
        b = self.take_bus(r)
        for _ in range(buses - 1):
            self.take_bus(r)
        rp = self.root_port(r, d, b)
        rp.ari_fwd = True
        rp.link = (m["link"][0], 16)
        kind_pf = "sriov-pf-nvme" if m["cls"] == 0x010802 else "sriov-pf-nic"
        pfs = []
        for f in range(m["pfs"]):
            reqs = [bar(i, k, s) for i, k, s in m["bars"]]
            if m["rom"]:
                reqs.append(rom(m["rom"]))
            vf_flags = FLAGS_PREF64 if m["vf_pref"] else FLAGS_MEM64
            for i, s in m["vf_bars"]:
                reqs.append(Req(7 + i, "pref" if m["vf_pref"] else "mem",
                                s * total, vf_flags, is64=True,
                                pref=m["vf_pref"], align=s, vf_size=s))
            # 8-byte serial: OUI-based like real NICs, deterministic.
            dsn = (0x0000C9FFFF000000 | (self.rng.getrandbits(24))) if m["vendor"] != 0x144D else None
            pf = Fn(r, b, 0, f, m["vendor"], m["pf"], m["cls"], kind_pf,
                    rev=m["rev"], svid=m["sub"][0], sdid=m["sub"][1],
                    ptype=PT_ENDPOINT, reqs=reqs, flr=True,
                    nosoftrst=True, msix=m["msix"], dsn=dsn, ari=True,
                    acs=(ACS_SV | ACS_RR | ACS_CR | ACS_UF,
                         ACS_SV | ACS_RR | ACS_CR | ACS_UF) if m["acs"] else None,
                    driver=m["driver"], link=m["link"])
            pf.multifunction = m["pfs"] > 1
            pf.sriov = dict(total=total, num=numvfs, first=m["first"](f, total),
                            stride=1, vf_device=m["vf"])
            pfs.append(self.add(pf, rp))
        for pf in pfs:
            for i in range(numvfs):
                vrid = pf.rid + pf.sriov["first"] + i
                vb, vdev, vfn = vrid >> 8, (vrid >> 3) & 0x1F, vrid & 7
                assert rp.sec <= vb < rp.sec + buses
                # About a third of the VFs are handed to VMs (vfio-pci).
                drv = "vfio-pci" if self.rng.random() < 0.3 else m["vf_driver"]
                vf = Fn(r, vb, vdev, vfn, m["vendor"], m["vf"], m["cls"], "vf",
                        rev=m["rev"], svid=m["sub"][0], sdid=m["sub"][1],
                        ptype=PT_ENDPOINT, flr=True, pm=False, msi=False,
                        msix=min(m["msix"], 17), ari=True,
                        aer=False, driver=drv, link=m["link"])
                vf.pf, vf.vf_index = pf, i
                vf.parent = rp
                pf.vfs.append(vf)
                self.fns.append(vf)
                self.kinds["vf"] = self.kinds.get("vf", 0) + 1
        rp.sub = rp.sec + buses - 1
        return rp

    # -- whole plan ------------------------------------------------------
    def build(self):
        self.chipset()
        n = self.target
        # GPUs: roughly one per 100 functions, capped at 40.  Each NVIDIA
        # GPU costs ~32 MiB of the 32-bit MMIO window (16 MiB BAR0 aligned,
        # plus ROM and audio), so 40 is about what fits below 4 GiB once
        # NICs and NVMe take their share; above that, --functions grows the
        # SR-IOV population, as a real large host would.
        gpus = max(2, min(40, n // 100))
        sizes = [4, 8, 2, 4, 4]
        i = 0
        while gpus > 0 and self.count() < n:
            k = min(sizes[i % len(sizes)], gpus)
            models = [self.rng.choice(GPU_MIX) for _ in range(k)]
            self.gpu_switch(models, acs_on=(i % 4 != 3))
            gpus -= k
            i += 1
        i = 0
        while self.count() < n:
            rem = n - self.count()
            if rem <= 2:
                self.filler(rem)
                break
            name = SRIOV_MIX[i % len(SRIOV_MIX)]
            m = SRIOV_MODELS[name]
            worst = 1 + m["pfs"] * (1 + max(m["numvfs"]))
            if rem < worst + 3:
                if rem - 2 <= 256:
                    # Last unit: one PF with exactly the VFs still needed,
                    # so the tree has exactly N functions.
                    self.sriov_unit("pm1735" if rem - 2 <= 32 else "e810",
                                    numvfs=rem - 2)
                    break
                name = "pm1735"
            self.sriov_unit(name)
            i += 1
        # Drop root buses the planner skipped (too few bus numbers) and
        # number the DMAR units of the remaining ones.
        self.roots = [r for r in self.roots if r.funcs]
        for k, r in enumerate(self.roots):
            r.dmar = k
        return self


# --------------------------------------------------------------------------
# Address allocation: size windows bottom-up, place top-down (like the
# kernel's pbus_size_mem()/pbus_assign_resources()), largest alignment
# first so padding stays small.

WIN_GRAN = {"io": 4 * K, "mem": 1 * M, "pref": 1 * M}
POOLS = {"io": [0x1000, 0x10000], "mem": [0x90000000, 0xFB000000],
         "pref": [0x200000000000, 0x400000000000]}


class Window:
    __slots__ = ("size", "align", "start", "items")

    def __init__(self):
        self.size = 0
        self.align = 0
        self.start = None
        self.items = []


def size_bridge(br, space):
    items = []
    for f in br.children:
        for r in f.reqs:
            if r.space == space:
                items.append((r.align, r.size, r))
        if f.bridge:
            w = size_bridge(f, space)
            if w.size:
                items.append((w.align, w.size, w))
    items.sort(key=lambda t: -t[0])   # stable: keeps bus order within an alignment
    off = 0
    for a, s, _ in items:
        off = align_up(off, a) + s
    w = Window()
    if off:
        g = WIN_GRAN[space]
        w.size = align_up(off, g)
        w.align = max([g] + [a for a, _, _ in items])
        w.items = items
    br.win[space] = w
    return w


def place(items, base):
    off = base
    for a, s, it in items:
        off = align_up(off, a)
        if isinstance(it, Window):
            place_window(it, off)
        else:
            it.start = off
        off += s
    return off


def place_window(w, base):
    w.start = base
    place(w.items, base)


def unassign(items):
    for _, _, it in items:
        if isinstance(it, Window):
            it.start = None
            unassign(it.items)
        else:
            it.start = None


def allocate(plan):
    cursor = {k: v[0] for k, v in POOLS.items()}
    for r in plan.roots:
        for space in ("io", "mem", "pref"):
            items = []
            for f in r.funcs:
                for q in f.reqs:
                    if q.space == space:
                        items.append((q.align, q.size, q))
                if f.bridge:
                    w = size_bridge(f, space)
                    if w.size:
                        items.append((w.align, w.size, w))
            items.sort(key=lambda t: -t[0])
            lo = None
            for a, s, it in items:
                start = align_up(cursor[space], a)
                if start + s > POOLS[space][1]:
                    if space == "mem":
                        raise SystemExit("32-bit MMIO window exhausted; lower --functions")
                    # Out of I/O ports (only 60 KiB exist): like the kernel,
                    # leave this subtree's I/O BARs unassigned.
                    unassign([(a, s, it)])
                    continue
                if isinstance(it, Window):
                    place_window(it, start)
                else:
                    it.start = start
                cursor[space] = start + s
                lo = start if lo is None else lo
            if lo is not None:
                hi = align_up(cursor[space], WIN_GRAN[space]) - 1
                r.windows[space] = (lo, hi)
                cursor[space] = hi + 1
    # VFs carve their BARs out of the PF's IOV regions.
    for f in plan.fns:
        if f.is_vf:
            vreqs = []
            for q in f.pf.reqs:
                if q.line >= 7:
                    v = Req(q.line - 7, q.space, q.vf_size, q.flags, is64=q.is64,
                            pref=q.pref)
                    if q.start is not None:
                        v.start = q.start + f.vf_index * q.vf_size
                    vreqs.append(v)
            f.reqs = vreqs


# --------------------------------------------------------------------------
# IOMMU groups, following drivers/iommu/iommu.c:pci_device_group()

def acs_enabled(f):
    if f.ptype in (PT_DOWNSTREAM, PT_ROOT_PORT):
        if not f.acs:
            return False
        cap, ctrl = f.acs
        need = REQ_ACS & (cap | ACS_EC)
        return (ctrl & need) == need
    if f.multifunction and not f.is_vf:
        if not f.acs:
            return False
        cap, ctrl = f.acs
        need = REQ_ACS & (cap | ACS_EC)
        return (ctrl & need) == need
    return True


def acs_path_enabled(br):
    while br is not None:
        if not acs_enabled(br):
            return False
        br = br.parent
    return True


def assign_groups(plan):
    nxt = [0]

    def new():
        g = nxt[0]
        nxt[0] += 1
        return g

    def group_of(f):
        # DMA alias: conventional PCI behind a PCIe-to-PCI bridge issues
        # requests with the bridge's ID, so it shares the bridge's group.
        if f.ptype is None and f.parent is not None and f.parent.ptype == PT_PCIE_PCI:
            return f.parent.group
        pdev = f
        br = f.parent
        while br is not None:
            if acs_path_enabled(br):
                break
            pdev = br
            if br.group is not None:
                return br.group
            br = br.parent
        if pdev.multifunction and not pdev.is_vf and not acs_enabled(pdev):
            sibs = pdev.root.funcs if pdev.parent is None else pdev.parent.children
            for s in sibs:
                if (s is not pdev and s.bus == pdev.bus and s.dev == pdev.dev
                        and not acs_enabled(s) and s.group is not None):
                    return s.group
        return new()

    # Boot-time devices in pci_bus_add_devices() order (a bus's devices,
    # then the buses behind its bridges); VFs appear later, when
    # sriov_numvfs is written, so their groups are numbered last.
    def walk(funcs):
        for f in funcs:
            f.group = group_of(f)
        for f in funcs:
            if f.bridge:
                walk(f.children)

    for r in plan.roots:
        walk(sorted(r.funcs, key=lambda f: (f.dev, f.fn)))
    for f in plan.fns:
        if f.is_vf:
            f.group = new()
    return nxt[0]


# --------------------------------------------------------------------------
# Config space

class Cfg:
    def __init__(self):
        self.b = bytearray(4096)
        self.cap_link = 0x34        # where the next standard cap pointer goes
        self.cap_off = 0x40
        self.ext_prev = None
        self.ext_off = 0x100

    def w8(self, o, v):
        self.b[o] = v & 0xFF

    def w16(self, o, v):
        struct.pack_into("<H", self.b, o, v & 0xFFFF)

    def w32(self, o, v):
        struct.pack_into("<I", self.b, o, v & 0xFFFFFFFF)

    def cap(self, cid, size):
        o = self.cap_off
        self.b[self.cap_link] = o
        self.b[o] = cid
        self.b[o + 1] = 0
        self.cap_link = o + 1
        self.cap_off = align_up(o + size, 4)
        assert self.cap_off <= 0x100
        self.w16(0x06, self.b[0x06] | (self.b[0x07] << 8) | 0x0010)   # Status: Cap+
        return o

    def ext(self, cid, ver, size):
        o = self.ext_off
        if self.ext_prev is not None:
            hdr = struct.unpack_from("<I", self.b, self.ext_prev)[0]
            self.w32(self.ext_prev, hdr | (o << 20))
        self.w32(o, cid | (ver << 16))
        self.ext_prev = o
        self.ext_off = align_up(o + size, 8)
        assert self.ext_off <= 0x1000
        return o


def bar_regs(f):
    """Return {bar index: (low dword, high dword or None)} for config."""
    regs = {}
    if f.is_vf:
        # VF BARs are read-only zero; the addresses live in the PF's SR-IOV
        # capability and the kernel's `resource` (lspci prints "[virtual]").
        return regs
    for q in f.reqs:
        if q.line > 5:
            continue
        a = q.start or 0
        if q.space == "io":
            regs[q.line] = (a | 0x1, None)
        elif q.is64:
            regs[q.line] = ((a & 0xFFFFFFF0) | 0x4 | (0x8 if q.pref else 0), a >> 32)
        else:
            regs[q.line] = ((a & 0xFFFFFFF0) | (0x8 if q.pref else 0), None)
    return regs


def pcie_cap(c, f):
    ptype = f.ptype
    gen, width = f.link
    now = f.link_now or f.link
    port = ptype in (PT_ROOT_PORT, PT_DOWNSTREAM)
    o = c.cap(0x10, 0x3C)
    flags = 0x2 | (ptype << 4) | (0x100 if f.slot is not None and port else 0)
    c.w16(o + 2, flags)
    endpoint = ptype in (PT_ENDPOINT, PT_LEG_END, PT_RC_END)
    mps = 1 if endpoint else 2                              # 256 / 512 bytes
    devcap = mps | (1 << 5) | (1 << 15)                     # ExtTag+, RBE+
    if endpoint:
        devcap |= (7 << 6) | (6 << 9)                       # L0s unlimited, L1 <64us
    if ptype in (PT_ENDPOINT, PT_LEG_END, PT_UPSTREAM):
        devcap |= 75 << 18                                  # SlotPowerLimit 75W
    if f.flr:
        devcap |= 1 << 28
    c.w32(o + 0x04, devcap)
    devctl = (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (2 << 12)
    if not endpoint:
        devctl |= 0xF                                       # error reporting on ports
    c.w16(o + 0x08, devctl)
    c.w16(o + 0x0A, 0)
    link_dev = ptype not in (PT_RC_END,)
    if link_dev:
        lnkcap = gen | (width << 4) | (2 << 10) | (4 << 12) | (6 << 15)
        if port:
            lnkcap |= (1 << 19) | (1 << 20) | (1 << 21)     # SurpriseErr DLLActRep BwNot
        lnkcap |= (1 << 22)                                 # ASPMOptComp+
        portno = f.dev if port else 0
        lnkcap |= portno << 24
        c.w32(o + 0x0C, lnkcap)
        c.w16(o + 0x10, 0x0040)                             # CommClk+
        lnksta = now[0] | (now[1] << 4) | (1 << 12)         # SlotClk+
        if port:
            lnksta |= 1 << 13                               # DLActive+
        c.w16(o + 0x12, lnksta)
    if port and f.slot is not None:
        sltcap = (25 << 7) | (1 << 18) | (f.slot << 19)     # 25W, NoCompl+
        if ptype == PT_ROOT_PORT:
            sltcap = (75 << 7) | (1 << 18) | (f.slot << 19)
        c.w32(o + 0x14, sltcap)
        c.w16(o + 0x1A, 1 << 6)                             # PresDet+
    devcap2 = 0xF | (1 << 4) | (1 << 11)                    # Range ABCD, TimeoutDis+, LTR+
    if port:
        devcap2 |= 1 << 5                                   # ARIFwd+
    if gen >= 4:
        devcap2 |= 1 << 16                                  # 10BitTagComp+
    c.w32(o + 0x24, devcap2)
    devctl2 = (1 << 10) if ptype != PT_RC_END else 0        # LTR+
    if f.ari_fwd:
        devctl2 |= 1 << 5
    c.w16(o + 0x28, devctl2)
    if link_dev:
        c.w32(o + 0x2C, sum(1 << s for s in range(1, gen + 1)))
        c.w16(o + 0x30, gen)                                # Target Link Speed
        c.w16(o + 0x32, 0x000E if gen >= 3 else 0)          # EqualizationComplete/Phase1/2


def build_config(f):
    c = Cfg()
    vid = 0xFFFF if f.is_vf else f.vendor
    did = 0xFFFF if f.is_vf else f.device
    c.w16(0x00, vid)
    c.w16(0x02, did)
    has_io = any(q.space == "io" and q.start is not None for q in f.reqs)
    if f.is_vf:
        cmd = 0x0004 if f.driver else 0     # VF MSE lives in the PF's SR-IOV ctl
    else:
        cmd = 0x0006 | (0x1 if has_io else 0) | (0x400 if f.msi or f.msix else 0)
        if f.bridge:
            cmd = 0x0007 if f.win.get("io") and f.win["io"].start is not None else 0x0006
            cmd |= 0x0100 | 0x0400                          # SERR+ DisINTx+
    c.w16(0x04, cmd)
    c.w16(0x06, 0x0000)
    c.w8(0x08, f.rev)
    c.w8(0x09, f.cls & 0xFF)
    c.w8(0x0A, (f.cls >> 8) & 0xFF)
    c.w8(0x0B, (f.cls >> 16) & 0xFF)
    c.w8(0x0C, 0x10)                        # cache line 64 bytes
    htype = 1 if f.bridge else 0
    c.w8(0x0E, htype | (0x80 if f.multifunction else 0))
    regs = bar_regs(f)
    if not f.bridge:
        for i in range(6):
            if i in regs:
                lo, hi = regs[i]
                c.w32(0x10 + 4 * i, lo)
                if hi is not None:
                    c.w32(0x10 + 4 * (i + 1), hi)
        c.w16(0x2C, f.svid)                 # VFs implement these too
        c.w16(0x2E, f.sdid)
        rom_r = next((q for q in f.reqs if q.line == 6), None)
        if rom_r is not None and rom_r.start is not None:
            c.w32(0x30, rom_r.start)        # ROM BAR, enable bit clear
    else:
        for i in range(2):
            if i in regs:
                lo, hi = regs[i]
                c.w32(0x10 + 4 * i, lo)
                if hi is not None:
                    c.w32(0x10 + 4 * (i + 1), hi)
        c.w8(0x18, f.bus)
        c.w8(0x19, f.sec)
        c.w8(0x1A, f.sub)
        io = f.win.get("io")
        if io and io.start is not None and io.size:
            c.w8(0x1C, (io.start >> 8) & 0xF0)
            c.w8(0x1D, ((io.start + io.size - 1) >> 8) & 0xF0)
        else:
            c.w8(0x1C, 0xF0)                # base > limit: window disabled
            c.w8(0x1D, 0x00)
        mem = f.win.get("mem")
        if mem and mem.start is not None and mem.size:
            c.w16(0x20, (mem.start >> 16) & 0xFFF0)
            c.w16(0x22, ((mem.start + mem.size - 1) >> 16) & 0xFFF0)
        else:
            c.w16(0x20, 0xFFF0)
            c.w16(0x22, 0x0000)
        pref = f.win.get("pref")
        if pref and pref.start is not None and pref.size:
            end = pref.start + pref.size - 1
            c.w16(0x24, ((pref.start >> 16) & 0xFFF0) | 0x1)
            c.w16(0x26, ((end >> 16) & 0xFFF0) | 0x1)
            c.w32(0x28, pref.start >> 32)
            c.w32(0x2C, end >> 32)
        else:
            c.w16(0x24, 0xFFF1)
            c.w16(0x26, 0x0001)
        brctl = 0x0002                                      # SERR+
        if f.vga_path:
            brctl |= 0x0008 | 0x0010                        # VGA+ VGA16+
        c.w16(0x3E, brctl)
    # Interrupt pin A where the function has a legacy IRQ; VFs never do.
    if f.irq:
        c.w8(0x3C, f.irq & 0xFF)
        c.w8(0x3D, 1)
    else:
        c.w8(0x3C, 0xFF if not f.is_vf else 0)

    # --- standard capabilities
    if f.ssvid:
        o = c.cap(0x0D, 8)
        c.w16(o + 4, f.svid)
        c.w16(o + 6, f.sdid)
    if f.pm:
        o = c.cap(0x01, 8)
        c.w16(o + 2, 0x0003 | (1 << 9) | (1 << 10) | (0x19 << 11)
              if not f.bridge else 0xC803)                  # v3, PME(D0,D3hot,D3cold)
        c.w16(o + 4, 0x0008 if f.nosoftrst else 0x0000)     # D0, NoSoftRst
    if f.msi:
        o = c.cap(0x05, 0x18)
        enabled = f.driver is not None and f.msix == 0 and f.driver != "vfio-pci"
        c.w16(o + 2, (1 << 7) | (1 << 8) | (0x1 if enabled else 0))
        if enabled:
            c.w32(o + 4, 0xFEE00000 | ((f.irq & 0xFF) << 12))
            c.w16(o + 0xC, 0x4020 + (f.irq & 0xFF))
    if f.ptype is not None:
        pcie_cap(c, f)
    if f.msix:
        o = c.cap(0x11, 12)
        enabled = f.driver is not None and f.driver != "vfio-pci"
        c.w16(o + 2, (f.msix - 1) | (0x8000 if enabled else 0))
        # Table and PBA in the first memory BAR, as most devices do.
        memq = [q for q in f.reqs if q.line <= 5 and q.space != "io"]
        bir = memq[0].line if memq else 0
        tbl = 0x0 if not memq else min(0x2000, memq[0].size // 2)
        c.w32(o + 4, tbl | bir)
        c.w32(o + 8, (tbl + align_up(f.msix * 16, 8)) | bir)

    # --- extended capabilities
    if f.ptype is None:
        return bytes(c.b)
    if f.aer:
        o = c.ext(0x0001, 2, 0x48)
        c.w32(o + 0x0C, 0x00462030)         # UESvrt: kernel/hw default severities
        c.w32(o + 0x14, 0x0000E000)         # CEMsk: AdvNonFatalErr+ CorrIntErr+ HeaderOF+
        c.w32(o + 0x18, 0x000000A0)         # AERCap: ECRCGenCap+ ECRCChkCap+
    if f.acs:
        o = c.ext(0x000D, 1, 8)
        cap, ctrl = f.acs
        c.w16(o + 4, cap)
        c.w16(o + 6, ctrl)
    if f.dsn is not None:
        o = c.ext(0x0003, 1, 0x0C)
        c.w32(o + 4, f.dsn & 0xFFFFFFFF)
        c.w32(o + 8, f.dsn >> 32)
    if f.ari:
        o = c.ext(0x000E, 1, 8)
        nxt = 0
        if not f.is_vf and f.multifunction:
            sibs = [s for s in f.parent.children if s.bus == f.bus and s.dev == f.dev]
            later = [s.fn for s in sibs if s.fn > f.fn]
            nxt = min(later) if later else 0
        c.w16(o + 4, nxt << 8)
    if f.sriov:
        s = f.sriov
        o = c.ext(0x0010, 1, 0x40)
        c.w32(o + 0x04, 0x2)                # ARI Capable Hierarchy Preserved
        ctl = 0
        if s["num"]:
            ctl = 0x1 | 0x8 | 0x10          # VF Enable, VF MSE, ARI Hierarchy
        c.w16(o + 0x08, ctl)
        c.w16(o + 0x0C, s["total"])         # InitialVFs
        c.w16(o + 0x0E, s["total"])
        c.w16(o + 0x10, s["num"])
        c.w8(o + 0x12, f.fn)                # Function Dependency Link
        c.w16(o + 0x14, s["first"])
        c.w16(o + 0x16, s["stride"])
        c.w16(o + 0x1A, s["vf_device"])
        c.w32(o + 0x1C, 0x553)              # 4K 8K 64K 256K 1M 4M pages
        c.w32(o + 0x20, 0x1)
        for q in f.reqs:
            if q.line >= 7:
                i = q.line - 7
                a = q.start or 0
                c.w32(o + 0x24 + 4 * i, (a & 0xFFFFFFF0) | 0x4 | (0x8 if q.pref else 0))
                c.w32(o + 0x24 + 4 * (i + 1), a >> 32)
    if f.rebar:
        o = c.ext(0x0015, 1, 4 + 8 * len(f.rebar))
        for k, (bidx, cur, sizes) in enumerate(f.rebar):
            supp = 0
            for sz in sizes:
                supp |= 1 << ((sz >> 20).bit_length() - 1 + 4)
            ctrl = bidx | ((cur >> 20).bit_length() - 1) << 8
            if k == 0:
                ctrl |= len(f.rebar) << 5
            c.w32(o + 4 + 8 * k, supp)
            c.w32(o + 8 + 8 * k, ctrl)
    return bytes(c.b)


# --------------------------------------------------------------------------
# Writing the tree

def resource_text(f):
    n = 17 if f.bridge else 13
    lines = [(0, 0, 0)] * n
    for q in f.reqs:
        if q.start is not None:
            lines[q.line] = (q.start, q.start + q.size - 1, q.flags)
    if f.bridge:
        for idx, space, fl in ((13, "io", FLAGS_WIN_IO), (14, "mem", FLAGS_WIN_MEM),
                               (15, "pref", FLAGS_WIN_PREF)):
            w = f.win.get(space)
            if w and w.size and w.start is not None:
                lines[idx] = (w.start, w.start + w.size - 1, fl)
    return "".join("0x%016x 0x%016x 0x%016x\n" % t for t in lines)


BUS_POPULATION = {}     # (domain, bus) -> functions on it, VFs included


def reset_methods(f):
    m = []
    if f.flr:
        m.append("flr")
    if f.pm and not f.nosoftrst:
        m.append("pm")
    # Secondary bus reset only for the sole function below a bridge
    # (pci_parent_bus_reset()): never for bridges, root-bus devices,
    # multifunction devices or VFs.
    if (not f.bridge and not f.is_vf and f.parent is not None
            and BUS_POPULATION[(f.dom, f.bus)] == 1):
        m.append("bus")
    return m


class Writer:
    def __init__(self, out):
        self.out = out
        self.nfiles = 0

    def file(self, rel, data):
        p = os.path.join(self.out, rel)
        if isinstance(data, str):
            data = data.encode()
        with open(p, "wb") as fh:
            fh.write(data)
        self.nfiles += 1

    def mkdir(self, rel):
        os.makedirs(os.path.join(self.out, rel), exist_ok=True)

    def link(self, rel, target):
        os.symlink(target, os.path.join(self.out, rel))
        self.nfiles += 1


def up(rel_dir):
    """'../' repeated so that a link inside sys/<rel_dir> reaches sys/."""
    return "../" * (rel_dir.count("/") + 1)


def write_tree(plan, out, ngroups):
    w = Writer(out)
    for d in ("sys/devices", "sys/bus/pci/devices", "sys/bus/pci/drivers",
              "sys/bus/pci/slots", "sys/kernel/iommu_groups", "sys/class/iommu",
              "sys/devices/virtual/iommu", "sys/module/vfio_pci",
              "sys/module/vfio_iommu_type1/parameters", "sys/module/vfio",
              "proc/sys/kernel", "dev"):
        w.mkdir(d)
    w.file("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n")

    # Paths: nest each device under its parent bridge; VFs are siblings of
    # their PF (the kernel parents a VF to the PF's parent device).
    for r in plan.roots:
        w.mkdir("sys/devices/" + r.name)
    for f in plan.fns:
        parent_path = ("devices/" + f.root.name) if f.parent is None else f.parent.path
        f.path = parent_path + "/" + f.bdf
    # Parents precede children in plan.fns (probe order), so mkdir works.
    drivers = sorted({f.driver for f in plan.fns if f.driver})
    for d in drivers:
        w.mkdir("sys/bus/pci/drivers/" + d)
        for name in ("bind", "unbind", "new_id", "remove_id"):
            w.file("sys/bus/pci/drivers/%s/%s" % (d, name), "")
    for g in range(ngroups):
        w.mkdir("sys/kernel/iommu_groups/%d/devices" % g)
        w.file("sys/kernel/iommu_groups/%d/type" % g, "identity\n")
        w.file("sys/kernel/iommu_groups/%d/reserved_regions" % g,
               "0x00000000fee00000 0x00000000feefffff msi\n")
    for r in plan.roots:
        name = "dmar%d" % r.dmar
        w.mkdir("sys/devices/virtual/iommu/" + name)
        w.file("sys/devices/virtual/iommu/%s/name" % name, name + "\n")
        w.link("sys/class/iommu/" + name, "../../devices/virtual/iommu/" + name)

    for f in plan.fns:
        d = "sys/" + f.path
        os.mkdir(os.path.join(out, d))
        w.file(d + "/vendor", "0x%04x\n" % f.vendor)
        w.file(d + "/device", "0x%04x\n" % f.device)
        w.file(d + "/subsystem_vendor", "0x%04x\n" % f.svid)
        w.file(d + "/subsystem_device", "0x%04x\n" % f.sdid)
        w.file(d + "/class", "0x%06x\n" % f.cls)
        w.file(d + "/revision", "0x%02x\n" % f.rev)
        w.file(d + "/irq", "%d\n" % f.irq)
        w.file(d + "/numa_node", "%d\n" % f.root.numa)
        w.file(d + "/resource", resource_text(f))
        w.file(d + "/config", build_config(f))
        w.file(d + "/driver_override", "(null)\n")
        w.file(d + "/enable", "1\n" if f.driver else "0\n")
        w.file(d + "/modalias", "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n" % (
            f.vendor, f.device, f.svid, f.sdid, f.cls >> 16, (f.cls >> 8) & 0xFF,
            f.cls & 0xFF))
        if f.cls >> 8 == 0x0300:
            # The kernel only creates boot_vga for VGA-class functions.
            w.file(d + "/boot_vga", "1\n" if f.boot_vga else "0\n")
        rm = reset_methods(f)
        if rm:
            w.file(d + "/reset_method", " ".join(rm) + "\n")
        if f.ptype is not None and f.ptype != PT_RC_END:
            gen, width = f.link
            ngen, nwidth = f.link_now or f.link
            w.file(d + "/max_link_speed", LINK_SPEED_TEXT[gen] + "\n")
            w.file(d + "/max_link_width", "%d\n" % width)
            w.file(d + "/current_link_speed", LINK_SPEED_TEXT[ngen] + "\n")
            w.file(d + "/current_link_width", "%d\n" % nwidth)
        if f.bridge:
            w.file(d + "/secondary_bus_number", "%d\n" % f.sec)
            w.file(d + "/subordinate_bus_number", "%d\n" % f.sub)
        w.link(d + "/subsystem", up(f.path) + "bus/pci")
        w.link("sys/bus/pci/devices/" + f.bdf, "../../../" + f.path)
        if f.driver:
            w.link(d + "/driver", up(f.path) + "bus/pci/drivers/" + f.driver)
            w.link("sys/bus/pci/drivers/%s/%s" % (f.driver, f.bdf), "../../../../" + f.path)
        w.link(d + "/iommu_group", up(f.path) + "kernel/iommu_groups/%d" % f.group)
        w.link("sys/kernel/iommu_groups/%d/devices/%s" % (f.group, f.bdf),
               "../../../../" + f.path)
        w.link(d + "/iommu", up(f.path) + "devices/virtual/iommu/dmar%d" % f.root.dmar)
        if f.sriov:
            s = f.sriov
            w.file(d + "/sriov_totalvfs", "%d\n" % s["total"])
            w.file(d + "/sriov_numvfs", "%d\n" % s["num"])
            w.file(d + "/sriov_offset", "%d\n" % s["first"])
            w.file(d + "/sriov_stride", "%d\n" % s["stride"])
            w.file(d + "/sriov_vf_device", "%x\n" % s["vf_device"])
            w.file(d + "/sriov_drivers_autoprobe", "1\n")
            for i, vf in enumerate(f.vfs):
                w.link(d + "/virtfn%d" % i, "../" + vf.bdf)
        if f.is_vf:
            w.link(d + "/physfn", "../" + f.pf.bdf)
        if f.slot is not None and f.sec is not None:
            w.mkdir("sys/bus/pci/slots/%d" % f.slot)
            w.file("sys/bus/pci/slots/%d/address" % f.slot,
                   "%04x:%02x:00\n" % (f.dom, f.sec))

    w.file("proc/cmdline",
           "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet intel_iommu=on iommu=pt\n")
    w.file("proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
    w.file("proc/interrupts", interrupts_text(plan))
    w.file("proc/iomem", iomem_text(plan))
    w.file("proc/ioports", ioports_text(plan))
    return w.nfiles


# --------------------------------------------------------------------------
# proc files

NCPU = 8


def interrupts_text(plan):
    def row(label, counts, chip, hw, name):
        return "%4s: %s  %-14s %-18s %s\n" % (
            label, " ".join("%10d" % c for c in counts), chip, hw, name)

    rng = random.Random(7)
    out = ["      " + "".join("%-11s" % ("CPU%d" % i) for i in range(NCPU)).rstrip() + "\n"]
    out.append(row("0", [36] + [0] * (NCPU - 1), "IR-IO-APIC", "2-edge", "timer"))
    out.append(row("8", [0] * NCPU, "IR-IO-APIC", "8-edge", "rtc0"))
    out.append(row("9", [0] * NCPU, "IR-IO-APIC", "9-fasteoi", "acpi"))
    irq = 24
    for r in plan.roots:
        out.append(row(str(irq), [0] * NCPU, "DMAR-MSI", "%d-edge" % r.dmar,
                       "dmar%d" % r.dmar))
        irq += 1
    for f in plan.fns:
        if f.is_vf or not f.driver or f.driver == "vfio-pci":
            continue
        if not (f.msi or f.msix):
            continue
        # 6.1 names the MSI domain "IR-PCI-MSI" with hwirq = segment<<27 |
        # requester ID<<11 | vector; interrupt remapping shows as "IR-".
        hw = (f.dom << 27) | (f.rid << 11)
        vectors = 1 if f.msix == 0 else min(f.msix, 4)
        for v in range(vectors):
            counts = [rng.randrange(0, 100000) for _ in range(NCPU)]
            name = f.driver if vectors == 1 else "%s-%s-%d" % (f.driver, f.bdf, v)
            if f.driver == "pcieport":
                name = "PCIe PME, aerdrv"
            out.append(row(str(irq), counts, "IR-PCI-MSI", "%d-edge" % (hw + v), name))
            irq += 1
    out.append(" NMI: " + " ".join("%10d" % 0 for _ in range(NCPU)) + "   Non-maskable interrupts\n")
    out.append(" LOC: " + " ".join("%10d" % 123456 for _ in range(NCPU)) + "   Local timer interrupts\n")
    out.append(" ERR:          0\n MIS:          0\n")
    return "".join(out)


class Node:
    __slots__ = ("start", "end", "name", "kids")

    def __init__(self, start, end, name):
        self.start, self.end, self.name, self.kids = start, end, name, []


def resource_nodes(plan, space):
    """Build the iomem/ioports nesting: root aperture > bridge windows >
    BARs > driver claim.  VF BARs nest in the PF's IOV region."""
    tops = []

    def dev_nodes(f):
        nodes = []
        for q in f.reqs:
            if q.space == space and q.start is not None:
                n = Node(q.start, q.start + q.size - 1, f.bdf)
                if f.driver and q.line <= 5:
                    n.kids.append(Node(q.start, q.start + q.size - 1, f.driver))
                if q.line >= 7:
                    for vf in f.vfs:
                        for vq in vf.reqs:
                            if vq.line == q.line - 7 and vq.start is not None:
                                vn = Node(vq.start, vq.start + vq.size - 1, vf.bdf)
                                if vf.driver:
                                    vn.kids.append(Node(vq.start, vq.start + vq.size - 1,
                                                        vf.driver))
                                n.kids.append(vn)
                nodes.append(n)
        return nodes

    def bridge_nodes(br):
        nodes = dev_nodes(br)
        w = br.win.get(space)
        if w and w.size and w.start is not None:
            n = Node(w.start, w.start + w.size - 1, "PCI Bus %04x:%02x" % (br.dom, br.sec))
            for c in br.children:
                n.kids.extend(bridge_nodes(c) if c.bridge else dev_nodes(c))
            nodes.append(n)
        return nodes

    for r in plan.roots:
        if space not in r.windows:
            continue
        lo, hi = r.windows[space]
        n = Node(lo, hi, "PCI Bus %04x:%02x" % (r.dom, r.bus))
        for f in r.funcs:
            n.kids.extend(bridge_nodes(f) if f.bridge else dev_nodes(f))
        tops.append(n)
    return tops


def render(nodes, width, depth=0, out=None):
    out = [] if out is None else out
    for n in sorted(nodes, key=lambda x: x.start):
        out.append("%s%0*x-%0*x : %s\n" % ("  " * depth, width, n.start, width, n.end, n.name))
        render(n.kids, width, depth + 1, out)
    return out


def iomem_text(plan):
    tops = [Node(0x0, 0xFFF, "Reserved"), Node(0x1000, 0x9FFFF, "System RAM"),
            Node(0xA0000, 0xBFFFF, "PCI Bus 0000:00"), Node(0xC0000, 0xC7FFF, "Video ROM"),
            Node(0xF0000, 0xFFFFF, "System ROM"),
            Node(0x100000, 0x6FFFFFFF, "System RAM"),
            Node(0x70000000, 0x7FFFFFFF, "Reserved"),
            Node(0x80000000, 0x8FFFFFFF, "PCI MMCONFIG 0000 [bus 00-ff]"),
            Node(0xFEC00000, 0xFEC003FF, "IOAPIC 0"),
            Node(0xFEE00000, 0xFEE00FFF, "Local APIC"),
            Node(0x100000000, 0x207FFFFFFF, "System RAM")]
    tops[5].kids = [Node(0x1000000, 0x1E0FFFF, "Kernel code"),
                    Node(0x1E10000, 0x26FFFFF, "Kernel rodata")]
    for r in plan.roots:
        tops.append(Node(0xFED90000 + r.dmar * 0x1000, 0xFED90FFF + r.dmar * 0x1000,
                         "dmar%d" % r.dmar))
    tops += resource_nodes(plan, "mem") + resource_nodes(plan, "pref")
    # The firmware framebuffer sits in the boot VGA's BAR 0 (ASPEED), as
    # efifb/simpledrm show it on a server.
    vga = next(f for f in plan.fns if f.boot_vga)
    fb_start = vga.reqs[0].start

    def add_fb(nodes):
        for n in nodes:
            if n.name == vga.bdf and n.start == fb_start:
                n.kids = [Node(fb_start, fb_start + 0x2FFFFF, "efifb")]
                return True
            if add_fb(n.kids):
                return True
        return False

    add_fb(tops)
    return "".join(render(tops, 8))


def ioports_text(plan):
    tops = [Node(0x0, 0x1F, "dma1"), Node(0x20, 0x21, "pic1"),
            Node(0x40, 0x43, "timer0"), Node(0x60, 0x60, "keyboard"),
            Node(0x70, 0x77, "rtc0"), Node(0xCF8, 0xCFF, "PCI conf1")]
    tops += resource_nodes(plan, "io")
    return "".join(render(tops, 4))


# --------------------------------------------------------------------------

def assign_irqs(plan):
    gsi = 16
    for f in plan.fns:
        if f.is_vf:
            f.irq = 0
        elif f.kind in ("host-bridge", "lpc", "pmc", "rciep"):
            f.irq = 0
        else:
            f.irq = gsi
            gsi += 1


def finish_topology(plan):
    # Multifunction flag for every slot with more than one function.
    slots = {}
    for f in plan.fns:
        if not f.is_vf:
            slots.setdefault((f.dom, f.bus, f.dev), []).append(f)
    for fs in slots.values():
        if len(fs) > 1:
            for f in fs:
                f.multifunction = True
    for f in plan.fns:
        k = (f.dom, f.bus)
        BUS_POPULATION[k] = BUS_POPULATION.get(k, 0) + 1

    def sub(br):
        m = br.sec
        for c in br.children:
            if c.bridge:
                m = max(m, sub(c))
        if br.sub is not None:          # SR-IOV ports reserve VF buses
            m = max(m, br.sub)
        br.sub = m
        return m

    for r in plan.roots:
        for f in r.funcs:
            if f.bridge:
                sub(f)


def summary(plan, ngroups, nfiles):
    kinds = dict(sorted(plan.kinds.items()))
    gpus = sum(v for k, v in kinds.items() if k in ("gpu-vga", "gpu-3d"))
    return {
        "generator": "bench/gen-host-tree.py",
        "functions": len(plan.fns),
        "by_kind": kinds,
        "gpus": gpus,
        "vfs": kinds.get("vf", 0),
        "root_buses": [r.name for r in plan.roots],
        "domains": sorted({r.dom for r in plan.roots}),
        "iommu_groups": ngroups,
        "files_and_links": nfiles,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.parts("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--functions", type=int, default=4000,
                    help="number of PCI functions to generate (default 4000, minimum 40)")
    ap.add_argument("--seed", type=int, default=1, help="RNG seed (default 1)")
    ap.add_argument("--force", action="store_true",
                    help="replace OUTDIR if it holds a tree made by this script")
    a = ap.parse_args(argv)
    if a.functions < 40:
        ap.error("--functions must be at least 40 (chipset + one GPU switch)")

    out = a.outdir
    if os.path.lexists(out):
        if os.path.isdir(out) and not os.listdir(out):
            pass
        elif a.force and os.path.isfile(os.path.join(out, MANIFEST)):
            shutil.rmtree(out)
        else:
            sys.exit("%s exists; pass --force to replace a tree made by this script" % out)
    os.makedirs(out, exist_ok=True)

    rng = random.Random(a.seed)
    plan = Planner(a.functions, rng).build()
    finish_topology(plan)
    assign_irqs(plan)
    allocate(plan)
    ngroups = assign_groups(plan)
    nfiles = write_tree(plan, out, ngroups)
    info = summary(plan, ngroups, nfiles)
    info["seed"] = a.seed
    with open(os.path.join(out, MANIFEST), "w") as fh:
        json.dump(info, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print("%s: %d functions (%d GPUs, %d VFs), %d IOMMU groups, %d root buses" % (
        out, info["functions"], info["gpus"], info["vfs"], ngroups, len(plan.roots)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
