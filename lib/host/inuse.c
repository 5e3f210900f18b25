/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Is the host using this PCI function right now? Taking a function away
 * from its driver while the host uses it crashes or hangs the host:
 *  - a disk with a mounted filesystem, swap, or a device-mapper/MD volume
 *    on top (the classic "bound the whole group, lost the boot NVMe");
 *  - the network interface carrying the default route;
 *  - a device node held open by a process (a desktop session on the GPU's
 *    /dev/dri/card0, nvidia-persistenced on /dev/nvidia0, PipeWire on
 *    /dev/snd/pcmC1D3p, QEMU on /dev/vfio/N): unbind then waits forever.
 * Everything is found from the function's own sysfs directory: the class
 * devices below it (block/, net/, drm/, sound/, nvme/) name the nodes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "inuse.h"

#define WALK_DEPTH 8

struct walk {
	struct vmgpu_ctx *ctx;
	struct dev_nodes *nodes;
};

static int nodes_add(char ***list, size_t *n, const char *s)
{
	char **nl;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return 0;
	nl = realloc(*list, (*n + 1) * sizeof(*nl));
	if (!nl || !(nl[*n] = strdup(s)))
		return -ENOMEM;
	*list = nl;
	(*n)++;
	return 0;
}

void inuse_nodes_free(struct dev_nodes *dn)
{
	for (size_t i = 0; i < dn->n_paths; i++)
		free(dn->paths[i]);
	for (size_t i = 0; i < dn->n_blocks; i++)
		free(dn->blocks[i]);
	for (size_t i = 0; i < dn->n_netifs; i++)
		free(dn->netifs[i]);
	free(dn->paths);
	free(dn->blocks);
	free(dn->netifs);
	memset(dn, 0, sizeof(*dn));
}

int inuse_nodes_add_paths(struct dev_nodes *into, const struct dev_nodes *from)
{
	for (size_t i = 0; i < from->n_paths; i++)
		if (nodes_add(&into->paths, &into->n_paths, from->paths[i]) < 0)
			return -ENOMEM;
	return 0;
}

bool inuse_nodes_has_path(const struct dev_nodes *dn, const char *path)
{
	for (size_t i = 0; i < dn->n_paths; i++)
		if (strcmp(dn->paths[i], path) == 0)
			return true;
	return false;
}

/* A class device directory: what /dev node or interface it stands for. */
static void classify(struct walk *w, int dfd, const char *name)
{
	char subsys[64], path[300];

	if (root_link_basename(dfd, "subsystem", subsys, sizeof(subsys)) < 0)
		return;
	if (strcmp(subsys, "block") == 0) {
		(void)nodes_add(&w->nodes->blocks, &w->nodes->n_blocks, name);
		snprintf(path, sizeof(path), "/dev/%s", name);
	} else if (strcmp(subsys, "drm") == 0) {
		snprintf(path, sizeof(path), "/dev/dri/%s", name);
	} else if (strcmp(subsys, "sound") == 0) {
		snprintf(path, sizeof(path), "/dev/snd/%s", name);
	} else if (strcmp(subsys, "net") == 0) {
		(void)nodes_add(&w->nodes->netifs, &w->nodes->n_netifs, name);
		return;
	} else if (strcmp(subsys, "nvme") == 0 || strcmp(subsys, "nvme-generic") == 0 ||
		   strcmp(subsys, "infiniband_verbs") == 0) {
		snprintf(path, sizeof(path), "/dev/%s", name);
	} else {
		return;
	}
	(void)nodes_add(&w->nodes->paths, &w->nodes->n_paths, path);
}

static void walk_dir(struct walk *w, int dfd, unsigned depth)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct pci_address a;
		int sub;

		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		/* Another PCI function (below a bridge) is not ours. */
		if (parse_sysfs_address(de->d_name, &a) == 0)
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		classify(w, sub, de->d_name);
		if (depth < WALK_DEPTH)
			walk_dir(w, sub, depth + 1);
		close(sub);
	}
	closedir(d);
}

