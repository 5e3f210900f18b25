/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "kernel-sim.h"
#include "testlib.h"

static struct ksim *sim_of(struct vmgpu_ctx *ctx)
{
	return ctx->kernel_data;
}

static void devpath(const struct ksim *k, const char *addr, const char *attr, char *buf, size_t sz)
{
	snprintf(buf, sz, "%.200s/sys/bus/pci/devices/%.23s/%.32s", k->root, addr, attr);
}

void ksim_driver(const struct ksim *k, const char *addr, char *buf, size_t sz)
{
	char p[512], t[512];
	ssize_t n;

	devpath(k, addr, "driver", p, sizeof(p));
	n = readlink(p, t, sizeof(t) - 1);
	buf[0] = '\0';
	if (n > 0) {
		t[n] = '\0';
		snprintf(buf, sz, "%s", strrchr(t, '/') ? strrchr(t, '/') + 1 : t);
	}
}

void ksim_override(const struct ksim *k, const char *addr, char *buf, size_t sz)
{
	char p[512];
	FILE *f;

	devpath(k, addr, "driver_override", p, sizeof(p));
	buf[0] = '\0';
	if ((f = fopen(p, "r"))) {
		if (fgets(buf, (int)sz, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	if (strcmp(buf, "(null)") == 0)
		buf[0] = '\0';
}

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -EIO;
}

static int find(const struct ksim *k, const char *addr)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->devs[i].addr, addr) == 0)
			return (int)i;
	return -1;
}

static bool group_has_vfio(const struct ksim *k, int group)
{
	char drv[64];

	for (size_t i = 0; i < k->n; i++) {
		if (k->devs[i].group != group)
			continue;
		ksim_driver(k, k->devs[i].addr, drv, sizeof(drv));
		if (strcmp(drv, "vfio-pci") == 0)
			return true;
	}
	return false;
}

static int bind(struct ksim *k, int i, const char *drv)
{
	char link[512], target[512], drvdir[512];

	snprintf(drvdir, sizeof(drvdir), "%s/sys/bus/pci/drivers/%s", k->root, drv);
	if (access(drvdir, F_OK) != 0)
		return -ENODEV; /* no such driver loaded: nothing binds */
	devpath(k, k->devs[i].addr, "driver", link, sizeof(link));
	/* An absolute-in-root target: vmgpu reads links confined to the root,
	 * so "/sys/..." resolves inside the fixture. */
	snprintf(target, sizeof(target), "/sys/bus/pci/drivers/%s", drv);
	if (symlink(target, link) < 0)
		return -errno;
	if (strcmp(drv, "vfio-pci") == 0 && k->devs[i].group >= 0) {
		char node[512];
		snprintf(node, sizeof(node), "%s/dev", k->root);
		mkdir(node, 0755);
		snprintf(node, sizeof(node), "%s/dev/vfio", k->root);
		mkdir(node, 0755);
		snprintf(node, sizeof(node), "%s/dev/vfio/%d", k->root, k->devs[i].group);
		put(node, "");
	}
	return 0;
}

/* echo UUID > class/mdev_bus/P/mdev_supported_types/T/create: the instance
 * appears below its parent and on the mdev bus; one instance fewer is
 * available. */
