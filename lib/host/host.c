/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host object (reference counting, its devices, lookup by any name of a
 * device) and host-level facts: IOMMU, interrupt remapping, vfio-pci, boot
 * framebuffers. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "host.h"

static int list_dir(struct vmgpu_ctx *ctx, const char *path, char ***ret, size_t *ret_n)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if ((r = root_opendir(ctx, path, &d)) < 0)
		return r;
	while ((de = readdir(d))) {
		char **nn;
		if (de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	*ret = names;
	*ret_n = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool cmdline_has(const char *cmdline, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = cmdline; p && (p = strstr(p, word)); p += wl)
		if ((p == cmdline || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\0'))
			return true;
	return false;
}

/* A fact only some commands need is read on first use; until then its
 * tristate field holds NOT_READ. */
#define NOT_READ (-2)

/* The host model is logically const: a fact read late is a cache. */
static struct vmgpu_host *cache_of(const struct vmgpu_host *host)
{
	return (struct vmgpu_host *)host;
}

/*
 * Interrupt remapping. The kernel names the MSI irq domains of remapped
 * interrupts "IR-PCI-MSI..." (Intel DMAR-IR and AMD-Vi alike), so a remapped
 * interrupt in proc/interrupts proves it is on. Without one, the command line
 * (intremap=off, amd_iommu_intr=...) or the Intel unit's ECAP.IR bit (bit 3)
 * can prove it off; otherwise we cannot tell.
 */
static int read_interrupt_remapping(struct vmgpu_host *host)
{
	struct vmgpu_ctx *ctx = host->ctx;
	_cleanup_free_ char *irqs = NULL;

	if (!host_iommu_present(host))
		return VMGPU_NO;
	if (root_read_text(ctx, "proc/interrupts", &irqs, NULL) == 0) {
		if (strstr(irqs, "IR-PCI-MSI") || strstr(irqs, "IR-IO-APIC"))
			return VMGPU_YES;
	}
	if (host->cmdline &&
	    (cmdline_has(host->cmdline, "intremap=off") || cmdline_has(host->cmdline, "nointremap")))
		return VMGPU_NO;
	for (size_t i = 0; i < host->n_iommu_units; i++) {
		char path[256], buf[64];
		uint64_t ecap;

		snprintf(path, sizeof(path), "sys/class/iommu/%s/intel-iommu/ecap", host->iommu_units[i]);
		if (root_read_str(ctx, path, buf, sizeof(buf)) == 0 && parse_u64(buf, 16, &ecap) == 0 &&
		    !(ecap & 0x8))
			return VMGPU_NO;
	}
	/* Interrupts exist and none is remapped: remapping is off. */
	if (irqs && strstr(irqs, "PCI-MSI"))
		return VMGPU_NO;
	return VMGPU_UNKNOWN;
}

/*
 * vfio-pci: loaded (sys/module/vfio_pci, also for built-in), available (the
 * module is listed in lib/modules/<release>/modules.dep or .builtin), or
 * missing.
 */
static enum vmgpu_module_state read_vfio_pci(struct vmgpu_host *host)
{
	struct vmgpu_ctx *ctx = host->ctx;
	_cleanup_close_ int fd = root_openat(ctx, ctx->root_fd, "sys/module/vfio_pci", O_PATH | O_DIRECTORY);
	const char *files[] = { "modules.dep", "modules.builtin" };
	bool any = false;

	if (fd >= 0)
		return VMGPU_MODULE_LOADED;
	if (!host->kernel)
		return VMGPU_MODULE_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *text = NULL;
		char path[512];

		snprintf(path, sizeof(path), "lib/modules/%s/%s", host->kernel, files[i]);
		if (root_read_text(ctx, path, &text, NULL) < 0)
			continue;
		any = true;
		if (strstr(text, "/vfio-pci.ko") || strstr(text, "/vfio_pci.ko"))
			return VMGPU_MODULE_AVAILABLE;
	}
	return any ? VMGPU_MODULE_MISSING : VMGPU_MODULE_UNKNOWN;
}

static int read_allow_unsafe(struct vmgpu_ctx *ctx)
{
	char buf[8];

	if (root_read_str(ctx, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", buf,
			  sizeof(buf)) < 0)
		return VMGPU_UNKNOWN;
	return buf[0] == 'Y' || buf[0] == '1' ? VMGPU_YES : VMGPU_NO;
}

/* Whether config space beyond the header can be read: the kernel allows it
 * to CAP_SYS_ADMIN for every function or for none, so one function that
 * answers tells (a snapshot may have cut all of them to 64 bytes). Without
 * root that is every function's config read again: only the survey asks,
 * so it is read on first use. */
static int read_config_limited(const struct vmgpu_host *host)
{
	bool any = false;

	for (size_t i = 0; i < host->n_devs; i++) {
		const struct config_info *ci = &host->devs[i]->cfg;
		if (ci->all_ones || ci->len == 0)
			continue;
		any = true;
		if (dev_cfg(host->devs[i])->len > 64)
			return VMGPU_NO;
	}
	return any ? VMGPU_YES : VMGPU_UNKNOWN;
}

/* An IOMMU is on when a unit is registered (sys/class/iommu) or, in snapshots
 * that kept only the groups, when any IOMMU group exists: the kernel creates
 * groups only for devices behind an active IOMMU. */
bool host_iommu_present(const struct vmgpu_host *host)
{
	return host->n_iommu_units > 0 || host->n_iommu_groups > 0;
}

int host_read_facts(struct vmgpu_host *host)
{
	struct vmgpu_ctx *ctx = host->ctx;
	char buf[4096];
	char **groups;
	size_t n_groups;

	if (root_read_str(ctx, "proc/sys/kernel/osrelease", buf, sizeof(buf)) == 0)
		host->kernel = strdup(buf);
	if (root_read_str(ctx, "proc/cmdline", buf, sizeof(buf)) == 0)
		host->cmdline = strdup(buf);
	(void)list_dir(ctx, "sys/class/iommu", &host->iommu_units, &host->n_iommu_units);
	if (host->n_iommu_units > 1)
		qsort(host->iommu_units, host->n_iommu_units, sizeof(char *), str_cmp);
	(void)list_dir(ctx, "sys/kernel/iommu_groups", &groups, &n_groups);
	host->n_iommu_groups = (unsigned)n_groups;
	free_names(groups, n_groups);
	/* proc/interrupts is large on a big host (a column per CPU), and
	 * only judging a device needs it. */
	host->interrupt_remapping = NOT_READ;
	host->allow_unsafe_interrupts = read_allow_unsafe(ctx);
	host->vfio_pci = read_vfio_pci(host);
	host->config_limited = NOT_READ;
	for (size_t i = 0; i < host->n_devs && !host->reset_method_supported; i++)
		host->reset_method_supported = host->devs[i]->reset_method != NULL;
	return host_read_framebuffers(host);
}

/*
 * IOMMU reserved regions of a group (sys/kernel/iommu_groups/N/reserved_regions,
 * "0x00000000fee00000 0x00000000feefffff msi"). A "direct" region is memory
 * the firmware keeps using for DMA (Intel RMRR, AMD IVMD): the kernel refuses
 * to give such a device to VFIO ("ineligible for IOMMU domain attach due to
 * platform RMRR requirement"). "direct-relaxable" ones (USB, integrated
 * graphics) are released when the device is assigned.
 */
int host_group_has_direct_region(struct vmgpu_host *host, int group, char *desc, size_t descsz)
{
	_cleanup_free_ char *text = NULL;
	char path[96];
	char *line, *save = NULL;

	snprintf(path, sizeof(path), "sys/kernel/iommu_groups/%d/reserved_regions", group);
	if (root_read_text(host->ctx, path, &text, NULL) < 0)
		return -ENOENT;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char start[32], end[32], type[32];
		if (sscanf(line, "%31s %31s %31s", start, end, type) != 3)
			continue;
		if (strcmp(type, "direct") == 0) {
			snprintf(desc, descsz, "%s-%s", start, end);
			return 1;
		}
	}
	return 0;
}

VMGPU_EXPORT enum vmgpu_tristate vmgpu_host_fact(const struct vmgpu_host *host, enum vmgpu_host_fact fact)
{
	assert_return(host, VMGPU_UNKNOWN);
	switch (fact) {
	case VMGPU_HOST_IOMMU: return host_iommu_present(host) ? VMGPU_YES : VMGPU_NO;
	case VMGPU_HOST_INTERRUPT_REMAPPING:
		if (host->interrupt_remapping == NOT_READ)
			cache_of(host)->interrupt_remapping = read_interrupt_remapping(cache_of(host));
		return host->interrupt_remapping;
	case VMGPU_HOST_ALLOW_UNSAFE_INTERRUPTS: return host->allow_unsafe_interrupts;
	case VMGPU_HOST_CONFIG_LIMITED:
		if (host->config_limited == NOT_READ)
			cache_of(host)->config_limited = read_config_limited(host);
		return host->config_limited;
	case VMGPU_HOST_FRAMEBUFFERS_KNOWN: return host->fbs_known;
	default: return VMGPU_UNKNOWN;
	}
}

VMGPU_EXPORT enum vmgpu_module_state vmgpu_host_vfio_pci(const struct vmgpu_host *host)
{
	assert_return(host, VMGPU_MODULE_UNKNOWN);
	return host->vfio_pci;
}

VMGPU_EXPORT unsigned vmgpu_host_n_iommu_groups(const struct vmgpu_host *host)
{
	assert_return(host, 0);
	return host->n_iommu_groups;
}

VMGPU_EXPORT const char *vmgpu_host_kernel(const struct vmgpu_host *host)
{
	assert_return(host, NULL);
	return host->kernel;
}

VMGPU_EXPORT const char *vmgpu_host_cmdline(const struct vmgpu_host *host)
{
	assert_return(host, NULL);
	return host->cmdline;
}

VMGPU_EXPORT size_t vmgpu_host_n_iommu_units(const struct vmgpu_host *host)
{
	assert_return(host, 0);
	return host->n_iommu_units;
}

VMGPU_EXPORT const char *vmgpu_host_iommu_unit(const struct vmgpu_host *host, size_t i)
{
	assert_return(host, NULL);
	return i < host->n_iommu_units ? host->iommu_units[i] : NULL;
}

VMGPU_EXPORT size_t vmgpu_host_n_framebuffers(const struct vmgpu_host *host)
{
	assert_return(host, 0);
	return host->n_fbs;
}

VMGPU_EXPORT int vmgpu_host_framebuffer(const struct vmgpu_host *host, size_t i,
					struct vmgpu_framebuffer *ret_fb)
{
	assert_return(host, -EINVAL);
	assert_return(ret_fb, -EINVAL);
	if (i >= host->n_fbs)
		return -ENOENT;
	ret_fb->name = host->fbs[i].name;
	ret_fb->start = host->fbs[i].start;
	ret_fb->end = host->fbs[i].end;
	ret_fb->dev = host->fbs[i].dev;
	return 0;
}

struct vmgpu_dev *host_find_address(const struct vmgpu_host *host, const struct pci_address *addr)
{
	size_t lo = 0, hi = host->n_devs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pci_address_cmp(&host->devs[mid]->addr, addr);
		if (c == 0)
			return host->devs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

VMGPU_EXPORT struct vmgpu_host *vmgpu_host_ref(struct vmgpu_host *host)
{
	if (host)
		host->refcount++;
	return host;
}

VMGPU_EXPORT struct vmgpu_host *vmgpu_host_unref(struct vmgpu_host *host)
{
	if (!host || --host->refcount > 0)
		return NULL;
	for (size_t i = 0; i < host->n_devs; i++)
		dev_free(host->devs[i]);
	free(host->devs);
	free(host->kernel);
	free(host->cmdline);
	for (size_t i = 0; i < host->n_iommu_units; i++)
		free(host->iommu_units[i]);
	free(host->iommu_units);
	for (size_t i = 0; i < host->n_fbs; i++)
		free(host->fbs[i].name);
	free(host->fbs);
	vmgpu_ctx_unref(host->ctx);
	free(host);
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_host_n_devices(const struct vmgpu_host *host)
{
	assert_return(host, 0);
	return host->n_devs;
}

VMGPU_EXPORT struct vmgpu_dev *vmgpu_host_device(const struct vmgpu_host *host, size_t i)
{
	assert_return(host, NULL);
	return i < host->n_devs ? host->devs[i] : NULL;
}

static bool is_location_path(const char *s)
{
	return strncmp(s, "PCIROOT(", 8) == 0;
}

VMGPU_EXPORT int vmgpu_host_lookup(const struct vmgpu_host *host, const char *spec,
				   struct vmgpu_dev **ret_dev)
{
	struct pci_address a;
	const char *last;

	assert_return(host, -EINVAL);
	assert_return(ret_dev, -EINVAL);
	if (!spec || !*spec)
		return -EINVAL;
	if (parse_pci_address(spec, &a) == 0) {
		struct vmgpu_dev *d = host_find_address(host, &a);
		if (!d)
			return -ENODEV;
		*ret_dev = d;
		return 0;
	}
	if (is_location_path(spec)) {
		for (size_t i = 0; i < host->n_devs; i++)
			if (strcasecmp(host->devs[i]->location_path, spec) == 0) {
				*ret_dev = host->devs[i];
				return 0;
			}
		return -ENODEV;
	}
	/* Topology path: its last component must be a full address and the
	 * whole path must match the device's (a leading "/sys/devices/" is
	 * accepted). */
	last = strrchr(spec, '/');
	if (!last || parse_sysfs_address(last + 1, &a) < 0)
		return -EINVAL;
	for (const char *p = spec; *p; p++)
		if (p[0] == '.' && p[1] == '.')
			return -EINVAL;
	struct vmgpu_dev *d = host_find_address(host, &a);
	if (!d)
		return -ENODEV;
	size_t sl = strlen(spec), pl = strlen(d->path);
	if (sl < pl || strcmp(spec + sl - pl, d->path) != 0 || (sl > pl && spec[sl - pl - 1] != '/'))
		return -ENODEV;
	*ret_dev = d;
	return 0;
}
