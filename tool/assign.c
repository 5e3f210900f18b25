/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu assign [--dry-run] [--force] [--persist] DEVICE...
 * vmgpu release [--dry-run] [--foreign] DEVICE...
 *
 * Observe the host, compute the plan, then print it (--dry-run) or apply it
 * with the journal; refusals are printed with their fixes and change nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

struct change_args {
	bool dry_run;
	unsigned flags;
	char **devices;
	size_t n_devices;
};

static void change_usage(FILE *f, bool assign)
{
	if (assign)
		fprintf(f, "Usage: vmgpu assign [--dry-run] [--force] [--persist] DEVICE...\n\n"
			   "Take DEVICE and every other function of its IOMMU group away from their host\n"
			   "drivers and give them to vfio-pci, ready for a VM. Each step is verified; on\n"
			   "failure everything is put back. The original drivers are recorded for release.\n\n"
			   "  -n, --dry-run  print the plan as shell commands, change nothing\n"
			   "  -f, --force    go ahead despite refusals that are your risk to take (no\n"
			   "                 interrupt remapping, a boot framebuffer, a process holding\n"
			   "                 the device, host devices sharing the group); says what it overrode\n"
			   "  -p, --persist  keep the assignment across reboots (udev rule)\n");
	else
		fprintf(f, "Usage: vmgpu release [--dry-run] [--foreign] DEVICE...\n\n"
			   "Give DEVICE (and the functions assigned with it) back to the drivers they had\n"
			   "before vmgpu assign, and verify that those drivers are back.\n\n"
			   "  -n, --dry-run  print the plan as shell commands, change nothing\n"
			   "      --foreign  also release a device vmgpu did not assign (the kernel then\n"
			   "                 picks its driver)\n");
	fprintf(f, "  -j, --json     JSON (schema vmgpu.plan/1)\n"
		   "  -r, --root     act on the host under DIR instead of /\n\n"
		   "DEVICE: a PCI address, topology path or Hyper-V location path (see vmgpu survey).\n");
}

static int parse_args(struct tool_opts *opts, int argc, char **argv, bool assign, struct change_args *a)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "persist", no_argument, NULL, 'p' },
		{ "foreign", no_argument, NULL, 'F' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, TOOL_COMMON_SHORTOPTS "nfph", longopts, NULL)) != -1) {
		int r = tool_common_option(opts, c, optarg);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
		switch (c) {
		case 'n':
			a->dry_run = true;
			break;
		case 'f':
		case 'p':
			if (!assign)
				goto bad;
			a->flags |= c == 'f' ? VMGPU_PLAN_FORCE : VMGPU_PLAN_PERSIST;
			break;
		case 'F':
			if (assign)
				goto bad;
			a->flags |= VMGPU_PLAN_FOREIGN;
			break;
		case 'h':
			change_usage(stdout, assign);
			return 1;
		default:
			goto bad;
		}
	}
	a->devices = argv + optind;
	a->n_devices = (size_t)(argc - optind);
	if (a->n_devices == 0) {
		tool_error("%s: name at least one DEVICE; try 'vmgpu %s --help'", argv[0], argv[0]);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "Try 'vmgpu %s --help'.\n", argv[0]);
	return -EINVAL;
}

struct progress {
	const struct tool_opts *opts;
	long crash_after; /* tests: SIGKILL ourselves after this step (1-based) */
};

static void on_step(void *userdata, size_t i, size_t n, const struct vmgpu_step *s, int result)
{
	struct progress *pr = userdata;

	if (!pr->opts->json)
		fprintf(stderr, "[%zu/%zu] %s: %s\n", i + 1, n, s->summary, result < 0 ? "FAILED" : "ok");
	if (result == 0 && pr->crash_after > 0 && (long)i + 1 == pr->crash_after)
		raise(SIGKILL);
}

