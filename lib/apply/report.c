/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What went wrong, line by line: the *ret_report of vmgpu_plan_apply() and
 * of vmgpu_recover(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "apply.h"
void report_open(struct report *r)
{
	r->buf = NULL;
	r->len = 0;
	r->f = open_memstream(&r->buf, &r->len);
}

void report_add(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (!r || !r->f)
		return;
	va_start(ap, fmt);
	vfprintf(r->f, fmt, ap);
	va_end(ap);
	fputc('\n', r->f);
}

char *report_close(struct report *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	if (r->buf && r->len && r->buf[r->len - 1] == '\n')
		r->buf[r->len - 1] = '\0';
	return r->buf;
}

void report_give(struct report *r, char **ret_report)
{
	char *text = report_close(r);

	if (text && !*text) {
		free(text);
		text = NULL;
	}
	if (ret_report)
		*ret_report = text;
	else
		free(text);
}
