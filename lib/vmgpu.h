/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvmgpu — read a Linux host's PCI devices and say whether, and how, a GPU
 * can be given to a virtual machine.
 *
 * Conventions (for every function below):
 *  - Functions that can fail return 0 or a negative errno. Results go to
 *    ret_* out-parameters, which are left untouched on failure.
 *  - A call that can explain what happened takes a last `char **ret_report`
 *    (the one exception to "untouched on failure"): on return, success or
 *    failure, it holds malloc'ed text for people (what
 *    was done, or why it failed, line by line), or NULL when there is
 *    nothing to say. The caller frees it; it may pass NULL when it does not
 *    want it. It is the one way the library tells what happened, besides
 *    the errno and the log.
 *  - Invalid arguments (a NULL object, a NULL ret_* a function needs) are
 *    answered with -EINVAL, or 0/NULL/false from an accessor; never a crash.
 *  - Objects are opaque and reference-counted where they outlive a call;
 *    *_unref() accepts NULL and returns NULL.
 *  - Pointers returned by accessors (strings, devices, structs) are owned by
 *    the object they came from and live as long as it does.
 *  - No public struct holds an array: a list is vmgpu_x_n_things() and
 *    vmgpu_x_thing(x, i), NULL/-ENOENT past the end, so a struct can grow.
 *  - The library never prints and never exits: it logs through the context's
 *    log function (default: nothing below LOG_ERR, to stderr).
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmgpu_ctx;     /* host root, logging, name database */
struct vmgpu_host;    /* one reading of a host: devices + host facts */
struct vmgpu_dev;     /* one PCI function, owned by its host */
struct vmgpu_verdict; /* whether a device can go to a VM, and why not */

/* ---- context ------------------------------------------------------------ */

typedef void (*vmgpu_log_fn)(void *userdata, int priority, const char *file, int line,
			     const char *fn, const char *format, va_list args);

/*
 * Open the host root ROOT ("/" for the live host, or a snapshot/fixture
 * directory holding sys/, proc/ and dev/). ROOT is opened once; every later
 * read is relative to it and symlinks cannot lead out of it.
 * Returns -ENOENT/-ENOTDIR/-EACCES when ROOT cannot be opened.
 */
int vmgpu_ctx_new(const char *root, struct vmgpu_ctx **ret_ctx);
struct vmgpu_ctx *vmgpu_ctx_ref(struct vmgpu_ctx *ctx);
struct vmgpu_ctx *vmgpu_ctx_unref(struct vmgpu_ctx *ctx);
void vmgpu_ctx_set_log_fn(struct vmgpu_ctx *ctx, vmgpu_log_fn fn, void *userdata);
/* syslog priorities: LOG_ERR (default) .. LOG_DEBUG. */
void vmgpu_ctx_set_log_priority(struct vmgpu_ctx *ctx, int priority);
/* The root as given (owned by ctx). */
const char *vmgpu_ctx_root(const struct vmgpu_ctx *ctx);

/*
 * Hold var/lib/vmgpu/lock (below the root) until vmgpu_ctx_unlock() or the
 * context goes: concurrent vmgpu runs wait, so a host read, a plan made and
 * applied meanwhile see the host at rest (no other run half-way). Applying
 * and recovering through CTX reuse the lock. Waits while another run holds
 * it. Where vmgpu never wrote var/lib/vmgpu there is nothing to wait for:
 * 0, and nothing is held or created.
 */
int vmgpu_ctx_lock(struct vmgpu_ctx *ctx);
void vmgpu_ctx_unlock(struct vmgpu_ctx *ctx);

/* ---- addresses ---------------------------------------------------------- */

/*
 * Parse "DDDD:BB:DD.F" or "BB:DD.F" (hex; domain defaults to 0). Strict:
 * device ≤ 1f, function ≤ 7, nothing trailing. Returns -EINVAL otherwise.
 */
int vmgpu_parse_address(const char *s, uint32_t *ret_domain, uint8_t *ret_bus,
			uint8_t *ret_dev, uint8_t *ret_fn);
/* S is a UUID as mdevs are named: 8-4-4-4-12 hex digits, either case. */
bool vmgpu_is_uuid(const char *s);

/* ---- host --------------------------------------------------------------- */

/*
 * Read every PCI function and the host-level facts under the context's root.
 * Returns -ENOENT when the root has no sys/bus/pci/devices (not a Linux root).
 * Unreadable attributes of a single device never fail the scan; they are
 * recorded as unknown on that device.
 */
int vmgpu_host_scan(struct vmgpu_ctx *ctx, struct vmgpu_host **ret_host);
struct vmgpu_host *vmgpu_host_ref(struct vmgpu_host *host);
struct vmgpu_host *vmgpu_host_unref(struct vmgpu_host *host);

/* Devices sorted by address; index 0 .. n-1. */
size_t vmgpu_host_n_devices(const struct vmgpu_host *host);
struct vmgpu_dev *vmgpu_host_device(const struct vmgpu_host *host, size_t i);

/*
 * Find a device by PCI address ("0000:01:00.0", "01:00.0"), by topology path
 * ("pci0000:00/0000:00:01.0/0000:01:00.0") or by Hyper-V location path
 * ("PCIROOT(0)#PCI(0100)#PCI(0000)").
 * Returns -EINVAL when SPEC is none of these forms, -ENODEV when no such device.
 */
