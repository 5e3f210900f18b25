/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why a desktop found no room (placement_why()): what the inventory lacks, or
 * that the pool took what would have fit. Works from the inputs alone, with
 * no state of a solve, so a caller can ask about any desktop.
 */
#include <string.h>

#include "macro.h"
#include "placement-internal.h"

/* How far a desktop gets on one GPU; the reason is the furthest any got. */
enum why_stage {
	W_NOTHING,    /* the GPU offers nothing of the kind */
	W_IN_USE,     /* it does, but it (or its group) is in use */
	W_OTHER_TYPE, /* it holds another type */
	W_NO_ROOM,    /* no instances available */
	W_TAKEN,      /* it would fit: the pool took it */
};

/* No state is kept between calls, so this scans the GPUs: O(G) per GPU in
 * a group, called only for desktops left out. */
static bool group_clean(const struct placement_gpu *gpus, size_t n_gpus, size_t i, bool allow_slices)
{
	if (gpus[i].iommu_group < 0)
		return true;
	for (size_t j = 0; j < n_gpus; j++)
		if (gpus[j].iommu_group == gpus[i].iommu_group &&
		    (gpus[j].busy || (!allow_slices && (gpus[j].current_type || gpus[j].used_slices))))
			return false;
	return true;
}

static enum why_stage why_dedicated(const struct placement_gpu *gpus, size_t n_gpus, size_t i)
{
	const struct placement_gpu *g = &gpus[i];

	if (!g->dedicable)
		return W_NOTHING;
	if (g->busy || g->current_type || g->used_slices || !group_clean(gpus, n_gpus, i, false))
		return W_IN_USE;
	return W_TAKEN;
}

static enum why_stage why_slice(const struct placement_gpu *gpus, size_t n_gpus, size_t i, uint64_t mib)
{
	const struct placement_gpu *g = &gpus[i];
	enum why_stage best = W_NOTHING;

	for (size_t t = 0; t < g->n_types; t++) {
		const struct placement_type *ty = &g->types[t];
		enum why_stage s;
		if (ty->vram_mib < mib)
			continue;
		if (g->busy || (!g->current_type && g->used_slices) || !group_clean(gpus, n_gpus, i, true))
			s = W_IN_USE;
		else if (g->current_type && (!ty->name || strcmp(ty->name, g->current_type) != 0))
			s = W_OTHER_TYPE;
		else
			s = model_type_room(ty, g->current_type ? g->used_slices : 0) > 0 ? W_TAKEN : W_NO_ROOM;
		best = MAX(best, s);
	}
	return best;
}

static enum why_stage why_shared(const struct placement_gpu *gpus, size_t n_gpus, size_t i)
{
	const struct placement_gpu *g = &gpus[i];

	if (g->share_capacity == 0)
		return W_NOTHING;
	if (g->busy || g->current_type || g->used_slices || !group_clean(gpus, n_gpus, i, true))
		return W_IN_USE;
	return W_TAKEN;
}

static const char *const why_text[3][5] = {
	[PLACEMENT_DEDICATED] = {
		[W_NOTHING] = "no GPU can be passed through whole",
		[W_IN_USE] = "every GPU that can be passed through whole is in use, holds slices, "
			     "or shares its IOMMU group with a device in use",
		[W_TAKEN] = "the GPUs that can be passed through whole are taken by other desktops of the pool",
	},
	[PLACEMENT_SLICE] = {
		[W_NOTHING] = "no GPU offers a slice type with enough VRAM",
		[W_IN_USE] = "the GPUs with a large enough slice type are in use",
		[W_OTHER_TYPE] = "the GPUs with a large enough slice type already hold instances of another type",
		[W_NO_ROOM] = "no instances of a large enough slice type are available",
		[W_TAKEN] = "the large enough slices are taken by other desktops of the pool",
	},
	[PLACEMENT_SHARED] = {
		[W_NOTHING] = "no GPU has a render node to share",
		[W_IN_USE] = "the GPUs with a render node are in use or sliced",
		[W_TAKEN] = "the render nodes' capacity is taken by other desktops of the pool",
	},
};

const char *placement_why(const struct placement_gpu *gpus, size_t n_gpus, const struct placement_desktop *d)
{
	enum why_stage best = W_NOTHING;

	if (!d || (d->want != PLACEMENT_DEDICATED && d->want != PLACEMENT_SLICE && d->want != PLACEMENT_SHARED))
		return "invalid desktop";
	for (size_t i = 0; gpus && i < n_gpus && best < W_TAKEN; i++) {
		enum why_stage s = d->want == PLACEMENT_DEDICATED ? why_dedicated(gpus, n_gpus, i)
				   : d->want == PLACEMENT_SLICE   ? why_slice(gpus, n_gpus, i, d->min_vram_mib)
								  : why_shared(gpus, n_gpus, i);
		best = MAX(best, s);
	}
	return why_text[d->want][best];
}
