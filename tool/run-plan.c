/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every command that changes the host runs its plan the same way: read the
 * host, make the plan, print it (--dry-run) or its refusals, or apply it
 * with progress on stderr; when another run changed the host before we got
 * the lock, read the host again and plan again.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

struct progress {
	const struct tool_opts *opts;
	long crash_after; /* test builds: SIGKILL ourselves after this step (1-based) */
};

static void on_step(void *userdata, size_t i, size_t n, const struct vmgpu_step *s, int result)
{
	struct progress *pr = userdata;

	if (!pr->opts->json)
		fprintf(stderr, "[%zu/%zu] %s: %s\n", i + 1, n, s->summary, result < 0 ? "FAILED" : "ok");
#ifdef VMGPU_TEST_HOOKS
	if (result == 0 && pr->crash_after > 0 && (long)i + 1 == pr->crash_after)
		raise(SIGKILL);
#endif
}

static int apply(const struct tool_opts *opts, struct vmgpu_plan *plan, char **ret_report)
{
	struct progress pr = { .opts = opts };

#ifdef VMGPU_TEST_HOOKS
	/* meson -Dtest-hooks=true only: the guest tests' crash after step K */
	const char *crash = getenv("VMGPU_TEST_CRASH_AFTER_STEP");
	if (crash)
		pr.crash_after = strtol(crash, NULL, 10);
#endif
	for (size_t i = 0; i < vmgpu_plan_n_refusals(plan); i++) {
		struct vmgpu_reason r;
		bool forced;
		if (vmgpu_plan_refusal(plan, i, &r, &forced) == 0 && forced && !opts->json)
			fprintf(stderr, "vmgpu: --force overrides: %s\n", r.message);
	}
	return vmgpu_plan_apply(plan, on_step, &pr, ret_report);
}

int run_plan(const struct tool_opts *opts, const char *op, bool dry_run, run_plan_make_fn make,
	     run_plan_done_fn done, void *userdata)
{
	struct vmgpu_ctx *ctx = tool_open_root(opts);
	struct vmgpu_host *host = NULL;
	struct vmgpu_plan *plan = NULL;
	char *report = NULL;
	int k = 0, rc = EXIT_FAILED;

	if (!ctx)
		return EXIT_FAILED;
	for (int attempt = 0;; attempt++) {
		plan = vmgpu_plan_unref(plan);
		host = vmgpu_host_unref(host);
		if (tool_scan(ctx, &host) < 0 || make(ctx, host, userdata, &plan) < 0)
			goto out;
		if (dry_run)
			break;
		/*
		 * A refusal is final only once the host is at rest: another
		 * run half-way (a group on vfio-pci, its record not written
		 * yet) looks like a host vmgpu did not make. So take the lock
		 * and keep it (other runs wait), roll back an interrupted plan
		 * (its half-assigned group would otherwise stay), then read and
		 * plan again, once, and apply under the same lock.
		 */
		if (vmgpu_plan_refused(plan)) {
			bool recovered = false;
			char *recovery = NULL;
			if (attempt > 0 || vmgpu_ctx_lock(ctx) < 0 ||
			    vmgpu_recover(ctx, false, &recovered, &recovery) < 0) {
				free(recovery);
				break;
			}
			if (recovered && recovery && !opts->json)
				fprintf(stderr, "vmgpu: recovered first:\n%s\n", recovery);
			free(recovery);
			continue;
		}
		if (attempt == 10) {
			tool_error("%s: the host kept changing under us; nothing more was tried", op);
			goto out;
		}
		free(report);
		report = NULL;
		if ((k = apply(opts, plan, &report)) != -ESTALE)
			break;
	}
	if (dry_run || vmgpu_plan_refused(plan)) {
		bool refused = vmgpu_plan_refused(plan);
		if (opts->json)
			report_plan_json(stdout, op, plan, dry_run, refused ? "refused" : "planned", NULL, opts->pretty);
		else
			report_plan_text(refused ? stderr : stdout, vmgpu_ctx_root(ctx), op, plan, dry_run);
		if (refused && !opts->json)
			fprintf(stderr, "vmgpu: %s refused; nothing was changed\n", op);
		rc = refused ? EXIT_REFUSED : EXIT_OK;
		goto out;
	}
	if (opts->json)
		report_plan_json(stdout, op, plan, false, k < 0 ? "failed" : "applied", report, opts->pretty);
	if (k < 0) {
		if (!opts->json)
			fprintf(stderr, "vmgpu: %s failed:\n%s\n", op, report ? report : strerror(-k));
		rc = k == -EPERM ? EXIT_REFUSED : EXIT_FAILED;
		goto out;
	}
	if (!opts->json && done)
		done(plan, userdata);
	rc = EXIT_OK;
out:
	free(report);
	vmgpu_plan_unref(plan);
	vmgpu_host_unref(host);
	vmgpu_ctx_unref(ctx);
	return rc;
}
