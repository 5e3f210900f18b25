/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shared/dlsym.c: the one loader of the optional libraries. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "dlsym.h"
#include "testlib.h"

DECLARE_DLSYM(strlen);
DECLARE_DLSYM(strcmp);

/* Not in any library: only its type is used. */
int vmgpu_test_no_such_symbol(void);
DECLARE_DLSYM(vmgpu_test_no_such_symbol);

ELF_NOTE_DLOPEN("test", "A note of the test itself", ELF_NOTE_DLOPEN_PRIORITY_SUGGESTED, "libc.so.6");

static void t_loads(void)
{
	void *dl = NULL;

	CHECK_EQ_INT(dlsym_many(&dl, "libc.so.6", DLSYM_ARG(strlen), DLSYM_ARG(strcmp), NULL), 1);
	CHECK(dl != NULL);
	CHECK(sym_strlen && sym_strcmp);
	if (sym_strlen && sym_strcmp) {
		CHECK_EQ_INT(sym_strlen("vmgpu"), 5);
		CHECK_EQ_INT(sym_strcmp("a", "a"), 0);
	}
	/* Already open: nothing done. */
	CHECK_EQ_INT(dlsym_many(&dl, "libc.so.6", DLSYM_ARG(strlen), NULL), 0);
	dlclose(dl);
	sym_strlen = NULL;
	sym_strcmp = NULL;
}

static void t_missing_symbol(void)
{
	void *dl = NULL;

	CHECK_EQ_INT(dlsym_many(&dl, "libc.so.6", DLSYM_ARG(strlen), DLSYM_ARG(vmgpu_test_no_such_symbol),
				DLSYM_ARG(strcmp), NULL),
		     -ELIBBAD);
	CHECK(dl == NULL);
	CHECK(sym_strlen == NULL); /* resolved before the failure, cleared again */
	CHECK(sym_vmgpu_test_no_such_symbol == NULL);
	CHECK(sym_strcmp == NULL);
	CHECK(strstr(dlsym_error(), "vmgpu_test_no_such_symbol") != NULL);
}

static void t_missing_library(void)
{
	void *dl = NULL;

	sym_strlen = (__typeof__(sym_strlen))strlen; /* a stale value is cleared too */
	CHECK_EQ_INT(dlsym_many(&dl, "libvmgpu-no-such-library.so.0", DLSYM_ARG(strlen), NULL), -ENOENT);
	CHECK(dl == NULL);
	CHECK(sym_strlen == NULL);
	CHECK(strstr(dlsym_error(), "libvmgpu-no-such-library.so.0") != NULL);
}

static void t_optional(void)
{
	void *dl = NULL;

	CHECK_EQ_INT(dlsym_many(&dl, "libc.so.6", DLSYM_ARG(strlen), NULL), 1);
	DLSYM_OPTIONAL(dl, strcmp);
	DLSYM_OPTIONAL(dl, vmgpu_test_no_such_symbol);
	CHECK(sym_strcmp != NULL);
	CHECK(sym_vmgpu_test_no_such_symbol == NULL);
	if (dl)
		dlclose(dl);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "loads", t_loads },
		{ "missing-symbol", t_missing_symbol },
		{ "missing-library", t_missing_library },
		{ "optional", t_optional },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
