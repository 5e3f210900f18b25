/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel side of applying a plan: a write to a sysfs attribute, and
 * waiting for what it leads to. A driver's probe may be asynchronous, and
 * udev (or devtmpfs) makes /dev/vfio/N right after vfio-pci binds, so the
 * driver link and the node are polled (250 x 20 ms) rather than trusted at
 * once. What the kernel does is a table of operations in the context:
 * kernel_linux by default; the unit tests install the simulated kernel of
 * tests/unit/kernel-sim.c (which reacts at once and never waits) in its
 * place, so no code here asks whether it runs under test.
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "apply.h"

#define SETTLE_TRIES 250
#define SETTLE_MS 20

static void linux_wait(struct vmgpu_ctx *ctx, unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * A group is viable when every device in it is on a vfio driver, pci-stub,
 * driverless, or a bridge: the check QEMU makes through VFIO_GROUP_GET_STATUS
 * before it can use the group ("group N is not viable").
 */
static int linux_group_viable(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz)
{
	_cleanup_close_ int fd = root_openat(ctx, ctx->root_fd, devnode, O_RDWR);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct stat sb;

	if (fd < 0) {
		snprintf(why, sz, "%s: %s", devnode, strerror(-fd));
		return fd;
	}
	if (fstat(fd, &sb) < 0 || !S_ISCHR(sb.st_mode)) {
		snprintf(why, sz, "%s is not a character device", devnode);
		return -ENOTTY;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
		int r = negative_errno();
		snprintf(why, sz, "%s: VFIO_GROUP_GET_STATUS: %s", devnode, strerror(-r));
		return r;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(why, sz, "%s: not viable: a device in the group is still on a host driver", devnode);
		return -EBUSY;
	}
	return 0;
}

const struct kernel_ops kernel_linux = {
	.write = root_write_attr,
	.load_module = modprobe_load,
	.group_viable = linux_group_viable,
	.wait = linux_wait,
};

static const struct kernel_ops *ops(const struct vmgpu_ctx *ctx)
{
	return ctx->kernel ? ctx->kernel : &kernel_linux;
}

int kernel_write(struct vmgpu_ctx *ctx, const char *path, const char *value)
{
	return ops(ctx)->write(ctx, path, value);
}

/* Driver of ADDR now ("" when none), re-read from sysfs. */
int kernel_driver(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz)
{
	char path[128];
	_cleanup_close_ int dfd = -1;
	int r;

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", addr);
	dfd = root_openat(ctx, ctx->root_fd, path, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	r = root_link_basename(dfd, "driver", buf, sz);
	if (r == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return r;
}

int kernel_override(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
	r = root_read_str(ctx, path, buf, sz);
	if (r < 0)
		return r;
	if (strcmp(buf, "(null)") == 0)
		buf[0] = '\0';
	return 0;
}

/* Wait until ADDR's driver is WANT ("" none, "*" any). */
int kernel_settle_driver(struct vmgpu_ctx *ctx, const char *addr, const char *want, char *got, size_t sz)
{
	for (int i = 0; i < SETTLE_TRIES; i++) {
		int r = kernel_driver(ctx, addr, got, sz);
		if (r < 0)
			return r;
		if (strcmp(want, "*") == 0 || strcmp(got, want) == 0)
			return 0;
		ops(ctx)->wait(ctx, SETTLE_MS);
	}
	return -EIO;
}

bool kernel_settle_node(struct vmgpu_ctx *ctx, const char *path)
{
	for (int i = 0; i < SETTLE_TRIES && !root_exists(ctx, path); i++)
		ops(ctx)->wait(ctx, SETTLE_MS);
	return root_exists(ctx, path);
}

int kernel_group_viable(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz)
{
	return ops(ctx)->group_viable(ctx, devnode, why, sz);
}

/* Loaded already: sys/module/NAME, with '-' as '_'. */
int kernel_load_module(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz)
{
	char path[64];

	snprintf(path, sizeof(path), "sys/module/%s", name);
	for (char *p = path; *p; p++)
		if (*p == '-')
			*p = '_';
	if (root_exists(ctx, path))
		return 0;
	return ops(ctx)->load_module(ctx, name, why, sz);
}