int vmgpu_host_lookup(const struct vmgpu_host *host, const char *spec, struct vmgpu_dev **ret_dev);

/* Tri-state answers: known yes, known no, or could not be told. */
enum vmgpu_tristate {
	VMGPU_UNKNOWN = -1,
	VMGPU_NO = 0,
	VMGPU_YES = 1,
};

enum vmgpu_module_state {
	VMGPU_MODULE_UNKNOWN,
	VMGPU_MODULE_MISSING,   /* not built for this kernel */
	VMGPU_MODULE_AVAILABLE, /* on disk, not loaded */
	VMGPU_MODULE_LOADED,    /* loaded or built in */
};

enum vmgpu_host_fact {
	VMGPU_HOST_IOMMU,                   /* tristate: an IOMMU unit is registered */
	VMGPU_HOST_INTERRUPT_REMAPPING,     /* tristate */
	VMGPU_HOST_ALLOW_UNSAFE_INTERRUPTS, /* tristate: vfio_iommu_type1 parameter */
	VMGPU_HOST_CONFIG_LIMITED,          /* tristate: config space readable only to 64 bytes */
	VMGPU_HOST_FRAMEBUFFERS_KNOWN,      /* tristate: proc/iomem had real addresses */
	_VMGPU_HOST_FACT_MAX,
};
enum vmgpu_tristate vmgpu_host_fact(const struct vmgpu_host *host, enum vmgpu_host_fact fact);
enum vmgpu_module_state vmgpu_host_vfio_pci(const struct vmgpu_host *host);
/* Entries in sys/kernel/iommu_groups. */
unsigned vmgpu_host_n_iommu_groups(const struct vmgpu_host *host);
/* Kernel release and command line, NULL when unreadable. */
const char *vmgpu_host_kernel(const struct vmgpu_host *host);
const char *vmgpu_host_cmdline(const struct vmgpu_host *host);
/* IOMMU units (sys/class/iommu entries: "dmar0", "ivhd0", ...). */
size_t vmgpu_host_n_iommu_units(const struct vmgpu_host *host);
const char *vmgpu_host_iommu_unit(const struct vmgpu_host *host, size_t i);

struct vmgpu_framebuffer {
	const char *name;       /* "efifb", "BOOTFB", "simpledrm", ... */
	uint64_t start, end;    /* inclusive, as in proc/iomem */
	struct vmgpu_dev *dev;  /* device whose BAR holds it, or NULL */
};
size_t vmgpu_host_n_framebuffers(const struct vmgpu_host *host);
int vmgpu_host_framebuffer(const struct vmgpu_host *host, size_t i, struct vmgpu_framebuffer *ret_fb);

/* ---- devices ------------------------------------------------------------ */

enum vmgpu_dev_str {
	VMGPU_STR_ADDRESS,        /* "0000:01:00.0" (never NULL) */
	VMGPU_STR_DRIVER,         /* bound driver */
	VMGPU_STR_DRIVER_OVERRIDE,
	VMGPU_STR_VENDOR_NAME,    /* from pci.ids through libpci */
	VMGPU_STR_DEVICE_NAME,
	VMGPU_STR_SUBSYSTEM_NAME,
	VMGPU_STR_PATH,           /* "pci0000:00/0000:00:01.0/0000:01:00.0" (never NULL) */
	VMGPU_STR_LOCATION_PATH,  /* "PCIROOT(0)#PCI(0100)#PCI(0000)" */
	VMGPU_STR_RESET_METHOD,   /* sysfs reset_method as read ("flr bus"), NULL if absent */
	VMGPU_STR_PHYSFN,         /* address of the PF when this is an SR-IOV VF */
	VMGPU_STR_CLASS_NAME,     /* "VGA compatible controller", from pci.ids */
	_VMGPU_STR_MAX,
};
/* NULL when the fact is absent or unreadable. */
const char *vmgpu_dev_str(struct vmgpu_dev *dev, enum vmgpu_dev_str what);

enum vmgpu_dev_int {
	VMGPU_INT_VENDOR,
	VMGPU_INT_DEVICE,
	VMGPU_INT_SUBSYSTEM_VENDOR,
	VMGPU_INT_SUBSYSTEM_DEVICE,
	VMGPU_INT_CLASS,          /* 24 bits: base, sub, prog-if */
	VMGPU_INT_REVISION,
	VMGPU_INT_HEADER_TYPE,    /* 0 endpoint, 1 bridge, 2 CardBus (multifunction bit masked) */
	VMGPU_INT_IOMMU_GROUP,
	VMGPU_INT_NUMA_NODE,
	VMGPU_INT_CONFIG_SIZE,    /* bytes of config space read (always known) */
	VMGPU_INT_PCIE_TYPE,      /* enum vmgpu_pcie_type */
	VMGPU_INT_ACS_CTRL,
	VMGPU_INT_SRIOV_TOTAL_VFS,
	VMGPU_INT_SRIOV_NUM_VFS,
	VMGPU_INT_MSIX_VECTORS,
	_VMGPU_INT_MAX,
};
/* Returns 0, or -ENODATA when unknown or not applicable. */
int vmgpu_dev_int(const struct vmgpu_dev *dev, enum vmgpu_dev_int what, int64_t *ret);

