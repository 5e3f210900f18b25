/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool file of vmgpu plan (JSON from users): strict, bounded, no crash;
 * every refusal comes with its one-line reason. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *err = NULL;
	int r;

	if (size > 65536)
		return 0; /* "count" can expand 100k desktops: keep runs fast */
	s = strndup((const char *)data, size);
	if (!s)
		return 0;
	r = pool_parse_check(s, &err);
	if (r == -EINVAL && (!err || strchr(err, '\n')))
		abort();
	free(err);
	free(s);
	return 0;
}
