#!/bin/bash
# The vmgpu binary as a user meets it: exit codes, one-line errors, JSON that
# parses and carries the documented fields, and bad input that changes
# nothing and crashes nothing.
#
# usage: test-cli.sh VMGPU MKFIXTURE
set -u
VMGPU=$1
MKFIXTURE=$2
pass=0
fail=0
tmp=$(mktemp -d)
# Fixture trees are listed in a file: fixture() runs in $(...) subshells.
cleanup() { [ -f "$tmp/trees" ] && xargs -d '\n' rm -rf <"$tmp/trees"; rm -rf "$tmp"; }
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2"; }

# run NAME EXPECTED_RC CMD...: checks the exit status; keeps stdout/stderr.
run() {
	local name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, expected $want" "$(cat "$tmp/err")"; fi
}

# The error is exactly one line, starts with "vmgpu: ", and no report was printed.
one_line_error() {
	local name=$1
	if [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^vmgpu: ' "$tmp/err" && [ ! -s "$tmp/out" ]; then
		ok "$name: one-line error: $(cat "$tmp/err")"
	else
		bad "$name: expected one error line and no output" "$(cat "$tmp/err" "$tmp/out")"
	fi
}

fixture() {
	local t
	t=$("$MKFIXTURE" "$1") || { echo "mkfixture $1 failed" >&2; exit 99; }
	echo "$t" >>"$tmp/trees"
	echo "$t"
}

json_check() { # json_check NAME PYTHON-EXPR-over-d
	local name=$1 expr=$2
	if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$tmp/out" 2>"$tmp/pyerr"; then
		ok "$name"
	else
		bad "$name: $expr" "$(head -c 600 "$tmp/out"; cat "$tmp/pyerr")"
	fi
}

gpu=$(fixture gpu-audio)
snapshot() { (cd "$1" && find . -printf '%p %s %l\n' | sort | md5sum); }
before=$(snapshot "$gpu")

# --- usage and help ---
run "help" 0 "$VMGPU" --help
run "survey --help" 0 "$VMGPU" survey --help
run "version" 0 "$VMGPU" --version
run "no command" 1 "$VMGPU"
run "unknown command" 1 "$VMGPU" frobnicate
one_line_error "unknown command"
run "unknown option" 1 "$VMGPU" survey --bogus
run "bad --color" 1 "$VMGPU" --color=purple survey
one_line_error "bad --color"

# --- the host root ---
run "empty root" 1 "$VMGPU" --root "" survey
one_line_error "empty root"
run "missing root" 2 "$VMGPU" --root "$tmp/does-not-exist" survey
one_line_error "missing root"
echo x >"$tmp/afile"
run "root is a file" 2 "$VMGPU" --root "$tmp/afile" survey
one_line_error "root is a file"
mkdir -p "$tmp/empty"
run "root without sysfs" 2 "$VMGPU" --root "$tmp/empty" survey
one_line_error "root without sysfs"
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p "$tmp/locked/sys/bus/pci/devices" && chmod 000 "$tmp/locked/sys"
	run "unreadable root" 2 "$VMGPU" --root "$tmp/locked" survey
	one_line_error "unreadable root"
	chmod 755 "$tmp/locked/sys"
fi

# --- device arguments ---
for a in 01:00.9 ../x zz "0000:01:00" "" "0000:01:00.0;rm -rf /" "pci0000:00/../../etc" $'01:00.0\nx' $'\e[31mred'; do
	run "malformed address '$a'" 1 "$VMGPU" --root "$gpu" survey "$a"
	one_line_error "malformed address '$a'"
done
run "absent address" 2 "$VMGPU" --root "$gpu" survey 0000:07:00.0
one_line_error "absent address"
run "address without domain" 0 "$VMGPU" --root "$gpu" survey 01:00.0
grep -q '^0000:01:00.0 ' "$tmp/out" && ok "short address found" || bad "short address found" "$(cat "$tmp/out")"
run "topology path" 0 "$VMGPU" --root "$gpu" --json survey pci0000:00/0000:00:01.0/0000:01:00.0
json_check "topology path selects the GPU" "d['devices'][0]['address']=='0000:01:00.0'"
run "location path" 0 "$VMGPU" --root "$gpu" --json survey 'PCIROOT(0)#PCI(0100)#PCI(0000)'
json_check "location path selects the GPU" "d['devices'][0]['address']=='0000:01:00.0'"

# --- the report ---
run "text survey" 0 "$VMGPU" --root "$gpu" survey
grep -q 'verdict: ready with companions (with 0000:01:00.1)' "$tmp/out" && ok "text verdict" || bad "text verdict" "$(cat "$tmp/out")"
grep -q $'\033' "$tmp/out" && bad "no colour when not a TTY" || ok "no colour when not a TTY"
run "colour forced" 0 "$VMGPU" --root "$gpu" --color=always survey
grep -q $'\033\[' "$tmp/out" && ok "colour with --color=always" || bad "colour with --color=always"
run "json survey" 0 "$VMGPU" --root "$gpu" survey --json
json_check "json top level" "d['schema']=='vmgpu.survey/1' and set(d)>={'host','devices','vms'}"
json_check "json required fields" "all(set(x)>={'address','vendor_id','device_id','class','driver','iommu_group','bars','pcie_type','msi','msix','flr','acs','sriov_total_vfs','verdict','reasons','mmio'} for x in d['devices'])"
json_check "json GPU verdict and companion" "[ (x['verdict'],x['companions']) for x in d['devices'] if x['address']=='0000:01:00.0']==[('ready_with_companions',['0000:01:00.1'])]"
json_check "json BARs" "[x['bars'] for x in d['devices'] if x['address']=='0000:01:00.0'][0][1]=={'index':1,'size':268435456,'is_64bit':True,'prefetchable':True}"
json_check "json I/O BAR" "[b for x in d['devices'] if x['address']=='0000:01:00.0' for b in x['bars'] if b['index']==5]==[{'index':5,'size':128,'is_64bit':False,'prefetchable':False,'io':True}]"
json_check "json VM MMIO" "d['vms'][0]['devices']==['0000:01:00.0','0000:01:00.1'] and d['vms'][0]['mmio']=={'low':17825792,'high':301989888} and d['vms'][0]['hyperv_high_mmio']==301989888+536870912"
run "json --all lists bridges" 0 "$VMGPU" --root "$gpu" survey --all --json
json_check "bridge listed, not judged" "[x['verdict'] for x in d['devices'] if x['address']=='0000:00:01.0']==[None]"
run "pretty json" 0 "$VMGPU" --root "$gpu" --pretty survey
json_check "pretty json parses" "len(d['devices'])==2"

# --- broken input files: report unknowns, never crash ---
g=$(fixture garbage)
run "garbage attributes" 0 "$VMGPU" --root "$g" survey --all --json
json_check "garbage: device still listed with its BARs unknown" "[x['unknown'] for x in d['devices'] if x['address']=='0000:01:00.0'][0]!=[]"
json_check "garbage: no framebuffer invented" "d['host']['framebuffers']==[]"
run "garbage text" 0 "$VMGPU" --root "$g" survey --all

# --- 64 bytes of config: say what is missing ---
c=$(fixture config-64)
run "config-64" 0 "$VMGPU" --root "$c" --json survey 01:00.0
json_check "config-64: capabilities null, reason given" "d['devices'][0]['msi'] is None and d['devices'][0]['flr'] is None and any('64 bytes' in u for u in d['devices'][0]['unknown'])"

# --- the live host, as an unprivileged user when we are root ---
run "live host" 0 "$VMGPU" survey --all --json
json_check "live host json" "d['host']['root']=='/' and len(d['devices'])>=0"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -n "$(ls /sys/bus/pci/devices 2>/dev/null)" ]; then
	cp "$VMGPU" "$tmp/vmgpu-copy" && chmod 755 "$tmp" "$tmp/vmgpu-copy"
	run "live host as nobody" 0 setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/vmgpu-copy" survey --all --json
	json_check "non-root: config limited and explained" "d['host']['config_access']=='limited' and all(x['config_size']<=64 for x in d['devices']) and any('needs root' in u for x in d['devices'] for u in x['unknown'])"
