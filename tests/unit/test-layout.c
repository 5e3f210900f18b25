/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest layout rule (lib/vm/layout.c): a guest slot numbers its functions
 * 0..n-1 in host order, a function alone (an SR-IOV VF) is function 0 of a
 * slot of its own, and only the functions of one host slot share a guest
 * slot. A guest scans a slot only when function 0 answers, so a VF kept at
 * its host function number is invisible to it: the QEMU rendering is checked
 * for that too, on fake hosts and on the captured QEMU SR-IOV tree.
 */
#include <errno.h>
#include <stdlib.h>

#include "macro.h"

#include "fixture.h"
#include "testlib.h"
#include "vmgpu.h"

#define MiB (1ULL << 20)

struct env {
	struct fx *fx;
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
	struct vmgpu_vm_layout *layout;
};

static void open_root(struct env *e, const char *root)
{
	if (vmgpu_ctx_new(root, &e->ctx) < 0 || vmgpu_host_scan(e->ctx, &e->host) < 0)
		abort();
}

static void open_fx(struct env *e, void (*build)(struct fx *))
{
	e->fx = fx_new();
	build(e->fx);
	fx_finish(e->fx);
	open_root(e, fx_root(e->fx));
}

static void open_scenario(struct env *e, const char *name)
{
	open_fx(e, fx_scenario_find(name)->build);
}

static void open_fixture(struct env *e, const char *tree)
{
	char root[512];

	snprintf(root, sizeof(root), "%s/%s", FIXTURES_DIR, tree);
	e->fx = NULL;
	open_root(e, root);
}

/* Lays out the N addresses given; 0 or the error. */
static int lay_out(struct env *e, const char *const *addrs, size_t n)
{
	struct vmgpu_dev *devs[16];

	for (size_t i = 0; i < n; i++)
		if (vmgpu_host_lookup(e->host, addrs[i], &devs[i]) < 0)
			return -ENOENT;
	vmgpu_vm_layout_unref(e->layout);
	e->layout = NULL;
	return vmgpu_vm_layout_new(e->host, devs, n, 0, &e->layout);
}

static void close_env(struct env *e)
{
	vmgpu_vm_layout_unref(e->layout);
	vmgpu_host_unref(e->host);
	vmgpu_ctx_unref(e->ctx);
	if (e->fx)
		fx_free(e->fx);
	*e = (struct env){ 0 };
}

/* The layout's function for host ADDR: its guest slot and function. */
static void check_place(const struct env *e, const char *addr, unsigned slot, unsigned function, bool multifunction)
{
	for (size_t i = 0; i < vmgpu_vm_layout_n_functions(e->layout); i++) {
		struct vmgpu_vm_function f;
		CHECK_EQ_INT(vmgpu_vm_layout_function(e->layout, i, &f), 0);
		if (strcmp(vmgpu_dev_str(f.dev, VMGPU_STR_ADDRESS), addr) != 0)
			continue;
		CHECK_EQ_INT(f.slot, slot);
		CHECK_EQ_INT(f.function, function);
		CHECK_EQ_INT(f.multifunction, multifunction);
		return;
	}
	fprintf(stderr, "  %s is not in the layout\n", addr);
	CHECK(!"function in the layout");
}

static char *qemu_args(const struct env *e)
{
	char *out = NULL;

	CHECK_EQ_INT(vmgpu_render_qemu(e->layout, &out), 0);
	return out;
}

/* A PF at 02:00.0 with seven VFs at 02:00.1-7 (offset 1, stride 1), each in
 * a group of its own, the PF on its host driver: the functions 1..7 case. */
