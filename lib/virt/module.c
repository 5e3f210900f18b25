/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The layout in a libvirt domain: the persistent definition is edited as XML
 * (libxml2, never string pasting) and defined again; a running domain also
 * gets the functions hot-plugged. What vmgpu adds carries user aliases
 * ("ua-vmgpu-..."), so detach removes exactly that and nothing else:
 *
 *   <controller type='pci' model='pcie-root-port' index='9'>
 *     <alias name='ua-vmgpu-rp-0000-01-00'/>
 *   </controller>
 *   <hostdev mode='subsystem' type='pci' managed='no'>
 *     <driver name='vfio'/>
 *     <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
 *     <alias name='ua-vmgpu-0000-01-00-0'/>
 *     <address type='pci' domain='0x0000' bus='0x09' slot='0x00' function='0x0' multifunction='on'/>
 *   </hostdev>
 *
 * plus <pcihole64> on the pcie-root controller when the default 64-bit hole
 * is too small, and the KVM-hidden / Hyper-V vendor_id knobs old GeForce
 * drivers need (Code 43).
 */
#include <ctype.h>
#include <errno.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "virt-req.h"

#define KiB 1024ULL

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
			return c;
	return NULL;
}

static xmlNodePtr child_or_new(xmlNodePtr parent, const char *name)
{
	xmlNodePtr c = child(parent, name);

	return c ? c : xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

static bool attr_is(xmlNodePtr n, const char *attr, const char *value)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST attr);
	bool r = v && xmlStrcmp(v, BAD_CAST value) == 0;

	xmlFree(v);
	return r;
}

static unsigned long attr_ul(xmlNodePtr n, const char *attr)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST attr);
	unsigned long r = v ? strtoul((const char *)v, NULL, 0) : 0;

	xmlFree(v);
	return r;
}

static void set_propf(xmlNodePtr n, const char *attr, const char *fmt, ...) _printf_(3, 4);
static void set_propf(xmlNodePtr n, const char *attr, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xmlSetProp(n, BAD_CAST attr, BAD_CAST buf);
}

/* <alias name='ua-...'/>: libvirt keeps a user alias as given. */
static void add_alias(xmlNodePtr n, const char *alias)
{
	xmlSetProp(xmlNewChild(n, NULL, BAD_CAST "alias", NULL), BAD_CAST "name", BAD_CAST alias);
}

static void hostdev_alias(char *buf, size_t sz, const struct virt_fn *f)
{
	snprintf(buf, sz, "ua-vmgpu-%04x-%02x-%02x-%x", f->domain, f->bus, f->dev, f->fn);
}

/* The root port of the guest slot whose first function is F: named after
 * the host slot, plus F's host function when that is not 0 (two VFs of one
 * host slot get two guest slots, and libvirt wants unique aliases). */
static void port_alias(char *buf, size_t sz, const struct virt_fn *f)
{
	if (f->fn == 0)
		snprintf(buf, sz, "ua-vmgpu-rp-%04x-%02x-%02x", f->domain, f->bus, f->dev);
	else
		snprintf(buf, sz, "ua-vmgpu-rp-%04x-%02x-%02x-%x", f->domain, f->bus, f->dev, f->fn);
}

static bool alias_is(xmlNodePtr n, const char *alias)
{
	xmlNodePtr a = child(n, "alias");

	return a && attr_is(a, "name", alias);
}

/* A PCI hostdev whose <source> is host function F. Only a PCI one: a USB
 * hostdev's <address bus='1' device='5'/> has no slot or function, and
 * read as zeros it would be 0000:01:00.0. libvirt takes a missing mode as
 * 'subsystem' (and writes it out). */
static bool hostdev_is(xmlNodePtr n, const struct virt_fn *f)
{
	xmlNodePtr a = child(child(n, "source"), "address");

	if (!attr_is(n, "type", "pci") || (xmlHasProp(n, BAD_CAST "mode") && !attr_is(n, "mode", "subsystem")))
		return false;
	return a && attr_ul(a, "domain") == f->domain && attr_ul(a, "bus") == f->bus && attr_ul(a, "slot") == f->dev &&
	       attr_ul(a, "function") == f->fn;
}

