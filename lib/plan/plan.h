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

#include <stdlib.h>
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
	struct vmgpu_dev *dev;          /* NULL for host-wide steps, and in plans back (recovery) */
	char address[PCI_ADDRESS_MAX];  /* the function it acts on, "" for none */
	int group;                      /* its IOMMU group, -1 none */
	char *path, *value, *expect, *summary;
};

/* Sticky failure: a plan that ran out of memory while being built says so
 * once, in plan_finish(). */
static inline void *plan_grow(void *v, size_t n, size_t size, bool *failed)
{
	void *nv = realloc(v, (n + 1) * size);

	if (!nv)
		*failed = true;
	return nv ? nv : v;
}

static inline char *plan_strdup(struct vmgpu_plan *p, const char *s);

struct plan_refusal {
	const char *code, *fix; /* static: the table's (reasons.c) */
	char *message;
	bool forced; /* forceable, and --force given: no longer refuses */
};

struct vmgpu_plan {
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host; /* NULL in a plan back */
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

/* Refuse with CODE: its fix and whether --force overrides it are the table's. */
void plan_refuse(struct vmgpu_plan *p, enum reason_code code, const char *fmt, ...) _printf_(3, 4);
const struct jdev *plan_record(const struct vmgpu_plan *p, const struct vmgpu_dev *d);
int state_read_root(struct vmgpu_ctx *ctx, struct jstate *ret);
struct vmgpu_plan *plan_new(struct vmgpu_host *host, enum journal_op op, unsigned flags);
/* A plan back to a recorded state (rollback, recovery): no host reading,
 * only steps (steps.c makes them), run by lib/apply. */
struct vmgpu_plan *plan_new_back(struct vmgpu_ctx *ctx);
_must_check_ int plan_finish(struct vmgpu_plan *p, struct vmgpu_plan **ret);

static inline char *plan_strdup(struct vmgpu_plan *p, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		p->failed = true;
	return d;
}
void plan_add_obj(struct vmgpu_plan *p, const struct jobj *o);

/* vmgpu_plan_mdev_create() on an inventory already read (a pool's plans
 * share one): partition.c. */
int plan_mdev_create_in(struct vmgpu_host *host, const struct vmgpu_partitions *s, const char *parent, const char *type,
			unsigned count, unsigned flags, struct vmgpu_plan **ret);
/* pool.c: the pool file parser alone (fuzzing) */
int pool_parse_check(const char *text, char **err);

/* ---- steps.c: a plan's steps, and each kernel protocol, written once ---- */

void steps_add(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *path,
	       const char *value, const char *expect, const char *fmt, ...) _printf_(7, 8);
/* The same for the function at ADDR in IOMMU group GROUP; DEV may be NULL
 * (plans back have no host reading). */
void steps_add_at(struct vmgpu_plan *p, enum vmgpu_step_kind kind, struct vmgpu_dev *dev, const char *addr,
		  int group, const char *path, const char *value, const char *expect, const char *fmt, ...)
	_printf_(9, 10);

/* Where a function is and where it should be: its driver ("" none) and
 * driver_override ("" none). */
struct fn_state {
	const char *driver, *override;
};

/*
 * The steps that take the function at ADDR (IOMMU group GROUP; DEV when the
 * plan has a host reading) from CUR to WANT. WANT.driver NULL: whatever the
 * kernel's match picks ("*"). PROBE_DRIVERLESS: probe also when it has no
 * driver now (assign, and a release of what vmgpu assigned).
 */
void steps_driver(struct vmgpu_plan *p, struct vmgpu_dev *dev, const char *addr, int group, struct fn_state cur,
		  struct fn_state want, bool probe_driverless);
/* The steps that take partition object O from value CUR to WANT (an
 * attribute: "0 before N" where the kernel wants it; an mdev: create or
 * remove, and its entry in mdevctl's store when O persists). */
void steps_object(struct vmgpu_plan *p, struct vmgpu_dev *dev, const struct jobj *o, long cur, long want);
