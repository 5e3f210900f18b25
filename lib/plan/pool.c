/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmgpu plan FILE: a pool of desktops, placed onto this host's GPUs.
 *
 * The pool file (documented in vmgpu(8), PLAN FILE):
 *   { "share_per_gpu": 8,
 *     "desktops": [
 *       { "name": "cad", "want": "dedicated" },
 *       { "name": "office", "want": "slice", "vram_mib": 2048, "count": 20 },
 *       { "name": "kiosk", "want": "shared", "count": 4 } ] }
 * "count" expands to name-1 .. name-N. The host side is the inventory
 * (lib/partition/inventory.c) and the verdicts: a GPU can be dedicated when its verdict is not
 * blocked and nothing uses it; its mdev types (or the vGPU types of its VFs)
 * are the slices; its render node serves share_per_gpu paravirtual desktops.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "placement.h"
#include "plan.h"
#include "partition.h"

#define POOL_MAX_DESKTOPS 100000

struct vmgpu_pool {
	struct vmgpu_host *host;
	struct vmgpu_partitions *parts;
	struct placement_desktop *desktops;
	size_t n_desktops;
	char **names;
	struct placement_gpu *gpus;
	size_t n_gpus;
	struct placement_type *types;     /* storage for every GPU's types */
	size_t n_types;
	size_t *pidx;              /* per GPU: its parent's index in the split */
	unsigned share_per_gpu;
	struct placement_result result;
};

static int fail(char **err, const char *fmt, ...) _printf_(2, 3);
static int fail(char **err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		if (vasprintf(err, fmt, ap) < 0)
			*err = NULL;
		va_end(ap);
	}
	return -EINVAL;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
			return false;
	return true;
}

static int add_desktop(struct vmgpu_pool *p, const char *name, enum placement_want want, uint64_t vram)
{
	void *nd, *nn;

	if (p->n_desktops >= POOL_MAX_DESKTOPS)
		return -E2BIG;
	nd = realloc(p->desktops, (p->n_desktops + 1) * sizeof(*p->desktops));
	if (!nd)
		return -ENOMEM;
	p->desktops = nd;
	nn = realloc(p->names, (p->n_desktops + 1) * sizeof(*p->names));
	if (!nn)
		return -ENOMEM;
	p->names = nn;
	if (!(p->names[p->n_desktops] = strdup(name)))
		return -ENOMEM;
	p->desktops[p->n_desktops] = (struct placement_desktop){ p->names[p->n_desktops], want, vram };
	p->n_desktops++;
	return 0;
}

static int parse_entry(struct vmgpu_pool *p, json_object *d, size_t i, char **err)
{
	json_object *jname, *jwant, *jvram, *jcount;
	const char *name, *want;
	enum placement_want w;
	int64_t vram = 0, count = 1;

	if (!json_object_is_type(d, json_type_object))
		return fail(err, "desktops[%zu]: not an object", i);
	if (!json_object_object_get_ex(d, "name", &jname) || !json_object_is_type(jname, json_type_string) ||
	    !valid_name(name = json_object_get_string(jname)))
		return fail(err, "desktops[%zu].name: 1 to 64 of A-Z a-z 0-9 . _ -", i);
	if (!json_object_object_get_ex(d, "want", &jwant) || !json_object_is_type(jwant, json_type_string))
		return fail(err, "desktops[%zu].want: \"dedicated\", \"slice\" or \"shared\"", i);
	want = json_object_get_string(jwant);
	if (strcmp(want, "dedicated") == 0)
		w = PLACEMENT_DEDICATED;
	else if (strcmp(want, "slice") == 0)
		w = PLACEMENT_SLICE;
	else if (strcmp(want, "shared") == 0)
		w = PLACEMENT_SHARED;
	else {
		/* echo what was given, but never a control character: the
		 * error must stay one line */
		char shown[41];
		size_t k;
		for (k = 0; k < sizeof(shown) - 1 && want[k]; k++)
			shown[k] = (unsigned char)want[k] < 0x20 || want[k] == 0x7f ? '?' : want[k];
		shown[k] = '\0';
		return fail(err, "desktops[%zu].want: \"dedicated\", \"slice\" or \"shared\", not \"%s\"", i, shown);
	}
	if (json_object_object_get_ex(d, "vram_mib", &jvram)) {
		if (!json_object_is_type(jvram, json_type_int) || (vram = json_object_get_int64(jvram)) <= 0 ||
		    vram > (1 << 30))
			return fail(err, "desktops[%zu].vram_mib: a positive integer", i);
	} else if (w == PLACEMENT_SLICE) {
		return fail(err, "desktops[%zu].vram_mib: a slice needs its VRAM in MiB", i);
	}
	if (json_object_object_get_ex(d, "count", &jcount) &&
	    (!json_object_is_type(jcount, json_type_int) || (count = json_object_get_int64(jcount)) < 1 ||
	     count > POOL_MAX_DESKTOPS))
		return fail(err, "desktops[%zu].count: 1 to %d", i, POOL_MAX_DESKTOPS);
	for (int64_t k = 1; k <= count; k++) {
		char full[96];
		int r;
		if (count > 1)
			snprintf(full, sizeof(full), "%s-%lld", name, (long long)k);
		else
			snprintf(full, sizeof(full), "%s", name);
		if ((r = add_desktop(p, full, w, (uint64_t)vram)) < 0)
			return r == -E2BIG ? fail(err, "more than %d desktops", POOL_MAX_DESKTOPS) : r;
	}
	return 0;
}