static void s_seven_vfs(struct fx *fx)
{
	struct fx_cfg c;

	fx_host_iommu(fx);
	fx_cfg_init(&c, 0x8086, 0x1901, 0x060400, 0x01);
	fx_cfg_pcie(&c, 4 /* root port */, false);
	fx_dev(fx, "0000:00:01.0", NULL, &c);
	fx_group(fx, "0000:00:01.0", 1);
	fx_cfg_init(&c, 0x1002, 0x7551, 0x030000, 0x80);
	fx_cfg_pcie(&c, 0 /* endpoint */, true);
	fx_cfg_sriov(&c, 7, 7, 0x7552);
	fx_cfg_bar(&c, 0, 0xf0000000, false, false, false);
	fx_dev(fx, "0000:02:00.0", "0000:00:01.0", &c);
	fx_bar(fx, "0000:02:00.0", 0, 0xf0000000, 16 * MiB, false, false, false);
	fx_driver(fx, "0000:02:00.0", "amdgpu");
	fx_group(fx, "0000:02:00.0", 2);
	for (int vf = 1; vf <= 7; vf++) {
		char addr[32], link[128];
		snprintf(addr, sizeof(addr), "0000:02:00.%d", vf);
		fx_cfg_init(&c, 0xffff, 0xffff, 0x030000, 0x00);
		fx_cfg_pcie(&c, 0, true);
		fx_dev(fx, addr, "0000:00:01.0", &c);
		fx_attr(fx, addr, "vendor", "0x1002\n");
		fx_attr(fx, addr, "device", "0x7552\n");
		fx_bar(fx, addr, 0, 0xf1000000 + (uint64_t)vf * MiB, MiB, false, false, false);
		fx_group(fx, addr, 10 + vf);
		snprintf(link, sizeof(link), "sys/devices/pci0000:00/0000:00:01.0/%s/physfn", addr);
		fx_symlink(fx, link, "../0000:02:00.0");
	}
}

static void t_gpu_audio_one_slot(void)
{
	struct env e = { 0 };
	const char *gpu[] = { "0000:01:00.0" };
	_cleanup_free_ char *args = NULL;

	open_scenario(&e, "gpu-audio");
	CHECK_EQ_INT(lay_out(&e, gpu, 1), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_functions(e.layout), 2);
	CHECK_EQ_INT(vmgpu_vm_layout_n_slots(e.layout), 1);
	check_place(&e, "0000:01:00.0", 0, 0, true);
	check_place(&e, "0000:01:00.1", 0, 1, false);
	args = qemu_args(&e);
	CHECK(args && strstr(args, "host=0000:01:00.0,id=vmgpu-0000-01-00-0,bus=vmgpu-rp0,addr=00.0,multifunction=on\n"));
	CHECK(args && strstr(args, "host=0000:01:00.1,id=vmgpu-0000-01-00-1,bus=vmgpu-rp0,addr=00.1\n"));
	close_env(&e);
}

static void t_two_gpus(void)
{
	struct env e = { 0 };
	const char *gpus[] = { "0000:02:00.0", "0000:01:00.0" };

	open_scenario(&e, "large-bar");
	CHECK_EQ_INT(lay_out(&e, gpus, 2), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_slots(e.layout), 2);
	check_place(&e, "0000:01:00.0", 0, 0, false);
	check_place(&e, "0000:02:00.0", 1, 0, false);
	close_env(&e);
}

/* A vGPU-on-VF A10: the PF stays on the host, each VF is function 0 of its
 * own slot, and two VFs of one PF to one VM are two slots. */
static void t_vf_pf_stays(void)
{
	struct env e = { 0 };
	const char *one[] = { "0000:01:00.5" }, *two[] = { "0000:01:00.4", "0000:01:00.5" };
	_cleanup_free_ char *args = NULL;

	open_scenario(&e, "nvidia-vgpu");
	CHECK_EQ_INT(lay_out(&e, one, 1), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_functions(e.layout), 1);
	check_place(&e, "0000:01:00.5", 0, 0, false);
	args = qemu_args(&e);
	CHECK(args && strstr(args, "host=0000:01:00.5,id=vmgpu-0000-01-00-5,bus=vmgpu-rp0,addr=00.0\n"));
	CHECK(args && !strstr(args, "addr=00.5"));
	CHECK_EQ_INT(lay_out(&e, two, 2), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_slots(e.layout), 2);
	check_place(&e, "0000:01:00.4", 0, 0, false);
	check_place(&e, "0000:01:00.5", 1, 0, false);
	close_env(&e);
}

/* VFs at host functions 1..7, one at a time and all together; their root
 * port windows are one per VF. */
static void t_vfs_functions_1_to_7(void)
{
	struct env e = { 0 };
	const char *all[7];
	char names[7][16];

	open_fx(&e, s_seven_vfs);
	for (int vf = 1; vf <= 7; vf++) {
		snprintf(names[vf - 1], sizeof(names[0]), "0000:02:00.%d", vf);
		all[vf - 1] = names[vf - 1];
		CHECK_EQ_INT(lay_out(&e, &all[vf - 1], 1), 0);
		CHECK_EQ_INT(vmgpu_vm_layout_n_slots(e.layout), 1);
		check_place(&e, names[vf - 1], 0, 0, false);
	}
	CHECK_EQ_INT(lay_out(&e, all, 7), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_slots(e.layout), 7);
	for (int vf = 1; vf <= 7; vf++)
		check_place(&e, names[vf - 1], (unsigned)vf - 1, 0, false);
	CHECK_EQ_INT(vmgpu_vm_layout_mmio(e.layout)->low, 7 * MiB);
	close_env(&e);
}

