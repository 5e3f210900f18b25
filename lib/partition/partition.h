/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/partition: what a host offers for splitting a GPU, read-only: SR-IOV
 * PFs and VFs, mdev parents, types and instances, NVIDIA vGPU types on VFs
 * (inventory.c), NVIDIA MIG through NVML (mig.c). Uses lib/host and lib/core.
 */
#pragma once

#include "host.h"

/* Parsers of vendor text (fuzzed in tests/fuzz). */
uint64_t inventory_parse_vram_mib(const char *name, const char *description);
int inventory_parse_vgpu_types(const char *text, struct vmgpu_vgpu_type **ret, size_t *ret_n, char ***ret_names);
