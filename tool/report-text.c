/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The survey report for people: one block per GPU (or named device) with its
 * companions, then what the VM receiving them needs. Colour only on a TTY.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "tool.h"

struct style {
	const char *bold, *red, *yellow, *green, *dim, *reset;
};

static const struct style plain = { "", "", "", "", "", "" };
static const struct style ansi = { "\033[1m", "\033[31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m" };

/* 268435456 -> "256M", 16384 -> "16K", as lspci writes sizes. */
static const char *human_size(uint64_t v, char *buf, size_t sz)
{
	static const char units[] = "KMGTPE";
	unsigned u = 0;

	if (v < 1024 || v % 1024) {
		snprintf(buf, sz, "%" PRIu64, v);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && v % 1024 == 0 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, sz, "%" PRIu64 "%c", v, units[u]);
	return buf;
}

/* Rounded up to whole MiB, as Set-VM takes it ("512MB"). */
static uint64_t mib_ceil(uint64_t v)
{
	return (v + (1u << 20) - 1) >> 20;
}

static void print_host(FILE *f, const struct survey_report *r, const struct style *s)
{
	const struct vmgpu_host *h = r->host;
	enum vmgpu_tristate ir = vmgpu_host_fact(h, VMGPU_HOST_INTERRUPT_REMAPPING);
	static const char *const vfio[] = { "unknown", "missing", "available", "loaded" };

	fprintf(f, "%sHost%s %s: kernel %s\n", s->bold, s->reset, vmgpu_ctx_root(r->ctx),
		vmgpu_host_kernel(h) ? vmgpu_host_kernel(h) : "unknown");
	if (vmgpu_host_fact(h, VMGPU_HOST_IOMMU) == VMGPU_YES) {
		fprintf(f, "  IOMMU: on");
		for (size_t i = 0; i < vmgpu_host_n_iommu_units(h); i++)
			fprintf(f, "%s%s", i ? ", " : " (", vmgpu_host_iommu_unit(h, i));
		fprintf(f, "%s, %u groups\n", vmgpu_host_n_iommu_units(h) ? ")" : "", vmgpu_host_n_iommu_groups(h));
	} else {
		fprintf(f, "  IOMMU: %soff%s\n", s->red, s->reset);
	}
	fprintf(f, "  interrupt remapping: %s\n", ir == VMGPU_YES ? "on" : ir == VMGPU_NO ? "off" : "unknown");
	fprintf(f, "  vfio-pci: %s\n", vfio[vmgpu_host_vfio_pci(h)]);
	for (size_t i = 0; i < vmgpu_host_n_framebuffers(h); i++) {
		struct vmgpu_framebuffer fb;
		if (vmgpu_host_framebuffer(h, i, &fb) == 0)
			fprintf(f, "  framebuffer %s at %#" PRIx64 "-%#" PRIx64 "%s%s\n", fb.name, fb.start, fb.end,
				fb.dev ? " on " : "", fb.dev ? vmgpu_dev_str(fb.dev, VMGPU_STR_ADDRESS) : "");
	}
	if (vmgpu_host_fact(h, VMGPU_HOST_CONFIG_LIMITED) == VMGPU_YES)
		fprintf(f, "  %sconfig space limited to 64 bytes: capabilities not checked (run as root)%s\n",
			s->yellow, s->reset);
}

static void print_title(FILE *f, struct vmgpu_dev *d, const char *prefix, const struct style *s)
{
	const char *cls = vmgpu_dev_str(d, VMGPU_STR_CLASS_NAME);
	const char *vendor = vmgpu_dev_str(d, VMGPU_STR_VENDOR_NAME);
	const char *device = vmgpu_dev_str(d, VMGPU_STR_DEVICE_NAME);
	int64_t vid = 0, did = 0, cc = 0;

	(void)vmgpu_dev_int(d, VMGPU_INT_VENDOR, &vid);
	(void)vmgpu_dev_int(d, VMGPU_INT_DEVICE, &did);
	(void)vmgpu_dev_int(d, VMGPU_INT_CLASS, &cc);
	fprintf(f, "%s%s%s%s  ", prefix, s->bold, vmgpu_dev_str(d, VMGPU_STR_ADDRESS), s->reset);
	if (cls)
		fprintf(f, "%s: ", cls);
	else
		fprintf(f, "Class %04" PRIx64 ": ", (uint64_t)cc >> 8);
	fprintf(f, "%s %s [%04" PRIx64 ":%04" PRIx64 "]\n", vendor ? vendor : "Unknown vendor",
		device ? device : "device", (uint64_t)vid, (uint64_t)did);
}