fi

# --- assign / release / status / recover on snapshots (no kernel to react) ---
run "assign dry run" 0 "$VMGPU" --root "$gpu" assign --dry-run 01:00.0
grep -qF "echo vfio-pci > $gpu/sys/bus/pci/devices/0000:01:00.0/driver_override" "$tmp/out" &&
	grep -qF "echo 0000:01:00.1 > $gpu/sys/bus/pci/drivers_probe" "$tmp/out" && ok "dry run prints the writes, companion included" ||
	bad "dry run prints the writes" "$(cat "$tmp/out")"
run "assign dry run json" 0 "$VMGPU" --root "$gpu" assign --dry-run --json 01:00.0
json_check "plan json" "d['schema']=='vmgpu.plan/1' and d['result']=='planned' and d['devices']==['0000:01:00.0','0000:01:00.1'] and [s['kind'] for s in d['steps']].count('probe')==2"
run "assign without device" 1 "$VMGPU" --root "$gpu" assign
one_line_error "assign without device"
run "release --persist is not an option" 1 "$VMGPU" --root "$gpu" release --persist 01:00.0
run "release of a device that is not assigned: nothing to do" 0 "$VMGPU" --root "$gpu" release 01:00.0
grep -q "not assigned: 0000:01:00.0 (on their host drivers; the host is unchanged and vmgpu keeps no record of them)" "$tmp/out" && ok "says it is not assigned" || bad "says it is not assigned" "$(cat "$tmp/out" "$tmp/err")"
run "status, nothing assigned" 0 "$VMGPU" --root "$gpu" status
grep -q "nothing assigned by vmgpu" "$tmp/out" && ok "status text" || bad "status text" "$(cat "$tmp/out")"
run "status json" 0 "$VMGPU" --root "$gpu" status --json
json_check "status json empty" "d['schema']=='vmgpu.status/1' and d['assigned']==[] and d['interrupted'] is False"
run "recover, nothing to do" 0 "$VMGPU" --root "$gpu" recover
grep -q "nothing to recover" "$tmp/out" && ok "recover text" || bad "recover text" "$(cat "$tmp/out")"
o=$(fixture gpu-open)
osnap=$(snapshot "$o")
run "assign refused: device open" 3 "$VMGPU" --root "$o" assign 01:00.0
grep -q "PID 4242 (Xorg)" "$tmp/err" && grep -q "nothing was changed" "$tmp/err" && ok "refusal names the process" ||
	bad "refusal names the process" "$(cat "$tmp/err")"
