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

int inuse_find_nodes(struct vmgpu_ctx *ctx, const struct vmgpu_dev *dev, struct dev_nodes *ret);
void inuse_nodes_free(struct dev_nodes *dn);
/* Add FROM's device nodes to INTO's (one inuse_openers() walk for several
 * functions); -ENOMEM. */
int inuse_nodes_add_paths(struct dev_nodes *into, const struct dev_nodes *from);
bool inuse_nodes_has_path(const struct dev_nodes *dn, const char *path);
/* 1 with DESC filled when in use, 0 when not. */
int inuse_block(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, char *desc, size_t descsz);
int inuse_default_route(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, char *desc, size_t descsz);
int inuse_openers(struct vmgpu_ctx *ctx, const struct dev_nodes *dn, struct opener **ret, size_t *ret_n,
		bool *ret_incomplete);
