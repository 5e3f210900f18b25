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

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "nfph", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return -EINVAL;
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

/* The plan for DEVICES from a fresh reading of the host. */
struct change_closure {
	const struct change_args *a;
	bool assign;
};

static int make_change_plan(struct vmgpu_ctx *ctx, struct vmgpu_host *host, void *userdata, struct vmgpu_plan **ret)
{
	struct change_closure *c = userdata;
	struct vmgpu_dev **devs = calloc(c->a->n_devices, sizeof(*devs));
	int k = -ENOMEM;

	if (!devs)
		return k;
	for (size_t i = 0; i < c->a->n_devices; i++)
		if ((k = tool_lookup(host, ctx, c->a->devices[i], &devs[i])) < 0)
			goto out;
	k = c->assign ? vmgpu_plan_assign(host, devs, c->a->n_devices, c->a->flags, ret)
		      : vmgpu_plan_release(host, devs, c->a->n_devices, c->a->flags, ret);
	if (k < 0)
		tool_error("%s: cannot plan: %s", c->assign ? "assign" : "release", strerror(-k));
	else
		k = 0;
out:
	free(devs);
	return k;
}

static void change_done(const struct vmgpu_plan *plan, void *userdata)
{
	const struct change_closure *c = userdata;

	if (!c->assign && vmgpu_plan_n_steps(plan) == 0) {
		/* release of what is on its own driver: the host stays as it is
		 * (a stale record of it in the state file is gone now) */
		printf("not assigned:");
		for (size_t i = 0; i < vmgpu_plan_n_devices(plan); i++)
			printf(" %s", vmgpu_dev_str(vmgpu_plan_device(plan, i), VMGPU_STR_ADDRESS));
		printf(" (on their host drivers; the host is unchanged and vmgpu keeps no record of them)\n");
		return;
	}
	printf("%s:", c->assign ? "assigned to vfio-pci" : "released");
	for (size_t i = 0; i < vmgpu_plan_n_devices(plan); i++)
		printf(" %s", vmgpu_dev_str(vmgpu_plan_device(plan, i), VMGPU_STR_ADDRESS));
	bool changed = false;
	for (size_t i = 0; i < vmgpu_plan_n_steps(plan); i++) {
		struct vmgpu_step s;
		changed |= vmgpu_plan_step(plan, i, &s) == 0 && s.kind != VMGPU_STEP_CHECK_GROUP;
	}
	printf("%s\n", changed ? "" : " (already so; nothing changed)");
}

static int run_change(struct tool_opts *opts, int argc, char **argv, bool assign)
{
	struct change_args a = { 0 };
	struct change_closure c = { &a, assign };
	int k = parse_args(opts, argc, argv, assign, &a);

	if (k != 0)
		return k > 0 ? EXIT_OK : EXIT_USAGE;
	if (tool_check_device_syntax(a.devices, a.n_devices) < 0)
		return EXIT_USAGE;
	return run_plan(opts, assign ? "assign" : "release", a.dry_run, make_change_plan, change_done, &c);
}

static int cmd_assign(struct tool_opts *opts, int argc, char **argv)
{
	return run_change(opts, argc, argv, true);
}

static int cmd_release(struct tool_opts *opts, int argc, char **argv)
{
	return run_change(opts, argc, argv, false);
}

const struct tool_cmd tool_cmd_assign = {
	.name = "assign",
	.run = cmd_assign,
	.summary = "Take a GPU and its IOMMU group from the host drivers and give it to vfio-pci",
};

const struct tool_cmd tool_cmd_release = {
	.name = "release",
	.run = cmd_release,
	.summary = "Give an assigned GPU back to the drivers it had before",
};
