/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public libvirt entry points: each turns its input into the plain
 * request of virt/virt-req.h and hands it to the vmgpu-virt module, loaded
 * on first use (see virt-req.h for why it is a module). The module is looked
 * for in $VMGPU_MODULE_DIR, next to the running program (and in its lib/,
 * the build tree's layout), then in the installed module directory.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "dlsym.h"
#include "verify.h"
#include "virt-req.h"
#include "host.h"

#define MODULE_NAME "vmgpu-virt.so"

ELF_NOTE_DLOPEN("libvirt", "vmgpu's libvirt module (libvirt, libxml2): attach, detach, verify --vm",
		ELF_NOTE_DLOPEN_PRIORITY_RECOMMENDED, MODULE_NAME);

DECLARE_DLSYM(vmgpu_virt_module);

static void *module_dl; /* stays open for the process */
static const struct virt_ops *virt_ops;
static bool libvirt_shared; /* libvirt was loaded before the module (see virt_req) */

/* 1: loaded from DIR, 0: no module there, -ELIBBAD: one without the entry. */
static int try_dir(const char *dir)
{
	char path[PATH_MAX];
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, MODULE_NAME) >= sizeof(path))
		return 0;
	r = dlsym_many(&module_dl, path, DLSYM_ARG(vmgpu_virt_module), NULL);
	return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

static const struct virt_ops *load(void)
{
	const char *env = secure_getenv("VMGPU_MODULE_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	int r = 0;

	if (virt_ops)
		return virt_ops;
	/* Before the module brings libvirt in: is it here already? */
	if (dlopen_is_loaded("libvirt.so.0"))
		libvirt_shared = true;
	if (env && *env)
		r = try_dir(env);
	if (r == 0 && (n = readlink("/proc/self/exe", exe, sizeof(exe) - 8)) > 0) {
		char *slash;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';
			r = try_dir(exe);
			if (r == 0) {
				strcat(exe, "/lib");
				r = try_dir(exe);
			}
		}
	}
	if (r == 0)
		r = try_dir(VMGPU_MODULEDIR);
	if (r <= 0)
		return NULL;
	const struct virt_ops *ops = sym_vmgpu_virt_module();
	if (!ops || ops->abi != VIRT_MODULE_ABI) {
		dlclose(module_dl);
		module_dl = NULL;
		sym_vmgpu_virt_module = NULL;
		return NULL;
	}
	return virt_ops = ops;
}

/* The layout's flags go to the module as they are. */
_Static_assert((unsigned)VIRT_MANAGED == (unsigned)VMGPU_LAYOUT_MANAGED, "VIRT_MANAGED");
_Static_assert((unsigned)VIRT_NVIDIA_HIDE == (unsigned)VMGPU_LAYOUT_NVIDIA_HIDE, "VIRT_NVIDIA_HIDE");
_Static_assert((unsigned)VIRT_NO_ROM == (unsigned)VMGPU_LAYOUT_NO_ROM, "VIRT_NO_ROM");

/* The layout as plain data; *ret_fns is malloc'ed. */
static int req_from_layout(const struct vmgpu_vm_layout *l, struct virt_req *req, struct virt_fn **ret_fns)
{
	size_t n = vmgpu_vm_layout_n_functions(l);
	const struct vmgpu_mmio *m = vmgpu_vm_layout_mmio(l);
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
		.fns = fns, .n_fns = n, .flags = vmgpu_vm_layout_flags(l),
		.hole64_needed = !m->qemu_pci_hole64_sufficient, .hole64 = m->qemu_pci_hole64,
	};
	*ret_fns = fns;
	return 0;
}

/* One call into the module: render (not UPDATE) or update. */
struct module_call {
	bool update;
	const char *domain_xml, *uri, *vm;
	bool detach, dry_run;
	char **ret_xml, **ret_report;
};

static int call_module(struct virt_req *req, const struct module_call *c)
{
	const struct virt_ops *ops;

	if (c->ret_report)
		*c->ret_report = NULL;
	if (!(ops = load())) {
		if (c->ret_report)
			*c->ret_report = strdup("the libvirt module " MODULE_NAME " cannot be loaded (is libvirt installed?)");
		return -ENOPKG;
	}
	req->libvirt_shared = libvirt_shared;
	if (c->update)
		return ops->update(req, c->uri, c->vm, c->detach, c->dry_run, c->ret_xml, c->ret_report);
	return ops->render(req, c->domain_xml, c->vm, c->ret_xml);
}

static int call_module_layout(const struct vmgpu_vm_layout *l, const struct module_call *c)
{
	struct virt_fn *fns = NULL;
	struct virt_req req;
	int r;

	if ((r = req_from_layout(l, &req, &fns)) < 0)
		return r;
	r = call_module(&req, c);
	free(fns);
	return r;
}