/* NVIDIA's proprietary driver names its node by minor, not in sysfs. */
static void nvidia_node(struct vmgpu_ctx *ctx, const struct vmgpu_dev *dev, struct dev_nodes *dn)
{
	_cleanup_free_ char *text = NULL;
	char path[128];
	const char *p;
	int minor;

	snprintf(path, sizeof(path), "proc/driver/nvidia/gpus/%s/information", dev->address);
	if (root_read_text(ctx, path, &text, NULL) < 0 || !(p = strstr(text, "Device Minor:")))
		return;
	if (sscanf(p, "Device Minor: %d", &minor) == 1 && minor >= 0 && minor < 256) {
		snprintf(path, sizeof(path), "/dev/nvidia%d", minor);
		(void)nodes_add(&dn->paths, &dn->n_paths, path);
	}
}

int inuse_find_nodes(struct vmgpu_ctx *ctx, const struct vmgpu_dev *dev, struct dev_nodes *ret)
{
	char rel[512];
	struct walk w = { ctx, ret };
	int dfd;

	memset(ret, 0, sizeof(*ret));
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", dev->address);
	dfd = root_openat(ctx, ctx->root_fd, rel, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	walk_dir(&w, dfd, 0);
	close(dfd);
	nvidia_node(ctx, dev, ret);
	if (dev->iommu_group >= 0) {
		snprintf(rel, sizeof(rel), "/dev/vfio/%d", dev->iommu_group);
		(void)nodes_add(&ret->paths, &ret->n_paths, rel);
	}
	return 0;
}

/* "maj:min" of block device NAME (sys/class/block/NAME/dev). */
static int block_devnum(struct vmgpu_ctx *ctx, const char *name, char *buf, size_t sz)
{
	char path[300];

	snprintf(path, sizeof(path), "sys/class/block/%s/dev", name);
	return root_read_str(ctx, path, buf, sz);
}

/* NAME, its partitions and whatever is stacked on them (holders/: dm, md). */
static void block_family(struct vmgpu_ctx *ctx, const char *name, char ***out, size_t *n, unsigned depth)
{
	char path[300];
	DIR *d;
	struct dirent *de;

	if (depth > 4 || nodes_add(out, n, name) < 0)
		return;
	const char *subs[] = { "holders", "" };
	for (size_t s = 0; s < ARRAY_SIZE(subs); s++) {
		snprintf(path, sizeof(path), "sys/class/block/%s/%s", name, subs[s]);
		if (root_opendir(ctx, path, &d) < 0)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			/* Partitions are subdirectories named after the disk. */
			if (*subs[s] || strncmp(de->d_name, name, strlen(name)) == 0)
				block_family(ctx, de->d_name, out, n, depth + 1);
		}
		closedir(d);
	}
}

int inuse_block(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, char *desc, size_t descsz)
{
	_cleanup_free_ char *mounts = NULL, *swaps = NULL;
	char **family = NULL;
	size_t nf = 0;
	int found = 0;

	if (dn->n_blocks == 0)
		return 0;
	(void)root_read_text(ctx, "proc/self/mountinfo", &mounts, NULL);
	(void)root_read_text(ctx, "proc/swaps", &swaps, NULL);
	for (size_t i = 0; i < dn->n_blocks; i++)
		block_family(ctx, dn->blocks[i], &family, &nf, 0);
	for (size_t i = 0; i < nf && !found; i++) {
		char num[32], pat[48], dev[300];
		/* mountinfo: "36 35 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw" */
		if (mounts && block_devnum(ctx, family[i], num, sizeof(num)) == 0) {
			snprintf(pat, sizeof(pat), " %s ", num);
			for (const char *l = mounts; l && *l && !found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
				const char *nl = strchr(l, '\n');
				const char *hit = strstr(l, pat);
				if (hit && (!nl || hit < nl)) {
					const char *mp = hit + strlen(pat);
					mp = strchr(mp, ' ');
					snprintf(desc, descsz, "/dev/%s is mounted%s%.*s", family[i], mp ? " on " : "",
						 mp ? (int)strcspn(mp + 1, " \n") : 0, mp ? mp + 1 : "");
					found = 1;
				}
			}
		}
		snprintf(dev, sizeof(dev), "/dev/%s ", family[i]);
		if (!found && swaps && strstr(swaps, dev)) {
			snprintf(desc, descsz, "/dev/%s is in use as swap", family[i]);
			found = 1;
		}
	}
	for (size_t i = 0; i < nf; i++)
		free(family[i]);
	free(family);
	return found;
}

