/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>

#include "dlsym.h"

static _Thread_local char last_error[256];

static void set_error(const char *filename)
{
	const char *e = dlerror();

	snprintf(last_error, sizeof(last_error), "%s", e ? e : filename);
}

const char *dlsym_error(void)
{
	return last_error;
}

/* Every sym of the list to NULL. */
static void clear_syms(va_list ap)
{
	void **sym;

	while ((sym = va_arg(ap, void **))) {
		(void)va_arg(ap, const char *);
		*sym = NULL;
	}
}

int dlsym_many(void **dl, const char *filename, ...)
{
	void *h, **sym;
	const char *name;
	va_list ap, again;
	int r = 0;

	if (*dl)
		return 0;
	last_error[0] = '\0';
	h = dlopen(filename, RTLD_NOW | RTLD_LOCAL);
	va_start(ap, filename);
	va_copy(again, ap);
	if (!h) {
		set_error(filename);
		r = -ENOENT;
		goto out;
	}
	while ((sym = va_arg(ap, void **))) {
		name = va_arg(ap, const char *);
		(void)dlerror();
		if (!(*sym = dlsym(h, name))) {
			set_error(name);
			r = -ELIBBAD;
			break;
		}
	}
	if (r < 0)
		dlclose(h);
	else
		*dl = h;
out:
	if (r < 0)
		clear_syms(again);
	va_end(again);
	va_end(ap);
	return r < 0 ? r : 1;
}

void dlsym_optional(void *dl, void **sym, const char *name)
{
	*sym = dl ? dlsym(dl, name) : NULL;
}

bool dlopen_is_loaded(const char *filename)
{
	void *h = dlopen(filename, RTLD_LAZY | RTLD_NOLOAD);

	if (!h)
		return false;
	dlclose(h);
	return true;
}
