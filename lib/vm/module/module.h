/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside vmgpu-virt.so: the domain XML edits (domain-xml.c, libxml2 only)
 * that the libvirt half (module.c) defines and hot-plugs. The module knows
 * nothing of libvmgpu: its request is the plain data of virt-req.h.
 */
#pragma once

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "virt-req.h"

/* The first element child of PARENT named NAME, or NULL. */
xmlNodePtr domxml_child(xmlNodePtr parent, const char *name);
/* N has <alias name='ALIAS'/> (a user alias, "ua-vmgpu-...", which libvirt
 * keeps as given and uses as QEMU's device id). */
bool domxml_alias_is(xmlNodePtr n, const char *alias);
/* The aliases vmgpu gives a host function and an mdev instance. */
void domxml_hostdev_alias(char *buf, size_t sz, const struct virt_fn *f);
void domxml_mdev_alias(char *buf, size_t sz, const char *uuid);
/* A new, unlinked <hostdev> for a host function / an mdev (free it or link it). */
xmlNodePtr domxml_new_hostdev(const struct virt_fn *fn, unsigned flags);
xmlNodePtr domxml_new_mdev_hostdev(const char *uuid);
/* N is an egl-headless <graphics> on render node NODE. */
bool domxml_egl_headless_on(xmlNodePtr n, const char *node);
/* DOC edited to hold REQ, or (REMOVE) not to: 0, or -EINVAL with WHY. */
int domxml_edit(xmlDocPtr doc, const struct virt_req *req, bool remove, char *why, size_t sz);
/* DOC as text (malloc'ed), for virDomainDefineXML() and --dry-run. */
int domxml_to_string(xmlDocPtr doc, char **ret);
/* XML text parsed without network access or entity expansion; NULL when
 * it is not well-formed. */
xmlDocPtr domxml_parse(const char *xml);
/* A minimal q35 domain named VM, for --format xml without a definition. */
xmlDocPtr domxml_skeleton(const char *vm);
/* VM is a name libvirt takes: not empty, valid UTF-8. */
bool domxml_valid_name(const char *s);
