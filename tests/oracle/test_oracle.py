#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Oracle test: ``vmgpu survey --all --json`` against ``lspci -vvv`` on real sysfs trees.

    test_oracle.py [--keep] VMGPU PCIDATA_DIR [NAME_SUBSTRING ...]

For every tree under ``PCIDATA_DIR/trees/*/sys`` and ``PCIDATA_DIR/fixtures/*/sys``
(real config-space dumps and real sysfs captures, see PCIDATA_DIR/README.md)
the tree is copied to a temporary directory T with materialize.py (which
repairs symlinks flattened in transport) and both tools read T:

    lspci -vvv -nn -D -A linux-sysfs -O sysfs.path=T/sys/bus/pci
    VMGPU --root T survey --all --json

``-A linux-sysfs`` is not optional: with only ``-O sysfs.path=`` a bad path
makes lspci fall back to /proc/bus/pci and silently describe *this* machine.

Every function lspci lists must appear in vmgpu's output and vice versa; then
the facts both tools report are compared field by field (rules in
compare_function()).  Output: one ``ok NAME (...)`` or ``FAIL NAME`` line per
tree, each mismatch as ``  ADDRESS FIELD: vmgpu=X lspci=Y``, and a final
``N passed, N failed``.  Exit status 0, 1 when a tree failed, 77 (meson's
"skipped") when the datasets or lspci are not available.

The comparison is deliberately generic (nothing keyed to a dataset, device or
address) so that it also holds on trees captured from other machines with
``dump2sysfs.py capture``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

# The helpers sit next to this script; importing them must not litter the
# source tree (which may be read-only) with __pycache__ directories.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lspci_parse                                      # noqa: E402
from materialize import materialize                     # noqa: E402

SKIP = 77
SCHEMA_PREFIX = 'vmgpu.survey/'
MAX_MISMATCH_LINES = 200            # per tree; a broken build should not flood the log
_MISSING = object()                 # a field absent from vmgpu's device object


# --------------------------------------------------------------------------
# Expectations: what vmgpu may say, given what lspci (or the tree) says.
# --------------------------------------------------------------------------

def _same(a, b):
    """Equality that keeps JSON types apart (False != 0, 1 != True)."""
    return type(a) is type(b) and a == b


def _show(v):
    return '<missing>' if v is _MISSING else json.dumps(v)


class Expect:
    """A set of acceptable vmgpu values plus how to print it.

    Most fields have exactly one right answer.  A few have two when lspci's
    silence cannot tell them apart (documented where they are built).
    """

    def __init__(self, accepted, shown=None, source='lspci'):
        self.accepted = tuple(accepted)
        self.shown = shown if shown is not None else \
            '|'.join(json.dumps(v) for v in self.accepted)
        self.source = source

    def ok(self, value):
        return any(_same(value, a) for a in self.accepted)


def exact(value, source='lspci'):
    return Expect((value,), source=source)


class Comparison:
    """Collects compared-field counts and mismatches for one tree."""

    def __init__(self):
        self.compared = 0
        self.mismatches = []

    def problem(self, address, what, vmgpu_text, other_text, source='lspci'):
        self.mismatches.append(
            f'  {address} {what}: vmgpu={vmgpu_text} {source}={other_text}')

    def check(self, address, name, value, expect):
        self.compared += 1
        if not expect.ok(value):
            self.problem(address, name, _show(value), expect.shown,
                         expect.source)


# --------------------------------------------------------------------------
# Per-function rules.
# --------------------------------------------------------------------------

def read_config_len(devdir):
    """Bytes a read of sysfs `config` returns (0 when there is no file).

    vmgpu's `config_size` is "bytes of config space read"; the tree is the
    ground truth for it, and it decides which capabilities lspci could see.
    """
    try:
        with open(os.path.join(devdir, 'config'), 'rb') as f:
            return len(f.read())
    except OSError:
        return 0


def read_int_attr(devdir, name):
    try:
        with open(os.path.join(devdir, name), encoding='ascii') as f:
            return int(f.read().strip(), 0)
    except (OSError, ValueError):
        return None


