#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-assign-bench.sh — time `vmgpu assign` + `vmgpu release` of a GPU group
# against the bare shell sequence of the same sysfs writes, side by side, on
# a live kernel: the test guest of tests/guest (Debian's kernel under QEMU,
# q35 with an emulated Intel IOMMU; the GPU group is 01:00.0 stdvga on
# bochs-drm + 01:00.1 ich9-intel-hda on snd_hda_intel).
#
#   run-assign-bench.sh [--cycles N] [--vmgpu PATH] [--keep DIR]
#
# This is a report, not a test: a markdown table of the median wall time of
# assign, release and the whole cycle for each method, and the vmgpu/shell
# ratio of the cycle medians (target <= 1.5).  Missing the target still
# exits 0; a failed run exits 1; 77 = skipped (the test guest cannot be
# built here, see tests/guest/make-guest.sh).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cycles=20
keep=
vmgpu=${VMGPU:-$repo/build/vmgpu}
target=1.5

usage() {
    sed -n '4,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    echo
    echo "Options:"
    echo "  --cycles N     timed assign+release cycles per method (default $cycles)"
    echo "  --vmgpu PATH   vmgpu binary (default \$VMGPU or <repo>/build/vmgpu)"
    echo "  --keep DIR     keep the raw figures (times.txt, env.txt, guest.log) in DIR"
}
while [ $# -gt 0 ]; do
    case $1 in
        --cycles) cycles=$2; shift 2 ;;
        --vmgpu) vmgpu=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[ -x "$vmgpu" ] || { echo "run-assign-bench: $vmgpu is not an executable" >&2; exit 77; }

set +e
"$repo/tests/guest/make-guest.sh" >&2
rc=$?
set -e
[ $rc -eq 77 ] && { echo "SKIP: the test guest cannot be built here" >&2; exit 77; }
[ $rc -eq 0 ] || { echo "run-assign-bench: make-guest.sh failed ($rc)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vmgpu-assign-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${keep:-$work/out}
[ -n "$keep" ] && rm -rf "$keep"

# vmgpu and what it dlopen()s later (libkmod, to load vfio-pci)
mapfile -t carry < <("$repo/tests/guest/vmgpu-carry.sh" "$vmgpu")
# The floor for any tool written in C and linked against the shared libc:
# a program that prints one line. The shell sequence starts no process.
printf '#include <stdio.h>\nint main(void) { return puts("") < 0; }\n' > "$work/hello.c"
if ${CC:-cc} -O2 -o "$work/hello-dyn" "$work/hello.c" 2>/dev/null; then
    carry+=(-f "$work/hello-dyn=/testbed/hello-dyn")
fi
t0=$EPOCHREALTIME
set +e
"$repo/tests/guest/run-guest.sh" -t 900 "${carry[@]}" -e "CYCLES=$cycles" -o "$out" \
    "$here/bench-guest.sh" > "$work/guest.log" 2>&1
rc=$?
set -e
wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
mkdir -p "$out" && cp "$work/guest.log" "$out/guest.log"
if [ $rc -ne 0 ] || [ ! -s "$out/times.txt" ]; then
    grep -E '^bench:|run-guest:' "$work/guest.log" >&2 || tail -n 30 "$work/guest.log" >&2
    echo "run-assign-bench: the guest run failed (exit $rc)" >&2
    exit 1
fi

# median of the nanosecond values on stdin, in milliseconds
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }'
}
med() { awk -v m="$1" -v o="$2" '$1 == m && $2 == o { print $3 }' "$out/times.txt" | median; }
# per-cycle sums: the n-th assign + the n-th release of a method
cyc() {
    awk -v m="$1" '$1 == m && $2 == "assign" { a[++na] = $3 } $1 == m && $2 == "release" { r[++nr] = $3 }
        END { for (i = 1; i <= na && i <= nr; i++) print a[i] + r[i] }' "$out/times.txt" | median
}
env_of() { sed -n "s/^$1 //p" "$out/env.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

va=$(med vmgpu assign) vr=$(med vmgpu release) vc=$(cyc vmgpu)
sa=$(med shell assign) sr=$(med shell release) sc=$(cyc shell)
vs=$(med vmgpu start)
ratio_c=$(ratio "$vc" "$sc")
verdict=$(awk -v r="$ratio_c" -v t="$target" 'BEGIN { print (r + 0 <= t + 0) ? "met" : "MISSED" }')
host_cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)

echo "# assign/release: vmgpu vs the bare shell sequence"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); host: ${host_cpu:-?}, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "guest: kernel $(env_of kernel), $(env_of cpus) vCPUs ($(env_of cpu)), QEMU TCG; clock $(env_of clock); $(env_of processes) processes"
echo "$(env_of cycles) cycles per method, alternating, after one warm-up cycle each; guest run ${wall}s"
echo
echo "| step | vmgpu median (ms) | shell median (ms) | vmgpu/shell |"
echo "|---|---:|---:|---:|"
echo "| assign 01:00.0 (+ 01:00.1) | $va | $sa | $(ratio "$va" "$sa") |"
echo "| release | $vr | $sr | $(ratio "$vr" "$sr") |"
echo "| assign + release | $vc | $sc | $ratio_c |"
echo "| process start (\`vmgpu --version\`, $(env_of libs) shared libraries) | $vs | | |"
echo "| \`vmgpu survey\` (start + reading the host) | $(med vmgpu survey) | | |"
echo "| \`vmgpu assign --dry-run\` (start + reading + every check, no write) | $(med vmgpu plan) | | |"
hs=$(med hello start)
[ "$hs" != nan ] && echo "| process start of a C program that prints one line (shared libc) | $hs | | |"
echo
echo "ratio of the cycle medians: $ratio_c (target <= $target: $verdict)"
echo "without the two process starts per cycle: $(awk -v c="$vc" -v s="$vs" -v sh="$sc" 'BEGIN { if (sh > 0) printf "%.2f", (c - 2 * s) / sh; else print "nan" }')"
[ "$hs" != nan ] && echo "best ratio any dynamically linked program could reach here (shell + two starts of the one-line program): $(awk -v h="$hs" -v sh="$sc" 'BEGIN { if (sh > 0) printf "%.2f", (sh + 2 * h) / sh; else print "nan" }')"
