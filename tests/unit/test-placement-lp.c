/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LP of the placement relaxation (lib/placement/lp.c) on its own, through
 * the solver's internal header: small LPs whose optimum is worked out by hand
 * in the comments, an infeasible one, degenerate ones, one too big for the
 * tableau, and random ones checked against LP duality (the simplex's primal
 * is feasible and equals L at its duals; coordinate ascent never passes it).
 *
 *   min sum_pm f_pm   s.t.  sum_p c_pm f_pm >= n_m,  sum_m f_pm <= N_p,  f >= 0
 *   L(v) = sum_m n_m min_p v_p/c_pm - sum_p N_p max(0, v_p - 1)
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "placement/placement-internal.h"
#include "testlib.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_CLS 4
#define MAX_PROF 4

/* An LP with its storage: fill n_cls, n_prof, count, n_gpu and cap, then
 * lp_of() sets v = 1 and f = 0. */
struct lp_case {
	size_t n_cls, n_prof;
	double count[MAX_CLS];
	double n_gpu[MAX_PROF];
	unsigned cap[MAX_PROF][MAX_CLS];
	const unsigned *rows[MAX_PROF];
	double v[MAX_PROF], f[MAX_PROF * MAX_CLS];
	struct lp_bp bp[MAX_CLS];
	struct lp lp;
};

static struct lp *lp_of(struct lp_case *k)
{
	for (size_t p = 0; p < MAX_PROF; p++) {
		k->rows[p] = k->cap[p];
		k->v[p] = 1;
	}
	memset(k->f, 0, sizeof(k->f));
	k->lp = (struct lp){ .n_cls = k->n_cls, .n_prof = k->n_prof, .count = k->count, .cap = k->rows,
			     .n_gpu = k->n_gpu, .v = k->v, .f = k->f, .bp = k->bp };
	return &k->lp;
}

static bool near(double a, double b)
{
	double d = a > b ? a - b : b - a;

	return d <= 1e-7 * (1 + (b < 0 ? -b : b));
}

#define CHECK_NEAR(a, b)                                                                              \
	do {                                                                                          \
		double _a_ = (a), _b_ = (b);                                                          \
		if (!near(_a_, _b_)) {                                                                \
			fprintf(stderr, "  %s:%d: %s == %g, expected %g\n", __FILE__, __LINE__, #a, _a_, \
				_b_);                                                                 \
			test_checks_failed++;                                                         \
		}                                                                                     \
	} while (0)

static double f_of(const struct lp_case *k, size_t p, size_t m)
{
	return k->f[p * k->n_cls + m];
}

static double f_sum(const struct lp_case *k)
{
	double sum = 0;

	for (size_t i = 0; i < k->n_prof * k->n_cls; i++)
		sum += k->f[i];
	return sum;
}

/* f meets every demand and stays within every profile, f >= 0. */
static bool f_feasible(const struct lp_case *k)
{
	for (size_t m = 0; m < k->n_cls; m++) {
		double held = 0;
		for (size_t p = 0; p < k->n_prof; p++)
			held += k->cap[p][m] * f_of(k, p, m);
		if (held < k->count[m] - 1e-7 * (1 + k->count[m]))
			return false;
	}
	for (size_t p = 0; p < k->n_prof; p++) {
		double used = 0;
		for (size_t m = 0; m < k->n_cls; m++) {
			if (f_of(k, p, m) < 0 || (k->cap[p][m] == 0 && f_of(k, p, m) != 0))
				return false;
			used += f_of(k, p, m);
		}
		if (used > k->n_gpu[p] + 1e-7 * (1 + k->n_gpu[p]))
			return false;
	}
	return true;
}

/* L at v = 1, then coordinate ascent on a copy of K: what the fallback finds. */
static double ascent_value(const struct lp_case *k)
{
	struct lp_case a = *k;
	struct lp *lp = lp_of(&a);

	lp_ascent(lp);
	return lp_value(lp);
}

/* 10 desktops, 4 to a GPU, 5 GPUs: f = 10/4 = 2.5 GPUs; the capacity row is
 * slack, so v = 1 and L(1) = 10 * 1/4 = 2.5. */
static void t_one_class(void)
{
	struct lp_case k = { .n_cls = 1, .n_prof = 1, .count = { 10 }, .n_gpu = { 5 }, .cap = { { 4 } } };
	struct lp *lp = lp_of(&k);

	CHECK_EQ_INT(lp_simplex(lp), 0);
	CHECK_NEAR(f_of(&k, 0, 0), 2.5);
	CHECK_NEAR(k.v[0], 1);
	CHECK_NEAR(lp_value(lp), 2.5);
	CHECK_EQ_INT(lp_solve(lp_of(&k)), 1);
}