def lspci_bars(fn):
    """lspci's regions that are real BARs, keyed by index.

    A 64-bit memory BAR occupies two register slots; slot N+1 holds its upper
    dword and is never a BAR of its own.  pciutils nevertheless prints it as
    ``Region N+1: Memory at <unassigned> (32-bit, non-prefetchable)`` when it
    has no kernel resource to go by and the upper dword is non-zero (dump
    mode, ``lspci -F``; a known pciutils artifact, README section 1).  In
    sysfs mode 3.9 does not print it for the trees here, but should it ever
    appear, it is not a BAR and vmgpu is right not to list it, so any region
    that follows a 64-bit memory region is dropped.
    """
    bars = {}
    for idx in sorted(fn.regions):
        prev = fn.regions.get(idx - 1)
        if prev is not None and not prev.io and prev.is_64bit:
            continue
        bars[idx] = fn.regions[idx]
    return bars


def compare_bars(cmp, fn, dev):
    """BARs: index, size, is_64bit, prefetchable, io.

    * lspci prints ``[size=...]`` only when the kernel's `resource` line has
      end > start; no size means "size unknown" and vmgpu must say
      ``"size": null`` (not 0, not 1).
    * ``<unassigned>``/``<ignored>`` regions without a size come from the raw
      BAR register while the kernel has no resource for them; vmgpu, which
      reports the kernel's view, may leave them out.  If it lists them, the
      other fields must still agree.
    * 64-bit/prefetchable/io: lspci decodes them from the BAR register in
      config space.  When the header could not be decoded (config reads
      all-ones: "!!! Unknown header type 7f") lspci substitutes 0 for the
      register and always prints "32-bit, non-prefetchable", which says
      nothing, so only index and size are compared for such functions.
    """
    addr = fn.address
    vbars = dev.get('bars', _MISSING)
    if not isinstance(vbars, list):
        cmp.compared += 1
        cmp.problem(addr, 'bars', _show(vbars), 'an array')
        return
    by_index = {}
    for b in vbars:
        idx = b.get('index') if isinstance(b, dict) else None
        if not isinstance(idx, int) or idx in by_index:
            cmp.compared += 1
            cmp.problem(addr, 'bars', f'bad or duplicate entry {_show(b)}',
                        'unique {index,...} objects')
            continue
        by_index[idx] = b

    lbars = lspci_bars(fn)
    type_known = fn.caps_state != 'unknown'
    for idx, r in lbars.items():
        name = f'bar{idx}'
        b = by_index.pop(idx, None)
        cmp.compared += 1
        if b is None:
            if r.address is None and r.size is None:
                continue        # register-only region, see docstring
            cmp.problem(addr, name, 'absent', _describe_region(r))
            continue
        cmp.check(addr, f'{name}.size', b.get('size', _MISSING),
                  exact(r.size))
        if type_known:
            cmp.check(addr, f'{name}.io', b.get('io', False), exact(r.io))
            cmp.check(addr, f'{name}.is_64bit', b.get('is_64bit', _MISSING),
                      exact(r.is_64bit))
            cmp.check(addr, f'{name}.prefetchable',
                      b.get('prefetchable', _MISSING), exact(r.prefetchable))
    for idx, b in sorted(by_index.items()):
        cmp.compared += 1
        cmp.problem(addr, f'bar{idx}', _show(b), 'absent')


def _describe_region(r):
    kind = 'io' if r.io else ('64-bit' if r.is_64bit else '32-bit') + \
        (' pref' if r.prefetchable else '')
    size = 'size=?' if r.size is None else f'size={r.size}'
    return f'"{r.address_text} {kind} {size}"'


