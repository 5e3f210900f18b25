/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placement of a pool of desktops onto the host's GPUs (`vmgpu plan FILE`).
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
 * fits them (a class fits exactly the same types). A greedy places dedicated,
 * sliced and shared desktops phase by phase ("one strategy" below) in several
 * variants and keeps the best result. A linear relaxation ("the relaxation")
 * gives the lower bound and plans the variants that follow it. For N
 * desktops, G GPUs with T types in all and C classes asked, a variant costs
 * O(N + C*(G + T) + G log G) after O(C*(T + G log G)) once; the relaxation
 * is an LP over classes and profiles (sets of identical GPUs), a few dozen
 * of each on a real host. 10,000 desktops on 1,000 GPUs: a few ms.
 */
#include <limits.h>
#include <string.h>

#include "macro.h"
#include "placement.h"

#define NONE SIZE_MAX

enum mode {
	G_FREE,   /* nothing on it yet */
	G_DEAD,   /* serves no one: busy, its group went to a VM, unusable slices */
	G_WHOLE,  /* passed through to a dedicated desktop */
	G_SLICED, /* holds instances of TYPE */
	G_SHARED, /* its render node serves shared desktops */
};

struct gstate {
	enum mode mode;
	const struct pl_type *type; /* G_SLICED */
	unsigned left;              /* instances of TYPE, or share units, still free */
	bool hosts;                 /* a desktop of this pool landed here */
};

/* A GPU as a candidate for a phase: sorted by the keys, then by index. */
struct cand {
	uint64_t k[4];
	size_t gpu;
	unsigned cap;
};

struct relax;
static void relax_free(struct relax *rx);

/* What does not change between strategies. */
struct ctx {
	const struct pl_gpu *gpus;
	size_t n_gpus;
	const struct pl_desktop *desktops;
	size_t n_desktops;
	size_t *grp;         /* the group index of each GPU */
	size_t *members;     /* GPU indices, grouped */
	size_t *grp_start;   /* members of group k: members[grp_start[k] .. grp_start[k + 1]) */
	size_t n_grps;
	bool *grp_dirty;     /* the group cannot go to a VM: busy or sliced member */
	struct gstate *base; /* each GPU before this pool */
	uint64_t *vram;      /* distinct slice VRAM sizes, ascending: the class thresholds */
	size_t n_vram;
	size_t *cls;         /* slice class of each desktop: smallest VRAM size that fits; NONE */
	size_t *by_cls;      /* slice desktops by class, then index */
	size_t *cls_start;   /* class m: by_cls[cls_start[m] .. cls_start[m + 1]) */
	struct relax *pool;  /* the LP over the whole pool; NULL: not solved */
	size_t *col_of;      /* demand column -> the pool LP's column; NONE */
	size_t *order[2];    /* per class, the GPUs that fit it in the order they are opened:
				without and with the pool's prices */
	size_t *ord_start;   /* class m: order[k][ord_start[m] .. ord_start[m + 1]) */
};

