/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading vfio-pci through libkmod: softdeps (vfio_iommu_type1) and the
 * blacklist are honoured, as modprobe does. libkmod is opened with dlopen()
 * when a module must be loaded, not linked: it pulls libcrypto and the
 * compression libraries into every run (1.5 MB resident) for a step most runs
 * never take. Only on the live host: a snapshot root has no kernel.
 */
#include <libkmod.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "dlsym.h"

ELF_NOTE_DLOPEN("kmod", "Loading vfio-pci and its softdeps as modprobe does (assign)",
		ELF_NOTE_DLOPEN_PRIORITY_RECOMMENDED, "libkmod.so.2");

DECLARE_DLSYM(kmod_new);
DECLARE_DLSYM(kmod_unref);
DECLARE_DLSYM(kmod_module_new_from_lookup);
DECLARE_DLSYM(kmod_module_get_module);
DECLARE_DLSYM(kmod_list_next);
DECLARE_DLSYM(kmod_module_probe_insert_module);
DECLARE_DLSYM(kmod_module_unref);
DECLARE_DLSYM(kmod_module_unref_list);

static void *kmod_dl; /* stays open for the process */

static int kmod_load(void)
{
	return dlsym_many(&kmod_dl, "libkmod.so.2",
			  DLSYM_ARG(kmod_new),
			  DLSYM_ARG(kmod_unref),
			  DLSYM_ARG(kmod_module_new_from_lookup),
			  DLSYM_ARG(kmod_module_get_module),
			  DLSYM_ARG(kmod_list_next),
			  DLSYM_ARG(kmod_module_probe_insert_module),
			  DLSYM_ARG(kmod_module_unref),
			  DLSYM_ARG(kmod_module_unref_list),
			  NULL);
}

int modprobe_load(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz)
{
	struct kmod_ctx *k;
	struct kmod_list *list = NULL, *it;
	int r;

	if (strcmp(ctx->root, "/") != 0) {
		snprintf(why, sz, "cannot load %s into a snapshot root (%s)", name, ctx->root);
		return -EOPNOTSUPP;
	}
	if (kmod_load() < 0) {
		DBG(ctx, "libkmod: %s", dlsym_error());
		snprintf(why, sz, "libkmod (libkmod.so.2) is not installed: modprobe %s by hand", name);
		return -ENOPKG;
	}
	k = sym_kmod_new(NULL, NULL);
	if (!k) {
		snprintf(why, sz, "libkmod: cannot read the module index");
		return -ENOMEM;
	}
	r = sym_kmod_module_new_from_lookup(k, name, &list);
	if (r < 0 || !list) {
		snprintf(why, sz, "module %s not found for this kernel", name);
		sym_kmod_unref(k);
		return r < 0 ? r : -ENOENT;
	}
	for (it = list; it; it = sym_kmod_list_next(list, it)) {
		struct kmod_module *m = sym_kmod_module_get_module(it);
		r = sym_kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL, NULL, NULL);
		sym_kmod_module_unref(m);
		if (r != 0)
			break;
	}
	sym_kmod_module_unref_list(list);
	sym_kmod_unref(k);
	if (r == KMOD_PROBE_APPLY_BLACKLIST) {
		snprintf(why, sz, "%s is blacklisted (modprobe.d)", name);
		return -EPERM;
	}
	if (r < 0)
		snprintf(why, sz, "loading %s: %s", name, strerror(-r));
	return r < 0 ? r : 0;
}
