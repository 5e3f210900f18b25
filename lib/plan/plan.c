/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plans: what assign and release will change, computed from the host model
 * before anything is touched, so that --dry-run prints exactly what apply
 * does and every refusal is known up front.
 *
 * Assign moves each function of the IOMMU group to vfio-pci the way the
 * kernel intends (never new_id, which would let vfio-pci grab every device
 * with the same IDs):
 *   echo vfio-pci     > /sys/bus/pci/devices/0000:01:00.0/driver_override
 *   echo 0000:01:00.0 > /sys/bus/pci/devices/0000:01:00.0/driver/unbind
 *   echo 0000:01:00.0 > /sys/bus/pci/drivers_probe
 * Release clears the override and re-probes, so the kernel's normal match
 * brings the recorded original driver back:
 *   echo              > /sys/bus/pci/devices/0000:01:00.0/driver_override
 *   echo 0000:01:00.0 > /sys/bus/pci/devices/0000:01:00.0/driver/unbind
 *   echo 0000:01:00.0 > /sys/bus/pci/drivers_probe
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "inuse.h"
#include "journal.h"
#include "plan.h"

void plan_refuse(struct vmgpu_plan *p, enum reason_code code, const char *fmt, ...)
{
	const struct reason_info *ri = reason_info(code);
	struct plan_refusal *r;
	char *msg = NULL;
	va_list ap;

	if (!ri) { /* a code outside the table is a bug: fail rather than lose the refusal */
		p->failed = true;
		return;
	}
	p->refusals = plan_grow(p->refusals, p->n_refusals, sizeof(*p->refusals), &p->failed);
	if (p->failed)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	r = &p->refusals[p->n_refusals++];
	*r = (struct plan_refusal){
		.code = ri->code,
		.fix = ri->form[0].fix,
		.message = msg ? msg : plan_strdup(p, ri->code),
		.forced = ri->forceable && (p->flags & VMGPU_PLAN_FORCE),
	};
}

static bool plan_has_dev(const struct vmgpu_plan *p, const struct vmgpu_dev *d)
{
	for (size_t i = 0; i < p->n_devs; i++)
		if (p->devs[i] == d)
			return true;
	return false;
}

static void plan_add_dev(struct vmgpu_plan *p, struct vmgpu_dev *d)
{
	if (plan_has_dev(p, d))
		return;
	p->devs = plan_grow(p->devs, p->n_devs, sizeof(*p->devs), &p->failed);
	if (!p->failed)
		p->devs[p->n_devs++] = d;
}

struct vmgpu_plan *plan_new(struct vmgpu_host *host, enum journal_op op, unsigned flags)
{
	struct vmgpu_plan *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->host = vmgpu_host_ref(host);
	p->ctx = host->ctx;
	p->op = op;
	p->flags = flags;
	return p;
}

struct vmgpu_plan *plan_new_back(struct vmgpu_ctx *ctx)
{
	struct vmgpu_plan *p = calloc(1, sizeof(*p));

	if (p)
		p->ctx = ctx;
	return p;
}


/* Verdict blockers become refusals; those that are only a risk the user may
 * choose to take are forceable (the table says which). */
static void refuse_from_verdict(struct vmgpu_plan *p, struct vmgpu_dev *dev)
{
	struct vmgpu_verdict *v;

	if (vmgpu_dev_judge(p->host, dev, &v) < 0) {
		plan_refuse(p, REASON_NOT_ENDPOINT, "%s is a bridge or port: only endpoints can be assigned.",
			    dev->address);
		return;
	}
	for (size_t i = 0; i < vmgpu_verdict_n_reasons(v); i++) {
		struct vmgpu_reason r;
		if (vmgpu_verdict_reason(v, i, &r) < 0 || r.severity != VMGPU_SEVERITY_BLOCKER)
			continue;
		/* every verdict code is the table's: add_reason() takes its enum */
		plan_refuse(p, reason_lookup(r.code), "%s: %s", dev->address, r.message);
	}
	for (size_t i = 0; i < vmgpu_verdict_n_companions(v); i++)
		plan_add_dev(p, vmgpu_verdict_companion(v, i));
	vmgpu_verdict_unref(v);
}

/* The host itself uses DEV: a mounted disk or swap on it, or its network
 * interface carries the default route. */