/* One strategy's placement. */
struct run {
	double *quota;                /* GPUs of each profile for each column the plan has left; NULL: no plan */
	struct gstate *g;
	size_t *gpu_of;               /* per desktop; NONE: unplaced */
	const struct pl_type **type_of;
	size_t *open_head, *open_tail; /* per threshold: sliced GPUs of the pool, their type that size */
	size_t *open_next;             /* per GPU: the next in its list */
	struct cand *cand;            /* n_gpus of scratch */
	size_t unplaced, used;
	uint64_t vram;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	for (size_t i = 0; i < ARRAY_SIZE(x->k); i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	return x->gpu < y->gpu ? -1 : x->gpu > y->gpu;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the GPUs as they are ---- */

/* Instances of T that may still be created when USED already exist. */
static unsigned type_room(const struct pl_type *t, unsigned used)
{
	if (used >= t->instances)
		return 0;
	return MIN(t->instances - used, t->available);
}

static const struct pl_type *find_type(const struct pl_gpu *g, const char *name)
{
	for (size_t i = 0; i < g->n_types; i++)
		if (g->types[i].name && strcmp(g->types[i].name, name) == 0)
			return &g->types[i];
	return NULL;
}

static struct gstate base_state(const struct pl_gpu *g)
{
	const struct pl_type *t;

	if (g->busy)
		return (struct gstate){ .mode = G_DEAD };
	if (!g->current_type)
		/* Instances of a type we are not told: nothing may be added. */
		return (struct gstate){ .mode = g->used_slices ? G_DEAD : G_FREE };
	t = find_type(g, g->current_type);
	if (!t)
		return (struct gstate){ .mode = G_DEAD };
	return (struct gstate){ .mode = G_SLICED, .type = t, .left = type_room(t, g->used_slices) };
}

/* The largest slice capacity a GPU offers, in MiB (instances where VRAM is
 * unknown): what passing it through whole gives up. */
static uint64_t slice_value(const struct pl_gpu *g)
{
	uint64_t best = 0;

	for (size_t i = 0; i < g->n_types; i++)
		best = MAX(best, (uint64_t)type_room(&g->types[i], 0) * MAX(g->types[i].vram_mib, 1));
	return best;
}

/* ---- context ---- */

static int build_groups(struct ctx *c)
{
	_cleanup_free_ struct cand *s = calloc(MAX(c->n_gpus, 1), sizeof(*s));
	size_t k = 0;

	if (!s)
		return -ENOMEM;
	/* No group: a group of its own. */
	for (size_t i = 0; i < c->n_gpus; i++) {
		int gr = c->gpus[i].iommu_group;
		s[i] = (struct cand){ .k = { gr < 0, gr < 0 ? i : (uint64_t)gr }, .gpu = i };
	}
	qsort(s, c->n_gpus, sizeof(*s), cand_cmp);
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
static void build_base(struct ctx *c)
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
			c->base[c->members[j]] = (struct gstate){ .mode = G_DEAD };
	}
}

static int build_thresholds(struct ctx *c)
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
	qsort(c->vram, n, sizeof(*c->vram), u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (c->n_vram == 0 || c->vram[i] != c->vram[c->n_vram - 1])
			c->vram[c->n_vram++] = c->vram[i];
	return 0;
}

/* Index of the smallest threshold >= MIB, NONE when none is. */
static size_t class_of(const struct ctx *c, uint64_t mib)
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
static int build_classes(struct ctx *c)
{
	size_t *pos;

	c->cls_start = calloc(c->n_vram + 2, sizeof(*c->cls_start));
	if (!c->cls_start)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_desktops; i++) {
		const struct pl_desktop *d = &c->desktops[i];
		c->cls[i] = d->want == PL_SLICE ? class_of(c, d->min_vram_mib) : NONE;
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

static void ctx_free(struct ctx *c)
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
	free(c->col_of);
	free(c->order[0]);
	free(c->order[1]);
	free(c->ord_start);
	if (c->pool)
		relax_free(c->pool);
	free(c->pool);
}

static int ctx_init(struct ctx *c)
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
static bool better_type(const struct pl_type *t, unsigned cap, const struct pl_type *best, unsigned best_cap)
{
	if (!best || cap != best_cap)
		return !best || cap > best_cap;
	if (t->vram_mib != best->vram_mib)
		return t->vram_mib < best->vram_mib;
	return t->name && best->name && strcmp(t->name, best->name) < 0;
}

/* How many more desktops of class M GPU I can take in state S, and with
 * which type (*RET). */
static unsigned fit(const struct ctx *c, const struct gstate *s, size_t i, size_t m, const struct pl_type **ret)
{
	const struct pl_gpu *g = &c->gpus[i];
	const struct pl_type *best = NULL;
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
		unsigned cap = type_room(&g->types[t], 0);
		if (g->types[t].vram_mib >= c->vram[m] && cap > 0 && better_type(&g->types[t], cap, best, best_cap)) {
			best = &g->types[t];
			best_cap = cap;
		}
	}
	*ret = best;
	return best_cap;
}

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
 * one v), which leaves a small LP: a dual simplex solves it and v is read from
 * its duals, so L(v) is the LP optimum; where the simplex gives up (too big,
 * or numerically stuck) coordinate ascent on L finds a v instead.
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

