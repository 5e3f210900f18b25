/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * assign/release plans, apply, rollback and crash recovery against the
 * kernel model of kernel-sim.c. The same sequences run on a real kernel in
 * tests/guest.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "state.h"
#include "kernel-sim.h"
#include "testlib.h"

static struct vmgpu_plan *plan(struct ksim_env *e, bool assign, const char *addr, unsigned flags)
{
	struct vmgpu_dev *d = NULL;
	struct vmgpu_plan *p = NULL;

	ksim_env_rescan(e);
	CHECK_EQ_INT(vmgpu_host_lookup(e->host, addr, &d), 0);
	if (!d)
		return NULL;
	CHECK_EQ_INT(assign ? vmgpu_plan_assign(e->host, &d, 1, flags, &p) : vmgpu_plan_release(e->host, &d, 1, flags, &p), 0);
	return p;
}

static void expect_drivers(struct ksim_env *e, const char *a0, const char *a1)
{
	char drv[64];

	ksim_driver(&e->sim, "0000:01:00.0", drv, sizeof(drv));
	CHECK_EQ_STR(drv, a0);
	ksim_driver(&e->sim, "0000:01:00.1", drv, sizeof(drv));
	CHECK_EQ_STR(drv, a1);
}

static void expect_as_before(struct ksim_env *e)
{
	char ovr[64];

	expect_drivers(e, "nouveau", "snd_hda_intel");
	ksim_override(&e->sim, "0000:01:00.0", ovr, sizeof(ovr));
	CHECK_EQ_STR(ovr, "");
	ksim_override(&e->sim, "0000:01:00.1", ovr, sizeof(ovr));
	CHECK_EQ_STR(ovr, "");
}

static bool journal_exists(struct ksim_env *e)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/var/lib/vmgpu/journal", fx_root(e->fx));
	return access(p, F_OK) == 0;
}

static size_t n_assigned(struct ksim_env *e)
{
	struct vmgpu_state *st = NULL;
	size_t n;

	CHECK_EQ_INT(vmgpu_state_read(e->ctx, &st), 0);
	if (!st)
		return 999;
	n = vmgpu_state_n(st);
	vmgpu_state_unref(st);
	return n;
}

/* vmgpu_plan_apply(), its *ret_report kept in apply_report for the checks
 * after it (until the next apply). */
static char *apply_report;

static int apply(struct vmgpu_plan *p, vmgpu_progress_fn progress, void *userdata)
{
	free(apply_report);
	apply_report = NULL;
	return vmgpu_plan_apply(p, progress, userdata, &apply_report);
}

static void t_assign_release(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	struct vmgpu_step s;
	struct vmgpu_state *st;
	struct vmgpu_assignment a;

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_n_devices(p), 2); /* the audio function comes along */
	/* modprobe, then override/unbind/probe for each function, then the group check */
	CHECK_EQ_INT(vmgpu_plan_n_steps(p), 8);
	vmgpu_plan_step(p, 0, &s);
	CHECK_EQ_INT(s.kind, VMGPU_STEP_LOAD_MODULE);
	vmgpu_plan_step(p, 1, &s);
	CHECK_EQ_INT(s.kind, VMGPU_STEP_SET_OVERRIDE);
	CHECK_EQ_STR(s.path, "sys/bus/pci/devices/0000:01:00.0/driver_override");
	CHECK_EQ_STR(s.value, "vfio-pci");
	vmgpu_plan_step(p, 2, &s);
	CHECK_EQ_INT(s.kind, VMGPU_STEP_UNBIND);
	CHECK_EQ_STR(s.path, "sys/bus/pci/devices/0000:01:00.0/driver/unbind");
	vmgpu_plan_step(p, 3, &s);
	CHECK_EQ_INT(s.kind, VMGPU_STEP_PROBE);
	CHECK_EQ_STR(s.path, "sys/bus/pci/drivers_probe");
	CHECK_EQ_STR(s.expect, "vfio-pci");
	vmgpu_plan_step(p, 7, &s);
	CHECK_EQ_INT(s.kind, VMGPU_STEP_CHECK_GROUP);
	CHECK_EQ_STR(s.path, "dev/vfio/2");
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	expect_drivers(&e, "vfio-pci", "vfio-pci");
	CHECK(!journal_exists(&e));
	CHECK_EQ_INT(vmgpu_state_read(e.ctx, &st), 0);
	CHECK_EQ_INT(vmgpu_state_n(st), 2);
	CHECK_EQ_INT(vmgpu_state_get(st, 1, &a), 0);
	CHECK_EQ_STR(a.address, "0000:01:00.1");
	CHECK_EQ_STR(a.driver, "snd_hda_intel");
	vmgpu_state_unref(st);

	/* Assigning again: nothing to do. */
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK_EQ_INT(vmgpu_plan_n_steps(p), 1); /* only the group check */
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);

	/* Release by the audio function brings both back. */
	p = plan(&e, false, "0000:01:00.1", 0);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_n_devices(p), 2);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	expect_as_before(&e);
	CHECK_EQ_INT(n_assigned(&e), 0);
	CHECK(!journal_exists(&e));
	ksim_env_close(&e);
}

