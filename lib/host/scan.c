/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the PCI functions of a host root into the model.
 *
 * Everything comes from sys/bus/pci/devices/<address>/ below the root, the
 * kernel's view: IDs and class from the sysfs files (they carry the kernel's
 * quirk fixups; config space is the fallback), BARs from "resource"
 * (start end flags per line, the kernel's assignment), capabilities from
 * "config". Parentage comes from where the device directory really lives
 * (sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0), as lspci -t does.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

static int read_hex_attr(int dfd, const char *name, uint64_t max, uint64_t *ret)
{
	char buf[64];
	uint64_t v;
	int r = root_attr_read(dfd, name, buf, sizeof(buf));

	if (r < 0)
		return r;
	r = parse_u64(buf, 16, &v);
	if (r < 0)
		return r;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static char *read_str_dup(int dfd, const char *name)
{
	char buf[256];

	if (root_attr_read(dfd, name, buf, sizeof(buf)) < 0)
		return NULL;
	return strdup(buf);
}

static char *link_basename_dup(int dfd, const char *name)
{
	char buf[256];

	if (root_link_basename(dfd, name, buf, sizeof(buf)) < 0)
		return NULL;
	return strdup(buf);
}

static void read_ids(struct vmgpu_dev *dev, int dfd)
{
	const struct config_info *ci = &dev->cfg;
	uint64_t v;

	if (read_hex_attr(dfd, "vendor", 0xffff, &v) == 0)
		dev->vendor = (uint16_t)v;
	else if (ci->header_known)
		dev->vendor = ci->vendor;
	else
		dev_add_unknown(dev, "vendor: neither sysfs nor config space readable");

	if (read_hex_attr(dfd, "device", 0xffff, &v) == 0)
		dev->device = (uint16_t)v;
	else if (ci->header_known)
		dev->device = ci->device;

	if (read_hex_attr(dfd, "class", 0xffffff, &v) == 0)
		dev->class_code = (uint32_t)v;
	else if (ci->header_known)
		dev->class_code = ci->class_code;

	/* Revision and subsystem IDs: config space holds what sysfs would show
	 * (the kernel copies them from there), so sysfs is read only when config
	 * could not be: three fewer opens per function on large hosts. */
	dev->subsys_vendor = dev->subsys_device = dev->revision = -1;
	if (ci->header_known)
		dev->revision = ci->revision;
	else if (read_hex_attr(dfd, "revision", 0xff, &v) == 0)
		dev->revision = (int)v;
	/* Bridges keep theirs in the SSVID capability, beyond 64 bytes. */
	if (ci->subsys_known) {
		dev->subsys_vendor = ci->subsys_vendor;
		dev->subsys_device = ci->subsys_device;
		return;
	}
	if (read_hex_attr(dfd, "subsystem_vendor", 0xffff, &v) == 0)
		dev->subsys_vendor = (int)v;
	if (read_hex_attr(dfd, "subsystem_device", 0xffff, &v) == 0)
		dev->subsys_device = (int)v;
}

/*
 * Config space is read in two steps. The scan reads the 64-byte header of
 * every function (IDs, class, header type, BAR registers); the capabilities
 * are read only for functions someone asks about (dev_cfg()). Each config
 * dword the kernel reads is a bus transaction on real hardware (and a trap
 * in a VM): the whole 4 KiB of every function of a large host would cost
 * seconds where an assign needs two functions.
 */
static void read_config_header(struct vmgpu_dev *dev, int dfd)
{
	uint8_t buf[64];
	ssize_t n = root_attr_read_bin(dfd, "config", buf, sizeof(buf));

	config_decode(buf, n > 0 ? (size_t)n : 0, &dev->cfg);
}

static void read_resources(struct vmgpu_dev *dev, int dfd)
{
	char buf[RESOURCE_MAX_LINES * 60 + 16];

	dev->n_res = -1;
	if (root_attr_read(dfd, "resource", buf, sizeof(buf)) < 0) {
		dev_add_unknown(dev, "BARs: resource not readable");
		return;
	}
	dev->n_res = parse_resource(buf, dev->res);
	if (dev->n_res < 0)
		dev_add_unknown(dev, "BARs: resource malformed");
}

static void read_int_attr(int dfd, const char *name, int *ret)
{
	char buf[32];

	if (root_attr_read(dfd, name, buf, sizeof(buf)) < 0 || parse_int(buf, 10, ret) < 0)
		*ret = -1;
}

static void read_links(struct vmgpu_dev *dev, int dfd)
{
	char buf[64];

	dev->driver = link_basename_dup(dfd, "driver");
	dev->iommu_group = -1;
	if (root_link_basename(dfd, "iommu_group", buf, sizeof(buf)) == 0 &&
	    parse_int(buf, 10, &dev->iommu_group) < 0)
		dev->iommu_group = -1;
	dev->physfn = link_basename_dup(dfd, "physfn");
}

static void read_misc(struct vmgpu_dev *dev, int dfd)
{
	char *s;

	read_int_attr(dfd, "numa_node", &dev->numa_node);
	if (dev->numa_node < 0)
		dev->numa_node = -1;
	read_int_attr(dfd, "boot_vga", &dev->boot_vga);
	/* "(null)" is how the kernel prints an unset override. */
	s = read_str_dup(dfd, "driver_override");
	if (s && (!*s || strcmp(s, "(null)") == 0)) {
		free(s);
		s = NULL;
	}
	dev->driver_override = s;
	/* reset_method (Linux >= 5.15): the resets the kernel will use, in
	 * order; empty when none. Absent on older kernels. */
	dev->reset_method = read_str_dup(dfd, "reset_method");
	/* Only a PF has it; unlike the SR-IOV capability it is readable
	 * without root. A VF cannot be a PF. */
	dev->sriov_totalvfs_attr = -1;
	if (!dev->physfn)
		read_int_attr(dfd, "sriov_totalvfs", &dev->sriov_totalvfs_attr);
}

/* The device's directory below sys/devices, from the bus symlink target
 * "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0". */
static char *device_path(int devices_fd, const char *name)
{
	char target[1024];
	const char *p;

	if (root_readlinkat(devices_fd, name, target, sizeof(target)) < 0)
		return strdup(name); /* not a link (flat snapshot) */
	p = strstr(target, "devices/");
	while (p && p != target && p[-1] != '/')
		p = strstr(p + 1, "devices/");
	return strdup(p ? p + strlen("devices/") : target);
}

static int scan_one(struct vmgpu_host *host, int devices_fd, const char *name,
		    const struct pci_address *addr, struct vmgpu_dev **ret)
{
	struct vmgpu_ctx *ctx = host->ctx;
	struct vmgpu_dev *dev;
	char rel[300];
	int dfd;

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", name);
	dfd = root_openat(ctx, ctx->root_fd, rel, O_PATH | O_DIRECTORY);
	if (dfd < 0) {
		WARN(ctx, "%s: cannot open device directory: %s", name, strerror(-dfd));
		return dfd;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		close(dfd);
		return -ENOMEM;
	}
	dev->host = host;
	dev->addr = *addr;
	format_pci_address(addr, dev->address);
	dev->path = device_path(devices_fd, name);
	read_config_header(dev, dfd);
	read_ids(dev, dfd);
	read_resources(dev, dfd);
	read_links(dev, dfd);
	read_misc(dev, dfd);
	close(dfd);
	if (!dev->path) {
		dev_free(dev);
		return -ENOMEM;
	}
	*ret = dev;
	return 0;
}

/* Parent: the path component before our own, if it is a PCI function. */
static void link_parent(struct vmgpu_host *host, struct vmgpu_dev *dev)
{
	const char *last = strrchr(dev->path, '/');
	char comp[PCI_ADDRESS_MAX + 8];
	struct pci_address a;
	const char *prev;
	size_t len;

	if (!last)
		return;
	for (prev = last; prev > dev->path && prev[-1] != '/'; prev--)
		;
	len = (size_t)(last - prev);
	if (len >= sizeof(comp))
		return;
	memcpy(comp, prev, len);
	comp[len] = '\0';
	if (parse_sysfs_address(comp, &a) == 0)
		dev->parent = host_find_address(host, &a);
}

/*
 * Hyper-V's location path: PCIROOT(<root bus, hex>) then PCI(DDFF) per hop,
 * device and function of each bridge on the way and of the device itself
 * (DEVPKEY_Device_LocationPaths). It is stable across re-enumeration, unlike
 * bus numbers.
 */
static int make_location_path(struct vmgpu_dev *dev)
{
	const struct vmgpu_dev *chain[64];
	size_t n = 0, len;
	char *s;

	for (const struct vmgpu_dev *d = dev; d && n < ARRAY_SIZE(chain); d = d->parent)
		chain[n++] = d;
	len = 32 + 9 * n;
	s = malloc(len);
	if (!s)
		return -ENOMEM;
	int off = snprintf(s, len, "PCIROOT(%X)", chain[n - 1]->addr.bus);
	for (size_t i = n; i-- > 0;)
		off += snprintf(s + off, len - (size_t)off, "#PCI(%02X%02X)", chain[i]->addr.dev,
				chain[i]->addr.fn);
	dev->location_path = s;
	return 0;
}

static int group_cmp(const void *a, const void *b)
{
	const struct vmgpu_dev *const *x = a, *const *y = b;

	if ((*x)->iommu_group != (*y)->iommu_group)
		return (*x)->iommu_group < (*y)->iommu_group ? -1 : 1;
	return pci_address_cmp(&(*x)->addr, &(*y)->addr);
}

/* Peers in the same IOMMU group, from the devices' own iommu_group links
 * (one pass over a sorted copy, no extra sysfs reads). */
static int link_groups(struct vmgpu_host *host)
{
	_cleanup_free_ struct vmgpu_dev **by_group = NULL;
	size_t i = 0;

	if (host->n_devs == 0)
		return 0;
	by_group = malloc(host->n_devs * sizeof(*by_group));
	if (!by_group)
		return -ENOMEM;
	memcpy(by_group, host->devs, host->n_devs * sizeof(*by_group));
	qsort(by_group, host->n_devs, sizeof(*by_group), group_cmp);
	while (i < host->n_devs) {
		size_t j = i;
		while (j < host->n_devs && by_group[j]->iommu_group == by_group[i]->iommu_group)
			j++;
		if (by_group[i]->iommu_group >= 0 && j - i > 1) {
			for (size_t k = i; k < j; k++) {
				struct vmgpu_dev *d = by_group[k];
				d->peers = malloc((j - i - 1) * sizeof(*d->peers));
				if (!d->peers)
					return -ENOMEM;
				for (size_t m = i; m < j; m++)
					if (m != k)
						d->peers[d->n_peers++] = by_group[m];
			}
		}
		i = j;
	}
	return 0;
}

static int scan_devices(struct vmgpu_host *host)
{
	struct vmgpu_ctx *ctx = host->ctx;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int r;

	if ((r = root_opendir(ctx, "sys/bus/pci/devices", &d)) < 0)
		return r;
	while ((de = readdir(d))) {
		struct pci_address addr;
		struct vmgpu_dev *dev;

		if (de->d_name[0] == '.')
			continue;
		if (parse_sysfs_address(de->d_name, &addr) < 0) {
			WARN(ctx, "ignoring sys/bus/pci/devices/%s: not a PCI address", de->d_name);
			continue;
		}
		if (scan_one(host, dirfd(d), de->d_name, &addr, &dev) < 0)
			continue;
		if (host->n_devs == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct vmgpu_dev **n = realloc(host->devs, ncap * sizeof(*n));
			if (!n) {
				dev_free(dev);
				closedir(d);
				return -ENOMEM;
			}
			host->devs = n;
			cap = ncap;
		}
		host->devs[host->n_devs++] = dev;
	}
	closedir(d);
	qsort(host->devs, host->n_devs, sizeof(*host->devs), dev_cmp);
	return 0;
}

VMGPU_EXPORT int vmgpu_host_scan(struct vmgpu_ctx *ctx, struct vmgpu_host **ret_host)
{
	struct vmgpu_host *host;
	int r;

	assert_return(ctx, -EINVAL);
	assert_return(ret_host, -EINVAL);
	if (!(host = calloc(1, sizeof(*host))))
		return -ENOMEM;
	host->refcount = 1;
	host->ctx = vmgpu_ctx_ref(ctx);
	host->running_as_root = strcmp(ctx->root, "/") != 0 || geteuid() == 0;
	r = scan_devices(host);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < host->n_devs; i++)
		link_parent(host, host->devs[i]);
	for (size_t i = 0; i < host->n_devs; i++)
		if ((r = make_location_path(host->devs[i])) < 0)
			goto fail;
	r = link_groups(host);
	if (r < 0)
		goto fail;
	r = host_read_facts(host);
	if (r < 0)
		goto fail;
	*ret_host = host;
	return 0;
fail:
	vmgpu_host_unref(host);
	return r;
}

