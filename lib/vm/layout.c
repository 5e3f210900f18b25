/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest side of passthrough: which functions a VM receives and where
 * they sit. On q35 every guest slot sits behind its own PCIe root port; a
 * device directly on the root bus (no root port) is seen as integrated, with
 * no PCIe link (x1 2.5GT/s) and no hotplug. All renderers (libvirt XML, QEMU
 * arguments, Hyper-V scripts) read this one layout.
 *
 * The rule: a guest slot gets function numbers 0..n-1 in host order. The
 * functions of one host slot that go together (GPU + HDMI audio) share a
 * guest slot, with multifunction on function 0: NVIDIA and AMD drivers look
 * for the HDMI audio at function 1 of the GPU's own slot. A function that is
 * alone (an SR-IOV VF, one function of a slot whose others stay behind) is
 * function 0 of its own slot. Why: a guest scans a slot only when function 0
 * answers (Linux pci_scan_slot(), Windows and OVMF likewise), so a VF kept at
 * its host function number, say 04:00.1, is invisible to every guest. VFs
 * never share a slot, even with their siblings: each is its own device, and
 * its function number is only an artefact of the PF's VF offset and stride.
 */
#include <string.h>

#include "vm.h"

struct vmgpu_vm_layout {
	struct vmgpu_host *host;
	unsigned flags;
	struct vmgpu_vm_function *fns;
	size_t n_fns;
	size_t n_slots;
	struct vmgpu_mmio mmio;
};

static bool has(const struct vmgpu_vm_layout *l, const struct vmgpu_dev *d)
{
	for (size_t i = 0; i < l->n_fns; i++)
		if (l->fns[i].dev == d)
			return true;
	return false;
}

static int add(struct vmgpu_vm_layout *l, struct vmgpu_dev *d)
{
	struct vmgpu_vm_function *n;

	if (has(l, d))
		return 0;
	n = realloc(l->fns, (l->n_fns + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->fns = n;
	n[l->n_fns++] = (struct vmgpu_vm_function){ .dev = d, .display = vmgpu_dev_is_display(d) };
	return 0;
}

/*
 * D and what must go with it, as vmgpu_dev_judge() lists its companions:
 * the rest of its IOMMU group but the bridges (VFIO wants only the group's
 * endpoints on vfio-pci), and none when the host has no IOMMU on.
 */
static int add_with_companions(struct vmgpu_vm_layout *l, struct vmgpu_dev *d)
{
	int r = add(l, d);

	for (size_t i = 0; r == 0 && host_iommu_present(l->host) && i < d->n_peers; i++)
		if (vmgpu_dev_flag(d->peers[i], VMGPU_FLAG_BRIDGE) != VMGPU_YES)
			r = add(l, d->peers[i]);
	return r;
}

static int fn_cmp(const void *a, const void *b)
{
	const struct vmgpu_vm_function *x = a, *y = b;

	return pci_address_cmp(&x->dev->addr, &y->dev->addr);
}


/* GeForce/TITAN/Quadro consumer-era IDs cannot be told from pci.ids
 * reliably; the product name can: datacenter parts never say GeForce. */
static bool consumer_nvidia(struct vmgpu_dev *d)
{
	const char *name;

	if (d->vendor != PCI_VENDOR_NVIDIA || !vmgpu_dev_is_display(d))
		return false;
	name = vmgpu_dev_str(d, VMGPU_STR_DEVICE_NAME);
	return !name || strstr(name, "GeForce") || strstr(name, "Geforce") || strstr(name, "TITAN");
}

static void place(struct vmgpu_vm_layout *l)
{
	unsigned next_fn = 0;

	qsort(l->fns, l->n_fns, sizeof(*l->fns), fn_cmp);
	for (size_t i = 0; i < l->n_fns; i++) {
		struct vmgpu_vm_function *f = &l->fns[i];
		if (i == 0 || !vm_same_guest_slot(f->dev, l->fns[i - 1].dev)) {
			l->n_slots++;
			next_fn = 0;
		}
		f->slot = (unsigned)l->n_slots - 1;
		f->function = next_fn++;
	}
	for (size_t i = 0; i < l->n_fns; i++) {
		bool more = i + 1 < l->n_fns && l->fns[i + 1].slot == l->fns[i].slot;
		l->fns[i].multifunction = more && l->fns[i].function == 0;
	}
}

VMGPU_EXPORT int vmgpu_vm_layout_new(struct vmgpu_host *host, struct vmgpu_dev *const *devs, size_t n,
				     unsigned flags, struct vmgpu_vm_layout **ret)
{
	struct vmgpu_vm_layout *l;
	_cleanup_free_ struct vmgpu_dev **all = NULL;
	int r = 0;

	assert_return(ret, -EINVAL);
	if (!host || !devs || n == 0)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->host = vmgpu_host_ref(host);
	l->flags = flags;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (devs[i]->host != host || vmgpu_dev_flag(devs[i], VMGPU_FLAG_BRIDGE) == VMGPU_YES)
			r = -EINVAL;
		else
			r = add_with_companions(l, devs[i]);
	}
	if (r == 0) {
		place(l);
		all = malloc(l->n_fns * sizeof(*all));
		if (!all)
			r = -ENOMEM;
	}
	if (r == 0) {
		for (size_t i = 0; i < l->n_fns; i++)
			all[i] = l->fns[i].dev;
		r = vmgpu_mmio_compute(all, l->n_fns, &l->mmio);
	}
	if (r < 0) {
		vmgpu_vm_layout_unref(l);
		return r;
	}
	*ret = l;
	return 0;
}

VMGPU_EXPORT struct vmgpu_vm_layout *vmgpu_vm_layout_unref(struct vmgpu_vm_layout *l)
{
	if (l) {
		free(l->fns);
		vmgpu_host_unref(l->host);
		free(l);
	}
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_vm_layout_n_functions(const struct vmgpu_vm_layout *l)
{
	assert_return(l, 0);
	return l->n_fns;
}

VMGPU_EXPORT int vmgpu_vm_layout_function(const struct vmgpu_vm_layout *l, size_t i, struct vmgpu_vm_function *ret)
{
	assert_return(l, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= l->n_fns)
		return -ENOENT;
	*ret = l->fns[i];
	return 0;
}

VMGPU_EXPORT size_t vmgpu_vm_layout_n_slots(const struct vmgpu_vm_layout *l)
{
	assert_return(l, 0);
	return l->n_slots;
}

VMGPU_EXPORT const struct vmgpu_mmio *vmgpu_vm_layout_mmio(const struct vmgpu_vm_layout *l)
{
	assert_return(l, NULL);
	return &l->mmio;
}

VMGPU_EXPORT unsigned vmgpu_vm_layout_flags(const struct vmgpu_vm_layout *l)
{
	assert_return(l, 0);
	return l->flags;
}

/* Asked only when it matters (the names come from pci.ids): not for every
 * rendering. */
VMGPU_EXPORT bool vmgpu_vm_layout_has_consumer_nvidia(const struct vmgpu_vm_layout *l)
{
	assert_return(l, false);
	for (size_t i = 0; i < l->n_fns; i++)
		if (consumer_nvidia(l->fns[i].dev))
			return true;
	return false;
}