/* Parse TEXT; on -EINVAL *ERR says where and why in one line. */
static int pool_parse(struct vmgpu_pool *p, const char *text, char **err)
{
	json_tokener *tok = json_tokener_new();
	json_object *root, *desks, *share;
	int r = 0;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset < (int)strlen(text) - (int)strspn(text + tok->char_offset, " \t\r\n")) {
		r = fail(err, "not JSON at byte %d: %s", tok->char_offset,
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "desktops", &desks) ||
	    !json_object_is_type(desks, json_type_array)) {
		r = fail(err, "the file must be an object with a \"desktops\" array");
		goto out;
	}
	p->share_per_gpu = 8;
	if (json_object_object_get_ex(root, "share_per_gpu", &share)) {
		int64_t v = json_object_get_int64(share);
		if (!json_object_is_type(share, json_type_int) || v < 1 || v > 1024) {
			r = fail(err, "share_per_gpu: 1 to 1024");
			goto out;
		}
		p->share_per_gpu = (unsigned)v;
	}
	for (size_t i = 0; i < json_object_array_length(desks) && r == 0; i++)
		r = parse_entry(p, json_object_array_get_idx(desks, i), i, err);
	if (r == 0 && p->n_desktops == 0)
		r = fail(err, "desktops: empty");
out:
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

/* ---- the host as the placement engine sees it ---- */


/* The pool type for vGPU type VT among the GPU's types (from FIRST on),
 * added when new. */
static struct placement_type *vgpu_placement_type(struct vmgpu_pool *p, size_t first,
						  const struct vmgpu_vgpu_type *vt)
{
	for (size_t k = first; k < p->n_types; k++)
		if (strcmp(p->types[k].name, vt->name) == 0)
			return &p->types[k];
	p->types[p->n_types] = (struct placement_type){ .name = vt->name, .vram_mib = vt->vram_mib };
	return &p->types[p->n_types++];
}

/* vGPU type ID as one of parent PI's VFs lists it */
static const struct vmgpu_vgpu_type *vgpu_type_by_id(const struct vmgpu_partitions *s, size_t pi, unsigned id)
{
	for (size_t v = 0; v < vmgpu_partitions_n_vf_vgpus(s, pi); v++)
		for (size_t c = 0; c < vmgpu_partitions_n_vf_vgpu_types(s, pi, v); c++) {
			const struct vmgpu_vgpu_type *vt = vmgpu_partitions_vf_vgpu_type(s, pi, v, c);
			if (vt->id == id)
				return vt;
		}
	return NULL;
}

