/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NVIDIA MIG, read-only, through NVIDIA's management library (NVML, the
 * libnvidia-ml.so.1 of the driver package): what `nvidia-smi mig -lgip`
 * prints. The kernel exposes no MIG profiles in sysfs; NVML is the only
 * source, so it is opened with dlopen() on first use and only when an
 * NVIDIA GPU is bound to the nvidia driver. Hosts without it go on without
 * MIG figures.
 *
 * NVML speaks for the machine it runs on, not for a --root snapshot: it is
 * only asked when the root is the live "/", unless VMGPU_NVML_LIBRARY names
 * a library to use instead (tests, or a recorded answer).
 *
 * ABI (nvml.h, stable since R450): functions return an int (0 success),
 * devices are opaque pointers, and versioned structures carry
 * sizeof | version << 24 in their first field.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlsym.h"
#include "mig.h"

#define NVML_SUCCESS 0
#define NVML_MIG_ENABLE 1
#define NVML_NAME_MAX 96

typedef struct nvmlDevice_st *nvmlDevice_t;

/* nvmlGpuInstanceProfileInfo_t */
struct nvml_gi_profile {
	unsigned int id, is_p2p_supported, slice_count, instance_count, multiprocessor_count;
	unsigned int copy_engine_count, decoder_count, encoder_count, jpeg_count, ofa_count;
	unsigned long long memory_size_mb;
};

/* nvmlGpuInstanceProfileInfo_v2_t: the same with a version and a name */
struct nvml_gi_profile_v2 {
	unsigned int version;
	unsigned int id, is_p2p_supported, slice_count, instance_count, multiprocessor_count;
	unsigned int copy_engine_count, decoder_count, encoder_count, jpeg_count, ofa_count;
	unsigned long long memory_size_mb;
	char name[NVML_NAME_MAX];
};

#define NVML_GI_PROFILE_V2_VERSION ((unsigned int)(sizeof(struct nvml_gi_profile_v2) | (2u << 24)))

/* The few entry points used, as nvml.h declares them (it is not packaged
 * where vmgpu builds); the sym_ pointers take their types from here. */
int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device);
int nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode);
int nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile, struct nvml_gi_profile *info);
/* R510 and later: with the profile's name */
int nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile, struct nvml_gi_profile_v2 *info);
int nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId, unsigned int *count);

ELF_NOTE_DLOPEN("nvml", "NVIDIA MIG profiles of a GPU bound to the nvidia driver (survey, partition list)",
		ELF_NOTE_DLOPEN_PRIORITY_SUGGESTED, "libnvidia-ml.so.1");

DECLARE_DLSYM(nvmlInit_v2);
DECLARE_DLSYM(nvmlShutdown);
DECLARE_DLSYM(nvmlDeviceGetHandleByPciBusId_v2);
DECLARE_DLSYM(nvmlDeviceGetMigMode);
DECLARE_DLSYM(nvmlDeviceGetGpuInstanceProfileInfo);
DECLARE_DLSYM(nvmlDeviceGetGpuInstanceProfileInfoV);
DECLARE_DLSYM(nvmlDeviceGetGpuInstanceRemainingCapacity);

static bool nvml_tried;
static void *nvml_dl;

