/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rollback and recovery: bring each function the journal records to its
 * driver and override before (or after) the plan, and each partition object
 * to its value, from wherever a crash or a failed step left it. As shell,
 * for a function:
 *   echo $want_override > /sys/bus/pci/devices/$addr/driver_override
 *   echo $addr > /sys/bus/pci/devices/$addr/driver/unbind
 *   echo $addr > /sys/bus/pci/drivers_probe
 */
#include <stdio.h>
#include <string.h>

#include "apply.h"
/* echo V > O's attribute, and read it back. */
static int write_value(struct vmgpu_ctx *ctx, const struct jobj *o, long v, char *why, size_t sz)
{
	char path[300], val[24];
	long got = -1;
	int r;

	object_path(o, path, sizeof(path));
	snprintf(val, sizeof(val), "%ld", v);
	if ((r = kernel_write(ctx, path, val)) < 0) {
		snprintf(why, sz, "writing %s to /%s: %s", val, path, strerror(-r));
		return r;
	}
	if (object_current(ctx, o, &got) < 0 || got != v) {
		snprintf(why, sz, "/%s reads %ld after writing %ld", path, got, v);
		return -EIO;
	}
	return 0;
}

int converge_object(struct vmgpu_ctx *ctx, const struct jobj *o, long want, char *why, size_t sz)
{
	char path[300], file[300];
	long cur;
	int r;

	why[0] = '\0';
	if ((r = object_current(ctx, o, &cur)) < 0) {
		snprintf(why, sz, "%s %s: gone", o->kind == JOBJ_MDEV ? "mdev" : "device", o->key);
		return r;
	}
	if (cur == want)
		goto files;
	object_path(o, path, sizeof(path));
	switch (o->kind) {
	case JOBJ_AUTOPROBE:
		if ((r = write_value(ctx, o, want, why, sz)) < 0)
			return r;
		break;
	case JOBJ_NUMVFS:
	case JOBJ_VGPU:
		/* The kernel (and NVIDIA's driver) take a new non-zero value
		 * only from zero. */
		if (cur != 0 && want != 0 && (r = write_value(ctx, o, 0, why, sz)) < 0)
			return r;
		if ((r = write_value(ctx, o, want, why, sz)) < 0)
			return r;
		break;
	case JOBJ_MDEV:
		if (want) {
			object_mdev_create_path(o->parent, o->type, path, sizeof(path));
			r = kernel_write(ctx, path, o->key);
		} else {
			object_mdev_remove_path(o->key, path, sizeof(path));
			r = kernel_write(ctx, path, "1");
		}
		object_path(o, path, sizeof(path));
		if (r < 0 || root_exists(ctx, path) != (want != 0)) {
			snprintf(why, sz, "mdev %s: could not %s it (%s)", o->key, want ? "create" : "remove",
				 r < 0 ? strerror(-r) : "no effect");
			return r < 0 ? r : -EIO;
		}
		break;
	}
files:
	if (o->kind == JOBJ_MDEV && o->persist) {
		char json[256];
		object_mdevctl_path(o, file, sizeof(file));
		object_mdevctl_json(o, json, sizeof(json));
		r = want ? root_write_file(ctx, file, json) : root_remove_file(ctx, file);
		if (r < 0) {
			snprintf(why, sz, "/%s: %s", file, strerror(-r));
			return r;
		}
	}
	return 0;
}

int converge_function(struct vmgpu_ctx *ctx, const char *addr, const char *want_driver, const char *want_override,
		    struct report *rep)
{
	char path[128], drv[64], ovr[64];
	int r;

	if ((r = kernel_driver(ctx, addr, drv, sizeof(drv))) < 0) {
		report_add(rep, "%s: gone from the host, nothing to restore", addr);
		return r;
	}
	if ((r = kernel_override(ctx, addr, ovr, sizeof(ovr))) < 0)
		return r;
	if (strcmp(ovr, want_override) != 0) {
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
		if ((r = kernel_write(ctx, path, want_override)) < 0) {
			report_add(rep, "%s: could not set driver_override to \"%s\": %s", addr, want_override, strerror(-r));
			return r;
		}
		report_add(rep, "%s: driver_override \"%s\" -> \"%s\"", addr, ovr, want_override);
	}
	if (strcmp(drv, want_driver) == 0)
		return 0;
	if (*drv) {
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", addr);
		if ((r = kernel_write(ctx, path, addr)) < 0 || kernel_settle_driver(ctx, addr, "", drv, sizeof(drv)) < 0) {
			report_add(rep, "%s: could not unbind %s", addr, drv);
			return r < 0 ? r : -EIO;
		}
	}
	if (*want_driver) {
		(void)kernel_write(ctx, "sys/bus/pci/drivers_probe", addr);
		if (kernel_settle_driver(ctx, addr, want_driver, drv, sizeof(drv)) < 0) {
			report_add(rep, "%s: driver is \"%s\", could not bring back %s", addr, drv, want_driver);
			return -EIO;
		}
	}
	report_add(rep, "%s: driver -> %s", addr, *want_driver ? want_driver : "none");
	return 0;
}
