/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/apply: act. The only code that changes the host: the kernel side of
 * each write and what it leads to (kernel.c), loading vfio-pci (modprobe.c),
 * one step (step.c: a table of kinds), a plan under lock and journal
 * (apply.c), and rollback and recovery (recover.c), which plan back to the
 * journal and run those steps. Uses every folder below it.
 */
#pragma once

#include <stdio.h>

#include "plan.h"

/* What went wrong, line by line, for the *ret_report of apply and
 * recovery (report.c). */
struct report {
	char *buf;
	size_t len;
	FILE *f;
};
void report_open(struct report *r);
void report_add(struct report *r, const char *fmt, ...) _printf_(2, 3);
char *report_close(struct report *r);
/* Close R and hand its text to *RET_REPORT (NULL when empty), or free it
 * when RET_REPORT is NULL. */
void report_give(struct report *r, char **ret_report);

/* ---- kernel.c ---- */

/* What the kernel does when vmgpu writes: the real one (kernel_linux) unless
 * the context holds another (ctx->kernel: the unit tests' simulation). */
struct kernel_ops {
	/* echo VALUE > PATH below the root, one write() */
	int (*write)(struct vmgpu_ctx *ctx, const char *path, const char *value);
	/* modprobe NAME */
	int (*load_module)(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz);
	/* the VFIO group at DEVNODE (dev/vfio/N) is viable */
	int (*group_viable)(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz);
	/* give the kernel MS milliseconds (a probe, udev making a node) */
	void (*wait)(struct vmgpu_ctx *ctx, unsigned ms);
};
extern const struct kernel_ops kernel_linux;

/* Write VALUE to the attribute PATH below the root: the kernel reacts. */
_must_check_ int kernel_write(struct vmgpu_ctx *ctx, const char *path, const char *value);
/* Driver of ADDR now ("" when none), re-read from sysfs. */
_must_check_ int kernel_driver(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz);
/* Its driver_override now ("" when none). */
_must_check_ int kernel_override(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz);
/* Wait until ADDR's driver is WANT ("" none, "*" any); GOT: what it is. */
_must_check_ int kernel_settle_driver(struct vmgpu_ctx *ctx, const char *addr, const char *want, char *got, size_t sz);
/* Wait until PATH exists below the root (a node udev or devtmpfs makes). */
bool kernel_settle_node(struct vmgpu_ctx *ctx, const char *path);
/* The VFIO group at DEVNODE is viable (VFIO_GROUP_GET_STATUS). */
_must_check_ int kernel_group_viable(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz);
/* Module NAME loaded (sys/module/NAME), through libkmod when it is not. */
_must_check_ int kernel_load_module(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz);

/* ---- modprobe.c ---- */
int modprobe_load(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz);

/* ---- step.c ---- */

/* One step: precondition, write, verification. 0, or -errno with WHY. */
_must_check_ int step_run(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz);

/* ---- recover.c: rollback and recovery ---- */

/* Everything journal J records back to before the plan (or on to after it:
 * FINISH), from the host as it is now. */
_must_check_ int recover_journal(struct vmgpu_ctx *ctx, const struct journal *j, bool finish, struct report *rep);
/* Recover the journal in the locked state directory DFD, if there is one. */
_must_check_ int recover_locked(struct vmgpu_ctx *ctx, int dfd, bool finish, bool *ret_recovered, struct report *rep);
