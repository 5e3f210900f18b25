/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The placement engine (lib/placement/): hand-made inventories with known
 * answers, then random small ones against an exhaustive search that applies
 * the rules on its own (placement.h), to check that every placement is legal,
 * that the lower bound never exceeds the optimum and that the heuristic is
 * near it. No timing here: bench/placement measures speed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "placement/placement.h"
#include "testlib.h"

#define GIB 1024

/* ---- an independent checker of the rules ---- */

static bool same_group(const struct placement_gpu *a, const struct placement_gpu *b)
{
	return a == b || (a->iommu_group >= 0 && a->iommu_group == b->iommu_group);
}

static bool group_busy(const struct placement_gpu *gpus, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++)
		if (same_group(&gpus[i], &gpus[j]) && gpus[j].busy)
			return true;
	return false;
}

static bool preexisting(const struct placement_gpu *g)
{
	return g->current_type || g->used_slices;
}

static const struct placement_type *type_named(const struct placement_gpu *g, const char *name)
{
	for (size_t t = 0; name && t < g->n_types; t++)
		if (strcmp(g->types[t].name, name) == 0)
			return &g->types[t];
	return NULL;
}

/* How many of TYPE may still be created on G. */
static unsigned room(const struct placement_gpu *g, const struct placement_type *t)
{
	unsigned used = g->current_type ? g->used_slices : 0;

	if (g->current_type ? strcmp(g->current_type, t->name) != 0 : g->used_slices > 0)
		return 0;
	if (used >= t->instances)
		return 0;
	return t->instances - used < t->available ? t->instances - used : t->available;
}

/* Per GPU, what the desktops placed on it ask. */
struct load {
	unsigned dedicated, shared, slices;
	const char *type;
	bool mixed;
};

static bool dedicated_ok(const struct placement_gpu *gpus, size_t n, const struct load *l, size_t i)
{
	if (!gpus[i].dedicable || preexisting(&gpus[i]) || l[i].dedicated != 1 || l[i].shared || l[i].slices)
		return false;
	for (size_t j = 0; j < n; j++)
		if (j != i && same_group(&gpus[i], &gpus[j]) &&
		    (gpus[j].busy || preexisting(&gpus[j]) || l[j].dedicated || l[j].shared || l[j].slices))
			return false;
	return true;
}

static bool gpu_ok(const struct placement_gpu *gpus, size_t n, const struct load *l, size_t i)
{
	const struct placement_gpu *g = &gpus[i];
	const struct placement_type *t;

	if (!l[i].dedicated && !l[i].shared && !l[i].slices)
		return true;
	if (group_busy(gpus, n, i))
		return false;
	if (l[i].dedicated)
		return dedicated_ok(gpus, n, l, i);
	if (l[i].shared)
		return !l[i].slices && !preexisting(g) && l[i].shared <= g->share_capacity;
	t = type_named(g, l[i].type);
	return !l[i].mixed && t && l[i].slices <= room(g, t);
}

/* Every place legal, every desktop placed once or listed unplaced, and
 * gpus_used right. */
static bool result_legal(const struct placement_gpu *gpus, size_t n, const struct placement_desktop *d, size_t nd,
			 const struct placement_result *r)
{
	struct load *l = calloc(n ? n : 1, sizeof(*l));
	unsigned *seen = calloc(nd ? nd : 1, sizeof(*seen));
	size_t used = 0;
	bool ok = l && seen && r->n_places + r->n_unplaced == nd;

	for (size_t k = 0; ok && k < r->n_places; k++) {
		const struct placement_place *p = &r->places[k];
		ok = p->desktop < nd && p->gpu < n && !seen[p->desktop]++;
		if (!ok)
			break;
		used += !l[p->gpu].dedicated && !l[p->gpu].shared && !l[p->gpu].slices;
		if (d[p->desktop].want == PLACEMENT_DEDICATED)
			l[p->gpu].dedicated++;
		else if (d[p->desktop].want == PLACEMENT_SHARED)
			l[p->gpu].shared++;
		else {
			const struct placement_type *t = type_named(&gpus[p->gpu], p->type);
			ok = t && t->vram_mib >= d[p->desktop].min_vram_mib;
			l[p->gpu].mixed |= l[p->gpu].type && p->type && strcmp(l[p->gpu].type, p->type) != 0;
			l[p->gpu].type = p->type;
			l[p->gpu].slices++;
		}
	}
	for (size_t k = 0; ok && k < r->n_unplaced; k++)
		ok = r->unplaced[k] < nd && !seen[r->unplaced[k]]++;
	for (size_t i = 0; ok && i < n; i++)
		ok = gpu_ok(gpus, n, l, i);
	ok = ok && used == r->gpus_used;
	free(l);
	free(seen);
	return ok;
}

