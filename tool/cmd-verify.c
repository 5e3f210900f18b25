/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu verify --vm NAME [--connect URI] [DEVICE|UUID...]
 * vmgpu verify --qmp SOCKET [--qga SOCKET] [DEVICE|UUID...]
 *
 * Whether the running guest has each device vmgpu gave it: one line per
 * device (or vmgpu.verify/1 JSON); exit 0 only when every one is seen.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "json-writer.h"
#include "tool.h"

struct verify_args {
	const char *vm, *uri, *qmp, *qga;
	char **devices;
	size_t n_devices;
};

static void verify_usage(FILE *f)
{
	fputs("Usage: vmgpu verify --vm NAME [--connect URI] [DEVICE|UUID...]\n"
	      "       vmgpu verify --qmp SOCKET [--qga SOCKET] [DEVICE|UUID...]\n\n"
	      "Say whether the running guest has each device vmgpu gave it: QEMU's view\n"
	      "(query-pci: there, where vmgpu's layout puts it, BARs enabled by the guest) and,\n"
	      "when the guest agent answers, the guest's own (its PCI devices and drivers).\n"
	      "Without DEVICEs: every device with a vmgpu id.\n\n"
	      "  -m, --vm NAME      a running libvirt domain\n"
	      "  -c, --connect URI  libvirt connection (default qemu:///system)\n"
	      "      --qmp SOCKET   a bare QEMU's QMP unix socket (-qmp unix:SOCKET,server=on,wait=off)\n"
	      "      --qga SOCKET   ... and the unix socket of its guest-agent chardev\n"
	      "  -j, --json         schema vmgpu.verify/1 (doc/verify-json.md)\n\n"
	      "Exit status: 0 every device seen, 1 some device not seen (or a usage error),\n"
	      "2 failure (socket unreachable, domain not running, QEMU refused).\n",
	      f);
}

static int check_args(const struct verify_args *a)
{
	uint32_t d;
	uint8_t b, s, f;

	if (!a->vm == !a->qmp) {
		tool_error("verify: name the VM: --vm NAME (libvirt) or --qmp SOCKET (bare QEMU), one of them");
		return -EINVAL;
	}
	if ((a->vm && a->qga) || (a->qmp && a->uri)) {
		tool_error("verify: --qga goes with --qmp, --connect with --vm");
		return -EINVAL;
	}
	for (size_t i = 0; i < a->n_devices; i++)
		if (!vmgpu_is_uuid(a->devices[i]) && vmgpu_parse_address(a->devices[i], &d, &b, &s, &f) < 0) {
			tool_error("verify: '%s' is neither a PCI address nor an mdev UUID", a->devices[i]);
			return -EINVAL;
		}
	return 0;
}

static int parse_args(struct tool_opts *opts, int argc, char **argv, struct verify_args *a)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "vm", required_argument, NULL, 'm' },
		{ "connect", required_argument, NULL, 'c' },
		{ "qmp", required_argument, NULL, 'Q' },
		{ "qga", required_argument, NULL, 'G' },
		{ 0 },
	};
	int c;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "m:c:h", longopts)) != -1) {
		switch (c) {
		case 'm': a->vm = optarg; break;
		case 'c': a->uri = optarg; break;
		case 'Q': a->qmp = optarg; break;
		case 'G': a->qga = optarg; break;
		case 'h':
			verify_usage(stdout);
			return 1;
		case TOOL_OPT_BAD:
			return -EINVAL;
		default:
			fputs("Try 'vmgpu verify --help'.\n", stderr);
			return -EINVAL;
		}
	}
	a->devices = argv + optind;
	a->n_devices = (size_t)(argc - optind);
	return check_args(a);
}

/* ---- text ---- */

static void print_text(FILE *f, const struct vmgpu_verify *v)
{
	for (size_t i = 0; i < vmgpu_verify_n_devices(v); i++) {
		struct vmgpu_verify_device d;
		vmgpu_verify_device(v, i, &d);
		fprintf(f, "%-12s  %-8s  %s\n", d.device ? d.device : d.mdev, d.seen ? "seen" : "not seen", d.why);
	}
}

/* ---- JSON (doc/verify-json.md) ---- */

static void json_opt_int(struct json_writer *w, const char *key, bool known, int64_t v)
{
	if (known)
		jsonw_kv_int(w, key, v);
	else
		jsonw_kv_null(w, key);
}

