/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vendor text: mdev type names/descriptions and NVIDIA's
 * creatable_vgpu_types table. */
#include <stdlib.h>
#include <string.h>

#include "partition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), *nl;
	struct vmgpu_vgpu_type *t;
	char **names;
	size_t n;

	if (!s)
		return 0;
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		(void)inventory_parse_vram_mib(s, nl + 1);
		*nl = '\n';
	}
	(void)inventory_parse_vram_mib(s, NULL);
	if (inventory_parse_vgpu_types(s, &t, &n, &names) == 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		free(t);
	}
	free(s);
	return 0;
}
