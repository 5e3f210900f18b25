/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/plan: decide, write nothing. From the model (lib/host, lib/partition)
 * and vmgpu's records (lib/state) to a plan: the ordered steps that take the
 * host from how it is to how it should be, each with what it expects, or
 * the refusals that stop it. plan.c holds the plan object; assign and
 * release plans are in plan.c, the partition plans in partition.c, a pool's
 * plans (placement, lib/placement) in pool.c. lib/apply runs them.
 */
#pragma once

#include <string.h>

#include "host.h"
#include "partition.h"
#include "state.h"

/* DRV (a driver or driver_override) is vfio-pci */
static inline bool is_vfio(const char *drv)
{
	return drv && strcmp(drv, "vfio-pci") == 0;
}

struct plan_step {
	enum vmgpu_step_kind kind;
	struct vmgpu_dev *dev;
	char *path, *value, *expect, *summary;
};

struct plan_refusal {
	const char *code; /* static */
	char *message, *fix;
	bool forced; /* forceable, and --force given: no longer refuses */
};

struct vmgpu_plan {
	struct vmgpu_host *host;
	enum journal_op op;
	unsigned flags;
	struct vmgpu_dev **devs; /* the functions it changes, by address */
	size_t n_devs;
	struct plan_step *steps;
	size_t n_steps;
	struct plan_refusal *refusals;
	size_t n_refusals;
	struct jstate state;     /* var/lib/vmgpu/assigned when the plan was made */
	struct jobj *objs;       /* partition plans: what they change, before and after */
	size_t n_objs;
	bool failed;             /* out of memory while building */
};

void plan_add_step(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *path,
		   const char *value, const char *expect, const char *fmt, ...) _printf_(7, 8);
void plan_refuse(struct vmgpu_plan *p, const char *code, bool forceable, const char *fix, const char *fmt, ...)
	_printf_(5, 6);
const struct jdev *plan_record(const struct vmgpu_plan *p, const struct vmgpu_dev *d);
int state_read_root(struct vmgpu_ctx *ctx, struct jstate *ret);
struct vmgpu_plan *plan_new(struct vmgpu_host *host, enum journal_op op, unsigned flags);
int plan_finish(struct vmgpu_plan *p, struct vmgpu_plan **ret);
void plan_add_obj(struct vmgpu_plan *p, const struct jobj *o);

/* vmgpu_plan_mdev_create() on an inventory already read (a pool's plans
 * share one): partition.c. */
int plan_mdev_create_in(struct vmgpu_host *host, const struct vmgpu_split *s, const char *parent, const char *type,
			unsigned count, unsigned flags, struct vmgpu_plan **ret);
/* pool.c: the pool file parser alone (fuzzing) */
int pool_parse_check(const char *text, char **err);
