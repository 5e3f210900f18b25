/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu survey [--all] [DEVICE...]
 *
 * Observe the host, judge each GPU (or each named device), group it with its
 * companions into what one VM would receive, compute the MMIO that VM needs,
 * add how each GPU can be split (vmgpu partition list), and hand the report
 * to its renderer (report-text.c, report-json.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static void survey_usage(FILE *f)
{
	fprintf(f, "Usage: vmgpu survey [--all] [--json] [--root DIR] [DEVICE...]\n\n"
		   "For every GPU (display controller, class 03xx), tell whether it can be given to a\n"
		   "VM as it is, which functions must go with it, what stands in the way and how to\n"
		   "fix it, and how much MMIO space the VM must offer.\n\n"
		   "DEVICE is a PCI address (0000:01:00.0 or 01:00.0), a topology path\n"
		   "(pci0000:00/0000:00:01.0/0000:01:00.0) or a Hyper-V location path\n"
		   "(PCIROOT(0)#PCI(0100)#PCI(0000)).\n\n"
		   "  -a, --all     list every PCI function, bridges included, and judge every endpoint\n"
		   "  -j, --json    JSON (schema vmgpu.survey/1, see vmgpu(8))\n"
		   "  -r, --root    read the host under DIR instead of /\n");
}

struct survey_args {
	bool all;
	char **devices;
	size_t n_devices;
};

static int parse_args(struct tool_opts *opts, int argc, char **argv, struct survey_args *a)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "all", no_argument, NULL, 'a' },
		{ 0 },
	};
	int c;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "ah", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return -EINVAL;
		switch (c) {
		case 'a':
			a->all = true;
			break;
		case 'h':
			survey_usage(stdout);
			return 1;
		default:
			fputs("Try 'vmgpu survey --help'.\n", stderr);
			return -EINVAL;
		}
	}
	a->devices = argv + optind;
	a->n_devices = (size_t)(argc - optind);
	return 0;
}

static struct survey_item *find_item(struct survey_report *r, struct vmgpu_dev *dev)
{
	for (size_t i = 0; i < r->n_items; i++)
		if (r->items[i].dev == dev)
			return &r->items[i];
	return NULL;
}