/* Remove the element children of PARENT that MATCH (WHAT) says to. */
static void remove_children(xmlNodePtr parent, bool (*match)(xmlNodePtr n, const void *what), const void *what)
{
	xmlNodePtr next;

	for (xmlNodePtr n = parent->children; n; n = next) {
		next = n->next;
		if (n->type == XML_ELEMENT_NODE && match(n, what)) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
}

/* The request's hostdevs, and vmgpu's root ports for its slots. */
static bool match_layout(xmlNodePtr n, const void *what)
{
	const struct virt_req *req = what;
	char alias[64];

	for (size_t i = 0; i < req->n_fns; i++) {
		port_alias(alias, sizeof(alias), &req->fns[i]);
		if ((xmlStrcmp(n->name, BAD_CAST "hostdev") == 0 && hostdev_is(n, &req->fns[i])) ||
		    (xmlStrcmp(n->name, BAD_CAST "controller") == 0 && alias_is(n, alias)))
			return true;
	}
	return false;
}

static bool is_q35(xmlNodePtr domain)
{
	xmlNodePtr type = child(child(domain, "os"), "type");
	xmlChar *m = type ? xmlGetProp(type, BAD_CAST "machine") : NULL;
	bool r = m && strstr((const char *)m, "q35");

	xmlFree(m);
	return r;
}

static unsigned max_pci_index(xmlNodePtr devices)
{
	unsigned max = 0;

	for (xmlNodePtr n = devices->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "controller") == 0 &&
		    attr_is(n, "type", "pci") && attr_ul(n, "index") > max)
			max = (unsigned)attr_ul(n, "index");
	return max;
}

/* The <hostdev> of host function FN, without its place in the guest. */
static xmlNodePtr new_hostdev(const struct virt_fn *fn, unsigned flags)
{
	xmlNodePtr h = xmlNewNode(NULL, BAD_CAST "hostdev"), a;
	char alias[64];

	xmlSetProp(h, BAD_CAST "mode", BAD_CAST "subsystem");
	xmlSetProp(h, BAD_CAST "type", BAD_CAST "pci");
	xmlSetProp(h, BAD_CAST "managed", BAD_CAST((flags & VIRT_MANAGED) ? "yes" : "no"));
	xmlSetProp(xmlNewChild(h, NULL, BAD_CAST "driver", NULL), BAD_CAST "name", BAD_CAST "vfio");
	a = xmlNewChild(xmlNewChild(h, NULL, BAD_CAST "source", NULL), NULL, BAD_CAST "address", NULL);
	set_propf(a, "domain", "0x%04x", fn->domain);
	set_propf(a, "bus", "0x%02x", fn->bus);
	set_propf(a, "slot", "0x%02x", fn->dev);
	set_propf(a, "function", "0x%x", fn->fn);
	if (flags & VIRT_NO_ROM)
		xmlSetProp(xmlNewChild(h, NULL, BAD_CAST "rom", NULL), BAD_CAST "bar", BAD_CAST "off");
	hostdev_alias(alias, sizeof(alias), fn);
	add_alias(h, alias);
	return h;
}

/* Where FN sits in the guest: q35, slot 0 of its slot's own root port (bus
 * BUS); i440fx, a slot of its own on the root bus. */
static void add_guest_address(xmlNodePtr hostdev, const struct virt_fn *fn, bool q35, unsigned bus)
{
	xmlNodePtr a = xmlNewChild(hostdev, NULL, BAD_CAST "address", NULL);

	xmlSetProp(a, BAD_CAST "type", BAD_CAST "pci");
	set_propf(a, "domain", "0x0000");
	set_propf(a, "bus", "0x%02x", q35 ? bus : 0);
	set_propf(a, "slot", "0x%02x", q35 ? 0 : 0x10 + fn->slot);
	set_propf(a, "function", "0x%x", fn->function);
	if (fn->multifunction)
		xmlSetProp(a, BAD_CAST "multifunction", BAD_CAST "on");
}

/*
 * The factor of a libvirt scaled-integer unit (virScaleInteger): "b", "byte"
 * or "bytes"; a letter k, m, g, t, p or e alone or with "iB" for powers of
 * 1024, with "B" for powers of 1000; any case. 0: not a unit libvirt knows.
 */
