/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two files vmgpu keeps under <root>/var/lib/vmgpu/:
 *
 *   assigned   what vmgpu has given to vfio-pci, and what each function had
 *              before, so that release restores exactly that:
 *                # vmgpu assigned v1
 *                device 0000:01:00.0 vendor=10de device=2204 group=2 driver=nouveau override=- since=1763679000 persist=0
 *   journal    a plan being applied: the prior and the target state of every
 *              function it touches, and how many steps are done. It exists
 *              only while a plan runs or after one was interrupted:
 *                # vmgpu journal v1
 *                op assign
 *                persist 0
 *                device 0000:01:00.0 vendor=10de device=2204 group=2 driver=nouveau override=- target_driver=vfio-pci target_override=vfio-pci
 *                done 3
 *
 * Values never contain spaces; "-" stands for empty. Both are written
 * crash-safely (temporary file, fsync, rename, fsync of the directory) and
 * parsed strictly: a file vmgpu cannot read back is an error, never a guess.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "state.h"


static bool valid_word(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == ':'))
			return false;
	}
	return n > 0;
}

static int copy_word(char *dst, size_t dstsz, const char *src, size_t n)
{
	if (n >= dstsz || !valid_word(src, n))
		return -EINVAL;
	if (n == 1 && src[0] == '-')
		n = 0;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int parse_kv(struct jdev *d, const char *key, size_t kl, const char *val, size_t vl)
{
	char buf[64];
	uint64_t u;
	int i;

#define KEY(k) (kl == strlen(k) && strncmp(key, k, kl) == 0)
	if (KEY("driver"))
		return copy_word(d->driver, sizeof(d->driver), val, vl);
	if (KEY("override"))
		return copy_word(d->override, sizeof(d->override), val, vl);
	if (KEY("target_driver"))
		return copy_word(d->target_driver, sizeof(d->target_driver), val, vl);
	if (KEY("target_override"))
		return copy_word(d->target_override, sizeof(d->target_override), val, vl);
	if (copy_word(buf, sizeof(buf), val, vl) < 0)
		return -EINVAL;
	if (KEY("vendor") || KEY("device")) {
		if (parse_u64(buf, 16, &u) < 0 || u > 0xffff)
			return -EINVAL;
		if (KEY("vendor"))
			d->vendor = (uint16_t)u;
		else
			d->device = (uint16_t)u;
		return 0;
	}
	if (KEY("group"))
		return parse_int(buf, 10, &d->group);
	if (KEY("since"))
		return parse_u64(buf, 10, &u) < 0 || u > INT64_MAX ? -EINVAL : (d->since = (int64_t)u, 0);
	if (KEY("persist")) {
		if (parse_int(buf, 10, &i) < 0 || (i != 0 && i != 1))
			return -EINVAL;
		d->persist = i;
		return 0;
	}
#undef KEY
	return 0; /* unknown keys: written by a newer vmgpu, ignored */
}

/* "device ADDR k=v k=v ..." (the leading "device " already consumed). */
static int parse_device(const char *p, struct jdev *d)
{
	size_t n = strcspn(p, " ");
	struct pci_address a;
	char addr[PCI_ADDRESS_MAX];

	memset(d, 0, sizeof(*d));
	d->group = -1;
	if (n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, p, n);
	addr[n] = '\0';
	if (parse_sysfs_address(addr, &a) < 0)
		return -EINVAL;
	format_pci_address(&a, d->address);
	p += n;
	while (*p == ' ') {
		const char *kv = ++p, *eq;
		n = strcspn(kv, " ");
		eq = memchr(kv, '=', n);
		if (!eq || parse_kv(d, kv, (size_t)(eq - kv), eq + 1, n - (size_t)(eq - kv) - 1) < 0)
			return -EINVAL;
		p = kv + n;
	}
	return *p ? -EINVAL : 0;
}

static int add_dev(struct jdev **devs, size_t *n, const struct jdev *d)
{
	struct jdev *nd = realloc(*devs, (*n + 1) * sizeof(*nd));

	if (!nd)
		return -ENOMEM;
	nd[(*n)++] = *d;
	*devs = nd;
	return 0;
}

/* Split TEXT into lines, skip comments and blanks, call LINE for each. */
static int each_line(const char *text, int (*line)(void *ud, const char *l), void *ud)
{
	char buf[1024];

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		int r;

		if (n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, p, n);
		buf[n] = '\0';
		p = nl ? nl + 1 : NULL;
		if (n == 0 || buf[0] == '#')
			continue;
		if ((r = line(ud, buf)) < 0)
			return r;
	}
	return 0;
}

static int state_line(void *ud, const char *l)
{
	struct jstate *s = ud;
	struct jdev d;

	if (strncmp(l, "device ", 7) != 0 || parse_device(l + 7, &d) < 0)
		return -EINVAL;
	return add_dev(&s->devs, &s->n, &d);
}

int state_parse(const char *text, struct jstate *ret)
{
	struct jstate s = { 0 };
	int r = each_line(text, state_line, &s);

	if (r < 0) {
		free(s.devs);
		return r;
	}
	*ret = s;
	return 0;
}

static int parse_long(const char *v, size_t n, long *ret)
{
	char buf[24];
	int i;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (parse_int(buf, 10, &i) < 0)
		return -EINVAL;
	*ret = i;
	return 0;
}

