/*
 * hold-lock FILE - take flock(LOCK_EX) on FILE (created if missing), print
 * "locked", and keep the lock until killed or until stdin reaches EOF.
 *
 * The guest scenarios hold /var/lib/vmgpu/lock with it to freeze a vmgpu run
 * between its survey and its apply (vmgpu plans first, then waits for the
 * lock), and change the host in that window.  busybox has no flock(1).
 * tests/guest/test-guest.sh builds it with gcc -static.
 *
 * Exit status: 0 after EOF on stdin, 2 on error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[64];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: hold-lock FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		fprintf(stderr, "hold-lock: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	printf("locked\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
