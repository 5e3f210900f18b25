/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "host.h"

#define NVML_MIG_PROFILES_MAX 32 /* GPU instance profile ids are small (0x0..0x10 in R570) */

struct nvml_mig {
	struct vmgpu_mig mig;
	struct vmgpu_mig_profile *profiles; /* behind vmgpu_partitions_mig_profile() */
	size_t n_profiles;
	char *names[NVML_MIG_PROFILES_MAX]; /* what profiles[].name point to */
};

/* NVML opened and initialised for a batch of nvml_read_mig() calls:
 * 0, or -ENOENT (no NVML, or the root is not the live host), -EIO. */
int nvml_begin(struct vmgpu_ctx *ctx);
void nvml_end(void);
/* The MIG mode and GPU instance profiles of the GPU at ADDRESS: 0, or
 * -ENODEV (NVML does not know it), -EOPNOTSUPP (no MIG), -ENOMEM. */
int nvml_read_mig(struct vmgpu_ctx *ctx, const char *address, struct nvml_mig *ret);
void nvml_mig_free(struct nvml_mig *m);
