/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "vmgpu-internal.h"

/* Parsers of vendor text (fuzzed in tests/fuzz). */
uint64_t split_parse_vram_mib(const char *name, const char *description);
int split_parse_vgpu_types(const char *text, struct vmgpu_vgpu_type **ret, size_t *ret_n, char ***ret_names);

/* vmgpu_plan_mdev_create() on an inventory already read (a pool's plans
 * share one). */
int plan_mdev_create_in(struct vmgpu_host *host, const struct vmgpu_split *s, const char *parent, const char *type,
			unsigned count, unsigned flags, struct vmgpu_plan **ret);
