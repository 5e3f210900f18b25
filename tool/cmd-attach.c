/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu attach DEVICE... --vm NAME [--connect URI] [--managed] [--nvidia-hide] [--no-rom]
 *                         [--dry-run | --format xml|qemu|powershell]
 * vmgpu detach DEVICE... --vm NAME [--connect URI] [--dry-run | --format powershell]
 *
 * One layout (the device, its companions, one root port per slot, the MMIO
 * the VM needs) rendered for libvirt (applied through its API), QEMU, or a
 * Hyper-V host.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tool.h"

enum format { FORMAT_LIBVIRT_APPLY, FORMAT_XML, FORMAT_QEMU, FORMAT_POWERSHELL };

/* What is given: whole functions (default), mdev slices, paravirtual 3D
 * on a GPU's render node, or (Hyper-V) a GPU-PV partition. */
enum what { WHAT_PCI, WHAT_MDEV, WHAT_VIRGL, WHAT_GPUPV };

struct attach_args {
	const char *vm, *uri;
	unsigned flags;
	bool dry_run;
	enum format format;
	enum what what;
	unsigned share;
	char **devices;
	size_t n_devices;
};

static void attach_usage(FILE *f, bool attach)
{
	fprintf(f,
		"Usage: vmgpu %s DEVICE... --vm NAME [OPTIONS]\n\n"
		"%s\n\n"
		"  -m, --vm NAME      the VM (libvirt domain, or Hyper-V VM with --format powershell)\n"
		"  -c, --connect URI  libvirt connection (default qemu:///system; remote URIs work too)\n"
		"  -n, --dry-run      print the domain definition that would be used, change nothing\n"
		"      --format F     print instead of applying: xml (a libvirt domain skeleton), qemu\n"
		"                     (arguments), powershell (Hyper-V DDA script)\n",
		attach ? "attach" : "detach",
		attach ? "Give DEVICE and its IOMMU-group companions to a VM: one <hostdev> per function,\n"
			 "the functions of a slot together behind their own PCIe root port, <pcihole64>\n"
			 "raised when the devices' BARs need more than the default; live too when the\n"
			 "domain runs. The devices must be on vfio-pci (vmgpu assign) unless --managed."
		       : "Take DEVICE and its companions out of the VM again (definition, and live).");
	fprintf(f, "      --mdev         the arguments are mdev UUIDs (vmgpu partition create)\n"
		   "      --virgl        paravirtual 3D: virtio-gpu rendering on DEVICE's render node\n");
	if (attach)
		fprintf(f, "      --gpu-pv       Hyper-V GPU-PV partition of DEVICE (with --format powershell)\n"
			   "      --share N      GPU-PV: percent of VRAM, encode, decode, compute (default 50)\n"
			   "      --managed      let libvirt detach the devices from the host at VM start\n"
			   "      --nvidia-hide  hide KVM and set a Hyper-V vendor_id (GeForce drivers before R465)\n"
			   "      --no-rom       do not expose the option ROM to the guest\n");
}

static int parse_format(const char *s, enum format *ret)
{
	if (strcmp(s, "xml") == 0)
		*ret = FORMAT_XML;
	else if (strcmp(s, "qemu") == 0)
		*ret = FORMAT_QEMU;
	else if (strcmp(s, "powershell") == 0 || strcmp(s, "ps1") == 0)
		*ret = FORMAT_POWERSHELL;
	else
		return -EINVAL;
	return 0;
}