def compare_rom(cmp, fn, dev):
    """Expansion ROM size (sysfs `resource` line 6; not part of `bars`).

    * ``Expansion ROM at ... [size=S]``  -> rom.size == S;
    * a ROM line without size (start == end, or ``<unassigned>``/``<ignored>``
      from the register alone) -> size unknown: rom null or {"size": null};
    * no ROM line -> rom null.
    """
    rom = dev.get('rom', _MISSING)
    if rom is not None and rom is not _MISSING and not isinstance(rom, dict):
        cmp.compared += 1
        cmp.problem(fn.address, 'rom', _show(rom), 'an object or null')
        return
    if fn.rom is None:
        cmp.check(fn.address, 'rom', rom, exact(None))
    elif fn.rom.size is not None:
        size = rom.get('size', _MISSING) if isinstance(rom, dict) else rom
        cmp.check(fn.address, 'rom.size', size, exact(fn.rom.size))
    else:
        size = rom.get('size', _MISSING) if isinstance(rom, dict) else None
        cmp.check(fn.address, 'rom.size', size,
                  Expect((None,), 'null (no size shown)'))


def compare_caps(cmp, fn, dev, config_len, devdir):
    """Capability-derived facts.

    What lspci can know depends on how much config space the tree has:

    * 'denied' (``Capabilities: <access denied>``, 64-byte config) and
      'unknown' (config reads all-ones, header undecodable): lspci knows
      nothing, and vmgpu must not guess: msi, msix, flr, acs, pcie_type and
      sriov_total_vfs must be null.  Agreement is counted only when vmgpu
      says null.
    * standard capabilities readable: msi/msix are booleans (absent = false);
      pcie_type is the Express type, or null when there is no Express
      capability.  One exception: a 64-byte config whose Status register has
      Cap- makes lspci print no capability line at all (not "access
      denied"); there msi/msix may be false or null (see below).
    * flr is the DevCap FLReset bit.  lspci prints it only for endpoint types
      (Endpoint, Legacy Endpoint, RC Integrated Endpoint) where the bit is
      defined; for ports and bridges it is reserved, lspci is silent and the
      field is not compared.  A conventional PCI function (no Express
      capability) cannot do PCIe FLR: vmgpu may say null (no DevCap to read)
      or false, never true.
    * acs and sriov_total_vfs live in *extended* config space (offset >=
      0x100).  With 256 bytes or less of config lspci shows no extended
      capability at all, silently, so for a PCI Express function absence
      proves nothing: vmgpu must say acs null.  A conventional PCI function
      (capability list readable, no Express capability) has no extended
      config space at all, so there acs may be false (a fact) or null (the
      schema's "null below 4096 bytes").  For sriov_total_vfs vmgpu may also
      take the value from the sysfs attribute `sriov_totalvfs` (readable
      without config access); if it reports a number it must equal that
      file (mismatches then print "sysfs=").  With more than 256 bytes
      lspci's view is complete: acs is present (true) or not (false), and
      sriov_total_vfs is Total VFs, or null when there is no SR-IOV
      capability (schema: "null when not SR-IOV capable").
    * a ``<chain broken>``/``<chain looped>`` list is incomplete: absences
      are not compared then.
    """
    addr = fn.address
    get = dev.get
    null = exact(None)

    if fn.caps_state in ('denied', 'unknown'):
        why = ('null (lspci: access denied)' if fn.caps_state == 'denied'
               else 'null (lspci: header unreadable)')
        for name in ('msi', 'msix', 'flr', 'acs', 'pcie_type'):
            cmp.check(addr, name, get(name, _MISSING), Expect((None,), why))
        _check_sriov_from_sysfs(cmp, addr, get('sriov_total_vfs', _MISSING),
                                devdir, why)
        return

    complete = not fn.chain_broken
    for name, present in (('msi', fn.msi), ('msix', fn.msix)):
        if present:
            cmp.check(addr, name, get(name, _MISSING), exact(True))
        elif complete and config_len <= 64:
            # No "Capabilities:" line at all with only the 64-byte header:
            # Status.CapList is clear, so lspci knows there is no list.  vmgpu
            # may draw the same conclusion (false) or decline to decode
            # capabilities from a header-only read (null).
            cmp.check(addr, name, get(name, _MISSING),
                      Expect((False, None), 'false|null (Cap-, 64-byte config)'))
        elif complete:
            cmp.check(addr, name, get(name, _MISSING), exact(False))

    if fn.pcie_type_text is not None:
        if fn.pcie_type is not None:
            cmp.check(addr, 'pcie_type', get('pcie_type', _MISSING),
                      exact(fn.pcie_type))
        else:
            # "Unknown type N": not one of the schema's names; null is the
            # only value that does not invent one.
            cmp.check(addr, 'pcie_type', get('pcie_type', _MISSING),
                      Expect((None,), f'null ("{fn.pcie_type_text}")'))
        if fn.flr is not None:
            cmp.check(addr, 'flr', get('flr', _MISSING), exact(fn.flr))
        # else: FLReset not printed for this port type -- not compared.
    elif complete:
        cmp.check(addr, 'pcie_type', get('pcie_type', _MISSING), null)
        cmp.check(addr, 'flr', get('flr', _MISSING),
                  Expect((None, False), 'null|false (no Express cap)'))

    if config_len <= 256:
        why = f'null (config {config_len} bytes: no extended caps)'
        if fn.pcie_type_text is None and complete:
            # Conventional PCI: extended config space does not exist, so
            # "no ACS" is a fact, not a guess; null is accepted too.
            cmp.check(addr, 'acs', get('acs', _MISSING),
                      Expect((False, None), 'false|null (conventional PCI)'))
        else:
            cmp.check(addr, 'acs', get('acs', _MISSING), Expect((None,), why))
        _check_sriov_from_sysfs(cmp, addr, get('sriov_total_vfs', _MISSING),
                                devdir, why)
    else:
        if fn.acs or complete:
            cmp.check(addr, 'acs', get('acs', _MISSING), exact(fn.acs))
        if fn.sriov_total_vfs is not None or complete:
            cmp.check(addr, 'sriov_total_vfs', get('sriov_total_vfs', _MISSING),
                      exact(fn.sriov_total_vfs))


