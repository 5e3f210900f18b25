/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The partitioning inventory: NVIDIA per-VF vGPU files, mdev types and
 * instances, render-node selection, and the vendor-text parsers. */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "partition.h"
#include "testlib.h"

struct inv {
	struct fx *fx;
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
	struct vmgpu_partitions *s;
};

static void inv_open(struct inv *v, const char *scenario)
{
	v->fx = fx_new();
	fx_scenario_find(scenario)->build(v->fx);
	fx_finish(v->fx);
	if (vmgpu_ctx_new(fx_root(v->fx), &v->ctx) < 0 || vmgpu_host_scan(v->ctx, &v->host) < 0 ||
	    vmgpu_partitions_read(v->host, &v->s) < 0)
		abort();
}

static void inv_close(struct inv *v)
{
	vmgpu_partitions_unref(v->s);
	vmgpu_host_unref(v->host);
	vmgpu_ctx_unref(v->ctx);
	fx_free(v->fx);
}

static size_t parent_index(const struct vmgpu_partitions *s, const char *name)
{
	for (size_t i = 0; i < vmgpu_partitions_n_parents(s); i++)
		if (strcmp(vmgpu_partitions_parent(s, i)->name, name) == 0)
			return i;
	return (size_t)-1;
}

static void t_nvidia_vgpu(void)
{
	struct inv v;
	size_t pi;
	const struct vmgpu_partition_parent *p;
	const struct vmgpu_vf_vgpu *vf;

	inv_open(&v, "nvidia-vgpu");
	pi = parent_index(v.s, "0000:01:00.0");
	CHECK(pi != (size_t)-1);
	p = vmgpu_partitions_parent(v.s, pi);
	CHECK_EQ_INT(p->sriov_total_vfs, 16);
	CHECK_EQ_INT(p->sriov_num_vfs, 2);
	CHECK_EQ_INT(p->sriov_autoprobe, 0);
	CHECK_EQ_INT(vmgpu_partitions_n_vf_vgpus(v.s, pi), 2);
	vf = vmgpu_partitions_vf_vgpu(v.s, pi, 0);
	CHECK_EQ_STR(vmgpu_dev_str(vf->vf, VMGPU_STR_ADDRESS), "0000:01:00.4");
	CHECK_EQ_INT(vf->current, 560);
	CHECK_EQ_INT(vmgpu_partitions_n_vf_vgpu_types(v.s, pi, 0), 4);
	CHECK_EQ_INT(vmgpu_partitions_vf_vgpu_type(v.s, pi, 0, 1)->id, 558);
	CHECK_EQ_STR(vmgpu_partitions_vf_vgpu_type(v.s, pi, 0, 1)->name, "NVIDIA A10-2Q");
	CHECK_EQ_INT(vmgpu_partitions_vf_vgpu_type(v.s, pi, 0, 1)->vram_mib, 2048);
	CHECK(vmgpu_partitions_vf_vgpu_type(v.s, pi, 0, 4) == NULL);
	CHECK_EQ_INT(vmgpu_partitions_vf_vgpu(v.s, pi, 1)->current, 0);
	/* VFs are not parents of their own. */
	CHECK(parent_index(v.s, "0000:01:00.4") == (size_t)-1);
	inv_close(&v);
}

static const struct vmgpu_mig *mig_of(const char *scenario, struct inv *v)
{
	inv_open(v, scenario);
	size_t pi = parent_index(v->s, "0000:01:00.0");
	CHECK(pi != (size_t)-1);
	return pi == (size_t)-1 ? NULL : vmgpu_partitions_parent(v->s, pi)->mig;
}

/* MIG profile I of the GPU mig_of() read, NULL when there is none. */
static const struct vmgpu_mig_profile *profile(const struct inv *v, size_t i)
{
	return vmgpu_partitions_mig_profile(v->s, parent_index(v->s, "0000:01:00.0"), i);
}

static size_t n_profiles(const struct inv *v)
{
	return vmgpu_partitions_n_mig_profiles(v->s, parent_index(v->s, "0000:01:00.0"));
}

/* MIG through NVML: only with a library to ask (the fake H200 here), only
 * for GPUs on the nvidia driver, and never for a --root snapshot unless
 * VMGPU_NVML_LIBRARY says so. */
