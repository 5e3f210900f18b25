#!/bin/bash
# Fuzz every parser for a while (CI: briefly) with libFuzzer under ASan+UBSan.
#   tests/fuzz/run-fuzzers.sh [SECONDS_PER_TARGET]   (default 20)
# Builds build-fuzz/ with clang -Dfuzzing=true. New inputs go to a scratch
# copy of the corpus; a crash leaves crash-* files in build-fuzz/ and fails.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-20}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
pass=0 fail=0
for t in address resource config iomem attr journal vendor pool qmp; do
	work=$(mktemp -d)
	cp tests/fuzz/corpus/$t/* "$work/"
	if (cd build-fuzz && UBSAN_OPTIONS=halt_on_error=1 ./tests/fuzz/fuzz-$t -max_total_time="$secs" \
		-max_len=4096 -print_final_stats=0 "$work" >"fuzz-$t.log" 2>&1); then
		echo "ok - fuzz-$t ($secs s, $(ls "$work" | wc -l) inputs)"
		pass=$((pass + 1))
	else
		echo "not ok - fuzz-$t: see build-fuzz/fuzz-$t.log"
		tail -20 "build-fuzz/fuzz-$t.log"
		fail=$((fail + 1))
	fi
	rm -rf "$work"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
