/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The survey report as JSON, schema vmgpu.survey/1 (doc/survey-json.md). */
#include <errno.h>
#include <string.h>

#include "json-writer.h"
#include "tool.h"

static void kv_int_or_null(struct json_writer *w, const char *key, const struct vmgpu_dev *d,
			   enum vmgpu_dev_int what)
{
	int64_t v;

	jsonw_key(w, key);
	if (vmgpu_dev_int(d, what, &v) == 0)
		jsonw_int(w, v);
	else
		jsonw_null(w);
}

static const char *module_state_name(enum vmgpu_module_state s)
{
	switch (s) {
	case VMGPU_MODULE_LOADED: return "loaded";
	case VMGPU_MODULE_AVAILABLE: return "available";
	case VMGPU_MODULE_MISSING: return "missing";
	default: return "unknown";
	}
}

static void write_host(struct json_writer *w, const struct survey_report *r)
{
	const struct vmgpu_host *h = r->host;

	jsonw_key(w, "host");
	jsonw_object_begin(w);
	jsonw_kv_string(w, "root", vmgpu_ctx_root(r->ctx));
	jsonw_kv_string(w, "kernel", vmgpu_host_kernel(h));
	jsonw_kv_string(w, "cmdline", vmgpu_host_cmdline(h));
	jsonw_key(w, "iommu");
	jsonw_object_begin(w);
	jsonw_kv_bool(w, "present", vmgpu_host_fact(h, VMGPU_HOST_IOMMU) == VMGPU_YES);
	jsonw_key(w, "units");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_host_n_iommu_units(h); i++)
		jsonw_string(w, vmgpu_host_iommu_unit(h, i));
	jsonw_array_end(w);
	jsonw_kv_uint(w, "groups", vmgpu_host_n_iommu_groups(h));
	jsonw_object_end(w);
	jsonw_kv_tristate(w, "interrupt_remapping", vmgpu_host_fact(h, VMGPU_HOST_INTERRUPT_REMAPPING));
	jsonw_kv_tristate(w, "allow_unsafe_interrupts", vmgpu_host_fact(h, VMGPU_HOST_ALLOW_UNSAFE_INTERRUPTS));
	jsonw_kv_string(w, "vfio_pci", module_state_name(vmgpu_host_vfio_pci(h)));
	jsonw_key(w, "framebuffers");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_host_n_framebuffers(h); i++) {
		struct vmgpu_framebuffer fb;
		if (vmgpu_host_framebuffer(h, i, &fb) < 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_string(w, "name", fb.name);
		jsonw_kv_uint(w, "start", fb.start);
		jsonw_kv_uint(w, "end", fb.end);
		jsonw_kv_string(w, "device", fb.dev ? vmgpu_dev_str(fb.dev, VMGPU_STR_ADDRESS) : NULL);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_kv_tristate(w, "framebuffers_known", vmgpu_host_fact(h, VMGPU_HOST_FRAMEBUFFERS_KNOWN));
	jsonw_kv_string(w, "config_access",
		       vmgpu_host_fact(h, VMGPU_HOST_CONFIG_LIMITED) == VMGPU_YES ? "limited" : "full");
	jsonw_object_end(w);
}

/* "flr bus" -> ["flr","bus"]; null when the kernel has no reset_method file. */
static void write_reset_methods(struct json_writer *w, const char *methods)
{
	jsonw_key(w, "reset_methods");
	if (!methods) {
		jsonw_null(w);
		return;
	}
	jsonw_array_begin(w);
	for (const char *p = methods; *p;) {
		size_t n = strcspn(p, " ");
		char word[32];
		if (n > 0 && n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			jsonw_string(w, word);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	jsonw_array_end(w);
}

static void write_bar(struct json_writer *w, unsigned index, const struct vmgpu_bar *b)
{
	jsonw_object_begin(w);
	jsonw_kv_uint(w, "index", index);
	jsonw_key(w, "size");
	if (b->size_known)
		jsonw_uint(w, b->size);
	else
		jsonw_null(w);
	jsonw_kv_bool(w, "is_64bit", b->is_64bit);
	jsonw_kv_bool(w, "prefetchable", b->prefetchable);
	if (b->io)
		jsonw_kv_bool(w, "io", true);
	jsonw_object_end(w);
}

static void write_bars(struct json_writer *w, const struct vmgpu_dev *d)
{
	struct vmgpu_bar b;

	jsonw_key(w, "bars");
	jsonw_array_begin(w);
	for (unsigned s = 0; s < VMGPU_BAR_ROM; s++)
		if (vmgpu_dev_bar(d, s, &b) == 0)
			write_bar(w, s, &b);
	jsonw_array_end(w);
	jsonw_key(w, "rom");
	if (vmgpu_dev_bar(d, VMGPU_BAR_ROM, &b) == 0) {
		jsonw_object_begin(w);
		jsonw_key(w, "size");
		if (b.size_known)
			jsonw_uint(w, b.size);
		else
			jsonw_null(w);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
}

static void write_sriov(struct json_writer *w, const struct vmgpu_dev *d)
{
	int64_t total, num;
	struct vmgpu_bar b;

	kv_int_or_null(w, "sriov_total_vfs", d, VMGPU_INT_SRIOV_TOTAL_VFS);
	jsonw_key(w, "sriov");
	if (vmgpu_dev_int(d, VMGPU_INT_SRIOV_TOTAL_VFS, &total) < 0) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_kv_int(w, "total_vfs", total);
	if (vmgpu_dev_int(d, VMGPU_INT_SRIOV_NUM_VFS, &num) == 0)
		jsonw_kv_int(w, "num_vfs", num);
	jsonw_key(w, "vf_bars");
	jsonw_array_begin(w);
	for (unsigned s = VMGPU_BAR_VF0; s < VMGPU_N_BARS; s++)
		if (vmgpu_dev_bar(d, s, &b) == 0)
			write_bar(w, s - VMGPU_BAR_VF0, &b);
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void write_rebar(struct json_writer *w, const struct vmgpu_dev *d)
{
	jsonw_key(w, "rebar");
	jsonw_array_begin(w);
	for (unsigned bar = 0; bar < 6; bar++) {
		uint64_t cur, mask;
		if (vmgpu_dev_rebar(d, bar, &cur, &mask) < 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_uint(w, "index", bar);
		jsonw_kv_uint(w, "current", cur);
		jsonw_key(w, "supported");
		jsonw_array_begin(w);
		for (unsigned i = 0; i < 44; i++)
			if (mask & (1ULL << i))
				jsonw_uint(w, (1ULL << 20) << i);
		jsonw_array_end(w);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void write_caps(struct json_writer *w, const struct vmgpu_dev *d)
{
	int64_t t;

	jsonw_key(w, "pcie_type");
	if (vmgpu_dev_int(d, VMGPU_INT_PCIE_TYPE, &t) == 0)
		jsonw_string(w, vmgpu_pcie_type_name((int)t));
	else
		jsonw_null(w);
	jsonw_kv_tristate(w, "msi", vmgpu_dev_flag(d, VMGPU_FLAG_MSI));
	jsonw_kv_tristate(w, "msix", vmgpu_dev_flag(d, VMGPU_FLAG_MSIX));
	jsonw_kv_tristate(w, "flr", vmgpu_dev_flag(d, VMGPU_FLAG_FLR));
	jsonw_kv_tristate(w, "af_flr", vmgpu_dev_flag(d, VMGPU_FLAG_AF_FLR));
	jsonw_kv_tristate(w, "pm_no_soft_reset", vmgpu_dev_flag(d, VMGPU_FLAG_PM_NO_SOFT_RESET));
	jsonw_kv_tristate(w, "acs", vmgpu_dev_flag(d, VMGPU_FLAG_ACS));
	kv_int_or_null(w, "acs_ctrl", d, VMGPU_INT_ACS_CTRL);
	write_sriov(w, d);
	write_rebar(w, d);
}

static void write_verdict(struct json_writer *w, const struct vmgpu_verdict *v)
{
	jsonw_key(w, "verdict");
	jsonw_string(w, v ? vmgpu_verdict_kind_name(vmgpu_verdict_kind(v)) : NULL);
	jsonw_key(w, "companions");
	jsonw_array_begin(w);
	for (size_t i = 0; v && i < vmgpu_verdict_n_companions(v); i++)
		jsonw_string(w, vmgpu_dev_str(vmgpu_verdict_companion(v, i), VMGPU_STR_ADDRESS));
	jsonw_array_end(w);
	jsonw_key(w, "reasons");
	jsonw_array_begin(w);
	for (size_t i = 0; v && i < vmgpu_verdict_n_reasons(v); i++) {
		struct vmgpu_reason re;
		if (vmgpu_verdict_reason(v, i, &re) < 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_string(w, "code", re.code);
		jsonw_kv_string(w, "severity", vmgpu_severity_name(re.severity));
		jsonw_kv_string(w, "message", re.message);
		jsonw_kv_string(w, "fix", re.fix);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void write_mmio(struct json_writer *w, const struct vmgpu_mmio *m)
{
	jsonw_key(w, "mmio");
	jsonw_object_begin(w);
	jsonw_kv_uint(w, "low", m->low);
	jsonw_kv_uint(w, "high", m->high);
	jsonw_object_end(w);
}

static void write_device(struct json_writer *w, const struct survey_item *it)
{
	struct vmgpu_dev *d = it->dev;
	const struct vmgpu_dev *parent = vmgpu_dev_parent(d);

	jsonw_object_begin(w);
	jsonw_kv_string(w, "address", vmgpu_dev_str(d, VMGPU_STR_ADDRESS));
	kv_int_or_null(w, "vendor_id", d, VMGPU_INT_VENDOR);
	kv_int_or_null(w, "device_id", d, VMGPU_INT_DEVICE);
	kv_int_or_null(w, "subsystem_vendor_id", d, VMGPU_INT_SUBSYSTEM_VENDOR);
	kv_int_or_null(w, "subsystem_device_id", d, VMGPU_INT_SUBSYSTEM_DEVICE);
	kv_int_or_null(w, "revision", d, VMGPU_INT_REVISION);
	kv_int_or_null(w, "class", d, VMGPU_INT_CLASS);
	jsonw_kv_string(w, "vendor_name", vmgpu_dev_str(d, VMGPU_STR_VENDOR_NAME));
	jsonw_kv_string(w, "device_name", vmgpu_dev_str(d, VMGPU_STR_DEVICE_NAME));
	jsonw_kv_string(w, "subsystem_name", vmgpu_dev_str(d, VMGPU_STR_SUBSYSTEM_NAME));
	kv_int_or_null(w, "header_type", d, VMGPU_INT_HEADER_TYPE);
	jsonw_kv_string(w, "driver", vmgpu_dev_str(d, VMGPU_STR_DRIVER));
	jsonw_kv_string(w, "driver_override", vmgpu_dev_str(d, VMGPU_STR_DRIVER_OVERRIDE));
	jsonw_kv_string(w, "parent", parent ? vmgpu_dev_str((struct vmgpu_dev *)parent, VMGPU_STR_ADDRESS) : NULL);
	jsonw_kv_string(w, "path", vmgpu_dev_str(d, VMGPU_STR_PATH));
	jsonw_kv_string(w, "location_path", vmgpu_dev_str(d, VMGPU_STR_LOCATION_PATH));
	jsonw_kv_string(w, "physfn", vmgpu_dev_str(d, VMGPU_STR_PHYSFN));
	kv_int_or_null(w, "iommu_group", d, VMGPU_INT_IOMMU_GROUP);
	kv_int_or_null(w, "numa_node", d, VMGPU_INT_NUMA_NODE);
	jsonw_kv_bool(w, "boot_vga", vmgpu_dev_flag(d, VMGPU_FLAG_BOOT_VGA) == VMGPU_YES);
	write_reset_methods(w, vmgpu_dev_str(d, VMGPU_STR_RESET_METHOD));
	kv_int_or_null(w, "config_size", d, VMGPU_INT_CONFIG_SIZE);
	write_bars(w, d);
	write_caps(w, d);
	jsonw_key(w, "unknown");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_dev_n_unknown(d); i++)
		jsonw_string(w, vmgpu_dev_unknown(d, i));
	jsonw_array_end(w);
	write_verdict(w, it->verdict);
	write_mmio(w, &it->mmio);
	jsonw_object_end(w);
}

static void write_vm(struct json_writer *w, const struct survey_vm *vm)
{
	const struct vmgpu_mmio *m = &vm->mmio;

	jsonw_object_begin(w);
	jsonw_key(w, "devices");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vm->n_devs; i++)
		jsonw_string(w, vmgpu_dev_str(vm->devs[i], VMGPU_STR_ADDRESS));
	jsonw_array_end(w);
	write_mmio(w, m);
	jsonw_kv_bool(w, "sizes_unknown", m->sizes_unknown);
	jsonw_kv_uint(w, "qemu_pci_hole64", m->qemu_pci_hole64);
	jsonw_kv_uint(w, "qemu_pci_hole64_default", m->qemu_pci_hole64_default);
	jsonw_kv_bool(w, "qemu_pci_hole64_sufficient", m->qemu_pci_hole64_sufficient);
	jsonw_kv_uint(w, "hyperv_low_mmio", m->hyperv_low);
	jsonw_kv_uint(w, "hyperv_high_mmio", m->hyperv_high);
	jsonw_kv_uint(w, "hyperv_low_mmio_default", m->hyperv_low_default);
	jsonw_kv_uint(w, "hyperv_high_mmio_default", m->hyperv_high_default);
	jsonw_object_end(w);
}

int report_json_survey(FILE *f, const struct survey_report *r, bool pretty)
{
	struct json_writer *w = jsonw_new(f, pretty);

	if (!w)
		return -ENOMEM;
	jsonw_object_begin(w);
	jsonw_kv_string(w, "schema", "vmgpu.survey/1");
	write_host(w, r);
	jsonw_key(w, "devices");
	jsonw_array_begin(w);
	for (size_t i = 0; i < r->n_items; i++)
		write_device(w, &r->items[i]);
	jsonw_array_end(w);
	jsonw_key(w, "vms");
	jsonw_array_begin(w);
	for (size_t i = 0; i < r->n_vms; i++)
		write_vm(w, &r->vms[i]);
	jsonw_array_end(w);
	/* the objects of vmgpu partition list --json ("parents") */
	jsonw_key(w, "partitions");
	if (r->parts) {
		jsonw_array_begin(w);
		for (size_t i = 0; i < vmgpu_partitions_n_parents(r->parts); i++)
			if (r->partitions_shown[i])
				report_partitions_json(w, r->parts, i);
		jsonw_array_end(w);
	} else {
		jsonw_null(w);
	}
	jsonw_object_end(w);
	return jsonw_free(w);
}
