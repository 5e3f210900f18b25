/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The greedy: one strategy places dedicated, sliced and shared desktops
 * phase by phase; greedy_best() runs every variant of it, some following the
 * plan of the LP over the whole pool (bound.c), and keeps the best.
 */
#include <limits.h>
#include <string.h>

#include "macro.h"
#include "placement-internal.h"

/* ---- one strategy ----
 *
 * A greedy in three phases, one per mode. Slices go class by class, largest
 * first (first-fit decreasing): into the room left on GPUs the pool already
 * uses, then onto new GPUs, those that take the most desktops of the class
 * first. The planned variants first follow the LP over the whole pool: a
 * class opens GPUs of the profiles the LP gives it, as many as it gives, and
 * only then others, cheapest (LP price per desktop) first. That matters when
 * the densest GPUs run out: which class gets them is what the LP decides
 * well and a greedy by density does not (an A40-like GPU packs 3x an A16 at
 * every size; a 64-instance mdev parent packs 1.33x an A40 at 1 GiB but 0.67x
 * at 2 GiB). The variants also differ in which GPUs dedicated desktops spare
 * (those that can be sliced, or those that can be shared), in whether slices
 * or shared desktops choose first, whether dedicated desktops choose first
 * or last, and, when some desktops find no room, whether small classes go
 * first (more desktops) rather than large ones (fewer GPUs). Each variant is
 * a pass over precomputed orders and two sorts, so all are run.
 */

#define ST_SPARE_SHARING 1u
#define ST_SHARED_FIRST 2u
#define ST_PLANNED 4u
#define ST_DEDICATED_LAST 8u
#define ST_SMALL_FIRST 16u
#define N_STRATEGIES 32u

/* Is the LP's plan for column COL not yet used up on the profile of GPU I?
 * Without a plan, every GPU is as planned as the next. */
static bool planned(const struct model *c, const struct greedy_run *r, size_t i, size_t col)
{
	const struct bound_relax *pl = c->pool;
	size_t p, j;

	if (!r->quota)
		return true;
	p = pl->prof_of[i];
	j = c->col_of[col];
	return p != NONE && j != NONE && r->quota[p * pl->n_cols + j] > 1e-6;
}

/* GPU I now serves column COL: one GPU less in the plan. */
static void plan_take(const struct model *c, struct greedy_run *r, size_t i, size_t col)
{
	const struct bound_relax *pl = c->pool;

	if (planned(c, r, i, col) && r->quota)
		r->quota[pl->prof_of[i] * pl->n_cols + c->col_of[col]] -= 1;
}

/* The price of GPU I: the LP's with PRICED, else 1. */
static double price_of(const struct model *c, bool priced, size_t i)
{
	size_t p = priced ? c->pool->prof_of[i] : NONE;

	return p != NONE ? c->pool->v[p] : 1;
}

/* The price per desktop as a sort key: fixed point, so that costs equal but
 * for rounding compare equal and the next key decides. */
static uint64_t cost_key(const struct model *c, bool priced, size_t i, unsigned cap)
{
	return (uint64_t)(price_of(c, priced, i) / MAX(cap, 1) * 1e9 + 0.5);
}

void greedy_run_free(struct greedy_run *r)
{
	free(r->g);
	free(r->gpu_of);
	free(r->type_of);
	free(r->open_head);
	free(r->open_tail);
	free(r->open_next);
	free(r->cand);
	free(r->quota);
	*r = (struct greedy_run){};
}

static int run_init(const struct model *c, bool planned_run, struct greedy_run *r)
{
	size_t ng = MAX(c->n_gpus, 1), nd = MAX(c->n_desktops, 1);

	*r = (struct greedy_run){};
	r->g = calloc(ng, sizeof(*r->g));
	r->gpu_of = calloc(nd, sizeof(*r->gpu_of));
	r->type_of = calloc(nd, sizeof(*r->type_of));
	r->open_head = calloc(c->n_vram + 1, sizeof(*r->open_head));
	r->open_tail = calloc(c->n_vram + 1, sizeof(*r->open_tail));
	r->open_next = calloc(ng, sizeof(*r->open_next));
	r->cand = calloc(ng, sizeof(*r->cand));
	if (!r->g || !r->gpu_of || !r->type_of || !r->open_head || !r->open_tail || !r->open_next || !r->cand)
		return -ENOMEM;
	for (size_t t = 0; t < c->n_vram; t++)
		r->open_head[t] = r->open_tail[t] = NONE;
	if (planned_run) {
		size_t n = c->pool->n_prof * c->pool->n_cols;
		r->quota = calloc(MAX(n, 1), sizeof(*r->quota));
		if (!r->quota)
			return -ENOMEM;
		memcpy(r->quota, c->pool->f, n * sizeof(*r->quota));
	}
	memcpy(r->g, c->base, c->n_gpus * sizeof(*r->g));
	for (size_t i = 0; i < c->n_desktops; i++)
		r->gpu_of[i] = NONE;
	return 0;
}