/* Every write in turn fails: the host ends as it was, and says so. */
static void t_rollback_each_write(void)
{
	for (int k = 1; k <= 7; k++) {
		struct ksim_env e;
		struct vmgpu_plan *p;

		ksim_env_open(&e, "gpu-audio");
		p = plan(&e, true, "0000:01:00.0", 0);
		e.sim.fail_write = k;
		e.sim.writes = 0;
		CHECK(apply(p, NULL, NULL) < 0);
		CHECK(apply_report && strstr(apply_report, "the host is as it was before"));
		e.sim.fail_write = 0;
		expect_as_before(&e);
		CHECK(!journal_exists(&e));
		CHECK_EQ_INT(n_assigned(&e), 0);
		vmgpu_plan_unref(p);
		ksim_env_close(&e);
	}
}

/* vfio-pci refuses the audio function: verification catches it. */
static void t_bind_refused(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	e.sim.refuse_bind = "0000:01:00.1";
	CHECK(apply(p, NULL, NULL) < 0);
	CHECK(strstr(apply_report, "0000:01:00.1") != NULL);
	expect_as_before(&e);
	vmgpu_plan_unref(p);
	ksim_env_close(&e);
}

struct crash {
	size_t after;
};

static void crash_cb(void *userdata, size_t i, size_t n, const struct vmgpu_step *s, int result)
{
	struct crash *c = userdata;

	if (i + 1 == c->after)
		_exit(0); /* as SIGKILL would: no cleanup, journal left behind */
}

/* Crash after step K of assign (or release), then recover. */
static void crash_and_recover(bool assign, size_t k, bool finish)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	bool recovered = false;
	char *report = NULL;
	pid_t pid;
	int status;

	ksim_env_open(&e, "gpu-audio");
	if (!assign) {
		p = plan(&e, true, "0000:01:00.0", 0);
		CHECK_EQ_INT(apply(p, NULL, NULL), 0);
		vmgpu_plan_unref(p);
	}
	p = plan(&e, assign, "0000:01:00.0", 0);
	if (k > vmgpu_plan_n_steps(p)) {
		vmgpu_plan_unref(p);
		ksim_env_close(&e);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct crash c = { k };
		apply(p, crash_cb, &c);
		_exit(3);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(journal_exists(&e));
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(vmgpu_recover(e.ctx, finish, &recovered, &report), 0);
	CHECK(recovered);
	free(report);
	CHECK(!journal_exists(&e));
	if (assign == finish) { /* finished assign or rolled-back release */
		expect_drivers(&e, "vfio-pci", "vfio-pci");
		CHECK_EQ_INT(n_assigned(&e), 2);
	} else {
		/* Rolled-back assign or finished release: as before vmgpu. */
		expect_as_before(&e);
		CHECK_EQ_INT(n_assigned(&e), 0);
	}
	ksim_env_close(&e);
}

static void t_crash_assign(void)
{
	for (size_t k = 1; k <= 8; k++)
		crash_and_recover(true, k, false);
	crash_and_recover(true, 3, true);
}

static void t_crash_release(void)
{
	for (size_t k = 1; k <= 6; k++)
		crash_and_recover(false, k, false);
	crash_and_recover(false, 2, true);
}

/* What a progress callback does to the host after step AFTER: the next
 * write fails, and with GONE set that path (below the root) is moved away:
 * a driver that can no longer bind, a function unplugged. */
struct sabotage {
	struct ksim_env *e;
	size_t after;
	const char *gone;
};