struct lp {
	size_t n_cls, n_prof;
	const double *count;  /* desktops of each class */
	const unsigned **cap; /* cap[p][m]: desktops of class m one GPU of profile p holds; 0: none */
	const double *n_gpu;  /* GPUs of profile p */
	double *v;            /* n_prof */
	double *f;            /* n_prof x n_cls: GPUs of profile p for class m, from the simplex */
	struct bp {
		double at, w;
	} *bp;                /* scratch: n_cls */
};

static double lp_value(const struct lp *lp)
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
	const struct bp *x = a, *y = b;

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
			lp->bp[n++] = (struct bp){ a * lp->cap[p][m], lp->count[m] / lp->cap[p][m] };
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
static void lp_ascent(struct lp *lp)
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

/* 1 when the simplex solved it (v and f set), 0 when v comes from ascent. */
static int lp_solve(struct lp *lp)
{
	struct sx s;
	int e = sx_init(&s, lp);

	if (e >= 0)
		e = sx_run(&s);
	if (e >= 0)
		sx_read(&s, lp);
	sx_free(&s);
	if (e == -ENOMEM)
		return e;
	if (e < 0)
		lp_ascent(lp);
	return e >= 0;
}

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

/* Demand columns: slice classes 0 .. n_vram - 1, then these two. */
#define COL_DEDICATED(c) ((c)->n_vram)
#define COL_SHARED(c) ((c)->n_vram + 1)

/* Desktops of column COL one GPU I can ever hold, before this pool. */
static unsigned col_cap(const struct ctx *c, size_t i, size_t col)
{
	const struct pl_type *t;

	if (col == COL_DEDICATED(c))
		return c->gpus[i].dedicable && c->base[i].mode == G_FREE && !c->grp_dirty[c->grp[i]];
	if (col == COL_SHARED(c))
		return c->base[i].mode == G_FREE ? c->gpus[i].share_capacity : 0;
	return fit(c, &c->base[i], i, col, &t);
}

/* L(1) without a matrix: for inputs with so many distinct VRAM sizes that
 * the capacity matrix would not be reasonable. */
static double simple_bound(const struct ctx *c, const size_t *cols, size_t n_cols, const double *count)
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

struct relax {
	size_t n_cols, n_prof;
	size_t *prof_of;  /* per GPU; NONE: it serves no column */
	unsigned *rows;   /* per GPU: the row length, then its capacity for each column */
	const unsigned **cap;
	double *n_gpu, *v;
	double *f;        /* n_prof x n_cols: the LP's GPUs of each profile for each column */
	bool solved;      /* f is the LP's solution */
	double value;     /* L(v) */
};

static void relax_free(struct relax *rx)
{
	free(rx->prof_of);
	free(rx->rows);
	free(rx->cap);
	free(rx->n_gpu);
	free(rx->v);
	free(rx->f);
	*rx = (struct relax){};
}

