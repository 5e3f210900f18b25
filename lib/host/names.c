/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Vendor and device names from pci.ids, through libpci.
 *
 * libpci is used for its name database only: its access methods report
 * errors through a callback that must not return (it exits the process),
 * which a library cannot allow, and we read sysfs ourselves anyway. The name
 * lookup needs neither pci_init() nor a device scan. libpci (and the libudev
 * and zlib it brings) is opened with dlopen() on the first name lookup, so
 * commands that print no names (assign, release) do not pay for loading it.
 */
#include <pci/pci.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "dlsym.h"
#include "host.h"

ELF_NOTE_DLOPEN("pci-names", "Vendor and device names from pci.ids (survey, partition list)",
		ELF_NOTE_DLOPEN_PRIORITY_RECOMMENDED, "libpci.so.3");

DECLARE_DLSYM(pci_alloc);
DECLARE_DLSYM(pci_lookup_name);
DECLARE_DLSYM(pci_cleanup);

static void *libpci_dl; /* stays open for the process */

static _Thread_local jmp_buf *names_jmp;

/* libpci calls this for fatal errors (out of memory while loading pci.ids)
 * and expects it not to return. Unwind to names_lookup() instead of exiting. */
static void PCI_NONRET names_error(char *msg, ...)
{
	if (names_jmp)
		longjmp(*names_jmp, 1);
	abort();
}

static void names_quiet(char *msg, ...)
{
}

static bool libpci_load(struct vmgpu_ctx *ctx)
{
	if (dlsym_many(&libpci_dl, "libpci.so.3",
		       DLSYM_ARG(pci_alloc),
		       DLSYM_ARG(pci_lookup_name),
		       DLSYM_ARG(pci_cleanup),
		       NULL) >= 0)
		return true;
	DBG(ctx, "libpci.so.3 cannot be loaded (%s): no names", dlsym_error());
	return false;
}

static void names_free(void *pacc)
{
	sym_pci_cleanup(pacc);
}

/* No local variables here: inlined into names_lookup(), they would live
 * across its setjmp(). */
static struct pci_access *names_access(struct vmgpu_ctx *ctx)
{
	if (ctx->names || ctx->names_failed)
		return ctx->names;
	if (!libpci_load(ctx)) {
		ctx->names_failed = true;
		return NULL;
	}
	if (!(ctx->names = sym_pci_alloc())) {
		ctx->names_failed = true;
		return NULL;
	}
	((struct pci_access *)ctx->names)->error = names_error;
	((struct pci_access *)ctx->names)->warning = names_quiet;
	((struct pci_access *)ctx->names)->debug = names_quiet;
	ctx->names_free = names_free;
	return ctx->names;
}

/* KIND: PCI_LOOKUP_VENDOR, _DEVICE, _SUBSYSTEM or _CLASS (VENDOR holds the class). *ret is
 * NULL when the database does not know the ID. */
int names_lookup(struct vmgpu_ctx *ctx, int kind, uint16_t vendor, uint16_t device, uint16_t sv,
		 uint16_t sd, char **ret)
{
	struct pci_access *a = names_access(ctx);
	/* NO_NUMBERS: return NULL for unknown IDs instead of "Device 1234".
	 * NO_HWDB: answer from pci.ids alone, the same on every host. */
	int flags = kind | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB;
	char buf[256];
	const char *name = NULL;
	jmp_buf env;

	*ret = NULL;
	if (!a)
		return -ENOMEM;
	names_jmp = &env;
	if (setjmp(env) == 0) {
		if (kind == PCI_LOOKUP_VENDOR || kind == PCI_LOOKUP_CLASS)
			name = sym_pci_lookup_name(a, buf, sizeof(buf), flags, vendor);
		else if (kind == PCI_LOOKUP_DEVICE)
			name = sym_pci_lookup_name(a, buf, sizeof(buf), flags, vendor, device);
		else
			name = sym_pci_lookup_name(a, buf, sizeof(buf), flags | PCI_LOOKUP_DEVICE, vendor, device, sv, sd);
	} else {
		DBG(ctx, "libpci failed while loading pci.ids");
		names_jmp = NULL;
		return -ENOMEM;
	}
	names_jmp = NULL;
	if (!name)
		return 0;
	*ret = strdup(name);
	return *ret ? 0 : -ENOMEM;
}
