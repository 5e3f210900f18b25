/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "host.h"

/* The device nodes and interfaces a PCI function stands behind. */
struct dev_nodes {
	char **paths;  /* "/dev/dri/card0", "/dev/vfio/7", ... */
	size_t n_paths;
	char **blocks; /* "nvme0n1", "sda" */
	size_t n_blocks;
	char **netifs; /* "enp3s0" */
	size_t n_netifs;
};

struct opener {
	int pid;
	char comm[32];
	char node[300];
};

int dev_find_nodes(struct vmgpu_ctx *ctx, const struct vmgpu_dev *dev, struct dev_nodes *ret);
void dev_nodes_free(struct dev_nodes *dn);
/* Add FROM's device nodes to INTO's (one dev_openers() walk for several
 * functions); -ENOMEM. */
int dev_nodes_add_paths(struct dev_nodes *into, const struct dev_nodes *from);
bool dev_nodes_has_path(const struct dev_nodes *dn, const char *path);
/* 1 with DESC filled when in use, 0 when not. */
int dev_block_in_use(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, char *desc, size_t descsz);
int dev_carries_default_route(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, char *desc, size_t descsz);
int dev_openers(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, struct opener **ret, size_t *ret_n,
		bool *ret_incomplete);
