/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placement of a pool of desktops onto the host's GPUs (`vmgpu plan FILE`):
 * placement_solve() and its result live here; the rest of the solver is in
 * the other files of this folder (placement-internal.h lists them).
 *
 * Rules, as the hardware and the kernel impose them:
 *  - A GPU serves one way at a time: passed through whole to one VM, sliced
 *    (mdev / vGPU instances) or shared (its render node serves virtio-gpu
 *    desktops). Slicing and sharing could in principle coexist, but on vGPU
 *    and mdev hosts the vendor driver owns the GPU and the host is not set up
 *    to also render virgl for guests, so one GPU gets one mode.
 *  - Functions of one IOMMU group go to one VM. A dedicated desktop takes the
 *    whole group of its GPU: the other GPUs of the group serve no one else.
 *    A group with a busy GPU (already given to a VM) serves no one, and one
 *    with slices already created cannot be given away whole.
 *  - A GPU holds instances of one type: its current_type, or the first type
 *    chosen on it; at most min(instances - used, available) more.
 *  - share_capacity is what the render node can still serve.
 *
 * Objective: place as many desktops as possible, then use as few GPUs as
 * possible, then spend as little slice VRAM as possible. Every choice is
 * broken by indices in the end, so the same input gives the same output.
 *
 * How: slice desktops are grouped into classes by the smallest type size that
 * fits them (a class fits exactly the same types: model.c). A greedy places
 * dedicated, sliced and shared desktops phase by phase ("one strategy",
 * greedy.c) in several variants and keeps the best result. A linear
 * relaxation ("the relaxation", bound.c, and its LP, lp.c) gives the lower
 * bound and plans the variants that follow it. For N
 * desktops, G GPUs with T types in all and C classes asked, a variant costs
 * O(N + C*(G + T) + G log G) after O(C*(T + G log G)) once; the relaxation
 * is an LP over classes and profiles (sets of identical GPUs), a few dozen
 * of each on a real host. 10,000 desktops on 1,000 GPUs: a few ms.
 */
#include "macro.h"
#include "placement-internal.h"

void placement_result_free(struct placement_result *r)
{
	if (!r)
		return;
	free(r->places);
	free(r->unplaced);
	*r = (struct placement_result){};
}

static int result_of(const struct model *c, const struct greedy_run *r, struct placement_result *ret)
{
	struct placement_result res = { .gpus_used = r->used };
	int e;

	res.places = calloc(MAX(c->n_desktops - r->unplaced, 1), sizeof(*res.places));
	res.unplaced = calloc(MAX(r->unplaced, 1), sizeof(*res.unplaced));
	if (!res.places || !res.unplaced) {
		placement_result_free(&res);
		return -ENOMEM;
	}
	for (size_t d = 0; d < c->n_desktops; d++) {
		if (r->gpu_of[d] == NONE)
			res.unplaced[res.n_unplaced++] = d;
		else
			res.places[res.n_places++] = (struct placement_place){
				.desktop = d,
				.gpu = r->gpu_of[d],
				.type = r->type_of[d] ? r->type_of[d]->name : NULL,
			};
	}
	e = bound_lower(c, r->gpu_of, &res.lower_bound);
	if (e < 0) {
		placement_result_free(&res);
		return e;
	}
	*ret = res;
	return 0;
}

static bool valid_input(const struct placement_gpu *gpus, size_t n_gpus,
			const struct placement_desktop *desktops, size_t n_desktops)
{
	if ((!gpus && n_gpus) || (!desktops && n_desktops))
		return false;
	for (size_t i = 0; i < n_gpus; i++)
		if (gpus[i].n_types && !gpus[i].types)
			return false;
	for (size_t d = 0; d < n_desktops; d++)
		if (desktops[d].want != PLACEMENT_DEDICATED && desktops[d].want != PLACEMENT_SLICE &&
		    desktops[d].want != PLACEMENT_SHARED)
			return false;
	return true;
}

static int solve(struct model *c, struct placement_result *ret)
{
	struct greedy_run best;
	int e = greedy_best(c, &best);

	if (e >= 0)
		e = result_of(c, &best, ret);
	greedy_run_free(&best);
	return e;
}

int placement_solve(const struct placement_gpu *gpus, size_t n_gpus,
		    const struct placement_desktop *desktops, size_t n_desktops, struct placement_result *ret)
{
	struct model c = { .gpus = gpus, .n_gpus = n_gpus, .desktops = desktops, .n_desktops = n_desktops };
	int e;

	if (!ret || !valid_input(gpus, n_gpus, desktops, n_desktops))
		return -EINVAL;
	e = model_init(&c);
	if (e >= 0)
		e = solve(&c, ret);
	greedy_free(&c);
	model_free(&c);
	return e;
}

