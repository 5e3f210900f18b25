/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying a plan, and getting back from a failed or interrupted one.
 *
 * Order of events, each durable before the next:
 *   1. flock var/lib/vmgpu/lock (concurrent runs wait their turn);
 *   2. an interrupted plan left in the journal is rolled back first;
 *   3. every function is re-read: it must still be there, with the same IDs
 *      (a device can vanish between survey and apply — hot unplug, a PF
 *      dropping its VFs);
 *   4. the journal records each function's driver and override before, and
 *      the state the plan leads to;
 *   5. each step: precondition, the write, verification, "done N" journaled;
 *   6. the state file records (or forgets) the assignment; the journal goes.
 * Recovery does not replay steps: it converges every recorded function to its
 * prior (or target) driver and override, which is correct whatever step the
 * crash interrupted, including one done but not yet journaled.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "plan.h"

#define SETTLE_TRIES 250 /* x 20 ms: a driver's probe may be asynchronous */

struct report {
	char *buf;
	size_t len;
	FILE *f;
};

static void report_open(struct report *r)
{
	r->buf = NULL;
	r->len = 0;
	r->f = open_memstream(&r->buf, &r->len);
}

_printf_(2, 3) static void report_add(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (!r || !r->f)
		return;
	va_start(ap, fmt);
	vfprintf(r->f, fmt, ap);
	va_end(ap);
	fputc('\n', r->f);
}

static char *report_close(struct report *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	if (r->buf && r->len && r->buf[r->len - 1] == '\n')
		r->buf[r->len - 1] = '\0';
	return r->buf;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the kernel side: writes and what they lead to ---- */

static int sysfs_write_real(struct vmgpu_ctx *ctx, const char *path, const char *value)
{
	_cleanup_close_ int fd = sysfs_open(ctx, ctx->root_fd, path, O_WRONLY | O_NOCTTY);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return fd;
	/* One write: sysfs store methods see exactly this buffer. An empty
	 * override is written as "\n", which the kernel takes as "clear". */
	if (len == 0) {
		value = "\n";
		len = 1;
	}
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EIO;
}

int sysfs_write(struct vmgpu_ctx *ctx, const char *path, const char *value)
{
	if (ctx->kernel_write)
		return ctx->kernel_write(ctx, path, value);
	return sysfs_write_real(ctx, path, value);
}

/* Driver of ADDR now ("" when none), re-read from sysfs. */
static int current_driver(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz)
{
	char path[128];
	_cleanup_close_ int dfd = -1;
	int r;

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", addr);
	dfd = sysfs_open(ctx, ctx->root_fd, path, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	r = sysfs_link_basename(dfd, "driver", buf, sz);
	if (r == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return r;
}

static int current_override(struct vmgpu_ctx *ctx, const char *addr, char *buf, size_t sz)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
	r = root_read_str(ctx, path, buf, sz);
	if (r < 0)
		return r;
	if (strcmp(buf, "(null)") == 0)
		buf[0] = '\0';
	return 0;
}

/* Wait until ADDR's driver is WANT ("" none, "*" any). */
static int settle_driver(struct vmgpu_ctx *ctx, const char *addr, const char *want, char *got, size_t sz)
{
	for (int i = 0; i < SETTLE_TRIES; i++) {
		int r = current_driver(ctx, addr, got, sz);
		if (r < 0)
			return r;
		if (strcmp(want, "*") == 0 || strcmp(got, want) == 0)
			return 0;
		if (ctx->kernel_write)
			break; /* the test kernel reacts at once */
		sleep_ms(20);
	}
	return -EIO;
}

/*
 * A group is viable when every device in it is on a vfio driver, pci-stub,
 * driverless, or a bridge: the check QEMU makes through VFIO_GROUP_GET_STATUS
 * before it can use the group ("group N is not viable").
 */
static int group_viable(struct vmgpu_ctx *ctx, const char *devnode, char *why, size_t sz)
{
	_cleanup_close_ int fd = sysfs_open(ctx, ctx->root_fd, devnode, O_RDWR);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct stat sb;

	if (fd < 0) {
		snprintf(why, sz, "%s: %s", devnode, strerror(-fd));
		return fd;
	}
	if (fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode)) {
		if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
			int r = negative_errno();
			snprintf(why, sz, "%s: VFIO_GROUP_GET_STATUS: %s", devnode, strerror(-r));
			return r;
		}
		if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
			snprintf(why, sz, "%s: not viable: a device in the group is still on a host driver", devnode);
			return -EBUSY;
		}
		return 0;
	}
	if (!ctx->kernel_write) {
		snprintf(why, sz, "%s is not a character device", devnode);
		return -ENOTTY;
	}
	return 0; /* a snapshot under test: the test kernel checked membership */
}

