/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vmgpu tool, a client of vmgpu.h only. Its files call one way, each
 * line only the lines below it:
 *
 *   main.c        the command table, global options, --help
 *   cmd-NAME.c    one command each: its options, its help, the work
 *   run-plan.c    print or apply a host plan (assign, release, partition)
 *   report-*.c    the renderers, handed all they show (report-text.c and
 *                 report-json.c use report-partitions.c); never a command
 *   common.c      common options, errors, opening and reading the host
 *
 * So a command builds what it reports (the survey report below is built,
 * and what it shows decided, in cmd-survey.c) and hands it down to a
 * renderer. tests/arch/check-arch.py checks on the object files that no
 * circle of files calls each other.
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "vmgpu.h"

/* Exit codes (documented in vmgpu(8), EXIT STATUS). */
#define EXIT_OK 0
#define EXIT_USAGE 1  /* bad option, malformed argument */
#define EXIT_FAILED 2 /* host unreadable, device not found, operation failed */
#define EXIT_REFUSED 3 /* refused as unsafe: nothing was changed */
#define EXIT_NOT_SEEN 1 /* verify: some device is not in the guest */

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* Options every command accepts, before or after its name. */
struct tool_opts {
	const char *root;
	bool json;
	bool pretty;
	enum color_mode color;
	bool verbose;
};

/* A command: cmd-NAME.c defines tool_cmd_NAME (assign and release in
 * cmd-assign.c, attach and detach in cmd-attach.c); main.c lists them. */
struct tool_cmd {
	const char *name;
	int (*run)(struct tool_opts *opts, int argc, char **argv);
	const char *summary; /* its line in vmgpu --help */
};

extern const struct tool_cmd tool_cmd_survey;
extern const struct tool_cmd tool_cmd_assign;
extern const struct tool_cmd tool_cmd_release;
extern const struct tool_cmd tool_cmd_attach;
extern const struct tool_cmd tool_cmd_detach;
extern const struct tool_cmd tool_cmd_partition;
extern const struct tool_cmd tool_cmd_plan;
extern const struct tool_cmd tool_cmd_verify;
extern const struct tool_cmd tool_cmd_status;
extern const struct tool_cmd tool_cmd_recover;

/* ---- common.c ---- */

/* Shared long options; a command appends its own after these. */
#define TOOL_COMMON_LONGOPTS                                      \
	{ "root", required_argument, NULL, 'r' },                 \
	{ "json", no_argument, NULL, 'j' },                       \
	{ "pretty", no_argument, NULL, 'P' },                     \
	{ "color", optional_argument, NULL, 'C' },                \
	{ "verbose", no_argument, NULL, 'v' },                    \
	{ "help", no_argument, NULL, 'h' }
#define TOOL_COMMON_SHORTOPTS "r:jv"

/* getopt_long() that handles the common options itself: returns the next
 * option of the command's own, -1 at the end, or TOOL_OPT_BAD after a bad
 * value of a common option (the error is printed already). */
#define TOOL_OPT_BAD (-2)
int tool_getopt(struct tool_opts *opts, int argc, char **argv, const char *shortopts, const struct option *longopts);

/* One-line error to stderr, "vmgpu: ...". */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Open the host root named by the options, with the tool's log function.
 * Prints the error and returns NULL on failure. */
struct vmgpu_ctx *tool_open_root(const struct tool_opts *opts);
bool tool_use_color(const struct tool_opts *opts, FILE *f);
int tool_check_device_syntax(char *const *devices, size_t n);
int tool_scan(struct vmgpu_ctx *ctx, struct vmgpu_host **ret);
int tool_lookup(struct vmgpu_host *host, struct vmgpu_ctx *ctx, const char *spec, struct vmgpu_dev **ret);

/* run-plan.c: make a plan from a fresh host reading, then print or apply it */
typedef int (*run_plan_make_fn)(struct vmgpu_ctx *ctx, struct vmgpu_host *host, void *userdata,
				 struct vmgpu_plan **ret);
typedef void (*run_plan_done_fn)(const struct vmgpu_plan *plan, void *userdata);
int run_plan(const struct tool_opts *opts, const char *op, bool dry_run, run_plan_make_fn make,
	     run_plan_done_fn done, void *userdata);

/* report-plan.c: a plan as shell commands (--dry-run) and refusals, or as JSON */
int report_plan_text(FILE *f, const char *root, const char *op, const struct vmgpu_plan *p, bool dry_run);
int report_plan_json(FILE *f, const char *op, const struct vmgpu_plan *p, bool dry_run, const char *result,
		     const char *error, bool pretty);

/* report-partitions.c: one parent of the partitioning inventory. The text form
 * prints a heading when TITLE and prefixes each line with INDENT. */
struct json_writer;
bool report_partitions_possible(const struct vmgpu_partitions *s, size_t pi);
void report_partitions_json(struct json_writer *w, const struct vmgpu_partitions *s, size_t pi);
void report_partitions_text(FILE *f, const struct vmgpu_partitions *s, size_t pi, bool title, const char *indent);

/* ---- the survey report: built by cmd-survey.c, rendered by report-text.c
 * and report-json.c ---- */

struct survey_item {
	struct vmgpu_dev *dev;
	struct vmgpu_verdict *verdict; /* NULL: not judged (bridge) */
	struct vmgpu_mmio mmio;        /* this function alone */
	bool primary;                  /* asked for (display device or named) */
	bool companion;                /* shown with a primary device */
};

struct survey_vm {
	struct vmgpu_dev **devs; /* primary first, then companions */
	size_t n_devs;
	struct vmgpu_mmio mmio;
};

struct survey_report {
	struct vmgpu_ctx *ctx;
	struct vmgpu_host *host;
	struct survey_item *items; /* sorted by address */
	size_t n_items;
	struct survey_vm *vms;
	size_t n_vms;
	struct vmgpu_partitions *parts; /* how the GPUs can be split; NULL: unreadable */
	bool *partitions_shown;         /* per parent of split: in the report (a GPU surveyed,
				    * or a virtual mdev parent when no DEVICE was named) */
};

int report_text_survey(FILE *f, const struct survey_report *r, bool color);
int report_json_survey(FILE *f, const struct survey_report *r, bool pretty);
