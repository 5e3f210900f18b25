#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-survey-bench.sh — time `vmgpu survey --all --json` against
# `lspci -vvv` on the same large synthetic host tree, side by side.
#
#   run-survey-bench.sh [--functions N] [--runs R] [--seed S] [--keep DIR]
#                       [--vmgpu PATH]
#
# This is a report, not a test: it prints a markdown table with wall time
# (median and minimum over R runs, after one warm-up run of each tool) and
# peak resident memory, the vmgpu/lspci time ratio and whether the targets
# (vmgpu at most half of lspci's time, peak RSS under 16 MiB) were met.
# Missing a target still exits 0; only a tool that cannot run or fails
# makes it exit non-zero (77 = skipped: vmgpu or lspci not available).
#
# Why lspci is the yardstick: it is the tool people use to answer the same
# question today, it reads the same sysfs files through libpci, and its
# `-A linux-sysfs -O sysfs.path=` mode can be pointed at a fake tree, so
# both programs do their work on identical input.
#
# Environment: VMGPU (binary, default <repo>/build/vmgpu; --vmgpu wins),
# PYTHON (default python3), TMPDIR (where the throw-away tree goes),
# VMGPU_BENCH_METER=python (use the Python meter even if GNU time exists).

set -euo pipefail
export LC_ALL=C     # '.' as the decimal point for awk and $EPOCHREALTIME

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

functions=4000
runs=5
seed=1
keep=
vmgpu=${VMGPU:-$repo/build/vmgpu}
python=${PYTHON:-python3}

usage() {
    sed -n '4,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --functions N   PCI functions in the synthetic tree (default $functions)
  --runs R        timed runs per tool after one warm-up (default $runs)
  --seed S        generator seed (default $seed)
  --keep DIR      build the tree in DIR and keep it; reuse it if it already
                  holds a tree with the same --functions and --seed
  --vmgpu PATH    vmgpu binary (default \$VMGPU or <repo>/build/vmgpu)
EOF
}

die() { echo "run-survey-bench: $*" >&2; exit 1; }
skip() { echo "run-survey-bench: SKIP: $*" >&2; exit 77; }

while [ $# -gt 0 ]; do
    case $1 in
        --functions) functions=${2:?--functions needs a value}; shift 2 ;;
        --functions=*) functions=${1#*=}; shift ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --seed) seed=${2:?--seed needs a value}; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        --keep) keep=${2:?--keep needs a directory}; shift 2 ;;
        --keep=*) keep=${1#*=}; shift ;;
        --vmgpu) vmgpu=${2:?--vmgpu needs a path}; shift 2 ;;
        --vmgpu=*) vmgpu=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 1 ;;
    esac
done

case $functions in ''|*[!0-9]*) die "--functions must be a number" ;; esac
case $runs in ''|*[!0-9]*|0) die "--runs must be a positive number" ;; esac
case $seed in ''|*[!0-9]*) die "--seed must be a number" ;; esac

[ -x "$vmgpu" ] || skip "vmgpu not found at $vmgpu (build it: ninja -C build, or set VMGPU=)"
# meson passes the target relative to the build directory; the report
# should name the binary unambiguously.
vmgpu=$(cd "$(dirname "$vmgpu")" && pwd)/$(basename "$vmgpu")
lspci=$(command -v lspci) || skip "lspci (pciutils) not installed"
command -v "$python" >/dev/null || skip "$python not found (needed to generate the tree)"

# ---------------------------------------------------------------- the tree
work=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-bench.XXXXXX")
# shellcheck disable=SC2317  # called from the trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

if [ -n "$keep" ]; then
    mkdir -p "$keep"
    tree=$(cd "$keep" && pwd)
    manifest=$tree/vmgpu-bench-tree.json
    if [ -f "$manifest" ] && "$python" - "$manifest" "$functions" "$seed" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if (m.get("functions"), m.get("seed")) == (int(sys.argv[2]), int(sys.argv[3])) else 1)
EOF
    then
        echo "Reusing tree $tree" >&2
    else
        "$python" "$here/gen-host-tree.py" "$tree" --functions "$functions" \
            --seed "$seed" --force >&2
    fi
