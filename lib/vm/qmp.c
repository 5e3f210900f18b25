/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What QEMU's monitor and its guest agent answer, parsed strictly: a reply
 * is one JSON object, {"return": ...} or {"error": {"class", "desc"}}.
 * Anything else is -EPROTO, never a guess (the fuzz target fuzz-qmp reads
 * every parser here).
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "verify.h"
#include "host.h"

/* query-pci nests a bridge's bus in the bridge; QEMU allows 256 buses. */
#define MAX_DEPTH 16
#define MAX_FNS 8192

/* What the guest or QEMU says reaches one-line reports: no control
 * characters (a guest agent is the guest's, and may say anything). */
static char *clean(char *s)
{
	for (char *p = s; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static char *dup_clean(const char *s)
{
	return clean(strdup(s));
}

static json_object *parse_object(const char *text)
{
	json_object *o = text ? json_tokener_parse(text) : NULL;

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *member(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

int qmp_reply(const char *reply, json_object **ret_return, char **ret_desc)
{
	json_object *root = parse_object(reply), *ret, *err, *desc;
	int r = -EPROTO;

	if (!root)
		return -EPROTO;
	if (json_object_object_get_ex(root, "return", &ret)) {
		*ret_return = json_object_get(ret);
		r = 0;
	} else if ((err = member(root, "error", json_type_object))) {
		desc = member(err, "desc", json_type_string);
		if (ret_desc)
			*ret_desc = dup_clean(desc ? json_object_get_string(desc) : "QEMU reported an error");
		r = -EREMOTEIO;
	}
	json_object_put(root);
	return r;
}

/* An integer member in [MIN, MAX]. */
static bool get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	json_object *v = member(o, key, json_type_int);
	int64_t x;

	if (!v)
		return false;
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return false;
	*ret = x;
	return true;
}

/*
 * A BAR QEMU has not placed reads as PCI_BAR_UNMAPPED, all ones: QMP
 * declares "address" an int, so QEMU 7.2 prints -1; other versions and
 * proxies print 18446744073709551615. QEMU also reports a BAR unmapped
 * while the command register has its decoding (memory or I/O) off: a
 * mapped address means the guest both placed and enabled it.
 */
static bool bar_mapped(json_object *region)
{
	json_object *a = member(region, "address", json_type_int);

	if (!a)
		return false;
	/* json-c keeps values above INT64_MAX as uint64 */
	if (json_object_get_int64(a) == -1 || json_object_get_uint64(a) == UINT64_MAX)
		return false;
	return true;
}

static int read_regions(json_object *dev, struct qmp_fn *f)
{
	json_object *regions = member(dev, "regions", json_type_array), *type;

	if (!regions)
		return -EPROTO;
	for (size_t i = 0; i < json_object_array_length(regions); i++) {
		json_object *rg = json_object_array_get_idx(regions, i);
		if (!(type = member(rg, "type", json_type_string)))
			return -EPROTO;
		if (strcmp(json_object_get_string(type), "memory") != 0)
			continue;
		f->n_bars++;
		if (bar_mapped(rg))
			f->n_mapped++;
	}
	return 0;
}

static int add_fn(struct qmp_pci *p, const struct qmp_fn *f)
{
	struct qmp_fn *n;

	if (p->n >= MAX_FNS)
		return -EPROTO;
	n = realloc(p->fns, (p->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->fns = n;
	p->fns[p->n++] = *f;
	return 0;
}

static int read_devices(struct qmp_pci *p, json_object *devices, const char *port, unsigned depth);

/* A bridge: the bus number behind it, and what sits there. QEMU lists a
 * bridge's devices only once the guest has numbered its secondary bus. */
static int read_bridge(struct qmp_pci *p, json_object *dev, size_t self, unsigned depth)
{
	json_object *br = member(dev, "pci_bridge", json_type_object), *bus, *devices;
	int64_t secondary;

	if (!br)
		return 0;
	bus = member(br, "bus", json_type_object);
	if (!bus || !get_int(bus, "secondary", 0, 255, &secondary))
		return -EPROTO;
	p->fns[self].secondary = (int)secondary;
	if (!json_object_object_get_ex(br, "devices", &devices))
		return 0;
	if (!json_object_is_type(devices, json_type_array))
		return -EPROTO;
	/* p->fns moves as it grows: pass a copy of the bridge's id */
	_cleanup_free_ char *id = strdup(p->fns[self].qdev_id);
	if (!id)
		return -ENOMEM;
	return read_devices(p, devices, id, depth + 1);
}

static int read_device(struct qmp_pci *p, json_object *dev, const char *port, unsigned depth)
{
	json_object *id = member(dev, "id", json_type_object), *qdev = member(dev, "qdev_id", json_type_string);
	int64_t bus, slot, fn, vendor, device;
	struct qmp_fn f = { .secondary = -1 };
	int r;

	if (!id || !qdev || !get_int(dev, "bus", 0, 255, &bus) || !get_int(dev, "slot", 0, 31, &slot) ||
	    !get_int(dev, "function", 0, 7, &fn) || !get_int(id, "vendor", 0, 0xffff, &vendor) ||
	    !get_int(id, "device", 0, 0xffff, &device))
		return -EPROTO;
	f = (struct qmp_fn){ .bus = (int)bus, .slot = (int)slot, .function = (int)fn, .vendor = (uint16_t)vendor,
			     .device = (uint16_t)device, .secondary = -1 };
	if ((r = read_regions(dev, &f)) < 0)
		return r;
	f.qdev_id = dup_clean(json_object_get_string(qdev));
	f.port = port ? strdup(port) : NULL;
	if (!f.qdev_id || (port && !f.port) || (r = add_fn(p, &f)) < 0) {
		free(f.qdev_id);
		free(f.port);
		return r < 0 ? r : -ENOMEM;
	}
	return read_bridge(p, dev, p->n - 1, depth);
}

static int read_devices(struct qmp_pci *p, json_object *devices, const char *port, unsigned depth)
{
	int r;

	if (depth > MAX_DEPTH)
		return -EPROTO;
	for (size_t i = 0; i < json_object_array_length(devices); i++)
		if ((r = read_device(p, json_object_array_get_idx(devices, i), port, depth)) < 0)
			return r;
	return 0;
}

void qmp_pci_done(struct qmp_pci *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->fns[i].qdev_id);
		free(p->fns[i].port);
	}
	free(p->fns);
	*p = (struct qmp_pci){ 0 };
}

/* {"return": [{"bus": 0, "devices": [...]}, ...]}: one entry per root bus. */
int qmp_parse_query_pci(const char *reply, struct qmp_pci *ret, char **ret_desc)
{
	json_object *buses = NULL, *devices;
	struct qmp_pci p = { 0 };
	int r = qmp_reply(reply, &buses, ret_desc);

	if (r == 0 && !json_object_is_type(buses, json_type_array))
		r = -EPROTO;
	for (size_t i = 0; r == 0 && i < json_object_array_length(buses); i++) {
		if (!(devices = member(json_object_array_get_idx(buses, i), "devices", json_type_array)))
			r = -EPROTO;
		else
			r = read_devices(&p, devices, NULL, 0);
	}
	json_object_put(buses);
	if (r < 0) {
		qmp_pci_done(&p);
		return r;
	}
	*ret = p;
	return 0;
}

/* ---- guest agent ---- */

static int qga_return(const char *reply, json_type type, json_object **ret)
{
	json_object *v = NULL;
	int r = qmp_reply(reply, &v, NULL);

	if (r == 0 && !json_object_is_type(v, type)) {
		json_object_put(v);
		r = -EPROTO;
	}
	if (r == 0)
		*ret = v;
	return r;
}

static char *dup_member(json_object *o, const char *key)
{
	json_object *v = member(o, key, json_type_string);

	return v ? dup_clean(json_object_get_string(v)) : NULL;
}

int qga_parse_osinfo(const char *reply, char **ret_id, char **ret_pretty)
{
	json_object *o = NULL;
	int r = qga_return(reply, json_type_object, &o);

	if (r < 0)
		return r;
	*ret_id = dup_member(o, "id");
	*ret_pretty = dup_member(o, "pretty-name");
	json_object_put(o);
	return 0;
}

int qga_parse_int(const char *reply, int64_t *ret)
{
	json_object *o = NULL;
	int r = qga_return(reply, json_type_int, &o);

	if (r < 0)
		return r;
	*ret = json_object_get_int64(o);
	json_object_put(o);
	return 0;
}

static int b64_value(int c)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

/* RFC 4648 base64, as GLib's g_base64_encode writes it (padded). */
static int base64_decode(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s), len = 0;
	char *out;
	unsigned bits = 0, acc = 0;

	if (n % 4)
		return -EPROTO;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(s[i]);
		if (s[i] == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '='))
			break;
		if (v < 0) {
			free(out);
			return -EPROTO;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[len] = '\0';
	*ret = out;
	*ret_len = len;
	return 0;
}

int qga_parse_file_read(const char *reply, char **ret_buf, size_t *ret_len, bool *ret_eof)
{
	json_object *o = NULL, *b64, *eof;
	int r = qga_return(reply, json_type_object, &o);

	if (r < 0)
		return r;
	b64 = member(o, "buf-b64", json_type_string);
	eof = member(o, "eof", json_type_boolean);
	if (!b64 || !eof)
		r = -EPROTO;
	else if ((r = base64_decode(json_object_get_string(b64), ret_buf, ret_len)) == 0)
		*ret_eof = json_object_get_boolean(eof);
	json_object_put(o);
	return r;
}

static int parse_pci_id(const char *v, uint16_t *ret_vendor, uint16_t *ret_device)
{
	unsigned vendor, device;
	int end = 0;

	if (sscanf(v, "%4x:%4x%n", &vendor, &device, &end) != 2 || v[end] || end != 9)
		return -EPROTO;
	*ret_vendor = (uint16_t)vendor;
	*ret_device = (uint16_t)device;
	return 0;
}

/* KEY=VALUE lines (drivers/pci/pci-driver.c pci_uevent(), plus DRIVER= from
 * the driver core when one is bound); PCI_ID is upper-case hex. */
int parse_pci_uevent(const char *text, struct guest_uevent *ret)
{
	struct guest_uevent u = { 0 };
	bool have_id = false;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[128];
		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (strncmp(buf, "DRIVER=", 7) == 0)
				snprintf(u.driver, sizeof(u.driver), "%.63s", buf + 7);
			else if (strncmp(buf, "PCI_SLOT_NAME=", 14) == 0)
				snprintf(u.slot_name, sizeof(u.slot_name), "%.15s", buf + 14);
			else if (strncmp(buf, "PCI_ID=", 7) == 0)
				have_id = parse_pci_id(buf + 7, &u.vendor, &u.device) == 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!have_id)
		return -EPROTO;
	clean(u.driver);
	clean(u.slot_name);
	*ret = u;
	return 0;
}

void guest_windevs_free(struct guest_windev *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].driver_name);
		free(d[i].driver_version);
	}
	free(d);
}

