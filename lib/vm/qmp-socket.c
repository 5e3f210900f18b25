/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bare QEMU's monitor and guest agent over unix sockets
 * (-qmp unix:PATH,server=on,wait=off; -chardev socket,path=PATH,server=on,
 * wait=off,id=qga0 -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0).
 *
 * QMP greets with {"QMP": ...} and accepts commands only after
 * qmp_capabilities; asynchronous {"event": ...} lines may come before any
 * reply. The agent's chardev is a byte pipe into the guest: it may hold a
 * stale reply from an earlier client, or no agent may read it at all. So
 * guest-sync-delimited first: the agent answers it with a 0xFF byte (which
 * it also discards on input, resetting its parser) and then {"return": ID};
 * everything before that belongs to someone else.
 */
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "verify.h"
#include "host.h"

#define MAX_LINE (16u << 20)

struct chan {
	int fd;
	char *buf;
	size_t len, cap;
};

struct qemu_sockets {
	struct chan qmp, agent;
	char *no_agent;       /* why the agent is not asked, NULL when it is */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sock_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int send_all(struct chan *c, const char *s)
{
	for (size_t n = strlen(s), off = 0; off < n;) {
		/* MSG_NOSIGNAL: a peer gone away is an error, not SIGPIPE */
		ssize_t k = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (k < 0 && errno != EINTR)
			return negative_errno();
		if (k > 0)
			off += (size_t)k;
	}
	return 0;
}

/* More bytes into C's buffer before DEADLINE. */
static int fill(struct chan *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int64_t left = deadline - now_ms();
	ssize_t k;

	if (left <= 0 || poll(&p, 1, (int)left) == 0)
		return -ETIMEDOUT;
	if (c->len + 4096 > c->cap) {
		char *n;
		if (c->cap >= MAX_LINE)
			return -EPROTO;
		n = realloc(c->buf, c->cap ? c->cap * 2 : 8192);
		if (!n)
			return -ENOMEM;
		c->buf = n;
		c->cap = c->cap ? c->cap * 2 : 8192;
	}
	k = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
	if (k == 0)
		return -ECONNRESET;
	if (k < 0)
		return errno == EINTR ? 0 : negative_errno();
	c->len += (size_t)k;
	return 0;
}

/* The next line (malloc'ed, without its newline). */
static int read_line(struct chan *c, int64_t deadline, char **ret)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		int r;
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, n);
			if (!line)
				return -ENOMEM;
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			*ret = line;
			return 0;
		}
		if ((r = fill(c, deadline)) < 0)
			return r;
	}
}

/* A reply, not an event: the object has "return" or "error". */
static bool is_reply(const char *line)
{
	json_object *o = json_tokener_parse(line), *v;
	bool r = o && json_object_is_type(o, json_type_object) &&
		 (json_object_object_get_ex(o, "return", &v) || json_object_object_get_ex(o, "error", &v));

	json_object_put(o);
	return r;
}

static int command(struct chan *c, const char *cmd, int timeout_s, char **ret)
{
	int64_t deadline = now_ms() + timeout_s * 1000;
	char *line;
	int r;

	if ((r = send_all(c, cmd)) < 0 || (r = send_all(c, "\n")) < 0)
		return r;
	for (;;) {
		if ((r = read_line(c, deadline, &line)) < 0)
			return r;
		/* the agent may put 0xFF before a line after a sync */
		if (is_reply(line + strspn(line, "\xff"))) {
			if (line[0] == '\xff')
				memmove(line, line + strspn(line, "\xff"), strlen(line + strspn(line, "\xff")) + 1);
			*ret = line;
			return 0;
		}
		free(line);
	}
}

