/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal and state files: whatever a crash or a person left there,
 * parse strictly, and what parses formats and parses back the same. */
#include <stdlib.h>
#include <string.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	struct journal j, j2;
	struct jstate st, st2;

	if (!s)
		return 0;
	if (journal_parse(s, &j) == 0) {
		char *out = journal_format(&j);
		if (!out || journal_parse(out, &j2) != 0 || j2.n != j.n || j2.n_objs != j.n_objs || j2.done != j.done)
			abort();
		journal_free(&j2);
		free(out);
		journal_free(&j);
	}
	if (state_parse(s, &st) == 0) {
		char *out = state_format(&st);
		if (!out || state_parse(out, &st2) != 0 || st2.n != st.n)
			abort();
		free(st2.devs);
		free(out);
		free(st.devs);
	}
	free(s);
	return 0;
}