static int mdev_create(struct ksim *k, const char *path, const char *uuid)
{
	char parent[128], type[128], p[768], t[768], avail[32] = "";
	FILE *f;
	int n;

	if (sscanf(path, "sys/class/mdev_bus/%127[^/]/mdev_supported_types/%127[^/]/create", parent, type) != 2)
		return -EINVAL;
	snprintf(p, sizeof(p), "%s/sys/class/mdev_bus/%s/mdev_supported_types/%s/available_instances", k->root, parent, type);
	if ((f = fopen(p, "r"))) {
		if (!fgets(avail, sizeof(avail), f))
			avail[0] = '\0';
		fclose(f);
	}
	n = atoi(avail);
	if (n <= 0)
		return -ENOSPC;
	snprintf(avail, sizeof(avail), "%d\n", n - 1);
	put(p, avail);
	snprintf(p, sizeof(p), "%s/sys/class/mdev_bus/%s/%s", k->root, parent, uuid);
	if (mkdir(p, 0755) < 0)
		return -EEXIST;
	snprintf(p, sizeof(p), "%s/sys/class/mdev_bus/%s/%s/mdev_type", k->root, parent, uuid);
	snprintf(t, sizeof(t), "../mdev_supported_types/%s", type);
	symlink(t, p);
	snprintf(p, sizeof(p), "%s/sys/bus/mdev/devices", k->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sys/bus/mdev/devices/%s", k->root, uuid);
	snprintf(t, sizeof(t), "/sys/class/mdev_bus/%s/%s", parent, uuid);
	return symlink(t, p) < 0 ? -errno : 0;
}

static int mdev_remove(struct ksim *k, const char *path)
{
	char uuid[64], p[1024], t[400];
	ssize_t n;

	if (sscanf(path, "sys/bus/mdev/devices/%63[^/]/remove", uuid) != 1)
		return -EINVAL;
	snprintf(p, sizeof(p), "%s/sys/bus/mdev/devices/%s", k->root, uuid);
	if ((n = readlink(p, t, sizeof(t) - 1)) < 0)
		return -ENOENT;
	t[n] = '\0';
	unlink(p);
	snprintf(p, sizeof(p), "%s%s/mdev_type", k->root, t);
	{
		/* the instance is available again */
		char tl[256], ap[1100], buf[32] = "";
		ssize_t m = readlink(p, tl, sizeof(tl) - 1);
		FILE *f;
		if (m > 0) {
			tl[m] = '\0';
			snprintf(ap, sizeof(ap), "%s%s/%s/available_instances", k->root, t, tl);
			if ((f = fopen(ap, "r"))) {
				if (!fgets(buf, sizeof(buf), f))
					buf[0] = '\0';
				fclose(f);
				snprintf(buf, sizeof(buf), "%d\n", atoi(buf) + 1);
				put(ap, buf);
			}
		}
	}
	unlink(p);
	snprintf(p, sizeof(p), "%s%s", k->root, t);
	return rmdir(p) < 0 ? -errno : 0;
}

/* modprobe vfio-pci: the module and its PCI driver appear. */
static int sim_load_module(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz)
{
	struct ksim *k = sim_of(ctx);
	char p[512];

	if (k->fail_write && ++k->writes == k->fail_write)
		return -EIO;
	snprintf(p, sizeof(p), "%s/sys/module", k->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sys/module/vfio_pci", k->root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci", k->root);
	mkdir(p, 0755);
	return 0;
}

/* VFIO_GROUP_GET_STATUS: viable when every function of the group is on
 * vfio-pci, pci-stub or no driver (the fixtures' groups hold no bridge). */
static int sim_group_viable(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz)
{
	struct ksim *k = sim_of(ctx);
	int group;
	char p[512], drv[64];

	if (sscanf(devnode, "dev/vfio/%d", &group) != 1)
		return -EINVAL;
	snprintf(p, sizeof(p), "%s/%s", k->root, devnode);
	if (access(p, F_OK) != 0) {
		snprintf(why, sz, "%s: %s", devnode, strerror(ENOENT));
		return -ENOENT;
	}
	for (size_t i = 0; i < k->n; i++) {
		if (k->devs[i].group != group)
			continue;
		ksim_driver(k, k->devs[i].addr, drv, sizeof(drv));
		if (*drv && strcmp(drv, "vfio-pci") != 0 && strcmp(drv, "pci-stub") != 0) {
			snprintf(why, sz, "%s: not viable: a device in the group is still on a host driver", devnode);
			return -EBUSY;
		}
	}
	return 0;
}

/* The simulated kernel reacts at once: nothing to wait for. */
static void sim_wait(struct vmgpu_ctx *ctx, unsigned ms)
{
}

static int sim_write(struct vmgpu_ctx *ctx, const char *path, const char *value)
{
	struct ksim *k = sim_of(ctx);
	char addr[PCI_ADDRESS_MAX], p[512], drv[64], ovr[64];
	const char *slash;
	int i;

	if (k->fail_write && ++k->writes == k->fail_write)
		return -EIO;
	if (strcmp(path, "sys/bus/pci/drivers_probe") == 0) {
		if ((i = find(k, value)) < 0)
			return -ENODEV;
		ksim_driver(k, value, drv, sizeof(drv));
		if (*drv)
			return 0; /* already bound: probe does nothing */
		ksim_override(k, value, ovr, sizeof(ovr));
		if (*ovr && k->refuse_bind && strcmp(k->refuse_bind, value) == 0)
			return -EINVAL;
		return bind(k, i, *ovr ? ovr : k->devs[i].native);
	}
	if (strncmp(path, "sys/class/mdev_bus/", 19) == 0 && strstr(path, "/create"))
		return mdev_create(k, path, value);
	if (strncmp(path, "sys/bus/mdev/devices/", 21) == 0 && strstr(path, "/remove"))
		return mdev_remove(k, path);
	if (strncmp(path, "sys/bus/pci/devices/", 20) != 0)
		return -EACCES;
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(path + 20, "/"), path + 20);
	if ((i = find(k, addr)) < 0)
		return -ENOENT;
	slash = path + 20 + strlen(addr);
	if (strcmp(slash, "/driver_override") == 0) {
		devpath(k, addr, "driver_override", p, sizeof(p));
		return put(p, *value && strcmp(value, "\n") != 0 ? value : "(null)");
	}
	if (strcmp(slash, "/sriov_numvfs") == 0 || strcmp(slash, "/nvidia/current_vgpu_type") == 0 ||
	    strcmp(slash, "/sriov_drivers_autoprobe") == 0) {
		char cur[32] = "";
		FILE *f;
		snprintf(p, sizeof(p), "%s/%s", k->root, path);
		if ((f = fopen(p, "r"))) {
			if (!fgets(cur, sizeof(cur), f))
				cur[0] = '\0';
			fclose(f);
		}
		/* sriov_numvfs and current_vgpu_type change only from 0. */
		if (strcmp(slash, "/sriov_drivers_autoprobe") != 0 && atoi(cur) != 0 && atoi(value) != 0)
			return -EBUSY;
		snprintf(ovr, sizeof(ovr), "%s\n", value);
		return put(p, ovr);
	}
	if (strcmp(slash, "/driver/unbind") == 0) {
		ksim_driver(k, addr, drv, sizeof(drv));
		if (!*drv)
			return -ENOENT;
		devpath(k, addr, "driver", p, sizeof(p));
		unlink(p);
		if (strcmp(drv, "vfio-pci") == 0 && !group_has_vfio(k, k->devs[i].group)) {
			snprintf(p, sizeof(p), "%s/dev/vfio/%d", k->root, k->devs[i].group);
			unlink(p);
		}
		return 0;
	}
	return -EACCES;
}