def _check_sriov_from_sysfs(cmp, addr, value, devdir, why):
    """sriov_total_vfs when lspci cannot see the SR-IOV capability."""
    total = read_int_attr(devdir, 'sriov_totalvfs')
    if value is None or total is None:
        cmp.check(addr, 'sriov_total_vfs', value, Expect((None,), why))
    else:
        cmp.check(addr, 'sriov_total_vfs', value,
                  Expect((total,), f'{total} (sriov_totalvfs)', 'sysfs'))


def compare_function(cmp, fn, dev, devdir):
    """Compare one function; `fn` from lspci, `dev` from vmgpu's JSON."""
    addr = fn.address
    get = dev.get

    # Identity.  lspci prints the class as 4 hex digits (base class and
    # subclass, i.e. class >> 8); the programming interface is left out
    # because lspci takes it from config space while vmgpu, like the kernel,
    # uses sysfs `class`, and kernel quirks may legitimately differ.
    cmp.check(addr, 'vendor_id', get('vendor_id', _MISSING), exact(fn.vendor_id))
    cmp.check(addr, 'device_id', get('device_id', _MISSING), exact(fn.device_id))
    cls = get('class', _MISSING)
    if isinstance(cls, int) and not isinstance(cls, bool):
        cls >>= 8
    cmp.check(addr, 'class>>8', cls, exact(fn.class_code))
    # lspci prints "(rev xx)" only for a non-zero revision.
    if fn.revision is not None:
        cmp.check(addr, 'revision', get('revision', _MISSING),
                  exact(fn.revision))
    else:
        cmp.check(addr, 'revision', get('revision', _MISSING),
                  Expect((0, None), '0|null (no rev shown)'))
    # The function-level "Subsystem:" line (header type 0).  Bridges print
    # theirs inside the SSVID capability, which the parser does not read, so
    # bridges are not compared.
    if fn.subsystem is not None:
        cmp.check(addr, 'subsystem_vendor_id',
                  get('subsystem_vendor_id', _MISSING),
                  exact(fn.subsystem[0]))
        cmp.check(addr, 'subsystem_device_id',
                  get('subsystem_device_id', _MISSING),
                  exact(fn.subsystem[1]))

    # Kernel facts (lspci reads the same sysfs links and files).
    cmp.check(addr, 'driver', get('driver', _MISSING), exact(fn.driver))
    cmp.check(addr, 'iommu_group', get('iommu_group', _MISSING),
              exact(fn.iommu_group))
    # lspci hides numa_node -1 ("no node"); vmgpu may say null or pass -1 on.
    if fn.numa_node is not None:
        cmp.check(addr, 'numa_node', get('numa_node', _MISSING),
                  exact(fn.numa_node))
    else:
        cmp.check(addr, 'numa_node', get('numa_node', _MISSING),
                  Expect((None, -1), 'null|-1 (not shown)'))

    config_len = read_config_len(devdir)
    cmp.check(addr, 'config_size', get('config_size', _MISSING),
              exact(config_len, source='sysfs'))

    compare_bars(cmp, fn, dev)
    compare_rom(cmp, fn, dev)
    compare_caps(cmp, fn, dev, config_len, devdir)