static void move_away(struct ksim_env *e, const char *rel, bool back)
{
	char there[512], aside[512];

	snprintf(there, sizeof(there), "%s/%s", fx_root(e->fx), rel);
	snprintf(aside, sizeof(aside), "%s/gone", fx_root(e->fx));
	CHECK_EQ_INT(back ? rename(aside, there) : rename(there, aside), 0);
}

static void sabotage_cb(void *userdata, size_t i, size_t n, const struct vmgpu_step *s, int result)
{
	struct sabotage *sb = userdata;

	if (i + 1 != sb->after)
		return;
	if (sb->gone)
		move_away(sb->e, sb->gone, false);
	sb->e->sim.writes = 0;
	sb->e->sim.fail_write = 1;
}

/* A rollback that cannot bring the original driver back keeps the journal:
 * vmgpu recover (or the next run) finishes it once the driver is back. */
static void t_rollback_incomplete(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	/* after 01:00.0 is on vfio-pci */
	struct sabotage sb = { &e, 4, "sys/bus/pci/drivers/nouveau" };
	bool recovered = false;

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK(apply(p, sabotage_cb, &sb) < 0);
	CHECK(strstr(apply_report, "ROLLBACK INCOMPLETE") != NULL);
	vmgpu_plan_unref(p);
	CHECK(journal_exists(&e));
	e.sim.fail_write = 0;
	move_away(&e, sb.gone, true);
	CHECK_EQ_INT(vmgpu_recover(e.ctx, false, &recovered, NULL), 0);
	CHECK(recovered);
	expect_as_before(&e);
	CHECK(!journal_exists(&e));
	CHECK_EQ_INT(n_assigned(&e), 0);
	ksim_env_close(&e);
}

/* A function unplugged during the run: rollback restores the others and
 * counts it as done (nothing of it is left to restore), as recovery does. */
static void t_rollback_vanished(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	struct sabotage sb = { &e, 4, "sys/bus/pci/devices/0000:01:00.1" };
	char drv[64];

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK(apply(p, sabotage_cb, &sb) < 0);
	CHECK(strstr(apply_report, "0000:01:00.1: gone from the host") != NULL);
	CHECK(strstr(apply_report, "the host is as it was before") != NULL);
	vmgpu_plan_unref(p);
	CHECK(!journal_exists(&e));
	e.sim.fail_write = 0;
	ksim_driver(&e.sim, "0000:01:00.0", drv, sizeof(drv));
	CHECK_EQ_STR(drv, "nouveau");
	move_away(&e, sb.gone, true);
	expect_as_before(&e);
	CHECK_EQ_INT(n_assigned(&e), 0);
	ksim_env_close(&e);
}

static void expect_refusal(const struct vmgpu_plan *p, size_t i, const char *code, const char *message)
{
	struct vmgpu_reason r = { 0 };

	CHECK_EQ_INT(vmgpu_plan_refusal(p, i, &r, NULL), 0);
	if (r.code) {
		CHECK_EQ_STR(r.code, code);
		CHECK_EQ_STR(r.message, message);
	}
}

/* Who holds which node: each function is refused for its own, and a VM
 * on /dev/vfio/N for every function of the group, in address order. */
static void t_openers_per_function(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;

	ksim_env_open(&e, "gpu-open");
	fx_class_dev(e.fx, "0000:01:00.1", "sound/card1/pcmC1D3p", "sound", "116:3");
	fx_mkdir(e.fx, "proc/515/fd");
	fx_symlink(e.fx, "proc/515/fd/4", "/dev/snd/pcmC1D3p");
	fx_file(e.fx, "proc/515/comm", "pipewire\n");
	p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_FORCE);
	CHECK_EQ_INT(vmgpu_plan_n_refusals(p), 2);
	expect_refusal(p, 0, "device_open", "0000:01:00.0: /dev/dri/card0 is open by PID 4242 (Xorg).");
	expect_refusal(p, 1, "device_open", "0000:01:00.1: /dev/snd/pcmC1D3p is open by PID 515 (pipewire).");
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	fx_mkdir(e.fx, "proc/600/fd");
	fx_symlink(e.fx, "proc/600/fd/30", "/dev/vfio/2");
	fx_file(e.fx, "proc/600/comm", "qemu-system-x86\n");
	p = plan(&e, false, "0000:01:00.0", 0);
	CHECK_EQ_INT(vmgpu_plan_n_refusals(p), 2);
	expect_refusal(p, 0, "in_use_by_vm", "0000:01:00.0: /dev/vfio/2 is open by PID 600 (qemu-system-x86): a VM is using the device.");
	expect_refusal(p, 1, "in_use_by_vm", "0000:01:00.1: /dev/vfio/2 is open by PID 600 (qemu-system-x86): a VM is using the device.");
	vmgpu_plan_unref(p);
	ksim_env_close(&e);
}