[ "$(snapshot "$o")" = "$osnap" ] && ok "refusal changed nothing" || bad "refusal changed nothing"
dk=$(fixture disk-in-group)
run "assign refused even with --force: mounted disk" 3 "$VMGPU" --root "$dk" --json assign --force 02:00.0
json_check "mounted disk refusal" "d['result']=='refused' and any(r['code']=='host_disk_in_use' and not r['forced'] for r in d['refusals'])"
io=$(fixture iommu-off)
run "assign refused: no IOMMU" 3 "$VMGPU" --root "$io" assign 01:00.0

# --- attach / detach: libvirt's test driver, bad input ---
run "attach dry run against test:///default" 0 "$VMGPU" --root "$gpu" attach 01:00.0 --vm test --connect test:///default --managed --dry-run
grep -q "ua-vmgpu-0000-01-00-1" "$tmp/out" && ok "dry run prints the definition" || bad "dry run prints the definition" "$(head -5 "$tmp/out")"
run "attach to a missing domain" 2 "$VMGPU" --root "$gpu" attach 01:00.0 --vm no-such-vm --connect test:///default --managed
one_line_error "attach to a missing domain"
run "attach over a failing connection" 2 "$VMGPU" --root "$gpu" attach 01:00.0 --vm test --connect test:///nonexistent/x.xml --managed
grep -q "^vmgpu: cannot connect to test:///nonexistent/x.xml" "$tmp/err" && ok "connection error says so" || bad "connection error says so" "$(cat "$tmp/err")"
run "attach a device not on vfio-pci" 3 "$VMGPU" --root "$gpu" attach 01:00.0 --vm test --connect test:///default
grep -q "run vmgpu assign 0000:01:00.0 first" "$tmp/err" && ok "not-assigned refusal names the fix" || bad "not-assigned refusal names the fix" "$(cat "$tmp/err")"
run "attach without --vm" 1 "$VMGPU" --root "$gpu" attach 01:00.0
run "attach a bridge" 1 "$VMGPU" --root "$gpu" attach 00:01.0 --vm x --format qemu
run "bad --format" 1 "$VMGPU" --root "$gpu" attach 01:00.0 --vm x --format yaml
one_line_error "bad --format"

