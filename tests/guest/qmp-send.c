/* qmp-send - talk to QEMU's QMP monitor or to a QEMU guest agent over a
 * unix socket, for the guest scenarios (busybox has no socat, and its nc
 * no unix sockets).  Built static by test-guest.sh.
 *
 *   qmp-send SOCKET JSON...         QMP: reads the greeting, negotiates
 *                                   (qmp_capabilities), then sends each JSON
 *                                   command and prints its reply (events
 *                                   are skipped)
 *   qmp-send --qga SOCKET JSON...   guest agent: sends each JSON command and
 *                                   prints its reply
 *
 * One reply per line on stdout.  Exit status: 0 every reply was a
 * "return", 1 some reply was an "error", 2 no connection, no reply, or a
 * usage error; after 20 s it is killed by SIGALRM.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char buf[1 << 20];
static size_t have;

/* one line (without '\n') from fd into line; false on EOF/error */
static bool read_line(int fd, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			size_t n = (size_t)(nl - buf);
			if (n >= size)
				n = size - 1;
			memcpy(line, buf, n);
			line[n] = '\0';
			have -= (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, have);
			return true;
		}
		if (have == sizeof(buf))
			return false;
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		have += (size_t)r;
	}
}

static bool send_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return write(fd, "\n", 1) == 1;
}

/* the next reply (not an event): 0 return, 1 error, 2 none */
static int reply(int fd, bool print)
{
	static char line[1 << 20];
	for (;;) {
		if (!read_line(fd, line, sizeof(line)))
			return 2;
		if (strstr(line, "\"event\"") && !strstr(line, "\"return\""))
			continue;
		if (print)
			puts(line);
		if (strstr(line, "\"return\""))
			return 0;
		if (strstr(line, "\"error\""))
			return 1;
	}
}

int main(int argc, char **argv)
{
	bool qga = false;
	int i = 1;
	if (i < argc && strcmp(argv[i], "--qga") == 0) {
		qga = true;
		i++;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: qmp-send [--qga] SOCKET JSON...\n");
		return 2;
	}
	alarm(20);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[i]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "qmp-send: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[i]);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "qmp-send: %s: %s\n", argv[i], strerror(errno));
		return 2;
	}
	i++;
	if (!qga) {
		static char greeting[65536];
		if (!read_line(fd, greeting, sizeof(greeting)) || !strstr(greeting, "\"QMP\"")) {
			fprintf(stderr, "qmp-send: no QMP greeting\n");
			return 2;
		}
		if (!send_all(fd, "{\"execute\":\"qmp_capabilities\"}") || reply(fd, false) != 0) {
			fprintf(stderr, "qmp-send: qmp_capabilities failed\n");
			return 2;
		}
	}
	int worst = 0;
	for (; i < argc; i++) {
		if (!send_all(fd, argv[i])) {
			fprintf(stderr, "qmp-send: write: %s\n", strerror(errno));
			return 2;
		}
		int r = reply(fd, true);
		if (r == 2) {
			fprintf(stderr, "qmp-send: no reply to %s\n", argv[i]);
			return 2;
		}
		if (r > worst)
			worst = r;
	}
	close(fd);
	return worst;
}
