/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The partition objects a plan changes (journal.h: numvfs, autoprobe, vgpu,
 * mdev): where each lives below the root and how to read its value.
 *   /sys/bus/pci/devices/PF/sriov_numvfs
 *   /sys/bus/pci/devices/PF/sriov_drivers_autoprobe
 *   /sys/bus/pci/devices/VF/nvidia/current_vgpu_type
 *   /sys/bus/mdev/devices/UUID          (exists or not)
 *   /etc/mdevctl.d/PARENT/UUID          (mdevctl's store, with --persist)
 */
#include <stdio.h>

#include "state.h"
/* journal objects hold longs */
static int read_long(struct vmgpu_ctx *ctx, const char *path, long *ret)
{
	int v, r = root_read_int(ctx, path, &v);

	if (r == 0)
		*ret = v;
	return r;
}

void object_path(const struct jobj *o, char *buf, size_t sz)
{
	switch (o->kind) {
	case JOBJ_NUMVFS: snprintf(buf, sz, "sys/bus/pci/devices/%s/sriov_numvfs", o->key); break;
	case JOBJ_AUTOPROBE: snprintf(buf, sz, "sys/bus/pci/devices/%s/sriov_drivers_autoprobe", o->key); break;
	case JOBJ_VGPU: snprintf(buf, sz, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", o->key); break;
	case JOBJ_MDEV: snprintf(buf, sz, "sys/bus/mdev/devices/%s", o->key); break;
	}
}

int object_current(struct vmgpu_ctx *ctx, const struct jobj *o, long *ret)
{
	char path[256];

	object_path(o, path, sizeof(path));
	if (o->kind == JOBJ_MDEV) {
		*ret = root_exists(ctx, path);
		return 0;
	}
	return read_long(ctx, path, ret);
}

/* echo UUID > the type's create; echo 1 > the instance's remove */
void object_mdev_create_path(const char *parent, const char *type, char *buf, size_t sz)
{
	snprintf(buf, sz, "sys/class/mdev_bus/%s/mdev_supported_types/%s/create", parent, type);
}

void object_mdev_remove_path(const char *uuid, char *buf, size_t sz)
{
	snprintf(buf, sz, "sys/bus/mdev/devices/%s/remove", uuid);
}

void object_mdevctl_path(const struct jobj *o, char *buf, size_t sz)
{
	snprintf(buf, sz, "etc/mdevctl.d/%s/%s", o->parent, o->key);
}

/* mdevctl's store format (what `mdevctl define` writes). */
void object_mdevctl_json(const struct jobj *o, char *buf, size_t sz)
{
	snprintf(buf, sz, "{\n  \"mdev_type\": \"%s\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}\n", o->type);
}

int object_read(struct vmgpu_ctx *ctx, enum jobj_kind kind, const char *key, long *ret)
{
	struct jobj o = { .kind = kind };

	snprintf(o.key, sizeof(o.key), "%s", key);
	return object_current(ctx, &o, ret);
}