static void refuse_if_host_uses(struct vmgpu_plan *p, struct vmgpu_dev *dev, const struct dev_nodes *dn)
{
	struct vmgpu_ctx *ctx = p->host->ctx;
	char desc[256];

	if (inuse_block(ctx, dn, desc, sizeof(desc)) == 1)
		plan_refuse(p, REFUSE_HOST_DISK_IN_USE, "%s: %s; the host would lose it.", dev->address, desc);
	if (inuse_default_route(ctx, dn, desc, sizeof(desc)) == 1)
		plan_refuse(p, REFUSE_HOST_NETWORK_IN_USE, "%s: %s; the host would lose its network.", dev->address, desc);
}

/* Process OP holds a node of DEV open. */
static void refuse_opener(struct vmgpu_plan *p, struct vmgpu_dev *dev, const struct opener *op, bool vm_nodes_only)
{
	bool vfio = strncmp(op->node, "/dev/vfio/", 10) == 0;

	if (vm_nodes_only && !vfio)
		return;
	/* Assign leaves a function already on vfio-pci as it is: a VM
	 * holding its group is no reason to refuse. And another vmgpu
	 * holds a group only for its moment of viability check. */
	if (vfio && (!vm_nodes_only || strcmp(op->comm, "vmgpu") == 0))
		return;
	if (vfio)
		plan_refuse(p, REFUSE_IN_USE_BY_VM, "%s: %s is open by PID %d (%s): a VM is using the device.",
			    dev->address, op->node, op->pid, op->comm);
	else
		plan_refuse(p, REFUSE_DEVICE_OPEN, "%s: %s is open by PID %d (%s).", dev->address, op->node, op->pid,
			    op->comm);
}

/*
 * The host must not be using any function the plan takes away; with
 * VM_NODES_ONLY (release) only a VM holding /dev/vfio/N counts. Who holds
 * a node open is found by reading every fd link of every process: one walk
 * for all the plan's functions, each hit then refused for every function
 * with that node (/dev/vfio/N is the whole group's), in the plan's order.
 */
static void refuse_if_in_use(struct vmgpu_plan *p, bool vm_nodes_only)
{
	struct vmgpu_ctx *ctx = p->host->ctx;
	struct dev_nodes *dn = calloc(p->n_devs ? p->n_devs : 1, sizeof(*dn)), all = { 0 };
	struct opener *op = NULL;
	size_t n_op = 0;
	bool incomplete = false;

	if (!dn) {
		p->failed = true;
		return;
	}
	/* A function whose nodes cannot be found is left without checks. */
	for (size_t i = 0; i < p->n_devs; i++)
		if (inuse_find_nodes(ctx, p->devs[i], &dn[i]) == 0 && inuse_nodes_add_paths(&all, &dn[i]) < 0)
			p->failed = true;
	if (!p->failed)
		(void)inuse_openers(ctx, &all, &op, &n_op, &incomplete);
	for (size_t i = 0; i < p->n_devs; i++) {
		if (!vm_nodes_only)
			refuse_if_host_uses(p, p->devs[i], &dn[i]);
		for (size_t k = 0; k < n_op; k++)
			if (inuse_nodes_has_path(&dn[i], op[k].node))
				refuse_opener(p, p->devs[i], &op[k], vm_nodes_only);
		inuse_nodes_free(&dn[i]);
	}
	free(op);
	free(dn);
	inuse_nodes_free(&all);
}

/* The group of the plan's function I is one of an earlier function's. The
 * functions are in address order, and a group can span slots with another
 * group's between them (a PCIe switch without ACS, conventional PCI). */
static bool group_seen_before(const struct vmgpu_plan *p, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (p->devs[k]->iommu_group == p->devs[i]->iommu_group)
			return true;
	return false;
}

static struct fn_state fn_state_of(const struct vmgpu_dev *d)
{
	return (struct fn_state){ d->driver ? d->driver : "", d->driver_override ? d->driver_override : "" };
}

