/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model: the GPUs as they are before the pool (a base state each), their
 * IOMMU groups, the slice classes (desktops that fit exactly the same types)
 * and how many desktops of a class a GPU can take. The rules it encodes are
 * listed at the head of solve.c. Computed once per placement_solve(); every
 * strategy (greedy.c) and every bound (bound.c) reads it.
 */
#include <string.h>

#include "macro.h"
#include "placement-internal.h"

int model_cand_cmp(const void *a, const void *b)
{
	const struct model_cand *x = a, *y = b;

	for (size_t i = 0; i < ARRAY_SIZE(x->k); i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	return x->gpu < y->gpu ? -1 : x->gpu > y->gpu;
}

int model_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the GPUs as they are ---- */

/* Instances of T that may still be created when USED already exist. */
unsigned model_type_room(const struct placement_type *t, unsigned used)
{
	if (used >= t->instances)
		return 0;
	return MIN(t->instances - used, t->available);
}

static const struct placement_type *find_type(const struct placement_gpu *g, const char *name)
{
	for (size_t i = 0; i < g->n_types; i++)
		if (g->types[i].name && strcmp(g->types[i].name, name) == 0)
			return &g->types[i];
	return NULL;
}

static struct model_gpu base_state(const struct placement_gpu *g)
{
	const struct placement_type *t;

	if (g->busy)
		return (struct model_gpu){ .mode = G_DEAD };
	if (!g->current_type)
		/* Instances of a type we are not told: nothing may be added. */
		return (struct model_gpu){ .mode = g->used_slices ? G_DEAD : G_FREE };
	t = find_type(g, g->current_type);
	if (!t)
		return (struct model_gpu){ .mode = G_DEAD };
	return (struct model_gpu){ .mode = G_SLICED, .type = t, .left = model_type_room(t, g->used_slices) };
}

/* The largest slice capacity a GPU offers, in MiB (instances where VRAM is
 * unknown): what passing it through whole gives up. */
uint64_t model_slice_value(const struct placement_gpu *g)
{
	uint64_t best = 0;

	for (size_t i = 0; i < g->n_types; i++)
		best = MAX(best, (uint64_t)model_type_room(&g->types[i], 0) * MAX(g->types[i].vram_mib, 1));
	return best;
}

/* ---- groups, thresholds, classes ---- */

static int build_groups(struct model *c)
{
	_cleanup_free_ struct model_cand *s = calloc(MAX(c->n_gpus, 1), sizeof(*s));
	size_t k = 0;

	if (!s)
		return -ENOMEM;
	/* No group: a group of its own. */
	for (size_t i = 0; i < c->n_gpus; i++) {
		int gr = c->gpus[i].iommu_group;
		s[i] = (struct model_cand){ .k = { gr < 0, gr < 0 ? i : (uint64_t)gr }, .gpu = i };
	}
	qsort(s, c->n_gpus, sizeof(*s), model_cand_cmp);
	for (size_t i = 0; i < c->n_gpus; i++) {
		if (i > 0 && (s[i].k[0] != s[i - 1].k[0] || s[i].k[1] != s[i - 1].k[1]))
			k++;
		c->members[i] = s[i].gpu;
		c->grp[s[i].gpu] = k;
	}
	c->n_grps = c->n_gpus ? k + 1 : 0;
	for (size_t i = 0, g = 0; i < c->n_gpus; i++)
		if (i == 0 || c->grp[c->members[i]] != c->grp[c->members[i - 1]])
			c->grp_start[g++] = i;
	c->grp_start[c->n_grps] = c->n_gpus;
	return 0;
}

/* A busy GPU takes its group with it; slices already created keep the group
 * from being given away whole. */
static void build_base(struct model *c)
{
	for (size_t i = 0; i < c->n_gpus; i++) {
		c->base[i] = base_state(&c->gpus[i]);
		if (c->base[i].mode != G_FREE)
			c->grp_dirty[c->grp[i]] = true;
	}
	for (size_t k = 0; k < c->n_grps; k++) {
		bool busy = false;
		for (size_t j = c->grp_start[k]; j < c->grp_start[k + 1]; j++)
			busy |= c->gpus[c->members[j]].busy;
		for (size_t j = c->grp_start[k]; busy && j < c->grp_start[k + 1]; j++)
			c->base[c->members[j]] = (struct model_gpu){ .mode = G_DEAD };
	}
}

static int build_thresholds(struct model *c)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n_gpus; i++)
		n += c->gpus[i].n_types;
	c->vram = calloc(MAX(n, 1), sizeof(*c->vram));
	if (!c->vram)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_gpus; i++)
		for (size_t t = 0; t < c->gpus[i].n_types; t++)
			c->vram[k++] = c->gpus[i].types[t].vram_mib;
	qsort(c->vram, n, sizeof(*c->vram), model_u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (c->n_vram == 0 || c->vram[i] != c->vram[c->n_vram - 1])
			c->vram[c->n_vram++] = c->vram[i];
	return 0;
}