/* ---- exhaustive search on tiny inventories ---- */

#define BF_MAX 8

struct bf {
	const struct placement_gpu *gpus;
	size_t n;
	const struct placement_desktop *d;
	size_t nd;
	const bool *must;       /* NULL: maximise the placed; else place exactly these */
	struct load l[BF_MAX];
	size_t placed, best_placed, best_used;
};

static size_t bf_used(const struct bf *b)
{
	size_t used = 0;

	for (size_t i = 0; i < b->n; i++)
		used += b->l[i].dedicated || b->l[i].shared || b->l[i].slices;
	return used;
}

static bool bf_legal(const struct bf *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (!gpu_ok(b->gpus, b->n, b->l, i))
			return false;
	return true;
}

static void bf_leaf(struct bf *b)
{
	size_t used = bf_used(b);

	if (b->placed > b->best_placed || (b->placed == b->best_placed && used < b->best_used)) {
		b->best_placed = b->placed;
		b->best_used = used;
	}
}

static void bf_rec(struct bf *b, size_t k);

/* Desktop K on GPU I (with TYPE for a slice), then the rest. */
static void bf_try(struct bf *b, size_t k, size_t i, const char *type)
{
	struct load saved = b->l[i];
	enum placement_want w = b->d[k].want;

	if (w == PLACEMENT_DEDICATED)
		b->l[i].dedicated++;
	else if (w == PLACEMENT_SHARED)
		b->l[i].shared++;
	else {
		b->l[i].mixed |= b->l[i].type && strcmp(b->l[i].type, type) != 0;
		b->l[i].type = type;
		b->l[i].slices++;
	}
	b->placed++;
	if (bf_legal(b))
		bf_rec(b, k + 1);
	b->placed--;
	b->l[i] = saved;
}

static void bf_rec(struct bf *b, size_t k)
{
	if (k == b->nd) {
		bf_leaf(b);
		return;
	}
	if (!b->must || !b->must[k])
		bf_rec(b, k + 1);
	if (b->must && !b->must[k])
		return;
	for (size_t i = 0; i < b->n; i++) {
		if (b->d[k].want != PLACEMENT_SLICE) {
			bf_try(b, k, i, NULL);
			continue;
		}
		for (size_t t = 0; t < b->gpus[i].n_types; t++)
			if (b->gpus[i].types[t].vram_mib >= b->d[k].min_vram_mib)
				bf_try(b, k, i, b->gpus[i].types[t].name);
	}
}

/* The most desktops that can be placed, and the fewest GPUs for them; or,
 * with MUST, the fewest GPUs that place exactly those (SIZE_MAX: none). */
static void brute_force(const struct placement_gpu *gpus, size_t n, const struct placement_desktop *d, size_t nd,
			const bool *must, size_t *ret_placed, size_t *ret_used)
{
	struct bf b = { .gpus = gpus, .n = n, .d = d, .nd = nd, .must = must, .best_used = SIZE_MAX };

	bf_rec(&b, 0);
	*ret_placed = b.best_placed;
	*ret_used = b.best_used;
}

/* ---- helpers ---- */

static struct placement_result solve(const struct placement_gpu *gpus, size_t n, const struct placement_desktop *d,
				     size_t nd)
{
	struct placement_result r = { 0 };

	CHECK_EQ_INT(placement_solve(gpus, n, d, nd, &r), 0);
	CHECK(result_legal(gpus, n, d, nd, &r));
	CHECK(r.lower_bound <= r.gpus_used);
	return r;
}

