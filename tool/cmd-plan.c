/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu plan FILE [--apply] [--persist]: place a pool of desktops (dedicated
 * GPUs, slices with at least N MiB of VRAM, paravirtual sharing) onto this
 * host, print the placement, and with --apply create the slices and assign
 * the dedicated GPUs.
 *
 * The command is named "plan"; what it places is a pool (vmgpu_pool,
 * lib/plan/pool.c, solved by lib/placement/). In the library a plan (struct
 * vmgpu_plan) is one host transaction: --apply makes one per part of the
 * pool and runs them in order.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json-writer.h"
#include "tool.h"

static char *read_file(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *n = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!n || cap > (64u << 20)) {
				free(n ? n : buf);
				buf = NULL;
				errno = n ? EFBIG : ENOMEM;
				break;
			}
			buf = n;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (buf)
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static void print_text(const struct vmgpu_pool *pool)
{
	size_t used, bound, unplaced;

	printf("%-20s %-14s %-14s %s\n", "DESKTOP", "WANTS", "GPU", "SLICE / RENDER NODE");
	for (size_t i = 0; i < vmgpu_pool_n_desktops(pool); i++) {
		struct vmgpu_placed pl;
		char want[32];
		if (vmgpu_pool_placed(pool, i, &pl) < 0)
			continue;
		if (pl.vram_mib)
			snprintf(want, sizeof(want), "%s %" PRIu64 "M", pl.want, pl.vram_mib);
		else
			snprintf(want, sizeof(want), "%s", pl.want);
		if (pl.gpu)
			printf("%-20s %-14s %-14s %s\n", pl.desktop, want, pl.gpu,
			       pl.slice_type ? pl.slice_type : pl.render_node ? pl.render_node : "");
		else
			printf("%-20s %-14s %-14s no room: %s\n", pl.desktop, want, "-", pl.why);
	}
	vmgpu_pool_stats(pool, &used, &bound, &unplaced);
	printf("\n%zu desktop(s) on %zu GPU(s) (lower bound %zu)%s", vmgpu_pool_n_desktops(pool) - unplaced, used, bound,
	       unplaced ? "; " : "\n");
	if (unplaced)
		printf("%zu without room\n", unplaced);
}

