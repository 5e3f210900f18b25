/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plans that split a GPU: mdev instances, SR-IOV VFs, NVIDIA vGPU types on
 * VFs. As shell:
 *   uuid=$(cat /proc/sys/kernel/random/uuid)
 *   echo $uuid > /sys/class/mdev_bus/PARENT/mdev_supported_types/TYPE/create
 *   echo 1     > /sys/bus/mdev/devices/$uuid/remove
 *   echo 0 > /sys/bus/pci/devices/PF/sriov_drivers_autoprobe  # VFs stay free for VMs
 *   echo 0 > /sys/bus/pci/devices/PF/sriov_numvfs             # the kernel wants 0 before N
 *   echo N > /sys/bus/pci/devices/PF/sriov_numvfs
 *   echo 0   > /sys/bus/pci/devices/VF/nvidia/current_vgpu_type  # before another type
 *   echo 560 > /sys/bus/pci/devices/VF/nvidia/current_vgpu_type
 * Each change is also a journal object with its value before and after, so
 * that rollback and recovery converge to either, whatever step was cut.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "inuse.h"
#include "plan.h"
#include "partition.h"

static void make_uuid(char buf[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rand();
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The index of the parent NAME, or SIZE_MAX. */
static size_t find_parent(const struct vmgpu_partitions *s, const char *name)
{
	for (size_t i = 0; i < vmgpu_partitions_n_parents(s); i++)
		if (strcmp(vmgpu_partitions_parent(s, i)->name, name) == 0)
			return i;
	return SIZE_MAX;
}

int plan_mdev_create_in(struct vmgpu_host *host, const struct vmgpu_partitions *s, const char *parent, const char *type,
			unsigned count, unsigned flags, struct vmgpu_plan **ret)
{
	const struct vmgpu_mdev_type *t = NULL;
	size_t pi;
	struct vmgpu_plan *p;

	if (!host || !parent || !type || count == 0 || count > 4096)
		return -EINVAL;
	if (!(p = plan_new(host, JOURNAL_PARTITION, flags)))
		return -ENOMEM;
	pi = find_parent(s, parent);
	for (size_t i = 0; i < vmgpu_partitions_n_mdev_types(s, pi); i++)
		if (strcmp(vmgpu_partitions_mdev_type(s, pi, i)->id, type) == 0)
			t = vmgpu_partitions_mdev_type(s, pi, i);
	if (pi == SIZE_MAX)
		plan_refuse(p, REFUSE_NO_MDEV_PARENT, "%s offers no mediated devices.", parent);
	else if (!t)
		plan_refuse(p, REFUSE_NO_SUCH_TYPE, "%s has no mdev type %s.", parent, type);
	else if (strlen(parent) >= sizeof(((struct jobj *)0)->parent) || strlen(type) >= sizeof(((struct jobj *)0)->type))
		/* the journal could not name it, so recovery could not undo it */
		plan_refuse(p, REFUSE_NAME_TOO_LONG, "%s/%s: name too long for vmgpu's journal.", parent, type);
	else if (t->available >= 0 && (unsigned)t->available < count)
		/* The driver's own count: it is 0 for every other type once a
		 * parent that cannot mix types has one in use (NVIDIA GRID). */
		plan_refuse(p, REFUSE_NO_INSTANCES, "%s: %u instance(s) of %s asked, %d available.", parent, count, type,
			    t->available);
	for (unsigned i = 0; !vmgpu_plan_refused(p) && i < count; i++) {
		struct jobj o = { .kind = JOBJ_MDEV, .before = 0, .target = 1, .persist = flags & VMGPU_PLAN_PERSIST };
		make_uuid(o.key);
		snprintf(o.parent, sizeof(o.parent), "%s", parent);
		snprintf(o.type, sizeof(o.type), "%s", type);
		plan_add_obj(p, &o);
		steps_object(p, NULL, &o, 0, 1);
	}
	return plan_finish(p, ret);
}

VMGPU_EXPORT int vmgpu_plan_mdev_create(struct vmgpu_host *host, const char *parent, const char *type, unsigned count,
					unsigned flags, struct vmgpu_plan **ret)
{
	struct vmgpu_partitions *s = NULL;
	int r;

	assert_return(ret, -EINVAL);
	if (!host)
		return -EINVAL;
	if ((r = vmgpu_partitions_read(host, &s)) < 0)
		return r;
	r = plan_mdev_create_in(host, s, parent, type, count, flags, ret);
	vmgpu_partitions_unref(s);
	return r;
}

/* IOMMU group GROUP's /dev/vfio/N is open: a VM (or another VMM) uses it. */
static bool group_in_use(struct vmgpu_ctx *ctx, int group, char *who, size_t sz)
{
	char path[64];
	char *paths[] = { path };
	struct dev_nodes dn = { .paths = paths, .n_paths = 1 };
	struct opener *op = NULL;
	size_t n = 0;
	bool incomplete, used;

	if (group < 0)
		return false;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	(void)inuse_openers(ctx, &dn, &op, &n, &incomplete);
	used = n > 0;
	if (used)
		snprintf(who, sz, "PID %d (%s)", op[0].pid, op[0].comm);
	free(op);
	return used;
}

/* An mdev is its own IOMMU group (bus/mdev/devices/UUID/iommu_group). */
static bool mdev_in_use(struct vmgpu_ctx *ctx, const char *uuid, char *who, size_t sz)
{
	char path[128], grp[32];
	int group = -1;
	int dfd;

	snprintf(path, sizeof(path), "sys/bus/mdev/devices/%s", uuid);
	dfd = root_openat(ctx, ctx->root_fd, path, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return false;
	if (root_link_basename(dfd, "iommu_group", grp, sizeof(grp)) == 0)
		(void)parse_int(grp, 10, &group);
	close(dfd);
	return group_in_use(ctx, group, who, sz);
}

VMGPU_EXPORT int vmgpu_plan_mdev_remove(struct vmgpu_host *host, const char *const *uuids, size_t n, unsigned flags,
					struct vmgpu_plan **ret)
{
	struct vmgpu_partitions *s = NULL;
	struct vmgpu_plan *p;
	int r;

	assert_return(ret, -EINVAL);
	if (!host || !uuids || n == 0)
		return -EINVAL;
	if ((r = vmgpu_partitions_read(host, &s)) < 0)
		return r;
	if (!(p = plan_new(host, JOURNAL_PARTITION, flags))) {
		vmgpu_partitions_unref(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vmgpu_mdev *m = NULL;
		char who[64], path[300];
		for (size_t k = 0; k < vmgpu_partitions_n_mdevs(s); k++)
			if (strcmp(vmgpu_partitions_mdev(s, k)->uuid, uuids[i]) == 0)
				m = vmgpu_partitions_mdev(s, k);
		if (!m) {
			plan_refuse(p, REFUSE_NO_SUCH_MDEV, "mdev %s does not exist on this host.", uuids[i]);
			continue;
		}
		if (mdev_in_use(host->ctx, m->uuid, who, sizeof(who))) {
			plan_refuse(p, REFUSE_IN_USE_BY_VM, "mdev %s is in use by %s.", m->uuid, who);
			continue;
		}
		struct jobj o = { .kind = JOBJ_MDEV, .before = 1, .target = 0 };
		snprintf(o.key, sizeof(o.key), "%s", m->uuid);
		snprintf(o.parent, sizeof(o.parent), "%s", m->parent);
		snprintf(o.type, sizeof(o.type), "%s", m->type);
		object_mdevctl_path(&o, path, sizeof(path));
		o.persist = root_exists(host->ctx, path);
		plan_add_obj(p, &o);
		steps_object(p, NULL, &o, 1, 0);
	}
	vmgpu_partitions_unref(s);
	return plan_finish(p, ret);
}

static void add_write(struct vmgpu_plan *p, struct vmgpu_dev *d, enum jobj_kind kind, long before, long target)
{
	struct jobj o = { .kind = kind, .before = before, .target = target };

	snprintf(o.key, sizeof(o.key), "%s", d->address);
	plan_add_obj(p, &o);
	steps_object(p, d, &o, before, target);
}

VMGPU_EXPORT int vmgpu_plan_sriov(struct vmgpu_host *host, struct vmgpu_dev *pf, unsigned num_vfs, unsigned flags,
				  struct vmgpu_plan **ret)
{
	struct vmgpu_plan *p;
	long total = pf ? pf->sriov_totalvfs_attr : -1, cur = -1, probe = -1;

	assert_return(ret, -EINVAL);
	if (!host || !pf || pf->host != host)
		return -EINVAL;
	if (!(p = plan_new(host, JOURNAL_PARTITION, flags)))
		return -ENOMEM;
	(void)object_read(host->ctx, JOBJ_NUMVFS, pf->address, &cur);
	(void)object_read(host->ctx, JOBJ_AUTOPROBE, pf->address, &probe);
	if (total <= 0 || cur < 0) {
		plan_refuse(p, REFUSE_NO_SRIOV, "%s has no SR-IOV (sriov_totalvfs).", pf->address);
		return plan_finish(p, ret);
	}
	if (num_vfs > (unsigned long)total)
		plan_refuse(p, REFUSE_TOO_MANY_VFS, "%s supports at most %ld VFs, %u asked.", pf->address, total, num_vfs);
	/* VFs about to disappear must not be in use. */
	for (size_t i = 0; i < host->n_devs && (long)num_vfs != cur; i++) {
		struct vmgpu_dev *vf = host->devs[i];
		if (vf->physfn && strcmp(vf->physfn, pf->address) == 0 && is_vfio(vf->driver))
			plan_refuse(p, REFUSE_VF_ASSIGNED, "VF %s is on vfio-pci: it may belong to a VM.", vf->address);
	}
	if (probe >= 0 && probe != 0 && num_vfs > 0)
		add_write(p, pf, JOBJ_AUTOPROBE, probe, 0);
	if ((long)num_vfs != cur)
		add_write(p, pf, JOBJ_NUMVFS, cur, num_vfs);
	return plan_finish(p, ret);
}

VMGPU_EXPORT int vmgpu_plan_vgpu(struct vmgpu_host *host, struct vmgpu_dev *vf, unsigned type_id, unsigned flags,
				 struct vmgpu_plan **ret)
{
	_cleanup_free_ char *text = NULL;
	struct vmgpu_vgpu_type *types = NULL;
	char **names = NULL, path[160];
	size_t n = 0;
	struct vmgpu_plan *p;
	long cur = -1;
	bool found = type_id == 0;

	assert_return(ret, -EINVAL);
	if (!host || !vf || vf->host != host)
		return -EINVAL;
	if (!(p = plan_new(host, JOURNAL_PARTITION, flags)))
		return -ENOMEM;
	if (object_read(host->ctx, JOBJ_VGPU, vf->address, &cur) < 0) {
		plan_refuse(p, REFUSE_NO_VGPU, "%s has no nvidia/current_vgpu_type.", vf->address);
		return plan_finish(p, ret);
	}
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types", vf->address);
	if (root_read_text(host->ctx, path, &text, NULL) == 0 && inventory_parse_vgpu_types(text, &types, &n, &names) == 0) {
		for (size_t i = 0; i < n; i++) {
			found |= types[i].id == type_id;
			free(names[i]);
		}
		free(names);
		free(types);
	}
	if (!found && (long)type_id != cur)
		plan_refuse(p, REFUSE_TYPE_NOT_CREATABLE, "%s cannot take vGPU type %u now.", vf->address, type_id);
	/* the VM holding the VF would lose its vGPU under it */
	char who[64];
	if (cur > 0 && (long)type_id != cur && group_in_use(host->ctx, vf->iommu_group, who, sizeof(who)))
		plan_refuse(p, REFUSE_IN_USE_BY_VM, "VF %s (vGPU type %ld) is in use by %s.", vf->address, cur, who);
	if ((long)type_id != cur)
		add_write(p, vf, JOBJ_VGPU, cur, type_id);
	return plan_finish(p, ret);
}
