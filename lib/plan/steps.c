/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's protocols, each written once. Assign, release, the partition
 * plans, rollback and recovery all take their steps from here, and lib/apply
 * runs every step the same way (precondition, write, verification).
 *
 * A function's driver, from wherever it is to wherever it should be (never
 * new_id, which would let vfio-pci grab every device with the same IDs):
 *   echo vfio-pci     > /sys/bus/pci/devices/$addr/driver_override   # "" clears it
 *   echo $addr        > /sys/bus/pci/devices/$addr/driver/unbind
 *   echo $addr        > /sys/bus/pci/drivers_probe    # the kernel's match, honouring the override
 * A partition object (state/object.c has the kinds):
 *   echo 0 > /sys/bus/pci/devices/$pf/sriov_numvfs     # only when the kernel wants 0 before N
 *   echo N > /sys/bus/pci/devices/$pf/sriov_numvfs
 *   echo $uuid > /sys/class/mdev_bus/$parent/mdev_supported_types/$type/create
 *   echo 1     > /sys/bus/mdev/devices/$uuid/remove
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"

static void add_step(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *addr,
		     int group, const char *path, const char *value, const char *expect, const char *fmt, va_list ap)
	_printf_(9, 0);
static void add_step(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *addr,
		     int group, const char *path, const char *value, const char *expect, const char *fmt, va_list ap)
{
	struct plan_step *s;
	char *summary = NULL;

	p->steps = plan_grow(p->steps, p->n_steps, sizeof(*p->steps), &p->failed);
	if (p->failed)
		return;
	if (vasprintf(&summary, fmt, ap) < 0)
		summary = NULL;
	s = &p->steps[p->n_steps++];
	*s = (struct plan_step){
		.kind = kind,
		.dev = dev,
		.group = group,
		.path = plan_strdup(p, path),
		.value = plan_strdup(p, value),
		.expect = plan_strdup(p, expect),
		.summary = summary ? summary : plan_strdup(p, "?"),
	};
	snprintf(s->address, sizeof(s->address), "%s", addr ? addr : "");
}

void steps_add(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *path,
		   const char *value, const char *expect, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_step(p, kind, dev, dev ? dev->address : NULL, dev ? dev->iommu_group : -1, path, value, expect, fmt, ap);
	va_end(ap);
}

void steps_add_at(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *addr,
		      int group, const char *path, const char *value, const char *expect, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_step(p, kind, dev, addr, group, path, value, expect, fmt, ap);
	va_end(ap);
}

static void override_step(struct vmgpu_plan *p, struct vmgpu_dev *dev, const char *addr, int group, const char *want)
{
	char path[128];

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
	if (is_vfio(want))
		steps_add_at(p, VMGPU_STEP_SET_OVERRIDE, dev, addr, group, path, want, "",
				 "%s: only vfio-pci may bind from now on", addr);
	else if (*want)
		steps_add_at(p, VMGPU_STEP_SET_OVERRIDE, dev, addr, group, path, want, "", "%s: restore driver_override %s",
				 addr, want);
	else
		steps_add_at(p, VMGPU_STEP_SET_OVERRIDE, dev, addr, group, path, want, "", "%s: clear driver_override",
				 addr);
}

void steps_driver(struct vmgpu_plan *p, struct vmgpu_dev *dev, const char *addr, int group, struct fn_state cur,
		  struct fn_state want, bool probe_driverless)
{
	bool wrong = *cur.driver && (want.driver ? strcmp(cur.driver, want.driver) != 0 : is_vfio(cur.driver));
	bool probe = (wrong || (!*cur.driver && probe_driverless)) && (!want.driver || *want.driver);
	char path[128];

	if (strcmp(cur.override, want.override) != 0)
		override_step(p, dev, addr, group, want.override);
	if (wrong) {
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", addr);
		steps_add_at(p, VMGPU_STEP_UNBIND, dev, addr, group, path, addr, "", "%s: unbind %s", addr,
				 cur.driver);
	}
	if (probe) {
		steps_add_at(p, VMGPU_STEP_PROBE, dev, addr, group, "sys/bus/pci/drivers_probe", addr,
				 want.driver ? want.driver : "*", "%s: probe; %s binds", addr,
				 want.driver ? want.driver : "the kernel's choice");
	}
}

/* An mdev: created or removed, and its definition in mdevctl's store
 * following it (written again when it is there already: recovery). */
static void mdev_steps(struct vmgpu_plan *p, const struct jobj *o, long cur, long want)
{
	char path[300], json[256];

	if (cur != want && want) {
		object_mdev_create_path(o->parent, o->type, path, sizeof(path));
		steps_add(p, VMGPU_STEP_MDEV_CREATE, NULL, path, o->key, "", "%s: create %s instance %s", o->parent,
			      o->type, o->key);
	} else if (cur != want) {
		object_mdev_remove_path(o->key, path, sizeof(path));
		steps_add(p, VMGPU_STEP_MDEV_REMOVE, NULL, path, "1", "", "remove mdev %s (%s on %s)", o->key, o->type,
			      o->parent);
	}
	if (!o->persist)
		return;
	object_mdevctl_path(o, path, sizeof(path));
	if (want) {
		object_mdevctl_json(o, json, sizeof(json));
		steps_add(p, VMGPU_STEP_WRITE_FILE, NULL, path, json, "",
			      "%s: define it in mdevctl's store (started at boot)", o->key);
	} else {
		steps_add(p, VMGPU_STEP_REMOVE_FILE, NULL, path, "", "", "%s: remove it from mdevctl's store", o->key);
	}
}

void steps_object(struct vmgpu_plan *p, struct vmgpu_dev *dev, const struct jobj *o, long cur, long want)
{
	const struct object_kind *k = object_kind(o->kind);
	char path[300], val[24];

	if (o->kind == JOBJ_MDEV) {
		mdev_steps(p, o, cur, want);
		return;
	}
	if (cur == want)
		return;
	object_path(o, path, sizeof(path));
	if (k->zero_first && cur != 0 && want != 0)
		steps_add(p, VMGPU_STEP_WRITE_ATTR, dev, path, "0", "0",
			      "%s: %s 0 first (the kernel changes it only from 0)", o->key, k->attr);
	snprintf(val, sizeof(val), "%ld", want);
	steps_add(p, VMGPU_STEP_WRITE_ATTR, dev, path, val, val, "%s: %s %ld", o->key, k->attr, want);
}
