/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The relaxation: GPUs with the same capacity for every demand column make
 * one profile, the LP over columns and profiles (lp.c) gives the prices and
 * the plan, and the lower bound on the GPUs of any placement follows.
 */
#include <string.h>

#include "macro.h"
#include "placement-internal.h"

/* ---- the relaxation: the lower bound, and prices for the greedy ----
 *
 * Let desktop i take the fraction 1/c(i,g) of GPU g, where c(i,g) is the most
 * desktops like i that g can ever hold: 1 for dedicated, share_capacity for
 * shared, for a slice the most instances of one type that fits. In any real
 * placement the desktops on one GPU add up to at most 1, since a GPU has one
 * mode and one type. So the linear program
 *
 *   min sum_g y_g   s.t.  sum_g z(i,g) = 1,  sum_i z(i,g)/c(i,g) <= y_g <= 1
 *
 * is at most the number of GPUs any placement uses (the IOMMU group rule is
 * dropped: fewer constraints, a smaller optimum). By weak duality, for ANY
 * v_g >= 0,
 *
 *   L(v) = sum_i min_g v_g/c(i,g) - sum_g max(0, v_g - 1)
 *
 * is at most that optimum. The bound is L(v) rounded up, sound whatever v
 * is: v only makes it tighter. v = 1 is the classic fractional bin-packing
 * bound (each desktop costs 1/(the densest fit anywhere)); v_g > 1 prices in
 * that the densest GPUs run out. Desktops that fit the same types form one
 * class and identical GPUs one profile (by symmetry and concavity they share
 * one v), which leaves a small LP (lp.c): a dual simplex solves it and v is
 * read from its duals, so L(v) is the LP optimum; where the simplex gives up
 * (too big, or numerically stuck) coordinate ascent on L finds a v instead.
 *
 * The bound is the larger of two: the LP over all placed desktops (it sees
 * that dedicated, shared and slices compete for GPUs), and the number of
 * dedicated desktops + the LP over the slices, rounded up + the fewest render
 * nodes that serve the shared ones (largest first, exact), each mode using
 * GPUs of its own, each rounded up on its own.
 *
 * The LP over the whole pool also plans the greedy's priced strategies: how
 * many GPUs of each profile go to each class.
 */

/* Round up, minus a margin for floating point: a bound too low by one in a
 * corner case is still a bound; one too high is not. */
static size_t ceil_down(double x)
{
	size_t k;

	x -= 1e-6 * (1 + x);
	if (x <= 0)
		return 0;
	k = (size_t)x;
	return (double)k < x ? k + 1 : k;
}

/* Desktops of column COL one GPU I can ever hold, before this pool. */
static unsigned col_cap(const struct model *c, size_t i, size_t col)
{
	const struct placement_type *t;

	if (col == COL_DEDICATED(c))
		return c->gpus[i].dedicable && c->base[i].mode == G_FREE && !c->grp_dirty[c->grp[i]];
	if (col == COL_SHARED(c))
		return c->base[i].mode == G_FREE ? c->gpus[i].share_capacity : 0;
	return model_fit(c, &c->base[i], i, col, &t);
}

/* L(1) without a matrix: for inputs with so many distinct VRAM sizes that
 * the capacity matrix would not be reasonable. */
static double simple_bound(const struct model *c, const size_t *cols, size_t n_cols, const double *count)
{
	double sum = 0;

	for (size_t j = 0; j < n_cols; j++) {
		unsigned best = 0;
		for (size_t i = 0; i < c->n_gpus; i++)
			best = MAX(best, col_cap(c, i, cols[j]));
		if (best > 0)
			sum += count[j] / best;
	}
	return sum;
}

void bound_relax_free(struct bound_relax *rx)
{
	free(rx->prof_of);
	free(rx->rows);
	free(rx->cap);
	free(rx->n_gpu);
	free(rx->v);
	free(rx->f);
	*rx = (struct bound_relax){};
}

static int row_cmp(const void *a, const void *b)
{
	const unsigned *x = *(const unsigned *const *)a, *y = *(const unsigned *const *)b;

	for (unsigned m = 1; m <= x[0]; m++)
		if (x[m] != y[m])
			return x[m] < y[m] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int build_rows(const struct model *c, const size_t *cols, struct bound_relax *rx)
{
	size_t w = rx->n_cols + 1;

	rx->rows = calloc(MAX(c->n_gpus, 1) * w, sizeof(*rx->rows));
	if (!rx->rows)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_gpus; i++) {
		rx->rows[i * w] = (unsigned)rx->n_cols;
		for (size_t j = 0; j < rx->n_cols; j++)
			rx->rows[i * w + 1 + j] = col_cap(c, i, cols[j]);
	}
	return 0;
}

/* Identical rows make one profile; rows of zeros none. */
static int build_profiles(size_t n_gpus, struct bound_relax *rx)
{
	_cleanup_free_ const unsigned **sorted = calloc(MAX(n_gpus, 1), sizeof(*sorted));
	size_t w = rx->n_cols + 1, n = 0;

	rx->prof_of = calloc(MAX(n_gpus, 1), sizeof(*rx->prof_of));
	rx->cap = calloc(MAX(n_gpus, 1), sizeof(*rx->cap));
	rx->n_gpu = calloc(MAX(n_gpus, 1), sizeof(*rx->n_gpu));
	if (!sorted || !rx->prof_of || !rx->cap || !rx->n_gpu)
		return -ENOMEM;
	for (size_t i = 0; i < n_gpus; i++) {
		const unsigned *row = rx->rows + i * w;
		bool any = false;
		for (size_t j = 0; j < rx->n_cols; j++)
			any |= row[1 + j] > 0;
		rx->prof_of[i] = NONE;
		if (any)
			sorted[n++] = row;
	}
	qsort(sorted, n, sizeof(*sorted), row_cmp);
	for (size_t k = 0; k < n; k++) {
		if (rx->n_prof == 0 || memcmp(sorted[k] + 1, rx->cap[rx->n_prof - 1], rx->n_cols * sizeof(unsigned)))
			rx->cap[rx->n_prof++] = sorted[k] + 1;
		rx->n_gpu[rx->n_prof - 1]++;
		rx->prof_of[(size_t)(sorted[k] - rx->rows) / w] = rx->n_prof - 1;
	}
	return 0;
}

