/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal and the state file under var/lib/vmgpu (journal.c). */
#pragma once

#include "vmgpu-internal.h"

struct jdev {
	char address[PCI_ADDRESS_MAX];
	uint16_t vendor, device;
	int group;
	char driver[64], override[64];               /* before the plan */
	char target_driver[64], target_override[64]; /* journal: after the plan */
	int64_t since;
	bool persist;
};

enum journal_op { JOURNAL_NONE, JOURNAL_ASSIGN, JOURNAL_RELEASE };

struct journal {
	enum journal_op op;
	int persist;
	int done; /* steps completed */
	struct jdev *devs;
	size_t n;
};

struct jstate {
	struct jdev *devs;
	size_t n;
};

int journal_parse(const char *text, struct journal *ret);
char *journal_format(const struct journal *j);
int state_parse(const char *text, struct jstate *ret);
char *state_format(const struct jstate *s);

#define JOURNAL_FILE "journal"
#define STATE_FILE "assigned"
#define LOCK_FILE "lock"

int state_dir_open(struct vmgpu_ctx *ctx, bool create);
int write_atomic(int dirfd, const char *name, const char *content);
int remove_durable(int dirfd, const char *name);
int read_small_file(int dirfd, const char *name, char **ret);