enum vmgpu_pcie_type {
	VMGPU_PCIE_ENDPOINT = 0x0,
	VMGPU_PCIE_LEGACY_ENDPOINT = 0x1,
	VMGPU_PCIE_RC_INTEGRATED_ENDPOINT = 0x9,
	VMGPU_PCIE_RC_EVENT_COLLECTOR = 0xa,
	VMGPU_PCIE_ROOT_PORT = 0x4,
	VMGPU_PCIE_UPSTREAM_PORT = 0x5,
	VMGPU_PCIE_DOWNSTREAM_PORT = 0x6,
	VMGPU_PCIE_PCIE_TO_PCI_BRIDGE = 0x7,
	VMGPU_PCIE_PCI_TO_PCIE_BRIDGE = 0x8,
};
/* "endpoint", "root_port", ...; NULL for values the spec does not define. */
const char *vmgpu_pcie_type_name(int type);

enum vmgpu_dev_flag {
	VMGPU_FLAG_PCIE,             /* has a PCI Express capability */
	VMGPU_FLAG_MSI,
	VMGPU_FLAG_MSIX,
	VMGPU_FLAG_FLR,              /* PCIe DevCap Function Level Reset */
	VMGPU_FLAG_AF_FLR,           /* Advanced Features FLR */
	VMGPU_FLAG_PM_NO_SOFT_RESET, /* D3hot->D0 keeps state: PM reset does nothing */
	VMGPU_FLAG_ACS,
	VMGPU_FLAG_SRIOV,
	VMGPU_FLAG_REBAR,
	VMGPU_FLAG_BOOT_VGA,
	VMGPU_FLAG_BRIDGE,           /* type 1/2 header or bridge class: never assignable */
	VMGPU_FLAG_VIRTFN,           /* an SR-IOV virtual function */
	VMGPU_FLAG_CONFIG_ALL_ONES,  /* config reads 0xff (D3cold, surprise removal) */
	_VMGPU_FLAG_MAX,
};
enum vmgpu_tristate vmgpu_dev_flag(const struct vmgpu_dev *dev, enum vmgpu_dev_flag what);

/* BAR slots: 0..5 standard BARs, 6 expansion ROM, 7..12 SR-IOV VF BARs 0..5. */
#define VMGPU_BAR_ROM 6
#define VMGPU_BAR_VF0 7
#define VMGPU_N_BARS 13

struct vmgpu_bar {
	uint64_t start;
	uint64_t size;      /* 0 when size_known is false */
	bool size_known;
	bool io;
	bool is_64bit;
	bool prefetchable;
};
/* Returns 0, or -ENOENT when the slot is unused (including the upper half of
 * a 64-bit BAR). For VF BARs, size is per VF. */
int vmgpu_dev_bar(const struct vmgpu_dev *dev, unsigned slot, struct vmgpu_bar *ret_bar);

/* Resizable BAR: current size and supported sizes (bit n = 1 MiB << n) of BAR
 * index BAR. Returns -ENOENT when BAR is not resizable or unknown. */
int vmgpu_dev_rebar(const struct vmgpu_dev *dev, unsigned bar, uint64_t *ret_current,
		    uint64_t *ret_supported_mask);

/* Upstream bridge, NULL at a root bus. */
struct vmgpu_dev *vmgpu_dev_parent(const struct vmgpu_dev *dev);

/* Other PCI functions in the same IOMMU group (bridges included), by address. */
size_t vmgpu_dev_n_group_peers(const struct vmgpu_dev *dev);
struct vmgpu_dev *vmgpu_dev_group_peer(const struct vmgpu_dev *dev, size_t i);

/* Facts that could not be read, each "what: why". */
size_t vmgpu_dev_n_unknown(const struct vmgpu_dev *dev);
const char *vmgpu_dev_unknown(const struct vmgpu_dev *dev, size_t i);

/* True for class 03xx (display controllers). */
bool vmgpu_dev_is_display(const struct vmgpu_dev *dev);

/* ---- MMIO a VM must offer ----------------------------------------------- */

struct vmgpu_mmio {
	uint64_t low;                 /* below 4 GiB: 32-bit BARs, 64-bit non-prefetchable BARs, ROMs */
	uint64_t high;                /* above 4 GiB: 64-bit prefetchable BARs */
	bool sizes_unknown;           /* some BAR had no size: the figures are a lower bound */
	uint64_t qemu_pci_hole64;     /* what to give q35-pcihost.pci-hole64-size / <pcihole64> */
	uint64_t qemu_pci_hole64_default;
	bool qemu_pci_hole64_sufficient;
	uint64_t hyperv_low;          /* Set-VM -LowMemoryMappedIoSpace (bytes) */
	uint64_t hyperv_high;         /* Set-VM -HighMemoryMappedIoSpace (bytes) */
	uint64_t hyperv_low_default;
	uint64_t hyperv_high_default;
};

/*
 * The MMIO space N devices need when given to one VM, each guest slot (the
 * functions of a host slot that go together; each SR-IOV VF alone, as
 * vmgpu_vm_layout_new() places them) behind its own PCIe root port, each BAR
 * naturally aligned. See vmgpu(8), MMIO, for the rule.
 */
