/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"
#include "vmgpu.h"

#define VMGPU_EXPORT __attribute__((visibility("default")))

/* ---- context and logging ---- */

struct pci_access;

struct vmgpu_ctx {
	int refcount;
	/* Tests only: stands in for the kernel's reaction to sysfs writes
	 * (tests/unit/kernel-sim.c). NULL: real writes. */
	int (*kernel_write)(struct vmgpu_ctx *ctx, const char *path, const char *value);
	void *kernel_data;
	int root_fd;              /* O_PATH|O_DIRECTORY of the host root */
	char *root;
	vmgpu_log_fn log_fn;
	void *log_data;
	int log_priority;
	struct pci_access *pacc;  /* libpci, for pci.ids names only; lazily made */
	bool pacc_failed;
};

void vmgpu_log(struct vmgpu_ctx *ctx, int priority, const char *file, int line, const char *fn,
	       const char *format, ...) _printf_(6, 7);

#define vmgpu_log_cond(ctx, prio, ...)                                                   \
	do {                                                                             \
		struct vmgpu_ctx *_c_ = (ctx);                                           \
		if (_c_ && _c_->log_priority >= (prio))                                  \
			vmgpu_log(_c_, prio, __FILE__, __LINE__, __func__, __VA_ARGS__); \
	} while (0)

#define DBG(ctx, ...) vmgpu_log_cond(ctx, LOG_DEBUG, __VA_ARGS__)
#define INFO(ctx, ...) vmgpu_log_cond(ctx, LOG_INFO, __VA_ARGS__)
#define WARN(ctx, ...) vmgpu_log_cond(ctx, LOG_WARNING, __VA_ARGS__)
#define ERR(ctx, ...) vmgpu_log_cond(ctx, LOG_ERR, __VA_ARGS__)

/* ---- sysfs access relative to the root (sysfs.c) ---- */

/* Open PATH below DIRFD without letting ".." or absolute symlinks leave the
 * host root (openat2 RESOLVE_IN_ROOT when DIRFD is the root). */
int sysfs_open(struct vmgpu_ctx *ctx, int dirfd, const char *path, int flags);
/* opendir() of a directory below the host root. */
int root_opendir(struct vmgpu_ctx *ctx, const char *path, DIR **ret);
/* Read a text attribute with one read(), NUL-terminated, one trailing
 * newline stripped. -EFBIG when it does not fit BUFSZ-1 bytes. */
int sysfs_read_str(int dirfd, const char *name, char *buf, size_t bufsz);
/* The same for a path below the host root (proc/cmdline, ...). */
int root_read_str(struct vmgpu_ctx *ctx, const char *path, char *buf, size_t bufsz);
/* Read a whole (binary) file up to MAX bytes; returns the length read. */
ssize_t sysfs_read_bin(int dirfd, const char *name, void *buf, size_t max);
/* Target of symlink NAME, NUL-terminated. */
int sysfs_readlink(int dirfd, const char *name, char *buf, size_t bufsz);
/* Basename of the target of symlink NAME. */
int sysfs_link_basename(int dirfd, const char *name, char *buf, size_t bufsz);
/* Read a whole text file below the host root (proc/iomem); *ret is malloc'ed. */
int root_read_text(struct vmgpu_ctx *ctx, const char *path, char **ret, size_t *ret_len);
/* A decimal attribute below the host root ("16", "-1"): 0 or -errno. */
int root_read_int(struct vmgpu_ctx *ctx, const char *path, int *ret);
/* PATH below the host root exists (a dangling link does not). */
bool root_exists(struct vmgpu_ctx *ctx, const char *path);

/* ---- strict parsers of text we do not control (parse.c) ---- */

/* "0x10de" / "4318" / "-1"; whole string (one trailing newline allowed). */
int parse_u64(const char *s, int base, uint64_t *ret);
int parse_int(const char *s, int base, int *ret);