/* A plain PCIe endpoint at ADDR on the root bus, in GROUP. */
static void endpoint(struct fx *fx, const char *addr, int group, uint32_t class_code, const char *driver)
{
	struct fx_cfg c;

	fx_cfg_init(&c, 0x10de, 0x2204, class_code, 0x00);
	fx_cfg_pm(&c, true);
	fx_cfg_msi(&c);
	fx_cfg_pcie(&c, 0, true);
	fx_dev(fx, addr, NULL, &c);
	fx_attr(fx, addr, "reset_method", "flr\n");
	fx_driver(fx, addr, driver);
	fx_group(fx, addr, group);
}

/* Group 2 spans slots 01:00 and 03:00; group 3 (02:00) lies between them
 * in address order: each group is checked once all the same. */
static void t_check_each_group_once(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_dev *devs[2] = { NULL, NULL };
	struct vmgpu_plan *p = NULL;
	const char *want[] = { "dev/vfio/2", "dev/vfio/3" };
	size_t n = 0;

	fx_host_iommu(fx);
	endpoint(fx, "0000:01:00.0", 2, 0x030000, "nouveau");
	endpoint(fx, "0000:02:00.0", 3, 0x030000, "nouveau");
	endpoint(fx, "0000:03:00.0", 2, 0x040300, "snd_hda_intel");
	fx_finish(fx);
	CHECK_EQ_INT(vmgpu_ctx_new(fx_root(fx), &ctx), 0);
	vmgpu_ctx_set_log_fn(ctx, NULL, NULL);
	CHECK_EQ_INT(vmgpu_host_scan(ctx, &host), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "0000:01:00.0", &devs[0]), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "0000:02:00.0", &devs[1]), 0);
	CHECK_EQ_INT(vmgpu_plan_assign(host, devs, 2, 0, &p), 0);
	CHECK_EQ_INT(vmgpu_plan_n_devices(p), 3); /* 03:00.0 comes with 01:00.0 */
	for (size_t i = 0; i < vmgpu_plan_n_steps(p); i++) {
		struct vmgpu_step s;
		if (vmgpu_plan_step(p, i, &s) < 0 || s.kind != VMGPU_STEP_CHECK_GROUP)
			continue;
		if (n < 2)
			CHECK_EQ_STR(s.path, want[n]);
		n++;
	}
	CHECK_EQ_INT(n, 2);
	vmgpu_plan_unref(p);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

static bool has_refusal(const struct vmgpu_plan *p, const char *code, bool *forced)
{
	for (size_t i = 0; i < vmgpu_plan_n_refusals(p); i++) {
		struct vmgpu_reason r;
		if (vmgpu_plan_refusal(p, i, &r, forced) == 0 && strcmp(r.code, code) == 0)
			return true;
	}
	return false;
}

static void t_refusals(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	bool forced = false;

	ksim_env_open(&e, "disk-in-group");
	p = plan(&e, true, "0000:02:00.0", VMGPU_PLAN_FORCE);
	CHECK(has_refusal(p, "host_disk_in_use", &forced) && !forced);
	CHECK(has_refusal(p, "group_shared_with_host", &forced) && forced);
	CHECK(vmgpu_plan_refused(p)); /* --force does not take a mounted disk */
	CHECK_EQ_INT(apply(p, NULL, NULL), -EPERM);
	vmgpu_plan_unref(p);
	ksim_env_close(&e);

	ksim_env_open(&e, "gpu-open");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK(has_refusal(p, "device_open", &forced) && !forced);
	CHECK(vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_FORCE);
	CHECK(has_refusal(p, "device_open", &forced) && forced);
	CHECK(!vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	ksim_env_close(&e);

	ksim_env_open(&e, "nic-in-group");
	p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_FORCE);
	CHECK(has_refusal(p, "host_network_in_use", &forced) && !forced);
	vmgpu_plan_unref(p);
	ksim_env_close(&e);
}

