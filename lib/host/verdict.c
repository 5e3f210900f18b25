/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Can this function be handed to a VM as it is? Each check below carries the
 * failure it prevents; the list covers Microsoft's SurveyDDA.ps1 (firmware
 * reserved memory, ACS isolation, PCIe endpoint type, line-based interrupts)
 * and what Linux users trip over (IOMMU off, shared groups, interrupt
 * remapping, reset, boot framebuffer, Resizable BAR).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

struct vmgpu_verdict {
	struct vmgpu_host *host;
	struct vmgpu_dev *dev;
	struct vmgpu_reason *reasons;
	size_t n_reasons;
	struct vmgpu_dev **companions;
	size_t n_companions;
	bool failed; /* out of memory while building */
};

/* CODE in its situation FORM (reasons.c), with the message FMT. */
static void add_reason_va(struct vmgpu_verdict *v, enum reason_code code, unsigned form, const char *fmt,
			  va_list ap) _printf_(4, 0);
static void add_reason_va(struct vmgpu_verdict *v, enum reason_code code, unsigned form, const char *fmt,
			  va_list ap)
{
	const struct reason_info *ri = reason_info(code);
	struct vmgpu_reason *n = realloc(v->reasons, (v->n_reasons + 1) * sizeof(*n));
	char *msg = NULL;

	if (!n) {
		v->failed = true;
		return;
	}
	v->reasons = n;
	if (vasprintf(&msg, fmt, ap) < 0) {
		v->failed = true;
		return;
	}
	n[v->n_reasons++] = (struct vmgpu_reason){ ri->code, ri->form[form].severity, msg, ri->form[form].fix };
}

static void add_reason(struct vmgpu_verdict *v, enum reason_code code, const char *fmt, ...) _printf_(3, 4);
static void add_reason(struct vmgpu_verdict *v, enum reason_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_reason_va(v, code, 0, fmt, ap);
	va_end(ap);
}

/* The check's other situation (OTHER): its form [1] in the table. */
static void add_reason_form(struct vmgpu_verdict *v, enum reason_code code, bool other, const char *fmt, ...)
	_printf_(4, 5);
static void add_reason_form(struct vmgpu_verdict *v, enum reason_code code, bool other, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_reason_va(v, code, other ? 1 : 0, fmt, ap);
	va_end(ap);
}

/* Classes the host cannot lose with its group: storage, network, host/ISA
 * bridges, system peripherals, SMBus. */
static bool class_is_host_critical(uint32_t class_code)
{
	uint32_t base = class_code >> 16, cls = class_code >> 8;

	return base == 0x01 || base == 0x02 || cls == 0x0600 || cls == 0x0601 || base == 0x08 ||
	       cls == 0x0c05 || base == 0x05;
}


static const char *dev_label(struct vmgpu_dev *d, char *buf, size_t sz)
{
	const char *drv = d->driver ? d->driver : "no driver";

	snprintf(buf, sz, "%s (class %04x, %s)", d->address, d->class_code >> 8, drv);
	return buf;
}

static void check_host(struct vmgpu_verdict *v)
{
	struct vmgpu_host *h = v->host;
	enum vmgpu_tristate remapping;

	if (!host_iommu_present(h)) {
		add_reason(v, REASON_IOMMU_OFF,
			   "The IOMMU is off: no unit in /sys/class/iommu and no IOMMU groups, so no device can be isolated for a VM.");
		return;
	}
	remapping = vmgpu_host_fact(h, VMGPU_HOST_INTERRUPT_REMAPPING);
	if (remapping == VMGPU_NO) {
		if (h->allow_unsafe_interrupts == VMGPU_YES)
			add_reason_form(v, REASON_NO_INTERRUPT_REMAPPING, true,
					"Interrupt remapping is off and vfio_iommu_type1 allows unsafe interrupts: "
					"the VM can inject interrupts into the host (MSI attacks).");
		else
			add_reason(v, REASON_NO_INTERRUPT_REMAPPING,
				   "Interrupt remapping is off: vfio_iommu_type1 refuses to attach the device "
				   "(\"No interrupt remapping support\").");
	} else if (remapping == VMGPU_UNKNOWN) {
		add_reason(v, REASON_INTERRUPT_REMAPPING_UNKNOWN, "Could not tell whether interrupt remapping is on.");
	}
	if (h->vfio_pci == VMGPU_MODULE_MISSING)
		add_reason(v, REASON_VFIO_PCI_MISSING, "The vfio-pci module is not available for kernel %s.",
			   h->kernel ? h->kernel : "?");
}