static void assign(struct greedy_run *r, size_t desktop, size_t gpu, const struct placement_type *t)
{
	r->gpu_of[desktop] = gpu;
	r->type_of[desktop] = t;
	r->g[gpu].hosts = true;
}

/* What passing GPU I through whole gives up, as a sort key: GPUs that can
 * neither be sliced nor shared first, then those that can only do what
 * this strategy spares least, each by how much (2 + 31 + 31 bits). */
static uint64_t spare_key(const struct placement_gpu *g, unsigned st)
{
	const uint64_t max = ((uint64_t)1 << 31) - 1;
	uint64_t sv = MIN(model_slice_value(g), max), sh = MIN((uint64_t)g->share_capacity, max);

	if (st & ST_SPARE_SHARING)
		return (uint64_t)(sh > 0) << 63 | (uint64_t)(sv > 0) << 62 | sh << 31 | sv;
	return (uint64_t)(sv > 0) << 63 | (uint64_t)(sh > 0) << 62 | sv << 31 | sh;
}

static void take_whole(const struct model *c, struct greedy_run *r, size_t d, size_t gpu)
{
	size_t gr = c->grp[gpu];

	for (size_t j = c->grp_start[gr]; j < c->grp_start[gr + 1]; j++)
		r->g[c->members[j]].mode = G_DEAD;
	r->g[gpu].mode = G_WHOLE;
	plan_take(c, r, gpu, COL_DEDICATED(c));
	assign(r, d, gpu, NULL);
}

/* Can GPU I go to a VM now: nothing on any GPU of its group? */
static bool group_free(const struct model *c, const struct greedy_run *r, size_t i)
{
	size_t gr = c->grp[i];

	if (c->grp_dirty[gr])
		return false;
	for (size_t j = c->grp_start[gr]; j < c->grp_start[gr + 1]; j++)
		if (r->g[c->members[j]].mode != G_FREE)
			return false;
	return true;
}

/* Dedicated desktops need a whole clean group, the scarcest thing: they
 * choose first, or (to place more desktops when a GPU they would take holds
 * several others) last. Each costs one GPU wherever it goes, so the choice is
 * about what is left for the others: GPUs alone in their group first (the
 * rest of a group is lost with it), then as planned, then the cheapest, then
 * the least useful otherwise. */
static void place_dedicated(const struct model *c, struct greedy_run *r, unsigned st)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n_gpus; i++) {
		size_t gr = c->grp[i];
		if (!c->gpus[i].dedicable || !group_free(c, r, i))
			continue;
		r->cand[n++] = (struct model_cand){ .k = { c->grp_start[gr + 1] - c->grp_start[gr],
						     !planned(c, r, i, COL_DEDICATED(c)),
						     cost_key(c, r->quota != NULL, i, 1), spare_key(&c->gpus[i], st) },
					      .gpu = i };
	}
	qsort(r->cand, n, sizeof(*r->cand), model_cand_cmp);
	for (size_t d = 0; d < c->n_desktops; d++) {
		if (c->desktops[d].want != PLACEMENT_DEDICATED)
			continue;
		while (k < n && !group_free(c, r, r->cand[k].gpu))
			k++; /* another GPU of its group was taken */
		if (k == n)
			return;
		take_whole(c, r, d, r->cand[k++].gpu);
	}
}

/* Put desktops LIST[*pos ..< end] of class M on GPU I with type T, as many
 * as it takes. */
static void fill(const struct model *c, struct greedy_run *r, size_t m, size_t i, const struct placement_type *t,
		 const size_t *list, size_t *pos, size_t end)
{
	struct model_gpu *s = &r->g[i];

	if (s->mode == G_FREE)
		*s = (struct model_gpu){ .mode = G_SLICED, .type = t, .left = model_type_room(t, 0) };
	if (!s->hosts) {
		size_t k = model_class_of(c, t->vram_mib);
		r->open_next[i] = NONE;
		if (r->open_tail[k] == NONE)
			r->open_head[k] = i;
		else
			r->open_next[r->open_tail[k]] = i;
		r->open_tail[k] = i;
		plan_take(c, r, i, m);
	}
	while (*pos < end && s->left > 0) {
		assign(r, list[(*pos)++], i, t);
		r->vram += t->vram_mib;
		s->left--;
	}
}

/* Partially filled GPUs of the pool first: a desktop there costs no GPU.
 * Smallest type first (least waste), then in the order they were opened. */
