/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every reason code vmgpu gives, in one table: the verdict's reasons
 * (verdict.c, vmgpu(8) CHECKS) and the plans' refusals (lib/plan). Each entry
 * says where the code is used, whether --force may override it as a refusal,
 * and its fix, with the severity a verdict gives it. Call sites name the enum
 * and add only the message, which carries the host's particulars. The codes
 * and fixes are a public contract (JSON "code" and "fix", the text report):
 * tests/unit/test-reasons.c holds the table to vmgpu(8).
 *
 * A check that reports the same code in two situations has two forms: [0]
 * the usual one, [1] the other (its call site says which and why). A verdict
 * blocker becomes a refusal with its form [0] fix.
 */
#include <string.h>

#include "host.h"

#define SEV_BLOCKER VMGPU_SEVERITY_BLOCKER
#define SEV_WARNING VMGPU_SEVERITY_WARNING
#define SEV_INFO VMGPU_SEVERITY_INFO
#define VERDICT REASON_KIND_VERDICT
#define REFUSAL REASON_KIND_REFUSAL
#define BOTH (REASON_KIND_VERDICT | REASON_KIND_REFUSAL)

#define SHUT_VM_DOWN "Shut the VM down first."
#define SEE_PARTITION_LIST "See vmgpu partition list."

