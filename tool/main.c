/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmgpu: give virtual desktops real GPUs. Command dispatch and common options. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "tool.h"

static const struct tool_cmd commands[] = {
	{ "survey", cmd_survey, "Tell whether each GPU can go to a VM, what must come with it, and the MMIO it needs" },
	{ "assign", cmd_assign, "Take a GPU and its IOMMU group from the host drivers and give it to vfio-pci" },
	{ "release", cmd_release, "Give an assigned GPU back to the drivers it had before" },
	{ "attach", cmd_attach, "Give an assigned GPU to a VM: libvirt domain, QEMU arguments or Hyper-V script" },
	{ "detach", cmd_detach, "Take a GPU out of a VM's definition again" },
	{ "partition", cmd_partition, "Split a GPU among VMs: list, create and remove SR-IOV, mdev and vGPU slices" },
	{ "plan", cmd_plan, "Place a pool of desktops onto this host's GPUs and slices (--apply makes it so)" },
	{ "verify", cmd_verify, "Tell whether a running VM's guest has each device vmgpu gave it" },
	{ "status", cmd_status, "Show what vmgpu has assigned and whether the host still matches" },
	{ "recover", cmd_recover, "Roll back (or --finish) an interrupted assign or release" },
};

/* One line, always: whatever a user typed (a newline in a VM name, an
 * escape sequence in a device argument) is shown as '?'. */
void tool_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "vmgpu: %s\n", buf);
}

__attribute__((format(printf, 6, 0))) static void log_to_stderr(void *userdata, int priority, const char *file, int line, const char *fn,
			  const char *format, va_list args)
{
	fprintf(stderr, "vmgpu: %s", priority <= LOG_ERR ? "error: " : priority <= LOG_WARNING ? "warning: " : "");
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

struct vmgpu_ctx *tool_open_root(const struct tool_opts *opts)
{
	struct vmgpu_ctx *ctx;
	const char *root = opts->root ? opts->root : "/";
	int r = vmgpu_ctx_new(root, &ctx);

	if (r < 0) {
		tool_error("cannot open host root %s: %s", root, strerror(-r));
		return NULL;
	}
	vmgpu_ctx_set_log_fn(ctx, log_to_stderr, NULL);
	vmgpu_ctx_set_log_priority(ctx, opts->verbose ? LOG_DEBUG : LOG_WARNING);
	return ctx;
}

bool tool_use_color(const struct tool_opts *opts, FILE *f)
{
	if (opts->color == COLOR_ALWAYS)
		return true;
	if (opts->color == COLOR_NEVER || getenv("NO_COLOR"))
		return false;
	return isatty(fileno(f));
}

static int common_option(struct tool_opts *opts, int c, const char *arg)
{
	switch (c) {
	case 'r':
		opts->root = arg;
		return 1;
	case 'j':
		opts->json = true;
		return 1;
	case 'P':
		opts->json = opts->pretty = true;
		return 1;
	case 'v':
		opts->verbose = true;
		return 1;
	case 'C':
		if (!arg || strcmp(arg, "always") == 0)
			opts->color = COLOR_ALWAYS;
		else if (strcmp(arg, "never") == 0)
			opts->color = COLOR_NEVER;
		else if (strcmp(arg, "auto") == 0)
			opts->color = COLOR_AUTO;
		else {
			tool_error("--color: expected auto, always or never, not '%s'", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

int tool_getopt(struct tool_opts *opts, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int r = common_option(opts, c, optarg);
		if (r < 0)
			return TOOL_OPT_BAD;
		if (r == 0)
			return c;
	}
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmgpu [OPTIONS] COMMAND [ARGS]\n\n"
		   "Give virtual desktops real GPUs: survey, assign and partition GPUs for VMs.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
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
			printf("vmgpu %s\n", VMGPU_VERSION);
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
		if (strcmp(argv[optind], commands[i].name) == 0) {
			char **cmd_argv = argv + optind;
			int cmd_argc = argc - optind;
			optind = 0; /* full restart of getopt (0, not 1: it also resets GNU
				     * argument permutation, so options may follow DEVICEs) */
			return commands[i].run(&opts, cmd_argc, cmd_argv);
		}
	}
	tool_error("unknown command '%s'; try 'vmgpu --help'", argv[optind]);
	return EXIT_USAGE;
}