/* The dense profile runs out: A holds 4 but there is 1 of it, B holds 2.
 * Optimum: A full (4 desktops) and 6/2 = 3 of B, 4 GPUs. Dual: with v_B = 1,
 * L = 10 min(v_A/4, 1/2) - (v_A - 1) rises with slope 10/4 - 1 up to v_A = 2,
 * then falls: v = (2, 1), L = 5 - 1 = 4. */
static void t_dense_profile_runs_out(void)
{
	struct lp_case k = {
		.n_cls = 1, .n_prof = 2, .count = { 10 }, .n_gpu = { 1, 10 }, .cap = { { 4 }, { 2 } }
	};
	struct lp *lp = lp_of(&k);

	CHECK_EQ_INT(lp_simplex(lp), 0);
	CHECK_NEAR(f_of(&k, 0, 0), 1);
	CHECK_NEAR(f_of(&k, 1, 0), 3);
	CHECK_NEAR(k.v[0], 2);
	CHECK_NEAR(k.v[1], 1);
	CHECK_NEAR(lp_value(lp), 4);
	CHECK_NEAR(f_sum(&k), 4);
	CHECK(ascent_value(&k) <= 4 + 1e-9);
}

/* Two classes want the one GPU of profile P (4 of either); Q holds 1 of class
 * a or 3 of class b. With x, y of P to a, b: a needs 4 - 4x of Q, b needs
 * 2 - 4y/3, in all 6 - 3x - y/3 under x + y <= 1: x = 1, y = 0, 3 GPUs. P
 * goes to a, where it saves most. The duals are degenerate: L(v_P, 1) = 3
 * for every v_P in [4/3, 4]. Ascent from v = 1 stops at the first kink,
 * v_P = 4/3, which is optimal here. */
static void t_comparative_advantage(void)
{
	struct lp_case k = {
		.n_cls = 2, .n_prof = 2, .count = { 4, 6 }, .n_gpu = { 1, 10 }, .cap = { { 4, 4 }, { 1, 3 } }
	};
	struct lp *lp = lp_of(&k);

	CHECK_EQ_INT(lp_simplex(lp), 0);
	CHECK_NEAR(f_of(&k, 0, 0), 1);
	CHECK_NEAR(f_of(&k, 0, 1), 0);
	CHECK_NEAR(f_of(&k, 1, 0), 0);
	CHECK_NEAR(f_of(&k, 1, 1), 2);
	CHECK_NEAR(lp_value(lp), 3);
	CHECK(k.v[0] >= 4.0 / 3 - 1e-9 && k.v[0] <= 4 + 1e-9);
	CHECK_NEAR(k.v[1], 1);
	CHECK_NEAR(ascent_value(&k), 3);
}

/* Two profiles of one GPU each holding 4, the rest on R holding 1: 8 on P and
 * Q, 2 on R, 4 GPUs, with v = (4, 4, 1): L = 10 - 3 - 3 = 4. Ascent raises one
 * price at a time, and raising v_P alone changes nothing while Q is as cheap:
 * it stays at L(1) = 10/4 (the kink lp_ascent() admits to), below the
 * simplex, never above. */
static void t_ascent_stops_at_a_kink(void)
{
	struct lp_case k = {
		.n_cls = 1, .n_prof = 3, .count = { 10 }, .n_gpu = { 1, 1, 100 }, .cap = { { 4 }, { 4 }, { 1 } }
	};
	struct lp *lp = lp_of(&k);
	double ascent = ascent_value(&k);

	CHECK_EQ_INT(lp_simplex(lp), 0);
	CHECK_NEAR(lp_value(lp), 4);
	CHECK_NEAR(f_sum(&k), 4);
	CHECK(f_feasible(&k));
	CHECK_NEAR(ascent, 2.5);
	CHECK(ascent < lp_value(lp));
}

/* 8 desktops, 4 to a GPU, exactly 2 GPUs: the capacity row is tight at the
 * optimum with its slack basic at 0 (a degenerate vertex). f = 2, and
 * L(v) = 8 v/4 - 2 (v - 1) = 2 for every v >= 1. */
static void t_degenerate_tight(void)
{
	struct lp_case k = { .n_cls = 1, .n_prof = 1, .count = { 8 }, .n_gpu = { 2 }, .cap = { { 4 } } };
	struct lp *lp = lp_of(&k);

	CHECK_EQ_INT(lp_simplex(lp), 0);
	CHECK_NEAR(f_of(&k, 0, 0), 2);
	CHECK_NEAR(lp_value(lp), 2);
}