else
    tree=$work/tree
    "$python" "$here/gen-host-tree.py" "$tree" --functions "$functions" \
        --seed "$seed" >&2
fi
nfunc=$(find "$tree/sys/bus/pci/devices" -mindepth 1 -maxdepth 1 | wc -l)
tree_desc=$("$python" - "$tree/vmgpu-bench-tree.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
k = m["by_kind"]
g = lambda *names: sum(k.get(n, 0) for n in names)
print("%d GPUs (%d VGA, %d 3D) + %d audio/USB/UCSI functions behind %d switches; "
      "%d SR-IOV PFs with %d VFs; %d root buses in %d PCI domains; %d IOMMU groups"
      % (g("gpu-vga", "gpu-3d"), g("gpu-vga"), g("gpu-3d"),
         g("gpu-audio", "gpu-usb", "gpu-ucsi"), g("switch-up"),
         g("sriov-pf-nic", "sriov-pf-nvme"), g("vf"), len(m["root_buses"]),
         len(m["domains"]), m["iommu_groups"]))
EOF
)

vmgpu_cmd=("$vmgpu" --root "$tree" survey --all --json)
lspci_cmd=("$lspci" -vvv -A linux-sysfs -O "sysfs.path=$tree/sys/bus/pci")

# ------------------------------------------------------------- measuring
# One measurement = wall seconds and peak RSS (KiB) of one run, output to
# /dev/null.  Wall time is read from bash's $EPOCHREALTIME around the run
# (microseconds, no fork; `date` where bash is older than 5), because
# time(1)'s %e has only 10 ms resolution; peak RSS is GNU time's %M.
# Without GNU time (Debian package "time") a small Python wrapper measures
# both (see the caveat there).
if [ -n "${EPOCHREALTIME:-}" ]; then
    clock() { REPLY=${EPOCHREALTIME/./}; }
else
    clock() { REPLY=$(( $(date +%s%N) / 1000 )); }
fi

if [ "${VMGPU_BENCH_METER:-}" != python ] && [ -x /usr/bin/time ] &&
        /usr/bin/time -f '%M' -o /dev/null true 2>/dev/null; then
    meter="GNU time (%M) + bash clock"
    measure() {   # measure LOG CMD... -> prints "seconds kib rc"
        local log=$1; shift
        local tf=$work/time.out t0 t1 rc=0
        clock; t0=$REPLY
        /usr/bin/time -f '%M' -o "$tf" "$@" >/dev/null 2>>"$log" || rc=$?
        clock; t1=$REPLY
        # On failure GNU time adds a "Command exited with ..." line first.
        awk -v us="$((t1 - t0))" -v rc="$rc" \
            'END { printf "%.6f %d %d\n", us / 1e6, $1, rc }' "$tf"
    }
else
    # Python fallback.  The child's peak RSS (wait4's ru_maxrss, the same
    # figure getrusage(RUSAGE_CHILDREN) gives for a single child) also
    # counts the pages the forked interpreter held before exec(), so the
    # value is an upper bound with a floor of the wrapper's own size; -S -I
    # and plain os.fork() keep that floor low (~7 MiB, against ~1 MiB for
    # GNU time).  The floor is measured and reported.
    meter_py() {
        "$python" -S -I - "$@" <<'EOF'
import os, sys, time
log, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        fd = os.open(os.devnull, os.O_RDWR)
        os.dup2(fd, 0)
        os.dup2(fd, 1)
        os.dup2(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), 2)
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
dt = time.perf_counter() - t0
print("%.6f %d %d" % (dt, ru.ru_maxrss, os.waitstatus_to_exitcode(status)))  # KiB on Linux
EOF
    }
    floor=$(meter_py /dev/null true | awk '{ print $2 }')
    meter="python fork/wait4 ru_maxrss (upper bound: wrapper floor $floor KiB)"
    measure() { meter_py "$@"; }
fi