static int parse_args(struct tool_opts *opts, int argc, char **argv, bool attach, struct attach_args *a)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "vm", required_argument, NULL, 'm' },
		{ "connect", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'o' },
		{ "managed", no_argument, NULL, 'M' },
		{ "nvidia-hide", no_argument, NULL, 'N' },
		{ "no-rom", no_argument, NULL, 'R' },
		{ "mdev", no_argument, NULL, 'D' },
		{ "virgl", no_argument, NULL, 'G' },
		{ "gpu-pv", no_argument, NULL, 'V' },
		{ "share", required_argument, NULL, 'S' },
		{ 0 },
	};
	int c;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "m:c:nh", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return -EINVAL;
		switch (c) {
		case 'm': a->vm = optarg; break;
		case 'c': a->uri = optarg; break;
		case 'n': a->dry_run = true; break;
		case 'o':
			if (parse_format(optarg, &a->format) < 0) {
				tool_error("--format: expected xml, qemu or powershell, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'M': a->flags |= VMGPU_LAYOUT_MANAGED; break;
		case 'N': a->flags |= VMGPU_LAYOUT_NVIDIA_HIDE; break;
		case 'R': a->flags |= VMGPU_LAYOUT_NO_ROM; break;
		case 'D': a->what = WHAT_MDEV; break;
		case 'G': a->what = WHAT_VIRGL; break;
		case 'V': a->what = WHAT_GPUPV; break;
		case 'S': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v == 0 || v > 100) {
				tool_error("--share: a percentage from 1 to 100, not '%s'", optarg);
				return -EINVAL;
			}
			a->share = (unsigned)v;
			break;
		}
		case 'h':
			attach_usage(stdout, attach);
			return 1;
		default:
			fprintf(stderr, "Try 'vmgpu %s --help'.\n", argv[0]);
			return -EINVAL;
		}
	}
	a->devices = argv + optind;
	a->n_devices = (size_t)(argc - optind);
	if (a->n_devices == 0 || (!a->vm && a->format != FORMAT_QEMU)) {
		tool_error("%s: name the DEVICE(s) and the VM (--vm NAME)", argv[0]);
		return -EINVAL;
	}
	if (!attach && (a->format == FORMAT_XML || a->format == FORMAT_QEMU || a->flags)) {
		tool_error("detach: only --format powershell applies (use --dry-run to see the libvirt definition)");
		return -EINVAL;
	}
	if (a->what == WHAT_GPUPV && (a->format != FORMAT_POWERSHELL || !attach || a->n_devices != 1)) {
		tool_error("--gpu-pv: one GPU, with --format powershell (GPU-PV is Hyper-V's)");
		return -EINVAL;
	}
	if (a->what == WHAT_VIRGL && a->n_devices != 1) {
		tool_error("--virgl: name the one GPU whose render node the VM renders on");
		return -EINVAL;
	}
	if ((a->what == WHAT_MDEV || a->what == WHAT_VIRGL) && a->format == FORMAT_POWERSHELL) {
		tool_error("Hyper-V has no mdev or virtio-gpu: use --gpu-pv for GPU-PV");
		return -EINVAL;
	}
	if (a->share && a->what != WHAT_GPUPV) {
		tool_error("--share applies to --gpu-pv only");
		return -EINVAL;
	}
	return 0;
}

/* What libvirt's pieces say when the module that holds them is missing
 * (-ENOPKG): as the library's report words it. */
#define NO_MODULE "the libvirt module vmgpu-virt.so cannot be loaded (is libvirt installed?)"

/* A rendering (K from vmgpu_render_*()) on stdout, or one line saying why
 * there is none; VM_RULE: what a VM name must be for this format. */
static int print_rendered(int k, char *out, const char *vm_rule)
{
	if (k == 0)
		fputs(out, stdout);
	else if (k == -EINVAL)
		tool_error("the VM name cannot be used here: it must be %s", vm_rule);
	else
		tool_error("cannot render: %s", k == -ENOPKG ? NO_MODULE : strerror(-k));
	free(out);
	return k == 0 ? EXIT_OK : k == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
}

/*
 * After libvirt (K from vmgpu_libvirt_update*()): the definition it would
 * use on stdout for --dry-run; the report, on stdout when done and as
 * "vmgpu: ..." on stderr when not (a line of its own when there is none);
 * the exit status of vmgpu(8): 3 for a refusal that changed nothing, 2 for
 * any other failure, libvirt refusing the new definition included.
 */