/* "<kind> KEY k=v ..." (the kind already matched). */
static int parse_obj(const char *p, enum jobj_kind kind, struct jobj *o)
{
	size_t n = strcspn(p, " ");

	memset(o, 0, sizeof(*o));
	o->kind = kind;
	if (copy_word(o->key, sizeof(o->key), p, n) < 0 || !*o->key)
		return -EINVAL;
	p += n;
	while (*p == ' ') {
		const char *kv = ++p, *eq, *val;
		size_t kl, vl;
		int r;

		n = strcspn(kv, " ");
		eq = memchr(kv, '=', n);
		if (!eq)
			return -EINVAL;
		kl = (size_t)(eq - kv);
		val = eq + 1;
		vl = n - kl - 1;
#define IS(k) (kl == strlen(k) && strncmp(kv, k, kl) == 0)
		if (IS("parent"))
			r = copy_word(o->parent, sizeof(o->parent), val, vl);
		else if (IS("type"))
			r = copy_word(o->type, sizeof(o->type), val, vl);
		else if (IS("before"))
			r = parse_long(val, vl, &o->before);
		else if (IS("target"))
			r = parse_long(val, vl, &o->target);
		else if (IS("persist"))
			r = vl == 1 && (*val == '0' || *val == '1') ? (o->persist = *val == '1', 0) : -EINVAL;
		else
			r = 0;
#undef IS
		if (r < 0)
			return r;
		p = kv + n;
	}
	if (*p || (kind == JOBJ_MDEV && (!*o->parent || !*o->type)))
		return -EINVAL;
	return 0;
}

static int add_obj(struct journal *j, const struct jobj *o)
{
	struct jobj *n = realloc(j->objs, (j->n_objs + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	n[j->n_objs++] = *o;
	j->objs = n;
	return 0;
}

void journal_free(struct journal *j)
{
	free(j->devs);
	free(j->objs);
	j->devs = NULL;
	j->objs = NULL;
}

static int journal_line(void *ud, const char *l)
{
	struct journal *j = ud;
	struct jdev d;

	enum jobj_kind kind;
	const char *sp = strchr(l, ' ');
	if (sp && object_kind_parse(l, (size_t)(sp - l), &kind) == 0) {
		struct jobj o;
		if (parse_obj(sp + 1, kind, &o) < 0)
			return -EINVAL;
		return add_obj(j, &o);
	}
	if (strncmp(l, "device ", 7) == 0) {
		if (parse_device(l + 7, &d) < 0)
			return -EINVAL;
		return add_dev(&j->devs, &j->n, &d);
	}
	if (strcmp(l, "op assign") == 0)
		j->op = JOURNAL_ASSIGN;
	else if (strcmp(l, "op release") == 0)
		j->op = JOURNAL_RELEASE;
	else if (strcmp(l, "op partition") == 0)
		j->op = JOURNAL_PARTITION;
	else if (strncmp(l, "persist ", 8) == 0)
		return parse_int(l + 8, 10, &j->persist);
	else if (strncmp(l, "done ", 5) == 0)
		return parse_int(l + 5, 10, &j->done);
	else
		return -EINVAL;
	return 0;
}

int journal_parse(const char *text, struct journal *ret)
{
	struct journal j = { .op = JOURNAL_NONE };
	int r = each_line(text, journal_line, &j);

	if (r == 0 && (j.op == JOURNAL_NONE || j.done < 0 || j.persist < 0 || j.persist > 1))
		r = -EINVAL;
	if (r < 0) {
		journal_free(&j);
		return r;
	}
	*ret = j;
	return 0;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void format_device(FILE *f, const struct jdev *d, bool journal)
{
	fprintf(f, "device %s vendor=%04x device=%04x group=%d driver=%s override=%s", d->address, d->vendor,
		d->device, d->group, or_dash(d->driver), or_dash(d->override));
	/* The journal's own "persist" line says it for all its functions
	 * (versions before wrote a per-function persist=0 here, still read). */
	if (journal)
		fprintf(f, " target_driver=%s target_override=%s", or_dash(d->target_driver),
			or_dash(d->target_override));
	else
		fprintf(f, " since=%lld persist=%d", (long long)d->since, d->persist ? 1 : 0);
	fputc('\n', f);
}

char *journal_format(const struct journal *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "# vmgpu journal v1\nop %s\npersist %d\n",
		j->op == JOURNAL_ASSIGN ? "assign" : j->op == JOURNAL_RELEASE ? "release" : "partition", j->persist);
	for (size_t i = 0; i < j->n; i++)
		format_device(f, &j->devs[i], true);
	for (size_t i = 0; i < j->n_objs; i++) {
		const struct jobj *o = &j->objs[i];
		fprintf(f, "%s %s", object_kind(o->kind)->name, o->key);
		if (o->kind == JOBJ_MDEV)
			fprintf(f, " parent=%s type=%s", o->parent, o->type);
		fprintf(f, " before=%ld target=%ld", o->before, o->target);
		if (o->kind == JOBJ_MDEV)
			fprintf(f, " persist=%d", o->persist ? 1 : 0);
		fputc('\n', f);
	}
	fprintf(f, "done %d\n", j->done);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *state_format(const struct jstate *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs("# vmgpu assigned v1: what vmgpu gave to vfio-pci and what each function had before\n", f);
	for (size_t i = 0; i < s->n; i++)
		format_device(f, &s->devs[i], false);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