static uint64_t unit_scale(const char *unit)
{
	static const char letters[] = "kmgtpe";
	const char *l = unit[0] ? strchr(letters, tolower((unsigned char)unit[0])) : NULL;
	uint64_t base, scale = 1;

	if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 || strcasecmp(unit, "bytes") == 0)
		return 1;
	if (!l)
		return 0;
	if (!unit[1] || strcasecmp(unit + 1, "iB") == 0)
		base = 1024;
	else if (strcasecmp(unit + 1, "B") == 0)
		base = 1000;
	else
		return 0;
	for (const char *p = letters; p <= l; p++)
		scale *= base;
	return scale;
}

/* The size an element such as <pcihole64 unit='G'>64</pcihole64> gives, in
 * bytes (KiB when it names no unit, as for pcihole64); false when it is not
 * a number in a unit libvirt knows. Too large for 64 bits reads as the most. */
static bool scaled_bytes(xmlNodePtr n, uint64_t *ret)
{
	xmlChar *v = xmlNodeGetContent(n), *unit = xmlGetProp(n, BAD_CAST "unit");
	uint64_t scale = unit && *unit ? unit_scale((const char *)unit) : KiB;
	unsigned long long value = 0;
	char *end = NULL;
	bool ok;

	errno = 0;
	if (v)
		value = strtoull((const char *)v, &end, 10);
	ok = v && end != (char *)v && *end == '\0' && !strchr((const char *)v, '-') && errno == 0 && scale;
	if (ok)
		*ret = value > UINT64_MAX / scale ? UINT64_MAX : value * scale;
	xmlFree(v);
	xmlFree(unit);
	return ok;
}

static void set_pcihole64(xmlNodePtr devices, uint64_t bytes)
{
	xmlNodePtr root = NULL, hole;
	uint64_t cur;
	char buf[32];

	for (xmlNodePtr n = devices->children; n && !root; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "controller") == 0 &&
		    attr_is(n, "type", "pci") && attr_ul(n, "index") == 0)
			root = n;
	if (!root) {
		root = xmlNewChild(devices, NULL, BAD_CAST "controller", NULL);
		xmlSetProp(root, BAD_CAST "type", BAD_CAST "pci");
		xmlSetProp(root, BAD_CAST "index", BAD_CAST "0");
		xmlSetProp(root, BAD_CAST "model", BAD_CAST "pcie-root");
	}
	hole = child(root, "pcihole64");
	if (hole) {
		/* never shrink what someone set larger, nor touch what we
		 * cannot read */
		if (!scaled_bytes(hole, &cur) || cur >= bytes)
			return;
		xmlUnlinkNode(hole);
		xmlFreeNode(hole);
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(bytes / KiB));
	hole = xmlNewChild(root, NULL, BAD_CAST "pcihole64", BAD_CAST buf);
	xmlSetProp(hole, BAD_CAST "unit", BAD_CAST "KiB");
}

/* Old GeForce drivers stop with Code 43 when they see a hypervisor. */
static void hide_hypervisor(xmlNodePtr domain)
{
	xmlNodePtr features = child_or_new(domain, "features"), kvm, hidden, hyperv, vid;

	kvm = child_or_new(features, "kvm");
	hidden = child_or_new(kvm, "hidden");
	xmlSetProp(hidden, BAD_CAST "state", BAD_CAST "on");
	hyperv = child_or_new(features, "hyperv");
	if (!xmlHasProp(hyperv, BAD_CAST "mode"))
		xmlSetProp(hyperv, BAD_CAST "mode", BAD_CAST "custom");
	vid = child_or_new(hyperv, "vendor_id");
	xmlSetProp(vid, BAD_CAST "state", BAD_CAST "on");
	xmlSetProp(vid, BAD_CAST "value", BAD_CAST "vmgpuvmgpu00");
}

/* DOMAIN (its DEVICES) edited to hold the layout, or (REMOVE) not to. */
static void edit_layout(xmlNodePtr domain, xmlNodePtr devices, const struct virt_req *l, bool remove)
{
	unsigned flags = l->flags, base;
	bool q35;

	remove_children(devices, match_layout, l);
	if (remove)
		return;
	q35 = is_q35(domain);
	base = max_pci_index(devices) + 1;
	/* one root port per slot, named after the slot's first function */
	for (size_t i = 0; q35 && i < l->n_fns; i++) {
		const struct virt_fn *fn = &l->fns[i];
		xmlNodePtr c;
		char alias[64];
		if (i > 0 && l->fns[i - 1].slot == fn->slot)
			continue;
		c = xmlNewChild(devices, NULL, BAD_CAST "controller", NULL);
		xmlSetProp(c, BAD_CAST "type", BAD_CAST "pci");
		set_propf(c, "index", "%u", base + fn->slot);
		xmlSetProp(c, BAD_CAST "model", BAD_CAST "pcie-root-port");
		port_alias(alias, sizeof(alias), fn);
		add_alias(c, alias);
	}
	for (size_t i = 0; i < l->n_fns; i++) {
		xmlNodePtr h = xmlAddChild(devices, new_hostdev(&l->fns[i], flags));
		add_guest_address(h, &l->fns[i], q35, base + l->fns[i].slot);
	}
	if (l->hole64_needed && q35)
		set_pcihole64(devices, l->hole64);
	if (flags & VIRT_NVIDIA_HIDE)
		hide_hypervisor(domain);
}