static int print_applied(int k, char *xml, char *report, bool dry_run)
{
	if (k == 0 && dry_run && xml)
		fputs(xml, stdout);
	if (report && *report)
		fprintf(k < 0 ? stderr : stdout, "%s%s\n", k < 0 ? "vmgpu: " : "", report);
	else if (k < 0)
		tool_error("%s", k == -ENOPKG ? NO_MODULE : strerror(-k));
	free(xml);
	free(report);
	return k == 0 ? EXIT_OK : (k == -EPERM || k == -EBUSY) ? EXIT_REFUSED : EXIT_FAILED;
}

static int print_rendering(const struct vmgpu_vm_layout *l, const struct attach_args *a, bool attach)
{
	char *out = NULL;
	int k;

	switch (a->format) {
	case FORMAT_XML: k = vmgpu_render_libvirt(l, NULL, a->vm, &out); break;
	case FORMAT_QEMU: k = vmgpu_render_qemu(l, &out); break;
	default: k = vmgpu_render_powershell(l, a->vm, !attach, &out); break;
	}
	return print_rendered(k, out, "UTF-8 without control characters");
}

static int print_or_apply(const struct attach_args *a, bool attach, const char *render_node)
{
	const char *const *uuids = (const char *const *)(a->what == WHAT_MDEV ? a->devices : NULL);
	size_t n = a->what == WHAT_MDEV ? a->n_devices : 0;
	char *out = NULL, *report = NULL;
	int k;

	if (a->format != FORMAT_LIBVIRT_APPLY) {
		k = a->format == FORMAT_XML ? vmgpu_render_slices_libvirt(uuids, n, render_node, a->vm, &out)
					    : vmgpu_render_slices_qemu(uuids, n, render_node, &out);
		return print_rendered(k, out, "UTF-8");
	}
	if (a->what == WHAT_MDEV)
		k = vmgpu_libvirt_update_mdevs(uuids, n, a->uri, a->vm, !attach, a->dry_run, &out, &report);
	else
		k = vmgpu_libvirt_update_virgl(render_node, a->uri, a->vm, !attach, a->dry_run, &out, &report);
	return print_applied(k, out, report, a->dry_run);
}

/* The partitioning inventory (mdev instances, render nodes), or a line
 * saying why not. */
static int read_split(struct vmgpu_host *host, struct vmgpu_partitions **ret)
{
	int k = vmgpu_partitions_read(host, ret);

	if (k < 0)
		tool_error("cannot read the partitioning inventory: %s", strerror(-k));
	return k;
}

