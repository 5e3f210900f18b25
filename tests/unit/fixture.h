/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Build fake host roots (sys/, proc/) for tests: real-looking sysfs with
 * nested device directories, relative symlinks (bus/pci/devices, driver,
 * iommu_group), config space built capability by capability, and resource
 * tables in the kernel's format.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fx;

/* A config space under construction. */
struct fx_cfg {
	uint8_t b[4096];
	size_t len;       /* bytes written to the config file: 64, 256 or 4096 */
	uint8_t last_cap; /* offset of the last standard capability */
	uint16_t next_cap;
	uint16_t last_ecap;
	uint16_t next_ecap;
};

void fx_cfg_init(struct fx_cfg *c, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type);
void fx_cfg_pm(struct fx_cfg *c, bool no_soft_reset);
void fx_cfg_msi(struct fx_cfg *c);
void fx_cfg_msix(struct fx_cfg *c, unsigned vectors);
void fx_cfg_pcie(struct fx_cfg *c, unsigned type, bool flr);
void fx_cfg_acs(struct fx_cfg *c, uint16_t cap, uint16_t ctrl);
void fx_cfg_sriov(struct fx_cfg *c, uint16_t total, uint16_t num, uint16_t vf_device);
/* One resizable BAR: sizes_mask bit n = 1 MiB << n; current = log2(MiB). */
void fx_cfg_rebar(struct fx_cfg *c, unsigned bar, uint32_t sizes_mask, unsigned current);
/* BAR register: writes the type bits the way hardware reports them. */
void fx_cfg_bar(struct fx_cfg *c, unsigned i, uint64_t addr, bool io, bool is64, bool pref);

struct fx *fx_new(void);
/* Removes the tree unless VMGPU_KEEP_FIXTURES is set. */
void fx_free(struct fx *fx);
const char *fx_root(const struct fx *fx);

/* Add function ADDR ("0000:01:00.0") below PARENT (NULL: root bus). */
void fx_dev(struct fx *fx, const char *addr, const char *parent, const struct fx_cfg *cfg);
/* A memory or I/O BAR in "resource" (and in config space). */
void fx_bar(struct fx *fx, const char *addr, unsigned slot, uint64_t start, uint64_t size, bool io,
	    bool is64, bool pref);
void fx_driver(struct fx *fx, const char *addr, const char *driver);
void fx_group(struct fx *fx, const char *addr, int group);
/* Any file in the device directory (boot_vga, reset_method, ...). */
void fx_attr(struct fx *fx, const char *addr, const char *name, const char *value);
/* Any file below the root (proc/iomem, sys/class/iommu/dmar0/...). */
void fx_file(struct fx *fx, const char *relpath, const char *content);
void fx_mkdir(struct fx *fx, const char *relpath);
/* A symlink below the root (TARGET as given, usually relative). */
void fx_symlink(struct fx *fx, const char *relpath, const char *target);
/* A class device below function ADDR: SUB is its path there ("drm/card0",
 * "nvme/nvme0/nvme0n1"), CLASS its subsystem ("drm", "block", "net"), DEV
 * its "maj:min" or NULL. */
void fx_class_dev(struct fx *fx, const char *addr, const char *sub, const char *class_name, const char *dev);
/* Write every device's resource file; call once when the tree is complete. */
void fx_finish(struct fx *fx);

/* Host with an active IOMMU and interrupt remapping (dmar0, IR-PCI-MSI). */
void fx_host_iommu(struct fx *fx);

/* ---- the scenarios tests and tests/cli share (scenarios.c) ---- */
struct fx_scenario {
	const char *name;
	const char *summary;
	void (*build)(struct fx *fx);
	const char *device;      /* the device the scenario is about */
	const char *verdict;     /* expected verdict of DEVICE */
	const char *codes;       /* reason codes that must appear, space separated */
	const char *absent;      /* reason codes that must not appear */
};
extern const struct fx_scenario fx_scenarios[];
extern const size_t fx_n_scenarios;
const struct fx_scenario *fx_scenario_find(const char *name);
