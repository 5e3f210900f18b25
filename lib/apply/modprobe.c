/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading vfio-pci through libkmod: softdeps (vfio_iommu_type1) and the
 * blacklist are honoured, as modprobe does. libkmod is opened with dlopen()
 * when a module must be loaded, not linked: it pulls libcrypto and the
 * compression libraries into every run (1.5 MB resident) for a step most runs
 * never take. Only on the live host: a snapshot root has no kernel.
 */
#include <dlfcn.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"

struct kmod_api {
	struct kmod_ctx *(*new)(const char *dirname, const char *const *config_paths);
	struct kmod_ctx *(*unref)(struct kmod_ctx *ctx);
	int (*lookup)(struct kmod_ctx *ctx, const char *given_alias, struct kmod_list **list);
	struct kmod_module *(*get_module)(const struct kmod_list *entry);
	struct kmod_list *(*list_next)(const struct kmod_list *list, const struct kmod_list *curr);
	int (*probe)(struct kmod_module *mod, unsigned int flags, const char *extra_options,
		     int (*run_install)(struct kmod_module *m, const char *cmdline, void *data), const void *data,
		     void (*print_action)(struct kmod_module *m, bool install, const char *options));
	struct kmod_module *(*module_unref)(struct kmod_module *mod);
	int (*unref_list)(struct kmod_list *list);
};

static int kmod_api_load(struct kmod_api *k)
{
	void *h = dlopen("libkmod.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return -ENOPKG;
	*(void **)&k->new = dlsym(h, "kmod_new");
	*(void **)&k->unref = dlsym(h, "kmod_unref");
	*(void **)&k->lookup = dlsym(h, "kmod_module_new_from_lookup");
	*(void **)&k->get_module = dlsym(h, "kmod_module_get_module");
	*(void **)&k->list_next = dlsym(h, "kmod_list_next");
	*(void **)&k->probe = dlsym(h, "kmod_module_probe_insert_module");
	*(void **)&k->module_unref = dlsym(h, "kmod_module_unref");
	*(void **)&k->unref_list = dlsym(h, "kmod_module_unref_list");
	if (!k->new || !k->unref || !k->lookup || !k->get_module || !k->list_next || !k->probe || !k->module_unref ||
	    !k->unref_list)
		return -ENOPKG;
	return 0; /* the handle stays open for the process */
}

int modprobe_load(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz)
{
	struct kmod_api api;
	struct kmod_ctx *k;
	struct kmod_list *list = NULL, *it;
	int r;

	if (strcmp(ctx->root, "/") != 0) {
		snprintf(why, sz, "cannot load %s into a snapshot root (%s)", name, ctx->root);
		return -EOPNOTSUPP;
	}
	if (kmod_api_load(&api) < 0) {
		snprintf(why, sz, "libkmod (libkmod.so.2) is not installed: modprobe %s by hand", name);
		return -ENOPKG;
	}
	k = api.new(NULL, NULL);
	if (!k) {
		snprintf(why, sz, "libkmod: cannot read the module index");
		return -ENOMEM;
	}
	r = api.lookup(k, name, &list);
	if (r < 0 || !list) {
		snprintf(why, sz, "module %s not found for this kernel", name);
		api.unref(k);
		return r < 0 ? r : -ENOENT;
	}
	for (it = list; it; it = api.list_next(list, it)) {
		struct kmod_module *m = api.get_module(it);
		r = api.probe(m, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL, NULL, NULL);
		api.module_unref(m);
		if (r != 0)
			break;
	}
	api.unref_list(list);
	api.unref(k);
	if (r == KMOD_PROBE_APPLY_BLACKLIST) {
		snprintf(why, sz, "%s is blacklisted (modprobe.d)", name);
		return -EPERM;
	}
	if (r < 0)
		snprintf(why, sz, "loading %s: %s", name, strerror(-r));
	return r < 0 ? r : 0;
}