/* ---- slices: mdev instances, virtio-gpu on a render node ---- */

static void mdev_alias(char *buf, size_t sz, const char *uuid)
{
	snprintf(buf, sz, "ua-vmgpu-mdev-%.36s", uuid);
}

static xmlNodePtr new_mdev_hostdev(const char *uuid)
{
	xmlNodePtr h = xmlNewNode(NULL, BAD_CAST "hostdev"), a;
	char alias[64];

	xmlSetProp(h, BAD_CAST "mode", BAD_CAST "subsystem");
	xmlSetProp(h, BAD_CAST "type", BAD_CAST "mdev");
	xmlSetProp(h, BAD_CAST "model", BAD_CAST "vfio-pci");
	a = xmlNewChild(xmlNewChild(h, NULL, BAD_CAST "source", NULL), NULL, BAD_CAST "address", NULL);
	xmlSetProp(a, BAD_CAST "uuid", BAD_CAST uuid);
	mdev_alias(alias, sizeof(alias), uuid);
	add_alias(h, alias);
	return h;
}

static bool mdev_hostdev_is(xmlNodePtr n, const char *uuid)
{
	xmlNodePtr a = child(child(n, "source"), "address");

	return xmlStrcmp(n->name, BAD_CAST "hostdev") == 0 && attr_is(n, "type", "mdev") && a && attr_is(a, "uuid", uuid);
}

static bool match_mdev(xmlNodePtr n, const void *uuid)
{
	return mdev_hostdev_is(n, uuid);
}

/* Headless display rendered on NODE, as add_virgl() writes it (libvirt
 * keeps no alias on a <graphics>). */
static bool egl_headless_on(xmlNodePtr n, const char *node)
{
	return xmlStrcmp(n->name, BAD_CAST "graphics") == 0 && attr_is(n, "type", "egl-headless") &&
	       attr_is(child(n, "gl"), "rendernode", node);
}

/* What vmgpu added for virtio-gpu on RENDER_NODE (detach removes only
 * this): its video by alias, its display by render node, as libvirt keeps
 * no alias on a <graphics>... */
static bool match_virgl(xmlNodePtr n, const void *render_node)
{
	return alias_is(n, "ua-vmgpu-virgl") || alias_is(n, "ua-vmgpu-virgl-display") || egl_headless_on(n, render_node);
}

/* ...and any video device or headless display, which attach replaces: one
 * primary video only, and one display rendered headless. */
static bool match_video(xmlNodePtr n, const void *render_node)
{
	return xmlStrcmp(n->name, BAD_CAST "video") == 0 || match_virgl(n, render_node) ||
	       (xmlStrcmp(n->name, BAD_CAST "graphics") == 0 && attr_is(n, "type", "egl-headless"));
}

/*
 * virtio-gpu with 3D: the guest's OpenGL (virgl) runs on the host GPU behind
 * RENDER_NODE; the display is rendered headless there too:
 *   <video><model type='virtio' heads='1' primary='yes'><acceleration accel3d='yes'/></model></video>
 *   <graphics type='egl-headless'><gl rendernode='/dev/dri/renderD128'/></graphics>
 * It replaces the domain's video device (one primary video only) and any
 * headless display.
 */