# --- partition vfs/vgpu numbers: the plan judges them, the CLI only parses ---
vgf=$(fixture nvidia-vgpu)
run "vgpu type id above 4096: refused by the plan, not a silent usage error" 3 "$VMGPU" --root "$vgf" partition vgpu 01:00.4 5000 --dry-run
grep -q "cannot take vGPU type 5000" "$tmp/err" && ok "the refusal names the type" || bad "the refusal names the type" "$(cat "$tmp/err")"
run "vfs beyond the PF's total: refused" 3 "$VMGPU" --root "$vgf" partition vfs 01:00.0 5000 --dry-run
run "vfs count out of range" 1 "$VMGPU" --root "$vgf" partition vfs 01:00.0 99999999
one_line_error "vfs count out of range"

# --- survey carries the partitioning inventory (vmgpu partition list) ---
md=$(fixture mdev)
run "survey of an mdev host" 0 "$VMGPU" --root "$md" survey
grep -q "mdev type nvidia-46 (GRID P40-2Q): 12 available, 2048 MiB" "$tmp/out" && grep -q "^mbochs  virtual mdev parent" "$tmp/out" &&
	ok "survey text shows the GPU's mdev types and the virtual parent" || bad "survey text shows the GPU's mdev types and the virtual parent" "$(cat "$tmp/out")"
md2=$(fixture mdev)
printf 'garbage\n' >"$md2/sys/devices/virtual/mbochs/mbochs/mdev_supported_types/mbochs-small/available_instances" &&
	run "partition list with an unreadable available_instances" 0 "$VMGPU" --root "$md2" partition list mbochs &&
	{ grep -q "mdev type mbochs-small: availability unknown, 4 MiB" "$tmp/out" && ok "says it is unknown, not -1" ||
		bad "says it is unknown, not -1" "$(cat "$tmp/out")"; }
run "survey --json of an mdev host" 0 "$VMGPU" --root "$md" --json survey
json_check "survey json partitions" "[p['parent'] for p in d['partitions']]==['0000:01:00.0','mbochs'] and d['partitions'][1]['mdev_types'][2]=={'type':'mbochs-large','name':None,'description':'virtual display, 64 MB video memory','device_api':'vfio-pci','available_instances':4,'vram_mib':64}"
run "partition list --json of the same host" 0 "$VMGPU" --root "$md" --json partition list
cp "$tmp/out" "$tmp/parts.json"
run "survey --json of a named GPU" 0 "$VMGPU" --root "$md" --json survey 01:00.0
json_check "named GPU: its parent only, the same object as partition list" \
	"[p['parent'] for p in d['partitions']]==['0000:01:00.0'] and d['partitions'][0]==json.load(open('$tmp/parts.json'))['parents'][0]"
vg=$(fixture nvidia-vgpu)
run "survey --json of a vGPU host" 0 "$VMGPU" --root "$vg" --json survey
json_check "survey json: SR-IOV and per-VF vGPU types" "d['partitions'][0]['sriov']=={'total_vfs':16,'num_vfs':2,'autoprobe':False} and [v['current_vgpu_type'] for v in d['partitions'][0]['vf_vgpus']]==[560,0]"
run "survey --json without splittable GPU" 0 "$VMGPU" --root "$gpu" --json survey
json_check "no mdev, SR-IOV or render node: empty partitions" "d['partitions']==[] or all(not p['mdev_types'] and p['sriov'] is None and not p['render_node'] for p in d['partitions'])"

# --- MIG through NVML (tests/unit/fake-nvml.c answers as an H200) ---
mg=$(fixture nvidia-mig)
run "survey --json of an H200, no NVML for a snapshot" 0 "$VMGPU" --root "$mg" --json survey
json_check "no NVML: mig is null" "d['partitions'][0]['mig'] is None"
if [ -n "${FAKE_NVML:-}" ]; then
	run "survey --json of an H200 with NVML" 0 env VMGPU_NVML_LIBRARY="$FAKE_NVML" "$VMGPU" --root "$mg" --json survey
	json_check "MIG profiles from NVML" "d['partitions'][0]['mig']['enabled'] and [p['name'] for p in d['partitions'][0]['mig']['profiles']][:3]==['1g.18gb','2g.35gb','3g.71gb'] and d['partitions'][0]['mig']['profiles'][0]['available']==5"
	run "partition list of an H200 with NVML" 0 env VMGPU_NVML_LIBRARY="$FAKE_NVML" "$VMGPU" --root "$mg" partition list
	grep -q "profile 19 1g.18gb: 5 of 7 free, 16384 MiB" "$tmp/out" && ok "partition list shows the MIG profiles" ||
		bad "partition list shows the MIG profiles" "$(cat "$tmp/out")"
	run "NVML that cannot initialise" 0 env VMGPU_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_FAIL_INIT=1 "$VMGPU" --root "$mg" --json survey
	json_check "failed NVML: mig is null, the survey stands" "d['partitions'][0]['mig'] is None and d['devices'][0]['verdict']=='ready'"
