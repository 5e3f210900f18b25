/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LP over classes and profiles that the relaxation (bound.c) solves, on
 * its own: it knows nothing of GPUs, desktops or the model, so the unit tests
 * give it small LPs (tests/unit/test-placement-lp.c).
 *
 * With n_m desktops of class m, N_p GPUs of profile p, and c_pm desktops of
 * class m that one GPU of profile p holds (0: none), the primal is
 *
 *   min sum_pm f_pm   s.t.  sum_p c_pm f_pm >= n_m,  sum_m f_pm <= N_p,  f >= 0
 *
 * where f_pm is the GPUs of profile p given to class m. Its dual, with u_m
 * for the demand rows and w_p for the capacity rows, is
 *
 *   max sum_m n_m u_m - sum_p N_p w_p   s.t.  c_pm u_m - w_p <= 1,  u, w >= 0
 *
 * and with v_p = 1 + w_p the best u_m is min_p v_p/c_pm, which leaves
 *
 *   L(v) = sum_m n_m min_p v_p/c_pm - sum_p N_p max(0, v_p - 1)
 *
 * (lp_value()). By weak duality L(v) is at most the optimum for every v;
 * at the duals of an optimal basis it is the optimum. Two ways to a good v:
 * the dual simplex (exact, reads v from the duals and f from the basis), and
 * coordinate ascent on L (the fallback when the simplex gives up).
 */
#include "macro.h"
#include "placement-internal.h"

double lp_value(const struct lp *lp)
{
	double sum = 0;

	for (size_t m = 0; m < lp->n_cls; m++) {
		double best = -1;
		for (size_t p = 0; p < lp->n_prof; p++)
			if (lp->cap[p][m] > 0 && (best < 0 || lp->v[p] / lp->cap[p][m] < best))
				best = lp->v[p] / lp->cap[p][m];
		if (best > 0)
			sum += lp->count[m] * best;
	}
	for (size_t p = 0; p < lp->n_prof; p++)
		sum -= lp->n_gpu[p] * MAX(lp->v[p] - 1, 0);
	return sum;
}

