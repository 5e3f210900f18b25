/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _must_check_ __attribute__((warn_unused_result))
#define _unused_ __attribute__((unused))
#define _sentinel_ __attribute__((sentinel))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* A public function's check of its arguments (systemd's assert_return):
 * when EXPR is false, return RETVAL. A caller's mistake is answered, never
 * aborted on: the library does not exit. */
#define assert_return(expr, retval)               \
	do {                                      \
		if (__builtin_expect(!(expr), 0)) \
			return (retval);          \
	} while (0)

/* Hand a pointer on: returns it and leaves NULL behind, so the cleanup of
 * the old owner does nothing. */
#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _p_ = (p);     \
		(p) = NULL;                  \
		_p_;                         \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