static void print_bars(FILE *f, const struct vmgpu_dev *d, const char *indent)
{
	struct vmgpu_bar b;
	char sz[32];
	bool any = false;

	for (unsigned i = 0; i <= VMGPU_BAR_ROM; i++) {
		if (vmgpu_dev_bar(d, i, &b) < 0)
			continue;
		fprintf(f, "%s%s", any ? ", " : indent, any ? "" : "BARs: ");
		any = true;
		if (i == VMGPU_BAR_ROM)
			fprintf(f, "ROM ");
		else
			fprintf(f, "%u: ", i);
		fprintf(f, "%s", b.size_known ? human_size(b.size, sz, sizeof(sz)) : "?");
		if (b.io)
			fprintf(f, " I/O");
		else if (i != VMGPU_BAR_ROM)
			fprintf(f, " %s%s", b.is_64bit ? "64-bit" : "32-bit", b.prefetchable ? " pref" : "");
	}
	if (any)
		fputc('\n', f);
}

static void print_facts(FILE *f, struct vmgpu_dev *d, const char *indent)
{
	const char *drv = vmgpu_dev_str(d, VMGPU_STR_DRIVER);
	const char *rm = vmgpu_dev_str(d, VMGPU_STR_RESET_METHOD);
	int64_t group, type;

	fprintf(f, "%sdriver: %s", indent, drv ? drv : "none");
	if (vmgpu_dev_int(d, VMGPU_INT_IOMMU_GROUP, &group) == 0)
		fprintf(f, "   IOMMU group: %" PRId64, group);
	if (vmgpu_dev_int(d, VMGPU_INT_PCIE_TYPE, &type) == 0)
		fprintf(f, "   PCIe: %s", vmgpu_pcie_type_name((int)type));
	if (rm)
		fprintf(f, "   reset: %s", *rm ? rm : "none");
	fprintf(f, "\n%slocation: %s\n", indent, vmgpu_dev_str(d, VMGPU_STR_LOCATION_PATH));
	print_bars(f, d, indent);
}

static void print_verdict(FILE *f, const struct vmgpu_verdict *v, const char *indent, const struct style *s)
{
	enum vmgpu_verdict_kind k = vmgpu_verdict_kind(v);
	const char *color = k == VMGPU_VERDICT_BLOCKED ? s->red : s->green;

	fprintf(f, "%sverdict: %s%s%s", indent, color,
		k == VMGPU_VERDICT_READY ? "ready" : k == VMGPU_VERDICT_BLOCKED ? "blocked" : "ready with companions",
		s->reset);
	for (size_t i = 0; i < vmgpu_verdict_n_companions(v); i++)
		fprintf(f, "%s%s", i ? ", " : " (with ", vmgpu_dev_str(vmgpu_verdict_companion(v, i), VMGPU_STR_ADDRESS));
	fprintf(f, "%s\n", vmgpu_verdict_n_companions(v) ? ")" : "");
	for (size_t i = 0; i < vmgpu_verdict_n_reasons(v); i++) {
		struct vmgpu_reason re;
		if (vmgpu_verdict_reason(v, i, &re) < 0)
			continue;
		const char *mark = re.severity == VMGPU_SEVERITY_BLOCKER ? "blocked:" :
				   re.severity == VMGPU_SEVERITY_WARNING ? "warning:" : "note:";
		const char *c = re.severity == VMGPU_SEVERITY_BLOCKER ? s->red :
				re.severity == VMGPU_SEVERITY_WARNING ? s->yellow : s->dim;
		fprintf(f, "%s  %s%s%s %s\n", indent, c, mark, s->reset, re.message);
		if (re.fix)
			fprintf(f, "%s    fix: %s\n", indent, re.fix);
	}
}

static void print_vm(FILE *f, const struct survey_vm *vm, const char *indent)
{
	const struct vmgpu_mmio *m = &vm->mmio;
	char lo[32], hi[32], hole[32];

	fprintf(f, "%sVM needs MMIO: %s below 4G, %s above 4G%s\n", indent, human_size(m->low, lo, sizeof(lo)),
		human_size(m->high, hi, sizeof(hi)), m->sizes_unknown ? " (some BAR sizes unknown: at least)" : "");
	fprintf(f, "%s  QEMU q35: pci-hole64-size=%s (%s)\n", indent, human_size(m->qemu_pci_hole64, hole, sizeof(hole)),
		m->qemu_pci_hole64_sufficient ? "the default is enough" : "raise it: the 32G default is too small");
	fprintf(f, "%s  Hyper-V: Set-VM -LowMemoryMappedIoSpace %" PRIu64 "MB -HighMemoryMappedIoSpace %" PRIu64 "MB\n",
		indent, mib_ceil(m->hyperv_low), mib_ceil(m->hyperv_high));
}

