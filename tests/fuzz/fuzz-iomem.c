/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/iomem text. */
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_fb(void *userdata, const char *name, uint64_t start, uint64_t end)
{
	if (end < start || !name)
		abort();
	(*(unsigned *)userdata)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	unsigned n = 0;
	bool has;

	if (!s)
		return 0;
	parse_iomem(s, on_fb, &n, &has);
	free(s);
	return 0;
}