static void parent_types(struct vmgpu_pool *p, size_t gi, const struct vmgpu_partition_parent *par, size_t pi)
{
	struct placement_gpu *g = &p->gpus[gi];
	size_t first = p->n_types;
	unsigned used = 0, other_room = 0;
	const char *in_use = NULL;

	for (size_t m = 0; m < vmgpu_partitions_n_mdevs(p->parts); m++) {
		const struct vmgpu_mdev *md = vmgpu_partitions_mdev(p->parts, m);
		if (strcmp(md->parent, par->name) == 0) {
			used++;
			in_use = md->type;
		}
	}
	for (size_t t = 0; in_use && t < vmgpu_partitions_n_mdev_types(p->parts, pi); t++) {
		const struct vmgpu_mdev_type *mt = vmgpu_partitions_mdev_type(p->parts, pi, t);
		if (strcmp(mt->id, in_use) != 0 && mt->available > 0)
			other_room++;
	}
	/*
	 * Parents that cannot mix types (NVIDIA GRID) report no room for any
	 * type but the one in use: the engine must then stay on that type.
	 * Parents that can (mbochs, GVT-g) still offer the others; there the
	 * driver's available_instances is the whole truth, and the parent is
	 * offered as if empty.
	 */
	if (used && !other_room) {
		g->current_type = in_use;
		g->used_slices = used;
	} else {
		used = 0;
	}
	for (size_t t = 0; t < vmgpu_partitions_n_mdev_types(p->parts, pi); t++) {
		const struct vmgpu_mdev_type *mt = vmgpu_partitions_mdev_type(p->parts, pi, t);
		unsigned avail = mt->available > 0 ? (unsigned)mt->available : 0;
		p->types[p->n_types++] = (struct placement_type){
			.name = mt->id, .vram_mib = mt->vram_mib, .available = avail, .instances = avail + used,
		};
	}
	/*
	 * NVIDIA vGPU on VFs: one vGPU per VF. A free VF counts for every type
	 * it can take; a VF with a vGPU for its type, which becomes the GPU's
	 * current one (time-sliced vGPUs of one GPU share a type). A type we
	 * cannot name, or two types in use, leave current_type unset: with
	 * used_slices the GPU then takes nothing more.
	 */
	bool mixed = false;
	for (size_t v = 0; v < vmgpu_partitions_n_vf_vgpus(p->parts, pi); v++) {
		const struct vmgpu_vf_vgpu *vf = vmgpu_partitions_vf_vgpu(p->parts, pi, v);
		const struct vmgpu_vgpu_type *cur;
		struct placement_type *t;
		if (!vf->current) {
			for (size_t c = 0; c < vmgpu_partitions_n_vf_vgpu_types(p->parts, pi, v); c++) {
				t = vgpu_placement_type(p, first, vmgpu_partitions_vf_vgpu_type(p->parts, pi, v, c));
				t->instances++;
				t->available++;
			}
			continue;
		}
		g->used_slices++;
		if (!(cur = vgpu_type_by_id(p->parts, pi, vf->current))) {
			mixed = true;
			continue;
		}
		vgpu_placement_type(p, first, cur)->instances++;
		mixed |= g->current_type && strcmp(g->current_type, cur->name) != 0;
		g->current_type = cur->name;
	}
	if (mixed)
		g->current_type = NULL;
	g->types = &p->types[first];
	g->n_types = p->n_types - first;
}

static int pool_inventory(struct vmgpu_pool *p)
{
	size_t np, max_types = 0;
	int r;

	if ((r = vmgpu_partitions_read(p->host, &p->parts)) < 0)
		return r;
	np = vmgpu_partitions_n_parents(p->parts);
	for (size_t i = 0; i < np; i++) {
		max_types += vmgpu_partitions_n_mdev_types(p->parts, i);
		for (size_t v = 0; v < vmgpu_partitions_n_vf_vgpus(p->parts, i); v++)
			max_types += vmgpu_partitions_n_vf_vgpu_types(p->parts, i, v);
	}
	p->gpus = calloc(np ? np : 1, sizeof(*p->gpus));
	p->pidx = calloc(np ? np : 1, sizeof(*p->pidx));
	p->types = calloc(max_types ? max_types : 1, sizeof(*p->types));
	if (!p->gpus || !p->pidx || !p->types)
		return -ENOMEM;
	for (size_t i = 0; i < np; i++) {
		const struct vmgpu_partition_parent *par = vmgpu_partitions_parent(p->parts, i);
		struct vmgpu_dev *d = par->dev;
		struct placement_gpu *g = &p->gpus[p->n_gpus];
		struct vmgpu_verdict *v = NULL;

		if (d && !vmgpu_dev_is_display(d) && vmgpu_partitions_n_mdev_types(p->parts, i) == 0)
			continue; /* an SR-IOV NIC or disk: not a GPU for a desktop */
		*g = (struct placement_gpu){ .id = par->name, .iommu_group = d ? d->iommu_group : -1 };
		if (d && vmgpu_dev_judge(p->host, d, &v) == 0) {
			/* a GPU whose VFs are enabled is being sliced, not passed */
			g->dedicable = vmgpu_verdict_kind(v) != VMGPU_VERDICT_BLOCKED && par->sriov_num_vfs <= 0;
			vmgpu_verdict_unref(v);
		}
		g->busy = d && is_vfio(d->driver);
		g->share_capacity = par->render_node && !g->busy ? p->share_per_gpu : 0;
		p->pidx[p->n_gpus] = i;
		parent_types(p, p->n_gpus, par, i);
		p->n_gpus++;
	}
	return 0;
}

