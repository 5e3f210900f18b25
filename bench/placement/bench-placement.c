/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark of the placement engine (lib/placement/): a seeded synthetic
 * pool of desktops onto a synthetic inventory of GPUs of mixed models.
 *
 *   bench-placement [--gpus N] [--desktops N] [--seed S] [--runs R]
 *
 * Prints a markdown table: what was placed, GPUs used against the engine's
 * lower bound, the best wall time of R runs of placement_solve(), and
 * whether the targets (under 100 ms, within 2 % of the bound) were met. A
 * report, not a test: a missed target still exits 0; only bad arguments or
 * a failing solve exit non-zero.
 *
 * Inventory, by share of the GPUs (drawn per GPU from the seed):
 *   40 % "A16-like": 16 GiB, types 1Q..16Q = 16/8/4/2/1 instances
 *   30 % "A40-like": 48 GiB, types 1Q..48Q = 48/24/16/12/8/6/4/3/2/1
 *   20 % consumer: no slice types, a render node for 8 shared desktops
 *   10 % "mbochs-like": mdev small/medium/large = 64/16/4 instances of
 *        1/4/16 GiB, cannot be passed through
 * All but the mbochs ones can be passed through whole. Some state is already
 * there, as on a host in service: 5 % of the A16/A40 hold instances of one
 * type, 1 % are busy (given to a VM whole), and a quarter of the consumer
 * GPUs share an IOMMU group with the next one (no ACS below them).
 *
 * Pool: 2 % dedicated, 84 % slices, 14 % shared. Slice asks are 1-16 GiB,
 * mostly small as in VDI pools (see ASKS), some between the type sizes
 * (1.5, 3, 6, 12 GiB) so that rounding up to a type costs something.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "placement/placement.h"

static uint64_t rng_state;

/* splitmix64: small, seedable, the same everywhere. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rnd(unsigned n)
{
	return (unsigned)(rng() % n);
}

#define GIB 1024u

static const struct placement_type a16_types[] = {
	{ "A16-1Q", 1 * GIB, 16, 16 }, { "A16-2Q", 2 * GIB, 8, 8 }, { "A16-4Q", 4 * GIB, 4, 4 },
	{ "A16-8Q", 8 * GIB, 2, 2 },   { "A16-16Q", 16 * GIB, 1, 1 },
};
static const struct placement_type a40_types[] = {
	{ "A40-1Q", 1 * GIB, 48, 48 },  { "A40-2Q", 2 * GIB, 24, 24 },  { "A40-3Q", 3 * GIB, 16, 16 },
	{ "A40-4Q", 4 * GIB, 12, 12 },  { "A40-6Q", 6 * GIB, 8, 8 },    { "A40-8Q", 8 * GIB, 6, 6 },
	{ "A40-12Q", 12 * GIB, 4, 4 },  { "A40-16Q", 16 * GIB, 3, 3 }, { "A40-24Q", 24 * GIB, 2, 2 },
	{ "A40-48Q", 48 * GIB, 1, 1 },
};
static const struct placement_type mbochs_types[] = {
	{ "mbochs-small", 1 * GIB, 64, 64 },
	{ "mbochs-medium", 4 * GIB, 16, 16 },
	{ "mbochs-large", 16 * GIB, 4, 4 },
};

/* Slice asks in MiB and their weights (per mille). */
static const struct {
	uint64_t mib;
	unsigned weight;
} asks[] = {
	{ 1024, 450 }, { 1536, 100 }, { 2048, 250 }, { 3072, 40 },  { 4096, 100 },
	{ 6144, 20 },  { 8192, 30 },  { 12288, 5 },  { 16384, 5 },
};

struct gpu_store {
	struct placement_gpu *gpus;
	struct placement_type *types; /* per GPU copies, for the ones with state */
	char (*ids)[16];
};

/* A16/A40 already in service: instances of one type, or busy. */
static void add_state(struct placement_gpu *g, struct placement_type *own)
{
	unsigned r = rnd(100);

	if (r < 1) {
		g->busy = true;
	} else if (r < 6) {
		const struct placement_type *t = &g->types[rnd((unsigned)g->n_types)];
		unsigned used = 1 + rnd(t->instances);
		memcpy(own, g->types, g->n_types * sizeof(*own));
		for (size_t i = 0; i < g->n_types; i++)
			own[i].available = own[i].name == t->name ? t->instances - used : 0;
		g->types = own;
		g->current_type = t->name;
		g->used_slices = used;
	}
}

static void make_gpu(struct gpu_store *s, size_t i, size_t n, int *group)
{
	struct placement_gpu *g = &s->gpus[i];
	unsigned r = rnd(100);

	snprintf(s->ids[i], sizeof(s->ids[i]), "0000:%02zx:%02zx.0", (i >> 5) & 0xff, i & 0x1f);
	*g = (struct placement_gpu){ .id = s->ids[i], .iommu_group = (*group)++, .dedicable = true };
	if (r < 40) {
		g->types = a16_types;
		g->n_types = sizeof(a16_types) / sizeof(a16_types[0]);
		add_state(g, &s->types[i * 10]);
	} else if (r < 70) {
		g->types = a40_types;
		g->n_types = sizeof(a40_types) / sizeof(a40_types[0]);
		add_state(g, &s->types[i * 10]);
	} else if (r < 90) {
		g->share_capacity = 8;
		/* No ACS below it: the next GPU lands in the same group. */
		if (i + 1 < n && rnd(4) == 0)
			(*group)--;
	} else {
		g->types = mbochs_types;
		g->n_types = sizeof(mbochs_types) / sizeof(mbochs_types[0]);
		g->dedicable = false;
	}
}