static const struct kernel_ops kernel_sim = {
	.write = sim_write,
	.load_module = sim_load_module,
	.group_viable = sim_group_viable,
	.wait = sim_wait,
};

void ksim_attach(struct ksim *k, struct vmgpu_ctx *ctx, const char *root)
{
	char p[512];
	struct dirent *de;
	DIR *d;

	snprintf(k->root, sizeof(k->root), "%s", root);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", root);
	d = opendir(p);
	while (d && (de = readdir(d)) && k->n < 32) {
		char link[512], t[64];
		ssize_t n;
		if (de->d_name[0] == '.')
			continue;
		snprintf(k->devs[k->n].addr, sizeof(k->devs[k->n].addr), "%.23s", de->d_name);
		ksim_driver(k, de->d_name, k->devs[k->n].native, sizeof(k->devs[k->n].native));
		devpath(k, de->d_name, "iommu_group", link, sizeof(link));
		k->devs[k->n].group = -1;
		if ((n = readlink(link, p, sizeof(p) - 1)) > 0) {
			p[n] = '\0';
			snprintf(t, sizeof(t), "%s", strrchr(p, '/') + 1);
			k->devs[k->n].group = atoi(t);
		}
		k->n++;
	}
	if (d)
		closedir(d);
	ctx->kernel = &kernel_sim;
	ctx->kernel_data = k;
}

void ksim_env_open(struct ksim_env *e, const char *scenario)
{
	memset(e, 0, sizeof(*e));
	e->fx = fx_new();
	fx_scenario_find(scenario)->build(e->fx);
	fx_finish(e->fx);
	if (vmgpu_ctx_new(fx_root(e->fx), &e->ctx) < 0)
		abort();
	vmgpu_ctx_set_log_fn(e->ctx, NULL, NULL);
	ksim_attach(&e->sim, e->ctx, fx_root(e->fx));
}

struct vmgpu_host *ksim_env_rescan(struct ksim_env *e)
{
	vmgpu_host_unref(e->host);
	e->host = NULL;
	CHECK_EQ_INT(vmgpu_host_scan(e->ctx, &e->host), 0);
	return e->host;
}

void ksim_env_close(struct ksim_env *e)
{
	vmgpu_host_unref(e->host);
	vmgpu_ctx_unref(e->ctx);
	fx_free(e->fx);
}
