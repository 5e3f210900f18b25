/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmgpu verify: does the running guest have the devices vmgpu gave it?
 *
 * QEMU's view first (query-pci): the device is there, at the place vmgpu's
 * layout gives it (slot 0 of a vmgpu root port, its function), and the
 * guest has enumerated it: a BAR QEMU reports at an address was placed by
 * the guest (firmware or OS) and has decoding enabled. Then, when the
 * guest agent answers, the guest's own view, which decides: Linux's
 * /sys/bus/pci/devices/D/uevent (ids and bound driver), Windows' PnP
 * devices (guest-get-devices). The agent is needed for the case QEMU
 * cannot judge: a function at 1..7 of a slot without function 0. Linux
 * (pci_scan_slot) and Windows probe functions 1..7 only when function 0
 * exists, so the guest never sees it, though firmware may still program it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verify.h"
#include "host.h"

struct verify_dev {
	enum vmgpu_id_kind kind;      /* FUNCTION or MDEV */
	char key[40];                 /* host address or UUID */
	char *id;
	bool expected_known;
	unsigned expected_function;
	const struct qmp_fn *q;       /* in v->pci, NULL when QEMU lacks it */
	bool guest_checked, guest_present;
	char guest_address[16];
	char *guest_driver, *guest_driver_version;
	bool seen;
	char *why;
};

struct vmgpu_verify {
	struct qmp_pci pci;
	struct verify_dev *devs;
	size_t n;
	bool agent_answered;
	char *os, *os_name, *agent_note;
};

_printf_(2, 3) static char *strf(char **ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(ret, fmt, ap) < 0)
		*ret = NULL;
	va_end(ap);
	return *ret;
}

/* Append "; MORE" to *S. */
static void append(char **s, const char *more)
{
	char *n = NULL;

	if (!more || !*more)
		return;
	if (!*s) {
		*s = strdup(more);
		return;
	}
	if (strf(&n, "%s; %s", *s, more)) {
		free(*s);
		*s = n;
	}
}

/* ---- which devices ---- */

static struct verify_dev *find_dev(struct vmgpu_verify *v, enum vmgpu_id_kind kind, const char *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->devs[i].kind == kind && strcmp(v->devs[i].key, key) == 0)
			return &v->devs[i];
	return NULL;
}

