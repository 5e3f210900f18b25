/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <string.h>

#include "journal.h"

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
	char *error;             /* what went wrong in apply */
	bool failed;             /* out of memory while building */
};

void plan_add_step(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *path,
		   const char *value, const char *expect, const char *fmt, ...) _printf_(7, 8);
void plan_refuse(struct vmgpu_plan *p, const char *code, bool forceable, const char *fix, const char *fmt, ...)
	_printf_(5, 6);
const struct jdev *plan_record(const struct vmgpu_plan *p, const struct vmgpu_dev *d);
int plan_read_state(struct vmgpu_ctx *ctx, struct jstate *ret);
int plan_lock(struct vmgpu_ctx *ctx, int *ret_dirfd);
struct vmgpu_plan *plan_new(struct vmgpu_host *host, enum journal_op op, unsigned flags);
int plan_finish(struct vmgpu_plan *p, struct vmgpu_plan **ret);
void plan_add_obj(struct vmgpu_plan *p, const struct jobj *o);
/* Current value of a partition object on the host (partition-plan.c). */
int obj_current(struct vmgpu_ctx *ctx, const struct jobj *o, long *ret);
/* Make the host hold VALUE for object O (rollback, recovery). */
int obj_converge(struct vmgpu_ctx *ctx, const struct jobj *o, long value, char *why, size_t sz);
/* Record the end state of journal J in the state file; *RET is the state
 * written (free its devs). */
int state_apply(int dfd, const struct journal *j, struct jstate *ret);

/* --persist: one udev rule per function, and vfio-pci loaded at boot. */
#define PERSIST_RULES_DIR "etc/udev/rules.d"
#define PERSIST_RULE_PREFIX "61-vmgpu-"
#define PERSIST_MODULES_FILE "etc/modules-load.d/vmgpu-vfio.conf"
#define PERSIST_MODULES_TEXT "# Written by vmgpu assign --persist.\nvfio-pci\n"
char *persist_udev_rule(const char *address, unsigned vendor, unsigned device);
/* Where the rule of the function at ADDRESS lives (below the root). */
void udev_rule_path(char *buf, size_t sz, const char *address);
/* Make the rules and the modules-load file match the persistent
 * assignments of state S: after apply, rollback and recovery alike. */
int persist_sync(struct vmgpu_ctx *ctx, const struct jstate *s);
