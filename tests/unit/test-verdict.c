/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every verdict reason on the scenario built for it (scenarios.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "testlib.h"
#include "vmgpu.h"

static bool has_code(const struct vmgpu_verdict *v, const char *code, size_t len)
{
	for (size_t i = 0; i < vmgpu_verdict_n_reasons(v); i++) {
		struct vmgpu_reason r;
		if (vmgpu_verdict_reason(v, i, &r) == 0 && strlen(r.code) == len && strncmp(r.code, code, len) == 0)
			return true;
	}
	return false;
}

/* Call FN for each space-separated word of LIST. */
static void each_word(const char *list, const struct vmgpu_verdict *v, bool want, const char *scenario)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, " ");
		if (n && has_code(v, p, n) != want) {
			fprintf(stderr, "  %s: reason %.*s %s\n", scenario, (int)n, p, want ? "missing" : "unexpected");
			test_checks_failed++;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
}

static void run_scenario(const struct fx_scenario *s)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_verdict *v = NULL;
	struct vmgpu_dev *dev = NULL;

	s->build(fx);
	fx_finish(fx);
	CHECK_EQ_INT(vmgpu_ctx_new(fx_root(fx), &ctx), 0);
	vmgpu_ctx_set_log_fn(ctx, NULL, NULL);
	CHECK_EQ_INT(vmgpu_host_scan(ctx, &host), 0);
	if (host) {
		CHECK_EQ_INT(vmgpu_host_lookup(host, s->device, &dev), 0);
		if (dev)
			CHECK_EQ_INT(vmgpu_dev_judge(host, dev, &v), 0);
	}
	if (v) {
		const char *got = vmgpu_verdict_kind_name(vmgpu_verdict_kind(v));
		if (strcmp(got, s->verdict) != 0) {
			fprintf(stderr, "  %s: verdict %s, expected %s\n", s->name, got, s->verdict);
			test_checks_failed++;
		}
		each_word(s->codes, v, true, s->name);
		each_word(s->absent, v, false, s->name);
	}
	vmgpu_verdict_unref(v);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

#define SCENARIO_TEST(fn, name) \
	static void fn(void) { run_scenario(fx_scenario_find(name)); }

SCENARIO_TEST(t_gpu_alone, "gpu-alone")
SCENARIO_TEST(t_gpu_audio, "gpu-audio")
SCENARIO_TEST(t_iommu_off, "iommu-off")
SCENARIO_TEST(t_no_irq_remap, "no-irq-remap")
SCENARIO_TEST(t_unsafe, "unsafe-interrupts")
SCENARIO_TEST(t_shared_sata, "shared-with-sata")
SCENARIO_TEST(t_two_gpus, "two-gpus-one-group")
SCENARIO_TEST(t_rmrr, "rmrr")
SCENARIO_TEST(t_bootfb, "boot-framebuffer")
SCENARIO_TEST(t_boot_vga, "boot-vga-no-fb")
SCENARIO_TEST(t_no_reset, "no-reset")
SCENARIO_TEST(t_rebar, "rebar-full")
SCENARIO_TEST(t_intx, "intx-only")
SCENARIO_TEST(t_conv, "conventional-pci")
SCENARIO_TEST(t_cfg64, "config-64")
SCENARIO_TEST(t_vfio_missing, "vfio-missing")
SCENARIO_TEST(t_amd, "amd-no-flr")
SCENARIO_TEST(t_all_ones, "all-ones")
SCENARIO_TEST(t_large_bar, "large-bar")
SCENARIO_TEST(t_not_ep, "not-endpoint")
SCENARIO_TEST(t_garbage, "garbage")