static void t_mig(void)
{
	struct inv v;
	const struct vmgpu_mig *m;

	unsetenv("VMGPU_NVML_LIBRARY");
	CHECK(mig_of("nvidia-mig", &v) == NULL); /* a snapshot: NVML speaks for this machine */
	inv_close(&v);

	setenv("VMGPU_NVML_LIBRARY", FAKE_NVML, 1);
	m = mig_of("nvidia-mig", &v);
	CHECK(m != NULL);
	if (m) {
		CHECK(m->current && m->pending);
		CHECK_EQ_INT(n_profiles(&v), 7);
		CHECK_EQ_INT(profile(&v, 0)->id, 19);
		CHECK_EQ_STR(profile(&v, 0)->name, "1g.18gb");
		CHECK_EQ_INT(profile(&v, 0)->instances, 7);
		CHECK_EQ_INT(profile(&v, 0)->available, 5);
		CHECK_EQ_INT(profile(&v, 0)->memory_mib, 16384);
		CHECK_EQ_STR(profile(&v, 4)->name, "7g.141gb");
		CHECK_EQ_INT(profile(&v, 4)->slices, 7);
		CHECK_EQ_INT(profile(&v, 4)->ofas, 1);
		CHECK_EQ_STR(profile(&v, 6)->name, "1g.35gb");
		CHECK(profile(&v, 7) == NULL);
	}
	inv_close(&v);

	/* an NVML before R510: no names, the rest the same */
	setenv("FAKE_NVML_NO_V2", "1", 1);
	m = mig_of("nvidia-mig", &v);
	CHECK(m && n_profiles(&v) == 7 && profile(&v, 0)->name == NULL && profile(&v, 0)->available == 5);
	inv_close(&v);
	unsetenv("FAKE_NVML_NO_V2");

	/* no MIG on this GPU, NVML not initialised, GPU unknown to NVML */
	setenv("FAKE_NVML_NO_MIG", "1", 1);
	CHECK(mig_of("nvidia-mig", &v) == NULL);
	inv_close(&v);
	unsetenv("FAKE_NVML_NO_MIG");
	setenv("FAKE_NVML_FAIL_INIT", "1", 1);
	CHECK(mig_of("nvidia-mig", &v) == NULL);
	inv_close(&v);
	unsetenv("FAKE_NVML_FAIL_INIT");
	setenv("FAKE_NVML_GPUS", "0000:41:00.0", 1);
	CHECK(mig_of("nvidia-mig", &v) == NULL);
	inv_close(&v);
	unsetenv("FAKE_NVML_GPUS");

	/* a GPU on nouveau: NVML cannot see it and is not asked */
	CHECK(mig_of("gpu-audio", &v) == NULL);
	inv_close(&v);
	unsetenv("VMGPU_NVML_LIBRARY");
}

static void t_mdev(void)
{
	struct inv v;
	const struct vmgpu_partition_parent *mb, *grid;
	size_t mbi, gridi;

	inv_open(&v, "mdev");
	mb = vmgpu_partitions_parent(v.s, mbi = parent_index(v.s, "mbochs"));
	grid = vmgpu_partitions_parent(v.s, gridi = parent_index(v.s, "0000:01:00.0"));
	CHECK(mb && !mb->dev);
	CHECK(grid && grid->dev);
	if (mb) {
		CHECK_EQ_INT(vmgpu_partitions_n_mdev_types(v.s, mbi), 3);
		for (size_t i = 0; i < vmgpu_partitions_n_mdev_types(v.s, mbi); i++) {
			const struct vmgpu_mdev_type *t = vmgpu_partitions_mdev_type(v.s, mbi, i);
			if (strcmp(t->id, "mbochs-large") == 0) {
				CHECK_EQ_INT(t->vram_mib, 64);
				CHECK_EQ_INT(t->available, 4);
			}
		}
	}
	if (grid) {
		CHECK_EQ_INT(vmgpu_partitions_n_mdev_types(v.s, gridi), 1);
		CHECK_EQ_STR(vmgpu_partitions_mdev_type(v.s, gridi, 0)->name, "GRID P40-2Q");
		CHECK_EQ_INT(vmgpu_partitions_mdev_type(v.s, gridi, 0)->vram_mib, 2048);
	}
	CHECK_EQ_INT(vmgpu_partitions_n_mdevs(v.s), 1);
	CHECK_EQ_STR(vmgpu_partitions_mdev(v.s, 0)->type, "mbochs-medium");
	CHECK_EQ_STR(vmgpu_partitions_mdev(v.s, 0)->parent, "mbochs");
	inv_close(&v);
}

