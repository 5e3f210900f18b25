/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A plan for people (the shell-equivalent writes, for --dry-run) and as
 * JSON (schema vmgpu.plan/1). */
#include <string.h>

#include "json-writer.h"
#include "tool.h"

static const char *const kind_names[] = {
	[VMGPU_STEP_LOAD_MODULE] = "load_module",   [VMGPU_STEP_SET_OVERRIDE] = "set_override",
	[VMGPU_STEP_UNBIND] = "unbind",             [VMGPU_STEP_PROBE] = "probe",
	[VMGPU_STEP_CHECK_GROUP] = "check_group",   [VMGPU_STEP_WRITE_FILE] = "write_file",
	[VMGPU_STEP_REMOVE_FILE] = "remove_file",   [VMGPU_STEP_WRITE_ATTR] = "write_attr",
	[VMGPU_STEP_MDEV_CREATE] = "mdev_create",   [VMGPU_STEP_MDEV_REMOVE] = "mdev_remove",
};

/* "/" + path on the live host, ROOT/path on a snapshot. */
static void full_path(char *buf, size_t sz, const char *root, const char *path)
{
	if (strcmp(root, "/") == 0)
		snprintf(buf, sz, "/%s", path);
	else
		snprintf(buf, sz, "%s/%s", root, path);
}

/* The step as the shell command an administrator would type. */
static void print_step_shell(FILE *f, const char *root, const struct vmgpu_step *s)
{
	char path[512];

	full_path(path, sizeof(path), root, s->path);
	switch (s->kind) {
	case VMGPU_STEP_LOAD_MODULE:
		fprintf(f, "modprobe %s\n", s->value);
		break;
	case VMGPU_STEP_SET_OVERRIDE:
	case VMGPU_STEP_UNBIND:
	case VMGPU_STEP_WRITE_ATTR:
	case VMGPU_STEP_MDEV_CREATE:
	case VMGPU_STEP_MDEV_REMOVE:
		fprintf(f, "echo %s > %s\n", s->value, path);
		break;
	case VMGPU_STEP_PROBE:
		fprintf(f, "echo %s > %s    # then: driver %s\n", s->value, path,
			strcmp(s->expect, "*") == 0 ? "(kernel's choice)" : s->expect);
		break;
	case VMGPU_STEP_CHECK_GROUP:
		fprintf(f, "# check: %s\n", s->summary);
		break;
	case VMGPU_STEP_WRITE_FILE:
		fprintf(f, "cat > %s <<'EOF'\n%sEOF\n", path, s->value);
		break;
	case VMGPU_STEP_REMOVE_FILE:
		fprintf(f, "rm -f %s\n", path);
		break;
	}
}

static void print_refusals(FILE *f, const struct vmgpu_plan *p)
{
	for (size_t i = 0; i < vmgpu_plan_n_refusals(p); i++) {
		struct vmgpu_reason r;
		bool forced;
		if (vmgpu_plan_refusal(p, i, &r, &forced) < 0)
			continue;
		fprintf(f, "%s %s\n", forced ? "forced:" : "refused:", r.message);
		if (r.fix && !forced)
			fprintf(f, "  fix: %s\n", r.fix);
	}
}

int report_plan_text(FILE *f, const char *root, const char *op, const struct vmgpu_plan *p, bool dry_run)
{
	size_t n = vmgpu_plan_n_devices(p);

	fprintf(f, "# vmgpu %s%s", op, n ? ":" : "");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %s", vmgpu_dev_str(vmgpu_plan_device(p, i), VMGPU_STR_ADDRESS));
	fprintf(f, "%s\n", dry_run ? " (dry run: nothing is changed)" : "");
	print_refusals(f, p);
	if (vmgpu_plan_refused(p))
		return ferror(f) ? -1 : 0; /* the steps would not run: do not show them */
	if (vmgpu_plan_n_steps(p) == 0)
		fprintf(f, "# nothing to do: already in the requested state\n");
	for (size_t i = 0; i < vmgpu_plan_n_steps(p); i++) {
		struct vmgpu_step s;
		if (vmgpu_plan_step(p, i, &s) == 0)
			print_step_shell(f, root, &s);
	}
	return ferror(f) ? -1 : 0;
}

int report_plan_json(FILE *f, const char *op, const struct vmgpu_plan *p, bool dry_run, const char *result,
		     const char *error, bool pretty)
{
	struct json_writer *w = jsonw_new(f, pretty);

	if (!w)
		return -1;
	jsonw_object_begin(w);
	jsonw_kv_string(w, "schema", "vmgpu.plan/1");
	jsonw_kv_string(w, "op", op);
	jsonw_kv_bool(w, "dry_run", dry_run);
	jsonw_kv_string(w, "result", result);
	jsonw_kv_string(w, "error", error);
	jsonw_key(w, "devices");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_plan_n_devices(p); i++)
		jsonw_string(w, vmgpu_dev_str(vmgpu_plan_device(p, i), VMGPU_STR_ADDRESS));
	jsonw_array_end(w);
	jsonw_key(w, "refusals");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_plan_n_refusals(p); i++) {
		struct vmgpu_reason r;
		bool forced;
		if (vmgpu_plan_refusal(p, i, &r, &forced) < 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_string(w, "code", r.code);
		jsonw_kv_string(w, "message", r.message);
		jsonw_kv_string(w, "fix", r.fix);
		jsonw_kv_bool(w, "forced", forced);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "steps");
	jsonw_array_begin(w);
	for (size_t i = 0; i < vmgpu_plan_n_steps(p); i++) {
		struct vmgpu_step s;
		if (vmgpu_plan_step(p, i, &s) < 0)
			continue;
		jsonw_object_begin(w);
		jsonw_kv_string(w, "kind", kind_names[s.kind]);
		jsonw_kv_string(w, "device", s.dev ? vmgpu_dev_str(s.dev, VMGPU_STR_ADDRESS) : NULL);
		jsonw_kv_string(w, "path", s.path);
		jsonw_kv_string(w, "value", s.value);
		jsonw_kv_string(w, "expect", s.expect);
		jsonw_kv_string(w, "summary", s.summary);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
	return jsonw_free(w);
}
