/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal test macros: each check counts; a failed check prints where and
 * what. test_main() runs the table and ends with "N passed, N failed". */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern unsigned test_checks_failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			test_checks_failed++;                                        \
		}                                                                    \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                   \
	do {                                                                                 \
		long long _a_ = (long long)(a), _b_ = (long long)(b);                        \
		if (_a_ != _b_) {                                                            \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, _a_, #b, _b_);                                 \
			test_checks_failed++;                                                \
		}                                                                            \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                  \
	do {                                                                                \
		const char *_a_ = (a), *_b_ = (b);                                          \
		if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                                \
			fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, _a_ ? _a_ : "(null)", _b_ ? _b_ : "(null)");  \
			test_checks_failed++;                                               \
		}                                                                           \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

int test_main(const struct test_case *tests, size_t n);
