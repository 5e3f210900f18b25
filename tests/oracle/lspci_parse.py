#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parse the text of ``lspci -vvv -nn [-D]`` into per-function facts.

    lspci_parse.py FILE     # print what was understood, as JSON (debugging aid)

Only the facts the oracle test compares are extracted; everything else lspci
prints is skipped.  The parser is written against pciutils 3.9
(``ls-caps.c``/``lspci.c``) and kept strict where a silent misread would make
the oracle lie: a ``Region``/``Expansion ROM`` line it does not understand
raises ``ParseError`` instead of being ignored.

Layout facts relied upon (pciutils prints these with literal tabs):

* a function starts at column 0 with its address (``0000:01:00.0`` with
  ``-D``, ``01:00.0`` without) and ends at an empty line;
* the function's own attributes (``Region``, ``Expansion ROM``,
  ``Capabilities``, ``Kernel driver in use``, ``IOMMU group``, ``NUMA node``,
  ``Subsystem``) are indented by exactly ONE tab;
* a capability's body is indented by two tabs, continuation lines by three.
  This matters: the SR-IOV capability prints the VF BARs as two-tab
  ``Region N:`` lines, and DevCtl has its own ``FLReset-`` (the *control*
  bit) -- neither may be mistaken for the function's BARs or for DevCap.