static int bp_cmp(const void *a, const void *b)
{
	const struct lp_bp *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/* The best v_p with the others fixed. L is concave and piecewise linear in
 * v_p: above 1 its slope is the desktops for which p is the cheapest
 * (weighted 1/cap) minus the profile's GPUs, and class m stops counting at
 * the breakpoint where another profile becomes cheaper for it. */
static void lp_raise(struct lp *lp, size_t p)
{
	size_t n = 0;
	double slope = -lp->n_gpu[p];

	for (size_t m = 0; m < lp->n_cls; m++) {
		double a = -1;
		if (lp->cap[p][m] == 0)
			continue;
		for (size_t q = 0; q < lp->n_prof; q++)
			if (q != p && lp->cap[q][m] > 0 && (a < 0 || lp->v[q] / lp->cap[q][m] < a))
				a = lp->v[q] / lp->cap[q][m];
		if (a >= 0 && a * lp->cap[p][m] <= 1)
			continue;
		slope += lp->count[m] / lp->cap[p][m];
		if (a >= 0)
			lp->bp[n++] = (struct lp_bp){ a * lp->cap[p][m], lp->count[m] / lp->cap[p][m] };
	}
	lp->v[p] = 1;
	qsort(lp->bp, n, sizeof(*lp->bp), bp_cmp);
	for (size_t j = 0; j < n && slope > 0; j++) {
		lp->v[p] = lp->bp[j].at;
		slope -= lp->bp[j].w;
	}
	/* slope > 0 left: classes only p serves need more than it has, which a
	 * placed set cannot; keep the last breakpoint. */
}

/* Rounds of coordinate ascent while they gain, within a work budget. It can
 * stop at a kink short of the optimum (two profiles tied for a class must
 * rise together): the fallback only. */
void lp_ascent(struct lp *lp)
{
	double best = lp_value(lp), work = (double)lp->n_prof * lp->n_prof * MAX(lp->n_cls, 1);
	unsigned rounds = work > 0 ? (unsigned)MIN(64.0, 4e6 / work) : 0;

	for (unsigned k = 0; k < rounds; k++) {
		double now;
		for (size_t p = 0; p < lp->n_prof; p++)
			lp_raise(lp, p);
		now = lp_value(lp);
		if (now <= best + 1e-9 * (1 + best))
			break;
		best = now;
	}
}

/* The LP over profiles in the form the dual simplex takes:
 *   min sum f_pm  s.t.  -sum_p c_pm f_pm <= -n_m,  sum_m f_pm <= N_p,  f >= 0
 * one variable per (profile, class) that fits, then one slack per row. */
struct sx {
	size_t rows, cols, n_vars;
	double *a;      /* rows x (cols + 1), the right-hand side last */
	double *d;      /* reduced costs */
	size_t *basis;  /* the variable of each row */
	size_t *var_p, *var_m;
};

#define SX_EPS 1e-9
/* Bounds on the tableau and on the pivoting work (cells updated): the
 * profile LP of a real host is a few thousand cells and needs a few dozen
 * pivots; past these, ascent is good enough. */
#define SX_MAX_CELLS ((size_t)1 << 18)
#define SX_MAX_WORK ((size_t)50 * 1000 * 1000)

static void sx_free(struct sx *s)
{
	free(s->a);
	free(s->d);
	free(s->basis);
	free(s->var_p);
	free(s->var_m);
}

static void sx_fill(struct sx *s, const struct lp *lp)
{
	size_t w = s->cols + 1, k = 0;

	for (size_t p = 0; p < lp->n_prof; p++)
		for (size_t m = 0; m < lp->n_cls; m++) {
			if (lp->cap[p][m] == 0)
				continue;
			s->a[m * w + k] = -(double)lp->cap[p][m];
			s->a[(lp->n_cls + p) * w + k] = 1;
			s->d[k] = 1;
			s->var_p[k] = p;
			s->var_m[k++] = m;
		}
	for (size_t i = 0; i < s->rows; i++) {
		s->a[i * w + s->n_vars + i] = 1;
		s->a[i * w + s->cols] = i < lp->n_cls ? -lp->count[i] : lp->n_gpu[i - lp->n_cls];
		s->basis[i] = s->n_vars + i;
	}
}

/* -ENOSPC when the tableau would be unreasonably big. */
static int sx_init(struct sx *s, const struct lp *lp)
{
	*s = (struct sx){ .rows = lp->n_cls + lp->n_prof };
	for (size_t p = 0; p < lp->n_prof; p++)
		for (size_t m = 0; m < lp->n_cls; m++)
			s->n_vars += lp->cap[p][m] > 0;
	s->cols = s->n_vars + s->rows;
	if (s->rows > SX_MAX_CELLS / (s->cols + 1))
		return -ENOSPC;
	s->a = calloc(s->rows * (s->cols + 1), sizeof(*s->a));
	s->d = calloc(s->cols, sizeof(*s->d));
	s->basis = calloc(s->rows, sizeof(*s->basis));
	s->var_p = calloc(MAX(s->n_vars, 1), sizeof(*s->var_p));
	s->var_m = calloc(MAX(s->n_vars, 1), sizeof(*s->var_m));
	if (!s->a || !s->d || !s->basis || !s->var_p || !s->var_m)
		return -ENOMEM;
	sx_fill(s, lp);
	return 0;
}

static void sx_pivot(struct sx *s, size_t r, size_t j)
{
	size_t w = s->cols + 1;
	double *pr = s->a + r * w, piv = pr[j], dj;

	for (size_t k = 0; k < w; k++)
		pr[k] /= piv;
	for (size_t i = 0; i < s->rows; i++) {
		double *row = s->a + i * w, f = row[j];
		if (i == r || f == 0)
			continue;
		for (size_t k = 0; k < w; k++)
			row[k] -= f * pr[k];
	}
	dj = s->d[j];
	for (size_t k = 0; k < s->cols; k++)
		s->d[k] -= dj * pr[k];
	s->basis[r] = j;
}

/* The all-slack basis is dual feasible (every cost is 1 >= 0): the dual
 * simplex needs no first phase. The most infeasible row leaves; the entering
 * column keeps the reduced costs >= 0; the lowest index breaks ties. 0 when
 * optimal, -1 when infeasible (more desktops than room) or stuck. */
static int sx_run(struct sx *s)
{
	size_t w = s->cols + 1, limit = MIN(20 * (s->rows + s->cols), SX_MAX_WORK / MAX(s->rows * w, 1));

	for (size_t it = 0; it < limit; it++) {
		size_t r = NONE, j = NONE;
		double worst = -SX_EPS * 1e3, best = 0;
		for (size_t i = 0; i < s->rows; i++)
			if (s->a[i * w + s->cols] < worst) {
				worst = s->a[i * w + s->cols];
				r = i;
			}
		if (r == NONE)
			return 0;
		for (size_t k = 0; k < s->cols; k++) {
			double a = s->a[r * w + k], ratio = MAX(s->d[k], 0) / -a;
			if (a < -SX_EPS && (j == NONE || ratio < best)) {
				best = ratio;
				j = k;
			}
		}
		if (j == NONE)
			return -1;
		sx_pivot(s, r, j);
	}
	return -1;
}

/* v from the duals of the capacity rows (v_p = 1 + w_p), f from the basis. */
static void sx_read(const struct sx *s, struct lp *lp)
{
	size_t w = s->cols + 1;

	for (size_t p = 0; p < lp->n_prof; p++)
		lp->v[p] = 1 + MAX(s->d[s->n_vars + lp->n_cls + p], 0);
	for (size_t i = 0; i < s->rows; i++)
		if (s->basis[i] < s->n_vars)
			lp->f[s->var_p[s->basis[i]] * lp->n_cls + s->var_m[s->basis[i]]] =
				MAX(s->a[i * w + s->cols], 0);
}

int lp_simplex(struct lp *lp)
{
	struct sx s;
	int e = sx_init(&s, lp);

	if (e >= 0)
		e = sx_run(&s);
	if (e >= 0)
		sx_read(&s, lp);
	sx_free(&s);
	return e;
}

int lp_solve(struct lp *lp)
{
	int e = lp_simplex(lp);

	if (e == -ENOMEM)
		return e;
	if (e < 0)
		lp_ascent(lp);
	return e >= 0;
}
