/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every read and write below the host root. Paths are resolved with
 * openat2(RESOLVE_IN_ROOT) from the root's fd, so neither ".." nor an
 * absolute symlink in a snapshot can lead out of it. A sysfs attribute is
 * read with one read() (kernfs regenerates the value on every read) and
 * written with one write() (the store method sees exactly that buffer).
 * vmgpu's own files (var/lib/vmgpu) are replaced atomically and durably.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "core.h"

int root_openat(struct vmgpu_ctx *ctx, int dirfd, const char *path, int flags)
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
	int fd = root_openat(ctx, ctx->root_fd, path, O_RDONLY | O_DIRECTORY);
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

int root_attr_read(int dirfd, const char *name, char *buf, size_t bufsz)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	return read_str_fd(fd, buf, bufsz);
}

int root_read_str(struct vmgpu_ctx *ctx, const char *path, char *buf, size_t bufsz)
{
	_cleanup_close_ int fd = root_openat(ctx, ctx->root_fd, path, O_RDONLY | O_NOCTTY);

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
	_cleanup_close_ int fd = root_openat(ctx, ctx->root_fd, path, O_PATH);

	return fd >= 0;
}

/* Binary attributes (config) are plain files that honour offsets: pread
 * until EOF or MAX. */
ssize_t root_attr_read_bin(int dirfd, const char *name, void *buf, size_t max)
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

int root_readlinkat(int dirfd, const char *name, char *buf, size_t bufsz)
{
	ssize_t n = readlinkat(dirfd, name, buf, bufsz);

	if (n < 0)
		return negative_errno();
	if ((size_t)n >= bufsz)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int root_link_basename(int dirfd, const char *name, char *buf, size_t bufsz)
{
	char target[512];
	int r = root_readlinkat(dirfd, name, target, sizeof(target));
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
	_cleanup_close_ int fd = root_openat(ctx, ctx->root_fd, path, O_RDONLY | O_NOCTTY);
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

int root_write_attr(struct vmgpu_ctx *ctx, const char *path, const char *value)
{
	_cleanup_close_ int fd = root_openat(ctx, ctx->root_fd, path, O_WRONLY | O_NOCTTY);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return fd;
	/* One write: sysfs store methods see exactly this buffer. An empty
	 * override is written as "\n", which the kernel takes as "clear". */
	if (len == 0) {
		value = "\n";
		len = 1;
	}
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EIO;
}

int root_write_file(struct vmgpu_ctx *ctx, const char *path, const char *content)
{
	char dir[256];
	const char *slash = strrchr(path, '/');
	_cleanup_close_ int dfd = -1;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	/* etc/udev/rules.d and etc/modules-load.d exist on any systemd host;
	 * create them in a bare snapshot root. */
	for (char *p = dir; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdirat(ctx->root_fd, dir, 0755);
		*p = '/';
	}
	(void)mkdirat(ctx->root_fd, dir, 0755);
	dfd = root_openat(ctx, ctx->root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	return write_atomic(dfd, slash + 1, content);
}

int root_remove_file(struct vmgpu_ctx *ctx, const char *path)
{
	if (unlinkat(ctx->root_fd, path, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

/* Write NAME in DIRFD so that after a crash it holds either the old or the
 * new content, never a mix: temp file, fsync, rename, fsync the directory. */
int write_atomic(int dirfd, const char *name, const char *content)
{
	char tmp[128];
	size_t len = strlen(content), off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return negative_errno();
	while (off < len) {
		ssize_t n = write(fd, content + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = negative_errno();
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	if (close(fd) < 0 && r == 0)
		r = negative_errno();
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = negative_errno();
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return fsync(dirfd) < 0 ? negative_errno() : 0;
}

int remove_durable(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return fsync(dirfd) < 0 ? negative_errno() : 0;
}

int read_small_file(int dirfd, const char *name, char **ret)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (st.st_size > (1 << 20))
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		free(buf);
		return negative_errno();
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n)) {
		free(buf);
		return -EBADMSG;
	}
	*ret = buf;
	return 0;
}
