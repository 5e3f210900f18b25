/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Partition plans (mdev, SR-IOV, NVIDIA vGPU) against kernel-sim.c: apply,
 * refusals, rollback of a failed write, crash at each step then recovery. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "kernel-sim.h"
#include "testlib.h"

/* ROOT/DIR/NAME exists */
static bool exists(struct ksim_env *e, const char *dir, const char *name)
{
	char p[1024];

	struct stat st;

	/* lstat: the simulated kernel links instances with root-absolute
	 * targets, which only resolve inside the root (as vmgpu reads them). */
	snprintf(p, sizeof(p), "%s/%s/%s", fx_root(e->fx), dir, name);
	return lstat(p, &st) == 0;
}

static int read_num(struct ksim_env *e, const char *rel)
{
	char p[1024], buf[32] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", fx_root(e->fx), rel);
	if (!(f = fopen(p, "r")))
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return atoi(buf);
}

static size_t n_mdevs(struct ksim_env *e)
{
	struct vmgpu_partitions *s;
	size_t n;

	if (vmgpu_partitions_read(ksim_env_rescan(e), &s) < 0)
		return 999;
	n = vmgpu_partitions_n_mdevs(s);
	vmgpu_partitions_unref(s);
	return n;
}

static void t_mdev_create_remove(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p = NULL;
	char uuid[2][40];

	ksim_env_open(&e, "mdev");
	CHECK_EQ_INT(vmgpu_plan_mdev_create(ksim_env_rescan(&e), "mbochs", "mbochs-large", 2, VMGPU_PLAN_PERSIST, &p), 0);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_n_created(p), 2);
	CHECK_EQ_INT(vmgpu_plan_apply(p, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < 2; i++) {
		snprintf(uuid[i], sizeof(uuid[i]), "%s", vmgpu_plan_created(p, i));
		CHECK(exists(&e, "sys/bus/mdev/devices", uuid[i]));
		CHECK(exists(&e, "etc/mdevctl.d/mbochs", uuid[i]));
	}
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(n_mdevs(&e), 3);
	CHECK_EQ_INT(read_num(&e, "sys/class/mdev_bus/mbochs/mdev_supported_types/mbochs-large/available_instances"), 2);
	/* More than available: refused, nothing done. */
	CHECK_EQ_INT(vmgpu_plan_mdev_create(ksim_env_rescan(&e), "mbochs", "mbochs-large", 3, 0, &p), 0);
	CHECK(vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_apply(p, NULL, NULL, NULL), -EPERM);
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(vmgpu_plan_mdev_create(ksim_env_rescan(&e), "mbochs", "no-such-type", 1, 0, &p), 0);
	CHECK(vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	/* Remove both: instances and their mdevctl definitions go. */
	const char *const rm[] = { uuid[0], uuid[1] };
	CHECK_EQ_INT(vmgpu_plan_mdev_remove(ksim_env_rescan(&e), rm, 2, 0, &p), 0);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_apply(p, NULL, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	CHECK(!exists(&e, "sys/bus/mdev/devices", uuid[0]));
	CHECK(!exists(&e, "etc/mdevctl.d/mbochs", uuid[1]));
	CHECK_EQ_INT(n_mdevs(&e), 1);
	const char *const bad[] = { "00000000-0000-0000-0000-000000000000" };
	CHECK_EQ_INT(vmgpu_plan_mdev_remove(ksim_env_rescan(&e), bad, 1, 0, &p), 0);
	CHECK(vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	ksim_env_close(&e);
}

/* The message of the plan's first refusal ("" without one). */
static const char *refusal_message(const struct vmgpu_plan *p)
{
	static char buf[256];
	struct vmgpu_reason r;

	buf[0] = '\0';
	if (vmgpu_plan_refusal(p, 0, &r, NULL) == 0)
		snprintf(buf, sizeof(buf), "%s", r.message);
	return buf;
}

/* A VF whose vGPU a VM holds (its /dev/vfio/N open) keeps its type. */
static void t_vgpu_in_use(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p = NULL;
	struct vmgpu_dev *d;

	ksim_env_open(&e, "nvidia-vgpu"); /* VF .4: group 10, type 560 */
	fx_mkdir(e.fx, "proc/4242/fd");
	fx_symlink(e.fx, "proc/4242/fd/9", "/dev/vfio/10");
	fx_file(e.fx, "proc/4242/comm", "qemu-system-x86\n");
	CHECK_EQ_INT(vmgpu_host_lookup(ksim_env_rescan(&e), "0000:01:00.4", &d), 0);
	CHECK_EQ_INT(vmgpu_plan_vgpu(e.host, d, 558, 0, &p), 0);
	CHECK(vmgpu_plan_refused(p));
	CHECK(strstr(refusal_message(p), "in use by PID 4242 (qemu-system-x86)") != NULL);
	CHECK_EQ_INT(vmgpu_plan_apply(p, NULL, NULL, NULL), -EPERM);
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(read_num(&e, "sys/bus/pci/devices/0000:01:00.4/nvidia/current_vgpu_type"), 560);
	/* the free VF is no one's */
	CHECK_EQ_INT(vmgpu_host_lookup(e.host, "0000:01:00.5", &d), 0);
	CHECK_EQ_INT(vmgpu_plan_vgpu(e.host, d, 558, 0, &p), 0);
	CHECK(!vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	ksim_env_close(&e);
}

static void t_sriov_and_vgpu(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p = NULL;
	struct vmgpu_dev *d;

	ksim_env_open(&e, "nvidia-vgpu");
	CHECK_EQ_INT(vmgpu_host_lookup(ksim_env_rescan(&e), "0000:01:00.0", &d), 0);
	CHECK_EQ_INT(vmgpu_plan_sriov(e.host, d, 8, 0, &p), 0);
	CHECK_EQ_INT(vmgpu_plan_n_steps(p), 2); /* 2 -> 0 -> 8 */
	CHECK_EQ_INT(vmgpu_plan_apply(p, NULL, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(read_num(&e, "sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"), 8);
	CHECK_EQ_INT(vmgpu_plan_sriov(e.host, d, 17, 0, &p), 0); /* totalvfs is 16 */
	CHECK(vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(vmgpu_host_lookup(ksim_env_rescan(&e), "0000:01:00.4", &d), 0);
	CHECK_EQ_INT(vmgpu_plan_vgpu(e.host, d, 558, 0, &p), 0);
	CHECK_EQ_INT(vmgpu_plan_apply(p, NULL, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(read_num(&e, "sys/bus/pci/devices/0000:01:00.4/nvidia/current_vgpu_type"), 558);
	CHECK_EQ_INT(vmgpu_host_lookup(ksim_env_rescan(&e), "0000:01:00.4", &d), 0);
	CHECK_EQ_INT(vmgpu_plan_vgpu(e.host, d, 999, 0, &p), 0);
	CHECK(vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	/* A failing write puts the type back. */
	CHECK_EQ_INT(vmgpu_host_lookup(ksim_env_rescan(&e), "0000:01:00.4", &d), 0);
	CHECK_EQ_INT(vmgpu_plan_vgpu(e.host, d, 557, 0, &p), 0);
	e.sim.fail_write = 2;
	e.sim.writes = 0;
	CHECK(vmgpu_plan_apply(p, NULL, NULL, NULL) < 0);
	e.sim.fail_write = 0;
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(read_num(&e, "sys/bus/pci/devices/0000:01:00.4/nvidia/current_vgpu_type"), 558);
	ksim_env_close(&e);
}

static void crash_cb(void *userdata, size_t i, size_t n, const struct vmgpu_step *s, int result)
{
	if (i + 1 == *(size_t *)userdata)
		_exit(0);
}

/* Crash after step K of a 2-instance persistent create, then recover. */
static void t_crash_mdev(void)
{
	for (size_t k = 1; k <= 4; k++) {
		for (int finish = 0; finish <= 1; finish++) {
			struct ksim_env e;
			struct vmgpu_plan *p = NULL;
			bool rec = false;
			pid_t pid;
			int st;

			ksim_env_open(&e, "mdev");
			CHECK_EQ_INT(vmgpu_plan_mdev_create(ksim_env_rescan(&e), "mbochs", "mbochs-small", 2, VMGPU_PLAN_PERSIST, &p), 0);
			if ((pid = fork()) == 0) {
				vmgpu_plan_apply(p, crash_cb, &k, NULL);
				_exit(3);
			}
			waitpid(pid, &st, 0);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			CHECK_EQ_INT(vmgpu_recover(e.ctx, finish, &rec, NULL), 0);
			CHECK(rec);
			CHECK_EQ_INT(n_mdevs(&e), finish ? 3 : 1);
			for (size_t i = 0; i < 2; i++) {
				CHECK(exists(&e, "etc/mdevctl.d/mbochs", vmgpu_plan_created(p, i)) == finish);
				CHECK(exists(&e, "sys/bus/mdev/devices", vmgpu_plan_created(p, i)) == finish);
			}
			CHECK_EQ_INT(read_num(&e, "sys/class/mdev_bus/mbochs/mdev_supported_types/mbochs-small/available_instances"),
				     finish ? 62 : 64);
			vmgpu_plan_unref(p);
			ksim_env_close(&e);
		}
	}
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "mdev create, refuse, remove", t_mdev_create_remove },
		{ "SR-IOV VFs and NVIDIA vGPU type", t_sriov_and_vgpu },
		{ "a VF's vGPU held by a VM is not changed", t_vgpu_in_use },
		{ "crash at each mdev step, recover both ways", t_crash_mdev },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