VMGPU_EXPORT struct vmgpu_pool *vmgpu_pool_unref(struct vmgpu_pool *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_desktops; i++)
		free(p->names[i]);
	free(p->names);
	free(p->desktops);
	free(p->gpus);
	free(p->pidx);
	free(p->types);
	placement_result_free(&p->result); /* all NULL unless solved */
	vmgpu_partitions_unref(p->parts);
	vmgpu_host_unref(p->host);
	free(p);
	return NULL;
}

VMGPU_EXPORT int vmgpu_pool_new(struct vmgpu_host *host, const char *json, struct vmgpu_pool **ret, char **ret_report)
{
	struct vmgpu_pool *p;
	int r;

	if (ret_report)
		*ret_report = NULL;
	assert_return(host, -EINVAL);
	assert_return(json, -EINVAL);
	assert_return(ret, -EINVAL);
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	p->host = vmgpu_host_ref(host);
	if ((r = pool_parse(p, json, ret_report)) < 0 || (r = pool_inventory(p)) < 0 ||
	    (r = placement_solve(p->gpus, p->n_gpus, p->desktops, p->n_desktops, &p->result)) < 0) {
		vmgpu_pool_unref(p);
		return r;
	}
	*ret = p;
	return 0;
}

VMGPU_EXPORT size_t vmgpu_pool_n_desktops(const struct vmgpu_pool *p)
{
	assert_return(p, 0);
	return p->n_desktops;
}

static const char *const want_names[] = {
	[PLACEMENT_DEDICATED] = "dedicated", [PLACEMENT_SLICE] = "slice", [PLACEMENT_SHARED] = "shared"
};