static int make_gpus(size_t n, struct gpu_store *s)
{
	int group = 0;

	s->gpus = calloc(n, sizeof(*s->gpus));
	s->types = calloc(n * 10, sizeof(*s->types));
	s->ids = calloc(n, sizeof(*s->ids));
	if (!s->gpus || !s->types || !s->ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		make_gpu(s, i, n, &group);
	return 0;
}

static uint64_t draw_ask(void)
{
	unsigned r = rnd(1000);

	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		if (r < asks[i].weight)
			return asks[i].mib;
		r -= asks[i].weight;
	}
	return asks[0].mib;
}

static struct placement_desktop *make_desktops(size_t n)
{
	struct placement_desktop *d = calloc(n, sizeof(*d));

	for (size_t i = 0; d && i < n; i++) {
		unsigned r = rnd(100);
		if (r < 2)
			d[i] = (struct placement_desktop){ .name = "dedicated", .want = PLACEMENT_DEDICATED };
		else if (r < 86)
			d[i] = (struct placement_desktop){ .name = "slice", .want = PLACEMENT_SLICE,
							   .min_vram_mib = draw_ask() };
		else
			d[i] = (struct placement_desktop){ .name = "shared", .want = PLACEMENT_SHARED };
	}
	return d;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int parse_size(const char *s, size_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0)
		return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, size_t *gpus, size_t *desktops, size_t *seed, size_t *runs)
{
	for (int i = 1; i < argc; i++) {
		size_t *dst = !strcmp(argv[i], "--gpus")       ? gpus
			      : !strcmp(argv[i], "--desktops") ? desktops
			      : !strcmp(argv[i], "--seed")     ? seed
			      : !strcmp(argv[i], "--runs")     ? runs
							       : NULL;
		if (!dst || i + 1 == argc || parse_size(argv[++i], dst) < 0) {
			fprintf(stderr, "usage: %s [--gpus N] [--desktops N] [--seed S] [--runs R]\n", argv[0]);
			return -EINVAL;
		}
	}
	return 0;
}

static void print_counts(const struct placement_desktop *d, size_t n)
{
	size_t by[3] = { 0 };

	for (size_t i = 0; i < n; i++)
		by[d[i].want]++;
	printf("pool: %zu dedicated, %zu slices, %zu shared\n\n", by[PLACEMENT_DEDICATED], by[PLACEMENT_SLICE],
	       by[PLACEMENT_SHARED]);
}

static void report(size_t n_gpus, size_t n_desktops, size_t seed, size_t runs, const struct placement_result *r,
		   double best_ms, double median_ms)
{
	double gap = r->lower_bound ? 100.0 * ((double)r->gpus_used - (double)r->lower_bound) / (double)r->lower_bound
				    : 0.0;

	printf("| desktops | GPUs | placed | unplaced | gpus_used | lower_bound | gap %% | time ms (best) "
	       "| time ms (median) |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	printf("| %zu | %zu | %zu | %zu | %zu | %zu | %.2f | %.2f | %.2f |\n\n", n_desktops, n_gpus, r->n_places,
	       r->n_unplaced, r->gpus_used, r->lower_bound, gap, best_ms, median_ms);
	printf("seed %zu, best and median of %zu runs\n", seed, runs);
	printf("time < 100 ms: target %s\n", best_ms < 100.0 ? "met" : "missed");
	printf("gap <= 2 %%: target %s\n", gap <= 2.0 ? "met" : "missed");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t n_gpus = 1000, n_desktops = 10000, seed = 1, runs = 20;
	struct gpu_store store = { 0 };
	struct placement_desktop *desktops;
	struct placement_result res = { 0 };
	double *ms;

	if (parse_args(argc, argv, &n_gpus, &n_desktops, &seed, &runs) < 0)
		return 2;
	rng_state = seed;
	ms = calloc(runs, sizeof(*ms));
	desktops = make_desktops(n_desktops);
	if (!ms || !desktops || make_gpus(n_gpus, &store) < 0) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (size_t k = 0; k < runs; k++) {
		double t0 = now_ms();
		int e;
		placement_result_free(&res);
		e = placement_solve(store.gpus, n_gpus, desktops, n_desktops, &res);
		ms[k] = now_ms() - t0;
		if (e < 0) {
			fprintf(stderr, "placement_solve: %s\n", strerror(-e));
			return 1;
		}
	}
	qsort(ms, runs, sizeof(*ms), cmp_double);
	print_counts(desktops, n_desktops);
	report(n_gpus, n_desktops, seed, runs, &res, ms[0], ms[runs / 2]);
	placement_result_free(&res);
	free(ms);
	free(desktops);
	free(store.gpus);
	free(store.types);
	free(store.ids);
	return 0;
}