static void json_qemu(struct json_writer *w, const struct vmgpu_verify_device *d)
{
	char id[10];

	jsonw_key(w, "qemu");
	jsonw_object_begin(w);
	jsonw_kv_bool(w, "present", d->present);
	jsonw_kv_string(w, "port", d->port);
	json_opt_int(w, "bus", d->present, d->bus);
	json_opt_int(w, "slot", d->present, d->slot);
	json_opt_int(w, "function", d->present, d->function);
	snprintf(id, sizeof(id), "%04x:%04x", d->vendor, d->device_id);
	jsonw_kv_string(w, "pci_id", d->present ? id : NULL);
	jsonw_kv_tristate(w, "bars_programmed", d->bars_programmed);
	jsonw_object_end(w);
}

static void json_guest(struct json_writer *w, const struct vmgpu_verify_device *d)
{
	jsonw_key(w, "guest");
	if (!d->guest_checked) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_kv_bool(w, "present", d->guest_present);
	jsonw_kv_string(w, "address", d->guest_address);
	jsonw_kv_string(w, "driver", d->guest_driver);
	jsonw_kv_string(w, "driver_version", d->guest_driver_version);
	jsonw_object_end(w);
}

static void json_device(struct json_writer *w, const struct vmgpu_verify_device *d)
{
	jsonw_object_begin(w);
	if (d->device)
		jsonw_kv_string(w, "device", d->device);
	else
		jsonw_kv_string(w, "mdev", d->mdev);
	jsonw_kv_string(w, "id", d->id);
	jsonw_key(w, "expected");
	if (d->expected_known) {
		jsonw_object_begin(w);
		jsonw_kv_int(w, "slot", 0);
		jsonw_kv_uint(w, "function", d->expected_function);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
	json_qemu(w, d);
	json_guest(w, d);
	jsonw_kv_bool(w, "seen", d->seen);
	jsonw_kv_string(w, "why", d->why);
	jsonw_object_end(w);
}

static int print_json(FILE *f, const struct vmgpu_verify *v, const struct verify_args *a, bool pretty)
{
	struct json_writer *w = jsonw_new(f, pretty);

	if (!w)
		return -ENOMEM;
	jsonw_object_begin(w);
	jsonw_kv_string(w, "schema", "vmgpu.verify/1");
	jsonw_kv_string(w, a->vm ? "vm" : "qmp", a->vm ? a->vm : a->qmp);
	jsonw_key(w, "agent");
	jsonw_object_begin(w);
	jsonw_kv_bool(w, "answered", vmgpu_verify_agent_answered(v));
	jsonw_kv_string(w, "os", vmgpu_verify_agent_os(v));
	jsonw_kv_string(w, "os_name", vmgpu_verify_agent_os_name(v));
	jsonw_kv_string(w, "note", vmgpu_verify_agent_note(v));
	jsonw_object_end(w);
	jsonw_key(w, "devices");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_verify_n_devices(v); i++) {
		struct vmgpu_verify_device d;
		vmgpu_verify_device(v, i, &d);
		json_device(w, &d);
	}
	jsonw_array_end(w);
	jsonw_kv_bool(w, "all_seen", vmgpu_verify_all_seen(v));
	jsonw_object_end(w);
	return jsonw_free(w);
}

static int run_verify(struct vmgpu_ctx *ctx, const struct verify_args *a, struct vmgpu_verify **ret)
{
	const char *const *devs = (const char *const *)a->devices;
	char *report = NULL;
	int r;

	if (a->vm)
		r = vmgpu_verify_libvirt(ctx, a->uri, a->vm, devs, a->n_devices, ret, &report);
	else
		r = vmgpu_verify_qemu(ctx, a->qmp, a->qga, devs, a->n_devices, ret, &report);
	if (r < 0)
		tool_error("verify: %s", report ? report : strerror(-r));
	free(report);
	return r;
}

static int cmd_verify(struct tool_opts *opts, int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct vmgpu_verify *v = NULL;
	struct vmgpu_ctx *ctx;
	int r = parse_args(opts, argc, argv, &a);

	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (!(ctx = tool_open_root(opts)))
		return EXIT_FAILED;
	r = run_verify(ctx, &a, &v);
	vmgpu_ctx_unref(ctx);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
	if (vmgpu_verify_n_devices(v) == 0 && !opts->json)
		tool_error("verify: %s has no device with a vmgpu id (nothing vmgpu gave it is there)", a.vm ? a.vm : a.qmp);
	else if (opts->json)
		r = print_json(stdout, v, &a, opts->pretty);
	else
		print_text(stdout, v);
	r = r < 0 ? EXIT_FAILED : vmgpu_verify_all_seen(v) ? EXIT_OK : EXIT_NOT_SEEN;
	vmgpu_verify_unref(v);
	return r;
}

const struct tool_cmd tool_cmd_verify = {
	.name = "verify",
	.run = cmd_verify,
	.summary = "Tell whether a running VM's guest has each device vmgpu gave it",
};
