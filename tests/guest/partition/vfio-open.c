/*
 * vfio-open GROUP DEVICE [--hold] - open a VFIO device the way a VMM (QEMU's
 * vfio-pci with sysfsdev=) does, independently of vmgpu:
 *
 *   container = open /dev/vfio/vfio, VFIO_GET_API_VERSION,
 *               VFIO_CHECK_EXTENSION(TYPE1v2 or TYPE1)
 *   group     = open /dev/vfio/GROUP, VFIO_GROUP_GET_STATUS (viable),
 *               VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU
 *   device    = VFIO_GROUP_GET_DEVICE_FD(DEVICE)  - an mdev's UUID or a PCI
 *               function's address
 *   VFIO_DEVICE_GET_INFO (must be a vfio-pci device), then through the
 *   config-space region: vendor and device ID; VFIO_DEVICE_GET_REGION_INFO
 *   on BAR0 for its size (mbochs: the VRAM of the mdev type).
 *
 * Prints one line:
 *   ok vendor=1234 device=1111 regions=9 irqs=5 bar0=67108864
 * or "error: ..." (exit status 2).  With --hold it then prints "holding",
 * keeps every fd open until stdin reaches EOF (or it is killed), and exits 0:
 * the device is in use by "a VM" meanwhile.
 *
 * tests/guest/partition/test-partition-guest.sh builds it with gcc -static
 * for tests/guest/partition/scenario.sh (the guest has no compiler).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int error(const char *what, const char *arg)
{
	printf("error: %s %s: %s\n", what, arg, strerror(errno));
	return 2;
}

int main(int argc, char **argv)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX };
	uint16_t ids[2];
	char node[64], buf[64];
	char *end;
	long group;
	int container, gfd, dfd, hold = 0;

	if (argc == 4 && strcmp(argv[3], "--hold") == 0)
		hold = 1;
	if ((argc != 3 && !hold) || (group = strtol(argv[1], &end, 10)) < 0 || *end || end == argv[1]) {
		fprintf(stderr, "usage: vfio-open GROUP DEVICE [--hold]\n");
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return error("open", "/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		printf("error: unexpected VFIO API version\n");
		return 2;
	}
	if (!ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) &&
	    !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)) {
		printf("error: no type1 IOMMU support (vfio_iommu_type1 not loaded?)\n");
		return 2;
	}
	snprintf(node, sizeof(node), "/dev/vfio/%ld", group);
	gfd = open(node, O_RDWR | O_CLOEXEC);
	if (gfd < 0)
		return error("open", node);
	if (ioctl(gfd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return error("VFIO_GROUP_GET_STATUS", node);
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("error: group %ld is not viable\n", group);
		return 2;
	}
	if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return error("VFIO_GROUP_SET_CONTAINER", node);
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return error("VFIO_SET_IOMMU", node);
	dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
	if (dfd < 0)
		return error("VFIO_GROUP_GET_DEVICE_FD", argv[2]);
	if (ioctl(dfd, VFIO_DEVICE_GET_INFO, &info) < 0)
		return error("VFIO_DEVICE_GET_INFO", argv[2]);
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		printf("error: %s is not a vfio-pci device (flags 0x%x)\n", argv[2], info.flags);
		return 2;
	}
	if (ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
		return error("VFIO_DEVICE_GET_REGION_INFO(config)", argv[2]);
	if (pread(dfd, ids, sizeof(ids), (off_t)cfg.offset) != (ssize_t)sizeof(ids))
		return error("reading the config space of", argv[2]);
	if (ioctl(dfd, VFIO_DEVICE_GET_REGION_INFO, &bar0) < 0)
		return error("VFIO_DEVICE_GET_REGION_INFO(BAR0)", argv[2]);
	printf("ok vendor=%04x device=%04x regions=%u irqs=%u bar0=%llu\n", ids[0], ids[1], info.num_regions,
	       info.num_irqs, (unsigned long long)bar0.size);
	if (hold) {
		printf("holding\n");
		fflush(stdout);
		while (read(0, buf, sizeof(buf)) > 0)
			;
	}
	close(dfd);
	close(gfd);
	close(container);
	return 0;
}