static void t_release_foreign(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;

	ksim_env_open(&e, "gpu-audio");
	/* On its own driver and never assigned: released already. */
	p = plan(&e, false, "0000:01:00.0", 0);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_n_steps(p), 0);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	{
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/var/lib/vmgpu", fx_root(e.fx));
		CHECK(access(dir, F_OK) != 0); /* a no-op touches nothing */
	}
	/* --foreign on a device on its own driver: nothing to undo either. */
	p = plan(&e, false, "0000:01:00.0", VMGPU_PLAN_FOREIGN);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_n_steps(p), 0);
	vmgpu_plan_unref(p);
	/* Someone else put it on vfio-pci: its original driver is unknown. */
	CHECK_EQ_INT(kernel_write(e.ctx, "sys/bus/pci/devices/0000:01:00.0/driver_override", "vfio-pci"), 0);
	CHECK_EQ_INT(kernel_load_module(e.ctx, "vfio-pci", (char[64]){ 0 }, 64), 0);
	CHECK_EQ_INT(kernel_write(e.ctx, "sys/bus/pci/devices/0000:01:00.0/driver/unbind", "0000:01:00.0"), 0);
	CHECK_EQ_INT(kernel_write(e.ctx, "sys/bus/pci/drivers_probe", "0000:01:00.0"), 0);
	p = plan(&e, false, "0000:01:00.0", 0);
	CHECK(has_refusal(p, "not_assigned_by_vmgpu", &(bool){ false }));
	CHECK(vmgpu_plan_refused(p));
	vmgpu_plan_unref(p);
	/* --foreign: clear the override, unbind vfio-pci, let the kernel choose. */
	p = plan(&e, false, "0000:01:00.0", VMGPU_PLAN_FOREIGN);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	{
		char drv[64];
		ksim_driver(&e.sim, "0000:01:00.0", drv, sizeof(drv));
		CHECK_EQ_STR(drv, "nouveau");
	}
	ksim_env_close(&e);
}

/* Put ADDR back on its own driver behind vmgpu's back. */
static void by_hand_to_native(struct ksim_env *e, const char *addr)
{
	char path[128];

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
	CHECK_EQ_INT(kernel_write(e->ctx, path, ""), 0);
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", addr);
	CHECK_EQ_INT(kernel_write(e->ctx, path, addr), 0);
	CHECK_EQ_INT(kernel_write(e->ctx, "sys/bus/pci/drivers_probe", addr), 0);
}

/* Assigned by vmgpu, then put back on the host drivers by hand: release
 * has no step left to make, but the record must go, or status shows drift
 * forever. */
static void t_release_recorded_no_steps(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	by_hand_to_native(&e, "0000:01:00.0");
	by_hand_to_native(&e, "0000:01:00.1");
	expect_as_before(&e);
	p = plan(&e, false, "0000:01:00.0", 0);
	CHECK(!vmgpu_plan_refused(p));
	CHECK_EQ_INT(vmgpu_plan_n_steps(p), 0);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	CHECK_EQ_INT(n_assigned(&e), 0);
	CHECK(!journal_exists(&e));
	expect_as_before(&e);
	ksim_env_close(&e);
}

static void t_vanished_and_stale(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p, *q;
	char path[512];

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:01:00.1", fx_root(e.fx));
	rename(path, "/tmp/vmgpu-test-vanished");
	CHECK_EQ_INT(apply(p, NULL, NULL), -ENODEV);
	CHECK(strstr(apply_report, "vanished") != NULL);
	rename("/tmp/vmgpu-test-vanished", path);
	expect_as_before(&e);
	vmgpu_plan_unref(p);

	/* Another device at the same address (a hot swap, a VF of another
	 * PF): the same vendor is not enough. */
	p = plan(&e, true, "0000:01:00.0", 0);
	fx_attr(e.fx, "0000:01:00.1", "device", "0x10f0\n");
	CHECK_EQ_INT(apply(p, NULL, NULL), -ENODEV);
	CHECK(apply_report && strstr(apply_report, "0000:01:00.1 vanished (or changed)"));
	fx_attr(e.fx, "0000:01:00.1", "device", "0x1aef\n");
	expect_as_before(&e);
	CHECK(!journal_exists(&e));
	vmgpu_plan_unref(p);

	/* Two runs planned from the same reading: the second finds the host changed. */
	p = plan(&e, true, "0000:01:00.0", 0);
	struct vmgpu_host *old = vmgpu_host_ref(e.host);
	q = plan(&e, true, "0000:01:00.0", 0);
	CHECK_EQ_INT(apply(q, NULL, NULL), 0);
	CHECK_EQ_INT(apply(p, NULL, NULL), -ESTALE);
	expect_drivers(&e, "vfio-pci", "vfio-pci");
	vmgpu_host_unref(old);
	vmgpu_plan_unref(p);
	vmgpu_plan_unref(q);
	ksim_env_close(&e);
}

