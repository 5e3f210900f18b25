/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "testlib.h"

unsigned test_checks_failed;

int test_main(const struct test_case *tests, size_t n)
{
	unsigned passed = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned before = test_checks_failed;
		tests[i].fn();
		if (test_checks_failed == before) {
			printf("ok %zu - %s\n", i + 1, tests[i].name);
			passed++;
		} else {
			printf("not ok %zu - %s\n", i + 1, tests[i].name);
			failed++;
		}
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
