/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state directory var/lib/vmgpu: its lock (flock, so concurrent runs
 * wait their turn), the state file "assigned" (what vmgpu assigned, with the
 * drivers to give it back to) and the public view of it, vmgpu_state_*.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "state.h"
int state_lock(struct vmgpu_ctx *ctx, int *ret_dirfd)
{
	int dfd = state_dir_open(ctx, true), fd;

	if (dfd < 0)
		return dfd;
	/* Held already through vmgpu_ctx_lock(): a second flock() on another
	 * open of the file would wait for ourselves. A dup shares the lock;
	 * closing it does not release it. */
	if (ctx->lock_fd >= 0) {
		if ((fd = fcntl(ctx->lock_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			int r = negative_errno();
			close(dfd);
			return r;
		}
		*ret_dirfd = dfd;
		return fd;
	}
	fd = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int r = negative_errno();
		close(dfd);
		return r;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = negative_errno();
			close(fd);
			close(dfd);
			return r;
		}
	}
	*ret_dirfd = dfd;
	return fd; /* closing it releases the lock */
}

/* Record the end state of journal J in the state file. */
int state_apply(int dfd, const struct journal *j, struct jstate *ret)
{
	_cleanup_free_ char *out = NULL;
	struct jstate s;
	int r = state_read(dfd, &s);

	memset(ret, 0, sizeof(*ret));
	if (r < 0)
		return r;
	for (size_t i = 0; i < j->n; i++) {
		const struct jdev *d = &j->devs[i];
		size_t k;
		for (k = 0; k < s.n && strcmp(s.devs[k].address, d->address) != 0; k++)
			;
		if (j->op == JOURNAL_RELEASE) {
			if (k < s.n)
				s.devs[k] = s.devs[--s.n];
			continue;
		}
		if (k < s.n) {
			/* Already recorded: the original drivers stay. assign
			 * --persist makes it persistent; assign without leaves
			 * a persistent one so. */
			s.devs[k].persist |= j->persist;
			continue;
		}
		struct jdev *nd = realloc(s.devs, (s.n + 1) * sizeof(*nd));
		if (!nd) {
			free(s.devs);
			return -ENOMEM;
		}
		s.devs = nd;
		s.devs[s.n] = *d;
		s.devs[s.n].since = (int64_t)time(NULL);
		s.devs[s.n].persist = j->persist;
		s.n++;
	}
	out = state_format(&s);
	r = out ? write_atomic(dfd, STATE_FILE, out) : -ENOMEM;
	if (r < 0) {
		free(s.devs);
		return r;
	}
	*ret = s;
	return 0;
}

struct vmgpu_state {
	struct jstate s;
	bool interrupted;
};

VMGPU_EXPORT int vmgpu_state_read(struct vmgpu_ctx *ctx, struct vmgpu_state **ret)
{
	struct vmgpu_state *st;
	_cleanup_close_ int dfd = -1;
	int r;

	assert_return(ctx, -EINVAL);
	assert_return(ret, -EINVAL);
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	r = state_read_root(ctx, &st->s);
	if (r < 0) {
		free(st);
		return r;
	}
	dfd = state_dir_open(ctx, false);
	if (dfd >= 0)
		st->interrupted = faccessat(dfd, JOURNAL_FILE, F_OK, 0) == 0;
	*ret = st;
	return 0;
}

VMGPU_EXPORT struct vmgpu_state *vmgpu_state_unref(struct vmgpu_state *st)
{
	if (st) {
		free(st->s.devs);
		free(st);
	}
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_state_n(const struct vmgpu_state *st)
{
	assert_return(st, 0);
	return st->s.n;
}

VMGPU_EXPORT int vmgpu_state_get(const struct vmgpu_state *st, size_t i, struct vmgpu_assignment *ret)
{
	const struct jdev *d;

	assert_return(st, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= st->s.n)
		return -ENOENT;
	d = &st->s.devs[i];
	*ret = (struct vmgpu_assignment){
		.address = d->address, .driver = d->driver, .override = d->override, .vendor = d->vendor,
		.device = d->device, .iommu_group = d->group, .since = d->since, .persist = d->persist,
	};
	return 0;
}

VMGPU_EXPORT bool vmgpu_state_interrupted(const struct vmgpu_state *st)
{
	assert_return(st, false);
	return st->interrupted;
}

int state_read_root(struct vmgpu_ctx *ctx, struct jstate *ret)
{
	_cleanup_close_ int dfd = state_dir_open(ctx, false);

	memset(ret, 0, sizeof(*ret));
	if (dfd == -ENOENT)
		return 0; /* never used on this host */
	if (dfd < 0)
		return dfd;
	return state_read(dfd, ret);
}

/* <root>/var/lib/vmgpu, created when CREATE. */
int state_dir_open(struct vmgpu_ctx *ctx, bool create)
{
	int fd = root_openat(ctx, ctx->root_fd, STATE_DIR, O_RDONLY | O_DIRECTORY);

	if (fd >= 0 || fd != -ENOENT || !create)
		return fd;
	const char *parts[] = { "var", "var/lib", STATE_DIR };
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		if (mkdirat(ctx->root_fd, parts[i], 0755) < 0 && errno != EEXIST)
			return negative_errno();
	return root_openat(ctx, ctx->root_fd, STATE_DIR, O_RDONLY | O_DIRECTORY);
}

int state_read(int dirfd, struct jstate *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = read_small_file(dirfd, STATE_FILE, &text);

	memset(ret, 0, sizeof(*ret));
	if (r == -ENOENT)
		return 0; /* nothing assigned yet */
	if (r < 0)
		return r;
	return state_parse(text, ret);
}

VMGPU_EXPORT int vmgpu_ctx_lock(struct vmgpu_ctx *ctx)
{
	int dfd, fd;

	assert_return(ctx, -EINVAL);
	if (ctx->lock_fd >= 0)
		return 0;
	/* vmgpu never ran here: nobody to wait for, and a refused run must
	 * leave no var/lib/vmgpu behind. */
	if ((dfd = state_dir_open(ctx, false)) == -ENOENT)
		return 0;
	if (dfd >= 0)
		close(dfd);
	if ((fd = state_lock(ctx, &dfd)) < 0)
		return fd;
	close(dfd);
	ctx->lock_fd = fd;
	return 0;
}

VMGPU_EXPORT void vmgpu_ctx_unlock(struct vmgpu_ctx *ctx)
{
	if (ctx && ctx->lock_fd >= 0) {
		close(ctx->lock_fd);
		ctx->lock_fd = -1;
	}
}
