/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mkfixture SCENARIO: build a scenario's host root, print its path.
 * mkfixture --list: the scenarios, one per line. The caller removes the tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int main(int argc, char **argv)
{
	const struct fx_scenario *s;
	struct fx *fx;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < fx_n_scenarios; i++)
			printf("%s\t%s\t%s\t%s\n", fx_scenarios[i].name, fx_scenarios[i].device,
			       fx_scenarios[i].verdict, fx_scenarios[i].summary);
		return 0;
	}
	if (argc != 2 || !(s = fx_scenario_find(argv[1]))) {
		fprintf(stderr, "usage: mkfixture SCENARIO | --list\n");
		return 2;
	}
	setenv("VMGPU_KEEP_FIXTURES", "1", 1);
	fx = fx_new();
	s->build(fx);
	fx_finish(fx);
	printf("%s\n", fx_root(fx));
	fx_free(fx);
	return 0;
}