static int row_cmp(const void *a, const void *b)
{
	const unsigned *x = *(const unsigned *const *)a, *y = *(const unsigned *const *)b;

	for (unsigned m = 1; m <= x[0]; m++)
		if (x[m] != y[m])
			return x[m] < y[m] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int build_rows(const struct ctx *c, const size_t *cols, struct relax *rx)
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
static int build_profiles(size_t n_gpus, struct relax *rx)
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

static int relax_lp(struct relax *rx, const double *count)
{
	_cleanup_free_ struct bp *bp = calloc(MAX(rx->n_cols, 1), sizeof(*bp));
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
static int relax_solve(const struct ctx *c, const size_t *cols, size_t n_cols, const double *count,
		       struct relax *rx)
{
	int e;

	*rx = (struct relax){ .n_cols = n_cols };
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
static int shared_exact(const struct ctx *c, size_t n, size_t *ret)
{
	_cleanup_free_ uint64_t *caps = calloc(MAX(c->n_gpus, 1), sizeof(*caps));
	size_t k = 0;
	uint64_t sum = 0;

	if (!caps)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_gpus; i++)
		caps[i] = c->base[i].mode == G_FREE ? c->gpus[i].share_capacity : 0;
	qsort(caps, c->n_gpus, sizeof(*caps), u64_cmp);
	while (sum < n && k < c->n_gpus)
		sum += caps[c->n_gpus - 1 - k++];
	*ret = k;
	return 0;
}

struct demand {
	size_t *cols;  /* demand columns with desktops: slice classes first */
	double *count; /* desktops of each */
	size_t n_cols, n_slice_cols;
	size_t dedicated, shared;
};

/* The desktops placed by GPU_OF, or all that have a class when NULL. */
static int demand_of(const struct ctx *c, const size_t *gpu_of, struct demand *dm)
{
	_cleanup_free_ double *all = calloc(c->n_vram + 2, sizeof(*all));

	*dm = (struct demand){};
	dm->cols = calloc(c->n_vram + 2, sizeof(*dm->cols));
	dm->count = calloc(c->n_vram + 2, sizeof(*dm->count));
	if (!all || !dm->cols || !dm->count)
		return -ENOMEM;
	for (size_t d = 0; d < c->n_desktops; d++) {
		enum pl_want w = c->desktops[d].want;
		if (gpu_of ? gpu_of[d] == NONE : w == PL_SLICE && c->cls[d] == NONE)
			continue;
		all[w == PL_SLICE ? c->cls[d] : w == PL_DEDICATED ? COL_DEDICATED(c) : COL_SHARED(c)]++;
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

static void demand_free(struct demand *dm)
{
	free(dm->cols);
	free(dm->count);
}
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
static bool planned(const struct ctx *c, const struct run *r, size_t i, size_t col)
{
	const struct relax *pl = c->pool;
	size_t p, j;

	if (!r->quota)
		return true;
	p = pl->prof_of[i];
	j = c->col_of[col];
	return p != NONE && j != NONE && r->quota[p * pl->n_cols + j] > 1e-6;
}

/* GPU I now serves column COL: one GPU less in the plan. */
static void plan_take(const struct ctx *c, struct run *r, size_t i, size_t col)
{
	const struct relax *pl = c->pool;

	if (planned(c, r, i, col) && r->quota)
		r->quota[pl->prof_of[i] * pl->n_cols + c->col_of[col]] -= 1;
}

/* The price of GPU I: the LP's with PRICED, else 1. */
static double price_of(const struct ctx *c, bool priced, size_t i)
{
	size_t p = priced ? c->pool->prof_of[i] : NONE;

	return p != NONE ? c->pool->v[p] : 1;
}

/* The price per desktop as a sort key: fixed point, so that costs equal but
 * for rounding compare equal and the next key decides. */
static uint64_t cost_key(const struct ctx *c, bool priced, size_t i, unsigned cap)
{
	return (uint64_t)(price_of(c, priced, i) / MAX(cap, 1) * 1e9 + 0.5);
}

static void run_free(struct run *r)
{
	free(r->g);
	free(r->gpu_of);
	free(r->type_of);
	free(r->open_head);
	free(r->open_tail);
	free(r->open_next);
	free(r->cand);
	free(r->quota);
	*r = (struct run){};
}

static int run_init(const struct ctx *c, bool planned_run, struct run *r)
{
	size_t ng = MAX(c->n_gpus, 1), nd = MAX(c->n_desktops, 1);

	*r = (struct run){};
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

static void assign(struct run *r, size_t desktop, size_t gpu, const struct pl_type *t)
{
	r->gpu_of[desktop] = gpu;
	r->type_of[desktop] = t;
	r->g[gpu].hosts = true;
}

/* What passing GPU I through whole gives up, as a sort key: GPUs that can
 * neither be sliced nor shared first, then those that can only do what
 * this strategy spares least, each by how much (2 + 31 + 31 bits). */
static uint64_t spare_key(const struct pl_gpu *g, unsigned st)
{
	const uint64_t max = ((uint64_t)1 << 31) - 1;
	uint64_t sv = MIN(slice_value(g), max), sh = MIN((uint64_t)g->share_capacity, max);

	if (st & ST_SPARE_SHARING)
		return (uint64_t)(sh > 0) << 63 | (uint64_t)(sv > 0) << 62 | sh << 31 | sv;
	return (uint64_t)(sv > 0) << 63 | (uint64_t)(sh > 0) << 62 | sv << 31 | sh;
}

static void take_whole(const struct ctx *c, struct run *r, size_t d, size_t gpu)
{
	size_t gr = c->grp[gpu];

	for (size_t j = c->grp_start[gr]; j < c->grp_start[gr + 1]; j++)
		r->g[c->members[j]].mode = G_DEAD;
	r->g[gpu].mode = G_WHOLE;
	plan_take(c, r, gpu, COL_DEDICATED(c));
	assign(r, d, gpu, NULL);
}

/* Can GPU I go to a VM now: nothing on any GPU of its group? */
static bool group_free(const struct ctx *c, const struct run *r, size_t i)
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
static void place_dedicated(const struct ctx *c, struct run *r, unsigned st)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n_gpus; i++) {
		size_t gr = c->grp[i];
		if (!c->gpus[i].dedicable || !group_free(c, r, i))
			continue;
		r->cand[n++] = (struct cand){ .k = { c->grp_start[gr + 1] - c->grp_start[gr],
						     !planned(c, r, i, COL_DEDICATED(c)),
						     cost_key(c, r->quota != NULL, i, 1), spare_key(&c->gpus[i], st) },
					      .gpu = i };
	}
	qsort(r->cand, n, sizeof(*r->cand), cand_cmp);
	for (size_t d = 0; d < c->n_desktops; d++) {
		if (c->desktops[d].want != PL_DEDICATED)
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
static void fill(const struct ctx *c, struct run *r, size_t m, size_t i, const struct pl_type *t,
		 const size_t *list, size_t *pos, size_t end)
{
	struct gstate *s = &r->g[i];

	if (s->mode == G_FREE)
		*s = (struct gstate){ .mode = G_SLICED, .type = t, .left = type_room(t, 0) };
	if (!s->hosts) {
		size_t k = class_of(c, t->vram_mib);
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
static void fill_open(const struct ctx *c, struct run *r, size_t m, const size_t *list, size_t *pos,
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
static void open_new(const struct ctx *c, struct run *r, size_t m, const size_t *list, size_t *pos, size_t end)
{
	const size_t *ord = c->order[r->quota != NULL] + c->ord_start[m];
	size_t n = c->ord_start[m + 1] - c->ord_start[m];

	for (int pass = r->quota ? 0 : 1; pass < 2; pass++)
		for (size_t j = 0; j < n && *pos < end; j++) {
			const struct pl_type *t;
			size_t i = ord[j];
			if (r->g[i].hosts || (pass == 0 && !planned(c, r, i, m)))
				continue;
			if (fit(c, &r->g[i], i, m, &t) > 0)
				fill(c, r, m, i, t, list, pos, end);
		}
}

static void place_class(const struct ctx *c, struct run *r, size_t m)
{
	size_t pos = c->cls_start[m], end = c->cls_start[m + 1];

	fill_open(c, r, m, c->by_cls, &pos, end);
	open_new(c, r, m, c->by_cls, &pos, end);
}

/* Largest VRAM class first: those desktops fit the fewest types, and the
 * room their GPUs have left takes the smaller ones (first-fit decreasing).
 * When there is not room for all, smallest first places more of them. */
static void place_slices(const struct ctx *c, struct run *r, unsigned st)
{
	if (st & ST_SMALL_FIRST)
		for (size_t m = 0; m < c->n_vram; m++)
			place_class(c, r, m);
	else
		for (size_t m = c->n_vram; m-- > 0;)
			place_class(c, r, m);
}

/* The next render node with room: candidate *K on. */
static struct gstate *next_share(const struct ctx *c, struct run *r, size_t n, size_t *k)
{
	struct gstate *s;

	while (*k < n && r->g[r->cand[*k].gpu].mode == G_SHARED && r->g[r->cand[*k].gpu].left == 0)
		(*k)++;
	if (*k == n)
		return NULL;
	s = &r->g[r->cand[*k].gpu];
	if (s->mode == G_FREE) {
		*s = (struct gstate){ .mode = G_SHARED, .left = r->cand[*k].cap };
		plan_take(c, r, r->cand[*k].gpu, COL_SHARED(c));
	}
	return s;
}

/* As planned first, then the cheapest per desktop, then the biggest. When
 * sharing goes first, GPUs that cannot be sliced come before those that can. */
static void place_shared(const struct ctx *c, struct run *r, unsigned st)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n_gpus; i++) {
		unsigned cap = c->gpus[i].share_capacity;
		bool sliceable = (st & ST_SHARED_FIRST) && slice_value(&c->gpus[i]) > 0;
		if (r->g[i].mode == G_FREE && cap > 0)
			r->cand[n++] = (struct cand){ .k = { !planned(c, r, i, COL_SHARED(c)), sliceable,
							     cost_key(c, r->quota != NULL, i, cap), UINT_MAX - cap },
						      .gpu = i, .cap = cap };
	}
	qsort(r->cand, n, sizeof(*r->cand), cand_cmp);
	for (size_t d = 0; d < c->n_desktops; d++) {
		struct gstate *s;
		if (c->desktops[d].want != PL_SHARED)
			continue;
		s = next_share(c, r, n, &k);
		if (!s)
			return;
		s->left--;
		assign(r, d, r->cand[k].gpu, NULL);
	}
}

static void run_score(const struct ctx *c, struct run *r)
{
	for (size_t d = 0; d < c->n_desktops; d++)
		r->unplaced += r->gpu_of[d] == NONE;
	for (size_t i = 0; i < c->n_gpus; i++)
		r->used += r->g[i].hosts;
}

static int run_strategy(const struct ctx *c, unsigned st, struct run *r)
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
static bool run_better(const struct run *a, const struct run *b)
{
	if (a->unplaced != b->unplaced)
		return a->unplaced < b->unplaced;
	if (a->used != b->used)
		return a->used < b->used;
	return a->vram < b->vram;
}

/* The LP over the whole pool, for the planned strategies; NULL pool when it
 * could not be solved exactly (more desktops than room, too big). */
static int build_plan(struct ctx *c)
{
	_cleanup_free_ struct relax *rx = calloc(1, sizeof(*rx));
	struct demand dm;
	int e;

	c->col_of = calloc(c->n_vram + 2, sizeof(*c->col_of));
	if (!rx || !c->col_of)
		return -ENOMEM;
	e = demand_of(c, NULL, &dm);
	if (e >= 0)
		e = relax_solve(c, dm.cols, dm.n_cols, dm.count, rx);
	for (size_t col = 0; col < c->n_vram + 2; col++)
		c->col_of[col] = NONE;
	for (size_t j = 0; e >= 0 && j < dm.n_cols; j++)
		c->col_of[dm.cols[j]] = j;
	demand_free(&dm);
	if (e >= 0 && rx->solved)
		c->pool = TAKE_PTR(rx);
	else
		relax_free(rx);
	return e;
}

/* The order in which class M opens new GPUs (those that fit it before the
 * pool): the cheapest per desktop, the one that takes the most, one without a
 * render node (those are kept for sharing), the smaller type, the index.
 * Computed once: a GPU leaves the running when it is used, and what it holds
 * for a class does not change before. */
static void order_class(const struct ctx *c, bool priced, size_t m, struct cand *cand, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_gpus; i++) {
		const struct pl_type *t;
		unsigned cap = fit(c, &c->base[i], i, m, &t);
		uint64_t more = (uint64_t)(UINT_MAX - cap) << 1 | (c->gpus[i].share_capacity > 0);
		if (cap > 0)
			cand[n++] = (struct cand){ .k = { cost_key(c, priced, i, cap), more, t->vram_mib }, .gpu = i };
	}
	qsort(cand, n, sizeof(*cand), cand_cmp);
	for (size_t j = 0; j < n; j++)
		out[j] = cand[j].gpu;
}

/* Only for classes that have desktops: memory is GPUs x classes asked. */
static int build_orders(struct ctx *c)
{
	_cleanup_free_ struct cand *cand = calloc(MAX(c->n_gpus, 1), sizeof(*cand));
	const struct pl_type *t;

	c->ord_start = calloc(c->n_vram + 1, sizeof(*c->ord_start));
	if (!cand || !c->ord_start)
		return -ENOMEM;
	for (size_t m = 0; m < c->n_vram; m++) {
		size_t n = 0;
		for (size_t i = 0; c->cls_start[m + 1] > c->cls_start[m] && i < c->n_gpus; i++)
			n += fit(c, &c->base[i], i, m, &t) > 0;
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

/* See "the relaxation" above: the larger of the joint LP and the sum of the
 * per-mode bounds. */
static int lower_bound(const struct ctx *c, const struct run *r, size_t *ret)
{
	struct demand dm;
	struct relax joint = {}, slices = {};
	size_t shared = 0;
	int e;

	e = demand_of(c, r->gpu_of, &dm);
	if (e >= 0)
		e = relax_solve(c, dm.cols, dm.n_cols, dm.count, &joint);
	if (e >= 0)
		e = relax_solve(c, dm.cols, dm.n_slice_cols, dm.count, &slices);
	if (e >= 0)
		e = shared_exact(c, dm.shared, &shared);
	if (e >= 0)
		*ret = MAX(ceil_down(joint.value), dm.dedicated + ceil_down(slices.value) + shared);
	relax_free(&joint);
	relax_free(&slices);
	demand_free(&dm);
	return e;
}

/* ---- result ---- */

void placement_result_free(struct pl_result *r)
{
	if (!r)
		return;
	free(r->places);
	free(r->unplaced);
	*r = (struct pl_result){};
}

static int result_of(const struct ctx *c, const struct run *r, struct pl_result *ret)
{
	struct pl_result res = { .gpus_used = r->used };
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
			res.places[res.n_places++] = (struct pl_place){
				.desktop = d, .gpu = r->gpu_of[d], .type = r->type_of[d] ? r->type_of[d]->name : NULL
			};
	}
	e = lower_bound(c, r, &res.lower_bound);
	if (e < 0) {
		placement_result_free(&res);
		return e;
	}
	*ret = res;
	return 0;
}

static bool valid_input(const struct pl_gpu *gpus, size_t n_gpus, const struct pl_desktop *desktops,
			size_t n_desktops)
{
	if ((!gpus && n_gpus) || (!desktops && n_desktops))
		return false;
	for (size_t i = 0; i < n_gpus; i++)
		if (gpus[i].n_types && !gpus[i].types)
			return false;
	for (size_t d = 0; d < n_desktops; d++)
		if (desktops[d].want != PL_DEDICATED && desktops[d].want != PL_SLICE && desktops[d].want != PL_SHARED)
			return false;
	return true;
}

static int solve(struct ctx *c, struct pl_result *ret)
{
	struct run best = {}, r;
	int e = build_plan(c);

	if (e >= 0)
		e = build_orders(c);
	for (unsigned st = 0; st < N_STRATEGIES && e >= 0; st++) {
		/* Smallest first only helps when some desktops find no room. */
		if (((st & ST_PLANNED) && !c->pool) || ((st & ST_SMALL_FIRST) && best.unplaced == 0))
			continue;
		e = run_strategy(c, st, &r);
		if (e >= 0 && (st == 0 || run_better(&r, &best))) {
			run_free(&best);
			best = r;
		} else
			run_free(&r);
	}
	if (e >= 0)
		e = result_of(c, &best, ret);
	run_free(&best);
	return e;
}

int placement_solve(const struct pl_gpu *gpus, size_t n_gpus, const struct pl_desktop *desktops,
		    size_t n_desktops, struct pl_result *ret)
{
	struct ctx c = { .gpus = gpus, .n_gpus = n_gpus, .desktops = desktops, .n_desktops = n_desktops };
	int e;

	if (!ret || !valid_input(gpus, n_gpus, desktops, n_desktops))
		return -EINVAL;
	e = ctx_init(&c);
	if (e >= 0)
		e = solve(&c, ret);
	ctx_free(&c);
	return e;
}

/* ---- why not ---- */

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
static bool group_clean(const struct pl_gpu *gpus, size_t n_gpus, size_t i, bool allow_slices)
{
	if (gpus[i].iommu_group < 0)
		return true;
	for (size_t j = 0; j < n_gpus; j++)
		if (gpus[j].iommu_group == gpus[i].iommu_group &&
		    (gpus[j].busy || (!allow_slices && (gpus[j].current_type || gpus[j].used_slices))))
			return false;
	return true;
}

static enum why_stage why_dedicated(const struct pl_gpu *gpus, size_t n_gpus, size_t i)
{
	const struct pl_gpu *g = &gpus[i];

	if (!g->dedicable)
		return W_NOTHING;
	if (g->busy || g->current_type || g->used_slices || !group_clean(gpus, n_gpus, i, false))
		return W_IN_USE;
	return W_TAKEN;
}

static enum why_stage why_slice(const struct pl_gpu *gpus, size_t n_gpus, size_t i, uint64_t mib)
{
	const struct pl_gpu *g = &gpus[i];
	enum why_stage best = W_NOTHING;

	for (size_t t = 0; t < g->n_types; t++) {
		const struct pl_type *ty = &g->types[t];
		enum why_stage s;
		if (ty->vram_mib < mib)
			continue;
		if (g->busy || (!g->current_type && g->used_slices) || !group_clean(gpus, n_gpus, i, true))
			s = W_IN_USE;
		else if (g->current_type && (!ty->name || strcmp(ty->name, g->current_type) != 0))
			s = W_OTHER_TYPE;
		else
			s = type_room(ty, g->current_type ? g->used_slices : 0) > 0 ? W_TAKEN : W_NO_ROOM;
		best = MAX(best, s);
	}
	return best;
}

static enum why_stage why_shared(const struct pl_gpu *gpus, size_t n_gpus, size_t i)
{
	const struct pl_gpu *g = &gpus[i];

	if (g->share_capacity == 0)
		return W_NOTHING;
	if (g->busy || g->current_type || g->used_slices || !group_clean(gpus, n_gpus, i, true))
		return W_IN_USE;
	return W_TAKEN;
}

static const char *const why_text[3][5] = {
	[PL_DEDICATED] = {
		[W_NOTHING] = "no GPU can be passed through whole",
		[W_IN_USE] = "every GPU that can be passed through whole is in use, holds slices, "
			     "or shares its IOMMU group with a device in use",
		[W_TAKEN] = "the GPUs that can be passed through whole are taken by other desktops of the pool",
	},
	[PL_SLICE] = {
		[W_NOTHING] = "no GPU offers a slice type with enough VRAM",
		[W_IN_USE] = "the GPUs with a large enough slice type are in use",
		[W_OTHER_TYPE] = "the GPUs with a large enough slice type already hold instances of another type",
		[W_NO_ROOM] = "no instances of a large enough slice type are available",
		[W_TAKEN] = "the large enough slices are taken by other desktops of the pool",
	},
	[PL_SHARED] = {
		[W_NOTHING] = "no GPU has a render node to share",
		[W_IN_USE] = "the GPUs with a render node are in use or sliced",
		[W_TAKEN] = "the render nodes' capacity is taken by other desktops of the pool",
	},
};

const char *pl_why(const struct pl_gpu *gpus, size_t n_gpus, const struct pl_desktop *d)
{
	enum why_stage best = W_NOTHING;

	if (!d || (d->want != PL_DEDICATED && d->want != PL_SLICE && d->want != PL_SHARED))
		return "invalid desktop";
	for (size_t i = 0; gpus && i < n_gpus && best < W_TAKEN; i++) {
		enum why_stage s = d->want == PL_DEDICATED ? why_dedicated(gpus, n_gpus, i)
				   : d->want == PL_SLICE  ? why_slice(gpus, n_gpus, i, d->min_vram_mib)
							  : why_shared(gpus, n_gpus, i);
		best = MAX(best, s);
	}
	return why_text[d->want][best];
}
