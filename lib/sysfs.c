/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "vmgpu-internal.h"

int sysfs_open(struct vmgpu_ctx *ctx, int dirfd, const char *path, int flags)
{
	static bool no_openat2;
	int fd;

	/* A snapshot or fixture is an ordinary directory tree: an absolute
	 * symlink in it must resolve inside the tree, never on the live host.
	 * RESOLVE_IN_ROOT makes the root fd act as "/" (Linux >= 5.6). */
	if (dirfd == ctx->root_fd && !no_openat2) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		/* EAGAIN: a rename or mount anywhere on the system while the
		 * path's ".." components were resolved; the kernel cannot
		 * prove they stayed inside the root and asks for a retry.
		 * Sysfs links are full of "..", and udev renames constantly. */
		for (int tries = 0; tries < 128; tries++) {
			fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
			if (fd >= 0)
				return fd;
			if (errno != EAGAIN)
				break;
		}
		if (errno != ENOSYS && errno != EPERM)
			return negative_errno();
		no_openat2 = true; /* old kernel or seccomp: fall back */
	}
	fd = openat(dirfd, path, flags | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

int root_opendir(struct vmgpu_ctx *ctx, const char *path, DIR **ret)
{
	int fd = sysfs_open(ctx, ctx->root_fd, path, O_RDONLY | O_DIRECTORY);
	DIR *d;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	*ret = d;
	return 0;
}

/*
 * sysfs attributes must be read with a single read(): kernfs regenerates the
 * value on every read, so a second read() may return a newer value instead of
 * EOF (systemd read_virtual_file_fd, issue #13585). Reading one byte more than
 * we accept detects truncation.
 */
static int read_str_fd(int fd, char *buf, size_t bufsz)
{
	ssize_t n;

	do
		n = read(fd, buf, bufsz);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= bufsz)
		return -EFBIG;
	if (memchr(buf, '\0', (size_t)n))
		return -EBADMSG;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int sysfs_read_str(int dirfd, const char *name, char *buf, size_t bufsz)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	return read_str_fd(fd, buf, bufsz);
}

int root_read_str(struct vmgpu_ctx *ctx, const char *path, char *buf, size_t bufsz)
{
	_cleanup_close_ int fd = sysfs_open(ctx, ctx->root_fd, path, O_RDONLY | O_NOCTTY);

	if (fd < 0)
		return fd;
	return read_str_fd(fd, buf, bufsz);
}

int root_read_int(struct vmgpu_ctx *ctx, const char *path, int *ret)
{
	char buf[32];
	int r = root_read_str(ctx, path, buf, sizeof(buf));

	if (r < 0)
		return r;
	return parse_int(buf, 10, ret) < 0 ? -EINVAL : 0;
}

bool root_exists(struct vmgpu_ctx *ctx, const char *path)
{
	_cleanup_close_ int fd = sysfs_open(ctx, ctx->root_fd, path, O_PATH);

	return fd >= 0;
}

/* Binary attributes (config) are plain files that honour offsets: pread
 * until EOF or MAX. */
ssize_t sysfs_read_bin(int dirfd, const char *name, void *buf, size_t max)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t got = 0;

	if (fd < 0)
		return negative_errno();
	while (got < max) {
		ssize_t n = pread(fd, (char *)buf + got, max - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return got > 0 ? (ssize_t)got : negative_errno();
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int sysfs_readlink(int dirfd, const char *name, char *buf, size_t bufsz)
{
	ssize_t n = readlinkat(dirfd, name, buf, bufsz);

	if (n < 0)
		return negative_errno();
	if ((size_t)n >= bufsz)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int sysfs_link_basename(int dirfd, const char *name, char *buf, size_t bufsz)
{
	char target[512];
	int r = sysfs_readlink(dirfd, name, target, sizeof(target));
	const char *base;

	if (r < 0)
		return r;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base || strlen(base) >= bufsz)
		return -EINVAL;
	strcpy(buf, base);
	return 0;
}

int root_read_text(struct vmgpu_ctx *ctx, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = sysfs_open(ctx, ctx->root_fd, path, O_RDONLY | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return fd;
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nbuf;
			if (ncap > (64u << 20))
				return -EFBIG;
			nbuf = realloc(buf, ncap);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}
