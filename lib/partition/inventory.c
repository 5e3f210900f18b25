/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a host offers for splitting GPUs among VMs, read from sysfs:
 *   SR-IOV     devices/<pf>/sriov_{totalvfs,numvfs,drivers_autoprobe}, virtfnN
 *   mdev       class/mdev_bus/<parent>/mdev_supported_types/<type>/
 *              {name,description,device_api,available_instances,create};
 *              instances in bus/mdev/devices/<uuid> (mdev_type -> its type)
 *   NVIDIA vGPU on VFs (vGPU 17+, Ada/Hopper and later):
 *              devices/<vf>/nvidia/{creatable_vgpu_types,current_vgpu_type}
 *   paravirtual sharing: the GPU's DRM render node (drm/renderD*), which
 *              virtio-gpu with virgl/venus renders on for many VMs
 *   NVIDIA MIG: from NVML when the driver's library is there (mig.c)
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "inuse.h"
#include "mig.h"
#include "partition.h"

/* The public parts and the arrays behind their accessors: a caller never
 * indexes an array of a public struct with its own sizeof. */
struct split_parent {
	struct vmgpu_partition_parent pub;
	struct vmgpu_mdev_type *mdev_types;
	size_t n_mdev_types;
};

struct vf_vgpu {
	struct vmgpu_vf_vgpu pub;
	const struct vmgpu_vgpu_type *creatable;
	size_t n_creatable;
};

struct vf_vgpu_list {
	struct vf_vgpu *v;
	size_t n;
};

struct vmgpu_partitions {
	struct vmgpu_host *host;
	struct split_parent *parents;
	size_t n_parents;
	struct vmgpu_mdev *mdevs;
	size_t n_mdevs;
	struct vf_vgpu_list *vgpus; /* per parent */
	struct nvml_mig *migs;      /* per parent */
	char **strings;             /* everything the structures point to */
	size_t n_strings;
	bool failed;
};

static const char *keep(struct vmgpu_partitions *s, char *str)
{
	char **n;

	if (!str)
		return NULL;
	n = realloc(s->strings, (s->n_strings + 1) * sizeof(*n));
	if (!n) {
		free(str);
		s->failed = true;
		return NULL;
	}
	s->strings = n;
	n[s->n_strings++] = str;
	return str;
}

static const char *keep_dup(struct vmgpu_partitions *s, const char *str)
{
	return str ? keep(s, strdup(str)) : NULL;
}

/* Attribute ATTR of the mdev type directory TFD, malloc'ed, NULL when
 * unreadable (GVT-g descriptions run to several lines). */
static char *type_attr(int tfd, const char *attr)
{
	char buf[1024];

	return tfd >= 0 && root_attr_read(tfd, attr, buf, sizeof(buf)) == 0 ? strdup(buf) : NULL;
}

/*
 * VRAM of an mdev type, from what its driver says about it:
 *   NVIDIA GRID  description "num_heads=4, frl_config=60, framebuffer=2048M, ..."
 *   mbochs       description "virtual display, 16 MB video memory"
 *   Intel GVT-g  description "low_gm_size: 128MB\nhigh_gm_size: 512MB\n..."
 *   vGPU names   "GRID P40-2Q", "NVIDIA A40-8Q": the number is GiB
 * Returns 0 when nothing says.
 */
uint64_t inventory_parse_vram_mib(const char *name, const char *description)
{
	const char *p;
	unsigned long long v, lo, hi;
	char unit;

	if (description) {
		if ((p = strstr(description, "framebuffer=")) && sscanf(p, "framebuffer=%llu%c", &v, &unit) == 2 && v)
			return unit == 'G' ? v * 1024 : unit == 'M' ? v : v >> 20;
		if ((p = strstr(description, "low_gm_size: ")) && sscanf(p, "low_gm_size: %lluMB", &lo) == 1 &&
		    (p = strstr(description, "high_gm_size: ")) && sscanf(p, "high_gm_size: %lluMB", &hi) == 1)
			return lo + hi;
		for (p = description; *p; p++)
			if (isdigit((unsigned char)*p) && (p == description || !isalnum((unsigned char)p[-1])) &&
			    sscanf(p, "%llu MB", &v) == 1 && strstr(p, " MB") && strstr(p, " MB") - p < 12)
				return v;
	}
	/* "...-8Q", "...-16A": a dash, a number, one profile letter, end. */
	if (name && (p = strrchr(name, '-')) && sscanf(p + 1, "%llu%c", &v, &unit) == 2 && isupper((unsigned char)unit) &&
	    p[1 + strspn(p + 1, "0123456789") + 1] == '\0' && v > 0 && v <= 1024)
		return v * 1024;
	return 0;
}