static const struct placement_place *place_of(const struct placement_result *r, size_t desktop)
{
	for (size_t k = 0; k < r->n_places; k++)
		if (r->places[k].desktop == desktop)
			return &r->places[k];
	return NULL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DED { "ded", PLACEMENT_DEDICATED, 0 }
#define SHR { "shr", PLACEMENT_SHARED, 0 }
#define SLICE(mib) { "slice", PLACEMENT_SLICE, (mib) }

/* ---- hand-made cases ---- */

static void t_dedicated(void)
{
	const struct placement_gpu gpus[] = {
		{ .id = "a", .iommu_group = 1, .dedicable = true },
		{ .id = "b", .iommu_group = 2, .dedicable = true },
		{ .id = "c", .iommu_group = 3, .dedicable = false, .share_capacity = 4 },
	};
	const struct placement_desktop d[] = { DED, DED, DED };
	struct placement_result r = solve(gpus, N(gpus), d, N(d));

	CHECK_EQ_INT(r.n_places, 2);
	CHECK_EQ_INT(r.gpus_used, 2);
	CHECK_EQ_INT(r.lower_bound, 2);
	CHECK_EQ_INT(r.n_unplaced, 1);
	CHECK(r.n_places == 2 && r.places[0].gpu != 2 && r.places[1].gpu != 2 && r.places[0].gpu != r.places[1].gpu);
	CHECK_EQ_STR(placement_why(gpus, N(gpus), &d[r.unplaced[0]]),
		     "the GPUs that can be passed through whole are taken by other desktops of the pool");
	CHECK_EQ_STR(placement_why(&gpus[2], 1, &d[0]), "no GPU can be passed through whole");
	placement_result_free(&r);
}

static const struct placement_type two_types[] = {
	{ "T2", 2 * GIB, 8, 8 },
	{ "T4", 4 * GIB, 4, 4 },
};

/* The smaller type packs more: six 1.5 GiB desktops fill one GPU with T2. */
static void t_smaller_type(void)
{
	const struct placement_gpu gpus[] = {
		{ .id = "a", .iommu_group = 1, .types = two_types, .n_types = 2 },
		{ .id = "b", .iommu_group = 2, .types = two_types, .n_types = 2 },
	};
	const struct placement_desktop d[] = { SLICE(1536), SLICE(1536), SLICE(1536), SLICE(1536), SLICE(1536),
					SLICE(1536) };
	const struct placement_desktop d2[] = { SLICE(1536), SLICE(1536), SLICE(1536), SLICE(1536), SLICE(1536),
					 SLICE(1536), SLICE(3 * GIB), SLICE(3 * GIB), SLICE(3 * GIB) };
	struct placement_result r = solve(gpus, N(gpus), d, N(d));

	CHECK_EQ_INT(r.n_places, 6);
	CHECK_EQ_INT(r.gpus_used, 1);
	CHECK_EQ_INT(r.lower_bound, 1);
	for (size_t k = 0; k < r.n_places; k++)
		CHECK_EQ_STR(r.places[k].type, "T2");
	placement_result_free(&r);
	/* 3 GiB needs T4: one GPU of T4 (3 + 1 of the small), one of T2. */
	r = solve(gpus, N(gpus), d2, N(d2));
	CHECK_EQ_INT(r.n_places, 9);
	CHECK_EQ_INT(r.gpus_used, 2);
	CHECK_EQ_INT(r.lower_bound, 2);
	CHECK_EQ_STR(place_of(&r, 6)->type, "T4");
	placement_result_free(&r);
}

/* A GPU holding T4 instances takes T4 only, even where T2 would pack more. */
static void t_current_type(void)
{
	static const struct placement_type types[] = {
		{ "T2", 2 * GIB, 8, 8 },
		{ "T4", 4 * GIB, 4, 3 },
		{ "T8", 8 * GIB, 2, 2 },
	};
	const struct placement_gpu gpus[] = {
		{ .id = "a", .iommu_group = 1, .types = types, .n_types = 3, .current_type = "T4", .used_slices = 1 },
	};
	const struct placement_desktop d[] = { SLICE(GIB), SLICE(GIB), SLICE(GIB), SLICE(GIB), SLICE(6 * GIB) };
	struct placement_result r = solve(gpus, N(gpus), d, N(d));

	CHECK_EQ_INT(r.n_places, 3);
	for (size_t k = 0; k < r.n_places; k++)
		CHECK_EQ_STR(r.places[k].type, "T4");
	CHECK_EQ_INT(r.gpus_used, 1);
	CHECK_EQ_INT(r.n_unplaced, 2);
	CHECK_EQ_INT(r.unplaced[1], 4);
	CHECK_EQ_STR(placement_why(gpus, N(gpus), &d[4]),
		     "the GPUs with a large enough slice type already hold instances of another type");
	CHECK_EQ_STR(placement_why(gpus, N(gpus), &d[3]),
		     "the large enough slices are taken by other desktops of the pool");
	placement_result_free(&r);
	/* Nothing new lands on it: it does not count. */
	r = solve(gpus, N(gpus), d, 0);
	CHECK_EQ_INT(r.gpus_used, 0);
	CHECK_EQ_INT(r.lower_bound, 0);
	placement_result_free(&r);
}

static void t_available(void)
{
	static const struct placement_type none_left[] = { { "T2", 2 * GIB, 8, 0 } };
	static const struct placement_type two_left[] = { { "T2", 2 * GIB, 8, 2 } };
	const struct placement_gpu a[] = { { .id = "a", .iommu_group = 1, .types = none_left, .n_types = 1 } };
	const struct placement_gpu b[] = { { .id = "b", .iommu_group = 1, .types = two_left, .n_types = 1 } };
	const struct placement_desktop d[] = { SLICE(GIB), SLICE(GIB), SLICE(GIB) };
	struct placement_result r = solve(a, 1, d, N(d));

	CHECK_EQ_INT(r.n_places, 0);
	CHECK_EQ_INT(r.n_unplaced, 3);
	CHECK_EQ_STR(placement_why(a, 1, &d[0]), "no instances of a large enough slice type are available");
	placement_result_free(&r);
	r = solve(b, 1, d, N(d));
	CHECK_EQ_INT(r.n_places, 2);
	CHECK_EQ_INT(r.unplaced[0], 2);
	placement_result_free(&r);
	CHECK_EQ_STR(placement_why(b, 1, &(struct placement_desktop)SLICE(3 * GIB)),
		     "no GPU offers a slice type with enough VRAM");
}

/* Two GPUs in one IOMMU group go to one VM together. */
static void t_iommu_group(void)
{
	const struct placement_gpu gpus[] = {
		{ .id = "a", .iommu_group = 7, .dedicable = true },
		{ .id = "b", .iommu_group = 7, .dedicable = true, .share_capacity = 4 },
	};
	const struct placement_desktop d[] = { DED, SHR, DED };
	struct placement_result r = solve(gpus, N(gpus), d, N(d));

	CHECK_EQ_INT(r.n_places, 1);
	CHECK_EQ_INT(r.places[0].desktop, 0);
	CHECK_EQ_INT(r.gpus_used, 1);
	CHECK_EQ_INT(r.n_unplaced, 2);
	placement_result_free(&r);
}

static void t_group_busy_or_sliced(void)
{
	const struct placement_gpu busy[] = {
		{ .id = "a", .iommu_group = 7, .dedicable = true, .busy = true },
		{ .id = "b", .iommu_group = 7, .dedicable = true, .share_capacity = 4, .types = two_types, .n_types = 2 },
	};
	const struct placement_gpu sliced[] = {
		{ .id = "a", .iommu_group = 7, .types = two_types, .n_types = 2, .current_type = "T2", .used_slices = 1 },
		{ .id = "b", .iommu_group = 7, .dedicable = true },
	};
	const struct placement_desktop d[] = { DED, SHR, SLICE(GIB) };
	struct placement_result r = solve(busy, N(busy), d, N(d));

	CHECK_EQ_INT(r.n_places, 0);
	CHECK_EQ_STR(placement_why(busy, N(busy), &d[1]), "the GPUs with a render node are in use or sliced");
	CHECK_EQ_STR(placement_why(busy, N(busy), &d[2]), "the GPUs with a large enough slice type are in use");
	placement_result_free(&r);
	/* Slices on A keep B from going to a VM; A still takes slices. */
	r = solve(sliced, N(sliced), d, N(d));
	CHECK_EQ_INT(r.n_places, 1);
	CHECK_EQ_INT(r.places[0].desktop, 2);
	CHECK_EQ_INT(r.places[0].gpu, 0);
	CHECK_EQ_STR(placement_why(sliced, N(sliced), &d[0]),
		     "every GPU that can be passed through whole is in use, holds slices, or shares its IOMMU "
		     "group with a device in use");
	placement_result_free(&r);
}

static void t_shared(void)
{
	const struct placement_gpu gpus[] = {
		{ .id = "a", .iommu_group = 1, .share_capacity = 4 },
		{ .id = "b", .iommu_group = 2, .share_capacity = 8 },
	};
	struct placement_desktop d[13];
	struct placement_result r;

	for (size_t i = 0; i < N(d); i++)
		d[i] = (struct placement_desktop)SHR;
	r = solve(gpus, N(gpus), d, 6);
	CHECK_EQ_INT(r.gpus_used, 1);
	CHECK_EQ_INT(r.places[0].gpu, 1);
	CHECK_EQ_INT(r.lower_bound, 1);
	placement_result_free(&r);
	r = solve(gpus, N(gpus), d, 10);
	CHECK_EQ_INT(r.n_places, 10);
	CHECK_EQ_INT(r.gpus_used, 2);
	CHECK_EQ_INT(r.lower_bound, 2);
	placement_result_free(&r);
	r = solve(gpus, N(gpus), d, 13);
	CHECK_EQ_INT(r.n_places, 12);
	CHECK_EQ_STR(placement_why(gpus, N(gpus), &d[0]),
		     "the render nodes' capacity is taken by other desktops of the pool");
	CHECK_EQ_STR(placement_why(gpus, 0, &d[0]), "no GPU has a render node to share");
	placement_result_free(&r);
}

/* A consumer GPU (whole or shared), a sliceable one (whole or sliced) and an
 * mdev-only one: the dedicated desktop must leave the render node alone. */
static void t_mixed(void)
{
	static const struct placement_type big[] = { { "Q1", GIB, 48, 48 }, { "Q4", 4 * GIB, 12, 12 } };
	static const struct placement_type mb[] = { { "small", GIB, 64, 64 } };
	const struct placement_gpu gpus[] = {
		{ .id = "consumer", .iommu_group = 1, .dedicable = true, .share_capacity = 8 },
		{ .id = "a40", .iommu_group = 2, .dedicable = true, .types = big, .n_types = 2 },
		{ .id = "mbochs", .iommu_group = 3, .types = mb, .n_types = 1 },
	};
	const struct placement_desktop d[] = { SHR, SLICE(GIB), DED, SHR, SLICE(GIB), SHR, SLICE(512) };
	struct placement_result r = solve(gpus, N(gpus), d, N(d));

	CHECK_EQ_INT(r.n_unplaced, 0);
	CHECK_EQ_INT(r.gpus_used, 3);
	CHECK_EQ_INT(r.lower_bound, 3);
	CHECK_EQ_INT(place_of(&r, 2)->gpu, 1);
	CHECK_EQ_INT(place_of(&r, 0)->gpu, 0);
	CHECK_EQ_STR(place_of(&r, 1)->type, "small");
	placement_result_free(&r);
}

/* X packs 5x a Y at 1 GiB but 2x at 4 GiB. By density alone the 4 GiB
 * desktops (first, being larger) take X, and the ten 1 GiB ones need five
 * Ys: 6 GPUs. The LP's plan gives X to the 1 GiB desktops: 3 GPUs. */
static void t_comparative_advantage(void)
{
	static const struct placement_type x[] = { { "x1", GIB, 10, 10 }, { "x4", 4 * GIB, 2, 2 } };
	static const struct placement_type y[] = { { "y1", GIB, 2, 2 }, { "y4", 4 * GIB, 1, 1 } };
	const struct placement_gpu gpus[] = {
		{ .id = "x", .iommu_group = 1, .types = x, .n_types = 2 },
		{ .id = "y0", .iommu_group = 2, .types = y, .n_types = 2 },
		{ .id = "y1", .iommu_group = 3, .types = y, .n_types = 2 },
		{ .id = "y2", .iommu_group = 4, .types = y, .n_types = 2 },
		{ .id = "y3", .iommu_group = 5, .types = y, .n_types = 2 },
		{ .id = "y4", .iommu_group = 6, .types = y, .n_types = 2 },
		{ .id = "y5", .iommu_group = 7, .types = y, .n_types = 2 },
	};
	struct placement_desktop d[12];
	struct placement_result r;

	for (size_t i = 0; i < N(d); i++)
		d[i] = (struct placement_desktop)SLICE(i < 10 ? GIB : 4 * GIB);
	r = solve(gpus, N(gpus), d, N(d));
	CHECK_EQ_INT(r.n_unplaced, 0);
	CHECK_EQ_INT(r.gpus_used, 3);
	CHECK_EQ_INT(r.lower_bound, 3);
	CHECK_EQ_STR(place_of(&r, 0)->type, "x1");
	placement_result_free(&r);
}

static void t_invalid(void)
{
	const struct placement_gpu g = { .id = "a", .n_types = 1 };
	const struct placement_desktop bad = { "bad", (enum placement_want)7, 0 }, ok = DED;
	struct placement_result r = { 0 };

	CHECK_EQ_INT(placement_solve(NULL, 0, NULL, 0, NULL), -EINVAL);
	CHECK_EQ_INT(placement_solve(NULL, 1, NULL, 0, &r), -EINVAL);
	CHECK_EQ_INT(placement_solve(&g, 1, &ok, 1, &r), -EINVAL);
	CHECK_EQ_INT(placement_solve(NULL, 0, &bad, 1, &r), -EINVAL);
	CHECK_EQ_STR(placement_why(NULL, 0, &bad), "invalid desktop");
	CHECK_EQ_INT(placement_solve(NULL, 0, NULL, 0, &r), 0);
	CHECK_EQ_INT(r.n_places + r.n_unplaced + r.gpus_used + r.lower_bound, 0);
	placement_result_free(&r);
	CHECK_EQ_INT(placement_solve(NULL, 0, &ok, 1, &r), 0);
	CHECK_EQ_INT(r.n_unplaced, 1);
	placement_result_free(&r);
}

/* ---- random cases ---- */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (unsigned)((z ^ (z >> 31)) % n);
}