static void fill_open(const struct model *c, struct greedy_run *r, size_t m, const size_t *list, size_t *pos,
		      size_t end)
{
	for (size_t t = m; t < c->n_vram && *pos < end; t++)
		for (size_t i = r->open_head[t]; i != NONE && *pos < end; i = r->open_next[i])
			if (r->g[i].left > 0)
				fill(c, r, m, i, r->g[i].type, list, pos, end);
}

/* Then new GPUs in the class's order (build_orders()); with a plan, first
 * those of the profiles the plan still gives the class. What the last one
 * has left goes to the smaller classes. */
static void open_new(const struct model *c, struct greedy_run *r, size_t m, const size_t *list, size_t *pos, size_t end)
{
	const size_t *ord = c->order[r->quota != NULL] + c->ord_start[m];
	size_t n = c->ord_start[m + 1] - c->ord_start[m];

	for (int pass = r->quota ? 0 : 1; pass < 2; pass++)
		for (size_t j = 0; j < n && *pos < end; j++) {
			const struct placement_type *t;
			size_t i = ord[j];
			if (r->g[i].hosts || (pass == 0 && !planned(c, r, i, m)))
				continue;
			if (model_fit(c, &r->g[i], i, m, &t) > 0)
				fill(c, r, m, i, t, list, pos, end);
		}
}

static void place_class(const struct model *c, struct greedy_run *r, size_t m)
{
	size_t pos = c->cls_start[m], end = c->cls_start[m + 1];

	fill_open(c, r, m, c->by_cls, &pos, end);
	open_new(c, r, m, c->by_cls, &pos, end);
}

/* Largest VRAM class first: those desktops fit the fewest types, and the
 * room their GPUs have left takes the smaller ones (first-fit decreasing).
 * When there is not room for all, smallest first places more of them. */
static void place_slices(const struct model *c, struct greedy_run *r, unsigned st)
{
	if (st & ST_SMALL_FIRST)
		for (size_t m = 0; m < c->n_vram; m++)
			place_class(c, r, m);
	else
		for (size_t m = c->n_vram; m-- > 0;)
			place_class(c, r, m);
}

/* The next render node with room: candidate *K on. */
static struct model_gpu *next_share(const struct model *c, struct greedy_run *r, size_t n, size_t *k)
{
	struct model_gpu *s;

	while (*k < n && r->g[r->cand[*k].gpu].mode == G_SHARED && r->g[r->cand[*k].gpu].left == 0)
		(*k)++;
	if (*k == n)
		return NULL;
	s = &r->g[r->cand[*k].gpu];
	if (s->mode == G_FREE) {
		*s = (struct model_gpu){ .mode = G_SHARED, .left = r->cand[*k].cap };
		plan_take(c, r, r->cand[*k].gpu, COL_SHARED(c));
	}
	return s;
}

/* As planned first, then the cheapest per desktop, then the biggest. When
 * sharing goes first, GPUs that cannot be sliced come before those that can. */
static void place_shared(const struct model *c, struct greedy_run *r, unsigned st)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n_gpus; i++) {
		unsigned cap = c->gpus[i].share_capacity;
		bool sliceable = (st & ST_SHARED_FIRST) && model_slice_value(&c->gpus[i]) > 0;
		if (r->g[i].mode == G_FREE && cap > 0)
			r->cand[n++] = (struct model_cand){ .k = { !planned(c, r, i, COL_SHARED(c)), sliceable,
							     cost_key(c, r->quota != NULL, i, cap), UINT_MAX - cap },
						      .gpu = i, .cap = cap };
	}
	qsort(r->cand, n, sizeof(*r->cand), model_cand_cmp);
	for (size_t d = 0; d < c->n_desktops; d++) {
		struct model_gpu *s;
		if (c->desktops[d].want != PLACEMENT_SHARED)
			continue;
		s = next_share(c, r, n, &k);
		if (!s)
			return;
		s->left--;
		assign(r, d, r->cand[k].gpu, NULL);
	}
}

static void run_score(const struct model *c, struct greedy_run *r)
{
	for (size_t d = 0; d < c->n_desktops; d++)
		r->unplaced += r->gpu_of[d] == NONE;
	for (size_t i = 0; i < c->n_gpus; i++)
		r->used += r->g[i].hosts;
}

static int run_strategy(const struct model *c, unsigned st, struct greedy_run *r)
{
	int ret = run_init(c, st & ST_PLANNED, r);

	if (ret < 0)
		return ret;
	if (!(st & ST_DEDICATED_LAST))
		place_dedicated(c, r, st);
	if (st & ST_SHARED_FIRST) {
		place_shared(c, r, st);
		place_slices(c, r, st);
	} else {
		place_slices(c, r, st);
		place_shared(c, r, st);
	}
	if (st & ST_DEDICATED_LAST)
		place_dedicated(c, r, st);
	run_score(c, r);
	return 0;
}

