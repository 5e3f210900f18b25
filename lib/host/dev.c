/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One PCI function of the model (struct vmgpu_dev): its lifetime, its
 * config space (the 64-byte header from the scan, the capabilities read on
 * first use by dev_cfg()), its names and its accessors.
 */
#include <fcntl.h>
#include <pci/pci.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

void dev_load_names(struct vmgpu_dev *dev)
{
	struct vmgpu_ctx *ctx = dev->host->ctx;

	if (dev->names_done)
		return;
	dev->names_done = true;
	(void)names_lookup(ctx, PCI_LOOKUP_VENDOR, dev->vendor, 0, 0, 0, &dev->names[0]);
	(void)names_lookup(ctx, PCI_LOOKUP_DEVICE, dev->vendor, dev->device, 0, 0, &dev->names[1]);
	if (dev->subsys_vendor >= 0 && dev->subsys_device >= 0 &&
	    (dev->subsys_vendor != 0 || dev->subsys_device != 0))
		(void)names_lookup(ctx, PCI_LOOKUP_SUBSYSTEM, dev->vendor, dev->device,
				   (uint16_t)dev->subsys_vendor, (uint16_t)dev->subsys_device,
				   &dev->names[2]);
	(void)names_lookup(ctx, PCI_LOOKUP_CLASS, (uint16_t)(dev->class_code >> 8), 0, 0, 0,
			   &dev->names[3]);
}

VMGPU_EXPORT const char *vmgpu_dev_str(struct vmgpu_dev *dev, enum vmgpu_dev_str what)
{
	assert_return(dev, NULL);
	switch (what) {
	case VMGPU_STR_ADDRESS: return dev->address;
	case VMGPU_STR_DRIVER: return dev->driver;
	case VMGPU_STR_DRIVER_OVERRIDE: return dev->driver_override;
	case VMGPU_STR_VENDOR_NAME:
	case VMGPU_STR_DEVICE_NAME:
	case VMGPU_STR_SUBSYSTEM_NAME:
		dev_load_names(dev);
		return dev->names[what - VMGPU_STR_VENDOR_NAME];
	case VMGPU_STR_PATH: return dev->path;
	case VMGPU_STR_LOCATION_PATH: return dev->location_path;
	case VMGPU_STR_RESET_METHOD: return dev->reset_method;
	case VMGPU_STR_PHYSFN: return dev->physfn;
	case VMGPU_STR_CLASS_NAME:
		dev_load_names(dev);
		return dev->names[3];
	default: return NULL;
	}
}

static int known(int64_t v, int64_t *ret)
{
	*ret = v;
	return 0;
}

/*
 * TotalVFs of an SR-IOV PF, -1 when unknown. The capability says it when
 * config space shows it; without root it ends at 64 bytes (or 256 in some
 * snapshots), and sysfs sriov_totalvfs, readable by everyone, stands in:
 * the kernel shows TotalVFs there, or less when the driver limits it
 * (pci_sriov_set_totalvfs). Config space read in full has the last word.
 */
static int total_vfs(const struct vmgpu_dev *dev)
{
	const struct config_info *ci = dev_cfg(dev);

	if (ci->has_sriov)
		return ci->sriov_total_vfs;
	return ci->ext_known ? -1 : dev->sriov_totalvfs_attr;
}

VMGPU_EXPORT int vmgpu_dev_int(const struct vmgpu_dev *dev, enum vmgpu_dev_int what, int64_t *ret)
{
	assert_return(dev, -EINVAL);
	assert_return(ret, -EINVAL);

	const struct config_info *ci = what >= VMGPU_INT_CONFIG_SIZE ? dev_cfg(dev) : &dev->cfg;

	switch (what) {
	case VMGPU_INT_VENDOR: return known(dev->vendor, ret);
	case VMGPU_INT_DEVICE: return known(dev->device, ret);
	case VMGPU_INT_SUBSYSTEM_VENDOR:
		return dev->subsys_vendor >= 0 ? known(dev->subsys_vendor, ret) : -ENODATA;
	case VMGPU_INT_SUBSYSTEM_DEVICE:
		return dev->subsys_device >= 0 ? known(dev->subsys_device, ret) : -ENODATA;
	case VMGPU_INT_CLASS: return known(dev->class_code, ret);
	case VMGPU_INT_REVISION: return dev->revision >= 0 ? known(dev->revision, ret) : -ENODATA;
	case VMGPU_INT_HEADER_TYPE: return ci->header_known ? known(ci->header_type, ret) : -ENODATA;
	case VMGPU_INT_IOMMU_GROUP: return dev->iommu_group >= 0 ? known(dev->iommu_group, ret) : -ENODATA;
	case VMGPU_INT_NUMA_NODE: return dev->numa_node >= 0 ? known(dev->numa_node, ret) : -ENODATA;
	case VMGPU_INT_CONFIG_SIZE: return known((int64_t)ci->len, ret);
	case VMGPU_INT_PCIE_TYPE: return ci->has_pcie ? known(ci->pcie_type, ret) : -ENODATA;
	case VMGPU_INT_ACS_CTRL: return ci->has_acs ? known(ci->acs_ctrl, ret) : -ENODATA;
	case VMGPU_INT_SRIOV_TOTAL_VFS: return total_vfs(dev) >= 0 ? known(total_vfs(dev), ret) : -ENODATA;
	case VMGPU_INT_SRIOV_NUM_VFS: return ci->has_sriov ? known(ci->sriov_num_vfs, ret) : -ENODATA;
	case VMGPU_INT_MSIX_VECTORS: return ci->has_msix ? known(ci->msix_vectors, ret) : -ENODATA;
	default: return -EINVAL;
	}
}

