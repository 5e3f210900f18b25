/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The layout as QEMU arguments for a q35 machine: one pcie-root-port per
 * guest slot, vfio-pci functions at the layout's function numbers, and the
 * 64-bit hole (plus OVMF's aperture, which is sized separately) when the
 * default is too small.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"

#define MiB (1ULL << 20)

static void dev_id(char *buf, size_t sz, const struct vmgpu_dev *d)
{
	snprintf(buf, sz, "vmgpu-%04x-%02x-%02x-%x", d->addr.domain, d->addr.bus, d->addr.dev, d->addr.fn);
}

VMGPU_EXPORT int vmgpu_render_qemu(const struct vmgpu_vm_layout *l, char **ret)
{
	assert_return(l, -EINVAL);
	assert_return(ret, -EINVAL);

	const struct vmgpu_mmio *m = vmgpu_vm_layout_mmio(l);
	unsigned flags = vmgpu_vm_layout_flags(l);
	char *buf = NULL, id[48];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "-machine q35\n");
	for (size_t s = 0; s < vmgpu_vm_layout_n_slots(l); s++)
		/* chassis/slot must be unique per port; 0x60+ keeps clear of
		 * what libvirt and other tools number from 1. */
		fprintf(f, "-device pcie-root-port,id=vmgpu-rp%zu,bus=pcie.0,chassis=%zu,slot=%zu\n", s, 0x60 + s, s);
	for (size_t i = 0; i < vmgpu_vm_layout_n_functions(l); i++) {
		struct vmgpu_vm_function fn;
		vmgpu_vm_layout_function(l, i, &fn);
		dev_id(id, sizeof(id), fn.dev);
		fprintf(f, "-device vfio-pci,host=%s,id=%s,bus=vmgpu-rp%u,addr=00.%u%s%s\n", fn.dev->address, id, fn.slot,
			fn.function, fn.multifunction ? ",multifunction=on" : "",
			(flags & VMGPU_LAYOUT_NO_ROM) ? ",rombar=0" : "");
	}
	if (!m->qemu_pci_hole64_sufficient) {
		fprintf(f, "-global q35-pcihost.pci-hole64-size=%lluM\n", (unsigned long long)(m->qemu_pci_hole64 / MiB));
		fprintf(f, "-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=%llu\n",
			(unsigned long long)(m->qemu_pci_hole64 / MiB));
	}
	if (flags & VMGPU_LAYOUT_NVIDIA_HIDE)
		fprintf(f, "-cpu host,kvm=off,hv_vendor_id=vmgpuvmgpu00\n");
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

/* mdev instances and virtio-gpu with virgl, as QEMU arguments. An mdev's
 * id carries its UUID (vmgpu-mdev-UUID), as libvirt's alias does, so that
 * vmgpu verify can tell from query-pci which instance QEMU has. */
VMGPU_EXPORT int vmgpu_render_slices_qemu(const char *const *uuids, size_t n, const char *render_node, char **ret)
{
	assert_return(!n || uuids, -EINVAL);
	assert_return(ret, -EINVAL);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "-machine q35\n");
	/* Each mdev is function 0 behind a root port of its own, as a lone
	 * function of the layout is (a PCIe link and hot-plug, not an
	 * integrated endpoint). Port ids and chassis numbers apart from the
	 * layout's (vmgpu-rpN, 0x60+), so both renderings fit one VM. */
	for (size_t i = 0; i < n; i++)
		fprintf(f,
			"-device pcie-root-port,id=vmgpu-mdev-rp%zu,bus=pcie.0,chassis=%zu,slot=%zu\n"
			"-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/%s,id=vmgpu-mdev-%s,bus=vmgpu-mdev-rp%zu,addr=00.0\n",
			i, 0x80 + i, 0x80 + i, uuids[i], uuids[i], i);
	if (render_node)
		fprintf(f, "-device virtio-vga-gl\n-display egl-headless,rendernode=%s\n", render_node);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}
