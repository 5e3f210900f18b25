/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmgpu status: what vmgpu has assigned, since when, and whether the host
 * still matches (driver vfio-pci, override vfio-pci, same device IDs). */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "json-writer.h"
#include "tool.h"

/* Why the host no longer matches the record, or NULL. */
static const char *drift(struct vmgpu_host *host, const struct vmgpu_assignment *a, struct vmgpu_dev **ret_dev)
{
	struct vmgpu_dev *d;
	int64_t v;
	const char *drv, *ovr;

	*ret_dev = NULL;
	if (vmgpu_host_lookup(host, a->address, &d) < 0)
		return "device is gone";
	*ret_dev = d;
	if (vmgpu_dev_int(d, VMGPU_INT_VENDOR, &v) < 0 || v != a->vendor ||
	    vmgpu_dev_int(d, VMGPU_INT_DEVICE, &v) < 0 || v != a->device)
		return "another device is at this address";
	drv = vmgpu_dev_str(d, VMGPU_STR_DRIVER);
	ovr = vmgpu_dev_str(d, VMGPU_STR_DRIVER_OVERRIDE);
	if (!drv || strcmp(drv, "vfio-pci") != 0)
		return "no longer bound to vfio-pci";
	if (!ovr || strcmp(ovr, "vfio-pci") != 0)
		return "driver_override is no longer vfio-pci";
	return NULL;
}

static int cmd_status(struct tool_opts *opts, int argc, char **argv)
{
	static const struct option longopts[] = { TOOL_COMMON_LONGOPTS, { 0 } };
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host = NULL;
	struct vmgpu_state *st = NULL;
	struct json_writer *w = NULL;
	int c, k, rc = EXIT_FAILED;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "h", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return EXIT_USAGE;
		if (c == 'h') {
			printf("Usage: vmgpu status [--json]\n\nWhat vmgpu has assigned to vfio-pci, since when, "
			       "the drivers it will restore,\nand whether the host still matches.\n");
			return EXIT_OK;
		}
		fputs("Try 'vmgpu status --help'.\n", stderr);
		return EXIT_USAGE;
	}
	if (optind != argc) {
		tool_error("status takes no arguments");
		return EXIT_USAGE;
	}
	if (!(ctx = tool_open_root(opts)))
		return EXIT_FAILED;
	if ((k = vmgpu_state_read(ctx, &st)) < 0) {
		tool_error("cannot read /var/lib/vmgpu/assigned: %s", strerror(-k));
		goto out;
	}
	if (tool_scan(ctx, &host) < 0)
		goto out;
	if (opts->json) {
		w = jsonw_new(stdout, opts->pretty);
		jsonw_object_begin(w);
		jsonw_kv_string(w, "schema", "vmgpu.status/1");
		jsonw_kv_bool(w, "interrupted", vmgpu_state_interrupted(st));
		jsonw_key(w, "assigned");
		jsonw_array_begin(w);
	} else if (vmgpu_state_interrupted(st)) {
		printf("a change (assign, release, partition) was interrupted: run vmgpu recover, or any later change recovers first\n");
	}
	if (!opts->json && vmgpu_state_n(st) == 0)
		printf("nothing assigned by vmgpu\n");
	for (size_t i = 0; i < vmgpu_state_n(st); i++) {
		struct vmgpu_assignment a;
		struct vmgpu_dev *d;
		const char *why;
		char when[32];
		time_t t;

		if (vmgpu_state_get(st, i, &a) < 0)
			continue;
		why = drift(host, &a, &d);
		t = (time_t)a.since;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
		if (w) {
			jsonw_object_begin(w);
			jsonw_kv_string(w, "address", a.address);
			jsonw_kv_int(w, "vendor_id", a.vendor);
			jsonw_kv_int(w, "device_id", a.device);
			jsonw_kv_int(w, "iommu_group", a.iommu_group);
			jsonw_kv_string(w, "original_driver", *a.driver ? a.driver : NULL);
			jsonw_kv_string(w, "original_override", *a.override ? a.override : NULL);
			jsonw_kv_int(w, "since", a.since);
			jsonw_kv_bool(w, "persist", a.persist);
			jsonw_kv_bool(w, "matches_host", why == NULL);
			jsonw_kv_string(w, "drift", why);
			jsonw_object_end(w);
		} else {
			printf("%s  [%04x:%04x] group %d  vfio-pci since %s%s; releases to %s%s%s\n", a.address, a.vendor,
			       a.device, a.iommu_group, when, a.persist ? " (persistent)" : "",
			       *a.driver ? a.driver : "no driver", why ? "  DRIFT: " : "", why ? why : "");
		}
	}
	if (w) {
		jsonw_array_end(w);
		jsonw_object_end(w);
		jsonw_free(w);
	}
	rc = EXIT_OK;
out:
	vmgpu_state_unref(st);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}

const struct tool_cmd tool_cmd_status = {
	.name = "status",
	.run = cmd_status,
	.summary = "Show what vmgpu has assigned and whether the host still matches",
};
