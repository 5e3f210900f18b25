/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying a plan, and getting back from a failed or interrupted one.
 *
 * Order of events, each durable before the next:
 *   1. flock var/lib/vmgpu/lock (concurrent runs wait their turn);
 *   2. an interrupted plan left in the journal is rolled back first;
 *   3. every function is re-read: it must still be there, with the same IDs
 *      (a device can vanish between survey and apply — hot unplug, a PF
 *      dropping its VFs);
 *   4. the journal records each function's driver and override before, and
 *      the state the plan leads to;
 *   5. each step: precondition, the write, verification, "done N" journaled;
 *   6. the state file records (or forgets) the assignment; the journal goes.
 * Rollback (and recovery, recover.c) does not replay steps backwards: it plans
 * from the host as it is now back to what the journal recorded, and runs
 * those steps, which is correct whatever step failed or a crash cut,
 * including one done but not yet journaled.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "apply.h"

static int journal_write(int dfd, const struct journal *j)
{
	_cleanup_free_ char *text = journal_format(j);

	return text ? write_atomic(dfd, JOURNAL_FILE, text) : -ENOMEM;
}

/*
 * Converge everything journal J records to its state before the plan, or
 * to the plan's end state when FINISH: forward to finish, backward to roll
 * back. A function gone from the host (hot unplug, a VF its PF dropped) is
 * no failure: nothing of it is left to restore. Rollback after a failed step
 * and recovery after a crash both come here, so they agree on what "the
 * host is back" means. 0, or -errno when something could not be converged.
 */
/* ---- apply ---- */

/*
 * The device must still be the one the plan was made for: the same vendor
 * and device ID at its address. Between the reading and now a device can
 * be unplugged and another plugged in its place, or a PF can drop its VFs
 * and another PF's VFs take their numbers.
 */
static bool same_ids(struct vmgpu_ctx *ctx, const struct vmgpu_dev *d)
{
	static const char *const attrs[] = { "vendor", "device" };
	const uint16_t want[] = { d->vendor, d->device };

	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		char path[128], buf[32];
		uint64_t v;

		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/%s", d->address, attrs[i]);
		if (root_read_str(ctx, path, buf, sizeof(buf)) < 0 || parse_u64(buf, 16, &v) < 0 || v != want[i])
			return false;
	}
	return true;
}

/* Fill the journal's per-function records from the host as it is now. */
static int journal_prepare(struct vmgpu_plan *p, struct journal *j, struct report *rep)
{
	struct vmgpu_ctx *ctx = p->host->ctx;

	j->op = p->op;
	j->persist = (p->flags & VMGPU_PLAN_PERSIST) ? 1 : 0;
	j->done = 0;
	if (p->n_objs) {
		j->objs = malloc(p->n_objs * sizeof(*j->objs));
		if (!j->objs)
			return -ENOMEM;
		memcpy(j->objs, p->objs, p->n_objs * sizeof(*j->objs));
		j->n_objs = p->n_objs;
	}
	for (size_t i = 0; i < p->n_objs; i++) {
		long cur;
		if (object_current(ctx, &p->objs[i], &cur) < 0 || cur != p->objs[i].before) {
			report_add(rep, "%s changed since the host was read; nothing was changed", p->objs[i].key);
			return -ESTALE;
		}
	}
	j->n = p->n_devs;
	j->devs = calloc(p->n_devs ? p->n_devs : 1, sizeof(*j->devs));
	if (!j->devs)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_devs; i++) {
		struct vmgpu_dev *d = p->devs[i];
		struct jdev *jd = &j->devs[i];
		const struct jdev *rec;

		snprintf(jd->address, sizeof(jd->address), "%s", d->address);
		jd->group = d->iommu_group;
		if (!same_ids(ctx, d)) {
			report_add(rep, "%s vanished (or changed) since the host was read; nothing was changed", d->address);
			return -ENODEV;
		}
		jd->vendor = d->vendor;
		jd->device = d->device;
		if (kernel_driver(ctx, d->address, jd->driver, sizeof(jd->driver)) < 0 ||
		    kernel_override(ctx, d->address, jd->override, sizeof(jd->override)) < 0) {
			report_add(rep, "%s vanished since the host was read; nothing was changed", d->address);
			return -ENODEV;
		}
		/* Another run (or a person) changed it since the plan was made:
		 * the plan's steps no longer fit. The caller plans again. */
		if (strcmp(jd->driver, d->driver ? d->driver : "") != 0 ||
		    strcmp(jd->override, d->driver_override ? d->driver_override : "") != 0) {
			report_add(rep, "%s changed since the host was read (driver %s, override %s); nothing was changed",
				   d->address, *jd->driver ? jd->driver : "none", *jd->override ? jd->override : "none");
			return -ESTALE;
		}
		if (p->op == JOURNAL_ASSIGN) {
			strcpy(jd->target_driver, "vfio-pci");
			strcpy(jd->target_override, "vfio-pci");
		} else if ((rec = plan_record(p, d))) {
			snprintf(jd->target_driver, sizeof(jd->target_driver), "%s", rec->driver);
			snprintf(jd->target_override, sizeof(jd->target_override), "%s", rec->override);
		} else {
			jd->target_driver[0] = jd->target_override[0] = '\0';
		}
	}
	return 0;
}

