/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The unit runner. Each case runs in a child process of its own under an
 * alarm: a crash or a hang fails that case and the run goes on, and nothing
 * one case leaves behind (globals, a half-built fixture, a libvirt test
 * domain) reaches the next. VMGPU_TEST_TIMEOUT=S changes the alarm (30 s);
 * VMGPU_TEST_NOFORK=1 runs the cases in this process, for a debugger.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

unsigned test_checks_failed;

static unsigned timeout_s(void)
{
	const char *s = getenv("VMGPU_TEST_TIMEOUT");
	long v = s ? strtol(s, NULL, 10) : 0;

	return v > 0 && v < 86400 ? (unsigned)v : 30;
}

/* Runs T in a child; true when it passed. */
static bool run_forked(const struct test_case *t, unsigned timeout)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return false;
	}
	if (pid == 0) {
		alarm(timeout);
		t->fn();
		exit(test_checks_failed ? 1 : 0); /* exit(): stdio flushed, sanitizers' leak check runs */
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (sig == SIGALRM)
			fprintf(stderr, "  timed out after %u s\n", timeout);
		else
			fprintf(stderr, "  killed by signal %d (%s)\n", sig, strsignal(sig));
		return false;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool run_inline(const struct test_case *t)
{
	unsigned before = test_checks_failed;

	t->fn();
	return test_checks_failed == before;
}

int test_main(const struct test_case *tests, size_t n)
{
	const char *nofork = getenv("VMGPU_TEST_NOFORK");
	bool forked = !nofork || strcmp(nofork, "1") != 0;
	unsigned passed = 0, failed = 0, timeout = timeout_s();

	for (size_t i = 0; i < n; i++) {
		bool ok = forked ? run_forked(&tests[i], timeout) : run_inline(&tests[i]);
		printf("%sok %zu - %s\n", ok ? "" : "not ", i + 1, tests[i].name);
		if (ok)
			passed++;
		else
			failed++;
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
