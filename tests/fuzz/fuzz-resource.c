/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs "resource" tables. */
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resource_line l[RESOURCE_MAX_LINES];
	char *s = strndup((const char *)data, size);
	int n;

	if (!s)
		return 0;
	n = parse_resource(s, l);
	if (n > RESOURCE_MAX_LINES)
		abort();
	free(s);
	return 0;
}
