/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every command does the same way: reading the host, naming devices. */
#include <errno.h>
#include <string.h>

#include "tool.h"

static bool is_address(const char *s)
{
	uint32_t dom;
	uint8_t b, d, f;

	return vmgpu_parse_address(s, &dom, &b, &d, &f) == 0;
}

/* The full DDDD:BB:DD.F, domain included: the name of a function's
 * directory in sysfs, and so the only form a topology path can end in. */
static bool is_sysfs_address(const char *s)
{
	const char *colon = strchr(s, ':');

	return is_address(s) && colon && strchr(colon + 1, ':');
}

/* Syntax only, before the host is touched, and the same syntax as
 * vmgpu_host_lookup(): an address, a location path, or a topology path
 * ending in a full address (no ".." anywhere). What passes here the lookup
 * can only find or not find. */
int tool_check_device_syntax(char *const *devices, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = devices[i];

		if (is_address(s) || strncmp(s, "PCIROOT(", 8) == 0)
			continue;
		if (strchr(s, '/') && !strstr(s, "..") && is_sysfs_address(strrchr(s, '/') + 1))
			continue;
		tool_error("'%s' is not a PCI address (DDDD:BB:DD.F), topology path or location path", s);
		return -EINVAL;
	}
	return 0;
}

int tool_scan(struct vmgpu_ctx *ctx, struct vmgpu_host **ret)
{
	int k = vmgpu_host_scan(ctx, ret);

	if (k == -ENOENT)
		tool_error("%s has no sys/bus/pci/devices: not a Linux host root", vmgpu_ctx_root(ctx));
	else if (k < 0)
		tool_error("cannot read PCI devices under %s: %s", vmgpu_ctx_root(ctx), strerror(-k));
	return k;
}

int tool_lookup(struct vmgpu_host *host, struct vmgpu_ctx *ctx, const char *spec, struct vmgpu_dev **ret)
{
	int k = vmgpu_host_lookup(host, spec, ret);

	if (k == -ENODEV)
		tool_error("no PCI device %s under %s", spec, vmgpu_ctx_root(ctx));
	else if (k < 0)
		tool_error("'%s': %s", spec, strerror(-k));
	return k;
}
