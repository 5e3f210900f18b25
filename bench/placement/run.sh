#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run.sh — build the placement benchmark with cc -O2 and run it.
#
#   bench/placement/run.sh [--gpus N] [--desktops N] [--seed S] [--runs R]
#
# Arguments go to bench-placement (see bench-placement.c). CC picks the
# compiler (default cc). The binary goes to a temporary directory, removed
# afterwards. A report, not a test: exit 0 when figures were printed, even
# with a target missed; non-zero only when the build or the solve fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"${CC:-cc}" -std=c17 -O2 -Wall -Wextra -D_GNU_SOURCE -I"$repo/lib" -I"$repo/shared" \
	"$here/bench-placement.c" "$repo"/lib/placement/*.c -o "$tmp/bench-placement"

echo "# placement benchmark — $(date -u +%Y-%m-%d), $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo
"$tmp/bench-placement" "$@"