static int add_dev(struct vmgpu_verify *v, enum vmgpu_id_kind kind, const char *key)
{
	struct verify_dev *n;

	if (find_dev(v, kind, key))
		return 0;
	n = realloc(v->devs, (v->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	v->devs = n;
	n[v->n] = (struct verify_dev){ .kind = kind };
	snprintf(n[v->n].key, sizeof(n[v->n].key), "%s", key);
	v->n++;
	return 0;
}

/* A DEVICE argument: a PCI address (normalized) or an mdev UUID. */
static int wanted_key(const char *s, enum vmgpu_id_kind *ret_kind, char key[static 40])
{
	struct pci_address a;
	char id[64];

	snprintf(id, sizeof(id), "vmgpu-mdev-%.40s", s);
	if (strlen(s) <= 36 && vmgpu_id_parse(id, key) == VMGPU_ID_MDEV) {
		*ret_kind = VMGPU_ID_MDEV;
		return 0;
	}
	if (parse_pci_address(s, &a) < 0)
		return -EINVAL;
	snprintf(key, 40, "%04x:%02x:%02x.%x", a.domain, a.bus, a.dev, a.fn);
	*ret_kind = VMGPU_ID_FUNCTION;
	return 0;
}

static int verify_dev_cmp(const void *a, const void *b)
{
	const struct verify_dev *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind == VMGPU_ID_FUNCTION ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Every vmgpu function and mdev id in IDS. */
static int add_ids(struct vmgpu_verify *v, const char *const *ids, size_t n)
{
	char key[40];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		enum vmgpu_id_kind k = vmgpu_id_parse(ids[i], key);
		if (k == VMGPU_ID_FUNCTION || k == VMGPU_ID_MDEV)
			r = add_dev(v, k, key);
	}
	return r;
}

static int collect(struct vmgpu_verify *v, const struct verify_io *io, const char *const *wanted, size_t n_wanted,
		   char **ret_error)
{
	enum vmgpu_id_kind kind;
	char key[40];
	int r = 0;

	for (size_t i = 0; i < n_wanted; i++) {
		if (wanted_key(wanted[i], &kind, key) < 0) {
			strf(ret_error, "'%s' is neither a PCI address nor an mdev UUID", wanted[i]);
			return -EINVAL;
		}
		if ((r = add_dev(v, kind, key)) < 0)
			return r;
	}
	if (n_wanted)
		return 0;
	if ((r = add_ids(v, io->defined, io->n_defined)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < v->pci.n; i++)
		r = add_ids(v, (const char *const *)&v->pci.fns[i].qdev_id, 1);
	if (v->n)
		qsort(v->devs, v->n, sizeof(*v->devs), verify_dev_cmp);
	return r;
}

/* ---- QEMU's view ---- */

static void match_qemu(struct vmgpu_verify *v, struct verify_dev *d, bool libvirt)
{
	char key[40];

	for (size_t i = 0; i < v->pci.n && !d->q; i++)
		if (vmgpu_id_parse(v->pci.fns[i].qdev_id, key) == d->kind && strcmp(key, d->key) == 0)
			d->q = &v->pci.fns[i];
	if (d->q) {
		d->id = strdup(d->q->qdev_id);
		return;
	}
	/* the id attach gives it: libvirt keeps user aliases as qdev ids */
	if (d->kind == VMGPU_ID_MDEV)
		strf(&d->id, "%svmgpu-mdev-%s", libvirt ? "ua-" : "", d->key);
	else
		strf(&d->id, "%svmgpu-%.4s-%.2s-%.2s-%c", libvirt ? "ua-" : "", d->key, d->key + 5, d->key + 8,
		     d->key[11]);
}

static bool is_vmgpu_port(const char *id)
{
	char key[40];

	return id && vmgpu_id_parse(id, key) == VMGPU_ID_PORT;
}

/* Function 0 of Q's slot is there too. */
static bool has_fn0(const struct vmgpu_verify *v, const struct qmp_fn *q)
{
	for (size_t i = 0; i < v->pci.n; i++)
		if (v->pci.fns[i].bus == q->bus && v->pci.fns[i].slot == q->slot && v->pci.fns[i].function == 0)
			return true;
	return false;
}

/* A vmgpu root port whose bus the guest has not numbered: QEMU lists
 * nothing behind it until the firmware has. */
static const char *unnumbered_port(const struct vmgpu_verify *v)
{
	for (size_t i = 0; i < v->pci.n; i++)
		if (v->pci.fns[i].secondary == 0 && is_vmgpu_port(v->pci.fns[i].qdev_id))
			return v->pci.fns[i].qdev_id;
	return NULL;
}

static void qemu_absent(const struct vmgpu_verify *v, struct verify_dev *d)
{
	const char *port = unnumbered_port(v);

	if (port)
		strf(&d->why, "QEMU lists no %s: the guest has not numbered the bus behind %s yet (firmware not run), "
			      "so nothing there is enumerated", d->id, port);
	else
		strf(&d->why, "QEMU has no device %s", d->id);
}

/* Where QEMU has it, as a phrase: "01:00.1 behind vmgpu-rp0". */
static void qemu_place(const struct verify_dev *d, char *buf, size_t sz)
{
	const struct qmp_fn *q = d->q;

	snprintf(buf, sz, "%02x:%02x.%x %s %s", q->bus, q->slot, q->function, q->port ? "behind" : "on",
		 q->port ? q->port : "the root bus");
}

/* The verdict QEMU alone gives. */
static void qemu_verdict(const struct vmgpu_verify *v, struct verify_dev *d)
{
	const struct qmp_fn *q = d->q;
	char place[96];

	d->seen = false;
	if (!q) {
		qemu_absent(v, d);
		return;
	}
	qemu_place(d, place, sizeof(place));
	if (q->function != 0 && !has_fn0(v, q))
		strf(&d->why, "QEMU has it at fn %d of %s with no function 0: the guest never scans it", q->function,
		     q->port ? q->port : "its slot");
	else if (q->n_bars && !q->n_mapped)
		strf(&d->why, "QEMU has it at %s, but no BAR is placed and enabled: the guest has not enumerated it "
			      "(firmware not run) or nothing enabled it", place);
	else {
		d->seen = true;
		strf(&d->why, "QEMU has it at %s, %s", place,
		     q->n_bars ? "BARs enabled by the guest" : "no BARs, so QEMU cannot tell whether the guest enumerated it");
	}
}

/* What differs from vmgpu's layout: said, but no verdict of its own (a
 * libvirt hot-plug goes to any free port until the next boot). */
static void place_notes(const struct verify_dev *d, char **notes)
{
	const struct qmp_fn *q = d->q;
	char *n = NULL;

	if (!q || d->kind != VMGPU_ID_FUNCTION)
		return;
	if (!is_vmgpu_port(q->port)) {
		append(notes, "not behind a vmgpu root port (hot-plugged? it gets its own port at the next boot)");
	} else if (q->slot != 0) {
		append(notes, strf(&n, "at slot %d of its port, not 0", q->slot));
		free(n);
		n = NULL;
	}
	if (d->expected_known && (unsigned)q->function != d->expected_function) {
		append(notes, strf(&n, "vmgpu's layout puts it at fn %u, QEMU at fn %d", d->expected_function,
				   q->function));
		free(n);
	}
}

/* ---- where vmgpu's layout puts the host devices ---- */

static void expect_layout(struct vmgpu_verify *v, struct vmgpu_host *host)
{
	_cleanup_free_ struct vmgpu_dev **found = calloc(v->n + 1, sizeof(*found));
	struct vmgpu_vm_layout *l = NULL;
	size_t n = 0;

	if (!found)
		return;
	for (size_t i = 0; i < v->n; i++)
		if (v->devs[i].kind == VMGPU_ID_FUNCTION && vmgpu_host_lookup(host, v->devs[i].key, &found[n]) == 0)
			n++;
	if (n == 0 || vmgpu_vm_layout_new(host, found, n, 0, &l) < 0)
		return;
	for (size_t i = 0; i < vmgpu_vm_layout_n_functions(l); i++) {
		struct vmgpu_vm_function f;
		struct verify_dev *d;
		vmgpu_vm_layout_function(l, i, &f);
		if ((d = find_dev(v, VMGPU_ID_FUNCTION, f.dev->address))) {
			d->expected_known = true;
			d->expected_function = f.function;
		}
	}
	vmgpu_vm_layout_unref(l);
}

static void expect(struct vmgpu_ctx *ctx, struct vmgpu_verify *v)
{
	struct vmgpu_host *host = NULL;
	int r;

	if (!ctx)
		return;
	if ((r = vmgpu_host_scan(ctx, &host)) < 0) {
		DBG(ctx, "verify: host not read (%s): no expected places", strerror(-r));
		return;
	}
	expect_layout(v, host);
	vmgpu_host_unref(host);
}

/* ---- the guest's view ---- */

static int agent(const struct verify_io *io, char **ret_reply, const char *fmt, ...) _printf_(3, 4);
static int agent(const struct verify_io *io, char **ret_reply, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL, *err = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return io->agent(io->userdata, cmd, ret_reply, &err);
}

/* The whole of a small guest file (sysfs), or -ENOENT when the guest
 * cannot open it. */
static int guest_read(const struct verify_io *io, const char *path, char **ret)
{
	_cleanup_free_ char *reply = NULL, *data = NULL;
	int64_t handle;
	size_t len;
	bool eof;
	int r;

	r = agent(io, &reply, "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"%s\",\"mode\":\"r\"}}", path);
	if (r == 0)
		r = qga_parse_int(reply, &handle);
	if (r < 0)
		return r == -EREMOTEIO ? -ENOENT : r;
	free(reply);
	reply = NULL;
	/* sysfs uevent is a page at most: one read */
	r = agent(io, &reply, "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":%" PRId64 ",\"count\":4096}}",
		  handle);
	if (r == 0)
		r = qga_parse_file_read(reply, &data, &len, &eof);
	free(reply);
	reply = NULL;
	(void)agent(io, &reply, "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":%" PRId64 "}}", handle);
	if (r == 0)
		*ret = TAKE_PTR(data);
	return r;
}

static void linux_guest(const struct vmgpu_verify *v, const struct verify_io *io, struct verify_dev *d)
{
	const struct qmp_fn *q = d->q;
	_cleanup_free_ char *text = NULL;
	struct guest_uevent u;
	char path[64];
	int r;

	/* q35 guests have one PCI domain; the bus is the number the guest
	 * gave the bridge above (query-pci reports the programmed one). */
	snprintf(d->guest_address, sizeof(d->guest_address), "0000:%02x:%02x.%x", q->bus, q->slot, q->function);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uevent", d->guest_address);
	r = guest_read(io, path, &text);
	if (r == 0 && (r = parse_pci_uevent(text, &u)) < 0)
		r = -EPROTO;
	if (r < 0 && r != -ENOENT) {
		qemu_verdict(v, d);
		append(&d->why, "the guest agent could not read the guest's PCI devices");
		return;
	}
	d->guest_checked = true;
	d->guest_present = r == 0 && u.vendor == q->vendor && u.device == q->device;
	d->seen = d->guest_present;
	if (r == -ENOENT && q->function != 0 && !has_fn0(v, q))
		strf(&d->why, "the guest has no %s: QEMU has it at fn %d of %s with no function 0, which the guest "
			      "never scans", d->guest_address, q->function, q->port ? q->port : "its slot");
	else if (r == -ENOENT)
		strf(&d->why, "the guest has no PCI device %s, where QEMU has it", d->guest_address);
	else if (!d->guest_present)
		strf(&d->why, "the guest's %s is %04x:%04x, not QEMU's %04x:%04x", d->guest_address, u.vendor, u.device,
		     q->vendor, q->device);
	else {
		d->guest_driver = *u.driver ? strdup(u.driver) : NULL;
		strf(&d->why, "guest %s %04x:%04x %s%s", d->guest_address, u.vendor, u.device,
		     *u.driver ? "driver " : "no driver bound", u.driver);
	}
}

/* Windows: PnP devices have no bus address in guest-get-devices; a device
 * is matched by its ids, each PnP entry claimed once. */
static void windows_guest(struct verify_dev *d, struct guest_windev *devs, size_t n, bool *claimed)
{
	const struct qmp_fn *q = d->q;

	d->guest_checked = true;
	d->seen = false;
	for (size_t i = 0; i < n; i++) {
		if (claimed[i] || devs[i].vendor != q->vendor || devs[i].device != q->device)
			continue;
		claimed[i] = true;
		d->guest_present = d->seen = true;
		d->guest_driver = devs[i].driver_name ? strdup(devs[i].driver_name) : NULL;
		d->guest_driver_version = devs[i].driver_version ? strdup(devs[i].driver_version) : NULL;
		strf(&d->why, "Windows has PCI\\VEN_%04X&DEV_%04X, driver %s%s%s", q->vendor, q->device,
		     d->guest_driver ? d->guest_driver : "none", d->guest_driver_version ? " " : "",
		     d->guest_driver_version ? d->guest_driver_version : "");
		return;
	}
	strf(&d->why, "Windows lists no PnP device PCI\\VEN_%04X&DEV_%04X", q->vendor, q->device);
}

static void windows_guests(struct vmgpu_verify *v, const struct verify_io *io)
{
	_cleanup_free_ char *reply = NULL;
	_cleanup_free_ bool *claimed = NULL;
	struct guest_windev *devs = NULL;
	size_t n = 0;
	int r = agent(io, &reply, "{\"execute\":\"guest-get-devices\"}");

	if (r == 0)
		r = qga_parse_devices(reply, &devs, &n);
	if (r == 0 && !(claimed = calloc(n + 1, sizeof(*claimed))))
		r = -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		struct verify_dev *d = &v->devs[i];
		if (r == 0 && d->q) {
			free(d->why);
			d->why = NULL;
			windows_guest(d, devs, n, claimed);
		} else if (r < 0 && d->q) {
			append(&d->why, "the guest agent does not list Windows' devices (guest-get-devices)");
		}
	}
	guest_windevs_free(devs, n);
}

/* A Linux guest with PCI: every such kernel has drivers_autoprobe. */
static bool has_sysfs_pci(const struct verify_io *io)
{
	_cleanup_free_ char *text = NULL;

	return guest_read(io, "/sys/bus/pci/drivers_autoprobe", &text) == 0;
}

static void ask_guest(struct vmgpu_verify *v, const struct verify_io *io)
{
	_cleanup_free_ char *reply = NULL, *err = NULL;
	int r;

	if (!io->agent) {
		v->agent_note = io->no_agent ? strdup(io->no_agent) : NULL;
		return;
	}
	r = io->agent(io->userdata, "{\"execute\":\"guest-get-osinfo\"}", &reply, &err);
	if (r == 0 && (r = qga_parse_osinfo(reply, &v->os, &v->os_name)) < 0)
		err = strdup("the guest agent's guest-get-osinfo answer is not one");
	if (r < 0) {
		v->agent_note = err ? TAKE_PTR(err) : strdup("no guest agent answered");
		return;
	}
	v->agent_answered = true;
	if (v->os && strcmp(v->os, "mswindows") == 0) {
		windows_guests(v, io);
		return;
	}
	if (!has_sysfs_pci(io)) {
		for (size_t i = 0; i < v->n; i++)
			if (v->devs[i].q)
				append(&v->devs[i].why, "the guest agent's system has no /sys/bus/pci to read");
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->devs[i].q) {
			free(v->devs[i].why);
			v->devs[i].why = NULL;
			linux_guest(v, io, &v->devs[i]);
		}
}

/* ---- the run ---- */

static int query_pci(struct vmgpu_verify *v, const struct verify_io *io, char **ret_error)
{
	_cleanup_free_ char *reply = NULL, *desc = NULL;
	int r = io->qmp(io->userdata, "{\"execute\":\"query-pci\"}", &reply, ret_error);

	if (r < 0)
		return r;
	r = qmp_parse_query_pci(reply, &v->pci, &desc);
	if (r == -EREMOTEIO)
		strf(ret_error, "QEMU refused query-pci: %s", desc ? desc : "no reason given");
	else if (r < 0)
		strf(ret_error, "QEMU's answer to query-pci is not one (%s)", strerror(-r));
	return r;
}

int verify_run(struct vmgpu_ctx *ctx, const struct verify_io *io, const char *const *wanted, size_t n_wanted,
	       struct vmgpu_verify **ret, char **ret_error)
{
	struct vmgpu_verify *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	if ((r = query_pci(v, io, ret_error)) < 0 || (r = collect(v, io, wanted, n_wanted, ret_error)) < 0) {
		vmgpu_verify_unref(v);
		return r;
	}
	expect(ctx, v);
	for (size_t i = 0; i < v->n; i++) {
		match_qemu(v, &v->devs[i], io->libvirt);
		qemu_verdict(v, &v->devs[i]);
	}
	ask_guest(v, io);
	for (size_t i = 0; i < v->n && !v->agent_answered; i++)
		if (v->devs[i].q)
			append(&v->devs[i].why, v->agent_note ? v->agent_note : "no guest agent to ask");
	for (size_t i = 0; i < v->n; i++) {
		char *notes = NULL;
		place_notes(&v->devs[i], &notes);
		append(&v->devs[i].why, notes);
		free(notes);
	}
	*ret = v;
	return 0;
}

/* ---- public ---- */

VMGPU_EXPORT int vmgpu_verify_qemu(struct vmgpu_ctx *ctx, const char *qmp_socket, const char *agent_socket,
				   const char *const *devices, size_t n, struct vmgpu_verify **ret, char **ret_report)
{
	struct qemu_sockets *s;
	struct verify_io io = { .target = qmp_socket };
	int r;

	if (ret_report)
		*ret_report = NULL;
	assert_return(qmp_socket, -EINVAL);
	assert_return(!n || devices, -EINVAL);
	assert_return(ret, -EINVAL);
	if ((r = qemu_sockets_open(qmp_socket, agent_socket, &s, ret_report)) < 0)
		return r;
	qemu_sockets_io(s, &io);
	r = verify_run(ctx, &io, devices, n, ret, ret_report);
	qemu_sockets_close(s);
	return r;
}

VMGPU_EXPORT struct vmgpu_verify *vmgpu_verify_unref(struct vmgpu_verify *v)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < v->n; i++) {
		free(v->devs[i].id);
		free(v->devs[i].guest_driver);
		free(v->devs[i].guest_driver_version);
		free(v->devs[i].why);
	}
	free(v->devs);
	qmp_pci_done(&v->pci);
	free(v->os);
	free(v->os_name);
	free(v->agent_note);
	free(v);
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_verify_n_devices(const struct vmgpu_verify *v)
{
	assert_return(v, 0);
	return v->n;
}

