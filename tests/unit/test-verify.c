/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmgpu verify against a fake QEMU monitor and a fake guest agent on unix
 * sockets, answering with replies captured from QEMU 7.2 and qemu-ga 7.2
 * (tests/unit/data/README says how). The guest agent is a small model: a
 * table of guest files, an OS, a PnP list; or silent, as when no agent runs.
 */
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "testlib.h"
#include "verify.h"
#include "host.h"

#define UUID "6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f"

static char *slurp(const char *name)
{
	char path[512], *buf = calloc(1, 1 << 20);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	f = fopen(path, "rb");
	if (!f || !buf) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

/* ---- the fakes ---- */

struct gfile {
	const char *path, *content;
};

struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t thread;
	bool agent;
	/* QMP */
	char *query_pci;
	/* agent */
	bool silent;
	char *osinfo, *devices;
	const struct gfile *files;
	size_t n_files;
};

static void put(int fd, const char *fmt, ...) _printf_(2, 3);
static void put(int fd, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		(void)!write(fd, s, strlen(s));
	va_end(ap);
	free(s);
}

/* A line from FD, 0xFF bytes dropped (as qemu-ga drops them). */
static char *get_line(int fd)
{
	size_t n = 0;
	char c, *buf = malloc(65536);

	while (read(fd, &c, 1) == 1) {
		if (c == '\n') {
			buf[n] = '\0';
			return buf;
		}
		if ((unsigned char)c != 0xff && n < 65535)
			buf[n++] = c;
	}
	free(buf);
	return NULL;
}

static void qmp_answer(struct fake *f, int fd, const char *cmd)
{
	if (strcmp(cmd, "qmp_capabilities") == 0) {
		put(fd, "{\"return\": {}}\n");
	} else if (strcmp(cmd, "query-pci") == 0) {
		char *event = slurp("qmp-event.json");
		put(fd, "%s%s", event, f->query_pci); /* an event may come first */
		free(event);
	} else {
		put(fd, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command %s has not been found\"}}\n", cmd);
	}
}

static char *b64(const char *s)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc(n / 3 * 4 + 8);

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)s[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int64_t arg_int(json_object *args, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(args, key, &v) ? json_object_get_int64(v) : -1;
}

static void file_open(struct fake *f, int fd, json_object *args)
{
	json_object *p;
	const char *path = json_object_object_get_ex(args, "path", &p) ? json_object_get_string(p) : "";

	for (size_t i = 0; i < f->n_files; i++)
		if (strcmp(f->files[i].path, path) == 0) {
			put(fd, "{\"return\": %zu}\n", 1000 + i);
			return;
		}
	put(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"failed to open file '%s' (mode: 'r'): No such "
		"file or directory\"}}\n", path);
}

static void file_read(struct fake *f, int fd, json_object *args)
{
	int64_t h = arg_int(args, "handle") - 1000;
	char *data;

	if (h < 0 || (size_t)h >= f->n_files) {
		put(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"handle '%lld' has not been found\"}}\n",
		    (long long)(h + 1000));
		return;
	}
	data = b64(f->files[h].content);
	put(fd, "{\"return\": {\"count\": %zu, \"buf-b64\": \"%s\", \"eof\": true}}\n", strlen(f->files[h].content), data);
	free(data);
}

static void agent_answer(struct fake *f, int fd, const char *cmd, json_object *args)
{
	if (strcmp(cmd, "guest-sync-delimited") == 0)
		put(fd, "\xff{\"return\": %lld}\n", (long long)arg_int(args, "id"));
	else if (strcmp(cmd, "guest-get-osinfo") == 0)
		put(fd, "%s", f->osinfo);
	else if (strcmp(cmd, "guest-file-open") == 0)
		file_open(f, fd, args);
	else if (strcmp(cmd, "guest-file-read") == 0)
		file_read(f, fd, args);
	else if (strcmp(cmd, "guest-file-close") == 0)
		put(fd, "{\"return\": {}}\n");
	else if (strcmp(cmd, "guest-get-devices") == 0)
		put(fd, "%s", f->devices);
	else
		put(fd, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command %s has not been found\"}}\n", cmd);
}

static void serve(struct fake *f, int fd)
{
	char *line;

	while ((line = get_line(fd))) {
		json_object *o = json_tokener_parse(line), *ex = NULL, *args = NULL;
		if (o && json_object_object_get_ex(o, "execute", &ex) && !f->silent) {
			json_object_object_get_ex(o, "arguments", &args);
			if (f->agent)
				agent_answer(f, fd, json_object_get_string(ex), args);
			else
				qmp_answer(f, fd, json_object_get_string(ex));
		}
		json_object_put(o);
		free(line);
	}
}

static void *fake_thread(void *userdata)
{
	struct fake *f = userdata;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (!f->agent) {
		char *greeting = slurp("qmp-greeting.json");
		put(fd, "%s", greeting);
		free(greeting);
	}
	serve(f, fd);
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, bool agent)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	f->agent = agent;
	strcpy(f->dir, "/tmp/vmgpu-verify-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->lfd, 1) < 0)
		abort();
	pthread_create(&f->thread, NULL, fake_thread, f);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR); /* wakes an accept() nobody came to */
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	free(f->query_pci);
	free(f->osinfo);
	free(f->devices);
}

