/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The interface between libvmgpu and its libvirt module (vmgpu-virt.so).
 *
 * libvirt and libxml2 bring some 50 libraries (GnuTLS, GLib, ICU, Kerberos,
 * libssh, ...) and about 10 MB of resident memory into any process that
 * links them; most vmgpu runs (survey, assign) never touch a VM definition.
 * So that code lives in a module loaded with dlopen() on first use, and the
 * request it gets is plain data: the module knows nothing of libvmgpu.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRT_MODULE_ABI 3

struct virt_fn {
	uint32_t domain;
	uint8_t bus, dev, fn;  /* host address */
	unsigned slot;         /* guest root port index */
	unsigned function;     /* guest function */
	bool multifunction;
	char address[24];      /* "0000:01:00.0" */
	char driver[64];       /* host driver now, "" if none */
};

/* The bits of VMGPU_LAYOUT_* (libvirt.c checks that they are). */
enum virt_flags {
	VIRT_MANAGED = 1 << 0,
	VIRT_NVIDIA_HIDE = 1 << 1,
	VIRT_NO_ROM = 1 << 2,
};

struct virt_req {
	/* PCI functions (a layout), or none; sorted by slot, the slots
	 * numbered from 0 without gaps */
	const struct virt_fn *fns;
	size_t n_fns;
	unsigned flags;
	bool hole64_needed;        /* the default 64-bit hole is too small */
	uint64_t hole64;           /* bytes */
	const char *const *mdevs;  /* mdev UUIDs */
	size_t n_mdevs;
	const char *render_node;   /* virtio-gpu 3D on this node */
	/* libvirt was in the process before the module brought it: the
	 * program uses it itself, and its error handler is the program's */
	bool libvirt_shared;
};

/* A running domain, for vmgpu verify (opaque to libvmgpu). */
struct virt_domain;

struct virt_ops {
	int abi;
	/* DOMAIN_XML (NULL: a q35 skeleton named VM) edited to hold REQ. */
	int (*render)(const struct virt_req *req, const char *domain_xml, const char *vm, char **ret);
	/* Through libvirt: see vmgpu_libvirt_update() in vmgpu.h. */
	int (*update)(const struct virt_req *req, const char *uri, const char *vm, bool detach, bool dry_run,
		      char **ret_xml, char **ret_report);
	/* The running domain VM: -ESRCH when it does not run, -ENOENT when
	 * there is none, -ECONNREFUSED when libvirt cannot be reached. */
	int (*domain_open)(const char *uri, const char *vm, bool libvirt_shared, struct virt_domain **ret,
			   char **ret_error);
	/* A QMP command through libvirt's monitor (libvirt-qemu); the reply
	 * as QEMU gave it. */
	int (*monitor)(struct virt_domain *d, const char *cmd, char **ret_reply, char **ret_error);
	/* A guest agent command (libvirt syncs first): -ENOTCONN when no
	 * agent answers within TIMEOUT_S, -EREMOTEIO when it refused. */
	int (*agent)(struct virt_domain *d, const char *cmd, int timeout_s, char **ret_reply, char **ret_error);
	/* The aliases ("ua-vmgpu-...") of the hostdevs in the live
	 * definition, each ended by a newline. */
	int (*aliases)(struct virt_domain *d, char **ret, char **ret_error);
	void (*domain_close)(struct virt_domain *d);
};

/* The module's one exported symbol. */
const struct virt_ops *vmgpu_virt_module(void);
