/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boot framebuffers in proc/iomem.
 *
 * The firmware's framebuffer (EFI GOP, VESA) lives inside the boot GPU's
 * prefetchable BAR. While a framebuffer driver (efifb, vesafb, simplefb,
 * simpledrm — or the "BOOTFB" placeholder sysfb registers) holds that range,
 * vfio-pci cannot reserve the BAR ("vfio-pci 0000:0c:00.0: BAR 0: can't
 * reserve [mem ...]") and the VM gets a dead device:
 *
 *   e0000000-efffffff : 0000:0c:00.0
 *     e0000000-e07e8fff : BOOTFB
 *
 * Without root the kernel shows every address as 0 (kptr_restrict-like
 * censoring of /proc/iomem), so the question cannot be answered.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"

static const char *const fb_names[] = {
	"efifb", "vesafb", "simplefb", "simple-framebuffer", "simpledrm", "BOOTFB", "vga16fb", "offb",
};

static bool is_framebuffer(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fb_names); i++)
		if (strncmp(name, fb_names[i], strlen(fb_names[i])) == 0)
			return true;
	return false;
}

static int parse_range(const char *p, uint64_t *start, uint64_t *end, const char **name)
{
	char buf[48];
	const char *dash = strchr(p, '-'), *colon = strstr(p, " : ");
	size_t l;

	if (!dash || !colon || dash > colon)
		return -EINVAL;
	l = (size_t)(dash - p);
	if (l >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, p, l);
	buf[l] = '\0';
	if (parse_u64(buf, 16, start) < 0)
		return -EINVAL;
	l = (size_t)(colon - dash - 1);
	if (l >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, dash + 1, l);
	buf[l] = '\0';
	if (parse_u64(buf, 16, end) < 0 || *end < *start)
		return -EINVAL;
	*name = colon + 3;
	return 0;
}

int parse_iomem(const char *text, void (*cb)(void *userdata, const char *name, uint64_t start, uint64_t end),
		void *userdata, bool *ret_has_addresses)
{
	bool has_addresses = false;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[256];
		const char *p = buf, *name;
		uint64_t start, end;

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			while (*p == ' ')
				p++;
			if (parse_range(p, &start, &end, &name) == 0) {
				if (end != 0)
					has_addresses = true;
				if (is_framebuffer(name))
					cb(userdata, name, start, end);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	*ret_has_addresses = has_addresses;
	return 0;
}

static void add_fb(void *userdata, const char *name, uint64_t start, uint64_t end)
{
	struct vmgpu_host *host = userdata;
	struct iomem_fb *n = realloc(host->fbs, (host->n_fbs + 1) * sizeof(*n));

	if (!n)
		return;
	host->fbs = n;
	n[host->n_fbs] = (struct iomem_fb){ .name = strdup(name), .start = start, .end = end };
	if (n[host->n_fbs].name)
		host->n_fbs++;
}

/* The device whose memory BAR contains [start, end]. */
static struct vmgpu_dev *bar_owner(struct vmgpu_host *host, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < host->n_devs; i++) {
		struct vmgpu_dev *d = host->devs[i];
		if (vmgpu_dev_flag(d, VMGPU_FLAG_BRIDGE) == VMGPU_YES)
			continue; /* bridge windows contain everything below them */
		for (unsigned s = 0; s < VMGPU_BAR_ROM; s++) {
			struct vmgpu_bar b;
			if (vmgpu_dev_bar(d, s, &b) < 0 || b.io || !b.size_known)
				continue;
			if (start >= b.start && end <= b.start + b.size - 1)
				return d;
		}
	}
	return NULL;
}

int host_read_framebuffers(struct vmgpu_host *host)
{
	_cleanup_free_ char *text = NULL;
	bool has_addresses = false;

	host->fbs_known = VMGPU_UNKNOWN;
	if (root_read_text(host->ctx, "proc/iomem", &text, NULL) < 0)
		return 0;
	parse_iomem(text, add_fb, host, &has_addresses);
	if (!has_addresses) {
		host->fbs_known = VMGPU_UNKNOWN;
		return 0;
	}
	host->fbs_known = VMGPU_YES;
	for (size_t i = 0; i < host->n_fbs; i++)
		host->fbs[i].dev = bar_owner(host, host->fbs[i].start, host->fbs[i].end);
	return 0;
}