/* Index of the smallest threshold >= MIB, NONE when none is. */
size_t model_class_of(const struct model *c, uint64_t mib)
{
	size_t lo = 0, hi = c->n_vram;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->vram[mid] < mib)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_vram ? lo : NONE;
}

/* Desktops whose VRAM ask rounds up to the same threshold fit exactly the
 * same types: they form one class. Counting sort keeps index order. */
static int build_classes(struct model *c)
{
	size_t *pos;

	c->cls_start = calloc(c->n_vram + 2, sizeof(*c->cls_start));
	if (!c->cls_start)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_desktops; i++) {
		const struct placement_desktop *d = &c->desktops[i];
		c->cls[i] = d->want == PLACEMENT_SLICE ? model_class_of(c, d->min_vram_mib) : NONE;
		if (c->cls[i] != NONE)
			c->cls_start[c->cls[i] + 2]++;
	}
	for (size_t m = 0; m < c->n_vram; m++)
		c->cls_start[m + 2] += c->cls_start[m + 1];
	pos = c->cls_start + 1;
	for (size_t i = 0; i < c->n_desktops; i++)
		if (c->cls[i] != NONE)
			c->by_cls[pos[c->cls[i]]++] = i;
	return 0;
}

void model_free(struct model *c)
{
	free(c->grp);
	free(c->members);
	free(c->grp_start);
	free(c->grp_dirty);
	free(c->base);
	free(c->vram);
	free(c->cls);
	free(c->by_cls);
	free(c->cls_start);
}

int model_init(struct model *c)
{
	size_t ng = MAX(c->n_gpus, 1), nd = MAX(c->n_desktops, 1);
	int r;

	c->grp = calloc(ng, sizeof(*c->grp));
	c->members = calloc(ng, sizeof(*c->members));
	c->grp_start = calloc(ng + 1, sizeof(*c->grp_start));
	c->grp_dirty = calloc(ng, sizeof(*c->grp_dirty));
	c->base = calloc(ng, sizeof(*c->base));
	c->cls = calloc(nd, sizeof(*c->cls));
	c->by_cls = calloc(nd, sizeof(*c->by_cls));
	if (!c->grp || !c->members || !c->grp_start || !c->grp_dirty || !c->base || !c->cls || !c->by_cls)
		return -ENOMEM;
	r = build_groups(c);
	if (r < 0)
		return r;
	build_base(c);
	r = build_thresholds(c);
	if (r < 0)
		return r;
	return build_classes(c);
}

/* ---- slice fit ---- */

/* Is T (room CAP) a better type than BEST (room BEST_CAP)? More instances
 * first (fewer GPUs), then less VRAM (less waste), then the name. */
static bool better_type(const struct placement_type *t, unsigned cap, const struct placement_type *best,
			unsigned best_cap)
{
	if (!best || cap != best_cap)
		return !best || cap > best_cap;
	if (t->vram_mib != best->vram_mib)
		return t->vram_mib < best->vram_mib;
	return t->name && best->name && strcmp(t->name, best->name) < 0;
}

/* How many more desktops of class M GPU I can take in state S, and with
 * which type (*RET). */
unsigned model_fit(const struct model *c, const struct model_gpu *s, size_t i, size_t m,
		   const struct placement_type **ret)
{
	const struct placement_gpu *g = &c->gpus[i];
	const struct placement_type *best = NULL;
	unsigned best_cap = 0;

	*ret = NULL;
	if (s->mode == G_SLICED) {
		if (s->type->vram_mib < c->vram[m] || s->left == 0)
			return 0;
		*ret = s->type;
		return s->left;
	}
	if (s->mode != G_FREE)
		return 0;
	for (size_t t = 0; t < g->n_types; t++) {
		unsigned cap = model_type_room(&g->types[t], 0);
		if (g->types[t].vram_mib >= c->vram[m] && cap > 0 && better_type(&g->types[t], cap, best, best_cap)) {
			best = &g->types[t];
			best_cap = cap;
		}
	}
	*ret = best;
	return best_cap;
}