struct pci_address {
	uint32_t domain;
	uint8_t bus, dev, fn;
};
int parse_pci_address(const char *s, struct pci_address *ret);
/* Like parse_pci_address but only the full "DDDD:BB:DD.F" form sysfs uses. */
int parse_sysfs_address(const char *s, struct pci_address *ret);
int pci_address_cmp(const struct pci_address *a, const struct pci_address *b);
/* Two functions of one device (slot): the same but for the function number. */
static inline bool pci_same_slot(const struct pci_address *a, const struct pci_address *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}
/* A and B share one slot in the guest (lib/layout.c has the rule): the same
 * host slot, and neither is an SR-IOV VF. The MMIO computation groups root
 * port windows by the same test. */
bool vm_same_guest_slot(const struct vmgpu_dev *a, const struct vmgpu_dev *b);
#define PCI_ADDRESS_MAX 24 /* "ffffffff:ff:1f.7" + NUL, rounded up */
void format_pci_address(const struct pci_address *a, char buf[static PCI_ADDRESS_MAX]);

/* One line of sysfs "resource": start, end, flags. */
struct resource_line {
	uint64_t start, end, flags;
};
#define RESOURCE_MAX_LINES 17
/* Parse a sysfs resource file. Lines are "0x%016llx 0x%016llx 0x%016llx".
 * Returns the number of lines, or -EINVAL on any malformed line. */
int parse_resource(const char *text, struct resource_line lines[static RESOURCE_MAX_LINES]);

/* Linux IORESOURCE_* bits as the resource file shows them. */
#define IORESOURCE_IO 0x00000100ULL
#define IORESOURCE_MEM 0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL
#define IORESOURCE_MEM_64 0x00100000ULL

/* ---- config space decoding (config.c) ---- */

#define VMGPU_REBAR_MAX 6

struct config_info {
	size_t len;              /* bytes available */
	bool all_ones;           /* the header reads 0xffff vendor: nothing usable */
	bool header_known;       /* len >= 64 and not all ones */
	uint16_t vendor, device, subsys_vendor, subsys_device;
	bool subsys_known;
	uint32_t class_code;
	uint8_t revision;
	uint8_t header_type;     /* multifunction bit masked */
	bool multifunction;
	uint32_t bar_regs[6];    /* raw BAR registers (0 when not present) */
	uint32_t rom_reg;

	/* Standard capabilities: known when caps_known. */
	bool caps_known;
	bool has_pm, pm_no_soft_reset;
	bool has_msi, has_msix;
	unsigned msix_vectors;
	bool has_pcie;
	uint8_t pcie_type;
	bool flr;
	bool has_af, af_flr;

	/* Extended capabilities: known when ext_known (PCIe and > 256 bytes). */
	bool ext_known;
	bool has_acs;
	uint16_t acs_cap, acs_ctrl;
	bool has_sriov;
	uint16_t sriov_total_vfs, sriov_num_vfs, sriov_initial_vfs, sriov_vf_device;
	bool has_rebar;
	unsigned n_rebar;
	struct {
		uint8_t bar;
		uint64_t supported_mask; /* bit n: 1 MiB << n */
		uint8_t current;         /* log2(size / 1 MiB) */
	} rebar[VMGPU_REBAR_MAX];
};

/* Decode LEN bytes of config space. Never reads outside BUF; unknown parts
 * are marked so rather than guessed. */
void config_decode(const uint8_t *buf, size_t len, struct config_info *ret);

/* ---- model ---- */

#define VMGPU_MAX_UNKNOWN 8

#define PCI_VENDOR_NVIDIA 0x10de

struct vmgpu_dev {
	struct vmgpu_host *host;
	struct pci_address addr;
	char address[PCI_ADDRESS_MAX];
	char *path;                  /* below sys/devices */
	char *location_path;
	char *driver;
	char *driver_override;
	char *reset_method;          /* NULL: no attribute (Linux < 5.15) */
	char *physfn;
	char *names[4];              /* vendor, device, subsystem, class: lazily looked up */
	bool names_done;

