/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every command does the same way: the common options, errors on
 * stderr, opening the host root, reading the host, naming devices. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "tool.h"

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
		/* "" would read as the live host: a script's empty variable must
		 * not silently survey (or change) this machine */
		if (!*arg) {
			tool_error("--root: empty directory name (the live host is --root /)");
			return -1;
		}
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

static bool is_address(const char *s)
{
	uint32_t dom;
	uint8_t b, d, f;

	return vmgpu_parse_address(s, &dom, &b, &d, &f) == 0;
}

/* The full DDDD:BB:DD.F, domain included: the name of a function's
 * directory in sysfs, and so the only form a topology path can end in. */
static bool is_sysfs_address(const char *s)
{
	const char *colon = strchr(s, ':');

	return is_address(s) && colon && strchr(colon + 1, ':');
}

/* Syntax only, before the host is touched, and the same syntax as
 * vmgpu_host_lookup(): an address, a location path, or a topology path
 * ending in a full address (no ".." anywhere). What passes here the lookup
 * can only find or not find. */
int tool_check_device_syntax(char *const *devices, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = devices[i];

		if (is_address(s) || strncmp(s, "PCIROOT(", 8) == 0)
			continue;
		if (strchr(s, '/') && !strstr(s, "..") && is_sysfs_address(strrchr(s, '/') + 1))
			continue;
		tool_error("'%s' is not a PCI address (DDDD:BB:DD.F), topology path or location path", s);
		return -EINVAL;
	}
	return 0;
}

int tool_scan(struct vmgpu_ctx *ctx, struct vmgpu_host **ret)
{
	int k = vmgpu_host_scan(ctx, ret);

	if (k == -ENOENT)
		tool_error("%s has no sys/bus/pci/devices: not a Linux host root", vmgpu_ctx_root(ctx));
	else if (k < 0)
		tool_error("cannot read PCI devices under %s: %s", vmgpu_ctx_root(ctx), strerror(-k));
	return k;
}

int tool_lookup(struct vmgpu_host *host, struct vmgpu_ctx *ctx, const char *spec, struct vmgpu_dev **ret)
{
	int k = vmgpu_host_lookup(host, spec, ret);

	if (k == -ENODEV)
		tool_error("no PCI device %s under %s", spec, vmgpu_ctx_root(ctx));
	else if (k < 0)
		tool_error("'%s': %s", spec, strerror(-k));
	return k;
}