int vmgpu_mmio_compute(struct vmgpu_dev *const *devs, size_t n, struct vmgpu_mmio *ret_mmio);

/* ---- verdict ------------------------------------------------------------ */

enum vmgpu_verdict_kind {
	VMGPU_VERDICT_READY,
	VMGPU_VERDICT_READY_WITH_COMPANIONS,
	VMGPU_VERDICT_BLOCKED,
};
/* "ready", "ready_with_companions", "blocked". */
const char *vmgpu_verdict_kind_name(enum vmgpu_verdict_kind kind);

enum vmgpu_severity {
	VMGPU_SEVERITY_INFO,
	VMGPU_SEVERITY_WARNING,
	VMGPU_SEVERITY_BLOCKER,
};
const char *vmgpu_severity_name(enum vmgpu_severity s);

struct vmgpu_reason {
	const char *code;        /* stable identifier, e.g. "iommu_off" */
	enum vmgpu_severity severity;
	const char *message;     /* one sentence: what stands in the way */
	const char *fix;         /* what to do, or NULL */
};

/*
 * Judge whether DEV can be handed to a VM as it is. Bridges get -EINVAL.
 * The verdict holds a reference on HOST.
 */
int vmgpu_dev_judge(struct vmgpu_host *host, struct vmgpu_dev *dev, struct vmgpu_verdict **ret_verdict);
struct vmgpu_verdict *vmgpu_verdict_unref(struct vmgpu_verdict *v);
enum vmgpu_verdict_kind vmgpu_verdict_kind(const struct vmgpu_verdict *v);
size_t vmgpu_verdict_n_reasons(const struct vmgpu_verdict *v);
int vmgpu_verdict_reason(const struct vmgpu_verdict *v, size_t i, struct vmgpu_reason *ret_reason);
/* Functions that must go to the same VM (the rest of the IOMMU group, bridges excluded). */
size_t vmgpu_verdict_n_companions(const struct vmgpu_verdict *v);
struct vmgpu_dev *vmgpu_verdict_companion(const struct vmgpu_verdict *v, size_t i);

/* ---- plans: ordered, verified, reversible host changes ------------------ */

struct vmgpu_plan;

enum vmgpu_step_kind {
	VMGPU_STEP_LOAD_MODULE,  /* modprobe VALUE (through libkmod) */
	VMGPU_STEP_SET_OVERRIDE, /* echo VALUE > PATH (devices/D/driver_override); "" clears it */
	VMGPU_STEP_UNBIND,       /* echo D > PATH (devices/D/driver/unbind); then no driver */
	VMGPU_STEP_PROBE,        /* echo D > PATH (bus/pci/drivers_probe); then driver EXPECT */
	VMGPU_STEP_CHECK_GROUP,  /* VFIO_GROUP_GET_STATUS on PATH (dev/vfio/N): viable */
	VMGPU_STEP_WRITE_FILE,   /* write VALUE to PATH atomically (udev rule, modules-load) */
	VMGPU_STEP_REMOVE_FILE,  /* remove PATH */
	VMGPU_STEP_WRITE_ATTR,   /* echo VALUE > PATH; then PATH reads EXPECT */
	VMGPU_STEP_MDEV_CREATE,  /* echo UUID(VALUE) > PATH (.../mdev_supported_types/T/create) */
	VMGPU_STEP_MDEV_REMOVE,  /* echo 1 > PATH (bus/mdev/devices/UUID/remove) */
};

struct vmgpu_step {
	enum vmgpu_step_kind kind;
	struct vmgpu_dev *dev; /* the function it acts on, NULL for host-wide steps */
	const char *path;      /* below the host root, e.g. "sys/bus/pci/drivers_probe" */
	const char *value;     /* what is written (or the module to load) */
	const char *expect;    /* PROBE/UNBIND: the driver expected afterwards, "" for none */
	const char *summary;   /* one line for people */
};

enum vmgpu_plan_flags {
	VMGPU_PLAN_FORCE = 1 << 0,   /* override refusals that are the user's risk */
	VMGPU_PLAN_PERSIST = 1 << 1, /* assign: also across reboots (udev rule) */
	VMGPU_PLAN_FOREIGN = 1 << 2, /* release: also devices vmgpu did not assign */
};

/*
 * Plan giving DEVS and every other non-bridge function of their IOMMU groups
 * to vfio-pci: driver_override + unbind + drivers_probe per function, then a
 * group viability check. Functions already on vfio-pci are left as they are.
 * Refusals (a disk the host has mounted, the device open by a process, ...)
 * are recorded in the plan, not returned as errors.
 */
int vmgpu_plan_assign(struct vmgpu_host *host, struct vmgpu_dev *const *devs, size_t n, unsigned flags,
		      struct vmgpu_plan **ret_plan);
/*
 * Plan giving DEVS (and their group companions that vmgpu assigned) back to
 * the drivers they had before vmgpu assign, as recorded in the state file.
 */
int vmgpu_plan_release(struct vmgpu_host *host, struct vmgpu_dev *const *devs, size_t n, unsigned flags,
		       struct vmgpu_plan **ret_plan);
