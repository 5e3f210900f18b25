/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers for text we do not control: sysfs attributes, user-supplied PCI
 * addresses, the "resource" table. All are strict (whole input, range
 * checked) and have libFuzzer targets in tests/fuzz/.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse digits in BASE (10 or 16) from *P, at most MAXDIGITS; advances *P. */
static int parse_digits(const char **p, int base, unsigned maxdigits, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned n = 0;

	for (; **p; (*p)++, n++) {
		int d = base == 16 ? hexval(**p) : (isdigit((unsigned char)**p) ? **p - '0' : -1);
		if (d < 0)
			break;
		if (n >= maxdigits || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool at_end(const char *p)
{
	return *p == '\0' || (p[0] == '\n' && p[1] == '\0');
}

/* BASE 0: "0x" prefix means hex, otherwise decimal. */
int parse_u64(const char *s, int base, uint64_t *ret)
{
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = 10;
	}
	r = parse_digits(&s, base, 32, &v);
	if (r < 0)
		return r;
	if (!at_end(s))
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_int(const char *s, int base, int *ret)
{
	bool neg = s && *s == '-';
	uint64_t v;
	int r = parse_u64(neg ? s + 1 : s, base, &v);

	if (r < 0)
		return r;
	if (v > (uint64_t)INT32_MAX + neg)
		return -ERANGE;
	*ret = neg ? (int)-(int64_t)v : (int)v;
	return 0;
}

static int parse_hex_field(const char **p, unsigned maxdigits, uint64_t max, uint64_t *ret)
{
	int r = parse_digits(p, 16, maxdigits, ret);

	if (r < 0)
		return r;
	return *ret > max ? -ERANGE : 0;
}

/* [DDDD:]BB:DD.F — the domain may have up to 8 hex digits (VMD uses 10000+). */
static int parse_address_impl(const char *s, bool need_domain, struct pci_address *ret)
{
	const char *p = s;
	uint64_t a, b, d, f, dom = 0;

	if (!s)
		return -EINVAL;
	if (parse_hex_field(&p, 8, UINT32_MAX, &a) < 0 || *p++ != ':')
		return -EINVAL;
	if (parse_hex_field(&p, 2, 0xff, &b) < 0)
		return -EINVAL;
	if (*p == ':') {
		p++;
		dom = a;
		a = b;
		if (parse_hex_field(&p, 2, 0x1f, &b) < 0)
			return -EINVAL;
	} else if (need_domain) {
		return -EINVAL;
	}
	/* now a = bus, b = device */
	if (a > 0xff || b > 0x1f || *p++ != '.')
		return -EINVAL;
	if (parse_hex_field(&p, 1, 7, &f) < 0 || *p != '\0')
		return -EINVAL;
	d = b;
	ret->domain = (uint32_t)dom;
	ret->bus = (uint8_t)a;
	ret->dev = (uint8_t)d;
	ret->fn = (uint8_t)f;
	return 0;
}

int parse_pci_address(const char *s, struct pci_address *ret)
{
	return parse_address_impl(s, false, ret);
}

int parse_sysfs_address(const char *s, struct pci_address *ret)
{
	return parse_address_impl(s, true, ret);
}

int pci_address_cmp(const struct pci_address *a, const struct pci_address *b)
{
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->fn != b->fn)
		return a->fn < b->fn ? -1 : 1;
	return 0;
}

void format_pci_address(const struct pci_address *a, char buf[static PCI_ADDRESS_MAX])
{
	snprintf(buf, PCI_ADDRESS_MAX, "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev, a->fn);
}

VMGPU_EXPORT int vmgpu_parse_address(const char *s, uint32_t *ret_domain, uint8_t *ret_bus,
				     uint8_t *ret_dev, uint8_t *ret_fn)
{
	assert_return(s, -EINVAL);
	assert_return(ret_domain, -EINVAL);
	assert_return(ret_bus, -EINVAL);
	assert_return(ret_dev, -EINVAL);
	assert_return(ret_fn, -EINVAL);

	struct pci_address a;
	int r = parse_pci_address(s, &a);

	if (r < 0)
		return r;
	*ret_domain = a.domain;
	*ret_bus = a.bus;
	*ret_dev = a.dev;
	*ret_fn = a.fn;
	return 0;
}

/* "0x%016llx" exactly as drivers/pci/pci-sysfs.c resource_show() prints it,
 * but accept any width: other kernels and snapshot tools vary. */
static int parse_resource_field(const char **p, uint64_t *ret)
{
	if ((*p)[0] != '0' || ((*p)[1] != 'x' && (*p)[1] != 'X'))
		return -EINVAL;
	*p += 2;
	return parse_digits(p, 16, 16, ret);
}

int parse_resource(const char *text, struct resource_line lines[static RESOURCE_MAX_LINES])
{
	const char *p = text;
	int n = 0;

	if (!text)
		return -EINVAL;
	while (*p) {
		struct resource_line l;

		if (n >= RESOURCE_MAX_LINES)
			return -EINVAL;
		if (parse_resource_field(&p, &l.start) < 0 || *p++ != ' ' ||
		    parse_resource_field(&p, &l.end) < 0 || *p++ != ' ' ||
		    parse_resource_field(&p, &l.flags) < 0)
			return -EINVAL;
		if (*p == '\n')
			p++;
		else if (*p != '\0')
			return -EINVAL;
		lines[n++] = l;
	}
	return n;
}

VMGPU_EXPORT bool vmgpu_is_uuid(const char *s)
{
	static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i]; i++)
		if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}
