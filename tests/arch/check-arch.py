#!/usr/bin/env python3
"""The shape of lib/ and tool/, checked on the build's own object files.

  check-arch.py SOURCE_ROOT BUILD_ROOT

1. Layering: a file of a lib/ folder may include the headers of its own
   folder and of the folders below it (LAYERS), never above.
2. No circle of files: the graph "file A calls a function defined in file B"
   (from `nm` of every lib/ object: its undefined symbols against the others'
   defined ones) has no cycle, and every edge between folders goes down.
3. No library source file over 800 lines.
4. One dlopen loader: no lib/ object calls dlopen()/dlsym() itself (they
   go through shared/dlsym.h's dlsym_many()), each object that loads a
   library carries its ".note.dlopen" ELF note, and the notes in vmgpu and
   libvmgpu.so are the JSON of https://systemd.io/ELF_DLOPEN_METADATA/.
5. tool/ has no circle of files either (same nm approach, on the objects of
   the vmgpu executable in build/vmgpu.p/), and its calls go down TOOL_LAYERS:
   main.c, the commands, run-plan.c, the renderers, common.c.
Prints one line per problem and "N passed, N failed"; exit 1 on a problem.
"""
import fnmatch
import json
import os
import re
import struct
import subprocess
import sys

# folder -> the folders it may use (besides itself and shared/)
LAYERS = {
    "core": set(),
    "host": {"core"},
    "partition": {"host", "core"},
    "state": {"core"},
    "placement": set(),
    "plan": {"partition", "state", "host", "core", "placement"},
    "apply": {"plan", "partition", "state", "host", "core"},
    "vm": {"host", "core"},
}
MAX_LINES = 800
# tool/ files, top to bottom (fnmatch patterns); a file calls only its own
# line or those below it, never up (tool/tool.h says the same).
TOOL_LAYERS = ["main.c", "cmd-*.c", "run-plan.c", "report-*.c", "common.c"]


def lib_sources(src):
    for dirpath, _, names in os.walk(os.path.join(src, "lib")):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.join(dirpath, n)


def folder_of(src, path):
    rel = os.path.relpath(path, os.path.join(src, "lib"))
    return rel.split(os.sep)[0] if os.sep in rel else ""


def header_folders(src):
    """header basename -> its folder (headers are included by bare name)"""
    out = {}
    for p in lib_sources(src):
        if p.endswith(".h"):
            out[os.path.basename(p)] = folder_of(src, p)
    return out