struct vmgpu_plan *vmgpu_plan_unref(struct vmgpu_plan *plan);

size_t vmgpu_plan_n_steps(const struct vmgpu_plan *plan);
int vmgpu_plan_step(const struct vmgpu_plan *plan, size_t i, struct vmgpu_step *ret_step);
/* The functions the plan changes, in order. */
size_t vmgpu_plan_n_devices(const struct vmgpu_plan *plan);
struct vmgpu_dev *vmgpu_plan_device(const struct vmgpu_plan *plan, size_t i);

/* Why the plan must not run. A refusal with forced set was overridden by
 * VMGPU_PLAN_FORCE and does not block. */
size_t vmgpu_plan_n_refusals(const struct vmgpu_plan *plan);
int vmgpu_plan_refusal(const struct vmgpu_plan *plan, size_t i, struct vmgpu_reason *ret_reason,
		       bool *ret_forced);
/* True when an unforced refusal stands. */
bool vmgpu_plan_refused(const struct vmgpu_plan *plan);

/* Called after each step with its index and result (0 or -errno). */
typedef void (*vmgpu_progress_fn)(void *userdata, size_t i, size_t n, const struct vmgpu_step *step,
				  int result);

/*
 * Run the plan: take the lock (var/lib/vmgpu/lock), finish any interrupted
 * plan first (see vmgpu_recover), record the prior state of every function
 * in the journal (var/lib/vmgpu/journal, written crash-safely), then do each
 * step, checking its precondition before and its effect after. On failure,
 * every function is put back the way the journal recorded it.
 * Returns -EPERM when refused, -ENODEV when a function vanished, -ESTALE when
 * the host changed since it was read (plan again from a new scan), other
 * -errno on failure; *ret_report then says what happened, step by step
 * (NULL on success).
 */
int vmgpu_plan_apply(struct vmgpu_plan *plan, vmgpu_progress_fn progress, void *userdata, char **ret_report);

/*
 * Finish an interrupted plan: put every function recorded in the journal
 * back to its prior state (FINISH false) or to the plan's end state (FINISH
 * true), verify, and remove the journal. *ret_recovered is false when there
 * was nothing to do. *ret_report says what was done.
 */
int vmgpu_recover(struct vmgpu_ctx *ctx, bool finish, bool *ret_recovered, char **ret_report);

/*
 * Partition plans (applied, journaled and recovered like assign):
 *  - COUNT new instances of mdev TYPE on PARENT (a vmgpu_partitions_parent name),
 *    with PERSIST also defined in mdevctl's store (etc/mdevctl.d/PARENT/UUID)
 *    so that mdevctl, libvirt and udev start them at boot;
 *  - removal of mdev instances;
 *  - NUM_VFS SR-IOV virtual functions on PF (0 removes them), with driver
 *    autoprobe off so that the VFs stay free for VMs;
 *  - NVIDIA vGPU TYPE_ID on a VF (0 removes the vGPU).
 * Refused when the instances are not available, the type is not creatable,
 * or a slice to be removed is in use by a VM.
 */
int vmgpu_plan_mdev_create(struct vmgpu_host *host, const char *parent, const char *type, unsigned count,
			   unsigned flags, struct vmgpu_plan **ret_plan);
int vmgpu_plan_mdev_remove(struct vmgpu_host *host, const char *const *uuids, size_t n, unsigned flags,
			   struct vmgpu_plan **ret_plan);
int vmgpu_plan_sriov(struct vmgpu_host *host, struct vmgpu_dev *pf, unsigned num_vfs, unsigned flags,
		     struct vmgpu_plan **ret_plan);
int vmgpu_plan_vgpu(struct vmgpu_host *host, struct vmgpu_dev *vf, unsigned type_id, unsigned flags,
		    struct vmgpu_plan **ret_plan);
/* UUIDs of the mdev instances the plan creates. */
size_t vmgpu_plan_n_created(const struct vmgpu_plan *plan);
const char *vmgpu_plan_created(const struct vmgpu_plan *plan, size_t i);

/* ---- what vmgpu has assigned (var/lib/vmgpu/assigned) ------------------- */

struct vmgpu_assignment {
	const char *address;
	const char *driver;    /* driver before assign, "" if none */
	const char *override;  /* driver_override before assign, "" if none */
	uint16_t vendor, device;
	int iommu_group;
	int64_t since;         /* seconds since the epoch */
	bool persist;
};

struct vmgpu_state;
int vmgpu_state_read(struct vmgpu_ctx *ctx, struct vmgpu_state **ret_state);
struct vmgpu_state *vmgpu_state_unref(struct vmgpu_state *state);
size_t vmgpu_state_n(const struct vmgpu_state *state);
int vmgpu_state_get(const struct vmgpu_state *state, size_t i, struct vmgpu_assignment *ret);
/* An interrupted plan is waiting in the journal. */
bool vmgpu_state_interrupted(const struct vmgpu_state *state);

/* ---- what a VM receives: guest layout of passed-through functions -------- */

struct vmgpu_vm_layout;

enum vmgpu_layout_flags {
	VMGPU_LAYOUT_MANAGED = 1 << 0,     /* libvirt detaches at VM start (managed='yes') */
	VMGPU_LAYOUT_NVIDIA_HIDE = 1 << 1, /* old GeForce drivers: hide KVM, set a Hyper-V vendor_id */
	VMGPU_LAYOUT_NO_ROM = 1 << 2,      /* do not expose the option ROM (rom bar='off') */
};