VMGPU_EXPORT int vmgpu_render_libvirt(const struct vmgpu_vm_layout *l, const char *domain_xml, const char *vm,
				      char **ret)
{
	assert_return(l, -EINVAL);
	assert_return(ret, -EINVAL);
	return call_module_layout(l, &(struct module_call){ .domain_xml = domain_xml, .vm = vm, .ret_xml = ret });
}

VMGPU_EXPORT int vmgpu_libvirt_update(const struct vmgpu_vm_layout *l, const char *uri, const char *vm, bool detach,
				      bool dry_run, char **ret_xml, char **ret_report)
{
	assert_return(l, -EINVAL);
	return call_module_layout(l, &(struct module_call){ .update = true, .uri = uri, .vm = vm, .detach = detach,
							    .dry_run = dry_run, .ret_xml = ret_xml, .ret_report = ret_report });
}

VMGPU_EXPORT int vmgpu_libvirt_update_mdevs(const char *const *uuids, size_t n, const char *uri, const char *vm,
					    bool detach, bool dry_run, char **ret_xml, char **ret_report)
{
	assert_return(!n || uuids, -EINVAL);
	return call_module(&(struct virt_req){ .mdevs = uuids, .n_mdevs = n },
			   &(struct module_call){ .update = true, .uri = uri, .vm = vm, .detach = detach,
						  .dry_run = dry_run, .ret_xml = ret_xml, .ret_report = ret_report });
}

VMGPU_EXPORT int vmgpu_libvirt_update_virgl(const char *render_node, const char *uri, const char *vm, bool detach,
					    bool dry_run, char **ret_xml, char **ret_report)
{
	return call_module(&(struct virt_req){ .render_node = render_node },
			   &(struct module_call){ .update = true, .uri = uri, .vm = vm, .detach = detach,
						  .dry_run = dry_run, .ret_xml = ret_xml, .ret_report = ret_report });
}

VMGPU_EXPORT int vmgpu_render_slices_libvirt(const char *const *uuids, size_t n, const char *render_node,
					     const char *vm, char **ret)
{
	assert_return(!n || uuids, -EINVAL);
	assert_return(ret, -EINVAL);
	return call_module(&(struct virt_req){ .mdevs = uuids, .n_mdevs = n, .render_node = render_node },
			   &(struct module_call){ .vm = vm, .ret_xml = ret });
}

/* ---- vmgpu verify through libvirt ---- */

struct libvirt_io {
	const struct virt_ops *ops;
	struct virt_domain *dom;
};

static int lv_qmp(void *userdata, const char *cmd, char **ret_reply, char **ret_error)
{
	struct libvirt_io *l = userdata;

	return l->ops->monitor(l->dom, cmd, ret_reply, ret_error);
}

static int lv_agent(void *userdata, const char *cmd, char **ret_reply, char **ret_error)
{
	struct libvirt_io *l = userdata;

	return l->ops->agent(l->dom, cmd, VERIFY_AGENT_TIMEOUT_S, ret_reply, ret_error);
}

/* "a\nb\n" as an array of pointers into it (*ret_v malloc'ed). */
static int split_lines(char *s, const char ***ret_v, size_t *ret_n)
{
	size_t n = 0, cap = 1;
	const char **v;

	for (char *p = s; *p; p++)
		cap += *p == '\n';
	if (!(v = calloc(cap, sizeof(*v))))
		return -ENOMEM;
	for (char *p = s, *nl; *p && (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		v[n++] = p;
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
}

VMGPU_EXPORT int vmgpu_verify_libvirt(struct vmgpu_ctx *ctx, const char *uri, const char *vm,
				      const char *const *devices, size_t n, struct vmgpu_verify **ret,
				      char **ret_report)
{
	struct libvirt_io l = { 0 };
	struct verify_io io = { .userdata = &l, .qmp = lv_qmp, .agent = lv_agent, .libvirt = true, .target = vm };
	_cleanup_free_ char *aliases = NULL;
	_cleanup_free_ const char **defined = NULL;
	int r;

	if (ret_report)
		*ret_report = NULL;
	assert_return(vm, -EINVAL);
	assert_return(!n || devices, -EINVAL);
	assert_return(ret, -EINVAL);
	if (!(l.ops = load())) {
		if (ret_report)
			*ret_report =
				strdup("the libvirt module " MODULE_NAME " cannot be loaded (is libvirt installed?)");
		return -ENOPKG;
	}
	if ((r = l.ops->domain_open(uri, vm, libvirt_shared, &l.dom, ret_report)) < 0)
		return r;
	if ((r = l.ops->aliases(l.dom, &aliases, ret_report)) == 0 &&
	    (r = split_lines(aliases, &defined, &io.n_defined)) == 0) {
		io.defined = defined;
		r = verify_run(ctx, &io, devices, n, ret, ret_report);
	}
	l.ops->domain_close(l.dom);
	return r;
}
