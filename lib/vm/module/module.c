/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmgpu-virt.so, the libvirt half: connect, look the domain up, refuse what
 * libvirt would refuse later (a managed save image, functions not on
 * vfio-pci for an unmanaged hostdev), define the edited XML (domain-xml.c),
 * hot-plug into a running domain, and the monitor and agent pass-through of
 * vmgpu verify. Its one export is the ops table, vmgpu_virt_module().
 */
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

#include "module.h"

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
	xmlDocPtr doc = xml ? domxml_parse(xml) : NULL;

	free(xml);
	return doc;
}

/* Whether the live definition has the device ALIAS: 1 or 0; -1 when it
 * cannot be read (then try, and let libvirt say what is wrong). */
static int live_has(xmlDocPtr live, const char *alias)
{
	xmlNodePtr devices = live ? domxml_child(xmlDocGetRootElement(live), "devices") : NULL;

	if (!devices)
		return -1;
	for (xmlNodePtr n = devices->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && domxml_alias_is(n, alias))
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
	r = domxml_to_string(doc, &xml);
	if (r == 0 && virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) < 0)
		r = -EIO;
	free(xml);
	xmlFreeDoc(doc);
	return r;
}

/* The running domain has vmgpu's virtio-gpu 3D, rendered on NODE. */
static bool live_virgl_on(xmlDocPtr live, const char *node)
{
	xmlNodePtr devices = live ? domxml_child(xmlDocGetRootElement(live), "devices") : NULL;

	if (live_has(live, "ua-vmgpu-virgl") != 1)
		return false;
	for (xmlNodePtr n = devices->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && domxml_egl_headless_on(n, node))
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
		domxml_hostdev_alias(alias, sizeof(alias), fn);
		/* No guest address: q35 root ports cannot be hot-added, so the
		 * function goes to a free hotpluggable port for now and to its
		 * own port at the next boot. */
		if ((r = live_plug(dom, live, alias, detach ? NULL : domxml_new_hostdev(fn, e->flags))) < 0) {
			say(rep, "live: %s: %s", fn->address, plug_error(r));
			failed = -EIO;
		}
	}
	for (size_t i = 0; i < e->n_mdevs; i++) {
		domxml_mdev_alias(alias, sizeof(alias), e->mdevs[i]);
		if ((r = live_plug(dom, live, alias, detach ? NULL : domxml_new_mdev_hostdev(e->mdevs[i]))) < 0) {
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
	if (!xml || !(doc = domxml_parse(xml))) {
		say(&rep, "cannot read the definition of '%s': %s", vm, lverr());
		r = -EIO;
		goto out;
	}
	if ((r = domxml_edit(doc, req, detach, why, sizeof(why))) < 0 || (r = domxml_to_string(doc, &newxml)) < 0) {
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

	if (!domain_xml && !domxml_valid_name(vm))
		return -EINVAL;
	doc = domain_xml ? domxml_parse(domain_xml) : domxml_skeleton(vm);
	if (!doc)
		return -EINVAL;
	r = domxml_edit(doc, req, false, why, sizeof(why));
	if (r == 0)
		r = domxml_to_string(doc, ret);
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
	xmlNodePtr devices = live ? domxml_child(xmlDocGetRootElement(live), "devices") : NULL;
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
		xmlNodePtr a = n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "hostdev") == 0 ? domxml_child(n, "alias")
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