static void check_group(struct vmgpu_verdict *v)
{
	struct vmgpu_dev *dev = v->dev;
	char desc[64], label[128];

	if (!host_iommu_present(v->host))
		return;
	if (dev->iommu_group < 0) {
		add_reason(v, REASON_NO_IOMMU_GROUP, "The device has no IOMMU group although an IOMMU is present.");
		return;
	}
	if (host_group_has_direct_region(v->host, dev->iommu_group, desc, sizeof(desc)) == 1)
		add_reason(v, REASON_FIRMWARE_RESERVED_MEMORY,
			   "IOMMU group %d has firmware-reserved memory %s (RMRR): the kernel will not give "
			   "the device to VFIO.", dev->iommu_group, desc);

	for (size_t i = 0; i < dev->n_peers; i++) {
		struct vmgpu_dev *p = dev->peers[i];
		struct vmgpu_dev **n;

		/* Bridges in a group need no driver change: VFIO only requires
		 * that the group's endpoints be on vfio (or driverless). */
		if (vmgpu_dev_flag(p, VMGPU_FLAG_BRIDGE) == VMGPU_YES)
			continue;
		n = realloc(v->companions, (v->n_companions + 1) * sizeof(*n));
		if (!n) {
			v->failed = true;
			return;
		}
		v->companions = n;
		n[v->n_companions++] = p;
		if (class_is_host_critical(p->class_code))
			add_reason(v, REASON_GROUP_SHARED_WITH_HOST,
				   "IOMMU group %d also holds %s, which the host needs; the whole group would go to the VM.",
				   dev->iommu_group, dev_label(p, label, sizeof(label)));
		else if (!pci_same_slot(&dev->addr, &p->addr))
			add_reason(v, REASON_GROUP_SPANS_SLOTS,
				   "IOMMU group %d also holds %s from another slot; it must go to the same VM.",
				   dev->iommu_group, dev_label(p, label, sizeof(label)));
	}
}

static void check_type(struct vmgpu_verdict *v)
{
	const struct config_info *ci = &v->dev->cfg;
	bool display = vmgpu_dev_is_display(v->dev);
	uint32_t cls = v->dev->class_code >> 8;

	/* Host and ISA/LPC bridges have ordinary headers but are the chipset. */
	if (cls == 0x0600 || cls == 0x0601) {
		add_reason(v, REASON_CHIPSET_FUNCTION, "%s bridge: part of the chipset, never assignable.",
			   cls == 0x0600 ? "Host" : "ISA/LPC");
		return;
	}

	if (!ci->caps_known)
		return;
	if (!ci->has_pcie) {
		/* integrated graphics: a display controller on bus 0 */
		add_reason_form(v, REASON_CONVENTIONAL_PCI, display && v->dev->addr.bus == 0,
				"Conventional PCI function (no PCI Express capability): VFIO can assign it, Hyper-V "
				"DDA refuses it (\"Old-style PCI device\").");
		return;
	}
	switch (ci->pcie_type) {
	case VMGPU_PCIE_ENDPOINT:
		break;
	case VMGPU_PCIE_LEGACY_ENDPOINT:
		if (!display)
			add_reason(v, REASON_LEGACY_ENDPOINT,
				   "Legacy PCI Express endpoint that is not a display controller: Hyper-V DDA refuses it.");
		break;
	case VMGPU_PCIE_RC_INTEGRATED_ENDPOINT:
		add_reason(v, REASON_RC_INTEGRATED,
			   "Root-complex integrated endpoint: assignable, less isolated than a card in a slot "
			   "(DDA: \"Embedded Endpoint -- less secure\").");
		break;
	default:
		add_reason(v, REASON_NOT_ENDPOINT, "PCI Express %s: ports and bridges cannot be assigned.",
			   vmgpu_pcie_type_name(ci->pcie_type) ? vmgpu_pcie_type_name(ci->pcie_type) : "function of reserved type");
	}
}

