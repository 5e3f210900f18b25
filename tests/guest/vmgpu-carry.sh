#!/bin/bash
# vmgpu-carry.sh VMGPU: the run-guest.sh arguments that bring vmgpu into the
# guest with everything it loads later by dlopen(), one argument per line:
#   -b VMGPU                     the program and the libraries it links
#   -b .../lib/vmgpu-virt.so     its libvirt/libxml2 module (attach, detach)
#   -f LIB=LIB                   libkmod.so.2 and its libraries, at the same
#                                paths (vmgpu opens libkmod to load vfio-pci)
set -eu
VMGPU=$1
echo -b; echo "$VMGPU"
module=$(dirname "$VMGPU")/lib/vmgpu-virt.so
if [ -f "$module" ]; then
	echo -b; echo "$module"
fi
kmod=$(ldconfig -p 2>/dev/null | awk '$1 == "libkmod.so.2" { print $NF; exit }')
if [ -n "$kmod" ]; then
	for lib in "$kmod" $(ldd "$kmod" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		echo -f; echo "$(readlink -f "$lib")=$lib"
	done
fi
