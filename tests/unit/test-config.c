/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Config space decoding at 64, 256 and 4096 bytes, all-ones, broken chains. */
#include <string.h>

#include "fixture.h"
#include "testlib.h"
#include "host.h"

static void gpu_cfg(struct fx_cfg *c)
{
	fx_cfg_init(c, 0x10de, 0x2204, 0x030000, 0x80);
	fx_cfg_pm(c, true);
	fx_cfg_msi(c);
	fx_cfg_pcie(c, 1, true);
	fx_cfg_msix(c, 9);
	fx_cfg_acs(c, 0x1f, 0x1d);
	fx_cfg_sriov(c, 7, 2, 0x46a6);
	fx_cfg_rebar(c, 1, 0x3fff, 13);
}

static void t_full(void)
{
	struct fx_cfg c;
	struct config_info ci;

	gpu_cfg(&c);
	config_decode(c.b, 4096, &ci);
	CHECK(ci.header_known && ci.caps_known && ci.ext_known);
	CHECK_EQ_INT(ci.vendor, 0x10de);
	CHECK_EQ_INT(ci.class_code, 0x030000);
	CHECK(ci.multifunction);
	CHECK(ci.has_pm && ci.pm_no_soft_reset);
	CHECK(ci.has_msi && ci.has_msix);
	CHECK_EQ_INT(ci.msix_vectors, 9);
	CHECK(ci.has_pcie && ci.flr);
	CHECK_EQ_INT(ci.pcie_type, 1);
	CHECK(ci.has_acs);
	CHECK_EQ_INT(ci.acs_ctrl, 0x1d);
	CHECK(ci.has_sriov);
	CHECK_EQ_INT(ci.sriov_total_vfs, 7);
	CHECK_EQ_INT(ci.sriov_num_vfs, 2);
	CHECK_EQ_INT(ci.n_rebar, 1);
	CHECK_EQ_INT(ci.rebar[0].bar, 1);
	CHECK_EQ_INT(ci.rebar[0].current, 13);
	CHECK_EQ_INT(ci.rebar[0].supported_mask, 0x3fff);
}

static void t_short(void)
{
	struct fx_cfg c;
	struct config_info ci;

	gpu_cfg(&c);
	config_decode(c.b, 256, &ci);
	CHECK(ci.caps_known && !ci.ext_known);
	CHECK(ci.has_msi && ci.has_pcie && !ci.has_acs);
	config_decode(c.b, 64, &ci);
	CHECK(ci.header_known && !ci.caps_known && !ci.has_msi);
	config_decode(c.b, 63, &ci);
	CHECK(!ci.header_known);
	config_decode(c.b, 0, &ci);
	CHECK(!ci.header_known && ci.len == 0);
}

static void t_no_caps(void)
{
	struct fx_cfg c;
	struct config_info ci;

	fx_cfg_init(&c, 0x8086, 0x0d57, 0x060000, 0);
	config_decode(c.b, 64, &ci);
	/* Status says there is no list: known even from 64 bytes. */
	CHECK(ci.caps_known && !ci.has_msi && !ci.has_pcie);
}

static void t_all_ones(void)
{
	uint8_t b[4096];
	struct config_info ci;

	memset(b, 0xff, sizeof(b));
	config_decode(b, sizeof(b), &ci);
	CHECK(ci.all_ones && !ci.header_known && !ci.caps_known);
}

static void t_broken_chains(void)
{
	struct fx_cfg c;
	struct config_info ci;

	/* A standard capability pointing to itself, and into the header. */
	fx_cfg_init(&c, 0x1234, 0x5678, 0x030000, 0);
	fx_cfg_msi(&c);
	c.b[0x41] = 0x40;
	config_decode(c.b, 256, &ci);
	CHECK(ci.has_msi);
	c.b[0x41] = 0x10;
	config_decode(c.b, 256, &ci);
	CHECK(ci.has_msi);
	/* An extended capability chain that loops and one that points below 0x100. */
	gpu_cfg(&c);
	c.b[0x100 + 2] = (uint8_t)((c.b[0x100 + 2] & 0x0f) | 0x00);
	c.b[0x100 + 3] = 0x10; /* next = 0x100: loop */
	config_decode(c.b, 4096, &ci);
	CHECK(ci.has_acs);
	/* ReBAR claiming more BARs than fit: bounded. */
	gpu_cfg(&c);
	c.b[0x100 + 0x08 + 0x48] = 0xe0;
	config_decode(c.b, 4096, &ci);
	CHECK(ci.n_rebar <= VMGPU_REBAR_MAX);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "4096 bytes", t_full },
		{ "256 and 64 bytes", t_short },
		{ "no capability list", t_no_caps },
		{ "all-ones", t_all_ones },
		{ "broken chains", t_broken_chains },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
