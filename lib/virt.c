/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public libvirt entry points: each turns its input into the plain
 * request of virt/virt-req.h and hands it to the vmgpu-virt module, loaded
 * on first use (see virt-req.h for why it is a module). The module is looked
 * for in $VMGPU_MODULE_DIR, next to the running program (and in its lib/,
 * the build tree's layout), then in the installed module directory.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "virt/virt-req.h"
#include "vmgpu-internal.h"

#define MODULE_NAME "vmgpu-virt.so"

static const struct virt_ops *virt_ops;
static bool libvirt_shared;

static void *try_dir(const char *dir)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, MODULE_NAME) >= sizeof(path))
		return NULL;
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static const struct virt_ops *load(void)
{
	const char *env = secure_getenv("VMGPU_MODULE_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	void *h = NULL;

	if (virt_ops)
		return virt_ops;
	/* Before the module brings libvirt in: is it here already? */
	if ((h = dlopen("libvirt.so.0", RTLD_LAZY | RTLD_NOLOAD))) {
		libvirt_shared = true;
		dlclose(h);
		h = NULL;
	}
	if (env && *env)
		h = try_dir(env);
	if (!h && (n = readlink("/proc/self/exe", exe, sizeof(exe) - 8)) > 0) {
		char *slash;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';
			h = try_dir(exe);
			if (!h) {
				strcat(exe, "/lib");
				h = try_dir(exe);
			}
		}
	}
	if (!h)
		h = try_dir(VMGPU_MODULEDIR);
	if (!h)
		return NULL;
	const struct virt_ops *(*entry)(void) = (const struct virt_ops *(*)(void))dlsym(h, "vmgpu_virt_module");
	if (!entry || !entry() || entry()->abi != VIRT_MODULE_ABI) {
		dlclose(h);
		return NULL;
	}
	return virt_ops = entry();
}

/* The layout as plain data; *ret_fns is malloc'ed. */
static int req_from_layout(const struct vmgpu_vm_layout *l, struct virt_req *req, struct virt_fn **ret_fns)
{
	size_t n = vmgpu_vm_layout_n_functions(l);
	const struct vmgpu_mmio *m = vmgpu_vm_layout_mmio(l);
	unsigned flags = vmgpu_vm_layout_flags(l);
	struct virt_fn *fns = calloc(n ? n : 1, sizeof(*fns));

	if (!fns)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct vmgpu_vm_function f;
		vmgpu_vm_layout_function(l, i, &f);
		fns[i] = (struct virt_fn){
			.domain = f.dev->addr.domain, .bus = f.dev->addr.bus, .dev = f.dev->addr.dev, .fn = f.dev->addr.fn,
			.slot = f.slot, .function = f.function, .multifunction = f.multifunction,
		};
		snprintf(fns[i].address, sizeof(fns[i].address), "%s", f.dev->address);
		snprintf(fns[i].driver, sizeof(fns[i].driver), "%s", f.dev->driver ? f.dev->driver : "");
	}
	*req = (struct virt_req){
		.fns = fns, .n_fns = n,
		.flags = ((flags & VMGPU_LAYOUT_MANAGED) ? VIRT_MANAGED : 0) |
			 ((flags & VMGPU_LAYOUT_NVIDIA_HIDE) ? VIRT_NVIDIA_HIDE : 0) |
			 ((flags & VMGPU_LAYOUT_NO_ROM) ? VIRT_NO_ROM : 0),
		.hole64_needed = !m->qemu_pci_hole64_sufficient, .hole64 = m->qemu_pci_hole64,
		.libvirt_shared = libvirt_shared,
	};
	*ret_fns = fns;
	return 0;
}

static int no_module(char **ret_report)
{
	if (ret_report)
		*ret_report = strdup("the libvirt module " MODULE_NAME " cannot be loaded (is libvirt installed?)");
	return -ENOPKG;
}

VMGPU_EXPORT int vmgpu_render_libvirt(const struct vmgpu_vm_layout *l, const char *domain_xml, const char *vm,
				      char **ret)
{
	const struct virt_ops *ops = load();
	struct virt_fn *fns = NULL;
	struct virt_req req;
	int r;

	if (!ops)
		return -ENOPKG;
	if ((r = req_from_layout(l, &req, &fns)) < 0)
		return r;
	r = ops->render(&req, domain_xml, vm, ret);
	free(fns);
	return r;
}

VMGPU_EXPORT int vmgpu_libvirt_update(const struct vmgpu_vm_layout *l, const char *uri, const char *vm, bool detach,
				      bool dry_run, char **ret_xml, char **ret_report)
{
	const struct virt_ops *ops = load();
	struct virt_fn *fns = NULL;
	struct virt_req req;
	int r;

	if (!ops)
		return no_module(ret_report);
	if ((r = req_from_layout(l, &req, &fns)) < 0)
		return r;
	r = ops->update(&req, uri, vm, detach, dry_run, ret_xml, ret_report);
	free(fns);
	return r;
}

VMGPU_EXPORT int vmgpu_libvirt_update_mdevs(const char *const *uuids, size_t n, const char *uri, const char *vm,
					    bool detach, bool dry_run, char **ret_xml, char **ret_report)
{
	const struct virt_ops *ops = load();
	struct virt_req req = { .mdevs = uuids, .n_mdevs = n, .libvirt_shared = libvirt_shared };

	return ops ? ops->update(&req, uri, vm, detach, dry_run, ret_xml, ret_report) : no_module(ret_report);
}

VMGPU_EXPORT int vmgpu_libvirt_update_virgl(const char *render_node, const char *uri, const char *vm, bool detach,
					    bool dry_run, char **ret_xml, char **ret_report)
{
	const struct virt_ops *ops = load();
	struct virt_req req = { .render_node = render_node, .libvirt_shared = libvirt_shared };

	return ops ? ops->update(&req, uri, vm, detach, dry_run, ret_xml, ret_report) : no_module(ret_report);
}

VMGPU_EXPORT int vmgpu_render_slices_libvirt(const char *const *uuids, size_t n, const char *render_node,
					     const char *vm, char **ret)
{
	const struct virt_ops *ops = load();
	struct virt_req req = { .mdevs = uuids, .n_mdevs = n, .render_node = render_node };

	return ops ? ops->render(&req, NULL, vm, ret) : -ENOPKG;
}
