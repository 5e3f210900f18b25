/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for libnvidia-ml.so.1 with the few entry points vmgpu's
 * MIG reader calls, answering as an H200 141 GB with MIG on would (the
 * profile list of `nvidia-smi mig -lgip`; memory figures illustrative).
 * Loaded through VMGPU_NVML_LIBRARY. It checks what a real NVML checks:
 * init before use, the v2 structure's version word, known profile ids.
 *
 *   FAKE_NVML_GPUS     comma-separated PCI addresses it knows (default
 *                      0000:01:00.0)
 *   FAKE_NVML_NO_MIG   set: every GPU answers NOT_SUPPORTED for MIG
 *   FAKE_NVML_NO_V2    set: the named (v2) profile call is "not found",
 *                      as in drivers before R510
 *   FAKE_NVML_FAIL_INIT set: nvmlInit_v2 fails (driver not loaded)
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define OK 0
#define ERR_UNINITIALIZED 1
#define ERR_INVALID_ARGUMENT 2
#define ERR_NOT_SUPPORTED 3
#define ERR_NOT_FOUND 6
#define ERR_DRIVER_NOT_LOADED 9
#define ERR_FUNCTION_NOT_FOUND 13
#define ERR_ARGUMENT_VERSION_MISMATCH 25

struct profile {
	unsigned int id, p2p, slices, instances, sms, ces, decs, encs, jpegs, ofas;
	unsigned long long mem_mb;
};

struct profile_v2 {
	unsigned int version;
	unsigned int id, p2p, slices, instances, sms, ces, decs, encs, jpegs, ofas;
	unsigned long long mem_mb;
	char name[96];
};

static const struct {
	unsigned int index; /* NVML_GPU_INSTANCE_PROFILE_* */
	struct profile p;
	const char *name;
	unsigned int free;
} h200[] = {
	{ 0x0, { 19, 0, 1, 7, 16, 1, 1, 0, 0, 0, 16384 }, "1g.18gb", 5 },
	{ 0x1, { 14, 0, 2, 3, 32, 2, 2, 0, 0, 0, 32768 }, "2g.35gb", 2 },
	{ 0x2, { 9, 0, 3, 2, 60, 3, 3, 0, 0, 0, 69632 }, "3g.71gb", 1 },
	{ 0x3, { 5, 0, 4, 1, 64, 4, 4, 0, 0, 0, 69632 }, "4g.71gb", 0 },
	{ 0x4, { 0, 0, 7, 1, 132, 8, 7, 0, 7, 1, 139264 }, "7g.141gb", 0 },
	{ 0x7, { 20, 0, 1, 1, 16, 1, 7, 0, 7, 1, 16384 }, "1g.18gb+me", 1 },
	{ 0x9, { 15, 0, 1, 4, 26, 1, 1, 0, 0, 0, 32768 }, "1g.35gb", 3 },
};

static int initialized;

static const char *known(const char *bus_id)
{
	const char *list = getenv("FAKE_NVML_GPUS");
	size_t n = strlen(bus_id);

	if (!list)
		list = "0000:01:00.0";
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, bus_id, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return p;
	return NULL;
}

int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetHandleByPciBusId_v2(const char *bus_id, void **dev);
int nvmlDeviceGetMigMode(void *dev, unsigned int *current, unsigned int *pending);
int nvmlDeviceGetGpuInstanceProfileInfo(void *dev, unsigned int profile, struct profile *info);
int nvmlDeviceGetGpuInstanceProfileInfoV(void *dev, unsigned int profile, struct profile_v2 *info);
int nvmlDeviceGetGpuInstanceRemainingCapacity(void *dev, unsigned int profile_id, unsigned int *count);

int nvmlInit_v2(void)
{
	if (getenv("FAKE_NVML_FAIL_INIT"))
		return ERR_DRIVER_NOT_LOADED;
	initialized++;
	return OK;
}

int nvmlShutdown(void)
{
	if (!initialized)
		return ERR_UNINITIALIZED;
	initialized--;
	return OK;
}

int nvmlDeviceGetHandleByPciBusId_v2(const char *bus_id, void **dev)
{
	const char *p;

	if (!initialized)
		return ERR_UNINITIALIZED;
	if (!bus_id || !dev)
		return ERR_INVALID_ARGUMENT;
	if (!(p = known(bus_id)))
		return ERR_NOT_FOUND;
	*dev = (void *)p;
	return OK;
}

int nvmlDeviceGetMigMode(void *dev, unsigned int *current, unsigned int *pending)
{
	if (!initialized)
		return ERR_UNINITIALIZED;
	if (!dev || !current || !pending)
		return ERR_INVALID_ARGUMENT;
	if (getenv("FAKE_NVML_NO_MIG"))
		return ERR_NOT_SUPPORTED;
	*current = 1;
	*pending = 1;
	return OK;
}

static int find(void *dev, unsigned int index)
{
	if (!initialized)
		return -ERR_UNINITIALIZED;
	if (!dev || getenv("FAKE_NVML_NO_MIG"))
		return -ERR_NOT_SUPPORTED;
	for (size_t i = 0; i < sizeof(h200) / sizeof(h200[0]); i++)
		if (h200[i].index == index)
			return (int)i;
	return -ERR_INVALID_ARGUMENT;
}

int nvmlDeviceGetGpuInstanceProfileInfo(void *dev, unsigned int profile, struct profile *info)
{
	int i = find(dev, profile);

	if (i < 0)
		return -i;
	*info = h200[i].p;
	return OK;
}

int nvmlDeviceGetGpuInstanceProfileInfoV(void *dev, unsigned int profile, struct profile_v2 *info)
{
	int i;

	if (getenv("FAKE_NVML_NO_V2"))
		return ERR_FUNCTION_NOT_FOUND;
	if (!info || info->version != (unsigned int)(sizeof(*info) | (2u << 24)))
		return ERR_ARGUMENT_VERSION_MISMATCH;
	if ((i = find(dev, profile)) < 0)
		return -i;
	memcpy(&info->id, &h200[i].p, offsetof(struct profile, mem_mb));
	info->mem_mb = h200[i].p.mem_mb;
	strncpy(info->name, h200[i].name, sizeof(info->name) - 1);
	return OK;
}

int nvmlDeviceGetGpuInstanceRemainingCapacity(void *dev, unsigned int profile_id, unsigned int *count)
{
	if (!initialized)
		return ERR_UNINITIALIZED;
	for (size_t i = 0; dev && count && i < sizeof(h200) / sizeof(h200[0]); i++)
		if (h200[i].p.id == profile_id) {
			*count = h200[i].free;
			return OK;
		}
	return ERR_INVALID_ARGUMENT;
}
