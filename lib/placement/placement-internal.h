/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The solver's insides, shared by the files of lib/placement/ and by the unit
 * tests (tests/unit/test-placement-lp.c): each section is one file, and every
 * name it exports starts with that file's name.
 *
 *   model.c   the problem as the GPUs are: groups, base states, classes
 *   lp.c      the LP over classes and profiles: the dual simplex, coordinate ascent
 *   bound.c   the relaxation: profiles, the LP for a demand, the lower bound
 *   greedy.c  the strategies and their phases, the best of them
 *   solve.c   placement_solve(): input checks, the result
 *   why.c     placement_why()
 *
 * Nothing here, nor in placement.h, includes a header of libvmgpu.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "placement.h"

#define NONE SIZE_MAX

/* ---- model.c: the GPUs, their groups, the slice classes ---- */

enum model_mode {
	G_FREE,   /* nothing on it yet */
	G_DEAD,   /* serves no one: busy, its group went to a VM, unusable slices */
	G_WHOLE,  /* passed through to a dedicated desktop */
	G_SLICED, /* holds instances of TYPE */
	G_SHARED, /* its render node serves shared desktops */
};

/* One GPU's state: before the pool (model.base), or during a strategy. */
struct model_gpu {
	enum model_mode mode;
	const struct placement_type *type; /* G_SLICED */
	unsigned left;                     /* instances of TYPE, or share units, still free */
	bool hosts;                        /* a desktop of this pool landed here */
};

/* A GPU as a candidate for a phase: sorted by the keys, then by index. */
struct model_cand {
	uint64_t k[4];
	size_t gpu;
	unsigned cap;
};

struct bound_relax;

/* What does not change between strategies. */
struct model {
	const struct placement_gpu *gpus;
	size_t n_gpus;
	const struct placement_desktop *desktops;
	size_t n_desktops;
	size_t *grp;              /* the group index of each GPU */
	size_t *members;          /* GPU indices, grouped */
	size_t *grp_start;        /* members of group k: members[grp_start[k] .. grp_start[k + 1]) */
	size_t n_grps;
	bool *grp_dirty;          /* the group cannot go to a VM: busy or sliced member */
	struct model_gpu *base;   /* each GPU before this pool */
	uint64_t *vram;           /* distinct slice VRAM sizes, ascending: the class thresholds */
	size_t n_vram;
	size_t *cls;              /* slice class of each desktop: smallest VRAM size that fits; NONE */
	size_t *by_cls;           /* slice desktops by class, then index */
	size_t *cls_start;        /* class m: by_cls[cls_start[m] .. cls_start[m + 1]) */
	/* Set by greedy_best(), freed by greedy_free() (the rest by model_free()): */
	struct bound_relax *pool; /* the LP over the whole pool; NULL: not solved */
	size_t *col_of;           /* demand column -> the pool LP's column; NONE */
	size_t *order[2];         /* per class, the GPUs that fit it in the order they are opened:
				     without and with the pool's prices */
	size_t *ord_start;        /* class m: order[k][ord_start[m] .. ord_start[m + 1]) */
};

/* Demand columns: slice classes 0 .. n_vram - 1, then these two. */
#define COL_DEDICATED(c) ((c)->n_vram)
#define COL_SHARED(c) ((c)->n_vram + 1)

int model_cand_cmp(const void *a, const void *b);
int model_u64_cmp(const void *a, const void *b);
/* Instances of T that may still be created when USED already exist. */
unsigned model_type_room(const struct placement_type *t, unsigned used);
/* The largest slice capacity a GPU offers, in MiB (instances where VRAM is
 * unknown): what passing it through whole gives up. */
uint64_t model_slice_value(const struct placement_gpu *g);
/* Index of the smallest threshold >= MIB, NONE when none is. */
size_t model_class_of(const struct model *c, uint64_t mib);
/* How many more desktops of class M GPU I can take in state S, and with
 * which type (*RET). */
unsigned model_fit(const struct model *c, const struct model_gpu *s, size_t i, size_t m,
		   const struct placement_type **ret);
