/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmgpu verify, inside the library: the parsers of what QEMU's monitor (QMP)
 * and its guest agent (QGA) answer, and the two ways of asking them (unix
 * sockets of a bare QEMU, or libvirt's monitor and agent pass-through). The
 * verdicts in verify.c read the same parsed data whichever way it came.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmgpu.h"

/* ---- QMP query-pci (qmp.c) ---- */

struct qmp_fn {
	char *qdev_id;        /* "" when the device was given no id */
	char *port;           /* qdev id of the bridge whose bus it is on; NULL on a root bus */
	int bus, slot, function;
	uint16_t vendor, device;
	unsigned n_bars;      /* memory BARs (query-pci "regions" of type memory) */
	unsigned n_mapped;    /* ... at an address: placed and decoding enabled */
	int secondary;        /* a bridge: the bus behind it, 0 = not numbered yet; -1 not a bridge */
};

struct qmp_pci {
	struct qmp_fn *fns;
	size_t n;
};

/*
 * REPLY: a QMP reply line. 0 with its "return" (a new reference: put it),
 * -EREMOTEIO for an "error" reply (*ret_desc, malloc'ed, says what QEMU
 * said), -EPROTO for anything else.
 */
struct json_object;
int qmp_reply(const char *reply, struct json_object **ret_return, char **ret_desc);
/* The functions of a query-pci reply, bridges' buses flattened. -EPROTO
 * when it is not one; -EREMOTEIO (and *ret_desc) for a QMP error. */
int qmp_parse_query_pci(const char *reply, struct qmp_pci *ret, char **ret_desc);
void qmp_pci_done(struct qmp_pci *p);

/* ---- guest agent replies (qmp.c) ---- */

/* guest-get-osinfo: "id" ("mswindows", "debian", ...) and "pretty-name". */
int qga_parse_osinfo(const char *reply, char **ret_id, char **ret_pretty);
/* An integer "return" (guest-file-open's handle, guest-sync's id). */
int qga_parse_int(const char *reply, int64_t *ret);
/* guest-file-read: the bytes (base64 "buf-b64" decoded, NUL-terminated). */
int qga_parse_file_read(const char *reply, char **ret_buf, size_t *ret_len, bool *ret_eof);

/* /sys/bus/pci/devices/D/uevent of a Linux guest. */
struct guest_uevent {
	char driver[64];      /* "" when no driver is bound */
	uint16_t vendor, device;
	char slot_name[16];   /* "0000:01:00.0" */
};
int parse_pci_uevent(const char *text, struct guest_uevent *ret);

/* guest-get-devices (Windows guests: the PnP devices with their drivers). */
struct guest_windev {
	char *driver_name, *driver_version;
	uint16_t vendor, device;
};
int qga_parse_devices(const char *reply, struct guest_windev **ret, size_t *ret_n);
void guest_windevs_free(struct guest_windev *d, size_t n);

/* ---- what vmgpu calls its devices in QEMU (qmp.c) ---- */

enum vmgpu_id_kind {
	VMGPU_ID_NONE,
	VMGPU_ID_FUNCTION,   /* vmgpu-DDDD-BB-DD-F, ua-vmgpu-DDDD-BB-DD-F */
	VMGPU_ID_MDEV,       /* vmgpu-mdev-UUID, ua-vmgpu-mdev-UUID */
	VMGPU_ID_PORT,       /* vmgpu-rpN, ua-vmgpu-rp-DDDD-BB-DD */
};
/* What ID names; *ret_key: "0000:01:00.0" for a function, the UUID (lower
 * case) for an mdev. */
enum vmgpu_id_kind vmgpu_id_parse(const char *id, char ret_key[static 40]);

/* ---- the transports ---- */

struct verify_io {
	void *userdata;
	/* Run the QMP command CMD (a JSON object); *ret_reply: the reply line.
	 * On failure *ret_error says why. */
	int (*qmp)(void *userdata, const char *cmd, char **ret_reply, char **ret_error);
	/* The same through the guest agent; NULL when there is none to ask.
	 * -ETIMEDOUT / -ENOTCONN: no agent answers. An error the agent reports
	 * is either a reply ({"error": ...}) or -EREMOTEIO. */
	int (*agent)(void *userdata, const char *cmd, char **ret_reply, char **ret_error);
	/* Why there is no agent when agent is NULL (NULL: none was named). */
	const char *no_agent;
	bool libvirt;         /* ids are libvirt user aliases (ua-vmgpu-...) */
	const char *target;   /* the VM name, or the QMP socket */
	/* vmgpu's devices in the definition the guest runs (libvirt's live
	 * XML): their ids, so that one QEMU lacks is reported too */
	const char *const *defined;
	size_t n_defined;
};

/* The verdicts (verify.c). WANTED: the devices named, or none for all. */
int verify_run(struct vmgpu_ctx *ctx, const struct verify_io *io, const char *const *wanted, size_t n_wanted,
	       struct vmgpu_verify **ret, char **ret_error);

/* Unix sockets of a bare QEMU (qmp-socket.c). */
struct qemu_sockets;
int qemu_sockets_open(const char *qmp_path, const char *agent_path, struct qemu_sockets **ret, char **ret_error);
void qemu_sockets_io(struct qemu_sockets *s, struct verify_io *io);
void qemu_sockets_close(struct qemu_sockets *s);

/* How long the guest agent gets to answer (it may be absent or busy). */
#define VERIFY_AGENT_TIMEOUT_S 5
/* And QEMU's monitor, which answers at once unless QEMU is stuck. */
#define VERIFY_QMP_TIMEOUT_S 10
