/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsers of text we do not control: addresses, integers, resource, iomem. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "host.h"

static void t_address(void)
{
	struct pci_address a;
	char buf[PCI_ADDRESS_MAX];

	CHECK_EQ_INT(parse_pci_address("0000:01:00.0", &a), 0);
	CHECK_EQ_INT(a.bus, 1);
	CHECK_EQ_INT(parse_pci_address("01:1f.7", &a), 0);
	CHECK_EQ_INT(a.domain, 0);
	CHECK_EQ_INT(a.dev, 0x1f);
	CHECK_EQ_INT(a.fn, 7);
	CHECK_EQ_INT(parse_pci_address("10000:e1:00.0", &a), 0); /* VMD domains */
	CHECK_EQ_INT(a.domain, 0x10000);
	format_pci_address(&a, buf);
	CHECK_EQ_STR(buf, "10000:e1:00.0");
	CHECK_EQ_INT(parse_pci_address("0000:0A:1F.3", &a), 0);
	format_pci_address(&a, buf);
	CHECK_EQ_STR(buf, "0000:0a:1f.3");
	/* The bad inputs the issue names, and their cousins. */
	const char *bad[] = { "01:00.9", "../x", "zz", "", "0000:01:00", "0000:01:20.0", "0000:100:00.0",
			      "01:00.0 ", "01:00.0x", ":01:00.0", "0000:01:00.-1", "123456789:00:00.0",
			      "0000:01:00.0/..", "01.00.0", "0x01:00.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_pci_address(bad[i], &a) != -EINVAL) {
			fprintf(stderr, "  accepted bad address '%s'\n", bad[i]);
			test_checks_failed++;
		}
	CHECK_EQ_INT(parse_sysfs_address("01:00.0", &a), -EINVAL); /* sysfs always has the domain */
	CHECK_EQ_INT(parse_pci_address(NULL, &a), -EINVAL);
}

static void t_integers(void)
{
	uint64_t v;
	int i;

	CHECK_EQ_INT(parse_u64("0x10de\n", 16, &v), 0);
	CHECK_EQ_INT(v, 0x10de);
	CHECK_EQ_INT(parse_u64("10de", 16, &v), 0);
	CHECK_EQ_INT(parse_u64("0x", 16, &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("0x10de\n\n", 16, &v), -EINVAL);
	CHECK_EQ_INT(parse_u64("0x1ffffffffffffffff", 16, &v), -ERANGE);
	CHECK_EQ_INT(parse_int("-1\n", 10, &i), 0);
	CHECK_EQ_INT(i, -1);
	CHECK_EQ_INT(parse_int("2147483648", 10, &i), -ERANGE);
	CHECK_EQ_INT(parse_int("-2147483648", 10, &i), 0);
	CHECK_EQ_INT(parse_int("", 10, &i), -EINVAL);
	CHECK_EQ_INT(parse_int("1 2", 10, &i), -EINVAL);
}

static void t_resource(void)
{
	struct resource_line l[RESOURCE_MAX_LINES];
	const char *ok = "0x00000000dc000000 0x00000000ddffffff 0x0000000000040200\n"
			 "0x00000000d0000000 0x00000000d7ffffff 0x000000000014220c\n";
	char big[RESOURCE_MAX_LINES * 60 + 80] = "";

	CHECK_EQ_INT(parse_resource(ok, l), 2);
	CHECK_EQ_INT(l[1].end - l[1].start + 1, 128 << 20);
	CHECK_EQ_INT(l[1].flags, 0x14220c);
	CHECK_EQ_INT(parse_resource("", l), 0);
	CHECK_EQ_INT(parse_resource("0x1 0x2 0x3", l), 1); /* no final newline */
	CHECK_EQ_INT(parse_resource("0x1 0x2\n", l), -EINVAL);
	CHECK_EQ_INT(parse_resource("0x1  0x2 0x3\n", l), -EINVAL);
	CHECK_EQ_INT(parse_resource("0x1 0x2 0x3 0x4\n", l), -EINVAL);
	CHECK_EQ_INT(parse_resource("1 2 3\n", l), -EINVAL);
	CHECK_EQ_INT(parse_resource("0x11111111111111111 0x2 0x3\n", l), -ERANGE < 0 ? -EINVAL : 0);
	for (int i = 0; i < RESOURCE_MAX_LINES + 1; i++)
		strcat(big, "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	CHECK_EQ_INT(parse_resource(big, l), -EINVAL); /* more lines than the kernel writes */
}

struct fbs {
	unsigned n;
	char names[4][32];
};

static void on_fb(void *userdata, const char *name, uint64_t start, uint64_t end)
{
	struct fbs *f = userdata;

	if (f->n < 4)
		snprintf(f->names[f->n++], 32, "%s@%llx", name, (unsigned long long)start);
}

static void t_iomem(void)
{
	struct fbs f = { 0 };
	bool has;

	parse_iomem("00000000-00000fff : Reserved\n"
		    "c0000000-cfffffff : 0000:01:00.0\n"
		    "  c0000000-c07e8fff : BOOTFB\n"
		    "    c0000000-c07e8fff : simpledrm\n"
		    "garbage line\n"
		    "x-y : efifb\n",
		    on_fb, &f, &has);
	CHECK(has);
	CHECK_EQ_INT(f.n, 2);
	CHECK_EQ_STR(f.names[0], "BOOTFB@c0000000");
	CHECK_EQ_STR(f.names[1], "simpledrm@c0000000");
	memset(&f, 0, sizeof(f));
	/* Non-root readers see zeros: no usable addresses. */
	parse_iomem("00000000-00000000 : Reserved\n  00000000-00000000 : efifb\n", on_fb, &f, &has);
	CHECK(!has);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "addresses", t_address },
		{ "integers", t_integers },
		{ "resource", t_resource },
		{ "iomem", t_iomem },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