fi
run "VMGPU_NVML_LIBRARY naming no library" 0 env VMGPU_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 "$VMGPU" --root "$mg" --json survey
json_check "missing NVML: mig is null" "d['partitions'][0]['mig'] is None"

# --- a topology path's last component is a full address, as the lookup wants ---
for a in foo/01:00.0 pci0000:00/0000:00:01.0/01:00.0; do
	run "topology path ending in a short address '$a'" 1 "$VMGPU" --root "$gpu" release "$a"
	one_line_error "topology path ending in a short address '$a'"
done

# --- the libvirt module missing, libvirt refusing: one line, exit 2 ---
mdx=$(fixture mdev)
mkdir -p "$tmp/alone" && cp "$VMGPU" "$tmp/alone/vmgpu" # no vmgpu-virt.so beside it
run "attach --mdev --format xml without the libvirt module" 2 env -u VMGPU_MODULE_DIR "$tmp/alone/vmgpu" --root "$mdx" attach --mdev 6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f --vm d --format xml
one_line_error "attach --mdev without the libvirt module"
grep -q "cannot be loaded" "$tmp/err" && ok "it says the module cannot be loaded" || bad "it says the module cannot be loaded" "$(cat "$tmp/err")"
cat >"$tmp/node.xml" <<'XML'
<node><domain type='test'><name>dup</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<disk type='file' device='disk'><source file='/tmp/a.img'/><target dev='vda' bus='virtio'/><alias name='ua-vmgpu-mdev-6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f'/></disk>
<disk type='file' device='disk'><source file='/tmp/b.img'/><target dev='vdb' bus='virtio'/><alias name='ua-vmgpu-0000-01-00-0'/></disk>
</devices></domain></node>
XML
run "libvirt refuses the definition (mdev)" 2 "$VMGPU" --root "$mdx" attach --mdev 6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f --vm dup --connect "test://$tmp/node.xml"
one_line_error "libvirt refuses the definition (mdev)"
run "libvirt refuses the definition (PCI)" 2 "$VMGPU" --root "$mdx" attach 01:00.0 --managed --vm dup --connect "test://$tmp/node.xml"
one_line_error "libvirt refuses the definition (PCI)"

