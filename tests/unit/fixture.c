/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#define FX_MAX_DEVS 64
#define FX_RES_LINES 13

struct fx_devrec {
	char addr[32];
	char path[512]; /* below sys/devices */
	uint64_t res[FX_RES_LINES][3];
};

struct fx {
	char root[256];
	struct fx_devrec devs[FX_MAX_DEVS];
	size_t n;
};

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fixture: %s %s: %s\n", what, path, strerror(errno));
	exit(99); /* meson: hard error */
}

static void wr16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = v & 0xff;
	b[off + 1] = v >> 8;
}

static void wr32(uint8_t *b, size_t off, uint32_t v)
{
	wr16(b, off, v & 0xffff);
	wr16(b, off + 2, v >> 16);
}

void fx_cfg_init(struct fx_cfg *c, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type)
{
	memset(c, 0, sizeof(*c));
	c->len = 4096;
	wr16(c->b, 0x00, vendor);
	wr16(c->b, 0x02, device);
	c->b[0x08] = 0xa1;
	c->b[0x09] = class_code & 0xff;
	c->b[0x0a] = (class_code >> 8) & 0xff;
	c->b[0x0b] = (class_code >> 16) & 0xff;
	c->b[0x0e] = header_type;
	if (header_type == 0) {
		wr16(c->b, 0x2c, vendor);
		wr16(c->b, 0x2e, 0x1234);
	}
	c->next_cap = 0x40;
	c->next_ecap = 0x100;
}

/* Append a standard capability of LEN bytes; returns its offset. */
static size_t add_cap(struct fx_cfg *c, uint8_t id, size_t len)
{
	size_t pos = c->next_cap;

	c->b[pos] = id;
	c->b[pos + 1] = 0;
	if (c->last_cap)
		c->b[c->last_cap + 1] = (uint8_t)pos;
	else
		c->b[0x34] = (uint8_t)pos;
	c->b[0x06] |= 0x10; /* Status: capability list */
	c->last_cap = (uint8_t)pos;
	c->next_cap = (uint16_t)((pos + len + 3) & ~3u);
	return pos;
}

static size_t add_ecap(struct fx_cfg *c, uint16_t id, size_t len)
{
	size_t pos = c->next_ecap;

	wr32(c->b, pos, id | 1u << 16);
	if (c->last_ecap)
		wr32(c->b, c->last_ecap, (uint32_t)(c->b[c->last_ecap] | c->b[c->last_ecap + 1] << 8) | 1u << 16 |
						 (uint32_t)pos << 20);
	c->last_ecap = (uint16_t)pos;
	c->next_ecap = (uint16_t)((pos + len + 3) & ~3u);
	return pos;
}

void fx_cfg_pm(struct fx_cfg *c, bool no_soft_reset)
{
	size_t p = add_cap(c, 0x01, 8);

	wr16(c->b, p + 2, 0x0003);
	wr16(c->b, p + 4, no_soft_reset ? 0x0008 : 0);
}

void fx_cfg_msi(struct fx_cfg *c)
{
	size_t p = add_cap(c, 0x05, 14);

	wr16(c->b, p + 2, 0x0080); /* 64-bit capable */
}

void fx_cfg_msix(struct fx_cfg *c, unsigned vectors)
{
	size_t p = add_cap(c, 0x11, 12);

	wr16(c->b, p + 2, (uint16_t)(vectors - 1));
}

void fx_cfg_pcie(struct fx_cfg *c, unsigned type, bool flr)
{
	size_t p = add_cap(c, 0x10, 0x3c);

	wr16(c->b, p + 2, (uint16_t)(0x2 | type << 4));
	wr32(c->b, p + 4, flr ? 1u << 28 : 0);
}

void fx_cfg_acs(struct fx_cfg *c, uint16_t cap, uint16_t ctrl)
{
	size_t p = add_ecap(c, 0x000d, 8);

	wr16(c->b, p + 4, cap);
	wr16(c->b, p + 6, ctrl);
}

void fx_cfg_sriov(struct fx_cfg *c, uint16_t total, uint16_t num, uint16_t vf_device)
{
	size_t p = add_ecap(c, 0x0010, 0x40);

	wr16(c->b, p + 0x0c, total);
	wr16(c->b, p + 0x0e, total);
	wr16(c->b, p + 0x10, num);
	wr16(c->b, p + 0x14, 1);
	wr16(c->b, p + 0x16, 1);
	wr16(c->b, p + 0x1a, vf_device);
}

void fx_cfg_rebar(struct fx_cfg *c, unsigned bar, uint32_t sizes_mask, unsigned current)
{
	size_t p = add_ecap(c, 0x0015, 12);

	wr32(c->b, p + 4, sizes_mask << 4);
	wr32(c->b, p + 8, (uint32_t)(bar | 1u << 5 | current << 8));
}