/* {"driver-name", "driver-version"?, "id": {"type": "pci", "vendor-id",
 * "device-id"}?}: devices without a PCI id are skipped. */
static bool read_windev(json_object *o, struct guest_windev *ret)
{
	json_object *id = member(o, "id", json_type_object), *type = member(id, "type", json_type_string);
	int64_t vendor, device;

	if (!type || strcmp(json_object_get_string(type), "pci") != 0 || !get_int(id, "vendor-id", 0, 0xffff, &vendor) ||
	    !get_int(id, "device-id", 0, 0xffff, &device))
		return false;
	*ret = (struct guest_windev){ .driver_name = dup_member(o, "driver-name"),
				      .driver_version = dup_member(o, "driver-version"), .vendor = (uint16_t)vendor,
				      .device = (uint16_t)device };
	return true;
}

int qga_parse_devices(const char *reply, struct guest_windev **ret, size_t *ret_n)
{
	json_object *list = NULL;
	struct guest_windev *d;
	size_t n = 0;
	int r = qga_return(reply, json_type_array, &list);

	if (r < 0)
		return r;
	d = calloc(json_object_array_length(list) + 1, sizeof(*d));
	if (!d) {
		json_object_put(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (read_windev(json_object_array_get_idx(list, i), &d[n]))
			n++;
	json_object_put(list);
	*ret = d;
	*ret_n = n;
	return 0;
}

/* ---- ids ---- */

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "DDDD-BB-DD-F" (FN true) or "DDDD-BB-DD": a host address as ids carry it. */
static bool id_address(const char *s, bool fn, char key[static 40])
{
	size_t want = fn ? 12 : 10;

	if (strlen(s) != want || !hex_run(s, 4) || s[4] != '-' || !hex_run(s + 5, 2) || s[7] != '-' ||
	    !hex_run(s + 8, 2) || (fn && (s[10] != '-' || s[11] < '0' || s[11] > '7')))
		return false;
	if (strtoul(s + 8, NULL, 16) > 0x1f)
		return false;
	snprintf(key, 40, "%.4s:%.2s:%.2s.%c", s, s + 5, s + 8, fn ? s[11] : '0');
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

enum vmgpu_id_kind vmgpu_id_parse(const char *id, char ret_key[static 40])
{
	const char *s = id;

	if (strncmp(s, "ua-", 3) == 0)
		s += 3;
	if (strncmp(s, "vmgpu-", 6) != 0)
		return VMGPU_ID_NONE;
	s += 6;
	if (strncmp(s, "mdev-rp", 7) == 0 && s[7] && strspn(s + 7, "0123456789") == strlen(s + 7)) {
		snprintf(ret_key, 40, "mdev-%s", s + 7);
		return VMGPU_ID_PORT;
	}
	if (strncmp(s, "mdev-", 5) == 0 && vmgpu_is_uuid(s + 5)) {
		snprintf(ret_key, 40, "%s", s + 5);
		for (char *p = ret_key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return VMGPU_ID_MDEV;
	}
	/* libvirt's ports: named after the host slot, plus the function of
	 * the slot's first function when that is not 0 (a VF) */
	if (strncmp(s, "rp-", 3) == 0 && (id_address(s + 3, false, ret_key) || id_address(s + 3, true, ret_key)))
		return VMGPU_ID_PORT;
	if (strncmp(s, "rp", 2) == 0 && s[2] && strspn(s + 2, "0123456789") == strlen(s + 2)) {
		snprintf(ret_key, 40, "%s", s + 2);
		return VMGPU_ID_PORT;
	}
	return id_address(s, true, ret_key) ? VMGPU_ID_FUNCTION : VMGPU_ID_NONE;
}
