/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/state: vmgpu's own records, and only those: the journal and the state
 * file under var/lib/vmgpu (their text formats: journal.c; the files and the
 * lock: state.c), the udev rules and modules-load file of --persist
 * (persist.c), and the partition objects a plan changes (object.c: where
 * each kind lives in sysfs and how to read it). Uses lib/core only.
 */
#pragma once

#include "core.h"

struct jdev {
	char address[PCI_ADDRESS_MAX];
	uint16_t vendor, device;
	int group;
	char driver[64], override[64];               /* before the plan */
	char target_driver[64], target_override[64]; /* journal: after the plan */
	int64_t since;
	bool persist;
};

enum journal_op { JOURNAL_NONE, JOURNAL_ASSIGN, JOURNAL_RELEASE, JOURNAL_PARTITION };

/* Things a partition plan changes, each with its value before and after:
 *   numvfs ADDR before=0 target=4              sriov_numvfs
 *   autoprobe ADDR before=1 target=0           sriov_drivers_autoprobe
 *   mdev UUID parent=P type=T before=0 target=1 persist=1   an mdev instance
 *   vgpu ADDR before=0 target=560              nvidia/current_vgpu_type */
enum jobj_kind { JOBJ_NUMVFS, JOBJ_AUTOPROBE, JOBJ_MDEV, JOBJ_VGPU };

struct jobj {
	enum jobj_kind kind;
	char key[64];    /* PCI address, or mdev UUID */
	char parent[64]; /* mdev: parent name */
	char type[64];   /* mdev: type id */
	long before, target;
	bool persist;    /* mdev: defined in mdevctl's store too */
};

struct journal {
	enum journal_op op;
	int persist;
	int done; /* steps completed */
	struct jdev *devs;
	size_t n;
	struct jobj *objs;
	size_t n_objs;
};

struct jstate {
	struct jdev *devs;
	size_t n;
};

int journal_parse(const char *text, struct journal *ret);
void journal_free(struct journal *j);
char *journal_format(const struct journal *j);
int state_parse(const char *text, struct jstate *ret);
char *state_format(const struct jstate *s);

#define JOURNAL_FILE "journal"
#define STATE_FILE "assigned"
#define LOCK_FILE "lock"