VMGPU_EXPORT const char *vmgpu_pcie_type_name(int type)
{
	switch (type) {
	case VMGPU_PCIE_ENDPOINT: return "endpoint";
	case VMGPU_PCIE_LEGACY_ENDPOINT: return "legacy_endpoint";
	case VMGPU_PCIE_RC_INTEGRATED_ENDPOINT: return "rc_integrated_endpoint";
	case VMGPU_PCIE_RC_EVENT_COLLECTOR: return "rc_event_collector";
	case VMGPU_PCIE_ROOT_PORT: return "root_port";
	case VMGPU_PCIE_UPSTREAM_PORT: return "upstream_port";
	case VMGPU_PCIE_DOWNSTREAM_PORT: return "downstream_port";
	case VMGPU_PCIE_PCIE_TO_PCI_BRIDGE: return "pcie_to_pci_bridge";
	case VMGPU_PCIE_PCI_TO_PCIE_BRIDGE: return "pci_to_pcie_bridge";
	default: return NULL;
	}
}

static enum vmgpu_tristate tri(bool is_known, bool v)
{
	return !is_known ? VMGPU_UNKNOWN : v ? VMGPU_YES : VMGPU_NO;
}

/* Extended capabilities are known when read, and known absent for
 * functions without a PCIe capability (only PCIe has the extended space). */
static enum vmgpu_tristate ext_flag(const struct config_info *ci, bool v)
{
	if (ci->ext_known)
		return v ? VMGPU_YES : VMGPU_NO;
	return ci->caps_known && !ci->has_pcie ? VMGPU_NO : VMGPU_UNKNOWN;
}

static bool class_is_bridge(uint32_t class_code)
{
	uint32_t cls = class_code >> 8;

	return cls == 0x0604 || cls == 0x0607 || cls == 0x0609;
}

VMGPU_EXPORT enum vmgpu_tristate vmgpu_dev_flag(const struct vmgpu_dev *dev, enum vmgpu_dev_flag what)
{
	assert_return(dev, VMGPU_UNKNOWN);
	/* The header answers these; the others need the capabilities. */
	const struct config_info *ci = what == VMGPU_FLAG_BRIDGE || what == VMGPU_FLAG_BOOT_VGA ||
						       what == VMGPU_FLAG_VIRTFN || what == VMGPU_FLAG_CONFIG_ALL_ONES
					       ? &dev->cfg
					       : dev_cfg(dev);

	switch (what) {
	case VMGPU_FLAG_PCIE: return tri(ci->caps_known, ci->has_pcie);
	case VMGPU_FLAG_MSI: return tri(ci->caps_known, ci->has_msi);
	case VMGPU_FLAG_MSIX: return tri(ci->caps_known, ci->has_msix);
	case VMGPU_FLAG_FLR: return tri(ci->caps_known, ci->has_pcie && ci->flr);
	case VMGPU_FLAG_AF_FLR: return tri(ci->caps_known, ci->has_af && ci->af_flr);
	case VMGPU_FLAG_PM_NO_SOFT_RESET: return tri(ci->caps_known && ci->has_pm, ci->pm_no_soft_reset);
	case VMGPU_FLAG_ACS: return ext_flag(ci, ci->has_acs);
	case VMGPU_FLAG_SRIOV: return ext_flag(ci, ci->has_sriov);
	case VMGPU_FLAG_REBAR: return ext_flag(ci, ci->has_rebar && ci->n_rebar > 0);
	case VMGPU_FLAG_BOOT_VGA: return dev->boot_vga > 0 ? VMGPU_YES : VMGPU_NO;
	case VMGPU_FLAG_BRIDGE:
		if (ci->header_known)
			return ci->header_type != 0 ? VMGPU_YES : VMGPU_NO;
		return class_is_bridge(dev->class_code) ? VMGPU_YES : VMGPU_NO;
	case VMGPU_FLAG_VIRTFN: return dev->physfn ? VMGPU_YES : VMGPU_NO;
	case VMGPU_FLAG_CONFIG_ALL_ONES: return ci->all_ones ? VMGPU_YES : VMGPU_NO;
	default: return VMGPU_UNKNOWN;
	}
}