# Warm-up: fills the page cache with the tree and pci.ids for both tools
# and checks that each one actually read the whole tree.
"${vmgpu_cmd[@]}" >"$work/vmgpu.json" 2>"$work/vmgpu.err" || {
    rc=$?; cat "$work/vmgpu.err" >&2; die "vmgpu failed on the tree (exit $rc)"; }
"${lspci_cmd[@]}" >"$work/lspci.txt" 2>"$work/lspci.err" || {
    rc=$?; cat "$work/lspci.err" >&2; die "lspci failed on the tree (exit $rc)"; }
seen_vmgpu=$("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["devices"]))' \
    "$work/vmgpu.json" 2>/dev/null || echo "?")
seen_lspci=$(grep -c '^[0-9a-f]' "$work/lspci.txt" || true)

: >"$work/vmgpu.runs"
: >"$work/lspci.runs"
for ((i = 1; i <= runs; i++)); do
    # Interleaved so that both tools see the same machine conditions.
    m=$(measure "$work/vmgpu.err" "${vmgpu_cmd[@]}")
    [ "${m##* }" = 0 ] || die "vmgpu exited ${m##* } in run $i"
    echo "$m" >>"$work/vmgpu.runs"
    m=$(measure "$work/lspci.err" "${lspci_cmd[@]}")
    [ "${m##* }" = 0 ] || die "lspci exited ${m##* } in run $i"
    echo "$m" >>"$work/lspci.runs"
done

stats() {   # stats FILE -> "median min maxrss"
    sort -n -k1,1 "$1" | awk '
        { t[NR] = $1; if ($2 > rss) rss = $2 }
        END {
            med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            printf "%.3f %.3f %d\n", med, t[1], rss
        }'
}
read -r v_med v_min v_rss < <(stats "$work/vmgpu.runs")
read -r l_med l_min l_rss < <(stats "$work/lspci.runs")

# ---------------------------------------------------------------- report
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[ -n "$cpu" ] || cpu=$(uname -m)
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
vmgpu_ver=$("$vmgpu" --version 2>/dev/null | head -n 1 || true)
lspci_ver=$("$lspci" --version 2>/dev/null | head -n 1 || true)
ratio=$(awk -v a="$v_med" -v b="$l_med" 'BEGIN { printf "%.2f", a / b }')
ratio_min=$(awk -v a="$v_min" -v b="$l_min" 'BEGIN { printf "%.2f", a / b }')
time_verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.5) ? "target met" : "target missed" }')
rss_mib=$(awk -v k="$v_rss" 'BEGIN { printf "%.1f", k / 1024 }')
rss_verdict=$(awk -v k="$v_rss" 'BEGIN { print (k < 16 * 1024) ? "target met" : "target missed" }')

cat <<EOF
## vmgpu survey vs lspci — $(date -u '+%Y-%m-%d %H:%M UTC')

- Tree: $nfunc PCI functions — $tree_desc
- Machine: $cpu, $ncpu CPUs, Linux $(uname -r)
- Tools: ${vmgpu_ver:-vmgpu} ($vmgpu); ${lspci_ver:-lspci}
- Method: $runs timed runs per tool, interleaved, after one warm-up each (page cache warm); output to /dev/null; measured with $meter

| tool | command | median s | min s | peak RSS KiB |
|---|---|---:|---:|---:|
| vmgpu | \`vmgpu --root TREE survey --all --json\` | $v_med | $v_min | $v_rss |
| lspci | \`lspci -vvv -A linux-sysfs -O sysfs.path=TREE/sys/bus/pci\` | $l_med | $l_min | $l_rss |

- Time ratio vmgpu/lspci: **$ratio** (median), $ratio_min (min) — target ≤ 0.50: **$time_verdict**
- vmgpu peak RSS: **$rss_mib MiB** — target < 16 MiB: **$rss_verdict**
- Functions reported: vmgpu $seen_vmgpu, lspci $seen_lspci (tree has $nfunc)
EOF
for t in vmgpu lspci; do
    if [ -s "$work/$t.err" ]; then
        echo "- $t wrote to stderr (first line): \`$(head -n 1 "$work/$t.err")\`"
    fi
done
exit 0
