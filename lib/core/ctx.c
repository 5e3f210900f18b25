/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The context: the host root, opened once (O_PATH: vmgpu only resolves below
 * it, so the root itself need not be readable), and where the library's log
 * goes. Every object of libvmgpu holds a reference to it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

_printf_(6, 0) static void log_stderr(void *userdata, int priority, const char *file, int line, const char *fn,
		       const char *format, va_list args)
{
	fprintf(stderr, "libvmgpu: %s: ", fn);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

void vmgpu_log(struct vmgpu_ctx *ctx, int priority, const char *file, int line, const char *fn,
	       const char *format, ...)
{
	va_list args;

	if (!ctx->log_fn)
		return;
	va_start(args, format);
	ctx->log_fn(ctx->log_data, priority, file, line, fn, format, args);
	va_end(args);
}

VMGPU_EXPORT int vmgpu_ctx_new(const char *root, struct vmgpu_ctx **ret_ctx)
{
	struct vmgpu_ctx *ctx;
	int fd;

	assert_return(ret_ctx, -EINVAL);
	if (!root || !*root)
		root = "/";
	/* O_PATH: we only resolve below it; the root itself need not be readable. */
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx || !(ctx->root = strdup(root))) {
		free(ctx);
		close(fd);
		return -ENOMEM;
	}
	ctx->refcount = 1;
	ctx->root_fd = fd;
	ctx->lock_fd = -1;
	ctx->log_fn = log_stderr;
	ctx->log_priority = LOG_ERR;
	*ret_ctx = ctx;
	return 0;
}

VMGPU_EXPORT struct vmgpu_ctx *vmgpu_ctx_ref(struct vmgpu_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

VMGPU_EXPORT struct vmgpu_ctx *vmgpu_ctx_unref(struct vmgpu_ctx *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return NULL;
	if (ctx->names_free)
		ctx->names_free(ctx->names);
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);
	close(ctx->root_fd);
	free(ctx->root);
	free(ctx);
	return NULL;
}

VMGPU_EXPORT void vmgpu_ctx_set_log_fn(struct vmgpu_ctx *ctx, vmgpu_log_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn;
	ctx->log_data = userdata;
}

VMGPU_EXPORT void vmgpu_ctx_set_log_priority(struct vmgpu_ctx *ctx, int priority)
{
	if (!ctx)
		return;
	ctx->log_priority = priority;
}

VMGPU_EXPORT const char *vmgpu_ctx_root(const struct vmgpu_ctx *ctx)
{
	assert_return(ctx, NULL);
	return ctx->root;
}
