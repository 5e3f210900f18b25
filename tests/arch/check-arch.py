#!/usr/bin/env python3
"""The shape of lib/ and tool/, checked on the build's own object files.

  check-arch.py SOURCE_ROOT BUILD_ROOT

1. Layering: a file of a lib/ folder may include the headers of its own
   folder and of the folders below it (LAYERS), never above.
2. No circle of files: the graph "file A calls a function defined in file B"
   (from `nm` of every lib/ object: its undefined symbols against the others'
   defined ones) has no cycle, and every edge between folders goes down.
3. No library source file over 800 lines.
4. tool/ has no circle of files either (same nm approach, on the objects of
   the vmgpu executable in build/vmgpu.p/), and its calls go down TOOL_LAYERS:
   main.c, the commands, run-plan.c, the renderers, common.c.
Prints one line per problem and "N passed, N failed"; exit 1 on a problem.
"""
import fnmatch
import os
import re
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


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, build = sys.argv[1], sys.argv[2]
    checks = [("layering of #includes", check_includes, (src,)),
              ("no circle of files, calls go down", check_calls, (src, build)),
              (f"no lib/ source over {MAX_LINES} lines", check_sizes, (src,)),
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