static void t_persist(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	char path[512];
	struct stat st;

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_PERSIST);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	snprintf(path, sizeof(path), "%s/etc/udev/rules.d/61-vmgpu-0000:01:00.0.rules", fx_root(e.fx));
	CHECK(stat(path, &st) == 0);
	p = plan(&e, false, "0000:01:00.0", 0);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	CHECK(stat(path, &st) < 0);
	snprintf(path, sizeof(path), "%s/etc/modules-load.d/vmgpu-vfio.conf", fx_root(e.fx));
	CHECK(stat(path, &st) < 0); /* the last persistent assignment is gone */
	expect_as_before(&e);
	ksim_env_close(&e);
}

/* The --persist files cannot be brought in line once the state file
 * records the assign (etc/modules-load.d is not a directory): apply says
 * so, but the assignment stands and the journal goes, as in recovery; a
 * journal left behind would make the next run undo what the state file
 * records. */
static void t_persist_sync_fails(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	bool recovered = true;

	ksim_env_open(&e, "gpu-audio");
	fx_file(e.fx, "etc/modules-load.d", "not a directory\n");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK(apply(p, NULL, NULL) < 0);
	CHECK(apply_report && strstr(apply_report, "--persist udev rules could not be updated"));
	vmgpu_plan_unref(p);
	CHECK(!journal_exists(&e));
	CHECK_EQ_INT(n_assigned(&e), 2);
	CHECK_EQ_INT(vmgpu_recover(e.ctx, false, &recovered, NULL), 0);
	CHECK(!recovered);
	expect_drivers(&e, "vfio-pci", "vfio-pci");
	ksim_env_close(&e);
}

/* assign --persist of what is assigned already: the records become
 * persistent (they kept persist=0, and the rule just written was removed
 * again at once as no longer persistent). */
static void t_persist_when_assigned(void)
{
	struct ksim_env e;
	struct vmgpu_plan *p;
	struct vmgpu_state *st = NULL;
	struct vmgpu_assignment a;
	char path[512];
	struct stat sb;

	ksim_env_open(&e, "gpu-audio");
	p = plan(&e, true, "0000:01:00.0", 0);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_PERSIST);
	CHECK_EQ_INT(apply(p, NULL, NULL), 0);
	vmgpu_plan_unref(p);
	snprintf(path, sizeof(path), "%s/etc/udev/rules.d/61-vmgpu-0000:01:00.1.rules", fx_root(e.fx));
	CHECK(stat(path, &sb) == 0);
	CHECK_EQ_INT(vmgpu_state_read(e.ctx, &st), 0);
	for (size_t i = 0; st && i < vmgpu_state_n(st); i++) {
		CHECK_EQ_INT(vmgpu_state_get(st, i, &a), 0);
		CHECK(a.persist);
		CHECK_EQ_STR(a.driver, i == 0 ? "nouveau" : "snd_hda_intel"); /* the originals stay */
	}
	vmgpu_state_unref(st);
	ksim_env_close(&e);
}

/* A crash after --persist wrote its rules: recovery removes them with the
 * assignment; after a crashed release, recovery puts them back. */