/* ---- running verify ---- */

struct run {
	struct fake qmp, agent;
	struct vmgpu_verify *v;
	char *err;
	int r;
};

static void run_verify(struct run *t, struct vmgpu_ctx *ctx, const char *query_pci, bool agent,
		       const char *const *devs, size_t n)
{
	t->qmp.query_pci = slurp(query_pci);
	fake_start(&t->qmp, false);
	if (agent)
		fake_start(&t->agent, true);
	t->r = vmgpu_verify_qemu(ctx, t->qmp.path, agent ? t->agent.path : NULL, devs, n, &t->v, &t->err);
	fake_stop(&t->qmp);
	if (agent)
		fake_stop(&t->agent);
}

static void run_done(struct run *t)
{
	vmgpu_verify_unref(t->v);
	free(t->err);
}

static bool get(struct run *t, const char *key, struct vmgpu_verify_device *d)
{
	for (size_t i = 0; t->v && i < vmgpu_verify_n_devices(t->v); i++) {
		vmgpu_verify_device(t->v, i, d);
		if ((d->device && strcmp(d->device, key) == 0) || (d->mdev && strcmp(d->mdev, key) == 0))
			return true;
	}
	fprintf(stderr, "  no device %s in the result\n", key);
	test_checks_failed++;
	memset(d, 0, sizeof(*d));
	d->why = "";
	return false;
}

/* A Linux guest's uevent for a function, in the kernel's format
 * (uevent-virtio.txt is a real one); DRIVER NULL: none bound. */
static char *uevent(const char *slot, const char *driver)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s%sPCI_CLASS=FF00\nPCI_ID=1234:11E8\nPCI_SUBSYS_ID=1AF4:1100\nPCI_SLOT_NAME=%s\n"
			 "MODALIAS=pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00\n",
		     driver ? "DRIVER=" : "", driver ? driver : "", driver ? "\n" : "", slot) < 0)
		abort();
	return s;
}

/* ---- cases ---- */

/* GPU + audio behind vmgpu-rp0 and an mdev, after the firmware ran; the
 * host (fixture gpu-audio) has the two functions: their expected places
 * are what vmgpu's layout says. */
