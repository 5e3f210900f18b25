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
#include <string.h>

#include "state.h"

/* The kinds, by enum jobj_kind: the journal's word for each, the attribute
 * (below the object's PCI function) or directory that holds it, and whether
 * the kernel takes a new non-zero value only from 0: sriov_numvfs refuses N
 * while M VFs exist (-EBUSY), NVIDIA's current_vgpu_type a type while
 * another is set. */
static const struct object_kind kinds[] = {
	[JOBJ_NUMVFS] = { "numvfs", "sys/bus/pci/devices/%s/sriov_numvfs", "sriov_numvfs", true },
	[JOBJ_AUTOPROBE] = { "autoprobe", "sys/bus/pci/devices/%s/sriov_drivers_autoprobe", "sriov_drivers_autoprobe",
			     false },
	[JOBJ_MDEV] = { "mdev", "sys/bus/mdev/devices/%s", NULL, false },
	[JOBJ_VGPU] = { "vgpu", "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", "current_vgpu_type", true },
};

const struct object_kind *object_kind(enum jobj_kind kind)
{
	return (size_t)kind < ARRAY_SIZE(kinds) ? &kinds[kind] : NULL;
}

int object_kind_parse(const char *word, size_t len, enum jobj_kind *ret)
{
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if (strlen(kinds[k].name) == len && strncmp(word, kinds[k].name, len) == 0) {
			*ret = (enum jobj_kind)k;
			return 0;
		}
	return -EINVAL;
}

/* journal objects hold longs */
static int read_long(struct vmgpu_ctx *ctx, const char *path, long *ret)
{
	int v, r = root_read_int(ctx, path, &v);

	if (r == 0)
		*ret = v;
	return r;
}

_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wformat-nonliteral\"")
void object_path(const struct jobj *o, char *buf, size_t sz)
{
	snprintf(buf, sz, kinds[o->kind].path, o->key);
}
_Pragma("GCC diagnostic pop")

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