static void assign_steps(struct vmgpu_plan *p)
{
	char path[256];

	if (p->host->vfio_pci != VMGPU_MODULE_LOADED)
		steps_add(p, VMGPU_STEP_LOAD_MODULE, NULL, "sys/module/vfio_pci", "vfio-pci", "",
			      "load the vfio-pci module");
	for (size_t i = 0; i < p->n_devs; i++) {
		struct vmgpu_dev *d = p->devs[i];
		steps_driver(p, d, d->address, d->iommu_group, fn_state_of(d),
			     (struct fn_state){ "vfio-pci", "vfio-pci" }, true);
	}
	for (size_t i = 0; i < p->n_devs; i++) {
		int group = p->devs[i]->iommu_group;
		if (group_seen_before(p, i))
			continue;
		snprintf(path, sizeof(path), "dev/vfio/%d", group);
		steps_add(p, VMGPU_STEP_CHECK_GROUP, NULL, path, "", "",
			      "IOMMU group %d is viable: every function in it is on vfio-pci or driverless", group);
	}
	if (!(p->flags & VMGPU_PLAN_PERSIST))
		return;
	for (size_t i = 0; i < p->n_devs; i++) {
		_cleanup_free_ char *rule = persist_udev_rule(p->devs[i]->address, p->devs[i]->vendor, p->devs[i]->device);
		persist_rule_path(path, sizeof(path), p->devs[i]->address);
		if (!rule) {
			p->failed = true;
			return;
		}
		steps_add(p, VMGPU_STEP_WRITE_FILE, p->devs[i], path, rule, "",
			      "%s: udev rule keeps it on vfio-pci across reboots", p->devs[i]->address);
	}
	steps_add(p, VMGPU_STEP_WRITE_FILE, NULL, PERSIST_MODULES_FILE, PERSIST_MODULES_TEXT, "",
		      "load vfio-pci at boot");
}

