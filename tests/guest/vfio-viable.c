/*
 * vfio-viable GROUP - tell, independently of vmgpu, whether IOMMU group GROUP
 * is usable by a VMM: the question QEMU asks before it takes a group
 * ("vfio: error: group N is not viable").
 *
 * Opens the VFIO container /dev/vfio/vfio, checks the API version, opens
 * /dev/vfio/GROUP and reads VFIO_GROUP_GET_STATUS.  When the group is viable
 * it also attaches it to the container and sets the type1 IOMMU, as a VMM
 * does (that fails if the group is in use elsewhere).
 *
 * Prints one line: "viable", "not-viable" or "error: ...".
 * Exit status: 0 viable, 1 not viable, 2 error (no such group node, no VFIO).
 *
 * tests/guest/test-guest.sh builds it with gcc -static for the guest scenarios
 * (tests/guest/scenarios/assign-*.sh), which have no compiler.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
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
	char node[64];
	char *end;
	long group;
	int container, fd;

	if (argc != 2 || (group = strtol(argv[1], &end, 10)) < 0 || *end || end == argv[1]) {
		fprintf(stderr, "usage: vfio-viable GROUP\n");
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return error("open", "/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		printf("error: unexpected VFIO API version\n");
		return 2;
	}
	snprintf(node, sizeof(node), "/dev/vfio/%ld", group);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return error("open", node);
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return error("VFIO_GROUP_GET_STATUS", node);
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("not-viable\n");
		return 1;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return error("VFIO_GROUP_SET_CONTAINER", node);
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
		return error("VFIO_SET_IOMMU", node);
	printf("viable\n");
	close(fd);
	close(container);
	return 0;
}
