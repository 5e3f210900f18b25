#!/bin/bash
# Golden outputs of every renderer on fixture hosts, and hostile VM names.
#   test-render.sh VMGPU MKFIXTURE GOLDEN_DIR     (UPDATE=1 rewrites the goldens)
set -u
VMGPU=$1 MKFIXTURE=$2 GOLDEN=$3
pass=0 fail=0
tmp=$(mktemp -d)
# Fixture trees are listed in a file: fixture() runs in $(...) subshells.
trap '[ -f "$tmp/trees" ] && xargs -d "\n" rm -rf <"$tmp/trees"; rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2"; }

fixture() {
	local t
	t=$("$MKFIXTURE" "$1") || exit 99
	echo "$t" >>"$tmp/trees"
	echo "$t"
}

# golden NAME TREE ARGS...: render, replace the temporary root, compare.
golden() {
	local name=$1 tree=$2
	shift 2
	"$VMGPU" --root "$tree" "$@" >"$tmp/out" 2>"$tmp/err" || { bad "$name: exit $?" "$(cat "$tmp/err")"; return; }
	sed -i "s|$tree|ROOT|g" "$tmp/out"
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$tmp/out" "$GOLDEN/$name"
		ok "$name (golden updated)"
	elif diff -u "$GOLDEN/$name" "$tmp/out" >"$tmp/diff"; then
		ok "$name matches its golden"
	else
		bad "$name differs from tests/golden/$name" "$(head -40 "$tmp/diff")"
	fi
}

ga=$(fixture gpu-audio)
lb=$(fixture large-bar)
for fmt in xml qemu powershell; do
	golden "gpu-audio.$fmt" "$ga" attach 01:00.0 --vm desk1 --format "$fmt"
	golden "large-bar.$fmt" "$lb" attach 01:00.0 --vm ml1 --format "$fmt"
	golden "two-gpus.$fmt" "$lb" attach 01:00.0 02:00.0 --vm ml2 --format "$fmt"
done
golden "gpu-audio.release.powershell" "$ga" detach 01:00.0 --vm desk1 --format powershell
golden "gpu-audio.nvidia-hide.xml" "$ga" attach 01:00.0 --vm desk1 --nvidia-hide --no-rom --format xml
golden "gpu-audio.nvidia-hide.qemu" "$ga" attach 01:00.0 --vm desk1 --nvidia-hide --no-rom --format qemu
# two SR-IOV VFs of one PF (the PF stays on the host): each function 0 of its own root port
vg=$(fixture nvidia-vgpu)
golden "two-vfs.xml" "$vg" attach 01:00.4 01:00.5 --vm desk4 --format xml
golden "two-vfs.qemu" "$vg" attach 01:00.4 01:00.5 --vm desk4 --format qemu

# slices: mdev instances, paravirtual 3D on a render node, Hyper-V GPU-PV
rn=$(fixture render-nodes)
md=$(fixture mdev)
golden "mdev.xml" "$md" attach --mdev 6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f --vm desk2 --format xml
golden "mdev.qemu" "$md" attach --mdev 6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f --vm desk2 --format qemu
"$VMGPU" --root "$md" attach --mdev 11111111-2222-4333-8444-555555555555 --vm desk2 --format xml >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q "no mdev 11111111" "$tmp/err" && ok "attach of an absent mdev refused" ||
	bad "attach of an absent mdev refused" "$(cat "$tmp/err")"
golden "virgl.xml" "$rn" attach --virgl 02:00.0 --vm desk3 --format xml
golden "virgl.qemu" "$rn" attach --virgl 02:00.0 --vm desk3 --format qemu
golden "gpupv.powershell" "$rn" attach --gpu-pv 01:00.0 --vm gamer --share 25 --format powershell

# --- hostile names: the name arrives intact, nothing executes, or a clear refusal ---
names=("it's" 'say "hi"' 'a$b $(reboot) ${x}' 'back`tick`' ']]> <x/> &amp;' 'café 日本 😀' "smart ‘quotes’ ‚‛" '[a*b?]')
for n in "${names[@]}"; do
	if "$VMGPU" --root "$ga" attach 01:00.0 --vm "$n" --format xml >"$tmp/x" 2>"$tmp/err" &&
		python3 -c 'import sys,xml.etree.ElementTree as E; sys.exit(0 if E.parse(sys.argv[1]).getroot().findtext("name")==sys.argv[2] else 1)' "$tmp/x" "$n"; then
		ok "xml name intact: $n"
	else
		bad "xml name intact: $n" "$(cat "$tmp/err" "$tmp/x" | head -5)"
	fi
	if "$VMGPU" --root "$ga" attach 01:00.0 --vm "$n" --format powershell >"$tmp/p" 2>"$tmp/err" &&
		python3 "$(dirname "$0")/ps-literal.py" "$tmp/p" "$n"; then
		ok "powershell name intact and inert: $n"
	else
		bad "powershell name intact and inert: $n" "$(cat "$tmp/err"; grep -m1 VMName "$tmp/p")"
	fi
	if "$VMGPU" --root "$ga" attach --gpu-pv 01:00.0 --vm "$n" --format powershell >"$tmp/p" 2>"$tmp/err" &&
		python3 "$(dirname "$0")/ps-literal.py" "$tmp/p" "$n"; then
		ok "GPU-PV name intact and inert: $n"
	else
		bad "GPU-PV name intact and inert: $n" "$(cat "$tmp/err"; grep -m1 VMName "$tmp/p")"
	fi
done
for n in $'two\nlines' $'tab\there' $'nul\x01x' ""; do
	"$VMGPU" --root "$ga" attach 01:00.0 --vm "$n" --format powershell >"$tmp/p" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 1 ] && [ ! -s "$tmp/p" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
		ok "powershell refuses control characters ($(printf %q "$n")): $(cat "$tmp/err")"
	else
		bad "powershell refuses control characters ($(printf %q "$n")): exit $rc" "$(cat "$tmp/err")"
	fi
done
printf '\xff\xfe' >"$tmp/badname"
"$VMGPU" --root "$ga" attach 01:00.0 --vm "$(cat "$tmp/badname")" --format xml >"$tmp/x" 2>"$tmp/err"
[ $? -eq 1 ] && ok "xml refuses invalid UTF-8" || bad "xml refuses invalid UTF-8" "$(cat "$tmp/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