/* Companions: the audio function, never the root port. */
static void t_companions(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
	struct vmgpu_dev *gpu, *port;
	struct vmgpu_verdict *v;

	fx_scenario_find("gpu-audio")->build(fx);
	fx_finish(fx);
	if (vmgpu_ctx_new(fx_root(fx), &ctx) < 0 || vmgpu_host_scan(ctx, &host) < 0) {
		CHECK(!"scan");
		return;
	}
	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.0", &gpu), 0);
	CHECK_EQ_INT(vmgpu_dev_judge(host, gpu, &v), 0);
	CHECK_EQ_INT(vmgpu_verdict_n_companions(v), 1);
	CHECK_EQ_STR(vmgpu_dev_str(vmgpu_verdict_companion(v, 0), VMGPU_STR_ADDRESS), "0000:01:00.1");
	/* A bridge is listed but never judged. */
	CHECK_EQ_INT(vmgpu_host_lookup(host, "0000:00:01.0", &port), 0);
	CHECK_EQ_INT(vmgpu_dev_judge(host, port, &(struct vmgpu_verdict *){ NULL }), -EINVAL);
	/* Lookup by topology and location path reach the same device. */
	struct vmgpu_dev *d;
	CHECK_EQ_INT(vmgpu_host_lookup(host, "pci0000:00/0000:00:01.0/0000:01:00.0", &d), 0);
	CHECK(d == gpu);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", &d), 0);
	CHECK(d == gpu);
	CHECK_EQ_STR(vmgpu_dev_str(gpu, VMGPU_STR_LOCATION_PATH), "PCIROOT(0)#PCI(0100)#PCI(0000)");
	CHECK_EQ_INT(vmgpu_host_lookup(host, "PCIROOT(0)#PCI(0100)#PCI(0000)", &d), 0);
	CHECK(d == gpu);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "0000:05:00.0", &d), -ENODEV);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "../x", &d), -EINVAL);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "pci0000:00/../0000:01:00.0", &d), -EINVAL);
	CHECK(vmgpu_dev_parent(gpu) == port);
	vmgpu_verdict_unref(v);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

/* 64 bytes of config: capability facts unknown, said so. */
static void t_config64_unknown(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
	struct vmgpu_dev *gpu;
	int64_t v;

	fx_scenario_find("config-64")->build(fx);
	fx_finish(fx);
	if (vmgpu_ctx_new(fx_root(fx), &ctx) < 0 || vmgpu_host_scan(ctx, &host) < 0) {
		CHECK(!"scan");
		return;
	}
	CHECK_EQ_INT(vmgpu_host_lookup(host, "0000:01:00.0", &gpu), 0);
	CHECK_EQ_INT(vmgpu_dev_flag(gpu, VMGPU_FLAG_MSI), VMGPU_UNKNOWN);
	CHECK_EQ_INT(vmgpu_dev_flag(gpu, VMGPU_FLAG_FLR), VMGPU_UNKNOWN);
	CHECK_EQ_INT(vmgpu_dev_flag(gpu, VMGPU_FLAG_ACS), VMGPU_UNKNOWN);
	CHECK_EQ_INT(vmgpu_dev_int(gpu, VMGPU_INT_CONFIG_SIZE, &v), 0);
	CHECK_EQ_INT(v, 64);
	CHECK(vmgpu_dev_n_unknown(gpu) >= 1);
	CHECK(strstr(vmgpu_dev_unknown(gpu, 0), "64 bytes") != NULL);
	CHECK_EQ_INT(vmgpu_host_fact(host, VMGPU_HOST_CONFIG_LIMITED), VMGPU_NO); /* the port has 4096 */
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

/* An SR-IOV PF with 8 VFs of 16 MiB (VF BAR 0 spans all of them), its
 * config cut to CFG_LEN bytes (64: what a user without root sees), with or
 * without the capability, and sysfs sriov_totalvfs as the kernel has it. */
static void sriov_counts(size_t cfg_len, bool cap, int64_t want_total, uint64_t want_vf_bar)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_dev *pf = NULL;
	struct vmgpu_bar b = { 0 };
	struct fx_cfg c;
	int64_t total = -1;

	fx_host_iommu(fx);
	fx_cfg_init(&c, 0x10de, 0x2236, 0x030200, 0x00);
	fx_cfg_pm(&c, true);
	fx_cfg_msi(&c);
	fx_cfg_pcie(&c, 0, true);
	if (cap)
		fx_cfg_sriov(&c, 8, 0, 0x2237);
	c.len = cfg_len;
	fx_dev(fx, "0000:01:00.0", NULL, &c);
	fx_bar(fx, "0000:01:00.0", 0, 0xf6000000, 16ULL << 20, false, false, false);
	fx_bar(fx, "0000:01:00.0", VMGPU_BAR_VF0, 0x4000000000ULL, 8 * (16ULL << 20), false, true, true);
	fx_attr(fx, "0000:01:00.0", "sriov_totalvfs", "8\n");
	fx_group(fx, "0000:01:00.0", 2);
	fx_finish(fx);
	CHECK_EQ_INT(vmgpu_ctx_new(fx_root(fx), &ctx), 0);
	vmgpu_ctx_set_log_fn(ctx, NULL, NULL);
	CHECK_EQ_INT(vmgpu_host_scan(ctx, &host), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "0000:01:00.0", &pf), 0);
	CHECK_EQ_INT(vmgpu_dev_int(pf, VMGPU_INT_SRIOV_TOTAL_VFS, &total), want_total < 0 ? -ENODATA : 0);
	if (want_total >= 0)
		CHECK_EQ_INT(total, want_total);
	CHECK_EQ_INT(vmgpu_dev_bar(pf, VMGPU_BAR_VF0, &b), 0);
	CHECK_EQ_INT(b.size, want_vf_bar);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

