/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/core: the ground floor. The context (the host root opened once, the
 * log), every read and write below that root (root-io.c: openat2 with
 * RESOLVE_IN_ROOT, so no path or link leads out of it), and the strict
 * parsers of text vmgpu does not control (parse.c). No PCI policy here;
 * core uses nothing of libvmgpu above it.
 */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"
#include "vmgpu.h"

struct kernel_ops;

#define VMGPU_EXPORT __attribute__((visibility("default")))

/* ---- context and logging ---- */

struct vmgpu_ctx {
	int refcount;
	/* What the kernel does on a write (lib/apply/kernel.c): NULL for the
	 * real one; the unit tests put their simulation here. */
	const struct kernel_ops *kernel;
	void *kernel_data;
	int lock_fd;              /* var/lib/vmgpu/lock held by vmgpu_ctx_lock(), else -1 */
	int root_fd;              /* O_PATH|O_DIRECTORY of the host root */
	char *root;
	vmgpu_log_fn log_fn;
	void *log_data;
	int log_priority;
	/* A cache an upper layer keeps for the context's lifetime (host/names.c:
	 * libpci's name database), freed by its own function: core knows
	 * nothing of it. */
	void *names;
	void (*names_free)(void *names);
	bool names_failed;
};

void vmgpu_log(struct vmgpu_ctx *ctx, int priority, const char *file, int line, const char *fn,
	       const char *format, ...) _printf_(6, 7);

#define vmgpu_log_cond(ctx, prio, ...)                                                   \
	do {                                                                             \
		struct vmgpu_ctx *_c_ = (ctx);                                           \
		if (_c_ && _c_->log_priority >= (prio))                                  \
			vmgpu_log(_c_, prio, __FILE__, __LINE__, __func__, __VA_ARGS__); \
	} while (0)

#define DBG(ctx, ...) vmgpu_log_cond(ctx, LOG_DEBUG, __VA_ARGS__)
#define INFO(ctx, ...) vmgpu_log_cond(ctx, LOG_INFO, __VA_ARGS__)
#define WARN(ctx, ...) vmgpu_log_cond(ctx, LOG_WARNING, __VA_ARGS__)
#define ERR(ctx, ...) vmgpu_log_cond(ctx, LOG_ERR, __VA_ARGS__)

/* ---- I/O below the root (root-io.c) ---- */

/* Open PATH below DIRFD without letting ".." or absolute symlinks leave the
 * host root (openat2 RESOLVE_IN_ROOT when DIRFD is the root). */
_must_check_ int root_openat(struct vmgpu_ctx *ctx, int dirfd, const char *path, int flags);
/* opendir() of a directory below the host root. */
int root_opendir(struct vmgpu_ctx *ctx, const char *path, DIR **ret);
/* Read a text attribute with one read(), NUL-terminated, one trailing
 * newline stripped. -EFBIG when it does not fit BUFSZ-1 bytes. */
int root_attr_read(int dirfd, const char *name, char *buf, size_t bufsz);
/* The same for a path below the host root (proc/cmdline, ...). */
_must_check_ int root_read_str(struct vmgpu_ctx *ctx, const char *path, char *buf, size_t bufsz);
/* Read a whole (binary) file up to MAX bytes; returns the length read. */
ssize_t root_attr_read_bin(int dirfd, const char *name, void *buf, size_t max);
/* Target of symlink NAME, NUL-terminated. */
int root_readlinkat(int dirfd, const char *name, char *buf, size_t bufsz);
/* Basename of the target of symlink NAME. */
int root_link_basename(int dirfd, const char *name, char *buf, size_t bufsz);
/* Read a whole text file below the host root (proc/iomem); *ret is malloc'ed. */
int root_read_text(struct vmgpu_ctx *ctx, const char *path, char **ret, size_t *ret_len);
/* A decimal attribute below the host root ("16", "-1"): 0 or -errno. */
_must_check_ int root_read_int(struct vmgpu_ctx *ctx, const char *path, int *ret);
/* PATH below the host root exists (a dangling link does not). */
bool root_exists(struct vmgpu_ctx *ctx, const char *path);
/* One write() of VALUE to the attribute PATH below the root, as the kernel's
 * store method wants it ("" is written as "\n": clear). */
_must_check_ int root_write_attr(struct vmgpu_ctx *ctx, const char *path, const char *value);
/* Files below the root (udev rules, mdevctl's store): written atomically,
 * directories created as needed; removing an absent file is no error. */
_must_check_ int root_write_file(struct vmgpu_ctx *ctx, const char *path, const char *content);
_must_check_ int root_remove_file(struct vmgpu_ctx *ctx, const char *path);
/* In a directory of vmgpu's own (var/lib/vmgpu): NAME replaced atomically
 * and durably (temporary file, fsync, rename, fsync of the directory),
 * removed durably, read whole (small files only). */
_must_check_ int write_atomic(int dirfd, const char *name, const char *content);
_must_check_ int remove_durable(int dirfd, const char *name);
_must_check_ int read_small_file(int dirfd, const char *name, char **ret);

/* ---- strict parsers of text we do not control (parse.c) ---- */

/* "0x10de" / "4318" / "-1"; whole string (one trailing newline allowed). */
int parse_u64(const char *s, int base, uint64_t *ret);
int parse_int(const char *s, int base, int *ret);

struct pci_address {
	uint32_t domain;
	uint8_t bus, dev, fn;
};
int parse_pci_address(const char *s, struct pci_address *ret);
/* Like parse_pci_address but only the full "DDDD:BB:DD.F" form sysfs uses. */
int parse_sysfs_address(const char *s, struct pci_address *ret);
int pci_address_cmp(const struct pci_address *a, const struct pci_address *b);
/* Two functions of one device (slot): the same but for the function number. */
static inline bool pci_same_slot(const struct pci_address *a, const struct pci_address *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}
#define PCI_ADDRESS_MAX 24 /* "ffffffff:ff:1f.7" + NUL, rounded up */
void format_pci_address(const struct pci_address *a, char buf[static PCI_ADDRESS_MAX]);

/* One line of sysfs "resource": start, end, flags. */
struct resource_line {
	uint64_t start, end, flags;
};
#define RESOURCE_MAX_LINES 17
/* Parse a sysfs resource file. Lines are "0x%016llx 0x%016llx 0x%016llx".
 * Returns the number of lines, or -EINVAL on any malformed line. */
int parse_resource(const char *text, struct resource_line lines[static RESOURCE_MAX_LINES]);

/* Linux IORESOURCE_* bits as the resource file shows them. */
#define IORESOURCE_IO 0x00000100ULL
#define IORESOURCE_MEM 0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL
#define IORESOURCE_MEM_64 0x00100000ULL