static const struct placement_type catalogue[] = {
	{ "a", 1 * GIB, 4, 4 }, { "b", 2 * GIB, 2, 2 }, { "c", 4 * GIB, 1, 1 }, { "d", 1 * GIB, 3, 3 },
};

struct inv {
	struct placement_gpu gpus[64];
	struct placement_type types[64][2];
	struct placement_desktop d[512];
	size_t n, nd;
};

static void random_state(struct placement_gpu *g, struct placement_type *types)
{
	unsigned r = rnd(20);

	if (r == 0) {
		g->busy = true;
	} else if (r < 4 && g->n_types) {
		struct placement_type *t = &types[rnd((unsigned)g->n_types)];
		g->current_type = t->name;
		g->used_slices = 1 + rnd(t->instances);
		t->available = t->instances - g->used_slices;
	}
}

static void random_gpu(struct placement_gpu *g, struct placement_type *types, unsigned groups)
{
	*g = (struct placement_gpu){ .id = "g", .iommu_group = (int)rnd(groups + 1) - 1, .dedicable = rnd(5) < 3 };
	if (rnd(5) < 2)
		g->share_capacity = 1 + rnd(3);
	g->n_types = rnd(3);
	for (size_t t = 0; t < g->n_types; t++) {
		types[t] = catalogue[(rnd(N(catalogue)) + t) % N(catalogue)];
		if (rnd(6) == 0)
			types[t].available = rnd(types[t].instances + 1);
	}
	if (g->n_types == 2 && strcmp(types[0].name, types[1].name) == 0)
		g->n_types = 1;
	g->types = types;
	random_state(g, types);
}

