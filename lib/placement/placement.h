/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The placement engine behind `vmgpu plan FILE`: a pool of desktops onto the
 * host's GPUs and slice types. Pure computation: the caller reads sysfs and
 * the pool file and fills these structures; nothing here touches the host.
 * This folder includes nothing of libvmgpu. The rules and the heuristic are
 * described in solve.c and greedy.c, the lower bound in bound.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slice type a GPU offers (mdev type, vGPU type). */
struct placement_type {
	const char *name;   /* "nvidia-63", "mbochs-medium" */
	uint64_t vram_mib;  /* VRAM of one instance, 0 if unknown */
	unsigned instances; /* instances of THIS type that fit on an empty GPU */
	unsigned available; /* available_instances now (sysfs); <= instances */
};

struct placement_gpu {
	const char *id;          /* "0000:01:00.0" */
	int iommu_group;         /* < 0: none (the GPU is alone) */
	bool dedicable;          /* may be passed through whole */
	unsigned share_capacity; /* paravirtual desktops its render node can still serve; 0: none */
	const struct placement_type *types;
	size_t n_types;
	/* A type already instantiated on it: mdev parents and time-sliced vGPU
	 * cannot mix types, so only this one may be added. NULL if none. */
	const char *current_type;
	unsigned used_slices;    /* instances already created */
	bool busy;               /* already given to a VM whole: unusable, and so is its group */
};

enum placement_want {
	PLACEMENT_DEDICATED,
	PLACEMENT_SLICE,
	PLACEMENT_SHARED,
};

struct placement_desktop {
	const char *name;
	enum placement_want want;
	uint64_t min_vram_mib; /* PLACEMENT_SLICE */
};

struct placement_place {
	size_t desktop;
	size_t gpu;
	const char *type; /* PLACEMENT_SLICE: the name of the type chosen (its placement_type.name); else NULL */
};

struct placement_result {
	struct placement_place *places; /* by ascending desktop index */
	size_t n_places;
	size_t *unplaced;        /* ascending desktop indices; placement_why() says why */
	size_t n_unplaced;
	size_t gpus_used;        /* GPUs that host at least one desktop of the pool */
	size_t lower_bound;      /* no placement of the placed desktops uses fewer GPUs */
};

/* Place DESKTOPS onto GPUS: as many desktops as possible, then on as few GPUs
 * as possible, then with the least slice VRAM. Deterministic. Returns 0, or
 * -EINVAL (bad arguments) / -ENOMEM; on success free *RET with
 * placement_result_free(). */
int placement_solve(const struct placement_gpu *gpus, size_t n_gpus,
		    const struct placement_desktop *desktops, size_t n_desktops, struct placement_result *ret);
void placement_result_free(struct placement_result *r);
/* Why desktop D finds no room on GPUS (a static string): what the inventory
 * lacks, or "taken by other desktops of the pool" when it would fit alone. */
const char *placement_why(const struct placement_gpu *gpus, size_t n_gpus, const struct placement_desktop *d);