/* Put everything back as journal J recorded it: 0, or -errno when some
 * of it could not be (the journal must then stay for vmgpu recover). */
static int rollback(struct vmgpu_plan *p, const struct journal *j, struct report *rep)
{
	int r;

	report_add(rep, "rolling back:");
	r = recover_journal(p->ctx, j, false, rep);
	report_add(rep, r == 0 ? "the host is as it was before" : "ROLLBACK INCOMPLETE: run vmgpu recover");
	return r;
}

/* A release of functions vmgpu assigned that are back on their own
 * drivers already (put back by hand) has no step, but their records must
 * still leave the state file, or status would report drift forever. */
static bool plan_forgets(const struct vmgpu_plan *p)
{
	if (p->op != JOURNAL_RELEASE)
		return false;
	for (size_t i = 0; i < p->n_devs; i++)
		if (plan_record(p, p->devs[i]))
			return true;
	return false;
}

/*
 * The plan is done and the state file says so: the --persist files follow
 * it and the journal goes. A failure of the files is reported, not undone:
 * the state file is the truth, and every later apply brings the files in
 * line again (recovery does the same). The journal must go all the same,
 * or the next run would roll back what the state file records.
 */
static int finish_done(struct vmgpu_ctx *ctx, int dfd, const struct jstate *s, struct report *rep)
{
	int r = s ? persist_sync(ctx, s) : 0, k;

	if (r < 0)
		report_add(rep, "done, but the --persist udev rules could not be updated: %s", strerror(-r));
	k = remove_durable(dfd, JOURNAL_FILE);
	return r < 0 ? r : k;
}

VMGPU_EXPORT int vmgpu_plan_apply(struct vmgpu_plan *p, vmgpu_progress_fn progress, void *userdata, char **ret_report)
{
	struct vmgpu_ctx *ctx;
	struct journal j = { 0 };
	struct jstate state = { 0 };
	struct report rep;
	int dfd = -1, lock, r = 0;
	bool recovered;

	if (ret_report)
		*ret_report = NULL;
	assert_return(p, -EINVAL);
	ctx = p->host->ctx;
	report_open(&rep);
	if (vmgpu_plan_refused(p)) {
		report_add(&rep, "refused; nothing was changed");
		report_give(&rep, ret_report);
		return -EPERM;
	}
	/* Nothing to do, nothing to forget and nothing interrupted to
	 * finish: touch nothing (no state directory, lock or journal for a
	 * no-op). */
	if (p->n_steps == 0 && !plan_forgets(p)) {
		_cleanup_close_ int sd = state_dir_open(ctx, false);
		if (sd == -ENOENT || (sd >= 0 && faccessat(sd, JOURNAL_FILE, F_OK, 0) < 0)) {
			free(report_close(&rep));
			return 0;
		}
	}
	lock = state_lock(ctx, &dfd);
	if (lock < 0) {
		report_add(&rep, "cannot take /var/lib/vmgpu/lock: %s", strerror(-lock));
		report_give(&rep, ret_report);
		return lock;
	}
	r = recover_locked(ctx, dfd, false, &recovered, &rep);
	if (r < 0)
		goto out;
	if ((r = journal_prepare(p, &j, &rep)) < 0)
		goto out;
	if ((r = journal_write(dfd, &j)) < 0) {
		report_add(&rep, "cannot write the journal: %s; nothing was changed", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < p->n_steps; i++) {
		char why[512];
		struct vmgpu_step st;

		r = step_run(ctx, &p->steps[i], why, sizeof(why));
		if (r == 0) {
			j.done = (int)i + 1;
			r = journal_write(dfd, &j);
			if (r < 0)
				snprintf(why, sizeof(why), "cannot update the journal: %s", strerror(-r));
		}
		(void)vmgpu_plan_step(p, i, &st);
		if (progress)
			progress(userdata, i, p->n_steps, &st, r);
		if (r < 0) {
			report_add(&rep, "step %zu/%zu failed: %s: %s", i + 1, p->n_steps, p->steps[i].summary,
				   *why ? why : strerror(-r));
			/* Incomplete, the journal stays: recovery (vmgpu recover,
			 * or the next run) retries from it, as after a crash. */
			if (rollback(p, &j, &rep) < 0)
				goto out;
			/* the state file is unchanged: the --persist files back to it */
			if (p->op != JOURNAL_PARTITION && persist_sync_dir(ctx, dfd) < 0)
				report_add(&rep, "the udev rules of --persist could not be brought back in line");
			if (remove_durable(dfd, JOURNAL_FILE) < 0)
				report_add(&rep, "the journal could not be removed: vmgpu recover will find nothing to do");
			goto out;
		}
	}
	if (p->op != JOURNAL_PARTITION && (r = state_apply(dfd, &j, &state)) < 0) {
		/* The journal stays: recovery rolls the plan back to what
		 * the unchanged state file says. */
		report_add(&rep, "done, but the state file could not be written: %s", strerror(-r));
		goto out;
	}
	r = finish_done(ctx, dfd, p->op != JOURNAL_PARTITION ? &state : NULL, &rep);
out:
	free(state.devs);
	journal_free(&j);
	close(lock);
	close(dfd);
	/* Success has nothing to say: what a step did, progress was told. */
	if (r < 0)
		report_give(&rep, ret_report);
	else
		free(report_close(&rep));
	return r;
}