static void add_virgl(xmlNodePtr devices, const char *render_node)
{
	xmlNodePtr v = xmlNewChild(devices, NULL, BAD_CAST "video", NULL), m, g, gl;

	m = xmlNewChild(v, NULL, BAD_CAST "model", NULL);
	xmlSetProp(m, BAD_CAST "type", BAD_CAST "virtio");
	xmlSetProp(m, BAD_CAST "heads", BAD_CAST "1");
	xmlSetProp(m, BAD_CAST "primary", BAD_CAST "yes");
	xmlSetProp(xmlNewChild(m, NULL, BAD_CAST "acceleration", NULL), BAD_CAST "accel3d", BAD_CAST "yes");
	add_alias(v, "ua-vmgpu-virgl");
	g = xmlNewChild(devices, NULL, BAD_CAST "graphics", NULL);
	xmlSetProp(g, BAD_CAST "type", BAD_CAST "egl-headless");
	gl = xmlNewChild(g, NULL, BAD_CAST "gl", NULL);
	xmlSetProp(gl, BAD_CAST "rendernode", BAD_CAST render_node);
	add_alias(g, "ua-vmgpu-virgl-display");
}

/* The mdev instances and virtio-gpu 3D of E in DEVICES, or (REMOVE) not. */
static void edit_slices(xmlNodePtr devices, const struct virt_req *e, bool remove)
{
	for (size_t i = 0; i < e->n_mdevs; i++) {
		remove_children(devices, match_mdev, e->mdevs[i]);
		if (!remove)
			xmlAddChild(devices, new_mdev_hostdev(e->mdevs[i]));
	}
	if (e->render_node) {
		remove_children(devices, remove ? match_virgl : match_video, e->render_node);
		if (!remove)
			add_virgl(devices, e->render_node);
	}
}

/* Edit DOC (a <domain>) to hold REQ, or (REMOVE) not to. */
static int edit_any(xmlDocPtr doc, const struct virt_req *req, bool remove, char *why, size_t sz)
{
	xmlNodePtr domain = xmlDocGetRootElement(doc), devices;

	if (!domain || xmlStrcmp(domain->name, BAD_CAST "domain") != 0) {
		snprintf(why, sz, "not a libvirt domain definition");
		return -EINVAL;
	}
	devices = child_or_new(domain, "devices");
	if (req->n_fns)
		edit_layout(domain, devices, req, remove);
	else
		edit_slices(devices, req, remove);
	return 0;
}

static int doc_to_string(xmlDocPtr doc, char **ret)
{
	xmlChar *out = NULL;
	int len = 0;

	xmlDocDumpFormatMemoryEnc(doc, &out, &len, "UTF-8", 1);
	if (!out)
		return -ENOMEM;
	*ret = strdup((const char *)out);
	xmlFree(out);
	return *ret ? 0 : -ENOMEM;
}

static xmlDocPtr parse_xml(const char *xml)
{
	/* NONET: never fetch an external entity; no entity expansion. */
	return xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlDocPtr skeleton(const char *vm)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr d = xmlNewNode(NULL, BAD_CAST "domain"), os, type;

	xmlDocSetRootElement(doc, d);
	xmlSetProp(d, BAD_CAST "type", BAD_CAST "kvm");
	xmlNewTextChild(d, NULL, BAD_CAST "name", BAD_CAST vm); /* escaped by libxml2 */
	os = xmlNewChild(d, NULL, BAD_CAST "os", NULL);
	type = xmlNewChild(os, NULL, BAD_CAST "type", BAD_CAST "hvm");
	xmlSetProp(type, BAD_CAST "arch", BAD_CAST "x86_64");
	xmlSetProp(type, BAD_CAST "machine", BAD_CAST "q35");
	xmlNewChild(d, NULL, BAD_CAST "devices", NULL);
	return doc;
}

static bool valid_utf8_name(const char *s)
{
	return s && *s && xmlCheckUTF8((const unsigned char *)s);
}

/* ---- through libvirt ---- */

static void quiet(void *userdata, virErrorPtr err)
{
	/* The library never prints: errors are collected into the report. */
}

struct lvreport {
	char *buf;
	size_t len;
	FILE *f;
};

_printf_(2, 3) static void say(struct lvreport *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(r->f, fmt, ap);
	va_end(ap);
	fputc('\n', r->f);
}