/* Smallest slice first (VRAM, then name): a stable order for people and
 * for placement. */
static int type_cmp(const void *a, const void *b)
{
	const struct vmgpu_mdev_type *x = a, *y = b;

	if (x->vram_mib != y->vram_mib)
		return x->vram_mib < y->vram_mib ? -1 : 1;
	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

/* mdev_supported_types of the parent whose sysfs directory is PDIR. */
static void read_mdev_types(struct vmgpu_partitions *s, const char *pdir, struct split_parent *p)
{
	struct vmgpu_ctx *ctx = s->host->ctx;
	struct vmgpu_mdev_type *types = NULL;
	char path[512];
	struct dirent *de;
	DIR *d;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/mdev_supported_types", pdir);
	if (root_opendir(ctx, path, &d) < 0)
		return;
	while ((de = readdir(d))) {
		struct vmgpu_mdev_type *t, *nt;
		char *avail;
		if (de->d_name[0] == '.')
			continue;
		nt = realloc(types, (n + 1) * sizeof(*nt));
		if (!nt) {
			s->failed = true;
			break;
		}
		types = nt;
		t = &types[n++];
		memset(t, 0, sizeof(*t));
		/* relative to the types directory: one path resolution per type */
		_cleanup_close_ int tfd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		t->id = keep_dup(s, de->d_name);
		t->name = keep(s, type_attr(tfd, "name"));
		t->description = keep(s, type_attr(tfd, "description"));
		t->device_api = keep(s, type_attr(tfd, "device_api"));
		avail = type_attr(tfd, "available_instances");
		t->available = -1;
		if (avail)
			(void)parse_int(avail, 10, &t->available);
		free(avail);
		t->vram_mib = inventory_parse_vram_mib(t->name ? t->name : t->id, t->description);
	}
	closedir(d);
	if (n > 1)
		qsort(types, n, sizeof(*types), type_cmp);
	p->mdev_types = types;
	p->n_mdev_types = n;
}

static struct split_parent *add_parent(struct vmgpu_partitions *s, const char *name, struct vmgpu_dev *dev)
{
	struct split_parent *n;

	for (size_t i = 0; i < s->n_parents; i++)
		if (strcmp(s->parents[i].pub.name, name) == 0)
			return &s->parents[i];
	n = realloc(s->parents, (s->n_parents + 1) * sizeof(*n));
	if (!n) {
		s->failed = true;
		return NULL;
	}
	s->parents = n;
	n = &s->parents[s->n_parents++];
	*n = (struct split_parent){ 0 };
	n->pub = (struct vmgpu_partition_parent){
		.name = keep_dup(s, name), .dev = dev, .sriov_total_vfs = -1, .sriov_num_vfs = -1, .sriov_autoprobe = -1,
	};
	return n;
}

static int attr_int(struct vmgpu_ctx *ctx, const char *addr, const char *attr)
{
	char path[256];
	int v;

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/%s", addr, attr);
	return root_read_int(ctx, path, &v) < 0 ? -1 : v;
}

static const char *render_node(struct vmgpu_partitions *s, const struct vmgpu_dev *d)
{
	struct dev_nodes dn;
	const char *r = NULL;

	if (inuse_find_nodes(s->host->ctx, d, &dn) < 0)
		return NULL;
	for (size_t i = 0; i < dn.n_paths && !r; i++)
		if (strncmp(dn.paths[i], "/dev/dri/renderD", 16) == 0)
			r = keep_dup(s, dn.paths[i]);
	inuse_nodes_free(&dn);
	return r;
}

/*
 * nvidia/creatable_vgpu_types is a table:
 *   ID    : vGPU Name
 *   557   : NVIDIA A40-1Q
 */
int inventory_parse_vgpu_types(const char *text, struct vmgpu_vgpu_type **ret, size_t *ret_n, char ***ret_names)
{
	struct vmgpu_vgpu_type *t = NULL;
	char **names = NULL;
	size_t n = 0;

	for (const char *l = text, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		unsigned id;
		int off = 0;
		char name[128];
		size_t len;

		nl = strchr(l, '\n');
		len = nl ? (size_t)(nl - l) : strlen(l);
		char line[256];

		if (len >= sizeof(line))
			continue;
		memcpy(line, l, len);
		line[len] = '\0';
		if (sscanf(line, " %u : %n", &id, &off) != 1 || off == 0)
			continue; /* the header, or garbage */
		snprintf(name, sizeof(name), "%s", line + off);
		void *nt = realloc(t, (n + 1) * sizeof(*t)), *nn;
		if (!nt)
			goto fail;
		t = nt;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn)
			goto fail;
		names = nn;
		if (!(names[n] = strdup(name)))
			goto fail;
		t[n] = (struct vmgpu_vgpu_type){ .id = id, .name = names[n], .vram_mib = inventory_parse_vram_mib(name, NULL) };
		n++;
	}
	*ret = t;
	*ret_n = n;
	*ret_names = names;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(t);
	return -ENOMEM;
}

