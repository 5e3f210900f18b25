#!/bin/bash
# vmgpu-carry.sh VMGPU: the run-guest.sh arguments that bring vmgpu into the
# guest with everything it loads later by dlopen(), one argument per line:
#   -b VMGPU                     the program and the libraries it links
#   -b .../lib/vmgpu-virt.so     its libvirt/libxml2 module (attach, detach)
#   -f LIB=LIB                   libkmod.so.2 (to load vfio-pci) and libpci.so.3
#                                (for names), with their libraries, at the same paths
set -eu
VMGPU=$1
echo -b; echo "$VMGPU"
module=$(dirname "$VMGPU")/lib/vmgpu-virt.so
if [ -f "$module" ]; then
	echo -b; echo "$module"
fi
for soname in libkmod.so.2 libpci.so.3; do
	so=$(ldconfig -p 2>/dev/null | awk -v n="$soname" '$1 == n { print $NF; exit }')
	[ -n "$so" ] || continue
	for lib in "$so" $(ldd "$so" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		echo -f; echo "$(readlink -f "$lib")=$lib"
	done
done