/* One function as the guest will see it: behind root port SLOT (0-based),
 * at function FUNCTION. A guest slot numbers its functions 0..n-1 in host
 * order: the functions of a host slot that go together share one (GPU + HDMI
 * audio), a function alone (an SR-IOV VF, one function of a slot) is function
 * 0 of its own, since a guest scans a slot only when function 0 exists. */
struct vmgpu_vm_function {
	struct vmgpu_dev *dev;
	unsigned slot;
	unsigned function;
	bool multifunction; /* function 0 of a slot with more than one function */
	bool display;
};

/*
 * Lay out DEVS and their IOMMU-group companions for one VM: one PCIe root
 * port per guest slot (GPU + HDMI audio stay one multifunction slot, as the
 * guest driver expects; every VF is function 0 of a slot of its own), the
 * MMIO the VM needs, and the knobs the devices
 * call for. Fails with -EINVAL if a device is a bridge.
 */
int vmgpu_vm_layout_new(struct vmgpu_host *host, struct vmgpu_dev *const *devs, size_t n, unsigned flags,
			struct vmgpu_vm_layout **ret_layout);
struct vmgpu_vm_layout *vmgpu_vm_layout_unref(struct vmgpu_vm_layout *l);
size_t vmgpu_vm_layout_n_functions(const struct vmgpu_vm_layout *l);
int vmgpu_vm_layout_function(const struct vmgpu_vm_layout *l, size_t i, struct vmgpu_vm_function *ret);
size_t vmgpu_vm_layout_n_slots(const struct vmgpu_vm_layout *l);
const struct vmgpu_mmio *vmgpu_vm_layout_mmio(const struct vmgpu_vm_layout *l);
unsigned vmgpu_vm_layout_flags(const struct vmgpu_vm_layout *l);
/* A consumer NVIDIA GPU is in the layout (old drivers refuse VMs: Code 43). */
bool vmgpu_vm_layout_has_consumer_nvidia(const struct vmgpu_vm_layout *l);

/* ---- splitting one GPU among VMs: what the host offers ------------------ */

struct vmgpu_partitions; /* the partitioning inventory of a host */

struct vmgpu_mdev_type {
	const char *id;          /* directory name: "nvidia-63", "mbochs-medium", "i915-GVTg_V5_4" */
	const char *name;        /* its "name" attribute, or NULL */
	const char *description; /* its "description", or NULL */
	const char *device_api;  /* "vfio-pci" */
	int available;           /* available_instances, -1 unreadable */
	uint64_t vram_mib;       /* from the name/description when it says, else 0 */
};

struct vmgpu_mdev {
	const char *uuid;
	const char *type;        /* mdev type id */
	const char *parent;      /* parent name (PCI address or virtual device) */
};

struct vmgpu_vgpu_type {     /* NVIDIA vGPU on an SR-IOV VF (vGPU 17+, nvidia/ in sysfs) */
	unsigned id;
	const char *name;        /* "NVIDIA A40-2Q" */
	uint64_t vram_mib;
};

/* NVIDIA MIG: a GPU instance profile ("1g.18gb"), as NVML reports it. */
struct vmgpu_mig_profile {
	unsigned id;             /* the profile id NVML and nvidia-smi take (device-specific) */
	const char *name;        /* "1g.18gb"; NULL from an NVML without names */
	unsigned slices;         /* compute slices */
	unsigned instances;      /* how many fit on the GPU */
	int available;           /* how many more can be created now; -1 unknown */
	uint64_t memory_mib;
	unsigned multiprocessors, copy_engines, decoders, encoders, jpegs, ofas;
};

struct vmgpu_mig {
	bool current;            /* MIG mode on now */
	bool pending;            /* after the next GPU reset */
};

/* One parent that can be split: a PCI function (GPU, SR-IOV PF) or a
 * virtual mdev parent (the kernel's mbochs/mdpy samples). */
struct vmgpu_partition_parent {
	const char *name;        /* "0000:01:00.0" or "mbochs" */
	struct vmgpu_dev *dev;   /* NULL for a virtual parent */
	int sriov_total_vfs;     /* -1: no SR-IOV */
	int sriov_num_vfs;
	int sriov_autoprobe;     /* -1 unknown */
	const char *render_node; /* "/dev/dri/renderD128" for paravirtual sharing, or NULL */
	size_t n_vfs;            /* VFs present (for per-VF vGPU) */
	const struct vmgpu_mig *mig; /* NVIDIA MIG from NVML, read-only; NULL when not reported */
};

struct vmgpu_vf_vgpu {
	struct vmgpu_dev *vf;
	unsigned current;        /* current_vgpu_type, 0 for none */
};