static int add_item(struct survey_report *r, struct vmgpu_dev *dev, bool primary, bool companion)
{
	struct survey_item *it = find_item(r, dev), *n;

	if (it) {
		it->primary |= primary;
		it->companion |= companion;
		return 0;
	}
	n = realloc(r->items, (r->n_items + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	r->items = n;
	n[r->n_items++] = (struct survey_item){ .dev = dev, .primary = primary, .companion = companion };
	return 0;
}

static int judge_item(struct survey_report *r, struct survey_item *it)
{
	int k = vmgpu_dev_judge(r->host, it->dev, &it->verdict);

	if (k == -EINVAL) /* a bridge: listed, not judged */
		it->verdict = NULL;
	else if (k < 0)
		return k;
	return vmgpu_mmio_compute(&it->dev, 1, &it->mmio);
}

static int dev_order(const void *a, const void *b)
{
	const struct survey_item *x = a, *y = b;

	return strcmp(vmgpu_dev_str(x->dev, VMGPU_STR_ADDRESS), vmgpu_dev_str(y->dev, VMGPU_STR_ADDRESS));
}

static bool vm_same_set(const struct survey_vm *vm, struct vmgpu_dev **devs, size_t n)
{
	if (vm->n_devs != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < n && !found; j++)
			found = vm->devs[j] == devs[i];
		if (!found)
			return false;
	}
	return true;
}

/* What one VM receives for a primary device: it and its companions. */
static int add_vm(struct survey_report *r, const struct survey_item *it)
{
	size_t nc = vmgpu_verdict_n_companions(it->verdict), n = nc + 1;
	struct vmgpu_dev **devs = malloc(n * sizeof(*devs));
	struct survey_vm *nv;
	int k;

	if (!devs)
		return -ENOMEM;
	devs[0] = it->dev;
	for (size_t i = 0; i < nc; i++)
		devs[i + 1] = vmgpu_verdict_companion(it->verdict, i);
	for (size_t i = 0; i < r->n_vms; i++)
		if (vm_same_set(&r->vms[i], devs, n)) {
			free(devs);
			return 0;
		}
	nv = realloc(r->vms, (r->n_vms + 1) * sizeof(*nv));
	if (!nv) {
		free(devs);
		return -ENOMEM;
	}
	r->vms = nv;
	nv[r->n_vms] = (struct survey_vm){ .devs = devs, .n_devs = n };
	k = vmgpu_mmio_compute(devs, n, &nv[r->n_vms].mmio);
	r->n_vms++;
	return k;
}

static int select_items(struct survey_report *r, const struct survey_args *a)
{
	size_t n = vmgpu_host_n_devices(r->host);
	int k;

	for (size_t i = 0; i < a->n_devices; i++) {
		struct vmgpu_dev *dev;
		if (tool_lookup(r->host, r->ctx, a->devices[i], &dev) < 0)
			return -ENODEV; /* said already */
		if ((k = add_item(r, dev, true, false)) < 0)
			return k;
	}
	for (size_t i = 0; i < n; i++) {
		struct vmgpu_dev *dev = vmgpu_host_device(r->host, i);
		bool primary = a->n_devices == 0 && vmgpu_dev_is_display(dev);
		if ((primary || a->all) && (k = add_item(r, dev, primary, false)) < 0)
			return k;
	}
	return 0;
}

static int build_report(struct survey_report *r, const struct survey_args *a)
{
	int k = select_items(r, a);

	if (k < 0)
		return k;
	/* Companions of primary devices are shown with them. */
	for (size_t i = 0, n = r->n_items; i < n; i++) {
		struct vmgpu_verdict *v;

		if (!r->items[i].primary)
			continue;
		if ((k = judge_item(r, &r->items[i])) < 0)
			return k;
		v = r->items[i].verdict;
		for (size_t c = 0; v && c < vmgpu_verdict_n_companions(v); c++)
			if ((k = add_item(r, vmgpu_verdict_companion(v, c), false, true)) < 0)
				return k;
	}
	for (size_t i = 0; i < r->n_items; i++)
		if (!r->items[i].primary && !r->items[i].verdict && (k = judge_item(r, &r->items[i])) < 0)
			return k;
	qsort(r->items, r->n_items, sizeof(*r->items), dev_order);
	for (size_t i = 0; i < r->n_items; i++)
		if (r->items[i].primary && r->items[i].verdict && (k = add_vm(r, &r->items[i])) < 0)
			return k;
	return 0;
}

/* Which parents of the partitioning inventory the report shows: the GPUs
 * being surveyed, and the virtual mdev parents (mbochs, ...) when no DEVICE
 * was named. Decided here, so that the renderers only render. */
static int mark_split_shown(struct survey_report *r, bool named)
{
	size_t n = vmgpu_partitions_n_parents(r->parts);

	if (!(r->partitions_shown = calloc(n ? n : 1, sizeof(*r->partitions_shown))))
		return -ENOMEM;
	for (size_t pi = 0; pi < n; pi++) {
		const struct vmgpu_partition_parent *p = vmgpu_partitions_parent(r->parts, pi);

		r->partitions_shown[pi] = !p->dev && !named;
		for (size_t i = 0; p->dev && i < r->n_items; i++)
			if (r->items[i].dev == p->dev)
				r->partitions_shown[pi] = r->items[i].primary; /* one item per device */
	}
	return 0;
}

static void report_free(struct survey_report *r)
{
	vmgpu_partitions_unref(r->parts);
	free(r->partitions_shown);
	for (size_t i = 0; i < r->n_items; i++)
		vmgpu_verdict_unref(r->items[i].verdict);
	free(r->items);
	for (size_t i = 0; i < r->n_vms; i++)
		free(r->vms[i].devs);
	free(r->vms);
	vmgpu_host_unref(r->host);
	vmgpu_ctx_unref(r->ctx);
}

static int cmd_survey(struct tool_opts *opts, int argc, char **argv)
{
	struct survey_args a = { 0 };
	struct survey_report r = { 0 };
	int k = parse_args(opts, argc, argv, &a);

	if (k != 0)
		return k > 0 ? EXIT_OK : EXIT_USAGE;
	if (tool_check_device_syntax(a.devices, a.n_devices) < 0)
		return EXIT_USAGE;
	if (!(r.ctx = tool_open_root(opts)) || tool_scan(r.ctx, &r.host) < 0) {
		report_free(&r);
		return EXIT_FAILED;
	}
	k = build_report(&r, &a);
	if (k < 0) {
		if (k != -ENODEV)
			tool_error("survey failed: %s", strerror(-k));
		report_free(&r);
		return EXIT_FAILED;
	}
	/* Not fatal: the survey stands without it ("partitions": null). */
	if ((k = vmgpu_partitions_read(r.host, &r.parts)) < 0)
		tool_error("warning: cannot read how the GPUs can be split: %s", strerror(-k));
	else if ((k = mark_split_shown(&r, a.n_devices > 0)) < 0) {
		tool_error("survey failed: %s", strerror(-k));
		report_free(&r);
		return EXIT_FAILED;
	}
	if (opts->json)
		k = report_json_survey(stdout, &r, opts->pretty);
	else
		k = report_text_survey(stdout, &r, tool_use_color(opts, stdout));
	report_free(&r);
	if (fflush(stdout) != 0 || k < 0) {
		tool_error("cannot write the report: %s", strerror(errno ? errno : EIO));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

const struct tool_cmd tool_cmd_survey = {
	.name = "survey",
	.run = cmd_survey,
	.summary = "Tell whether each GPU can go to a VM, what must come with it, and the MMIO it needs",
};
