/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/vm: what a VM receives and in which format. The guest layout
 * (layout.c) and the MMIO it needs (mmio.c), its renderers (qemu.c,
 * powershell.c, libvirt.c with the module in module/), and vmgpu verify
 * (verify.c, qmp.c, qmp-socket.c). Uses lib/host and lib/core.
 */
#pragma once

#include "host.h"

/* A and B share one slot in the guest (layout.c has the rule): the same
 * host slot, and neither is an SR-IOV VF. The MMIO computation groups root
 * port windows by the same test (mmio.c). */
bool vm_same_guest_slot(const struct vmgpu_dev *a, const struct vmgpu_dev *b);
