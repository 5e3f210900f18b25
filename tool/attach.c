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

#include "tool.h"

enum format { FORMAT_LIBVIRT_APPLY, FORMAT_XML, FORMAT_QEMU, FORMAT_POWERSHELL };

struct attach_args {
	const char *vm, *uri;
	unsigned flags;
	bool dry_run;
	enum format format;
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
	if (attach)
		fprintf(f, "      --managed      let libvirt detach the devices from the host at VM start\n"
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
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, TOOL_COMMON_SHORTOPTS "m:c:nh", longopts, NULL)) != -1) {
		int r = tool_common_option(opts, c, optarg);
		if (r < 0)
			return -EINVAL;
		if (r > 0)
			continue;
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
	return 0;
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
	if (k == -EINVAL) {
		tool_error("the VM name cannot be used here: it must be UTF-8 without control characters");
		return EXIT_USAGE;
	}
	if (k < 0) {
		tool_error("cannot render: %s", strerror(-k));
		return EXIT_FAILED;
	}
	fputs(out, stdout);
	free(out);
	return EXIT_OK;
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
	if (tool_check_device_syntax(a.devices, a.n_devices) < 0)
		return EXIT_USAGE;
	if (!(ctx = tool_open_root(opts)) || tool_scan(ctx, &host) < 0)
		goto out;
	if (!(devs = calloc(a.n_devices, sizeof(*devs))))
		goto out;
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
	if (k == 0 && a.dry_run)
		fputs(xml, stdout);
	if (report && *report)
		fprintf(k < 0 ? stderr : stdout, "%s%s\n", k < 0 ? "vmgpu: " : "", report);
	rc = k == 0 ? EXIT_OK : (k == -EPERM || k == -EBUSY) ? EXIT_REFUSED : EXIT_FAILED;
note:
	if (rc == EXIT_OK && attach && vmgpu_vm_layout_has_consumer_nvidia(l) && !(a.flags & VMGPU_LAYOUT_NVIDIA_HIDE))
		fprintf(stderr, "vmgpu: note: consumer NVIDIA GPU: GeForce drivers before R465 need --nvidia-hide (Code 43)\n");
out:
	free(xml);
	free(report);
	free(devs);
	vmgpu_vm_layout_unref(l);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

int cmd_attach(struct tool_opts *opts, int argc, char **argv)
{
	return run(opts, argc, argv, true);
}

int cmd_detach(struct tool_opts *opts, int argc, char **argv)
{
	return run(opts, argc, argv, false);
}