static void read_vf_vgpus(struct vmgpu_partitions *s, size_t pi)
{
	struct vmgpu_ctx *ctx = s->host->ctx;
	struct vmgpu_partition_parent *p = &s->parents[pi].pub;
	struct vf_vgpu_list *list = &s->vgpus[pi];

	for (size_t i = 0; i < s->host->n_devs; i++) {
		struct vmgpu_dev *vf = s->host->devs[i];
		_cleanup_free_ char *text = NULL;
		char path[256];
		struct vmgpu_vgpu_type *types;
		char **names;
		size_t nt;
		int cur;

		if (!vf->physfn || strcmp(vf->physfn, p->name) != 0)
			continue;
		p->n_vfs++;
		/* NVIDIA's vGPU manager (vGPU 17+) adds nvidia/ to the VFs of
		 * its own GPUs only. */
		if (!p->dev || p->dev->vendor != PCI_VENDOR_NVIDIA)
			continue;
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types", vf->address);
		if (root_read_text(ctx, path, &text, NULL) < 0 || inventory_parse_vgpu_types(text, &types, &nt, &names) < 0)
			continue;
		for (size_t k = 0; k < nt; k++)
			keep(s, names[k]);
		free(names);
		keep(s, (char *)types);
		cur = attr_int(ctx, vf->address, "nvidia/current_vgpu_type");
		void *nl = realloc(list->v, (list->n + 1) * sizeof(*list->v));
		if (!nl) {
			s->failed = true;
			return;
		}
		list->v = nl;
		list->v[list->n++] = (struct vf_vgpu){ .pub = { .vf = vf, .current = cur > 0 ? (unsigned)cur : 0 },
						       .creatable = types,
						       .n_creatable = nt };
	}
}

/* Every parent in sys/class/mdev_bus, PCI or virtual. */
static void read_mdev_parents(struct vmgpu_partitions *s)
{
	struct dirent *de;
	DIR *d;

	if (root_opendir(s->host->ctx, "sys/class/mdev_bus", &d) < 0)
		return;
	while ((de = readdir(d))) {
		struct pci_address a;
		struct vmgpu_dev *dev = NULL;
		struct split_parent *p;
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		if (parse_sysfs_address(de->d_name, &a) == 0)
			dev = host_find_address(s->host, &a);
		if (!(p = add_parent(s, de->d_name, dev)))
			break;
		snprintf(path, sizeof(path), "sys/class/mdev_bus/%s", de->d_name);
		if (!p->mdev_types)
			read_mdev_types(s, path, p);
	}
	closedir(d);
}