	uint16_t vendor, device;
	int subsys_vendor, subsys_device; /* -1 unknown */
	uint32_t class_code;
	int revision;                /* -1 unknown */
	int iommu_group;             /* -1 none */
	int numa_node;               /* -1 none */
	int boot_vga;                /* -1 absent */
	int sriov_totalvfs_attr;     /* sysfs sriov_totalvfs; -1 absent (not an SR-IOV PF) */

	struct config_info cfg;      /* the header after the scan; all of it after dev_cfg() */
	bool cfg_full;
	struct resource_line res[RESOURCE_MAX_LINES];
	int n_res;                   /* -1 unreadable */

	struct vmgpu_dev *parent;
	struct vmgpu_dev **peers;    /* same IOMMU group, self excluded */
	size_t n_peers;

	const char *unknown[VMGPU_MAX_UNKNOWN];
	size_t n_unknown;
};

struct iomem_fb {
	char *name;
	uint64_t start, end;
	struct vmgpu_dev *dev;
};

struct vmgpu_host {
	int refcount;
	struct vmgpu_ctx *ctx;
	struct vmgpu_dev **devs;
	size_t n_devs;

	char *kernel;
	char *cmdline;
	char **iommu_units;
	size_t n_iommu_units;
	unsigned n_iommu_groups;
	int interrupt_remapping;     /* tristate, NOT_READ (-2) until first asked: read it
				      * through vmgpu_host_fact() only */
	int allow_unsafe_interrupts; /* tristate */
	int config_limited;          /* the same: -2 until vmgpu_host_fact() */
	enum vmgpu_module_state vfio_pci;
	struct iomem_fb *fbs;
	size_t n_fbs;
	int fbs_known;               /* tristate */
	bool running_as_root;        /* config reads are not cut short by privilege: uid 0 on
				      * the live host, or any --root tree (its files are what
				      * they are, whoever reads them) */
	bool reset_method_supported; /* some function has reset_method: Linux >= 5.15 */
};

struct vmgpu_dev *host_find_address(const struct vmgpu_host *host, const struct pci_address *addr);
/* qsort() order of struct vmgpu_dev pointers: by PCI address. */
int dev_cmp(const void *a, const void *b);
void dev_add_unknown(struct vmgpu_dev *dev, const char *what);
/* Config space with its capabilities, read on first use. */
const struct config_info *dev_cfg(const struct vmgpu_dev *dev);
void dev_free(struct vmgpu_dev *dev);
/* Look up names through libpci (lazily). */
void dev_load_names(struct vmgpu_dev *dev);

/* host.c: host-level facts (reads proc/ and sys/ outside the device dirs). */
int host_read_facts(struct vmgpu_host *host);
bool host_iommu_present(const struct vmgpu_host *host);
/* iomem.c: framebuffers in proc/iomem and which BAR holds them. */
int host_read_framebuffers(struct vmgpu_host *host);
/* Parse proc/iomem text; framebuffers are passed to CB. */
int parse_iomem(const char *text, void (*cb)(void *userdata, const char *name, uint64_t start,
					    uint64_t end), void *userdata, bool *ret_has_addresses);
/* Reserved regions of an IOMMU group ("direct", "direct-relaxable", "msi", ...).
 * Returns 1 when the group has a non-relaxable direct (RMRR) region. */
int host_group_has_direct_region(struct vmgpu_host *host, int group, char *desc, size_t descsz);

/* apply.c */
int sysfs_write(struct vmgpu_ctx *ctx, const char *path, const char *value);
/* Files below the root (udev rules, mdevctl's store): written atomically,
 * directories created as needed; removing an absent file is no error. */
int root_write_file(struct vmgpu_ctx *ctx, const char *path, const char *content);
int root_remove_file(struct vmgpu_ctx *ctx, const char *path);
/* kmod.c */
int kmod_load(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz);

/* pool.c: the pool file parser alone (fuzzing) */
int pool_parse_check(const char *text, char **err);

/* names.c */
int names_lookup(struct vmgpu_ctx *ctx, int kind, uint16_t vendor, uint16_t device,
		 uint16_t sv, uint16_t sd, char **ret);
void names_free(struct vmgpu_ctx *ctx);
