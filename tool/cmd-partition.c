/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu partition list [DEVICE...]: how each GPU can be split among VMs —
 * SR-IOV VFs, mediated-device types, NVIDIA vGPU types on VFs, the render
 * node for paravirtual sharing — and what is in use.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json-writer.h"
#include "tool.h"

/* Named on the command line: a PCI function, or a virtual parent by name. */
static bool selected(const struct vmgpu_partition_parent *p, struct vmgpu_dev *const *devs, char *const *names, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if ((devs[i] && p->dev == devs[i]) || (!devs[i] && strcmp(p->name, names[i]) == 0))
			return true;
	return false;
}

static int cmd_list(struct tool_opts *opts, int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_COMMON_LONGOPTS, { 0 } };
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_partitions *s = NULL;
	struct vmgpu_dev **devs = NULL;
	size_t n = 0;
	int c, rc = EXIT_FAILED, k;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "h", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return EXIT_USAGE;
		if (c == 'h') {
			printf("Usage: vmgpu partition list [--json] [DEVICE...]\n\n"
			       "How each GPU can be split among VMs: SR-IOV virtual functions, mediated\n"
			       "device types (with VRAM and free instances), NVIDIA vGPU types on VFs, and\n"
			       "the render node for paravirtual sharing, NVIDIA MIG profiles (read-only,\n"
			       "from NVIDIA's NVML when installed); and the slices that exist.\n");
			return EXIT_OK;
		}
		fputs("Try 'vmgpu partition list --help'.\n", stderr);
		return EXIT_USAGE;
	}
	n = (size_t)(argc - optind);
	if (!(ctx = tool_open_root(opts)) || tool_scan(ctx, &host) < 0)
		goto out;
	if (n && !(devs = calloc(n, sizeof(*devs))))
		goto out;
	if ((k = vmgpu_partitions_read(host, &s)) < 0) {
		tool_error("cannot read the partitioning inventory: %s", strerror(-k));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool virtual_parent = false;
		for (size_t p = 0; p < vmgpu_partitions_n_parents(s); p++)
			virtual_parent |= !vmgpu_partitions_parent(s, p)->dev && strcmp(vmgpu_partitions_parent(s, p)->name, argv[optind + i]) == 0;
		if (virtual_parent)
			continue; /* devs[i] stays NULL: matched by name */
		if (tool_check_device_syntax(argv + optind + i, 1) < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
		if (tool_lookup(host, ctx, argv[optind + i], &devs[i]) < 0)
			goto out;
	}
	if (opts->json) {
		struct json_writer *w = jsonw_new(stdout, opts->pretty);
		jsonw_object_begin(w);
		jsonw_kv_string(w, "schema", "vmgpu.partitions/1");
		jsonw_key(w, "parents");
		jsonw_array_begin(w);
		for (size_t i = 0; i < vmgpu_partitions_n_parents(s); i++)
			if (selected(vmgpu_partitions_parent(s, i), devs, argv + optind, n))
				report_partitions_json(w, s, i);
		jsonw_array_end(w);
		jsonw_object_end(w);
		jsonw_free(w);
	} else {
		size_t shown = 0;
		for (size_t i = 0; i < vmgpu_partitions_n_parents(s); i++)
			if (selected(vmgpu_partitions_parent(s, i), devs, argv + optind, n)) {
				if (shown++)
					putchar('\n');
				report_partitions_text(stdout, s, i, true, "  ");
			}
		if (!shown)
			printf("no GPU or SR-IOV device to split\n");
	}
	rc = EXIT_OK;
out:
	free(devs);
	vmgpu_partitions_unref(s);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

/* ---- create / remove / vfs / vgpu: plans ---- */

struct slice_args {
	const char *verb;
	bool dry_run;
	unsigned flags;
	unsigned count;
	unsigned number; /* vfs: N, vgpu: TYPE_ID */
	char **args;
	size_t n_args;
};

/* vfs N and vgpu TYPE_ID: far above any sriov_totalvfs (16 bits) or vGPU
 * type id; the plan refuses what the device does not offer. */
#define SLICE_NUMBER_MAX (1u << 20)

static int parse_slice_args(struct tool_opts *opts, int argc, char **argv, struct slice_args *a)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "persist", no_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'N' },
		{ 0 },
	};
	int c;

	a->count = 1;
	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "nph", longopts)) != -1) {
		char *end;
		if (c == TOOL_OPT_BAD)
			return -EINVAL;
		switch (c) {
		case 'n': a->dry_run = true; break;
		case 'p': a->flags |= VMGPU_PLAN_PERSIST; break;
		case 'N':
			errno = 0;
			a->count = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || a->count == 0 || a->count > 4096) {
				tool_error("--count: a number from 1 to 4096, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'h': return 1;
		default:
			fputs("Try 'vmgpu partition --help'.\n", stderr);
			return -EINVAL;
		}
	}
	a->args = argv + optind;
	a->n_args = (size_t)(argc - optind);
	return 0;
}

