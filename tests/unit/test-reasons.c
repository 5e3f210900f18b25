/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of reason and refusal codes (lib/host/reasons.c) against itself
 * and against vmgpu(8): its CHECKS section names every code with .RB/.BR,
 * the verdict's codes first, then a last paragraph with the refusals, which
 * ends with the codes --force overrides (after the ".B \-\-force" line).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "testlib.h"

#define MAX_CODES 128

/* Codes that have no fix in any form: notes, facts of the hardware, and
 * mistakes the message itself explains. A new code needs a fix or a place
 * here. */
static const char *const no_fix[] = {
	"chipset_function", "legacy_endpoint", "rc_integrated", "not_endpoint", "intx_only", "bus_reset_only",
	"virtual_function", "host_driver", "name_too_long", "no_sriov", "too_many_vfs",
};

static void fail(const char *fmt, ...) _printf_(1, 2);
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("  ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	test_checks_failed++;
}

struct codes {
	char *v[MAX_CODES];
	size_t n;
};

static bool codes_has(const struct codes *c, const char *code)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i], code) == 0)
			return true;
	return false;
}

static void codes_add(struct codes *c, const char *code, size_t len)
{
	char *s = strndup(code, len);

	if (!s || codes_has(c, s) || c->n == MAX_CODES) {
		free(s);
		return;
	}
	c->v[c->n++] = s;
}

static void codes_free(struct codes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	c->n = 0;
}