/* C->gpus and C->desktops set, the rest zero: groups, base states, classes. */
int model_init(struct model *c);
void model_free(struct model *c);

/* ---- lp.c: the LP over classes and profiles ---- */

/* Scratch for lp_ascent(): one breakpoint of L along one v_p. */
struct lp_bp {
	double at, w;
};

/* N_CLS classes of desktops and N_PROF profiles of identical GPUs. The dual
 * is read as v (one price per profile), the primal as f. */
struct lp {
	size_t n_cls, n_prof;
	const double *count;  /* desktops of each class */
	const unsigned **cap; /* cap[p][m]: desktops of class m one GPU of profile p holds; 0: none */
	const double *n_gpu;  /* GPUs of profile p */
	double *v;            /* n_prof */
	double *f;            /* n_prof x n_cls: GPUs of profile p for class m, from the simplex */
	struct lp_bp *bp;     /* scratch: n_cls */
};

/* L(v) for the current v: a lower bound on the LP's optimum for every
 * v >= 0, the optimum at the simplex's v. */
double lp_value(const struct lp *lp);
/* Coordinate ascent on L from the current v (every v_p >= 1). */
void lp_ascent(struct lp *lp);
/* The dual simplex alone: 0 when it solved the LP (v and f set), -1 when
 * the LP is infeasible (more desktops than room) or the simplex stuck,
 * -ENOSPC when the tableau would be too big, -ENOMEM. F must be zero. */
int lp_simplex(struct lp *lp);
/* 1 when the simplex solved it (v and f set), 0 when v comes from ascent,
 * -ENOMEM. */
int lp_solve(struct lp *lp);

/* ---- bound.c: the relaxation and the lower bound ---- */

/* The relaxation for some demand columns, over the profiles of the GPUs. */
struct bound_relax {
	size_t n_cols, n_prof;
	size_t *prof_of;  /* per GPU; NONE: it serves no column */
	unsigned *rows;   /* per GPU: the row length, then its capacity for each column */
	const unsigned **cap;
	double *n_gpu, *v;
	double *f;        /* n_prof x n_cols: the LP's GPUs of each profile for each column */
	bool solved;      /* f is the LP's solution */
	double value;     /* L(v) */
};

struct bound_demand {
	size_t *cols;  /* demand columns with desktops: slice classes first */
	double *count; /* desktops of each */
	size_t n_cols, n_slice_cols;
	size_t dedicated, shared;
};

/* The relaxation for the demand columns COLS, COUNT desktops each. */
int bound_relax_solve(const struct model *c, const size_t *cols, size_t n_cols, const double *count,
		      struct bound_relax *rx);
void bound_relax_free(struct bound_relax *rx);
/* The desktops placed by GPU_OF, or all that have a class when NULL. */
int bound_demand_of(const struct model *c, const size_t *gpu_of, struct bound_demand *dm);
void bound_demand_free(struct bound_demand *dm);
/* No placement of the desktops GPU_OF places uses fewer GPUs than *RET. */
int bound_lower(const struct model *c, const size_t *gpu_of, size_t *ret);

/* ---- greedy.c: the strategies ---- */

/* One strategy's placement. */
struct greedy_run {
	double *quota;                /* GPUs of each profile for each column the plan has left; NULL: no plan */
	struct model_gpu *g;
	size_t *gpu_of;               /* per desktop; NONE: unplaced */
	const struct placement_type **type_of;
	size_t *open_head, *open_tail; /* per threshold: sliced GPUs of the pool, their type that size */
	size_t *open_next;             /* per GPU: the next in its list */
	struct model_cand *cand;      /* n_gpus of scratch */
	size_t unplaced, used;
	uint64_t vram;
};

/* Plan with the LP over the whole pool, run every strategy, keep the best
 * in *BEST (zeroed first; free it with greedy_run_free() whatever the return). */
int greedy_best(struct model *c, struct greedy_run *best);
/* What greedy_best() left in C: the pool LP, the column map, the orders. */
void greedy_free(struct model *c);
void greedy_run_free(struct greedy_run *r);