# --- verify: usage, unreachable QEMU or libvirt, and a real QEMU when there is one ---
run "verify --help" 0 "$VMGPU" verify --help
run "verify without --vm or --qmp" 1 "$VMGPU" verify
one_line_error "verify without --vm or --qmp"
run "verify with --vm and --qmp" 1 "$VMGPU" verify --vm a --qmp "$tmp/q.sock"
one_line_error "verify with --vm and --qmp"
run "verify --qga with --vm" 1 "$VMGPU" verify --vm a --qga "$tmp/g.sock"
one_line_error "verify --qga with --vm"
run "verify a malformed device" 1 "$VMGPU" verify --qmp "$tmp/q.sock" 01:00
one_line_error "verify a malformed device"
run "verify an unreachable QMP socket" 2 "$VMGPU" verify --qmp "$tmp/no-such.sock"
one_line_error "verify an unreachable QMP socket"
run "verify a file that is no socket" 2 "$VMGPU" verify --qmp "$tmp/afile"
one_line_error "verify a file that is no socket"
run "verify without the libvirt module" 2 env -u VMGPU_MODULE_DIR "$tmp/alone/vmgpu" verify --vm d
one_line_error "verify without the libvirt module"
# libvirt's test driver has no QEMU monitor: the pass-through fails, one line
run "verify --vm: libvirt has no monitor to ask" 2 "$VMGPU" verify --vm test --connect test:///default
one_line_error "verify --vm: libvirt has no monitor to ask"
run "verify --vm: no such domain" 2 "$VMGPU" verify --vm nosuch --connect test:///default
one_line_error "verify --vm: no such domain"
if command -v qemu-system-x86_64 >/dev/null; then
	qemu-system-x86_64 -machine q35 -accel tcg -nodefaults -display none -m 128 \
		-qmp "unix:$tmp/q.sock,server=on,wait=off" \
		-device pcie-root-port,id=vmgpu-rp0,bus=pcie.0,chassis=96,slot=0 \
		-device edu,id=vmgpu-0000-01-00-0,bus=vmgpu-rp0,addr=00.0 \
		-device pcie-root-port,id=vmgpu-rp1,bus=pcie.0,chassis=97,slot=1 \
		-device edu,id=vmgpu-0000-02-00-1,bus=vmgpu-rp1,addr=00.1 >/dev/null 2>&1 &
	qemu=$!
	# SeaBIOS numbers the ports' buses and places the BARs in a few seconds
	for _ in $(seq 60); do
		"$VMGPU" --root "$gpu" verify --qmp "$tmp/q.sock" 0000:01:00.0 >/dev/null 2>&1 && break
		sleep 0.5
	done
	run "verify a device the guest has" 0 "$VMGPU" --root "$gpu" verify --qmp "$tmp/q.sock" 0000:01:00.0
	grep -q '^0000:01:00.0  seen ' "$tmp/out" && ok "its line says seen" || bad "its line says seen" "$(cat "$tmp/out")"
	run "verify every vmgpu device (fn 1 alone)" 1 "$VMGPU" --root "$gpu" verify --qmp "$tmp/q.sock"
	[ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -q '^0000:02:00.1  not seen  .*no function 0' "$tmp/out" &&
		ok "one line per device, fn 1 alone not seen" || bad "one line per device, fn 1 alone not seen" "$(cat "$tmp/out")"
	run "verify --json" 1 "$VMGPU" --root "$gpu" verify --qmp "$tmp/q.sock" --json 01:00.0 05:00.0
	json_check "verify JSON contract" 'd["schema"] == "vmgpu.verify/1" and d["all_seen"] is False and [x["seen"] for x in d["devices"]] == [True, False] and d["devices"][0]["qemu"]["port"] == "vmgpu-rp0" and d["devices"][0]["expected"]["function"] == 0 and d["devices"][1]["qemu"]["present"] is False and d["agent"]["answered"] is False'
	kill "$qemu"
	wait "$qemu" 2>/dev/null
else
	echo "ok - verify against QEMU # SKIP no qemu-system-x86_64"
fi

# --- a report that cannot be written is no success: exit 2, one line ---
full() { # full NAME CMD...: stdout to /dev/full
	local name=$1
	shift
	"$@" >/dev/full 2>"$tmp/err"
	local rc=$?
	# one error line (a note such as the GeForce one may stand beside it)
	if [ "$rc" -eq 2 ] && [ "$(grep -c '^vmgpu: cannot write' "$tmp/err")" -eq 1 ] &&
		[ "$(grep -vc '^vmgpu: note: ' "$tmp/err")" -eq 1 ]; then
		ok "$name > /dev/full: exit 2, one line"
	else
		bad "$name > /dev/full: exit $rc, expected 2 and one line" "$(cat "$tmp/err")"
	fi
}
if [ -w /dev/full ]; then
	full "survey" "$VMGPU" --root "$gpu" survey
	full "survey --json" "$VMGPU" --root "$gpu" survey --json
	full "attach --format qemu" "$VMGPU" --root "$gpu" attach 01:00.0 --vm d --format qemu
	full "attach --format powershell" "$VMGPU" --root "$gpu" attach 01:00.0 --vm d --format powershell
	full "attach --gpu-pv" "$VMGPU" --root "$gpu" attach --gpu-pv 01:00.0 --vm g --share 25 --format powershell
	full "assign --dry-run" "$VMGPU" --root "$gpu" assign --dry-run 01:00.0
	full "partition list" "$VMGPU" --root "$gpu" partition list
	full "status" "$VMGPU" --root "$gpu" status
else
	ok "output to /dev/full # SKIP no writable /dev/full"
fi

# Nothing above changed the fixture.
[ "$(snapshot "$gpu")" = "$before" ] && ok "fixture unchanged" || bad "fixture unchanged"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