"""

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional


class ParseError(ValueError):
    pass


# PCIe capability "device/port type" as lspci spells it -> vmgpu's string.
# lspci appends " (Slot+)"/" (Slot-)" to the port types; that suffix is
# stripped before the lookup.
PCIE_TYPES = {
    'Endpoint': 'endpoint',
    'Legacy Endpoint': 'legacy_endpoint',
    'Root Complex Integrated Endpoint': 'rc_integrated_endpoint',
    'Root Complex Event Collector': 'rc_event_collector',
    'Root Port': 'root_port',
    'Upstream Port': 'upstream_port',
    'Downstream Port': 'downstream_port',
    'PCI-Express to PCI/PCI-X Bridge': 'pcie_to_pci_bridge',
    'PCI/PCI-X to PCI-Express Bridge': 'pci_to_pcie_bridge',
}

_SIZE_UNITS = {'': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}

# "0000:01:00.0 VGA compatible controller [0300]: NVIDIA ... [10de:24a0] (rev a1) (prog-if 00 [VGA controller])"
# Domains may have 4-6 hex digits (pciutils 3.13 allows 6).  Without -D the
# domain is omitted and means 0000.
_ADDR_RE = re.compile(r'^(?:([0-9a-f]{4,6}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) ')
# The class is the first "[xxxx]:" on the line (the class name never contains
# one); the IDs are the last "[xxxx:xxxx]" (a device *name* may contain
# brackets, e.g. "GA104 [GeForce RTX 3070 Ti Laptop GPU] [10de:24a0]").
_CLASS_RE = re.compile(r' \[([0-9a-f]{4})\]: ')
_IDS_RE = re.compile(r'\[([0-9a-f]{4}):([0-9a-f]{4})\]')
# "0000:ff:13.0 0880: 8086:2fa8 (rev 02)" -- the same header from lspci -n.
_NUMERIC_HEADER_RE = re.compile(r'^([0-9a-f]{4}): ([0-9a-f]{4}):([0-9a-f]{4})\b')
_REV_RE = re.compile(r'\(rev ([0-9a-f]{2})\)')
_PROGIF_RE = re.compile(r'\(prog-if ([0-9a-f]{2})')

# Region N: Memory at <addr> (64-bit, prefetchable) [virtual] [disabled] [enhanced] [size=256M]
# Region N: I/O ports at <addr> [virtual|disabled] [size=128]
# <addr> is hex or one of <unassigned>, <ignored>, <broken-64-bit-slot>.
_ADDR_TOKEN = r'([0-9a-f]+|<unassigned>|<ignored>|<broken-64-bit-slot>)'
_REGION_RE = re.compile(
    r'^Region (\d+): (?:'
    r'Memory at ' + _ADDR_TOKEN +
    r' \((32-bit|64-bit|low-1M|type 3), (non-)?prefetchable\)'
    r'|I/O ports at ' + _ADDR_TOKEN + r')'
    r'((?: \[(?:virtual|disabled|enhanced)\])*)'
    r'(?: \[size=(\d+)([KMGT]?)\])?$')
# Expansion ROM at <addr> [virtual] [disabled] [size=64K]
_ROM_RE = re.compile(
    r'^Expansion ROM at ' + _ADDR_TOKEN +
    r'((?: \[(?:virtual|disabled|enhanced)\])*)'
    r'(?: \[size=(\d+)([KMGT]?)\])?$')
# Capabilities: [e0] Express (v2) Endpoint, MSI 00
# Capabilities: [100 v1] Advanced Error Reporting
_CAP_RE = re.compile(r'^Capabilities: \[([0-9a-f]+)(?: v(\d+))?\] (.*)$')
_EXPRESS_RE = re.compile(r'^Express \(v\d+\) (.*?)(?: \(Slot[+-]\))?, MSI [0-9a-f]{2}$')
_TOTAL_VFS_RE = re.compile(r'\bTotal VFs: (\d+)')


@dataclass
class Region:
    index: int
    io: bool
    address: Optional[int]          # None when lspci printed a <...> token
    address_text: str               # the token as printed
    is_64bit: bool
    prefetchable: bool
    size: Optional[int]             # None: no [size=] (size unknown)
    flags: List[str] = field(default_factory=list)   # virtual/disabled/enhanced


@dataclass
class Rom:
    address: Optional[int]
    address_text: str
    size: Optional[int]
    flags: List[str] = field(default_factory=list)


@dataclass
class Function:
    address: str                    # always with domain, e.g. 0000:01:00.0
    class_code: int                 # 16 bits: base class << 8 | subclass
    vendor_id: Optional[int]        # None: name truncated by lspci (see
    device_id: Optional[int]        #   parse_header)
    revision: Optional[int] = None  # None: lspci printed no "(rev xx)"
    prog_if: Optional[int] = None
    subsystem: Optional[List[int]] = None   # function-level "Subsystem:" only
    # 'ok'       capability list decoded (possibly empty)
    # 'denied'   "Capabilities: <access denied>" (config shorter than the list)
    # 'unknown'  lspci could not decode the header at all ("!!! Unknown header
    #            type 7f": config reads all-ones), so it says nothing on caps
    caps_state: str = 'ok'
    chain_broken: bool = False      # "<chain broken>"/"<chain looped>" seen
    caps: List[str] = field(default_factory=list)     # capability names, in order
    pcie_type_text: Optional[str] = None              # e.g. "Root Port"
    pcie_type: Optional[str] = None                   # vmgpu spelling
    flr: Optional[bool] = None      # DevCap FLReset+/-; None: not printed
    msi: bool = False
    msix: bool = False
    acs: bool = False
    sriov_total_vfs: Optional[int] = None
    regions: Dict[int, Region] = field(default_factory=dict)
    rom: Optional[Rom] = None
    driver: Optional[str] = None
    iommu_group: Optional[int] = None
    numa_node: Optional[int] = None


def parse_size(number, unit):
    """'256', 'M' -> 268435456 (lspci's show_size() uses binary units)."""
    return int(number) * _SIZE_UNITS[unit]


def _addr(token):
    return None if token.startswith('<') else int(token, 16)


def _flags(text):
    return re.findall(r'\[(\w+)\]', text)


def parse_header(line):
    m = _ADDR_RE.match(line)
    if not m:
        raise ParseError(f'not a function header: {line!r}')
    dom, bus, dev, fn = m.groups()
    address = f'{int(dom or "0", 16):04x}:{bus}:{dev}.{fn}'
    rest = line[m.end():]
    rev = _REV_RE.search(rest)
    progif = _PROGIF_RE.search(rest)
    fn = Function(address=address, class_code=None, vendor_id=None,
                  device_id=None,
                  revision=int(rev.group(1), 16) if rev else None,
                  prog_if=int(progif.group(1), 16) if progif else None)
    n = _NUMERIC_HEADER_RE.match(rest)
    if n:                                   # lspci -n
        fn.class_code = int(n.group(1), 16)
        fn.vendor_id, fn.device_id = int(n.group(2), 16), int(n.group(3), 16)
        return fn
    c = _CLASS_RE.search(' ' + rest)
    if not c:
        raise ParseError(f'{address}: header needs -n or -nn output: {line!r}')
    fn.class_code = int(c.group(1), 16)
    # lspci cuts long "vendor device [vvvv:dddd]" strings to its name buffer
    # and ends them with "...", which can swallow the IDs (seen on Haswell-EP
    # uncore functions).  They stay None then; parse_numeric_ids() on the
    # output of ``lspci -n`` supplies them.
    ids = _IDS_RE.findall(rest[c.end() - 1:])
    if ids:
        fn.vendor_id, fn.device_id = (int(x, 16) for x in ids[-1])
    return fn


def _parse_region(fn, body):
    m = _REGION_RE.match(body)
    if not m:
        raise ParseError(f'{fn.address}: unrecognised region line: {body!r}')
    (idx, maddr, mtype, nonpref, ioaddr, flags, size, unit) = m.groups()
    if ioaddr is not None:
        r = Region(index=int(idx), io=True, address=_addr(ioaddr),
                   address_text=ioaddr, is_64bit=False, prefetchable=False,
                   size=None)
    else:
        r = Region(index=int(idx), io=False, address=_addr(maddr),
                   address_text=maddr, is_64bit=(mtype == '64-bit'),
                   prefetchable=(nonpref is None), size=None)
    r.flags = _flags(flags)
    if size is not None:
        r.size = parse_size(size, unit)
    if r.index in fn.regions:
        raise ParseError(f'{fn.address}: region {r.index} printed twice')
    fn.regions[r.index] = r


def _parse_rom(fn, body):
    m = _ROM_RE.match(body)
    if not m:
        raise ParseError(f'{fn.address}: unrecognised ROM line: {body!r}')
    addr, flags, size, unit = m.groups()
    fn.rom = Rom(address=_addr(addr), address_text=addr,
                 size=parse_size(size, unit) if size is not None else None,
                 flags=_flags(flags))


def _parse_capability(fn, body):
    """Handle a one-tab 'Capabilities:' line; return the capability name."""
    if body == 'Capabilities: <access denied>':
        fn.caps_state = 'denied'
        return None
    if body.startswith('Capabilities: [') and body.endswith(
            ('<chain broken>', '<chain looped>')):
        fn.chain_broken = True
        return None
    m = _CAP_RE.match(body)
    if not m:
        raise ParseError(f'{fn.address}: unrecognised capability line: {body!r}')
    text = m.group(3)
    fn.caps.append(text)
    # Names are matched by prefix up to the ':' lspci puts after the name;
    # "MSI:" and "MSI-X:" must not be confused with the "MSI 00" (interrupt
    # message number) at the end of the Express line.
    if text.startswith('MSI:') or text == 'MSI':
        fn.msi = True
        return 'msi'
    if text.startswith('MSI-X:') or text == 'MSI-X':
        fn.msix = True
        return 'msix'
    if text.startswith('Express '):
        em = _EXPRESS_RE.match(text)
        t = em.group(1) if em else text[len('Express '):]
        fn.pcie_type_text = t
        fn.pcie_type = PCIE_TYPES.get(t)    # None for "Unknown type N"
        return 'express'
    if text.startswith('Access Control Services'):
        fn.acs = True
        return 'acs'
    if text.startswith('Single Root I/O Virtualization (SR-IOV)'):
        return 'sriov'
    return 'other'


def parse(text):
    """Return {address: Function} for every function in lspci's output."""
    functions = {}
    fn = None
    cap = None          # kind of the capability whose body we are in
    in_devcap = False   # inside the Express DevCap line or its continuation
    for raw in text.splitlines():
        if not raw.strip():
            fn = None
            continue
        if not raw.startswith('\t'):
            fn = parse_header(raw)
            if fn.address in functions:
                raise ParseError(f'{fn.address} listed twice')
            functions[fn.address] = fn
            cap = None
            in_devcap = False
            continue
        if fn is None:
            raise ParseError(f'indented line outside a function: {raw!r}')
        depth = len(raw) - len(raw.lstrip('\t'))
        body = raw.strip('\t')
        if depth == 1:
            cap = None
            in_devcap = False
            if body.startswith('Region '):
                _parse_region(fn, body)
            elif body.startswith('Expansion ROM at '):
                _parse_rom(fn, body)
            elif body.startswith('Capabilities:'):
                cap = _parse_capability(fn, body)
            elif body.startswith('Kernel driver in use: '):
                fn.driver = body[len('Kernel driver in use: '):]
            elif body.startswith('IOMMU group: '):
                fn.iommu_group = int(body[len('IOMMU group: '):])
            elif body.startswith('NUMA node: '):
                fn.numa_node = int(body[len('NUMA node: '):])
            elif body.startswith('Subsystem: '):
                ids = _IDS_RE.findall(body)
                if ids:
                    fn.subsystem = [int(ids[-1][0], 16), int(ids[-1][1], 16)]
            elif body.startswith('!!! Unknown header type'):
                fn.caps_state = 'unknown'
            continue
        # Capability bodies (depth >= 2).
        if cap == 'express':
            if depth == 2:
                in_devcap = body.startswith('DevCap:')
            if in_devcap:
                m = re.search(r'\bFLReset([+-])', body)
                if m:
                    fn.flr = m.group(1) == '+'
        elif cap == 'sriov':
            m = _TOTAL_VFS_RE.search(body)
            if m:
                fn.sriov_total_vfs = int(m.group(1))
    return functions


def main(argv):
    if len(argv) != 2:
        print(f'usage: {argv[0]} LSPCI_VVV_NN_OUTPUT', file=sys.stderr)
        return 2
    with open(argv[1], encoding='utf-8', errors='replace') as f:
        functions = parse(f.read())
    json.dump({a: asdict(f) for a, f in functions.items()}, sys.stdout,
              indent=1)
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