/*
 * proc/net/route: "Iface Destination Gateway Flags ..." with Destination
 * 00000000 for the default route; proc/net/ipv6_route: destination all
 * zeros, prefix length 00, interface in the last column.
 */
int inuse_default_route(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, char *desc, size_t descsz)
{
	_cleanup_free_ char *v4 = NULL, *v6 = NULL;

	if (dn->n_netifs == 0)
		return 0;
	(void)root_read_text(ctx, "proc/net/route", &v4, NULL);
	(void)root_read_text(ctx, "proc/net/ipv6_route", &v6, NULL);
	for (size_t i = 0; i < dn->n_netifs; i++) {
		const char *ifn = dn->netifs[i];
		for (const char *l = v4; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			char name[64], dest[16];
			if (sscanf(l, "%63s %15s", name, dest) == 2 && strcmp(name, ifn) == 0 &&
			    strcmp(dest, "00000000") == 0) {
				snprintf(desc, descsz, "%s carries the default route", ifn);
				return 1;
			}
		}
		for (const char *l = v6; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			char dest[40], plen[4], name[64];
			if (sscanf(l, "%39s %3s %*s %*s %*s %*s %*s %*s %*s %63s", dest, plen, name) == 3 &&
			    strcmp(name, ifn) == 0 && strcmp(plen, "00") == 0 &&
			    strspn(dest, "0") == strlen(dest)) {
				snprintf(desc, descsz, "%s carries the IPv6 default route", ifn);
				return 1;
			}
		}
	}
	return 0;
}

/* Every process holding one of the nodes open (proc/<pid>/fd/<n> links). */
int inuse_openers(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, struct opener **ret, size_t *ret_n,
		bool *ret_incomplete)
{
	struct opener *list = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *proc;

	*ret = NULL;
	*ret_n = 0;
	*ret_incomplete = false;
	if (dn->n_paths == 0 || root_opendir(ctx, "proc", &proc) < 0)
		return 0;
	while ((de = readdir(proc))) {
		char fdpath[300], target[300];
		struct dirent *fe;
		DIR *fds;
		int pid;

		if (parse_int(de->d_name, 10, &pid) < 0 || pid <= 0)
			continue;
		snprintf(fdpath, sizeof(fdpath), "proc/%d/fd", pid);
		int r = root_opendir(ctx, fdpath, &fds);
		if (r < 0) {
			if (r == -EACCES || r == -EPERM)
				*ret_incomplete = true; /* another user's process, and we are not root */
			continue;
		}
		while ((fe = readdir(fds))) {
			if (fe->d_name[0] == '.' || root_readlinkat(dirfd(fds), fe->d_name, target, sizeof(target)) < 0)
				continue;
			if (!inuse_nodes_has_path(dn, target))
				continue;
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = list[i].pid == pid && strcmp(list[i].node, target) == 0;
			if (dup || n >= 32)
				continue;
			struct opener *nl = realloc(list, (n + 1) * sizeof(*nl));
			if (!nl)
				break;
			list = nl;
			list[n] = (struct opener){ .pid = pid };
			snprintf(list[n].node, sizeof(list[n].node), "%s", target);
			snprintf(fdpath, sizeof(fdpath), "proc/%d/comm", pid);
			if (root_read_str(ctx, fdpath, list[n].comm, sizeof(list[n].comm)) < 0)
				strcpy(list[n].comm, "?");
			n++;
		}
		closedir(fds);
	}
	closedir(proc);
	*ret = list;
	*ret_n = n;
	return 0;
}