/* Two identical profiles tie for every pivot: the lowest index wins, and the
 * optimum is 8/2 = 4 GPUs whichever way it is split. */
static void t_degenerate_ties(void)
{
	struct lp_case k = {
		.n_cls = 1, .n_prof = 2, .count = { 8 }, .n_gpu = { 3, 3 }, .cap = { { 2 }, { 2 } }
	};
	struct lp *lp = lp_of(&k);

	CHECK_EQ_INT(lp_simplex(lp), 0);
	CHECK_NEAR(f_sum(&k), 4);
	CHECK(f_feasible(&k));
	CHECK_NEAR(lp_value(lp), 4);
}

/* 10 desktops, 4 to a GPU, 2 GPUs: no f exists. The simplex says so; lp_solve
 * falls back to ascent and reports 0 (v from ascent, f not a solution). */
static void t_infeasible(void)
{
	struct lp_case k = { .n_cls = 1, .n_prof = 1, .count = { 10 }, .n_gpu = { 2 }, .cap = { { 4 } } };
	struct lp_case none = { .n_cls = 1, .n_prof = 1, .count = { 3 }, .n_gpu = { 5 }, .cap = { { 0 } } };

	CHECK_EQ_INT(lp_simplex(lp_of(&k)), -1);
	CHECK_EQ_INT(lp_solve(lp_of(&k)), 0);
	CHECK(isfinite(lp_value(&k.lp)));
	/* A class no profile serves. */
	CHECK_EQ_INT(lp_simplex(lp_of(&none)), -1);
	CHECK_EQ_INT(lp_solve(lp_of(&none)), 0);
	CHECK_NEAR(lp_value(&none.lp), 0);
}

/* 600 classes on one profile: the tableau would pass its bound, the simplex
 * declines (-ENOSPC) and lp_solve answers with ascent, here exact: each
 * desktop needs a GPU of its own and there are enough, L(1) = 600. */
static void t_too_big(void)
{
	enum { M = 600 };
	static unsigned row[M];
	static double count[M], f[M];
	static struct lp_bp bp[M];
	const unsigned *cap[1] = { row };
	double n_gpu[1] = { 1000 }, v[1] = { 1 };
	struct lp lp = {
		.n_cls = M, .n_prof = 1, .count = count, .cap = cap, .n_gpu = n_gpu, .v = v, .f = f, .bp = bp
	};

	for (size_t m = 0; m < M; m++) {
		row[m] = 1;
		count[m] = 1;
	}
	CHECK_EQ_INT(lp_simplex(&lp), -ENOSPC);
	v[0] = 1;
	CHECK_EQ_INT(lp_solve(&lp), 0);
	CHECK_NEAR(lp_value(&lp), M);
}

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (unsigned)((z ^ (z >> 31)) % n);
}

/* Random small LPs. When the simplex solves one, its f is feasible and its
 * cost equals L at its duals (so both are the optimum), and neither L(1) nor
 * ascent passes it. Most have room enough to be feasible. */
static void t_random_duality(void)
{
	unsigned solved = 0;

	rng_state = 42;
	for (unsigned n = 0; n < 2000; n++) {
		struct lp_case k = { .n_cls = 1 + rnd(MAX_CLS), .n_prof = 1 + rnd(MAX_PROF) };
		double opt, l1;
		struct lp *lp;
		for (size_t m = 0; m < k.n_cls; m++)
			k.count[m] = rnd(25);
		for (size_t p = 0; p < k.n_prof; p++) {
			k.n_gpu[p] = rnd(2) ? 1 + rnd(6) : 100;
			for (size_t m = 0; m < k.n_cls; m++)
				k.cap[p][m] = rnd(3) ? rnd(9) : 0;
		}
		lp = lp_of(&k);
		l1 = lp_value(lp);
		if (lp_simplex(lp) != 0)
			continue;
		solved++;
		opt = f_sum(&k);
		CHECK(f_feasible(&k));
		CHECK_NEAR(lp_value(lp), opt);
		CHECK(l1 <= opt + 1e-7 * (1 + opt));
		CHECK(ascent_value(&k) <= opt + 1e-7 * (1 + opt));
	}
	CHECK(solved > 1000);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "one class", t_one_class },
		{ "dense profile runs out", t_dense_profile_runs_out },
		{ "comparative advantage", t_comparative_advantage },
		{ "ascent stops at a kink", t_ascent_stops_at_a_kink },
		{ "degenerate: tight capacity", t_degenerate_tight },
		{ "degenerate: tied profiles", t_degenerate_ties },
		{ "infeasible", t_infeasible },
		{ "too big for the tableau", t_too_big },
		{ "random: duality", t_random_duality },
	};
	return test_main(tests, N(tests));
}
