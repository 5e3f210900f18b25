/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/host: observe and judge one host, read-only. The model (scan.c reads
 * the PCI functions into struct vmgpu_dev, dev.c owns them and their lazily
 * read config space, host.c the host object and its facts), config space
 * decoding, boot framebuffers (iomem.c), pci.ids names, what the host itself
 * uses (inuse.c), the verdicts, and the table of every reason and refusal
 * code (reasons.c). Uses lib/core only.
 */
#pragma once

#include "core.h"

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

/* ---- reason and refusal codes (reasons.c) ---- */

/* Every code a verdict or a plan gives; the table in reasons.c has them all. */
enum reason_code {
	/* verdict reasons (vmgpu(8), CHECKS) */
	REASON_IOMMU_OFF,
	REASON_NO_INTERRUPT_REMAPPING,
	REASON_INTERRUPT_REMAPPING_UNKNOWN,
	REASON_VFIO_PCI_MISSING,
	REASON_NO_IOMMU_GROUP,
	REASON_FIRMWARE_RESERVED_MEMORY,
	REASON_GROUP_SHARED_WITH_HOST,
	REASON_GROUP_SPANS_SLOTS,
	REASON_CHIPSET_FUNCTION,
	REASON_CONVENTIONAL_PCI,
	REASON_LEGACY_ENDPOINT,
	REASON_RC_INTEGRATED,
	REASON_NOT_ENDPOINT,
	REASON_INTX_ONLY,
	REASON_NO_RESET,
	REASON_BUS_RESET_ONLY,
	REASON_AMD_RESET_BUG,
	REASON_BOOT_FRAMEBUFFER,
	REASON_BOOT_DISPLAY,
	REASON_REBAR_FULL,
	REASON_UNKNOWN,
	REASON_CONFIG_ALL_ONES,
	REASON_VIRTUAL_FUNCTION,
	REASON_HOST_DRIVER,
	/* refusals of plans only */
	REFUSE_HOST_DISK_IN_USE,
	REFUSE_HOST_NETWORK_IN_USE,
	REFUSE_DEVICE_OPEN,
	REFUSE_IN_USE_BY_VM,
	REFUSE_NOT_ASSIGNED_BY_VMGPU,
	REFUSE_NO_MDEV_PARENT,
	REFUSE_NO_SUCH_TYPE,
	REFUSE_NAME_TOO_LONG,
	REFUSE_NO_INSTANCES,
	REFUSE_NO_SUCH_MDEV,
	REFUSE_NO_SRIOV,
	REFUSE_TOO_MANY_VFS,
	REFUSE_VF_ASSIGNED,
	REFUSE_NO_VGPU,
	REFUSE_TYPE_NOT_CREATABLE,
	_REASON_MAX
};

enum {
	REASON_KIND_VERDICT = 1 << 0, /* a verdict gives it */
	REASON_KIND_REFUSAL = 1 << 1, /* a plan refuses with it (a verdict's blockers all do) */
};

/* One situation of a check: the severity a verdict gives it, and the fix
 * (NULL: nothing to do). */
struct reason_form {
	enum vmgpu_severity severity;
	const char *fix;
};

struct reason_info {
	const char *code;            /* the public name: JSON "code", vmgpu(8) */
	unsigned kind;               /* REASON_KIND_* */
	bool forceable;              /* as a refusal, --force overrides it */
	struct reason_form form[2];  /* [0] the usual; [1] the check's other situation */
};

/* NULL when CODE is out of range. */
const struct reason_info *reason_info(enum reason_code code);
/* The enum of a code string; _REASON_MAX when there is none. */
enum reason_code reason_lookup(const char *code);

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

/* names.c */
int names_lookup(struct vmgpu_ctx *ctx, int kind, uint16_t vendor, uint16_t device,
		 uint16_t sv, uint16_t sd, char **ret);