_printf_(3, 4) static int say(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

static int qmp_open(struct chan *c, const char *path, char **ret_error)
{
	int64_t deadline;
	char *line = NULL;
	int r;

	if ((r = sock_connect(path, &c->fd)) < 0)
		return say(ret_error, r, "cannot connect to the QMP socket %s: %s", path, strerror(-r));
	deadline = now_ms() + VERIFY_QMP_TIMEOUT_S * 1000;
	r = read_line(c, deadline, &line);
	if (r == 0 && !strstr(line, "\"QMP\""))
		r = -EPROTO;
	free(line);
	line = NULL;
	if (r == 0 && (r = command(c, "{\"execute\":\"qmp_capabilities\"}", VERIFY_QMP_TIMEOUT_S, &line)) == 0 &&
	    !strstr(line, "\"return\""))
		r = -EPROTO;
	free(line);
	if (r < 0)
		return say(ret_error, r, "%s does not answer as a QMP monitor: %s", path,
			   r == -EPROTO ? "not QMP" : strerror(-r));
	return 0;
}

/* guest-sync-delimited: skip everything up to the 0xFF of the reply that
 * carries our ID. */
static int agent_sync(struct chan *c)
{
	int64_t deadline = now_ms() + VERIFY_AGENT_TIMEOUT_S * 1000, id = (now_ms() ^ getpid()) & 0x3fffffff, got;
	char cmd[96], *line;
	int r;

	snprintf(cmd, sizeof(cmd), "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%lld}}\n",
		 (long long)id);
	/* a lone 0xFF first resets the agent's parser, in case half a
	 * command from an earlier client is waiting in it */
	if ((r = send_all(c, "\xff")) < 0 || (r = send_all(c, cmd)) < 0)
		return r;
	for (;;) {
		char *ff = c->len ? memchr(c->buf, 0xff, c->len) : NULL;
		if (!ff) {
			c->len = 0;
			if ((r = fill(c, deadline)) < 0)
				return r;
			continue;
		}
		c->len -= (size_t)(ff + 1 - c->buf);
		memmove(c->buf, ff + 1, c->len);
		if ((r = read_line(c, deadline, &line)) < 0)
			return r;
		r = qga_parse_int(line, &got);
		free(line);
		if (r == 0 && got == id)
			return 0;
	}
}

static int agent_open(struct qemu_sockets *s, const char *path)
{
	int r = sock_connect(path, &s->agent.fd);

	if (r < 0)
		return say(&s->no_agent, r, "cannot connect to the agent socket %s: %s", path, strerror(-r));
	if ((r = agent_sync(&s->agent)) < 0) {
		close(s->agent.fd);
		s->agent.fd = -1;
		return say(&s->no_agent, r, "no guest agent answered on %s (%s)", path,
			   r == -ETIMEDOUT ? "nothing within 5 s" : strerror(-r));
	}
	return 0;
}

int qemu_sockets_open(const char *qmp_path, const char *agent_path, struct qemu_sockets **ret, char **ret_error)
{
	struct qemu_sockets *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->qmp.fd = s->agent.fd = -1;
	if ((r = qmp_open(&s->qmp, qmp_path, ret_error)) < 0) {
		qemu_sockets_close(s);
		return r;
	}
	if (agent_path)
		(void)agent_open(s, agent_path);
	*ret = s;
	return 0;
}

void qemu_sockets_close(struct qemu_sockets *s)
{
	if (!s)
		return;
	closep(&s->qmp.fd);
	closep(&s->agent.fd);
	free(s->qmp.buf);
	free(s->agent.buf);
	free(s->no_agent);
	free(s);
}

static int io_qmp(void *userdata, const char *cmd, char **ret_reply, char **ret_error)
{
	struct qemu_sockets *s = userdata;
	int r = command(&s->qmp, cmd, VERIFY_QMP_TIMEOUT_S, ret_reply);

	return r < 0 ? say(ret_error, r, "QMP: %s", strerror(-r)) : 0;
}

static int io_agent(void *userdata, const char *cmd, char **ret_reply, char **ret_error)
{
	struct qemu_sockets *s = userdata;
	int r = command(&s->agent, cmd, VERIFY_AGENT_TIMEOUT_S, ret_reply);

	return r < 0 ? say(ret_error, r, "guest agent: %s", strerror(-r)) : 0;
}

void qemu_sockets_io(struct qemu_sockets *s, struct verify_io *io)
{
	io->userdata = s;
	io->qmp = io_qmp;
	io->agent = s->agent.fd >= 0 ? io_agent : NULL;
	io->no_agent = s->no_agent;
}
