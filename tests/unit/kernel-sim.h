/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A model of the kernel's reaction to the sysfs writes vmgpu makes, acting
 * on a fixture tree (tests/unit/fixture.c): a struct kernel_ops
 * (lib/apply/apply.h) that ksim_attach() puts into the context in place of
 * the real kernel. This is the test-only header that installs it; the
 * library itself never asks whether it runs under test. Unit tests only: the
 * guest suite (tests/guest) proves the same sequences on a real kernel.
 *   driver_override  stores the value ("(null)" when cleared)
 *   driver/unbind    removes the driver link (and /dev/vfio/N with the last
 *                    vfio-pci function of the group)
 *   drivers_probe    binds the override if that driver exists, else the
 *                    driver the function had when the simulation started
 *                    (the kernel's normal match); vfio-pci creates /dev/vfio/N
 *   modprobe         creates sys/module/<m> and sys/bus/pci/drivers/<m>
 *   VFIO group       viable when its functions are on vfio-pci or none
 */
#pragma once

#include "apply.h"

struct ksim {
	char root[256];
	struct {
		char addr[PCI_ADDRESS_MAX];
		char native[64]; /* what drivers_probe binds without an override */
		int group;
	} devs[32];
	size_t n;
	int fail_write;      /* fail the Nth write (1-based) with -EIO; 0: never */
	const char *refuse_bind; /* address vfio-pci refuses to bind (probe binds nothing) */
	int writes;
};

/* Record every function's current driver as its native one, and hook CTX. */
void ksim_attach(struct ksim *k, struct vmgpu_ctx *ctx, const char *root);
/* The driver of ADDR in the tree ("" none). */
void ksim_driver(const struct ksim *k, const char *addr, char *buf, size_t sz);
void ksim_override(const struct ksim *k, const char *addr, char *buf, size_t sz);

/* A fixture host with the simulated kernel hooked in: what the plan tests
 * start from. */
struct ksim_env {
	struct fx *fx;
	struct ksim sim;
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
};

void ksim_env_open(struct ksim_env *e, const char *scenario);
/* A fresh reading of the host, as each vmgpu run makes (the previous
 * host, and every device looked up in it, is gone). */
struct vmgpu_host *ksim_env_rescan(struct ksim_env *e);
void ksim_env_close(struct ksim_env *e);