static unsigned n_std_bars(const struct vmgpu_dev *dev)
{
	if (!dev->cfg.header_known)
		return class_is_bridge(dev->class_code) ? 2 : 6;
	return dev->cfg.header_type == 0 ? 6 : dev->cfg.header_type == 1 ? 2 : 1;
}

static const struct resource_line *res_line(const struct vmgpu_dev *dev, unsigned i)
{
	static const struct resource_line none;

	return dev->n_res > (int)i ? &dev->res[i] : &none;
}

/* Type bits of BAR register REG (PCI spec 7.5.1.2.1). */
static void bar_type_from_reg(uint32_t reg, struct vmgpu_bar *b)
{
	b->io = reg & 1;
	b->is_64bit = !b->io && ((reg >> 1) & 3) == 2;
	b->prefetchable = !b->io && (reg & 8);
}

static void bar_type_from_flags(uint64_t flags, struct vmgpu_bar *b)
{
	b->io = flags & IORESOURCE_IO;
	b->is_64bit = !b->io && (flags & IORESOURCE_MEM_64);
	b->prefetchable = !b->io && (flags & IORESOURCE_PREFETCH);
}

static void bar_size(const struct resource_line *l, struct vmgpu_bar *b)
{
	b->start = l->start;
	/* start == end: the kernel knows an address but not a size (and
	 * snapshots write it so for "size unknown"). */
	b->size_known = l->end > l->start;
	b->size = b->size_known ? l->end - l->start + 1 : 0;
}

/*
 * Standard BAR I. The type comes from the kernel's resource flags (what the
 * kernel made of the BAR, as lspci -A linux-sysfs shows it: old kernels, for
 * one, report some prefetchable BARs as cacheable only); the BAR register is
 * the fallback for a BAR the kernel left unassigned (empty resource line).
 * The line after a 64-bit BAR is its upper half, never a BAR of its own.
 */
static int std_bar(const struct vmgpu_dev *dev, unsigned slot, struct vmgpu_bar *ret)
{
	const struct config_info *ci = &dev->cfg;
	unsigned n = n_std_bars(dev);

	for (unsigned i = 0; i < n; i++) {
		const struct resource_line *l = res_line(dev, i);
		uint32_t reg = ci->header_known ? ci->bar_regs[i] : 0;
		struct vmgpu_bar b = { 0 };

		if (reg == 0xffffffff)
			reg = 0;
		if (!l->flags && !l->start && !reg) {
			if (i == slot)
				return -ENOENT;
			continue;
		}
		if (l->flags)
			bar_type_from_flags(l->flags, &b);
		else
			bar_type_from_reg(reg, &b);
		bar_size(l, &b);
		if (i == slot) {
			*ret = b;
			return 0;
		}
		if (b.is_64bit) {
			if (++i == slot)
				return -ENOENT; /* upper half */
		}
	}
	return -ENOENT;
}

VMGPU_EXPORT int vmgpu_dev_bar(const struct vmgpu_dev *dev, unsigned slot, struct vmgpu_bar *ret_bar)
{
	const struct resource_line *l;
	struct vmgpu_bar b = { 0 };
	int total;

	assert_return(dev, -EINVAL);
	assert_return(ret_bar, -EINVAL);
	if (slot < VMGPU_BAR_ROM)
		return std_bar(dev, slot, ret_bar);
	if (slot == VMGPU_BAR_ROM) {
		uint32_t reg = dev->cfg.header_known ? dev->cfg.rom_reg : 0;
		l = res_line(dev, VMGPU_BAR_ROM);
		if (!l->flags && !l->start && !(reg & ~0x7ffu))
			return -ENOENT;
		bar_size(l, &b);
		*ret_bar = b;
		return 0;
	}
	if (slot >= VMGPU_N_BARS)
		return -EINVAL;
	/* Lines 7..12 are the SR-IOV VF BARs only when the kernel has IOV:
	 * 13 lines for an endpoint, 17 for a bridge (4 windows follow). */
	if (dev->n_res != 13 && dev->n_res != 17)
		return -ENOENT;
	l = res_line(dev, slot);
	if (!l->flags && !l->start)
		return -ENOENT;
	bar_type_from_flags(l->flags, &b);
	bar_size(l, &b);
	/* The kernel's IOV resource spans all VFs: size per VF. */
	if (b.size_known && (total = total_vfs(dev)) > 0)
		b.size /= (unsigned)total;
	*ret_bar = b;
	return 0;
}