/* More placed, then fewer GPUs, then less slice VRAM. */
static bool run_better(const struct greedy_run *a, const struct greedy_run *b)
{
	if (a->unplaced != b->unplaced)
		return a->unplaced < b->unplaced;
	if (a->used != b->used)
		return a->used < b->used;
	return a->vram < b->vram;
}

/* The LP over the whole pool, for the planned strategies; NULL pool when it
 * could not be solved exactly (more desktops than room, too big). */
static int build_plan(struct model *c)
{
	_cleanup_free_ struct bound_relax *rx = calloc(1, sizeof(*rx));
	struct bound_demand dm;
	int e;

	c->col_of = calloc(c->n_vram + 2, sizeof(*c->col_of));
	if (!rx || !c->col_of)
		return -ENOMEM;
	e = bound_demand_of(c, NULL, &dm);
	if (e >= 0)
		e = bound_relax_solve(c, dm.cols, dm.n_cols, dm.count, rx);
	for (size_t col = 0; col < c->n_vram + 2; col++)
		c->col_of[col] = NONE;
	for (size_t j = 0; e >= 0 && j < dm.n_cols; j++)
		c->col_of[dm.cols[j]] = j;
	bound_demand_free(&dm);
	if (e >= 0 && rx->solved)
		c->pool = TAKE_PTR(rx);
	else
		bound_relax_free(rx);
	return e;
}

/* The order in which class M opens new GPUs (those that fit it before the
 * pool): the cheapest per desktop, the one that takes the most, one without a
 * render node (those are kept for sharing), the smaller type, the index.
 * Computed once: a GPU leaves the running when it is used, and what it holds
 * for a class does not change before. */
static void order_class(const struct model *c, bool priced, size_t m, struct model_cand *cand, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_gpus; i++) {
		const struct placement_type *t;
		unsigned cap = model_fit(c, &c->base[i], i, m, &t);
		uint64_t more = (uint64_t)(UINT_MAX - cap) << 1 | (c->gpus[i].share_capacity > 0);
		if (cap > 0)
			cand[n++] = (struct model_cand){ .k = { cost_key(c, priced, i, cap), more, t->vram_mib },
							 .gpu = i };
	}
	qsort(cand, n, sizeof(*cand), model_cand_cmp);
	for (size_t j = 0; j < n; j++)
		out[j] = cand[j].gpu;
}

/* Only for classes that have desktops: memory is GPUs x classes asked. */
static int build_orders(struct model *c)
{
	_cleanup_free_ struct model_cand *cand = calloc(MAX(c->n_gpus, 1), sizeof(*cand));
	const struct placement_type *t;

	c->ord_start = calloc(c->n_vram + 1, sizeof(*c->ord_start));
	if (!cand || !c->ord_start)
		return -ENOMEM;
	for (size_t m = 0; m < c->n_vram; m++) {
		size_t n = 0;
		for (size_t i = 0; c->cls_start[m + 1] > c->cls_start[m] && i < c->n_gpus; i++)
			n += model_fit(c, &c->base[i], i, m, &t) > 0;
		c->ord_start[m + 1] = c->ord_start[m] + n;
	}
	for (int k = 0; k < (c->pool ? 2 : 1); k++) {
		c->order[k] = calloc(MAX(c->ord_start[c->n_vram], 1), sizeof(*c->order[k]));
		if (!c->order[k])
			return -ENOMEM;
		for (size_t m = 0; m < c->n_vram; m++)
			if (c->ord_start[m + 1] > c->ord_start[m])
				order_class(c, k, m, cand, c->order[k] + c->ord_start[m]);
	}
	return 0;
}

/* The plan, the orders, then every strategy; the best run is kept. */
int greedy_best(struct model *c, struct greedy_run *best)
{
	struct greedy_run r;
	int e;

	*best = (struct greedy_run){};
	e = build_plan(c);
	if (e >= 0)
		e = build_orders(c);
	for (unsigned st = 0; st < N_STRATEGIES && e >= 0; st++) {
		/* Smallest first only helps when some desktops find no room. */
		if (((st & ST_PLANNED) && !c->pool) || ((st & ST_SMALL_FIRST) && best->unplaced == 0))
			continue;
		e = run_strategy(c, st, &r);
		if (e >= 0 && (st == 0 || run_better(&r, best))) {
			greedy_run_free(best);
			*best = r;
		} else
			greedy_run_free(&r);
	}
	return e;
}

void greedy_free(struct model *c)
{
	if (c->pool)
		bound_relax_free(c->pool);
	free(c->pool);
	free(c->col_of);
	free(c->order[0]);
	free(c->order[1]);
	free(c->ord_start);
}
