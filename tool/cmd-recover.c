/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmgpu recover [--finish]: finish or roll back an interrupted assign/release. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static int cmd_recover(struct tool_opts *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "finish", no_argument, NULL, 'F' },
		{ 0 },
	};
	struct vmgpu_ctx *ctx;
	bool finish = false, recovered = false;
	char *report = NULL;
	int c, k;

	while ((c = tool_getopt(opts, argc, argv, TOOL_COMMON_SHORTOPTS "h", longopts)) != -1) {
		if (c == TOOL_OPT_BAD)
			return EXIT_USAGE;
		if (c == 'F') {
			finish = true;
		} else if (c == 'h') {
			printf("Usage: vmgpu recover [--finish]\n\n"
			       "After an assign or release was interrupted (killed, power loss), put every\n"
			       "function it touched back the way it was, or with --finish, the way the plan\n"
			       "wanted it. Every later assign or release does this by itself first.\n");
			return EXIT_OK;
		} else {
			fputs("Try 'vmgpu recover --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		tool_error("recover takes no arguments");
		return EXIT_USAGE;
	}
	if (!(ctx = tool_open_root(opts)))
		return EXIT_FAILED;
	k = vmgpu_recover(ctx, finish, &recovered, &report);
	if (opts->json) {
		printf("{\"schema\":\"vmgpu.recover/1\",\"recovered\":%s,\"ok\":%s}\n", recovered ? "true" : "false",
		       k < 0 ? "false" : "true");
	} else if (!recovered && k == 0) {
		printf("nothing to recover\n");
	} else if (report) {
		printf("%s\n", report);
	}
	if (k < 0)
		tool_error("recover failed: %s", strerror(-k));
	free(report);
	vmgpu_ctx_unref(ctx);
	return k < 0 ? EXIT_FAILED : EXIT_OK;
}

const struct tool_cmd tool_cmd_recover = {
	.name = "recover",
	.run = cmd_recover,
	.summary = "Roll back (or --finish) an interrupted assign or release",
};