# --------------------------------------------------------------------------
# Running the tools.
# --------------------------------------------------------------------------

def find_lspci():
    found = shutil.which('lspci')
    if found:
        return found
    # Debian/Ubuntu put it in /usr/bin, others in /sbin, not always on PATH.
    for cand in ('/usr/bin/lspci', '/usr/sbin/lspci', '/sbin/lspci'):
        if os.access(cand, os.X_OK):
            return cand
    return None


def _env():
    # Untranslated, stable output (pciutils has no translations today, but
    # sort orders and error texts should not depend on the caller's locale).
    env = dict(os.environ)
    env['LC_ALL'] = 'C'
    return env


def run_lspci(lspci, sysfs_bus_pci, extra):
    proc = subprocess.run(
        [lspci, *extra, '-D', '-A', 'linux-sysfs',
         '-O', f'sysfs.path={sysfs_bus_pci}'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        timeout=120)
    # stderr always has "Unable to load libkmod resources" on a host without
    # the tree's modules; only the exit status counts.
    if proc.returncode != 0:
        raise RuntimeError(f'lspci exited {proc.returncode}: '
                           f'{proc.stderr.decode(errors="replace").strip()}')
    return proc.stdout.decode('utf-8', errors='replace')


def run_vmgpu(vmgpu, root):
    proc = subprocess.run(
        [vmgpu, '--root', root, 'survey', '--all', '--json'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        timeout=120)
    return proc.returncode, proc.stdout.decode('utf-8', errors='replace'), \
        proc.stderr.decode('utf-8', errors='replace')


def lspci_functions(lspci, bus_pci):
    functions = lspci_parse.parse(run_lspci(lspci, bus_pci, ['-vvv', '-nn']))
    if any(f.vendor_id is None for f in functions.values()):
        # Some names were cut short together with their [vvvv:dddd]; the
        # numeric listing has the IDs for sure.
        numeric = lspci_parse.parse(run_lspci(lspci, bus_pci, ['-n']))
        for a, f in functions.items():
            if f.vendor_id is None and a in numeric:
                f.vendor_id = numeric[a].vendor_id
                f.device_id = numeric[a].device_id
    return functions


def check_tree(name, sys_dir, vmgpu, lspci, keep):
    """Return (ok, summary_or_None, mismatch_lines) for one tree."""
    tmp = tempfile.mkdtemp(prefix='vmgpu-oracle-')
    try:
        root = os.path.join(tmp, 'root')
        os.mkdir(root)
        materialize(sys_dir, os.path.join(root, 'sys'))
        bus_pci = os.path.join(root, 'sys', 'bus', 'pci')
        functions = lspci_functions(lspci, bus_pci)
        return compare_tree(functions, bus_pci, *run_vmgpu(vmgpu, root))
    except (OSError, RuntimeError, subprocess.TimeoutExpired,
            lspci_parse.ParseError) as e:
        return False, None, [f'  - {type(e).__name__}: {e}']
    finally:
        if keep:
            print(f'# {name}: kept {tmp}')
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def compare_tree(functions, bus_pci, rc, out, err):
    cmp = Comparison()
    # Sub-check 1: vmgpu ran and produced the documented document.
    if rc != 0:
        tail = ' | '.join(err.strip().splitlines()[-3:]) or '(no stderr)'
        return False, None, [f'  - vmgpu exited {rc}: {tail}']
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as e:
        return False, None, [f'  - vmgpu output is not JSON: {e}']
    if not isinstance(doc, dict) or not str(doc.get('schema', '')).startswith(
            SCHEMA_PREFIX) or not isinstance(doc.get('devices'), list):
        return False, None, [f'  - vmgpu output lacks "schema": '
                             f'"{SCHEMA_PREFIX}N" or a "devices" array']

    # Sub-check 2: identical device sets (--all lists every function,
    # bridges and host bridges included).
    devices = {}
    for d in doc['devices']:
        a = str(d.get('address', '')).lower() if isinstance(d, dict) else ''
        if a in devices or not a:
            cmp.problem(a or '?', 'address', 'duplicate or missing entry',
                        'one entry per function')
            continue
        devices[a] = d
    for a in sorted(set(functions) - set(devices)):
        cmp.problem(a, 'present', 'no', 'yes')
    for a in sorted(set(devices) - set(functions)):
        cmp.problem(a, 'present', 'yes', 'no')

    # Field by field.
    for a in sorted(set(functions) & set(devices)):
        compare_function(cmp, functions[a], devices[a],
                         os.path.join(bus_pci, 'devices', a))

    summary = f'{len(functions)} functions, {cmp.compared} fields compared'
    return not cmp.mismatches, summary, cmp.mismatches


def find_trees(pcidata):
    """(name, sys_dir) for each dataset tree, in a stable order."""
    trees = []
    for group in ('trees', 'fixtures'):
        base = os.path.join(pcidata, group)
        if not os.path.isdir(base):
            continue
        for entry in sorted(os.listdir(base)):
            sys_dir = os.path.join(base, entry, 'sys')
            if os.path.isdir(os.path.join(sys_dir, 'bus', 'pci', 'devices')):
                trees.append((f'{group}/{entry}', sys_dir))
    return trees


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--keep', action='store_true',
                    help='keep the materialized trees and print their paths')
    ap.add_argument('vmgpu', help='the vmgpu executable')
    ap.add_argument('pcidata', help='the pcidata directory (shared/pcidata)')
    ap.add_argument('only', nargs='*',
                    help='run only trees whose name contains one of these')
    args = ap.parse_args(argv[1:])

    if not os.path.isdir(args.pcidata):
        print(f'SKIP: PCI datasets not found at {args.pcidata} '
              f'(configure with -Dpcidata=DIR)')
        return SKIP
    lspci = find_lspci()
    if lspci is None:
        print('SKIP: lspci (pciutils) is not installed')
        return SKIP
    trees = find_trees(args.pcidata)
    if args.only:
        trees = [t for t in trees if any(s in t[0] for s in args.only)]
    if not trees:
        print(f'SKIP: no trees/*/sys or fixtures/*/sys under {args.pcidata}')
        return SKIP
    vmgpu = os.path.abspath(args.vmgpu)
    if not os.access(vmgpu, os.X_OK):
        # Not a skip: meson hands us the built target, so this is a bug.
        print(f'error: {vmgpu} is not an executable file')
        return 1

    passed = failed = 0
    for name, sys_dir in trees:
        ok, summary, lines = check_tree(name, sys_dir, vmgpu, lspci, args.keep)
        if ok:
            passed += 1
            print(f'ok {name} ({summary})')
        else:
            failed += 1
            print(f'FAIL {name}')
            for line in lines[:MAX_MISMATCH_LINES]:
                print(line)
            if len(lines) > MAX_MISMATCH_LINES:
                print(f'  ... {len(lines) - MAX_MISMATCH_LINES} more')
        sys.stdout.flush()
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