static int load_module(struct vmgpu_ctx *ctx, const char *name, char *why, size_t sz)
{
	char path[64];

	snprintf(path, sizeof(path), "sys/module/%s", name);
	for (char *p = path; *p; p++)
		if (*p == '-')
			*p = '_';
	if (root_exists(ctx, path))
		return 0;
	if (ctx->kernel_write)
		return ctx->kernel_write(ctx, "modprobe", name);
	return kmod_load(ctx, name, why, sz);
}

int root_write_file(struct vmgpu_ctx *ctx, const char *path, const char *content)
{
	char dir[256];
	const char *slash = strrchr(path, '/');
	_cleanup_close_ int dfd = -1;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	/* etc/udev/rules.d and etc/modules-load.d exist on any systemd host;
	 * create them in a bare snapshot root. */
	for (char *p = dir; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdirat(ctx->root_fd, dir, 0755);
		*p = '/';
	}
	(void)mkdirat(ctx->root_fd, dir, 0755);
	dfd = sysfs_open(ctx, ctx->root_fd, dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return dfd;
	return write_atomic(dfd, slash + 1, content);
}

int root_remove_file(struct vmgpu_ctx *ctx, const char *path)
{
	if (unlinkat(ctx->root_fd, path, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

/* ---- one step: precondition, action, verification ---- */

static int run_step(struct vmgpu_plan *p, const struct plan_step *s, char *why, size_t sz)
{
	struct vmgpu_ctx *ctx = p->host->ctx;
	const char *addr = s->dev ? s->dev->address : "";
	char got[64];
	int r;

	why[0] = '\0';
	switch (s->kind) {
	case VMGPU_STEP_LOAD_MODULE:
		r = load_module(ctx, s->value, why, sz);
		if (r == 0 && !root_exists(ctx, "sys/bus/pci/drivers/vfio-pci")) {
			snprintf(why, sz, "vfio-pci loaded but not registered as a PCI driver");
			r = -ENOENT;
		}
		return r;
	case VMGPU_STEP_SET_OVERRIDE:
		if ((r = sysfs_write(ctx, s->path, s->value)) < 0) {
			snprintf(why, sz, "writing %s: %s", s->path, strerror(-r));
			return r;
		}
		if ((r = current_override(ctx, addr, got, sizeof(got))) < 0 || strcmp(got, s->value) != 0) {
			snprintf(why, sz, "driver_override reads \"%s\", not \"%s\"", r < 0 ? "?" : got, s->value);
			return r < 0 ? r : -EIO;
		}
		return 0;
	case VMGPU_STEP_UNBIND:
		if ((r = current_driver(ctx, addr, got, sizeof(got))) < 0) {
			snprintf(why, sz, "%s vanished", addr);
			return r;
		}
		if (!*got)
			return 0; /* already unbound: nothing to do */
		if ((r = sysfs_write(ctx, s->path, s->value)) < 0) {
			snprintf(why, sz, "unbinding %s from %s: %s", addr, got, strerror(-r));
			return r;
		}
		if ((r = settle_driver(ctx, addr, "", got, sizeof(got))) < 0)
			snprintf(why, sz, "%s still bound to %s after unbind", addr, got);
		return r;
	case VMGPU_STEP_PROBE:
		if ((r = current_driver(ctx, addr, got, sizeof(got))) < 0) {
			snprintf(why, sz, "%s vanished", addr);
			return r;
		}
		if (*got && strcmp(got, s->expect) != 0 && strcmp(s->expect, "*") != 0) {
			snprintf(why, sz, "%s is bound to %s, expected no driver before probing", addr, got);
			return -EBUSY;
		}
		if (!*got && (r = sysfs_write(ctx, s->path, s->value)) < 0 && r != -ENODEV && r != -EINVAL) {
			/* drivers_probe returns an error when no driver takes the
			 * device; the verification below says which. */
			snprintf(why, sz, "probing %s: %s", addr, strerror(-r));
			return r;
		}
		if ((r = settle_driver(ctx, addr, s->expect, got, sizeof(got))) < 0) {
			snprintf(why, sz, "%s: driver is \"%s\" after probing, expected \"%s\"", addr, got, s->expect);
			return r;
		}
		if (strcmp(s->expect, "vfio-pci") == 0 && s->dev->iommu_group >= 0) {
			char node[64];
			snprintf(node, sizeof(node), "dev/vfio/%d", s->dev->iommu_group);
			/* udev (or devtmpfs) makes the node right after the bind */
			for (int i = 0; i < SETTLE_TRIES && !root_exists(ctx, node) && !ctx->kernel_write; i++)
				sleep_ms(20);
			if (!root_exists(ctx, node)) {
				snprintf(why, sz, "%s bound to vfio-pci but /%s did not appear", addr, node);
				return -ENOENT;
			}
		}
		return 0;
	case VMGPU_STEP_CHECK_GROUP:
		return group_viable(ctx, s->path, why, sz);
	case VMGPU_STEP_WRITE_FILE:
		if ((r = root_write_file(ctx, s->path, s->value)) < 0)
			snprintf(why, sz, "writing /%s: %s", s->path, strerror(-r));
		return r;
	case VMGPU_STEP_REMOVE_FILE:
		if ((r = root_remove_file(ctx, s->path)) < 0)
			snprintf(why, sz, "removing /%s: %s", s->path, strerror(-r));
		return r;
	case VMGPU_STEP_WRITE_ATTR:
		if ((r = sysfs_write(ctx, s->path, s->value)) < 0) {
			snprintf(why, sz, "writing %s to /%s: %s", s->value, s->path, strerror(-r));
			return r;
		}
		if (*s->expect && (root_read_str(ctx, s->path, got, sizeof(got)) < 0 || strcmp(got, s->expect) != 0)) {
			snprintf(why, sz, "/%s reads \"%s\" after writing %s", s->path, got, s->value);
			return -EIO;
		}
		return 0;
	case VMGPU_STEP_MDEV_CREATE:
	case VMGPU_STEP_MDEV_REMOVE: {
		char node[128];
		bool create = s->kind == VMGPU_STEP_MDEV_CREATE;
		const char *uuid = create ? s->value : s->path + strlen("sys/bus/mdev/devices/");
		snprintf(node, sizeof(node), "sys/bus/mdev/devices/%.36s", uuid);
		if ((r = sysfs_write(ctx, s->path, s->value)) < 0) {
			snprintf(why, sz, "writing %s to /%s: %s", s->value, s->path, strerror(-r));
			return r;
		}
		if (root_exists(ctx, node) != create) {
			snprintf(why, sz, "mdev %.36s %s after the write", uuid, create ? "did not appear" : "is still there");
			return -EIO;
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* ---- converging a function to a recorded state (rollback, recovery) ---- */

static int converge(struct vmgpu_ctx *ctx, const char *addr, const char *want_driver, const char *want_override,
		    struct report *rep)
{
	char path[128], drv[64], ovr[64];
	int r;

	if ((r = current_driver(ctx, addr, drv, sizeof(drv))) < 0) {
		report_add(rep, "%s: gone from the host, nothing to restore", addr);
		return r;
	}
	if ((r = current_override(ctx, addr, ovr, sizeof(ovr))) < 0)
		return r;
	if (strcmp(ovr, want_override) != 0) {
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", addr);
		if ((r = sysfs_write(ctx, path, want_override)) < 0) {
			report_add(rep, "%s: could not set driver_override to \"%s\": %s", addr, want_override, strerror(-r));
			return r;
		}
		report_add(rep, "%s: driver_override \"%s\" -> \"%s\"", addr, ovr, want_override);
	}
	if (strcmp(drv, want_driver) == 0)
		return 0;
	if (*drv) {
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", addr);
		if ((r = sysfs_write(ctx, path, addr)) < 0 || settle_driver(ctx, addr, "", drv, sizeof(drv)) < 0) {
			report_add(rep, "%s: could not unbind %s", addr, drv);
			return r < 0 ? r : -EIO;
		}
	}
	if (*want_driver) {
		(void)sysfs_write(ctx, "sys/bus/pci/drivers_probe", addr);
		if (settle_driver(ctx, addr, want_driver, drv, sizeof(drv)) < 0) {
			report_add(rep, "%s: driver is \"%s\", could not bring back %s", addr, drv, want_driver);
			return -EIO;
		}
	}
	report_add(rep, "%s: driver -> %s", addr, *want_driver ? want_driver : "none");
	return 0;
}

/* ---- lock, journal, state ---- */

int plan_lock(struct vmgpu_ctx *ctx, int *ret_dirfd)
{
	int dfd = state_dir_open(ctx, true), fd;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int r = negative_errno();
		close(dfd);
		return r;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = negative_errno();
			close(fd);
			close(dfd);
			return r;
		}
	}
	*ret_dirfd = dfd;
	return fd; /* closing it releases the lock */
}

static int journal_write(int dfd, const struct journal *j)
{
	_cleanup_free_ char *text = journal_format(j);

	return text ? write_atomic(dfd, JOURNAL_FILE, text) : -ENOMEM;
}

/*
 * Converge everything journal J records to its state before the plan, or
 * to the plan's end state when FINISH: forward to finish, backward to roll
 * back. A function gone from the host (hot unplug, a VF its PF dropped) is
 * no failure: nothing of it is left to restore. Rollback after a failed step
 * and recovery after a crash both come here, so they agree on what "the
 * host is back" means. 0, or -errno when something could not be converged.
 */
static int journal_converge(struct vmgpu_ctx *ctx, const struct journal *j, bool finish, struct report *rep)
{
	int failed = 0;

	for (size_t k = 0; k < j->n_objs; k++) {
		const struct jobj *o = &j->objs[finish ? k : j->n_objs - 1 - k];
		long want = finish ? o->target : o->before;
		char why[256];
		if (obj_converge(ctx, o, want, why, sizeof(why)) < 0) {
			report_add(rep, "%s", why);
			failed = -EIO;
		} else {
			report_add(rep, "%s: %ld", o->key, want);
		}
	}
	for (size_t k = 0; k < j->n; k++) {
		const struct jdev *d = &j->devs[finish ? k : j->n - 1 - k];
		int r = finish ? converge(ctx, d->address, d->target_driver, d->target_override, rep)
			       : converge(ctx, d->address, d->driver, d->override, rep);
		if (r < 0 && r != -ENOENT)
			failed = r;
	}
	return failed;
}

/* The --persist files follow the state file as it is. */
static int persist_sync_file(struct vmgpu_ctx *ctx, int dfd)
{
	struct jstate s;
	int r = state_read(dfd, &s);

	if (r < 0)
		return r;
	r = persist_sync(ctx, &s);
	free(s.devs);
	return r;
}

/* After a recovery, the state file and the --persist files after it.
 * Finishing an assign must also record it, or release would not know the
 * original drivers; a rollback leaves the state file as it is. */
static void recover_state(struct vmgpu_ctx *ctx, int dfd, const struct journal *j, bool finish, struct report *rep)
{
	struct jstate s;
	int r;

	if (finish && state_apply(dfd, j, &s) == 0) {
		r = persist_sync(ctx, &s);
		free(s.devs);
	} else {
		r = persist_sync_file(ctx, dfd);
	}
	if (r < 0)
		report_add(rep, "the udev rules of --persist could not be brought in line with what is assigned");
}

static int recover_locked(struct vmgpu_ctx *ctx, int dfd, bool finish, bool *ret_recovered, struct report *rep)
{
	_cleanup_free_ char *text = NULL;
	struct journal j;
	int r, failed = 0;

	*ret_recovered = false;
	r = read_small_file(dfd, JOURNAL_FILE, &text);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = journal_parse(text, &j)) < 0) {
		report_add(rep, "the journal /var/lib/vmgpu/journal cannot be read (%s); it was kept for inspection",
			   strerror(-r));
		return r;
	}
	report_add(rep, "interrupted %s after %d step(s): %s",
		   j.op == JOURNAL_ASSIGN ? "assign" : j.op == JOURNAL_RELEASE ? "release" : "partition change", j.done,
		   finish ? "finishing it" : "rolling it back");
	failed = journal_converge(ctx, &j, finish, rep);
	if (!failed) {
		if (j.op != JOURNAL_PARTITION)
			recover_state(ctx, dfd, &j, finish, rep);
		r = remove_durable(dfd, JOURNAL_FILE);
		if (r < 0)
			failed = r;
	} else {
		report_add(rep, "the journal was kept: run vmgpu recover again once the above is fixed");
	}
	journal_free(&j);
	*ret_recovered = true;
	return failed;
}

int persist_sync(struct vmgpu_ctx *ctx, const struct jstate *s)
{
	bool any = false;
	int r, failed = 0;
	DIR *d;
	struct dirent *de;

	for (size_t i = 0; i < s->n; i++) {
		char path[256];
		_cleanup_free_ char *rule = NULL;
		if (!s->devs[i].persist)
			continue;
		any = true;
		udev_rule_path(path, sizeof(path), s->devs[i].address);
		rule = persist_udev_rule(s->devs[i].address, s->devs[i].vendor, s->devs[i].device);
		if (!rule || root_write_file(ctx, path, rule) < 0)
			failed = -EIO;
	}
	/* Rules of functions no longer persistently assigned. */
	if (root_opendir(ctx, PERSIST_RULES_DIR, &d) == 0) {
		while ((de = readdir(d))) {
			size_t pl = strlen(PERSIST_RULE_PREFIX);
			bool keep = false;
			char path[512];
			if (strncmp(de->d_name, PERSIST_RULE_PREFIX, pl) != 0)
				continue;
			for (size_t i = 0; i < s->n && !keep; i++)
				keep = s->devs[i].persist && strncmp(de->d_name + pl, s->devs[i].address, strlen(s->devs[i].address)) == 0 &&
				       strcmp(de->d_name + pl + strlen(s->devs[i].address), ".rules") == 0;
			snprintf(path, sizeof(path), PERSIST_RULES_DIR "/%s", de->d_name);
			if (!keep && root_remove_file(ctx, path) < 0)
				failed = -EIO;
		}
		closedir(d);
	}
	if (any)
		r = root_write_file(ctx, PERSIST_MODULES_FILE, PERSIST_MODULES_TEXT);
	else
		r = root_remove_file(ctx, PERSIST_MODULES_FILE);
	return failed ? failed : r;
}

/* Record the end state of journal J in the state file. */
int state_apply(int dfd, const struct journal *j, struct jstate *ret)
{
	_cleanup_free_ char *out = NULL;
	struct jstate s;
	int r = state_read(dfd, &s);

	memset(ret, 0, sizeof(*ret));
	if (r < 0)
		return r;
	for (size_t i = 0; i < j->n; i++) {
		const struct jdev *d = &j->devs[i];
		size_t k;
		for (k = 0; k < s.n && strcmp(s.devs[k].address, d->address) != 0; k++)
			;
		if (j->op == JOURNAL_RELEASE) {
			if (k < s.n)
				s.devs[k] = s.devs[--s.n];
			continue;
		}
		if (k < s.n) {
			/* Already recorded: the original drivers stay. assign
			 * --persist makes it persistent; assign without leaves
			 * a persistent one so. */
			s.devs[k].persist |= j->persist;
			continue;
		}
		struct jdev *nd = realloc(s.devs, (s.n + 1) * sizeof(*nd));
		if (!nd) {
			free(s.devs);
			return -ENOMEM;
		}
		s.devs = nd;
		s.devs[s.n] = *d;
		s.devs[s.n].since = (int64_t)time(NULL);
		s.devs[s.n].persist = j->persist;
		s.n++;
	}
	out = state_format(&s);
	r = out ? write_atomic(dfd, STATE_FILE, out) : -ENOMEM;
	if (r < 0) {
		free(s.devs);
		return r;
	}
	*ret = s;
	return 0;
}

VMGPU_EXPORT int vmgpu_recover(struct vmgpu_ctx *ctx, bool finish, bool *ret_recovered, char **ret_report)
{
	struct report rep;
	int dfd = -1, lock, r;
	bool recovered = false;

	report_open(&rep);
	/* Nothing was ever applied here: nothing to recover, and no reason to
	 * create var/lib/vmgpu just to find that out. */
	dfd = state_dir_open(ctx, false);
	if (dfd == -ENOENT) {
		free(report_close(&rep));
		if (ret_recovered)
			*ret_recovered = false;
		if (ret_report)
			*ret_report = NULL;
		return 0;
	}
	if (dfd >= 0)
		close(dfd);
	lock = plan_lock(ctx, &dfd);
	if (lock < 0) {
		free(report_close(&rep));
		return lock;
	}
	r = recover_locked(ctx, dfd, finish, &recovered, &rep);
	close(lock);
	close(dfd);
	if (ret_recovered)
		*ret_recovered = recovered;
	if (ret_report)
		*ret_report = report_close(&rep);
	else
		free(report_close(&rep));
	return r;
}

/* ---- apply ---- */

static void set_error(struct vmgpu_plan *p, struct report *rep)
{
	free(p->error);
	p->error = report_close(rep);
}

/*
 * The device must still be the one the plan was made for: the same vendor
 * and device ID at its address. Between the reading and now a device can
 * be unplugged and another plugged in its place, or a PF can drop its VFs
 * and another PF's VFs take their numbers.
 */
static bool same_ids(struct vmgpu_ctx *ctx, const struct vmgpu_dev *d)
{
	static const char *const attrs[] = { "vendor", "device" };
	const uint16_t want[] = { d->vendor, d->device };

	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		char path[128], buf[32];
		uint64_t v;

		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/%s", d->address, attrs[i]);
		if (root_read_str(ctx, path, buf, sizeof(buf)) < 0 || parse_u64(buf, 16, &v) < 0 || v != want[i])
			return false;
	}
	return true;
}

/* Fill the journal's per-function records from the host as it is now. */
static int journal_prepare(struct vmgpu_plan *p, struct journal *j, struct report *rep)
{
	struct vmgpu_ctx *ctx = p->host->ctx;

	j->op = p->op;
	j->persist = (p->flags & VMGPU_PLAN_PERSIST) ? 1 : 0;
	j->done = 0;
	if (p->n_objs) {
		j->objs = malloc(p->n_objs * sizeof(*j->objs));
		if (!j->objs)
			return -ENOMEM;
		memcpy(j->objs, p->objs, p->n_objs * sizeof(*j->objs));
		j->n_objs = p->n_objs;
	}
	for (size_t i = 0; i < p->n_objs; i++) {
		long cur;
		if (obj_current(ctx, &p->objs[i], &cur) < 0 || cur != p->objs[i].before) {
			report_add(rep, "%s changed since the host was read; nothing was changed", p->objs[i].key);
			return -ESTALE;
		}
	}
	j->n = p->n_devs;
	j->devs = calloc(p->n_devs ? p->n_devs : 1, sizeof(*j->devs));
	if (!j->devs)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_devs; i++) {
		struct vmgpu_dev *d = p->devs[i];
		struct jdev *jd = &j->devs[i];
		const struct jdev *rec;

		snprintf(jd->address, sizeof(jd->address), "%s", d->address);
		jd->group = d->iommu_group;
		if (!same_ids(ctx, d)) {
			report_add(rep, "%s vanished (or changed) since the host was read; nothing was changed", d->address);
			return -ENODEV;
		}
		jd->vendor = d->vendor;
		jd->device = d->device;
		if (current_driver(ctx, d->address, jd->driver, sizeof(jd->driver)) < 0 ||
		    current_override(ctx, d->address, jd->override, sizeof(jd->override)) < 0) {
			report_add(rep, "%s vanished since the host was read; nothing was changed", d->address);
			return -ENODEV;
		}
		/* Another run (or a person) changed it since the plan was made:
		 * the plan's steps no longer fit. The caller plans again. */
		if (strcmp(jd->driver, d->driver ? d->driver : "") != 0 ||
		    strcmp(jd->override, d->driver_override ? d->driver_override : "") != 0) {
			report_add(rep, "%s changed since the host was read (driver %s, override %s); nothing was changed",
				   d->address, *jd->driver ? jd->driver : "none", *jd->override ? jd->override : "none");
			return -ESTALE;
		}
		if (p->op == JOURNAL_ASSIGN) {
			strcpy(jd->target_driver, "vfio-pci");
			strcpy(jd->target_override, "vfio-pci");
		} else if ((rec = plan_record(p, d))) {
			snprintf(jd->target_driver, sizeof(jd->target_driver), "%s", rec->driver);
			snprintf(jd->target_override, sizeof(jd->target_override), "%s", rec->override);
		} else {
			jd->target_driver[0] = jd->target_override[0] = '\0';
		}
	}
	return 0;
}

/* Put everything back as journal J recorded it: 0, or -errno when some
 * of it could not be (the journal must then stay for vmgpu recover). */
static int rollback(struct vmgpu_plan *p, const struct journal *j, struct report *rep)
{
	int r;

	report_add(rep, "rolling back:");
	r = journal_converge(p->host->ctx, j, false, rep);
	report_add(rep, r == 0 ? "the host is as it was before" : "ROLLBACK INCOMPLETE: run vmgpu recover");
	return r;
}

/* A release of functions vmgpu assigned that are back on their own
 * drivers already (put back by hand) has no step, but their records must
 * still leave the state file, or status would report drift forever. */
static bool plan_forgets(const struct vmgpu_plan *p)
{
	if (p->op != JOURNAL_RELEASE)
		return false;
	for (size_t i = 0; i < p->n_devs; i++)
		if (plan_record(p, p->devs[i]))
			return true;
	return false;
}

/*
 * The plan is done and the state file says so: the --persist files follow
 * it and the journal goes. A failure of the files is reported, not undone:
 * the state file is the truth, and every later apply brings the files in
 * line again (recovery does the same). The journal must go all the same,
 * or the next run would roll back what the state file records.
 */
static int finish_done(struct vmgpu_ctx *ctx, int dfd, const struct jstate *s, struct report *rep)
{
	int r = s ? persist_sync(ctx, s) : 0, k;

	if (r < 0)
		report_add(rep, "done, but the --persist udev rules could not be updated: %s", strerror(-r));
	k = remove_durable(dfd, JOURNAL_FILE);
	return r < 0 ? r : k;
}

VMGPU_EXPORT int vmgpu_plan_apply(struct vmgpu_plan *p, vmgpu_progress_fn progress, void *userdata)
{
	struct vmgpu_ctx *ctx = p->host->ctx;
	struct journal j = { 0 };
	struct jstate state = { 0 };
	struct report rep;
	int dfd = -1, lock, r = 0;
	bool recovered;

	report_open(&rep);
	if (vmgpu_plan_refused(p)) {
		report_add(&rep, "refused; nothing was changed");
		set_error(p, &rep);
		return -EPERM;
	}
	/* Nothing to do, nothing to forget and nothing interrupted to
	 * finish: touch nothing (no state directory, lock or journal for a
	 * no-op). */
	if (p->n_steps == 0 && !plan_forgets(p)) {
		_cleanup_close_ int sd = state_dir_open(ctx, false);
		if (sd == -ENOENT || (sd >= 0 && faccessat(sd, JOURNAL_FILE, F_OK, 0) < 0)) {
			free(report_close(&rep));
			return 0;
		}
	}
	lock = plan_lock(ctx, &dfd);
	if (lock < 0) {
		report_add(&rep, "cannot take /var/lib/vmgpu/lock: %s", strerror(-lock));
		set_error(p, &rep);
		return lock;
	}
	r = recover_locked(ctx, dfd, false, &recovered, &rep);
	if (r < 0)
		goto out;
	if ((r = journal_prepare(p, &j, &rep)) < 0)
		goto out;
	if ((r = journal_write(dfd, &j)) < 0) {
		report_add(&rep, "cannot write the journal: %s; nothing was changed", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < p->n_steps; i++) {
		char why[512];
		struct vmgpu_step st;

		r = run_step(p, &p->steps[i], why, sizeof(why));
		if (r == 0) {
			j.done = (int)i + 1;
			r = journal_write(dfd, &j);
			if (r < 0)
				snprintf(why, sizeof(why), "cannot update the journal: %s", strerror(-r));
		}
		(void)vmgpu_plan_step(p, i, &st);
		if (progress)
			progress(userdata, i, p->n_steps, &st, r);
		if (r < 0) {
			report_add(&rep, "step %zu/%zu failed: %s: %s", i + 1, p->n_steps, p->steps[i].summary,
				   *why ? why : strerror(-r));
			/* Incomplete, the journal stays: recovery (vmgpu recover,
			 * or the next run) retries from it, as after a crash. */
			if (rollback(p, &j, &rep) < 0)
				goto out;
			if (p->op != JOURNAL_PARTITION)
				(void)persist_sync_file(ctx, dfd); /* the state file is unchanged: back to it */
			(void)remove_durable(dfd, JOURNAL_FILE);
			goto out;
		}
	}
	if (p->op != JOURNAL_PARTITION && (r = state_apply(dfd, &j, &state)) < 0) {
		/* The journal stays: recovery rolls the plan back to what
		 * the unchanged state file says. */
		report_add(&rep, "done, but the state file could not be written: %s", strerror(-r));
		goto out;
	}
	r = finish_done(ctx, dfd, p->op != JOURNAL_PARTITION ? &state : NULL, &rep);
out:
	free(state.devs);
	journal_free(&j);
	close(lock);
	close(dfd);
	if (r < 0)
		set_error(p, &rep);
	else
		free(report_close(&rep));
	return r;
}

/* ---- state for vmgpu status ---- */

struct vmgpu_state {
	struct jstate s;
	bool interrupted;
};

VMGPU_EXPORT int vmgpu_state_read(struct vmgpu_ctx *ctx, struct vmgpu_state **ret)
{
	struct vmgpu_state *st = calloc(1, sizeof(*st));
	_cleanup_close_ int dfd = -1;
	int r;

	if (!st)
		return -ENOMEM;
	r = plan_read_state(ctx, &st->s);
	if (r < 0) {
		free(st);
		return r;
	}
	dfd = state_dir_open(ctx, false);
	if (dfd >= 0)
		st->interrupted = faccessat(dfd, JOURNAL_FILE, F_OK, 0) == 0;
	*ret = st;
	return 0;
}

VMGPU_EXPORT struct vmgpu_state *vmgpu_state_unref(struct vmgpu_state *st)
{
	if (st) {
		free(st->s.devs);
		free(st);
	}
	return NULL;
}

VMGPU_EXPORT size_t vmgpu_state_n(const struct vmgpu_state *st)
{
	return st->s.n;
}

VMGPU_EXPORT int vmgpu_state_get(const struct vmgpu_state *st, size_t i, struct vmgpu_assignment *ret)
{
	const struct jdev *d;

	if (i >= st->s.n)
		return -ENOENT;
	d = &st->s.devs[i];
	*ret = (struct vmgpu_assignment){
		.address = d->address, .driver = d->driver, .override = d->override, .vendor = d->vendor,
		.device = d->device, .iommu_group = d->group, .since = d->since, .persist = d->persist,
	};
	return 0;
}

VMGPU_EXPORT bool vmgpu_state_interrupted(const struct vmgpu_state *st)
{
	return st->interrupted;
}
