/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How a GPU can be split among VMs, as JSON and as text: one renderer for
 * vmgpu partition list and for the survey.
 */
#include <inttypes.h>
#include <string.h>

#include "json-writer.h"
#include "tool.h"

void report_partitions_json(struct json_writer *w, const struct vmgpu_partitions *s, size_t pi)
{
	const struct vmgpu_partition_parent *p = vmgpu_partitions_parent(s, pi);

	jsonw_object_begin(w);
	jsonw_kv_string(w, "parent", p->name);
	jsonw_kv_bool(w, "pci", p->dev != NULL);
	jsonw_key(w, "sriov");
	if (p->sriov_total_vfs > 0) {
		jsonw_object_begin(w);
		jsonw_kv_int(w, "total_vfs", p->sriov_total_vfs);
		jsonw_kv_int(w, "num_vfs", p->sriov_num_vfs);
		jsonw_kv_tristate(w, "autoprobe", p->sriov_autoprobe < 0 ? -1 : p->sriov_autoprobe != 0);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "mdev_types");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_partitions_n_mdev_types(s, pi); i++) {
		const struct vmgpu_mdev_type *t = vmgpu_partitions_mdev_type(s, pi, i);
		jsonw_object_begin(w);
		jsonw_kv_string(w, "type", t->id);
		jsonw_kv_string(w, "name", t->name);
		jsonw_kv_string(w, "description", t->description);
		jsonw_kv_string(w, "device_api", t->device_api);
		if (t->available >= 0)
			jsonw_kv_int(w, "available_instances", t->available);
		else
			jsonw_kv_null(w, "available_instances");
		if (t->vram_mib)
			jsonw_kv_uint(w, "vram_mib", t->vram_mib);
		else
			jsonw_kv_null(w, "vram_mib");
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "vf_vgpus");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_partitions_n_vf_vgpus(s, pi); i++) {
		const struct vmgpu_vf_vgpu *v = vmgpu_partitions_vf_vgpu(s, pi, i);
		jsonw_object_begin(w);
		jsonw_kv_string(w, "vf", vmgpu_dev_str(v->vf, VMGPU_STR_ADDRESS));
		jsonw_kv_uint(w, "current_vgpu_type", v->current);
		jsonw_key(w, "creatable");
		jsonw_array_begin(w);
		for (size_t k = 0; k < vmgpu_partitions_n_vf_vgpu_types(s, pi, i); k++) {
			const struct vmgpu_vgpu_type *t = vmgpu_partitions_vf_vgpu_type(s, pi, i, k);
			jsonw_object_begin(w);
			jsonw_kv_uint(w, "id", t->id);
			jsonw_kv_string(w, "name", t->name);
			jsonw_kv_uint(w, "vram_mib", t->vram_mib);
			jsonw_object_end(w);
		}
		jsonw_array_end(w);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_kv_string(w, "render_node", p->render_node);
	jsonw_key(w, "mig");
	if (p->mig) {
		jsonw_object_begin(w);
		jsonw_kv_bool(w, "enabled", p->mig->current);
		jsonw_kv_bool(w, "pending", p->mig->pending);
		jsonw_key(w, "profiles");
		jsonw_array_begin(w);
		for (size_t i = 0; i < vmgpu_partitions_n_mig_profiles(s, pi); i++) {
			const struct vmgpu_mig_profile *m = vmgpu_partitions_mig_profile(s, pi, i);
			jsonw_object_begin(w);
			jsonw_kv_uint(w, "id", m->id);
			jsonw_kv_string(w, "name", m->name);
			jsonw_kv_uint(w, "slices", m->slices);
			jsonw_kv_uint(w, "instances", m->instances);
			if (m->available >= 0)
				jsonw_kv_int(w, "available", m->available);
			else
				jsonw_kv_null(w, "available");
			jsonw_kv_uint(w, "memory_mib", m->memory_mib);
			jsonw_kv_uint(w, "multiprocessors", m->multiprocessors);
			jsonw_kv_uint(w, "copy_engines", m->copy_engines);
			jsonw_kv_uint(w, "decoders", m->decoders);
			jsonw_kv_uint(w, "encoders", m->encoders);
			jsonw_kv_uint(w, "jpegs", m->jpegs);
			jsonw_kv_uint(w, "ofas", m->ofas);
			jsonw_object_end(w);
		}
		jsonw_array_end(w);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "mdevs");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_partitions_n_mdevs(s); i++) {
		const struct vmgpu_mdev *m = vmgpu_partitions_mdev(s, i);
		if (strcmp(m->parent, p->name) != 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_string(w, "uuid", m->uuid);
		jsonw_kv_string(w, "type", m->type);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

/* MIG instances are no PCI functions: a VM gets one through a MIG-backed
 * vGPU type, or gets the whole GPU and splits it itself. */
static void text_mig(FILE *f, const struct vmgpu_partitions *s, size_t pi, const char *in)
{
	const struct vmgpu_mig *mig = vmgpu_partitions_parent(s, pi)->mig;

	fprintf(f, "%sMIG: %s%s (read-only; for VMs through MIG-backed vGPU types)\n", in, mig->current ? "on" : "off",
		mig->pending != mig->current ? (mig->pending ? ", on after a GPU reset" : ", off after a GPU reset") : "");
	for (size_t i = 0; i < vmgpu_partitions_n_mig_profiles(s, pi); i++) {
		const struct vmgpu_mig_profile *m = vmgpu_partitions_mig_profile(s, pi, i);
		char count[48];
		if (m->available >= 0)
			snprintf(count, sizeof(count), "%d of %u free", m->available, m->instances);
		else
			snprintf(count, sizeof(count), "up to %u", m->instances);
		fprintf(f, "%s  profile %u %s: %s, %" PRIu64 " MiB, %u SMs\n", in, m->id, m->name ? m->name : "(unnamed)",
			count, m->memory_mib, m->multiprocessors);
	}
}

bool report_partitions_possible(const struct vmgpu_partitions *s, size_t pi)
{
	const struct vmgpu_partition_parent *p = vmgpu_partitions_parent(s, pi);

	return p->sriov_total_vfs > 0 || vmgpu_partitions_n_mdev_types(s, pi) > 0 || vmgpu_partitions_n_vf_vgpus(s, pi) > 0 ||
	       p->render_node || vmgpu_partitions_n_mig_profiles(s, pi) > 0;
}

void report_partitions_text(FILE *f, const struct vmgpu_partitions *s, size_t pi, bool title, const char *in)
{
	const struct vmgpu_partition_parent *p = vmgpu_partitions_parent(s, pi);

	if (title && p->dev) {
		const char *v = vmgpu_dev_str(p->dev, VMGPU_STR_VENDOR_NAME), *d = vmgpu_dev_str(p->dev, VMGPU_STR_DEVICE_NAME);
		fprintf(f, "%s  %s %s\n", p->name, v ? v : "", d ? d : "");
	} else if (title) {
		fprintf(f, "%s  (virtual mdev parent)\n", p->name);
	}
	if (p->sriov_total_vfs > 0) {
		char num[16] = "?"; /* sriov_numvfs unreadable */
		if (p->sriov_num_vfs >= 0)
			snprintf(num, sizeof(num), "%d", p->sriov_num_vfs);
		fprintf(f, "%sSR-IOV: %s of %d VFs enabled, autoprobe %s\n", in, num, p->sriov_total_vfs,
			p->sriov_autoprobe < 0 ? "unknown" : p->sriov_autoprobe ? "on" : "off");
	}
	for (size_t i = 0; i < vmgpu_partitions_n_mdev_types(s, pi); i++) {
		const struct vmgpu_mdev_type *t = vmgpu_partitions_mdev_type(s, pi, i);
		char vram[32] = "", avail[32] = "availability unknown";
		if (t->vram_mib)
			snprintf(vram, sizeof(vram), ", %" PRIu64 " MiB", t->vram_mib);
		if (t->available >= 0)
			snprintf(avail, sizeof(avail), "%d available", t->available);
		fprintf(f, "%smdev type %s%s%s%s: %s%s\n", in, t->id, t->name ? " (" : "", t->name ? t->name : "",
			t->name ? ")" : "", avail, vram);
	}
	for (size_t i = 0; i < vmgpu_partitions_n_vf_vgpus(s, pi); i++) {
		const struct vmgpu_vf_vgpu *v = vmgpu_partitions_vf_vgpu(s, pi, i);
		fprintf(f, "%sVF %s: vGPU type %u%s; creatable:", in, vmgpu_dev_str(v->vf, VMGPU_STR_ADDRESS), v->current,
			v->current ? "" : " (none)");
		for (size_t k = 0; k < vmgpu_partitions_n_vf_vgpu_types(s, pi, i); k++) {
			const struct vmgpu_vgpu_type *t = vmgpu_partitions_vf_vgpu_type(s, pi, i, k);
			fprintf(f, "%s %u %s", k ? "," : "", t->id, t->name);
		}
		fputc('\n', f);
	}
	if (p->render_node) {
		fprintf(f, "%sparavirtual sharing (virtio-gpu 3D): %s\n", in, p->render_node);
	}
	if (p->mig)
		text_mig(f, s, pi, in);
	for (size_t i = 0; i < vmgpu_partitions_n_mdevs(s); i++) {
		const struct vmgpu_mdev *m = vmgpu_partitions_mdev(s, i);
		if (strcmp(m->parent, p->name) == 0)
			fprintf(f, "%smdev %s: %s\n", in, m->uuid, m->type);
	}
	if (!report_partitions_possible(s, pi) && title)
		fprintf(f, "%scannot be split: only whole-GPU passthrough (vmgpu assign)\n", in);
}
