/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/apply: act. The only code that changes the host: the kernel side of
 * each write and what it leads to (kernel.c), loading vfio-pci (modprobe.c),
 * the step runner, lock, journal, rollback and recovery (apply.c), and
 * bringing a function or a partition object to a recorded state
 * (converge.c). Uses every folder below it.
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

/* Write VALUE to the attribute PATH below the root: the kernel reacts. */
int kernel_write(struct vmgpu_ctx *ctx, const char *path, const char *value);
/* Driver of ADDR now ("" when none), re-read from sysfs. */
int kernel_driver(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz);
/* Its driver_override now ("" when none). */
int kernel_override(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz);
/* Wait until ADDR's driver is WANT ("" none, "*" any); GOT: what it is. */
int kernel_settle_driver(struct vmgpu_ctx *ctx, const char *addr, const char *want, char *got, size_t sz);
/* Wait until PATH exists below the root (a node udev or devtmpfs makes). */
bool kernel_settle_node(struct vmgpu_ctx *ctx, const char *path);
/* The VFIO group at DEVNODE is viable (VFIO_GROUP_GET_STATUS). */
int kernel_group_viable(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz);
/* Module NAME loaded (sys/module/NAME), through libkmod when it is not. */
int kernel_load_module(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz);

/* ---- modprobe.c ---- */
int modprobe_load(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz);

/* ---- converge.c: rollback and recovery ---- */

/* Bring the function at ADDR to WANT_DRIVER with WANT_OVERRIDE. */
int converge_function(struct vmgpu_ctx *ctx, const char *addr, const char *want_driver, const char *want_override,
		      struct report *rep);
/* Make the host hold VALUE for object O. */
int converge_object(struct vmgpu_ctx *ctx, const struct jobj *o, long value, char *why, size_t sz);