void fx_cfg_bar(struct fx_cfg *c, unsigned i, uint64_t addr, bool io, bool is64, bool pref)
{
	uint32_t lo = (uint32_t)addr & (io ? ~3u : ~15u);

	if (io)
		lo |= 1;
	else
		lo |= (is64 ? 4u : 0) | (pref ? 8u : 0);
	wr32(c->b, 0x10 + 4 * i, lo);
	if (is64 && !io)
		wr32(c->b, 0x14 + 4 * i, (uint32_t)(addr >> 32));
}

/* ---- the tree ---- */

static void mkdirs(const char *path)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			die("mkdir", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die("mkdir", buf);
}

static void write_file(const char *path, const void *data, size_t len)
{
	char dir[1024];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
		die("write", path);
}

static void symlink_rel(const char *target, const char *linkpath)
{
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s", linkpath);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	unlink(linkpath);
	if (symlink(target, linkpath) < 0)
		die("symlink", linkpath);
}

/* "../" repeated for each component of REL below the root, so that a link
 * at ROOT/REL/x can name ROOT-relative targets. */
static void updirs(const char *rel, char *buf, size_t sz)
{
	buf[0] = '\0';
	for (const char *p = rel; *p; p++)
		if (*p == '/')
			strncat(buf, "../", sz - strlen(buf) - 1);
	strncat(buf, "../", sz - strlen(buf) - 1);
}

struct fx *fx_new(void)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		die("calloc", "fx");
	snprintf(fx->root, sizeof(fx->root), "%s/vmgpu-fx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->root))
		die("mkdtemp", fx->root);
	return fx;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void fx_free(struct fx *fx)
{
	if (!fx)
		return;
	if (!getenv("VMGPU_KEEP_FIXTURES"))
		nftw(fx->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
}

const char *fx_root(const struct fx *fx)
{
	return fx->root;
}

static struct fx_devrec *find(struct fx *fx, const char *addr)
{
	for (size_t i = 0; i < fx->n; i++)
		if (strcmp(fx->devs[i].addr, addr) == 0)
			return &fx->devs[i];
	fprintf(stderr, "fixture: no device %s\n", addr);
	exit(99);
}

static void dev_dir(struct fx *fx, struct fx_devrec *d, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/sys/devices/%s", fx->root, d->path);
}

static void put_hex(struct fx *fx, struct fx_devrec *d, const char *name, unsigned v, int width)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%0*x\n", width, v);
	fx_attr(fx, d->addr, name, buf);
}

void fx_dev(struct fx *fx, const char *addr, const char *parent, const struct fx_cfg *cfg)
{
	struct fx_devrec *d;
	char path[1024], target[1024], up[256];
	uint32_t class_code = (uint32_t)(cfg->b[0x09] | cfg->b[0x0a] << 8 | cfg->b[0x0b] << 16);

	char parent_path[400];

	if (fx->n >= FX_MAX_DEVS)
		exit(99);
	if (parent)
		snprintf(parent_path, sizeof(parent_path), "%s", find(fx, parent)->path);
	d = &fx->devs[fx->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	if (parent)
		snprintf(d->path, sizeof(d->path), "%s/%s", parent_path, addr);
	else
		snprintf(d->path, sizeof(d->path), "pci%.7s/%s", addr, addr);
	dev_dir(fx, d, path, sizeof(path));
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/sys/devices/%s/config", fx->root, d->path);
	write_file(path, cfg->b, cfg->len);
	put_hex(fx, d, "vendor", cfg->b[0] | cfg->b[1] << 8, 4);
	put_hex(fx, d, "device", cfg->b[2] | cfg->b[3] << 8, 4);
	put_hex(fx, d, "class", class_code, 6);
	put_hex(fx, d, "revision", cfg->b[0x08], 2);
	fx_attr(fx, addr, "driver_override", "(null)\n");
	fx_attr(fx, addr, "numa_node", "-1\n");
	updirs("sys/bus/pci/devices", up, sizeof(up));
	snprintf(target, sizeof(target), "%ssys/devices/%s", up, d->path);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s", fx->root, addr);
	symlink_rel(target, path);
}

void fx_bar(struct fx *fx, const char *addr, unsigned slot, uint64_t start, uint64_t size, bool io,
	    bool is64, bool pref)
{
	struct fx_devrec *d = find(fx, addr);
	uint64_t flags = io ? 0x100 : 0x200;

	if (!io && is64)
		flags |= 0x100000;
	if (!io && pref)
		flags |= 0x2000;
	flags |= 0x40000; /* IORESOURCE_SIZEALIGN, as real kernels show */
	d->res[slot][0] = start;
	d->res[slot][1] = size ? start + size - 1 : start;
	d->res[slot][2] = flags;
}

void fx_driver(struct fx *fx, const char *addr, const char *driver)
{
	struct fx_devrec *d = find(fx, addr);
	char path[1024], target[1024], up[512];

	snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/%s", fx->root, driver);
	mkdirs(path);
	snprintf(path, sizeof(path), "sys/devices/%s", d->path);
	updirs(path, up, sizeof(up));
	snprintf(target, sizeof(target), "%ssys/bus/pci/drivers/%s", up, driver);
	snprintf(path, sizeof(path), "%s/sys/devices/%s/driver", fx->root, d->path);
	symlink_rel(target, path);
}

void fx_group(struct fx *fx, const char *addr, int group)
{
	struct fx_devrec *d = find(fx, addr);
	char path[1024], target[1024], up[512];

	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/devices", fx->root, group);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/reserved_regions", fx->root, group);
	if (access(path, F_OK) != 0)
		write_file(path, "0x00000000fee00000 0x00000000feefffff msi\n", 42);
	snprintf(path, sizeof(path), "sys/devices/%s", d->path);
	updirs(path, up, sizeof(up));
	snprintf(target, sizeof(target), "%ssys/kernel/iommu_groups/%d", up, group);
	snprintf(path, sizeof(path), "%s/sys/devices/%s/iommu_group", fx->root, d->path);
	symlink_rel(target, path);
	snprintf(target, sizeof(target), "../../../../devices/%s", d->path);
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/devices/%s", fx->root, group, addr);
	symlink_rel(target, path);
}

void fx_attr(struct fx *fx, const char *addr, const char *name, const char *value)
{
	struct fx_devrec *d = find(fx, addr);
	char path[1024];

	snprintf(path, sizeof(path), "%s/sys/devices/%s/%s", fx->root, d->path, name);
	write_file(path, value, strlen(value));
}

void fx_file(struct fx *fx, const char *relpath, const char *content)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", fx->root, relpath);
	write_file(path, content, strlen(content));
}