/* "blocked: iommu_off, group_shared_with_host" */
static void print_short_verdict(FILE *f, const struct vmgpu_verdict *v, const struct style *s)
{
	enum vmgpu_verdict_kind k;
	bool any = false;

	if (!v) {
		fprintf(f, "  %sbridge%s\n", s->dim, s->reset);
		return;
	}
	k = vmgpu_verdict_kind(v);
	fprintf(f, "  %s%s%s", k == VMGPU_VERDICT_BLOCKED ? s->red : s->green, vmgpu_verdict_kind_name(k), s->reset);
	for (size_t i = 0; i < vmgpu_verdict_n_reasons(v); i++) {
		struct vmgpu_reason re;
		struct vmgpu_reason prev;
		if (vmgpu_verdict_reason(v, i, &re) < 0 || re.severity != VMGPU_SEVERITY_BLOCKER)
			continue;
		if (i > 0 && vmgpu_verdict_reason(v, i - 1, &prev) == 0 && strcmp(prev.code, re.code) == 0)
			continue;
		fprintf(f, "%s%s", any ? ", " : ": ", re.code);
		any = true;
	}
	fputc('\n', f);
}

static const struct survey_vm *vm_of(const struct survey_report *r, const struct vmgpu_dev *d)
{
	for (size_t i = 0; i < r->n_vms; i++)
		if (r->vms[i].devs[0] == d)
			return &r->vms[i];
	return NULL;
}

/* How D can be split among VMs, when it can (vmgpu partition list). */
static void print_split(FILE *f, const struct survey_report *r, const struct vmgpu_dev *d)
{
	for (size_t i = 0; r->parts && i < vmgpu_partitions_n_parents(r->parts); i++) {
		if (vmgpu_partitions_parent(r->parts, i)->dev != d || !report_partitions_possible(r->parts, i))
			continue;
		fprintf(f, "  can be split among VMs (vmgpu partition):\n");
		report_partitions_text(f, r->parts, i, false, "    ");
	}
}

/* mbochs and other parents that are no PCI function */
static size_t print_virtual_parents(FILE *f, const struct survey_report *r, const struct style *s)
{
	size_t shown = 0;

	for (size_t i = 0; r->parts && i < vmgpu_partitions_n_parents(r->parts); i++) {
		const struct vmgpu_partition_parent *p = vmgpu_partitions_parent(r->parts, i);
		if (p->dev || !r->partitions_shown[i])
			continue;
		fprintf(f, "\n%s%s%s  virtual mdev parent\n", s->bold, p->name, s->reset);
		report_partitions_text(f, r->parts, i, false, "  ");
		shown++;
	}
	return shown;
}

int report_text_survey(FILE *f, const struct survey_report *r, bool color)
{
	const struct style *s = color ? &ansi : &plain;
	size_t shown = 0;

	print_host(f, r, s);
	for (size_t i = 0; i < r->n_items; i++) {
		const struct survey_item *it = &r->items[i];
		const struct survey_vm *vm;

		if (!it->primary)
			continue;
		shown++;
		fputc('\n', f);
		print_title(f, it->dev, "", s);
		if (it->verdict)
			print_verdict(f, it->verdict, "  ", s);
		else
			fprintf(f, "  %sbridge: not assignable, listed only%s\n", s->dim, s->reset);
		print_facts(f, it->dev, "  ");
		for (size_t c = 0; it->verdict && c < vmgpu_verdict_n_companions(it->verdict); c++) {
			struct vmgpu_dev *cd = vmgpu_verdict_companion(it->verdict, c);
			print_title(f, cd, "  + ", s);
			print_facts(f, cd, "      ");
		}
		if ((vm = vm_of(r, it->dev)))
			print_vm(f, vm, "  ");
		print_split(f, r, it->dev);
	}
	shown += print_virtual_parents(f, r, s);
	/* --all: everything else, two lines each. */
	for (size_t i = 0, first = 1; i < r->n_items; i++) {
		const struct survey_item *it = &r->items[i];
		if (it->primary || it->companion)
			continue;
		if (first)
			fprintf(f, "\n%sOther functions%s\n", s->bold, s->reset);
		first = 0;
		shown++;
		print_title(f, it->dev, "", s);
		print_short_verdict(f, it->verdict, s);
	}
	if (shown == 0)
		fprintf(f, "\nNo display controller found (use --all to list every PCI function).\n");
	return ferror(f) ? -EIO : 0;
}
