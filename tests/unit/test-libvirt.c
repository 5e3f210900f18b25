/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * attach/detach through the real libvirt C API, against its built-in test
 * driver (test:///default: in-process, no daemon). The test driver cannot
 * hot-plug or detach host devices (see ../shared/testbed §7.1), so these
 * tests cover the persistent definition: define/update/dumpxml round trips,
 * idempotence, refusals and errors leaving the domain unchanged.
 */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "testlib.h"
#include "vmgpu.h"

#define URI "test:///default"

static const char *const domain_fmt =
	"<domain type='test'><name>%s</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>"
	"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
	"<controller type='pci' index='0' model='pcie-root'/>"
	"<controller type='pci' index='1' model='pcie-root-port'/>%s</devices></domain>";

static void quiet(void *u, virErrorPtr e)
{
}

static virConnectPtr conn;

static char *xml_escape(const char *s)
{
	char *out = malloc(strlen(s) * 6 + 1), *o = out;

	for (; *s; s++) {
		const char *rep = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '\'' ? "&apos;" : NULL;
		if (rep)
			o = stpcpy(o, rep);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* The test domain NAME, with DEVICES (XML) of its own. */
static virDomainPtr define_with(const char *name, const char *devices)
{
	char *esc = xml_escape(name), *xml = NULL;
	virDomainPtr d;

	if (asprintf(&xml, domain_fmt, esc, devices) < 0)
		abort();
	d = virDomainDefineXML(conn, xml);
	free(xml);
	free(esc);
	return d;
}

static virDomainPtr define(const char *name)
{
	return define_with(name, "");
}

static char *dump(virDomainPtr d)
{
	return virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

struct host_env {
	struct fx *fx;
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
	struct vmgpu_vm_layout *layout;
};

/* The layout of the N functions ADDRS on a fresh host of SCENARIO. */
static void layout_of(struct host_env *e, const char *scenario, const char *const *addrs, size_t n, unsigned flags)
{
	struct vmgpu_dev *d[8];

	e->fx = fx_new();
	fx_scenario_find(scenario)->build(e->fx);
	fx_finish(e->fx);
	if (n > 8 || vmgpu_ctx_new(fx_root(e->fx), &e->ctx) < 0 || vmgpu_host_scan(e->ctx, &e->host) < 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (vmgpu_host_lookup(e->host, addrs[i], &d[i]) < 0)
			abort();
	if (vmgpu_vm_layout_new(e->host, d, n, flags, &e->layout) < 0)
		abort();
}

static void layout_for(struct host_env *e, const char *scenario, const char *addr, unsigned flags)
{
	layout_of(e, scenario, &addr, 1, flags);
}

static void host_close(struct host_env *e)
{
	vmgpu_vm_layout_unref(e->layout);
	vmgpu_host_unref(e->host);
	vmgpu_ctx_unref(e->ctx);
	fx_free(e->fx);
}

static void t_round_trip(void)
{
	struct host_env e;
	virDomainPtr d = define("vmgpu-desk");
	char *report = NULL, *before, *after;

	layout_for(&e, "gpu-audio", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	before = dump(d);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-desk", false, false, NULL, &report), 0);
	free(report);
	after = dump(d);
	CHECK_EQ_INT(count(after, "<hostdev "), 2);
	CHECK(strstr(after, "multifunction='on'") != NULL);
	CHECK(strstr(after, "<alias name='ua-vmgpu-0000-01-00-1'/>") != NULL);
	CHECK(strstr(after, "managed='yes'") != NULL);
	CHECK_EQ_INT(count(after, "model='pcie-root-port'"), 2); /* the domain's own + ours */
	free(after);
	/* Again: same result, nothing doubled. */
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-desk", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK_EQ_INT(count(after, "<hostdev "), 2);
	CHECK_EQ_INT(count(after, "model='pcie-root-port'"), 2);
	free(after);
	/* Detach: back to the definition we started from. */
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-desk", true, false, NULL, NULL), 0);
	after = dump(d);
	CHECK_EQ_INT(count(after, "<hostdev "), 0);
	CHECK_EQ_STR(after, before);
	free(after);
	free(before);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

static void t_large_bar_pcihole(void)
{
	struct host_env e;
	virDomainPtr d = define("vmgpu-ml");
	char *after, *xml = NULL;

	layout_for(&e, "large-bar", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	/* dry run: the definition it would use, nothing changed */
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-ml", false, true, &xml, NULL), 0);
	CHECK(xml && strstr(xml, "<pcihole64 unit=\"KiB\">134217728</pcihole64>"));
	free(xml);
	after = dump(d);
	CHECK_EQ_INT(count(after, "<hostdev "), 0);
	free(after);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-ml", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK(strstr(after, "<pcihole64 unit='KiB'>134217728</pcihole64>") != NULL);
	free(after);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

/* A <pcihole64> set larger than needed is kept, whatever libvirt unit it is
 * written in (scaled integers: b/bytes, k/KiB, KB, M/MiB, MB, ... E; any
 * case; KiB when none); a smaller one is raised; one whose unit vmgpu does
 * not know is left alone. The layout needs 128 GiB. */
static void t_pcihole64_units(void)
{
	static const struct {
		const char *unit, *value;
		bool kept;
	} holes[] = {
		{ "G", "256", true },           { "g", "256", true },        { "GB", "200", true },
		{ "gib", "129", true },         { "T", "1", true },          { "TB", "1", true },
		{ "P", "1", true },             { "E", "1", true },          { "bytes", "274877906944", true },
		{ "b", "274877906944", true },  { NULL, "268435456", true },  { "k", "268435456", true },
		{ "KB", "274877906944", true }, { "M", "262144", true },     { "furlongs", "1", true },
		{ "MB", "1000", false },        { "KiB", "1", false },       { "GiB", "64", false },
		{ "GB", "137", false },         { "bytes", "1024", false },  { NULL, "1", false },
	};
	static const char *const fmt =
		"<domain type='kvm'><name>hole</name><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
		"<controller type='pci' index='0' model='pcie-root'><pcihole64%s%s%s>%s</pcihole64></controller>"
		"</devices></domain>";
	struct host_env e;

	layout_for(&e, "large-bar", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		char *in = NULL, *out = NULL;
		if (asprintf(&in, fmt, holes[i].unit ? " unit='" : "", holes[i].unit ? holes[i].unit : "",
			     holes[i].unit ? "'" : "", holes[i].value) < 0)
			abort();
		CHECK_EQ_INT(vmgpu_render_libvirt(e.layout, in, NULL, &out), 0);
		if (out && holes[i].kept != !strstr(out, ">134217728</pcihole64>"))
			fprintf(stderr, "  pcihole64 %s %s: %s\n", holes[i].value, holes[i].unit ? holes[i].unit : "(no unit)",
				holes[i].kept ? "replaced, should be kept" : "kept, should be raised");
		CHECK(out && holes[i].kept == !strstr(out, ">134217728</pcihole64>"));
		CHECK(out && count(out, "<pcihole64") == 1);
		free(out);
		free(in);
	}
	host_close(&e);
}

static void t_errors_leave_domain(void)
{
	struct host_env e;
	virDomainPtr d = define("vmgpu-err");
	char *report = NULL, *before = dump(d), *after;

	layout_for(&e, "gpu-audio", "0000:01:00.0", 0); /* not managed, not on vfio-pci */
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-err", false, false, NULL, &report), -EBUSY);
	CHECK(report && strstr(report, "vmgpu assign"));
	free(report);
	report = NULL;
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "no-such-domain", false, false, NULL, &report), -ENOENT);
	CHECK(report && strstr(report, "no domain named 'no-such-domain'"));
	free(report);
	report = NULL;
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, "test:///nonexistent/vmgpu.xml", "vmgpu-err", false, false, NULL,
					  &report), -ECONNREFUSED);
	CHECK(report && strstr(report, "cannot connect"));
	free(report);
	after = dump(d);
	CHECK_EQ_STR(after, before);
	free(after);
	free(before);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

static unsigned program_errors;

static void count_errors(void *u, virErrorPtr e)
{
	program_errors++;
}

/* A program that uses libvirt itself keeps its error handler: vmgpu's
 * errors go to its report, not to the handler, and the handler still gets
 * the program's own errors after vmgpu ran. */
static void t_error_handler_kept(void)
{
	struct host_env e;
	char *report = NULL;

	layout_for(&e, "gpu-audio", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	virSetErrorFunc(NULL, count_errors);
	program_errors = 0;
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "no-such-domain", false, false, NULL, &report), -ENOENT);
	CHECK(report && strstr(report, "no domain named"));
	CHECK_EQ_INT(program_errors, 0);
	CHECK(virDomainLookupByName(conn, "no-such-domain") == NULL);
	CHECK_EQ_INT(program_errors, 1);
	virSetErrorFunc(NULL, quiet);
	free(report);
	host_close(&e);
}

/* A domain with a saved state cannot take a passed-through device: the
 * libvirt form of Hyper-V's "automatic stop action: turn off". */
static void t_managed_save(void)
{
	struct host_env e;
	virDomainPtr d = define("vmgpu-saved");
	char *report = NULL;

	layout_for(&e, "gpu-audio", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	CHECK_EQ_INT(virDomainCreate(d), 0);
	CHECK_EQ_INT(virDomainManagedSave(d, 0), 0);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-saved", false, false, NULL, &report), -EPERM);
	CHECK(report && strstr(report, "managed save"));
	free(report);
	virDomainManagedSaveRemove(d, 0);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

/* A USB hostdev's <source><address bus='1' device='5'/> has neither domain,
 * slot nor function: read as zeros it looked like PCI 0000:01:00.0, and
 * attach/detach of that function removed the user's USB device. */
static void t_usb_hostdev_kept(void)
{
	struct host_env e;
	virDomainPtr d = define_with("vmgpu-usb", "<hostdev mode='subsystem' type='usb' managed='yes'>"
						  "<source><address bus='1' device='5'/></source></hostdev>");
	char *after;

	layout_for(&e, "gpu-audio", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-usb", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK(strstr(after, "type='usb'") != NULL);
	CHECK_EQ_INT(count(after, "<hostdev "), 3);
	free(after);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-usb", true, false, NULL, NULL), 0);
	after = dump(d);
	CHECK(strstr(after, "<address bus='1' device='5'/>") != NULL);
	CHECK_EQ_INT(count(after, "<hostdev "), 1);
	free(after);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

/* Attach again to a running domain that has the devices plugged in already:
 * nothing to hot-plug, no error. A device the running domain lacks is
 * hot-plugged, which the test driver cannot do: that attempt fails. */
static void t_live_attach_again(void)
{
	struct host_env e;
	virDomainPtr d = define("vmgpu-live");
	const char *uuids[] = { "6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f" };
	char *report = NULL, *live;

	layout_for(&e, "gpu-audio", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-live", false, false, NULL, NULL), 0);
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-live", false, false, NULL, NULL), 0);
	CHECK_EQ_INT(virDomainCreate(d), 0);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-live", false, false, NULL, &report), 0);
	CHECK(report && !strstr(report, "live:"));
	free(report);
	report = NULL;
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-live", false, false, NULL, &report), 0);
	CHECK(report && !strstr(report, "live:"));
	free(report);
	report = NULL;
	/* another render node is a change the running domain cannot take */
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD129", URI, "vmgpu-live", false, false, NULL, &report), -EIO);
	CHECK(report && strstr(report, "live: a video device cannot be changed"));
	free(report);
	report = NULL;
	CHECK_EQ_INT(vmgpu_libvirt_update_mdevs(uuids, 1, URI, "vmgpu-live", false, false, NULL, &report), -EIO);
	CHECK(report && strstr(report, "live: mdev 6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f"));
	free(report);
	live = virDomainGetXMLDesc(d, 0);
	CHECK(live && count(live, "<hostdev ") == 2);
	free(live);
	virDomainDestroy(d);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

static void t_hostile_names(void)
{
	const char *names[] = { "it's", "say \"hi\"", "a$b $(reboot)", "back`tick`", "]]> <x/> &amp;", "café 日本 😀" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct host_env e;
		virDomainPtr d = define(names[i]), back;
		char *after;

		if (!d) {
			fprintf(stderr, "  libvirt refused to define '%s': %s\n", names[i], virGetLastErrorMessage());
			continue; /* libvirt's own rule; nothing of ours to test */
		}
		layout_for(&e, "gpu-audio", "0000:01:00.0", VMGPU_LAYOUT_MANAGED);
		CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, names[i], false, false, NULL, NULL), 0);
		back = virDomainLookupByName(conn, names[i]);
		CHECK(back != NULL);
		CHECK_EQ_STR(back ? virDomainGetName(back) : NULL, names[i]);
		after = back ? dump(back) : NULL;
		CHECK(after && count(after, "<hostdev ") == 2);
		free(after);
		if (back)
			virDomainFree(back);
		virDomainUndefine(d);
		virDomainFree(d);
		host_close(&e);
	}
}

static void t_mdev_and_virgl(void)
{
	virDomainPtr d = define("vmgpu-slices");
	const char *uuids[] = { "6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f" };
	char *after, *before = dump(d);

	CHECK_EQ_INT(vmgpu_libvirt_update_mdevs(uuids, 1, URI, "vmgpu-slices", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK(strstr(after, "<hostdev mode='subsystem' type='mdev'") != NULL);
	CHECK(strstr(after, "uuid='6ef2a1b3-5a1c-4f3e-9a51-0f0b1c2d3e4f'") != NULL);
	free(after);
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-slices", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK(strstr(after, "accel3d='yes'") != NULL);
	CHECK(strstr(after, "rendernode='/dev/dri/renderD128'") != NULL);
	free(after);
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-slices", true, false, NULL, NULL), 0);
	CHECK_EQ_INT(vmgpu_libvirt_update_mdevs(uuids, 1, URI, "vmgpu-slices", true, false, NULL, NULL), 0);
	after = dump(d);
	CHECK(strstr(after, "type='mdev'") == NULL);
	CHECK(strstr(after, "accel3d") == NULL);
	free(after);
	free(before);
	virDomainUndefine(d);
	virDomainFree(d);
}

/* libvirt keeps no alias on a <graphics>: vmgpu's headless display is found
 * by its render node. Attach again keeps one (QEMU takes one egl-headless
 * display only); detach removes it. */
static void t_virgl_display(void)
{
	virDomainPtr d = define("vmgpu-virgl");
	char *after, *before = dump(d);

	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-virgl", false, false, NULL, NULL), 0);
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-virgl", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK_EQ_INT(count(after, "type='egl-headless'"), 1);
	CHECK_EQ_INT(count(after, "accel3d='yes'"), 1);
	free(after);
	CHECK_EQ_INT(vmgpu_libvirt_update_virgl("/dev/dri/renderD128", URI, "vmgpu-virgl", true, false, NULL, NULL), 0);
	after = dump(d);
	CHECK_EQ_STR(after, before);
	free(after);
	free(before);
	virDomainUndefine(d);
	virDomainFree(d);
}

/* Two VFs of one PF (the PF stays on the host): two root ports with
 * aliases of their own (libvirt refuses a duplicate), each VF function 0 of
 * its slot, no multifunction; detach removes both ports. */
static void t_two_vfs(void)
{
	static const char *const vfs[] = { "0000:01:00.4", "0000:01:00.5" };
	struct host_env e = { 0 };
	virDomainPtr d = define("vmgpu-vfs");
	char *before, *after;

	layout_of(&e, "nvidia-vgpu", vfs, 2, VMGPU_LAYOUT_MANAGED);
	before = dump(d);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-vfs", false, false, NULL, NULL), 0);
	after = dump(d);
	CHECK_EQ_INT(count(after, "<hostdev "), 2);
	CHECK(strstr(after, "<alias name='ua-vmgpu-rp-0000-01-00-4'/>") != NULL);
	CHECK(strstr(after, "<alias name='ua-vmgpu-rp-0000-01-00-5'/>") != NULL);
	CHECK_EQ_INT(count(after, "slot='0x00' function='0x0'/>"), 2);
	CHECK_EQ_INT(count(after, "function='0x4'"), 1); /* the source only */
	CHECK(strstr(after, "multifunction") == NULL);
	CHECK_EQ_INT(count(after, "model='pcie-root-port'"), 3);
	free(after);
	CHECK_EQ_INT(vmgpu_libvirt_update(e.layout, URI, "vmgpu-vfs", true, false, NULL, NULL), 0);
	after = dump(d);
	CHECK_EQ_STR(after, before);
	free(after);
	free(before);
	virDomainUndefine(d);
	virDomainFree(d);
	host_close(&e);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "attach, again, detach: round trip", t_round_trip },
		{ "two VFs of one PF: two root ports, function 0 each", t_two_vfs },
		{ "large BAR raises pcihole64", t_large_bar_pcihole },
		{ "pcihole64 in any libvirt unit: never shrunk", t_pcihole64_units },
		{ "errors leave the domain unchanged", t_errors_leave_domain },
		{ "managed save image refused", t_managed_save },
		{ "the program's libvirt error handler is kept", t_error_handler_kept },
		{ "a USB hostdev is not a PCI function", t_usb_hostdev_kept },
		{ "live attach again: nothing to hot-plug", t_live_attach_again },
		{ "hostile VM names", t_hostile_names },
		{ "mdev hostdev and virtio-gpu 3D", t_mdev_and_virgl },
		{ "virtio-gpu 3D: one headless display, removed on detach", t_virgl_display },
	};
	int r;

	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(URI);
	if (!conn) {
		printf("SKIP: cannot open %s\n", URI);
		return 77;
	}
	r = test_main(tests, sizeof(tests) / sizeof(tests[0]));
	virConnectClose(conn);
	return r;
}