static void check_interrupts(struct vmgpu_verdict *v)
{
	const struct config_info *ci = &v->dev->cfg;

	if (ci->caps_known && !ci->has_msi && !ci->has_msix)
		add_reason(v, REASON_INTX_ONLY,
			   "Only line-based (INTx) interrupts: VFIO must mask the shared line on every "
			   "interrupt (slow), and Hyper-V DDA refuses the device.");
}

/* Which resets vfio-pci can use between VM runs (kernel order: device
 * specific, ACPI _RST, FLR, AF FLR, PM, bus). */
static void check_reset(struct vmgpu_verdict *v)
{
	struct vmgpu_dev *dev = v->dev;
	const struct config_info *ci = &dev->cfg;
	bool has_flr = ci->has_pcie && ci->flr, has_af = ci->has_af && ci->af_flr;

	if (dev->reset_method) { /* absent before Linux 5.15 */
		if (!*dev->reset_method)
			add_reason(v, REASON_NO_RESET,
				   "The kernel has no reset method for this function (reset_method is empty).");
		else if (strcmp(dev->reset_method, "bus") == 0 && v->n_companions > 0)
			add_reason(v, REASON_BUS_RESET_ONLY,
				   "Only a secondary bus reset is available; it resets the whole slot, companions included.");
	} else if (v->host->reset_method_supported) {
		/* Linux >= 5.15 hides reset_method when there is no method. */
		add_reason(v, REASON_NO_RESET,
			   "The kernel has no reset method for this function (no reset_method attribute).");
	} else if (ci->caps_known && !has_flr && !has_af && (!ci->has_pm || ci->pm_no_soft_reset) &&
		   !dev->parent) {
		/* no word of the kernel's: judged from the capabilities */
		add_reason_form(v, REASON_NO_RESET, true,
				"No FLR, no PM reset and no parent bridge for a bus reset: the device cannot be reset between VM runs.");
	}
	if (dev->vendor == 0x1002 && vmgpu_dev_is_display(dev) && ci->caps_known && !has_flr)
		add_reason(v, REASON_AMD_RESET_BUG,
			   "AMD GPU without Function Level Reset: many such models fail to reset after the first VM shutdown.");
}

static void check_boot_display(struct vmgpu_verdict *v)
{
	struct vmgpu_host *h = v->host;
	struct vmgpu_dev *dev = v->dev;

	for (size_t i = 0; i < h->n_fbs; i++) {
		if (h->fbs[i].dev != dev)
			continue;
		add_reason(v, REASON_BOOT_FRAMEBUFFER,
			   "Boot framebuffer \"%s\" at %#llx-%#llx still holds this device's BAR; vfio-pci cannot reserve it.",
			   h->fbs[i].name, (unsigned long long)h->fbs[i].start, (unsigned long long)h->fbs[i].end);
		return;
	}
	if (dev->boot_vga <= 0)
		return;
	if (h->fbs_known != VMGPU_YES)
		add_reason_form(v, REASON_BOOT_DISPLAY, true,
				"This is the boot display; whether a firmware framebuffer still holds its BAR cannot be told without root.");
	else
		add_reason(v, REASON_BOOT_DISPLAY,
			   "This is the boot display; the host console moves elsewhere or goes dark when it is assigned.");
}

static void check_rebar(struct vmgpu_verdict *v)
{
	const struct config_info *ci = &v->dev->cfg;

	for (unsigned i = 0; i < ci->n_rebar; i++) {
		uint64_t mask = ci->rebar[i].supported_mask, cur = ci->rebar[i].current;
		unsigned top = 0;

		for (unsigned b = 0; b < 64; b++)
			if (mask & (1ULL << b))
				top = b;
		if (!mask || cur != top || top < 10) /* full size and >= 1 GiB */
			continue;
		add_reason(v, REASON_REBAR_FULL,
			   "Resizable BAR %u is at its full size (%llu MiB): the VM firmware must map all of it.",
			   ci->rebar[i].bar, 1ULL << cur);
	}
}

static void check_unknown(struct vmgpu_verdict *v)
{
	struct vmgpu_dev *dev = v->dev;

	for (size_t i = 0; i < dev->n_unknown; i++)
		add_reason_form(v, REASON_UNKNOWN, dev->host->running_as_root, "Not checked: %s.", dev->unknown[i]);
}