static void t_persist_crash(void)
{
	for (size_t k = 9; k <= 11; k++) {
		struct ksim_env e;
		struct vmgpu_plan *p;
		char rule[512], conf[512];
		struct stat st;
		pid_t pid;
		int status;

		ksim_env_open(&e, "gpu-audio");
		snprintf(rule, sizeof(rule), "%s/etc/udev/rules.d/61-vmgpu-0000:01:00.0.rules", fx_root(e.fx));
		snprintf(conf, sizeof(conf), "%s/etc/modules-load.d/vmgpu-vfio.conf", fx_root(e.fx));
		p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_PERSIST);
		CHECK_EQ_INT(vmgpu_plan_n_steps(p), 11);
		if ((pid = fork()) == 0) {
			struct crash c = { k };
			apply(p, crash_cb, &c);
			_exit(3);
		}
		waitpid(pid, &status, 0);
		vmgpu_plan_unref(p);
		CHECK_EQ_INT(vmgpu_recover(e.ctx, false, NULL, NULL), 0);
		expect_as_before(&e);
		CHECK(stat(rule, &st) < 0);
		CHECK(stat(conf, &st) < 0);
		/* assign for real, then crash a release after its rule removal */
		p = plan(&e, true, "0000:01:00.0", VMGPU_PLAN_PERSIST);
		CHECK_EQ_INT(apply(p, NULL, NULL), 0);
		vmgpu_plan_unref(p);
		p = plan(&e, false, "0000:01:00.0", 0);
		if ((pid = fork()) == 0) {
			struct crash c = { vmgpu_plan_n_steps(p) };
			apply(p, crash_cb, &c);
			_exit(3);
		}
		waitpid(pid, &status, 0);
		vmgpu_plan_unref(p);
		CHECK_EQ_INT(vmgpu_recover(e.ctx, false, NULL, NULL), 0);
		expect_drivers(&e, "vfio-pci", "vfio-pci");
		CHECK(stat(rule, &st) == 0);
		CHECK(stat(conf, &st) == 0);
		ksim_env_close(&e);
	}
}

static void t_journal_format(void)
{
	struct jdev d = { .address = "0000:01:00.0", .vendor = 0x10de, .device = 0x2204, .group = 2,
			  .driver = "nouveau", .target_driver = "vfio-pci", .target_override = "vfio-pci" };
	struct journal j = { .op = JOURNAL_ASSIGN, .persist = 1, .done = 3, .devs = &d, .n = 1 }, back;
	struct jstate s = { .devs = &d, .n = 1 }, sback;
	char *text = journal_format(&j);

	CHECK_EQ_INT(journal_parse(text, &back), 0);
	CHECK_EQ_INT(back.n, 1);
	CHECK_EQ_INT(back.done, 3);
	CHECK_EQ_STR(back.devs[0].driver, "nouveau");
	CHECK_EQ_STR(back.devs[0].override, "");
	CHECK_EQ_STR(back.devs[0].target_driver, "vfio-pci");
	journal_free(&back);
	CHECK(strstr(text, "persist=") == NULL); /* "persist 1" covers the functions */
	free(text);
	/* A journal of an older vmgpu, persist=0 on each function, still reads. */
	CHECK_EQ_INT(journal_parse("# vmgpu journal v1\nop assign\npersist 1\n"
				   "device 0000:01:00.0 vendor=10de device=2204 group=2 driver=nouveau override=- "
				   "target_driver=vfio-pci target_override=vfio-pci persist=0\ndone 2\n", &back), 0);
	CHECK_EQ_INT(back.persist, 1);
	CHECK_EQ_INT(back.n, 1);
	journal_free(&back);
	d.since = 1763679000;
	text = state_format(&s);
	CHECK_EQ_INT(state_parse(text, &sback), 0);
	CHECK_EQ_INT(sback.devs[0].since, 1763679000);
	free(sback.devs);
	free(text);
	const char *bad[] = { "op assign\ndone x\n", "device zz\nop assign\n", "op frobnicate\n",
			      "op assign\ndevice 0000:01:00.0 driver=a b\n", "op assign\ndevice 0000:01:00.0 driver=$(reboot)\n",
			      "done 1\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (journal_parse(bad[i], &back) == 0) {
			fprintf(stderr, "  accepted bad journal %zu\n", i);
			journal_free(&back);
			test_checks_failed++;
		}
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "assign, re-assign, release", t_assign_release },
		{ "rollback when any write fails", t_rollback_each_write },
		{ "bind refused", t_bind_refused },
		{ "incomplete rollback keeps the journal", t_rollback_incomplete },
		{ "rollback with a function gone", t_rollback_vanished },
		{ "crash after each assign step, recover", t_crash_assign },
		{ "crash after each release step, recover", t_crash_release },
		{ "refusals", t_refusals },
		{ "each group checked once", t_check_each_group_once },
		{ "openers refused per function", t_openers_per_function },
		{ "release of a foreign device", t_release_foreign },
		{ "release with a record and no step", t_release_recorded_no_steps },
		{ "vanished device, stale plan", t_vanished_and_stale },
		{ "persist", t_persist },
		{ "persist files after a crash", t_persist_crash },
		{ "persist on an assigned device", t_persist_when_assigned },
		{ "persist files out of line after the state file", t_persist_sync_fails },
		{ "journal format", t_journal_format },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
