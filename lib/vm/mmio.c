/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How much MMIO space a VM must offer for a set of passed-through functions.
 *
 * The rule (documented in vmgpu(8), MMIO):
 *  - Every memory BAR is naturally aligned to its size (a power of two).
 *  - Below 4 GiB ("low"): 32-bit BARs, 64-bit non-prefetchable BARs and the
 *    expansion ROM. A PCIe bridge's non-prefetchable window is 32-bit only,
 *    so behind a root port even a 64-bit non-prefetchable BAR lands low.
 *  - Above 4 GiB ("high"): 64-bit prefetchable BARs.
 *  - Each guest slot (layout.c: the functions of a host slot that go
 *    together, e.g. GPU + HDMI audio; every SR-IOV VF alone) sits behind its
 *    own PCIe root port on q35; a bridge window has 1 MiB
 *    granularity and must be aligned to its largest BAR.
 *  - Windows are then packed, largest alignment first; the total span is
 *    what the VM's aperture must hold.
 *  - A region of length 2*S always contains an S-aligned block of S, wherever
 *    it starts, so the 64-bit hole needed is 2 * next_pow2(high span): QEMU
 *    places pci-hole64 where RAM ends, not at a BAR-friendly boundary.
 *  - Hyper-V: Microsoft's rule is "the devices' MMIO plus the default", never
 *    below the defaults of 128 MiB low and 512 MiB high.
 */
#include <string.h>

#include "vm.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* QEMU hw/pci-host/q35.c: Q35_PCI_HOST_HOLE64_SIZE_DEFAULT (1ULL << 35). */
#define QEMU_Q35_HOLE64_DEFAULT (32 * GiB)
#define HYPERV_LOW_DEFAULT (128 * MiB)
#define HYPERV_HIGH_DEFAULT (512 * MiB)

static uint64_t pow2_ceil(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p < (1ULL << 63))
		p <<= 1;
	return p;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a ? (v + a - 1) / a * a : v;
}

struct window {
	uint64_t size, align;
};

static int cmp_desc(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	if (x->align != y->align)
		return x->align > y->align ? -1 : 1;
	return x->size > y->size ? -1 : x->size < y->size;
}

/* Lay windows end to end, each at its alignment; the span covered. */
static uint64_t pack(struct window *w, size_t n)
{
	uint64_t off = 0;

	qsort(w, n, sizeof(*w), cmp_desc);
	for (size_t i = 0; i < n; i++)
		off = align_up(off, w[i].align) + w[i].size;
	return off;
}

/* Room for the windows of N functions: six BARs and a ROM each at most. */
#define MAX_WINDOWS(n) ((n) * (VMGPU_BAR_ROM + 1))

/* The low and high windows one slot's functions need behind a root port;
 * SCRATCH has room for 2 * MAX_WINDOWS(N). */
static void slot_windows(struct vmgpu_dev *const *devs, size_t n, size_t first, bool *used, struct window *scratch,
			 struct window *low, struct window *high, bool *unknown)
{
	struct window *lb = scratch, *hb = scratch + MAX_WINDOWS(n);
	size_t nl = 0, nh = 0;
	for (size_t i = first; i < n; i++) {
		if (used[i] || (i != first && !vm_same_guest_slot(devs[i], devs[first])))
			continue;
		used[i] = true;
		for (unsigned s = 0; s <= VMGPU_BAR_ROM; s++) {
			struct vmgpu_bar b;
			if (vmgpu_dev_bar(devs[i], s, &b) < 0 || b.io)
				continue;
			if (!b.size_known) {
				*unknown = true;
				continue;
			}
			uint64_t sz = pow2_ceil(b.size);
			bool is_high = s != VMGPU_BAR_ROM && b.is_64bit && b.prefetchable;
			if (is_high)
				hb[nh++] = (struct window){ sz, sz };
			else
				lb[nl++] = (struct window){ sz, sz };
		}
	}
	low->size = nl ? align_up(pack(lb, nl), MiB) : 0;
	low->align = nl ? MAX(lb[0].align, MiB) : MiB;
	high->size = nh ? align_up(pack(hb, nh), MiB) : 0;
	high->align = nh ? MAX(hb[0].align, MiB) : MiB;
}

VMGPU_EXPORT int vmgpu_mmio_compute(struct vmgpu_dev *const *devs, size_t n, struct vmgpu_mmio *ret)
{
	_cleanup_free_ struct window *low = NULL, *high = NULL, *scratch = NULL;
	_cleanup_free_ bool *used = NULL;
	struct vmgpu_mmio m = { 0 };
	size_t slots = 0;

	assert_return(ret, -EINVAL);
	if (n == 0 || !devs)
		return -EINVAL;
	low = calloc(n, sizeof(*low));
	high = calloc(n, sizeof(*high));
	used = calloc(n, sizeof(*used));
	scratch = calloc(2 * MAX_WINDOWS(n), sizeof(*scratch));
	if (!low || !high || !used || !scratch)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (used[i])
			continue;
		slot_windows(devs, n, i, used, scratch, &low[slots], &high[slots], &m.sizes_unknown);
		slots++;
	}
	m.low = pack(low, slots);
	m.high = pack(high, slots);
	m.qemu_pci_hole64_default = QEMU_Q35_HOLE64_DEFAULT;
	m.qemu_pci_hole64 = m.high ? 2 * pow2_ceil(m.high) : 0;
	m.qemu_pci_hole64_sufficient = m.qemu_pci_hole64 <= QEMU_Q35_HOLE64_DEFAULT;
	if (m.qemu_pci_hole64 < QEMU_Q35_HOLE64_DEFAULT)
		m.qemu_pci_hole64 = QEMU_Q35_HOLE64_DEFAULT;
	m.hyperv_low_default = HYPERV_LOW_DEFAULT;
	m.hyperv_high_default = HYPERV_HIGH_DEFAULT;
	m.hyperv_low = align_up(m.low, MiB) + HYPERV_LOW_DEFAULT;
	m.hyperv_high = align_up(m.high, MiB) + HYPERV_HIGH_DEFAULT;
	*ret = m;
	return 0;
}

bool vm_same_guest_slot(const struct vmgpu_dev *a, const struct vmgpu_dev *b)
{
	return pci_same_slot(&a->addr, &b->addr) && vmgpu_dev_flag(a, VMGPU_FLAG_VIRTFN) != VMGPU_YES &&
	       vmgpu_dev_flag(b, VMGPU_FLAG_VIRTFN) != VMGPU_YES;
}
