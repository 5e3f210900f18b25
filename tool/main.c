/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmgpu: give virtual desktops real GPUs. The command table, the global
 * options before the command's name, --help generated from the table, and
 * the exit codes (tool.h). Each command is a file of its own, cmd-NAME.c,
 * that defines its struct tool_cmd.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

/* In the order of --help. */
static const struct tool_cmd *const commands[] = {
	&tool_cmd_survey,
	&tool_cmd_assign,
	&tool_cmd_release,
	&tool_cmd_attach,
	&tool_cmd_detach,
	&tool_cmd_partition,
	&tool_cmd_plan,
	&tool_cmd_verify,
	&tool_cmd_status,
	&tool_cmd_recover,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmgpu [OPTIONS] COMMAND [ARGS]\n\n"
		   "Give virtual desktops real GPUs: survey, assign and partition GPUs for VMs.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nOptions (accepted before or after the command):\n"
		   "  -r, --root DIR     read the host under DIR (holds sys/, proc/, dev/; default /)\n"
		   "  -j, --json         machine-readable output (schema in vmgpu(8))\n"
		   "      --pretty       indented JSON (implies --json)\n"
		   "      --color[=WHEN] colour the text report: auto (default), always, never\n"
		   "  -v, --verbose      log what is read and skipped\n"
		   "  -h, --help         show this help (or COMMAND --help)\n"
		   "      --version      show the version\n\n"
		   "Exit status: 0 ok, 1 usage error (verify: also a device not seen), 2 failure (host\n"
		   "unreadable, device not found), 3 refused as unsafe (nothing changed).\n"
		   "See vmgpu(8).\n");
}

/*
 * A report nobody got is no success: stdout is flushed here and a write
 * error (a full disk, /dev/full) turns exit 0 into 2, with one line.
 */
static int output_checked(int rc)
{
	/* a command that failed has said why already */
	if (rc != EXIT_OK || (fflush(stdout) == 0 && !ferror(stdout)))
		return rc;
	tool_error("cannot write the output: %s", strerror(errno ? errno : EIO));
	return EXIT_FAILED;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct tool_opts opts = { .color = COLOR_AUTO };
	int c;

	/* "+": stop at the command name; the command parses the rest. */
	while ((c = tool_getopt(&opts, argc, argv, "+" TOOL_COMMON_SHORTOPTS "h", longopts)) != -1) {
		switch (c) {
		case TOOL_OPT_BAD:
			return EXIT_USAGE;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
#ifdef VMGPU_TEST_HOOKS
			printf("vmgpu %s (test hooks)\n", VMGPU_VERSION);
#else
			printf("vmgpu %s\n", VMGPU_VERSION);
#endif
			return EXIT_OK;
		default:
			fputs("Try 'vmgpu --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i]->name) == 0) {
			char **cmd_argv = argv + optind;
			int cmd_argc = argc - optind;
			optind = 0; /* full restart of getopt (0, not 1: it also resets GNU
				     * argument permutation, so options may follow DEVICEs) */
			return output_checked(commands[i]->run(&opts, cmd_argc, cmd_argv));
		}
	}
	tool_error("unknown command '%s'; try 'vmgpu --help'", argv[optind]);
	return EXIT_USAGE;
}
