/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * assign --persist: one udev rule per function, so that vfio-pci takes it at
 * boot before its own driver can, and vfio-pci in modules-load.d. The files
 * follow the state file: persist_sync() writes the rules of the functions
 * recorded as persistent and removes every other rule of vmgpu's.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "state.h"
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
		persist_rule_path(path, sizeof(path), s->devs[i].address);
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

void persist_rule_path(char *buf, size_t sz, const char *address)
{
	snprintf(buf, sz, PERSIST_RULES_DIR "/" PERSIST_RULE_PREFIX "%s.rules", address);
}

/*
 * The rule sets the override as soon as the device appears at boot; the
 * driver that may have been quicker (built in, or in the initramfs) is then
 * unbound and the device re-probed, which now means vfio-pci.
 */
char *persist_udev_rule(const char *address, unsigned vendor, unsigned device)
{
	char *s = NULL;

	if (asprintf(&s,
		     "# Written by vmgpu assign --persist; removed by vmgpu release.\n"
		     "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", ATTR{vendor}==\"0x%04x\", ATTR{device}==\"0x%04x\", \\\n"
		     "  ATTR{driver_override}=\"vfio-pci\", RUN+=\"/sbin/modprobe -b vfio-pci\", \\\n"
		     "  RUN+=\"/bin/sh -c 'd=/sys/bus/pci/devices/$kernel; [ -e $d/driver ] && [ $(basename $(readlink $d/driver)) != vfio-pci ] && echo $kernel > $d/driver/unbind; echo $kernel > /sys/bus/pci/drivers_probe'\"\n",
		     address, vendor, device) < 0)
		return NULL;
	return s;
}

int persist_sync_dir(struct vmgpu_ctx *ctx, int dfd)
{
	struct jstate s;
	int r = state_read(dfd, &s);

	if (r < 0)
		return r;
	r = persist_sync(ctx, &s);
	free(s.devs);
	return r;
}
