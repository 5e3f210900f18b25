/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Getting back from an interrupted or failed plan. The journal records, for
 * each function, its driver and override before the plan and after it, and
 * for each partition object its value before and after. Recovery (vmgpu
 * recover, or the next apply) and rollback (a step failed) both plan from the
 * host as it is now to one of the two, per function and per object, with the
 * same protocols as any plan (lib/plan/steps.c), and run those steps with the
 * same runner (step.c). A function gone from the host (hot unplug, a VF its
 * PF dropped) is no failure: nothing of it is left to restore.
 */
#include <stdio.h>
#include <string.h>

#include "apply.h"

/* Run the steps of plan back P; the first failure is reported and ends
 * them. */
static int run_back(struct vmgpu_plan *p, struct report *rep)
{
	char why[512];
	int r;

	if (p->failed)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_steps; i++)
		if ((r = step_run(p->ctx, &p->steps[i], why, sizeof(why))) < 0) {
			report_add(rep, "%s: %s", p->steps[i].summary, *why ? why : strerror(-r));
			return r;
		}
	return 0;
}

/* Partition object O back to its value before the plan (or on to its value
 * after: FINISH). */
static int back_object(struct vmgpu_ctx *ctx, const struct jobj *o, bool finish, struct report *rep)
{
	long want = finish ? o->target : o->before, cur;
	struct vmgpu_plan *p;
	int r;

	if (object_current(ctx, o, &cur) < 0) {
		report_add(rep, "%s %s: gone", o->kind == JOBJ_MDEV ? "mdev" : "device", o->key);
		return -EIO;
	}
	if (!(p = plan_new_back(ctx)))
		return -ENOMEM;
	steps_object(p, NULL, o, cur, want);
	r = run_back(p, rep);
	if (r == 0)
		report_add(rep, "%s: %ld", o->key, want);
	vmgpu_plan_unref(p);
	return r;
}

/* Function D back to its driver and override before the plan (or on to
 * those after it: FINISH); -ENOENT when it is gone from the host. */
static int back_function(struct vmgpu_ctx *ctx, const struct jdev *d, bool finish, struct report *rep)
{
	struct fn_state want = finish ? (struct fn_state){ d->target_driver, d->target_override }
				      : (struct fn_state){ d->driver, d->override };
	char drv[64], ovr[64];
	struct vmgpu_plan *p;
	int r;

	if (kernel_driver(ctx, d->address, drv, sizeof(drv)) < 0) {
		report_add(rep, "%s: gone from the host, nothing to restore", d->address);
		return -ENOENT;
	}
	if ((r = kernel_override(ctx, d->address, ovr, sizeof(ovr))) < 0)
		return r;
	if (!(p = plan_new_back(ctx)))
		return -ENOMEM;
	steps_driver(p, NULL, d->address, d->group, (struct fn_state){ drv, ovr }, want, true);
	r = run_back(p, rep);
	if (r == 0 && p->n_steps > 0)
		report_add(rep, "%s: driver -> %s", d->address, *want.driver ? want.driver : "none");
	vmgpu_plan_unref(p);
	return r;
}

/*
 * Everything journal J records back to its state before the plan, or on to
 * the plan's end state (FINISH): objects first on the way forward, last on
 * the way back, each list in the order that undoes the other. 0, or -errno
 * when something could not be brought back.
 */
int recover_journal(struct vmgpu_ctx *ctx, const struct journal *j, bool finish, struct report *rep)
{
	int failed = 0, r;

	for (size_t k = 0; k < j->n_objs; k++)
		if ((r = back_object(ctx, &j->objs[finish ? k : j->n_objs - 1 - k], finish, rep)) < 0)
			failed = r;
	for (size_t k = 0; k < j->n; k++) {
		r = back_function(ctx, &j->devs[finish ? k : j->n - 1 - k], finish, rep);
		if (r < 0 && r != -ENOENT)
			failed = r;
	}
	return failed;
}

/* After a recovery, the state file and the --persist files after it.
 * Finishing an assign must also record it, or release would not know the
 * original drivers; a rollback leaves the state file as it is. */
static void recover_state(struct vmgpu_ctx *ctx, int dfd, const struct journal *j, bool finish, struct report *rep)
{
	struct jstate s;
	int r;

	if (finish && state_apply(dfd, j, &s) == 0) {
		r = persist_sync(ctx, &s);
		free(s.devs);
	} else {
		r = persist_sync_dir(ctx, dfd);
	}
	if (r < 0)
		report_add(rep, "the udev rules of --persist could not be brought in line with what is assigned");
}

int recover_locked(struct vmgpu_ctx *ctx, int dfd, bool finish, bool *ret_recovered, struct report *rep)
{
	_cleanup_free_ char *text = NULL;
	struct journal j;
	int r, failed = 0;

	*ret_recovered = false;
	r = read_small_file(dfd, JOURNAL_FILE, &text);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = journal_parse(text, &j)) < 0) {
		report_add(rep, "the journal /var/lib/vmgpu/journal cannot be read (%s); it was kept for inspection",
			   strerror(-r));
		return r;
	}
	report_add(rep, "interrupted %s after %d step(s): %s",
		   j.op == JOURNAL_ASSIGN ? "assign" : j.op == JOURNAL_RELEASE ? "release" : "partition change", j.done,
		   finish ? "finishing it" : "rolling it back");
	failed = recover_journal(ctx, &j, finish, rep);
	if (!failed) {
		if (j.op != JOURNAL_PARTITION)
			recover_state(ctx, dfd, &j, finish, rep);
		r = remove_durable(dfd, JOURNAL_FILE);
		if (r < 0)
			failed = r;
	} else {
		report_add(rep, "the journal was kept: run vmgpu recover again once the above is fixed");
	}
	journal_free(&j);
	*ret_recovered = true;
	return failed;
}

VMGPU_EXPORT int vmgpu_recover(struct vmgpu_ctx *ctx, bool finish, bool *ret_recovered, char **ret_report)
{
	struct report rep;
	int dfd = -1, lock, r;
	bool recovered = false;

	if (ret_report)
		*ret_report = NULL;
	assert_return(ctx, -EINVAL);
	report_open(&rep);
	/* Nothing was ever applied here: nothing to recover, and no reason to
	 * create var/lib/vmgpu just to find that out. */
	dfd = state_dir_open(ctx, false);
	if (dfd == -ENOENT) {
		free(report_close(&rep));
		if (ret_recovered)
			*ret_recovered = false;
		return 0;
	}
	if (dfd >= 0)
		close(dfd);
	lock = state_lock(ctx, &dfd);
	if (lock < 0) {
		free(report_close(&rep));
		return lock;
	}
	r = recover_locked(ctx, dfd, finish, &recovered, &rep);
	close(lock);
	close(dfd);
	if (ret_recovered)
		*ret_recovered = recovered;
	report_give(&rep, ret_report);
	return r;
}