/* Without root config space ends at 64 bytes: the VF count comes from
 * sysfs sriov_totalvfs, as partition list has it, and the VF BAR is per
 * VF all the same. Readable config space answers as before. */
static void t_sriov_without_root(void)
{
	sriov_counts(4096, true, 8, 16ULL << 20);
	sriov_counts(64, true, 8, 16ULL << 20);
	sriov_counts(256, true, 8, 16ULL << 20);
	/* Config space readable in full says there is no SR-IOV: that stands. */
	sriov_counts(4096, false, -1, 8 * (16ULL << 20));
}

/* Trees captured from a real kernel in the test guest (tests/guest). */
static void t_captured(void)
{
	struct {
		const char *tree, *dev, *verdict, *code;
		size_t companions;
	} cases[] = {
		{ "qemu-q35-gpu-audio", "0000:01:00.0", "ready_with_companions", "boot_display", 1 },
		{ "qemu-q35-gpu-audio", "0000:03:00.0", "ready", "host_driver", 0 },
		{ "qemu-q35-shared-group", "0000:06:03.0", "ready_with_companions", "group_spans_slots", 2 },
		{ "qemu-q35-shared-group", "0000:00:1f.0", "blocked", "chipset_function", 2 },
		{ "qemu-q35-sriov", "0000:04:00.0", "ready", "host_driver", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char root[512];
		struct vmgpu_ctx *ctx = NULL;
		struct vmgpu_host *host = NULL;
		struct vmgpu_dev *d = NULL;
		struct vmgpu_verdict *v = NULL;

		snprintf(root, sizeof(root), "%s/%s", FIXTURES_DIR, cases[i].tree);
		CHECK_EQ_INT(vmgpu_ctx_new(root, &ctx), 0);
		CHECK_EQ_INT(vmgpu_host_scan(ctx, &host), 0);
		CHECK_EQ_INT(vmgpu_host_fact(host, VMGPU_HOST_IOMMU), VMGPU_YES);
		CHECK_EQ_INT(vmgpu_host_fact(host, VMGPU_HOST_INTERRUPT_REMAPPING), VMGPU_YES);
		CHECK_EQ_INT(vmgpu_host_lookup(host, cases[i].dev, &d), 0);
		if (d && vmgpu_dev_judge(host, d, &v) == 0) {
			CHECK_EQ_STR(vmgpu_verdict_kind_name(vmgpu_verdict_kind(v)), cases[i].verdict);
			CHECK(has_code(v, cases[i].code, strlen(cases[i].code)));
			CHECK_EQ_INT(vmgpu_verdict_n_companions(v), cases[i].companions);
		} else {
			CHECK(!"judged");
		}
		if (d && strcmp(cases[i].tree, "qemu-q35-sriov") == 0) {
			int64_t total, num;
			CHECK_EQ_INT(vmgpu_dev_int(d, VMGPU_INT_SRIOV_TOTAL_VFS, &total), 0);
			CHECK_EQ_INT(total, 4);
			CHECK_EQ_INT(vmgpu_dev_int(d, VMGPU_INT_SRIOV_NUM_VFS, &num), 0);
			CHECK_EQ_INT(num, 4);
		}
		vmgpu_verdict_unref(v);
		vmgpu_host_unref(host);
		vmgpu_ctx_unref(ctx);
	}
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "gpu-alone", t_gpu_alone }, { "gpu-audio", t_gpu_audio }, { "iommu-off", t_iommu_off },
		{ "no-irq-remap", t_no_irq_remap }, { "unsafe-interrupts", t_unsafe },
		{ "shared-with-sata", t_shared_sata }, { "two-gpus-one-group", t_two_gpus }, { "rmrr", t_rmrr },
		{ "boot-framebuffer", t_bootfb }, { "boot-vga-no-fb", t_boot_vga }, { "no-reset", t_no_reset },
		{ "rebar-full", t_rebar }, { "intx-only", t_intx }, { "conventional-pci", t_conv },
		{ "config-64", t_cfg64 }, { "vfio-missing", t_vfio_missing }, { "amd-no-flr", t_amd },
		{ "all-ones", t_all_ones }, { "large-bar", t_large_bar }, { "not-endpoint", t_not_ep },
		{ "garbage", t_garbage }, { "companions and lookup", t_companions },
		{ "config-64 unknowns", t_config64_unknown },
		{ "SR-IOV counts without root", t_sriov_without_root },
		{ "trees captured from a real kernel", t_captured },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