static int relax_lp(struct bound_relax *rx, const double *count)
{
	_cleanup_free_ struct lp_bp *bp = calloc(MAX(rx->n_cols, 1), sizeof(*bp));
	struct lp lp;
	int e;

	rx->v = calloc(MAX(rx->n_prof, 1), sizeof(*rx->v));
	rx->f = calloc(MAX(rx->n_prof * rx->n_cols, 1), sizeof(*rx->f));
	if (!bp || !rx->v || !rx->f)
		return -ENOMEM;
	for (size_t p = 0; p < rx->n_prof; p++)
		rx->v[p] = 1;
	lp = (struct lp){ .n_cls = rx->n_cols, .n_prof = rx->n_prof, .count = count, .cap = rx->cap,
			  .n_gpu = rx->n_gpu, .v = rx->v, .f = rx->f, .bp = bp };
	e = lp_solve(&lp);
	if (e < 0)
		return e;
	rx->solved = e > 0;
	rx->value = lp_value(&lp);
	return 0;
}

/* The relaxation for the demand columns COLS, COUNT desktops each. */
int bound_relax_solve(const struct model *c, const size_t *cols, size_t n_cols, const double *count,
		      struct bound_relax *rx)
{
	int e;

	*rx = (struct bound_relax){ .n_cols = n_cols };
	if (n_cols == 0)
		return 0;
	if (c->n_gpus > ((size_t)1 << 24) / (n_cols + 1)) {
		rx->value = simple_bound(c, cols, n_cols, count);
		return 0;
	}
	e = build_rows(c, cols, rx);
	if (e >= 0)
		e = build_profiles(c->n_gpus, rx);
	if (e >= 0)
		e = relax_lp(rx, count);
	return e;
}

/* The fewest render nodes that serve N shared desktops: the largest first. */
static int shared_exact(const struct model *c, size_t n, size_t *ret)
{
	_cleanup_free_ uint64_t *caps = calloc(MAX(c->n_gpus, 1), sizeof(*caps));
	size_t k = 0;
	uint64_t sum = 0;

	if (!caps)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_gpus; i++)
		caps[i] = c->base[i].mode == G_FREE ? c->gpus[i].share_capacity : 0;
	qsort(caps, c->n_gpus, sizeof(*caps), model_u64_cmp);
	while (sum < n && k < c->n_gpus)
		sum += caps[c->n_gpus - 1 - k++];
	*ret = k;
	return 0;
}

/* The desktops placed by GPU_OF, or all that have a class when NULL. */
int bound_demand_of(const struct model *c, const size_t *gpu_of, struct bound_demand *dm)
{
	_cleanup_free_ double *all = calloc(c->n_vram + 2, sizeof(*all));

	*dm = (struct bound_demand){};
	dm->cols = calloc(c->n_vram + 2, sizeof(*dm->cols));
	dm->count = calloc(c->n_vram + 2, sizeof(*dm->count));
	if (!all || !dm->cols || !dm->count)
		return -ENOMEM;
	for (size_t d = 0; d < c->n_desktops; d++) {
		enum placement_want w = c->desktops[d].want;
		if (gpu_of ? gpu_of[d] == NONE : w == PLACEMENT_SLICE && c->cls[d] == NONE)
			continue;
		all[w == PLACEMENT_SLICE ? c->cls[d] : w == PLACEMENT_DEDICATED ? COL_DEDICATED(c) : COL_SHARED(c)]++;
	}
	for (size_t col = 0; col < c->n_vram + 2; col++) {
		if (col == COL_DEDICATED(c))
			dm->n_slice_cols = dm->n_cols;
		if (all[col] > 0) {
			dm->cols[dm->n_cols] = col;
			dm->count[dm->n_cols++] = all[col];
		}
	}
	dm->dedicated = (size_t)all[COL_DEDICATED(c)];
	dm->shared = (size_t)all[COL_SHARED(c)];
	return 0;
}

void bound_demand_free(struct bound_demand *dm)
{
	free(dm->cols);
	free(dm->count);
}

/* See "the relaxation" above: the larger of the joint LP and the sum of the
 * per-mode bounds. */
int bound_lower(const struct model *c, const size_t *gpu_of, size_t *ret)
{
	struct bound_demand dm;
	struct bound_relax joint = {}, slices = {};
	size_t shared = 0;
	int e;

	e = bound_demand_of(c, gpu_of, &dm);
	if (e >= 0)
		e = bound_relax_solve(c, dm.cols, dm.n_cols, dm.count, &joint);
	if (e >= 0)
		e = bound_relax_solve(c, dm.cols, dm.n_slice_cols, dm.count, &slices);
	if (e >= 0)
		e = shared_exact(c, dm.shared, &shared);
	if (e >= 0)
		*ret = MAX(ceil_down(joint.value), dm.dedicated + ceil_down(slices.value) + shared);
	bound_relax_free(&joint);
	bound_relax_free(&slices);
	bound_demand_free(&dm);
	return e;
}
