/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One fake host per verdict reason. Each scenario is the smallest host that
 * shows the reason on its subject device: a root port, the GPU at
 * 0000:01:00.0 (usually with its HDMI audio at 01:00.1), and the host facts
 * the reason needs. tests/unit/test-verdict.c checks the verdicts;
 * tests/cli/ drives the real binary over the same trees (mkfixture).
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

enum { PCIE_EP = 0, PCIE_LEGACY_EP = 1, PCIE_ROOT_PORT = 4, PCIE_RCEC = 0xa };

static void root_port(struct fx *fx, const char *addr, int group)
{
	struct fx_cfg c;

	fx_cfg_init(&c, 0x8086, 0x1901, 0x060400, 0x01);
	fx_cfg_pm(&c, false);
	fx_cfg_msi(&c);
	fx_cfg_pcie(&c, PCIE_ROOT_PORT, false);
	fx_cfg_acs(&c, 0x001f, 0x001d);
	fx_dev(fx, addr, NULL, &c);
	fx_driver(fx, addr, "pcieport");
	if (group >= 0)
		fx_group(fx, addr, group);
}

struct gpu_opts {
	uint16_t vendor, device;
	bool flr, msi, pcie, no_soft_reset;
	uint64_t bar1;         /* 64-bit prefetchable VRAM aperture */
	unsigned rebar_cur;    /* 0: no ReBAR */
	size_t cfg_len;
	const char *driver;
};

static const struct gpu_opts nvidia = {
	.vendor = 0x10de, .device = 0x2204, .flr = true, .msi = true, .pcie = true,
	.no_soft_reset = true, .bar1 = 256 * MiB, .cfg_len = 4096, .driver = "nouveau",
};

static void gpu(struct fx *fx, const char *addr, const char *parent, int group, const struct gpu_opts *o,
		uint64_t base)
{
	struct fx_cfg c;

	fx_cfg_init(&c, o->vendor, o->device, 0x030000, 0x80);
	fx_cfg_pm(&c, o->no_soft_reset);
	if (o->msi)
		fx_cfg_msi(&c);
	if (o->pcie) {
		fx_cfg_pcie(&c, PCIE_LEGACY_EP, o->flr);
		if (o->rebar_cur)
			fx_cfg_rebar(&c, 1, (uint32_t)((o->bar1 >> 20) * 2 - 1) & ~0x7fu, o->rebar_cur);
	}
	fx_cfg_bar(&c, 0, 0xf6000000, false, false, false);
	fx_cfg_bar(&c, 1, base, false, true, true);
	fx_cfg_bar(&c, 3, base + o->bar1, false, true, true);
	fx_cfg_bar(&c, 5, 0xe000, true, false, false);
	c.len = o->cfg_len;
	fx_dev(fx, addr, parent, &c);
	fx_bar(fx, addr, 0, 0xf6000000, 16 * MiB, false, false, false);
	fx_bar(fx, addr, 1, base, o->bar1, false, true, true);
	fx_bar(fx, addr, 3, base + o->bar1, 32 * MiB, false, true, true);
	fx_bar(fx, addr, 5, 0xe000, 128, true, false, false);
	fx_bar(fx, addr, 6, 0xf7000000, 512 * 1024, false, false, false);
	fx_attr(fx, addr, "boot_vga", "0\n");
	fx_attr(fx, addr, "reset_method", o->flr ? "flr bus\n" : "bus\n");
	if (o->driver)
		fx_driver(fx, addr, o->driver);
	if (group >= 0)
		fx_group(fx, addr, group);
}

static void audio(struct fx *fx, const char *addr, const char *parent, int group)
{
	struct fx_cfg c;

	fx_cfg_init(&c, 0x10de, 0x1aef, 0x040300, 0x80);
	fx_cfg_pm(&c, true);
	fx_cfg_msi(&c);
	fx_cfg_pcie(&c, PCIE_EP, false);
	fx_cfg_bar(&c, 0, 0xf7080000, false, false, false);
	fx_dev(fx, addr, parent, &c);
	fx_bar(fx, addr, 0, 0xf7080000, 16 * 1024, false, false, false);
	fx_attr(fx, addr, "reset_method", "bus\n");
	fx_driver(fx, addr, "snd_hda_intel");
	if (group >= 0)
		fx_group(fx, addr, group);
}

