/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading vfio-pci through libkmod: softdeps (vfio_iommu_type1) and the
 * blacklist are honoured, as modprobe does. Only on the live host: a
 * snapshot root has no kernel to load into. */
#include <libkmod.h>
#include <stdio.h>
#include <string.h>

#include "vmgpu-internal.h"

int kmod_load(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz)
{
	struct kmod_ctx *k;
	struct kmod_list *list = NULL, *it;
	int r;

	if (strcmp(ctx->root, "/") != 0) {
		snprintf(why, sz, "cannot load %s into a snapshot root (%s)", name, ctx->root);
		return -EOPNOTSUPP;
	}
	k = kmod_new(NULL, NULL);
	if (!k) {
		snprintf(why, sz, "libkmod: cannot read the module index");
		return -ENOMEM;
	}
	r = kmod_module_new_from_lookup(k, name, &list);
	if (r < 0 || !list) {
		snprintf(why, sz, "module %s not found for this kernel", name);
		kmod_unref(k);
		return r < 0 ? r : -ENOENT;
	}
	kmod_list_foreach(it, list) {
		struct kmod_module *m = kmod_module_get_module(it);
		r = kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL, NULL, NULL);
		kmod_module_unref(m);
		if (r < 0)
			break;
	}
	kmod_module_unref_list(list);
	kmod_unref(k);
	if (r == KMOD_PROBE_APPLY_BLACKLIST) {
		snprintf(why, sz, "%s is blacklisted (modprobe.d)", name);
		return -EPERM;
	}
	if (r < 0)
		snprintf(why, sz, "loading %s: %s", name, strerror(-r));
	return r < 0 ? r : 0;
}
