#!/bin/bash
# The whole test suite, as CI runs it (.ci/run) and as the README says:
#   1. installs missing Debian packages (when root),
#   2. builds with gcc (-Werror) and runs every meson suite: unit, cli,
#      oracle (vs lspci on ../shared/pcidata), fuzz corpus, guest (a real
#      kernel under QEMU), then the opt-in libvirt suite (libvirtd in the
#      guest starting a domain that gets a device through vmgpu),
#   3. builds again with ASan+UBSan (clang) and runs all but the guest suite,
#   4. fuzzes each parser briefly (FUZZ_SECONDS, default 15).
# Ends with one line "N passed, N failed, N skipped" over all of it.
set -u
cd "$(dirname "$0")/.."
total_ok=0 total_fail=0 total_skip=0

scripts/install-deps.sh || echo "warning: some dependencies are missing; tests needing them will fail or skip"

# Add meson's summary (the "Ok:/Fail:/Skipped:" block of its output) to the totals.
count() {
	local log=$1 ok fail skip to
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	total_ok=$((total_ok + ${ok:-0}))
	total_fail=$((total_fail + ${fail:-0} + ${to:-0}))
	total_skip=$((total_skip + ${skip:-0}))
	[ -n "$ok" ] || total_fail=$((total_fail + 1)) # meson itself failed
}

step() { echo; echo "=== $*"; }

step "build (gcc)"
# -Werror here (development and CI), not in meson.build: packagers' newer
# compilers must not fail on a new warning. The crash injection of the guest
# tests is built in only here (-Dtest-hooks): a default build has none.
[ -f build/build.ninja ] || meson setup build -Dwerror=true -Dtest-hooks=true >/dev/null
if ninja -C build; then
	step "meson test (all suites)"
	meson test -C build --print-errorlogs --num-processes 2 2>&1 | tee build/test-all.log
	count build/test-all.log
	step "meson test --suite libvirt (a real libvirtd in the test guest, ~70 s)"
	meson test -C build --print-errorlogs --suite libvirt 2>&1 | tee build/test-libvirt.log
	count build/test-libvirt.log
else
	total_fail=$((total_fail + 1))
fi

step "build and test with ASan+UBSan (clang)"
if command -v clang >/dev/null; then
	[ -f build-asan/build.ninja ] ||
		CC=clang meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	if ninja -C build-asan >/dev/null; then
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C build-asan --print-errorlogs --no-suite guest --num-processes 2 2>&1 |
			tee build-asan/test-asan.log
		count build-asan/test-asan.log
	else
		ninja -C build-asan
		total_fail=$((total_fail + 1))
	fi
else
	echo "clang missing: sanitizer build skipped"
	total_skip=$((total_skip + 1))
fi

step "fuzz each parser (${FUZZ_SECONDS:-15} s each)"
if command -v clang >/dev/null; then
	tests/fuzz/run-fuzzers.sh "${FUZZ_SECONDS:-15}" | tee /tmp/vmgpu-fuzz.log
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' /tmp/vmgpu-fuzz.log | tail -1)
	[ -n "$p" ] || p="0 1"
	total_ok=$((total_ok + ${p%% *}))
	total_fail=$((total_fail + ${p##* }))
fi

echo
echo "$total_ok passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