static void t_render_nodes(void)
{
	struct inv v;

	inv_open(&v, "render-nodes");
	CHECK_EQ_STR(vmgpu_partitions_parent(v.s, parent_index(v.s, "0000:01:00.0"))->render_node, "/dev/dri/renderD129");
	CHECK_EQ_STR(vmgpu_partitions_parent(v.s, parent_index(v.s, "0000:02:00.0"))->render_node, "/dev/dri/renderD128");
	inv_close(&v);
}

static void t_parsers(void)
{
	struct vmgpu_vgpu_type *t;
	char **names;
	size_t n;

	CHECK_EQ_INT(inventory_parse_vram_mib("GRID P40-2Q", "num_heads=4, framebuffer=2048M, max_instance=12"), 2048);
	CHECK_EQ_INT(inventory_parse_vram_mib(NULL, "virtual display, 16 MB video memory"), 16);
	CHECK_EQ_INT(inventory_parse_vram_mib(NULL, "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n"), 640);
	CHECK_EQ_INT(inventory_parse_vram_mib("NVIDIA A40-8Q", NULL), 8192);
	CHECK_EQ_INT(inventory_parse_vram_mib("NVIDIA A40-48C", NULL), 49152);
	CHECK_EQ_INT(inventory_parse_vram_mib("mtty-1", "Dual port serial"), 0);
	CHECK_EQ_INT(inventory_parse_vram_mib("i915-GVTg_V5_4", NULL), 0);
	CHECK_EQ_INT(inventory_parse_vram_mib("x-8Qz", NULL), 0);
	CHECK_EQ_INT(inventory_parse_vgpu_types("ID    : vGPU Name\n1 : A\n  22 : NVIDIA L4-24Q\ngarbage\n", &t, &n, &names), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(t[1].id, 22);
	CHECK_EQ_STR(t[1].name, "NVIDIA L4-24Q");
	CHECK_EQ_INT(t[1].vram_mib, 24576);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(t);
}

/* A caller's mistake (no object, an index past the end) is answered, not
 * crashed on: the public functions check their arguments. */
static void t_bad_arguments(void)
{
	struct vmgpu_partitions *s = NULL;
	char *report = (char *)"untouched";

	CHECK_EQ_INT(vmgpu_partitions_read(NULL, &s), -EINVAL);
	CHECK(s == NULL);
	CHECK_EQ_INT(vmgpu_partitions_n_parents(NULL), 0);
	CHECK(vmgpu_partitions_parent(NULL, 0) == NULL);
	CHECK_EQ_INT(vmgpu_partitions_n_mdev_types(NULL, 0), 0);
	CHECK(vmgpu_partitions_mdev_type(NULL, 0, 0) == NULL);
	CHECK_EQ_INT(vmgpu_partitions_n_mig_profiles(NULL, 0), 0);
	CHECK(vmgpu_partitions_vf_vgpu_type(NULL, 0, 0, 0) == NULL);
	CHECK_EQ_INT(vmgpu_host_n_devices(NULL), 0);
	CHECK(vmgpu_dev_str(NULL, VMGPU_STR_ADDRESS) == NULL);
	CHECK_EQ_INT(vmgpu_plan_apply(NULL, NULL, NULL, &report), -EINVAL);
	CHECK(report == NULL);
	CHECK_EQ_INT(vmgpu_pool_new(NULL, "{}", NULL, NULL), -EINVAL);

	struct inv v;
	inv_open(&v, "mdev");
	size_t mb = parent_index(v.s, "mbochs");
	CHECK(vmgpu_partitions_mdev_type(v.s, mb, vmgpu_partitions_n_mdev_types(v.s, mb)) == NULL);
	CHECK_EQ_INT(vmgpu_partitions_n_mdev_types(v.s, vmgpu_partitions_n_parents(v.s)), 0);
	CHECK_EQ_INT(vmgpu_partitions_n_mig_profiles(v.s, mb), 0);
	CHECK_EQ_INT(vmgpu_partitions_n_vf_vgpu_types(v.s, mb, 0), 0);
	inv_close(&v);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "NVIDIA vGPU types on VFs", t_nvidia_vgpu },
		{ "NVIDIA MIG through NVML", t_mig },
		{ "mdev parents, types, instances", t_mdev },
		{ "render node of each GPU", t_render_nodes },
		{ "vendor text parsers", t_parsers },
		{ "bad arguments answered, not crashed on", t_bad_arguments },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
