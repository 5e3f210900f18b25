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
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "module.h"

#define KiB 1024ULL

xmlNodePtr domxml_child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
			return c;
	return NULL;
}

static xmlNodePtr child_or_new(xmlNodePtr parent, const char *name)
{
	xmlNodePtr c = domxml_child(parent, name);

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

void domxml_hostdev_alias(char *buf, size_t sz, const struct virt_fn *f)
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

bool domxml_alias_is(xmlNodePtr n, const char *alias)
{
	xmlNodePtr a = domxml_child(n, "alias");

	return a && attr_is(a, "name", alias);
}

/* A PCI hostdev whose <source> is host function F. Only a PCI one: a USB
 * hostdev's <address bus='1' device='5'/> has no slot or function, and
 * read as zeros it would be 0000:01:00.0. libvirt takes a missing mode as
 * 'subsystem' (and writes it out). */
static bool hostdev_is(xmlNodePtr n, const struct virt_fn *f)
{
	xmlNodePtr a = domxml_child(domxml_child(n, "source"), "address");

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
		    (xmlStrcmp(n->name, BAD_CAST "controller") == 0 && domxml_alias_is(n, alias)))
			return true;
	}
	return false;
}

static bool is_q35(xmlNodePtr domain)
{
	xmlNodePtr type = domxml_child(domxml_child(domain, "os"), "type");
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
xmlNodePtr domxml_new_hostdev(const struct virt_fn *fn, unsigned flags)
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
	domxml_hostdev_alias(alias, sizeof(alias), fn);
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
	hole = domxml_child(root, "pcihole64");
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
		xmlNodePtr h = xmlAddChild(devices, domxml_new_hostdev(&l->fns[i], flags));
		add_guest_address(h, &l->fns[i], q35, base + l->fns[i].slot);
	}
	if (l->hole64_needed && q35)
		set_pcihole64(devices, l->hole64);
	if (flags & VIRT_NVIDIA_HIDE)
		hide_hypervisor(domain);
}

/* ---- slices: mdev instances, virtio-gpu on a render node ---- */

void domxml_mdev_alias(char *buf, size_t sz, const char *uuid)
{
	snprintf(buf, sz, "ua-vmgpu-mdev-%.36s", uuid);
}

xmlNodePtr domxml_new_mdev_hostdev(const char *uuid)
{
	xmlNodePtr h = xmlNewNode(NULL, BAD_CAST "hostdev"), a;
	char alias[64];

	xmlSetProp(h, BAD_CAST "mode", BAD_CAST "subsystem");
	xmlSetProp(h, BAD_CAST "type", BAD_CAST "mdev");
	xmlSetProp(h, BAD_CAST "model", BAD_CAST "vfio-pci");
	a = xmlNewChild(xmlNewChild(h, NULL, BAD_CAST "source", NULL), NULL, BAD_CAST "address", NULL);
	xmlSetProp(a, BAD_CAST "uuid", BAD_CAST uuid);
	domxml_mdev_alias(alias, sizeof(alias), uuid);
	add_alias(h, alias);
	return h;
}

static bool mdev_hostdev_is(xmlNodePtr n, const char *uuid)
{
	xmlNodePtr a = domxml_child(domxml_child(n, "source"), "address");

	return xmlStrcmp(n->name, BAD_CAST "hostdev") == 0 && attr_is(n, "type", "mdev") && a && attr_is(a, "uuid", uuid);
}

static bool match_mdev(xmlNodePtr n, const void *uuid)
{
	return mdev_hostdev_is(n, uuid);
}

/* Headless display rendered on NODE, as add_virgl() writes it (libvirt
 * keeps no alias on a <graphics>). */
bool domxml_egl_headless_on(xmlNodePtr n, const char *node)
{
	return xmlStrcmp(n->name, BAD_CAST "graphics") == 0 && attr_is(n, "type", "egl-headless") &&
	       attr_is(domxml_child(n, "gl"), "rendernode", node);
}

/* What vmgpu added for virtio-gpu on RENDER_NODE (detach removes only
 * this): its video by alias, its display by render node, as libvirt keeps
 * no alias on a <graphics>... */
static bool match_virgl(xmlNodePtr n, const void *render_node)
{
	return domxml_alias_is(n, "ua-vmgpu-virgl") || domxml_alias_is(n, "ua-vmgpu-virgl-display") || domxml_egl_headless_on(n, render_node);
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
			xmlAddChild(devices, domxml_new_mdev_hostdev(e->mdevs[i]));
	}
	if (e->render_node) {
		remove_children(devices, remove ? match_virgl : match_video, e->render_node);
		if (!remove)
			add_virgl(devices, e->render_node);
	}
}

/* Edit DOC (a <domain>) to hold REQ, or (REMOVE) not to. */
int domxml_edit(xmlDocPtr doc, const struct virt_req *req, bool remove, char *why, size_t sz)
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

int domxml_to_string(xmlDocPtr doc, char **ret)
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

xmlDocPtr domxml_parse(const char *xml)
{
	/* NONET: never fetch an external entity; no entity expansion. */
	return xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

xmlDocPtr domxml_skeleton(const char *vm)
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

bool domxml_valid_name(const char *s)
{
	return s && *s && xmlCheckUTF8((const unsigned char *)s);
}