void fx_mkdir(struct fx *fx, const char *relpath)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", fx->root, relpath);
	mkdirs(path);
}

void fx_finish(struct fx *fx)
{
	for (size_t i = 0; i < fx->n; i++) {
		char text[FX_RES_LINES * 60 + 1], path[1024];
		size_t off = 0;

		for (int l = 0; l < FX_RES_LINES; l++)
			off += (size_t)snprintf(text + off, sizeof(text) - off, "0x%016llx 0x%016llx 0x%016llx\n",
						(unsigned long long)fx->devs[i].res[l][0],
						(unsigned long long)fx->devs[i].res[l][1],
						(unsigned long long)fx->devs[i].res[l][2]);
		snprintf(path, sizeof(path), "%s/sys/devices/%s/resource", fx->root, fx->devs[i].path);
		if (access(path, F_OK) != 0) /* a scenario may have written its own */
			write_file(path, text, off);
	}
}

void fx_host_iommu(struct fx *fx)
{
	fx_file(fx, "sys/class/iommu/dmar0/intel-iommu/ecap", "f020df\n");
	fx_file(fx, "proc/interrupts",
		"           CPU0\n 24:          0  IR-PCI-MSI-0000:00:1f.2    0-edge      ahci[0000:00:1f.2]\n");
	fx_file(fx, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt\n");
	fx_file(fx, "proc/sys/kernel/osrelease", "6.1.0-test\n");
	fx_file(fx, "lib/modules/6.1.0-test/modules.dep",
		"kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/pci/vfio-pci-core.ko\n");
	fx_file(fx, "proc/iomem", "00000000-00000fff : Reserved\n");
}

void fx_symlink(struct fx *fx, const char *relpath, const char *target)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", fx->root, relpath);
	symlink_rel(target, path);
}

void fx_class_dev(struct fx *fx, const char *addr, const char *sub, const char *class_name, const char *dev)
{
	struct fx_devrec *d = find(fx, addr);
	char rel[700], up[256], target[1024], path[2048];
	const char *name = strrchr(sub, '/') ? strrchr(sub, '/') + 1 : sub;

	snprintf(rel, sizeof(rel), "sys/devices/%s/%s", d->path, sub);
	snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
	mkdirs(path);
	updirs(rel, up, sizeof(up));
	snprintf(target, sizeof(target), "%ssys/class/%s", up, class_name);
	snprintf(path, sizeof(path), "%s/%s/subsystem", fx->root, rel);
	symlink_rel(target, path);
	snprintf(path, sizeof(path), "%s/sys/class/%s", fx->root, class_name);
	mkdirs(path);
	if (!dev)
		return;
	snprintf(target, sizeof(target), "%s\n", dev);
	snprintf(path, sizeof(path), "%s/%s/dev", fx->root, rel);
	write_file(path, target, strlen(target));
	/* sys/class/<class>/<name> -> the device, as the kernel links it */
	snprintf(target, sizeof(target), "../../devices/%s/%s", d->path, sub);
	snprintf(path, sizeof(path), "%s/sys/class/%s/%s", fx->root, class_name, name);
	symlink_rel(target, path);
}
