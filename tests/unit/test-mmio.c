/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The MMIO rule on known devices (see lib/vm/mmio.c and vmgpu(8)). */
#include "fixture.h"
#include "testlib.h"
#include "vmgpu.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct vmgpu_host *scan(struct fx *fx, const char *scenario, struct vmgpu_ctx **ctx)
{
	struct vmgpu_host *host = NULL;

	fx_scenario_find(scenario)->build(fx);
	fx_finish(fx);
	if (vmgpu_ctx_new(fx_root(fx), ctx) < 0 || vmgpu_host_scan(*ctx, &host) < 0)
		CHECK(!"scan");
	return host;
}

static void t_gpu_audio(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = scan(fx, "gpu-audio", &ctx);
	struct vmgpu_dev *d[2];
	struct vmgpu_mmio m;

	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.0", &d[0]), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.1", &d[1]), 0);
	/* One slot, one root port. Low: BAR0 16M + ROM 512K + audio 16K,
	 * packed largest first = 16M + 512K + 16K, window rounded to 1 MiB =
	 * 17M. High: 256M + 32M prefetchable 64-bit = 288M. */
	CHECK_EQ_INT(vmgpu_mmio_compute(d, 2, &m), 0);
	CHECK_EQ_INT(m.low, 17 * MiB);
	CHECK_EQ_INT(m.high, 288 * MiB);
	CHECK(!m.sizes_unknown);
	CHECK_EQ_INT(m.qemu_pci_hole64, 32 * GiB);
	CHECK(m.qemu_pci_hole64_sufficient);
	CHECK_EQ_INT(m.hyperv_low, 17 * MiB + 128 * MiB);
	CHECK_EQ_INT(m.hyperv_high, 288 * MiB + 512 * MiB);
	/* The audio function alone: 16K in a 1 MiB window. */
	CHECK_EQ_INT(vmgpu_mmio_compute(&d[1], 1, &m), 0);
	CHECK_EQ_INT(m.low, 1 * MiB);
	CHECK_EQ_INT(m.high, 0);
	CHECK_EQ_INT(m.hyperv_high, 512 * MiB); /* never below the default */
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

static void t_large_bar(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = scan(fx, "large-bar", &ctx);
	struct vmgpu_dev *d[2];
	struct vmgpu_mmio m;

	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.0", &d[0]), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "02:00.0", &d[1]), 0);
	/* Each slot: a 32G + 32M window aligned to 32G (firmware places the
	 * largest BAR first). The second window starts at the next 32G
	 * boundary after the first ends: 64G, so the span is 96G + 32M. */
	CHECK_EQ_INT(vmgpu_mmio_compute(d, 2, &m), 0);
	CHECK_EQ_INT(m.high, 96 * GiB + 32 * MiB);
	CHECK_EQ_INT(m.qemu_pci_hole64, 256 * GiB);
	CHECK(!m.qemu_pci_hole64_sufficient);
	CHECK_EQ_INT(m.hyperv_high, 96 * GiB + 32 * MiB + 512 * MiB);
	/* One of them alone: 32G + 32M -> 2 * 64G. */
	CHECK_EQ_INT(vmgpu_mmio_compute(d, 1, &m), 0);
	CHECK_EQ_INT(m.qemu_pci_hole64, 128 * GiB);
	CHECK(!m.qemu_pci_hole64_sufficient);
	CHECK_EQ_INT(vmgpu_mmio_compute(d, 0, &m), -22);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

/* No fixed room per slot: every window counts, however many functions are
 * given in one slot (here one function 32 times, each entry counted, as
 * for any list: 32 x (256M + 32M) high). */
static void t_many_windows(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = scan(fx, "gpu-audio", &ctx);
	struct vmgpu_dev *d[32];
	struct vmgpu_mmio m;

	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.0", &d[0]), 0);
	for (size_t i = 1; i < 32; i++)
		d[i] = d[0];
	CHECK_EQ_INT(vmgpu_mmio_compute(d, 32, &m), 0);
	CHECK_EQ_INT(m.high, 32 * 288 * MiB);
	CHECK_EQ_INT(m.low, 32 * 16 * MiB + 16 * MiB); /* 32 x (16M + 512K ROM) */
	CHECK(!m.sizes_unknown);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "GPU + audio", t_gpu_audio },
		{ "two 32G BARs", t_large_bar },
		{ "no fixed room for windows per slot", t_many_windows },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