static const char *lverr(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

/* What stands in the way of REQ in DOM: a saved state, functions not on
 * vfio-pci (unless libvirt manages them). */
static int check_domain(virDomainPtr dom, const struct virt_req *req, bool detach, struct lvreport *rep)
{
	if (virDomainHasManagedSaveImage(dom, 0) > 0) {
		/* The Hyper-V rule "automatic stop action must be Turn Off", in
		 * libvirt terms: a saved state cannot be restored with a
		 * passed-through device. */
		if (req->n_fns)
			say(rep, "the domain has a managed save image: a saved state cannot hold a passed-through device; "
				 "remove it (virsh managedsave-remove) or start and shut the domain down first");
		else
			say(rep, "the domain has a managed save image: remove it first (virsh managedsave-remove)");
		return -EPERM;
	}
	if (detach || (req->flags & VIRT_MANAGED))
		return 0;
	for (size_t i = 0; i < req->n_fns; i++) {
		const struct virt_fn *fn = &req->fns[i];
		if (strcmp(fn->driver, "vfio-pci") != 0) {
			say(rep, "%s is not on vfio-pci (driver: %s): run vmgpu assign %s first, or use --managed", fn->address,
			    *fn->driver ? fn->driver : "none", fn->address);
			return -EBUSY;
		}
	}
	return 0;
}

/* The running domain's definition, to plug in or unplug only what is not so
 * already: a device added to the persistent definition while the domain ran
 * (or one unplugged by hand) is not in it, and unplugging it again is no
 * error; nor is attaching again what is plugged in. */
static xmlDocPtr live_doc(virDomainPtr dom)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	xmlDocPtr doc = xml ? parse_xml(xml) : NULL;

	free(xml);
	return doc;
}

/* Whether the live definition has the device ALIAS: 1 or 0; -1 when it
 * cannot be read (then try, and let libvirt say what is wrong). */
static int live_has(xmlDocPtr live, const char *alias)
{
	xmlNodePtr devices = live ? child(xmlDocGetRootElement(live), "devices") : NULL;

	if (!devices)
		return -1;
	for (xmlNodePtr n = devices->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && alias_is(n, alias))
			return 1;
	return 0;
}

/*
 * Hot-plug DEV (a device element, which this takes) into the running domain,
 * or, DEV NULL, unplug the device ALIAS from it; nothing when it is so
 * already. 0; -EIO: libvirt refused (lverr() says why); -ENOMEM.
 */
