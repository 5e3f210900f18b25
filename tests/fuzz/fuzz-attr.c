/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Numeric sysfs attributes ("0x10de\n", "-1\n"). */
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	uint64_t u;
	int i;

	if (!s)
		return 0;
	(void)parse_u64(s, 0, &u);
	(void)parse_u64(s, 16, &u);
	if (parse_int(s, 10, &i) == 0 && s[0] != '-' && i < 0)
		abort();
	free(s);
	return 0;
}