int vmgpu_partitions_read(struct vmgpu_host *host, struct vmgpu_partitions **ret_partitions);
struct vmgpu_partitions *vmgpu_partitions_unref(struct vmgpu_partitions *s);
size_t vmgpu_partitions_n_parents(const struct vmgpu_partitions *s);
const struct vmgpu_partition_parent *vmgpu_partitions_parent(const struct vmgpu_partitions *s, size_t i);
/* mdev types of PARENT (mdev_supported_types), smallest slice first. */
size_t vmgpu_partitions_n_mdev_types(const struct vmgpu_partitions *s, size_t parent);
const struct vmgpu_mdev_type *vmgpu_partitions_mdev_type(const struct vmgpu_partitions *s, size_t parent, size_t i);
/* MIG GPU instance profiles of PARENT (0 when its mig is NULL). */
size_t vmgpu_partitions_n_mig_profiles(const struct vmgpu_partitions *s, size_t parent);
const struct vmgpu_mig_profile *vmgpu_partitions_mig_profile(const struct vmgpu_partitions *s, size_t parent, size_t i);
/* Existing mdev instances, host-wide. */
size_t vmgpu_partitions_n_mdevs(const struct vmgpu_partitions *s);
const struct vmgpu_mdev *vmgpu_partitions_mdev(const struct vmgpu_partitions *s, size_t i);
/* VFs of PARENT with NVIDIA vGPU type files. */
size_t vmgpu_partitions_n_vf_vgpus(const struct vmgpu_partitions *s, size_t parent);
const struct vmgpu_vf_vgpu *vmgpu_partitions_vf_vgpu(const struct vmgpu_partitions *s, size_t parent, size_t i);
/* The vGPU types VF (an index of vmgpu_partitions_vf_vgpu) can take now
 * (nvidia/creatable_vgpu_types). */
size_t vmgpu_partitions_n_vf_vgpu_types(const struct vmgpu_partitions *s, size_t parent, size_t vf);
const struct vmgpu_vgpu_type *vmgpu_partitions_vf_vgpu_type(const struct vmgpu_partitions *s, size_t parent, size_t vf, size_t i);

/* ---- a pool of desktops placed onto the host (vmgpu plan FILE) --------- */

struct vmgpu_pool;

struct vmgpu_placed {
	const char *desktop;     /* "office-3" */
	const char *want;        /* "dedicated", "slice", "shared" */
	uint64_t vram_mib;       /* asked, for slices */
	const char *gpu;         /* where it goes (PCI address or mdev parent), NULL if unplaced */
	const char *slice_type;  /* slices: the mdev or vGPU type chosen */
	const char *render_node; /* shared: the render node it renders on */
	const char *why;         /* unplaced: what the host lacks */
};

/*
 * Read the pool file JSON (see vmgpu(8), PLAN FILE) and place its desktops
 * onto the host: as many as possible, on as few GPUs as possible. On a
 * malformed file returns -EINVAL with *ret_report saying where.
 */
int vmgpu_pool_new(struct vmgpu_host *host, const char *json, struct vmgpu_pool **ret_pool, char **ret_report);
struct vmgpu_pool *vmgpu_pool_unref(struct vmgpu_pool *pool);
size_t vmgpu_pool_n_desktops(const struct vmgpu_pool *pool);
int vmgpu_pool_placed(const struct vmgpu_pool *pool, size_t i, struct vmgpu_placed *ret);
/* GPUs used, a proven lower bound on them, desktops left out. */
void vmgpu_pool_stats(const struct vmgpu_pool *pool, size_t *ret_gpus_used, size_t *ret_lower_bound,
		      size_t *ret_unplaced);
/* The plans that make the placement real, to apply in order: mdev
 * instances per parent and type, vGPU types on free VFs, then one assign of
 * every dedicated GPU. The caller unrefs each plan and frees the array. */
int vmgpu_pool_plans(struct vmgpu_pool *pool, unsigned flags, struct vmgpu_plan ***ret_plans, size_t *ret_n);

/* ---- renderers: one layout, several formats (strings are malloc'ed) ---- */

/* QEMU arguments, one per line. */
int vmgpu_render_qemu(const struct vmgpu_vm_layout *l, char **ret);
/* Hyper-V DDA script for VM (RELEASE: the script giving the devices back).
 * -EINVAL when VM is empty, not UTF-8, or holds control characters. */
int vmgpu_render_powershell(const struct vmgpu_vm_layout *l, const char *vm, bool release, char **ret);
/* DOMAIN_XML edited to hold the layout; NULL: a skeleton q35 domain VM. */
int vmgpu_render_libvirt(const struct vmgpu_vm_layout *l, const char *domain_xml, const char *vm, char **ret);

/*
 * Through libvirt (URI NULL: qemu:///system): add the layout to domain VM
 * (DETACH: remove it), in the persistent definition and, when the domain
 * runs, live. DRY_RUN only computes *ret_xml, the definition it would use.
 * Refuses (-EPERM) a domain with a managed save image and (-EBUSY) a
 * function not on vfio-pci unless the layout is MANAGED. Adding what a
 * running domain has already, or removing what it has not, is no error.
 * *ret_report says what was done or why not. libvirt is loaded on first
 * use; in a program that uses libvirt itself, its global error handler is
 * left as it is (vmgpu quiets its own connection only).
 */
int vmgpu_libvirt_update(const struct vmgpu_vm_layout *l, const char *uri, const char *vm, bool detach, bool dry_run,
			 char **ret_xml, char **ret_report);