/* Root port 00:01.0 (group 1) -> GPU 01:00.0 + audio 01:00.1 (group 2). */
static void gpu_slot(struct fx *fx, const struct gpu_opts *o, bool with_audio)
{
	root_port(fx, "0000:00:01.0", 1);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", 2, o, 0xc0000000ULL);
	if (with_audio)
		audio(fx, "0000:01:00.1", "0000:00:01.0", 2);
}

static void s_gpu_alone(struct fx *fx)
{
	fx_host_iommu(fx);
	gpu_slot(fx, &nvidia, false);
}

static void s_gpu_audio(struct fx *fx)
{
	fx_host_iommu(fx);
	gpu_slot(fx, &nvidia, true);
}

static void s_iommu_off(struct fx *fx)
{
	fx_file(fx, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1\n");
	fx_file(fx, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	root_port(fx, "0000:00:01.0", -1);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", -1, &nvidia, 0xc0000000ULL);
}

static void s_no_irq_remap(struct fx *fx)
{
	fx_host_iommu(fx);
	fx_file(fx, "proc/interrupts", "           CPU0\n 24:          0  PCI-MSI-0000:00:1f.2    0-edge      ahci\n");
	gpu_slot(fx, &nvidia, false);
}

static void s_unsafe_interrupts(struct fx *fx)
{
	s_no_irq_remap(fx);
	fx_file(fx, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
}

/* A PCH root port without ACS: the GPU shares its group with the SATA
 * controller that holds the root filesystem. */
static void s_shared_with_sata(struct fx *fx)
{
	struct fx_cfg c;

	fx_host_iommu(fx);
	root_port(fx, "0000:00:1c.0", 7);
	gpu(fx, "0000:02:00.0", "0000:00:1c.0", 7, &nvidia, 0xc0000000ULL);
	fx_cfg_init(&c, 0x8086, 0xa352, 0x010601, 0x00);
	fx_cfg_msi(&c);
	fx_dev(fx, "0000:00:1f.2", NULL, &c);
	fx_bar(fx, "0000:00:1f.2", 5, 0xf7100000, 2048, false, false, false);
	fx_driver(fx, "0000:00:1f.2", "ahci");
	fx_group(fx, "0000:00:1f.2", 7);
}

static void s_two_gpus_one_group(struct fx *fx)
{
	fx_host_iommu(fx);
	root_port(fx, "0000:00:01.0", 1);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", 3, &nvidia, 0xc0000000ULL);
	gpu(fx, "0000:01:01.0", "0000:00:01.0", 3, &nvidia, 0xd0000000ULL);
}

static void s_rmrr(struct fx *fx)
{
	s_gpu_alone(fx);
	fx_file(fx, "sys/kernel/iommu_groups/2/reserved_regions",
		"0x000000007c000000 0x000000007fffffff direct\n0x00000000fee00000 0x00000000feefffff msi\n");
}

static void s_boot_framebuffer(struct fx *fx)
{
	s_gpu_audio(fx);
	fx_attr(fx, "0000:01:00.0", "boot_vga", "1\n");
	fx_file(fx, "proc/iomem",
		"00000000-00000fff : Reserved\n"
		"c0000000-cfffffff : PCI Bus 0000:01\n"
		"  c0000000-cfffffff : 0000:01:00.0\n"
		"    c0000000-c07e8fff : BOOTFB\n");
}

static void s_boot_vga_no_fb(struct fx *fx)
{
	s_gpu_alone(fx);
	fx_attr(fx, "0000:01:00.0", "boot_vga", "1\n");
	fx_file(fx, "proc/iomem", "c0000000-cfffffff : 0000:01:00.0\n  c0000000-cfffffff : nouveau\n");
}

static void s_no_reset(struct fx *fx)
{
	s_gpu_alone(fx);
	fx_attr(fx, "0000:01:00.0", "reset_method", "\n");
}

static void s_rebar_full(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.bar1 = 8 * GiB;
	o.rebar_cur = 13; /* 8 GiB = 1 MiB << 13, the largest it supports */
	fx_host_iommu(fx);
	gpu_slot(fx, &o, true);
}

static void s_intx_only(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.msi = false;
	fx_host_iommu(fx);
	gpu_slot(fx, &o, false);
}

static void s_conventional_pci(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.vendor = 0x8086;
	o.device = 0x2a42;
	o.pcie = false;
	o.flr = false;
	o.driver = "i915";
	fx_host_iommu(fx);
	gpu(fx, "0000:00:02.0", NULL, 1, &o, 0xd0000000ULL);
}

static void s_config_64(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.cfg_len = 64;
	fx_host_iommu(fx);
	gpu_slot(fx, &o, false);
}

static void s_vfio_missing(struct fx *fx)
{
	s_gpu_alone(fx);
	fx_file(fx, "lib/modules/6.1.0-test/modules.dep", "kernel/drivers/nvme/host/nvme.ko:\n");
}

static void s_amd_no_flr(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.vendor = 0x1002;
	o.device = 0x73ff;
	o.flr = false;
	o.driver = "amdgpu";
	fx_host_iommu(fx);
	gpu_slot(fx, &o, false);
}

static void s_all_ones(struct fx *fx)
{
	char ff[256];

	s_gpu_audio(fx);
	memset(ff, 0xff, sizeof(ff) - 1);
	ff[sizeof(ff) - 1] = '\0';
	fx_attr(fx, "0000:01:00.1", "config", ff);
}

/* Two 32 GiB GPUs for one VM: more than the q35 default hole. */
static void s_large_bar(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.vendor = 0x10de;
	o.device = 0x2331; /* H100 PCIe */
	o.bar1 = 32 * GiB;
	fx_host_iommu(fx);
	root_port(fx, "0000:00:01.0", 1);
	root_port(fx, "0000:00:02.0", 2);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", 3, &o, 0x4000000000ULL);
	gpu(fx, "0000:02:00.0", "0000:00:02.0", 4, &o, 0x6000000000ULL);
}

static void s_not_endpoint(struct fx *fx)
{
	struct fx_cfg c;

	fx_host_iommu(fx);
	fx_cfg_init(&c, 0x8086, 0x0b23, 0x080700, 0x00);
	fx_cfg_msi(&c);
	fx_cfg_pcie(&c, PCIE_RCEC, false);
	fx_dev(fx, "0000:00:07.0", NULL, &c);
	fx_group(fx, "0000:00:07.0", 4);
}

/* Attributes a broken or hostile snapshot could hold: nothing may crash,
 * every unreadable fact must be reported unknown. */
static void s_garbage(struct fx *fx)
{
	s_gpu_audio(fx);
	fx_attr(fx, "0000:01:00.0", "resource", "0xzz 0x1\ngarbage\n");
	fx_attr(fx, "0000:01:00.0", "config", "\x10\xde\x04");
	fx_attr(fx, "0000:01:00.0", "vendor", "not-a-number\n");
	fx_attr(fx, "0000:01:00.0", "class", "0x03000000000000000000000000000\n");
	fx_attr(fx, "0000:01:00.0", "numa_node", "\n");
	fx_attr(fx, "0000:01:00.0", "reset_method", "flr\nbus\n");
	fx_attr(fx, "0000:01:00.1", "resource", "");
	fx_file(fx, "proc/iomem", "zzzz-yyyy : BOOTFB\n-\n : \n");
	fx_file(fx, "proc/interrupts", "");
	fx_file(fx, "sys/bus/pci/devices/not-an-address", "x");
}

/* The GPU shares its group with an NVMe disk holding the root filesystem. */
static void s_disk_in_group(struct fx *fx)
{
	struct fx_cfg c;

	fx_host_iommu(fx);
	root_port(fx, "0000:00:1c.0", 7);
	gpu(fx, "0000:02:00.0", "0000:00:1c.0", 7, &nvidia, 0xc0000000ULL);
	fx_cfg_init(&c, 0x144d, 0xa808, 0x010802, 0x00);
	fx_cfg_msix(&c, 33);
	fx_cfg_pcie(&c, PCIE_EP, true);
	fx_dev(fx, "0000:03:00.0", "0000:00:1c.0", &c);
	fx_bar(fx, "0000:03:00.0", 0, 0xf7200000, 16384, false, true, false);
	fx_driver(fx, "0000:03:00.0", "nvme");
	fx_group(fx, "0000:03:00.0", 7);
	fx_class_dev(fx, "0000:03:00.0", "nvme/nvme0", "nvme", "241:0");
	fx_class_dev(fx, "0000:03:00.0", "nvme/nvme0/nvme0n1", "block", "259:0");
	fx_class_dev(fx, "0000:03:00.0", "nvme/nvme0/nvme0n1/nvme0n1p2", "block", "259:2");
	fx_file(fx, "proc/self/mountinfo",
		"22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
		"23 22 0:21 / /proc rw - proc proc rw\n");
}

/* The GPU's node is open by the display server. */
static void s_gpu_open(struct fx *fx)
{
	s_gpu_audio(fx);
	fx_class_dev(fx, "0000:01:00.0", "drm/card0", "drm", "226:0");
	fx_class_dev(fx, "0000:01:00.0", "drm/renderD128", "drm", "226:128");
	fx_mkdir(fx, "proc/4242/fd");
	fx_symlink(fx, "proc/4242/fd/7", "/dev/dri/card0");
	fx_symlink(fx, "proc/4242/fd/8", "/dev/null");
	fx_file(fx, "proc/4242/comm", "Xorg\n");
}

/* The group holds the NIC with the default route. */
static void s_nic_in_group(struct fx *fx)
{
	struct fx_cfg c;

	s_gpu_audio(fx);
	fx_cfg_init(&c, 0x8086, 0x15f3, 0x020000, 0x00);
	fx_cfg_msix(&c, 8);
	fx_cfg_pcie(&c, PCIE_EP, true);
	fx_dev(fx, "0000:01:00.2", "0000:00:01.0", &c);
	fx_driver(fx, "0000:01:00.2", "igc");
	fx_group(fx, "0000:01:00.2", 2);
	fx_class_dev(fx, "0000:01:00.2", "net/enp1s0f2", "net", NULL);
	fx_file(fx, "proc/net/route",
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
		"enp1s0f2\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
}

/* NVIDIA vGPU 17+ on an A10: SR-IOV VFs, each with nvidia/creatable_vgpu_types
 * and current_vgpu_type (the mdev-less model of Ada/Hopper-era drivers). */
static void s_nvidia_vgpu(struct fx *fx)
{
	struct gpu_opts o = nvidia;
	struct fx_cfg c;

	o.device = 0x2236; /* A10 */
	o.driver = "nvidia";
	o.bar1 = 32ULL << 30;
	fx_host_iommu(fx);
	root_port(fx, "0000:00:01.0", 1);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", 2, &o, 0x4000000000ULL);
	fx_attr(fx, "0000:01:00.0", "sriov_totalvfs", "16\n");
	fx_attr(fx, "0000:01:00.0", "sriov_numvfs", "2\n");
	fx_attr(fx, "0000:01:00.0", "sriov_drivers_autoprobe", "0\n");
	for (int vf = 0; vf < 2; vf++) {
		char addr[32], link[128];
		snprintf(addr, sizeof(addr), "0000:01:00.%d", 4 + vf);
		fx_cfg_init(&c, 0xffff, 0xffff, 0x030200, 0x00);
		fx_cfg_pcie(&c, PCIE_EP, true);
		fx_dev(fx, addr, "0000:00:01.0", &c);
		fx_attr(fx, addr, "vendor", "0x10de\n");
		fx_attr(fx, addr, "device", "0x2236\n");
		fx_group(fx, addr, 10 + vf);
		snprintf(link, sizeof(link), "sys/devices/pci0000:00/0000:00:01.0/%s/physfn", addr);
		fx_symlink(fx, link, "../0000:01:00.0");
		fx_attr(fx, addr, "nvidia/creatable_vgpu_types",
			"ID    : vGPU Name\n557   : NVIDIA A10-1Q\n558   : NVIDIA A10-2Q\n560   : NVIDIA A10-4Q\n"
			"562   : NVIDIA A10-8Q\n");
		fx_attr(fx, addr, "nvidia/current_vgpu_type", vf == 0 ? "560\n" : "0\n");
	}
}

/* An H200 on the nvidia driver: MIG comes from NVML (tests/unit/fake-nvml.c
 * stands in for it through VMGPU_NVML_LIBRARY), not from sysfs. */
static void s_nvidia_mig(struct fx *fx)
{
	struct gpu_opts o = nvidia;

	o.device = 0x2335; /* H200 */
	o.driver = "nvidia";
	o.bar1 = 128ULL << 30;
	fx_host_iommu(fx);
	root_port(fx, "0000:00:01.0", 1);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", 2, &o, 0x4000000000ULL);
}

/* The kernel's mbochs sample (a virtual parent with 4/16/64 MiB types, one
 * instance created) and a GRID P40 offering NVIDIA mdev types. */
static void s_mdev(struct fx *fx)
{
	struct gpu_opts o = nvidia;
	const char *types[][3] = {
		{ "mbochs-small", "64", "virtual display, 4 MB video memory" },
		{ "mbochs-medium", "15", "virtual display, 16 MB video memory" },
		{ "mbochs-large", "4", "virtual display, 64 MB video memory" },
	};
	char path[256];

	fx_host_iommu(fx);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "sys/devices/virtual/mbochs/mbochs/mdev_supported_types/%s/available_instances", types[i][0]);
		fx_file(fx, path, types[i][1]);
		snprintf(path, sizeof(path), "sys/devices/virtual/mbochs/mbochs/mdev_supported_types/%s/description", types[i][0]);
		fx_file(fx, path, types[i][2]);
		snprintf(path, sizeof(path), "sys/devices/virtual/mbochs/mbochs/mdev_supported_types/%s/device_api", types[i][0]);
		fx_file(fx, path, "vfio-pci\n");
		snprintf(path, sizeof(path), "sys/devices/virtual/mbochs/mbochs/mdev_supported_types/%s/create", types[i][0]);
		fx_file(fx, path, "");
	}
	fx_symlink(fx, "sys/class/mdev_bus/mbochs", "../../devices/virtual/mbochs/mbochs");
	fx_mkdir(fx, "sys/devices/virtual/mbochs/mbochs/6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f");
	fx_symlink(fx, "sys/devices/virtual/mbochs/mbochs/6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f/mdev_type",
		   "../mdev_supported_types/mbochs-medium");
	fx_symlink(fx, "sys/bus/mdev/devices/6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f",
		   "../../../devices/virtual/mbochs/mbochs/6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f");
	o.device = 0x1b38; /* Tesla P40 */
	o.driver = "nvidia";
	root_port(fx, "0000:00:01.0", 1);
	gpu(fx, "0000:01:00.0", "0000:00:01.0", 2, &o, 0xc0000000ULL);
	fx_attr(fx, "0000:01:00.0", "mdev_supported_types/nvidia-46/name", "GRID P40-2Q\n");
	fx_attr(fx, "0000:01:00.0", "mdev_supported_types/nvidia-46/description",
		"num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=12\n");
	fx_attr(fx, "0000:01:00.0", "mdev_supported_types/nvidia-46/available_instances", "12\n");
	fx_attr(fx, "0000:01:00.0", "mdev_supported_types/nvidia-46/device_api", "vfio-pci\n");
	fx_symlink(fx, "sys/class/mdev_bus/0000:01:00.0", "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0");
}

/* Two GPUs with render nodes: paravirtual sharing must pick the chosen one's. */
static void s_render_nodes(struct fx *fx)
{
	s_gpu_audio(fx);
	fx_class_dev(fx, "0000:01:00.0", "drm/card1", "drm", "226:1");
	fx_class_dev(fx, "0000:01:00.0", "drm/renderD129", "drm", "226:129");
	root_port(fx, "0000:00:02.0", 3);
	{
		struct gpu_opts o = nvidia;
		o.vendor = 0x1af4;
		o.device = 0x1050;
		o.driver = "virtio-pci";
		gpu(fx, "0000:02:00.0", "0000:00:02.0", 4, &o, 0xd0000000ULL);
	}
	fx_class_dev(fx, "0000:02:00.0", "virtio2/drm/renderD128", "drm", "226:128");
}

const struct fx_scenario fx_scenarios[] = {
	{ "gpu-alone", "a GPU alone in its IOMMU group", s_gpu_alone, "0000:01:00.0", "ready", "host_driver", "no_reset" },
	{ "gpu-audio", "GPU + HDMI audio sharing a group", s_gpu_audio, "0000:01:00.0", "ready_with_companions", "", "group_spans_slots" },
	{ "iommu-off", "no IOMMU", s_iommu_off, "0000:01:00.0", "blocked", "iommu_off", "" },
	{ "no-irq-remap", "IOMMU without interrupt remapping", s_no_irq_remap, "0000:01:00.0", "blocked", "no_interrupt_remapping", "" },
	{ "unsafe-interrupts", "no remapping, allow_unsafe_interrupts=Y", s_unsafe_interrupts, "0000:01:00.0", "ready", "no_interrupt_remapping", "" },
	{ "shared-with-sata", "group shared with the SATA controller", s_shared_with_sata, "0000:02:00.0", "blocked", "group_shared_with_host", "" },
	{ "two-gpus-one-group", "two slots in one group", s_two_gpus_one_group, "0000:01:00.0", "ready_with_companions", "group_spans_slots", "" },
	{ "rmrr", "firmware-reserved (direct) region in the group", s_rmrr, "0000:01:00.0", "blocked", "firmware_reserved_memory", "" },
	{ "boot-framebuffer", "boot display with BOOTFB in its BAR", s_boot_framebuffer, "0000:01:00.0", "blocked", "boot_framebuffer", "" },
	{ "boot-vga-no-fb", "boot display, framebuffer released", s_boot_vga_no_fb, "0000:01:00.0", "ready", "boot_display", "boot_framebuffer" },
	{ "no-reset", "no reset method", s_no_reset, "0000:01:00.0", "ready", "no_reset", "" },
	{ "rebar-full", "Resizable BAR at its full 8 GiB", s_rebar_full, "0000:01:00.0", "ready_with_companions", "rebar_full", "" },
	{ "intx-only", "no MSI or MSI-X", s_intx_only, "0000:01:00.0", "ready", "intx_only", "" },
	{ "conventional-pci", "integrated GPU without PCI Express", s_conventional_pci, "0000:00:02.0", "ready", "conventional_pci", "" },
	{ "config-64", "config space readable to 64 bytes only", s_config_64, "0000:01:00.0", "ready", "unknown", "intx_only" },
	{ "vfio-missing", "vfio-pci not built for the kernel", s_vfio_missing, "0000:01:00.0", "blocked", "vfio_pci_missing", "" },
	{ "amd-no-flr", "AMD GPU without FLR", s_amd_no_flr, "0000:01:00.0", "ready", "amd_reset_bug", "" },
	{ "all-ones", "companion reads all-ones (D3cold)", s_all_ones, "0000:01:00.1", "ready_with_companions", "config_all_ones", "" },
	{ "large-bar", "two 32 GiB-BAR GPUs", s_large_bar, "0000:01:00.0", "ready", "", "rebar_full" },
	{ "not-endpoint", "root complex event collector", s_not_endpoint, "0000:00:07.0", "blocked", "not_endpoint", "" },
	{ "garbage", "malformed attribute files", s_garbage, "0000:01:00.1", "ready_with_companions", "", "" },
	{ "disk-in-group", "group shared with the mounted root NVMe", s_disk_in_group, "0000:02:00.0", "blocked", "group_shared_with_host", "" },
	{ "gpu-open", "GPU node open by Xorg", s_gpu_open, "0000:01:00.0", "ready_with_companions", "", "" },
	{ "nic-in-group", "group holds the NIC with the default route", s_nic_in_group, "0000:01:00.0", "blocked", "group_shared_with_host", "" },
	{ "nvidia-vgpu", "A10 with vGPU types on its VFs", s_nvidia_vgpu, "0000:01:00.0", "ready", "", "" },
	{ "mdev", "mbochs and GRID mdev types", s_mdev, "0000:01:00.0", "ready", "", "" },
	{ "nvidia-mig", "H200 on the nvidia driver (MIG through NVML)", s_nvidia_mig, "0000:01:00.0", "ready", "", "" },
	{ "render-nodes", "two GPUs with render nodes", s_render_nodes, "0000:02:00.0", "ready", "", "" },
};
const size_t fx_n_scenarios = sizeof(fx_scenarios) / sizeof(fx_scenarios[0]);

const struct fx_scenario *fx_scenario_find(const char *name)
{
	for (size_t i = 0; i < fx_n_scenarios; i++)
		if (strcmp(fx_scenarios[i].name, name) == 0)
			return &fx_scenarios[i];
	return NULL;
}