VMGPU_EXPORT int vmgpu_dev_rebar(const struct vmgpu_dev *dev, unsigned bar, uint64_t *ret_current,
				 uint64_t *ret_supported_mask)
{
	assert_return(dev, -EINVAL);
	assert_return(ret_current, -EINVAL);
	assert_return(ret_supported_mask, -EINVAL);
	for (unsigned i = 0; i < dev_cfg(dev)->n_rebar; i++) {
		if (dev->cfg.rebar[i].bar != bar)
			continue;
		*ret_current = (uint64_t)1 << (20 + dev->cfg.rebar[i].current);
		*ret_supported_mask = dev->cfg.rebar[i].supported_mask;
		return 0;
	}
	return -ENOENT;
}

VMGPU_EXPORT struct vmgpu_dev *vmgpu_dev_parent(const struct vmgpu_dev *dev)
{
	assert_return(dev, NULL);
	return dev->parent;
}

VMGPU_EXPORT size_t vmgpu_dev_n_group_peers(const struct vmgpu_dev *dev)
{
	assert_return(dev, 0);
	return dev->n_peers;
}

VMGPU_EXPORT struct vmgpu_dev *vmgpu_dev_group_peer(const struct vmgpu_dev *dev, size_t i)
{
	assert_return(dev, NULL);
	return i < dev->n_peers ? dev->peers[i] : NULL;
}

VMGPU_EXPORT size_t vmgpu_dev_n_unknown(const struct vmgpu_dev *dev)
{
	assert_return(dev, 0);
	(void)dev_cfg(dev); /* what config space could not tell is known once read */
	return dev->n_unknown;
}

VMGPU_EXPORT const char *vmgpu_dev_unknown(const struct vmgpu_dev *dev, size_t i)
{
	assert_return(dev, NULL);
	return i < dev->n_unknown ? dev->unknown[i] : NULL;
}

VMGPU_EXPORT bool vmgpu_dev_is_display(const struct vmgpu_dev *dev)
{
	assert_return(dev, false);
	return (dev->class_code >> 16) == 0x03;
}

void dev_add_unknown(struct vmgpu_dev *dev, const char *what)
{
	for (size_t i = 0; i < dev->n_unknown; i++)
		if (dev->unknown[i] == what)
			return;
	if (dev->n_unknown < VMGPU_MAX_UNKNOWN)
		dev->unknown[dev->n_unknown++] = what;
}

void dev_free(struct vmgpu_dev *dev)
{
	if (!dev)
		return;
	free(dev->path);
	free(dev->location_path);
	free(dev->driver);
	free(dev->driver_override);
	free(dev->reset_method);
	free(dev->physfn);
	for (size_t i = 0; i < ARRAY_SIZE(dev->names); i++)
		free(dev->names[i]);
	free(dev->peers);
	free(dev);
}

static void read_config(struct vmgpu_dev *dev, int dfd, bool as_root)
{
	uint8_t buf[4096];
	ssize_t n = root_attr_read_bin(dfd, "config", buf, sizeof(buf));

	dev->cfg_full = true;
	config_decode(buf, n > 0 ? (size_t)n : 0, &dev->cfg);
	if (n <= 0)
		dev_add_unknown(dev, "config space: not readable");
	else if (dev->cfg.all_ones)
		dev_add_unknown(dev, "config space: reads all-ones (device powered off, D3cold, or gone)");
	else if (!dev->cfg.caps_known)
		dev_add_unknown(dev, as_root ? "capabilities: only 64 bytes of config space in this snapshot"
					     : "capabilities: config space beyond 64 bytes needs root");
	else if (dev->cfg.has_pcie && !dev->cfg.ext_known)
		dev_add_unknown(dev, "extended capabilities (ACS, SR-IOV, ReBAR): only 256 bytes of config space");
}

const struct config_info *dev_cfg(const struct vmgpu_dev *cdev)
{
	struct vmgpu_dev *dev = (struct vmgpu_dev *)cdev; /* a cache: logically const */
	struct vmgpu_ctx *ctx = dev->host->ctx;
	char rel[300];
	int dfd;

	if (dev->cfg_full)
		return &dev->cfg;
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", dev->address);
	dfd = root_openat(ctx, ctx->root_fd, rel, O_PATH | O_DIRECTORY);
	if (dfd < 0) {
		dev->cfg_full = true; /* gone: keep the header we have */
		return &dev->cfg;
	}
	read_config(dev, dfd, dev->host->running_as_root);
	close(dfd);
	return &dev->cfg;
}

int dev_cmp(const void *a, const void *b)
{
	const struct vmgpu_dev *const *x = a, *const *y = b;

	return pci_address_cmp(&(*x)->addr, &(*y)->addr);
}