/* Slices for a VM: mdev instances (UUIDS) as <hostdev type='mdev'>, or a
 * virtio-gpu with 3D acceleration rendering on RENDER_NODE (egl-headless). */
int vmgpu_libvirt_update_mdevs(const char *const *uuids, size_t n, const char *uri, const char *vm, bool detach,
			       bool dry_run, char **ret_xml, char **ret_report);
int vmgpu_libvirt_update_virgl(const char *render_node, const char *uri, const char *vm, bool detach, bool dry_run,
			       char **ret_xml, char **ret_report);
int vmgpu_render_slices_libvirt(const char *const *uuids, size_t n, const char *render_node, const char *vm,
				char **ret);
int vmgpu_render_slices_qemu(const char *const *uuids, size_t n, const char *render_node, char **ret);
/*
 * Hyper-V GPU paravirtualization (GPU-PV) of the Easy-GPU-PV kind for VM on
 * the GPU DEV: Add-VMGpuPartitionAdapter with SHARE_PERCENT of VRAM, encode,
 * decode and compute, MMIO, write-combining, checkpoints off, static memory,
 * and the host's driver files copied into the guest's HostDriverStore.
 */
int vmgpu_render_gpupv(struct vmgpu_dev *dev, const char *vm, unsigned share_percent, char **ret);

/* ---- is it in the guest: vmgpu verify ---------------------------------- */

struct vmgpu_verify; /* what a running VM shows of the devices vmgpu gave it */

/* One device vmgpu gave the VM, as QEMU and (with an agent) the guest see it. */
struct vmgpu_verify_device {
	const char *device;          /* host PCI address "0000:01:00.0", or NULL for an mdev */
	const char *mdev;            /* mdev UUID, or NULL */
	const char *id;              /* its QEMU id ("vmgpu-0000-01-00-0", "ua-vmgpu-mdev-UUID") */
	bool expected_known;         /* the host has the device: where vmgpu's layout puts it */
	unsigned expected_function;  /* guest function (slot 0 of its own root port) */
	bool present;                /* QEMU (query-pci) has it */
	const char *port;            /* qdev id of the bridge it sits behind, NULL on the root bus */
	int bus, slot, function;     /* guest address QEMU reports; -1 when not present */
	uint16_t vendor, device_id;  /* as QEMU reports them */
	enum vmgpu_tristate bars_programmed; /* the guest placed and enabled a BAR; UNKNOWN: no BARs */
	bool guest_checked;          /* the guest agent was asked about it */
	bool guest_present;          /* ... and the guest has it */
	const char *guest_address;   /* Linux guests: the guest's PCI address, else NULL */
	const char *guest_driver;    /* the driver bound in the guest, NULL when none */
	const char *guest_driver_version; /* Windows guests */
	bool seen;                   /* the running guest has it */
	const char *why;             /* one sentence: what was seen, or why not */
};

/*
 * Ask a bare QEMU, over its QMP unix socket QMP_SOCKET and (AGENT_SOCKET,
 * may be NULL) the unix socket of its guest-agent chardev, whether the guest
 * has the devices vmgpu gave it: DEVICES (PCI addresses or mdev UUIDs), or,
 * N 0, every device with a vmgpu id. CTX's host root gives the layout the
 * devices should have (CTX NULL: no expected places). Failures: -EINVAL (a DEVICE is neither), -ENOENT,
 * -ECONNREFUSED, -EACCES (the QMP socket), -ETIMEDOUT, -EPROTO (QEMU's
 * answer is not what QMP says), -EREMOTEIO (QEMU refused); *ret_report
 * then says what happened. An agent that does not answer is no
 * failure: the verdicts are QEMU's alone.
 */
int vmgpu_verify_qemu(struct vmgpu_ctx *ctx, const char *qmp_socket, const char *agent_socket,
		      const char *const *devices, size_t n, struct vmgpu_verify **ret, char **ret_report);
/* The same for the running libvirt domain VM (URI NULL: qemu:///system),
 * through libvirt's monitor and agent pass-through; the devices are also
 * read from the live definition. -ESRCH when the domain is not running,
 * -ENOPKG when the libvirt module cannot be loaded. */
int vmgpu_verify_libvirt(struct vmgpu_ctx *ctx, const char *uri, const char *vm, const char *const *devices, size_t n,
			 struct vmgpu_verify **ret, char **ret_report);
struct vmgpu_verify *vmgpu_verify_unref(struct vmgpu_verify *v);
size_t vmgpu_verify_n_devices(const struct vmgpu_verify *v);
int vmgpu_verify_device(const struct vmgpu_verify *v, size_t i, struct vmgpu_verify_device *ret);
/* Every device was seen (false when there is none). */
bool vmgpu_verify_all_seen(const struct vmgpu_verify *v);
/* The guest agent answered; its OS id ("mswindows", "debian", ...) and
 * name, NULL when it did not. */
bool vmgpu_verify_agent_answered(const struct vmgpu_verify *v);
const char *vmgpu_verify_agent_os(const struct vmgpu_verify *v);
const char *vmgpu_verify_agent_os_name(const struct vmgpu_verify *v);
/* Why no agent answered (NULL when one did or none was asked). */
const char *vmgpu_verify_agent_note(const struct vmgpu_verify *v);

#ifdef __cplusplus
}
#endif
