#!/bin/sh
# Quick start, step 1: install the dependencies (Debian 12, as root), build,
# and survey this host.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
exec build/vmgpu survey "$@"