/* mdev slices: arguments are UUIDs of instances on this host. */
static int run_mdev(struct tool_opts *opts, const struct attach_args *a, bool attach)
{
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_partitions *s = NULL;
	int rc = EXIT_FAILED;

	for (size_t i = 0; i < a->n_devices; i++)
		if (!vmgpu_is_uuid(a->devices[i])) {
			tool_error("'%s' is not an mdev UUID (see vmgpu partition list)", a->devices[i]);
			return EXIT_USAGE;
		}
	if (!(ctx = tool_open_root(opts)) || tool_scan(ctx, &host) < 0 || read_split(host, &s) < 0)
		goto out;
	for (size_t i = 0; i < a->n_devices; i++) {
		bool found = false;
		for (size_t k = 0; k < vmgpu_partitions_n_mdevs(s) && !found; k++)
			found = strcasecmp(vmgpu_partitions_mdev(s, k)->uuid, a->devices[i]) == 0;
		/* Detaching a slice that is gone from the host is fine: the
		 * domain may still name it. */
		if (!found && attach) {
			tool_error("no mdev %s on this host (vmgpu partition create makes one)", a->devices[i]);
			goto out;
		}
	}
	rc = print_or_apply(a, attach, NULL);
out:
	vmgpu_partitions_unref(s);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

/* virtio-gpu 3D or GPU-PV: one GPU, no passthrough. */
static int run_shared(struct tool_opts *opts, const struct attach_args *a, bool attach)
{
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_partitions *s = NULL;
	struct vmgpu_dev *d;
	const char *node = NULL;
	char *out = NULL;
	int rc = EXIT_FAILED, k;

	if (tool_check_device_syntax(a->devices, 1) < 0)
		return EXIT_USAGE;
	if (!(ctx = tool_open_root(opts)) || tool_scan(ctx, &host) < 0 || tool_lookup(host, ctx, a->devices[0], &d) < 0)
		goto out;
	if (a->what == WHAT_GPUPV) {
		k = vmgpu_render_gpupv(d, a->vm, a->share ? a->share : 50, &out);
		if (k == 0)
			fputs(out, stdout);
		else
			tool_error("--gpu-pv: %s", k == -EINVAL ? "the device must be a GPU and the VM name UTF-8 without control characters"
							       : strerror(-k));
		rc = k == 0 ? EXIT_OK : k == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
		goto out;
	}
	if (read_split(host, &s) < 0)
		goto out;
	for (size_t i = 0; i < vmgpu_partitions_n_parents(s); i++)
		if (vmgpu_partitions_parent(s, i)->dev == d)
			node = vmgpu_partitions_parent(s, i)->render_node;
	if (!node) {
		tool_error("%s has no DRM render node: its host driver does not render (load it, or pick another GPU)",
			   a->devices[0]);
		goto out;
	}
	rc = print_or_apply(a, attach, node);
out:
	free(out);
	vmgpu_partitions_unref(s);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

static int run(struct tool_opts *opts, int argc, char **argv, bool attach)
{
	struct attach_args a = { .format = FORMAT_LIBVIRT_APPLY };
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_vm_layout *l = NULL;
	struct vmgpu_dev **devs = NULL;
	char *xml = NULL, *report = NULL;
	int k = parse_args(opts, argc, argv, attach, &a), rc = EXIT_FAILED;

	if (k != 0)
		return k > 0 ? EXIT_OK : EXIT_USAGE;
	if (a.what == WHAT_MDEV)
		return run_mdev(opts, &a, attach);
	if (a.what != WHAT_PCI)
		return run_shared(opts, &a, attach);
	if (tool_check_device_syntax(a.devices, a.n_devices) < 0)
		return EXIT_USAGE;
	if (!(ctx = tool_open_root(opts)) || tool_scan(ctx, &host) < 0)
		goto out;
	if (!(devs = calloc(a.n_devices, sizeof(*devs)))) {
		tool_error("%s", strerror(ENOMEM));
		goto out;
	}
	for (size_t i = 0; i < a.n_devices; i++)
		if (tool_lookup(host, ctx, a.devices[i], &devs[i]) < 0)
			goto out;
	if ((k = vmgpu_vm_layout_new(host, devs, a.n_devices, a.flags, &l)) < 0) {
		tool_error("%s: %s", argv[0], k == -EINVAL ? "bridges and ports cannot be given to a VM" : strerror(-k));
		rc = k == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
		goto out;
	}
	if (a.format != FORMAT_LIBVIRT_APPLY) {
		rc = print_rendering(l, &a, attach);
		goto note;
	}
	k = vmgpu_libvirt_update(l, a.uri, a.vm, !attach, a.dry_run, &xml, &report);
	rc = print_applied(k, xml, report, a.dry_run);
note:
	if (rc == EXIT_OK && attach && vmgpu_vm_layout_has_consumer_nvidia(l) && !(a.flags & VMGPU_LAYOUT_NVIDIA_HIDE))
		fprintf(stderr, "vmgpu: note: consumer NVIDIA GPU: GeForce drivers before R465 need --nvidia-hide (Code 43)\n");
out:
	free(devs);
	vmgpu_vm_layout_unref(l);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

static int cmd_attach(struct tool_opts *opts, int argc, char **argv)
{
	return run(opts, argc, argv, true);
}

static int cmd_detach(struct tool_opts *opts, int argc, char **argv)
{
	return run(opts, argc, argv, false);
}

const struct tool_cmd tool_cmd_attach = {
	.name = "attach",
	.run = cmd_attach,
	.summary = "Give an assigned GPU to a VM: libvirt domain, QEMU arguments or Hyper-V script",
};

const struct tool_cmd tool_cmd_detach = {
	.name = "detach",
	.run = cmd_detach,
	.summary = "Take a GPU out of a VM's definition again",
};