/* The tree captured from QEMU's nvme PF with four VFs (04:00.1-4). */
static void t_qemu_sriov_fixture(void)
{
	struct env e = { 0 };
	const char *vf[] = { "0000:04:00.1" }, *vfs[] = { "0000:04:00.3", "0000:04:00.2" };
	_cleanup_free_ char *one = NULL, *two = NULL;

	open_fixture(&e, "qemu-q35-sriov");
	CHECK_EQ_INT(lay_out(&e, vf, 1), 0);
	check_place(&e, "0000:04:00.1", 0, 0, false);
	one = qemu_args(&e);
	CHECK(one && strstr(one, "-device vfio-pci,host=0000:04:00.1,id=vmgpu-0000-04-00-1,bus=vmgpu-rp0,addr=00.0\n"));
	CHECK_EQ_INT(lay_out(&e, vfs, 2), 0);
	check_place(&e, "0000:04:00.2", 0, 0, false);
	check_place(&e, "0000:04:00.3", 1, 0, false);
	two = qemu_args(&e);
	CHECK(two && strstr(two, "host=0000:04:00.3,id=vmgpu-0000-04-00-3,bus=vmgpu-rp1,addr=00.0\n"));
	CHECK(two && !strstr(two, "multifunction"));
	/* two 1 MiB root port windows, not one shared */
	CHECK_EQ_INT(vmgpu_vm_layout_mmio(e.layout)->low, 2 * MiB);
	close_env(&e);
}

/* GPU and audio of one slot in two IOMMU groups (ACS on the multifunction
 * device): the audio alone goes without its function 0 and becomes
 * function 0 of its slot; both together keep one slot. */
static void s_split_groups(struct fx *fx)
{
	struct fx_cfg c;

	fx_host_iommu(fx);
	fx_cfg_init(&c, 0x8086, 0x1901, 0x060400, 0x01);
	fx_cfg_pcie(&c, 4 /* root port */, false);
	fx_dev(fx, "0000:00:01.0", NULL, &c);
	fx_group(fx, "0000:00:01.0", 1);
	fx_cfg_init(&c, 0x1002, 0x73bf, 0x030000, 0x80);
	fx_cfg_pcie(&c, 0, true);
	fx_dev(fx, "0000:01:00.0", "0000:00:01.0", &c);
	fx_group(fx, "0000:01:00.0", 2);
	fx_cfg_init(&c, 0x1002, 0xab28, 0x040300, 0x00);
	fx_cfg_pcie(&c, 0, true);
	fx_dev(fx, "0000:01:00.1", "0000:00:01.0", &c);
	fx_group(fx, "0000:01:00.1", 3);
}

static void t_function_alone_renumbered(void)
{
	struct env e = { 0 };
	const char *audio[] = { "0000:01:00.1" }, *both[] = { "0000:01:00.1", "0000:01:00.0" };
	_cleanup_free_ char *args = NULL;

	open_fx(&e, s_split_groups);
	CHECK_EQ_INT(lay_out(&e, audio, 1), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_functions(e.layout), 1);
	check_place(&e, "0000:01:00.1", 0, 0, false);
	args = qemu_args(&e);
	CHECK(args && strstr(args, "host=0000:01:00.1,id=vmgpu-0000-01-00-1,bus=vmgpu-rp0,addr=00.0\n"));
	CHECK_EQ_INT(lay_out(&e, both, 2), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_n_slots(e.layout), 1);
	check_place(&e, "0000:01:00.0", 0, 0, true);
	check_place(&e, "0000:01:00.1", 0, 1, false);
	close_env(&e);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "gpu + audio: one slot, functions 0 and 1", t_gpu_audio_one_slot },
		{ "two GPUs: two slots, function 0 each", t_two_gpus },
		{ "VF whose PF stays: function 0 of its own slot; two VFs, two slots", t_vf_pf_stays },
		{ "VFs at host functions 1..7: function 0 each", t_vfs_functions_1_to_7 },
		{ "captured QEMU SR-IOV tree: VFs at function 0", t_qemu_sriov_fixture },
		{ "one function of a slot, alone: renumbered to function 0", t_function_alone_renumbered },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