static void read_mdevs(struct vmgpu_partitions *s)
{
	struct vmgpu_ctx *ctx = s->host->ctx;
	struct dirent *de;
	DIR *d;

	if (root_opendir(ctx, "sys/bus/mdev/devices", &d) < 0)
		return;
	while ((de = readdir(d))) {
		char path[300], type[128], target[512];
		struct vmgpu_mdev *n;
		char *slash;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "sys/bus/mdev/devices/%s", de->d_name);
		int dfd = root_openat(ctx, ctx->root_fd, path, O_PATH | O_DIRECTORY);
		if (dfd < 0)
			continue;
		if (root_link_basename(dfd, "mdev_type", type, sizeof(type)) < 0)
			type[0] = '\0';
		close(dfd);
		/* The instance lives below its parent: .../<parent>/<uuid>. */
		if (root_readlinkat(dirfd(d), de->d_name, target, sizeof(target)) < 0 || !(slash = strrchr(target, '/')))
			continue;
		*slash = '\0';
		slash = strrchr(target, '/');
		n = realloc(s->mdevs, (s->n_mdevs + 1) * sizeof(*n));
		if (!n) {
			s->failed = true;
			break;
		}
		s->mdevs = n;
		n[s->n_mdevs++] = (struct vmgpu_mdev){ .uuid = keep_dup(s, de->d_name), .type = keep_dup(s, type),
						       .parent = keep_dup(s, slash ? slash + 1 : target) };
	}
	closedir(d);
}

/* MIG of the NVIDIA GPUs the nvidia driver drives: NVML cannot see the
 * others (on vfio-pci, or on nouveau), and is not even opened without one. */
static bool nvml_sees(const struct vmgpu_dev *d)
{
	return d && d->vendor == PCI_VENDOR_NVIDIA && d->driver && strcmp(d->driver, "nvidia") == 0;
}

static void read_migs(struct vmgpu_partitions *s)
{
	bool any = false;

	for (size_t i = 0; i < s->n_parents && !any; i++)
		any = nvml_sees(s->parents[i].pub.dev);
	if (!any || nvml_begin(s->host->ctx) < 0)
		return;
	if (!(s->migs = calloc(s->n_parents, sizeof(*s->migs)))) {
		s->failed = true;
		goto out;
	}
	for (size_t i = 0; i < s->n_parents; i++) {
		struct vmgpu_partition_parent *p = &s->parents[i].pub;
		if (!nvml_sees(p->dev))
			continue;
		int r = nvml_read_mig(s->host->ctx, p->name, &s->migs[i]);
		if (r == -ENOMEM)
			s->failed = true;
		if (r == 0)
			p->mig = &s->migs[i].mig;
	}
out:
	nvml_end();
}

