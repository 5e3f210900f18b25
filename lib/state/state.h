/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files under var/lib/vmgpu and etc/ that vmgpu owns (state.c,
 * persist.c), and the partition objects (object.c). */
#pragma once

#include "journal.h"

/* ---- state.c ---- */

#define STATE_DIR "var/lib/vmgpu"

/* var/lib/vmgpu below the root, made when CREATE: a directory fd, or -errno
 * (-ENOENT when it does not exist and !CREATE). */
_must_check_ int state_dir_open(struct vmgpu_ctx *ctx, bool create);
/* flock(LOCK_EX) of var/lib/vmgpu/lock, waited for: the lock's fd (closing
 * it releases the lock), *RET_DIRFD the directory. */
_must_check_ int state_lock(struct vmgpu_ctx *ctx, int *ret_dirfd);
/* The state file in DIRFD (var/lib/vmgpu); none is the empty state. */
_must_check_ int state_read(int dirfd, struct jstate *ret);
/* The same, found below the context's root. */
_must_check_ int state_read_root(struct vmgpu_ctx *ctx, struct jstate *ret);
/* Record the end state of journal J in the state file; *RET is the state
 * written (free its devs). */
_must_check_ int state_apply(int dfd, const struct journal *j, struct jstate *ret);

/* ---- persist.c: --persist, one udev rule per function, vfio-pci at boot ---- */

#define PERSIST_RULES_DIR "etc/udev/rules.d"
#define PERSIST_RULE_PREFIX "61-vmgpu-"
#define PERSIST_MODULES_FILE "etc/modules-load.d/vmgpu-vfio.conf"
#define PERSIST_MODULES_TEXT "# Written by vmgpu assign --persist.\nvfio-pci\n"
char *persist_udev_rule(const char *address, unsigned vendor, unsigned device);
/* Where the rule of the function at ADDRESS lives (below the root). */
void persist_rule_path(char *buf, size_t sz, const char *address);
/* Make the rules and the modules-load file match the persistent
 * assignments of state S: after apply, rollback and recovery alike. */
_must_check_ int persist_sync(struct vmgpu_ctx *ctx, const struct jstate *s);
/* The same for the state file in DFD (var/lib/vmgpu) as it is. */
_must_check_ int persist_sync_dir(struct vmgpu_ctx *ctx, int dfd);

/* ---- object.c: the partition objects of a plan ---- */

struct object_kind {
	const char *name;  /* the journal's word: "numvfs" */
	const char *path;  /* printf format of its place below the root, %s the key */
	const char *attr;  /* the attribute's name, NULL for an mdev */
	bool zero_first;   /* the kernel takes a new non-zero value only from 0 */
};
const struct object_kind *object_kind(enum jobj_kind kind);
/* The kind whose journal word is WORD (LEN bytes): 0, or -EINVAL. */
int object_kind_parse(const char *word, size_t len, enum jobj_kind *ret);

/* Where object O lives below the root (its sysfs attribute, or the mdev's
 * directory). */
void object_path(const struct jobj *o, char *buf, size_t sz);
/* Its value on the host now (an mdev: 1 when it exists). */
_must_check_ int object_current(struct vmgpu_ctx *ctx, const struct jobj *o, long *ret);
/* The same for the object of KIND at KEY (a PCI address or an mdev UUID). */
int object_read(struct vmgpu_ctx *ctx, enum jobj_kind kind, const char *key, long *ret);
/* echo UUID > the type's create; echo 1 > the instance's remove */
void object_mdev_create_path(const char *parent, const char *type, char *buf, size_t sz);
void object_mdev_remove_path(const char *uuid, char *buf, size_t sz);
/* mdevctl's store: etc/mdevctl.d/PARENT/UUID, in the format `mdevctl define`
 * writes. */
void object_mdevctl_path(const struct jobj *o, char *buf, size_t sz);
void object_mdevctl_json(const struct jobj *o, char *buf, size_t sz);