static int number_arg(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max || s[0] == '-')
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

static int make_slice_plan(struct vmgpu_ctx *ctx, struct vmgpu_host *host, void *userdata, struct vmgpu_plan **ret)
{
	struct slice_args *a = userdata;
	struct vmgpu_dev *d;
	int k;

	if (strcmp(a->verb, "create") == 0)
		k = vmgpu_plan_mdev_create(host, a->args[0], a->args[1], a->count, a->flags, ret);
	else if (strcmp(a->verb, "remove") == 0)
		k = vmgpu_plan_mdev_remove(host, (const char *const *)a->args, a->n_args, a->flags, ret);
	else {
		if (tool_lookup(host, ctx, a->args[0], &d) < 0)
			return -ENODEV;
		k = strcmp(a->verb, "vfs") == 0 ? vmgpu_plan_sriov(host, d, a->number, a->flags, ret)
						: vmgpu_plan_vgpu(host, d, a->number, a->flags, ret);
	}
	if (k < 0)
		tool_error("partition %s: cannot plan: %s", a->verb, strerror(-k));
	return k;
}

static void slice_done(const struct vmgpu_plan *plan, void *userdata)
{
	for (size_t i = 0; i < vmgpu_plan_n_created(plan); i++)
		printf("%s\n", vmgpu_plan_created(plan, i));
	if (vmgpu_plan_n_steps(plan) == 0)
		printf("already so; nothing changed\n");
}

static const char partition_usage[] =
	"Usage: vmgpu partition list [DEVICE...]\n"
	"       vmgpu partition create PARENT TYPE [--count N] [--persist] [--dry-run]\n"
	"       vmgpu partition remove UUID... [--dry-run]\n"
	"       vmgpu partition vfs PF N [--dry-run]\n"
	"       vmgpu partition vgpu VF TYPE_ID [--dry-run]\n\n"
	"Split a GPU among VMs. create makes mediated devices (mdev) of TYPE on PARENT\n"
	"(see list) and prints their UUIDs; --persist also defines them in mdevctl's\n"
	"store so they return at boot. remove deletes mdevs. vfs sets the number of SR-IOV\n"
	"virtual functions of PF (0 removes them), autoprobe off so they stay free for VMs.\n"
	"vgpu sets NVIDIA's vGPU type on a VF (0 removes it). Every change is journaled,\n"
	"verified and undone on failure, like assign.\n";

static int cmd_slice(struct tool_opts *opts, int argc, char **argv)
{
	struct slice_args a = { .verb = argv[0] };
	int k = parse_slice_args(opts, argc, argv, &a);
	size_t want = strcmp(a.verb, "remove") == 0 ? 0 : 2;

	if (k > 0) {
		fputs(partition_usage, stdout);
		return EXIT_OK;
	}
	if (k < 0)
		return EXIT_USAGE;
	if ((want && a.n_args != want) || (!want && a.n_args == 0)) {
		tool_error("partition %s: wrong arguments; try 'vmgpu partition --help'", a.verb);
		return EXIT_USAGE;
	}
	if (strcmp(a.verb, "vfs") == 0 || strcmp(a.verb, "vgpu") == 0) {
		if (tool_check_device_syntax(a.args, 1) < 0)
			return EXIT_USAGE;
		if (number_arg(a.args[1], SLICE_NUMBER_MAX, &a.number) < 0) {
			tool_error("partition %s: '%s' is not a number from 0 to %u", a.verb, a.args[1], SLICE_NUMBER_MAX);
			return EXIT_USAGE;
		}
	}
	return run_plan(opts, "partition", a.dry_run, make_slice_plan, slice_done, &a);
}

static int cmd_partition(struct tool_opts *opts, int argc, char **argv)
{
	static const char *const verbs[] = { "create", "remove", "vfs", "vgpu" };

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(partition_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(opts, argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i]) == 0)
			return cmd_slice(opts, argc - 1, argv + 1);
	tool_error("partition: unknown subcommand '%s'; try 'vmgpu partition --help'", argv[1]);
	return EXIT_USAGE;
}

const struct tool_cmd tool_cmd_partition = {
	.name = "partition",
	.run = cmd_partition,
	.summary = "Split a GPU among VMs: list, create and remove SR-IOV, mdev and vGPU slices",
};
