/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One step of a plan, by kind: whether there is anything to do (ready), the
 * write (act), and the verification that the kernel did what the write asks
 * (check), which runs also when the write was not needed. Undo is not a
 * step's business: rollback and recovery plan back from the host as it is to
 * the state the journal recorded (lib/plan/steps.c) and run those steps here,
 * the same way.
 */
#include <stdio.h>
#include <string.h>

#include "apply.h"

/* 0: run on; > 0: the write is not needed, verify only; < 0: fail (WHY). */
typedef int step_fn(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz);

static int write_value(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	int r = kernel_write(ctx, s->path, s->value);

	if (r < 0)
		snprintf(why, sz, "writing %s to /%s: %s", s->value, s->path, strerror(-r));
	return r;
}

static int load_act(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	return kernel_load_module(ctx, s->value, why, sz);
}

/* modprobe returning 0 is not enough: the module must have registered its
 * PCI driver (sys/bus/pci/drivers/vfio-pci), or no probe can bind it. */
static int load_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char path[128];

	snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s", s->value);
	if (root_exists(ctx, path))
		return 0;
	snprintf(why, sz, "%s loaded but not registered as a PCI driver", s->value);
	return -ENOENT;
}

static int override_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char got[64];
	int r = kernel_override(ctx, s->address, got, sizeof(got));

	if (r < 0 || strcmp(got, s->value) != 0) {
		snprintf(why, sz, "driver_override reads \"%s\", not \"%s\"", r < 0 ? "?" : got, s->value);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/* Nothing to unbind from: done already. */
static int unbind_ready(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char got[64];
	int r = kernel_driver(ctx, s->address, got, sizeof(got));

	if (r < 0)
		snprintf(why, sz, "%s vanished", s->address);
	return r < 0 ? r : !*got;
}

static int unbind_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char got[64];
	int r = kernel_settle_driver(ctx, s->address, "", got, sizeof(got));

	if (r < 0)
		snprintf(why, sz, "%s still bound to %s after unbind", s->address, got);
	return r;
}

/* Probe a function with no driver; one bound already must be bound to what
 * the step expects. */
static int probe_ready(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char got[64];
	int r = kernel_driver(ctx, s->address, got, sizeof(got));

	if (r < 0) {
		snprintf(why, sz, "%s vanished", s->address);
		return r;
	}
	if (*got && strcmp(got, s->expect) != 0 && strcmp(s->expect, "*") != 0) {
		snprintf(why, sz, "%s is bound to %s, expected no driver before probing", s->address, got);
		return -EBUSY;
	}
	return *got != '\0';
}

/* drivers_probe returns an error when no driver takes the device; the check
 * says which. */
static int probe_act(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	int r = kernel_write(ctx, s->path, s->value);

	if (r < 0 && r != -ENODEV && r != -EINVAL) {
		snprintf(why, sz, "probing %s: %s", s->address, strerror(-r));
		return r;
	}
	return 0;
}

/* The driver expected, and for vfio-pci its group's node, which udev (or
 * devtmpfs) makes right after the bind. */
static int probe_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char got[64], node[64];
	int r = kernel_settle_driver(ctx, s->address, s->expect, got, sizeof(got));

	if (r < 0) {
		snprintf(why, sz, "%s: driver is \"%s\" after probing, expected \"%s\"", s->address, got, s->expect);
		return r;
	}
	if (!is_vfio(s->expect) || s->group < 0)
		return 0;
	snprintf(node, sizeof(node), "dev/vfio/%d", s->group);
	if (!kernel_settle_node(ctx, node)) {
		snprintf(why, sz, "%s bound to vfio-pci but /%s did not appear", s->address, node);
		return -ENOENT;
	}
	return 0;
}

static int group_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	return kernel_group_viable(ctx, s->path, why, sz);
}

static int file_write_act(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	int r = root_write_file(ctx, s->path, s->value);

	if (r < 0)
		snprintf(why, sz, "writing /%s: %s", s->path, strerror(-r));
	return r;
}

static int file_remove_act(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	int r = root_remove_file(ctx, s->path);

	if (r < 0)
		snprintf(why, sz, "removing /%s: %s", s->path, strerror(-r));
	return r;
}

static int attr_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	char got[64] = "";

	if (!*s->expect || (root_read_str(ctx, s->path, got, sizeof(got)) == 0 && strcmp(got, s->expect) == 0))
		return 0;
	snprintf(why, sz, "/%s reads \"%s\" after writing %s", s->path, got, s->value);
	return -EIO;
}

/* The instance's directory appears on create, goes on remove. */
static int mdev_check(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	bool create = s->kind == VMGPU_STEP_MDEV_CREATE;
	const char *uuid = create ? s->value : s->path + strlen("sys/bus/mdev/devices/");
	char node[128];

	snprintf(node, sizeof(node), "sys/bus/mdev/devices/%.36s", uuid);
	if (root_exists(ctx, node) == create)
		return 0;
	snprintf(why, sz, "mdev %.36s %s after the write", uuid, create ? "did not appear" : "is still there");
	return -EIO;
}

static const struct step_kind {
	step_fn *ready, *act, *check;
} kinds[] = {
	[VMGPU_STEP_LOAD_MODULE] = { NULL, load_act, load_check },
	[VMGPU_STEP_SET_OVERRIDE] = { NULL, write_value, override_check },
	[VMGPU_STEP_UNBIND] = { unbind_ready, write_value, unbind_check },
	[VMGPU_STEP_PROBE] = { probe_ready, probe_act, probe_check },
	[VMGPU_STEP_CHECK_GROUP] = { NULL, NULL, group_check },
	[VMGPU_STEP_WRITE_FILE] = { NULL, file_write_act, NULL },
	[VMGPU_STEP_REMOVE_FILE] = { NULL, file_remove_act, NULL },
	[VMGPU_STEP_WRITE_ATTR] = { NULL, write_value, attr_check },
	[VMGPU_STEP_MDEV_CREATE] = { NULL, write_value, mdev_check },
	[VMGPU_STEP_MDEV_REMOVE] = { NULL, write_value, mdev_check },
};

int step_run(struct vmgpu_ctx *ctx, const struct plan_step *s, char *why, size_t sz)
{
	const struct step_kind *k;
	int r = 0;

	why[0] = '\0';
	if ((size_t)s->kind >= ARRAY_SIZE(kinds))
		return -EINVAL;
	k = &kinds[s->kind];
	if (k->ready && (r = k->ready(ctx, s, why, sz)) < 0)
		return r;
	if (r == 0 && k->act && (r = k->act(ctx, s, why, sz)) < 0)
		return r;
	return k->check ? k->check(ctx, s, why, sz) : 0;
}
