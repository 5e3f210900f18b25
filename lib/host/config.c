/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI configuration space decoding.
 *
 * What we can know depends on how much of config space could be read:
 *   64 bytes   the header only (non-root readers get this much from sysfs):
 *              IDs, class, BAR registers, and whether a capability list
 *              exists (Status bit 4) — but not which capabilities;
 *   256 bytes  the standard capability list (PM, MSI, MSI-X, PCIe, AF);
 *   4096 bytes PCIe extended capabilities at 0x100+ (ACS, SR-IOV, ReBAR).
 * Whatever lies beyond what was read is reported unknown, never guessed.
 * A device in D3cold or surprise-removed reads all-ones.
 */
#include <string.h>

#include "host.h"

#define PCI_STD_HEADER 64
#define PCI_CFG_SPACE 256

#define CAP_ID_PM 0x01
#define CAP_ID_MSI 0x05
#define CAP_ID_SSVID 0x0d
#define CAP_ID_EXP 0x10
#define CAP_ID_MSIX 0x11
#define CAP_ID_AF 0x13

#define ECAP_ID_ACS 0x000d
#define ECAP_ID_SRIOV 0x0010
#define ECAP_ID_REBAR 0x0015

static uint16_t rd16(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] | b[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *b, size_t off)
{
	return (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 | (uint32_t)b[off + 2] << 16 |
	       (uint32_t)b[off + 3] << 24;
}

/* True when [off, off+n) lies within what was read. */
static bool have(const struct config_info *ci, size_t off, size_t n)
{
	return off + n <= ci->len;
}

static void decode_header(const uint8_t *b, struct config_info *ci)
{
	ci->vendor = rd16(b, 0x00);
	ci->device = rd16(b, 0x02);
	ci->revision = b[0x08];
	ci->class_code = (uint32_t)b[0x09] | (uint32_t)b[0x0a] << 8 | (uint32_t)b[0x0b] << 16;
	ci->header_type = b[0x0e] & 0x7f;
	ci->multifunction = b[0x0e] & 0x80;
	if (ci->header_type == 0) {
		for (int i = 0; i < 6; i++)
			ci->bar_regs[i] = rd32(b, 0x10 + 4 * (size_t)i);
		ci->rom_reg = rd32(b, 0x30);
		ci->subsys_vendor = rd16(b, 0x2c);
		ci->subsys_device = rd16(b, 0x2e);
		ci->subsys_known = true;
	} else if (ci->header_type == 1) {
		ci->bar_regs[0] = rd32(b, 0x10);
		ci->bar_regs[1] = rd32(b, 0x14);
		ci->rom_reg = rd32(b, 0x38);
	}
}

static void decode_pcie(const uint8_t *b, size_t off, struct config_info *ci)
{
	if (!have(ci, off, 8))
		return;
	ci->has_pcie = true;
	ci->pcie_type = (rd16(b, off + 2) >> 4) & 0xf;
	/* DevCap bit 28: Function Level Reset capability. Only endpoints
	 * define it; the bit is reserved (zero) in ports. */
	ci->flr = rd32(b, off + 4) & (1u << 28);
}

static void decode_std_caps(const uint8_t *b, struct config_info *ci)
{
	uint8_t seen[PCI_CFG_SPACE / 4] = { 0 };
	size_t ptr_off;
	unsigned pos;

	/* Status bit 4: the capability list exists at all. */
	if (!(rd16(b, 0x06) & 0x10)) {
		ci->caps_known = true;
		return;
	}
	ptr_off = ci->header_type == 2 ? 0x14 : 0x34;
	if (!have(ci, PCI_CFG_SPACE, 0))
		return; /* the list lives beyond the header we have */
	ci->caps_known = true;
	pos = b[ptr_off] & ~3u;
	while (pos >= PCI_STD_HEADER && pos + 2 <= PCI_CFG_SPACE) {
		uint8_t id = b[pos];

		if (seen[pos / 4]++)
			break; /* looped chain (broken hardware or bad dump) */
		if (id == 0xff)
			break;
		switch (id) {
		case CAP_ID_PM:
			if (pos + 6 <= PCI_CFG_SPACE) {
				ci->has_pm = true;
				/* PMCSR bit 3: No_Soft_Reset — D3hot->D0 keeps state,
				 * so a PM reset does nothing. */
				ci->pm_no_soft_reset = rd16(b, pos + 4) & 0x08;
			}
			break;
		case CAP_ID_MSI:
			ci->has_msi = true;
			break;
		case CAP_ID_MSIX:
			ci->has_msix = true;
			if (pos + 4 <= PCI_CFG_SPACE)
				ci->msix_vectors = (rd16(b, pos + 2) & 0x7ff) + 1u;
			break;
		case CAP_ID_EXP:
			decode_pcie(b, pos, ci);
			break;
		case CAP_ID_AF:
			ci->has_af = true;
			/* AF_CAP bit 1: FLR (conventional PCI functions). */
			if (pos + 4 <= PCI_CFG_SPACE)
				ci->af_flr = b[pos + 3] & 0x02;
			break;
		case CAP_ID_SSVID:
			/* Bridges carry their subsystem IDs here. */
			if (ci->header_type == 1 && pos + 8 <= PCI_CFG_SPACE) {
				ci->subsys_vendor = rd16(b, pos + 4);
				ci->subsys_device = rd16(b, pos + 6);
				ci->subsys_known = true;
			}
			break;
		default:
			break;
		}
		pos = b[pos + 1] & ~3u;
	}
}

static void decode_rebar(const uint8_t *b, size_t off, struct config_info *ci)
{
	unsigned n;

	if (!have(ci, off, 12))
		return;
	/* Control bits 7:5 of the first entry: number of resizable BARs. */
	n = (rd32(b, off + 8) >> 5) & 0x7;
	ci->has_rebar = true;
	for (unsigned i = 0; i < n && i < VMGPU_REBAR_MAX; i++) {
		size_t e = off + 4 + 8 * (size_t)i;
		uint32_t cap, ctrl;

		if (!have(ci, e, 8))
			break;
		cap = rd32(b, e);
		ctrl = rd32(b, e + 4);
		/* Capability bits 31:4: sizes 1 MiB .. 128 TiB; control bits
		 * 31:16 extend them from 256 TiB (ECN, PCIe 4.0+). */
		ci->rebar[i].supported_mask = ((uint64_t)(cap >> 4) & 0x0fffffffu) |
					      ((uint64_t)(ctrl >> 16) << 28);
		ci->rebar[i].bar = ctrl & 0x7;
		ci->rebar[i].current = (ctrl >> 8) & 0x3f;
		ci->n_rebar = i + 1;
	}
}

static void decode_ext_caps(const uint8_t *b, struct config_info *ci)
{
	uint8_t seen[(4096 - PCI_CFG_SPACE) / 4] = { 0 };
	size_t pos = PCI_CFG_SPACE;

	if (!ci->has_pcie || ci->len <= PCI_CFG_SPACE)
		return;
	ci->ext_known = true;
	while (pos >= PCI_CFG_SPACE && have(ci, pos, 4) && pos < 4096) {
		uint32_t hdr = rd32(b, pos);
		uint16_t id = hdr & 0xffff;

		if (hdr == 0 || hdr == 0xffffffff)
			break;
		if (seen[(pos - PCI_CFG_SPACE) / 4]++)
			break;
		switch (id) {
		case ECAP_ID_ACS:
			if (have(ci, pos, 8)) {
				ci->has_acs = true;
				ci->acs_cap = rd16(b, pos + 4);
				ci->acs_ctrl = rd16(b, pos + 6);
			}
			break;
		case ECAP_ID_SRIOV:
			if (have(ci, pos, 0x40)) {
				ci->has_sriov = true;
				ci->sriov_initial_vfs = rd16(b, pos + 0x0c);
				ci->sriov_total_vfs = rd16(b, pos + 0x0e);
				ci->sriov_num_vfs = rd16(b, pos + 0x10);
				ci->sriov_vf_device = rd16(b, pos + 0x1a);
			}
			break;
		case ECAP_ID_REBAR:
			decode_rebar(b, pos, ci);
			break;
		default:
			break;
		}
		pos = (hdr >> 20) & ~3u;
	}
}

void config_decode(const uint8_t *buf, size_t len, struct config_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->len = len > 4096 ? 4096 : len;
	if (ci->len < PCI_STD_HEADER)
		return;
	if (rd16(buf, 0) == 0xffff && rd32(buf, 0x08) == 0xffffffff) {
		ci->all_ones = true;
		return;
	}
	ci->header_known = true;
	decode_header(buf, ci);
	decode_std_caps(buf, ci);
	if (ci->caps_known)
		decode_ext_caps(buf, ci);
}