VMGPU_EXPORT int vmgpu_verify_device(const struct vmgpu_verify *v, size_t i, struct vmgpu_verify_device *ret)
{
	const struct verify_dev *d;
	const struct qmp_fn *q;

	assert_return(v, -EINVAL);
	assert_return(ret, -EINVAL);
	if (i >= v->n)
		return -ENOENT;
	d = &v->devs[i];
	q = d->q;
	*ret = (struct vmgpu_verify_device){
		.device = d->kind == VMGPU_ID_FUNCTION ? d->key : NULL,
		.mdev = d->kind == VMGPU_ID_MDEV ? d->key : NULL,
		.id = d->id,
		.expected_known = d->expected_known,
		.expected_function = d->expected_function,
		.present = q != NULL,
		.port = q ? q->port : NULL,
		.bus = q ? q->bus : -1, .slot = q ? q->slot : -1, .function = q ? q->function : -1,
		.vendor = q ? q->vendor : 0, .device_id = q ? q->device : 0,
		.bars_programmed = !q || !q->n_bars ? VMGPU_UNKNOWN : q->n_mapped ? VMGPU_YES : VMGPU_NO,
		.guest_checked = d->guest_checked,
		.guest_present = d->guest_present,
		.guest_address = d->guest_present && *d->guest_address ? d->guest_address : NULL,
		.guest_driver = d->guest_driver,
		.guest_driver_version = d->guest_driver_version,
		.seen = d->seen,
		.why = d->why ? d->why : "",
	};
	return 0;
}

VMGPU_EXPORT bool vmgpu_verify_all_seen(const struct vmgpu_verify *v)
{
	assert_return(v, false);
	for (size_t i = 0; i < v->n; i++)
		if (!v->devs[i].seen)
			return false;
	return v->n > 0;
}

VMGPU_EXPORT bool vmgpu_verify_agent_answered(const struct vmgpu_verify *v)
{
	assert_return(v, false);
	return v->agent_answered;
}

VMGPU_EXPORT const char *vmgpu_verify_agent_os(const struct vmgpu_verify *v)
{
	assert_return(v, NULL);
	return v->os;
}

VMGPU_EXPORT const char *vmgpu_verify_agent_os_name(const struct vmgpu_verify *v)
{
	assert_return(v, NULL);
	return v->os_name;
}

VMGPU_EXPORT const char *vmgpu_verify_agent_note(const struct vmgpu_verify *v)
{
	assert_return(v, NULL);
	return v->agent_note;
}