static void print_json(const struct vmgpu_pool *pool, bool pretty, bool applied)
{
	struct json_writer *w = jsonw_new(stdout, pretty);
	size_t used, bound, unplaced;

	vmgpu_pool_stats(pool, &used, &bound, &unplaced);
	jsonw_object_begin(w);
	jsonw_kv_string(w, "schema", "vmgpu.pool/1");
	jsonw_kv_bool(w, "applied", applied);
	jsonw_kv_uint(w, "gpus_used", used);
	jsonw_kv_uint(w, "lower_bound", bound);
	jsonw_kv_uint(w, "unplaced", unplaced);
	jsonw_key(w, "desktops");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_pool_n_desktops(pool); i++) {
		struct vmgpu_placed pl;
		if (vmgpu_pool_placed(pool, i, &pl) < 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_string(w, "name", pl.desktop);
		jsonw_kv_string(w, "want", pl.want);
		if (pl.vram_mib)
			jsonw_kv_uint(w, "vram_mib", pl.vram_mib);
		jsonw_kv_string(w, "gpu", pl.gpu);
		jsonw_kv_string(w, "slice_type", pl.slice_type);
		jsonw_kv_string(w, "render_node", pl.render_node);
		jsonw_kv_string(w, "why", pl.why);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
	jsonw_free(w);
}

static void on_step(void *userdata, size_t i, size_t n, const struct vmgpu_step *s, int result)
{
	fprintf(stderr, "[%zu/%zu] %s: %s\n", i + 1, n, s->summary, result < 0 ? "FAILED" : "ok");
}

/* Apply the plans in order; stop at the first refusal or failure (what was
 * applied before stays, and is said). */
static int apply_all(const struct tool_opts *opts, struct vmgpu_ctx *ctx, struct vmgpu_pool *pool, unsigned flags)
{
	struct vmgpu_plan **plans = NULL;
	size_t n = 0;
	int k = vmgpu_pool_plans(pool, flags, &plans, &n), rc = EXIT_OK;

	if (k < 0) {
		tool_error("plan: cannot make the plans: %s", strerror(-k));
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		if (vmgpu_plan_refused(plans[i])) {
			report_plan_text(stderr, vmgpu_ctx_root(ctx), "plan", plans[i], false);
			tool_error("plan: step %zu of %zu refused; %zu applied before it stay", i + 1, n, i);
			rc = EXIT_REFUSED;
			break;
		}
		char *report = NULL;
		k = vmgpu_plan_apply(plans[i], opts->json ? NULL : on_step, NULL, &report);
		if (k < 0)
			fprintf(stderr, "vmgpu: plan: part %zu of %zu failed:\n%s\n", i + 1, n,
				report ? report : strerror(-k));
		free(report);
		if (k < 0) {
			rc = EXIT_FAILED;
			break;
		}
		for (size_t c = 0; !opts->json && c < vmgpu_plan_n_created(plans[i]); c++)
			printf("created mdev %s\n", vmgpu_plan_created(plans[i], c));
	}
	for (size_t i = 0; i < n; i++)
		vmgpu_plan_unref(plans[i]);
	free(plans);
	return rc;
}

static int cmd_plan(struct tool_opts *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "apply", no_argument, NULL, 'A' },
		{ "persist", no_argument, NULL, 'p' },
		{ 0 },
	};
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_pool *pool = NULL;
	char *text = NULL, *report = NULL;
	bool apply = false;
	unsigned flags = 0;
	int c, k, rc = EXIT_FAILED;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "ph", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return EXIT_USAGE;
		if (c == 'A')
			apply = true;
		else if (c == 'p')
			flags |= VMGPU_PLAN_PERSIST;
		else if (c == 'h') {
			printf("Usage: vmgpu plan FILE [--apply] [--persist] [--json]\n\n"
			       "Place a pool of desktops (FILE, JSON; - for standard input; format in\n"
			       "vmgpu(8), PLAN FILE) onto this host's GPUs: dedicated GPUs, slices with at\n"
			       "least N MiB of VRAM (mdev or vGPU types), or paravirtual sharing of a render\n"
			       "node. Prints the placement; --apply creates the slices and assigns the\n"
			       "dedicated GPUs (each part journaled and undone on failure like assign).\n");
			return EXIT_OK;
		} else {
			fputs("Try 'vmgpu plan --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		tool_error("plan: name one pool FILE");
		return EXIT_USAGE;
	}
	if (!(text = read_file(argv[optind]))) {
		tool_error("plan: cannot read %s: %s", argv[optind], strerror(errno));
		return EXIT_FAILED;
	}
	if (!(ctx = tool_open_root(opts)) || tool_scan(ctx, &host) < 0)
		goto out;
	k = vmgpu_pool_new(host, text, &pool, &report);
	if (k == -EINVAL) {
		tool_error("plan: %s: %s", argv[optind], report ? report : "malformed");
		rc = EXIT_USAGE;
		goto out;
	}
	if (k < 0) {
		tool_error("plan: %s", strerror(-k));
		goto out;
	}
	rc = apply ? apply_all(opts, ctx, pool, flags) : EXIT_OK;
	if (opts->json)
		print_json(pool, opts->pretty, apply && rc == EXIT_OK);
	else
		print_text(pool);
out:
	free(text);
	free(report);
	vmgpu_pool_unref(pool);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

const struct tool_cmd tool_cmd_plan = {
	.name = "plan",
	.run = cmd_plan,
	.summary = "Place a pool of desktops onto this host's GPUs and slices (--apply makes it so)",
};