static void random_inventory(struct inv *v, size_t n, size_t nd, unsigned groups)
{
	static const uint64_t asks[] = { 0, 512, GIB, 1536, 2 * GIB, 3 * GIB, 4 * GIB, 5 * GIB };

	v->n = n;
	v->nd = nd;
	for (size_t i = 0; i < n; i++)
		random_gpu(&v->gpus[i], v->types[i], groups);
	for (size_t k = 0; k < nd; k++) {
		unsigned w = rnd(6);
		enum placement_want want = w == 0 ? PLACEMENT_DEDICATED : w == 1 ? PLACEMENT_SHARED : PLACEMENT_SLICE;
		v->d[k] = (struct placement_desktop){ "r", want, asks[rnd(N(asks))] };
	}
}

struct tally {
	unsigned cases, max_placed, optimal, within_one, bound_tight;
};

static void one_tiny(struct tally *t)
{
	struct inv v;
	bool must[BF_MAX] = { 0 };
	size_t max_placed, best_used, opt;
	struct placement_result r;

	random_inventory(&v, 1 + rnd(3), 1 + rnd(5), 2);
	r = solve(v.gpus, v.n, v.d, v.nd);
	for (size_t k = 0; k < r.n_places; k++)
		must[r.places[k].desktop] = true;
	brute_force(v.gpus, v.n, v.d, v.nd, must, &max_placed, &opt);
	brute_force(v.gpus, v.n, v.d, v.nd, NULL, &max_placed, &best_used);
	(void)best_used;
	/* Sound: no placement of the placed desktops uses fewer GPUs. */
	CHECK(r.lower_bound <= opt);
	CHECK(opt <= r.gpus_used);
	t->cases++;
	t->max_placed += r.n_places == max_placed;
	t->optimal += r.gpus_used == opt;
	t->within_one += r.gpus_used <= opt + 1;
	t->bound_tight += r.lower_bound == opt;
	placement_result_free(&r);
}

