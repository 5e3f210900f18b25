#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Copy a fake/captured sysfs tree and turn "flattened" symlinks back into symlinks.

    materialize.py SRC DST

Why this exists
---------------
The PCI datasets in ``shared/pcidata`` (``trees/*/`` and ``fixtures/*/``) are
sysfs trees whose meaning lives partly in symlinks: ``bus/pci/devices/<BDF>``
points into ``devices/pci0000:00/...``, ``<dev>/driver`` points at
``bus/pci/drivers/<name>`` and ``<dev>/iommu_group`` at
``kernel/iommu_groups/<n>``.  Some ways of shipping those trees (archivers,
artifact stores, copies onto filesystems without symlinks) replace every
symlink by a regular file that holds the link target text, e.g. a 40-byte file
``bus/pci/devices/0000:01:00.0`` containing
``../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0``.  Neither lspci nor
vmgpu can read such a tree (lspci realpath()s ``driver`` and would print the
basename ``driver``; a ``devices/`` entry that is a file has no ``config``).

This script repairs that *transport damage only*: it never invents data.  A
regular file becomes a relative symlink only when

* its whole content is one line (an optional single trailing newline is
  tolerated) with no NUL byte, starting with ``../`` or ``./`` -- the shape of
  every relative link the kernel exposes in sysfs, and of nothing else there
  (sysfs attribute files hold numbers, hex, names, or binary config space), and
* that target, resolved relative to the file's own directory, names a path
  that exists inside the copied tree (possibly through other repaired links).

Anything else is copied byte for byte.  Files that look like links but whose
target is missing stay regular files (they are reported on stderr), because a
dangling link carries no information lspci or vmgpu would use either.  Real
symlinks in SRC (should a future copy keep them) are reproduced as symlinks
with the same target text.

The module is also imported by test_oracle.py (``materialize(src, dst)``).
"""

import os
import shutil
import sys

# Longest link text we consider.  Real sysfs links are well under PATH_MAX;
# the bound only keeps us from reading large data files (e.g. 4 KiB `config`)
# into memory for a check that cannot succeed.
_MAX_LINK_TEXT = 4096


def _link_text(path, size):
    """Return the link target held by a flattened-symlink file, or None."""
    if size == 0 or size > _MAX_LINK_TEXT:
        return None
    with open(path, 'rb') as f:
        data = f.read(_MAX_LINK_TEXT + 1)
    if not (data.startswith(b'../') or data.startswith(b'./')):
        return None
    if data.endswith(b'\n'):
        data = data[:-1]
    if b'\n' in data or b'\0' in data or b'\r' in data:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return None


def _inside(root_real, path):
    """True when `path` resolves (following symlinks) to something under root."""
    real = os.path.realpath(path)
    return (real == root_real or real.startswith(root_real + os.sep)) and \
        os.path.exists(real)


def materialize(src, dst, log=sys.stderr):
    """Copy tree `src` to `dst` (which must not exist), repairing flattened links.

    Returns a dict of counters: files, links (repaired), kept_links (real
    symlinks copied), unresolved (path-looking files left as files).
    """
    src = os.path.abspath(src)
    dst = os.path.abspath(dst)
    if not os.path.isdir(src):
        raise NotADirectoryError(src)
    os.makedirs(dst)
    dst_real = os.path.realpath(dst)

    stats = {'files': 0, 'links': 0, 'kept_links': 0, 'unresolved': 0}
    # (src_path, dst_path, target_text) of files that look like flattened links.  They
    # are created only after every directory and plain file is in place,
    # because a link may point at something copied later in the walk.
    pending = []

    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        out_dir = dst if rel == '.' else os.path.join(dst, rel)
        # os.walk lists symlinks to directories among dirnames but does not
        # descend into them (followlinks=False); handle them as links here.
        for name in list(dirnames):
            s = os.path.join(dirpath, name)
            if os.path.islink(s):
                os.symlink(os.readlink(s), os.path.join(out_dir, name))
                stats['kept_links'] += 1
                dirnames.remove(name)
            else:
                # Default permissions on purpose: the shared copy is
                # read-only, and copying r-x modes would stop us (and the
                # caller's temp-dir cleanup) from writing into the copy.
                os.mkdir(os.path.join(out_dir, name))
        for name in filenames:
            s = os.path.join(dirpath, name)
            d = os.path.join(out_dir, name)
            st = os.lstat(s)
            if os.path.islink(s):
                os.symlink(os.readlink(s), d)
                stats['kept_links'] += 1
                continue
            target = _link_text(s, st.st_size)
            if target is not None:
                pending.append((s, d, target))
                continue
            shutil.copyfile(s, d)
            stats['files'] += 1

    # Create the links.  Iterate to a fixed point so that a link whose target
    # passes through another (not yet created) link still resolves; each
    # round creates at least one link or stops, so this terminates.
    while pending:
        remaining = []
        for s, d, target in pending:
            if _inside(dst_real, os.path.join(os.path.dirname(d), target)):
                os.symlink(target, d)
                stats['links'] += 1
            else:
                remaining.append((s, d, target))
        if len(remaining) == len(pending):
            break
        pending = remaining
    else:
        remaining = []

    for s, d, target in remaining:
        # Not a link we can repair: keep the bytes exactly as they were.
        shutil.copyfile(s, d)
        stats['unresolved'] += 1
        if log is not None:
            print(f'materialize: left as file (target not in tree): '
                  f'{os.path.relpath(d, dst)} -> {target}', file=log)
    return stats


def main(argv):
    if len(argv) != 3:
        print(f'usage: {argv[0]} SRC DST', file=sys.stderr)
        return 2
    try:
        stats = materialize(argv[1], argv[2])
    except OSError as e:
        print(f'materialize: {e}', file=sys.stderr)
        return 1
    print(f"materialize: {stats['files']} files, {stats['links']} links "
          f"repaired, {stats['kept_links']} symlinks kept, "
          f"{stats['unresolved']} unresolved")
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
