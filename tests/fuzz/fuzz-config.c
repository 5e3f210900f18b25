/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Config space of any length and content: decoding stays in bounds and
 * never claims more than the bytes it had. */
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_info ci;
	/* Exact-size heap copy so that ASan catches any read past the end. */
	uint8_t *b = malloc(size ? size : 1);

	if (!b)
		return 0;
	memcpy(b, data, size);
	config_decode(b, size, &ci);
	if (ci.caps_known && size < 64)
		abort();
	if (ci.ext_known && size <= 256)
		abort();
	if (ci.n_rebar > VMGPU_REBAR_MAX)
		abort();
	free(b);
	return 0;
}
