/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User-supplied PCI addresses: parse, format, parse again — same address. */
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	struct pci_address a, b;
	char buf[PCI_ADDRESS_MAX];

	if (!s)
		return 0;
	if (parse_pci_address(s, &a) == 0) {
		format_pci_address(&a, buf);
		if (parse_sysfs_address(buf, &b) != 0 || pci_address_cmp(&a, &b) != 0)
			abort();
	}
	free(s);
	return 0;
}