static bool root_is_live(struct vmgpu_ctx *ctx)
{
	struct stat a, b;

	return fstat(ctx->root_fd, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool nvml_load(struct vmgpu_ctx *ctx)
{
	const char *lib = secure_getenv("VMGPU_NVML_LIBRARY");
	int r;

	if (!(lib && *lib) && !root_is_live(ctx))
		return false;
	if (nvml_tried)
		return nvml_dl != NULL;
	nvml_tried = true;
	r = dlsym_many(&nvml_dl, lib && *lib ? lib : "libnvidia-ml.so.1",
		       DLSYM_ARG(nvmlInit_v2),
		       DLSYM_ARG(nvmlShutdown),
		       DLSYM_ARG(nvmlDeviceGetHandleByPciBusId_v2),
		       DLSYM_ARG(nvmlDeviceGetMigMode),
		       DLSYM_ARG(nvmlDeviceGetGpuInstanceProfileInfo),
		       NULL);
	if (r == -ENOENT) {
		DBG(ctx, "NVML not available (%s): no MIG figures", dlsym_error());
		return false;
	}
	if (r < 0) {
		DBG(ctx, "NVML predates MIG (%s): no MIG figures", dlsym_error());
		return false;
	}
	DLSYM_OPTIONAL(nvml_dl, nvmlDeviceGetGpuInstanceProfileInfoV);
	DLSYM_OPTIONAL(nvml_dl, nvmlDeviceGetGpuInstanceRemainingCapacity);
	return true;
}

int nvml_begin(struct vmgpu_ctx *ctx)
{
	int r;

	if (!nvml_load(ctx))
		return -ENOENT;
	if ((r = sym_nvmlInit_v2()) != NVML_SUCCESS) {
		DBG(ctx, "nvmlInit failed (NVML error %d): no MIG figures", r);
		return -EIO;
	}
	return 0;
}

void nvml_end(void)
{
	if (nvml_dl)
		sym_nvmlShutdown();
}

#define PROFILE_FIELDS(v)                                                                   \
	(struct vmgpu_mig_profile)                                                             \
	{                                                                                      \
		.id = (v).id, .slices = (v).slice_count, .instances = (v).instance_count,      \
		.available = -1, .memory_mib = (v).memory_size_mb,                             \
		.multiprocessors = (v).multiprocessor_count, .copy_engines = (v).copy_engine_count, \
		.decoders = (v).decoder_count, .encoders = (v).encoder_count, .jpegs = (v).jpeg_count, \
		.ofas = (v).ofa_count,                                                         \
	}

/* One GPU instance profile, from the v2 call (which has its name) when the
 * library has it, else from the first one. false: no such profile here. */
static bool read_profile(nvmlDevice_t dev, unsigned int id, struct vmgpu_mig_profile *p, char name[NVML_NAME_MAX])
{
	struct nvml_gi_profile_v2 v2 = { .version = NVML_GI_PROFILE_V2_VERSION };
	struct nvml_gi_profile v1 = { 0 };

	name[0] = '\0';
	if (sym_nvmlDeviceGetGpuInstanceProfileInfoV && sym_nvmlDeviceGetGpuInstanceProfileInfoV(dev, id, &v2) == NVML_SUCCESS) {
		*p = PROFILE_FIELDS(v2);
		memcpy(name, v2.name, NVML_NAME_MAX);
		name[NVML_NAME_MAX - 1] = '\0';
		return true;
	}
	if (sym_nvmlDeviceGetGpuInstanceProfileInfo(dev, id, &v1) != NVML_SUCCESS)
		return false;
	*p = PROFILE_FIELDS(v1);
	return true;
}

int nvml_read_mig(struct vmgpu_ctx *ctx, const char *address, struct nvml_mig *ret)
{
	struct vmgpu_mig_profile profiles[NVML_MIG_PROFILES_MAX];
	char names[NVML_MIG_PROFILES_MAX][NVML_NAME_MAX];
	unsigned int current = 0, pending = 0, n = 0;
	nvmlDevice_t dev;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!nvml_dl)
		return -ENOENT;
	if ((r = sym_nvmlDeviceGetHandleByPciBusId_v2(address, &dev)) != NVML_SUCCESS) {
		DBG(ctx, "%s: not known to NVML (error %d)", address, r);
		return -ENODEV;
	}
	/* NOT_SUPPORTED: a GPU without MIG (everything before A100) */
	if (sym_nvmlDeviceGetMigMode(dev, &current, &pending) != NVML_SUCCESS)
		return -EOPNOTSUPP;
	for (unsigned int id = 0; id < NVML_MIG_PROFILES_MAX; id++) {
		unsigned int left;
		if (!read_profile(dev, id, &profiles[n], names[n]))
			continue;
		if (sym_nvmlDeviceGetGpuInstanceRemainingCapacity && sym_nvmlDeviceGetGpuInstanceRemainingCapacity(dev, profiles[n].id, &left) == NVML_SUCCESS)
			profiles[n].available = (int)left;
		n++;
	}
	ret->mig.current = current == NVML_MIG_ENABLE;
	ret->mig.pending = pending == NVML_MIG_ENABLE;
	if (n) {
		struct vmgpu_mig_profile *copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		for (unsigned int i = 0; i < n; i++) {
			copy[i] = profiles[i];
			if (names[i][0] && !(ret->names[i] = strdup(names[i]))) {
				nvml_mig_free(ret);
				free(copy);
				return -ENOMEM;
			}
			copy[i].name = ret->names[i];
		}
		ret->profiles = copy;
		ret->n_profiles = n;
	}
	return 0;
}

void nvml_mig_free(struct nvml_mig *m)
{
	free(m->profiles);
	for (size_t i = 0; i < NVML_MIG_PROFILES_MAX; i++)
		free(m->names[i]);
	memset(m, 0, sizeof(*m));
}