static int apply_plan(const struct tool_opts *opts, struct vmgpu_plan *plan)
{
	struct progress pr = { .opts = opts };
	const char *crash = getenv("VMGPU_TEST_CRASH_AFTER_STEP");

	if (crash)
		pr.crash_after = strtol(crash, NULL, 10);
	for (size_t i = 0; i < vmgpu_plan_n_refusals(plan); i++) {
		struct vmgpu_reason r;
		bool forced;
		if (vmgpu_plan_refusal(plan, i, &r, &forced) == 0 && forced && !opts->json)
			fprintf(stderr, "vmgpu: --force overrides: %s\n", r.message);
	}
	return vmgpu_plan_apply(plan, on_step, &pr);
}

static int run_change(struct tool_opts *opts, int argc, char **argv, bool assign)
{
	struct change_args a = { 0 };
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_plan *plan = NULL;
	struct vmgpu_dev **devs = NULL;
	const char *op = assign ? "assign" : "release";
	int k = parse_args(opts, argc, argv, assign, &a), rc = EXIT_FAILED;

	if (k != 0)
		return k > 0 ? EXIT_OK : EXIT_USAGE;
	if (tool_check_device_syntax(a.devices, a.n_devices) < 0)
		return EXIT_USAGE;
	if (!(ctx = tool_open_root(opts)))
		return EXIT_FAILED;
	devs = calloc(a.n_devices, sizeof(*devs));
	if (!devs)
		goto out;
	/* Plan from a fresh reading of the host; when another run changed it
	 * before we got the lock, read it again and plan again. */
	for (int attempt = 0;; attempt++) {
		vmgpu_plan_unref(plan);
		vmgpu_host_unref(host);
		plan = NULL;
		if ((k = tool_scan(ctx, &host)) < 0)
			goto out;
		for (size_t i = 0; i < a.n_devices; i++)
			if (tool_lookup(host, ctx, a.devices[i], &devs[i]) < 0)
				goto out;
		k = assign ? vmgpu_plan_assign(host, devs, a.n_devices, a.flags, &plan)
			   : vmgpu_plan_release(host, devs, a.n_devices, a.flags, &plan);
		if (k < 0) {
			tool_error("%s: cannot plan: %s", op, strerror(-k));
			goto out;
		}
		if (a.dry_run || vmgpu_plan_refused(plan))
			break;
		if (attempt == 10) {
			tool_error("%s: the host kept changing under us; nothing more was tried", op);
			goto out;
		}
		k = apply_plan(opts, plan);
		if (k != -ESTALE)
			break;
	}
	if (a.dry_run || vmgpu_plan_refused(plan)) {
		bool refused = vmgpu_plan_refused(plan);
		if (opts->json)
			render_plan_json(stdout, op, plan, a.dry_run, refused ? "refused" : "planned", NULL, opts->pretty);
		else
			render_plan_text(refused ? stderr : stdout, vmgpu_ctx_root(ctx), op, plan, a.dry_run);
		if (refused && !opts->json)
			fprintf(stderr, "vmgpu: %s refused; nothing was changed\n", op);
		rc = refused ? EXIT_REFUSED : EXIT_OK;
		goto out;
	}
	if (opts->json)
		render_plan_json(stdout, op, plan, false, k < 0 ? "failed" : "applied", vmgpu_plan_error(plan),
				 opts->pretty);
	if (k < 0) {
		if (!opts->json)
			fprintf(stderr, "vmgpu: %s failed:\n%s\n", op, vmgpu_plan_error(plan) ? vmgpu_plan_error(plan) : strerror(-k));
		rc = k == -EPERM ? EXIT_REFUSED : EXIT_FAILED;
		goto out;
	}
	if (!opts->json) {
		printf("%s:", assign ? "assigned to vfio-pci" : "released");
		for (size_t i = 0; i < vmgpu_plan_n_devices(plan); i++)
			printf(" %s", vmgpu_dev_str(vmgpu_plan_device(plan, i), VMGPU_STR_ADDRESS));
		printf("%s\n", vmgpu_plan_n_steps(plan) ? "" : " (already so; nothing changed)");
	}
	rc = EXIT_OK;
out:
	free(devs);
	vmgpu_plan_unref(plan);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

int cmd_assign(struct tool_opts *opts, int argc, char **argv)
{
	return run_change(opts, argc, argv, true);
}

int cmd_release(struct tool_opts *opts, int argc, char **argv)
{
	return run_change(opts, argc, argv, false);
}