VMGPU_EXPORT int vmgpu_partitions_read(struct vmgpu_host *host, struct vmgpu_partitions **ret)
{
	struct vmgpu_partitions *s;

	assert_return(host, -EINVAL);
	assert_return(ret, -EINVAL);
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->host = vmgpu_host_ref(host);
	for (size_t i = 0; i < host->n_devs; i++) {
		struct vmgpu_dev *d = host->devs[i];
		int total = d->sriov_totalvfs_attr;
		struct split_parent *sp;
		struct vmgpu_partition_parent *p;
		char path[128];

		/* VFs are slices, not parents (a VF with mdev types still shows
		 * up below, through class/mdev_bus). */
		if (d->physfn || (!vmgpu_dev_is_display(d) && total <= 0))
			continue;
		if (!(sp = add_parent(s, d->address, d)))
			break;
		p = &sp->pub;
		p->sriov_total_vfs = total > 0 ? total : -1;
		p->sriov_num_vfs = total > 0 ? attr_int(host->ctx, d->address, "sriov_numvfs") : -1;
		p->sriov_autoprobe = total > 0 ? attr_int(host->ctx, d->address, "sriov_drivers_autoprobe") : -1;
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", d->address);
		read_mdev_types(s, path, sp);
		if (vmgpu_dev_is_display(d))
			p->render_node = render_node(s, d);
	}
	read_mdev_parents(s);
	read_mdevs(s);
	read_migs(s);
	s->vgpus = calloc(s->n_parents ? s->n_parents : 1, sizeof(*s->vgpus));
	if (!s->vgpus)
		s->failed = true;
	for (size_t i = 0; i < s->n_parents && !s->failed; i++)
		read_vf_vgpus(s, i);
	if (s->failed) {
		vmgpu_partitions_unref(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

VMGPU_EXPORT struct vmgpu_partitions *vmgpu_partitions_unref(struct vmgpu_partitions *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_parents; i++)
		free(s->parents[i].mdev_types);
	for (size_t i = 0; s->vgpus && i < s->n_parents; i++)
		free(s->vgpus[i].v);
	for (size_t i = 0; s->migs && i < s->n_parents; i++)
		nvml_mig_free(&s->migs[i]);
	free(s->migs);
	free(s->vgpus);
	free(s->parents);
	free(s->mdevs);
	for (size_t i = 0; i < s->n_strings; i++)
		free(s->strings[i]);
	free(s->strings);
	vmgpu_host_unref(s->host);
	free(s);
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_partitions_n_parents(const struct vmgpu_partitions *s)
{
	assert_return(s, 0);
	return s->n_parents;
}

VMGPU_EXPORT const struct vmgpu_partition_parent *vmgpu_partitions_parent(const struct vmgpu_partitions *s, size_t i)
{
	assert_return(s, NULL);
	return i < s->n_parents ? &s->parents[i].pub : NULL;
}

VMGPU_EXPORT size_t vmgpu_partitions_n_mdev_types(const struct vmgpu_partitions *s, size_t parent)
{
	assert_return(s, 0);
	return parent < s->n_parents ? s->parents[parent].n_mdev_types : 0;
}

VMGPU_EXPORT const struct vmgpu_mdev_type *vmgpu_partitions_mdev_type(const struct vmgpu_partitions *s, size_t parent, size_t i)
{
	assert_return(s, NULL);
	return i < vmgpu_partitions_n_mdev_types(s, parent) ? &s->parents[parent].mdev_types[i] : NULL;
}

VMGPU_EXPORT size_t vmgpu_partitions_n_mig_profiles(const struct vmgpu_partitions *s, size_t parent)
{
	assert_return(s, 0);
	return s->migs && parent < s->n_parents ? s->migs[parent].n_profiles : 0;
}

VMGPU_EXPORT const struct vmgpu_mig_profile *vmgpu_partitions_mig_profile(const struct vmgpu_partitions *s, size_t parent,
								     size_t i)
{
	assert_return(s, NULL);
	return i < vmgpu_partitions_n_mig_profiles(s, parent) ? &s->migs[parent].profiles[i] : NULL;
}

VMGPU_EXPORT size_t vmgpu_partitions_n_mdevs(const struct vmgpu_partitions *s)
{
	assert_return(s, 0);
	return s->n_mdevs;
}

VMGPU_EXPORT const struct vmgpu_mdev *vmgpu_partitions_mdev(const struct vmgpu_partitions *s, size_t i)
{
	assert_return(s, NULL);
	return i < s->n_mdevs ? &s->mdevs[i] : NULL;
}

VMGPU_EXPORT size_t vmgpu_partitions_n_vf_vgpus(const struct vmgpu_partitions *s, size_t parent)
{
	assert_return(s, 0);
	return parent < s->n_parents ? s->vgpus[parent].n : 0;
}

VMGPU_EXPORT const struct vmgpu_vf_vgpu *vmgpu_partitions_vf_vgpu(const struct vmgpu_partitions *s, size_t parent, size_t i)
{
	assert_return(s, NULL);
	return i < vmgpu_partitions_n_vf_vgpus(s, parent) ? &s->vgpus[parent].v[i].pub : NULL;
}

VMGPU_EXPORT size_t vmgpu_partitions_n_vf_vgpu_types(const struct vmgpu_partitions *s, size_t parent, size_t vf)
{
	assert_return(s, 0);
	return vf < vmgpu_partitions_n_vf_vgpus(s, parent) ? s->vgpus[parent].v[vf].n_creatable : 0;
}

VMGPU_EXPORT const struct vmgpu_vgpu_type *vmgpu_partitions_vf_vgpu_type(const struct vmgpu_partitions *s, size_t parent,
								    size_t vf, size_t i)
{
	assert_return(s, NULL);
	return i < vmgpu_partitions_n_vf_vgpu_types(s, parent, vf) ? &s->vgpus[parent].v[vf].creatable[i] : NULL;
}