static bool is_code(const char *s, size_t len)
{
	if (len == 0 || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* The bold words of a .RB (odd arguments) or .BR (even) line to C. */
static void bold_codes(const char *line, struct codes *c)
{
	bool rb = strncmp(line, ".RB ", 4) == 0;
	unsigned arg = 0;

	if (!rb && strncmp(line, ".BR ", 4) != 0)
		return;
	for (const char *p = line + 4; *p; arg++) {
		size_t n;
		p += strspn(p, " \n");
		n = strcspn(p, " \n");
		if (n && (arg % 2 == (rb ? 1u : 0u)) && is_code(p, n))
			codes_add(c, p, n);
		p += n;
	}
}

/* The codes of vmgpu(8)'s CHECKS: the verdict's (every paragraph but the
 * last), the refusals' (the last) and those --force overrides. */
static void read_man_page(struct codes *verdict, struct codes *refusal, struct codes *forceable)
{
	FILE *f = fopen(DOC_DIR "/vmgpu.8", "re");
	struct codes para = { 0 };
	char *line = NULL;
	size_t sz = 0;
	bool in = false, force = false;

	CHECK(f != NULL);
	while (f && getline(&line, &sz, f) > 0) {
		if (strncmp(line, ".SH", 3) == 0) {
			if (in)
				break;
			in = strncmp(line, ".SH CHECKS", 10) == 0;
		} else if (in && strncmp(line, ".PP", 3) == 0) {
			for (size_t i = 0; i < para.n; i++)
				codes_add(verdict, para.v[i], strlen(para.v[i]));
			codes_free(&para);
		} else if (in && strncmp(line, ".B \\-\\-force", 12) == 0) {
			force = true;
		} else if (in) {
			bold_codes(line, force ? forceable : &para);
		}
	}
	*refusal = para;
	free(line);
	if (f)
		fclose(f);
}

static void test_codes_unique(void)
{
	CHECK(reason_info(_REASON_MAX) == NULL);
	CHECK_EQ_INT(reason_lookup("no_such_code"), _REASON_MAX);
	for (unsigned i = 0; i < _REASON_MAX; i++) {
		const struct reason_info *ri = reason_info(i);
		CHECK(ri && ri->code && is_code(ri->code, strlen(ri->code)));
		if (!ri || !ri->code)
			continue;
		CHECK_EQ_INT(reason_lookup(ri->code), i);
		for (unsigned k = 0; k < i; k++)
			if (strcmp(reason_info(k)->code, ri->code) == 0)
				fail("code %s twice", ri->code);
	}
}

/* Verdict codes (REASON_*) come first, then refusals only (REFUSE_*); a
 * verdict code that can block is a refusal too, with its form [0]. */
static void test_kinds(void)
{
	for (unsigned i = 0; i < _REASON_MAX; i++) {
		const struct reason_info *ri = reason_info(i);
		bool blocks = ri->form[0].severity == VMGPU_SEVERITY_BLOCKER ||
			      ri->form[1].severity == VMGPU_SEVERITY_BLOCKER;

		if (i < REFUSE_HOST_DISK_IN_USE) {
			CHECK(ri->kind & REASON_KIND_VERDICT);
			if (blocks != !!(ri->kind & REASON_KIND_REFUSAL) ||
			    (blocks && ri->form[0].severity != VMGPU_SEVERITY_BLOCKER))
				fail("%s: kind %u against its severities", ri->code, ri->kind);
		} else {
			CHECK_EQ_INT(ri->kind, REASON_KIND_REFUSAL);
		}
		if (ri->forceable)
			CHECK(ri->kind & REASON_KIND_REFUSAL);
	}
}

static bool is_sentence(const char *s)
{
	size_t n = strlen(s);

	return n > 1 && isupper((unsigned char)s[0]) && s[n - 1] == '.' && !strstr(s, "  ");
}

static void test_fixes(void)
{
	for (unsigned i = 0; i < _REASON_MAX; i++) {
		const struct reason_info *ri = reason_info(i);
		bool exempt = false, any = false;

		for (size_t k = 0; k < ARRAY_SIZE(no_fix); k++)
			exempt |= strcmp(no_fix[k], ri->code) == 0;
		for (unsigned f = 0; f < 2; f++) {
			if (!ri->form[f].fix)
				continue;
			any = true;
			if (!is_sentence(ri->form[f].fix))
				fail("%s: fix \"%s\" is not a sentence", ri->code, ri->form[f].fix);
		}
		if (any == exempt)
			fail("%s: %s", ri->code, any ? "has a fix, yet is listed in no_fix" : "no fix");
	}
}

/* Every code of SET has WANT of the table's kind bits, and every such code
 * of the table is in SET. */
static void check_same(const struct codes *set, const char *what, bool (*want)(const struct reason_info *))
{
	for (size_t i = 0; i < set->n; i++) {
		enum reason_code c = reason_lookup(set->v[i]);
		if (c == _REASON_MAX || !want(reason_info(c)))
			fail("vmgpu(8) lists %s among the %s; the table does not", set->v[i], what);
	}
	for (unsigned i = 0; i < _REASON_MAX; i++)
		if (want(reason_info(i)) && !codes_has(set, reason_info(i)->code))
			fail("%s: one of the %s, missing in vmgpu(8)", reason_info(i)->code, what);
}

static bool is_verdict(const struct reason_info *ri)
{
	return ri->kind & REASON_KIND_VERDICT;
}

static bool is_refusal_only(const struct reason_info *ri)
{
	return ri->kind == REASON_KIND_REFUSAL;
}

static bool is_forceable(const struct reason_info *ri)
{
	return ri->forceable;
}

static void test_man_page(void)
{
	struct codes verdict = { 0 }, refusal = { 0 }, forceable = { 0 };

	read_man_page(&verdict, &refusal, &forceable);
	CHECK(verdict.n > 0 && refusal.n > 0 && forceable.n > 0);
	check_same(&verdict, "verdict's codes", is_verdict);
	check_same(&refusal, "refusals", is_refusal_only);
	check_same(&forceable, "codes --force overrides", is_forceable);
	codes_free(&verdict);
	codes_free(&refusal);
	codes_free(&forceable);
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "codes-unique", test_codes_unique },
		{ "kinds", test_kinds },
		{ "fixes", test_fixes },
		{ "man-page", test_man_page },
	};
	return test_main(tests, sizeof(tests) / sizeof(tests[0]));
}
