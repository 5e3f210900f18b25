/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The placement engine behind `vmgpu plan FILE`: a pool of desktops onto the
 * host's GPUs and slice types. Pure computation: the caller reads sysfs and
 * the pool file and fills these structures; nothing here touches the host.
 * The rules, the heuristic and the lower bound are described in placement.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slice type a GPU offers (mdev type, vGPU type). */
struct pl_type {
	const char *name;   /* "nvidia-63", "mbochs-medium" */
	uint64_t vram_mib;  /* VRAM of one instance, 0 if unknown */
	unsigned instances; /* instances of THIS type that fit on an empty GPU */
	unsigned available; /* available_instances now (sysfs); <= instances */
};

struct pl_gpu {
	const char *id;          /* "0000:01:00.0" */
	int iommu_group;         /* < 0: none (the GPU is alone) */
	bool dedicable;          /* may be passed through whole */
	unsigned share_capacity; /* paravirtual desktops its render node can still serve; 0: none */
	const struct pl_type *types;
	size_t n_types;
	/* A type already instantiated on it: mdev parents and time-sliced vGPU
	 * cannot mix types, so only this one may be added. NULL if none. */
	const char *current_type;
	unsigned used_slices;    /* instances already created */
	bool busy;               /* already given to a VM whole: unusable, and so is its group */
};

enum pl_want {
	PL_DEDICATED,
	PL_SLICE,
	PL_SHARED,
};

struct pl_desktop {
	const char *name;
	enum pl_want want;
	uint64_t min_vram_mib; /* PL_SLICE */
};

struct pl_place {
	size_t desktop;
	size_t gpu;
	const char *type; /* PL_SLICE: the name of the type chosen (the GPU's pl_type.name); else NULL */
};

struct pl_result {
	struct pl_place *places; /* by ascending desktop index */
	size_t n_places;
	size_t *unplaced;        /* ascending desktop indices; pl_why() says why */
	size_t n_unplaced;
	size_t gpus_used;        /* GPUs that host at least one desktop of the pool */
	size_t lower_bound;      /* no placement of the placed desktops uses fewer GPUs */
};

/* Place DESKTOPS onto GPUS: as many desktops as possible, then on as few GPUs
 * as possible, then with the least slice VRAM. Deterministic. Returns 0, or
 * -EINVAL (bad arguments) / -ENOMEM; on success free *RET with
 * placement_result_free(). */
int placement_solve(const struct pl_gpu *gpus, size_t n_gpus, const struct pl_desktop *desktops,
		    size_t n_desktops, struct pl_result *ret);
void placement_result_free(struct pl_result *r);
/* Why desktop D finds no room on GPUS (a static string): what the inventory
 * lacks, or "taken by other desktops of the pool" when it would fit alone. */
const char *pl_why(const struct pl_gpu *gpus, size_t n_gpus, const struct pl_desktop *d);