static const struct reason_info table[_REASON_MAX] = {
	/* ---- host ---- */
	[REASON_IOMMU_OFF] = { "iommu_off", BOTH, false, { { SEV_BLOCKER,
		"Enable VT-d (Intel) or AMD-Vi/IOMMU in the firmware setup, and boot with "
		"intel_iommu=on (Intel; AMD enables it by default) and optionally iommu=pt." } } },
	/* [1]: vfio_iommu_type1 allows unsafe interrupts */
	[REASON_NO_INTERRUPT_REMAPPING] = { "no_interrupt_remapping", BOTH, true, {
		{ SEV_BLOCKER, "Enable interrupt remapping (x2APIC/IR in firmware; drop intremap=off). Only if you "
			   "trust the guest: vfio_iommu_type1.allow_unsafe_interrupts=1." },
		{ SEV_WARNING, "Enable interrupt remapping (x2APIC/IR in firmware; drop intremap=off) and "
			   "remove vfio_iommu_type1.allow_unsafe_interrupts=1." } } },
	[REASON_INTERRUPT_REMAPPING_UNKNOWN] = { "interrupt_remapping_unknown", VERDICT, false, { { SEV_WARNING,
		"Check dmesg for \"DMAR-IR: Enabled IRQ remapping\" or \"AMD-Vi: Interrupt remapping enabled\"." } } },
	[REASON_VFIO_PCI_MISSING] = { "vfio_pci_missing", BOTH, false, { { SEV_BLOCKER,
		"Install a kernel built with CONFIG_VFIO_PCI (every distribution kernel has it)." } } },

	/* ---- IOMMU group ---- */
	[REASON_NO_IOMMU_GROUP] = { "no_iommu_group", BOTH, false, { { SEV_BLOCKER,
		"Check that the IOMMU covers this PCI segment (dmesg | grep -i -e DMAR -e IOMMU)." } } },
	[REASON_FIRMWARE_RESERVED_MEMORY] = { "firmware_reserved_memory", BOTH, false, { { SEV_BLOCKER,
		"The firmware keeps DMA to this range (RMRR); look for a firmware update or a "
		"setting that releases the device, or use another slot." } } },
	[REASON_GROUP_SHARED_WITH_HOST] = { "group_shared_with_host", BOTH, true, { { SEV_BLOCKER,
		"Move the card to a slot wired to the CPU, enable ACS in the firmware, or pick "
		"a board whose root ports isolate (pcie_acs_override breaks isolation)." } } },
	[REASON_GROUP_SPANS_SLOTS] = { "group_spans_slots", VERDICT, false, { { SEV_WARNING,
		"Give the listed devices to the same VM, or move the card to a slot with ACS isolation." } } },

	/* ---- function type ---- */
	[REASON_CHIPSET_FUNCTION] = { "chipset_function", BOTH, false, { { SEV_BLOCKER, NULL } } },
	/* [1]: integrated graphics (a display controller on bus 0) */
	[REASON_CONVENTIONAL_PCI] = { "conventional_pci", VERDICT, false, { { SEV_WARNING, NULL },
		{ SEV_WARNING, "Integrated graphics need IGD-specific options in QEMU (x-igd-opregion, legacy mode)." } } },
	[REASON_LEGACY_ENDPOINT] = { "legacy_endpoint", VERDICT, false, { { SEV_WARNING, NULL } } },
	[REASON_RC_INTEGRATED] = { "rc_integrated", VERDICT, false, { { SEV_INFO, NULL } } },
	/* also refused directly: a bridge or port cannot even be judged */
	[REASON_NOT_ENDPOINT] = { "not_endpoint", BOTH, false, { { SEV_BLOCKER, NULL } } },
	[REASON_INTX_ONLY] = { "intx_only", VERDICT, false, { { SEV_WARNING, NULL } } },

	/* ---- reset ---- */
	/* [1]: no kernel's word (before Linux 5.15), judged from the capabilities */
	[REASON_NO_RESET] = { "no_reset", VERDICT, false, {
		{ SEV_WARNING, "Expect the device to keep state across VM restarts; a vendor-reset module or a "
			   "host reboot may be needed." },
		{ SEV_WARNING, NULL } } },
	[REASON_BUS_RESET_ONLY] = { "bus_reset_only", VERDICT, false, { { SEV_INFO, NULL } } },
	[REASON_AMD_RESET_BUG] = { "amd_reset_bug", VERDICT, false, { { SEV_WARNING,
		"Load vendor-reset and set reset_method to device_specific, or plan for a host reboot." } } },

	/* ---- boot display, BARs, config space ---- */
	[REASON_BOOT_FRAMEBUFFER] = { "boot_framebuffer", BOTH, true, { { SEV_BLOCKER,
		"Boot with initcall_blacklist=sysfb_init (or video=efifb:off / video=vesafb:off), or "
		"use another GPU as the boot display." } } },
	/* [1]: without root, a framebuffer in its BARs cannot be ruled out */
	[REASON_BOOT_DISPLAY] = { "boot_display", VERDICT, false, { { SEV_INFO, NULL },
		{ SEV_WARNING, "Run as root so that /proc/iomem shows addresses, or boot with "
			   "initcall_blacklist=sysfb_init." } } },
	[REASON_REBAR_FULL] = { "rebar_full", VERDICT, false, { { SEV_WARNING,
		"Make sure the VM's 64-bit MMIO window is sized for it (see mmio), or shrink it with "
		"/sys/bus/pci/devices/<addr>/resource<N>_resize or disable Resizable BAR in the firmware." } } },
	/* [1]: as root, nothing more can be read */
	[REASON_UNKNOWN] = { "unknown", VERDICT, false, { { SEV_INFO, "Run vmgpu survey as root." }, { SEV_INFO, NULL } } },
	[REASON_CONFIG_ALL_ONES] = { "config_all_ones", VERDICT, false, { { SEV_WARNING,
		"Wake it before assigning (echo on > power/control), or load vfio-pci with disable_idle_d3=1." } } },

	/* ---- notes ---- */
	[REASON_VIRTUAL_FUNCTION] = { "virtual_function", VERDICT, false, { { SEV_INFO, NULL } } },
	[REASON_HOST_DRIVER] = { "host_driver", VERDICT, false, { { SEV_INFO, NULL } } },

	/* ---- refusals of assign and release (plan.c) ---- */
	[REFUSE_HOST_DISK_IN_USE] = { "host_disk_in_use", REFUSAL, false, { { SEV_BLOCKER,
		"Unmount it (and stop whatever uses it) first, or leave this group on the host." } } },
	[REFUSE_HOST_NETWORK_IN_USE] = { "host_network_in_use", REFUSAL, false, { { SEV_BLOCKER,
		"Move the default route to another interface first." } } },
	[REFUSE_DEVICE_OPEN] = { "device_open", REFUSAL, true, { { SEV_BLOCKER,
		"Stop the process (or its display session) first; --force unbinds anyway, and "
		"the process loses the device (the unbind may wait until it lets go)." } } },
	[REFUSE_IN_USE_BY_VM] = { "in_use_by_vm", REFUSAL, false, { { SEV_BLOCKER, SHUT_VM_DOWN } } },
	[REFUSE_NOT_ASSIGNED_BY_VMGPU] = { "not_assigned_by_vmgpu", REFUSAL, false, { { SEV_BLOCKER,
		"Use --foreign to release it anyway (the kernel then picks the driver)." } } },

	/* ---- refusals of partition plans (partition.c) ---- */
	[REFUSE_NO_MDEV_PARENT] = { "no_mdev_parent", REFUSAL, false, { { SEV_BLOCKER, SEE_PARTITION_LIST } } },
	[REFUSE_NO_SUCH_TYPE] = { "no_such_type", REFUSAL, false, { { SEV_BLOCKER,
		"See vmgpu partition list for its types." } } },
	[REFUSE_NAME_TOO_LONG] = { "name_too_long", REFUSAL, false, { { SEV_BLOCKER, NULL } } },
	[REFUSE_NO_INSTANCES] = { "no_instances", REFUSAL, false, { { SEV_BLOCKER,
		"Remove unused instances, pick a smaller type, or another parent." } } },
	[REFUSE_NO_SUCH_MDEV] = { "no_such_mdev", REFUSAL, false, { { SEV_BLOCKER, SEE_PARTITION_LIST } } },
	[REFUSE_NO_SRIOV] = { "no_sriov", REFUSAL, false, { { SEV_BLOCKER, NULL } } },
	[REFUSE_TOO_MANY_VFS] = { "too_many_vfs", REFUSAL, false, { { SEV_BLOCKER, NULL } } },
	[REFUSE_VF_ASSIGNED] = { "vf_assigned", REFUSAL, false, { { SEV_BLOCKER,
		"Release the VFs first (vmgpu release, vmgpu detach)." } } },
	[REFUSE_NO_VGPU] = { "no_vgpu", REFUSAL, false, { { SEV_BLOCKER,
		"NVIDIA's vGPU host driver (vGPU 17+) exposes it on the VFs of supported GPUs." } } },
	[REFUSE_TYPE_NOT_CREATABLE] = { "type_not_creatable", REFUSAL, false, { { SEV_BLOCKER,
		"See vmgpu partition list for the types this VF can take now." } } },
};

const struct reason_info *reason_info(enum reason_code code)
{
	return (unsigned)code < _REASON_MAX ? &table[code] : NULL;
}

enum reason_code reason_lookup(const char *code)
{
	for (unsigned i = 0; code && i < _REASON_MAX; i++)
		if (table[i].code && strcmp(table[i].code, code) == 0)
			return i;
	return _REASON_MAX;
}