static void t_all_seen(void)
{
	struct fx *fx = fx_new();
	struct vmgpu_ctx *ctx = NULL;
	struct vmgpu_host *host = NULL;
	struct vmgpu_vm_layout *l = NULL;
	struct vmgpu_dev *hd[2];
	struct run t = { 0 };

	fx_scenario_find("gpu-audio")->build(fx);
	fx_finish(fx);
	CHECK_EQ_INT(vmgpu_ctx_new(fx_root(fx), &ctx), 0);
	run_verify(&t, ctx, "qmp-all.json", false, NULL, 0);
	CHECK_EQ_INT(t.r, 0);
	CHECK_EQ_INT(vmgpu_verify_n_devices(t.v), 3);
	CHECK(vmgpu_verify_all_seen(t.v));
	CHECK(!vmgpu_verify_agent_answered(t.v));
	CHECK_EQ_INT(vmgpu_host_scan(ctx, &host), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.0", &hd[0]), 0);
	CHECK_EQ_INT(vmgpu_host_lookup(host, "01:00.1", &hd[1]), 0);
	CHECK_EQ_INT(vmgpu_vm_layout_new(host, hd, 2, 0, &l), 0);
	for (size_t i = 0; l && i < vmgpu_vm_layout_n_functions(l); i++) {
		struct vmgpu_vm_function f;
		struct vmgpu_verify_device d;
		vmgpu_vm_layout_function(l, i, &f);
		if (!get(&t, f.dev->address, &d))
			continue;
		CHECK(d.seen);
		CHECK(d.present);
		CHECK_EQ_STR(d.port, "vmgpu-rp0");
		CHECK_EQ_INT(d.bus, 1); /* the number SeaBIOS gave the port's bus */
		CHECK_EQ_INT(d.slot, 0);
		CHECK_EQ_INT(d.vendor, 0x1234);
		CHECK_EQ_INT(d.bars_programmed, VMGPU_YES);
		CHECK(d.expected_known);
		CHECK_EQ_INT(d.expected_function, f.function);
		/* the layout's place and QEMU's agree, or the line says so */
		CHECK_EQ_INT(strstr(d.why, "layout puts it") != NULL, (unsigned)d.function != f.function);
		CHECK(strstr(d.why, "no guest agent"));
		CHECK(!d.guest_checked);
	}
	struct vmgpu_verify_device m;
	if (get(&t, UUID, &m)) {
		CHECK(m.seen);
		CHECK(!m.device);
		CHECK_EQ_STR(m.id, "vmgpu-mdev-" UUID);
		CHECK(!m.port);
		CHECK_EQ_INT(m.function, 0);
		CHECK(!m.expected_known);
	}
	vmgpu_vm_layout_unref(l);
	vmgpu_host_unref(host);
	run_done(&t);
	vmgpu_ctx_unref(ctx);
	fx_free(fx);
}

/* Named devices are exactly what is expected: one QEMU lacks is not seen. */
static void t_absent(void)
{
	static const char *const devs[] = { "01:00.0", "0000:05:00.0" };
	struct vmgpu_verify_device d;
	struct run t = { 0 };

	run_verify(&t, NULL, "qmp-all.json", false, devs, 2);
	CHECK_EQ_INT(t.r, 0);
	CHECK_EQ_INT(vmgpu_verify_n_devices(t.v), 2);
	CHECK(!vmgpu_verify_all_seen(t.v));
	if (get(&t, "0000:01:00.0", &d))
		CHECK(d.seen);
	if (get(&t, "0000:05:00.0", &d)) {
		CHECK(!d.seen);
		CHECK(!d.present);
		CHECK_EQ_INT(d.bus, -1);
		CHECK_EQ_STR(d.id, "vmgpu-0000-05-00-0");
		CHECK(strstr(d.why, "QEMU has no device vmgpu-0000-05-00-0"));
	}
	run_done(&t);
}

/* Before the firmware ran: the port's bus has no number, so QEMU lists
 * nothing behind it, and the mdev's BAR is not placed. */
static void t_paused(void)
{
	static const char *const devs[] = { "0000:01:00.0", UUID };
	struct vmgpu_verify_device d;
	struct run t = { 0 };

	run_verify(&t, NULL, "qmp-paused.json", false, devs, 2);
	CHECK_EQ_INT(t.r, 0);
	if (get(&t, "0000:01:00.0", &d)) {
		CHECK(!d.seen);
		CHECK(!d.present);
		CHECK(strstr(d.why, "not numbered the bus behind vmgpu-rp0"));
	}
	if (get(&t, UUID, &d)) {
		CHECK(!d.seen);
		CHECK(d.present);
		CHECK_EQ_INT(d.bars_programmed, VMGPU_NO);
	}
	run_done(&t);
}

static const struct gfile linux_files[] = {
	{ "/sys/bus/pci/drivers_autoprobe", "1\n" },
	{ "/sys/bus/pci/devices/0000:01:00.0/uevent", NULL }, /* filled in */
	{ "/sys/bus/pci/devices/0000:00:02.0/uevent", NULL },
};

static void linux_agent(struct fake *a, struct gfile *files, size_t n)
{
	a->osinfo = slurp("qga-osinfo.json");
	a->devices = slurp("qga-devices-linux.json");
	a->files = files;
	a->n_files = n;
}

/* A function alone at fn 1 of its port: QEMU has it, Linux never scans it;
 * without an agent QEMU's view already says so, with one the guest does. */
static void t_fn1_alone(void)
{
	struct gfile files[2] = { linux_files[0], linux_files[1] };
	struct vmgpu_verify_device d;
	struct run t = { 0 }, u = { 0 };

	run_verify(&t, NULL, "qmp-fn1-alone.json", false, NULL, 0);
	CHECK_EQ_INT(t.r, 0);
	if (get(&t, "0000:02:00.1", &d)) {
		CHECK(!d.seen);
		CHECK(d.present);
		CHECK_EQ_INT(d.function, 1);
		CHECK_EQ_STR(d.port, "vmgpu-rp1");
		CHECK(strstr(d.why, "no function 0"));
	}
	files[1].content = uevent("0000:01:00.0", "uio_pci_generic");
	linux_agent(&u.agent, files, 2);
	run_verify(&u, NULL, "qmp-fn1-alone.json", true, NULL, 0);
	CHECK_EQ_INT(u.r, 0);
	CHECK(vmgpu_verify_agent_answered(u.v));
	CHECK_EQ_STR(vmgpu_verify_agent_os(u.v), "debian");
	CHECK(!vmgpu_verify_all_seen(u.v));
	if (get(&u, "0000:01:00.0", &d)) {
		CHECK(d.seen);
		CHECK(d.guest_checked && d.guest_present);
		CHECK_EQ_STR(d.guest_address, "0000:01:00.0");
		CHECK_EQ_STR(d.guest_driver, "uio_pci_generic");
	}
	if (get(&u, "0000:02:00.1", &d)) {
		CHECK(!d.seen);
		CHECK(d.guest_checked && !d.guest_present);
		CHECK(!d.guest_address);
		CHECK(strstr(d.why, "the guest has no 0000:02:00.1"));
	}
	free((char *)files[1].content);
	run_done(&t);
	run_done(&u);
}

/* The agent decides: QEMU shows 01:00.1 enumerated, the guest lacks it. */
static void t_agent_decides(void)
{
	struct gfile files[3] = { linux_files[0], linux_files[1], linux_files[2] };
	struct vmgpu_verify_device d;
	struct run t = { 0 };

	files[1].content = uevent("0000:01:00.0", NULL);
	files[2].content = uevent("0000:00:02.0", "vfio-pci");
	linux_agent(&t.agent, files, 3);
	run_verify(&t, NULL, "qmp-all.json", true, NULL, 0);
	CHECK_EQ_INT(t.r, 0);
	if (get(&t, "0000:01:00.0", &d)) {
		CHECK(d.seen);
		CHECK(!d.guest_driver);
		CHECK(strstr(d.why, "no driver bound"));
	}
	if (get(&t, "0000:01:00.1", &d)) {
		CHECK_EQ_INT(d.bars_programmed, VMGPU_YES);
		CHECK(!d.seen);
		CHECK(d.guest_checked && !d.guest_present);
	}
	if (get(&t, UUID, &d)) { /* at 00:02.0 on pcie.0 */
		CHECK(d.seen);
		CHECK_EQ_STR(d.guest_driver, "vfio-pci");
	}
	free((char *)files[1].content);
	free((char *)files[2].content);
	run_done(&t);
}

/* An agent socket nobody answers on: QEMU's verdicts, and why. */
static void t_agent_silent(void)
{
	struct vmgpu_verify_device d;
	struct run t = { 0 };

	t.agent.silent = true;
	run_verify(&t, NULL, "qmp-all.json", true, NULL, 0);
	CHECK_EQ_INT(t.r, 0);
	CHECK(!vmgpu_verify_agent_answered(t.v));
	CHECK(vmgpu_verify_agent_note(t.v) && strstr(vmgpu_verify_agent_note(t.v), "no guest agent answered"));
	CHECK(vmgpu_verify_all_seen(t.v));
	if (get(&t, "0000:01:00.0", &d)) {
		CHECK(!d.guest_checked);
		CHECK(strstr(d.why, "no guest agent answered"));
	}
	run_done(&t);
}

/* Windows: PnP devices matched by ids, each claimed once: three QEMU
 * devices of 1234:11e8, two in Windows' list. */
static void t_windows(void)
{
	struct vmgpu_verify_device d;
	struct run t = { 0 };
	unsigned seen = 0;

	t.agent.osinfo = slurp("qga-osinfo-windows.json");
	t.agent.devices = slurp("qga-devices-windows.json");
	run_verify(&t, NULL, "qmp-all.json", true, NULL, 0);
	CHECK_EQ_INT(t.r, 0);
	CHECK_EQ_STR(vmgpu_verify_agent_os(t.v), "mswindows");
	CHECK_EQ_STR(vmgpu_verify_agent_os_name(t.v), "Windows 10 Pro");
	for (size_t i = 0; t.v && i < vmgpu_verify_n_devices(t.v); i++) {
		vmgpu_verify_device(t.v, i, &d);
		CHECK(d.guest_checked);
		if (d.seen) {
			seen++;
			CHECK_EQ_STR(d.guest_driver, "QEMU edu device (vfio stand-in)");
			CHECK_EQ_STR(d.guest_driver_version, "1.0.0.0");
		} else {
			CHECK(strstr(d.why, "Windows lists no PnP device PCI\\VEN_1234&DEV_11E8"));
		}
	}
	CHECK_EQ_INT(seen, 2);
	run_done(&t);
}

/* libvirt: user aliases as qdev ids, and the live definition's hostdevs,
 * one of which QEMU lacks; through a transport that is not a socket. */
static int canned_qmp(void *userdata, const char *cmd, char **ret_reply, char **ret_error)
{
	*ret_reply = slurp(userdata);
	return 0;
}

static void t_libvirt_aliases(void)
{
	static const char *const defined[] = { "ua-vmgpu-0000-01-00-0", "ua-vmgpu-0000-03-00-0",
						("ua-vmgpu-mdev-" UUID) };
	struct verify_io io = { .userdata = (void *)"qmp-libvirt.json", .qmp = canned_qmp, .libvirt = true,
				.defined = defined, .n_defined = 3 };
	struct vmgpu_verify *v = NULL;
	struct vmgpu_verify_device d;
	char *err = NULL;

	CHECK_EQ_INT(verify_run(NULL, &io, NULL, 0, &v, &err), 0);
	CHECK_EQ_INT(vmgpu_verify_n_devices(v), 4); /* 01:00.0, 01:00.1, 03:00.0, the mdev */
	for (size_t i = 0; v && i < vmgpu_verify_n_devices(v); i++) {
		vmgpu_verify_device(v, i, &d);
		CHECK(strncmp(d.id, "ua-vmgpu-", 9) == 0);
		CHECK_EQ_INT(d.seen, !(d.device && strcmp(d.device, "0000:03:00.0") == 0));
		if (d.device && d.present)
			CHECK_EQ_STR(d.port, "ua-vmgpu-rp-0000-01-00");
	}
	CHECK(!vmgpu_verify_all_seen(v));
	vmgpu_verify_unref(v);
	free(err);
}

/* Malformed answers: -EPROTO and a reason, never a crash. */
static void t_malformed(void)
{
	char *good = slurp("qmp-all.json"), *desc = NULL;
	struct qmp_pci p;
	struct run t = { 0 };

	good[strlen(good) / 2] = '\0'; /* cut in the middle */
	CHECK_EQ_INT(qmp_parse_query_pci(good, &p, &desc), -EPROTO);
	CHECK_EQ_INT(qmp_parse_query_pci("{\"return\": [{\"bus\": 0, \"devices\": [{\"bus\": \"x\"}]}]}", &p, &desc),
		     -EPROTO);
	CHECK_EQ_INT(qmp_parse_query_pci("{\"return\": {}}", &p, &desc), -EPROTO);
	CHECK_EQ_INT(qmp_parse_query_pci("[1]", &p, &desc), -EPROTO);
	CHECK_EQ_INT(qmp_parse_query_pci("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}}", &p, &desc),
		     -EREMOTEIO);
	CHECK_EQ_STR(desc, "no");
	free(desc);
	free(good);
	/* through the socket: the monitor answers nonsense */
	t.qmp.query_pci = strdup("{\"return\": [{\"bus\": 0, \"devices\": 7}]}\n");
	fake_start(&t.qmp, false);
	t.r = vmgpu_verify_qemu(NULL, t.qmp.path, NULL, NULL, 0, &t.v, &t.err);
	fake_stop(&t.qmp);
	CHECK_EQ_INT(t.r, -EPROTO);
	CHECK(t.err && strstr(t.err, "query-pci"));
	CHECK(!t.v);
	run_done(&t);
}

/* The agent parsers on qemu-ga's own replies. */
static void t_agent_parsers(void)
{
	char *read = slurp("qga-read.json"), *open = slurp("qga-open.json"), *sync = slurp("qga-sync.bin");
	char *missing = slurp("qga-open-missing.json"), *text = NULL, *id = NULL, *pretty = NULL;
	char *os = slurp("qga-osinfo.json"), *virtio = slurp("uevent-virtio.txt");
	struct guest_uevent u;
	int64_t h = 0;
	size_t len = 0;
	bool eof = false;

	CHECK_EQ_INT(qga_parse_int(open, &h), 0);
	CHECK_EQ_INT(h, 1000);
	CHECK_EQ_INT((unsigned char)sync[0], 0xff);
	CHECK_EQ_INT(qga_parse_int(sync + 1, &h), 0);
	CHECK_EQ_INT(h, 4242);
	CHECK_EQ_INT(qga_parse_int(missing, &h), -EREMOTEIO);
	CHECK_EQ_INT(qga_parse_file_read(read, &text, &len, &eof), 0);
	CHECK(eof);
	CHECK_EQ_INT(len, strlen(text));
	CHECK_EQ_INT(parse_pci_uevent(text, &u), 0);
	/* the reply's count and the kernel's ids */
	CHECK(strstr(read, "\"count\": 147"));
	CHECK_EQ_INT(len, 147);
	CHECK_EQ_INT(u.vendor, 0x8086);
	CHECK_EQ_STR(u.slot_name, "0000:00:00.0");
	CHECK_EQ_STR(u.driver, "");
	CHECK_EQ_INT(parse_pci_uevent(virtio, &u), 0);
	CHECK_EQ_STR(u.driver, "virtio-pci");
	CHECK_EQ_INT(u.vendor, 0x1af4);
	CHECK_EQ_INT(parse_pci_uevent("DRIVER=x\nPCI_ID=12:34\n", &u), -EPROTO);
	CHECK_EQ_INT(qga_parse_osinfo(os, &id, &pretty), 0);
	CHECK_EQ_STR(id, "debian");
	CHECK_EQ_INT(qga_parse_file_read("{\"return\": {\"count\": 1, \"buf-b64\": \"A$==\", \"eof\": true}}", &text,
					 &len, &eof),
		     -EPROTO);
	free(text);
	free(id);
	free(pretty);
	free(read);
	free(open);
	free(sync);
	free(missing);
	free(os);
	free(virtio);
}

static void t_ids(void)
{
	char key[40];

	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-0000-01-00-1", key), VMGPU_ID_FUNCTION);
	CHECK_EQ_STR(key, "0000:01:00.1");
	CHECK_EQ_INT(vmgpu_id_parse("ua-vmgpu-0000-0A-1f-0", key), VMGPU_ID_FUNCTION);
	CHECK_EQ_STR(key, "0000:0a:1f.0");
	CHECK_EQ_INT(vmgpu_id_parse("ua-vmgpu-mdev-" UUID, key), VMGPU_ID_MDEV);
	CHECK_EQ_STR(key, UUID);
	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-rp3", key), VMGPU_ID_PORT);
	CHECK_EQ_INT(vmgpu_id_parse("ua-vmgpu-rp-0000-01-00", key), VMGPU_ID_PORT);
	CHECK_EQ_INT(vmgpu_id_parse("ua-vmgpu-rp-0000-04-00-2", key), VMGPU_ID_PORT); /* a VF's own port */
	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-mdev-rp0", key), VMGPU_ID_PORT); /* an mdev's own port */
	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-mdev0", key), VMGPU_ID_NONE); /* the old id: no UUID in it */
	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-0000-01-20-0", key), VMGPU_ID_NONE);
	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-0000-01-00-8", key), VMGPU_ID_NONE);
	CHECK_EQ_INT(vmgpu_id_parse("vmgpu-rp", key), VMGPU_ID_NONE);
	CHECK_EQ_INT(vmgpu_id_parse("hostdev0", key), VMGPU_ID_NONE);
}

/* Unreachable monitor and bad arguments: errors with reasons. */
static void t_failures(void)
{
	static const char *const bad[] = { "not-a-device" };
	struct vmgpu_verify *v = NULL;
	char *err = NULL;
	struct run t = { 0 };

	CHECK_EQ_INT(vmgpu_verify_qemu(NULL, "/nonexistent/qmp.sock", NULL, NULL, 0, &v, &err), -ENOENT);
	CHECK(err && strstr(err, "/nonexistent/qmp.sock"));
	CHECK(!v);
	free(err);
	err = NULL;
	run_verify(&t, NULL, "qmp-all.json", false, bad, 1);
	CHECK_EQ_INT(t.r, -EINVAL);
	CHECK(t.err && strstr(t.err, "not-a-device"));
	run_done(&t);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "all seen, places from the layout", t_all_seen },
		{ "a named device QEMU lacks", t_absent },
		{ "before the firmware ran", t_paused },
		{ "fn 1 without fn 0: QEMU and agent", t_fn1_alone },
		{ "the agent decides", t_agent_decides },
		{ "silent agent", t_agent_silent },
		{ "Windows agent", t_windows },
		{ "libvirt aliases and live definition", t_libvirt_aliases },
		{ "malformed replies", t_malformed },
		{ "agent reply parsers", t_agent_parsers },
		{ "vmgpu ids", t_ids },
		{ "failures", t_failures },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