int plan_finish(struct vmgpu_plan *p, struct vmgpu_plan **ret)
{
	if (p->failed) {
		vmgpu_plan_unref(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

VMGPU_EXPORT int vmgpu_plan_assign(struct vmgpu_host *host, struct vmgpu_dev *const *devs, size_t n,
				   unsigned flags, struct vmgpu_plan **ret_plan)
{
	struct vmgpu_plan *p;

	assert_return(ret_plan, -EINVAL);
	if (!host || !devs || n == 0)
		return -EINVAL;
	p = plan_new(host, JOURNAL_ASSIGN, flags);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (devs[i]->host != host) {
			vmgpu_plan_unref(p);
			return -EINVAL;
		}
		plan_add_dev(p, devs[i]);
	}
	for (size_t i = 0; i < n; i++)
		refuse_from_verdict(p, devs[i]);
	if (!p->failed)
		qsort(p->devs, p->n_devs, sizeof(*p->devs), dev_cmp);
	refuse_if_in_use(p, false);
	assign_steps(p);
	return plan_finish(p, ret_plan);
}

/*
 * Back to the recorded original: its override, then its driver (or none).
 * Without a record (--foreign) only vmgpu's own traces are undone: a
 * vfio-pci override is cleared and vfio-pci unbound, and the kernel picks.
 */
static void release_steps(struct vmgpu_plan *p)
{
	char path[256];

	for (size_t i = 0; i < p->n_devs; i++) {
		struct vmgpu_dev *d = p->devs[i];
		const struct jdev *rec = plan_record(p, d);
		const char *cur_override = d->driver_override ? d->driver_override : "";

		if (!rec && !(p->flags & VMGPU_PLAN_FOREIGN))
			continue; /* not vmgpu's: refused above, or released already */
		/* Back to the recorded driver (a foreign one: the kernel's choice),
		 * re-probed also when driverless now, unless it had no driver
		 * before: then it stays without. */
		struct fn_state want = { rec ? rec->driver : NULL,
					 rec ? rec->override : (is_vfio(cur_override) ? "" : cur_override) };

		steps_driver(p, d, d->address, d->iommu_group, fn_state_of(d), want, rec || is_vfio(cur_override));
		if (rec && rec->persist) {
			persist_rule_path(path, sizeof(path), d->address);
			steps_add(p, VMGPU_STEP_REMOVE_FILE, d, path, "", "", "%s: remove the udev rule",
				      d->address);
		}
	}
}

void plan_add_obj(struct vmgpu_plan *p, const struct jobj *o)
{
	p->objs = plan_grow(p->objs, p->n_objs, sizeof(*p->objs), &p->failed);
	if (!p->failed)
		p->objs[p->n_objs++] = *o;
}

VMGPU_EXPORT size_t vmgpu_plan_n_created(const struct vmgpu_plan *p)
{
	size_t n = 0;

	assert_return(p, 0);
	for (size_t i = 0; i < p->n_objs; i++)
		n += p->objs[i].kind == JOBJ_MDEV && p->objs[i].target == 1;
	return n;
}

VMGPU_EXPORT const char *vmgpu_plan_created(const struct vmgpu_plan *p, size_t i)
{
	assert_return(p, NULL);
	for (size_t k = 0; k < p->n_objs; k++)
		if (p->objs[k].kind == JOBJ_MDEV && p->objs[k].target == 1 && i-- == 0)
			return p->objs[k].key;
	return NULL;
}

const struct jdev *plan_record(const struct vmgpu_plan *p, const struct vmgpu_dev *d)
{
	for (size_t i = 0; i < p->state.n; i++)
		if (strcmp(p->state.devs[i].address, d->address) == 0)
			return &p->state.devs[i];
	return NULL;
}

VMGPU_EXPORT int vmgpu_plan_release(struct vmgpu_host *host, struct vmgpu_dev *const *devs, size_t n,
				    unsigned flags, struct vmgpu_plan **ret_plan)
{
	struct vmgpu_plan *p;
	int r;

	assert_return(ret_plan, -EINVAL);
	if (!host || !devs || n == 0)
		return -EINVAL;
	p = plan_new(host, JOURNAL_RELEASE, flags);
	if (!p)
		return -ENOMEM;
	r = state_read_root(host->ctx, &p->state);
	if (r < 0) {
		vmgpu_plan_unref(p);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct vmgpu_dev *d = devs[i];
		if (d->host != host) {
			vmgpu_plan_unref(p);
			return -EINVAL;
		}
		plan_add_dev(p, d);
		/* Not recorded and not on vfio-pci: released already, nothing
		 * to do (release is idempotent). On vfio-pci without a record:
		 * someone else assigned it, and its original driver is unknown. */
		if (!plan_record(p, d) && !(flags & VMGPU_PLAN_FOREIGN) &&
		    (is_vfio(d->driver) || is_vfio(d->driver_override)))
			plan_refuse(p, REFUSE_NOT_ASSIGNED_BY_VMGPU,
				    "%s is on vfio-pci but was not assigned by vmgpu: there is no record of its original driver.",
				    d->address);
		/* Group mates that vmgpu assigned along with it come back too. */
		for (size_t k = 0; k < d->n_peers; k++)
			if (plan_record(p, d->peers[k]))
				plan_add_dev(p, d->peers[k]);
	}
	if (!p->failed)
		qsort(p->devs, p->n_devs, sizeof(*p->devs), dev_cmp);
	refuse_if_in_use(p, true);
	release_steps(p);
	return plan_finish(p, ret_plan);
}

VMGPU_EXPORT struct vmgpu_plan *vmgpu_plan_unref(struct vmgpu_plan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_steps; i++) {
		free(p->steps[i].path);
		free(p->steps[i].value);
		free(p->steps[i].expect);
		free(p->steps[i].summary);
	}
	free(p->steps);
	for (size_t i = 0; i < p->n_refusals; i++)
		free(p->refusals[i].message);
	free(p->refusals);
	free(p->devs);
	free(p->objs);
	free(p->state.devs);
	vmgpu_host_unref(p->host);
	free(p);
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_plan_n_steps(const struct vmgpu_plan *p)
{
	assert_return(p, 0);
	return p->n_steps;
}

VMGPU_EXPORT int vmgpu_plan_step(const struct vmgpu_plan *p, size_t i, struct vmgpu_step *ret)
{
	assert_return(p, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= p->n_steps)
		return -ENOENT;
	*ret = (struct vmgpu_step){
		.kind = p->steps[i].kind,
		.dev = p->steps[i].dev,
		.path = p->steps[i].path,
		.value = p->steps[i].value,
		.expect = p->steps[i].expect,
		.summary = p->steps[i].summary,
	};
	return 0;
}

VMGPU_EXPORT size_t vmgpu_plan_n_devices(const struct vmgpu_plan *p)
{
	assert_return(p, 0);
	return p->n_devs;
}

VMGPU_EXPORT struct vmgpu_dev *vmgpu_plan_device(const struct vmgpu_plan *p, size_t i)
{
	assert_return(p, NULL);
	return i < p->n_devs ? p->devs[i] : NULL;
}

VMGPU_EXPORT size_t vmgpu_plan_n_refusals(const struct vmgpu_plan *p)
{
	assert_return(p, 0);
	return p->n_refusals;
}

VMGPU_EXPORT int vmgpu_plan_refusal(const struct vmgpu_plan *p, size_t i, struct vmgpu_reason *ret, bool *ret_forced)
{
	assert_return(p, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= p->n_refusals)
		return -ENOENT;
	*ret = (struct vmgpu_reason){ p->refusals[i].code, VMGPU_SEVERITY_BLOCKER, p->refusals[i].message,
				      p->refusals[i].fix };
	if (ret_forced)
		*ret_forced = p->refusals[i].forced;
	return 0;
}

VMGPU_EXPORT bool vmgpu_plan_refused(const struct vmgpu_plan *p)
{
	assert_return(p, false);
	for (size_t i = 0; i < p->n_refusals; i++)
		if (!p->refusals[i].forced)
			return true;
	return false;
}