def check_includes(src, problems):
    heads = header_folders(src)
    for p in lib_sources(src):
        f = folder_of(src, p)
        if f not in LAYERS:
            if os.path.basename(p) not in ("vmgpu.h",):
                problems.append(f"{os.path.relpath(p, src)}: not in a stage folder of lib/")
            continue
        for n, line in enumerate(open(p, encoding="utf-8"), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            inc = m.group(1)
            if "/" in inc:
                problems.append(f"{os.path.relpath(p, src)}:{n}: includes \"{inc}\" by path: headers are included by name")
                continue
            g = heads.get(inc)
            if g is None or g == "" or g == f or g in LAYERS[f]:
                continue
            problems.append(f"{os.path.relpath(p, src)}:{n}: {f}/ includes {g}/{inc}, a folder above it")


def objects(build):
    for dirpath, _, names in os.walk(os.path.join(build, "lib")):
        if not dirpath.endswith(".a.p") and ".a.p" not in dirpath:
            continue
        for n in names:
            if n.endswith(".c.o"):
                yield os.path.join(dirpath, n)


def source_of(obj):
    """lib/libvmgpu-host.a.p/host_scan.c.o -> host/scan.c (meson flattens the path with _)"""
    base = os.path.basename(obj)[: -len(".o")]
    return base


def nm_symbols(objs):
    """(source, object) pairs -> (symbol -> defining source, source -> undefined symbols);
    a pair whose source is None is skipped"""
    defined, undefined = {}, {}
    for rel, o in objs:
        if rel is None:
            continue
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                undefined.setdefault(rel, set()).add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBRCW":
                defined[parts[2]] = rel
    return defined, undefined


def call_edges(defined, undefined):
    """file -> the other files defining a symbol it uses"""
    edges = {}
    for rel, syms in undefined.items():
        for s in syms:
            d = defined.get(s)
            if d and d != rel:
                edges.setdefault(rel, set()).add(d)
    return edges


def circles(edges):
    """the strongly connected components of more than one file (Tarjan)"""
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(set(edges) | {b for bs in edges.values() for b in bs}):
        if v not in index:
            visit(v)
    return sccs


def check_calls(src, build, problems):
    srcs = {}
    for p in lib_sources(src):
        if p.endswith(".c"):
            rel = os.path.relpath(p, os.path.join(src, "lib"))
            srcs[rel.replace(os.sep, "_")] = rel
    defined, undefined = nm_symbols((srcs.get(source_of(o)), o) for o in objects(build))
    if not defined:
        problems.append(f"no lib/ objects found under {build}: build first")
        return
    edges = call_edges(defined, undefined)
    print(f"# {len(set(defined.values()))} object files, {sum(len(b) for b in edges.values())} file-to-file call edges")
    for a, bs in sorted(edges.items()):
        fa = a.split(os.sep)[0] if os.sep in a else ""
        for b in sorted(bs):
            fb = b.split(os.sep)[0] if os.sep in b else ""
            if fa != fb and fa in LAYERS and fb not in LAYERS[fa]:
                problems.append(f"lib/{a} calls into lib/{b}: {fa}/ may not use {fb}/")
    for comp in circles(edges):
        problems.append("circle of files: " + " -> ".join("lib/" + c for c in comp))


def tool_layer(name):
    for i, pat in enumerate(TOOL_LAYERS):
        if fnmatch.fnmatch(name, pat):
            return i
    return None


def check_tool_calls(src, build, problems):
    tool = os.path.join(src, "tool")
    srcs = {"tool_" + n: n for n in sorted(os.listdir(tool)) if n.endswith(".c")}
    objdir = os.path.join(build, "vmgpu.p")
    objs = []
    if os.path.isdir(objdir):  # meson names tool/main.c's object tool_main.c.o
        objs = [(srcs.get(n[: -len(".o")]), os.path.join(objdir, n))
                for n in sorted(os.listdir(objdir)) if n.endswith(".c.o")]
    defined, undefined = nm_symbols(objs)
    if not defined:
        problems.append(f"no tool/ objects found under {objdir}: build first")
        return
    edges = call_edges(defined, undefined)
    print(f"# tool/: {len(set(defined.values()))} object files, {sum(len(b) for b in edges.values())} file-to-file call edges")
    for n in srcs.values():
        if tool_layer(n) is None:
            problems.append(f"tool/{n}: in no line of TOOL_LAYERS")
    for a, bs in sorted(edges.items()):
        for b in sorted(bs):
            la, lb = tool_layer(a), tool_layer(b)
            if la is not None and lb is not None and lb < la:
                problems.append(f"tool/{a} calls into tool/{b}, a file above it")
    for comp in circles(edges):
        problems.append("circle of files: " + " -> ".join("tool/" + c for c in comp))


def check_sizes(src, problems):
    for p in lib_sources(src):
        if p.endswith(".c"):
            n = sum(1 for _ in open(p, encoding="utf-8"))
            if n > MAX_LINES:
                problems.append(f"{os.path.relpath(p, src)}: {n} lines (at most {MAX_LINES})")


DLOPEN_SELF = {"dlopen", "dlmopen", "dlsym", "dlvsym"}
NOTE_TYPE_DLOPEN = 0x407C0C0A


def dlopen_notes(path):
    """the JSON objects of PATH's .note.dlopen section, or None if it has none"""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(i):
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        return name, off, size

    _, stroff, _ = section(shstrndx)
    out = None
    for i in range(shnum):
        name, off, size = section(i)
        if data[stroff + name:data.index(b"\0", stroff + name)] != b".note.dlopen":
            continue
        out = [] if out is None else out
        pos, end = off, off + size
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            pos += 12
            owner = data[pos:pos + namesz].rstrip(b"\0")
            pos += (namesz + 3) & ~3
            desc = data[pos:pos + descsz].rstrip(b"\0")
            pos += (descsz + 3) & ~3
            if owner == b"FDO" and ntype == NOTE_TYPE_DLOPEN:
                out.extend(json.loads(desc))
    return out


def check_dlopen(src, build, problems):
    loaders = 0
    for o in objects(build):
        rel = source_of(o)
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        undefined = {p[1] for p in (line.split() for line in out.splitlines()) if len(p) == 2 and p[0] == "U"}
        for s in sorted(undefined & DLOPEN_SELF):
            problems.append(f"{rel}: calls {s}() itself: load through dlsym_many() (shared/dlsym.h)")
        if "dlsym_many" in undefined:
            loaders += 1
            if not dlopen_notes(o):
                problems.append(f"{rel}: loads a library but has no ELF_NOTE_DLOPEN")
    for binary in (os.path.join(build, "vmgpu"), os.path.join(build, "lib", "libvmgpu.so")):
        if not os.path.exists(binary):
            problems.append(f"{binary}: missing: build first")
            continue
        notes = dlopen_notes(binary) or []
        for n in notes:
            if not (isinstance(n.get("feature"), str) and isinstance(n.get("description"), str)
                    and n.get("priority") in ("required", "recommended", "suggested")
                    and isinstance(n.get("soname"), list) and n["soname"]):
                problems.append(f"{binary}: malformed .note.dlopen entry {n}")
        print(f"# {os.path.relpath(binary, build)}: dlopen notes for " + ", ".join(
            s for n in notes for s in n.get("soname", [])))
        if len(notes) != loaders:
            problems.append(f"{binary}: {len(notes)} dlopen notes, {loaders} objects load a library")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, build = sys.argv[1], sys.argv[2]
    checks = [("layering of #includes", check_includes, (src,)),
              ("no circle of files, calls go down", check_calls, (src, build)),
              (f"no lib/ source over {MAX_LINES} lines", check_sizes, (src,)),
              ("one dlopen loader, each library noted in .note.dlopen", check_dlopen, (src, build)),
              ("tool/: no circle of files, calls go down", check_tool_calls, (src, build))]
    passed = failed = 0
    for name, fn, args in checks:
        problems = []
        fn(*args, problems)
        for p in problems:
            print("# " + p)
        print(("ok - " if not problems else "not ok - ") + name)
        passed += not problems
        failed += bool(problems)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