static const struct placement_place *place_of(const struct vmgpu_pool *p, size_t desktop)
{
	size_t lo = 0, hi = p->result.n_places;

	while (lo < hi) { /* places are by ascending desktop index */
		size_t mid = lo + (hi - lo) / 2;
		if (p->result.places[mid].desktop == desktop)
			return &p->result.places[mid];
		if (p->result.places[mid].desktop < desktop)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

VMGPU_EXPORT int vmgpu_pool_placed(const struct vmgpu_pool *p, size_t i, struct vmgpu_placed *ret)
{
	const struct placement_place *pl;

	assert_return(p, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= p->n_desktops)
		return -ENOENT;
	pl = place_of(p, i);
	*ret = (struct vmgpu_placed){
		.desktop = p->desktops[i].name,
		.want = want_names[p->desktops[i].want],
		.vram_mib = p->desktops[i].min_vram_mib,
	};
	if (!pl) {
		ret->why = placement_why(p->gpus, p->n_gpus, &p->desktops[i]);
		return 0;
	}
	ret->gpu = p->gpus[pl->gpu].id;
	ret->slice_type = pl->type;
	if (p->desktops[i].want == PLACEMENT_SHARED)
		ret->render_node = vmgpu_partitions_parent(p->parts, p->pidx[pl->gpu])->render_node;
	return 0;
}

VMGPU_EXPORT void vmgpu_pool_stats(const struct vmgpu_pool *p, size_t *ret_gpus_used, size_t *ret_lower_bound,
				   size_t *ret_unplaced)
{
	if (!p)
		return;
	*ret_gpus_used = p->result.gpus_used;
	*ret_lower_bound = p->result.lower_bound;
	*ret_unplaced = p->result.n_unplaced;
}

static int push_plan(struct vmgpu_plan ***plans, size_t *n, struct vmgpu_plan *plan)
{
	struct vmgpu_plan **np = realloc(*plans, (*n + 1) * sizeof(*np));

	if (!np) {
		vmgpu_plan_unref(plan);
		return -ENOMEM;
	}
	np[(*n)++] = plan;
	*plans = np;
	return 0;
}

/* A free VF of GPU G that can take vGPU type NAME; marks it taken.
 * TAKEN is indexed by VF_BASE[parent index] + the VF's index. */
static struct vmgpu_dev *take_vf(struct vmgpu_pool *p, size_t g, const char *name, bool *taken, const size_t *vf_base,
				 unsigned *ret_id)
{
	size_t pi = p->pidx[g];

	for (size_t v = 0; v < vmgpu_partitions_n_vf_vgpus(p->parts, pi); v++) {
		const struct vmgpu_vf_vgpu *vf = vmgpu_partitions_vf_vgpu(p->parts, pi, v);
		if (vf->current || taken[vf_base[pi] + v])
			continue;
		for (size_t c = 0; c < vmgpu_partitions_n_vf_vgpu_types(p->parts, pi, v); c++) {
			const struct vmgpu_vgpu_type *vt = vmgpu_partitions_vf_vgpu_type(p->parts, pi, v, c);
			if (strcmp(vt->name, name) == 0) {
				taken[vf_base[pi] + v] = true;
				*ret_id = vt->id;
				return vf->vf;
			}
		}
	}
	return NULL;
}

static bool is_mdev_type(const struct vmgpu_partitions *s, size_t pi, const char *type)
{
	for (size_t t = 0; t < vmgpu_partitions_n_mdev_types(s, pi); t++)
		if (strcmp(vmgpu_partitions_mdev_type(s, pi, t)->id, type) == 0)
			return true;
	return false;
}

VMGPU_EXPORT int vmgpu_pool_plans(struct vmgpu_pool *p, unsigned flags, struct vmgpu_plan ***ret, size_t *ret_n)
{
	assert_return(p, -EINVAL);
	assert_return(ret, -EINVAL);
	assert_return(ret_n, -EINVAL);

	size_t np = vmgpu_partitions_n_parents(p->parts), n_vfs = 0;
	struct vmgpu_plan **plans = NULL, *plan;
	struct vmgpu_dev **dedicated = calloc(p->n_desktops ? p->n_desktops : 1, sizeof(*dedicated));
	unsigned *mdevs = calloc(p->n_gpus ? p->n_gpus : 1, sizeof(*mdevs)); /* mdev slices per GPU */
	size_t *vf_base = calloc(np + 1, sizeof(*vf_base));
	bool *taken = NULL;
	size_t n = 0, nd = 0;
	int r = 0;

	for (size_t i = 0; vf_base && i < np; i++)
		vf_base[i + 1] = n_vfs += vmgpu_partitions_n_vf_vgpus(p->parts, i);
	taken = calloc(n_vfs ? n_vfs : 1, sizeof(*taken));
	if (!dedicated || !mdevs || !vf_base || !taken) {
		r = -ENOMEM;
		goto out;
	}
	/* A GPU holds one slice type: its mdevs are one create plan, made
	 * where its first slice is placed. */
	for (size_t i = 0; i < p->result.n_places; i++) {
		const struct placement_place *pl = &p->result.places[i];
		mdevs[pl->gpu] += p->desktops[pl->desktop].want == PLACEMENT_SLICE &&
				  is_mdev_type(p->parts, p->pidx[pl->gpu], pl->type);
	}
	for (size_t i = 0; i < p->result.n_places && r == 0; i++) {
		const struct placement_place *pl = &p->result.places[i];
		const struct vmgpu_partition_parent *par = vmgpu_partitions_parent(p->parts, p->pidx[pl->gpu]);
		const struct placement_desktop *d = &p->desktops[pl->desktop];
		unsigned id;
		struct vmgpu_dev *vf;

		if (d->want == PLACEMENT_DEDICATED)
			dedicated[nd++] = par->dev;
		if (d->want != PLACEMENT_SLICE)
			continue;
		if (is_mdev_type(p->parts, p->pidx[pl->gpu], pl->type)) {
			if (mdevs[pl->gpu] == 0)
				continue; /* in its GPU's plan already */
			if ((r = plan_mdev_create_in(p->host, p->parts, par->name, pl->type, mdevs[pl->gpu], flags,
						     &plan)) == 0)
				r = push_plan(&plans, &n, plan);
			mdevs[pl->gpu] = 0;
		} else if ((vf = take_vf(p, pl->gpu, pl->type, taken, vf_base, &id))) {
			if ((r = vmgpu_plan_vgpu(p->host, vf, id, flags, &plan)) == 0)
				r = push_plan(&plans, &n, plan);
		} else {
			r = -ENOSPC; /* placed on more VFs than are free: the inventory and placement disagree */
		}
	}
	if (r == 0 && nd) {
		if ((r = vmgpu_plan_assign(p->host, dedicated, nd, flags, &plan)) == 0)
			r = push_plan(&plans, &n, plan);
	}
out:
	free(dedicated);
	free(mdevs);
	free(vf_base);
	free(taken);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			vmgpu_plan_unref(plans[i]);
		free(plans);
		return r;
	}
	*ret = plans;
	*ret_n = n;
	return 0;
}

/* The pool file parser alone, for the fuzzer: 0 or -EINVAL with *err. */
int pool_parse_check(const char *text, char **err)
{
	struct vmgpu_pool p = { 0 };
	int r = pool_parse(&p, text, err);

	for (size_t i = 0; i < p.n_desktops; i++)
		free(p.names[i]);
	free(p.names);
	free(p.desktops);
	return r;
}
