/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmgpu plan: the pool file, placement on a real-looking inventory, and the
 * plans that make it real, applied against kernel-sim.c. */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "kernel-sim.h"
#include "testlib.h"

static const char pool_json[] =
	"{\"share_per_gpu\": 4, \"desktops\": ["
	"{\"name\": \"cad\", \"want\": \"dedicated\"},"
	"{\"name\": \"office\", \"want\": \"slice\", \"vram_mib\": 16, \"count\": 5},"
	"{\"name\": \"huge\", \"want\": \"slice\", \"vram_mib\": 999999}]}";

/* ROOT/sys/bus/pci/devices/ADDR/ATTR as a number, -1 unreadable */
static int read_attr_int(const char *root, const char *addr, const char *attr)
{
	char path[1024];
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/%s", root, addr, attr);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void t_parse_errors(void)
{
	const char *bad[][2] = {
		{ "", "not JSON" },
		{ "[]", "\"desktops\" array" },
		{ "{\"desktops\": []}", "empty" },
		{ "{\"desktops\": [{\"want\": \"slice\"}]}", "desktops[0].name" },
		{ "{\"desktops\": [{\"name\": \"a\", \"want\": \"gpu\"}]}", "desktops[0].want" },
		{ "{\"desktops\": [{\"name\": \"a\", \"want\": \"slice\"}]}", "vram_mib" },
		{ "{\"desktops\": [{\"name\": \"a\", \"want\": \"shared\", \"count\": 0}]}", "count" },
		{ "{\"desktops\": [{\"name\": \"a/b\", \"want\": \"shared\"}]}", "name" },
		{ "{\"desktops\": [{\"name\": \"a\", \"want\": \"shared\"}]} trailing", "not JSON" },
		{ "{\"share_per_gpu\": -1, \"desktops\": [{\"name\": \"a\", \"want\": \"shared\"}]}", "share_per_gpu" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		int r = pool_parse_check(bad[i][0], &err);
		if (r != -EINVAL || !err || !strstr(err, bad[i][1])) {
			fprintf(stderr, "  input %zu: r=%d err=%s (wanted \"%s\")\n", i, r, err ? err : "(null)", bad[i][1]);
			test_checks_failed++;
		}
		free(err);
	}
	CHECK_EQ_INT(pool_parse_check(pool_json, NULL), 0);
}

static void t_place_and_apply(void)
{
	struct fx *fx = fx_new();
	struct ksim sim = { 0 };
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host = NULL;
	struct vmgpu_pool *pool = NULL;
	struct vmgpu_plan **plans = NULL;
	size_t n = 0, used, bound, unplaced, slices = 0;
	struct vmgpu_placed pl;

	fx_scenario_find("mdev")->build(fx);
	fx_finish(fx);
	if (vmgpu_ctx_new(fx_root(fx), &ctx) < 0)
		abort();
	vmgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ksim_attach(&sim, ctx, fx_root(fx));
	CHECK_EQ_INT(vmgpu_host_scan(ctx, &host), 0);
	CHECK_EQ_INT(vmgpu_pool_new(host, pool_json, &pool, NULL), 0);
	CHECK_EQ_INT(vmgpu_pool_n_desktops(pool), 7);
	vmgpu_pool_stats(pool, &used, &bound, &unplaced);
	CHECK_EQ_INT(unplaced, 1);
	CHECK(bound <= used);
	CHECK_EQ_INT(used, 2);
	CHECK_EQ_INT(vmgpu_pool_placed(pool, 0, &pl), 0);
	CHECK_EQ_STR(pl.gpu, "0000:01:00.0"); /* the only dedicable GPU */
	CHECK_EQ_INT(vmgpu_pool_placed(pool, 1, &pl), 0);
	CHECK_EQ_STR(pl.gpu, "mbochs");
	CHECK_EQ_STR(pl.slice_type, "mbochs-medium"); /* the smallest type with 16 MiB */
	CHECK_EQ_INT(vmgpu_pool_placed(pool, 6, &pl), 0);
	CHECK(pl.gpu == NULL && pl.why != NULL);
	/* --apply: one plan for the 5 slices, one assign for the dedicated GPU */
	CHECK_EQ_INT(vmgpu_pool_plans(pool, 0, &plans, &n), 0);
	CHECK_EQ_INT(n, 2);
	for (size_t i = 0; i < n; i++) {
		CHECK(!vmgpu_plan_refused(plans[i]));
		CHECK_EQ_INT(vmgpu_plan_apply(plans[i], NULL, NULL, NULL), 0);
		slices += vmgpu_plan_n_created(plans[i]);
		vmgpu_plan_unref(plans[i]);
	}
	free(plans);
	CHECK_EQ_INT(slices, 5);
	{
		char drv[64];
		ksim_driver(&sim, "0000:01:00.0", drv, sizeof(drv));
		CHECK_EQ_STR(drv, "vfio-pci");
	}
	vmgpu_pool_unref(pool);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

/* A GPU with one VF already holding a time-sliced vGPU: more of that type
 * fit on its free VFs (the types of one GPU cannot mix), none of another. */
static void t_vgpu_current_type(void)
{
	static const char json[] = "{\"desktops\": ["
				   "{\"name\": \"four\", \"want\": \"slice\", \"vram_mib\": 4096},"
				   "{\"name\": \"eight\", \"want\": \"slice\", \"vram_mib\": 8192}]}";
	struct ksim_env e;
	struct vmgpu_pool *pool = NULL;
	struct vmgpu_plan **plans = NULL;
	struct vmgpu_placed pl;
	size_t n = 0, used, bound, unplaced;

	ksim_env_open(&e, "nvidia-vgpu"); /* VF .4 has type 560 (A10-4Q), VF .5 none */
	CHECK_EQ_INT(vmgpu_pool_new(ksim_env_rescan(&e), json, &pool, NULL), 0);
	vmgpu_pool_stats(pool, &used, &bound, &unplaced);
	CHECK_EQ_INT(unplaced, 1);
	CHECK_EQ_INT(vmgpu_pool_placed(pool, 0, &pl), 0);
	CHECK_EQ_STR(pl.gpu, "0000:01:00.0");
	CHECK_EQ_STR(pl.slice_type, "NVIDIA A10-4Q");
	CHECK_EQ_INT(vmgpu_pool_placed(pool, 1, &pl), 0);
	CHECK(pl.gpu == NULL && pl.why != NULL);
	CHECK_EQ_INT(vmgpu_pool_plans(pool, 0, &plans, &n), 0);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(vmgpu_plan_apply(plans[0], NULL, NULL, NULL), 0);
		CHECK_EQ_INT(read_attr_int(fx_root(e.fx), "0000:01:00.5", "nvidia/current_vgpu_type"), 560);
	}
	for (size_t i = 0; i < n; i++)
		vmgpu_plan_unref(plans[i]);
	free(plans);
	vmgpu_pool_unref(pool);
	ksim_env_close(&e);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "pool file errors, one line each", t_parse_errors },
		{ "place, make the plans, apply them", t_place_and_apply },
		{ "vGPU: more of the type a GPU already runs", t_vgpu_current_type },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