static void check_notes(struct vmgpu_verdict *v)
{
	struct vmgpu_dev *dev = v->dev;

	if (dev->cfg.all_ones)
		add_reason(v, REASON_CONFIG_ALL_ONES,
			   "Config space reads all-ones: the device is powered off (D3cold) or gone, and VFIO may not be able to wake it.");

	if (dev->physfn)
		add_reason(v, REASON_VIRTUAL_FUNCTION, "SR-IOV virtual function of %s.", dev->physfn);
	if (dev->driver && strcmp(dev->driver, "vfio-pci") != 0)
		add_reason(v, REASON_HOST_DRIVER,
			   "Bound to %s on the host: assigning it unbinds that driver.", dev->driver);
}

VMGPU_EXPORT int vmgpu_dev_judge(struct vmgpu_host *host, struct vmgpu_dev *dev,
				 struct vmgpu_verdict **ret_verdict)
{
	struct vmgpu_verdict *v;

	assert_return(ret_verdict, -EINVAL);
	if (!host || !dev || dev->host != host)
		return -EINVAL;
	if (vmgpu_dev_flag(dev, VMGPU_FLAG_BRIDGE) == VMGPU_YES)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->host = vmgpu_host_ref(host);
	v->dev = dev;
	(void)dev_cfg(dev); /* the checks below read its capabilities */
	check_host(v);
	check_group(v);
	check_type(v);
	check_interrupts(v);
	check_reset(v);
	check_boot_display(v);
	check_rebar(v);
	check_unknown(v);
	check_notes(v);
	if (v->failed) {
		vmgpu_verdict_unref(v);
		return -ENOMEM;
	}
	*ret_verdict = v;
	return 0;
}

VMGPU_EXPORT struct vmgpu_verdict *vmgpu_verdict_unref(struct vmgpu_verdict *v)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < v->n_reasons; i++)
		free((char *)v->reasons[i].message); /* the fix is the table's */
	free(v->reasons);
	free(v->companions);
	vmgpu_host_unref(v->host);
	free(v);
	return NULL;
}

VMGPU_EXPORT enum vmgpu_verdict_kind vmgpu_verdict_kind(const struct vmgpu_verdict *v)
{
	assert_return(v, VMGPU_VERDICT_BLOCKED);
	for (size_t i = 0; i < v->n_reasons; i++)
		if (v->reasons[i].severity == VMGPU_SEVERITY_BLOCKER)
			return VMGPU_VERDICT_BLOCKED;
	return v->n_companions ? VMGPU_VERDICT_READY_WITH_COMPANIONS : VMGPU_VERDICT_READY;
}

VMGPU_EXPORT const char *vmgpu_verdict_kind_name(enum vmgpu_verdict_kind kind)
{
	switch (kind) {
	case VMGPU_VERDICT_READY: return "ready";
	case VMGPU_VERDICT_READY_WITH_COMPANIONS: return "ready_with_companions";
	case VMGPU_VERDICT_BLOCKED: return "blocked";
	default: return NULL;
	}
}

VMGPU_EXPORT const char *vmgpu_severity_name(enum vmgpu_severity s)
{
	switch (s) {
	case VMGPU_SEVERITY_INFO: return "info";
	case VMGPU_SEVERITY_WARNING: return "warning";
	case VMGPU_SEVERITY_BLOCKER: return "blocker";
	default: return NULL;
	}
}

VMGPU_EXPORT size_t vmgpu_verdict_n_reasons(const struct vmgpu_verdict *v)
{
	assert_return(v, 0);
	return v->n_reasons;
}

VMGPU_EXPORT int vmgpu_verdict_reason(const struct vmgpu_verdict *v, size_t i, struct vmgpu_reason *ret)
{
	assert_return(v, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= v->n_reasons)
		return -ENOENT;
	*ret = v->reasons[i];
	return 0;
}

VMGPU_EXPORT size_t vmgpu_verdict_n_companions(const struct vmgpu_verdict *v)
{
	assert_return(v, 0);
	return v->n_companions;
}

VMGPU_EXPORT struct vmgpu_dev *vmgpu_verdict_companion(const struct vmgpu_verdict *v, size_t i)
{
	assert_return(v, NULL);
	return i < v->n_companions ? v->companions[i] : NULL;
}