static void t_random_tiny(void)
{
	struct tally t = { 0 };

	rng_state = 42;
	for (unsigned i = 0; i < 2000; i++)
		one_tiny(&t);
	printf("# tiny: %u cases; most placed in %u, fewest GPUs in %u, within one in %u, bound = optimum in %u\n",
	       t.cases, t.max_placed, t.optimal, t.within_one, t.bound_tight);
	/* The heuristic is not exact, but on tiny cases it must rarely miss. */
	CHECK(t.max_placed * 100 >= t.cases * 98);
	CHECK(t.optimal * 100 >= t.cases * 95);
	CHECK_EQ_INT(t.within_one, t.cases);
}

/* Bigger random pools: legal, bound below, and the same result twice. */
static void t_random_legal_deterministic(void)
{
	static struct inv v;

	rng_state = 7;
	for (unsigned i = 0; i < 40; i++) {
		struct placement_result a, b;
		random_inventory(&v, 8 + rnd(56), 50 + rnd(460), 20);
		a = solve(v.gpus, v.n, v.d, v.nd);
		b = solve(v.gpus, v.n, v.d, v.nd);
		CHECK(a.n_places == b.n_places && a.n_unplaced == b.n_unplaced && a.gpus_used == b.gpus_used &&
		      a.lower_bound == b.lower_bound);
		for (size_t k = 0; k < a.n_places && k < b.n_places; k++)
			CHECK(a.places[k].desktop == b.places[k].desktop && a.places[k].gpu == b.places[k].gpu &&
			      a.places[k].type == b.places[k].type);
		placement_result_free(&a);
		placement_result_free(&b);
	}
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "dedicated", t_dedicated },
		{ "smaller type packs more", t_smaller_type },
		{ "current type", t_current_type },
		{ "available instances", t_available },
		{ "IOMMU group", t_iommu_group },
		{ "group busy or sliced", t_group_busy_or_sliced },
		{ "shared", t_shared },
		{ "mixed pool", t_mixed },
		{ "comparative advantage", t_comparative_advantage },
		{ "invalid", t_invalid },
		{ "random tiny vs exhaustive", t_random_tiny },
		{ "random legal, deterministic", t_random_legal_deterministic },
	};
	return test_main(tests, N(tests));
}