static int live_plug(virDomainPtr dom, xmlDocPtr live, const char *alias, xmlNodePtr dev)
{
	int has = live_has(live, alias);
	xmlDocPtr doc;
	char *xml = NULL;
	int r;

	if (!dev)
		return has == 0 || virDomainDetachDeviceAlias(dom, alias, VIR_DOMAIN_AFFECT_LIVE) == 0 ? 0 : -EIO;
	if (has == 1 || !(doc = xmlNewDoc(BAD_CAST "1.0"))) {
		xmlFreeNode(dev);
		return has == 1 ? 0 : -ENOMEM;
	}
	xmlDocSetRootElement(doc, dev);
	r = doc_to_string(doc, &xml);
	if (r == 0 && virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
		r = -EIO;
	free(xml);
	xmlFreeDoc(doc);
	return r;
}

/* The running domain has vmgpu's virtio-gpu 3D, rendered on NODE. */
static bool live_virgl_on(xmlDocPtr live, const char *node)
{
	xmlNodePtr devices = live ? child(xmlDocGetRootElement(live), "devices") : NULL;

	if (live_has(live, "ua-vmgpu-virgl") != 1)
		return false;
	for (xmlNodePtr n = devices->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && egl_headless_on(n, node))
			return true;
	return false;
}

static const char *plug_error(int r)
{
	return r == -ENOMEM ? "out of memory" : lverr();
}

static int live_any(virDomainPtr dom, const struct virt_req *e, bool detach, struct lvreport *rep)
{
	xmlDocPtr live = live_doc(dom);
	char alias[64];
	int failed = 0, r;

	for (size_t i = 0; i < e->n_fns; i++) {
		const struct virt_fn *fn = &e->fns[i];
		hostdev_alias(alias, sizeof(alias), fn);
		/* No guest address: q35 root ports cannot be hot-added, so the
		 * function goes to a free hotpluggable port for now and to its
		 * own port at the next boot. */
		if ((r = live_plug(dom, live, alias, detach ? NULL : new_hostdev(fn, e->flags))) < 0) {
			say(rep, "live: %s: %s", fn->address, plug_error(r));
			failed = -EIO;
		}
	}
	for (size_t i = 0; i < e->n_mdevs; i++) {
		mdev_alias(alias, sizeof(alias), e->mdevs[i]);
		if ((r = live_plug(dom, live, alias, detach ? NULL : new_mdev_hostdev(e->mdevs[i]))) < 0) {
			say(rep, "live: mdev %s: %s", e->mdevs[i], plug_error(r));
			failed = -EIO;
		}
	}
	if (e->render_node && (detach ? live_has(live, "ua-vmgpu-virgl") != 0 : !live_virgl_on(live, e->render_node))) {
		say(rep, "live: a video device cannot be changed in a running domain; it applies at the next boot");
		failed = -EIO;
	}
	xmlFreeDoc(live);
	return failed;
}

static int libvirt_apply(const struct virt_req *req, const char *uri, const char *vm, bool detach, bool dry_run,
			 char **ret_xml, char **ret_report)
{
	struct lvreport rep = { 0 };
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	char *xml = NULL, *newxml = NULL, why[128];
	xmlDocPtr doc = NULL;
	int r = 0;

	rep.f = open_memstream(&rep.buf, &rep.len);
	if (!rep.f)
		return -ENOMEM;
	/* libvirt's process-wide error handler (the one that sees a failing
	 * virConnectOpen) is set only when libvirt came into the process with
	 * this module, and is then ours alone; a program that uses libvirt
	 * itself keeps its own (libvirt has no call to read it back and
	 * restore it). vmgpu's own connection keeps its errors to itself. */
	if (!req->libvirt_shared)
		virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(uri ? uri : "qemu:///system");
	if (!conn) {
		say(&rep, "cannot connect to %s: %s", uri ? uri : "qemu:///system", lverr());
		r = -ECONNREFUSED;
		goto out;
	}
	virConnSetErrorFunc(conn, NULL, quiet);
	dom = virDomainLookupByName(conn, vm);
	if (!dom) {
		say(&rep, "no domain named '%s' on %s", vm, uri ? uri : "qemu:///system");
		r = -ENOENT;
		goto out;
	}
	if ((r = check_domain(dom, req, detach, &rep)) < 0)
		goto out;
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	if (!xml || !(doc = parse_xml(xml))) {
		say(&rep, "cannot read the definition of '%s': %s", vm, lverr());
		r = -EIO;
		goto out;
	}
	if ((r = edit_any(doc, req, detach, why, sizeof(why))) < 0 || (r = doc_to_string(doc, &newxml)) < 0) {
		say(&rep, "%s", r == -ENOMEM ? "out of memory" : why);
		goto out;
	}
	if (dry_run)
		goto out;
	virDomainPtr defined = virDomainDefineXML(conn, newxml);
	if (!defined) {
		say(&rep, "libvirt refused the new definition (the domain is unchanged): %s", lverr());
		r = -EINVAL;
		goto out;
	}
	virDomainFree(defined);
	say(&rep, "%s the persistent definition of '%s'", detach ? "removed from" : "added to", vm);
	if (virDomainIsActive(dom) == 1) {
		if (live_any(dom, req, detach, &rep) < 0) {
			say(&rep, "the running domain was not fully updated; the definition applies at the next boot");
			r = -EIO;
		} else {
			say(&rep, "%s the running domain", detach ? "unplugged from" : "hot-plugged into");
		}
	}
out:
	if (ret_xml && r == 0) {
		*ret_xml = newxml;
		newxml = NULL;
	}
	free(newxml);
	free(xml);
	xmlFreeDoc(doc);
	if (dom)
		virDomainFree(dom);
	if (conn)
		virConnectClose(conn);
	fclose(rep.f);
	if (rep.len && rep.buf[rep.len - 1] == '\n')
		rep.buf[rep.len - 1] = '\0';
	if (ret_report)
		*ret_report = rep.buf;
	else
		free(rep.buf);
	return r;
}

/* DOMAIN_XML (or a skeleton q35 domain named VM) edited to hold REQ. */
static int render(const struct virt_req *req, const char *domain_xml, const char *vm, char **ret)
{
	xmlDocPtr doc;
	char why[128];
	int r;

	if (!domain_xml && !valid_utf8_name(vm))
		return -EINVAL;
	doc = domain_xml ? parse_xml(domain_xml) : skeleton(vm);
	if (!doc)
		return -EINVAL;
	r = edit_any(doc, req, false, why, sizeof(why));
	if (r == 0)
		r = doc_to_string(doc, ret);
	xmlFreeDoc(doc);
	return r;
}

/* ---- a running domain, for vmgpu verify ---- */

struct virt_domain {
	virConnectPtr conn;
	virDomainPtr dom;
};

_printf_(3, 4) static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

static void domain_close(struct virt_domain *d)
{
	if (!d)
		return;
	if (d->dom)
		virDomainFree(d->dom);
	if (d->conn)
		virConnectClose(d->conn);
	free(d);
}

static int domain_open(const char *uri, const char *vm, bool libvirt_shared, struct virt_domain **ret,
		       char **ret_error)
{
	const char *u = uri ? uri : "qemu:///system";
	struct virt_domain *d = calloc(1, sizeof(*d));
	int r = 0;

	if (!d)
		return -ENOMEM;
	if (!libvirt_shared)
		virSetErrorFunc(NULL, quiet);
	if (!(d->conn = virConnectOpen(u)))
		r = fail(ret_error, -ECONNREFUSED, "cannot connect to %s: %s", u, lverr());
	else if (virConnSetErrorFunc(d->conn, NULL, quiet), !(d->dom = virDomainLookupByName(d->conn, vm)))
		r = fail(ret_error, -ENOENT, "no domain named '%s' on %s", vm, u);
	else if (virDomainIsActive(d->dom) != 1)
		r = fail(ret_error, -ESRCH, "domain '%s' is not running: only a running guest can show its devices", vm);
	if (r < 0) {
		domain_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

/* libvirt marks the domain tainted (custom-monitor) in its log: the
 * pass-through is for diagnostics, which this is. */
static int monitor(struct virt_domain *d, const char *cmd, char **ret_reply, char **ret_error)
{
	char *reply = NULL;

	if (virDomainQemuMonitorCommand(d->dom, cmd, &reply, 0) < 0 || !reply)
		return fail(ret_error, -EIO, "libvirt's QEMU monitor pass-through failed: %s", lverr());
	*ret_reply = reply;
	return 0;
}

/* libvirt turns an agent's {"error": ...} into VIR_ERR_INTERNAL_ERROR;
 * these mean no agent to talk to (not configured, not connected, silent,
 * out of sync, domain gone). */
static bool no_agent(int code)
{
	return code == VIR_ERR_AGENT_UNRESPONSIVE || code == VIR_ERR_AGENT_UNSYNCED ||
	       code == VIR_ERR_ARGUMENT_UNSUPPORTED || code == VIR_ERR_OPERATION_UNSUPPORTED ||
	       code == VIR_ERR_OPERATION_INVALID || code == VIR_ERR_NO_SUPPORT;
}

static int agent(struct virt_domain *d, const char *cmd, int timeout_s, char **ret_reply, char **ret_error)
{
	char *reply = virDomainQemuAgentCommand(d->dom, cmd, timeout_s, 0);
	virErrorPtr e;

	if (reply) {
		*ret_reply = reply;
		return 0;
	}
	e = virGetLastError();
	return fail(ret_error, e && no_agent(e->code) ? -ENOTCONN : -EREMOTEIO, "%s", lverr());
}

static int aliases(struct virt_domain *d, char **ret, char **ret_error)
{
	xmlDocPtr live = live_doc(d->dom);
	xmlNodePtr devices = live ? child(xmlDocGetRootElement(live), "devices") : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!devices) {
		xmlFreeDoc(live);
		return fail(ret_error, -EIO, "cannot read the live definition: %s", lverr());
	}
	if (!(f = open_memstream(&buf, &len))) {
		xmlFreeDoc(live);
		return -ENOMEM;
	}
	for (xmlNodePtr n = devices->children; n; n = n->next) {
		xmlNodePtr a = n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "hostdev") == 0 ? child(n, "alias")
													    : NULL;
		xmlChar *name = a ? xmlGetProp(a, BAD_CAST "name") : NULL;
		if (name && strncmp((const char *)name, "ua-vmgpu-", 9) == 0 && !strchr((const char *)name, '\n'))
			fprintf(f, "%s\n", (const char *)name);
		xmlFree(name);
	}
	xmlFreeDoc(live);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

static const struct virt_ops ops = {
	.abi = VIRT_MODULE_ABI,
	.render = render,
	.update = libvirt_apply,
	.domain_open = domain_open,
	.monitor = monitor,
	.agent = agent,
	.aliases = aliases,
	.domain_close = domain_close,
};

__attribute__((visibility("default"))) const struct virt_ops *vmgpu_virt_module(void)
{
	return &ops;
}
